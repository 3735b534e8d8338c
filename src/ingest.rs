//! `ingest`: validate input files, classify their records and add them to
//! the store in one atomic change. Every row read is stored, quarantined with
//! a reason, or reported as a duplicate, and the counts reconcile per file.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::classify::Classifier;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::readers::{self, InputFormat, RawRow};
use crate::record::CaseRecord;
use crate::rules::Rules;
use crate::store::writer::PartitionedWriter;
use crate::store::{Counts, IngestedFile, Store, Transaction};
use crate::validate::{ColumnMap, Problem, Validator};

const BATCH_ROWS: usize = 8192;

#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub file: String,
    /// `ingested` or `already ingested`.
    pub status: String,
    pub sha256: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// Quarantine CSV of this file inside the store, if any row went there.
    pub quarantine_file: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IngestSummary {
    #[serde(flatten)]
    pub totals: Counts,
    pub files: Vec<FileSummary>,
}

pub struct IngestOptions<'a> {
    pub format: Option<InputFormat>,
    pub rules: &'a Rules,
    pub show_progress: bool,
}

/// Hashes a file without holding it in memory.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    // an input that cannot be opened is the user's to fix: exit code 2
    let mut file = File::open(path)
        .map_err(|e| Error::bad_input(path, format!("cannot read the file: {e}")))?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::bad_input(path, "is a directory, not a file"));
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::bad_input(path, format!("cannot read the file: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The quarantine CSV of one input file: file, row, column, value, reason.
struct Quarantine {
    file_name: String,
    relative: String,
    writer: Option<csv::Writer<File>>,
}

impl Quarantine {
    fn new(file_name: String, relative: String) -> Self {
        Quarantine {
            file_name,
            relative,
            writer: None,
        }
    }

    fn add(&mut self, txn: &mut Transaction<'_>, row: u64, problem: &Problem) -> Result<()> {
        if self.writer.is_none() {
            let path = txn.stage(&self.relative)?;
            let mut w =
                csv::Writer::from_path(&path).map_err(|e| Error::store(&path, e.to_string()))?;
            w.write_record(["file", "row", "column", "value", "reason"])
                .map_err(|e| Error::store(&path, e.to_string()))?;
            self.writer = Some(w);
        }
        // values are cut short: a quarantine file is for finding the row,
        // not a second copy of the data
        let value: String = problem.value.chars().take(200).collect();
        self.writer
            .as_mut()
            .expect("opened above")
            .write_record([
                &self.file_name,
                &row.to_string(),
                &problem.column,
                &value,
                &problem.reason,
            ])
            .map_err(|e| Error::store(&self.relative, e.to_string()))
    }

    fn finish(self) -> Result<Option<String>> {
        match self.writer {
            Some(mut w) => {
                w.flush().map_err(|e| Error::io(&self.relative, e))?;
                Ok(Some(self.relative))
            }
            None => Ok(None),
        }
    }
}

pub fn ingest(
    store_dir: &Path,
    files: &[PathBuf],
    options: &IngestOptions<'_>,
) -> Result<IngestSummary> {
    let store = Store::open_or_new(store_dir)?;
    let rules = options.rules;
    check_rules_match(&store, rules)?;

    let mut manifest = store.manifest().clone();
    let mut summaries = Vec::new();
    let mut pending: Vec<(PathBuf, String, InputFormat)> = Vec::new();
    for path in files {
        let format = match options.format {
            Some(f) => f,
            None => InputFormat::from_path(path).ok_or_else(|| {
                Error::bad_input(
                    path,
                    "cannot tell the format from the file name; pass --format",
                )
            })?,
        };
        let sha = sha256_file(path)?;
        let seen_before = manifest
            .find_input(&sha)
            .map(|f| f.name.clone())
            .or_else(|| {
                pending
                    .iter()
                    .find(|(_, s, _)| *s == sha)
                    .map(|(p, _, _)| p.display().to_string())
            });
        match seen_before {
            Some(previous) => summaries.push(FileSummary {
                file: path.display().to_string(),
                status: format!("already ingested (as {previous}); nothing changed"),
                sha256: sha,
                counts: Counts::default(),
                quarantine_file: None,
            }),
            None => pending.push((path.clone(), sha, format)),
        }
    }

    if !pending.is_empty() {
        let mut txn = store.begin()?;
        let mut record_ids = store.record_ids()?;
        let mut writer = PartitionedWriter::new(txn.generation());
        let mut classifier = Classifier::new(rules);
        let validator = Validator::new(rules);
        for (path, sha, format) in &pending {
            let quarantine_relative =
                format!("quarantine/g{:06}-{}.csv", txn.generation(), &sha[..16]);
            let (counts, quarantine_file) = ingest_file(
                path,
                *format,
                &validator,
                &mut classifier,
                &mut record_ids,
                &mut txn,
                &mut writer,
                Quarantine::new(path.display().to_string(), quarantine_relative),
                options.show_progress,
            )?;
            debug_assert!(counts.reconciles());
            manifest.inputs.push(IngestedFile {
                name: path.display().to_string(),
                sha256: sha.clone(),
                format: format!("{format:?}").to_lowercase(),
                counts: counts.clone(),
                ingested_at: crate::clock::now_rfc3339(),
                quarantine_file: quarantine_file.clone(),
            });
            summaries.push(FileSummary {
                file: path.display().to_string(),
                status: "ingested".into(),
                sha256: sha.clone(),
                counts,
                quarantine_file,
            });
        }
        manifest.data_files.extend(writer.finish()?);
        manifest.rules_version = rules.version.clone();
        manifest.rules_sha256 = rules.sha256.clone();
        txn.commit(manifest)?;
    }

    let mut totals = Counts::default();
    for s in &summaries {
        totals.add(&s.counts);
    }
    // keep the order the user gave
    let order: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    summaries.sort_by_key(|s| order.iter().position(|o| *o == s.file));
    Ok(IngestSummary {
        totals,
        files: summaries,
    })
}

/// Records classified by different rules must not be mixed in one store.
fn check_rules_match(store: &Store, rules: &Rules) -> Result<()> {
    let m = store.manifest();
    if !m.data_files.is_empty() && m.rules_sha256 != rules.sha256 {
        return Err(Error::Usage(format!(
            "the store was classified with rules version {} ({}), not with these rules ({}, {}); \
             run `safetynet classify --store {} [--rules FILE]` first so that all records use the same rules",
            m.rules_version,
            &m.rules_sha256[..12.min(m.rules_sha256.len())],
            rules.version,
            &rules.sha256[..12],
            store.root().display()
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn ingest_file(
    path: &Path,
    format: InputFormat,
    validator: &Validator<'_>,
    classifier: &mut Classifier<'_>,
    record_ids: &mut HashSet<String>,
    txn: &mut Transaction<'_>,
    writer: &mut PartitionedWriter,
    mut quarantine: Quarantine,
    show_progress: bool,
) -> Result<(Counts, Option<String>)> {
    let mut source = readers::open(path, format)?;
    let columns = ColumnMap::from_header(source.header()).map_err(|m| Error::bad_input(path, m))?;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let progress = Progress::bytes(
        show_progress && format != InputFormat::Parquet,
        size,
        &path.display().to_string(),
    );

    let mut counts = Counts::default();
    let mut buffer: Vec<CaseRecord> = Vec::with_capacity(BATCH_ROWS);
    let mut flush = |buffer: &mut Vec<CaseRecord>, txn: &mut Transaction<'_>| -> Result<()> {
        if !buffer.is_empty() {
            let base = crate::batch::base_batch(buffer)?;
            let classified = classifier.classify_batch(&base)?;
            writer.write(txn, &classified)?;
            buffer.clear();
        }
        Ok(())
    };
    while let Some(row) = source.next_row()? {
        counts.read += 1;
        match row {
            RawRow::Malformed {
                number,
                column,
                value,
                reason,
            } => {
                counts.quarantined += 1;
                quarantine.add(
                    txn,
                    number,
                    &Problem {
                        column,
                        value,
                        reason,
                    },
                )?;
            }
            RawRow::Cells { number, cells } => {
                let cells_ref: Vec<&str> = cells.iter().map(String::as_str).collect();
                match validator.validate(&columns, &cells_ref) {
                    Err(problems) => {
                        counts.quarantined += 1;
                        for p in &problems {
                            quarantine.add(txn, number, p)?;
                        }
                    }
                    Ok(record) => {
                        if record_ids.contains(&record.record_id) {
                            counts.duplicates += 1;
                            quarantine.add(
                                txn,
                                number,
                                &Problem::new(
                                    "record_id",
                                    &record.record_id,
                                    "duplicate: a record with this id is already stored (not stored again)",
                                ),
                            )?;
                        } else {
                            record_ids.insert(record.record_id.clone());
                            counts.stored += 1;
                            buffer.push(record);
                            if buffer.len() >= BATCH_ROWS {
                                flush(&mut buffer, txn)?;
                            }
                        }
                    }
                }
            }
        }
        if counts.read % 4096 == 0 {
            progress.set_position(source.position());
        }
    }
    flush(&mut buffer, txn)?;
    progress.finish();
    if counts.read == 0 {
        return Err(Error::bad_input(path, "file has a header but no data rows"));
    }
    Ok((counts, quarantine.finish()?))
}
