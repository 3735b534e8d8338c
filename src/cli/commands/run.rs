//! `safetynet run`.

use super::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "safetynet.toml")]
    pub config: PathBuf,
    /// First year of registration (default: the config's `[report] from`).
    #[arg(long = "from")]
    pub from_year: Option<i32>,
    /// Last year of registration (default: the config's `[report] to`).
    #[arg(long = "to")]
    pub to_year: Option<i32>,
    /// Reporting countries, comma-separated ISO codes (default: the config's).
    #[arg(long = "country", value_delimiter = ',')]
    pub countries: Vec<String>,
    /// victims (records) or cases (distinct case ids) (default: the config's).
    #[arg(long, value_parser = unit_parser())]
    pub unit: Option<safetynet::sql::selection::Unit>,
    /// The report's folder (default: the config's `out`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Types whose trend gets a chart of its own (default: the config's
    /// `[report] types`).
    #[arg(long = "type", value_delimiter = ',')]
    pub trend_types: Vec<String>,
    /// Also print the report to report.pdf (default: the config's `[report] pdf`).
    #[arg(long)]
    pub pdf: bool,
}

pub fn run(args: Args, globals: &Globals) -> anyhow::Result<()> {
    let mut config = safetynet::pipeline::config::Config::load(&args.config)?;
    // the flags win over the config file, as `report`'s do
    let r = &mut config.report;
    r.from = args.from_year.or(r.from);
    r.to = args.to_year.or(r.to);
    if !args.countries.is_empty() {
        r.countries = args.countries;
    }
    r.unit = args.unit.unwrap_or(r.unit);
    if !args.trend_types.is_empty() {
        r.types = args.trend_types;
    }
    r.pdf |= args.pdf;
    if let Some(out) = args.out {
        config.out = out;
    }
    let summary = safetynet::pipeline::run::run(&config, globals.engine, globals.show_progress)?;
    if let Some(s) = &summary.reclassified {
        println!(
            "reclassified {} records with rules {}: {} changed type",
            s.records, s.rules_version, s.changed
        );
    }
    let t = &summary.ingested;
    println!(
        "ingest: read {} = stored {} + quarantined {} + duplicates {}",
        t.read, t.stored, t.quarantined, t.duplicates
    );
    if let Some(directory) = &summary.directory {
        print_directory_summary(directory);
    }
    print_published(&summary.report);
    Ok(())
}
