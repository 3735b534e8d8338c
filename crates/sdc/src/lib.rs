//! Statistical disclosure control for published count tables.
//!
//! The engine sees only [`LinkedTables`]: non-negative integer cells and
//! `sum(parts) = total` constraints between them, one set per published
//! table, with a margin shared between tables being the same cell id in
//! both. [`protect`] suppresses counts in 1..=K-1 (primary) and then enough
//! other cells (secondary) that no suppressed cell can be narrowed to a
//! range smaller than the requested width; [`audit`] checks any set of
//! statuses independently with two linear programs per suppressed cell.
//!
//! ```
//! use safetynet_sdc::{LinkedTables, audit, protect};
//! // One row: 3 + 20 = 23, the total published.
//! let mut t = LinkedTables::new();
//! let a = t.add_cell(3);
//! let b = t.add_cell(20);
//! let total = t.add_cell(23);
//! t.add_sum(&[a, b], total).unwrap();
//! let statuses = protect(&t, 10, 10).unwrap();
//! assert!(statuses[a.0].is_suppressed() && statuses[b.0].is_suppressed());
//! assert!(audit(&t, &statuses, 10).unwrap().is_empty());
//! ```

mod audit;
mod model;
mod perturb;
mod protect;
#[cfg(test)]
mod tests;

pub use audit::{AuditFinding, CellStatus, audit, feasible_range, feasible_ranges};
pub use model::{Cell, CellId, LinkedTables, SdcError, SumConstraint};
pub use perturb::{CellKeySecret, DEFAULT_MAX_NOISE, Perturbation, combine_keys};
pub use protect::{primary_suppression, protect};
