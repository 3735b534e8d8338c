//! The bundle `share` writes and `merge` reads: one tar file holding
//! `manifest.json` and the aggregate tables as Parquet. Nothing in it is a
//! record: only disclosure-controlled counts (a suppressed count is null,
//! never 0) with the manifest that says whose they are, over which years,
//! classified with which rules, protected with which threshold, written by
//! which version, and the SHA-256 of each table.
//!
//! Compatibility: `format_version` is 1. A later version reads every
//! earlier format (a fixture bundle under `tests/fixtures/` proves it) and
//! refuses a newer one with a clear message.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use super::aggregate::{self, Aggregates, Scope};
use crate::error::{Error, Result};
use crate::publish::table::{Cell, Table};

pub const FORMAT_VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    /// `safetynet X.Y.Z` that wrote the bundle.
    pub tool_version: String,
    pub scope: Scope,
    /// The input files of the country's records, by name.
    pub source: Vec<String>,
    /// The classification the types come from.
    pub typology: String,
    pub tables: Vec<TableEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    pub name: String,
    pub file: String,
    pub rows: usize,
    pub sha256: String,
}

pub const TYPOLOGY: &str =
    "Polaris, Typology of Modern Slavery (2017): 25 types, with safetynet's extension categories";

fn column_type(name: &str) -> DataType {
    match name {
        "year" | "type_id" => DataType::Int32,
        "n" | "denominator" => DataType::Int64,
        _ => DataType::Utf8,
    }
}

fn bad(path: &Path, message: impl Into<String>) -> Error {
    Error::bad_input(path, message)
}

/// The table as Arrow: a suppressed count is null.
fn to_batch(table: &Table) -> Result<RecordBatch> {
    let fields: Vec<Field> = table
        .columns
        .iter()
        .map(|c| Field::new(c, column_type(c), true))
        .collect();
    let arrays: Vec<ArrayRef> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| -> ArrayRef {
            let cells = table.rows.iter().map(|r| &r[i]);
            match column_type(c) {
                DataType::Int32 => Arc::new(
                    cells
                        .map(|v| v.as_f64().map(|f| f as i32))
                        .collect::<Int32Array>(),
                ),
                DataType::Int64 => Arc::new(
                    cells
                        .map(|v| match v {
                            Cell::Int(n) => Some(*n),
                            _ => None,
                        })
                        .collect::<Int64Array>(),
                ),
                _ => Arc::new(
                    cells
                        .map(|v| v.as_text().map(str::to_string))
                        .collect::<StringArray>(),
                ),
            }
        })
        .collect();
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

fn parquet_bytes(batch: &RecordBatch) -> Result<Vec<u8>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("valid level"),
        ))
        .set_created_by("safetynet".to_string())
        .build();
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(bytes)
}

