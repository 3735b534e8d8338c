//! Workbook input (XLSX, and the XLS and ODS files calamine also reads).
//! An XLSX sheet is streamed: a thread of its own reads its cells in order
//! and hands over whole rows through a short queue, so a 300,000-row sheet
//! takes the memory of a few hundred rows, not of the sheet. (XLS and ODS,
//! older formats calamine reads only whole, are read whole.) The header row
//! is found among the first rows (templates often have a title or notes
//! above it), and fully empty rows are not records.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc::{Receiver, sync_channel};

use calamine::{Data, Reader, Xlsx, open_workbook, open_workbook_auto};

use crate::error::{Error, Result};
use crate::input::readers::{RawRow, ReadOptions, RowSource};

/// How far down a sheet the header row is looked for.
const HEADER_SEARCH_ROWS: usize = 30;

/// How far down a sheet without an expected column name a row with two
/// names is looked for.
const HEADER_FALLBACK_ROWS: usize = 10_000;

/// Rows waiting between the reading thread and the ingest.
const QUEUE_ROWS: usize = 256;

/// The widest sheet Excel writes (XFD); a cell further right is not data.
const MAX_COLUMNS: u32 = 16_384;

/// A row with its 1-based sheet row number.
type SheetRow = (u64, Vec<Data>);

/// Where rows come from: a whole sheet in memory, or the reading thread.
enum Rows {
    Whole(std::vec::IntoIter<SheetRow>),
    Streamed {
        buffered: VecDeque<SheetRow>,
        queue: Receiver<std::result::Result<SheetRow, String>>,
    },
}

pub struct XlsxSource {
    path: std::path::PathBuf,
    header: Vec<String>,
    rows: Rows,
    /// Columns that have a name: a row with nothing under any of them is
    /// not a record.
    named: Vec<usize>,
    consumed: u64,
}

/// Spreadsheet column letters (0 → A, 26 → AA), for messages.
pub fn column_letter(mut index: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII letters")
}

fn header_text(cell: &Data) -> String {
    cell_text(cell).unwrap_or_default().trim().to_string()
}

/// The text of a cell as the validator reads it: whole numbers without a
/// fraction, dates as ISO `YYYY-MM-DD` (with the time when there is one).
fn cell_text(cell: &Data) -> Result<String, String> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(dt) if dt.time() == chrono::NaiveTime::MIN => dt.date().to_string(),
            Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S").to_string(),
            None => return Err(format!("a date Excel cannot represent ({})", d.as_f64())),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(calamine::CellErrorType::GettingData) => return Err(UNCOMPUTED.into()),
        Data::Error(e) => return Err(format!("a spreadsheet error value ({e})")),
    })
}

/// A formula cell saved without its value: programs that write workbooks
/// without a calculation engine (openpyxl, many exporters) leave it to the
/// spreadsheet to compute on opening. Read as empty, the value was stored
/// as not recorded without a word. Such a cell is read as Excel's
/// "#GETTING_DATA", which says the same: the value is not there yet.
const UNCOMPUTED: &str = "a formula whose value was never computed (the workbook was saved by a program \
     that does not compute formulas): open and save it in a spreadsheet program, or export CSV";

/// The first row that can be the header: one holding a column the layout
/// expects among the first rows, else the first with two names.
fn header_position(rows: &[SheetRow], expected: &[String]) -> Option<usize> {
    let looks_expected = |row: &[Data]| row.iter().any(|c| expected.contains(&header_text(c)));
    let non_empty = |row: &[Data]| row.iter().filter(|c| !header_text(c).is_empty()).count();
    rows.iter()
        .take(HEADER_SEARCH_ROWS)
        .position(|(_, r)| looks_expected(r))
        .or_else(|| rows.iter().position(|(_, r)| non_empty(r) >= 2))
}

/// The sheets of a workbook, as ingest sees them.
#[derive(Debug, Clone)]
pub struct Sheets {
    /// The sheet read: `--sheet`, or the first.
    pub read: String,
    /// The workbook's first sheet.
    pub first: String,
    /// The sheets not read.
    pub others: Vec<String>,
}

/// The sheet a workbook is read from (`--sheet`, or the first) and the
/// names of its other sheets, which are not read. The sheet is part of
/// what an input is: two sheets of one file are two inputs.
pub fn sheet_read(path: &Path, options: &ReadOptions) -> Result<Sheets> {
    let workbook = open_workbook_auto(path)
        .map_err(|e| Error::bad_input(path, format!("not a readable workbook: {e}")))?;
    sheets_of(path, workbook.sheet_names(), options)
}

