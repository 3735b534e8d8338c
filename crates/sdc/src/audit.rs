//! What an intruder can compute about a suppressed cell from the published
//! ones: the smallest and largest value it can take.
//!
//! The intruder is assumed to know every published cell, every constraint,
//! that counts are non-negative, and that a suppressed cell is not zero (the
//! rule never suppresses zeros, and the rule is public), and to reason with
//! real numbers (the
//! linear programming relaxation). Integrality would at most narrow a range
//! by less than one, and is what the standard tools (e.g. tau-Argus) ignore
//! as well.
//!
//! The intruder is deliberately *not* credited with knowing that a primary
//! cell lies in 1..=K-1, although the suppression rule is public: with that
//! bound a primary cell's range could never exceed K-2, so no width of K or
//! more could ever be met. The width asked for is a protection margin over
//! the published arithmetic, not over the rule itself.

use std::sync::Arc;

use microlp::{ComparisonOp, OptimizationDirection, Problem};

use super::model::{CellId, LinkedTables, SdcError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CellStatus {
    Published,
    /// Never published by any table (see [`crate::Cell::hidden`]).
    Hidden,
    /// Suppressed because its count is in 1..=K-1.
    Primary,
    /// Suppressed only so that a primary cell cannot be recomputed.
    Secondary,
}

impl CellStatus {
    /// Published in a table with a symbol instead of its value.
    pub fn is_suppressed(self) -> bool {
        matches!(self, CellStatus::Primary | CellStatus::Secondary)
    }

    /// Not known to a reader: suppressed or hidden.
    pub fn is_unknown(self) -> bool {
        self != CellStatus::Published
    }

    /// The smallest value a reader knows the cell can take.
    fn lower_bound(self) -> f64 {
        if self.is_suppressed() { 1.0 } else { 0.0 }
    }
}

/// A suppressed cell whose feasible range is narrower than the width asked
/// for. `lo` and `hi` are NaN when the published numbers around it cannot
/// all be true (no table fits them).
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
    let mut seen = Seen::of(problem, statuses);
    audit_seen(problem, statuses, width, &mut seen)
}

/// The smallest and largest value each cell took in some table found
/// consistent with everything published: a cell whose values already span
/// the width needs no linear program of its own. The true table is one
/// such table when the values are known.
///
/// A table consistent under some statuses stays consistent when more cells
/// are suppressed (a newly suppressed cell keeps its value, which is at
/// least 1), so [`crate::protect`] carries one `Seen` through all its
/// rounds: while statuses only grow, it skips every program whose answer
/// an earlier one already implies, and finds exactly what a fresh audit
/// finds.
#[derive(Debug, Clone)]
pub(crate) struct Seen(Vec<(f64, f64)>);

impl Seen {
    /// The true table when it is consistent with `statuses`, nothing
    /// otherwise: a suppressed count the reader knows to be at least 1
    /// whose true value is 0 (statuses no protection makes, but `audit`
    /// takes any) would make it a table no reader could hold.
    pub(crate) fn of(problem: &LinkedTables, statuses: &[CellStatus]) -> Seen {
        let consistent = problem.has_values()
            && problem
                .cells()
                .iter()
                .zip(statuses)
                .all(|(c, s)| c.value as f64 >= s.lower_bound());
        Seen(
            problem
                .cells()
                .iter()
                .map(|c| {
                    if consistent {
                        (c.value as f64, c.value as f64)
                    } else {
                        (f64::INFINITY, f64::NEG_INFINITY)
                    }
                })
                .collect(),
        )
    }

    /// Cell `index` took `value` in a consistent table.
    pub(crate) fn widen(&mut self, index: usize, value: f64) {
        let (lo, hi) = &mut self.0[index];
        *lo = lo.min(value);
        *hi = hi.max(value);
    }

    pub(crate) fn spans(&self, index: usize, width: u64) -> bool {
        let (lo, hi) = self.0[index];
        wide_enough(lo, hi, width)
    }

    /// Nothing seen yet: no table known to be consistent.
    fn nothing(cells: usize) -> Seen {
        Seen(vec![(f64::INFINITY, f64::NEG_INFINITY); cells])
    }

    /// The smallest value cell `index` can take, when a consistent table
    /// has it at `floor`, the least any table may give it: no program can
    /// find it lower. A cell at its bound in a solution sits on it exactly
    /// (the simplex leaves it there), so the slack only absorbs a bound
    /// written back through arithmetic.
    fn smallest_at(&self, index: usize, floor: f64) -> Option<f64> {
        (self.0[index].0 <= floor + 1e-9).then_some(floor)
    }

