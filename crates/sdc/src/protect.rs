//! Choosing what to suppress: primary suppression of small counts, then
//! complementary (secondary) suppression until the audit passes.
//!
//! Why not the plain greedy "suppress the smallest published cell sharing a
//! constraint with the exposed cell": in a table with row and column totals
//! a small cell is only protected by a rectangle of four interior cells (or
//! by totals), and the fourth corner shares no constraint with the exposed
//! cell. Cell-by-cell greedy then drifts into suppressing totals one after
//! another. Instead, for the first exposed cell, a small linear program
//! finds the cheapest way to *move* the published values while keeping every
//! sum true: the cells that have to move are exactly the complements needed
//! (the classic network/LP heuristic for cell suppression). Cost per unit of
//! movement is the cell's value (so small cells are preferred, as they carry
//! least information), and already suppressed cells move for free.
//!
//! Why this always terminates successfully: scaling every cell by (1 + t)
//! keeps all sums true and zeros at zero, so some move with the exposed cell
//! going up by any amount always exists once enough non-zero cells are
//! suppressed. Each round suppresses at least one new cell, so there are at
//! most as many rounds as cells (in practice two or three: a round fixes
//! every exposed cell it finds, and only new secondary cells may need
//! another).

use microlp::{ComparisonOp, OptimizationDirection, Problem, Variable};

use super::audit::{
    CellStatus, Components, Determined, Seen, audit, audit_cell, audit_seen, check_statuses,
    signed_terms, solver_error, tolerance,
};
use super::model::{CellId, LinkedTables, SdcError};

/// Marks counts in 1..=k-1 as [`CellStatus::Primary`]; all else, zeros
/// included (an empty category discloses no one), is published.
pub fn primary_suppression(problem: &LinkedTables, k: u64) -> Vec<CellStatus> {
    problem
        .cells()
        .iter()
        .map(|cell| {
            if cell.hidden {
                CellStatus::Hidden
            } else if (1..k).contains(&cell.value) {
                CellStatus::Primary
            } else {
                CellStatus::Published
            }
        })
        .collect()
}

/// Statuses (indexed by [`CellId`]) such that no count in 1..=k-1 is
/// published and every suppressed cell has a feasible range of at least
/// `width` (see [`audit`]). Deterministic: the same problem gives the same
/// statuses.
pub fn protect(problem: &LinkedTables, k: u64, width: u64) -> Result<Vec<CellStatus>, SdcError> {
    let mut statuses = primary_suppression(problem, k);
    // Statuses only grow from here, so the tables found consistent so far
    // stay consistent, and spare every program they already answer.
    let mut seen = Seen::of(problem, &statuses);
    let touching = constraints_of_cells(problem);
    // Each round suppresses at least one more cell; the bound only guards
    // against a solver answering inconsistently.
    for _ in 0..=problem.cells().len() {
        let findings = audit_seen(problem, &statuses, width, &mut seen)?;
        if findings.is_empty() {
            return Ok(statuses);
        }
        // Suppressing more cells only widens ranges, so a cell protected
        // earlier in the round stays protected; a cell protected as a side
        // effect of an earlier complement is skipped. New secondary cells
        // are checked in the next round. The known cells are found once
        // per round, when a second finding needs them, then kept up to
        // date as complements are suppressed; only the checked cell's
        // group is found.
        let mut known: Option<Determined> = None;
        for (position, exposed) in findings.iter().enumerate() {
            if position > 0 {
                let known = known.get_or_insert_with(|| Determined::of(problem, &statuses));
                let group = Components::around(problem, known.known(), exposed.cell.0, &touching);
                if audit_cell(problem, &statuses, &group, exposed.cell.0, width, &mut seen)?
                    .is_none()
                {
                    continue;
                }
            }
            let complements = cheapest_complements(
                problem,
                &statuses,
                exposed.cell,
                width,
                &touching,
                &mut seen,
            )?;
            if complements.is_empty() {
                return Err(SdcError::Unprotectable {
                    cell: exposed.label.clone(),
                    reason: format!(
                        "range [{}, {}] is narrower than {width} and the solver proposes no further cell",
                        exposed.lo, exposed.hi
                    ),
                });
            }
            for cell in &complements {
                statuses[cell.0] = CellStatus::Secondary;
            }
            if let Some(known) = &mut known {
                known.suppressed(problem, &statuses, &complements, &touching);
            }
        }
    }
    let cell = audit(problem, &statuses, width)?
        .first()
        .map(|f| f.label.clone())
        .unwrap_or_default();
    Err(SdcError::Unprotectable {
        cell,
        reason: "no progress after suppressing every cell".to_string(),
    })
}

/// Movement of one cell in one direction of the perturbation: value after
/// the move is `value + up - down`.
#[derive(Clone, Copy)]
struct Move {
    up: Variable,
    down: Variable,
}

