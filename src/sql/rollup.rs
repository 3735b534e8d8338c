//! An optimizer rule: grouping sets computed from one grouping of the rows.
//!
//! DataFusion 55 plans `GROUP BY GROUPING SETS (s1, s2, ...)` by copying
//! every input row once per set and grouping all the copies: on 10M records
//! a query with two sets hashed 20M rows. Where every aggregate can be
//! taken in two steps, this rule groups the rows once, on every column any
//! set names, and computes the sets from those groups:
//! - `count` as the sum of the groups' counts;
//! - `max` and `min` as the extreme of the groups' extremes;
//! - `protected_count`, `published_count` and `cell_key` of records from
//!   the groups' counts and, where the value depends on them, key sums (see
//!   [`super::perturb::TwoSteps`]): a published count's noise is the same,
//!   since it depends on nothing else.
//!
//! The sets then group a few hundred rows, not millions. The result is the
//! same table: a set's group is the union of the finer groups it covers, and
//! a column a set leaves out is left out of the second grouping as it was of
//! the first. Distinct counts (cases counted once) and every other function
//! leave the aggregate as DataFusion planned it.
//!
//! The rewritten plan has the aggregate's schema, nullability included: a
//! sum of counts is null where no count was summed, so it is read as 0, the
//! count of no rows.

use std::sync::Arc;

use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::error::Result;
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::functions_aggregate::count::{Count, count_udaf};
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::logical_expr::expr::{AggregateFunction, GroupingSet};
use datafusion::logical_expr::{Aggregate, AggregateUDF, Expr, LogicalPlan, Projection};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::prelude::SessionContext;

use super::perturb::{TwoSteps, UnitCount};

/// Adds the rule to `ctx`, after DataFusion's own rules and
/// [`super::count_rows`] (so that a count of records is already a count of
/// rows, which this rule takes in two steps).
pub fn register(ctx: &SessionContext) {
    ctx.add_optimizer_rule(Arc::new(GroupOnceForGroupingSets));
}

/// Names of the first grouping's aggregates, which the second reads.
const PART_PREFIX: &str = "__grouped_once_";

#[derive(Debug)]
struct GroupOnceForGroupingSets;

impl OptimizerRule for GroupOnceForGroupingSets {
    fn name(&self) -> &str {
        "group_once_for_grouping_sets"
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
        match group_once(&aggregate)? {
            Some(rewritten) => Ok(Transformed::yes(rewritten)),
            None => Ok(Transformed::no(LogicalPlan::Aggregate(aggregate))),
        }
    }
}

/// How one aggregate is taken in two steps.
enum Steps {
    /// `count`: the second step sums the first's counts (a count is never
    /// null, so neither is the sum made to be).
    Count,
    /// `max` or `min`: the second step is the same function.
    Extreme,
    /// `protected_count`, `published_count`, `cell_key`: the parts' counts
    /// (and key sums, where the value depends on the keys), then `total` of
    /// them (see [`super::perturb::TwoSteps`]).
    Units(TwoSteps),
}

