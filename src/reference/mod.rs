//! Published aggregates beside the store's records: `safetynet reference
//! import` reads a file of counts others have published (the UNODC Global
//! Report's country data, a national rapporteur's tables: country, year,
//! optional sex and age group, form of exploitation, count, source) into
//! `STORE/reference/`, never into the records. The report and `compare`
//! then set a hotline's own shares beside the published ones, labelled with
//! the source.
//!
//! ```text
//! STORE/reference/aggregates.parquet   every imported row, with the name
//!                                      and SHA-256 of the file it came from
//! ```
//!
//! One file, replaced by a rename under the store's lock: two imports at
//! once take turns, and an import killed at any point leaves the previous
//! file whole (there is no second file that could disagree with it).
//!
//! A published aggregate is not a victim: a file of counts given to
//! `ingest` is refused there (it has a count column), and a row here is
//! never counted as a record. A bad row refuses the whole file with its
//! row and column: a reference figure is either the published one or not
//! used.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Int32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;

use crate::base::places::{self, Place};
use crate::base::vocab::CodedField;
use crate::classify::rules::{Label, Rules};
use crate::error::{Error, Result};

/// One published count.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Aggregate {
    pub source: String,
    pub country: String,
    pub year: i32,
    /// `female`, `male`, ... or None for all.
    pub sex: Option<String>,
    /// `adult`, `minor` or None for all.
    pub age_group: Option<String>,
    /// A trafficking form code (`sex`, `labor`, `other`, ...) or `all`.
    pub form: String,
    pub count: i64,
    /// The imported file's name and SHA-256.
    pub file: String,
    pub file_sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub file: String,
    pub rows: u64,
    pub imported: bool,
    pub rows_in_store: usize,
}

const REQUIRED: [&str; 4] = ["country", "year", "form", "count"];
const OPTIONAL: [&str; 3] = ["sex", "age_group", "source"];

/// Words that mean "all" in the sex, age group and form columns of
/// published aggregates.
const ALL: &[&str] = &[
    "total",
    "all",
    "both",
    "both sexes",
    "todos",
    "tous",
    "ensemble",
];

fn dir(store: &Path) -> PathBuf {
    store.join("reference")
}

fn data_path(store: &Path) -> PathBuf {
    dir(store).join("aggregates.parquet")
}

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("country", DataType::Utf8, false),
        Field::new("year", DataType::Int32, false),
        Field::new("sex", DataType::Utf8, true),
        Field::new("age_group", DataType::Utf8, true),
        Field::new("form", DataType::Utf8, false),
        Field::new("count", DataType::Int64, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("file_sha256", DataType::Utf8, false),
    ]))
}

/// Every aggregate of the store (none when nothing was imported).
pub fn load(store: &Path) -> Result<Vec<Aggregate>> {
    let path = data_path(store);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch?;
        let text = |i: usize| batch.column(i).as_string::<i32>().clone();
        let (source, country, sex, age, form) = (text(0), text(1), text(3), text(4), text(5));
        let (file, sha) = (text(7), text(8));
        let year = batch.column(2).as_primitive::<Int32Type>().clone();
        let count = batch.column(6).as_primitive::<Int64Type>().clone();
        for r in 0..batch.num_rows() {
            let opt = |a: &StringArray| a.is_valid(r).then(|| a.value(r).to_string());
            rows.push(Aggregate {
                source: source.value(r).to_string(),
                country: country.value(r).to_string(),
                year: year.value(r),
                sex: opt(&sex),
                age_group: opt(&age),
                form: form.value(r).to_string(),
                count: count.value(r),
                file: file.value(r).to_string(),
                file_sha256: sha.value(r).to_string(),
            });
        }
    }
    Ok(rows)
}

fn batch_of(rows: &[Aggregate]) -> Result<RecordBatch> {
    let strings = |f: fn(&Aggregate) -> Option<&str>| {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>())) as Arc<dyn Array>
    };
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            strings(|a| Some(&a.source)),
            strings(|a| Some(&a.country)),
            Arc::new(Int32Array::from_iter_values(rows.iter().map(|a| a.year))),
            strings(|a| a.sex.as_deref()),
            strings(|a| a.age_group.as_deref()),
            strings(|a| Some(&a.form)),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|a| a.count))),
            strings(|a| Some(&a.file)),
            strings(|a| Some(&a.file_sha256)),
        ],
    )?)
}

