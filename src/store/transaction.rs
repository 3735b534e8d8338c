//! A change of the store. It holds the store's lock from start to end (one
//! change at a time), stages its files in a folder of its own under
//! `.tmp/`, names them uniquely (generation and a change id), and commits
//! by syncing every file and folder to disk and then replacing the manifest
//! with one atomic rename; the manifest records each file's size and hash.
//! Dropping a transaction without committing removes only what it created
//! and leaves the store as it was.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::Store;
use super::lock::{LOCK_FILE, StoreLock};
use super::manifest::{FileCheck, MANIFEST_FILE, Manifest};
use crate::error::{Error, Result};

const STAGING_DIR: &str = ".tmp";

pub struct Transaction<'s> {
    store: &'s Store,
    staging: PathBuf,
    /// Unique to this change: in every file name it writes, so that no two
    /// changes ever name a file the same.
    change_id: String,
    /// Staged files and their path relative to the store root. Behind a
    /// lock so that ingest's store writer (a thread of its own) and its
    /// quarantine can both stage files while the change runs.
    staged: Mutex<Vec<(PathBuf, String)>>,
    /// Files moved into the store by a commit that has not finished.
    moved: Vec<String>,
    created_root: bool,
    committed: bool,
    // last: released after the clean-up of `drop`
    _lock: Option<StoreLock>,
}

fn io<T>(path: &Path, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|e| Error::io(path, e))
}

impl<'s> Transaction<'s> {
    pub(super) fn begin(store: &'s Store, change_id: String) -> Result<Self> {
        let root = store.root();
        let created_root = !root.exists();
        io(root, fs::create_dir_all(root))?;
        let lock = match StoreLock::acquire(root) {
            Ok(lock) => lock,
            Err(e) => {
                if created_root {
                    let _ = fs::remove_file(root.join(LOCK_FILE));
                    let _ = fs::remove_dir(root);
                }
                return Err(e);
            }
        };
        // Under the lock, the manifest on disk is the one this change builds
        // on, or another change committed since this process read it.
        let on_disk = Manifest::read(root)?.map(|m| m.generation).unwrap_or(0);
        if on_disk != store.manifest().generation {
            return Err(Error::Changed {
                path: root.to_path_buf(),
            });
        }
        remove_leftovers(store)?;
        let staging = root.join(STAGING_DIR).join(format!("txn-{change_id}"));
        io(&staging, fs::create_dir_all(&staging))?;
        Ok(Transaction {
            store,
            staging,
            change_id,
            staged: Mutex::new(Vec::new()),
            moved: Vec::new(),
            created_root,
            committed: false,
            _lock: Some(lock),
        })
    }

    /// The change id every file name of this change carries.
    pub fn change_id(&self) -> &str {
        &self.change_id
    }

    /// The generation this transaction will commit.
    pub fn generation(&self) -> u64 {
        self.store.manifest().generation + 1
    }

    /// A path in the staging area for a file that will live at `relative`
    /// in the store once committed.
    pub fn stage(&self, relative: &str) -> Result<PathBuf> {
        let path = self.staging.join(relative);
        if let Some(parent) = path.parent() {
            io(parent, fs::create_dir_all(parent))?;
        }
        self.staged
            .lock()
            .expect("no thread panics while staging")
            .push((path.clone(), relative.to_string()));
        Ok(path)
    }

    /// Moves the staged files into place and atomically replaces the
    /// manifest. Files the new manifest no longer lists are removed after
    /// the commit (a failure there leaves unreferenced files only).
    pub fn commit(mut self, mut manifest: Manifest) -> Result<()> {
        let root = self.store.root().to_path_buf();
        // the lock makes this hold; checked again because a commit that
        // overwrote another's would lose its records
        let on_disk = Manifest::read(&root)?.map(|m| m.generation).unwrap_or(0);
        if on_disk != self.store.manifest().generation {
            return Err(Error::store(
                &root,
                "the store was changed by another process during this run; run the command again",
            ));
        }
        manifest.generation = self.generation();
        manifest.data_files.sort();
        // what the new manifest lists keeps its check; old files it no
        // longer lists lose theirs
        let listed: std::collections::HashSet<String> =
            manifest.listed_files().map(str::to_string).collect();
        manifest.files.retain(|path, _| listed.contains(path));
        let mut parents = std::collections::BTreeSet::new();
        let staged_files = std::mem::take(
            self.staged
                .get_mut()
                .expect("no thread panics while staging"),
        );
        for (staged, relative) in &staged_files {
            if !staged.exists() {
                continue; // staged but never written: nothing to move
            }
            manifest
                .files
                .insert(relative.clone(), sync_and_check(staged)?);
            let target = root.join(relative);
            if target.exists() {
                return Err(Error::store(&root, format!("{relative} already exists")));
            }
            if let Some(parent) = target.parent() {
                io(parent, fs::create_dir_all(parent))?;
                parents.insert(parent.to_path_buf());
            }
            io(&target, fs::rename(staged, &target))?;
            self.moved.push(relative.clone());
        }
        // the files' new names are durable before the manifest names them
        for dir in &parents {
            sync_dir(dir)?;
        }
        for dir in ["data", "quarantine", "releases"] {
            if root.join(dir).is_dir() {
                sync_dir(&root.join(dir))?;
            }
        }
        if manifest.cell_key.is_none() {
            manifest.cell_key = manifest.derived_cell_key();
        }
        crate::store::kill_point("store-before-manifest");
        let temp = self.staging.join(MANIFEST_FILE);
        {
            let mut file = io(&temp, fs::File::create(&temp))?;
            io(&temp, file.write_all(manifest.to_json().as_bytes()))?;
            io(&temp, file.sync_all())?;
        }
        io(&root, fs::rename(&temp, root.join(MANIFEST_FILE)))?;
        self.committed = true;
        sync_dir(&root)?;
        crate::store::kill_point("store-after-manifest");

        // The previous generation's files that the new manifest no longer
        // lists: only paths the old manifest named, which are confined to
        // the store's data/ and quarantine/ folders (checked on reading).
        // Not while another process reads them: they stay, unlisted, for a
        // later change to remove (see `remove_leftovers`).
        let keep: std::collections::HashSet<&str> = manifest.listed_files().collect();
        super::readers::when_no_one_reads(&root, || {
            for old in self.store.manifest().listed_files() {
                if !keep.contains(old) {
                    let _ = fs::remove_file(root.join(old));
                }
            }
            remove_empty_dirs(&root.join("data"));
        });
        Ok(())
    }
}

