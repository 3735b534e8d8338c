//! Hashing and listing files: the one SHA-256 of the project (input
//! hashes, the store's file checks, bundles, the release ledger) and the
//! one walk of a folder's files (output markers, published files).

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `bytes`, as hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The size and SHA-256 (hex) of a file, read in pieces (never held whole).
pub fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((size, hex(&hasher.finalize())))
}

/// The SHA-256 of the bytes read through a [`Hashing`] reader, worked out
/// as they are read: a file's hash that describes exactly the bytes a pass
/// took its rows from, without a read of its own. Shared between the
/// reader and whoever asks for the hash once the reading is done.
#[derive(Clone, Default)]
pub struct ReadDigest(std::sync::Arc<std::sync::Mutex<Hashed>>);

#[derive(Default)]
struct Hashed {
    hasher: Sha256,
    bytes: u64,
}

impl ReadDigest {
    /// The hash of the whole file at `path`, when the reading took in as
    /// many bytes as the file holds now; `None` when it stopped short (a
    /// reader that ends at a compressed stream's end, say) or the file
    /// changed size meanwhile. A reader reaching its end is not taken on
    /// trust: the hash names the file in the store's manifest.
    pub fn of_whole_file(&self, path: &Path) -> Option<String> {
        let size = std::fs::metadata(path).ok()?.len();
        let hashed = self.hashed();
        (hashed.bytes == size).then(|| hex(&hashed.hasher.clone().finalize()))
    }

    /// The hash of the bytes read so far, whatever the file holds now: to
    /// compare with a hash of the whole file taken before, which only the
    /// same bytes, all of them, give.
    pub fn of_what_was_read(&self) -> String {
        hex(&self.hashed().hasher.clone().finalize())
    }

    fn hashed(&self) -> std::sync::MutexGuard<'_, Hashed> {
        self.0.lock().expect("no reader panics holding it")
    }
}

impl std::fmt::Debug for ReadDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadDigest")
    }
}

/// A reader that adds every byte read through it to a [`ReadDigest`].
pub struct Hashing<R> {
    inner: R,
    digest: ReadDigest,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R, digest: ReadDigest) -> Self {
        Hashing { inner, digest }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut hashed = self.digest.hashed();
        hashed.hasher.update(&buf[..n]);
        hashed.bytes += n as u64;
        Ok(n)
    }
}

/// Every file under `root`, as its path relative to `root` with `/`
/// between parts, and its full path; sorted by the relative path.
/// Symbolic links are listed as files and never followed.
pub fn relative_files(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let path = entry.path();
            if entry.file_type().map_err(|e| Error::io(&path, e))?.is_dir() {
                walk(root, &path, out)?;
            } else {
                let relative = path.strip_prefix(root).expect("under root");
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push((parts.join("/"), path));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_of_a_file_is_the_hash_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, b"abc").unwrap();
        let (size, hash) = sha256_file(&path).unwrap();
        assert_eq!(size, 3);
        assert_eq!(hash, sha256_hex(b"abc"));
        assert_eq!(
            hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