/// Writes `path` through a temporary file, synced, and a rename, so a
/// killed import leaves the previous file whole.
fn replace(path: &Path, write: impl FnOnce(&mut std::fs::File) -> Result<()>) -> Result<()> {
    let staging = path.with_extension("staging");
    let mut file = std::fs::File::create(&staging).map_err(|e| Error::io(&staging, e))?;
    write(&mut file)?;
    file.sync_all().map_err(|e| Error::io(&staging, e))?;
    std::fs::rename(&staging, path).map_err(|e| Error::io(path, e))
}

/// Reads a file of published aggregates: a header with `country`, `year`,
/// `form`, `count` and optionally `sex`, `age_group`, `source` (any case);
/// `default_source` labels rows without a source column.
pub fn read(path: &Path, rules: &Rules, default_source: Option<&str>) -> Result<Vec<Aggregate>> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(false)
        .from_path(path)
        .map_err(|e| Error::bad_input(path, e.to_string()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::bad_input(path, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    if let Some(message) = crate::base::listing::missing_columns(
        &header,
        &REQUIRED,
        &OPTIONAL,
        "a file of published aggregates",
    ) {
        return Err(Error::bad_input(path, message));
    }
    if !header.iter().any(|h| h == "source") && default_source.is_none() {
        return Err(Error::Usage(format!(
            "{}: the file has no `source` column; say whose figures they are with --source \
             (for example --source \"UNODC GLOTIP 2024\")",
            path.display()
        )));
    }
    let at = |name: &str| header.iter().position(|h| h == name);
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| Error::bad_input(path, format!("row {line}: {e}")))?;
        let cell = |name: &str| at(name).and_then(|c| record.get(c)).unwrap_or("").trim();
        let bad = |column: &str, why: String| {
            Error::bad_input(path, format!("row {line}, column {column}: {why}"))
        };
        let country = match places::parse(cell("country")) {
            Some(Place::Country(code)) => code,
            _ => {
                return Err(bad(
                    "country",
                    format!("'{}' is not a country (code or name)", cell("country")),
                ));
            }
        };
        let year: i32 = cell("year")
            .parse()
            .ok()
            .filter(|y| (1990..=2100).contains(y))
            .ok_or_else(|| bad("year", format!("'{}' is not a year", cell("year"))))?;
        let all = |raw: &str| raw.is_empty() || ALL.contains(&raw.to_lowercase().as_str());
        let coded = |column: &str, field: CodedField| -> Result<Option<String>> {
            let raw = cell(column);
            if all(raw) {
                return Ok(None);
            }
            match rules.label(field, raw) {
                Label::Code(code) => Ok(Some(code.to_string())),
                _ => Err(bad(
                    column,
                    format!("'{raw}' is not a {} label", field.name()),
                )),
            }
        };
        let sex = coded("sex", CodedField::Gender)?;
        let age_group = coded("age_group", CodedField::MajorityStatus)?;
        let form = coded("form", CodedField::TraffickingForm)?.unwrap_or_else(|| "all".into());
        let raw_count = cell("count");
        let count = raw_count
            .parse::<i64>()
            .ok()
            .or_else(|| {
                let f: f64 = raw_count.parse().ok()?;
                (f.fract() == 0.0 && f.is_finite()).then_some(f as i64)
            })
            // no count of victims comes near a trillion: a larger value is
            // a mistake (9e18 would overflow every sum)
            .filter(|n| (0..=1_000_000_000_000).contains(n))
            .ok_or_else(|| bad("count", format!("'{raw_count}' is not a count")))?;
        let source = match cell("source") {
            "" => default_source
                .map(str::to_string)
                .ok_or_else(|| bad("source", "every published figure needs its source".into()))?,
            s => s.to_string(),
        };
        rows.push(Aggregate {
            source,
            country,
            year,
            sex,
            age_group,
            form,
            count,
            // which file: set by `import`, which has hashed it
            file: String::new(),
            file_sha256: String::new(),
        });
    }
    if rows.is_empty() {
        return Err(Error::bad_input(path, "no rows of published aggregates"));
    }
    let mut keys: Vec<_> = rows
        .iter()
        .map(|a| (&a.source, &a.country, a.year, &a.sex, &a.age_group, &a.form))
        .collect();
    keys.sort();
    // a total for all forms below one of its forms is a mistake in the file
    for total in rows.iter().filter(|a| a.form == "all") {
        if let Some(part) = rows.iter().find(|a| {
            a.form != "all"
                && (&a.source, &a.country, a.year, &a.sex, &a.age_group)
                    == (
                        &total.source,
                        &total.country,
                        total.year,
                        &total.sex,
                        &total.age_group,
                    )
                && a.count > total.count
        }) {
            return Err(Error::bad_input(
                path,
                format!(
                    "{} gives {} {} a total of {} for all forms, below its {} of {}",
                    total.source, total.country, total.year, total.count, part.form, part.count
                ),
            ));
        }
    }
    if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
        let (source, country, year, ..) = w[0];
        return Err(Error::bad_input(
            path,
            format!("{source} gives {country} {year} twice for the same sex, age group and form"),
        ));
    }
    Ok(rows)
}

