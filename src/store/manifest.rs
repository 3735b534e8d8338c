//! The store's manifest: which input files were ingested (with their content
//! hash and counts) and which Parquet files hold the records. The manifest is
//! the commit point of every change: a data file not listed in it is not
//! part of the store.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub read: u64,
    pub stored: u64,
    pub quarantined: u64,
    pub duplicates: u64,
}

impl Counts {
    pub fn reconciles(&self) -> bool {
        self.read == self.stored + self.quarantined + self.duplicates
    }

    pub fn add(&mut self, other: &Counts) {
        self.read += other.read;
        self.stored += other.stored;
        self.quarantined += other.quarantined;
        self.duplicates += other.duplicates;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestedFile {
    /// The path as the user gave it.
    pub name: String,
    pub sha256: String,
    pub format: String,
    /// The mapping the file was read through (`ctdc`, `htcds`, or the
    /// `[layout] name` of a mapping file); absent for the canonical layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
    pub ingested_at: String,
    /// Quarantine CSV of this file, relative to the store root, when any row
    /// was quarantined or duplicated.
    pub quarantine_file: Option<String>,
    /// What the guard let through this file's columns by the mapping's
    /// `allow` (see [`Allowed`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guard_allowed: Vec<Allowed>,
    /// The sheet read, for a workbook: another sheet of the same file is
    /// another input. (Absent in stores of before 2026-12-07, where a
    /// workbook's input was its first sheet or the layout's.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
}

/// Values the personal-data guard let through a column because the
/// mapping allows their kind there (`allow = ["phone"]` on a period
/// column), with the mapping's reason: recorded for every file ingested,
/// printed by `ingest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowed {
    pub column: String,
    /// The kind's name in a mapping's `allow` (`phone`, `date`, ...).
    pub kind: String,
    pub values: u64,
    pub why: String,
}

impl std::fmt::Display for Allowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "column '{}': {} value(s) shaped like '{}' let through, as the mapping allows ({})",
            self.column, self.values, self.kind, self.why
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// Increases with every committed change; data file names carry it.
    pub generation: u64,
    pub rules_version: String,
    pub rules_sha256: String,
    pub inputs: Vec<IngestedFile>,
    /// Parquet files of the store, relative to its root, sorted.
    pub data_files: Vec<String>,
    /// Size and SHA-256 of every file the manifest lists (data and
    /// quarantine), as written, so that a missing, cut or altered file is
    /// found before it is read. Stores written before this field have none
    /// for their older files (see `verify`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, FileCheck>,
    /// The release ledger (`releases/ledger-...jsonl`): every publication
    /// made from the store. Listed and checked like a data file, so that
    /// deleting or editing it makes the store damaged, not forgetful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
    /// The secret that keys the noise of published counts (hex, 16
    /// bytes; see [`safetynet_sdc::Perturbation`]). Set once, at the first
    /// change that stores data, from that data's hashes, and kept by every
    /// later change: the same records must get the same noise for the life
    /// of the store, or averaging two releases would take the noise off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_key: Option<String>,
}

/// What a file of the store was when its change committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCheck {
    pub size: u64,
    pub sha256: String,
}

impl Manifest {
    pub fn empty() -> Self {
        Manifest {
            format_version: FORMAT_VERSION,
            generation: 0,
            rules_version: String::new(),
            rules_sha256: String::new(),
            inputs: Vec::new(),
            data_files: Vec::new(),
            files: BTreeMap::new(),
            ledger: None,
            cell_key: None,
        }
    }

    pub fn read(root: &Path) -> Result<Option<Self>> {
        let path = root.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| Error::store(root, format!("manifest.json is unreadable: {e}")))?;
        if manifest.format_version != FORMAT_VERSION {
            return Err(Error::store(
                root,
                format!(
                    "store format version {} is not supported (this tool reads version {FORMAT_VERSION})",
                    manifest.format_version
                ),
            ));
        }
        manifest.check_paths(root)?;
        Ok(Some(manifest))
    }

    /// Every path the manifest lists, data and quarantine files alike.
    pub fn listed_files(&self) -> impl Iterator<Item = &str> {
        self.data_files
            .iter()
            .map(String::as_str)
            .chain(
                self.inputs
                    .iter()
                    .filter_map(|f| f.quarantine_file.as_deref()),
            )
            .chain(self.ledger.as_deref())
    }

    /// A manifest may only name files inside the store's `data/`,
    /// `quarantine/` and `releases/` folders: a path that leaves them (`../x`, `/etc/x`)
    /// would make a change read or delete someone else's file.
    fn check_paths(&self, root: &Path) -> Result<()> {
        let listed = self
            .listed_files()
            .chain(self.files.keys().map(String::as_str));
        for path in listed {
            if !is_confined(path) {
                return Err(Error::Damaged {
                    path: root.to_path_buf(),
                    message: format!(
                        "manifest.json lists '{path}', which is not a file under data/, quarantine/ or releases/ of the store"
                    ),
                });
            }
        }
        Ok(())
    }

    /// The cell-key secret the data files give: SHA-256 of a fixed tag and
    /// their hashes, cut to 16 bytes. Nobody without the store's files can
    /// compute it, and the same input always gives the same reports.
    pub fn derived_cell_key(&self) -> Option<String> {
        use sha2::{Digest, Sha256};
        if self.data_files.is_empty() {
            return None;
        }
        let mut hasher = Sha256::new();
        hasher.update(b"safetynet cell-key secret v1\n");
        for file in &self.data_files {
            // a store older than the file checks has only the name
            let id = self
                .files
                .get(file)
                .map_or(file.as_str(), |c| c.sha256.as_str());
            hasher.update(id.as_bytes());
            hasher.update(b"\n");
        }
        Some(crate::base::files::hex(&hasher.finalize()[..16]))
    }

    /// The input of these bytes (and, for a workbook, this sheet; `first`
    /// is the workbook's first sheet). A workbook recorded without its
    /// sheet (before sheets were recorded) was read from its first sheet,
    /// unless a layout named another: its first sheet counts as ingested,
    /// and another is read (should that be the sheet a layout read, its
    /// records are found again as duplicates, not stored twice).
    pub fn find_input(
        &self,
        sha256: &str,
        sheet: Option<&str>,
        first: Option<&str>,
    ) -> Option<&IngestedFile> {
        self.inputs.iter().find(|f| {
            f.sha256 == sha256
                && match (f.sheet.as_deref(), sheet) {
                    (Some(recorded), Some(now)) => recorded == now,
                    (None, Some(now)) => Some(now) == first,
                    _ => true,
                }
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serialises") + "\n"
    }
}

/// Whether a manifest path stays in the store: relative, plain names only,
/// under `data/` or `quarantine/`.
pub fn is_confined(path: &str) -> bool {
    let path = Path::new(path);
    let mut components = path.components();
    let first_ok = matches!(
        components.next(),
        Some(Component::Normal(first))
            if first == "data" || first == "quarantine" || first == "releases"
    );
    first_ok
        && path.components().count() >= 2
        && path.components().all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::is_confined;

    #[test]
    fn only_paths_inside_data_and_quarantine_are_confined() {
        assert!(is_confined(
            "data/reporting_country=US/year=2019/g000001-ab-0000.parquet"
        ));
        assert!(is_confined("quarantine/g000001-ab-0123.csv"));
        for outside in [
            "../outside/x.parquet",
            "data/../../x.parquet",
            "/etc/passwd",
            "manifest.json",
            "data",
            "other/x.parquet",
        ] {
            assert!(!is_confined(outside), "{outside}");
        }
    }
}