    /// Everything `other` saw as well.
    fn merge(&mut self, other: &Seen) {
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine = (mine.0.min(theirs.0), mine.1.max(theirs.1));
        }
    }
}

/// [`audit`], skipping the programs that `seen` (tables found consistent
/// before, under these statuses or fewer suppressed cells) already answers;
/// every solution found widens it.
pub(crate) fn audit_seen(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    width: u64,
    seen: &mut Seen,
) -> Result<Vec<AuditFinding>, SdcError> {
    check_statuses(problem, statuses)?;
    let components = Components::of(problem, statuses);
    // A cell's range depends only on its group, and a solution widens
    // `seen` only for its own group's cells: the groups are audited apart,
    // on every core, each in cell order as one pass would, so the findings
    // are the same as one pass's, put back in cell order.
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    let mut findings = Vec::new();
    for (index, status) in statuses.iter().enumerate() {
        if !status.is_suppressed() {
            continue;
        }
        match (components.known[index], components.group_number(index)) {
            (Some(value), _) => {
                if !wide_enough(value, value, width) {
                    findings.push(finding(problem, statuses, index, value, value));
                }
            }
            (None, Some(group)) => groups.entry(group).or_default().push(index),
            (None, None) => unreachable!("an unknown cell has a group"),
        }
    }
    let groups: Vec<Vec<usize>> = groups.into_values().collect();
    let (outcomes, workers_seen) = on_every_core(
        &groups,
        || seen.clone(),
        |seen, cells| {
            probe(problem, statuses, &components, cells, width, seen);
            let mut found = Vec::new();
            for &index in cells {
                let outcome = audit_cell(problem, statuses, &components, index, width, seen);
                if let Some(f) = outcome.map_err(|e| (index, e))? {
                    found.push(f);
                }
            }
            Ok::<_, (usize, SdcError)>(found)
        },
    );
    for other in &workers_seen {
        seen.merge(other);
    }
    // the error of the first cell, as one pass in cell order would report
    let mut first_error: Option<(usize, SdcError)> = None;
    for outcome in outcomes {
        match outcome {
            Ok(found) => findings.extend(found),
            Err((index, e)) => {
                if first_error.as_ref().is_none_or(|(i, _)| index < *i) {
                    first_error = Some((index, e));
                }
            }
        }
    }
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    findings.sort_by_key(|f| f.cell.0);
    Ok(findings)
}

/// One suppressed, unknown cell: a finding when its range is narrower than
/// `width`. Skips the linear programs when solutions found before already
/// span the width.
pub(crate) fn audit_cell(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    components: &Components,
    index: usize,
    width: u64,
    seen: &mut Seen,
) -> Result<Option<AuditFinding>, SdcError> {
    use OptimizationDirection::{Maximize, Minimize};
    let cell = CellId(index);
    if let Some(value) = components.known[index] {
        return Ok((!wide_enough(value, value, width))
            .then(|| finding(problem, statuses, index, value, value)));
    }
    if seen.spans(index, width) {
        return Ok(None);
    }
    let hi = extreme(problem, statuses, components, cell, Maximize, seen)?;
    if seen.spans(index, width) {
        return Ok(None);
    }
    let lo = match seen.smallest_at(index, statuses[index].lower_bound()) {
        Some(lo) => lo,
        None => extreme(problem, statuses, components, cell, Minimize, seen)?,
    };
    Ok((!wide_enough(lo, hi, width)).then(|| finding(problem, statuses, index, lo, hi)))
}

fn finding(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    index: usize,
    lo: f64,
    hi: f64,
) -> AuditFinding {
    let cell = CellId(index);
    AuditFinding {
        cell,
        label: problem.describe(cell),
        status: statuses[index],
        value: problem.cells()[index].value,
        lo,
        hi,
    }
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
    problem.cell(cell)?;
    range_within(problem, statuses, &Components::of(problem, statuses), cell)
}

