//! `safetynet audit`.

use super::prelude::*;

#[derive(clap::Args)]
pub struct Args {
    /// The report directory (as written by `report` or `run`), or a
    /// comparison (as written by `compare` or `merge`).
    pub report: PathBuf,
    /// Audit with a wider protection width than the report was written with.
    #[arg(long)]
    pub protection_width: Option<u64>,
    /// The threshold K the audit requires: a folder declaring a lower one
    /// fails, and is audited with this one (default: the folder's own).
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..))]
    pub min_cell: Option<u64>,
    /// The store the report was published from: the report must be one of
    /// its releases file for file (its ledger holds every file's hash), so
    /// an edited table or disclosure.json is found whatever they say.
    #[arg(long)]
    pub store: Option<PathBuf>,
}

pub fn run(args: Args, _globals: &Globals) -> anyhow::Result<()> {
    let Args {
        report,
        protection_width,
        min_cell,
        store,
    } = args;
    if let Some(store) = &store {
        use safetynet::publish::audit::{MatchedRelease, release_of};
        let store = Store::open(store)?;
        let releases = safetynet::store::releases::read(&store)?;
        match release_of(&report, &releases)? {
            MatchedRelease::Release(id) => println!(
                "{} is release {id} of the store, every file as published",
                safetynet::base::escape::terminal(&report.display().to_string())
            ),
            MatchedRelease::None { closest, differs } => {
                let mut findings = vec![format!(
                    "{} is not a release of the store as published",
                    shown(&report)
                )];
                if let Some(id) = closest {
                    findings.push(format!(
                        "closest: release {id}; differing files: {}",
                        safetynet::base::listing::some_of(&differs)
                    ));
                }
                return Err(safetynet::Error::AuditFailed { findings }.into());
            }
        }
    }

    let audit = if safetynet::exchange::comparison_audit::is_comparison(&report) {
        safetynet::exchange::comparison_audit::audit_dir(&report, protection_width, min_cell)?
    } else {
        safetynet::publish::audit::audit_dir(&report, protection_width, min_cell)?
    };
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
