//! The pipeline configuration read by `run` (`safetynet.toml` at the
//! repository root runs it on the sample data). Paths are relative to the
//! configuration file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::sql::selection::Unit;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    pub from: Option<i32>,
    pub to: Option<i32>,
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default = "default_unit")]
    pub unit: Unit,
    #[serde(default = "default_min_cell")]
    pub min_cell: u64,
    /// The narrowest range a suppressed count may be worked out to; K when omitted.
    pub protection_width: Option<u64>,
    /// Population table for rates per 100,000 (relative to this file).
    pub population: Option<PathBuf>,
    /// Needs file for the service gaps (relative to this file).
    pub needs: Option<PathBuf>,
    /// A folder of the user's own `.sql` tables, published after the
    /// shipped ones with the same declarations (relative to this file).
    pub queries: Option<PathBuf>,
    /// The report's title and the organisation publishing it.
    pub title: Option<String>,
    pub organisation: Option<String>,
    /// The organisation's logo, PNG or JPEG (relative to this file).
    pub logo: Option<PathBuf>,
    /// Types whose trend gets a chart of its own, as `report --type`.
    #[serde(default)]
    pub types: Vec<String>,
    /// Also print the report to report.pdf, as `report --pdf`.
    #[serde(default)]
    pub pdf: bool,
}

fn default_unit() -> Unit {
    Unit::Victims
}

fn default_min_cell() -> u64 {
    10
}

/// One input of the pipeline: a path, or a table naming how to read it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum InputEntry {
    Path(PathBuf),
    Detailed(Input),
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub path: PathBuf,
    /// Mapping file for a layout other than the canonical one.
    pub mapping: Option<PathBuf>,
    /// Container or public layout, as `ingest --format` takes it.
    pub format: Option<crate::input::ingest::Format>,
    /// Reporting country for layouts that have none.
    pub country: Option<String>,
}

impl From<InputEntry> for Input {
    fn from(entry: InputEntry) -> Self {
        match entry {
            InputEntry::Path(path) => Input {
                path,
                mapping: None,
                format: None,
                country: None,
            },
            InputEntry::Detailed(input) => input,
        }
    }
}

fn inputs<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<Input>, D::Error> {
    Ok(Vec::<InputEntry>::deserialize(d)?
        .into_iter()
        .map(Input::from)
        .collect())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub store: PathBuf,
    pub out: PathBuf,
    #[serde(deserialize_with = "inputs")]
    pub inputs: Vec<Input>,
    pub rules: Option<PathBuf>,
    /// A directory of organisations to import (CSV or XLSX) for the
    /// service gaps.
    pub directory: Option<PathBuf>,
    pub report: ReportConfig,
}

impl Config {
    /// The report's options from the `[report]` table, checked by the same
    /// functions as `report`'s flags.
    pub fn report_options(
        &self,
        engine: crate::sql::engine::EngineSettings,
    ) -> Result<crate::report::ReportOptions> {
        let r = &self.report;
        Ok(crate::report::ReportOptions {
            selection: crate::sql::selection::Selection::checked(
                r.from,
                r.to,
                &r.countries,
                r.unit,
                "report.countries",
            )?,
            policy: crate::publish::Policy {
                min_cell: r.min_cell,
                width: r.protection_width,
                suppression: true,
            },
            extra_queries: r.queries.clone(),
            population: r.population.clone(),
            needs: r.needs.clone(),
            engine,
            title: r.title.clone(),
            organisation: r.organisation.clone(),
            logo: r.logo.clone(),
            trend_types: r.types.clone(),
            pdf: r.pdf,
        })
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::bad_input(path, format!("cannot read: {e}")))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| Error::bad_input(path, e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &PathBuf| {
            if p.is_absolute() {
                p.clone()
            } else {
                base.join(p)
            }
        };
        config.store = resolve(&config.store);
        config.out = resolve(&config.out);
        for input in &mut config.inputs {
            input.path = resolve(&input.path);
            input.mapping = input.mapping.as_ref().map(resolve);
        }
        config.rules = config.rules.as_ref().map(resolve);
        config.report.population = config.report.population.as_ref().map(resolve);
        config.report.needs = config.report.needs.as_ref().map(resolve);
        config.report.queries = config.report.queries.as_ref().map(resolve);
        config.report.logo = config.report.logo.as_ref().map(resolve);
        config.directory = config.directory.as_ref().map(resolve);
        Ok(config)
    }
}