/// Imports a file of published aggregates into the store. The same file
/// twice is a no-op; a figure of a source, country, year, sex, age group
/// and form already in the store is refused, never silently replaced.
pub fn import(
    store: &Path,
    file: &Path,
    rules: &Rules,
    default_source: Option<&str>,
) -> Result<ImportSummary> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let (_, sha) = crate::base::files::sha256_file(file).map_err(|e| Error::io(file, e))?;
    let _lock = crate::store::lock::StoreLock::acquire(store)?;
    let mut existing = load(store)?;
    let previous = existing.iter().filter(|a| a.file_sha256 == sha).count();
    if previous > 0 {
        return Ok(ImportSummary {
            file: name,
            rows: previous as u64,
            imported: false,
            rows_in_store: existing.len(),
        });
    }
    let mut added = read(file, rules, default_source)?;
    for a in &mut added {
        a.file = name.clone();
        a.file_sha256 = sha.clone();
    }
    for a in &added {
        if existing.iter().any(|e| {
            (&e.source, &e.country, e.year, &e.sex, &e.age_group, &e.form)
                == (&a.source, &a.country, a.year, &a.sex, &a.age_group, &a.form)
        }) {
            return Err(Error::bad_input(
                file,
                format!(
                    "{} already has a figure for {} {} in the store (from an earlier import)",
                    a.source, a.country, a.year
                ),
            ));
        }
    }
    let rows = added.len() as u64;
    existing.extend(added);
    existing.sort();
    std::fs::create_dir_all(dir(store)).map_err(|e| Error::io(dir(store), e))?;
    let batch = batch_of(&existing)?;
    replace(&data_path(store), |f| {
        let mut writer = ArrowWriter::try_new(f, schema(), None)?;
        writer.write(&batch)?;
        writer.close()?;
        Ok(())
    })?;
    Ok(ImportSummary {
        file: name,
        rows,
        imported: true,
        rows_in_store: existing.len(),
    })
}

/// Registers the table `reference` in a session when the store has
/// aggregates; true when it did.
pub fn register(ctx: &datafusion::prelude::SessionContext, store: &Path) -> Result<bool> {
    let rows = load(store)?;
    if rows.is_empty() {
        return Ok(false);
    }
    let table = datafusion::datasource::MemTable::try_new(schema(), vec![vec![batch_of(&rows)?]])?;
    ctx.register_table("reference", Arc::new(table))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("a.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn labels_and_totals_are_read_and_a_bad_row_is_named() {
        let rules = Rules::load(None).unwrap();
        let (_d, path) = file(
            "COUNTRY,Year,Sex,Age_Group,Form,Count,Source\n\
             Allemagne,2021,Total,Total,Forced labour,10,S\n\
             DEU,2021,Female,Child,Sexual exploitation,4.0,S\n\
             DE,2021,,,Total,30,S\n",
        );
        let rows = read(&path, &rules, None).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (rows[0].country.as_str(), rows[0].form.as_str()),
            ("DE", "labor")
        );
        assert_eq!(rows[0].sex, None);
        assert_eq!(rows[1].sex.as_deref(), Some("female"));
        assert_eq!(rows[1].age_group.as_deref(), Some("minor"));
        assert_eq!(rows[1].count, 4);
        assert_eq!(rows[2].form, "all");

        let (_d, path) = file("country,year,form,count\nDE,2021,Forced labour,-3\n");
        let err = read(&path, &rules, Some("S")).unwrap_err().to_string();
        assert!(err.contains("row 2, column count"), "{err}");
        let (_d, path) = file("country,year,form,count\nEurope,2021,Forced labour,3\n");
        let err = read(&path, &rules, Some("S")).unwrap_err().to_string();
        assert!(err.contains("column country"), "{err}");
        let (_d, path) =
            file("country,year,form,count\nDE,2021,Forced labour,3\nDEU,2021,forced labour,4\n");
        let err = read(&path, &rules, Some("S")).unwrap_err().to_string();
        assert!(err.contains("twice"), "{err}");
    }
}