/// Writes the bundle, after checking that an audit of its tables passes.
///
/// With `ledger`, the bundle is recorded in that store's release ledger
/// before it is put in place.
pub fn write(
    aggregates: &Aggregates,
    source: Vec<String>,
    path: &Path,
    ledger: Option<&crate::store::Store>,
) -> Result<Manifest> {
    let findings = aggregates.audit()?;
    if !findings.is_empty() {
        return Err(Error::AuditFailed { findings });
    }
    let mut files = Vec::new();
    let mut tables = Vec::new();
    for table in &aggregates.tables {
        let bytes = parquet_bytes(&to_batch(table)?)?;
        let file = format!("{}.parquet", table.spec.name);
        tables.push(TableEntry {
            name: table.spec.name.clone(),
            file: file.clone(),
            rows: table.rows.len(),
            sha256: crate::base::files::sha256_hex(&bytes),
        });
        files.push((file, bytes));
    }
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        tool_version: format!("safetynet {}", env!("CARGO_PKG_VERSION")),
        scope: aggregates.scope.clone(),
        source,
        typology: TYPOLOGY.to_string(),
        tables,
    };
    let json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| Error::store(path, e.to_string()))?;
    refuse_foreign_file(path)?;
    for leftover in crate::base::leftovers::of_ended_runs(path, &["staging"]) {
        if leftover.is_file() {
            let _ = std::fs::remove_file(&leftover);
        }
    }
    // Written beside the target under a name of this process's own and
    // renamed, so a failure leaves no half bundle and clobbers nothing.
    let staging = path.with_file_name(format!(
        ".{}.staging-{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let file = std::fs::File::create(&staging).map_err(|e| Error::io(&staging, e))?;
    let mut builder = tar::Builder::new(file);
    for (name, bytes) in std::iter::once((MANIFEST.to_string(), json)).chain(files) {
        // fixed metadata: the same figures give the same bytes
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_cksum();
        builder
            .append_data(&mut header, &name, bytes.as_slice())
            .map_err(|e| Error::io(&staging, e))?;
    }
    builder
        .into_inner()
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(&staging, e))?;
    if let Some(store) = ledger {
        let scope = &manifest.scope;
        let (_, sha256) =
            crate::base::files::sha256_file(&staging).map_err(|e| Error::io(&staging, e))?;
        let recorded = crate::store::releases::record(
            store,
            crate::store::releases::Publication {
                command: "share".into(),
                target: path.display().to_string(),
                scope: crate::store::releases::Scope {
                    from_year: scope.from_year,
                    to_year: scope.to_year,
                    countries: vec![scope.country.clone()],
                    unit: scope.unit.as_str().into(),
                },
                min_cell: scope.min_cell,
                protection_width: scope.width,
                max_noise: scope.max_noise,
                files: vec![crate::store::releases::PublishedFile {
                    path: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    sha256,
                }],
            },
        );
        if let Err(e) = recorded {
            let _ = std::fs::remove_file(&staging);
            return Err(e);
        }
    }
    std::fs::rename(&staging, path).map_err(|e| Error::io(path, e))?;
    Ok(manifest)
}

/// `--out` may replace a bundle, never another file: a tar whose first
/// entry is a bundle manifest is one.
fn refuse_foreign_file(path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let is_bundle = std::fs::File::open(path).ok().is_some_and(|file| {
        let mut archive = tar::Archive::new(file);
        archive
            .entries()
            .ok()
            .and_then(|mut entries| entries.next())
            .and_then(|entry| entry.ok())
            .and_then(|entry| entry.path().ok().map(|p| p.to_string_lossy() == MANIFEST))
            .unwrap_or(false)
    });
    if is_bundle {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "--out {}: a file that is not a bundle is there; safetynet never replaces what it did not write. Choose another name",
        path.display()
    )))
}

/// The largest entry a bundle may hold: its tables are counts by type and
/// year of one country, kilobytes.
const MAX_ENTRY_BYTES: u64 = 16 * 1024 * 1024;
/// The most a bundle may hold in all, and the most entries.
const MAX_BUNDLE_BYTES: u64 = 64 * 1024 * 1024;
const MAX_ENTRIES: usize = 64;

