//! What a user's own table (`report --queries DIR`) may compute, checked on
//! the statement as DataFusion plans it, not on its text. A text check for
//! `count(` let `sum(1)`, `approx_distinct(record_id)`,
//! `cardinality(array_agg(...))` and `max(row_number() OVER ...)` through,
//! and each published true counts, small ones included, beside the same
//! cells shown as `x` in the shipped tables. A first plan check let sums
//! over rows grouped by `record_id`, a record's id in a scalar subquery, a
//! count declared as derived, and a join that counted every record ten
//! times through (an attacker's review, all with a passing audit).
//!
//! The rules, so that a table holds only protected counts and what is
//! worked out from them:
//! - records are counted only with `protected_count` and
//!   `published_count`, which carry the records' noise into every release;
//!   no other aggregate (a sum of rows grouped finely enough is a count);
//! - `lag` and `lead` only, and over rows already counted;
//! - a record's id (`record_id`, `case_id`, and what is computed from them)
//!   only inside those counts or a filter: never grouped on, joined on, or
//!   published;
//! - records (the `cases` table) are never joined or unioned before they
//!   are counted, since either can count one record more than once;
//! - no subquery inside an expression;
//! - no row comes from the records without being counted;
//! - a count, and a column that is a count under another name, is
//!   declared in `-- counts:`, and a derived column is worked out from
//!   declared counts only: derived figures are not suppressed.

use std::collections::BTreeSet;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};
use crate::publish::table::{Cell, Table, TableSpec};

/// Why a table that picks its rows by a count is refused: the rows
/// themselves then tell the count (a join to the numbers 1 to 9 on a count
/// listed every hidden count, exactly, in a review).
const SELECTS_BY_COUNT: &str = "it chooses rows by a count (in a filter, a join's condition, a grouping, or an ordering with a limit), so the rows themselves tell the count";

/// The counts that carry their records' noise.
const PROTECTED_COUNTS: &[&str] = &["protected_count", "published_count"];

/// Window functions that only move counted values between rows.
const SHIFTS: &[&str] = &["lag", "lead"];

/// The columns that name one record or case.
const ID_COLUMNS: &[&str] = &["record_id", "case_id"];

/// The table that holds records.
const RECORDS: &str = "cases";

/// Refuses the user's table unless `sql` follows the rules above.
pub async fn require_protected_aggregation(
    ctx: &SessionContext,
    spec: &TableSpec,
    sql: &str,
) -> Result<()> {
    let name = &spec.name;
    let refuse = |problem: String| {
        Error::Usage(format!(
            "{name}.sql: {problem}. A published table counts records only with protected_count(unit_id) \
             (or published_count(unit_id) to rank), which carry the records' noise into every release; \
             see queries/README.md"
        ))
    };
    if let Some(problem) = derived_from_undeclared(spec) {
        return Err(refuse(problem));
    }
    let planned = crate::sql::engine::plan(ctx, sql)
        .await
        .map_err(|e| Error::Usage(format!("{name}.sql: {e}")))?;
    let root = Walk::default()
        .rows(planned.logical_plan())
        .map_err(refuse)?;
    if root.uncounted {
        return Err(refuse(
            "its rows come from the records without being counted".into(),
        ));
    }
    if let Some(id) = root.ids.iter().next() {
        return Err(refuse(format!(
            "it publishes {id}, a record's or case's id"
        )));
    }
    if let Some(problem) = undeclared_counts(spec, &root) {
        return Err(refuse(problem));
    }
    Ok(())
}

/// A `-- derived:` line whose sources are not all declared counts.
fn derived_from_undeclared(spec: &TableSpec) -> Option<String> {
    spec.derived.iter().find_map(|d| {
        let undeclared: Vec<&str> = (d.sources.iter())
            .filter(|s| !spec.counts.contains(s))
            .map(String::as_str)
            .collect();
        (!undeclared.is_empty() || d.sources.is_empty()).then(|| {
            format!(
                "its derived column(s) {} are worked out from {}, which `-- counts:` does not declare",
                d.columns.join(", "),
                if undeclared.is_empty() { "nothing".to_string() } else { undeclared.join(", ") }
            )
        })
    })
}

