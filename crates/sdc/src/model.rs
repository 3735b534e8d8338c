//! The generic model the engine works on: integer cells linked by sums.
//! Nothing here knows about report tables; a caller translates each
//! published table (and each margin shared between tables) into cells and
//! `parts = total` constraints.

use std::fmt;

/// Index of a cell in a [`LinkedTables`], as returned by
/// [`LinkedTables::add_cell`]. Statuses are returned in the same order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellId(pub usize);

impl fmt::Display for CellId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cell #{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The true count. For a model read back from published tables
    /// ([`LinkedTables::without_values`]) unknown values are 0 and unused.
    pub value: u64,
    /// Shown in messages instead of the bare id, e.g. "Ghana 2024 / forced labour".
    pub label: Option<String>,
    /// Never published anywhere: a total no table shows, or the slack of an
    /// inequality. The intruder does not know it, and it is not audited.
    pub hidden: bool,
    /// How far the published value may be from the true one (cell-key
    /// perturbation, see [`crate::Perturbation`]); 0 for an exact value.
    /// The audit of published tables gives every relation the sum of the
    /// noise bounds of its published terms as slack.
    pub noise: u64,
}

/// `sum(parts) = total`. A single part expresses equality of two cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumConstraint {
    pub parts: Vec<CellId>,
    pub total: CellId,
}

impl SumConstraint {
    /// Every cell of the sum: the parts in their order, then the total.
    pub fn terms(&self) -> impl Iterator<Item = CellId> + '_ {
        self.parts
            .iter()
            .copied()
            .chain(std::iter::once(self.total))
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SdcError {
    #[error("{0} does not exist")]
    UnknownCell(CellId),

    #[error("a sum constraint needs at least one part (total {total})")]
    EmptySum { total: String },

    /// A cell twice in one constraint would be a coefficient of 2, which no
    /// published table has: almost certainly a translation mistake.
    #[error("{cell} appears more than once in the sum for {total}")]
    RepeatedCell { cell: String, total: String },

    /// The published values do not satisfy the constraint, so the tables
    /// cannot be the margins of one another as described.
    #[error("parts sum to {parts_sum} but {total} is {total_value}")]
    Inconsistent {
        total: String,
        total_value: u64,
        parts_sum: u128,
    },

    #[error("{given} statuses given for {cells} cells")]
    StatusCount { given: usize, cells: usize },

    /// No choice of complementary cells protects this cell. With sums of
    /// non-negative cells only this should not happen (see `protect`), so it
    /// signals a numerical failure of the solver on this cell.
    #[error("cannot protect {cell}: {reason}")]
    Unprotectable { cell: String, reason: String },

    #[error("linear programming solver failed on {cell}: {reason}")]
    Solver { cell: String, reason: String },
}

/// Cells and the sums that link them: one or several tables whose shared
/// margins are the same cell ids.
#[derive(Debug, Clone, Default)]
pub struct LinkedTables {
    cells: Vec<Cell>,
    constraints: Vec<SumConstraint>,
    /// False for a model rebuilt from published tables, where suppressed
    /// and hidden values are unknown: sums cannot be checked then.
    unknown_values: bool,
}

impl LinkedTables {
    pub fn new() -> Self {
        Self::default()
    }

    /// A model whose unpublished values are unknown (all 0): what an
    /// auditor reading the published tables has. Only [`crate::audit`]
    /// is meaningful on it; sums are not checked against values.
    pub fn without_values() -> Self {
        LinkedTables {
            unknown_values: true,
            ..Self::default()
        }
    }

    pub fn has_values(&self) -> bool {
        !self.unknown_values
    }

    pub fn add_cell(&mut self, value: u64) -> CellId {
        self.push(Cell {
            value,
            label: None,
            hidden: false,
            noise: 0,
        })
    }

    pub fn add_labelled_cell(&mut self, value: u64, label: impl Into<String>) -> CellId {
        self.push(Cell {
            value,
            label: Some(label.into()),
            hidden: false,
            noise: 0,
        })
    }

