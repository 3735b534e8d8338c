//! `safetynet merge`.

use super::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    pub bundles: Vec<PathBuf>,
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: Args, _globals: &Globals) -> anyhow::Result<()> {
    let Args { bundles, out } = args;

    let mut aggregates = Vec::new();
    for path in &bundles {
        let (_, a) = safetynet::exchange::bundle::read(path)?;
        aggregates.push(a);
    }
    write_comparison(&aggregates, &out, "compare", None)?;

    Ok(())
}
