//! Hand-worked examples and a property test over random tables with
//! margins.

use proptest::prelude::*;

use super::*;

/// An R x C table with row totals, column totals and grand total, as the
/// engine sees it: interior cells first (row-major), then row totals, column
/// totals, grand total.
pub(crate) struct Table {
    pub(crate) problem: LinkedTables,
    pub(crate) interior: Vec<Vec<CellId>>,
    pub(crate) row_totals: Vec<CellId>,
    pub(crate) column_totals: Vec<CellId>,
    pub(crate) grand_total: CellId,
}

pub(crate) fn table(counts: &[Vec<u64>]) -> Table {
    let mut problem = LinkedTables::new();
    let interior: Vec<Vec<CellId>> = counts
        .iter()
        .enumerate()
        .map(|(r, row)| {
            row.iter()
                .enumerate()
                .map(|(c, &v)| problem.add_labelled_cell(v, format!("r{r}c{c}")))
                .collect()
        })
        .collect();
    let columns = counts[0].len();
    let row_totals: Vec<CellId> = counts
        .iter()
        .enumerate()
        .map(|(r, row)| problem.add_labelled_cell(row.iter().sum(), format!("row {r}")))
        .collect();
    let column_totals: Vec<CellId> = (0..columns)
        .map(|c| {
            let sum = counts.iter().map(|row| row[c]).sum();
            problem.add_labelled_cell(sum, format!("column {c}"))
        })
        .collect();
    let grand = counts.iter().flatten().sum();
    let grand_total = problem.add_labelled_cell(grand, "total");
    for (r, cells) in interior.iter().enumerate() {
        problem.add_sum(cells, row_totals[r]).unwrap();
    }
    for (c, &total) in column_totals.iter().enumerate() {
        let cells: Vec<CellId> = interior.iter().map(|row| row[c]).collect();
        problem.add_sum(&cells, total).unwrap();
    }
    problem.add_sum(&row_totals, grand_total).unwrap();
    problem.add_sum(&column_totals, grand_total).unwrap();
    Table {
        problem,
        interior,
        row_totals,
        column_totals,
        grand_total,
    }
}

fn suppressed(statuses: &[CellStatus]) -> Vec<usize> {
    (0..statuses.len())
        .filter(|&i| statuses[i].is_suppressed())
        .collect()
}

fn assert_range(problem: &LinkedTables, statuses: &[CellStatus], cell: CellId, lo: f64, hi: f64) {
    let (l, h) = feasible_range(problem, statuses, cell).unwrap();
    assert!(
        (l - lo).abs() < 1e-6 && (h - hi).abs() < 1e-6,
        "{cell}: [{l}, {h}], expected [{lo}, {hi}]"
    );
}

#[test]
fn two_by_two_primary_alone_is_recomputable_and_a_rectangle_protects_it() {
    //        c0   c1 | total
    //   r0    3   20 |   23
    //   r1   15   40 |   55
    //   ---------------------
    //        18   60 |   78
    let t = table(&[vec![3, 20], vec![15, 40]]);
    let p = &t.problem;
    let a = t.interior[0][0];

    let primary = primary_suppression(p, 10);
    assert_eq!(suppressed(&primary), vec![a.0]);
    // 3 = 23 - 20: the row margin gives it away.
    let findings = audit(p, &primary, 10).unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].cell, a);
    assert_eq!(findings[0].label, "cell #0 (r0c0)");
    assert_eq!(findings[0].status, CellStatus::Primary);
    assert!((findings[0].lo - 3.0).abs() < 1e-6 && (findings[0].hi - 3.0).abs() < 1e-6);

    let statuses = protect(p, 10, 10).unwrap();
    let rectangle: Vec<usize> = t.interior.iter().flatten().map(|c| c.0).collect();
    assert_eq!(suppressed(&statuses), rectangle, "{statuses:?}");
    assert_eq!(statuses[a.0], CellStatus::Primary);
    assert_eq!(statuses[t.interior[1][1].0], CellStatus::Secondary);
    for total in t.row_totals.iter().chain(&t.column_totals) {
        assert_eq!(statuses[total.0], CellStatus::Published);
    }
    assert_eq!(statuses[t.grand_total.0], CellStatus::Published);
    assert!(audit(p, &statuses, 10).unwrap().is_empty());
    // a = 3 + t with b = 20 - t, c = 15 - t, d = 40 + t, each suppressed
    // cell at least 1 (zeros are never suppressed): t in [-2, 14].
    assert_range(p, &statuses, a, 1.0, 17.0);
    assert_range(p, &statuses, t.interior[1][1], 38.0, 54.0);
}

