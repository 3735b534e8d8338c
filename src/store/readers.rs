//! Readers keep the files of the generation they opened. A command that
//! reads a store (a report, a query, a comparison) holds a shared lock on
//! `STORE/.readers` from before it reads the manifest until it ends; a
//! change removes the files its commit no longer lists only when it can
//! take that lock exclusively, that is when no other process is reading.
//! Otherwise the files stay, listed by no manifest, and a later change
//! removes them once no one reads.
//!
//! Why: DataFusion reads a listed file that has gone as an empty folder
//! (`ListingTableUrl` retries a missing object as a prefix), so a report
//! running beside an `ingest` that committed could count a store with
//! files missing, without an error. Seen once in CI as a report that
//! found no records; it could as well have published counts short by the
//! missing files.
//!
//! The lock is the operating system's (`flock`), released when the process
//! ends however it ends. A process holds one lock per store whatever
//! number of [`ReaderPin`]s it has: its own commits do not wait for its own
//! reading (a process's commands run one after another).

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, MutexGuard};

pub const READERS_FILE: &str = ".readers";

/// The open `.readers` of each store this process reads, and how many
/// pins hold it.
struct Held {
    file: File,
    pins: usize,
}

static HELD: LazyLock<Mutex<HashMap<PathBuf, Held>>> = LazyLock::new(Default::default);

fn held() -> MutexGuard<'static, HashMap<PathBuf, Held>> {
    // a panic elsewhere while holding it leaves the map consistent
    HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One path per store, however the command line spelled it, so that one
/// process never holds two locks on one store.
fn key(root: &Path) -> PathBuf {
    std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf())
}

/// The store's `.readers`, created when missing; opened for reading only
/// where this user may not write it (another user's store), as a lock
/// needs no more: without the fallback, such a user's reading went
/// unprotected and its changes removed files others read.
fn open_readers_file(root: &Path) -> Option<File> {
    let path = root.join(READERS_FILE);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .or_else(|_| File::open(&path))
        .ok()
}

/// The files of the generation read after this pin stay until it is
/// dropped.
#[derive(Debug)]
pub struct ReaderPin {
    key: PathBuf,
}

/// Pins the store at `root` for reading; take it before reading the
/// manifest. None where the file can be neither made nor opened (a
/// read-only copy, which no change can alter either) or the file system
/// has no locks.
pub fn pin(root: &Path) -> Option<ReaderPin> {
    let key = key(root);
    let mut map = held();
    if let Some(entry) = map.get_mut(&key) {
        entry.pins += 1;
        return Some(ReaderPin { key });
    }
    let file = open_readers_file(root)?;
    // waits only while a change removes old files (milliseconds)
    file.lock_shared().ok()?;
    map.insert(key.clone(), Held { file, pins: 1 });
    Some(ReaderPin { key })
}

impl Drop for ReaderPin {
    fn drop(&mut self) {
        let mut map = held();
        if let Some(entry) = map.get_mut(&self.key) {
            entry.pins -= 1;
            if entry.pins == 0 {
                let _ = entry.file.unlock();
                map.remove(&self.key);
            }
        }
    }
}

/// Runs `remove` when no other process reads the store at `root`, and
/// returns whether it ran. Call it only under the store's write lock: no
/// other change can be removing files meanwhile.
pub fn when_no_one_reads(root: &Path, remove: impl FnOnce()) -> bool {
    let key = key(root);
    let map = held();
    match map.get(&key) {
        // This process reads the store itself: its lock is set aside for
        // the test (a lock cannot be both shared and exclusive) and taken
        // again; no other change can slip in meanwhile, as the caller
        // holds the write lock.
        Some(entry) => {
            let _ = entry.file.unlock();
            let alone = exclusive(&entry.file);
            if alone {
                remove();
            }
            let _ = entry.file.unlock();
            let _ = entry.file.lock_shared();
            alone
        }
        // Not openable even for reading: nothing tells whether anyone
        // reads, so nothing is removed (a later change tries again).
        None => open_readers_file(root).is_some_and(|file| {
            let alone = exclusive(&file);
            if alone {
                remove();
                let _ = file.unlock();
            }
            alone
        }),
    }
}

fn exclusive(file: &File) -> bool {
    match file.try_lock() {
        Ok(()) => true,
        Err(TryLockError::WouldBlock) => false,
        Err(TryLockError::Error(_)) => false,
    }
}
