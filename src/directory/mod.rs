//! A directory of anti-trafficking organisations (like the Global Modern
//! Slavery Directory): who offers which service, to whom, where. Imported
//! from CSV or XLSX, validated row by row like a case export (every row is
//! stored, quarantined with its reason, or reported as a duplicate, and the
//! counts reconcile), and kept in the store as Parquet beside the cases.
//!
//! ```text
//! STORE/directory/organizations.parquet
//! STORE/directory/manifest.json             imported files (hash, counts)
//! STORE/directory/quarantine/<hash>.csv     rejected rows with reasons
//! ```

pub mod generate;
pub mod vocab;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::ListBuilder;
use datafusion::arrow::array::{
    Array, ArrayRef, ListArray, RecordBatch, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::input::readers::{self, InputFormat, RawRow, ReadOptions};

/// One organisation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub org_id: String,
    pub name: String,
    pub country: String,
    /// None: it works nationwide.
    pub subdivision: Option<String>,
    pub services: Vec<String>,
    /// Codes of [`vocab::POPULATIONS`], or `all`.
    pub populations: Vec<String>,
    /// `sex`, `labor`, or `all`.
    pub forms: Vec<String>,
}

/// The same reconciliation as the store's: read = stored + quarantined +
/// duplicates.
pub use crate::store::Counts;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImportedFile {
    name: String,
    sha256: String,
    counts: Counts,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Manifest {
    files: Vec<ImportedFile>,
    /// SHA-256 of `organizations.parquet` as the last import wrote it
    /// (none in a directory imported before the fourteenth session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    organizations_sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub file: String,
    pub counts: Counts,
    /// False when the same file (by content) was imported before.
    pub imported: bool,
    pub quarantine_file: Option<PathBuf>,
    pub organizations_in_store: usize,
    /// Columns of the file that are not directory columns, so not kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored_columns: Vec<String>,
}

/// A row that is not stored, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub row: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

const REQUIRED: [&str; 6] = [
    "org_id",
    "name",
    "country",
    "services",
    "populations",
    "forms",
];
const OPTIONAL: [&str; 1] = ["subdivision"];

fn dir(store: &Path) -> PathBuf {
    store.join("directory")
}

fn organizations_file(store: &Path) -> PathBuf {
    dir(store).join("organizations.parquet")
}

fn manifest_file(store: &Path) -> PathBuf {
    dir(store).join("manifest.json")
}

/// The directory files imported into the store, as a report names its
/// inputs: file name and SHA-256.
pub fn provenance(store: &Path) -> Result<Vec<String>> {
    let mut files: Vec<String> = read_manifest(store)?
        .files
        .iter()
        .map(|f| {
            let name = Path::new(&f.name)
                .file_name()
                .map_or_else(|| f.name.clone(), |n| n.to_string_lossy().to_string());
            format!("{name} (directory, SHA-256 {})", f.sha256)
        })
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// Splits a list cell: `;`, `|` or `,` between values.
fn list(cell: &str) -> Vec<&str> {
    cell.split([';', '|', ','])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

/// Checks one row; the organisation, or the first problem found.
pub fn validate(
    header: &[String],
    cells: &[&str],
    row: u64,
) -> std::result::Result<Organization, Rejection> {
    let get = |name: &str| -> &str {
        header
            .iter()
            .position(|h| h == name)
            .and_then(|i| cells.get(i))
            .map(|s| s.trim())
            .unwrap_or("")
    };
    let reject = |column: &str, value: &str, reason: String| Rejection {
        row,
        column: column.to_string(),
        value: value.to_string(),
        reason,
    };
    for column in ["org_id", "name", "country"] {
        if get(column).is_empty() {
            return Err(reject(column, "", format!("{column} is required")));
        }
    }
    let country = crate::base::countries::normalise_alpha2(get("country")).ok_or_else(|| {
        reject(
            "country",
            get("country"),
            "not an ISO 3166-1 alpha-2 code".into(),
        )
    })?;
    let subdivision = match get("subdivision") {
        "" => None,
        raw => Some(
            crate::base::countries::normalise_subdivision(raw, Some(&country)).map_err(|why| {
                // the case schema's wording names the exploitation country
                let why = why.replace("exploitation country", "the organization's country");
                reject("subdivision", raw, why)
            })?,
        ),
    };
    let coded = |column: &str, kind: vocab::Kind| -> std::result::Result<Vec<String>, Rejection> {
        let raw = get(column);
        let values = list(raw);
        if values.is_empty() {
            return Err(reject(column, raw, vocab::empty_reason(kind)));
        }
        let mut codes: Vec<String> = Vec::new();
        for value in values {
            let code = vocab::code(kind, value)
                .ok_or_else(|| reject(column, value, vocab::unknown_reason(kind, value)))?;
            if !codes.iter().any(|c| c == code) {
                codes.push(code.to_string());
            }
        }
        codes.sort();
        Ok(codes)
    };
    Ok(Organization {
        org_id: get("org_id").to_string(),
        name: get("name").to_string(),
        country,
        subdivision,
        services: coded("services", vocab::Kind::Service)?,
        populations: coded("populations", vocab::Kind::Population)?,
        forms: coded("forms", vocab::Kind::Form)?,
    })
}

fn sha256_file(path: &Path) -> Result<String> {
    crate::base::files::sha256_file(path)
        .map(|(_, hash)| hash)
        .map_err(|e| Error::io(path, e))
}

/// Imports a directory file into the store.
pub fn import(store: &Path, file: &Path, options: &ReadOptions) -> Result<ImportSummary> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let sha = sha256_file(file)?;
    // a change of the store like any other: one at a time
    std::fs::create_dir_all(store).map_err(|e| Error::io(store, e))?;
    let _lock = crate::store::lock::StoreLock::acquire(store)?;
    let mut manifest = read_manifest(store)?;
    let mut existing = load(store)?;
    if let Some(previous) = manifest.files.iter().find(|f| f.sha256 == sha) {
        return Ok(ImportSummary {
            file: name,
            counts: previous.counts.clone(),
            imported: false,
            quarantine_file: None,
            organizations_in_store: existing.len(),
            ignored_columns: Vec::new(),
        });
    }
    let format = InputFormat::from_path(file).unwrap_or(InputFormat::Csv);
    if !matches!(format, InputFormat::Csv | InputFormat::Xlsx) {
        return Err(Error::bad_input(
            file,
            "a directory is read from CSV or XLSX",
        ));
    }
    let mut options = options.clone();
    options.expected_columns = REQUIRED.iter().map(|c| c.to_string()).collect();
    let mut source = readers::open(file, format, &options)?;
    let header: Vec<String> = source
        .header()
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    if let Some(message) =
        crate::base::listing::missing_columns(&header, &REQUIRED, &OPTIONAL, "a directory")
    {
        return Err(Error::bad_input(file, message));
    }
    let ignored_columns = other_columns(&header).map_err(|m| Error::bad_input(file, m))?;
    let mut counts = Counts::default();
    let mut rejected: Vec<Rejection> = Vec::new();
    let mut added: Vec<Organization> = Vec::new();
    while let Some(raw) = source.next_row()? {
        counts.read += 1;
        match raw {
            RawRow::Malformed {
                number,
                column,
                value,
                reason,
            } => rejected.push(Rejection {
                row: number,
                column,
                value,
                reason,
            }),
            RawRow::Cells { number, cells } => match validate(&header, &cells.strs(), number) {
                Ok(org) => {
                    if existing
                        .iter()
                        .chain(&added)
                        .any(|o| o.org_id == org.org_id)
                    {
                        counts.duplicates += 1;
                    } else {
                        added.push(org);
                    }
                }
                Err(r) => rejected.push(r),
            },
        }
    }
    counts.stored = added.len() as u64;
    counts.quarantined = rejected.len() as u64;
    std::fs::create_dir_all(dir(store)).map_err(|e| Error::io(dir(store), e))?;
    let quarantine_file = if rejected.is_empty() {
        None
    } else {
        let qdir = dir(store).join("quarantine");
        std::fs::create_dir_all(&qdir).map_err(|e| Error::io(&qdir, e))?;
        let path = qdir.join(format!("{}.csv", &sha[..16]));
        write_quarantine(&path, &name, &rejected)?;
        Some(path)
    };
    existing.extend(added);
    existing.sort_by(|a, b| {
        (&a.country, &a.subdivision, &a.org_id).cmp(&(&b.country, &b.subdivision, &b.org_id))
    });
    write_organizations(store, &existing)?;
    let organizations = organizations_file(store);
    let (_, written) = crate::base::files::sha256_file(&organizations)
        .map_err(|e| Error::io(&organizations, e))?;
    manifest.organizations_sha256 = Some(written);
    manifest.files.push(ImportedFile {
        name: name.clone(),
        sha256: sha,
        counts: counts.clone(),
    });
    write_manifest(store, &manifest)?;
    Ok(ImportSummary {
        file: name,
        counts,
        imported: true,
        quarantine_file,
        organizations_in_store: existing.len(),
        ignored_columns,
    })
}

/// The file's columns that are not directory columns. One a letter or two
/// from a directory column the file lacks is refused as a misspelling: a
/// file with `subdivison` had every organisation stored as nationwide, and
/// `gaps` found no gap. The others are reported as not kept.
fn other_columns(header: &[String]) -> std::result::Result<Vec<String>, String> {
    let known = |c: &str| REQUIRED.contains(&c) || OPTIONAL.contains(&c);
    let mut others = Vec::new();
    for column in header.iter().filter(|c| !c.is_empty() && !known(c)) {
        let meant = (REQUIRED.iter().chain(OPTIONAL.iter()))
            .filter(|k| !header.iter().any(|h| h == *k))
            .find(|k| strsim::osa_distance(&column.replace([' ', '-'], "_"), k) <= 2);
        if let Some(meant) = meant {
            return Err(format!(
                "column '{column}' is not a directory column: did you mean '{meant}'? (a directory has {}, and optionally {})",
                REQUIRED.join(", "),
                OPTIONAL.join(", ")
            ));
        }
        others.push(column.clone());
    }
    Ok(others)
}

fn write_quarantine(path: &Path, file: &str, rows: &[Rejection]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(|e| Error::store(path, e.to_string()))?;
    let fail = |e: csv::Error| Error::store(path, e.to_string());
    w.write_record(["file", "row", "column", "value", "reason"])
        .map_err(fail)?;
    // opened in a spreadsheet, a value from the input is never a formula
    let cell = crate::base::escape::csv_cell;
    for r in rows {
        // the quarantine is inside the store: screened like the ingest's,
        // and opened in a spreadsheet a value is never a formula
        let value = crate::input::guard::masked(&r.value, false);
        let fields: [&str; 5] = [
            &cell(file),
            &r.row.to_string(),
            &cell(&r.column),
            &cell(&value),
            &cell(&r.reason),
        ];
        w.write_record(fields).map_err(fail)?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

fn read_manifest(store: &Path) -> Result<Manifest> {
    let path = manifest_file(store);
    if !path.exists() {
        return Ok(Manifest::default());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::store(&path, e.to_string()))
}

/// Writes beside the target and renames, so a reader never sees half a file.
fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let staging = path.with_extension("tmp");
    std::fs::write(&staging, bytes).map_err(|e| Error::io(&staging, e))?;
    std::fs::rename(&staging, path).map_err(|e| Error::io(path, e))
}

fn write_manifest(store: &Path, manifest: &Manifest) -> Result<()> {
    let path = manifest_file(store);
    let text =
        serde_json::to_string_pretty(manifest).map_err(|e| Error::store(&path, e.to_string()))?;
    replace(&path, text.as_bytes())
}

fn schema() -> Arc<Schema> {
    let list = |name: &str| {
        Field::new(
            name,
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        )
    };
    Arc::new(Schema::new(vec![
        Field::new("org_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("country", DataType::Utf8, false),
        Field::new("subdivision", DataType::Utf8, true),
        list("services"),
        list("populations"),
        list("forms"),
    ]))
}

fn write_organizations(store: &Path, orgs: &[Organization]) -> Result<()> {
    let strings = |f: fn(&Organization) -> &str| -> ArrayRef {
        Arc::new(orgs.iter().map(f).map(Some).collect::<StringArray>())
    };
    let lists = |f: fn(&Organization) -> &Vec<String>| -> ArrayRef {
        let mut b = ListBuilder::new(StringBuilder::new());
        for org in orgs {
            for v in f(org) {
                b.values().append_value(v);
            }
            b.append(true);
        }
        Arc::new(b.finish())
    };
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            strings(|o| &o.org_id),
            strings(|o| &o.name),
            strings(|o| &o.country),
            Arc::new(
                orgs.iter()
                    .map(|o| o.subdivision.as_deref())
                    .collect::<StringArray>(),
            ),
            lists(|o| &o.services),
            lists(|o| &o.populations),
            lists(|o| &o.forms),
        ],
    )?;
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, schema(), None)?;
    writer.write(&batch)?;
    writer.close()?;
    replace(&organizations_file(store), &bytes)
}

/// The organisations in the store (none when no directory was imported).
pub fn load(store: &Path) -> Result<Vec<Organization>> {
    let path = organizations_file(store);
    if !path.exists() {
        return Ok(Vec::new());
    }
    check(store)?;
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        let text = |i: usize| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .ok_or_else(|| Error::store(&path, "unexpected column type"))
        };
        let list = |i: usize| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<ListArray>()
                .cloned()
                .ok_or_else(|| Error::store(&path, "unexpected column type"))
        };
        let (ids, names, countries, subs) = (text(0)?, text(1)?, text(2)?, text(3)?);
        let (services, populations, forms) = (list(4)?, list(5)?, list(6)?);
        let values = |l: &ListArray, row: usize| -> Vec<String> {
            let v = l.value(row);
            let s = v
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("string list");
            (0..s.len()).map(|i| s.value(i).to_string()).collect()
        };
        for row in 0..batch.num_rows() {
            out.push(Organization {
                org_id: ids.value(row).to_string(),
                name: names.value(row).to_string(),
                country: countries.value(row).to_string(),
                subdivision: (!subs.is_null(row)).then(|| subs.value(row).to_string()),
                services: values(&services, row),
                populations: values(&populations, row),
                forms: values(&forms, row),
            });
        }
    }
    Ok(out)
}

