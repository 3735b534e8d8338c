//! Statistics shown beside published figures: the Wilson interval of a
//! share, and tests of whether two (or more) categorical distributions
//! differ, e.g. the typology mix of two countries or of two periods.

use statrs::function::gamma::checked_gamma_ur;

/// 95% Wilson score interval of x successes in n trials, as fractions; the
/// one the SQL functions `wilson_lo`/`wilson_hi` use.
pub use crate::sql::udf::wilson;

/// [`wilson`] for counts, which is what reports have.
pub fn wilson_interval(successes: u64, trials: u64) -> Option<(f64, f64)> {
    wilson(successes as f64, trials as f64)
}

/// Label of the column that sparse columns are pooled into.
pub const POOLED_LABEL: &str = "other (pooled)";

/// Expected counts below this make the chi-square approximation unreliable
/// (Cochran's rule), so such columns are pooled first.
const MIN_EXPECTED: f64 = 5.0;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatsError {
    #[error("{labels} row labels for {rows} rows of counts")]
    RowLabels { labels: usize, rows: usize },
    #[error("row {row:?} has {counts} counts for {labels} column labels")]
    RowLength {
        row: String,
        counts: usize,
        labels: usize,
    },
}

/// Counts by group (rows, e.g. two countries) and category (columns, e.g.
/// typologies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountTable {
    row_labels: Vec<String>,
    column_labels: Vec<String>,
    counts: Vec<Vec<u64>>,
}

impl CountTable {
    pub fn new(
        row_labels: Vec<String>,
        column_labels: Vec<String>,
        counts: Vec<Vec<u64>>,
    ) -> Result<Self, StatsError> {
        if row_labels.len() != counts.len() {
            return Err(StatsError::RowLabels {
                labels: row_labels.len(),
                rows: counts.len(),
            });
        }
        for (label, row) in row_labels.iter().zip(&counts) {
            if row.len() != column_labels.len() {
                return Err(StatsError::RowLength {
                    row: label.clone(),
                    counts: row.len(),
                    labels: column_labels.len(),
                });
            }
        }
        Ok(Self {
            row_labels,
            column_labels,
            counts,
        })
    }

    /// The usual case: two groups over the same categories.
    pub fn two_rows(
        row_labels: [&str; 2],
        column_labels: &[&str],
        first: &[u64],
        second: &[u64],
    ) -> Result<Self, StatsError> {
        Self::new(
            row_labels.iter().map(|s| s.to_string()).collect(),
            column_labels.iter().map(|s| s.to_string()).collect(),
            vec![first.to_vec(), second.to_vec()],
        )
    }

    pub fn row_labels(&self) -> &[String] {
        &self.row_labels
    }

    pub fn column_labels(&self) -> &[String] {
        &self.column_labels
    }

