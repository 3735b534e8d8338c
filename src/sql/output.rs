//! `query`'s results as the SQL tools analysts know write them (the DuckDB
//! and DataFusion CLIs): a table for the terminal, CSV, a JSON array, JSON
//! lines, Parquet or XLSX, to standard output or to a file. List columns
//! (sectors, control methods) are written as lists in JSON and Parquet, and
//! joined with `;` (the canonical flat form) in CSV and XLSX.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::engine::OutputFormat;
use crate::error::{Error, Result};

/// Whether the format is text that may go to standard output.
pub fn is_text(format: OutputFormat) -> bool {
    !matches!(format, OutputFormat::Parquet | OutputFormat::Xlsx)
}

/// A list column as text, its values joined with `;`; other columns as
/// they are.
fn flat(batch: &RecordBatch) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        match column.data_type() {
            DataType::List(_) | DataType::LargeList(_) => {
                let options = FormatOptions::default();
                let mut out = StringBuilder::new();
                for row in 0..column.len() {
                    if column.is_null(row) {
                        out.append_null();
                        continue;
                    }
                    let values = match column.data_type() {
                        DataType::List(_) => column.as_list::<i32>().value(row),
                        _ => column.as_list::<i64>().value(row),
                    };
                    let formatter = ArrayFormatter::try_new(values.as_ref(), &options)?;
                    let parts: Vec<String> = (0..values.len())
                        .filter(|i| values.is_valid(*i))
                        .map(|i| formatter.value(i).to_string())
                        .collect();
                    out.append_value(parts.join(";"));
                }
                fields.push(Field::new(field.name(), DataType::Utf8, true));
                columns.push(Arc::new(out.finish()));
            }
            _ => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// The results in a text format (table, CSV, JSON, NDJSON).
pub fn render_text(batches: &[RecordBatch], format: OutputFormat) -> Result<String> {
    use datafusion::arrow::{csv, json};
    Ok(match format {
        OutputFormat::Csv => {
            let mut out = Vec::new();
            {
                let mut writer = csv::WriterBuilder::new().with_header(true).build(&mut out);
                for batch in batches {
                    writer.write(&flat(batch)?)?;
                }
            }
            String::from_utf8(out).expect("CSV writer produces UTF-8")
        }
        OutputFormat::Json => {
            let mut out = Vec::new();
            {
                let mut writer = json::ArrayWriter::new(&mut out);
                for batch in batches {
                    writer.write(batch)?;
                }
                writer.finish()?;
            }
            let mut text = String::from_utf8(out).expect("JSON writer produces UTF-8");
            if text.is_empty() {
                text.push_str("[]");
            }
            text + "\n"
        }
        OutputFormat::Ndjson => {
            let mut out = Vec::new();
            {
                let mut writer = json::LineDelimitedWriter::new(&mut out);
                for batch in batches {
                    writer.write(batch)?;
                }
                writer.finish()?;
            }
            String::from_utf8(out).expect("JSON writer produces UTF-8")
        }
        OutputFormat::Table | OutputFormat::Parquet | OutputFormat::Xlsx => {
            super::engine::render(batches, OutputFormat::Table)?
        }
    })
}

/// Writes the results to `path` in `format`. An existing file is refused:
/// the tool never overwrites what it did not write. The results are
/// written to a temporary file beside it and moved into place only if no
/// file has the name by then, so a file another process wrote in the
/// meantime is not replaced either, and a killed write leaves no partial
/// file under the name.
/// Refuses an `--output` file that exists: checked before a query runs,
/// so that a long query is not run only to be refused at the end, and
/// again when writing (the file may have appeared meanwhile).
pub fn refuse_existing(path: &Path) -> Result<()> {
    if path.exists() {
        return Err(exists(path));
    }
    Ok(())
}

fn exists(path: &Path) -> Error {
    Error::Usage(format!(
        "--output {}: the file exists; safetynet never overwrites a file it did not write. \
         Choose a new name or remove it first",
        path.display()
    ))
}

pub fn write_file(batches: &[RecordBatch], format: OutputFormat, path: &Path) -> Result<()> {
    refuse_existing(path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let staging = tempfile::Builder::new()
        .prefix(".safetynet-query-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    match format {
        OutputFormat::Parquet => write_parquet(batches, staging.path())?,
        OutputFormat::Xlsx => write_xlsx(batches, staging.path())?,
        text => std::fs::write(staging.path(), render_text(batches, text)?)
            .map_err(|e| Error::io(staging.path(), e))?,
    }
    staging.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            exists(path)
        } else {
            Error::io(path, e.error)
        }
    })?;
    Ok(())
}

fn write_parquet(batches: &[RecordBatch], path: &Path) -> Result<()> {
    use datafusion::parquet::arrow::ArrowWriter;
    let Some(first) = batches.first() else {
        return Err(Error::Usage(
            "the query returned no columns to write as Parquet".into(),
        ));
    };
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut writer = ArrowWriter::try_new(file, first.schema(), None)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(())
}

/// One sheet, `query`: a bold frozen header with filters, numbers as
/// numbers, lists joined with `;`, text that looks like a formula kept as
/// text.
fn write_xlsx(batches: &[RecordBatch], path: &Path) -> Result<()> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| Error::store(path, e.to_string());
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(2000, 1, 1).map_err(fail)?;
    workbook.set_properties(
        &DocProperties::new()
            .set_title("safetynet query: not disclosure-controlled, NOT FOR PUBLICATION")
            .set_creation_datetime(&created),
    );
    let sheet = workbook.add_worksheet();
    sheet.set_name("query").map_err(fail)?;
    let bold = Format::new().set_bold();
    let quoted = Format::new().set_quote_prefix();
    let mut row = 1u32;
    let mut columns = 0u16;
    for (b, batch) in batches.iter().enumerate() {
        let batch = flat(batch)?;
        if b == 0 {
            for (c, field) in batch.schema().fields().iter().enumerate() {
                sheet
                    .write_string_with_format(0, c as u16, field.name(), &bold)
                    .map_err(fail)?;
            }
            columns = batch.num_columns() as u16;
        }
        let options = FormatOptions::default();
        for (c, column) in batch.columns().iter().enumerate() {
            let c = c as u16;
            let numeric = column.data_type().is_numeric();
            let numbers = if numeric {
                Some(cast(column, &DataType::Float64)?)
            } else {
                None
            };
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
            for r in 0..batch.num_rows() {
                if column.is_null(r) {
                    continue;
                }
                let at = row + r as u32;
                match &numbers {
                    Some(values) => sheet
                        .write_number(at, c, values.as_primitive::<Float64Type>().value(r))
                        .map(|_| ()),
                    None => {
                        let text = formatter.value(r).to_string();
                        if crate::base::escape::formula_like(&text) {
                            sheet.write_string_with_format(at, c, &text, &quoted)
                        } else {
                            sheet.write_string(at, c, &text)
                        }
                        .map(|_| ())
                    }
                }
                .map_err(fail)?;
            }
        }
        row += batch.num_rows() as u32;
    }
    sheet.set_freeze_panes(1, 0).map_err(fail)?;
    if row > 1 && columns > 0 {
        sheet.autofilter(0, 0, row - 1, columns - 1).map_err(fail)?;
    }
    workbook.save(path).map_err(fail)
}
