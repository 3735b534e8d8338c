//! The store: a directory of Parquet files partitioned by reporting country
//! and year, a manifest, and per-input quarantine files.
//!
//! ```text
//! STORE/manifest.json    the commit point: every file with its size and hash
//! STORE/data/reporting_country=US/year=2019/g000003-<change id>-0001.parquet
//! STORE/quarantine/g000003-<change id>-<file hash>.csv
//! STORE/.lock            held by the one change in progress
//! STORE/.readers         held, shared, by every process reading the store
//! STORE/.tmp/txn-<change id>/   that change's staging
//! ```
//!
//! Every change takes the lock, is staged in its own folder, moved into
//! place under names no other change uses, synced to disk, and committed by
//! atomically replacing `manifest.json`. A change that fails removes what it
//! created; one that is killed leaves only files the manifest does not list,
//! which nothing reads and the next change removes. A change removes the
//! files of the generation it replaced only when no other process is
//! reading the store ([`readers`]). Opening a store checks
//! that every listed file is there with its size (`verify` checks hashes
//! too): a damaged store answers nothing.

pub mod lock;
pub mod manifest;
pub mod readers;
pub mod releases;
pub mod transaction;
pub mod verify;
pub mod writer;

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub use manifest::{Counts, FileCheck, IngestedFile, Manifest};
pub use transaction::Transaction;

use crate::error::{Error, Result};

/// A test hook: a process whose `SAFETYNET_KILL_AT` names this point dies
/// here at once, as a power cut or `kill -9` would stop it, so tests can
/// stop a change at each step without relying on timing.
pub fn kill_point(name: &str) {
    if std::env::var_os("SAFETYNET_KILL_AT").is_some_and(|v| v == name) {
        std::process::abort();
    }
}

/// A test hook beside [`kill_point`]: where `SAFETYNET_FAIL_AT` names this
/// point, the step fails as a full disk would fail it at `path`, so tests
/// can check that a failure on a thread of its own (ingest's store writer)
/// is the error reported and leaves the store as it was.
pub fn fail_point(name: &str, path: &Path) -> Result<()> {
    if std::env::var_os("SAFETYNET_FAIL_AT").is_some_and(|v| v == name) {
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                format!("no space left on device (test hook SAFETYNET_FAIL_AT={name})"),
            ),
        ));
    }
    Ok(())
}

pub struct Store {
    root: PathBuf,
    manifest: Manifest,
    exists: bool,
    /// Keeps the files of `manifest`'s generation from being removed by
    /// another process's change while this one reads them.
    _pin: Option<readers::ReaderPin>,
}

/// A reader's pin on the store at `root`, taken before its manifest is read
/// (a change committing in between would otherwise remove the files of the
/// manifest read). Only a folder with a manifest gets one: opening a folder
/// that is not a store writes nothing into it.
fn pin_if_store(root: &Path) -> Option<readers::ReaderPin> {
    root.join(manifest::MANIFEST_FILE)
        .is_file()
        .then(|| readers::pin(root))
        .flatten()
}

/// The manifest, read under a pin when the folder is a store. A first
/// commit between looking for the manifest and reading it gives a manifest
/// read without a pin: then the pin is taken and the manifest read again.
fn pinned_manifest(root: &Path) -> Result<(Option<readers::ReaderPin>, Option<Manifest>)> {
    let pin = pin_if_store(root);
    let manifest = Manifest::read(root)?;
    if pin.is_none() && manifest.is_some() {
        let pin = readers::pin(root);
        return Ok((pin, Manifest::read(root)?));
    }
    Ok((pin, manifest))
}

impl Store {
    /// Opens an existing store; a directory without a manifest is not one,
    /// and one missing a listed file, or holding one of another size, is
    /// damaged (exit code 3).
    pub fn open(root: &Path) -> Result<Self> {
        let (pin, manifest) = pinned_manifest(root)?;
        match manifest {
            Some(manifest) => {
                let mut store = Store {
                    root: root.to_path_buf(),
                    manifest,
                    exists: true,
                    _pin: pin,
                };
                // A change that commits while we look removes the files of
                // the generation we read: that is a newer store, not a
                // damaged one, so look again at the new manifest.
                for _ in 0..3 {
                    match verify::check_sizes(&store) {
                        Err(Error::Damaged { .. }) => match Manifest::read(root)? {
                            Some(newer) if newer.generation != store.manifest.generation => {
                                store.manifest = newer;
                            }
                            _ => break,
                        },
                        other => return other.map(|()| store),
                    }
                }
                verify::check_sizes(&store)?;
                Ok(store)
            }
            None => Err(Error::Usage(format!(
                "{} is not a safetynet store (no manifest.json); `safetynet ingest` creates one",
                root.display()
            ))),
        }
    }

