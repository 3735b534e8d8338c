//! One row's checks, which need nothing from other rows and so run on any
//! thread: the label-row test, mapping, and validation into a record.

use crate::base::record::CaseRecord;
use crate::error::{Error, Result};
use crate::input::guard::Guard;
use crate::input::mapping::Mapper;
use crate::input::readers::RawRow;
use crate::input::validate::{ColumnMap, Problem, Validator};

use super::Input;
use super::pipeline::Checks;

/// How rows of one file become canonical cells.
pub enum Shape {
    Canonical(ColumnMap),
    Mapped(Box<Mapper>),
}

impl Shape {
    pub fn new(input: &Input<'_>, header: &[String]) -> Result<Self> {
        let path = input.path;
        match input.mapping {
            None => Ok(Shape::Canonical(
                ColumnMap::from_header(header).map_err(|m| Error::bad_input(path, m))?,
            )),
            Some(spec) => Ok(Shape::Mapped(Box::new(
                Mapper::new(spec, header, input.sha, input.country)
                    .map_err(|m| Error::bad_input(path, m))?,
            ))),
        }
    }

    /// Canonical cells of a row, or the problems that quarantine it, with
    /// columns named as the user's file names them.
    pub fn validate(
        &self,
        validator: &Validator<'_>,
        number: u64,
        cells: &[&str],
    ) -> Result<CaseRecord, Vec<Problem>> {
        match self {
            Shape::Canonical(columns) => validator.validate(columns, cells),
            Shape::Mapped(mapper) => mapped_record(mapper, validator, number, cells),
        }
    }
}

/// Maps and validates one row; all problems of the row, mapping and
/// validation alike, with columns named as the user's file names them.
pub fn mapped_record(
    mapper: &Mapper,
    validator: &Validator<'_>,
    number: u64,
    cells: &[impl AsRef<str>],
) -> Result<CaseRecord, Vec<Problem>> {
    let (canonical, mut problems) = mapper.map_row(number, cells);
    let cells_ref: Vec<&str> = canonical.iter().map(String::as_str).collect();
    match validator.validate(&ColumnMap::identity(), &cells_ref) {
        Ok(record) if problems.is_empty() => return Ok(record),
        Ok(_) => {}
        Err(more) => problems.extend(more.into_iter().map(|mut p| {
            p.column = mapper.describe(&p.column);
            p
        })),
    }
    Err(problems)
}

/// A row right after the header that repeats the columns' labels (the HTCDS
/// template has one: `prs_Gender` above `Gender`) is not a record.
fn is_label_row(header: &[String], cells: &[&str]) -> bool {
    let strip = |name: &str| {
        let name = match name.split_once('_') {
            Some((prefix, rest)) if prefix.len() <= 4 => rest,
            _ => name,
        };
        crate::base::vocab::normalise_label(name)
    };
    let pairs: Vec<(String, String)> = header
        .iter()
        .zip(cells)
        .filter(|(h, c)| !h.is_empty() && !c.trim().is_empty())
        .map(|(h, c)| (strip(h), crate::base::vocab::normalise_label(c)))
        .collect();
    let matching = pairs.iter().filter(|(h, c)| h == c).count();
    pairs.len() >= 3 && matching * 2 >= pairs.len()
}

/// A row after its checks, by its number: valid, with its record (or,
/// once the records of a chunk are Arrow arrays, its row among them), or
/// why it is quarantined.
pub enum Checked<R = CaseRecord> {
    Valid(u64, R),
    Rejected(u64, Vec<Problem>),
    /// Valid, but the store holds a record with this id already: found
    /// where the chunk is checked, so that no arrays are built for it.
    Stored(u64, String),
}

impl<R> Checked<R> {
    /// The same outcome, a valid row's `R` made into an `S`.
    pub fn map_valid<S>(self, f: impl FnOnce(R) -> S) -> Checked<S> {
        match self {
            Checked::Valid(number, valid) => Checked::Valid(number, f(valid)),
            Checked::Rejected(number, problems) => Checked::Rejected(number, problems),
            Checked::Stored(number, id) => Checked::Stored(number, id),
        }
    }
}

/// Screens one row with `guard` and checks it, on the same cells.
pub fn check_row(
    checks: &Checks<'_>,
    guard: &mut Guard,
    first_of_file: bool,
    row: RawRow,
) -> Checked {
    let Checks {
        shape,
        validator,
        header,
        stored,
    } = checks;
    match row {
        RawRow::Malformed {
            number,
            column,
            value,
            reason,
        } => Checked::Rejected(
            number,
            vec![Problem {
                column,
                value,
                reason,
            }],
        ),
        RawRow::Cells { number, cells } => {
            let cells = cells.strs();
            guard.scan(number, &cells);
            if first_of_file && is_label_row(header, &cells) {
                return Checked::Rejected(
                    number,
                    vec![Problem::new(
                        "",
                        "",
                        "repeats the column labels (a label row, not a record)",
                    )],
                );
            }
            match shape.validate(validator, number, &cells) {
                // a duplicate of a stored record (all of a file ingested again
                // under another name) costs no arrays
                Ok(record) if stored.contains(&record.record_id) => {
                    Checked::Stored(number, record.record_id)
                }
                Ok(record) => Checked::Valid(number, record),
                Err(problems) => Checked::Rejected(number, problems),
            }
        }
    }
}