    pub fn counts(&self) -> &[Vec<u64>] {
        &self.counts
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Pearson's X² = Σ (O - E)² / E.
    PearsonChiSquare,
    /// The G-test, G = 2 Σ O ln(O / E); same asymptotic distribution.
    LikelihoodRatio,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    pub method: Method,
    pub statistic: f64,
    pub df: u64,
    /// Upper tail of the chi-square distribution with `df` degrees of freedom.
    pub p_value: f64,
    /// sqrt(X² / (n (min(R, C) - 1))), from Pearson's X² whatever the
    /// method, so that it reads the same in every report.
    pub cramers_v: f64,
    pub n: u64,
    /// Columns as tested, the pooled one (if any) last as [`POOLED_LABEL`].
    pub columns: Vec<String>,
    /// Original columns merged into the pooled one, smallest first.
    pub pooled_columns: Vec<String>,
    /// Columns left out because they are zero in every row.
    pub dropped_columns: Vec<String>,
    /// Smallest expected count after pooling: below 5 when pooling stopped
    /// at two columns, and the p-value should then be read with caution.
    pub min_expected: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    Tested(TestResult),
    /// Too little data for any test; the reason is for the reader.
    NotTestable {
        reason: String,
        n: u64,
    },
}

/// Whether the rows of `table` share one distribution over the columns (test
/// of homogeneity; for two rows, whether the two mixes differ).
///
/// Columns zero in every row are dropped; then, while some expected count is
/// below 5 and more than two columns remain, the smallest column is pooled
/// into [`POOLED_LABEL`].
pub fn compare_distributions(table: &CountTable, method: Method) -> Comparison {
    let counts = &table.counts;
    let n: u64 = counts.iter().flatten().sum();
    if table.row_labels.len() < 2 {
        return not_testable("fewer than two rows to compare", n);
    }
    if let Some((label, _)) = table
        .row_labels
        .iter()
        .zip(counts)
        .find(|(_, row)| row.iter().all(|&c| c == 0))
    {
        return not_testable(&format!("row {label:?} has no observations"), n);
    }
    let column_total = |j: usize| counts.iter().map(|row| row[j]).sum::<u64>();
    let (kept, dropped): (Vec<usize>, Vec<usize>) =
        (0..table.column_labels.len()).partition(|&j| column_total(j) > 0);
    if kept.len() < 2 {
        return not_testable("fewer than two categories with observations", n);
    }

    let row_totals: Vec<u64> = counts.iter().map(|row| row.iter().sum()).collect();
    let smallest_row = *row_totals.iter().min().unwrap_or(&0) as f64;
    // Smallest column first; ties keep the table's order.
    let mut by_size = kept.clone();
    by_size.sort_by_key(|&j| (column_total(j), j));
    let mut pooled: Vec<usize> = Vec::new();
    loop {
        let merged = merge(counts, &kept, &pooled);
        let min_expected = merged
            .column_totals
            .iter()
            .map(|&c| smallest_row * c as f64 / n as f64)
            .fold(f64::INFINITY, f64::min);
        if min_expected >= MIN_EXPECTED || merged.column_totals.len() <= 2 {
            break;
        }
        // A pool of one is the column itself, so the loop goes on to merge
        // a second one into it.
        pooled.push(by_size[pooled.len()]);
    }
    let merged = merge(counts, &kept, &pooled);

    let expected =
        |i: usize, j: usize| row_totals[i] as f64 * merged.column_totals[j] as f64 / n as f64;
    let mut pearson = 0.0;
    let mut g = 0.0;
    let mut min_expected = f64::INFINITY;
    for (i, row) in merged.rows.iter().enumerate() {
        for (j, &observed) in row.iter().enumerate() {
            let e = expected(i, j);
            let o = observed as f64;
            min_expected = min_expected.min(e);
            pearson += (o - e) * (o - e) / e;
            if observed > 0 {
                g += 2.0 * o * (o / e).ln();
            }
        }
    }
    let rows = merged.rows.len() as u64;
    let columns = merged.column_totals.len() as u64;
    let df = (rows - 1) * (columns - 1);
    let statistic = match method {
        Method::PearsonChiSquare => pearson,
        Method::LikelihoodRatio => g,
    };
    let label = |j: &usize| table.column_labels[*j].clone();
    let mut column_labels: Vec<String> = kept
        .iter()
        .filter(|j| !pooled.contains(j))
        .map(label)
        .collect();
    if !pooled.is_empty() {
        column_labels.push(if pooled.len() == 1 {
            label(&pooled[0])
        } else {
            POOLED_LABEL.to_string()
        });
    }
    Comparison::Tested(TestResult {
        method,
        statistic,
        df,
        p_value: chi_square_upper_tail(statistic, df),
        cramers_v: (pearson / (n as f64 * (rows.min(columns) - 1) as f64)).sqrt(),
        n,
        columns: column_labels,
        pooled_columns: if pooled.len() > 1 {
            pooled.iter().map(label).collect()
        } else {
            Vec::new()
        },
        dropped_columns: dropped.iter().map(label).collect(),
        min_expected,
    })
}

fn not_testable(reason: &str, n: u64) -> Comparison {
    Comparison::NotTestable {
        reason: reason.to_string(),
        n,
    }
}

/// The table restricted to the kept columns, those in `pooled` summed into
/// one last column.
struct Merged {
    rows: Vec<Vec<u64>>,
    column_totals: Vec<u64>,
}

fn merge(counts: &[Vec<u64>], kept: &[usize], pooled: &[usize]) -> Merged {
    let rows: Vec<Vec<u64>> = counts
        .iter()
        .map(|row| {
            let mut out: Vec<u64> = kept
                .iter()
                .filter(|j| !pooled.contains(j))
                .map(|&j| row[j])
                .collect();
            if !pooled.is_empty() {
                out.push(pooled.iter().map(|&j| row[j]).sum());
            }
            out
        })
        .collect();
    let column_totals = (0..rows[0].len())
        .map(|j| rows.iter().map(|row| row[j]).sum())
        .collect();
    Merged {
        rows,
        column_totals,
    }
}

/// P(X >= statistic) for X chi-square with `df` degrees of freedom: the
/// regularized upper incomplete gamma Q(df/2, statistic/2).
pub fn chi_square_upper_tail(statistic: f64, df: u64) -> f64 {
    if df == 0 || statistic.is_nan() {
        return f64::NAN;
    }
    if statistic <= 0.0 {
        // Observed equals expected: Q(a, 0) = 1 (statrs refuses x = 0).
        return 1.0;
    }
    if statistic.is_infinite() {
        return 0.0;
    }
    checked_gamma_ur(df as f64 / 2.0, statistic / 2.0).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance
    }

