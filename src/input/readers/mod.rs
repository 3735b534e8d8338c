//! Readers that turn an input file into header + rows of text cells, so that
//! every container (CSV, JSON lines, Parquet, XLSX) goes through the same
//! mapping and validation. Rows carry the number a user would look for: the
//! line in a text file, the 1-based row in a Parquet file, the sheet row in a
//! workbook.

mod csv_records;
pub mod xlsx;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::arrow_reader::{
    ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};

use crate::error::{Error, Result};

/// Input containers. Delimited text may be gzip-compressed (detected from
/// the file's first bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    Csv,
    Jsonl,
    Parquet,
    Xlsx,
}

/// How to read a container: everything the user may override.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub encoding: Option<&'static encoding_rs::Encoding>,
    pub delimiter: Option<u8>,
    pub sheet: Option<String>,
    /// Column names the layout expects, to find the header row of a sheet.
    pub expected_columns: Vec<String>,
    /// Where a text file's bytes are hashed as its rows are read (CSV and
    /// JSON lines; the reading pass only, not a probe before it).
    pub digest: Option<crate::base::files::ReadDigest>,
}

impl InputFormat {
    /// Guesses the container from the file name; `None` when it cannot.
    pub fn from_path(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".xlsx")
            || name.ends_with(".xlsm")
            || name.ends_with(".xls")
            || name.ends_with(".ods")
        {
            Some(InputFormat::Xlsx)
        } else if name.ends_with(".csv") || name.ends_with(".tsv") || name.ends_with(".txt") {
            Some(InputFormat::Csv)
        } else if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
            Some(InputFormat::Jsonl)
        } else if name.ends_with(".parquet") {
            Some(InputFormat::Parquet)
        } else {
            None
        }
    }
}

/// One row as read, or a row that could not even be split into cells.
#[derive(Debug)]
pub enum RawRow {
    Cells {
        number: u64,
        cells: Cells,
    },
    Malformed {
        number: u64,
        column: String,
        value: String,
        reason: String,
    },
}

/// The cells of one row as text, in one buffer. A CSV row is read once to
/// screen it and once to check it; a `String` per cell was 28 allocations a
/// row per pass, and the allocator took a sixth of ingest's CPU (perf, a
/// million records). A CSV line is copied whole, delimiters and all, and
/// each cell is where it lies in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cells {
    text: String,
    bounds: Vec<(u32, u32)>,
}

impl Cells {
    /// The cells as string slices, to index by column.
    pub fn strs(&self) -> Vec<&str> {
        (self.bounds.iter())
            .map(|&(start, end)| &self.text[start as usize..end as usize])
            .collect()
    }

    /// The fields as text; when one is not UTF-8, its number, and the
    /// fields given back.
    fn from_fields(
        fields: csv_records::Fields,
    ) -> std::result::Result<Self, (usize, csv_records::Fields)> {
        let bounds = fields.bounds;
        match String::from_utf8(fields.bytes) {
            // a character cut in two by a field's end is not UTF-8 either
            // (a line's delimiters cannot cut one; a quoted field's end can)
            Ok(text) => match (bounds.iter()).position(|&(start, end)| {
                !text.is_char_boundary(start as usize) || !text.is_char_boundary(end as usize)
            }) {
                None => Ok(Cells { text, bounds }),
                Some(field) => Err((
                    field,
                    csv_records::Fields {
                        bytes: text.into_bytes(),
                        bounds,
                    },
                )),
            },
            Err(e) => {
                let bad = e.utf8_error().valid_up_to() as u32;
                let field = (bounds.iter())
                    .position(|&(_, end)| bad < end)
                    .unwrap_or(bounds.len().saturating_sub(1));
                let bytes = e.into_bytes();
                Err((field, csv_records::Fields { bytes, bounds }))
            }
        }
    }
}

impl From<Vec<String>> for Cells {
    fn from(cells: Vec<String>) -> Self {
        let mut text = String::with_capacity(cells.iter().map(String::len).sum());
        let mut bounds = Vec::with_capacity(cells.len());
        for cell in &cells {
            let start = text.len() as u32;
            text.push_str(cell);
            bounds.push((start, text.len() as u32));
        }
        Cells { text, bounds }
    }
}

