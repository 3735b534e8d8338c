//! A published table: the result of one query file, as cells the
//! disclosure step can mark and the renderers can format deterministically.

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::declaration::{CellDeclaration, RelationDeclaration};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    /// A count not published: from 1 to K-1 (primary), or chosen so that
    /// such a count cannot be worked out from the totals (secondary). Both
    /// show the same symbol, so a reader cannot tell which.
    Suppressed,
    /// A figure computed from a suppressed count, not published.
    Withheld,
}

impl Cell {
    /// The published text of a cell. Floats have one decimal; `-0.0` is
    /// written `0.0` so equal values give equal bytes.
    pub fn render(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Text(t) => t.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Float(f) => {
                let text = format!("{f:.1}");
                if text == "-0.0" { "0.0".into() } else { text }
            }
            Cell::Suppressed => SUPPRESSED.to_string(),
            Cell::Withheld => WITHHELD.to_string(),
        }
    }

    /// The number of a cell as the report built it, or as its CSV reads
    /// back (text): what the figures built from published tables read.
    pub fn number(&self) -> Option<f64> {
        self.as_f64()
            .or_else(|| self.as_text().and_then(|t| t.parse().ok()))
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(n) => Some(*n as f64),
            Cell::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// The symbol for a suppressed count.
pub const SUPPRESSED: &str = "x";
/// The symbol for a figure withheld because it was computed from a
/// suppressed count: the same, one symbol for "not published".
pub const WITHHELD: &str = "x";

/// A derived column group: `columns` are withheld when any of `sources` is
/// suppressed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Derived {
    pub columns: Vec<String>,
    pub sources: Vec<String>,
}