/// One row 15 + 3 + 22 = 40 with the total published.
fn one_row() -> (LinkedTables, [CellId; 4]) {
    let mut p = LinkedTables::new();
    let x = p.add_cell(15);
    let small = p.add_cell(3);
    let y = p.add_cell(22);
    let total = p.add_cell(40);
    p.add_sum(&[x, small, y], total).unwrap();
    (p, [x, small, y, total])
}

#[test]
fn row_with_one_suppressed_cell_and_published_total() {
    let (p, [x, small, y, total]) = one_row();
    let primary = primary_suppression(&p, 10);
    assert_eq!(suppressed(&primary), vec![small.0]);
    let findings = audit(&p, &primary, 10).unwrap();
    assert_eq!(
        findings.iter().map(|f| f.cell).collect::<Vec<_>>(),
        vec![small]
    );

    // The smallest other cell suffices: 3 + 15 = 18 leaves [1, 17].
    let statuses = protect(&p, 10, 10).unwrap();
    assert_eq!(suppressed(&statuses), vec![x.0, small.0]);
    assert_eq!(statuses[x.0], CellStatus::Secondary);
    assert_range(&p, &statuses, small, 1.0, 17.0);
    assert!(audit(&p, &statuses, 10).unwrap().is_empty());

    // A width of 20 needs the third cell too (the total stays published).
    let statuses = protect(&p, 10, 20).unwrap();
    assert_eq!(suppressed(&statuses), vec![x.0, small.0, y.0]);
    assert_eq!(statuses[total.0], CellStatus::Published);
    assert_range(&p, &statuses, small, 1.0, 38.0);
    assert!(audit(&p, &statuses, 20).unwrap().is_empty());
    // ...and the audit notices when the statuses of width 10 are held to 20.
    let narrow = protect(&p, 10, 10).unwrap();
    assert_eq!(audit(&p, &narrow, 20).unwrap().len(), 2);
}

#[test]
fn two_tables_sharing_the_total() {
    // Table A: 3 + 50 = T, table B: 20 + 33 = T, T = 53 in both.
    let mut p = LinkedTables::new();
    let a_small = p.add_labelled_cell(3, "A small");
    let a_big = p.add_labelled_cell(50, "A big");
    let b1 = p.add_labelled_cell(20, "B 1");
    let b2 = p.add_labelled_cell(33, "B 2");
    let shared = p.add_labelled_cell(53, "shared total");
    p.add_sum(&[a_small, a_big], shared).unwrap();
    p.add_sum(&[b1, b2], shared).unwrap();

    // Hiding the total in table A does not help: table B recomputes it.
    let mut statuses = primary_suppression(&p, 10);
    statuses[shared.0] = CellStatus::Secondary;
    let findings = audit(&p, &statuses, 5).unwrap();
    let exposed: Vec<CellId> = findings.iter().map(|f| f.cell).collect();
    assert_eq!(exposed, vec![a_small, shared]);
    assert_range(&p, &statuses, a_small, 3.0, 3.0);

    let statuses = protect(&p, 10, 5).unwrap();
    assert!(audit(&p, &statuses, 5).unwrap().is_empty());
    // Cheapest: the other cell of table A (cost 50) rather than the total
    // plus a cell of table B (53 + 20).
    assert_eq!(suppressed(&statuses), vec![a_small.0, a_big.0]);
    assert_range(&p, &statuses, a_small, 1.0, 52.0);
}

#[test]
fn zero_cells_are_never_suppressed_and_totals_are_used_instead() {
    //        c0   c1 | total
    //   r0    3    0 |    3
    //   r1   15   40 |   55
    let t = table(&[vec![3, 0], vec![15, 40]]);
    let p = &t.problem;
    let statuses = protect(p, 10, 10).unwrap();
    for (i, cell) in p.cells().iter().enumerate() {
        if cell.value == 0 {
            assert_eq!(statuses[i], CellStatus::Published, "zero cell {i}");
        }
    }
    // The row total is 3 as well: primary too.
    assert_eq!(statuses[t.row_totals[0].0], CellStatus::Primary);
    assert!(audit(p, &statuses, 10).unwrap().is_empty());
}