    fn tested(table: &CountTable, method: Method) -> TestResult {
        match compare_distributions(table, method) {
            Comparison::Tested(result) => result,
            other => panic!("not tested: {other:?}"),
        }
    }

    #[test]
    fn wilson_interval_known_values() {
        // x = 0, n = 10: upper bound 0.2775 (Newcombe 1998, Stat Med 17:857, table I).
        let (lo, hi) = wilson_interval(0, 10).unwrap();
        assert_eq!(lo, 0.0);
        assert!(close(hi, 0.2775, 5e-5), "{hi}");
        // x = 81, n = 263: 0.2553 to 0.3662 (Newcombe 1998, example in the text).
        let (lo, hi) = wilson_interval(81, 263).unwrap();
        assert!(
            close(lo, 0.2553, 5e-5) && close(hi, 0.3662, 5e-5),
            "{lo} {hi}"
        );
        assert!(wilson_interval(0, 0).is_none());
        assert!(wilson_interval(3, 2).is_none());
    }

    /// Party identification by gender: Agresti, An Introduction to
    /// Categorical Data Analysis (2nd ed., 2007), table 2.5, which reports
    /// X² = 30.1 and G² = 30.0 with df = 2, P < 0.001. The digits below are
    /// scipy 1.x `chi2_contingency(t, correction=False)` (and with
    /// `lambda_="log-likelihood"`) and `contingency.association(t,
    /// method="cramer")`.
    fn agresti_party_by_gender() -> CountTable {
        CountTable::two_rows(
            ["female", "male"],
            &["democrat", "independent", "republican"],
            &[762, 327, 468],
            &[484, 239, 477],
        )
        .unwrap()
    }

    #[test]
    fn pearson_chi_square_matches_the_textbook() {
        let r = tested(&agresti_party_by_gender(), Method::PearsonChiSquare);
        assert!(
            close(r.statistic, 30.070149095754672, 1e-9),
            "{}",
            r.statistic
        );
        assert_eq!(r.df, 2);
        assert!(
            close(r.p_value, 2.9535891832117595e-07, 1e-15),
            "{}",
            r.p_value
        );
        assert!(
            close(r.cramers_v, 0.10443580235646777, 1e-12),
            "{}",
            r.cramers_v
        );
        assert_eq!(r.n, 2757);
        assert!(r.pooled_columns.is_empty() && r.dropped_columns.is_empty());
        assert_eq!(r.columns, ["democrat", "independent", "republican"]);
        assert!(close(r.min_expected, 246.35473340587595, 1e-9));
    }

    #[test]
    fn g_test_matches_the_textbook() {
        let r = tested(&agresti_party_by_gender(), Method::LikelihoodRatio);
        assert!(
            close(r.statistic, 30.016692613239655, 1e-9),
            "{}",
            r.statistic
        );
        assert_eq!(r.df, 2);
        assert!(
            close(r.p_value, 3.0335979106388314e-07, 1e-15),
            "{}",
            r.p_value
        );
        // Cramér's V comes from Pearson's X² whichever test is asked for.
        assert!(close(r.cramers_v, 0.10443580235646777, 1e-12));
    }

