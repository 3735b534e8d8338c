//! An optimizer rule: counting values that can never be missing is counting
//! rows.
//!
//! Every shipped query counts `unit_id`, which for victims is `record_id`:
//! a column the store never leaves empty (a row without one is quarantined,
//! and the Parquet column is declared required). DataFusion read and
//! decoded every id of every scan only to learn that none was missing. With
//! this rule `query` and a report's true-count pass read one text column
//! less per scan. (DuckDB 2.0.1 does not do this: its plan for
//! `count(record_id)` over the store's files still reads `record_id`, so
//! in the benchmark this is a saving our engine has, on the same SQL.)
//!
//! The rule trusts nothing but the plan's own schema: a field is
//! non-nullable there only when DataFusion derives it so (a required column
//! of the table, an expression of such columns, not the outer side of a
//! join, not a branch of a union that may be missing). DataFusion's own
//! simplifier already folds `x IS NULL` to false on the same evidence.

use std::sync::Arc;

use datafusion::common::DFSchema;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::functions_aggregate::count::{Count, count_udaf};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::utils::COUNT_STAR_EXPANSION;
use datafusion::logical_expr::{Aggregate, AggregateUDF, Expr, ExprSchemable, LogicalPlan};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::prelude::SessionContext;

/// Adds the rule to `ctx`: after DataFusion's own rules, which have by then
/// simplified `CASE WHEN $unit = 'cases' ...` down to the column it picks;
/// the optimizer's next pass drops the column the count no longer reads.
pub fn register(ctx: &SessionContext) {
    ctx.add_optimizer_rule(Arc::new(CountRowsOfRequiredValues));
}

#[derive(Debug)]
struct CountRowsOfRequiredValues;

