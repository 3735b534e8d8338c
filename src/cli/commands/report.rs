//! `safetynet report`.

use super::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub store: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub disclosure: DisclosureArgs,
    /// A directory of more .sql files to publish (same header conventions as queries/).
    #[arg(long)]
    pub queries: Option<PathBuf>,
    /// Population table (CSV: country, year, population, source) for the
    /// rates per 100,000 population; no rates table without it.
    #[arg(long)]
    pub population: Option<PathBuf>,
    /// Needs file for the service gaps, when the store has a directory
    /// (default: the built-in rules/needs.toml).
    #[arg(long)]
    pub needs: Option<PathBuf>,
    /// The report's title (default: "Detected cases of human trafficking"
    /// with the years).
    #[arg(long)]
    pub title: Option<String>,
    /// The organisation publishing the report, named under the title.
    #[arg(long)]
    pub organisation: Option<String>,
}

pub fn run(args: Args, globals: &Globals) -> anyhow::Result<()> {
    let Args {
        store,
        out,
        selection,
        disclosure,
        queries,
        population,
        needs,
        title,
        organisation,
    } = args;

    let options = safetynet::report::ReportOptions {
        selection: selection.selection()?,
        policy: disclosure.policy(),
        extra_queries: queries,
        population,
        needs,
        engine: globals.engine,
        title,
        organisation,
    };
    let store = Store::open(&store)?;
    print_published(&safetynet::report::publish(&store, &out, &options)?);
    Ok(())
}
