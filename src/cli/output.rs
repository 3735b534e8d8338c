//! What commands print, where more than one command prints it.

use anyhow::Context as _;

use safetynet::base::escape::terminal;
use safetynet::directory::ImportSummary;
use safetynet::publish::render::NOT_FOR_PUBLICATION;
use safetynet::report::Published;

/// Refuses to write over an existing file unless told to (`--replace`):
/// `generate` cannot tell its own output from a user's export, and a
/// mistyped `--out` wrote synthetic records over one.
pub fn refuse_to_replace(out: &std::path::Path, replace: bool) -> anyhow::Result<()> {
    if out.exists() && !replace {
        return Err(safetynet::Error::Usage(format!(
            "--out {}: the file exists, and safetynet never overwrites what it may not have written. \
             Choose a new name, or give --replace to write over it",
            shown(out)
        ))
        .into());
    }
    Ok(())
}

/// A path as printed: control characters in a file name (which a hostile
/// bundle or export can carry) are shown as escapes, never sent to the
/// terminal.
pub fn shown(path: &std::path::Path) -> String {
    safetynet::base::escape::terminal(&path.display().to_string()).into_owned()
}

/// Writes `text` to standard output. A reader that stops reading (`| head`)
/// is not an error of ours: the rest is not wanted, and the command ends as
/// it would have (`print!` panicked there, exit code 101).
pub fn to_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}

/// Prints a summary as one JSON object (for `--json`).
pub fn print_json(summary: &impl serde::Serialize) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string(summary).context("serialising summary")?
    );
    Ok(())
}

pub fn print_directory_summary(s: &ImportSummary) {
    let c = &s.counts;
    if !s.imported {
        println!(
            "{}: already imported (same content); nothing changed",
            terminal(&s.file)
        );
        return;
    }
    println!(
        "{}: read {} = stored {} + quarantined {} + duplicates {}; {} organisations in the directory",
        terminal(&s.file),
        c.read,
        c.stored,
        c.quarantined,
        c.duplicates,
        s.organizations_in_store
    );
    if let Some(q) = &s.quarantine_file {
        println!("quarantined rows with their reasons: {}", shown(q));
    }
    if !s.ignored_columns.is_empty() {
        eprintln!(
            "warning: {} column(s) are not directory columns and are not kept: {}",
            s.ignored_columns.len(),
            terminal(&safetynet::base::listing::some_of(&s.ignored_columns))
        );
    }
}

/// What `report` and `run` say about the report they wrote.
pub fn print_published(p: &Published) {
    let c = &p.report.context;
    for note in &c.notes {
        eprintln!("note: {note}");
    }
    match &p.audit {
        Some(audit) => println!(
            "wrote {} files to {} ({} counts below {} suppressed, {} more to protect them, {} derived figures \
             withheld; audit passed: every suppressed count has a range of at least {})",
            p.written.len(),
            shown(&p.out),
            c.outcome.primary,
            c.policy.min_cell,
            c.outcome.secondary,
            c.outcome.withheld,
            audit.width
        ),
        None => {
            println!("wrote {} files to {}", p.written.len(), shown(&p.out));
            eprintln!("{NOT_FOR_PUBLICATION}");
        }
    }
}

/// Writes a comparison (`compare`, `merge`) and says what it wrote.
/// With `ledger`, the comparison is recorded in that store's release ledger.
pub fn write_comparison(
    aggregates: &[safetynet::exchange::Aggregates],
    types: &[String],
    inputs: Vec<String>,
    out: &std::path::Path,
    command: &str,
    ledger: Option<&safetynet::store::Store>,
) -> anyhow::Result<()> {
    let mut comparison = safetynet::exchange::compare(aggregates, types)?;
    comparison.inputs = inputs;
    let written = safetynet::exchange::compare::write(&comparison, out, command, ledger)?;
    println!(
        "wrote {} files to {} comparing {} from {} to {}",
        written.len(),
        shown(out),
        // the countries of bundles from other organisations are data
        terminal(&comparison.countries.join(", ")),
        comparison.from_year,
        comparison.to_year
    );
    Ok(())
}
