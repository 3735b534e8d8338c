//! Is the store what its manifest says? Every time a store is opened, each
//! listed file must exist with the size it was written with (cheap: one
//! `stat` a file); `safetynet verify` and `share` also hash every file.
//! A missing, cut, grown or altered file is an error naming it.

use serde::Serialize;

use super::Store;
use crate::error::{Error, Result};

/// What a full verification found on an intact store.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub files: usize,
    pub bytes: u64,
    /// Files listed by a manifest written before sizes and hashes were
    /// recorded: there, and readable, but nothing to check them against.
    pub without_checks: Vec<String>,
    /// Files no manifest lists any more, of generations replaced while
    /// another process read them (or left by a killed change): nothing
    /// reads them, and the next change removes them once no one reads.
    pub awaiting_removal: usize,
}

/// Every listed file exists, with its recorded size.
pub fn check_sizes(store: &Store) -> Result<()> {
    let mut problems = Vec::new();
    for relative in store.manifest().listed_files() {
        let path = store.root().join(relative);
        match std::fs::metadata(&path) {
            Err(_) => problems.push(format!("{relative} is missing")),
            Ok(meta) => {
                if let Some(check) = store.manifest().files.get(relative)
                    && check.size != meta.len()
                {
                    problems.push(format!(
                        "{relative} has {} bytes, not the {} it was written with",
                        meta.len(),
                        check.size
                    ));
                }
            }
        }
    }
    damaged(store, problems)
}

/// Every listed file exists with its recorded size and SHA-256.
pub fn verify(store: &Store) -> Result<Verified> {
    check_sizes(store)?;
    let mut problems = Vec::new();
    let mut verified = Verified {
        files: 0,
        bytes: 0,
        without_checks: Vec::new(),
        awaiting_removal: super::transaction::unlisted_change_files(store).len(),
    };
    for relative in store.manifest().listed_files() {
        let Some(check) = store.manifest().files.get(relative) else {
            verified.without_checks.push(relative.to_string());
            continue;
        };
        let path = store.root().join(relative);
        let (size, sha256) = hash_file(&path)?;
        if sha256 != check.sha256 {
            problems.push(format!(
                "{relative} is not the file that was written (its SHA-256 differs)"
            ));
        }
        verified.files += 1;
        verified.bytes += size;
    }
    damaged(store, problems)?;
    Ok(verified)
}

pub(super) fn hash_file(path: &std::path::Path) -> Result<(u64, String)> {
    crate::base::files::sha256_file(path).map_err(|e| Error::io(path, e))
}

fn damaged(store: &Store, problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = problems.iter().take(10).map(String::as_str).collect();
    let more = problems.len().saturating_sub(shown.len());
    let mut message = shown.join("; ");
    if more > 0 {
        message += &format!("; and {more} more");
    }
    Err(Error::Damaged {
        path: store.root().to_path_buf(),
        message: message
            + ". Nothing is answered from a damaged store: restore it from a backup, or ingest its inputs into a new store",
    })
}
