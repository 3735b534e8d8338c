//! `safetynet compare`.

use super::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub store: PathBuf,
    /// Reporting countries, comma-separated ISO codes (default: all in the
    /// store). The order is kept; the first is the reference the others'
    /// differences are taken from.
    #[arg(long, value_delimiter = ',')]
    pub countries: Vec<String>,
    /// Types to compare, comma-separated: numbers 1-25, names, or extension
    /// categories (default: every type with records).
    #[arg(long, value_delimiter = ',')]
    pub types: Vec<String>,
    #[command(flatten)]
    pub period: PeriodArgs,
    #[command(flatten)]
    pub disclosure: DisclosureArgs,
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: Args, globals: &Globals) -> anyhow::Result<()> {
    let Args {
        store,
        countries,
        types,
        period,
        disclosure,
        out,
    } = args;

    let store = Store::open(&store)?;
    let request = safetynet::exchange::Request {
        countries: safetynet::base::countries::checked_codes(&countries, "--countries")?,
        from_year: period.from_year,
        to_year: period.to_year,
        unit: period.unit,
        policy: disclosure.policy(),
        engine: globals.engine,
    };
    let aggregates = safetynet::sql::engine::runtime()?
        .block_on(safetynet::exchange::aggregates_from_store(&store, &request))?;
    let inputs = store.input_provenance();
    write_comparison(&aggregates, &types, inputs, &out, "compare", Some(&store))?;

    Ok(())
}
