//! `ingest`: validate input files, classify their records and add them to
//! the store in one atomic change. Every row read is stored, quarantined with
//! a reason, or reported as a duplicate, and the counts reconcile per file.

mod by_partition;
mod check;
mod pipeline;

use std::path::{Path, PathBuf};

use datafusion::arrow::array::{AsArray, RecordBatch};
use serde::Serialize;

use crate::base::files::ReadDigest;
use crate::base::progress::Progress;
use crate::base::schema::INPUT_COLUMNS;
use crate::classify::classifier::Classifier;
use crate::classify::rules::Rules;
use crate::error::{Error, Result};
use crate::input::guard::{self, Allowed, Guard};
use crate::input::mapping::MappingSpec;
use crate::input::readers::{self, InputFormat, ReadOptions};
use crate::input::validate::{Problem, Validator};
use crate::store::writer::{NotYet, PartitionedWriter, Stage};
use crate::store::{Counts, IngestedFile, Store, Transaction};

use by_partition::ByPartition;
use check::Checked;
pub use check::{Shape, mapped_record};

/// Rows of a batch handed to the store's thread, once the first few are.
const BATCH_ROWS: usize = 8192;

/// Rows of the first batch handed to the store's thread; the batches double
/// from here to [`BATCH_ROWS`]. With whole batches from the start, a file of
/// a few thousand rows (the sample data's are 4,000-5,000) was one batch:
/// classified and written only after its last row was checked, while the
/// checking threads, done, waited. Each partition's rows still come to the
/// store in the file's order, however the batches are cut.
const FIRST_BATCH_ROWS: usize = 1024;

/// Rows of the batch handed to the store's thread after `taken` others.
fn batch_rows(taken: usize) -> usize {
    // capped, so that the shift cannot overflow however long the file
    (FIRST_BATCH_ROWS << taken.min(8)).min(BATCH_ROWS)
}

/// Rows of checked chunks held for the rows of them that wait for the
/// store, at most: past it the waiting rows are handed over in a smaller
/// batch. Reached only when most rows are left out (duplicates): a file of
/// 4,095 duplicates in every 4,096 rows would otherwise hold every chunk
/// until 8,192 rows waited, its whole self for files of millions of rows.
const HELD_ROWS: usize = 4 * BATCH_ROWS;

/// Batches that may wait for the store's thread. The store's work comes in
/// bursts (rows handed to the encoder, a row group closed): with a queue
/// of one, this thread, and behind it the checking threads, stopped at
/// every burst, and ingest kept 1.5 of the 2 cores busy. With
/// eight, 1.75 (10M records: 64.5-70.9 s -> 58.1-58.3 s), for about 40 MB
/// more at the peak (639 -> 677 MB).
const STORE_QUEUE: usize = 8;

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
    /// What the personal-data guard let through by the mapping's `allow`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub guard_allowed: Vec<Allowed>,
    /// What the ingest did that the user may not expect (columns the
    /// mapping reads that the file lacks).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IngestSummary {
    #[serde(flatten)]
    pub totals: Counts,
    pub files: Vec<FileSummary>,
}

pub struct IngestOptions<'a> {
    /// The container; guessed from each file name when `None`.
    pub format: Option<InputFormat>,
    /// The layout, when it is not the canonical one.
    pub mapping: Option<MappingSpec>,
    /// `--country`: the reporting country of every record of the files.
    pub country: Option<String>,
    /// Encoding, delimiter and sheet overrides.
    pub read: ReadOptions,
    pub rules: &'a Rules,
    pub show_progress: bool,
}

impl<'a> IngestOptions<'a> {
    /// Canonical layout, container from the file name, nothing overridden.
    pub fn canonical(rules: &'a Rules) -> Self {
        IngestOptions {
            format: None,
            mapping: None,
            country: None,
            read: ReadOptions::default(),
            rules,
            show_progress: false,
        }
    }

    /// The read options with what the layout says about encoding,
    /// delimiter, sheet and the columns to look for.
    fn read_options(&self) -> Result<ReadOptions> {
        let mut read = self.read.clone();
        match &self.mapping {
            Some(spec) => {
                read.expected_columns = spec.read_columns();
                let layout = &spec.layout;
                if read.encoding.is_none()
                    && let Some(label) = &layout.encoding
                {
                    read.encoding = Some(
                        crate::input::decode::encoding_for_label(label).ok_or_else(|| {
                            Error::Usage(format!(
                                "mapping '{}': unknown encoding '{label}'",
                                layout.name
                            ))
                        })?,
                    );
                }
                if read.delimiter.is_none()
                    && let Some(d) = &layout.delimiter
                {
                    read.delimiter = Some(parse_delimiter(d)?);
                }
                if read.sheet.is_none() {
                    read.sheet = layout.sheet.clone();
                }
            }
            None => read.expected_columns = INPUT_COLUMNS.iter().map(|c| c.to_string()).collect(),
        }
        Ok(read)
    }
}

/// A delimiter as a user writes it: one ASCII character, or `tab`.
pub fn parse_delimiter(text: &str) -> Result<u8> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        t if t.len() == 1 && t.is_ascii() => Ok(t.as_bytes()[0]),
        t => Err(Error::Usage(format!(
            "delimiter '{t}' is not one ASCII character (or 'tab')"
        ))),
    }
}

/// Hashes an input file without holding it in memory; an input that
/// cannot be read is the user's to fix (exit code 2).
pub fn sha256_file(path: &Path) -> Result<String> {
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(Error::bad_input(path, "is a directory, not a file"));
    }
    crate::base::files::sha256_file(path)
        .map(|(_, hash)| hash)
        .map_err(|e| Error::bad_input(path, format!("cannot read the file: {e}")))
}

