use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Int32Array, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::logical_expr::{col, lit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::prelude::SessionContext;
use tempfile::TempDir;

use super::*;

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("year", DataType::Int32, true),
        Field::new("year_from", DataType::Int32, true),
        Field::new("year_to", DataType::Int32, true),
    ]))
}

/// (id, year, year_from, year_to)
type Row = (i64, Option<i32>, Option<i32>, Option<i32>);

/// Rows as one Parquet file.
fn write(path: &Path, rows: &[Row], statistics: bool) {
    let column = |f: fn(&Row) -> Option<i32>| Arc::new(rows.iter().map(f).collect::<Int32Array>());
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(rows.iter().map(|r| r.0).collect::<Int64Array>()),
            column(|r| r.1),
            column(|r| r.2),
            column(|r| r.3),
        ],
    )
    .unwrap();
    let properties = WriterProperties::builder()
        .set_statistics_enabled(if statistics {
            EnabledStatistics::Chunk
        } else {
            EnabledStatistics::None
        })
        .build();
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        schema(),
        Some(properties),
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// Records of single years 2016 to 2020 and of periods reaching 2015 and
/// 2021, records with no year (a file of their own, as the store's
/// `year=unknown` partition), and a period without a last year.
fn store(dir: &Path, statistics: bool) -> Vec<PathBuf> {
    let years: Vec<_> = (0..10)
        .map(|i| {
            (
                i,
                Some(2016 + (i % 5) as i32),
                Some(2016 + (i % 5) as i32),
                Some(2016 + (i % 5) as i32),
            )
        })
        .collect();
    let periods = [
        (20, None, Some(2015), Some(2017)),
        (21, None, Some(2019), Some(2021)),
        (22, None, Some(2018), None),
    ];
    let unknown = [(30, None, None, None), (31, None, None, None)];
    let files = [
        (dir.join("years.parquet"), years.as_slice()),
        (dir.join("periods.parquet"), periods.as_slice()),
        (dir.join("unknown.parquet"), unknown.as_slice()),
    ];
    for (path, rows) in &files {
        write(path, rows, statistics);
    }
    files.into_iter().map(|(p, _)| p).collect()
}

async fn session(files: &[PathBuf], with_rule: bool) -> SessionContext {
    let ctx = SessionContext::new();
    let urls = files
        .iter()
        .map(|p| ListingTableUrl::parse(p.to_string_lossy()).unwrap())
        .collect();
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()));
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema());
    ctx.register_table("cases", Arc::new(ListingTable::try_new(config).unwrap()))
        .unwrap();
    if with_rule {
        register(&ctx, files.to_vec());
    }
    ctx
}

/// A store's files with and without the rule, the folder kept alive.
async fn both_ways(statistics: bool) -> (TempDir, SessionContext, SessionContext) {
    let dir = TempDir::new().unwrap();
    let files = store(dir.path(), statistics);
    let with = session(&files, true).await;
    let without = session(&files, false).await;
    (dir, with, without)
}

/// The query's table and the filter of its optimized plan (the scan's
/// `partial_filters` keep the comparisons as written: they only prune row
/// groups by their statistics, they are not computed per record).
async fn run(ctx: &SessionContext, sql: &str) -> (String, String) {
    read_before_the_first_statement(ctx).await;
    let df = ctx.sql(sql).await.unwrap();
    let plan = df.clone().into_optimized_plan().unwrap();
    let table = pretty_format_batches(&df.collect().await.unwrap())
        .unwrap()
        .to_string();
    let plan = plan.display_indent().to_string();
    let filter = plan
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("Filter:"))
        .unwrap_or_else(|| panic!("no filter in {plan}"))
        .to_string();
    (table, filter)
}

fn spans(from: i32, to: i32) -> String {
    format!(
        "SELECT id FROM cases WHERE coalesce(year_from, year) >= {from} \
         AND coalesce(year_to, year) <= {to} ORDER BY id"
    )
}

