use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringViewArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionConfig;
use proptest::prelude::*;

use super::*;
use crate::sql::perturb::{CountSettings, Counting};

/// One row: group keys `g` and `h`, a number `x` and a text `t`, each
/// possibly missing.
type Row = (Option<i64>, Option<i64>, Option<i64>, Option<&'static str>);

const TEXTS: [&str; 5] = [
    "brothel",
    "farm",
    "",
    "Žilina",
    "a much longer text than a view holds",
];

/// The queries the rule rewrites, in the shapes the shipped queries use and
/// a few more: sets with a key left out, rollup, cube, the empty set,
/// FILTER, no aggregate at all, two aggregations in a union under a window.
const REWRITTEN: [&str; 7] = [
    "SELECT g, h, count(*) AS n, count(x) AS nx, count(x) FILTER (WHERE x > 1) AS nf, \
       count(id) AS ids, max(t) AS hi, min(t) AS lo, max(x) AS xhi, grouping(h) AS gh \
     FROM rows GROUP BY GROUPING SETS ((g, h), (g))",
    "SELECT g, h, count(t) AS n, min(x) AS lo, grouping(g) AS gg, grouping(h) AS gh \
     FROM rows GROUP BY ROLLUP (g, h)",
    "SELECT g, h, count(*) AS n, max(t) FILTER (WHERE h = 1) AS hi FROM rows GROUP BY CUBE (g, h)",
    "SELECT g, h, count(*) AS n, min(t) AS lo FROM rows GROUP BY GROUPING SETS ((g), (h), ())",
    "SELECT g, h, count(*) AS n FROM rows WHERE x > 1000 GROUP BY GROUPING SETS ((g, h), (g))",
    "SELECT g, h FROM rows GROUP BY GROUPING SETS ((g, h), (g))",
    "WITH counted AS ( \
       SELECT g, coalesce(max(t), 'none') AS name, h AS value, count(x) AS n, grouping(h) AS total \
       FROM rows WHERE h IS NOT NULL GROUP BY GROUPING SETS ((g, h), (g)) \
       UNION ALL \
       SELECT g, coalesce(min(t), 'none'), x, count(*), grouping(x) \
       FROM rows WHERE x IS NOT NULL GROUP BY GROUPING SETS ((g, x), (g))) \
     SELECT g, name, value, n, total, max(CASE WHEN total = 1 THEN n END) OVER (PARTITION BY g, name) AS d \
     FROM counted",
];

/// Queries the rule leaves as they are: an aggregate it cannot take in two
/// steps, or no grouping sets.
const LEFT: [&str; 5] = [
    "SELECT g, h, count(DISTINCT x) AS n FROM rows GROUP BY GROUPING SETS ((g, h), (g))",
    "SELECT g, h, sum(x) AS s, count(*) AS n FROM rows GROUP BY GROUPING SETS ((g, h), (g))",
    "SELECT g, h, count(*) AS n FROM rows GROUP BY g, h",
    "SELECT g + 1 AS k, count(*) AS n FROM rows GROUP BY GROUPING SETS ((g + 1), ())",
    "SELECT 1 AS one FROM rows GROUP BY GROUPING SETS ((), ())",
];

fn batch(rows: &[Row]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, true),
        Field::new("h", DataType::Int64, true),
        Field::new("x", DataType::Int64, true),
        Field::new("t", DataType::Utf8View, true),
        Field::new("id", DataType::Int64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rows.iter().map(|r| r.0).collect::<Int64Array>()),
        Arc::new(rows.iter().map(|r| r.1).collect::<Int64Array>()),
        Arc::new(rows.iter().map(|r| r.2).collect::<Int64Array>()),
        Arc::new(rows.iter().map(|r| r.3).collect::<StringViewArray>()),
        Arc::new(Int64Array::from_iter_values(0..rows.len() as i64)),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

/// A session over `rows` (two partitions, batches of 3 rows), with this
/// crate's `max`, `min` and counting of rows (as the engine's sessions
/// have them: `count(id)` of the never missing `id` becomes an aliased
/// `count(*)`), and with this rule or without it.
fn session(rows: &[Row], with_rule: bool) -> SessionContext {
    let config = SessionConfig::new()
        .with_target_partitions(2)
        .with_batch_size(3);
    let ctx = SessionContext::new_with_config(config);
    super::super::text_extremes::register(&ctx);
    super::super::count_rows::register(&ctx);
    if with_rule {
        register(&ctx);
    }
    let half = rows.len() / 2;
    let partitions = [&rows[..half], &rows[half..]]
        .iter()
        .map(|part| part.chunks(3).map(batch).collect())
        .collect();
    let table = MemTable::try_new(batch(&[]).schema(), partitions).unwrap();
    ctx.register_table("rows", Arc::new(table)).unwrap();
    ctx
}

/// The query's rows, in one order, and the number of aggregations in its
/// optimized plan.
async fn run(ctx: &SessionContext, sql: &str) -> (String, usize, Arc<Schema>) {
    let df = ctx.sql(sql).await.unwrap();
    let plan = df.clone().into_optimized_plan().unwrap();
    let aggregations = plan
        .display_indent()
        .to_string()
        .lines()
        .filter(|line| line.trim_start().starts_with("Aggregate:"))
        .count();
    // the optimized plan's schema, the one the rule must keep
    let schema = Arc::new(plan.schema().as_arrow().clone());
    let batches = df.collect().await.unwrap();
    let mut lines: Vec<String> = pretty_format_batches(&batches)
        .unwrap()
        .to_string()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    (lines.join("\n"), aggregations, schema)
}

/// Rows with every key, value and text missing in some rows.
fn fixed_rows() -> Vec<Row> {
    (0..40)
        .map(|i: i64| {
            (
                (i % 7 != 0).then_some(i % 3),
                (i % 5 != 0).then_some(i % 2),
                (i % 4 != 0).then_some(i % 6),
                (i % 9 != 0).then(|| TEXTS[(i % 5) as usize]),
            )
        })
        .collect()
}

/// `sql` with the rule and without it: the same table with the same schema
/// (nullability included: a count stays never null), asserted; the number
/// of aggregations in each optimized plan, returned.
async fn same_both_ways(
    with: &SessionContext,
    without: &SessionContext,
    sql: &str,
) -> (usize, usize) {
    let (ours, ours_aggregations, ours_schema) = run(with, sql).await;
    let (theirs, theirs_aggregations, theirs_schema) = run(without, sql).await;
    assert_eq!(ours, theirs, "{sql}");
    assert_eq!(ours_schema, theirs_schema, "{sql}");
    (ours_aggregations, theirs_aggregations)
}

#[tokio::test]
async fn grouping_sets_grouped_once_give_the_same_table_and_schema() {
    let rows = fixed_rows();
    let (with, without) = (session(&rows, true), session(&rows, false));
    for sql in REWRITTEN {
        let (ours, theirs) = same_both_ways(&with, &without, sql).await;
        assert!(ours > theirs, "not rewritten: {sql}");
    }
}

#[tokio::test]
async fn aggregates_that_cannot_be_taken_in_two_steps_are_left_alone() {
    let rows = fixed_rows();
    let (with, without) = (session(&rows, true), session(&rows, false));
    for sql in LEFT {
        let (ours, theirs) = same_both_ways(&with, &without, sql).await;
        assert_eq!(ours, theirs, "rewritten: {sql}");
    }
}

#[tokio::test]
async fn the_rewritten_plan_is_not_rewritten_again() {
    let rows = fixed_rows();
    let ctx = session(&rows, true);
    let (_, aggregations, _) = run(&ctx, REWRITTEN[0]).await;
    assert_eq!(aggregations, 2);
}

/// A session whose `protected_count` gives true or published counts (noise
/// by the units' keys), counting each row once, or each unit once
/// (`distinct`).
fn counting_session(
    rows: &[Row],
    with_rule: bool,
    counting: Counting,
    distinct: bool,
) -> SessionContext {
    let ctx = session(rows, with_rule);
    let mut settings =
        CountSettings::internal(Some(safetynet_sdc::CellKeySecret(*b"0123456789abcdef")));
    settings.counting = counting;
    settings.distinct = distinct;
    crate::sql::perturb::register(&ctx, settings);
    ctx
}

/// Published counts, cell keys and true counts of units over grouping
/// sets, with FILTER.
const COUNTING_UNITS: &str = "SELECT g, h, protected_count(t) AS p, published_count(t) AS q, \
       cell_key(t) AS k, protected_count(t) FILTER (WHERE x > 1) AS pf, count(t) AS n \
     FROM rows GROUP BY GROUPING SETS ((g, h), (g), ())";

#[tokio::test]
async fn published_counts_and_keys_of_rows_are_taken_in_two_steps() {
    let rows = fixed_rows();
    let with = counting_session(&rows, true, Counting::Published, false);
    let without = counting_session(&rows, false, Counting::Published, false);
    let aggregations = same_both_ways(&with, &without, COUNTING_UNITS).await;
    assert_eq!(aggregations, (2, 1));
    // the noise is there to be kept: the published counts are not the true
    // ones in every cell
    let sets = "FROM rows GROUP BY GROUPING SETS ((g, h), (g), ())";
    let (published, _, _) = run(
        &with,
        &format!("SELECT g, h, protected_count(t) AS p {sets}"),
    )
    .await;
    let (true_counts, _, _) = run(&with, &format!("SELECT g, h, count(t) AS p {sets}")).await;
    assert_ne!(published, true_counts);
}

#[tokio::test]
async fn true_counts_of_no_rows_are_0_in_the_empty_set() {
    let rows = fixed_rows();
    let with = counting_session(&rows, true, Counting::True, false);
    let without = counting_session(&rows, false, Counting::True, false);
    // t may be missing, so the count stays protected_count (not count(*))
    let sql = "SELECT g, protected_count(t) AS p FROM rows WHERE x > 1000 \
               GROUP BY GROUPING SETS ((g), ())";
    assert_eq!(same_both_ways(&with, &without, sql).await.0, 2);
    let (ours, _, _) = run(&with, sql).await;
    assert!(ours.contains("|   | 0 |"), "{ours}");
    assert_eq!(
        same_both_ways(&with, &without, COUNTING_UNITS).await,
        (2, 1)
    );
}

#[tokio::test]
async fn units_counted_once_are_left_alone() {
    let rows = fixed_rows();
    let with = counting_session(&rows, true, Counting::Published, true);
    let without = counting_session(&rows, false, Counting::Published, true);
    let aggregations = same_both_ways(&with, &without, COUNTING_UNITS).await;
    assert_eq!(aggregations, (1, 1));
}

fn any_row() -> impl Strategy<Value = Row> {
    (
        proptest::option::of(0i64..3),
        proptest::option::of(0i64..3),
        proptest::option::of(0i64..4),
        proptest::option::of(proptest::sample::select(TEXTS.to_vec())),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any rows, any number of them (none included): the same tables with
    /// the rule as without it.
    #[test]
    fn the_same_tables_on_any_rows(rows in proptest::collection::vec(any_row(), 0..60)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let (with, without) = (session(&rows, true), session(&rows, false));
            for sql in REWRITTEN {
                let (ours, _, _) = run(&with, sql).await;
                let (theirs, _, _) = run(&without, sql).await;
                prop_assert_eq!(ours, theirs, "{}", sql);
            }
            let with = counting_session(&rows, true, Counting::Published, false);
            let without = counting_session(&rows, false, Counting::Published, false);
            let (ours, _, _) = run(&with, COUNTING_UNITS).await;
            let (theirs, _, _) = run(&without, COUNTING_UNITS).await;
            prop_assert_eq!(ours, theirs);
            Ok(())
        })?;
    }
}
