//! `safetynet generate`.

use super::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub records: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// ISO 3166-1 alpha-2 codes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "US")]
    pub countries: Vec<String>,
    /// Year range, e.g. 2015-2024.
    #[arg(long, default_value = "2015-2024")]
    pub years: String,
    /// Write the export in the layout of this mapping file (CSV), e.g.
    /// mappings/mx_hotline.toml, instead of the canonical layout.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Write what aggregated registers publish: for four records in five,
    /// the year as the five-year registration period holding it
    /// ("2015-2019"), and places (exploitation, citizenship, the
    /// perpetrators' citizenship) as UN M49 regions instead of countries.
    #[arg(long)]
    pub coarse: bool,
    #[arg(long)]
    pub out: PathBuf,
    /// Write over the file at --out if there is one.
    #[arg(long)]
    pub replace: bool,
}

pub fn run(args: Args, globals: &Globals) -> anyhow::Result<()> {
    let Args {
        records,
        seed,
        countries,
        years,
        mapping,
        coarse,
        out,
        replace,
    } = args;
    refuse_to_replace(&out, replace)?;

    let (first_year, last_year) = parse_years(&years)?;
    let layout = match &mapping {
        Some(path) => Some(safetynet::input::mapping::MappingSpec::load(path)?),
        None => None,
    };
    let countries = safetynet::base::countries::checked_codes(&countries, "--countries")?;
    let n = safetynet::generate::generate(&safetynet::generate::GenerateOptions {
        records,
        seed,
        countries,
        first_year,
        last_year,
        out: out.clone(),
        layout,
        coarse,
        show_progress: globals.show_progress,
    })?;
    eprintln!("wrote {n} synthetic records to {}", shown(&out));

    Ok(())
}