/// A source of rows with a fixed header; `Send`, so that ingest can read
/// on a thread of its own.
pub trait RowSource: Send {
    fn header(&self) -> &[String];
    /// The next row; `Ok(None)` at the end; `Err` when the file cannot be
    /// read any further (which fails the whole ingest).
    fn next_row(&mut self) -> Result<Option<RawRow>>;
    /// Bytes consumed so far, for progress display.
    fn position(&self) -> u64;
}

pub fn open(path: &Path, format: InputFormat, options: &ReadOptions) -> Result<Box<dyn RowSource>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::bad_input(path, "is a directory, not a file"));
    }
    if meta.len() == 0 {
        return Err(Error::bad_input(path, "file is empty"));
    }
    match format {
        InputFormat::Csv => Ok(Box::new(CsvSource::open(path, options)?)),
        InputFormat::Jsonl => Ok(Box::new(JsonlSource::open(path, options)?)),
        InputFormat::Parquet => Ok(Box::new(ParquetSource::open(path)?)),
        InputFormat::Xlsx => Ok(Box::new(crate::input::readers::xlsx::XlsxSource::open(
            path, options,
        )?)),
    }
}

pub struct CsvSource {
    path: PathBuf,
    records: csv_records::CsvRecords,
    header: Vec<String>,
    /// Lines swallowed by a quote that never closed, reported one by one.
    swallowed: std::collections::VecDeque<RawRow>,
    delimiter: u8,
}

impl CsvSource {
    fn open(path: &Path, options: &ReadOptions) -> Result<Self> {
        let text =
            crate::input::decode::open_text(path, options.encoding, options.digest.as_ref())?;
        let delimiter = options
            .delimiter
            .unwrap_or_else(|| crate::input::decode::sniff_delimiter(&text.sample));
        let mut records = csv_records::CsvRecords::new(text.reader, delimiter);
        let mut raw_header = csv_records::Fields::default();
        let read = records
            .skip_byte_order_mark()
            .and_then(|()| records.next_record(&mut raw_header));
        match read {
            Ok(Some(_)) => {}
            Ok(None) => return Err(Error::bad_input(path, "file has no header row")),
            Err(e) => {
                return Err(Error::bad_input(
                    path,
                    format!("cannot read the header row: {}", read_error_message(&e)),
                ));
            }
        }
        let mut header = Vec::with_capacity(raw_header.len());
        for (i, name) in raw_header.iter().enumerate() {
            let name = std::str::from_utf8(name).map_err(|_| {
                Error::bad_input(
                    path,
                    format!("line 1, column {}: header is not valid UTF-8", i + 1),
                )
            })?;
            // a byte order mark after a transcoding is not part of the name
            header.push(name.trim_start_matches('\u{feff}').trim().to_string());
        }
        if header.iter().all(String::is_empty) {
            return Err(Error::bad_input(path, "file has no header row"));
        }
        if let Some(long) = header.iter().position(|h| h.chars().count() > 200) {
            return Err(Error::bad_input(
                path,
                format!(
                    "line 1, column {}: a header name of {} characters; the first line is not a header row",
                    long + 1,
                    header[long].chars().count()
                ),
            ));
        }
        Ok(CsvSource {
            path: path.to_path_buf(),
            records,
            header,
            swallowed: std::collections::VecDeque::new(),
            delimiter,
        })
    }
}

/// What went wrong reading CSV text, with the line it happened on.
fn read_error_message(error: &csv_records::ReadError) -> String {
    match error {
        csv_records::ReadError::TooLong { line } => format!(
            "line {line}: a row of more than {} bytes (a quote that opens there and never closes, or one giant cell); nothing was stored",
            crate::input::limits::MAX_ROW_BYTES
        ),
        csv_records::ReadError::Io { line, error } => {
            format!("line {line}: cannot be read as CSV: {error}")
        }
    }
}