fn single_years(from: i32, to: i32) -> String {
    format!("SELECT id FROM cases WHERE year BETWEEN {from} AND {to} ORDER BY id")
}

#[tokio::test]
async fn the_same_records_whether_or_not_the_store_answers_the_filter() {
    let (_dir, with, without) = both_ways(true).await;
    // covering every year, exactly the store's, and narrower on each side
    for (from, to) in [
        (2000, 2030),
        (2015, 2021),
        (2016, 2021),
        (2015, 2020),
        (2017, 2019),
    ] {
        for sql in [spans(from, to), single_years(from, to)] {
            let (expected, _) = run(&without, &sql).await;
            let (got, _) = run(&with, &sql).await;
            assert_eq!(got, expected, "{sql}");
        }
    }
    // every record with a year, none without
    let (all, _) = run(&with, &spans(2015, 2021)).await;
    assert_eq!(all.lines().count(), 12 + 4, "{all}");
}

#[tokio::test]
async fn a_filter_is_rewritten_only_where_every_year_held_satisfies_it() {
    let dir = TempDir::new().unwrap();
    let files = store(dir.path(), true);
    let ctx = session(&files, true).await;
    let (_, plan) = run(&ctx, &spans(2015, 2021)).await;
    assert!(
        plan.contains("cases.year_from IS NOT NULL OR cases.year IS NOT NULL")
            && plan.contains("cases.year_to IS NOT NULL OR cases.year IS NOT NULL")
            && !plan.contains(">="),
        "{plan}"
    );
    // the first year 2015 is held, so `>= 2016` must be computed; the last
    // bound is answered
    let (_, plan) = run(&ctx, &spans(2016, 2021)).await;
    assert!(
        plan.contains(">= Int32(2016)") && !plan.contains("<="),
        "{plan}"
    );
    let (_, plan) = run(&ctx, &single_years(2016, 2020)).await;
    assert!(
        plan.contains("cases.year IS NOT NULL") && !plan.contains(">="),
        "{plan}"
    );
    let (_, plan) = run(&ctx, &single_years(2017, 2020)).await;
    assert!(plan.contains(">= Int32(2017)"), "{plan}");
}

/// A filter over anything but the store's scan is left as written: here
/// another table with a column named `year` that the store's years do not
/// bound, whose filter keeps no row.
#[tokio::test]
async fn a_filter_over_something_else_is_left_as_written() {
    let dir = TempDir::new().unwrap();
    let files = store(dir.path(), true);
    let ctx = session(&files, true).await;
    let other = RecordBatch::try_from_iter([(
        "year",
        Arc::new(Int32Array::from(vec![1, 2])) as datafusion::arrow::array::ArrayRef,
    )])
    .unwrap();
    ctx.register_batch("other", other).unwrap();
    let sql = "SELECT year FROM other WHERE year >= 2000";
    let (table, filter) = run(&ctx, sql).await;
    assert!(filter.contains(">= Int32(2000)"), "{filter}");
    assert_eq!(table.trim(), "++\n++", "no row: {table}");
}

/// A file written before the store had periods (no `year_from`, no
/// `year_to`) reads them as null, and says nothing against the rule.
#[tokio::test]
async fn a_file_without_the_period_columns_counts_as_holding_none() {
    let dir = TempDir::new().unwrap();
    let mut files = store(dir.path(), true);
    let old = dir.path().join("old.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("year", DataType::Int32, true),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int64Array::from(vec![40, 41])),
            Arc::new(Int32Array::from(vec![Some(2014), None])),
        ],
    )
    .unwrap();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&old).unwrap(), schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    files.push(old);
    let with = session(&files, true).await;
    let without = session(&files, false).await;
    for (from, to) in [(2014, 2021), (2015, 2021)] {
        let sql = spans(from, to);
        let (got, filter) = run(&with, &sql).await;
        assert_eq!(got, run(&without, &sql).await.0, "{sql}");
        // 2014, the old file's year, is the first year held
        assert_eq!(filter.contains(">="), from > 2014, "{filter}");
    }
}