/// The quarantine CSV of one input file: file, row, column, value, reason.
/// It is part of the store, so every column name and value written to it
/// goes through the personal-data screen first: rows that never reached
/// the guard (broken JSON, invalid UTF-8, nested objects) are quarantined
/// too, and a flagged value is written as `[masked: <kind>]`. It is kept in
/// memory (at most [`QUARANTINE_ROWS`] rows) and staged when the file is
/// done, so that a file screened while it is checked leaves nothing on disk
/// when the screen refuses it.
struct Quarantine {
    file_name: String,
    /// Columns the mapping parses as dates: a bad date there is shown.
    date_columns: Vec<String>,
    writer: Option<csv::Writer<Vec<u8>>>,
    /// Rows written so far; beyond [`QUARANTINE_ROWS`] rows are counted by
    /// reason instead of written.
    written: u64,
    beyond: std::collections::BTreeMap<String, u64>,
}

/// The most rows one input's quarantine file lists one by one. A file of a
/// million bad rows (a wrong layout, or a 3 MB gzip of duplicates) would
/// otherwise write gigabytes; past this, rows are still counted as
/// quarantined, and the file ends with one summary row per reason.
pub const QUARANTINE_ROWS: u64 = 10_000;

/// A failure to write CSV into memory, which only a broken invariant of the
/// `csv` crate could cause.
fn quarantine_error(e: csv::Error) -> Error {
    Error::store("quarantine", e.to_string())
}

impl Quarantine {
    fn new(file_name: String, date_columns: Vec<String>) -> Self {
        Quarantine {
            file_name,
            date_columns,
            writer: None,
            written: 0,
            beyond: std::collections::BTreeMap::new(),
        }
    }

    /// Whether `column` (as a problem names it: "Fecha" or "Fecha (->
    /// year)") is one of the mapping's date columns.
    fn is_date_column(&self, column: &str) -> bool {
        self.date_columns.iter().any(|d| {
            column
                .strip_prefix(d.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(" (->"))
        })
    }

    fn add(&mut self, row: u64, problem: &Problem) -> Result<()> {
        if self.written >= QUARANTINE_ROWS {
            *self.beyond.entry(problem.reason.clone()).or_default() += 1;
            return Ok(());
        }
        self.written += 1;
        // values are cut short: a quarantine file is for finding the row,
        // not a second copy of the data
        let value: String = problem.value.chars().take(200).collect();
        let value = guard::masked(&value, self.is_date_column(&problem.column));
        // a JSON key is user text as much as a value is
        let column = guard::masked(&problem.column, false);
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(["file", "row", "column", "value", "reason"])
                    .map_err(quarantine_error)?;
                self.writer.insert(w)
            }
        };
        // opened in a spreadsheet, a value from the input is never a formula
        let cell = crate::base::escape::csv_cell;
        let fields: [&str; 5] = [
            &cell(&self.file_name),
            &row.to_string(),
            &cell(&column),
            &cell(&value),
            &cell(&problem.reason),
        ];
        writer.write_record(fields).map_err(quarantine_error)
    }

    /// A record whose id the store holds, or that came before in this
    /// change.
    fn add_duplicate(&mut self, row: u64, id: &str) -> Result<()> {
        let problem = Problem::new(
            "record_id",
            id,
            "duplicate: a record with this id is already stored (not stored again)",
        );
        self.add(row, &problem)
    }

    /// Stages the file as `relative`, if any row went there.
    fn stage(self, txn: &Transaction<'_>, relative: String) -> Result<Option<String>> {
        let Some(mut w) = self.writer else {
            return Ok(None);
        };
        // the rows past the limit, one summary row per reason (the
        // reasons are the tool's own words, never input values)
        for (reason, n) in &self.beyond {
            w.write_record([
                crate::base::escape::csv_cell(&self.file_name).as_ref(),
                "",
                "",
                "",
                &crate::base::escape::csv_cell(&format!(
                    "{n} more rows quarantined for this reason, not listed (a quarantine file lists at most {QUARANTINE_ROWS} rows): {reason}"
                )),
            ])
            .map_err(quarantine_error)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Error::store(&relative, e.to_string()))?;
        let path = txn.stage(&relative)?;
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        Ok(Some(relative))
    }
}

pub fn ingest(
    store_dir: &Path,
    files: &[PathBuf],
    options: &IngestOptions<'_>,
) -> Result<IngestSummary> {
    if let Some(cc) = &options.country
        && !cc.eq_ignore_ascii_case("XX")
        && crate::base::countries::normalise_alpha2(cc).is_none()
    {
        return Err(Error::Usage(format!(
            "--country: '{cc}' is not an ISO 3166-1 alpha-2 code (or XX for pooled data)"
        )));
    }
    ingest_into(Store::open_or_new(store_dir)?, files, options)
}