impl CsvSource {
    /// Whether a quoted field holds lines that are whole rows of this file
    /// (as many delimiters as a row has): the sign of a quote that opened
    /// in one row and closed rows later, rather than a cell that really
    /// spans lines (an address, a note).
    fn holds_whole_rows(&self, record: &csv_records::Fields) -> bool {
        let needed = self.header.len().saturating_sub(1);
        needed > 0
            && record.iter().any(|cell| {
                cell.split(|&b| b == b'\n' || b == b'\r')
                    .skip(1)
                    .any(|line| line.iter().filter(|&&b| b == self.delimiter).count() >= needed)
            })
    }
}

impl RowSource for CsvSource {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn position(&self) -> u64 {
        self.records.position()
    }

    fn next_row(&mut self) -> Result<Option<RawRow>> {
        if let Some(row) = self.swallowed.pop_front() {
            return Ok(Some(row));
        }
        // a record of its own, handed on as it is: no copy per row
        let mut record = csv_records::Fields::with_capacity(256, self.header.len());
        let span = self
            .records
            .next_record(&mut record)
            .map_err(|e| Error::bad_input(&self.path, read_error_message(&e)))?;
        let Some(csv_records::Span {
            line: number,
            breaks_inside,
        }) = span
        else {
            return Ok(None);
        };
        // A line of only delimiters (or spaces) is a row of the export with
        // nothing in it: counted as read and quarantined, so that `read`
        // is every data row of the file. (A truly empty line is no row.)
        if record.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) {
            return Ok(Some(RawRow::Malformed {
                number,
                column: String::new(),
                value: String::new(),
                reason: "an empty row: only delimiters, no values".into(),
            }));
        }
        if breaks_inside > 0
            && (record.len() != self.header.len() || self.holds_whole_rows(&record))
        {
            // A quote that does not close swallows the lines after it into
            // one field until the next quote: each of those lines was a
            // row, and each is counted and quarantined, so that no record
            // vanishes into the one malformed row.
            let last = number + breaks_inside;
            for line in number + 1..=last {
                self.swallowed.push_back(RawRow::Malformed {
                    number: line,
                    column: String::new(),
                    value: String::new(),
                    reason: format!(
                        "swallowed by the quote opened on line {number}, which runs to line {last}"
                    ),
                });
            }
            return Ok(Some(RawRow::Malformed {
                number,
                column: String::new(),
                value: String::new(),
                reason: format!(
                    "a quote opened on this line does not close before line {last}; the {breaks_inside} lines it swallowed are quarantined too (close the quote or remove it)"
                ),
            }));
        }
        if record.len() != self.header.len() {
            return Ok(Some(RawRow::Malformed {
                number,
                column: String::new(),
                value: String::new(),
                reason: format!(
                    "row has {} fields, header has {}",
                    record.len(),
                    self.header.len()
                ),
            }));
        }
        if let Some((i, reason)) = record
            .iter()
            .enumerate()
            .find_map(|(i, c)| crate::input::limits::cell_too_long(c).map(|r| (i, r)))
        {
            let value = String::from_utf8_lossy(&record.get(i)[..256]).into_owned();
            return Ok(Some(RawRow::Malformed {
                number,
                column: self.header[i].clone(),
                value,
                reason,
            }));
        }
        match Cells::from_fields(record) {
            Ok(cells) => Ok(Some(RawRow::Cells { number, cells })),
            Err((i, record)) => Ok(Some(RawRow::Malformed {
                number,
                column: self.header[i].clone(),
                value: String::from_utf8_lossy(record.get(i)).into_owned(),
                reason: "not valid UTF-8 (if the file is Latin-1 or Windows-1252, pass --encoding windows-1252)".into(),
            })),
        }
    }
}

pub struct JsonlSource {
    path: PathBuf,
    lines: BufReader<Box<dyn Read + Send>>,
    line: Vec<u8>,
    header: Vec<String>,
    line_number: u64,
    consumed: u64,
}