/// What a query file's header says about its table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableSpec {
    /// File stem, e.g. `02_types_by_year`.
    pub name: String,
    pub title: String,
    pub counts: Vec<String>,
    pub derived: Vec<Derived>,
    pub notes: Vec<String>,
    /// The first comment lines (what it produces, from what, parameters, unit).
    pub description: Vec<String>,
    /// Which quantity each count is (`-- cells:`), for disclosure control.
    pub cells: Vec<CellDeclaration>,
    /// How the quantities add up (`-- sum:`, `-- cover:`, ...).
    pub relations: Vec<RelationDeclaration>,
    /// Tables the query needs besides `cases` (`-- requires: population`);
    /// the query is skipped when one is not given.
    pub requires: Vec<String>,
    /// The charts drawn from this table (`-- chart: stacked-types, ...`),
    /// by the kinds the product that publishes it knows. Presentation, not
    /// disclosure: not part of the disclosure model.
    #[serde(skip)]
    pub charts: Vec<String>,
    /// What the product's own texts take from this table (`-- summary:
    /// coverage`), so no text looks a table up by its file name.
    #[serde(skip)]
    pub summaries: Vec<String>,
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl TableSpec {
    /// Reads the header comment of a query file.
    pub fn parse(name: &str, sql: &str) -> Result<Self> {
        let mut spec = TableSpec {
            name: name.to_string(),
            title: String::new(),
            counts: Vec::new(),
            derived: Vec::new(),
            notes: Vec::new(),
            description: Vec::new(),
            cells: Vec::new(),
            relations: Vec::new(),
            requires: Vec::new(),
            charts: Vec::new(),
            summaries: Vec::new(),
        };
        for line in sql.lines() {
            let Some(comment) = line.trim().strip_prefix("--") else {
                break;
            };
            let comment = comment.trim();
            if let Some(v) = comment.strip_prefix("title:") {
                spec.title = v.trim().to_string();
            } else if let Some(v) = comment.strip_prefix("counts:") {
                spec.counts = list(v);
            } else if let Some(v) = comment.strip_prefix("derived:") {
                let (columns, sources) = v.split_once(" from ").ok_or_else(|| {
                    Error::Usage(format!(
                        "{name}.sql: `-- derived:` needs `columns from counts`"
                    ))
                })?;
                spec.derived.push(Derived {
                    columns: list(columns),
                    sources: list(sources),
                });
            } else if let Some(v) = comment.strip_prefix("note:") {
                spec.notes.push(v.trim().to_string());
            } else if let Some(v) = comment.strip_prefix("cells:") {
                spec.cells.push(CellDeclaration::parse(name, v.trim())?);
            } else if let Some(v) = comment.strip_prefix("chart:") {
                spec.charts.extend(list(v));
            } else if let Some(v) = comment.strip_prefix("summary:") {
                spec.summaries.extend(list(v));
            } else if let Some(v) = comment.strip_prefix("requires:") {
                spec.requires = list(v);
            } else if let Some(relation) = comment
                .split_once(':')
                .map(|(keyword, v)| RelationDeclaration::parse(name, keyword.trim(), v.trim()))
                .transpose()?
                .flatten()
            {
                spec.relations.push(relation);
            } else {
                spec.description.push(comment.to_string());
            }
        }
        if spec.title.is_empty() {
            spec.title = name.to_string();
        }
        Ok(spec)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub spec: TableSpec,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn from_batches(spec: TableSpec, batches: &[RecordBatch]) -> Result<Self> {
        let columns: Vec<String> = match batches.first() {
            Some(b) => b
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
            None => Vec::new(),
        };
        for required in spec.counts.iter().chain(
            spec.derived
                .iter()
                .flat_map(|d| d.columns.iter().chain(&d.sources)),
        ) {
            if !batches.is_empty() && !columns.contains(required) {
                return Err(Error::Usage(format!(
                    "{}.sql: the header names column '{required}', which the query does not return",
                    spec.name
                )));
            }
        }
        let mut rows = Vec::new();
        for batch in batches {
            let formatters: Vec<ArrayFormatter> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default()))
                .collect::<std::result::Result<_, _>>()?;
            for row in 0..batch.num_rows() {
                let mut cells = Vec::with_capacity(batch.num_columns());
                for (i, column) in batch.columns().iter().enumerate() {
                    cells.push(if column.is_null(row) {
                        Cell::Null
                    } else {
                        match column.data_type() {
                            DataType::Int8
                            | DataType::Int16
                            | DataType::Int32
                            | DataType::Int64
                            | DataType::UInt8
                            | DataType::UInt16
                            | DataType::UInt32
                            | DataType::UInt64 => Cell::Int(
                                formatters[i]
                                    .value(row)
                                    .to_string()
                                    .parse()
                                    .expect("integer text"),
                            ),
                            DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => {
                                Cell::Float(
                                    formatters[i]
                                        .value(row)
                                        .to_string()
                                        .parse()
                                        .expect("float text"),
                                )
                            }
                            _ => Cell::Text(formatters[i].value(row).to_string()),
                        }
                    });
                }
                rows.push(cells);
            }
        }
        Ok(Table {
            spec,
            columns,
            rows,
        })
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// A cell of `row` in `column` as its text; None without the column.
    pub fn text(&self, row: &[Cell], column: &str) -> Option<String> {
        self.column(column).map(|i| row[i].render())
    }

    /// The table among `tables` whose name is `name` once its number is
    /// taken off (`04_profile_by_type` is `profile_by_type`).
    pub fn named<'a>(tables: &'a [Table], name: &str) -> Option<&'a Table> {
        tables.iter().find(|t| unnumbered(&t.spec.name) == name)
    }
}

/// A table's name without the number the report gives it:
/// `02_types_by_year` → `types_by_year`.
pub fn unnumbered(name: &str) -> &str {
    match name.split_once('_') {
        Some((number, rest))
            if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            rest
        }
        _ => name,
    }
}

/// The figures of a reference table that share a total: one source's, for
/// one country and year. (The cells as published, joined.)
pub fn reference_group(table: &Table) -> impl Fn(&[Cell]) -> Vec<String> + use<> {
    let columns: Vec<usize> = ["source", "reporting_country", "year"]
        .iter()
        .filter_map(|c| table.column(c))
        .collect();
    move |row| columns.iter().map(|&c| row[c].render()).collect()
}
