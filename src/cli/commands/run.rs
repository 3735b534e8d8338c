//! `safetynet run`.

use super::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "safetynet.toml")]
    pub config: PathBuf,
}

pub fn run(args: Args, globals: &Globals) -> anyhow::Result<()> {
    let config = safetynet::pipeline::config::Config::load(&args.config)?;
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