/// [`ingest`] into `store`, as this command read it.
fn ingest_into(
    mut store: Store,
    files: &[PathBuf],
    options: &IngestOptions<'_>,
) -> Result<IngestSummary> {
    let rules = options.rules;
    check_rules_match(&store, rules)?;
    let read = options.read_options()?;
    let mut read_again = None;
    if let Some((path, format)) = read_once(&store, files, options)? {
        match ingest_read_once(&store, path, format, options, &read) {
            Ok(Some(summary)) => return Ok(summary),
            Ok(None) => {}
            // A file read once is read without the store's lock, and
            // another process committed a change meanwhile (another ingest
            // finishing, say): its records may share ids with this file's,
            // so the file is checked again, read twice, against the store
            // as it is now, rather than the user asked to run it again.
            Err(Error::Changed { .. }) => {
                read_again = Some(path.display().to_string());
                let root = store.root().to_path_buf();
                store = Store::open_or_new(&root)?;
                check_rules_match(&store, rules)?;
            }
            Err(other) => return Err(other),
        }
    }

    let manifest = store.manifest().clone();
    let mut summaries = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    for path in files {
        let format = format_of(path, options)?;
        let name = path.display().to_string();
        // a workbook's sheet is part of the input: its second sheet is not
        // "already ingested" because its first was
        let sheets = match format {
            InputFormat::Xlsx => Some(readers::xlsx::sheet_read(path, &read)?),
            _ => None,
        };
        let sheet = sheets.as_ref().map(|s| s.read.as_str());
        let first = sheets.as_ref().map(|s| s.first.as_str());
        let likely_seen = manifest.inputs.iter().any(|f| f.name == name)
            || pending.iter().any(|p| p.path == *path);
        let (hashed, screened) = if likely_seen {
            // a file of this name was ingested before: most likely the same
            // bytes, which the hash alone tells, so the screen waits for it
            let hashed = sha256_file(path);
            let screened = match &hashed {
                Ok(sha) if seen_as(&manifest, &pending, sha, sheet, first).is_some() => None,
                _ => Some(screen_file(path, format, &read, options.mapping.as_ref())),
            };
            (hashed, screened)
        } else {
            // The file is hashed on a thread of its own while the screen
            // reads it: hashing first kept one core busy and the other idle
            // for a twentieth of ingest (perf, 1M and 10M records).
            std::thread::scope(|scope| {
                let hashing = scope.spawn(|| sha256_file(path));
                let screened = screen_file(path, format, &read, options.mapping.as_ref());
                let hashed = hashing.join().expect("hashing does not panic");
                (hashed, Some(screened))
            })
        };
        let sha = hashed?;
        match (seen_as(&manifest, &pending, &sha, sheet, first), screened) {
            // the same bytes as a file already ingested: nothing of this one
            // is read further, whatever the screen found (it found the same
            // when that file was ingested)
            (Some(previous), _) => summaries.push(already_ingested(name, sha, &previous)),
            (None, Some(screened)) => {
                screened?;
                pending.push(Pending {
                    path: path.clone(),
                    sha,
                    format,
                    sheets: sheets.clone(),
                })
            }
            (None, None) => unreachable!("a file not seen before is screened"),
        }
    }

    if !pending.is_empty() {
        summaries.extend(store_screened(&store, manifest, &pending, options, &read)?);
    }
    // the user is told why the file took two readings
    if let Some(name) = read_again
        && let Some(summary) = summaries.iter_mut().find(|s| s.file == name)
    {
        summary.warnings.push(
            "another process changed the store while this file was read; it was read again and checked against the store as it is now"
                .to_string(),
        );
    }
    Ok(summary_of(summaries, files))
}

/// The second pass of a file read twice: checks the files screened
/// before and stores their records, all in one change of the store whose
/// manifest is `manifest`.
fn store_screened(
    store: &Store,
    mut manifest: crate::store::Manifest,
    pending: &[Pending],
    options: &IngestOptions<'_>,
    read: &ReadOptions,
) -> Result<Vec<FileSummary>> {
    let rules = options.rules;
    let txn = store.begin()?;
    let mut change = Change::new(store, rules, PartitionedWriter::new(&txn))?;
    let mut summaries = Vec::new();
    for file in pending {
        let digest = ReadDigest::default();
        let read_hashing = ReadOptions {
            digest: Some(digest.clone()),
            ..read.clone()
        };
        let input = Input {
            path: &file.path,
            sha: &file.sha,
            format: file.format,
            read: &read_hashing,
            mapping: options.mapping.as_ref(),
            country: options.country.as_deref(),
        };
        let (outcome, screened) = ingest_file(&input, &mut change, &txn, options.show_progress)?;
        // Screened again as it was checked: a file changed since its
        // screen (an export still being written) stored rows no screen
        // had read. Refused, the change is dropped with its staging.
        let allowed = verdict(&file.path, screened)?;
        // Without a finding, such a file would be recorded under the hash
        // of bytes its rows did not come from, and the whole file, once
        // written, taken for "already ingested".
        if !same_as_screened(file, &digest)? {
            return Err(Error::bad_input(
                &file.path,
                "the file changed between its screen and its checks (an export still being written?): nothing of it was stored; run the command again once the file is complete",
            ));
        }
        summaries.push(record_file(
            &mut manifest,
            &txn,
            file,
            options,
            outcome,
            allowed,
        )?);
    }
    manifest.data_files.extend(change.writer.finish(&txn)?);
    manifest.rules_version = rules.version.clone();
    manifest.rules_sha256 = rules.sha256.clone();
    txn.commit(manifest)?;
    Ok(summaries)
}

/// Whether the checks of `file`, just read through `digest`, took their
/// rows from the bytes its screen hashed. The readers of CSV and JSON lines
/// (gzip-compressed or not) hash every byte they read, so the answer is
/// exact: the hash of what they read is the screen's hash of the whole file
/// only when they read those bytes, all of them (a file appended to after
/// its checks, whose rows are still the screened ones, is kept). Workbooks
/// and Parquet files are read by seeking, not through, and their readers
/// hash nothing, so the file is hashed again after its checks: that finds a
/// file replaced since its screen, not one replaced and put back while it
/// was checked.
fn same_as_screened(file: &Pending, digest: &ReadDigest) -> Result<bool> {
    match file.format {
        InputFormat::Csv | InputFormat::Jsonl => Ok(digest.of_what_was_read() == file.sha),
        InputFormat::Xlsx | InputFormat::Parquet => Ok(sha256_file(&file.path)? == file.sha),
    }
}

/// The hash of the bytes a file read once took its rows from, once its
/// reading pass through `digest` succeeded; `None` when no hash names them
/// now (the file changed as it was read or since: an export still being
/// written), and the file is to be read twice instead. With a mapping the
/// file was hashed before it was read (`early`: the made-up record ids
/// are named by it), and the reading must have read those same bytes.
fn hash_of_rows(early: Option<&str>, digest: &ReadDigest, path: &Path) -> Option<String> {
    let read = digest.of_whole_file(path)?;
    early.is_none_or(|early| early == read).then_some(read)
}

/// The totals of the files' summaries, the summaries in the order the user
/// gave the files.
fn summary_of(mut summaries: Vec<FileSummary>, files: &[PathBuf]) -> IngestSummary {
    let mut totals = Counts::default();
    for s in &summaries {
        totals.add(&s.counts);
    }
    let order: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    summaries.sort_by_key(|s| order.iter().position(|o| *o == s.file));
    IngestSummary {
        totals,
        files: summaries,
    }
}

/// The container of a file: `--format`'s, or the one its name says.
fn format_of(path: &Path, options: &IngestOptions<'_>) -> Result<InputFormat> {
    match options.format {
        Some(f) => Ok(f),
        None => InputFormat::from_path(path).ok_or_else(|| {
            Error::bad_input(
                path,
                "cannot tell the format from the file name; pass --format",
            )
        }),
    }
}

