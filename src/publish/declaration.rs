//! What a table's header says its counts are: `-- cells:` declarations
//! (which quantity over the records each count column is) and relations
//! (`-- sum:`, `-- cover:`, `-- within:`, `-- each-within:`) between
//! quantities. [`super::linkage`] turns them into the disclosure model.

use std::collections::BTreeSet;

use crate::error::{Error, Result};

/// A dimension of a quantity read from a column, optionally shifted
/// (`year-1`: the row's year minus one, for a previous-year column).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dimension {
    pub column: String,
    pub offset: i64,
}

/// `-- cells: COLUMN = QUANTITY(DIMS) [where COLUMN is [not] null]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CellDeclaration {
    pub column: String,
    pub quantity: String,
    pub dimensions: Vec<Dimension>,
    /// Only rows where this column is null (false) or not null (true).
    pub only_where: Option<(String, bool)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelationKind {
    Sum,
    Cover,
    Within,
    EachWithin,
}

/// `-- KIND: QUANTITY(DIMS) over DIM [= TOTAL_QUANTITY]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RelationDeclaration {
    pub kind: RelationKind,
    pub quantity: String,
    pub dimensions: Vec<String>,
    pub over: String,
    pub total: String,
}

fn malformed(table: &str, line: &str, why: &str) -> Error {
    Error::Usage(format!("{table}.sql: `-- {line}`: {why}"))
}

fn name_ok(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `records(year, category)` into its name and dimension texts.
fn quantity_call<'a>(table: &str, line: &str, text: &'a str) -> Result<(&'a str, Vec<&'a str>)> {
    let text = text.trim();
    let (name, rest) = text
        .split_once('(')
        .ok_or_else(|| malformed(table, line, "expected QUANTITY(DIMENSIONS)"))?;
    let inner = rest
        .strip_suffix(')')
        .ok_or_else(|| malformed(table, line, "missing `)`"))?;
    let name = name.trim();
    if !name_ok(name) {
        return Err(malformed(table, line, "a quantity is a plain name"));
    }
    let dims = inner
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    Ok((name, dims))
}

impl CellDeclaration {
    pub fn parse(table: &str, text: &str) -> Result<Self> {
        let line = format!("cells: {text}");
        let (column, rest) = text
            .split_once('=')
            .ok_or_else(|| malformed(table, &line, "expected COLUMN = QUANTITY(DIMENSIONS)"))?;
        let (call, only_where) = match rest.split_once(" where ") {
            Some((call, condition)) => {
                let condition = condition.trim();
                let parsed = if let Some(c) = condition.strip_suffix(" is not null") {
                    (c.trim().to_string(), true)
                } else if let Some(c) = condition.strip_suffix(" is null") {
                    (c.trim().to_string(), false)
                } else {
                    return Err(malformed(
                        table,
                        &line,
                        "the condition is `COLUMN is null` or `COLUMN is not null`",
                    ));
                };
                (call, Some(parsed))
            }
            None => (rest, None),
        };
        let (quantity, dims) = quantity_call(table, &line, call)?;
        let dimensions = dims
            .into_iter()
            .map(|d| match d.split_once('-') {
                Some((column, offset)) => Ok(Dimension {
                    column: column.trim().to_string(),
                    offset: -offset
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| malformed(table, &line, "an offset is `COLUMN-1`"))?,
                }),
                None => Ok(Dimension {
                    column: d.to_string(),
                    offset: 0,
                }),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CellDeclaration {
            column: column.trim().to_string(),
            quantity: quantity.to_string(),
            dimensions,
            only_where,
        })
    }
}

impl RelationDeclaration {
    /// `keyword` is the header word before the colon (`sum`, `cover`, ...).
    pub fn parse(table: &str, keyword: &str, text: &str) -> Result<Option<Self>> {
        let kind = match keyword {
            "sum" => RelationKind::Sum,
            "cover" => RelationKind::Cover,
            "within" => RelationKind::Within,
            "each-within" => RelationKind::EachWithin,
            _ => return Ok(None),
        };
        let line = format!("{keyword}: {text}");
        // `Q(dims) over D [= T]`, or `Q(dims) = T` for a total with the same
        // dimensions (a subset of records, such as those with a field recorded).
        let (parts, over, total) = match text.split_once(" over ") {
            Some((parts, rest)) => match rest.split_once('=') {
                Some((over, total)) => (parts, over.trim(), Some(total.trim())),
                None => (parts, rest.trim(), None),
            },
            None => {
                let (parts, total) = text.split_once('=').ok_or_else(|| {
                    malformed(
                        table,
                        &line,
                        "expected QUANTITY(DIMENSIONS) over DIMENSION [= TOTAL], or QUANTITY(DIMENSIONS) = TOTAL",
                    )
                })?;
                (parts, "", Some(total.trim()))
            }
        };
        let (quantity, dims) = quantity_call(table, &line, parts)?;
        let total = total.unwrap_or(quantity);
        if !over.is_empty() && !dims.contains(&over) {
            return Err(malformed(
                table,
                &line,
                "it must be over one of the dimensions",
            ));
        }
        if over.is_empty() && total == quantity {
            return Err(malformed(
                table,
                &line,
                "a quantity cannot be its own total",
            ));
        }
        // The total may be written with its dimensions, as a check on the
        // reader's understanding: they must be the parts' less `over`.
        let total = if total.contains('(') {
            let (name, total_dims) = quantity_call(table, &line, total)?;
            let implied: BTreeSet<&str> = dims.iter().copied().filter(|d| *d != over).collect();
            if total_dims.iter().copied().collect::<BTreeSet<_>>() != implied {
                return Err(malformed(
                    table,
                    &line,
                    "the total's dimensions must be the parts' without the one it is over",
                ));
            }
            name
        } else {
            total
        };
        if !name_ok(total) {
            return Err(malformed(table, &line, "the total is a quantity name"));
        }
        Ok(Some(RelationDeclaration {
            kind,
            quantity: quantity.to_string(),
            dimensions: dims.into_iter().map(str::to_string).collect(),
            over: over.to_string(),
            total: total.to_string(),
        }))
    }
}