/// The published non-zero cells that must also be suppressed so that
/// `exposed` can be `width` apart between two consistent tables.
///
/// Two perturbations of the whole table are sought, one raising the exposed
/// cell by `a`, one lowering it by `b`, with a + b >= width; each keeps every
/// sum true, hidden cells non-negative and every other cell at least 1
/// (a reader knows suppressed cells are not zero). Published zero cells may
/// not move (they stay published). Once every cell that moves is
/// suppressed, both perturbed tables agree with everything published, so
/// the exposed cell's range is at least `width` wide.
///
/// Only cells near the exposed one may move: first those within two
/// constraints of it, then a wider circle when no move exists that close.
/// Every constraint touching a movable cell is part of the program, so a
/// move found in a small circle is a move of the whole model; the last
/// circle is the whole model, where the scaling argument guarantees one.
///
/// The two perturbed tables are consistent once the complements are
/// suppressed, so their values widen `seen` (the caller suppresses them).
pub(crate) fn cheapest_complements(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    exposed: CellId,
    width: u64,
    touching: &[Vec<usize>],
    seen: &mut Seen,
) -> Result<Vec<CellId>, SdcError> {
    check_statuses(problem, statuses)?;
    let mut movable = Movable::only(problem.cells().len(), exposed.0);
    let mut reach = 0;
    for circle in [2usize, 4, 8, usize::MAX] {
        while reach < circle {
            if !movable.widen(problem, touching) {
                break;
            }
            reach += 1;
        }
        let whole = movable.cells.len() == problem.cells().len();
        match complements_within(problem, statuses, exposed, width, &movable, touching, seen)? {
            Some(found) => return Ok(found),
            None if whole || circle == usize::MAX => {
                return Err(SdcError::Unprotectable {
                    cell: problem.describe(exposed),
                    reason: "no consistent table moves it by the width asked for".to_string(),
                });
            }
            None => continue,
        }
    }
    unreachable!("the last circle returns")
}

/// The cells a program may move: a flag per cell of the model, and the
/// cells flagged, in the order they were added. Each program looks at
/// these few cells, not at every cell of the model: walking the whole
/// model twice per program (a report's model has thousands of cells, its
/// programs tens) was more of the protection's time than the programs
/// that were then solved.
struct Movable {
    is: Vec<bool>,
    cells: Vec<usize>,
}

impl Movable {
    /// `cell` alone, in a model of `cells` cells.
    fn only(cells: usize, cell: usize) -> Movable {
        let mut is = vec![false; cells];
        is[cell] = true;
        Movable {
            is,
            cells: vec![cell],
        }
    }

    /// Adds every cell sharing a constraint with a movable cell; false when
    /// nothing was added.
    fn widen(&mut self, problem: &LinkedTables, touching: &[Vec<usize>]) -> bool {
        let before = self.cells.len();
        for at in 0..before {
            for &c in &touching[self.cells[at]] {
                for id in problem.constraints()[c].terms() {
                    if !std::mem::replace(&mut self.is[id.0], true) {
                        self.cells.push(id.0);
                    }
                }
            }
        }
        self.cells.len() > before
    }

    /// The movable cells in cell order: the order their variables are
    /// made in, so that the program is the same whatever order the cells
    /// were added in.
    fn in_order(&self) -> Vec<usize> {
        let mut cells = self.cells.clone();
        cells.sort_unstable();
        cells
    }
}

/// For each cell, the constraints it appears in.
pub(crate) fn constraints_of_cells(problem: &LinkedTables) -> Vec<Vec<usize>> {
    let mut touching = vec![Vec::new(); problem.cells().len()];
    for (index, constraint) in problem.constraints().iter().enumerate() {
        for id in constraint.terms() {
            touching[id.0].push(index);
        }
    }
    touching
}