/// The summary of a file whose bytes were ingested before.
fn already_ingested(name: String, sha: String, previous: &str) -> FileSummary {
    FileSummary {
        file: name,
        status: format!("already ingested (as {previous}); nothing changed"),
        sha256: sha,
        counts: Counts::default(),
        quarantine_file: None,
        guard_allowed: Vec::new(),
        warnings: Vec::new(),
    }
}

/// Stages a checked file's quarantine and adds the file to the manifest;
/// returns its summary.
fn record_file(
    manifest: &mut crate::store::Manifest,
    txn: &Transaction<'_>,
    file: &Pending,
    options: &IngestOptions<'_>,
    outcome: FileOutcome,
    allowed: Vec<Allowed>,
) -> Result<FileSummary> {
    let FileOutcome {
        counts,
        quarantine,
        mut warnings,
    } = outcome;
    debug_assert!(counts.reconciles());
    let relative = format!(
        "quarantine/g{:06}-{}-{}.csv",
        txn.generation(),
        txn.change_id(),
        &file.sha[..16]
    );
    let quarantine_file = quarantine.stage(txn, relative)?;
    if let Some(sheets) = &file.sheets
        && !sheets.others.is_empty()
    {
        warnings.push(format!(
            "only the sheet '{}' was read; the workbook's other sheets ({}) were not: \
             ingest each that holds records with --sheet NAME",
            sheets.read,
            sheets.others.join(", ")
        ));
    }
    let name = file.path.display().to_string();
    manifest.inputs.push(IngestedFile {
        name: name.clone(),
        sha256: file.sha.clone(),
        format: format!("{:?}", file.format).to_lowercase(),
        layout: options.mapping.as_ref().map(|m| m.layout.name.clone()),
        counts: counts.clone(),
        ingested_at: crate::base::clock::now_rfc3339(),
        quarantine_file: quarantine_file.clone(),
        guard_allowed: allowed.clone(),
        sheet: file.sheets.as_ref().map(|s| s.read.clone()),
    });
    Ok(FileSummary {
        file: name,
        status: "ingested".into(),
        sha256: file.sha.clone(),
        counts,
        quarantine_file,
        guard_allowed: allowed,
        warnings,
    })
}

/// The largest input read once rather than twice: its encoded records wait
/// in memory for the screen's verdict (a million records, 200 MB of CSV,
/// are about 27 MB of Parquet), up to [`READ_ONCE_HELD_BYTES`].
const READ_ONCE_BYTES: u64 = 256 * 1024 * 1024;

/// The one file of this ingest, when it is read once: screened for
/// personal data while its rows are checked, not in a pass of its own
/// first. So only for a single, uncompressed text file of at most
/// [`READ_ONCE_BYTES`] that the store holds no file of the same name of
/// (whose bytes the hash, first, most likely finds ingested already).
/// Workbooks and Parquet files are read twice, as are several files
/// together: each file's screen would otherwise have to wait for the
/// others' in memory.
fn read_once<'p>(
    store: &Store,
    files: &'p [PathBuf],
    options: &IngestOptions<'_>,
) -> Result<Option<(&'p Path, InputFormat)>> {
    let [path] = files else {
        return Ok(None);
    };
    let format = format_of(path, options)?;
    if !matches!(format, InputFormat::Csv | InputFormat::Jsonl) {
        return Ok(None);
    }
    let name = path.display().to_string();
    if store.manifest().inputs.iter().any(|f| f.name == name) {
        return Ok(None);
    }
    let small = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= READ_ONCE_BYTES);
    Ok((small && !crate::input::decode::is_gzip(path)).then_some((path, format)))
}

/// What a file read once may hold in memory as Parquet until it is
/// screened: a million typical records (200 MB of CSV) are about 27 MB,
/// but long distinct values can come to twice the CSV (a review's file of
/// 128-letter ids). Past it the file is read twice, as a larger one is.
const READ_ONCE_HELD_BYTES: usize = 128 * 1024 * 1024;

