//! `safetynet share`.

use super::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub store: PathBuf,
    /// The reporting country whose figures are shared.
    #[arg(long)]
    pub country: String,
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
        country,
        period,
        disclosure,
        out,
    } = args;

    if disclosure.no_suppression {
        return Err(safetynet::Error::Usage(
            "share never leaves without disclosure control: --no-suppression cannot be combined with sharing"
                .into(),
        )
        .into());
    }
    let store = Store::open(&store)?;
    // a bundle leaves the organisation: its figures come from files whose
    // every byte is the one written, not only whose size is
    safetynet::store::verify::verify(&store)?;
    let request = safetynet::exchange::Request {
        countries: safetynet::base::countries::checked_codes(
            std::slice::from_ref(&country),
            "--country",
        )?,
        from_year: period.from_year,
        to_year: period.to_year,
        unit: period.unit,
        policy: disclosure.policy(),
        engine: globals.engine,
    };
    let aggregates = safetynet::sql::engine::runtime()?
        .block_on(safetynet::exchange::aggregates_from_store(&store, &request))?;
    let manifest = safetynet::exchange::bundle::write(
        &aggregates[0],
        store.input_names(),
        &out,
        Some(&store),
    )?;
    println!(
        "wrote {}: {} {}–{}, {} tables of counts (no records), threshold {}",
        shown(&out),
        manifest.scope.country,
        manifest.scope.from_year,
        manifest.scope.to_year,
        manifest.tables.len(),
        manifest.scope.min_cell
    );

    Ok(())
}