/// Whether the store has a directory.
/// Whether the directory's file is the one its last import wrote: it is
/// beside its manifest and has the SHA-256 recorded there. A directory cut
/// from six organisations to two, its manifest deleted, read as intact,
/// and `gaps` published from it (a review). Exit code 3 when not.
pub fn check(store: &Path) -> Result<()> {
    let path = organizations_file(store);
    let manifest = manifest_file(store);
    let damaged = |message: String| Error::Damaged {
        path: store.to_path_buf(),
        message: message
            + ". Import the directory file again into a new store, or restore the store from a backup",
    };
    match (path.exists(), manifest.exists()) {
        (false, false) => return Ok(()),
        (true, false) => {
            return Err(damaged(
                "directory/organizations.parquet is there without directory/manifest.json".into(),
            ));
        }
        (false, true) if !read_manifest(store)?.files.is_empty() => {
            return Err(damaged(
                "directory/manifest.json lists imports, but directory/organizations.parquet is missing".into(),
            ));
        }
        (false, true) => return Ok(()),
        (true, true) => {}
    }
    // An import replaces the file and then its manifest, each by a rename:
    // between the two they disagree for a moment, so a disagreement is
    // looked at again before it is called damage.
    for attempt in 0..3 {
        let Some(recorded) = read_manifest(store)?.organizations_sha256 else {
            return Ok(());
        };
        let (_, sha) = crate::base::files::sha256_file(&path).map_err(|e| Error::io(&path, e))?;
        if sha == recorded {
            return Ok(());
        }
        if attempt < 2 {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    Err(damaged(
        "directory/organizations.parquet is not the file its last import wrote (its SHA-256 differs)".into(),
    ))
}

pub fn exists(store: &Path) -> bool {
    organizations_file(store).exists()
}
