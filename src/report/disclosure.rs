//! The one disclosure-control step every published number passes through.
//! Counts from 1 to K-1 are suppressed (shown as `<K`); figures derived from
//! a suppressed count (shares, intervals, changes) are withheld. Zero is not
//! sensitive and is shown.

use super::table::{Cell, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// K: the smallest count that may be published.
    pub min_cell: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { min_cell: 10 }
    }
}

/// Counts of what the step did to one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    pub suppressed: usize,
    pub withheld: usize,
}

fn sensitive(cell: &Cell, k: u64) -> bool {
    matches!(cell.as_f64(), Some(v) if v > 0.0 && v < k as f64)
}

pub fn apply(table: &mut Table, policy: Policy) -> Outcome {
    let mut outcome = Outcome::default();
    let counts: Vec<usize> = table
        .spec
        .counts
        .iter()
        .filter_map(|c| table.column(c))
        .collect();
    let derived: Vec<(Vec<usize>, Vec<usize>)> = table
        .spec
        .derived
        .iter()
        .map(|d| {
            (
                d.columns.iter().filter_map(|c| table.column(c)).collect(),
                d.sources.iter().filter_map(|c| table.column(c)).collect(),
            )
        })
        .collect();
    for row in &mut table.rows {
        for &i in &counts {
            if sensitive(&row[i], policy.min_cell) {
                row[i] = Cell::Suppressed;
                outcome.suppressed += 1;
            }
        }
        for (columns, sources) in &derived {
            if sources.iter().any(|&s| row[s] == Cell::Suppressed) {
                for &c in columns {
                    if row[c] != Cell::Null {
                        row[c] = Cell::Withheld;
                        outcome.withheld += 1;
                    }
                }
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::table::{Derived, TableSpec};

    fn table(rows: Vec<Vec<Cell>>) -> Table {
        Table {
            spec: TableSpec {
                name: "t".into(),
                title: "t".into(),
                counts: vec!["n".into(), "denominator".into()],
                derived: vec![Derived {
                    columns: vec!["share".into()],
                    sources: vec!["n".into(), "denominator".into()],
                }],
                notes: vec![],
                description: vec![],
            },
            columns: vec!["k".into(), "n".into(), "denominator".into(), "share".into()],
            rows,
        }
    }

    #[test]
    fn suppresses_small_counts_and_withholds_their_shares() {
        let mut t = table(vec![
            vec![
                Cell::Text("a".into()),
                Cell::Int(3),
                Cell::Int(100),
                Cell::Float(3.0),
            ],
            vec![
                Cell::Text("b".into()),
                Cell::Int(0),
                Cell::Int(100),
                Cell::Float(0.0),
            ],
            vec![
                Cell::Text("c".into()),
                Cell::Int(10),
                Cell::Int(100),
                Cell::Float(10.0),
            ],
            vec![
                Cell::Text("d".into()),
                Cell::Int(12),
                Cell::Int(9),
                Cell::Null,
            ],
        ]);
        let outcome = apply(&mut t, Policy { min_cell: 10 });
        assert_eq!(t.rows[0][1], Cell::Suppressed);
        assert_eq!(t.rows[0][3], Cell::Withheld);
        assert_eq!(t.rows[1][1], Cell::Int(0), "zero is not sensitive");
        assert_eq!(t.rows[2][1], Cell::Int(10));
        assert_eq!(t.rows[2][3], Cell::Float(10.0));
        assert_eq!(
            t.rows[3][2],
            Cell::Suppressed,
            "a small denominator is suppressed too"
        );
        assert_eq!(t.rows[3][3], Cell::Null);
        assert_eq!(
            outcome,
            Outcome {
                suppressed: 2,
                withheld: 1
            }
        );
        assert_eq!(t.rows[0][1].render(10), "<10");
    }
}