    #[test]
    fn moderate_p_values_and_more_columns() {
        // scipy: X² = 9.276923076923076, p = 0.025826862888327213, df = 3;
        // G = 9.358896049062722, p = 0.024880832333291313; V = 0.22702083943651855.
        let t = CountTable::two_rows(
            ["2023", "2024"],
            &["sexual", "labour", "criminal", "other"],
            &[10, 20, 30, 40],
            &[15, 10, 35, 20],
        )
        .unwrap();
        let r = tested(&t, Method::PearsonChiSquare);
        assert!(close(r.statistic, 9.276923076923076, 1e-9));
        assert_eq!(r.df, 3);
        assert!(
            close(r.p_value, 0.025826862888327213, 1e-12),
            "{}",
            r.p_value
        );
        assert!(close(r.cramers_v, 0.22702083943651855, 1e-12));
        let g = tested(&t, Method::LikelihoodRatio);
        assert!(close(g.statistic, 9.358896049062722, 1e-9));
        assert!(
            close(g.p_value, 0.024880832333291313, 1e-12),
            "{}",
            g.p_value
        );
    }

    #[test]
    fn sparse_columns_are_pooled_smallest_first() {
        // Column totals 50, 55, 3, 5, 5 (rows 61 and 57, n = 118). Pooling
        // "c" (3) then "d" (5, before "e" by table order) still leaves
        // expected counts under 5, so "e" joins them: 57 * 13 / 118 = 6.28.
        let t = CountTable::two_rows(
            ["x", "y"],
            &["a", "b", "c", "d", "e", "never"],
            &[30, 25, 2, 1, 3, 0],
            &[20, 30, 1, 4, 2, 0],
        )
        .unwrap();
        let r = tested(&t, Method::PearsonChiSquare);
        assert_eq!(r.pooled_columns, ["c", "d", "e"]);
        assert_eq!(r.dropped_columns, ["never"]);
        assert_eq!(r.columns, ["a", "b", POOLED_LABEL]);
        assert_eq!(r.df, 2);
        assert!(r.min_expected >= 5.0);
        // scipy on the pooled table [[30, 25, 6], [20, 30, 7]]:
        // X² = 2.398631566880058, p = 0.30140036449822394, V = 0.14257414267671573.
        assert!(
            close(r.statistic, 2.398631566880058, 1e-9),
            "{}",
            r.statistic
        );
        assert!(close(r.p_value, 0.30140036449822394, 1e-12));
        assert!(close(r.cramers_v, 0.14257414267671573, 1e-12));
        let g = tested(&t, Method::LikelihoodRatio);
        assert!(
            close(g.statistic, 2.4101049017671956, 1e-9),
            "{}",
            g.statistic
        );
        assert!(close(g.p_value, 0.29967628081529807, 1e-12));
    }

    #[test]
    fn pooling_stops_at_two_columns() {
        let t = CountTable::two_rows(["x", "y"], &["a", "b", "c"], &[1, 2, 1], &[2, 1, 1]).unwrap();
        let r = tested(&t, Method::PearsonChiSquare);
        // Totals 3, 3, 2: "c" then "a" are pooled; "b" stays.
        assert_eq!(r.pooled_columns, ["c", "a"]);
        assert_eq!(r.columns, ["b", POOLED_LABEL]);
        assert_eq!(r.df, 1);
        assert!(r.min_expected < 5.0, "reported so the caller can warn");
        // Two columns with small counts are tested as they are.
        let t = CountTable::two_rows(["x", "y"], &["a", "b"], &[1, 3], &[2, 1]).unwrap();
        let r = tested(&t, Method::PearsonChiSquare);
        assert!(r.pooled_columns.is_empty());
        assert_eq!(r.columns, ["a", "b"]);
    }

    #[test]
    fn identical_mixes_give_p_one() {
        let t = CountTable::two_rows(["x", "y"], &["a", "b"], &[10, 20], &[20, 40]).unwrap();
        for method in [Method::PearsonChiSquare, Method::LikelihoodRatio] {
            let r = tested(&t, method);
            assert!(r.statistic.abs() < 1e-12 && r.p_value == 1.0 && r.cramers_v == 0.0);
        }
    }

    #[test]
    fn untestable_tables_say_why() {
        let one_category = CountTable::two_rows(["x", "y"], &["a", "b"], &[3, 0], &[2, 0]).unwrap();
        assert_eq!(
            compare_distributions(&one_category, Method::PearsonChiSquare),
            Comparison::NotTestable {
                reason: "fewer than two categories with observations".into(),
                n: 5
            }
        );
        let empty_row = CountTable::two_rows(["x", "y"], &["a", "b"], &[3, 4], &[0, 0]).unwrap();
        assert!(matches!(
            compare_distributions(&empty_row, Method::LikelihoodRatio),
            Comparison::NotTestable { n: 7, .. }
        ));
        let one_row = CountTable::new(vec!["x".into()], vec!["a".into()], vec![vec![1]]).unwrap();
        assert!(matches!(
            compare_distributions(&one_row, Method::PearsonChiSquare),
            Comparison::NotTestable { .. }
        ));
    }