/// The two-step plan of `aggregate`, or None when it has no grouping sets
/// worth it or an aggregate that cannot be taken in two steps.
fn group_once(aggregate: &Aggregate) -> Result<Option<LogicalPlan>> {
    let [Expr::GroupingSet(sets)] = aggregate.group_expr.as_slice() else {
        return Ok(None);
    };
    if set_count(sets) < 2 || already_grouped(&aggregate.input) {
        return Ok(None);
    }
    // plain columns only: the second grouping names them as the first
    // grouping's output, which keeps a column's qualified name
    let keys: Vec<Expr> = sets.distinct_expr().into_iter().cloned().collect();
    // and at least one: sets that are all empty group nothing
    if keys.is_empty() || !keys.iter().all(|key| matches!(key, Expr::Column(_))) {
        return Ok(None);
    }
    let Some(steps) = aggregate
        .aggr_expr
        .iter()
        .map(two_steps)
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };

    // whether each field of the aggregate's schema is a count: the schema
    // lists the grouping's columns, then its set id, then the aggregates
    let mut counted = vec![false; aggregate.schema.fields().len() - steps.len()];
    counted.extend(steps.iter().map(|(_, step)| matches!(step, Steps::Count)));
    let mut parts = Vec::with_capacity(steps.len());
    let mut rolled = Vec::with_capacity(steps.len());
    for (expr, (function, step)) in aggregate.aggr_expr.iter().zip(steps) {
        let mut part = |function: AggregateFunction| {
            let name = format!("{PART_PREFIX}{}", parts.len());
            parts.push(Expr::AggregateFunction(function).alias(&name));
            Expr::Column(Column::from_name(name))
        };
        let (second, arguments) = match step {
            Steps::Count => (sum_udaf(), vec![part(function.clone())]),
            Steps::Extreme => (Arc::clone(&function.func), vec![part(function.clone())]),
            Steps::Units(TwoSteps { key, total }) => {
                let params = &function.params;
                let mut of_the_rows = |udaf: Arc<AggregateUDF>| {
                    part(AggregateFunction::new_udf(
                        udaf,
                        params.args.clone(),
                        false,
                        params.filter.clone(),
                        vec![],
                        None,
                    ))
                };
                let count = of_the_rows(count_udaf());
                // a true count's value does not depend on the keys
                let key = match key {
                    Some(key) => of_the_rows(key),
                    None => Expr::Literal(ScalarValue::Int64(Some(0)), None),
                };
                (total, vec![count, key])
            }
        };
        rolled.push(
            Expr::AggregateFunction(AggregateFunction::new_udf(
                second,
                arguments,
                false,
                None,
                vec![],
                None,
            ))
            .alias(expr.schema_name().to_string()),
        );
    }
    let once = Aggregate::try_new(Arc::clone(&aggregate.input), keys, parts)?;
    let sets = Aggregate::try_new(
        Arc::new(LogicalPlan::Aggregate(once)),
        aggregate.group_expr.clone(),
        rolled,
    )?;
    Ok(Some(restore_schema(sets, &aggregate.schema, &counted)?))
}

/// Whether `input` is, under any projections, an aggregate without grouping
/// sets: rows grouped already (this rule's own first step among them), so
/// that grouping them once more first would gain nothing.
fn already_grouped(input: &LogicalPlan) -> bool {
    match input {
        LogicalPlan::Projection(projection) => already_grouped(&projection.input),
        LogicalPlan::Aggregate(aggregate) => !aggregate
            .group_expr
            .iter()
            .any(|expr| matches!(expr, Expr::GroupingSet(_))),
        _ => false,
    }
}

/// How many sets a grouping names.
fn set_count(sets: &GroupingSet) -> usize {
    match sets {
        GroupingSet::GroupingSets(sets) => sets.len(),
        GroupingSet::Rollup(columns) => columns.len() + 1,
        GroupingSet::Cube(columns) => 1 << columns.len().min(16),
    }
}

/// The aggregate function of `expr` and how it is taken in two steps; None
/// when it cannot be (a distinct count, an ordered aggregate, any other
/// function).
fn two_steps(expr: &Expr) -> Option<(&AggregateFunction, Steps)> {
    let function = match expr {
        Expr::AggregateFunction(function) => function,
        Expr::Alias(alias) => match alias.expr.as_ref() {
            Expr::AggregateFunction(function) => function,
            _ => return None,
        },
        _ => return None,
    };
    let params = &function.params;
    if params.distinct || !params.order_by.is_empty() || params.null_treatment.is_some() {
        return None;
    }
    let inner = function.func.inner().as_ref() as &dyn std::any::Any;
    if inner.is::<Count>() {
        Some((function, Steps::Count))
    } else if super::text_extremes::is_extreme(&function.func) {
        Some((function, Steps::Extreme))
    } else if let Some(units) = inner.downcast_ref::<UnitCount>() {
        Some((function, Steps::Units(units.two_steps()?)))
    } else {
        None
    }
}

/// `sets` under a projection that gives back `schema`: each count a sum
/// made, with 0 where the sum found nothing, so that it is never null, as
/// a count is not.
fn restore_schema(sets: Aggregate, schema: &DFSchema, counted: &[bool]) -> Result<LogicalPlan> {
    let columns = schema
        .iter()
        .zip(counted)
        .map(|((qualifier, field), &count)| {
            let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
            if count {
                coalesce(vec![
                    column,
                    Expr::Literal(ScalarValue::Int64(Some(0)), None),
                ])
                .alias(field.name())
            } else {
                column
            }
        })
        .collect();
    Ok(LogicalPlan::Projection(Projection::try_new(
        columns,
        Arc::new(LogicalPlan::Aggregate(sets)),
    )?))
}

#[cfg(test)]
mod tests;
