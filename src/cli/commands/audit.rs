//! `safetynet audit`.

use super::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    /// The report directory (as written by `report` or `run`).
    pub report: PathBuf,
    /// Audit with a wider protection width than the report was written with.
    #[arg(long)]
    pub protection_width: Option<u64>,
}

pub fn run(args: Args, _globals: &Globals) -> anyhow::Result<()> {
    let Args {
        report,
        protection_width,
    } = args;

    let audit = safetynet::publish::audit::audit_dir(&report, protection_width)?;
    if !audit.findings.is_empty() {
        return Err(safetynet::Error::AuditFailed {
            findings: audit.findings,
        }
        .into());
    }
    println!(
        "audit passed: {} tables, {} suppressed counts, each with a range of at least {}",
        audit.tables, audit.suppressed, audit.width
    );

    Ok(())
}
