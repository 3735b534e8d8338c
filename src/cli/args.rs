//! Arguments several commands share, and the one place each becomes the
//! library's settings (the config file's counterparts are in
//! `safetynet::pipeline::config`, built with the same functions).

use clap::builder::{PossibleValuesParser, TypedValueParser};
use serde::de::DeserializeOwned;

use safetynet::publish::Policy;
use safetynet::sql::selection::{Selection, Unit};

/// A parser for one of the library's enums from its listed names, read the
/// way the config file reads it (serde), so `--help` lists the values and
/// the library needs no command-line crate.
pub fn enum_parser<T: DeserializeOwned + Clone + Send + Sync + 'static>(
    names: &'static [&'static str],
) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(names).map(|name| {
        T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(&name))
            .expect("a listed name")
    })
}

pub fn unit_parser() -> impl TypedValueParser<Value = Unit> {
    enum_parser(&["victims", "cases"])
}

pub fn format_parser() -> impl TypedValueParser<Value = safetynet::input::ingest::Format> {
    enum_parser(&[
        "csv",
        "jsonl",
        "parquet",
        "xlsx",
        "ctdc",
        "ctdc-synthetic",
        "htcds",
    ])
}

pub fn output_format_parser() -> impl TypedValueParser<Value = safetynet::sql::engine::OutputFormat>
{
    enum_parser(&["table", "csv", "json", "ndjson", "parquet", "xlsx"])
}

/// `--years 2015-2024`.
pub fn parse_years(text: &str) -> Result<(i32, i32), safetynet::Error> {
    let bad = || safetynet::Error::Usage(format!("--years '{text}' is not a range like 2015-2024"));
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

/// How to read an input container, when detection is not enough.
#[derive(clap::Args)]
pub struct ReadArgs {
    /// Text encoding: utf-8, windows-1252, latin1, utf-16le, ... (detected when omitted).
    #[arg(long)]
    pub encoding: Option<String>,
    /// Field delimiter of delimited text: one character or `tab` (sniffed when omitted).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Worksheet of a workbook (the first sheet when omitted).
    #[arg(long)]
    pub sheet: Option<String>,
}

impl ReadArgs {
    pub fn options(&self) -> Result<safetynet::input::readers::ReadOptions, safetynet::Error> {
        let encoding = match &self.encoding {
            None => None,
            Some(label) => Some(
                safetynet::input::decode::encoding_for_label(label).ok_or_else(|| {
                    safetynet::Error::Usage(format!(
                        "--encoding: '{label}' is not an encoding name"
                    ))
                })?,
            ),
        };
        let delimiter = match &self.delimiter {
            None => None,
            Some(d) => Some(safetynet::input::ingest::parse_delimiter(d)?),
        };
        Ok(safetynet::input::readers::ReadOptions {
            encoding,
            delimiter,
            sheet: self.sheet.clone(),
            ..Default::default()
        })
    }
}

/// Years and unit of `compare` and `share`.
#[derive(clap::Args)]
pub struct PeriodArgs {
    /// First year of registration (default: the earliest in the store).
    #[arg(long = "from")]
    pub from_year: Option<i32>,
    /// Last year of registration (default: the latest in the store).
    #[arg(long = "to")]
    pub to_year: Option<i32>,
    /// victims (records) or cases (distinct case ids).
    #[arg(long, default_value = "victims", value_parser = unit_parser())]
    pub unit: Unit,
}

/// The disclosure-control options of `report`.
#[derive(clap::Args)]
pub struct DisclosureArgs {
    /// K: counts from 1 to K-1 are suppressed (10 as CTDC; 3 is the Polaris convention).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..))]
    pub min_cell: u64,
    /// The narrowest range a suppressed count may be worked out to (default: K).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub protection_width: Option<u64>,
    /// Internal work only: no suppression; every output is stamped NOT FOR PUBLICATION.
    #[arg(long)]
    pub no_suppression: bool,
}

impl DisclosureArgs {
    pub fn policy(&self) -> Policy {
        Policy {
            min_cell: self.min_cell,
            width: self.protection_width,
            suppression: !self.no_suppression,
        }
    }
}

/// The report's selection, shared by `report` and `query`.
#[derive(clap::Args)]
pub struct SelectionArgs {
    /// First year of registration (default: the earliest in the store).
    #[arg(long = "from")]
    pub from_year: Option<i32>,
    /// Last year of registration (default: the latest in the store).
    #[arg(long = "to")]
    pub to_year: Option<i32>,
    /// Reporting countries, comma-separated ISO codes (default: all).
    #[arg(long = "country", value_delimiter = ',')]
    pub countries: Vec<String>,
    /// victims (records) or cases (distinct case ids).
    #[arg(long, default_value = "victims", value_parser = unit_parser())]
    pub unit: Unit,
}

impl SelectionArgs {
    pub fn selection(&self) -> Result<Selection, safetynet::Error> {
        Selection::checked(
            self.from_year,
            self.to_year,
            &self.countries,
            self.unit,
            "--country",
        )
    }
}
