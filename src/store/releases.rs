//! The release ledger: every publication made from a store (a report, the
//! service gaps, a comparison, a shared bundle), with what it covered, its
//! disclosure settings, when, by which version, and the SHA-256 of every
//! file it published. An attacker is assumed to hold every release; the
//! ledger is how the store knows what they hold.
//!
//! The ledger is a file of the store like its data: written by a change of
//! its own (under the store's lock, synced, committed by the manifest),
//! listed in the manifest with its size and hash. Deleting or editing it
//! makes the store damaged (exit code 3) for every command, so it is not a
//! way to make the store forget what it published. A store written before
//! the ledger existed starts one at its next publication.

use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Store;
use crate::error::{Error, Result};

/// What a release covered: the selection its figures were computed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub from_year: i32,
    pub to_year: i32,
    /// Reporting countries; empty = all in the store.
    pub countries: Vec<String>,
    /// `victims` or `cases`.
    pub unit: String,
}

/// One published file and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedFile {
    pub path: String,
    pub sha256: String,
}

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// 1, 2, ... in the order of publication.
    pub id: u64,
    pub published_at: String,
    pub tool: String,
    /// `report`, `gaps`, `compare` or `share`.
    pub command: String,
    /// Where it was written, as given.
    pub target: String,
    pub scope: Scope,
    pub min_cell: u64,
    pub protection_width: u64,
    /// The noise table's bound the counts were published with (absent in
    /// a ledger of a version before perturbation: exact counts).
    #[serde(default)]
    pub max_noise: u64,
    /// The store's generation the figures were computed from.
    pub store_generation: u64,
    pub files: Vec<PublishedFile>,
}

/// A publication about to be made, before the ledger numbers it.
pub struct Publication {
    pub command: String,
    pub target: String,
    pub scope: Scope,
    pub min_cell: u64,
    pub protection_width: u64,
    pub max_noise: u64,
    pub files: Vec<PublishedFile>,
}

/// The releases of a store, oldest first (none for a store without a
/// ledger).
pub fn read(store: &Store) -> Result<Vec<Release>> {
    let Some(relative) = &store.manifest().ledger else {
        return Ok(Vec::new());
    };
    let path = store.root().join(relative);
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let mut releases = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(&path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let release: Release = serde_json::from_str(&line).map_err(|e| Error::Damaged {
            path: store.root().to_path_buf(),
            message: format!("{relative} line {}: not a release: {e}", i + 1),
        })?;
        releases.push(release);
    }
    Ok(releases)
}

/// Records a publication: a change of the store that writes the ledger
/// with one more line. The publication is refused (nothing recorded) when
/// another process is changing the store or changed it since `store` was
/// opened: its figures would not be those of the store it names.
pub fn record(store: &Store, publication: Publication) -> Result<Release> {
    let mut releases = read(store)?;
    allowed_after(
        &releases,
        publication.min_cell,
        publication.protection_width,
    )?;
    let release = Release {
        id: releases.last().map_or(1, |r| r.id + 1),
        published_at: crate::base::clock::now_rfc3339(),
        tool: format!("safetynet {}", env!("CARGO_PKG_VERSION")),
        command: publication.command,
        target: publication.target,
        scope: publication.scope,
        min_cell: publication.min_cell,
        protection_width: publication.protection_width,
        max_noise: publication.max_noise,
        store_generation: store.manifest().generation,
        files: publication.files,
    };
    releases.push(release.clone());
    let txn = store.begin()?;
    let relative = format!(
        "releases/g{:06}-{}-ledger.jsonl",
        txn.generation(),
        txn.change_id()
    );
    let staged = txn.stage(&relative)?;
    let mut text = String::new();
    for r in &releases {
        text += &serde_json::to_string(r).map_err(|e| Error::store(&staged, e.to_string()))?;
        text.push('\n');
    }
    std::fs::write(&staged, text).map_err(|e| Error::io(&staged, e))?;
    let mut manifest = store.manifest().clone();
    manifest.ledger = Some(relative);
    txn.commit(manifest)?;
    Ok(release)
}

/// Whether a release with K = `min_cell` and protection width `width`
/// may follow `earlier`: neither may be lower than any earlier release's.
/// A lower K publishes counts an earlier release kept hidden (its `x`
/// cells from K' to K-1), and a reader holding both learns which of its
/// suppressed counts they were; a narrower width lets the new release pin
/// what the earlier one protected. Refused, naming the release it would
/// expose.
pub fn allowed_after(earlier: &[Release], min_cell: u64, width: u64) -> Result<()> {
    let stricter = earlier
        .iter()
        .find(|r| r.min_cell > min_cell || r.protection_width > width);
    match stricter {
        None => Ok(()),
        Some(r) => Err(Error::Usage(format!(
            "release {} ({} to {}, {}) was published with K = {} and protection width {}; \
             this one asks for K = {min_cell} and width {width}, which would publish or pin counts \
             release {} kept hidden. Use --min-cell {} (and a width of at least {}), or publish \
             from a new store",
            r.id,
            r.command,
            r.target,
            r.published_at,
            r.min_cell,
            r.protection_width,
            r.id,
            r.min_cell,
            r.protection_width
        ))),
    }
}

/// Every file under `dir` with its SHA-256, sorted, as a release lists them.
pub fn published_files(dir: &Path) -> Result<Vec<PublishedFile>> {
    crate::base::files::relative_files(dir)?
        .into_iter()
        .map(|(path, full)| {
            let (_, sha256) = super::verify::hash_file(&full)?;
            Ok(PublishedFile { path, sha256 })
        })
        .collect()
}