/// Ingests one file read once ([`read_once`]): its rows are screened for
/// personal data on the threads that check them, and everything the change
/// writes (the Parquet files, the quarantine) is held in memory until the
/// whole file has been screened. Nothing at all is written before that, not
/// even the store's lock: the store is read without it, and the change
/// begins only once the file is screened, failing if another process
/// changed the store meanwhile. So a finding leaves no trace on disk, as
/// when the screen reads the file first, and the file is read and split
/// into cells once instead of twice.
///
/// `None` when the file is to be read twice after all: its Parquet would
/// take more than [`READ_ONCE_HELD_BYTES`], or the store cannot be read
/// (reading twice reports that after the screen, as always).
fn ingest_read_once(
    store: &Store,
    path: &Path,
    format: InputFormat,
    options: &IngestOptions<'_>,
    read: &ReadOptions,
) -> Result<Option<IngestSummary>> {
    let mapping = options.mapping.as_ref();
    let name = path.display().to_string();
    let already = |sha: String| {
        (seen_as(store.manifest(), &[], &sha, None, None)).map(|previous| {
            summary_of(
                vec![already_ingested(name.clone(), sha, &previous)],
                &[path.to_path_buf()],
            )
        })
    };
    // a mapping that makes up record ids names them by the file's hash
    let early_sha = match mapping {
        Some(_) => Some(sha256_file(path)?),
        None => None,
    };
    if let Some(summary) = early_sha.clone().and_then(already) {
        return Ok(Some(summary));
    }
    let change_id = crate::store::transaction::new_change_id();
    let (writer, held) = PartitionedWriter::held_in_memory(
        store.manifest().generation + 1,
        &change_id,
        READ_ONCE_HELD_BYTES,
    );
    let Ok(mut change) = Change::new(store, options.rules, writer) else {
        return Ok(None);
    };
    // the file is hashed as its rows are read: the hash is of the bytes
    // the rows came from, and the file is not read again for it (with a
    // mapping, that hash must be the one taken first)
    let digest = ReadDigest::default();
    let read_hashing = ReadOptions {
        digest: Some(digest.clone()),
        ..read.clone()
    };
    let input = Input {
        path,
        sha: early_sha.as_deref().unwrap_or_default(),
        format,
        read: &read_hashing,
        mapping,
        country: options.country.as_deref(),
    };
    let checked = ingest_file(&input, &mut change, &NotYet, options.show_progress)
        .and_then(|outcome| Ok((outcome, change.writer.finish_held(&NotYet)?)));
    // past the budget the pass stopped part way: the file is read twice,
    // and that path hashes it (before, as here, anything the rows held)
    if held.exceeded() {
        return Ok(None);
    }
    let sha = match (&early_sha, &checked) {
        (_, Ok(_)) => match hash_of_rows(early_sha.as_deref(), &digest, path) {
            Some(sha) => sha,
            // the rows came from bytes no hash names now, so the file is
            // read twice, from the file as it is then
            None => return Ok(None),
        },
        // the pass stopped on an error: the whole file's hash says
        // whether these bytes were ingested before
        (Some(sha), Err(_)) => sha.clone(),
        (None, Err(_)) => sha256_file(path)?,
    };
    // the same bytes as a file ingested before: nothing of this one is
    // kept, whatever its rows held, as when the hash comes first
    if let Some(summary) = already(sha.clone()) {
        return Ok(Some(summary));
    }
    let ((outcome, screened), files) = match checked {
        Ok(checked) => checked,
        // the error the screen, reading the file first, would have given
        // comes first: a header that names personal data before a header
        // the layout does not know
        Err(error) => {
            screen_file(path, format, read, mapping)?;
            return Err(error);
        }
    };
    let allowed = verdict(path, screened)?;
    let file = Pending {
        path: path.to_path_buf(),
        sha,
        format,
        sheets: None,
    };
    let txn = store.begin_as(change_id)?;
    let mut manifest = store.manifest().clone();
    let summary = record_file(&mut manifest, &txn, &file, options, outcome, allowed)?;
    manifest.data_files.extend(files.stage(&txn)?);
    manifest.rules_version = options.rules.version.clone();
    manifest.rules_sha256 = options.rules.sha256.clone();
    txn.commit(manifest)?;
    Ok(Some(summary_of(vec![summary], &[path.to_path_buf()])))
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

/// One file to ingest and how to read it.
pub struct Input<'a> {
    pub path: &'a Path,
    pub sha: &'a str,
    pub format: InputFormat,
    pub read: &'a ReadOptions,
    pub mapping: Option<&'a MappingSpec>,
    pub country: Option<&'a str>,
}

/// A file to ingest: not seen before, and screened.
struct Pending {
    path: PathBuf,
    sha: String,
    format: InputFormat,
    /// A workbook's sheets: the one read, the others.
    sheets: Option<readers::xlsx::Sheets>,
}

/// The name of a file of these bytes in the store or among the files to
/// ingest, if there is one.
fn seen_as(
    manifest: &crate::store::Manifest,
    pending: &[Pending],
    sha: &str,
    sheet: Option<&str>,
    first: Option<&str>,
) -> Option<String> {
    manifest
        .find_input(sha, sheet, first)
        .map(|f| f.name.clone())
        .or_else(|| {
            (pending.iter())
                .find(|p| p.sha == sha && p.sheets.as_ref().map(|s| s.read.as_str()) == sheet)
                .map(|p| p.path.display().to_string())
        })
}

/// Threads that work on a file's rows.
fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

/// Screens every row of a file for personal data; returns what the
/// mapping's `allow` let through. The whole file is screened before
/// anything of it is written, even to a transaction's staging area: a
/// finding must leave no trace on disk.
fn screen_file(
    path: &Path,
    format: InputFormat,
    read: &ReadOptions,
    mapping: Option<&MappingSpec>,
) -> Result<Vec<Allowed>> {
    let source = readers::open(path, format, read)?;
    let header = source.header().to_vec();
    verdict(
        path,
        pipeline::screen(source, guard_for(mapping, &header), workers())?,
    )
}

/// What the allowances let through, or the error of a file the screen
/// found personal data in.
fn verdict(path: &Path, screened: Guard) -> Result<Vec<Allowed>> {
    let report = screened.finish();
    if !report.is_clean() {
        return Err(Error::PersonalData {
            path: path.to_path_buf(),
            findings: report.to_string(),
        });
    }
    Ok(report.allowed)
}

/// The personal-data guard for a file's columns: every column is screened
/// but those the mapping drops; the mapping's date columns may hold dates.
fn guard_for(mapping: Option<&MappingSpec>, header: &[String]) -> Guard {
    match mapping {
        Some(spec) => Guard::allowing(header, &spec.drop, &spec.date_columns(), &spec.allowances()),
        None => Guard::new(header, &[], &[]),
    }
}

/// What the files of one change of the store are checked against and
/// written with.
struct Change<'r> {
    /// The store's ids, only read while the files are checked; the ids this
    /// change adds are kept apart, by the thread that keeps the files'
    /// order.
    stored_ids: crate::store::RecordIds,
    added_ids: crate::store::RecordIds,
    writer: PartitionedWriter,
    classifier: Classifier<'r>,
    validator: Validator<'r>,
}

impl<'r> Change<'r> {
    fn new(store: &Store, rules: &'r Rules, writer: PartitionedWriter) -> Result<Self> {
        Ok(Change {
            stored_ids: store.record_ids()?,
            added_ids: crate::store::RecordIds::default(),
            writer,
            classifier: Classifier::new(rules),
            validator: Validator::new(rules),
        })
    }
}