impl JsonlSource {
    fn open(path: &Path, options: &ReadOptions) -> Result<Self> {
        // The header is the union of every object's keys, in the order they
        // are first seen: optional keys missing from the first object are
        // still columns (a first pass reads only the keys). A first record
        // that is not an object refuses the file as a whole, like a CSV
        // without a header; later lines that are not objects are quarantined
        // by the reading pass.
        let mut probe =
            BufReader::new(crate::input::decode::open_text(path, options.encoding, None)?.reader);
        let mut header: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut first = true;
        let mut line = Vec::new();
        loop {
            let (n, cut) = crate::input::limits::read_line_bounded(&mut probe, &mut line)
                .map_err(|e| Error::bad_input(path, format!("cannot read the file: {e}")))?;
            if n == 0 {
                break;
            }
            if cut {
                continue; // quarantined by the reading pass
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim().trim_start_matches('\u{feff}');
            if text.is_empty() {
                continue;
            }
            let keys = serde_json::from_str::<
                std::collections::BTreeMap<String, serde::de::IgnoredAny>,
            >(text);
            match keys {
                Ok(keys) => {
                    // a JSON object's keys come sorted here; the first
                    // object's order does not matter for a mapping by name
                    for key in keys.into_keys() {
                        if seen.insert(key.clone()) {
                            header.push(key);
                        }
                    }
                }
                Err(e) if first => {
                    return Err(Error::bad_input(
                        path,
                        format!("first record is not a JSON object: {e}"),
                    ));
                }
                Err(_) => {}
            }
            first = false;
        }
        if header.is_empty() {
            return Err(Error::bad_input(path, "file has no records"));
        }
        let text =
            crate::input::decode::open_text(path, options.encoding, options.digest.as_ref())?;
        Ok(JsonlSource {
            path: path.to_path_buf(),
            lines: BufReader::new(text.reader),
            line: Vec::new(),
            header,
            line_number: 0,
            consumed: 0,
        })
    }
}

/// A JSON object's fields in their order, a repeated field kept twice:
/// serde_json's `Map` keeps the last value of a repeated field and drops
/// the other without a word.
struct Entries(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Entries, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry::<String, serde_json::Value>()? {
                    fields.push(field);
                }
                Ok(Entries(fields))
            }
        }
        d.deserialize_map(Fields)
    }
}

fn json_cell(value: &serde_json::Value) -> Result<String, &'static str> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let mut parts = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => parts.push(s.clone()),
                    Value::Null => {}
                    Value::Number(n) => parts.push(n.to_string()),
                    _ => return Err("list items must be strings"),
                }
            }
            parts.join(";")
        }
        Value::Object(_) => return Err("nested objects are not part of the layout"),
    })
}

impl RowSource for JsonlSource {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn position(&self) -> u64 {
        self.consumed
    }

    fn next_row(&mut self) -> Result<Option<RawRow>> {
        loop {
            let (n, cut) = crate::input::limits::read_line_bounded(&mut self.lines, &mut self.line)
                .map_err(|e| Error::bad_input(&self.path, format!("cannot read the file: {e}")))?;
            if n == 0 {
                return Ok(None);
            }
            self.line_number += 1;
            self.consumed += n as u64;
            let number = self.line_number;
            let line = &self.line;
            let malformed = |column: &str, value: &str, reason: String| {
                Ok(Some(RawRow::Malformed {
                    number,
                    column: column.to_string(),
                    value: value.chars().take(200).collect(),
                    reason,
                }))
            };
            if cut {
                return malformed(
                    "",
                    "",
                    format!(
                        "a line of more than {} bytes, over the limit for one record",
                        crate::input::limits::MAX_ROW_BYTES
                    ),
                );
            }
            let Ok(text) = std::str::from_utf8(line) else {
                return malformed("", "", "line is not valid UTF-8".into());
            };
            let text = text.trim().trim_start_matches('\u{feff}');
            if text.is_empty() {
                continue;
            }
            let object = match serde_json::from_str::<Entries>(text) {
                Ok(Entries(o)) => o,
                Err(e) => return malformed("", text, format!("not a JSON object: {e}")),
            };
            if let Some((key, _)) = object.iter().find(|(k, _)| !self.header.contains(k)) {
                return malformed(key, "", "field not in the header of this file".into());
            }
            let mut cells = vec![String::new(); self.header.len()];
            let mut filled = vec![false; self.header.len()];
            for (key, value) in &object {
                let i = self
                    .header
                    .iter()
                    .position(|h| h == key)
                    .expect("checked above");
                if std::mem::replace(&mut filled[i], true) {
                    return malformed(
                        key,
                        "",
                        "the field appears twice in this record; which value is meant is not known"
                            .into(),
                    );
                }
                match json_cell(value) {
                    Ok(cell) => {
                        if let Some(reason) = crate::input::limits::cell_too_long(cell.as_bytes()) {
                            return malformed(key, &cell, reason);
                        }
                        cells[i] = cell
                    }
                    Err(reason) => return malformed(key, &value.to_string(), reason.into()),
                }
            }
            return Ok(Some(RawRow::Cells {
                number,
                cells: cells.into(),
            }));
        }
    }
}