/// Reads and verifies a bundle: every file present and no other, hashes,
/// format version, columns and types, and that its tables pass the audit.
pub fn read(path: &Path) -> Result<(Manifest, Aggregates)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive = tar::Archive::new(file);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total = 0u64;
    let entries = archive
        .entries()
        .map_err(|e| bad(path, format!("not a bundle (a tar file): {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| bad(path, format!("damaged or truncated bundle: {e}")))?;
        let name = entry
            .path()
            .map_err(|e| bad(path, format!("damaged bundle: {e}")))?
            .to_string_lossy()
            .to_string();
        // Sizes are checked from the entry's header before anything is
        // read, and reading stops at them: a small bundle that claims
        // gigabytes (sparse, or just a lying header) is refused, not read.
        let claimed = entry.header().size().unwrap_or(u64::MAX);
        if claimed > MAX_ENTRY_BYTES {
            return Err(bad(
                path,
                format!(
                    "{name}: an entry of {claimed} bytes; a bundle's tables are small (at most {MAX_ENTRY_BYTES} bytes each)"
                ),
            ));
        }
        total += claimed;
        if total > MAX_BUNDLE_BYTES || files.len() >= MAX_ENTRIES {
            return Err(bad(
                path,
                format!(
                    "more than {MAX_BUNDLE_BYTES} bytes or {MAX_ENTRIES} entries: not a bundle"
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(claimed as usize);
        (&mut entry)
            .take(MAX_ENTRY_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(path, format!("damaged or truncated bundle: {name}: {e}")))?;
        files.push((name, bytes));
    }
    let take = |name: &str| files.iter().find(|(n, _)| n == name).map(|(_, b)| b);
    let manifest_bytes =
        take(MANIFEST).ok_or_else(|| bad(path, "not a bundle: no manifest.json"))?;
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| bad(path, format!("manifest.json: {e}")))?;
    if manifest.format_version > FORMAT_VERSION {
        return Err(bad(
            path,
            format!(
                "bundle format {} was written by a newer safetynet ({}); this version reads formats up to {FORMAT_VERSION}",
                manifest.format_version, manifest.tool_version
            ),
        ));
    }
    if manifest.format_version == 0 {
        return Err(bad(path, "bundle format 0 does not exist"));
    }
    let listed: Vec<&str> = std::iter::once(MANIFEST)
        .chain(manifest.tables.iter().map(|t| t.file.as_str()))
        .collect();
    if let Some((extra, _)) = files.iter().find(|(n, _)| !listed.contains(&n.as_str())) {
        return Err(bad(
            path,
            format!("{extra} is in the bundle but not in its manifest"),
        ));
    }
    let mut tables = Vec::new();
    for wanted in [aggregate::TYPES_BY_YEAR, aggregate::TYPES_OVER_PERIOD] {
        let entry = manifest
            .tables
            .iter()
            .find(|t| t.name == wanted)
            .ok_or_else(|| bad(path, format!("the manifest lists no table {wanted}")))?;
        let bytes = take(&entry.file)
            .ok_or_else(|| bad(path, format!("{} is missing from the bundle", entry.file)))?;
        if crate::base::files::sha256_hex(bytes) != entry.sha256 {
            return Err(bad(
                path,
                format!(
                    "{}: content does not match its SHA-256 in the manifest (altered or damaged)",
                    entry.file
                ),
            ));
        }
        let table = read_table(path, wanted, bytes)?;
        if table.rows.len() != entry.rows {
            return Err(bad(
                path,
                format!(
                    "{}: {} rows, the manifest says {}",
                    entry.file,
                    table.rows.len(),
                    entry.rows
                ),
            ));
        }
        tables.push(table);
    }
    let aggregates = Aggregates {
        scope: manifest.scope.clone(),
        tables,
    };
    let findings = aggregates.audit()?;
    if !findings.is_empty() {
        return Err(bad(
            path,
            format!(
                "its figures are not disclosure-controlled:\n{}",
                findings.join("\n")
            ),
        ));
    }
    Ok((manifest, aggregates))
}

fn read_table(path: &Path, name: &str, bytes: &[u8]) -> Result<Table> {
    let spec = aggregate::spec(name)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(bytes))
        .and_then(|b| b.build())
        .map_err(|e| bad(path, format!("{name}: not Parquet: {e}")))?;
    let batches: Vec<RecordBatch> = reader
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad(path, format!("{name}: {e}")))?;
    let expected: Vec<&str> = match name {
        aggregate::TYPES_BY_YEAR => {
            vec!["year", "section", "type_id", "category", "n", "denominator"]
        }
        _ => vec!["section", "type_id", "category", "n", "denominator"],
    };
    if let Some(batch) = batches.first() {
        let schema = batch.schema();
        let found: Vec<(&str, &DataType)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type()))
            .collect();
        let wanted: Vec<(&str, DataType)> = expected.iter().map(|c| (*c, column_type(c))).collect();
        if found.len() != wanted.len()
            || found
                .iter()
                .zip(&wanted)
                .any(|(f, w)| f.0 != w.0 || *f.1 != w.1)
        {
            return Err(bad(
                path,
                format!("{name}: columns {found:?}, expected {wanted:?}"),
            ));
        }
    }
    let mut table = Table::from_batches(spec, &batches)?;
    if table.columns.is_empty() {
        table.columns = expected.iter().map(|c| c.to_string()).collect();
    }
    // In a bundle a null count is a suppressed one.
    for column in ["n", "denominator"] {
        let i = table.column(column).expect("checked above");
        for row in &mut table.rows {
            if row[i] == Cell::Null {
                row[i] = Cell::Suppressed;
            }
        }
    }
    Ok(table)
}
