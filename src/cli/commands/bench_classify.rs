//! `safetynet bench-classify`.

use super::prelude::*;
use safetynet::classify::rules::Rules;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub rules: Option<PathBuf>,
}

pub fn run(args: Args, _globals: &Globals) -> anyhow::Result<()> {
    let Args {
        records,
        seed,
        rules,
    } = args;

    let rules = Rules::load(rules.as_deref())?;
    let r = safetynet::pipeline::bench::classify(records, seed, &rules)?;
    println!(
        "classified {} records in {:.2} s: {:.0} records/s",
        r.records, r.seconds, r.records_per_second
    );

    Ok(())
}
