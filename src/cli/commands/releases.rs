//! `safetynet releases`.

use super::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub store: PathBuf,
    /// Print the ledger as JSON lines, one release a line.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, _globals: &Globals) -> anyhow::Result<()> {
    let store = Store::open(&args.store)?;
    let releases = safetynet::store::releases::read(&store)?;
    if args.json {
        for release in &releases {
            print_json(release)?;
        }
        return Ok(());
    }
    if releases.is_empty() {
        println!("no releases recorded for {}", shown(&args.store));
        return Ok(());
    }
    println!(
        "{:>4}  {:<20}  {:<8}  {:<9}  {:<12}  {:<7}  {:>3}  {:>5}  target",
        "id", "published", "command", "years", "countries", "unit", "K", "files"
    );
    for r in &releases {
        let countries = if r.scope.countries.is_empty() {
            "all".to_string()
        } else {
            r.scope.countries.join(",")
        };
        println!(
            "{:>4}  {:<20}  {:<8}  {}-{}  {:<12}  {:<7}  {:>3}  {:>5}  {}",
            r.id,
            r.published_at,
            r.command,
            r.scope.from_year,
            r.scope.to_year,
            safetynet::base::escape::terminal(&countries),
            r.scope.unit,
            r.min_cell,
            r.files.len(),
            safetynet::base::escape::terminal(&r.target)
        );
    }
    Ok(())
}