pub struct ParquetSource {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    header: Vec<String>,
    batch: Option<RecordBatch>,
    columns: Vec<Vec<String>>,
    /// Per row of the batch, the first cell that is not text (a binary
    /// value that is not UTF-8): the row is quarantined, never stored with
    /// the value silently missing.
    not_text: Vec<Option<(usize, String)>>,
    offset: usize,
    row_number: u64,
}

impl ParquetSource {
    fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| Error::bad_input(path, format!("not a readable Parquet file: {e}")))?;
        let header = builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let reader = builder
            .with_batch_size(8192)
            .build()
            .map_err(|e| Error::bad_input(path, format!("not a readable Parquet file: {e}")))?;
        Ok(ParquetSource {
            path: path.to_path_buf(),
            reader,
            header,
            batch: None,
            columns: Vec::new(),
            not_text: Vec::new(),
            offset: 0,
            row_number: 0,
        })
    }

    /// Turns a batch into text cells the validator reads: lists are joined
    /// with ";" like the flat form, everything else is cast to text.
    fn load(&mut self, batch: RecordBatch) -> Result<()> {
        self.columns.clear();
        self.not_text = vec![None; batch.num_rows()];
        for (index, column) in batch.columns().iter().enumerate() {
            let mut cells = Vec::with_capacity(column.len());
            match column.data_type() {
                DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
                    // casting would turn a value that is not UTF-8 into a
                    // missing one without a word
                    let as_binary = cast(column, &DataType::LargeBinary)?;
                    let values = as_binary.as_binary::<i64>();
                    for row in 0..values.len() {
                        if values.is_null(row) {
                            cells.push(String::new());
                            continue;
                        }
                        match std::str::from_utf8(values.value(row)) {
                            Ok(text) => cells.push(text.to_string()),
                            Err(_) => {
                                let lossy = String::from_utf8_lossy(values.value(row));
                                if self.not_text[row].is_none() {
                                    self.not_text[row] =
                                        Some((index, lossy.chars().take(200).collect()));
                                }
                                cells.push(String::new());
                            }
                        }
                    }
                }
                DataType::List(_) | DataType::LargeList(_) => {
                    let as_text = cast(
                        column,
                        &DataType::List(std::sync::Arc::new(
                            datafusion::arrow::datatypes::Field::new("item", DataType::Utf8, true),
                        )),
                    )?;
                    let list = as_text.as_list::<i32>();
                    for row in 0..list.len() {
                        if list.is_null(row) {
                            cells.push(String::new());
                        } else {
                            let values = list.value(row);
                            let values = values.as_string::<i32>();
                            cells.push(values.iter().flatten().collect::<Vec<_>>().join(";"));
                        }
                    }
                }
                _ => {
                    let as_text = cast(column, &DataType::Utf8)?;
                    let strings = as_text.as_string::<i32>();
                    for row in 0..strings.len() {
                        cells.push(if strings.is_null(row) {
                            String::new()
                        } else {
                            strings.value(row).to_string()
                        });
                    }
                }
            }
            self.columns.push(cells);
        }
        self.batch = Some(batch);
        self.offset = 0;
        Ok(())
    }
}

impl RowSource for ParquetSource {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn position(&self) -> u64 {
        self.row_number
    }

