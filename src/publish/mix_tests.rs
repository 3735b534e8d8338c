//! The typology mix tests as numbers: Pearson's chi-square test of
//! homogeneity between two groups' counts by type, and the tests worked out
//! again from what a report publishes, which the report publishes and the
//! audit checks (`report::independence` counts the groups).

use std::collections::BTreeMap;

use crate::publish::table::{Cell, Table};
use crate::sql::stats::{Comparison, CountTable, Method, compare_distributions};

/// The table's name.
pub const NAME: &str = "typology_mix_tests";

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

/// A group's published counts by category: None for a count not shown
/// (`x`, suppressed to protect it or a neighbour).
type PublishedMix = BTreeMap<String, Option<u64>>;

/// The tests again, from the counts as published in the report's own
/// tables (records by reporting country and type; by type and year, summed
/// over each half of the period), leaving out every category hidden in
/// either group. Built first from protected counts of their own, the tests
/// took in categories shown as `x` in those tables: a test's n and
/// statistic then gave back the values of two cells hidden to protect a
/// small neighbour. Now a test holds nothing the tables do not show.
/// Rows stay as they are where a table they need is not in `tables`.
pub fn rebuild_from_published(tables: &mut [Table], min_cell: u64) {
    let by_country = published_by_country(tables);
    let by_year = published_by_year(tables);
    let Some(tests) = tables
        .iter_mut()
        .find(|t| crate::publish::table::unnumbered(&t.spec.name) == NAME)
    else {
        return;
    };
    for cells in &mut tests.rows {
        let (kind, a, b) = (cells[0].render(), cells[1].render(), cells[2].render());
        let mixes = match kind.as_str() {
            "countries" => by_country.as_ref().map(|m| {
                (
                    m.get(&a).cloned().unwrap_or_default(),
                    m.get(&b).cloned().unwrap_or_default(),
                )
            }),
            _ => by_year
                .as_ref()
                .and_then(|years| Some((half(years, &a)?, half(years, &b)?))),
        };
        if let Some((mix_a, mix_b)) = mixes {
            let (mix_a, mix_b) = both_shown(&mix_a, &mix_b);
            *cells = row(&kind, &a, &b, &mix_a, &mix_b, min_cell);
        }
    }
}

/// A count as published: a number, or None when hidden.
fn shown(cell: &Cell) -> Option<u64> {
    cell.number().map(|v| v.max(0.0) as u64)
}

fn published_by_country(tables: &[Table]) -> Option<BTreeMap<String, PublishedMix>> {
    let t = Table::named(tables, "types_by_reporting_country")?;
    let (country, category, n) = (
        t.column("reporting_country")?,
        t.column("category")?,
        t.column("n")?,
    );
    let mut mixes: BTreeMap<String, PublishedMix> = BTreeMap::new();
    for r in &t.rows {
        mixes
            .entry(r[country].render())
            .or_default()
            .insert(r[category].render(), shown(&r[n]));
    }
    Some(mixes)
}

/// By year, each category's published counts.
fn published_by_year(tables: &[Table]) -> Option<BTreeMap<i64, PublishedMix>> {
    let t = Table::named(tables, "types_by_year")?;
    let (year, category, n) = (t.column("year")?, t.column("category")?, t.column("n")?);
    let mut years: BTreeMap<i64, PublishedMix> = BTreeMap::new();
    for r in &t.rows {
        let Some(y) = r[year].number() else { continue };
        years
            .entry(y as i64)
            .or_default()
            .insert(r[category].render(), shown(&r[n]));
    }
    Some(years)
}

/// The published counts of the years a label such as `2015–2019` names,
/// summed by category; a category hidden in any of them is hidden.
fn half(years: &BTreeMap<i64, PublishedMix>, label: &str) -> Option<PublishedMix> {
    let (from, to) = label.split_once('–')?;
    let (from, to): (i64, i64) = (from.trim().parse().ok()?, to.trim().parse().ok()?);
    let mut sums = PublishedMix::new();
    for (_, mix) in years.range(from..=to) {
        for (category, n) in mix {
            let sum = sums.entry(category.clone()).or_insert(Some(0));
            *sum = sum.zip(*n).map(|(s, n)| s + n);
        }
    }
    Some(sums)
}

/// The categories both groups show, as plain mixes (a category a group has
/// no row for is 0 there).
fn both_shown(a: &PublishedMix, b: &PublishedMix) -> (Mix, Mix) {
    let (mut x, mut y) = (Mix::new(), Mix::new());
    for category in a.keys().chain(b.keys()) {
        let pair = (
            a.get(category).copied().unwrap_or(Some(0)),
            b.get(category).copied().unwrap_or(Some(0)),
        );
        if let (Some(m), Some(n)) = pair {
            x.insert(category.clone(), m);
            y.insert(category.clone(), n);
        }
    }
    (x, y)
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