/// [`sheet_read`] of a workbook whose sheet names are `names`.
fn sheets_of(path: &Path, names: Vec<String>, options: &ReadOptions) -> Result<Sheets> {
    let read = match &options.sheet {
        Some(wanted) => names.iter().find(|n| *n == wanted).cloned(),
        None => names.first().cloned(),
    };
    let read = read.ok_or_else(|| match &options.sheet {
        Some(wanted) => Error::bad_input(
            path,
            format!("no sheet named '{wanted}' (sheets: {})", names.join(", ")),
        ),
        None => Error::bad_input(path, "the workbook has no sheets"),
    })?;
    let first = names.first().cloned().unwrap_or_default();
    let others = names.into_iter().filter(|n| *n != read).collect();
    Ok(Sheets {
        read,
        first,
        others,
    })
}

impl XlsxSource {
    pub fn open(path: &Path, options: &ReadOptions) -> Result<Self> {
        let mut workbook = open_workbook_auto(path)
            .map_err(|e| Error::bad_input(path, format!("not a readable workbook: {e}")))?;
        let sheet = sheets_of(path, workbook.sheet_names(), options)?.read;
        if matches!(workbook, calamine::Sheets::Xlsx(_)) {
            drop(workbook);
            return Self::streamed(path, &sheet, options);
        }
        let range = workbook
            .worksheet_range(&sheet)
            .map_err(|e| Error::bad_input(path, format!("sheet '{sheet}': {e}")))?;
        let (first_row, first_col) = range.start().unwrap_or((0, 0));
        let width = first_col as usize + range.width();
        let all: Vec<SheetRow> = range
            .rows()
            .enumerate()
            .map(|(i, r)| {
                let mut cells = vec![Data::Empty; first_col as usize];
                cells.extend(r.iter().cloned());
                (u64::from(first_row) + i as u64 + 1, cells)
            })
            .collect();
        let header_at = header_position(&all, &options.expected_columns)
            .ok_or_else(|| Error::bad_input(path, format!("sheet '{sheet}' has no header row")))?;
        let header = header_of(&all[header_at].1, width);
        let rows: Vec<SheetRow> = all.into_iter().skip(header_at + 1).collect();
        Ok(Self::new(path, header, Rows::Whole(rows.into_iter())))
    }

    fn new(path: &Path, header: Vec<String>, rows: Rows) -> Self {
        let named = (0..header.len())
            .filter(|&i| !header[i].is_empty())
            .collect();
        XlsxSource {
            path: path.to_path_buf(),
            header,
            rows,
            named,
            consumed: 0,
        }
    }

    /// Starts the reading thread and reads rows until the header is found.
    fn streamed(path: &Path, sheet: &str, options: &ReadOptions) -> Result<Self> {
        let (sender, queue) = sync_channel(QUEUE_ROWS);
        let (path_owned, sheet_owned) = (path.to_path_buf(), sheet.to_string());
        let (width_sender, width) = sync_channel(1);
        std::thread::spawn(move || {
            let result = stream_sheet(&path_owned, &sheet_owned, &width_sender, &sender);
            if let Err(message) = result {
                let _ = width_sender.try_send(0);
                let _ = sender.send(Err(message));
            }
        });
        let declared_width = width.recv().unwrap_or(0) as usize;
        let mut buffered: Vec<SheetRow> = Vec::new();
        let header_at = loop {
            if let Some(at) = header_position(&buffered, &options.expected_columns) {
                // a row that looks expected wins only among the first rows
                let expected_found = at < HEADER_SEARCH_ROWS
                    && buffered[at]
                        .1
                        .iter()
                        .any(|c| options.expected_columns.contains(&header_text(c)));
                if expected_found || buffered.len() >= HEADER_SEARCH_ROWS {
                    break at;
                }
            }
            if buffered.len() >= HEADER_FALLBACK_ROWS {
                return Err(Error::bad_input(
                    path,
                    format!(
                        "sheet '{sheet}' has no header row in its first {HEADER_FALLBACK_ROWS} rows"
                    ),
                ));
            }
            match queue.recv() {
                Ok(Ok(row)) => buffered.push(row),
                Ok(Err(message)) => return Err(Error::bad_input(path, message)),
                Err(_) => match header_position(&buffered, &options.expected_columns) {
                    Some(at) => break at,
                    None => {
                        return Err(Error::bad_input(
                            path,
                            format!("sheet '{sheet}' has no header row"),
                        ));
                    }
                },
            }
        };
        let widest = buffered.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
        let header = header_of(&buffered[header_at].1, declared_width.max(widest));
        let rest: VecDeque<SheetRow> = buffered.into_iter().skip(header_at + 1).collect();
        Ok(Self::new(
            path,
            header,
            Rows::Streamed {
                buffered: rest,
                queue,
            },
        ))
    }