    /// Sets the value of a cell read back as suppressed and found published
    /// elsewhere (a model [`LinkedTables::without_values`] only).
    pub fn reveal(&mut self, id: CellId, value: u64) {
        if self.unknown_values
            && let Some(cell) = self.cells.get_mut(id.0)
        {
            cell.value = value;
        }
    }

    /// Marks a published value as perturbed by up to `noise` either way.
    pub fn set_noise(&mut self, id: CellId, noise: u64) {
        if let Some(cell) = self.cells.get_mut(id.0) {
            cell.noise = noise;
        }
    }

    /// A cell that no table publishes (see [`Cell::hidden`]).
    pub fn add_hidden_cell(&mut self, value: u64, label: impl Into<String>) -> CellId {
        self.push(Cell {
            value,
            label: Some(label.into()),
            hidden: true,
            noise: 0,
        })
    }

    /// `sum(parts) <= total`, through a slack cell: the remainder, "in the
    /// total but in none of the parts" (records of a type without a gender
    /// recorded, victims of a form outside its top five). No table
    /// publishes it, but a reader can subtract, so it is a cell like any
    /// other: a remainder from 1 to K-1 is protected as a suppressed count
    /// (the practice of tau-Argus, which treats every cell of a complete
    /// table as a cell).
    pub fn add_at_most(&mut self, parts: &[CellId], total: CellId) -> Result<(), SdcError> {
        let parts_sum = self.sum_of(parts)?;
        let total_value = self.cell(total)?.value;
        let slack = if self.unknown_values {
            0
        } else {
            u128::from(total_value)
                .checked_sub(parts_sum)
                .and_then(|v| u64::try_from(v).ok())
                .ok_or_else(|| SdcError::Inconsistent {
                    total: self.describe(total),
                    total_value,
                    parts_sum,
                })?
        };
        let label = format!("{} not in the parts", self.describe(total));
        let slack = self.push(Cell {
            value: slack,
            label: Some(label),
            hidden: false,
            noise: 0,
        });
        let mut with_slack = parts.to_vec();
        with_slack.push(slack);
        self.add_sum(&with_slack, total)
    }

    /// `sum(parts) >= total` (parts that overlap, such as the values of a
    /// multi-valued field), through hidden cells for the sum and the overlap.
    pub fn add_at_least(&mut self, parts: &[CellId], total: CellId) -> Result<(), SdcError> {
        let parts_sum = self.sum_of(parts)?;
        let total_value = self.cell(total)?.value;
        let (sum_value, overlap) = if self.unknown_values {
            (0, 0)
        } else {
            let overlap = parts_sum
                .checked_sub(u128::from(total_value))
                .and_then(|v| u64::try_from(v).ok())
                .ok_or_else(|| SdcError::Inconsistent {
                    total: self.describe(total),
                    total_value,
                    parts_sum,
                })?;
            (u64::try_from(parts_sum).unwrap_or(u64::MAX), overlap)
        };
        let described = self.describe(total);
        let sum = self.add_hidden_cell(sum_value, format!("sum of the parts of {described}"));
        let overlap = self.add_hidden_cell(overlap, format!("overlap of the parts of {described}"));
        self.add_sum(parts, sum)?;
        self.add_sum(&[total, overlap], sum)
    }

    fn sum_of(&self, parts: &[CellId]) -> Result<u128, SdcError> {
        parts
            .iter()
            .map(|&p| self.cell(p).map(|c| u128::from(c.value)))
            .sum()
    }

    fn push(&mut self, cell: Cell) -> CellId {
        self.cells.push(cell);
        CellId(self.cells.len() - 1)
    }

