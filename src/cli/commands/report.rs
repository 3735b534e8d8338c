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
    /// The organisation's logo (PNG or JPEG), shown beside the title.
    #[arg(long)]
    pub logo: Option<PathBuf>,
    /// A type whose trend gets a chart of its own, with its interval band
    /// (a number 1-25, a name, or an extension code); repeat or comma-separate.
    #[arg(long = "type", value_delimiter = ',')]
    pub trend_types: Vec<String>,
    /// Also print the report to report.pdf with a headless Chromium or
    /// Chrome (found on the PATH, or SAFETYNET_BROWSER).
    #[arg(long)]
    pub pdf: bool,
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
        logo,
        trend_types,
        pdf,
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
        logo,
        trend_types,
        pdf,
    };
    let store = Store::open(&store)?;
    print_published(&safetynet::report::publish(&store, &out, &options)?);
    Ok(())
}