    fn next_sheet_row(&mut self) -> Result<Option<SheetRow>> {
        match &mut self.rows {
            Rows::Whole(rows) => Ok(rows.next()),
            Rows::Streamed { buffered, queue } => {
                if let Some(row) = buffered.pop_front() {
                    return Ok(Some(row));
                }
                match queue.recv() {
                    Ok(Ok(row)) => Ok(Some(row)),
                    Ok(Err(message)) => Err(Error::bad_input(&self.path, message)),
                    Err(_) => Ok(None), // the thread finished the sheet
                }
            }
        }
    }
}

/// The header names of `row`, `width` columns wide (columns left of the
/// used range are empty: letters stay right).
fn header_of(row: &[Data], width: usize) -> Vec<String> {
    let mut header: Vec<String> = row.iter().map(header_text).collect();
    header.resize(width.max(header.len()), String::new());
    header
}

/// The reading thread: sends the sheet's declared width, then each row
/// with a cell, in order. Stops when the ingest stops listening.
fn stream_sheet(
    path: &Path,
    sheet: &str,
    width: &std::sync::mpsc::SyncSender<u32>,
    rows: &std::sync::mpsc::SyncSender<std::result::Result<SheetRow, String>>,
) -> std::result::Result<(), String> {
    let mut workbook: Xlsx<_> =
        open_workbook(path).map_err(|e| format!("not a readable workbook: {e}"))?;
    let mut cells = workbook
        .worksheet_cells_reader(sheet)
        .map_err(|e| format!("sheet '{sheet}': {e}"))?;
    let declared = cells.dimensions();
    let _ = width.send(if declared.end == (0, 0) {
        0
    } else {
        (declared.end.1 + 1).min(MAX_COLUMNS)
    });
    let mut current: Option<(u32, Vec<Data>)> = None;
    while let Some(cell) = cells
        .next_cell_with_formula_metadata()
        .map_err(|e| format!("sheet '{sheet}': {e}"))?
    {
        let (row, column) = cell.pos;
        if column >= MAX_COLUMNS {
            continue;
        }
        if current.as_ref().is_some_and(|(r, _)| *r != row) {
            let (r, data) = current.take().expect("checked");
            if rows.send(Ok((u64::from(r) + 1, data))).is_err() {
                return Ok(());
            }
        }
        let data = &mut current.get_or_insert_with(|| (row, Vec::new())).1;
        let column = column as usize;
        if data.len() <= column {
            data.resize(column + 1, Data::Empty);
        }
        // no value at all: an empty string (`t="str"`, `<v></v>`) is what
        // Excel saves for a formula that returns "" (`=IF(A2="","",A2)`)
        let uncomputed = cell.formula.is_some() && matches!(cell.value, calamine::DataRef::Empty);
        data[column] = if uncomputed {
            Data::Error(calamine::CellErrorType::GettingData)
        } else {
            Data::from(cell.value)
        };
    }
    if let Some((r, data)) = current {
        let _ = rows.send(Ok((u64::from(r) + 1, data)));
    }
    Ok(())
}

impl RowSource for XlsxSource {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn position(&self) -> u64 {
        self.consumed
    }

    fn next_row(&mut self) -> Result<Option<RawRow>> {
        let (number, data) = loop {
            let Some((number, data)) = self.next_sheet_row()? else {
                return Ok(None);
            };
            // a row with nothing under any named column is not a record
            // (templates number hundreds of empty rows)
            // (templates also fill padding rows with lookups showing #N/A,
            // or formulas not yet computed: such a row holds no value)
            let empty = !self
                .named
                .iter()
                .any(|&c| data.get(c).is_some_and(|d| !header_text(d).is_empty()));
            if !empty {
                break (number, data);
            }
        };
        self.consumed += 1;
        let mut cells = Vec::with_capacity(self.header.len());
        for (i, cell) in data.iter().enumerate().take(self.header.len()) {
            match cell_text(cell) {
                Ok(text) => cells.push(text),
                Err(reason) => {
                    let column = if self.header[i].is_empty() {
                        format!("column {}", column_letter(i))
                    } else {
                        self.header[i].clone()
                    };
                    return Ok(Some(RawRow::Malformed {
                        number,
                        column,
                        value: String::new(),
                        reason,
                    }));
                }
            }
        }
        cells.resize(self.header.len(), String::new());
        Ok(Some(RawRow::Cells {
            number,
            cells: cells.into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn letters() {
        assert_eq!(super::column_letter(0), "A");
        assert_eq!(super::column_letter(25), "Z");
        assert_eq!(super::column_letter(26), "AA");
        assert_eq!(super::column_letter(38), "AM");
    }
}