    fn next_row(&mut self) -> Result<Option<RawRow>> {
        loop {
            if let Some(batch) = &self.batch
                && self.offset < batch.num_rows()
            {
                let offset = self.offset;
                if let Some((column, value)) = self.not_text[offset].take() {
                    self.offset += 1;
                    self.row_number += 1;
                    return Ok(Some(RawRow::Malformed {
                        number: self.row_number,
                        column: self.header[column].clone(),
                        value,
                        reason: "a binary value that is not UTF-8 text".into(),
                    }));
                }
                let cells = self
                    .columns
                    .iter_mut()
                    .map(|c| std::mem::take(&mut c[offset]))
                    .collect::<Vec<String>>()
                    .into();
                self.offset += 1;
                self.row_number += 1;
                return Ok(Some(RawRow::Cells {
                    number: self.row_number,
                    cells,
                }));
            }
            match self.reader.next() {
                None => return Ok(None),
                Some(batch) => {
                    let batch = batch.map_err(|e| {
                        Error::bad_input(
                            &self.path,
                            format!(
                                "cannot read the Parquet data after row {}: {e}",
                                self.row_number
                            ),
                        )
                    })?;
                    self.load(batch).map_err(|e| {
                        Error::bad_input(&self.path, format!("rows after {}: {e}", self.row_number))
                    })?
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reading pass of a CSV or JSON-lines file hashes every byte of the
    /// file exactly once (a probe or a sniff reads nothing twice into it),
    /// so a file read once gets its hash without a read of its own; a file
    /// appended to after the pass gets none, and is read twice instead.
    #[test]
    fn a_reading_pass_hashes_each_byte_of_the_file_once() {
        use crate::base::files::{ReadDigest, sha256_file};
        let dir = tempfile::tempdir().unwrap();
        let csv: String = std::iter::once("id,name\n".to_string())
            .chain((0..20_000).map(|i| format!("{i},name {i}\n")))
            .collect();
        let jsonl: String = (0..20_000)
            .map(|i| format!("{{\"id\": {i}, \"name\": \"name {i}\"}}\n"))
            .collect();
        for (name, text, format) in [
            ("a.csv", csv, InputFormat::Csv),
            ("a.jsonl", jsonl, InputFormat::Jsonl),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, &text).unwrap();
            let digest = ReadDigest::default();
            let options = ReadOptions {
                digest: Some(digest.clone()),
                ..Default::default()
            };
            let mut source = open(&path, format, &options).unwrap();
            let mut rows = 0;
            while source.next_row().unwrap().is_some() {
                rows += 1;
            }
            assert_eq!(rows, 20_000, "{name}");
            let (_, sha) = sha256_file(&path).unwrap();
            assert_eq!(digest.of_whole_file(&path), Some(sha), "{name}");
            // appended to after the pass: no hash names the file now
            std::fs::write(&path, text + "\n").unwrap();
            assert_eq!(digest.of_whole_file(&path), None, "{name}");
        }
    }

    fn fields(cells: &[&[u8]]) -> csv_records::Fields {
        let mut fields = csv_records::Fields::default();
        for cell in cells {
            fields.push(cell);
        }
        fields
    }

    #[test]
    fn cells_are_the_fields_as_text() {
        let cells = Cells::from_fields(fields(&[b"a", b"", "café".as_bytes()])).unwrap();
        assert_eq!(cells.strs(), ["a", "", "café"]);
        assert_eq!(
            cells,
            Cells::from(vec!["a".into(), "".into(), "café".into()])
        );
    }

    #[test]
    fn the_field_that_is_not_utf8_is_named() {
        let (field, given_back) =
            Cells::from_fields(fields(&[b"a", b"caf\xe9", b"b"])).unwrap_err();
        assert_eq!(field, 1);
        assert_eq!(given_back.get(1), b"caf\xe9");
        // "é" cut in two by a field's end: each half alone is not UTF-8,
        // though the bytes together are
        let (field, _) = Cells::from_fields(fields(&[b"a", b"caf\xc3", b"\xa9"])).unwrap_err();
        assert_eq!(field, 1);
    }
}
