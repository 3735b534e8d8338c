//! `safetynet merge`.

use super::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    /// Bundles written by `share`; the order is kept, the first country is
    /// the reference the others' differences are taken from.
    #[arg(required = true)]
    pub bundles: Vec<PathBuf>,
    /// Types to compare, comma-separated: numbers 1-25, names, or extension
    /// categories (default: every type with records).
    #[arg(long, value_delimiter = ',')]
    pub types: Vec<String>,
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: Args, _globals: &Globals) -> anyhow::Result<()> {
    let Args {
        bundles,
        types,
        out,
    } = args;

    let mut aggregates = Vec::new();
    let mut inputs = Vec::new();
    for path in &bundles {
        let (manifest, a) = safetynet::exchange::bundle::read(path)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().to_string(),
        );
        inputs.push(format!(
            "{name} (bundle of {}, written by {}, SHA-256 {})",
            a.scope.country,
            manifest.tool_version,
            safetynet::base::files::sha256_file(path)?.1
        ));
        aggregates.push(a);
    }
    write_comparison(&aggregates, &types, inputs, &out, "compare", None)?;

    Ok(())
}