    /// Adds `sum(parts) = total`, refusing it unless the published values
    /// satisfy it: an inconsistent model would make every range empty and
    /// the audit meaningless.
    pub fn add_sum(&mut self, parts: &[CellId], total: CellId) -> Result<(), SdcError> {
        let total_value = self.cell(total)?.value;
        if parts.is_empty() {
            return Err(SdcError::EmptySum {
                total: self.describe(total),
            });
        }
        let mut parts_sum: u128 = 0;
        for (i, &part) in parts.iter().enumerate() {
            parts_sum += u128::from(self.cell(part)?.value);
            if part == total || parts[..i].contains(&part) {
                return Err(SdcError::RepeatedCell {
                    cell: self.describe(part),
                    total: self.describe(total),
                });
            }
        }
        if !self.unknown_values && parts_sum != u128::from(total_value) {
            return Err(SdcError::Inconsistent {
                total: self.describe(total),
                total_value,
                parts_sum,
            });
        }
        self.constraints.push(SumConstraint {
            parts: parts.to_vec(),
            total,
        });
        Ok(())
    }

    /// Adds `a = b`, e.g. the same figure published in two places under
    /// different ids.
    pub fn add_equal(&mut self, a: CellId, b: CellId) -> Result<(), SdcError> {
        self.add_sum(&[a], b)
    }

    /// What a reader of the published values has: the same cells and
    /// relations, the true values gone, each published cell at its
    /// published value (`published[i]`) and perturbed by up to `noise`
    /// unless it is zero. Ranges computed on it use nothing but what was
    /// published.
    pub fn published_view(
        &self,
        statuses: &[crate::CellStatus],
        published: &[u64],
        noise: u64,
    ) -> LinkedTables {
        let mut view = self.clone();
        view.unknown_values = true;
        for (i, cell) in view.cells.iter_mut().enumerate() {
            let shown = statuses.get(i) == Some(&crate::CellStatus::Published);
            cell.value = if shown { published[i] } else { 0 };
            cell.noise = if shown && cell.value > 0 { noise } else { 0 };
        }
        view
    }

    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    pub fn constraints(&self) -> &[SumConstraint] {
        &self.constraints
    }

    pub fn cell(&self, id: CellId) -> Result<&Cell, SdcError> {
        self.cells.get(id.0).ok_or(SdcError::UnknownCell(id))
    }

    /// The cell's label with its id, or the id alone: what messages show.
    pub fn describe(&self, id: CellId) -> String {
        match self.cells.get(id.0).and_then(|c| c.label.as_deref()) {
            Some(label) => format!("{id} ({label})"),
            None => id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_checked_against_published_values() {
        let mut t = LinkedTables::new();
        let a = t.add_cell(2);
        let b = t.add_labelled_cell(3, "b");
        let total = t.add_labelled_cell(5, "row total");
        assert_eq!(t.add_sum(&[a, b], total), Ok(()));
        assert!(matches!(
            t.add_sum(&[a], total),
            Err(SdcError::Inconsistent { parts_sum: 2, .. })
        ));
        assert!(matches!(
            t.add_sum(&[a, a], total),
            Err(SdcError::RepeatedCell { .. })
        ));
        assert!(matches!(
            t.add_sum(&[total], total),
            Err(SdcError::RepeatedCell { .. })
        ));
        assert!(matches!(
            t.add_sum(&[], total),
            Err(SdcError::EmptySum { .. })
        ));
        assert_eq!(
            t.add_sum(&[a, CellId(9)], total),
            Err(SdcError::UnknownCell(CellId(9)))
        );
        assert_eq!(t.constraints().len(), 1);
        assert_eq!(t.describe(total), "cell #2 (row total)");
        assert_eq!(t.describe(a), "cell #0");
    }

    #[test]
    fn equality_is_a_one_part_sum() {
        let mut t = LinkedTables::new();
        let a = t.add_cell(4);
        let b = t.add_cell(4);
        let c = t.add_cell(5);
        assert_eq!(t.add_equal(a, b), Ok(()));
        assert!(t.add_equal(a, c).is_err());
    }
}