/// Checks a file's rows and hands its records to the change's writer.
fn ingest_file(
    input: &Input<'_>,
    change: &mut Change<'_>,
    txn: &impl Stage,
    show_progress: bool,
) -> Result<(FileOutcome, Guard)> {
    let Change {
        stored_ids,
        added_ids,
        writer,
        classifier,
        validator,
    } = change;
    let path = input.path;
    let format = input.format;
    let workers = workers();
    let source = readers::open(path, format, input.read)?;
    let header = source.header().to_vec();
    let shape = Shape::new(input, &header)?;
    let mut quarantine = Quarantine::new(
        path.display().to_string(),
        (input.mapping)
            .map(MappingSpec::date_columns)
            .unwrap_or_default(),
    );
    // every row is screened as it is checked: what is stored is what was
    // screened, whether or not a pass of the screen's own came first
    let guard = guard_for(input.mapping, &header);
    let mut warnings = Vec::new();
    if let (Shape::Mapped(mapper), Some(spec)) = (&shape, input.mapping)
        && !mapper.missing_columns.is_empty()
    {
        warnings.push(format!(
            "{} column(s) mapping '{}' reads are not in the file, so their fields are stored as not recorded: {}",
            mapper.missing_columns.len(),
            spec.layout.name,
            crate::base::listing::some_of(&mapper.missing_columns)
        ));
    }

    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let progress = Progress::bytes(
        show_progress && format == InputFormat::Csv,
        size,
        &path.display().to_string(),
    );
    // positions are bytes for text files (rows for Parquet and workbooks)
    let positions_are_bytes = matches!(format, InputFormat::Csv | InputFormat::Jsonl);

    let mut counts = Counts::default();
    let checks = pipeline::Checks {
        shape: &shape,
        validator,
        header: &header,
        stored: stored_ids,
    };
    // what the screen finds as the rows are checked (set when the pass ends)
    let mut screened = None;
    // The store's side (classification, partitions, Parquet) runs on a
    // thread of its own, on the same batches in the same order as when this
    // thread did it all: on 300,000 records this thread had been busy for
    // three quarters of ingest and the checking threads idle for two
    // thirds. The checking threads turn the records into Arrow arrays
    // (see `ByPartition`); this thread only sorts their rows by partition
    // and gathers them into batches. Batches wait for the store's thread in
    // a queue of up to STORE_QUEUE.
    std::thread::scope(|scope| -> Result<()> {
        let (to_store, batches) = std::sync::mpsc::sync_channel::<RecordBatch>(STORE_QUEUE);
        let store_side = scope.spawn(move || -> Result<()> {
            for base in batches {
                let classified = classifier.classify_batch(&base)?;
                writer.write(txn, &classified)?;
            }
            Ok(())
        });
        let mut buffer = ByPartition::default();
        let hand_over = |buffer: &mut ByPartition| -> Result<()> {
            if buffer.is_empty() {
                return Ok(());
            }
            let base = buffer.take_batch()?;
            // refused only when the store's thread stopped on an error,
            // which is the one reported below
            to_store
                .send(base)
                .map_err(|_| Error::Usage("the store's writer stopped".into()))
        };
        // Everything that depends on order (duplicates, quarantine lines,
        // the batches handed to the store) happens here, one row after
        // another.
        let mut reserved = false;
        let checked = pipeline::check(
            source,
            checks,
            guard,
            workers,
            |position| progress.set_position(position),
            |chunk| {
                if !reserved
                    && positions_are_bytes
                    && chunk.position > 0
                    && chunk.rows.len() == pipeline::FULL_CHUNK_ROWS
                {
                    // The file's rows, from the bytes the rows so far took:
                    // room for them all now, so that the id set never grows
                    // (growing briefly holds the old and the new table).
                    // Estimated at the first full chunk, after some 8,000
                    // rows, not at the first (256 rows), whose bytes the
                    // header would swell by a percent or so.
                    reserved = true;
                    let read = counts.read as usize + chunk.rows.len();
                    let per_row = chunk.position as f64 / read as f64;
                    let expected = (size as f64 / per_row) as usize;
                    // room for every row still to come, should each be new
                    // (the new rows before this chunk are in the set)
                    let still_to_come = expected.saturating_sub(counts.read as usize);
                    added_ids.reserve(still_to_come.min(100_000_000));
                }
                let ids = (chunk.records.column_by_name("record_id"))
                    .expect("base schema")
                    .as_string::<i32>()
                    .clone();
                buffer.add_chunk(chunk.records);
                for outcome in chunk.rows {
                    counts.read += 1;
                    match outcome {
                        Checked::Rejected(number, problems) => {
                            counts.quarantined += 1;
                            for p in &problems {
                                quarantine.add(number, p)?;
                            }
                        }
                        Checked::Stored(number, id) => {
                            counts.duplicates += 1;
                            quarantine.add_duplicate(number, &id)?;
                        }
                        Checked::Valid(number, row) => {
                            let id = ids.value(row);
                            // one look-up: `insert` says whether it was there
                            if !added_ids.insert(id) {
                                counts.duplicates += 1;
                                quarantine.add_duplicate(number, id)?;
                                continue;
                            }
                            counts.stored += 1;
                            buffer.push(row);
                            if buffer.len() >= batch_rows(buffer.taken())
                                || buffer.held_rows() > HELD_ROWS
                            {
                                hand_over(&mut buffer)?;
                            }
                        }
                    }
                }
                Ok(())
            },
        )
        .and_then(|guard| {
            screened = Some(guard);
            hand_over(&mut buffer)
        });
        drop(to_store);
        let stored = store_side
            .join()
            .expect("the store's writer does not panic");
        // the store's error first: a refused batch means it stopped on one
        stored.and(checked)
    })?;
    progress.finish();
    if counts.read == 0 {
        return Err(Error::bad_input(path, "file has a header but no data rows"));
    }
    let Some(screened) = screened else {
        unreachable!("the pass returns its guard when it succeeds")
    };
    Ok((
        FileOutcome {
            counts,
            quarantine,
            warnings,
        },
        screened,
    ))
}

/// What ingesting one file gave.
struct FileOutcome {
    counts: Counts,
    /// Not staged yet: its name is the change's and the file's.
    quarantine: Quarantine,
    warnings: Vec<String>,
}

/// What `--format` names: a container, or a public layout (read from the
/// container its file name says, through the built-in mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Csv,
    Jsonl,
    Parquet,
    Xlsx,
    /// The CTDC k-anonymized Global Dataset layout.
    Ctdc,
    /// The CTDC synthetic data layout.
    CtdcSynthetic,
    /// HTCDS v2.0 field names (CSV or the Excel template).
    Htcds,
}

