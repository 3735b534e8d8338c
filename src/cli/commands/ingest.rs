//! `safetynet ingest`.

use super::prelude::*;
use safetynet::classify::rules::Rules;
use safetynet::input::ingest::Format;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long)]
    pub store: PathBuf,
    /// Container (csv, jsonl, parquet, xlsx; guessed from the file name when
    /// omitted) or public layout (ctdc, ctdc-synthetic, htcds).
    #[arg(long, value_parser = format_parser())]
    pub format: Option<Format>,
    /// Mapping file (TOML) for any other layout; see docs/mapping.md.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Reporting country (ISO alpha-2) of every record, for layouts that
    /// have none (CTDC); XX marks pooled data from several countries.
    #[arg(long)]
    pub country: Option<String>,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Classification rules (TOML); the embedded default when omitted.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, globals: &Globals) -> anyhow::Result<()> {
    let Args {
        files,
        store,
        format,
        mapping,
        country,
        read,
        rules,
        json,
    } = args;

    let rules = Rules::load(rules.as_deref())?;
    let (container, mapping) =
        safetynet::input::ingest::resolve_layout(format, mapping.as_deref())?;
    let summary = safetynet::input::ingest::ingest(
        &store,
        &files,
        &safetynet::input::ingest::IngestOptions {
            format: container,
            mapping,
            country,
            read: read.options()?,
            rules: &rules,
            show_progress: globals.show_progress,
        },
    )?;
    if json {
        print_json(&summary)?;
    } else {
        println!(
            "{:<40} {:>10} {:>10} {:>12} {:>11}  status",
            "file", "read", "stored", "quarantined", "duplicates"
        );
        for f in &summary.files {
            println!(
                "{:<40} {:>10} {:>10} {:>12} {:>11}  {}",
                safetynet::base::escape::terminal(&f.file),
                f.counts.read,
                f.counts.stored,
                f.counts.quarantined,
                f.counts.duplicates,
                f.status
            );
        }
        let t = &summary.totals;
        println!(
            "{:<40} {:>10} {:>10} {:>12} {:>11}  read = stored + quarantined + duplicates",
            "total", t.read, t.stored, t.quarantined, t.duplicates
        );
        for f in &summary.files {
            for warning in &f.warnings {
                eprintln!(
                    "warning: {}: {}",
                    safetynet::base::escape::terminal(&f.file),
                    safetynet::base::escape::terminal(warning)
                );
            }
            for allowed in &f.guard_allowed {
                println!(
                    "personal-data screen of {}: {}",
                    safetynet::base::escape::terminal(&f.file),
                    safetynet::base::escape::terminal(&allowed.to_string())
                );
            }
        }
        for f in summary.files.iter().filter(|f| f.quarantine_file.is_some()) {
            println!(
                "quarantine of {}: {}",
                safetynet::base::escape::terminal(&f.file),
                store
                    .join(f.quarantine_file.as_ref().expect("filtered"))
                    .display()
            );
        }
    }

    Ok(())
}