#[test]
fn ties_go_to_the_lower_id_and_results_repeat() {
    let mut p = LinkedTables::new();
    let small = p.add_cell(3);
    let first = p.add_cell(20);
    let second = p.add_cell(20);
    let total = p.add_cell(43);
    p.add_sum(&[small, first, second], total).unwrap();
    let statuses = protect(&p, 10, 10).unwrap();
    assert_eq!(suppressed(&statuses), vec![small.0, first.0]);
    for _ in 0..3 {
        assert_eq!(protect(&p, 10, 10).unwrap(), statuses);
    }
}

#[test]
fn trivial_thresholds() {
    let t = table(&[vec![3, 20], vec![1, 40]]);
    let p = &t.problem;
    // k = 1: nothing is small enough to suppress.
    assert!(suppressed(&protect(p, 1, 10).unwrap()).is_empty());
    assert!(suppressed(&protect(p, 0, 10).unwrap()).is_empty());
    // width 0: the primaries alone pass.
    let statuses = protect(p, 10, 0).unwrap();
    assert_eq!(statuses, primary_suppression(p, 10));
    // A cell with no constraint at all is unbounded above.
    let mut lone = LinkedTables::new();
    let c = lone.add_cell(2);
    let statuses = protect(&lone, 5, 100).unwrap();
    assert_eq!(statuses, vec![CellStatus::Primary]);
    let (lo, hi) = feasible_range(&lone, &statuses, c).unwrap();
    assert_eq!((lo, hi), (1.0, f64::INFINITY));
}

#[test]
fn statuses_must_match_the_cells() {
    let (p, _) = one_row();
    assert_eq!(
        audit(&p, &[CellStatus::Published], 5),
        Err(SdcError::StatusCount { given: 1, cells: 4 })
    );
}

#[test]
fn published_cells_have_their_value_as_range() {
    let (p, [x, ..]) = one_row();
    let statuses = primary_suppression(&p, 10);
    assert_range(&p, &statuses, x, 15.0, 15.0);
}

/// Counts with many small values and some zeros, as in real breakdowns.
fn count() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => Just(0u64),
        4 => 1u64..10,
        3 => 10u64..200,
    ]
}

