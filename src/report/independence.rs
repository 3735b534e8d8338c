//! The report table that asks whether the typology mix differs between two
//! reporting countries, or between the first and second half of the period:
//! Pearson's chi-square test of homogeneity with Cramér's V
//! ([`crate::sql::stats::compare_distributions`]).
//!
//! Only counts of at least K enter a test as categories of their own: a
//! category below K in either group is pooled first, so that the published
//! statistic is not driven by, and does not hint at, a small count. Then
//! categories with expected counts below 5 are pooled, as the test needs.

use std::collections::BTreeMap;

use datafusion::prelude::SessionContext;

use crate::error::Result;
pub use crate::publish::mix_tests::{COLUMNS, Mix, NAME, row};
use crate::publish::table::{Table, TableSpec};
use crate::sql::selection::{Selection, parameters, run_with_parameters};

const HEADER: &str = "\
-- Produces: tests of whether the mix of typology types differs between two reporting countries, or between the first and second half of the period.
-- From: cases (classified store): records by reporting country, year and type (extension categories and undetermined records as categories of their own).
-- title: Does the typology mix differ? (chi-square tests)
-- counts: n
-- derived: statistic, df, p_value, cramers_v, reading from n
-- note: Detection differs between hotlines and over time: a difference in the mix of detected cases can reflect who contacts a hotline, outreach and how cases are recorded, not only a difference in trafficking.
-- note: Pearson's chi-square test of homogeneity, on the counts as this report publishes them (records by reporting country and type; by type and year, summed over each half of the period). Types shown as x in either group are left out of the test (n counts the types tested), and types with expected counts below 5 are pooled. Cramér's V is the size of the difference (0: the same mix; 1: no type in common). Counted as cases, a case with records of several types counts in each, so the test is approximate.
";

/// Each group's mix: by reporting country, and by half of the period
/// (the first half up to the middle year), every count a protected count
/// of its own records, so a test uses only figures as they are published.
const COUNTS_SQL: &str = "\
WITH selected AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE year BETWEEN $from_year AND $to_year
    AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))
),
labelled AS (
  SELECT unit_id, reporting_country, year,
    coalesce(typology_name, extension_category, 'not determined') AS category
  FROM selected
)
SELECT 'countries' AS kind, reporting_country AS grp, category, protected_count(unit_id) AS n
FROM labelled GROUP BY 2, 3
UNION ALL
SELECT 'periods', CASE WHEN year > $from_year + ($to_year - $from_year) / 2 THEN 'second' ELSE 'first' END,
  category, protected_count(unit_id)
FROM labelled GROUP BY 2, 3
ORDER BY 1, 2, 3";

/// The table's header (title, counts, notes) under another name.
pub fn spec(name: &str) -> Result<TableSpec> {
    TableSpec::parse(name, HEADER)
}

pub async fn build(
    ctx: &SessionContext,
    selection: &Selection,
    from_year: i32,
    to_year: i32,
    min_cell: u64,
) -> Result<Table> {
    let spec = TableSpec::parse(NAME, HEADER)?;
    let batches =
        run_with_parameters(ctx, COUNTS_SQL, parameters(selection, from_year, to_year)).await?;
    let counts = Table::from_batches(TableSpec::parse("counts", "")?, &batches)?;
    let mut by_country: BTreeMap<String, Mix> = BTreeMap::new();
    let mut by_period: [Mix; 2] = [Mix::new(), Mix::new()];
    let middle = from_year + (to_year - from_year) / 2;
    for row in &counts.rows {
        let (Some(kind), Some(group), Some(category), Some(n)) = (
            row[0].as_text(),
            row[1].as_text(),
            row[2].as_text(),
            row[3].as_f64(),
        ) else {
            continue;
        };
        let mix = match (kind, group) {
            ("countries", country) => by_country.entry(country.to_string()).or_default(),
            (_, "first") => &mut by_period[0],
            _ => &mut by_period[1],
        };
        mix.insert(category.to_string(), n as u64);
    }
    let mut rows = Vec::new();
    let countries: Vec<&String> = by_country.keys().collect();
    for (i, a) in countries.iter().enumerate() {
        for b in &countries[i + 1..] {
            rows.push(row(
                "countries",
                a,
                b,
                &by_country[*a],
                &by_country[*b],
                min_cell,
            ));
        }
    }
    if to_year > from_year {
        rows.push(row(
            "periods",
            &format!("{from_year}–{middle}"),
            &format!("{}–{to_year}", middle + 1),
            &by_period[0],
            &by_period[1],
            min_cell,
        ));
    }
    Ok(Table {
        spec,
        columns: COLUMNS.map(String::from).to_vec(),
        rows,
    })
}