/// [`feasible_range`] of each of `cells`, in their order: the groups are
/// found once, and each group's ranges solved on one of the cores, its
/// cells in order. The values are the same as [`feasible_range`]'s (up to
/// the solver's round-off): every end of a range is the optimum of the
/// cell's own program (a largest value solved on from the group's one
/// program, see [`Maxima`]), and a program is left out only when a table
/// already found consistent answers it exactly (see [`ranges_of_group`]).
pub fn feasible_ranges(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    cells: &[CellId],
) -> Result<Vec<(f64, f64)>, SdcError> {
    check_statuses(problem, statuses)?;
    for &cell in cells {
        problem.cell(cell)?;
    }
    let components = Components::of(problem, statuses);
    let mut ranges: Vec<Option<Result<(f64, f64), SdcError>>> =
        (0..cells.len()).map(|_| None).collect();
    // positions in `cells` by group; a known cell's range is its value
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (position, cell) in cells.iter().enumerate() {
        match (components.known[cell.0], components.group_number(cell.0)) {
            (Some(value), _) => ranges[position] = Some(Ok((value, value))),
            (None, Some(group)) => groups.entry(group).or_default().push(position),
            (None, None) => unreachable!("an unknown cell has a group"),
        }
    }
    let groups: Vec<Vec<usize>> = groups.into_values().collect();
    let (solved, _) = on_every_core(
        &groups,
        || (),
        |_, positions| {
            let members: Vec<CellId> = positions.iter().map(|&p| cells[p]).collect();
            ranges_of_group(problem, statuses, &components, &members)
        },
    );
    for (positions, group) in groups.iter().zip(solved) {
        for (&position, range) in positions.iter().zip(group) {
            ranges[position] = Some(range);
        }
    }
    ranges
        .into_iter()
        .map(|range| range.expect("every position is answered"))
        .collect()
}

/// The ranges of `cells`, all of one group, in their order. Each cell's
/// largest value is its own program's, solved on from the group's one
/// program when the group has a few cells ([`Maxima`]). Its smallest
/// needs no program when
/// a consistent table has it at the least it may be (1 for a suppressed
/// count, 0 for a hidden one): no table goes lower. One program first
/// makes the group's sum as small as it can be, which puts most of its
/// cells at that least value at once; every later solution is a
/// consistent table too. In the sample data's report, 320 of the programs
/// for a smallest value (the service gaps' ranges and the audits') were
/// left out this way; the gaps' ranges alone had been 744 of 4,086 CPU
/// samples of the report (`perf`).
fn ranges_of_group(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    components: &Components,
    cells: &[CellId],
) -> Vec<Result<(f64, f64), SdcError>> {
    use OptimizationDirection::{Maximize, Minimize};
    let mut seen = Seen::nothing(statuses.len());
    let mut maxima = None;
    if let Some(&first) = cells.first()
        && cells.len() >= PROBE_FROM
    {
        let program = GroupProgram {
            problem,
            statuses,
            components,
            member: first,
        };
        // a group no table fits teaches nothing here: each cell's own
        // programs report it
        let _ = program.solve(&|_| 1.0, None, Minimize, &mut seen);
        maxima = Maxima::of(&program);
    }
    cells
        .iter()
        .map(|&cell| {
            let hi = match maxima.as_ref().and_then(|m| m.of_cell(cell, &mut seen)) {
                Some(hi) => hi,
                None => extreme(problem, statuses, components, cell, Maximize, &mut seen)?,
            };
            let lo = match seen.smallest_at(cell.0, statuses[cell.0].lower_bound()) {
                Some(lo) => lo,
                None => extreme(problem, statuses, components, cell, Minimize, &mut seen)?,
            };
            Ok((lo, hi))
        })
        .collect()
}

/// `work` on each of `items`, on every core: each worker starts its own
/// state with `init` and takes the next item until none is left. The
/// results come back in the items' order, whichever worker made them,
/// with each worker's state at the end.
fn on_every_core<T: Sync, S: Send, R: Send>(
    items: &[T],
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &T) -> R + Sync,
) -> (Vec<R>, Vec<S>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut state = init();
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return (done, state);
            };
            done.push((i, work(&mut state, item)));
        }
    };
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len());
    let finished: Vec<(Vec<(usize, R)>, S)> = if workers <= 1 {
        vec![worker()]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers).map(|_| scope.spawn(worker)).collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a worker panicked"))
                .collect()
        })
    };
    let mut done = Vec::new();
    let mut states = Vec::new();
    for (results, state) in finished {
        done.extend(results);
        states.push(state);
    }
    done.sort_by_key(|(i, _)| *i);
    (done.into_iter().map(|(_, r)| r).collect(), states)
}

fn range_within(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    components: &Components,
    cell: CellId,
) -> Result<(f64, f64), SdcError> {
    if let Some(value) = components.known[cell.0] {
        return Ok((value, value));
    }
    // each range alone: what it finds does not depend on other ranges
    let mut seen = Seen::nothing(statuses.len());
    let lo = extreme(
        problem,
        statuses,
        components,
        cell,
        OptimizationDirection::Minimize,
        &mut seen,
    )?;
    let hi = extreme(
        problem,
        statuses,
        components,
        cell,
        OptimizationDirection::Maximize,
        &mut seen,
    )?;
    Ok((lo, hi))
}