/// A store where every record has a year (its files count no null
/// `year`; the benchmark's stores are so): an answered comparison holds for
/// every record, so it is left out, and a filter left with nothing goes.
#[tokio::test]
async fn where_every_record_has_a_year_an_answered_filter_goes() {
    let dir = TempDir::new().unwrap();
    let years: Vec<Row> = (0..10)
        .map(|i| (i, Some(2016 + (i % 5) as i32), None, None))
        .collect();
    let periods = [
        (20, Some(2015), Some(2015), Some(2017)),
        (21, Some(2021), Some(2019), Some(2021)),
    ];
    let files = [
        dir.path().join("years.parquet"),
        dir.path().join("periods.parquet"),
    ];
    write(&files[0], &years, true);
    write(&files[1], &periods, true);
    let with = session(&files, true).await;
    let without = session(&files, false).await;
    for (from, to) in [(2000, 2030), (2015, 2021), (2016, 2020), (2017, 2019)] {
        for sql in [spans(from, to), single_years(from, to)] {
            let (expected, _) = run(&without, &sql).await;
            assert_eq!(table_of(&with, &sql).await, expected, "{sql}");
        }
    }
    let plan = plan_of(&with, &spans(2015, 2021)).await;
    assert!(!plan.contains("Filter:"), "{plan}");
    // and the scan reads no year column for it
    assert!(plan.contains("TableScan: cases projection=[id],"), "{plan}");
    assert!(
        !plan_of(&with, &single_years(2015, 2021))
            .await
            .contains("Filter:")
    );
    // one bound answered, the other computed
    let (_, filter) = run(&with, &spans(2016, 2021)).await;
    assert!(
        filter.contains(">= Int32(2016)")
            && !filter.contains("year_to")
            && !filter.contains(" OR "),
        "{filter}"
    );
    // a record without a year brings the test of presence back
    let mut more = files.to_vec();
    more.push(dir.path().join("unknown.parquet"));
    write(&more[2], &[(30, None, None, None)], true);
    let (_, filter) = run(&session(&more, true).await, &single_years(2015, 2021)).await;
    assert!(filter.contains("cases.year IS NOT NULL"), "{filter}");
}

/// The optimized plan of `sql`, the store's years read first.
async fn plan_of(ctx: &SessionContext, sql: &str) -> String {
    read_before_the_first_statement(ctx).await;
    let df = ctx.sql(sql).await.unwrap();
    df.into_optimized_plan()
        .unwrap()
        .display_indent()
        .to_string()
}

