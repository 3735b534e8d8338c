//! A change of the store: files are staged under `.tmp/`, moved to their
//! final (new, unique) names, and committed by replacing the manifest with
//! one atomic rename. Dropping a transaction without committing removes its
//! staging and leaves the store as it was.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Store;
use super::manifest::{MANIFEST_FILE, Manifest};
use crate::error::{Error, Result};

const STAGING_DIR: &str = ".tmp";

pub struct Transaction<'s> {
    store: &'s Store,
    staging: PathBuf,
    /// Staged files and their path relative to the store root.
    staged: Vec<(PathBuf, String)>,
    created_root: bool,
    committed: bool,
}

fn io<T>(path: &Path, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|e| Error::io(path, e))
}

impl<'s> Transaction<'s> {
    pub(super) fn begin(store: &'s Store) -> Result<Self> {
        let root = store.root();
        let created_root = !root.exists();
        io(root, fs::create_dir_all(root))?;
        remove_leftovers(store)?;
        let staging = root.join(STAGING_DIR).join(format!(
            "txn-{}-{}",
            std::process::id(),
            store.manifest().generation + 1
        ));
        io(&staging, fs::create_dir_all(&staging))?;
        Ok(Transaction {
            store,
            staging,
            staged: Vec::new(),
            created_root,
            committed: false,
        })
    }

    /// The generation this transaction will commit.
    pub fn generation(&self) -> u64 {
        self.store.manifest().generation + 1
    }

    /// A path in the staging area for a file that will live at `relative`
    /// in the store once committed.
    pub fn stage(&mut self, relative: &str) -> Result<PathBuf> {
        let path = self.staging.join(relative);
        if let Some(parent) = path.parent() {
            io(parent, fs::create_dir_all(parent))?;
        }
        self.staged.push((path.clone(), relative.to_string()));
        Ok(path)
    }

    /// Moves the staged files into place and atomically replaces the
    /// manifest. Files the new manifest no longer lists are removed after
    /// the commit (a failure there leaves unreferenced files only).
    pub fn commit(mut self, mut manifest: Manifest) -> Result<()> {
        let root = self.store.root().to_path_buf();
        // optimistic concurrency: refuse to overwrite a change made by
        // another process since this one began
        let on_disk = Manifest::read(&root)?.map(|m| m.generation).unwrap_or(0);
        if on_disk != self.store.manifest().generation {
            return Err(Error::store(
                &root,
                "the store was changed by another process during this run; run the command again",
            ));
        }
        manifest.generation = self.generation();
        manifest.data_files.sort();
        for (staged, relative) in &self.staged {
            if !staged.exists() {
                continue; // staged but never written: nothing to move
            }
            let target = root.join(relative);
            if target.exists() {
                return Err(Error::store(&root, format!("{relative} already exists")));
            }
            if let Some(parent) = target.parent() {
                io(parent, fs::create_dir_all(parent))?;
            }
            io(&target, fs::rename(staged, &target))?;
        }
        let temp = self.staging.join(MANIFEST_FILE);
        {
            let mut file = io(&temp, fs::File::create(&temp))?;
            io(&temp, file.write_all(manifest.to_json().as_bytes()))?;
            io(&temp, file.sync_all())?;
        }
        io(&root, fs::rename(&temp, root.join(MANIFEST_FILE)))?;
        self.committed = true;

        let keep: std::collections::HashSet<&str> = manifest
            .data_files
            .iter()
            .map(String::as_str)
            .chain(
                manifest
                    .inputs
                    .iter()
                    .filter_map(|f| f.quarantine_file.as_deref()),
            )
            .collect();
        for old in &self.store.manifest().data_files {
            if !keep.contains(old.as_str()) {
                let _ = fs::remove_file(root.join(old));
            }
        }
        remove_empty_dirs(&root.join("data"));
        Ok(())
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.staging);
        let staging_parent = self.store.root().join(STAGING_DIR);
        let _ = fs::remove_dir(&staging_parent);
        if !self.committed {
            // undo moves made by a commit that failed half-way
            for (_, relative) in &self.staged {
                let target = self.store.root().join(relative);
                if !self.store.manifest().data_files.contains(relative) {
                    let _ = fs::remove_file(target);
                }
            }
            remove_empty_dirs(&self.store.root().join("data"));
            let _ = fs::remove_dir(self.store.root().join("quarantine"));
            if self.created_root {
                let _ = fs::remove_dir(self.store.root());
            }
        }
    }
}

/// Removes what a killed run left behind: staging directories and files in
/// `data/` or `quarantine/` that the manifest does not list.
fn remove_leftovers(store: &Store) -> Result<()> {
    let root = store.root();
    let _ = fs::remove_dir_all(root.join(STAGING_DIR));
    let manifest = store.manifest();
    let listed: std::collections::HashSet<PathBuf> = manifest
        .data_files
        .iter()
        .map(|f| root.join(f))
        .chain(
            manifest
                .inputs
                .iter()
                .filter_map(|f| f.quarantine_file.as_ref().map(|q| root.join(q))),
        )
        .collect();
    for dir in ["data", "quarantine"] {
        for file in files_under(&root.join(dir)) {
            if !listed.contains(&file) {
                let _ = fs::remove_file(&file);
            }
        }
    }
    remove_empty_dirs(&root.join("data"));
    Ok(())
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Removes empty partition directories bottom-up (and `dir` itself if empty).
fn remove_empty_dirs(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                remove_empty_dirs(&entry.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}