/// The unknown cells grouped by the constraints that link them once the
/// published cells are constants. A cell's range depends only on its own
/// group, so each linear program stays as small as that group (a report of
/// thousands of cells has groups of tens).
///
/// Before grouping, every unknown cell that one constraint determines (its
/// only unknown term) gets its value and counts as known: a hidden total
/// whose parts are all published, say. Without this, such a total would tie
/// every cell it touches into one group, and the linear programs would span
/// the whole report. It is exact: the programs would find the same value.
pub(crate) struct Components {
    /// The value of every cell a reader knows: published, or determined.
    /// Shared: the protection loop finds the groups of several cells from
    /// one finding of the known cells.
    known: Arc<[Option<f64>]>,
    groups: Groups,
}

/// Which groups a [`Components`] holds.
enum Groups {
    /// Every group: the audit of all suppressed cells.
    All {
        /// Group of each unknown cell, the groups numbered in the order of
        /// their smallest members; None if known.
        group: Vec<Option<usize>>,
        /// Constraint indices of each group, by group number.
        constraints: Grouped,
        /// The unknown cells of each group, in cell order, by group number.
        members: Grouped,
    },
    /// The group of one cell: the protection loop checks one finding at a
    /// time, after each complement, and grouping every cell for it was
    /// half of finding the groups (the other half, the known cells, is
    /// kept up to date by [`Determined`]).
    One {
        /// The group's unknown cells, in cell order (none when the cell is
        /// known).
        members: Vec<usize>,
        /// The group's constraints, in index order.
        constraints: Vec<usize>,
    },
}

/// A list of numbers for each group, the lists one after another in one
/// vector: a few allocations however many groups there are. A list of its
/// own per group was the larger part of finding the groups when the
/// protection loop still found all of them after every complement (601
/// times for the sample data's report, on one core while the other
/// waited). Maps before them were slower still: filling them was a third
/// of the loop.
struct Grouped {
    /// Where each group's list starts in `items`, and where the last ends.
    starts: Vec<usize>,
    items: Vec<usize>,
}

impl Grouped {
    /// `(group, item)` pairs as lists by group, each list in the pairs'
    /// order.
    fn of(groups: usize, pairs: &[(usize, usize)]) -> Grouped {
        let mut starts = vec![0; groups + 1];
        for &(group, _) in pairs {
            starts[group + 1] += 1;
        }
        for g in 0..groups {
            starts[g + 1] += starts[g];
        }
        let mut next = starts.clone();
        let mut items = vec![0; pairs.len()];
        for &(group, item) in pairs {
            items[next[group]] = item;
            next[group] += 1;
        }
        Grouped { starts, items }
    }

    fn get(&self, group: usize) -> &[usize] {
        &self.items[self.starts[group]..self.starts[group + 1]]
    }
}

/// A constraint's terms with their signs: parts +1, total -1 (they sum to 0).
pub(crate) fn signed_terms(
    c: &super::model::SumConstraint,
) -> impl Iterator<Item = (usize, f64)> + '_ {
    let parts = c.parts.len();
    (c.terms().enumerate()).map(move |(at, id)| (id.0, if at < parts { 1.0 } else { -1.0 }))
}

/// The cells a reader can work out exactly: every published cell, and every
/// unknown cell that is the one unknown term of a sum whose other terms are
/// known and carry no noise, again and again until no sum tells more.
pub(crate) fn determined(problem: &LinkedTables, statuses: &[CellStatus]) -> Vec<Option<f64>> {
    let mut known: Vec<Option<f64>> = statuses
        .iter()
        .zip(problem.cells())
        .map(|(s, c)| (!s.is_unknown()).then_some(c.value as f64))
        .collect();
    // A constraint without an unknown term can determine nothing, now or
    // later (cells only become known): it is settled and not read again.
    let mut settled = vec![false; problem.constraints().len()];
    loop {
        let mut changed = false;
        for (constraint, settled) in problem.constraints().iter().zip(&mut settled) {
            if *settled {
                continue;
            }
            match what_it_tells(problem, statuses, constraint, &known) {
                Tells::Nothing => {}
                Tells::Settled => *settled = true,
                Tells::Value(i, value) => {
                    known[i] = Some(value);
                    changed = true;
                    *settled = true;
                }
            }
        }
        if !changed {
            return known;
        }
    }
}

/// What one sum tells a reader who knows the cells `known` holds.
enum Tells {
    /// Two or more unknown terms, or a perturbed known one.
    Nothing,
    /// No unknown term: it tells nothing now or later.
    Settled,
    /// The value of its one unknown term.
    Value(usize, f64),
}

