//! `safetynet audit` of a comparison folder (`compare`, `merge`). It reads
//! what a reader has, the CSV tables, and takes nothing else on trust:
//!
//! - each country's counts, taken back out of the long share tables, are
//!   audited as the disclosure-controlled pair they were published as
//!   (every suppressed count must stay uncertain by the protection width);
//! - every other figure (shares, intervals, differences, tests, trends,
//!   regional totals) is computed again from those counts and must be the
//!   published one, so no figure can carry a count the counts do not;
//! - no table may be there that the comparison does not write;
//! - the HTML, the Markdown and the workbook must show the CSVs cell for
//!   cell.
//!
//! `comparison.json` says only what the figures are (countries, years,
//! unit, threshold, noise bound); which quantity each count is and how the
//! counts add up is this module's own knowledge, not the folder's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::aggregate::{self, Aggregates, Scope, TYPES_BY_YEAR, TYPES_OVER_PERIOD};
use super::compare::Comparison;
use crate::error::{Error, Result};
use crate::publish::audit::{AuditReport, PublishedCsv, formats_agree, read_csv};
use crate::publish::table::{Cell, Table, TableSpec};
use crate::sql::selection::Unit;

pub const MODEL_FILE: &str = "comparison.json";
const FORMAT: u32 = 1;

/// The tables a comparison writes, in order.
const TABLES: [&str; 6] = [
    "01_shares_side_by_side",
    "02_trend_differences",
    "03_mix_tests",
    "04_regional_totals",
    "05_type_shares_by_country",
    "06_type_shares_by_year",
];

/// What the figures of a comparison are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub format: u32,
    pub countries: Vec<String>,
    pub from_year: i32,
    pub to_year: i32,
    pub unit: Unit,
    pub rules_version: String,
    pub min_cell: u64,
    pub width: u64,
    pub max_noise: u64,
}

impl Model {
    pub fn of(c: &Comparison) -> Self {
        Model {
            format: FORMAT,
            countries: c.countries.clone(),
            from_year: c.from_year,
            to_year: c.to_year,
            unit: c.unit,
            rules_version: c.rules_version.clone(),
            min_cell: c.policy.min_cell,
            width: c.policy.width(),
            max_noise: c.max_noise,
        }
    }

    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        crate::publish::audit::write_model(&dir.join(MODEL_FILE), self)
    }

    fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let model: Model = serde_json::from_str(&text)
            .map_err(|e| Error::bad_input(path, format!("not a comparison model: {e}")))?;
        if model.format != FORMAT {
            return Err(Error::bad_input(
                path,
                format!(
                    "format {} is not the format {FORMAT} this version reads",
                    model.format
                ),
            ));
        }
        if model.countries.is_empty() {
            return Err(Error::bad_input(path, "no countries"));
        }
        Ok(model)
    }
}

/// True when `dir` holds a comparison rather than a report.
pub fn is_comparison(dir: &Path) -> bool {
    dir.join(MODEL_FILE).is_file()
}

/// Which columns hold counts is the audit's own rule, not the folder's:
/// `n`, `denominator`, each country's `n_XX`, and the regional totals.
fn is_count_column(column: &str) -> bool {
    matches!(
        column,
        "n" | "denominator" | "total" | "total_low" | "total_high"
    ) || column.starts_with("n_")
}

fn read_table(dir: &Path, name: &str) -> Result<PublishedCsv> {
    let plain = TableSpec::parse(name, "")?;
    let first = read_csv(dir, &plain)?;
    let mut spec = plain;
    spec.counts = first
        .columns()
        .iter()
        .filter(|c| is_count_column(c))
        .cloned()
        .collect();
    read_csv(dir, &spec)
}

/// One country's published aggregates, taken back out of the long share
/// tables (the rows a country has no record of, which the comparison shows
/// as 0, left out, as the country published them).
fn country_aggregates(
    model: &Model,
    country: &str,
    period: &Table,
    by_year: &Table,
) -> Result<Aggregates> {
    let project =
        |t: &Table, columns: &[&str], keep: &dyn Fn(&[Cell]) -> bool| -> Result<Vec<Vec<Cell>>> {
            let at = columns
                .iter()
                .map(|c| {
                    t.column(c).ok_or_else(|| {
                        Error::bad_input(
                            Path::new(&format!("tables/{}.csv", t.spec.name)),
                            format!("no column {c}"),
                        )
                    })
                })
                .collect::<Result<Vec<usize>>>()?;
            let country_at = at[at.len() - 1];
            Ok(t.rows
                .iter()
                .filter(|r| r[country_at].as_text() == Some(country) && keep(r))
                .map(|r| at[..at.len() - 1].iter().map(|&i| r[i].clone()).collect())
                .collect())
        };
    let n_at = period.column("n");
    let over_period = project(
        period,
        &[
            "section",
            "type_id",
            "category",
            "n",
            "denominator",
            "country",
        ],
        &|r| n_at.is_none_or(|i| r[i] != Cell::Int(0)),
    )?;
    let categories: BTreeSet<String> = over_period.iter().map(|r| r[2].render()).collect();
    let category_at = by_year.column("category");
    let by_year = project(
        by_year,
        &[
            "year",
            "section",
            "type_id",
            "category",
            "n",
            "denominator",
            "country",
        ],
        &|r| category_at.is_some_and(|i| categories.contains(&r[i].render())),
    )?;
    let table = |name: &str, columns: &[&str], rows| -> Result<Table> {
        Ok(Table {
            spec: aggregate::spec(name)?,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        })
    };
    Ok(Aggregates {
        scope: Scope {
            country: country.to_string(),
            from_year: model.from_year,
            to_year: model.to_year,
            unit: model.unit,
            rules_version: model.rules_version.clone(),
            rules_sha256: None,
            min_cell: model.min_cell,
            width: model.width,
            max_noise: model.max_noise,
        },
        tables: vec![
            table(
                TYPES_BY_YEAR,
                &["year", "section", "type_id", "category", "n", "denominator"],
                by_year,
            )?,
            table(
                TYPES_OVER_PERIOD,
                &["section", "type_id", "category", "n", "denominator"],
                over_period,
            )?,
        ],
    })
}

