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
use crate::publish::table::{Cell, Table, TableSpec};
use crate::sql::selection::{Selection, parameters, run_with_parameters};
use crate::sql::stats::{Comparison, CountTable, Method, compare_distributions};

pub const NAME: &str = "typology_mix_tests";

const HEADER: &str = "\
-- Produces: tests of whether the mix of typology types differs between two reporting countries, or between the first and second half of the period.
-- From: cases (classified store): records by reporting country, year and type (extension categories and undetermined records as categories of their own).
-- title: Does the typology mix differ? (chi-square tests)
-- counts: n
-- derived: statistic, df, p_value, cramers_v, reading from n
-- note: Detection differs between hotlines and over time: a difference in the mix of detected cases can reflect who contacts a hotline, outreach and how cases are recorded, not only a difference in trafficking.
-- note: Pearson's chi-square test of homogeneity. Types with a count below the disclosure threshold in either group are left out of the test (n counts the types tested), and types with expected counts below 5 are pooled; every count is a published count, with its noise. Cramér's V is the size of the difference (0: the same mix; 1: no type in common). Counted as cases, a case with records of several types counts in each, so the test is approximate.
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

/// Counts by category of one group of records.
pub type Mix = BTreeMap<String, u64>;

/// The table's columns, in order.
pub const COLUMNS: [&str; 9] = [
    "comparison",
    "group_a",
    "group_b",
    "n",
    "statistic",
    "df",
    "p_value",
    "cramers_v",
    "reading",
];

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

/// The two mixes without the categories below `min_cell` in either: a
/// small count must not enter a statistic, not even pooled (a pooled
/// remainder is a sum a reader could take apart), and how many there were
/// is not published either.
fn without_small(a: &Mix, b: &Mix, min_cell: u64) -> (Vec<String>, [Vec<u64>; 2]) {
    let mut labels = Vec::new();
    let mut counts = [Vec::new(), Vec::new()];
    let categories: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for category in categories {
        let (x, y) = (
            a.get(category).copied().unwrap_or(0),
            b.get(category).copied().unwrap_or(0),
        );
        if !(1..min_cell).contains(&x) && !(1..min_cell).contains(&y) {
            labels.push(category.clone());
            counts[0].push(x);
            counts[1].push(y);
        }
    }
    (labels, counts)
}

/// One comparison: the test of `mix_a` against `mix_b`, or why there is none.
pub fn row(
    comparison: &str,
    a: &str,
    b: &str,
    mix_a: &Mix,
    mix_b: &Mix,
    min_cell: u64,
) -> Vec<Cell> {
    let (labels, [first, second]) = without_small(mix_a, mix_b, min_cell);
    let n: u64 = first.iter().chain(&second).sum();
    let mut cells = vec![
        Cell::Text(comparison.into()),
        Cell::Text(a.into()),
        Cell::Text(b.into()),
        Cell::Int(n as i64),
    ];
    let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let result = CountTable::two_rows([a, b], &label_refs, &first, &second)
        .map(|t| compare_distributions(&t, Method::PearsonChiSquare));
    match result {
        Ok(Comparison::Tested(t)) => {
            let caution = if t.min_expected < 5.0 {
                "; some expected counts below 5, read with caution"
            } else {
                ""
            };
            let reading = if t.p_value < 0.05 {
                format!("the mixes differ (p < 0.05){caution}")
            } else {
                format!("no evidence that the mixes differ{caution}")
            };
            cells.extend([
                Cell::Float(t.statistic),
                Cell::Int(t.df as i64),
                Cell::Text(p_value_text(t.p_value)),
                Cell::Text(format!("{:.3}", t.cramers_v)),
                Cell::Text(reading),
            ]);
        }
        Ok(Comparison::NotTestable { reason, .. }) => {
            cells.extend([Cell::Null, Cell::Null, Cell::Null, Cell::Null]);
            cells.push(Cell::Text(format!("not tested: {reason}")));
        }
        Err(e) => {
            cells.extend([Cell::Null, Cell::Null, Cell::Null, Cell::Null]);
            cells.push(Cell::Text(format!("not tested: {e}")));
        }
    }
    cells
}

/// p-values as journals print them: three decimals, or `<0.001`.
pub(crate) fn p_value_text(p: f64) -> String {
    if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix(pairs: &[(&str, u64)]) -> Mix {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn small_categories_are_left_out_of_the_test() {
        let a = mix(&[("A", 50), ("B", 3), ("C", 40)]);
        let b = mix(&[("A", 45), ("C", 60), ("D", 12)]);
        let (labels, [x, y]) = without_small(&a, &b, 10);
        // B (3 in a) is left out; D (0 in a, 12 in b) is not small.
        assert_eq!(labels, ["A", "C", "D"]);
        assert_eq!(x, [50, 40, 0]);
        assert_eq!(y, [45, 60, 12]);
    }

    #[test]
    fn a_row_reports_the_test_or_why_there_is_none() {
        // Agresti (2007), table 2.1 shape: clearly different mixes.
        let a = mix(&[("A", 200), ("B", 100)]);
        let b = mix(&[("A", 100), ("B", 200)]);
        let r = row("countries", "US", "MX", &a, &b, 10);
        assert_eq!(r[3], Cell::Int(600));
        assert_eq!(r[5], Cell::Int(1));
        // X² = 600 (200·200 - 100·100)² / (300⁴) = 66.67
        assert_eq!(r[4].render(), "66.7");
        assert_eq!(r[6], Cell::Text("<0.001".into()));
        assert_eq!(r[7], Cell::Text("0.333".into()));
        let same = row("countries", "US", "MX", &a, &a, 10);
        assert_eq!(same[4].render(), "0.0");
        assert!(same[8].render().starts_with("no evidence"));
        let none = row("periods", "a", "b", &mix(&[]), &mix(&[]), 10);
        assert!(none[8].render().starts_with("not tested"), "{none:?}");
    }
}