fn what_it_tells(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    constraint: &super::model::SumConstraint,
    known: &[Option<f64>],
) -> Tells {
    let mut unknown = None;
    let mut count = 0;
    let mut sum = 0.0;
    let mut noisy = false;
    for (i, sign) in signed_terms(constraint) {
        match known[i] {
            Some(v) => {
                sum += sign * v;
                noisy |= problem.cells()[i].noise > 0;
            }
            None => {
                count += 1;
                unknown = Some((i, sign));
            }
        }
    }
    match (count, unknown, noisy) {
        (0, _, _) => Tells::Settled,
        // A perturbed term leaves the unknown a range, not a value: the
        // linear program sees it.
        (1, Some((i, sign)), false) => {
            let value = -sum / sign;
            // A value below what the reader knows the cell can be means the
            // published numbers disagree: left to the linear program, which
            // then reports the cell as inconsistent.
            if value >= statuses[i].lower_bound() - 1e-6 {
                Tells::Value(i, value)
            } else {
                Tells::Nothing
            }
        }
        _ => Tells::Nothing,
    }
}

/// [`determined`] kept up to date while the protection loop suppresses
/// cells, one complement after another. Finding every known cell again
/// after each complement walked the whole model hundreds of times per
/// report (a sixth of the protection's time on the sample data); a
/// complement can only make unknown the cells it suppresses and the cells
/// worked out through them, so only those are looked at again.
///
/// The same cells as [`determined`] finds, with the same values, while the
/// model's sums hold for its values (the true tables the protection works
/// on): every cell worked out is then its true value whichever sum gave
/// it, so the order the sums are read in does not matter.
pub(crate) struct Determined(Arc<[Option<f64>]>);

impl Determined {
    pub(crate) fn of(problem: &LinkedTables, statuses: &[CellStatus]) -> Determined {
        Determined(determined(problem, statuses).into())
    }

    /// The known cells, shared with the groups found from them.
    pub(crate) fn known(&self) -> Arc<[Option<f64>]> {
        Arc::clone(&self.0)
    }

    /// `newly` were published and are now suppressed (`statuses` already
    /// says so); `touching` lists each cell's constraints.
    pub(crate) fn suppressed(
        &mut self,
        problem: &LinkedTables,
        statuses: &[CellStatus],
        newly: &[CellId],
        touching: &[Vec<usize>],
    ) {
        // copies only while a group found before still holds the cells
        let known = Arc::make_mut(&mut self.0);
        // The newly suppressed cells, and every unknown cell that shares a
        // sum with one of them (it may have been worked out through it),
        // and so on: what is not reached this way was worked out from
        // cells still known, and stays known.
        let mut next: Vec<usize> = (newly.iter().map(|c| c.0))
            .filter(|&c| known[c].take().is_some())
            .collect();
        let mut open = Vec::new();
        while let Some(cell) = next.pop() {
            for &c in &touching[cell] {
                open.push(c);
                for (term, _) in signed_terms(&problem.constraints()[c]) {
                    if statuses[term].is_unknown() && known[term].take().is_some() {
                        next.push(term);
                    }
                }
            }
        }
        // Only the sums around a cell no longer known can tell something
        // new; each cell they work out opens its own sums again.
        while !open.is_empty() {
            open.sort_unstable();
            open.dedup();
            let mut again = Vec::new();
            for &c in &open {
                if let Tells::Value(i, value) =
                    what_it_tells(problem, statuses, &problem.constraints()[c], known)
                {
                    known[i] = Some(value);
                    again.extend_from_slice(&touching[i]);
                }
            }
            open = again;
        }
    }
}