    #[test]
    fn r_by_c_tables_are_tested_too() {
        // scipy, [[20, 15, 25], [30, 35, 15], [25, 25, 25]]:
        // X² = 10.106837606837608, p = 0.038665962051887416, df = 4;
        // G = 10.42242208857001, p = 0.03388254980406795; V = 0.15331103516796665.
        let t = CountTable::new(
            vec!["x".into(), "y".into(), "z".into()],
            vec!["a".into(), "b".into(), "c".into()],
            vec![vec![20, 15, 25], vec![30, 35, 15], vec![25, 25, 25]],
        )
        .unwrap();
        let r = tested(&t, Method::PearsonChiSquare);
        assert!(close(r.statistic, 10.106837606837608, 1e-9));
        assert_eq!(r.df, 4);
        assert!(
            close(r.p_value, 0.038665962051887416, 1e-12),
            "{}",
            r.p_value
        );
        assert!(close(r.cramers_v, 0.15331103516796665, 1e-12));
        let g = tested(&t, Method::LikelihoodRatio);
        assert!(close(g.statistic, 10.42242208857001, 1e-9));
        assert!(
            close(g.p_value, 0.03388254980406795, 1e-12),
            "{}",
            g.p_value
        );
    }

    #[test]
    fn shape_is_checked() {
        assert_eq!(
            CountTable::two_rows(["x", "y"], &["a", "b"], &[1, 2], &[3]),
            Err(StatsError::RowLength {
                row: "y".into(),
                counts: 1,
                labels: 2
            })
        );
        assert!(matches!(
            CountTable::new(vec!["x".into()], vec![], vec![]),
            Err(StatsError::RowLabels { labels: 1, rows: 0 })
        ));
    }

    #[test]
    fn chi_square_tail_known_values() {
        // scipy chi2.isf(0.05, df): 3.8414588206941285 is the 95% point of chi-square(1); 5.991464547107983 of df 2.
        assert!(close(
            chi_square_upper_tail(3.8414588206941285, 1),
            0.05,
            1e-12
        ));
        assert!(close(
            chi_square_upper_tail(5.991464547107983, 2),
            0.05,
            1e-12
        ));
        assert_eq!(chi_square_upper_tail(0.0, 3), 1.0);
        assert!(chi_square_upper_tail(1.0, 0).is_nan());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..Default::default() })]

        /// Every category ends up tested, pooled or dropped exactly once, and
        /// the numbers stay in range.
        #[test]
        fn results_are_well_formed(
            first in proptest::collection::vec(0u64..40, 1..=7),
            second in proptest::collection::vec(0u64..40, 7),
        ) {
            let columns = first.len();
            let second = &second[..columns];
            let labels: Vec<String> = (0..columns).map(|j| format!("c{j}")).collect();
            let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
            let t = CountTable::two_rows(["x", "y"], &label_refs, &first, second).unwrap();
            for method in [Method::PearsonChiSquare, Method::LikelihoodRatio] {
                match compare_distributions(&t, method) {
                    Comparison::NotTestable { n, .. } => {
                        prop_assert_eq!(n, first.iter().chain(second).sum::<u64>());
                    }
                    Comparison::Tested(r) => {
                        prop_assert!((0.0..=1.0).contains(&r.p_value), "{:?}", r);
                        prop_assert!(r.statistic >= -1e-9);
                        prop_assert!((0.0..=1.0 + 1e-12).contains(&r.cramers_v));
                        prop_assert!(r.columns.len() >= 2);
                        prop_assert_eq!(r.df, r.columns.len() as u64 - 1);
                        prop_assert!(r.min_expected >= MIN_EXPECTED || r.columns.len() == 2);
                        let mut seen: Vec<String> = r
                            .columns
                            .iter()
                            .filter(|c| c.as_str() != POOLED_LABEL)
                            .chain(&r.pooled_columns)
                            .chain(&r.dropped_columns)
                            .cloned()
                            .collect();
                        seen.sort();
                        let mut all = labels.clone();
                        all.sort();
                        prop_assert_eq!(seen, all);
                    }
                }
            }
        }
    }
}