impl Format {
    pub fn container(self) -> Option<InputFormat> {
        match self {
            Format::Csv => Some(InputFormat::Csv),
            Format::Jsonl => Some(InputFormat::Jsonl),
            Format::Parquet => Some(InputFormat::Parquet),
            Format::Xlsx => Some(InputFormat::Xlsx),
            Format::Ctdc | Format::CtdcSynthetic | Format::Htcds => None,
        }
    }

    pub fn builtin_mapping(self) -> Option<&'static str> {
        match self {
            Format::Ctdc => Some("ctdc"),
            Format::CtdcSynthetic => Some("ctdc-synthetic"),
            Format::Htcds => Some("htcds"),
            _ => None,
        }
    }
}

/// The container and mapping that `--format` and `--mapping` ask for.
pub fn resolve_layout(
    format: Option<Format>,
    mapping: Option<&Path>,
) -> Result<(Option<InputFormat>, Option<MappingSpec>)> {
    let builtin = format.and_then(Format::builtin_mapping);
    let spec = match (builtin, mapping) {
        (Some(name), Some(file)) => {
            return Err(Error::Usage(format!(
                "--format {name} already selects a mapping; drop it or --mapping {}",
                file.display()
            )));
        }
        (Some(name), None) => Some(crate::input::mapping::builtin::load(name).expect("listed")?),
        (None, Some(file)) => Some(MappingSpec::load(file)?),
        (None, None) => None,
    };
    Ok((format.and_then(Format::container), spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Screens the file at `path`, lets `change` change it, then runs the
    /// second pass of a file read twice into a new store at `store_dir`:
    /// what that gave, and the data and quarantine files it left in the
    /// store (a store the failed change created goes with it).
    fn screen_change_then_store(
        path: &Path,
        format: InputFormat,
        store_dir: &Path,
        change: impl FnOnce(),
    ) -> (Result<Vec<FileSummary>>, Vec<String>) {
        let rules = Rules::default_rules().unwrap();
        let options = IngestOptions::canonical(&rules);
        let read = options.read_options().unwrap();
        screen_file(path, format, &read, None).unwrap();
        let pending = [Pending {
            path: path.to_path_buf(),
            sha: sha256_file(path).unwrap(),
            format,
            sheets: None,
        }];
        change();
        let store = Store::open_or_new(store_dir).unwrap();
        let manifest = store.manifest().clone();
        let result = store_screened(&store, manifest, &pending, &options, &read);
        let kept = match store_dir.exists() {
            true => crate::base::files::relative_files(store_dir).unwrap(),
            false => Vec::new(),
        }
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.ends_with(".parquet") || name.contains("quarantine"))
        .collect();
        (result, kept)
    }

    /// A file read twice: screened whole, then checked. A file that changed
    /// between the two passes (an export still being written, or replaced)
    /// is screened again as its rows are checked, and refused with nothing
    /// of it left in the store: the first screen is not taken on trust.
    /// Without a finding it is refused too, as its rows are not the bytes
    /// its hash names.
    #[test]
    fn a_file_changed_after_its_screen_is_refused_when_its_rows_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let clean: String = std::iter::once(
            "record_id,reporting_country,year,trafficking_form,venue\n".to_string(),
        )
        .chain((1..=50).map(|i| format!("r{i},US,2020,labor,farm\n")))
        .collect();
        // what is appended after the screen: a row with an e-mail address, a
        // clean row, nothing (the same steps then store the file)
        let appended = [
            "r51,US,2020,labor,maria.lopez@example.com\n",
            "r51,US,2020,labor,farm\n",
            "",
        ];
        let outcomes: Vec<_> = (appended.iter().enumerate())
            .map(|(case, more)| {
                let path = dir.path().join(format!("export-{case}.csv"));
                std::fs::write(&path, &clean).unwrap();
                let store_dir = dir.path().join(format!("store-{case}"));
                screen_change_then_store(&path, InputFormat::Csv, &store_dir, || {
                    std::fs::write(&path, clean.clone() + more).unwrap()
                })
            })
            .collect();
        match &outcomes[0] {
            (Err(Error::PersonalData { findings, .. }), kept) => {
                assert!(findings.contains("column 'venue'"), "{findings}");
                assert!(kept.is_empty(), "{kept:?}");
            }
            other => panic!("not refused for personal data: {other:?}"),
        }
        match &outcomes[1] {
            (Err(Error::BadInput { message, .. }), kept) => {
                assert!(
                    message.contains("changed between its screen and its checks"),
                    "{message}"
                );
                assert!(kept.is_empty(), "{kept:?}");
            }
            other => panic!("not refused as changed: {other:?}"),
        }
        let (stored, kept) = &outcomes[2];
        assert_eq!(stored.as_ref().unwrap()[0].counts.stored, 50);
        assert!(!kept.is_empty(), "{kept:?}");
    }

    /// A Parquet input of `venues.len()` records, one per venue.
    fn write_parquet_export(path: &Path, venues: &[&str]) {
        use datafusion::arrow::array::{ArrayRef, StringArray};
        let column =
            |values: Vec<String>| std::sync::Arc::new(StringArray::from(values)) as ArrayRef;
        let n = venues.len();
        let batch = RecordBatch::try_from_iter([
            (
                "record_id",
                column((1..=n).map(|i| format!("r{i}")).collect()),
            ),
            ("reporting_country", column(vec!["US".into(); n])),
            ("year", column(vec!["2020".into(); n])),
            ("trafficking_form", column(vec!["labor".into(); n])),
            (
                "venue",
                column(venues.iter().map(|v| v.to_string()).collect()),
            ),
        ])
        .unwrap();
        let file = std::fs::File::create(path).unwrap();
        let mut writer =
            datafusion::parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    /// A Parquet file is read by seeking, so its reader hashes nothing: a
    /// file replaced between its screen and its checks is found by hashing
    /// it again after them, and refused; the same file is stored.
    #[test]
    fn a_parquet_file_replaced_after_its_screen_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outcomes: Vec<_> = ([true, false].into_iter().enumerate())
            .map(|(case, replaced)| {
                let path = dir.path().join(format!("export-{case}.parquet"));
                write_parquet_export(&path, &["farm"; 40]);
                let store_dir = dir.path().join(format!("store-{case}"));
                screen_change_then_store(&path, InputFormat::Parquet, &store_dir, || {
                    if replaced {
                        write_parquet_export(&path, &["farm"; 41]);
                    }
                })
            })
            .collect();
        match &outcomes[0] {
            (Err(Error::BadInput { message, .. }), kept) => {
                assert!(
                    message.contains("changed between its screen and its checks"),
                    "{message}"
                );
                assert!(kept.is_empty(), "{kept:?}");
            }
            other => panic!("not refused as changed: {other:?}"),
        }
        let (stored, kept) = &outcomes[1];
        assert_eq!(stored.as_ref().unwrap()[0].counts.stored, 40);
        assert!(!kept.is_empty(), "{kept:?}");
    }

    /// The hashes that decide whether a file's rows are the bytes its hash
    /// names: a reading that did not cover the file as it is now, or (with
    /// a mapping) read other bytes than were hashed first, names none.
    #[test]
    fn a_hash_names_the_rows_only_when_the_reading_covered_those_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.csv");
        let text = "record_id,venue\n".to_string() + &"r1,farm\n".repeat(1_000);
        std::fs::write(&path, &text).unwrap();
        let before = sha256_file(&path).unwrap();
        let read_through = || {
            let digest = ReadDigest::default();
            let options = ReadOptions {
                digest: Some(digest.clone()),
                ..Default::default()
            };
            let mut source = readers::open(&path, InputFormat::Csv, &options).unwrap();
            while source.next_row().unwrap().is_some() {}
            digest
        };
        let digest = read_through();
        assert_eq!(hash_of_rows(None, &digest, &path), Some(before.clone()));
        assert_eq!(
            hash_of_rows(Some(&before), &digest, &path),
            Some(before.clone())
        );
        let screened = |format| Pending {
            path: path.clone(),
            sha: before.clone(),
            format,
            sheets: None,
        };
        let csv = screened(InputFormat::Csv);
        assert!(same_as_screened(&csv, &digest).unwrap());
        // changed between a screen (or a mapping's first hash) and the reading
        std::fs::write(&path, text.replace("farm", "mine")).unwrap();
        let digest = read_through();
        assert_eq!(hash_of_rows(Some(&before), &digest, &path), None);
        assert!(!same_as_screened(&csv, &digest).unwrap());
        // grown after the reading: the rows are the screened bytes, but no
        // hash of the whole file names them now
        std::fs::write(&path, text.clone()).unwrap();
        let digest = read_through();
        std::fs::write(&path, text.clone() + "r2,farm\n").unwrap();
        assert_eq!(hash_of_rows(None, &digest, &path), None);
        assert!(same_as_screened(&csv, &digest).unwrap());
        // read only in part: not the screened bytes
        let part = ReadDigest::default();
        let mut hashing =
            crate::base::files::Hashing::new(std::fs::File::open(&path).unwrap(), part.clone());
        std::io::Read::read_exact(&mut hashing, &mut [0u8; 100]).unwrap();
        assert!(!same_as_screened(&csv, &part).unwrap());
        // a reader that hashes nothing: the file as it is now decides
        let parquet = screened(InputFormat::Parquet);
        let nothing = ReadDigest::default();
        assert!(!same_as_screened(&parquet, &nothing).unwrap());
        std::fs::write(&path, &text).unwrap();
        assert!(same_as_screened(&parquet, &nothing).unwrap());
    }

    /// A file read once is read without the store's lock. When another
    /// process commits a change meanwhile, the change of the file does not
    /// begin on the store as it was read (its duplicates were found against
    /// it): the file is checked again against the store as it is then, and
    /// a record the other change stored is a duplicate.
    #[test]
    fn a_store_changed_while_a_file_is_read_once_is_checked_as_it_is_then() {
        let dir = tempfile::tempdir().unwrap();
        let rules = Rules::default_rules().unwrap();
        let options = IngestOptions::canonical(&rules);
        let read = options.read_options().unwrap();
        let root = dir.path().join("store");
        let export = |name: &str, ids: std::ops::RangeInclusive<u32>| {
            let path = dir.path().join(name);
            let rows: String = ids.map(|i| format!("r{i},US,2020,labor,farm\n")).collect();
            std::fs::write(
                &path,
                "record_id,reporting_country,year,trafficking_form,venue\n".to_string() + &rows,
            )
            .unwrap();
            path
        };
        let first = export("first.csv", 1..=10);
        let second = export("second.csv", 6..=20);
        // this command reads the store, then another process ingests
        let read_before = Store::open_or_new(&root).unwrap();
        let also_before = Store::open_or_new(&root).unwrap();
        ingest(&root, std::slice::from_ref(&first), &options).unwrap();

        let stale = ingest_read_once(&also_before, &second, InputFormat::Csv, &options, &read);
        assert!(matches!(stale, Err(Error::Changed { .. })), "{stale:?}");
        let summary = ingest_into(read_before, std::slice::from_ref(&second), &options).unwrap();
        let counts = &summary.files[0].counts;
        assert_eq!((counts.read, counts.stored, counts.duplicates), (15, 10, 5));
        assert!(
            summary.files[0]
                .warnings
                .iter()
                .any(|w| w.contains("another process changed the store")),
            "{:?}",
            summary.files[0].warnings
        );
        let manifest = Store::open(&root).unwrap().manifest().clone();
        assert_eq!(manifest.inputs.len(), 2);
        assert_eq!(manifest.generation, 2);
    }

    #[test]
    fn batches_double_from_the_first_to_the_full_size() {
        let sizes: Vec<usize> = (0..6).map(batch_rows).collect();
        assert_eq!(sizes, [1024, 2048, 4096, 8192, 8192, 8192]);
        // a file of the sample data's size is several batches, not one
        assert!(batch_rows(0) < 4_000);
        assert_eq!(batch_rows(usize::MAX), BATCH_ROWS);
    }
}
