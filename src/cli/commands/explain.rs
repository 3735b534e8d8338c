//! `safetynet explain`.

use super::prelude::*;
use safetynet::classify::rules::Rules;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub store: PathBuf,
    #[arg(long)]
    pub rules: Option<PathBuf>,
    pub record_id: String,
}

pub fn run(args: Args, _globals: &Globals) -> anyhow::Result<()> {
    let Args {
        store,
        rules,
        record_id,
    } = args;

    let rules = Rules::load(rules.as_deref())?;
    let store = Store::open(&store)?;
    let e = safetynet::classify::explain::explain(&store, &rules, &record_id)?;
    print!("{}", safetynet::classify::explain::render(&e, &rules));

    Ok(())
}