/// The published columns that hold counts against what the header says:
/// each protected count declared in `-- counts:`, each figure worked out
/// from counts declared `-- derived:` from exactly the counts it reads
/// (a derived figure is withheld only when its sources are suppressed, so
/// one worked out from another count went out unsuppressed).
fn undeclared_counts(spec: &TableSpec, root: &Rows) -> Option<String> {
    for (column, lineage) in &root.counts {
        let declared_count = spec.counts.contains(column);
        match lineage {
            Lineage::Count(_) if declared_count => {}
            Lineage::Count(_) => {
                return Some(format!(
                    "its column {column} is a protected count not declared in `-- counts:`"
                ));
            }
            Lineage::Worked(_) if declared_count => {
                return Some(format!(
                    "its count column {column} is worked out from counts, not one protected_count: declare it `-- derived:` from them"
                ));
            }
            Lineage::Worked(read) => {
                let sources: BTreeSet<usize> = (spec.derived.iter())
                    .filter(|d| d.columns.contains(column))
                    .flat_map(|d| d.sources.iter())
                    .filter_map(|s| match root.counts.get(s) {
                        Some(Lineage::Count(id)) => Some(*id),
                        _ => None,
                    })
                    .collect();
                if sources.is_empty() || !read.is_subset(&sources) {
                    return Some(format!(
                        "its column {column} is worked out from protected counts other than the declared counts its `-- derived:` line names"
                    ));
                }
            }
        }
    }
    None
}

/// Where a column's value comes from, when it comes from counts.
#[derive(Clone, PartialEq, Eq)]
enum Lineage {
    /// One protected count (numbered), under its name or another.
    Count(usize),
    /// Worked out from these counts.
    Worked(BTreeSet<usize>),
}

impl Lineage {
    fn counts(&self) -> BTreeSet<usize> {
        match self {
            Lineage::Count(id) => BTreeSet::from([*id]),
            Lineage::Worked(ids) => ids.clone(),
        }
    }
}

/// What the rows of a plan node may hold, by column name.
#[derive(Default)]
struct Rows {
    /// Columns that are a record's id or computed from one.
    ids: BTreeSet<String>,
    /// Columns whose values come from protected counts.
    counts: std::collections::BTreeMap<String, Lineage>,
    /// List columns as the store holds them (unnesting one counts each
    /// record once per value; unnesting a made-up list counts it again).
    stored_lists: BTreeSet<String>,
    /// Whether the rows can be records no count has combined.
    uncounted: bool,
    /// Whether the rows are in an order a count decides (so a `LIMIT`
    /// would choose them by it).
    ordered_by_count: bool,
}

impl Rows {
    fn merged(all: Vec<Rows>) -> Rows {
        let mut rows = Rows::default();
        for r in all {
            rows.ids.extend(r.ids);
            rows.stored_lists.extend(r.stored_lists);
            for (name, lineage) in r.counts {
                let merged = match rows.counts.remove(&name) {
                    Some(other) if other != lineage => {
                        Lineage::Worked(other.counts().union(&lineage.counts()).copied().collect())
                    }
                    _ => lineage,
                };
                rows.counts.insert(name, merged);
            }
            rows.uncounted |= r.uncounted;
            rows.ordered_by_count |= r.ordered_by_count;
        }
        rows
    }

    /// The counts `expr` reads.
    fn read_by(&self, expr: &Expr) -> BTreeSet<usize> {
        expr.column_refs()
            .iter()
            .filter_map(|c| self.counts.get(&c.name))
            .flat_map(Lineage::counts)
            .collect()
    }

    /// The count `expr` is under another name (a column, cast, or
    /// `coalesce` of a column with a literal for a missing row).
    fn same_count(&self, expr: &Expr) -> Option<Lineage> {
        match unaliased(expr) {
            Expr::Column(c) => self
                .counts
                .get(&c.name)
                .cloned()
                .filter(|l| matches!(l, Lineage::Count(_))),
            Expr::Cast(cast) => self.same_count(&cast.expr),
            Expr::TryCast(cast) => self.same_count(&cast.expr),
            Expr::ScalarFunction(f) if f.name() == "coalesce" => {
                let (first, rest) = f.args.split_first()?;
                rest.iter()
                    .all(|a| matches!(a, Expr::Literal(..)))
                    .then(|| self.same_count(first))
                    .flatten()
            }
            _ => None,
        }
    }