async fn table_of(ctx: &SessionContext, sql: &str) -> String {
    read_before_the_first_statement(ctx).await;
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

/// The footers are read several at a time; one that cannot be read (a file
/// that is not Parquet, a file gone) still leaves the rule with nothing to
/// answer, wherever it comes in the list, and the filter stays as written.
#[tokio::test]
async fn one_unreadable_footer_and_the_store_answers_nothing() {
    let dir = TempDir::new().unwrap();
    let files = store(dir.path(), true);
    let ctx = SessionContext::new();
    assert!(years_held(&ctx, &files).await.is_some());
    let not_parquet = dir.path().join("not.parquet");
    std::fs::write(&not_parquet, b"not a parquet file").unwrap();
    let gone = dir.path().join("gone.parquet");
    for bad in [&not_parquet, &gone] {
        for at in [0, 1, files.len()] {
            let mut listed = files.clone();
            listed.insert(at, bad.clone());
            assert_eq!(years_held(&ctx, &listed).await, None, "{bad:?} at {at}");
        }
    }
    // the session of a store with such a file keeps the filter as written
    let mut listed = files.clone();
    listed.push(not_parquet);
    let with = SessionContext::new();
    register(&with, listed);
    read_before_the_first_statement(&with).await;
    let held = with
        .state()
        .config()
        .get_extension::<StoreYears>()
        .and_then(|store| store.held.get().copied());
    assert_eq!(held, Some(None));
}

#[tokio::test]
async fn files_without_statistics_leave_the_filter_as_written() {
    let (_dir, with, without) = both_ways(false).await;
    let sql = spans(2000, 2030);
    let (got, plan) = run(&with, &sql).await;
    assert!(plan.contains(">= Int32(2000)"), "{plan}");
    assert_eq!(got, run(&without, &sql).await.0);
}

#[test]
fn only_top_level_comparisons_with_an_integer_are_answered() {
    let held = YearsHeld {
        year: Some((2016, 2020)),
        every_record_has_a_year: false,
        first: Some((2015, 2020)),
        last: Some((2016, 2021)),
    };
    let first =
        || datafusion::functions::core::expr_fn::coalesce(vec![col("year_from"), col("year")]);
    let presence = col("year_from").is_not_null().or(col("year").is_not_null());
    // as written, with the integer on the left, under a cast, and as the
    // simplifier spells coalesce
    let case = datafusion::logical_expr::when(col("year_from").is_not_null(), col("year_from"))
        .otherwise(col("year"))
        .unwrap();
    for expr in [
        first().gt_eq(lit(2015)),
        lit(2015i64).lt_eq(first()),
        datafusion::logical_expr::cast(first(), DataType::Int64).gt_eq(lit(2015i64)),
        case.gt_eq(lit(2010)),
        first().gt(lit(2014)),
        first().lt_eq(lit(2020)),
    ] {
        assert_eq!(
            answered(expr.clone(), &held),
            Some(presence.clone()),
            "{expr}"
        );
    }
    for expr in [
        first().gt_eq(lit(2016)),
        first().gt(lit(2015)),
        first().lt(lit(2020)),
        first().gt_eq(lit(2015)).or(col("id").eq(lit(1))),
        !first().gt_eq(lit(2015)),
        col("year_to").gt_eq(lit(2000)),
        first().gt_eq(lit(ScalarValue::Int64(None))),
    ] {
        assert_eq!(answered(expr.clone(), &held), None, "{expr}");
    }
    // a cast to a narrower integer wraps or nulls the years the footers
    // bound, and a literal beyond Int32 is still compared as a number
    let year_as = |t: DataType| datafusion::logical_expr::try_cast(col("year"), t);
    assert_eq!(
        answered(year_as(DataType::Int8).gt_eq(lit(-300)), &held),
        None
    );
    assert_eq!(
        answered(year_as(DataType::UInt16).gt_eq(lit(0)), &held),
        None
    );
    assert_eq!(
        answered(
            year_as(DataType::Int64).gt_eq(lit(-3_000_000_000i64)),
            &held
        ),
        Some(col("year").is_not_null())
    );
    assert_eq!(
        answered(col("year").gt_eq(lit(3_000_000_000i64)), &held),
        None
    );
    // BETWEEN, answered only when both ends hold every year
    assert_eq!(
        answered(col("year").between(lit(2016), lit(2020)), &held),
        Some(col("year").is_not_null())
    );
    assert_eq!(
        answered(col("year").between(lit(2017), lit(2020)), &held),
        None
    );
    assert_eq!(
        answered(col("year").not_between(lit(2000), lit(2030)), &held),
        None
    );
    // one conjunct answered, the other kept
    let both = col("year")
        .gt_eq(lit(2016))
        .and(col("year").lt_eq(lit(2019)));
    assert_eq!(
        answered(both.clone(), &held),
        Some(col("year").is_not_null().and(col("year").lt_eq(lit(2019))))
    );
    // every record with a year: an answered conjunct holds for all
    let held = YearsHeld {
        every_record_has_a_year: true,
        ..held
    };
    assert_eq!(answered(both, &held), Some(col("year").lt_eq(lit(2019))));
    assert_eq!(answered(first().gt_eq(lit(2015)), &held), Some(lit(true)));
    assert_eq!(answered(first().gt_eq(lit(2016)), &held), None);
}