impl Components {
    pub(crate) fn of(problem: &LinkedTables, statuses: &[CellStatus]) -> Components {
        let known = determined(problem, statuses);
        let n = statuses.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        fn unknown_terms<'a>(
            c: &'a super::model::SumConstraint,
            known: &'a [Option<f64>],
        ) -> impl Iterator<Item = usize> + 'a {
            signed_terms(c)
                .map(|(i, _)| i)
                .filter(|&i| known[i].is_none())
        }
        for constraint in problem.constraints() {
            let mut previous = None;
            for term in unknown_terms(constraint, &known) {
                if let Some(previous) = previous {
                    let (a, b) = (root(&mut parent, previous), root(&mut parent, term));
                    // The smaller index becomes the root, so groups are
                    // named the same way on every run.
                    let (lo, hi) = (a.min(b), a.max(b));
                    parent[hi] = lo;
                }
                previous = Some(term);
            }
        }
        // numbered in cell order: a group's root, its smallest member,
        // comes before its other members
        let mut number = vec![usize::MAX; n];
        let mut groups = 0;
        let mut members = Vec::new();
        let group: Vec<Option<usize>> = (0..n)
            .map(|i| {
                known[i].is_none().then(|| {
                    let r = root(&mut parent, i);
                    if r == i {
                        number[i] = groups;
                        groups += 1;
                    }
                    members.push((number[r], i));
                    number[r]
                })
            })
            .collect();
        let constraints: Vec<(usize, usize)> = (problem.constraints().iter().enumerate())
            .filter_map(|(index, constraint)| {
                let first = unknown_terms(constraint, &known).next()?;
                Some((group[first].expect("an unknown cell has a group"), index))
            })
            .collect();
        Components {
            known: known.into(),
            groups: Groups::All {
                group,
                constraints: Grouped::of(groups, &constraints),
                members: Grouped::of(groups, &members),
            },
        }
    }

    /// The known cells (`known`, from [`determined`]) and the group of
    /// `cell` alone, found by walking from it through the constraints
    /// (`touching`: each cell's constraints) over unknown cells: the same
    /// group as [`Components::of`] finds.
    pub(crate) fn around(
        problem: &LinkedTables,
        known: Arc<[Option<f64>]>,
        cell: usize,
        touching: &[Vec<usize>],
    ) -> Components {
        let mut members = Vec::new();
        let mut constraints = Vec::new();
        if known[cell].is_none() {
            let mut member = vec![false; known.len()];
            let mut walked = vec![false; problem.constraints().len()];
            member[cell] = true;
            let mut next = vec![cell];
            while let Some(at) = next.pop() {
                members.push(at);
                for &index in &touching[at] {
                    if std::mem::replace(&mut walked[index], true) {
                        continue;
                    }
                    constraints.push(index);
                    for (term, _) in signed_terms(&problem.constraints()[index]) {
                        if known[term].is_none() && !std::mem::replace(&mut member[term], true) {
                            next.push(term);
                        }
                    }
                }
            }
            members.sort_unstable();
            constraints.sort_unstable();
        }
        Components {
            known,
            groups: Groups::One {
                members,
                constraints,
            },
        }
    }

    /// The number of an unknown cell's group, when every group is held.
    fn group_number(&self, cell: usize) -> Option<usize> {
        match &self.groups {
            Groups::All { group, .. } => group[cell],
            Groups::One { .. } => None,
        }
    }

    /// The unknown cells of `cell`'s group, in cell order.
    pub(crate) fn members_of(&self, cell: usize) -> &[usize] {
        match &self.groups {
            Groups::All { group, members, .. } => group[cell].map_or(&[], |g| members.get(g)),
            Groups::One { members, .. } if members.binary_search(&cell).is_ok() => members,
            Groups::One { .. } => &[],
        }
    }

    /// The constraints of `cell`'s group, in index order.
    pub(crate) fn constraints_of(&self, cell: usize) -> &[usize] {
        match &self.groups {
            Groups::All {
                group, constraints, ..
            } => group[cell].map_or(&[], |g| constraints.get(g)),
            Groups::One {
                members,
                constraints,
            } if members.binary_search(&cell).is_ok() => constraints,
            Groups::One { .. } => &[],
        }
    }
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

/// The smallest or largest value of `target`; every cell of the solution
/// found widens its entry in `seen` (each solution is a table consistent
/// with everything published, so its values are feasible for every cell).
fn extreme(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    components: &Components,
    target: CellId,
    direction: OptimizationDirection,
    seen: &mut Seen,
) -> Result<f64, SdcError> {
    let objective = |i: usize| if i == target.0 { 1.0 } else { 0.0 };
    let program = GroupProgram {
        problem,
        statuses,
        components,
        member: target,
    };
    match program.solve(&objective, None, direction, seen) {
        Ok(value) => Ok(value),
        Err(Unsolved::Solver(microlp::Error::Unbounded)) => Ok(f64::INFINITY),
        // The published numbers contradict each other around this cell
        // (tampered or mis-declared tables): no range, reported as NaN.
        Err(Unsolved::Solver(microlp::Error::Infeasible)) => Ok(f64::NAN),
        Err(Unsolved::Solver(e)) => Err(solver_error(problem, target, &e.to_string())),
        Err(Unsolved::NotOptimal) => {
            Err(solver_error(problem, target, "stopped before optimality"))
        }
    }
}

/// Most rounds of [`probe`] per group.
const PROBE_ROUNDS: usize = 16;

/// Groups with fewer open cells than this are not probed: a cell's own
/// two programs cost no more than a probe.
const PROBE_FROM: usize = 4;

