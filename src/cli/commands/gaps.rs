//! `safetynet gaps`.

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
    /// Which services each type and profile needs (default: the built-in rules/needs.toml).
    #[arg(long)]
    pub needs: Option<PathBuf>,
}

pub fn run(args: Args, globals: &Globals) -> anyhow::Result<()> {
    let Args {
        store,
        out,
        selection,
        disclosure,
        needs,
    } = args;

    if selection.unit != safetynet::sql::selection::Unit::Victims {
        return Err(safetynet::Error::Usage(
            "gaps counts victims (each victim needs services): --unit cases does not apply".into(),
        )
        .into());
    }
    let store = Store::open(&store)?;
    let gaps = safetynet::sql::engine::runtime()?.block_on(safetynet::gaps::build_for_store(
        &store,
        globals.engine,
        &selection.selection()?,
        disclosure.policy(),
        needs.as_deref(),
        [
            "01_service_gaps",
            "02_demand_and_supply",
            "03_directory_coverage",
        ],
    ))?;
    let scope = safetynet::store::releases::Scope {
        from_year: gaps.from_year,
        to_year: gaps.to_year,
        countries: gaps.countries.clone(),
        unit: "victims".into(),
    };
    let written = safetynet::gaps::write(&gaps, disclosure.policy(), &out, Some((&store, scope)))?;
    for note in &gaps.notes {
        eprintln!("note: {note}");
    }
    println!(
        "wrote {} files to {} ({} gaps ranked)",
        written.len(),
        shown(&out),
        gaps.tables[0].rows.len()
    );
    if !disclosure.policy().suppression {
        eprintln!("{}", safetynet::publish::render::NOT_FOR_PUBLICATION);
    }

    Ok(())
}
