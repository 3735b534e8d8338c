//! What a user's own table (`report --queries DIR`) may compute, checked on
//! the statement as DataFusion plans it, not on its text: a text check for
//! `count(` let `sum(1)`, `approx_distinct(record_id)`,
//! `cardinality(array_agg(...))` and `max(row_number() OVER ...)` through,
//! and each published true counts, small ones included, beside the same
//! cells suppressed in the shipped tables.
//!
//! The rule: records are counted only with `protected_count` and
//! `published_count`, which carry the records' noise into every release.
//! Any other aggregate (`sum`, `min`, `max`, `avg`) and the windows `lag`
//! and `lead` may work only on rows that are already aggregated (a total of
//! protected counts, say), never on records themselves; every other
//! aggregate or window function is refused. And no row may come from the
//! records without passing through an aggregation: a table of the records
//! themselves is not a statistic.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::expr::{AggregateFunction, WindowFunction};
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};

/// The counts that carry their records' noise.
const PROTECTED_COUNTS: &[&str] = &["protected_count", "published_count"];

/// Functions that may combine rows already aggregated.
const OVER_AGGREGATES: &[&str] = &["sum", "min", "max", "avg", "lag", "lead"];

/// Refuses the user's table `name` unless every aggregate in `sql` follows
/// the rule above.
pub async fn require_protected_aggregation(
    ctx: &SessionContext,
    name: &str,
    sql: &str,
) -> Result<()> {
    let planned = crate::sql::engine::plan(ctx, sql)
        .await
        .map_err(|e| Error::Usage(format!("{name}.sql: {e}")))?;
    match problem_in(planned.logical_plan()) {
        None => Ok(()),
        Some(problem) => Err(Error::Usage(format!(
            "{name}.sql: {problem}. A published table counts records only with protected_count(unit_id) \
             (or published_count(unit_id) to rank), which carry the records' noise into every release; \
             sum, min, max, avg, lag and lead may then combine those counts. See queries/README.md"
        ))),
    }
}

/// The first thing in `plan` (its subqueries included) that breaks the rule.
fn problem_in(plan: &LogicalPlan) -> Option<String> {
    if reads_records_unaggregated(plan) {
        return Some("its rows come from the records without being aggregated".to_string());
    }
    let mut problem = None;
    let _ = plan.apply_with_subqueries(|node| {
        let functions: Vec<(String, bool)> = match node {
            LogicalPlan::Aggregate(aggregate) => aggregate
                .aggr_expr
                .iter()
                .flat_map(function_names)
                .map(|f| (f, reads_records_unaggregated(&aggregate.input)))
                .collect(),
            LogicalPlan::Window(window) => window
                .window_expr
                .iter()
                .flat_map(function_names)
                .map(|f| (f, reads_records_unaggregated(&window.input)))
                .collect(),
            _ => Vec::new(),
        };
        for (function, over_records) in functions {
            if PROTECTED_COUNTS.contains(&function.as_str()) {
                continue;
            }
            if !OVER_AGGREGATES.contains(&function.as_str()) {
                problem = Some(format!("it uses {function}(...)"));
            } else if over_records {
                problem = Some(format!(
                    "it applies {function}(...) to the records themselves"
                ));
            }
            if problem.is_some() {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    problem
}

/// The aggregate and window functions `expr` calls, nested ones included.
fn function_names(expr: &Expr) -> Vec<String> {
    let mut names = Vec::new();
    let _ = expr.apply(|e| {
        match e {
            Expr::AggregateFunction(AggregateFunction { func, .. }) => {
                names.push(func.name().to_ascii_lowercase());
            }
            Expr::WindowFunction(window) => {
                let WindowFunction { fun, .. } = window.as_ref();
                names.push(fun.name().to_ascii_lowercase());
            }
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    });
    names
}

/// Whether rows of `plan` can be records (or rows of a table) that no
/// aggregation has combined: a path from it to a scan that meets no
/// `Aggregate` on the way. A literal row (`VALUES`, `SELECT 1`) reads none.
fn reads_records_unaggregated(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::TableScan(_) => true,
        LogicalPlan::Aggregate(_) => false,
        other => other.inputs().into_iter().any(reads_records_unaggregated),
    }
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

    fn check(sql: &str) -> Result<()> {
        let ctx = context();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(require_protected_aggregation(&ctx, "mine", sql))
    }

    #[test]
    fn protected_counts_and_what_combines_them_pass() {
        for sql in [
            "SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year",
            "WITH c AS (SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year) \
             SELECT sum(n) AS total, max(n) AS most FROM c",
            "WITH c AS (SELECT year, protected_count(unit_id) AS n FROM cases GROUP BY year) \
             SELECT year, n, lag(n) OVER (ORDER BY year) AS before FROM c",
        ] {
            check(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    #[test]
    fn other_ways_of_counting_records_are_refused() {
        for (sql, says) in [
            (
                "SELECT year, sum(1) AS n FROM cases GROUP BY year",
                "sum(...) to the records",
            ),
            (
                "SELECT approx_distinct(record_id) AS n FROM cases",
                "approx_distinct",
            ),
            (
                "SELECT cardinality(array_agg(record_id)) AS n FROM cases",
                "array_agg",
            ),
            (
                "SELECT max(r) AS n FROM (SELECT row_number() OVER () AS r FROM cases)",
                "to the records",
            ),
            ("SELECT count(*) AS n FROM cases", "count"),
            (
                "SELECT year, avg(year) AS m FROM cases GROUP BY year",
                "avg(...) to the records",
            ),
            (
                "SELECT year, (SELECT sum(1) FROM cases) AS n FROM cases GROUP BY year",
                "sum(...) to the records",
            ),
            (
                "SELECT record_id, year FROM cases",
                "without being aggregated",
            ),
        ] {
            let error = check(sql).expect_err(sql).to_string();
            assert!(error.contains(says), "{sql}: {error}");
        }
    }
}