/// Makes a staged file durable and returns its size and hash.
fn sync_and_check(path: &Path) -> Result<FileCheck> {
    io(path, fs::File::open(path).and_then(|f| f.sync_all()))?;
    let (size, sha256) = super::verify::hash_file(path)?;
    Ok(FileCheck { size, sha256 })
}

fn sync_dir(dir: &Path) -> Result<()> {
    let handle = io(dir, fs::File::open(dir))?;
    io(dir, handle.sync_all())
}

/// Eight hex digits from the process id and the clock: two changes, in one
/// process or two, never get the same one (in one process they come one
/// after another; the process ids of two differ). A file read once chooses
/// its change's id before the lock is taken, which this does not depend on.
pub fn new_change_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut hasher = Sha256::new();
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(nanos.to_le_bytes());
    crate::base::files::hex(&hasher.finalize()[..4])
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.staging);
        let staging_parent = self.store.root().join(STAGING_DIR);
        let _ = fs::remove_dir(&staging_parent);
        if !self.committed {
            // undo moves made by a commit that failed half-way: files this
            // change named (uniquely), nothing else
            for relative in &self.moved {
                let _ = fs::remove_file(self.store.root().join(relative));
            }
            remove_empty_dirs(&self.store.root().join("data"));
            let _ = fs::remove_dir(self.store.root().join("quarantine"));
            if self.created_root {
                self._lock = None;
                let _ = fs::remove_file(self.store.root().join(LOCK_FILE));
                let _ = fs::remove_dir(self.store.root());
            }
        }
    }
}

/// Removes what a killed change left behind, under the lock (so no change
/// is running): its staging folders under `.tmp/`, and files in `data/` or
/// `quarantine/` that the manifest does not list and that bear the names
/// only a change gives (`g000042-<change id>-...`). A file someone else put
/// there is left alone. Unlisted files are also those of an older
/// generation that a process was still reading when it was replaced: they
/// are removed only when no other process reads the store.
fn remove_leftovers(store: &Store) -> Result<()> {
    let root = store.root();
    let _ = fs::remove_dir_all(root.join(STAGING_DIR));
    let unlisted = unlisted_change_files(store);
    if !unlisted.is_empty() {
        super::readers::when_no_one_reads(root, || {
            for file in &unlisted {
                let _ = fs::remove_file(file);
            }
        });
    }
    remove_empty_dirs(&root.join("data"));
    Ok(())
}

/// Files in `data/`, `quarantine/` or `releases/` that bear the names only
/// a change gives but that the manifest does not list: left by a killed
/// change, or replaced while another process read them.
pub(super) fn unlisted_change_files(store: &Store) -> Vec<PathBuf> {
    let root = store.root();
    let listed: std::collections::HashSet<PathBuf> = store
        .manifest()
        .listed_files()
        .map(|f| root.join(f))
        .collect();
    ["data", "quarantine", "releases"]
        .iter()
        .flat_map(|dir| files_under(&root.join(dir)))
        .filter(|file| {
            file.file_name()
                .is_some_and(|n| is_change_file_name(&n.to_string_lossy()))
                && !listed.contains(file)
        })
        .collect()
}

/// `g000042-1a2b3c4d-0001.parquet`, `g000042-1a2b3c4d-<hash>.csv`.
fn is_change_file_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('g') else {
        return false;
    };
    let mut parts = rest.splitn(3, '-');
    let generation = parts.next().unwrap_or("");
    let change = parts.next().unwrap_or("");
    let tail = parts.next().unwrap_or("");
    generation.len() == 6
        && generation.bytes().all(|b| b.is_ascii_digit())
        && change.len() == 8
        && change.bytes().all(|b| b.is_ascii_hexdigit())
        && (tail.ends_with(".parquet") || tail.ends_with(".csv") || tail.ends_with(".jsonl"))
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
