//! Workbook input (XLSX, and the XLS and ODS files calamine also reads). A
//! sheet is read whole, as spreadsheets are bounded in size. The header row
//! is found among the first rows (templates often have a title or notes
//! above it), and fully empty rows are not records.

use std::path::Path;

use calamine::{Data, Reader, open_workbook_auto};

use crate::error::{Error, Result};
use crate::input::readers::{RawRow, ReadOptions, RowSource};

/// How far down a sheet the header row is looked for.
const HEADER_SEARCH_ROWS: usize = 30;

pub struct XlsxSource {
    header: Vec<String>,
    rows: std::vec::IntoIter<(u64, Vec<Data>)>,
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
        Data::Error(e) => return Err(format!("a spreadsheet error value ({e})")),
    })
}

impl XlsxSource {
    pub fn open(path: &Path, options: &ReadOptions) -> Result<Self> {
        let mut workbook = open_workbook_auto(path)
            .map_err(|e| Error::bad_input(path, format!("not a readable workbook: {e}")))?;
        let names = workbook.sheet_names();
        let sheet = match &options.sheet {
            Some(wanted) => names
                .iter()
                .find(|n| *n == wanted)
                .cloned()
                .ok_or_else(|| {
                    Error::bad_input(
                        path,
                        format!("no sheet named '{wanted}' (sheets: {})", names.join(", ")),
                    )
                })?,
            None => names
                .first()
                .cloned()
                .ok_or_else(|| Error::bad_input(path, "the workbook has no sheets"))?,
        };
        let range = workbook
            .worksheet_range(&sheet)
            .map_err(|e| Error::bad_input(path, format!("sheet '{sheet}': {e}")))?;
        let (first_row, first_col) = range.start().unwrap_or((0, 0));
        let width = range.width();
        let all: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();

        let looks_expected = |row: &[Data]| {
            row.iter()
                .any(|c| options.expected_columns.contains(&header_text(c)))
        };
        let non_empty = |row: &[Data]| row.iter().filter(|c| !header_text(c).is_empty()).count();
        let header_at = all
            .iter()
            .take(HEADER_SEARCH_ROWS)
            .position(|r| looks_expected(r))
            .or_else(|| all.iter().position(|r| non_empty(r) >= 2))
            .ok_or_else(|| Error::bad_input(path, format!("sheet '{sheet}' has no header row")))?;
        // columns left of the used range are empty: keep letters right
        let mut header = vec![String::new(); first_col as usize];
        header.extend(all[header_at].iter().map(header_text));
        header.resize(first_col as usize + width, String::new());

        let named: Vec<usize> = (0..header.len())
            .filter(|&i| !header[i].is_empty())
            .collect();
        let rows: Vec<(u64, Vec<Data>)> = all
            .into_iter()
            .enumerate()
            .skip(header_at + 1)
            .map(|(i, r)| {
                let mut cells = vec![Data::Empty; first_col as usize];
                cells.extend(r);
                (u64::from(first_row) + i as u64 + 1, cells)
            })
            // a row with nothing under any named column is not a record
            // (templates number hundreds of empty rows)
            .filter(|(_, cells)| {
                named
                    .iter()
                    .any(|&c| cells.get(c).is_some_and(|d| !header_text(d).is_empty()))
            })
            .collect();
        Ok(XlsxSource {
            header,
            rows: rows.into_iter(),
            consumed: 0,
        })
    }
}

impl RowSource for XlsxSource {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn position(&self) -> u64 {
        self.consumed
    }

    fn next_row(&mut self) -> Result<Option<RawRow>> {
        let Some((number, data)) = self.rows.next() else {
            return Ok(None);
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
        Ok(Some(RawRow::Cells { number, cells }))
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
