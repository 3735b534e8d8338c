//! `safetynet verify`.

use super::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub store: PathBuf,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, _globals: &Globals) -> anyhow::Result<()> {
    let store = Store::open(&args.store)?;
    let verified = safetynet::store::verify::verify(&store)?;
    safetynet::directory::check(store.root())?;
    if args.json {
        return print_json(&verified);
    }
    println!(
        "store {} is intact: {} files, {} bytes, each with the size and SHA-256 it was written with",
        shown(&args.store),
        verified.files,
        verified.bytes
    );
    if !verified.without_checks.is_empty() {
        println!(
            "{} files were written before sizes and hashes were recorded and cannot be checked (the next `classify` records them): {}",
            verified.without_checks.len(),
            verified.without_checks.join(", ")
        );
    }
    if verified.awaiting_removal > 0 {
        println!(
            "{} files of replaced generations await removal: the manifest no longer lists them (a process \
             was reading them when they were replaced, or a change was stopped); the next change removes \
             them once no other process is reading the store",
            verified.awaiting_removal
        );
    }
    Ok(())
}