    /// What a column computed by `expr` holds, when it reads counts.
    fn lineage_of(&self, expr: &Expr) -> Option<Lineage> {
        self.same_count(expr).or_else(|| {
            let read = self.read_by(expr);
            (!read.is_empty()).then_some(Lineage::Worked(read))
        })
    }
}

/// The walk over a plan, numbering the protected counts it meets.
#[derive(Default)]
struct Walk {
    counts_seen: usize,
}

impl Walk {
    fn new_count(&mut self) -> Lineage {
        self.counts_seen += 1;
        Lineage::Count(self.counts_seen)
    }

    fn rows(&mut self, plan: &LogicalPlan) -> std::result::Result<Rows, String> {
        for expr in plan.expressions() {
            if has_subquery(&expr) {
                return Err("it uses a subquery inside an expression".into());
            }
        }
        match plan {
            LogicalPlan::TableScan(scan) => {
                let is_records = scan.table_name.table() == RECORDS;
                let fields = scan.projected_schema.fields();
                Ok(Rows {
                    ids: (fields.iter())
                        .map(|f| f.name().clone())
                        .filter(|n| is_records && ID_COLUMNS.contains(&n.as_str()))
                        .collect(),
                    stored_lists: (fields.iter())
                        .filter(|f| {
                            matches!(
                                f.data_type(),
                                datafusion::arrow::datatypes::DataType::List(_)
                            )
                        })
                        .map(|f| f.name().clone())
                        .collect(),
                    counts: Default::default(),
                    uncounted: is_records,
                    ordered_by_count: false,
                })
            }
            LogicalPlan::Projection(projection) => {
                let child = self.rows(&projection.input)?;
                let mut rows = Rows {
                    uncounted: child.uncounted,
                    ordered_by_count: child.ordered_by_count,
                    ..Rows::default()
                };
                for (expr, field) in projection.expr.iter().zip(projection.schema.fields()) {
                    let name = field.name().clone();
                    if references(expr, &child.ids) {
                        rows.ids.insert(name.clone());
                    }
                    if let Expr::Column(c) = unaliased(expr)
                        && child.stored_lists.contains(&c.name)
                    {
                        rows.stored_lists.insert(name.clone());
                    }
                    if let Some(lineage) = child.lineage_of(expr) {
                        rows.counts.insert(name, lineage);
                    }
                }
                Ok(rows)
            }
            LogicalPlan::Aggregate(aggregate) => {
                let child = self.rows(&aggregate.input)?;
                if aggregate
                    .group_expr
                    .iter()
                    .any(|e| references(e, &child.ids))
                {
                    return Err("it groups by a record's or case's id".into());
                }
                for expr in &aggregate.aggr_expr {
                    let Expr::AggregateFunction(AggregateFunction { func, .. }) = unaliased(expr)
                    else {
                        return Err(format!("it aggregates with {expr}"));
                    };
                    let function = func.name().to_ascii_lowercase();
                    if !PROTECTED_COUNTS.contains(&function.as_str()) {
                        return Err(format!("it uses {function}(...)"));
                    }
                    if !child.uncounted {
                        return Err(format!(
                            "it applies {function}(...) to rows already counted, not to the records"
                        ));
                    }
                }
                let fields = aggregate.schema.fields();
                let mut rows = Rows {
                    // grouping alone is a list of the records' values
                    uncounted: aggregate.aggr_expr.is_empty() && child.uncounted,
                    ..Rows::default()
                };
                if aggregate
                    .group_expr
                    .iter()
                    .any(|e| !child.read_by(e).is_empty())
                {
                    return Err(SELECTS_BY_COUNT.into());
                }
                let first = fields.len() - aggregate.aggr_expr.len();
                for field in fields.iter().skip(first) {
                    let count = self.new_count();
                    rows.counts.insert(field.name().clone(), count);
                }
                Ok(rows)
            }
            LogicalPlan::Window(window) => {
                let mut rows = self.rows(&window.input)?;
                if rows.uncounted {
                    return Err("it applies a window function to the records themselves".into());
                }
                let fields = window.schema.fields();
                let first = fields.len() - window.window_expr.len();
                for (expr, field) in window.window_expr.iter().zip(fields.iter().skip(first)) {
                    let Expr::WindowFunction(function) = unaliased(expr) else {
                        return Err(format!("it uses {expr}"));
                    };
                    let name = function.fun.name().to_ascii_lowercase();
                    if !SHIFTS.contains(&name.as_str()) {
                        return Err(format!("it uses {name}(...)"));
                    }
                    if references(expr, &rows.ids) {
                        return Err("it moves a record's or case's id between rows".into());
                    }
                    // a count moved from another row is a count of its own
                    let moved = function
                        .params
                        .args
                        .first()
                        .and_then(|a| rows.same_count(a));
                    let lineage = match moved {
                        Some(_) => Some(self.new_count()),
                        None => {
                            let read = rows.read_by(expr);
                            (!read.is_empty()).then_some(Lineage::Worked(read))
                        }
                    };
                    if let Some(lineage) = lineage {
                        rows.counts.insert(field.name().clone(), lineage);
                    }
                }
                Ok(rows)
            }
            LogicalPlan::Join(_) | LogicalPlan::Union(_) => {
                let sides = self.inputs(plan)?;
                if sides.iter().any(|s| s.uncounted) {
                    return Err(
                        "it joins or unions the records before counting them, which can count a record more than once"
                            .into(),
                    );
                }
                let rows = Rows::merged(sides);
                if let LogicalPlan::Join(join) = plan {
                    let conditions: Vec<&Expr> = (join.on.iter())
                        .flat_map(|(l, r)| [l, r])
                        .chain(join.filter.iter())
                        .collect();
                    if conditions.iter().any(|e| references(e, &rows.ids)) {
                        return Err("it joins on a record's or case's id".into());
                    }
                    if conditions.iter().any(|e| !rows.read_by(e).is_empty()) {
                        return Err(SELECTS_BY_COUNT.into());
                    }
                }
                Ok(rows)
            }
            LogicalPlan::Filter(filter) => {
                let rows = self.rows(&filter.input)?;
                if !rows.read_by(&filter.predicate).is_empty() {
                    return Err(SELECTS_BY_COUNT.into());
                }
                Ok(rows)
            }
            LogicalPlan::Sort(sort) => {
                let mut rows = self.rows(&sort.input)?;
                rows.ordered_by_count |=
                    sort.expr.iter().any(|e| !rows.read_by(&e.expr).is_empty());
                if rows.ordered_by_count && sort.fetch.is_some() {
                    return Err(SELECTS_BY_COUNT.into());
                }
                Ok(rows)
            }
            LogicalPlan::Limit(limit) => {
                let rows = self.rows(&limit.input)?;
                if rows.ordered_by_count {
                    return Err(SELECTS_BY_COUNT.into());
                }
                Ok(rows)
            }
            LogicalPlan::Unnest(unnest) => {
                let rows = self.rows(&unnest.input)?;
                let made_up =
                    (unnest.exec_columns.iter()).any(|c| !rows.stored_lists.contains(&c.name));
                if rows.uncounted && made_up {
                    return Err(
                        "it unnests a list the store does not hold, which can count a record more than once"
                            .into(),
                    );
                }
                Ok(rows)
            }
            _ => Ok(Rows::merged(self.inputs(plan)?)),
        }
    }