/// Audits the comparison in `dir`, with its own protection width or a
/// wider `width`.
pub fn audit_dir(dir: &Path, width: Option<u64>, min_cell: Option<u64>) -> Result<AuditReport> {
    let model = Model::read(&dir.join(MODEL_FILE))?;
    let (k, declared_too_low) = crate::publish::audit::threshold(model.min_cell, min_cell);
    let mut findings: Vec<String> = declared_too_low.into_iter().collect();
    let on_disk = crate::base::files::relative_files(&dir.join("tables"))?;
    for (file, _) in &on_disk {
        if !TABLES.iter().any(|t| format!("{t}.csv") == *file) {
            findings.push(format!(
                "tables/{file}: not a table a comparison writes, so nothing vouches for its figures"
            ));
        }
    }
    let published = TABLES
        .iter()
        .map(|name| read_table(dir, name))
        .collect::<Result<Vec<PublishedCsv>>>()?;
    let cells: Vec<Table> = published.iter().map(PublishedCsv::cells).collect();
    let (period, by_year) = (&cells[4], &cells[5]);

    let mut all = Vec::new();
    let mut suppressed = 0;
    for country in &model.countries {
        let mut a = country_aggregates(&model, country, period, by_year)?;
        a.scope.min_cell = k;
        if let Some(w) = width {
            a.scope.width = w;
        }
        suppressed += a
            .tables
            .iter()
            .flat_map(|t| t.rows.iter().flatten())
            .filter(|c| **c == Cell::Suppressed)
            .count();
        findings.extend(a.audit()?.into_iter().map(|f| format!("{country}: {f}")));
        all.push(a);
    }
    // the figures were computed under the folder's own settings
    for a in &mut all {
        a.scope.width = model.width;
        a.scope.min_cell = model.min_cell;
    }

    // every derived figure, computed again from the counts alone
    let types: Vec<String> = {
        let t = &cells[0];
        let (section, category) = (t.column("section"), t.column("category"));
        match (section, category) {
            (Some(s), Some(c)) => t
                .rows
                .iter()
                .filter(|r| r[s].as_text() != Some("total"))
                .map(|r| r[c].render())
                .collect(),
            _ => Vec::new(),
        }
    };
    match super::compare::tables(&all, &types) {
        Ok((rebuilt, _)) => {
            for (want, csv) in rebuilt.iter().zip(&published) {
                if let Some(difference) = differs(want, csv) {
                    findings.push(format!(
                        "tables/{}.csv: {difference}: not what the published counts give",
                        want.spec.name
                    ));
                }
            }
        }
        Err(e) => findings.push(format!(
            "the comparison cannot be computed again from its published counts: {e}"
        )),
    }
    findings.extend(formats_agree(dir, "comparison", &published)?);
    Ok(AuditReport {
        tables: published.len(),
        suppressed,
        width: width.unwrap_or(model.width),
        findings,
    })
}

/// The first place where the published CSV is not the table rebuilt.
fn differs(want: &Table, csv: &PublishedCsv) -> Option<String> {
    if want.columns != csv.columns() {
        return Some(format!("columns {:?}", csv.columns()));
    }
    let rows = csv.raw_rows();
    if want.rows.len() != rows.len() {
        return Some(format!(
            "{} rows where {} were expected",
            rows.len(),
            want.rows.len()
        ));
    }
    for (r, (want_row, row)) in want.rows.iter().zip(rows).enumerate() {
        for ((want_cell, cell), column) in want_row.iter().zip(row).zip(&want.columns) {
            let expected = crate::publish::render::csv_text(want_cell);
            if expected != *cell {
                return Some(format!(
                    "row {}, column {column}: {cell:?} where {expected:?} was expected",
                    r + 2
                ));
            }
        }
    }
    None
}