impl OptimizerRule for CountRowsOfRequiredValues {
    fn name(&self) -> &str {
        "count_rows_of_required_values"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Aggregate(aggregate) = plan else {
            return Ok(Transformed::no(plan));
        };
        let input = aggregate.input.schema();
        let mut changed = false;
        let aggr_expr = aggregate
            .aggr_expr
            .iter()
            .map(|expr| {
                let rewritten = count_of_rows(expr, input)?;
                changed |= rewritten.is_some();
                Ok(rewritten.unwrap_or_else(|| expr.clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        // the walk below the aggregate only when a count would change
        if !changed || reads_a_subquery(&aggregate.input)? {
            return Ok(Transformed::no(LogicalPlan::Aggregate(aggregate)));
        }
        // the same output schema: each rewritten count keeps its name
        Ok(Transformed::yes(LogicalPlan::Aggregate(
            Aggregate::try_new_with_schema(
                aggregate.input,
                aggregate.group_expr,
                aggr_expr,
                aggregate.schema,
            )?,
        )))
    }
}

/// Whether any expression below the aggregate is a subquery. DataFusion
/// 55 declares `(SELECT id ...)` never null when `id` is, yet a subquery
/// that finds no row gives null (and `x IN (SELECT ...)` is null when the
/// subquery holds one); an uncorrelated scalar subquery stays in the plan,
/// so its value is never counted as rows.
fn reads_a_subquery(input: &LogicalPlan) -> Result<bool> {
    input.exists(|node| {
        node.expressions().iter().try_fold(false, |found, expr| {
            Ok(found
                || expr.exists(|e| {
                    Ok(matches!(
                        e,
                        Expr::ScalarSubquery(_) | Expr::InSubquery(_) | Expr::Exists(_)
                    ))
                })?)
        })
    })
}

/// `count(x)` as `count(*)` under its own name, when `x` is a column never
/// null in `input`; None when the expression is anything else.
fn count_of_rows(expr: &Expr, input: &DFSchema) -> Result<Option<Expr>> {
    let Expr::AggregateFunction(function) = expr else {
        return Ok(None);
    };
    let params = &function.params;
    let [argument] = params.args.as_slice() else {
        return Ok(None);
    };
    // a column only: reading one cannot fail, where `count(CAST(x AS INT))`
    // must still report the value that does not convert
    if params.distinct
        || !counts_present_values(&function.func)
        || !matches!(argument, Expr::Column(_))
        || argument.nullable(input)?
    {
        return Ok(None);
    }
    let rows = Expr::AggregateFunction(AggregateFunction::new_udf(
        count_udaf(),
        vec![Expr::Literal(COUNT_STAR_EXPANSION, None)],
        false,
        params.filter.clone(),
        params.order_by.clone(),
        params.null_treatment,
    ));
    Ok(Some(rows.alias(expr.schema_name().to_string())))
}

/// Whether `function(x)` is the number of rows where `x` is not null: the
/// built-in `count`, and `protected_count` where it counts true records
/// (not where it adds noise or counts each case once).
fn counts_present_values(function: &AggregateUDF) -> bool {
    let function = function.inner().as_ref() as &dyn std::any::Any;
    function.is::<Count>()
        || function
            .downcast_ref::<super::perturb::UnitCount>()
            .is_some_and(super::perturb::UnitCount::counts_present_values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::perturb::{CountSettings, Counting};
    use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray, StringViewArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use safetynet_sdc::CellKeySecret;

    /// `units`: `id` never null, `maybe` null in every third row, `g` a group
    /// of two; `other`: the ids of a few units only.
    fn session(counting: Counting, distinct: bool) -> SessionContext {
        let ctx = SessionContext::new();
        register(&ctx);
        let mut settings = CountSettings::internal(Some(CellKeySecret(*b"0123456789abcdef")));
        settings.counting = counting;
        settings.distinct = distinct;
        crate::sql::perturb::register(&ctx, settings);
        // ids as string views, as the store's text is read
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8View, false),
            Field::new("maybe", DataType::Utf8, true),
            Field::new("g", DataType::Utf8, false),
        ]));
        let ids: Vec<String> = (0..300).map(|i| format!("R{i}")).collect();
        let maybe: Vec<Option<String>> = (0..300)
            .map(|i| (i % 3 != 0).then(|| format!("M{i}")))
            .collect();
        let g: Vec<&str> = (0..300).map(|i| if i < 100 { "a" } else { "b" }).collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringViewArray::from(ids)),
            Arc::new(StringArray::from(maybe)),
            Arc::new(StringArray::from(g)),
        ];
        ctx.register_batch("units", RecordBatch::try_new(schema, columns).unwrap())
            .unwrap();
        let other = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, false)]));
        let few: ArrayRef = Arc::new(StringArray::from(vec!["R1", "R2", "R3"]));
        ctx.register_batch("other", RecordBatch::try_new(other, vec![few]).unwrap())
            .unwrap();
        ctx
    }

    /// The optimized plan, one line per node, and the result's column names
    /// and first column.
    async fn run(ctx: &SessionContext, sql: &str) -> (String, Vec<String>, Vec<i64>) {
        let df = ctx.sql(sql).await.unwrap();
        let plan = df.clone().into_optimized_plan().unwrap();
        let batches = df.collect().await.unwrap();
        let names = batches[0]
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let counts = batches
            .iter()
            .flat_map(|b| {
                let column = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                column.values().to_vec()
            })
            .collect();
        (plan.display_indent().to_string(), names, counts)
    }

    #[tokio::test]
    async fn a_count_of_a_column_without_nulls_counts_rows_and_reads_no_values() {
        let ctx = session(Counting::True, false);
        let (plan, names, counts) =
            run(&ctx, "SELECT count(id) FROM units GROUP BY g ORDER BY g").await;
        assert_eq!(counts, vec![100, 200]);
        // the header is the one the query asked for, not count(*)'s
        assert_eq!(names, vec!["count(units.id)"]);
        assert!(plan.contains("count(Int64(1))"), "{plan}");
        assert!(
            plan.contains("projection=[g]"),
            "the ids are still read:\n{plan}"
        );
    }

    #[tokio::test]
    async fn a_count_that_may_meet_nulls_is_left_as_written() {
        let ctx = session(Counting::True, false);
        let (plan, _, counts) = run(&ctx, "SELECT count(maybe) AS n FROM units").await;
        assert_eq!(counts, vec![200]);
        assert!(!plan.contains("count(Int64(1))"), "{plan}");
        // the outer side of a join may be missing although its column is required
        let (plan, _, counts) = run(
            &ctx,
            "SELECT count(o.id) AS n FROM units u LEFT JOIN other o ON o.id = u.id",
        )
        .await;
        assert_eq!(counts, vec![3]);
        assert!(!plan.contains("count(Int64(1))"), "{plan}");
        // an expression may fail on a value, so it is still evaluated
        let (plan, _, counts) = run(&ctx, "SELECT count(upper(id)) AS n FROM units").await;
        assert_eq!(counts, vec![300]);
        assert!(!plan.contains("count(Int64(1))"), "{plan}");
        // a subquery that finds no row gives null, though DataFusion
        // declares it never null when its column is not: never 300 rows
        let df = ctx
            .sql("SELECT count(x) AS n FROM (SELECT (SELECT id FROM other WHERE id = 'none') AS x FROM units) t")
            .await
            .unwrap();
        let plan = df.clone().into_optimized_plan().unwrap();
        let plan = plan.display_indent().to_string();
        assert!(!plan.contains("count(Int64(1))"), "{plan}");
        // DataFusion itself may refuse the null in a non-null column
        if let Ok(batches) = df.collect().await {
            let n = batches[0]
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            assert_eq!(n.value(0), 0);
        }
        // DataFusion turns a distinct count into groups and counts them:
        // rows when the value is never null, values when it may be
        let (_, _, counts) = run(&ctx, "SELECT count(DISTINCT g) AS n FROM units").await;
        assert_eq!(counts, vec![2]);
        let (plan, _, counts) = run(&ctx, "SELECT count(DISTINCT maybe) AS n FROM units").await;
        assert_eq!(counts, vec![200]);
        assert!(!plan.contains("count(Int64(1))"), "{plan}");
    }

    #[tokio::test]
    async fn a_true_count_of_records_counts_rows_and_other_counts_read_their_ids() {
        let sql = "SELECT protected_count(id) AS n FROM units WHERE g = 'b'";
        let (plan, _, counts) = run(&session(Counting::True, false), sql).await;
        assert_eq!(counts, vec![200]);
        assert!(plan.contains("count(Int64(1))"), "{plan}");
        // published counts key each id; cases are counted once by id
        for (counting, distinct) in [(Counting::Published, false), (Counting::True, true)] {
            let (plan, _, _) = run(&session(counting, distinct), sql).await;
            assert!(!plan.contains("count(Int64(1))"), "{plan}");
            assert!(plan.contains("protected_count(units.id)"), "{plan}");
        }
    }
}