    /// Opens a store, or an empty one to be created by the first commit.
    pub fn open_or_new(root: &Path) -> Result<Self> {
        if root.exists() && !root.is_dir() {
            return Err(Error::Usage(format!(
                "store {} is a file, not a directory",
                root.display()
            )));
        }
        let (pin, manifest) = pinned_manifest(root)?;
        // A store's own lock and staging are there before its first
        // commit (another process may be making it right now): they do not
        // make the folder someone else's.
        let foreign = |entry: &std::fs::DirEntry| {
            let name = entry.file_name();
            name != lock::LOCK_FILE && name != readers::READERS_FILE && name != ".tmp"
        };
        if manifest.is_none()
            && root.is_dir()
            && std::fs::read_dir(root)
                .map_err(|e| Error::io(root, e))?
                .flatten()
                .any(|e| foreign(&e))
        {
            return Err(Error::Usage(format!(
                "{} is a non-empty directory without manifest.json; refusing to use it as a store",
                root.display()
            )));
        }
        let store = Store {
            root: root.to_path_buf(),
            exists: manifest.is_some(),
            manifest: manifest.unwrap_or_else(Manifest::empty),
            _pin: pin,
        };
        verify::check_sizes(&store)?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn exists(&self) -> bool {
        self.exists
    }

    /// The secret that keys the noise of every count published from the
    /// store; None for a store without data. A store that has published
    /// and lost its secret is damaged: a new secret would give every count
    /// fresh noise, and an attacker averaging old and new releases would
    /// take it off. One that has not yet published gets it now (the same
    /// one its next change records).
    pub fn cell_key_secret(&self) -> Result<Option<safetynet_sdc::CellKeySecret>> {
        let text = match &self.manifest.cell_key {
            Some(text) => text.clone(),
            // Releases published with noise, and the secret that keyed it
            // gone. (Releases of a version before perturbation carry none:
            // such a store gets its secret now, like a new one.)
            None if releases::read(self)?.iter().any(|r| r.max_noise > 0) => {
                return Err(Error::Damaged {
                    path: self.root.clone(),
                    message: "manifest.json has no cell_key, but the release ledger has releases published \
                              with noise: the secret that keyed it is lost, and new noise would let old and new \
                              releases be averaged; restore manifest.json from a backup"
                        .into(),
                });
            }
            None => match self.manifest.derived_cell_key() {
                Some(text) => text,
                None => return Ok(None),
            },
        };
        let bytes: Option<Vec<u8>> = (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect();
        match bytes.and_then(|b| <[u8; 16]>::try_from(b).ok()) {
            Some(key) => Ok(Some(safetynet_sdc::CellKeySecret(key))),
            None => Err(Error::Damaged {
                path: self.root.clone(),
                message: "manifest.json: cell_key is not 32 hexadecimal digits".into(),
            }),
        }
    }

    /// Absolute paths of the store's Parquet files.
    pub fn data_paths(&self) -> Vec<PathBuf> {
        self.manifest
            .data_files
            .iter()
            .map(|f| self.root.join(f))
            .collect()
    }

    /// Starts a change of the store.
    pub fn begin(&self) -> Result<Transaction<'_>> {
        Transaction::begin(self, transaction::new_change_id())
    }

    /// Starts a change whose id was chosen before ([`transaction::new_change_id`]):
    /// for files written in memory, under their names, before the change
    /// began. It fails, as `begin` does, if another process changed the
    /// store since this one read it.
    pub fn begin_as(&self, change_id: String) -> Result<Transaction<'_>> {
        Transaction::begin(self, change_id)
    }