/// Moves many cells of one group at once before their own programs are
/// solved: each round maximises and minimises a sum of the group's open
/// suppressed cells (those whose values seen so far do not yet span the
/// width) with signs that change from round to round. Every solution is a
/// consistent table, so it widens `seen`, and a cell it spreads far enough
/// needs no program of its own. Rounds stop when one settles no new cell.
///
/// It changes no finding: a cell is reported only on its own two programs,
/// and `seen` only ever holds values of consistent tables. The programs
/// bound every cell from above (by more than any published sum in the
/// group), so that a cell nothing bounds does not make them unbounded;
/// that only narrows the tables looked at, each still consistent. A probe
/// the solver cannot answer teaches nothing and is passed over: the cells'
/// own programs then report what is wrong.
fn probe(
    problem: &LinkedTables,
    statuses: &[CellStatus],
    components: &Components,
    cells: &[usize],
    width: u64,
    seen: &mut Seen,
) {
    let Some(&first) = cells.first() else {
        return;
    };
    let program = GroupProgram {
        problem,
        statuses,
        components,
        member: CellId(first),
    };
    let bound = program.bound(width);
    let mut open: Vec<usize> = cells
        .iter()
        .copied()
        .filter(|&i| !seen.spans(i, width))
        .collect();
    for round in 0..PROBE_ROUNDS {
        if open.len() < PROBE_FROM {
            return;
        }
        let objective = |i: usize| {
            if open.binary_search(&i).is_err() {
                0.0
            } else if probe_sign(i, round) {
                1.0
            } else {
                -1.0
            }
        };
        for direction in [
            OptimizationDirection::Maximize,
            OptimizationDirection::Minimize,
        ] {
            let _ = program.solve(&objective, Some(bound), direction, seen);
        }
        let before = open.len();
        open.retain(|&i| !seen.spans(i, width));
        if open.len() == before {
            return;
        }
    }
}

/// A fixed pseudo-random sign per cell and round (SplitMix64's finaliser),
/// so that probes are the same on every run.
fn probe_sign(cell: usize, round: usize) -> bool {
    let mut z = (cell as u64) ^ ((round as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) & 1 == 0
}

/// Why a program gave no optimum.
enum Unsolved {
    Solver(microlp::Error),
    NotOptimal,
}

/// The linear program of the group that `member` belongs to: one variable
/// per unknown cell of the group, in cell order; published cells enter as
/// constants, other groups do not matter.
struct GroupProgram<'a> {
    problem: &'a LinkedTables,
    statuses: &'a [CellStatus],
    components: &'a Components,
    member: CellId,
}

impl<'a> GroupProgram<'a> {
    /// The unknown cells of the group. Only the group is walked: a report
    /// has thousands of cells and groups of tens, and the audit solves
    /// thousands of these programs.
    fn members(&self) -> &'a [usize] {
        self.components.members_of(self.member.0)
    }

    /// The group's constraints, each as its unknown terms with their signs,
    /// the sum of its published terms moved to the right (`rhs`), and the
    /// noise those published terms may carry (`slack`).
    fn constraints(&self) -> impl Iterator<Item = (Vec<(usize, f64)>, f64, f64)> + '_ {
        let in_group = self.components.constraints_of(self.member.0);
        in_group.iter().map(|&c| {
            let mut terms = Vec::new();
            let mut rhs = 0.0;
            let mut slack = 0.0;
            for (id, sign) in signed_terms(&self.problem.constraints()[c]) {
                match self.components.known[id] {
                    None => terms.push((id, sign)),
                    Some(value) => {
                        rhs -= sign * value;
                        slack += self.problem.cells()[id].noise as f64;
                    }
                }
            }
            (terms, rhs, slack)
        })
    }

    /// More than any cell of the group can be forced to: every published
    /// sum around it, and the width, added up.
    fn bound(&self, width: u64) -> f64 {
        1.0 + width as f64
            + self
                .constraints()
                .map(|(_, rhs, slack)| rhs.abs() + slack)
                .sum::<f64>()
    }

    /// Optimises `objective` (a weight per cell) over the group's
    /// consistent tables, each cell at most `bound` when given; the
    /// solution widens `seen`. Returns the objective's optimum.
    fn solve(
        &self,
        objective: &dyn Fn(usize) -> f64,
        bound: Option<f64>,
        direction: OptimizationDirection,
        seen: &mut Seen,
    ) -> Result<f64, Unsolved> {
        let (lp, vars) = self.program(objective, bound, direction);
        let outcome = lp.solve().map_err(Unsolved::Solver)?;
        match outcome.solution() {
            Some(solution) if outcome.is_optimal() => {
                for (&i, var) in self.members().iter().zip(&vars) {
                    seen.widen(i, solution.var_value(*var));
                }
                Ok(solution.objective())
            }
            _ => Err(Unsolved::NotOptimal),
        }
    }

    /// The program [`GroupProgram::solve`] solves, with the variables of
    /// the group's cells in cell order.
    fn program(
        &self,
        objective: &dyn Fn(usize) -> f64,
        bound: Option<f64>,
        direction: OptimizationDirection,
    ) -> (Problem, Vec<microlp::Variable>) {
        let mut lp = Problem::new(direction);
        let members = self.members();
        let upper = bound.unwrap_or(f64::INFINITY);
        let vars: Vec<microlp::Variable> = members
            .iter()
            .map(|&i| lp.add_var(objective(i), (self.statuses[i].lower_bound(), upper)))
            .collect();
        let var_of = |cell: usize| {
            let at = members
                .binary_search(&cell)
                .expect("a constraint's unknowns are in one group");
            vars[at]
        };
        for (terms, rhs, slack) in self.constraints() {
            // All published: true by construction (`add_sum` checks it).
            if terms.is_empty() {
                continue;
            }
            let mut terms: Vec<(microlp::Variable, f64)> =
                terms.iter().map(|&(id, sign)| (var_of(id), sign)).collect();
            // Perturbed published terms: the true sum is within `slack`,
            // one row with a variable for the noise rather than two rows
            // (at most, at least), which made the solver's work larger.
            if slack > 0.0 {
                terms.push((lp.add_var(0.0, (-slack, slack)), -1.0));
            }
            lp.add_constraint(terms.as_slice(), ComparisonOp::Eq, rhs);
        }
        (lp, vars)
    }
}