/// The cheapest move of the movable cells (see [`cheapest_complements`]),
/// or None when none exists.
fn complements_within(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    exposed: CellId,
    width: u64,
    movable: &Movable,
    touching: &[Vec<usize>],
    seen: &mut Seen,
) -> Result<Option<Vec<CellId>>, SdcError> {
    let cells = problem.cells();
    let in_order = movable.in_order();
    // where a movable cell's moves are, by its cell id
    let position = |cell: usize| in_order.binary_search(&cell).ok();
    let mut lp = Problem::new(OptimizationDirection::Minimize);
    let mut perturbations: [Vec<Option<Move>>; 2] = [Vec::new(), Vec::new()];
    for (sense, moves) in perturbations.iter_mut().enumerate() {
        let raising = sense == 0;
        for &i in &in_order {
            let cell = &cells[i];
            if statuses[i] == CellStatus::Published && cell.value == 0 {
                moves.push(None);
                continue;
            }
            let value = cell.value as f64;
            let floor = if cell.hidden || cell.value == 0 {
                0.0
            } else {
                1.0
            };
            let cost_here = if i == exposed.0 || statuses[i].is_unknown() {
                0.0
            } else {
                cost(i, cell.value, cells.len())
            };
            let (up, down) = if i == exposed.0 {
                // Only in the direction this perturbation is for.
                if raising {
                    ((0.0, f64::INFINITY), (0.0, 0.0))
                } else {
                    ((0.0, 0.0), (0.0, value - floor))
                }
            } else {
                ((0.0, f64::INFINITY), (0.0, value - floor))
            };
            moves.push(Some(Move {
                up: lp.add_var(cost_here, up),
                down: lp.add_var(cost_here, down),
            }));
        }
        let mut included: Vec<usize> = in_order
            .iter()
            .flat_map(|&i| touching[i].iter().copied())
            .collect();
        included.sort_unstable();
        included.dedup();
        for constraint in included.iter().map(|&c| &problem.constraints()[c]) {
            let mut terms: Vec<(Variable, f64)> = Vec::new();
            for (id, sign) in signed_terms(constraint) {
                if let Some(m) = position(id).and_then(|at| moves[at]) {
                    terms.push((m.up, sign));
                    terms.push((m.down, -sign));
                }
            }
            if !terms.is_empty() {
                lp.add_constraint(terms.as_slice(), ComparisonOp::Eq, 0.0);
            }
        }
    }
    let at = position(exposed.0).expect("the exposed cell is movable");
    let (Some(raise), Some(lower)) = (perturbations[0][at], perturbations[1][at]) else {
        unreachable!("the exposed cell is movable and suppressed, so it has moves");
    };
    let spread = [(raise.up, 1.0), (lower.down, 1.0)];
    lp.add_constraint(spread.as_slice(), ComparisonOp::Ge, width as f64);

    let solution = match lp.solve() {
        Ok(outcome) if outcome.is_optimal() => match outcome.into_solution() {
            Ok(solution) => solution,
            Err(_) => return Err(solver_error(problem, exposed, "no solution returned")),
        },
        Ok(_) => return Err(solver_error(problem, exposed, "stopped before optimality")),
        Err(microlp::Error::Infeasible) => return Ok(None),
        Err(e) => return Err(solver_error(problem, exposed, &e.to_string())),
    };
    for moves in &perturbations {
        for (&i, m) in in_order.iter().zip(moves) {
            if let Some(m) = m {
                let value = cells[i].value as f64;
                seen.widen(
                    i,
                    value + solution.var_value(m.up) - solution.var_value(m.down),
                );
            }
        }
    }
    let moved = |m: &Option<Move>| {
        m.is_some_and(|m| {
            solution.var_value(m.up).abs() + solution.var_value(m.down).abs() > tolerance(width)
        })
    };
    Ok(Some(
        in_order
            .iter()
            .enumerate()
            .filter(|&(_, &i)| statuses[i] == CellStatus::Published && cells[i].value > 0)
            .filter(|&(at, _)| perturbations.iter().any(|moves| moved(&moves[at])))
            .map(|(_, &i)| CellId(i))
            .collect(),
    ))
}

/// Cost of moving a published cell by one unit: its value, so the smallest
/// cells are hidden first, plus one so that hiding more cells always costs
/// something, plus a tiny id-ordered term so that ties between equal cells go
/// to the lower id instead of to the solver's pivoting order.
fn cost(index: usize, value: u64, cells: usize) -> f64 {
    value as f64 + 1.0 + 1e-3 * (index + 1) as f64 / (cells + 1) as f64
}

#[cfg(test)]
mod movable_tests {
    use super::*;

    /// A 3 x 3 table with its margins, and a second table sharing the row
    /// totals: cells several constraints apart.
    fn model() -> LinkedTables {
        let counts: Vec<Vec<u64>> = (0..3)
            .map(|r| (0..3).map(|c| 1 + r * 3 + c).collect())
            .collect();
        let crate::tests::Table {
            mut problem,
            row_totals,
            ..
        } = crate::tests::table(&counts);
        // the second table: each row total split in two
        for row in row_totals {
            let value = problem.cells()[row.0].value;
            let a = problem.add_cell(value / 2);
            let b = problem.add_cell(value - value / 2);
            problem.add_sum(&[a, b], row).unwrap();
        }
        problem
    }

    /// The cells at most `steps` shared constraints from `from`, found by
    /// walking the constraints, not the cells' lists of them.
    fn within(p: &LinkedTables, from: usize, steps: usize) -> Vec<usize> {
        let mut reached = vec![from];
        for _ in 0..steps {
            let mut next = reached.clone();
            for c in p.constraints() {
                let terms: Vec<usize> = c.terms().map(|id| id.0).collect();
                if terms.iter().any(|t| reached.contains(t)) {
                    next.extend(terms);
                }
            }
            next.sort_unstable();
            next.dedup();
            reached = next;
        }
        reached
    }

    #[test]
    fn the_movable_cells_are_those_within_as_many_constraints_as_widenings() {
        let p = model();
        let touching = constraints_of_cells(&p);
        for from in 0..p.cells().len() {
            let mut movable = Movable::only(p.cells().len(), from);
            assert_eq!(movable.in_order(), vec![from]);
            for steps in 1..=4 {
                let grew = movable.widen(&p, &touching);
                let want = within(&p, from, steps);
                assert_eq!(movable.in_order(), want, "cell {from}, {steps} widenings");
                assert_eq!(grew, want != within(&p, from, steps - 1));
                // the flags say the same as the list
                let flagged: Vec<usize> = (0..p.cells().len()).filter(|&i| movable.is[i]).collect();
                assert_eq!(flagged, want);
            }
        }
    }
}