fn counts() -> impl Strategy<Value = Vec<Vec<u64>>> {
    (1usize..=5, 1usize..=5).prop_flat_map(|(rows, columns)| {
        proptest::collection::vec(proptest::collection::vec(count(), columns), rows)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn protected_tables_pass_the_audit(
        counts in counts(),
        k in 2u64..=10,
        width in 1u64..=15,
    ) {
        let t = table(&counts);
        let p = &t.problem;
        let statuses = protect(p, k, width).unwrap();
        let findings = audit(p, &statuses, width).unwrap();
        prop_assert!(findings.is_empty(), "{findings:?}");
        for (i, cell) in p.cells().iter().enumerate() {
            let small = (1..k).contains(&cell.value);
            if small {
                prop_assert_eq!(statuses[i], CellStatus::Primary);
            }
            if statuses[i] == CellStatus::Published {
                prop_assert!(!small);
            }
            if cell.value == 0 {
                prop_assert_eq!(statuses[i], CellStatus::Published);
            }
        }
        prop_assert_eq!(protect(p, k, width).unwrap(), statuses);
    }
}

/// The protection loop without the tables it carries between programs
/// (`audit::Seen`) and without probes: a fresh audit every round, and the range of every
/// later finding of a round solved afresh, as the loop was first written.
fn protect_solving_every_program(p: &LinkedTables, k: u64, width: u64) -> Vec<CellStatus> {
    use super::audit::{Seen, wide_enough};
    use super::protect::{cheapest_complements, constraints_of_cells};
    let mut statuses = primary_suppression(p, k);
    let touching = constraints_of_cells(p);
    loop {
        let findings = audit_solving_every_program(p, &statuses, width);
        if findings.is_empty() {
            return statuses;
        }
        for (position, exposed) in findings.iter().enumerate() {
            if position > 0 {
                let (lo, hi) = feasible_range(p, &statuses, exposed.cell).unwrap();
                if wide_enough(lo, hi, width) {
                    continue;
                }
            }
            let mut scratch = Seen::of(p, &statuses);
            let complements =
                cheapest_complements(p, &statuses, exposed.cell, width, &touching, &mut scratch)
                    .unwrap();
            for cell in complements {
                statuses[cell.0] = CellStatus::Secondary;
            }
        }
    }
}

/// The audit without tables carried between programs and without probes:
/// both ends of every suppressed cell's range solved on their own, as
/// [`feasible_range`] does, in cell order.
fn audit_solving_every_program(
    p: &LinkedTables,
    statuses: &[CellStatus],
    width: u64,
) -> Vec<AuditFinding> {
    use super::audit::wide_enough;
    (0..statuses.len())
        .filter(|&i| statuses[i].is_suppressed())
        .filter_map(|i| {
            let (lo, hi) = feasible_range(p, statuses, CellId(i)).unwrap();
            (!wide_enough(lo, hi, width)).then(|| AuditFinding {
                cell: CellId(i),
                label: p.describe(CellId(i)),
                status: statuses[i],
                value: p.cells()[i].value,
                lo,
                hi,
            })
        })
        .collect()
}

/// More suppressed cells than primary suppression with `k` gives (the
/// published cells `extra` marks), fewer than protection would add:
/// exposed and protected cells mixed.
fn more_than_primary(p: &LinkedTables, k: u64, extra: &[bool]) -> Vec<CellStatus> {
    let mut statuses = primary_suppression(p, k);
    for (status, more) in statuses.iter_mut().zip(extra) {
        if *status == CellStatus::Published && *more {
            *status = CellStatus::Secondary;
        }
    }
    statuses
}

/// Two ends of a range the same, the solver's round-off allowed for.
fn close(x: f64, y: f64) -> bool {
    x == y || (x - y).abs() < 1e-6 || (x.is_nan() && y.is_nan())
}

/// Findings compared with the solver's round-off allowed for.
fn same_findings(a: &[AuditFinding], b: &[AuditFinding]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(a, b)| {
            a.cell == b.cell && a.status == b.status && close(a.lo, b.lo) && close(a.hi, b.hi)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The probes (programs that move many cells at once) and the tables
    /// carried from them only spare programs whose answer they imply: the
    /// audit reports the same cells with the same ranges as solving both
    /// ends of every range, on the true tables and on what a reader has
    /// (published values only, some with noise).
    #[test]
    fn probes_change_no_finding(
        counts in counts(),
        k in 2u64..=10,
        width in 1u64..=15,
        extra in proptest::collection::vec(any::<bool>(), 36),
        noise in 0u64..=3,
    ) {
        let t = table(&counts);
        let p = &t.problem;
        let statuses = more_than_primary(p, k, &extra);
        let found = audit(p, &statuses, width).unwrap();
        prop_assert!(same_findings(&found, &audit_solving_every_program(p, &statuses, width)));
        let values: Vec<u64> = p.cells().iter().map(|c| c.value).collect();
        let view = p.published_view(&statuses, &values, noise);
        let found = audit(&view, &statuses, width).unwrap();
        prop_assert!(same_findings(&found, &audit_solving_every_program(&view, &statuses, width)));
    }

    /// The ranges of many cells at once, each group's solved together with
    /// the programs a consistent table answers left out, are each cell's
    /// range solved alone: on the true tables and on what a reader has
    /// (published values only, some with noise), every cell asked for, in
    /// an order that is not the cells' and with one asked twice.
    #[test]
    fn ranges_solved_together_are_each_range_solved_alone(
        counts in counts(),
        k in 2u64..=10,
        extra in proptest::collection::vec(any::<bool>(), 36),
        noise in 0u64..=3,
    ) {
        let t = table(&counts);
        let p = &t.problem;
        let statuses = more_than_primary(p, k, &extra);
        let mut asked: Vec<CellId> = (0..statuses.len()).rev().map(CellId).collect();
        asked.push(asked[0]);
        let values: Vec<u64> = p.cells().iter().map(|c| c.value).collect();
        let view = p.published_view(&statuses, &values, noise);
        for problem in [p, &view] {
            let together = feasible_ranges(problem, &statuses, &asked).unwrap();
            prop_assert_eq!(together.len(), asked.len());
            for (&cell, &(lo, hi)) in asked.iter().zip(&together) {
                let (alone_lo, alone_hi) = feasible_range(problem, &statuses, cell).unwrap();
                prop_assert!(close(lo, alone_lo) && close(hi, alone_hi),
                    "cell {}: together [{lo}, {hi}], alone [{alone_lo}, {alone_hi}]", cell.0);
            }
        }
    }

    /// The tables carried between programs only spare programs whose
    /// answer is already known: every choice, so every status, is the same
    /// as when each program is solved.
    #[test]
    fn carrying_consistent_tables_changes_no_status(
        counts in counts(),
        k in 2u64..=10,
        width in 1u64..=15,
    ) {
        let t = table(&counts);
        let p = &t.problem;
        prop_assert_eq!(protect(p, k, width).unwrap(), protect_solving_every_program(p, k, width));
    }
}

/// A perturbed published value is a range to the audit: a suppressed part
/// of a perturbed total is no longer pinned, but its range is only as wide
/// as the noise allows, and a noise bound too small still exposes it.
#[test]
fn perturbed_published_cells_give_relations_slack() {
    let mut t = LinkedTables::without_values();
    let part = t.add_cell(0);
    let other = t.add_cell(20);
    let total = t.add_cell(23);
    t.add_sum(&[part, other], total).unwrap();
    let statuses = [
        CellStatus::Primary,
        CellStatus::Published,
        CellStatus::Published,
    ];
    let exact = feasible_range(&t, &statuses, part).unwrap();
    assert_eq!(exact, (3.0, 3.0));
    t.set_noise(other, 2);
    t.set_noise(total, 2);
    let (lo, hi) = feasible_range(&t, &statuses, part).unwrap();
    assert!(
        (lo - 1.0).abs() < 1e-6 && (hi - 7.0).abs() < 1e-6,
        "{lo} {hi}"
    );
    assert_eq!(audit(&t, &statuses, 10).unwrap().len(), 1);
    assert!(audit(&t, &statuses, 6).unwrap().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The group the protection loop finds for one cell, walking from it,
    /// is the group that finding every group gives the cell: the same cells
    /// and constraints in the same order, and none for a known cell.
    #[test]
    fn one_cells_group_is_its_group_among_all(
        counts in counts(),
        unknown in proptest::collection::vec(prop_oneof![2 => Just(false), 3 => Just(true)], 36),
    ) {
        use super::audit::{Components, determined};
        use super::protect::constraints_of_cells;
        let t = table(&counts);
        let p = &t.problem;
        let statuses: Vec<CellStatus> = (0..p.cells().len())
            .map(|i| if unknown[i] { CellStatus::Secondary } else { CellStatus::Published })
            .collect();
        let all = Components::of(p, &statuses);
        let known: std::sync::Arc<[Option<f64>]> = determined(p, &statuses).into();
        let touching = constraints_of_cells(p);
        for cell in 0..p.cells().len() {
            let one = Components::around(p, known.clone(), cell, &touching);
            prop_assert_eq!(one.members_of(cell), all.members_of(cell));
            prop_assert_eq!(one.constraints_of(cell), all.constraints_of(cell));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The known cells kept up to date while complements are suppressed,
    /// one after another, are the known cells found afresh after each.
    #[test]
    fn known_cells_kept_up_to_date_are_the_known_cells_found_afresh(
        counts in counts(),
        k in 2u64..=10,
        extra in proptest::collection::vec(any::<bool>(), 36),
        steps in proptest::collection::vec(proptest::collection::vec(0usize..36, 1..4), 1..8),
    ) {
        use super::audit::{Determined, determined};
        use super::protect::constraints_of_cells;
        let t = table(&counts);
        let p = &t.problem;
        let touching = constraints_of_cells(p);
        let mut statuses = more_than_primary(p, k, &extra);
        let mut kept = Determined::of(p, &statuses);
        for step in steps {
            let newly: Vec<CellId> = step
                .iter()
                .map(|&i| i % statuses.len())
                .filter(|&i| statuses[i] == CellStatus::Published && p.cells()[i].value > 0)
                .map(CellId)
                .collect();
            for cell in &newly {
                statuses[cell.0] = CellStatus::Secondary;
            }
            // a group still holding the cells, as the loop's may
            let held = kept.known();
            kept.suppressed(p, &statuses, &newly, &touching);
            prop_assert_eq!(&kept.known()[..], &determined(p, &statuses)[..]);
            drop(held);
        }
    }
}