/// The largest values of one group's cells, each solved again from one
/// program solved once for the group, not from nothing. That program is
/// the group's, with one variable more, `ceiling`, made as large as it can
/// be up to `cap` and tied to no cell; a cell's largest value is then the
/// same program with `ceiling` at most that cell, which the solver takes
/// up from where the first stopped (a few pivots of its dual simplex)
/// instead of finding a first consistent table again. Solving each from
/// nothing was most of the service gaps' ranges, themselves a tenth of the
/// sample data's `run` (`perf`).
///
/// The optimum is the cell's largest value, as its own program's is: the
/// feasible tables are the same, and `ceiling` only ever equals the cell
/// at the optimum. A cell that could exceed `cap` (or an answer the solver
/// does not prove optimal) is left to its own program.
struct Maxima<'a> {
    members: &'a [usize],
    solved: microlp::Solution,
    vars: Vec<microlp::Variable>,
    ceiling: microlp::Variable,
    cap: f64,
}

impl<'a> Maxima<'a> {
    /// None when the group's program has no optimum: each cell's own
    /// programs then say why.
    fn of(program: &GroupProgram<'a>) -> Option<Maxima<'a>> {
        let (mut lp, vars) = program.program(&|_| 0.0, None, OptimizationDirection::Maximize);
        // more than any cell can be forced to, so that a cell the
        // published sums bound is answered here
        let cap = 2.0 * program.bound(0);
        let ceiling = lp.add_var(1.0, (0.0, cap));
        let solved = lp.solve().ok()?.into_solution().ok()?;
        Some(Maxima {
            members: program.members(),
            solved,
            vars,
            ceiling,
            cap,
        })
    }

    /// The largest value of `cell`, a member of the group; its solution
    /// widens `seen`.
    fn of_cell(&self, cell: CellId, seen: &mut Seen) -> Option<f64> {
        let at = self.members.binary_search(&cell.0).ok()?;
        let tied = [(self.ceiling, 1.0), (self.vars[at], -1.0)];
        let outcome = (self.solved.clone())
            .add_constraint(tied.as_slice(), ComparisonOp::Le, 0.0)
            .ok()?;
        let solution = outcome.solution().filter(|_| outcome.is_optimal())?;
        let largest = solution.objective();
        if largest >= self.cap * (1.0 - 1e-9) - 1e-6 {
            return None;
        }
        for (&i, var) in self.members.iter().zip(&self.vars) {
            seen.widen(i, solution.var_value(*var));
        }
        Some(largest)
    }
}

pub(crate) fn solver_error(problem: &LinkedTables, cell: CellId, reason: &str) -> SdcError {
    SdcError::Solver {
        cell: problem.describe(cell),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod grouped_tests {
    use super::Grouped;

    #[test]
    fn each_group_lists_its_items_in_the_order_given() {
        let grouped = Grouped::of(4, &[(2, 7), (0, 1), (2, 3), (0, 9), (3, 5)]);
        assert_eq!(grouped.get(0), [1, 9]);
        assert_eq!(grouped.get(1), [] as [usize; 0]);
        assert_eq!(grouped.get(2), [7, 3]);
        assert_eq!(grouped.get(3), [5]);
    }
}