    /// Like [`Store::scan`], but the files are read and decoded on another
    /// thread while `each` works on the batch before: a rewrite of the whole
    /// store (reclassification) then uses both cores. Batches arrive in the
    /// same order as from `scan`.
    pub fn scan_pipelined(
        &self,
        columns: Option<&[&str]>,
        mut each: impl FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        std::thread::scope(|scope| {
            let (sender, receiver) = std::sync::mpsc::sync_channel::<RecordBatch>(4);
            let reader = scope.spawn(move || {
                self.scan(columns, |batch| {
                    // the receiver is gone only when `each` failed; its error
                    // is the one reported
                    sender
                        .send(batch)
                        .map_err(|_| Error::store(&self.root, "reading stopped"))
                })
            });
            let mut worked = Ok(());
            for batch in receiver {
                if let Err(e) = each(batch) {
                    worked = Err(e);
                    break;
                }
            }
            let read = reader.join().expect("reading a store does not panic");
            worked.and(read)
        })
    }

    /// Reads the store's records batch by batch, optionally only some columns.
    pub fn scan(
        &self,
        columns: Option<&[&str]>,
        mut each: impl FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        for path in self.data_paths() {
            let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
            let builder = match columns {
                Some(names) => {
                    let schema = builder.parquet_schema();
                    let indices: Vec<usize> = names
                        .iter()
                        .filter_map(|n| builder.schema().index_of(n).ok())
                        .collect();
                    let mask = ProjectionMask::roots(schema, indices);
                    builder.with_projection(mask)
                }
                None => builder,
            };
            for batch in builder.with_batch_size(8192).build()? {
                each(batch?)?;
            }
        }
        Ok(())
    }

    /// The names (not paths) of the files ingested into the store, sorted:
    /// what a report or a bundle says its figures come from.
    /// Each input file by name with its SHA-256, as a report records them so
    /// that a reader can tell which exports the figures come from.
    pub fn input_provenance(&self) -> Vec<String> {
        let mut files: Vec<String> = self
            .manifest()
            .inputs
            .iter()
            .map(|f| {
                let name = Path::new(&f.name)
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_else(|| f.name.clone());
                format!("{name} (SHA-256 {})", f.sha256)
            })
            .collect();
        files.sort();
        files.dedup();
        files
    }

    pub fn input_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .manifest()
            .inputs
            .iter()
            .filter_map(|f| {
                Path::new(&f.name)
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every record id in the store, for duplicate detection.
    pub fn record_ids(&self) -> Result<RecordIds> {
        let mut ids = RecordIds::default();
        self.scan(Some(&["record_id"]), |batch| {
            for id in batch.column(0).as_string::<i32>().iter().flatten() {
                ids.insert(id);
            }
            Ok(())
        })?;
        Ok(ids)
    }
}

/// The record ids of a store, held as 128-bit fingerprints instead of
/// strings: 16 bytes an id, so that ten million ids take about 300 MB
/// rather than a gigabyte. Two ids share a fingerprint with probability
/// about n²/2¹²⁹ (10⁻²⁴ for ten million), which would wrongly report a
/// record as a duplicate (it is then quarantined, not lost).
#[derive(Debug, Default)]
pub struct RecordIds(foldhash::HashSet<u128>);

impl RecordIds {
    fn fingerprint(id: &str) -> u128 {
        // One run of SipHash's 128-bit form (1-3 rounds, as the standard
        // library's hasher), with fixed keys, so the same id always gives
        // the same fingerprint. Two 64-bit runs, one per half, had cost
        // twice the hashing for the same width (perf, 1M records: 1.4% of
        // ingest's CPU samples).
        siphasher::sip128::SipHasher13::new_with_keys(0, 0)
            .hash(id.as_bytes())
            .into()
    }

    pub fn contains(&self, id: &str) -> bool {
        // a fresh store's: no fingerprint to work out for every record
        !self.0.is_empty() && self.0.contains(&Self::fingerprint(id))
    }

    /// Room for `more` ids without growing: growing a hash set briefly holds
    /// the old and the new table, the largest moment of an ingest's memory.
    pub fn reserve(&mut self, more: usize) {
        self.0.reserve(more);
    }

    /// Adds the id; false when it was there already.
    pub fn insert(&mut self, id: &str) -> bool {
        self.0.insert(Self::fingerprint(id))
    }
}