    fn inputs(&mut self, plan: &LogicalPlan) -> std::result::Result<Vec<Rows>, String> {
        plan.inputs().into_iter().map(|p| self.rows(p)).collect()
    }
}

/// The expression under its alias.
fn unaliased(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(alias) => unaliased(&alias.expr),
        other => other,
    }
}

/// Whether `expr` reads a column named in `names`.
fn references(expr: &Expr, names: &BTreeSet<String>) -> bool {
    !names.is_empty() && expr.column_refs().iter().any(|c| names.contains(&c.name))
}

fn has_subquery(expr: &Expr) -> bool {
    let mut found = false;
    let _ = expr.apply(|e| {
        found = matches!(
            e,
            Expr::ScalarSubquery(_)
                | Expr::InSubquery(_)
                | Expr::Exists(_)
                | Expr::SetComparison(..)
        );
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}

/// A user's table with hidden counts: its file's name, and the cells of
/// its count column with the most hidden, hidden and shown.
struct Hidden {
    file: String,
    hidden: usize,
    shown: usize,
}

/// The count column of `table` with the most hidden cells, if any is.
/// Each count column on its own: a row's visible total beside its hidden
/// count let a table of 8,236 hidden combinations through a check of whole
/// rows; and zeros (combinations without a record, from a cross join) are
/// not counts shown (helper-23's review).
fn most_hidden(file: &str, table: &Table) -> Option<Hidden> {
    (table.spec.counts.iter())
        .filter_map(|c| table.columns.iter().position(|name| name == c))
        .map(|c| {
            let cells = table.rows.iter().map(|row| &row[c]);
            let hidden = cells.clone().filter(|v| **v == Cell::Suppressed).count();
            let shown = cells
                .filter(|v| v.as_f64().is_some_and(|n| n > 0.0))
                .count();
            (hidden, shown)
        })
        .filter(|(hidden, _)| *hidden > 0)
        .max()
        .map(|(hidden, shown)| Hidden {
            file: file.to_string(),
            hidden,
            shown,
        })
}

/// Refuses the user's tables (`(file name, table)`, after disclosure
/// control) when they hold, together, more hidden counts than one for
/// every `min_cell` of the `units` selected: more than the records could
/// fill with published counts, so the grouping is finer than the data. Each
/// hidden count is a combination of values that one to K-1 records have,
/// and the row says that it exists: grouped on enough columns at once, a
/// table is close to a list of records (a review's table had 2,919 rows
/// for 3,000 records, every count `x`). Together, because one table cut by
/// year into ten passed one by one; whatever else the tables show, because
/// counts shown beside them (a coarser grouping in a union) leave the list
/// whole. A table by one column on a small store, mostly `x` too, has few
/// hidden counts for its records and passes, as the shipped tables show
/// the same. The shipped tables are not checked: they are reviewed with the
/// code.
pub fn refuse_finer_than_the_data(
    tables: &[(&str, &Table)],
    units: u64,
    unit: &str,
    min_cell: u64,
) -> Result<()> {
    let with_hidden: Vec<Hidden> = (tables.iter())
        .filter_map(|(file, table)| most_hidden(file, table))
        .collect();
    let hidden: usize = with_hidden.iter().map(|t| t.hidden).sum();
    if (hidden as u64) * min_cell <= units {
        return Ok(());
    }
    let each: Vec<String> = (with_hidden.iter())
        .map(|t| format!("{}.sql ({} hidden, {} shown)", t.file, t.hidden, t.shown))
        .collect();
    Err(Error::Usage(format!(
        "{}: {hidden} counts hidden (`x`), where {units} {unit} selected allow at most {} (one for every \
         {min_cell}, the smallest count published): the grouping is finer than the data, so the rows would \
         list rare combinations of values, close to a list of records. Group on fewer or coarser columns \
         (a band, a region, a period), or leave the table out; the limit follows the selection, so a \
         narrower --country, --from or --to allows fewer",
        each.join(", "),
        units / min_cell
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int32Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn context() -> SessionContext {
        let ctx = SessionContext::new();
        crate::sql::perturb::register(&ctx, crate::sql::perturb::CountSettings::internal(None));
        let schema = Arc::new(Schema::new(vec![
            Field::new("unit_id", DataType::Utf8, true),
            Field::new("record_id", DataType::Utf8, true),
            Field::new("year", DataType::Int32, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["a", "b"])),
                Arc::new(StringArray::from(vec!["a", "b"])),
                Arc::new(Int32Array::from(vec![2020, 2021])),
            ],
        )
        .unwrap();
        ctx.register_batch("cases", batch).unwrap();
        ctx
    }

    fn check(header: &str, sql: &str) -> Result<()> {
        let ctx = context();
        let spec = TableSpec::parse("mine", header).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(require_protected_aggregation(&ctx, &spec, sql))
    }

    const COUNTS: &str = "-- counts: n";

    #[test]
    fn protected_counts_and_what_is_worked_out_from_them_pass() {
        for (header, sql) in [
            (
                COUNTS,
                "SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year",
            ),
            (
                "-- counts: n, before",
                "WITH c AS (SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year) \
                 SELECT year, n, lag(n) OVER (ORDER BY year) AS before FROM c",
            ),
            (
                "-- counts: n, total\n-- derived: share from n, total",
                "WITH c AS (SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year), \
                 t AS (SELECT protected_count(unit_id) AS total FROM cases) \
                 SELECT c.year, c.n, t.total, 100.0 * c.n / t.total AS share FROM c CROSS JOIN t",
            ),
            (
                COUNTS,
                "SELECT year, protected_count(CASE WHEN record_id <> 'a' THEN unit_id END) AS n \
                 FROM cases WHERE record_id <> 'b' GROUP BY year",
            ),
            (
                "-- counts: n\n-- derived: m from n",
                "SELECT year, protected_count(unit_id) AS n, \
                 CASE WHEN protected_count(unit_id) < 10 THEN 1 END AS m FROM cases GROUP BY year",
            ),
            (
                COUNTS,
                "WITH c AS (SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year), \
                 y AS (SELECT DISTINCT year FROM c) \
                 SELECT y.year, coalesce(c.n, 0) AS n FROM y LEFT JOIN c ON c.year = y.year",
            ),
        ] {
            check(header, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    #[test]
    fn other_ways_of_counting_or_listing_records_are_refused() {
        for (header, sql, says) in [
            (
                COUNTS,
                "SELECT year, sum(1) AS n FROM cases GROUP BY year",
                "sum(...)",
            ),
            (
                COUNTS,
                "SELECT approx_distinct(record_id) AS n FROM cases",
                "approx_distinct",
            ),
            (
                COUNTS,
                "SELECT cardinality(array_agg(record_id)) AS n FROM cases",
                "array_agg",
            ),
            (
                COUNTS,
                "SELECT max(r) AS n FROM (SELECT row_number() OVER () AS r FROM cases)",
                "window function to the records",
            ),
            (COUNTS, "SELECT count(*) AS n FROM cases", "count"),
            (
                COUNTS,
                "SELECT year, (SELECT max(record_id) FROM cases) AS n FROM cases GROUP BY year",
                "subquery",
            ),
            (
                COUNTS,
                "SELECT record_id, year FROM cases",
                "without being counted",
            ),
            (
                COUNTS,
                "SELECT year FROM cases GROUP BY year",
                "without being counted",
            ),
            (
                COUNTS,
                "SELECT record_id, protected_count(unit_id) AS n FROM cases GROUP BY record_id",
                "groups by a record's or case's id",
            ),
            (
                COUNTS,
                "SELECT u, protected_count(unit_id) AS n FROM (SELECT unit_id, record_id AS u FROM cases) GROUP BY u",
                "groups by a record's or case's id",
            ),
            (
                "-- derived: n from year",
                "SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year",
                "worked out from year",
            ),
            (
                "",
                "SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year",
                "not declared",
            ),
            (
                COUNTS,
                "SELECT year, protected_count(c.unit_id) AS n FROM cases c \
                 CROSS JOIN (VALUES (1), (2)) v(k) GROUP BY year",
                "joins or unions the records",
            ),
            (
                COUNTS,
                "WITH c AS (SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year) \
                 SELECT sum(n) AS n FROM c",
                "sum(...)",
            ),
            // a second review's: small counts passed through an undeclared
            // column, a count declared derived from another, a count made
            // of several, every record counted twice through unnest, and
            // groups counted as units
            (
                COUNTS,
                "SELECT year, protected_count(unit_id) AS n, \
                 CASE WHEN protected_count(unit_id) < 10 THEN protected_count(unit_id) END AS m \
                 FROM cases GROUP BY year",
                "column m is worked out from protected counts other than",
            ),
            (
                "-- counts: n\n-- derived: m from n",
                "SELECT year, protected_count(unit_id) AS n, \
                 protected_count(CASE WHEN record_id = 'a' THEN unit_id END) + 0 AS m \
                 FROM cases GROUP BY year",
                "other than the declared counts",
            ),
            (
                COUNTS,
                "SELECT year, protected_count(CASE WHEN record_id = 'a' THEN unit_id END) \
                 + protected_count(CASE WHEN record_id = 'b' THEN unit_id END) AS n FROM cases GROUP BY year",
                "not one protected_count",
            ),
            (
                COUNTS,
                "SELECT year, protected_count(unit_id) AS n \
                 FROM (SELECT unit_id, year, unnest(make_array(1, 2)) AS k FROM cases) GROUP BY year",
                "unnests a list the store does not hold",
            ),
            (
                COUNTS,
                "WITH c AS (SELECT year, protected_count(unit_id) AS m FROM cases GROUP BY year) \
                 SELECT protected_count(year) AS n FROM c",
                "rows already counted",
            ),
            // a third review's: rows chosen by a count tell the count
            (
                "",
                "WITH c AS (SELECT year, published_count(unit_id) AS n FROM cases GROUP BY year) \
                 SELECT c.year, v.t FROM c JOIN (VALUES (1), (2), (3)) v(t) ON c.n = v.t",
                "chooses rows by a count",
            ),
            (
                COUNTS,
                "SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year \
                 HAVING protected_count(unit_id) < 10",
                "chooses rows by a count",
            ),
            (
                COUNTS,
                "WITH c AS (SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year) \
                 SELECT year, n FROM c ORDER BY n LIMIT 1",
                "chooses rows by a count",
            ),
            (
                "",
                "WITH c AS (SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year) \
                 SELECT 'small' AS label FROM c GROUP BY n",
                "chooses rows by a count",
            ),
        ] {
            let error = check(header, sql).expect_err(sql).to_string();
            assert!(error.contains(says), "{sql}: {error}");
        }
    }

    fn table(rows: &[&[Cell]]) -> Table {
        Table {
            spec: TableSpec::parse("07_mine", "-- counts: n, m").unwrap(),
            columns: vec!["year".into(), "n".into(), "m".into()],
            rows: rows.iter().map(|r| r.to_vec()).collect(),
        }
    }

    #[test]
    fn hidden_counts_beyond_what_the_records_fill_are_refused() {
        use Cell::{Int, Suppressed, Text, Withheld};
        let year = |y: &str| Text(y.into());
        let refuse = |tables: &[(&str, &Table)], units| {
            refuse_finer_than_the_data(tables, units, "victims", 10)
        };
        // one hidden count in each column: one for ten records
        let one = table(&[
            &[year("2020"), Int(12), Suppressed],
            &[year("2021"), Suppressed, Int(11)],
        ]);
        assert!(refuse(&[("mine", &one)], 10).is_ok());
        assert!(refuse(&[("mine", &one)], 9).is_err());
        // column n hidden twice, beside a column m of visible totals:
        // refused below twenty records, naming the file
        let two = table(&[
            &[year("2020"), Int(12), Int(40)],
            &[year("2021"), Suppressed, Int(40)],
            &[year("2022"), Suppressed, Withheld],
        ]);
        let refused = refuse(&[("90_mine", &two)], 19).unwrap_err().to_string();
        assert!(
            refused.contains("90_mine.sql (2 hidden, 1 shown)") && refused.contains("at most 1 "),
            "{refused}"
        );
        assert!(refuse(&[("90_mine", &two)], 20).is_ok());
        // counts shown beside them do not dilute the hidden ones
        let mut diluted = two.clone();
        for _ in 0..100 {
            diluted.rows.push(vec![year("2023"), Int(50), Int(50)]);
        }
        assert!(refuse(&[("diluted", &diluted)], 19).is_err());
        // zeros are not counts shown
        let padded = table(&[
            &[year("2020"), Int(0), Int(0)],
            &[year("2021"), Suppressed, Int(0)],
        ]);
        let refused = refuse(&[("pad", &padded)], 9).unwrap_err().to_string();
        assert!(refused.contains("pad.sql (1 hidden, 0 shown)"), "{refused}");
        // tables add up: each alone passes at twenty records, both do not
        assert!(refuse(&[("a", &two), ("b", &two)], 39).is_err());
        assert!(refuse(&[("a", &two), ("b", &two)], 40).is_ok());
    }
}
