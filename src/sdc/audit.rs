//! What an intruder can compute about a suppressed cell from the published
//! ones: the smallest and largest value it can take.
//!
//! The intruder is assumed to know every published cell, every constraint,
//! and that counts are non-negative, and to reason with real numbers (the
//! linear programming relaxation). Integrality would at most narrow a range
//! by less than one, and is what the standard tools (e.g. tau-Argus) ignore
//! as well.
//!
//! The intruder is deliberately *not* credited with knowing that a primary
//! cell lies in 1..=K-1, although the suppression rule is public: with that
//! bound a primary cell's range could never exceed K-2, so no width of K or
//! more could ever be met. The width asked for is a protection margin over
//! the published arithmetic, not over the rule itself.

use microlp::{ComparisonOp, OptimizationDirection, Problem};

use super::model::{CellId, LinkedTables, SdcError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CellStatus {
    Published,
    /// Suppressed because its count is in 1..=K-1.
    Primary,
    /// Suppressed only so that a primary cell cannot be recomputed.
    Secondary,
}

impl CellStatus {
    pub fn is_suppressed(self) -> bool {
        self != CellStatus::Published
    }
}

/// A suppressed cell whose feasible range is narrower than the width asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditFinding {
    pub cell: CellId,
    /// The label with the id, as [`LinkedTables::describe`] gives it.
    pub label: String,
    pub status: CellStatus,
    pub value: u64,
    pub lo: f64,
    /// `f64::INFINITY` when nothing bounds the cell from above.
    pub hi: f64,
}

/// Slack for the solver's round-off (its feasibility tolerance is 1e-7
/// absolute), so that a range of exactly `width` counts as wide enough.
pub(crate) fn tolerance(width: u64) -> f64 {
    1e-6 * (1.0 + width as f64)
}

/// Whether [lo, hi] protects a cell; an unbounded hi always does.
pub(crate) fn wide_enough(lo: f64, hi: f64, width: u64) -> bool {
    hi - lo >= width as f64 - tolerance(width)
}

/// Every suppressed cell whose range [lo, hi] is narrower than `width`, in
/// cell order. An empty list means the statuses are safe to publish.
pub fn audit(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    width: u64,
) -> Result<Vec<AuditFinding>, SdcError> {
    check_statuses(problem, statuses)?;
    let mut findings = Vec::new();
    for (index, status) in statuses.iter().enumerate() {
        if !status.is_suppressed() {
            continue;
        }
        let cell = CellId(index);
        let (lo, hi) = feasible_range(problem, statuses, cell)?;
        if !wide_enough(lo, hi, width) {
            findings.push(AuditFinding {
                cell,
                label: problem.describe(cell),
                status: *status,
                value: problem.cells()[index].value,
                lo,
                hi,
            });
        }
    }
    Ok(findings)
}

/// The smallest and largest value `cell` can take given the published cells
/// (see the module comment for what the intruder knows). A published cell's
/// range is its value.
pub fn feasible_range(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    cell: CellId,
) -> Result<(f64, f64), SdcError> {
    check_statuses(problem, statuses)?;
    let value = problem.cell(cell)?.value as f64;
    if !statuses[cell.0].is_suppressed() {
        return Ok((value, value));
    }
    let lo = extreme(problem, statuses, cell, OptimizationDirection::Minimize)?;
    let hi = extreme(problem, statuses, cell, OptimizationDirection::Maximize)?;
    Ok((lo, hi))
}

pub(crate) fn check_statuses(
    problem: &LinkedTables,
    statuses: &[CellStatus],
) -> Result<(), SdcError> {
    if statuses.len() != problem.cells().len() {
        return Err(SdcError::StatusCount {
            given: statuses.len(),
            cells: problem.cells().len(),
        });
    }
    Ok(())
}

fn extreme(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    target: CellId,
    direction: OptimizationDirection,
) -> Result<f64, SdcError> {
    let mut lp = Problem::new(direction);
    // One variable per suppressed cell; published cells enter as constants.
    let vars: Vec<Option<microlp::Variable>> = statuses
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.is_suppressed().then(|| {
                let objective = if i == target.0 { 1.0 } else { 0.0 };
                lp.add_var(objective, (0.0, f64::INFINITY))
            })
        })
        .collect();
    for constraint in problem.constraints() {
        // sum(parts) - total = 0, with published terms moved to the right.
        let signed = constraint
            .parts
            .iter()
            .map(|&p| (p, 1.0))
            .chain(std::iter::once((constraint.total, -1.0)));
        let mut terms = Vec::new();
        let mut rhs = 0.0;
        for (id, sign) in signed {
            match vars[id.0] {
                Some(var) => terms.push((var, sign)),
                None => rhs -= sign * problem.cells()[id.0].value as f64,
            }
        }
        // All published: true by construction (`add_sum` checks it).
        if !terms.is_empty() {
            lp.add_constraint(terms.as_slice(), ComparisonOp::Eq, rhs);
        }
    }
    match lp.solve() {
        Ok(outcome) => match outcome.solution() {
            Some(solution) if outcome.is_optimal() => Ok(solution.objective()),
            _ => Err(solver_error(problem, target, "stopped before optimality")),
        },
        Err(microlp::Error::Unbounded) => Ok(f64::INFINITY),
        Err(e) => Err(solver_error(problem, target, &e.to_string())),
    }
}

pub(crate) fn solver_error(problem: &LinkedTables, cell: CellId, reason: &str) -> SdcError {
    SdcError::Solver {
        cell: problem.describe(cell),
        reason: reason.to_string(),
    }
}
