//! The audit of figures derived from counts: every share, interval,
//! change and range a table publishes must be what its *published* counts
//! give. A share computed from the true counts beside perturbed ones pins
//! the true count (0.6 [0.3, 1.2] pins n = 8 however the count is shown),
//! and so does any figure beside a suppressed count; a range narrower than
//! the protection width next to a suppressed count is a value given away.
//! None of this trusts the publisher's declarations beyond which columns
//! a figure is derived from.

use super::table::{Cell, Table};
use crate::sql::udf::wilson;

/// What is wrong with the derived figures of `tables`, one line each.
pub fn check(tables: &[Table], width: u64) -> Vec<String> {
    let mut findings = Vec::new();
    for table in tables {
        for derived in &table.spec.derived {
            let sources: Vec<usize> = derived
                .sources
                .iter()
                .filter_map(|s| table.column(s))
                .collect();
            let columns: Vec<(usize, &str)> = derived
                .columns
                .iter()
                .filter_map(|c| table.column(c).map(|i| (i, c.as_str())))
                .collect();
            for (r, row) in table.rows.iter().enumerate() {
                let at = |column: &str| {
                    format!("table {} row {} column {column}", table.spec.name, r + 1)
                };
                if sources.iter().any(|&s| row[s] == Cell::Suppressed) {
                    for &(i, name) in &columns {
                        if !matches!(row[i], Cell::Null | Cell::Suppressed | Cell::Withheld) {
                            findings.push(format!(
                                "{}: {} is published beside a suppressed count it is derived from, and pins it",
                                at(name),
                                row[i].render()
                            ));
                        }
                    }
                    continue;
                }
                let value = |name: &str| table.column(name).and_then(|i| row[i].as_f64());
                for &(i, name) in &columns {
                    let Some(shown) = row[i].as_f64() else {
                        continue;
                    };
                    if let Some(expected) = expected(name, &derived.sources, &value)
                        && (shown - expected).abs() > 0.051
                    {
                        findings.push(format!(
                            "{}: {} is not what the published counts give ({expected:.1}): it was \
                             computed from other numbers, which it gives away",
                            at(name),
                            row[i].render()
                        ));
                    }
                }
            }
        }
        findings.extend(ranges(table, width));
    }
    findings
}

/// The value a derived figure of a known kind must have, from the
/// published counts it is derived from; None for kinds the audit cannot
/// recompute (rates need the population, test statistics the whole mix).
fn expected(column: &str, sources: &[String], value: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
    let [a, b] = sources else {
        return None;
    };
    let (x, n) = (value(a)?, value(b)?);
    match column {
        "share_pct" if n > 0.0 => Some(100.0 * x / n),
        "ci_low_pct" => wilson(x, n).map(|(lo, _)| 100.0 * lo),
        "ci_high_pct" => wilson(x, n).map(|(_, hi)| 100.0 * hi),
        // change from the previous year: sources are (n, prev_n)
        "change_pct" if n > 0.0 => Some(100.0 * (x - n) / n),
        _ => None,
    }
}

/// A suppressed count published with the range a reader can narrow it to
/// (`unmet` with `unmet_low` and `unmet_high`): the range must be at least
/// the protection width (less the rounding of its ends to whole counts).
fn ranges(table: &Table, width: u64) -> Vec<String> {
    let mut findings = Vec::new();
    for count in &table.spec.counts {
        let (Some(c), Some(lo), Some(hi)) = (
            table.column(count),
            table.column(&format!("{count}_low")),
            table.column(&format!("{count}_high")),
        ) else {
            continue;
        };
        for (r, row) in table.rows.iter().enumerate() {
            if row[c] != Cell::Suppressed {
                continue;
            }
            let Some(low) = row[lo].as_f64() else {
                continue;
            };
            // an empty upper end: nothing bounds it
            let Some(high) = row[hi].as_f64() else {
                continue;
            };
            if high - low < width as f64 - 2.0 {
                findings.push(format!(
                    "table {} row {}: the suppressed {count} is given the range {low} to {high}, \
                     narrower than {width}",
                    table.spec.name,
                    r + 1
                ));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::table::TableSpec;

    fn table(rows: Vec<Vec<Cell>>) -> Table {
        let spec = TableSpec::parse(
            "t",
            "-- counts: n, denominator\n-- derived: share_pct, ci_low_pct, ci_high_pct from n, denominator\n",
        )
        .unwrap();
        Table {
            spec,
            columns: ["n", "denominator", "share_pct", "ci_low_pct", "ci_high_pct"]
                .map(String::from)
                .to_vec(),
            rows,
        }
    }

    #[test]
    fn a_share_beside_a_suppressed_count_or_from_other_counts_is_found() {
        let (lo, hi) = wilson(30.0, 120.0).unwrap();
        let good = vec![
            Cell::Int(30),
            Cell::Int(120),
            Cell::Float(25.0),
            Cell::Float((1000.0 * lo).round() / 10.0),
            Cell::Float((1000.0 * hi).round() / 10.0),
        ];
        assert!(check(&[table(vec![good.clone()])], 10).is_empty());
        // the true share (n = 8 of 12) beside a suppressed n
        let pinned = vec![
            Cell::Suppressed,
            Cell::Int(12),
            Cell::Float(66.7),
            Cell::Withheld,
            Cell::Withheld,
        ];
        let findings = check(&[table(vec![pinned])], 10);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].contains("beside a suppressed count"));
        // a share of other counts than those published
        let mut other = good;
        other[2] = Cell::Float(25.4);
        let findings = check(&[table(vec![other])], 10);
        assert!(findings[0].contains("not what the published counts give (25.0)"));
    }

    #[test]
    fn a_range_narrower_than_the_width_beside_a_suppressed_count_is_found() {
        let spec = TableSpec::parse("g", "-- counts: unmet\n").unwrap();
        let table = Table {
            spec,
            columns: ["unmet", "unmet_low", "unmet_high"]
                .map(String::from)
                .to_vec(),
            rows: vec![
                vec![Cell::Suppressed, Cell::Int(1), Cell::Int(14)],
                vec![Cell::Suppressed, Cell::Int(4), Cell::Int(4)],
                vec![Cell::Suppressed, Cell::Int(4), Cell::Null],
            ],
        };
        let findings = check(&[table], 10);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].contains("row 2"));
    }
}
