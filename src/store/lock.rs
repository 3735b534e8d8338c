//! One writer at a time per store: an advisory lock on `STORE/.lock`, held
//! by a change from its start to its end. The lock is the operating
//! system's (released when the process ends, however it ends); the file
//! says who holds it while it is held, and is left empty afterwards.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const LOCK_FILE: &str = ".lock";

/// The held lock of a store; dropping it releases the lock.
pub struct StoreLock {
    file: File,
    path: PathBuf,
}

impl StoreLock {
    /// Takes the store's lock without waiting; when another process holds
    /// it, the error names that process.
    pub fn acquire(root: &Path) -> Result<Self> {
        let path = root.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(Error::Locked {
                    path: root.to_path_buf(),
                    holder: if holder.is_empty() {
                        "a process that has not yet said which".into()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let holder = format!(
            "pid {}, `{}`, since {}",
            std::process::id(),
            command_line(),
            crate::base::clock::now_rfc3339()
        );
        file.set_len(0).map_err(|e| Error::io(&path, e))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(&path, e))?;
        file.write_all(holder.as_bytes())
            .map_err(|e| Error::io(&path, e))?;
        Ok(StoreLock { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // empty again, so a store at rest is the same bytes before and after
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// The command line, shortened, as the holder's description.
fn command_line() -> String {
    let mut args: Vec<String> = std::env::args().collect();
    if let Some(first) = args.first_mut()
        && let Some(name) = Path::new(first.as_str()).file_name()
    {
        *first = name.to_string_lossy().into_owned();
    }
    let text = args.join(" ");
    let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    text
}
