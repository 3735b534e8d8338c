//! The SQL engine: a DataFusion session over the store (registered as the
//! table `cases`), its settings, and the one runner of read-only SQL.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::common::ParamValues;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::SQLOptions;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};

use crate::base::escape::terminal;
use crate::base::schema;
use crate::error::{Error, Result};
use crate::store::Store;

/// Output formats of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Table,
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    Parquet,
    Xlsx,
}

/// What queries may hold in memory unless `--memory-limit` says otherwise:
/// with the rest of the process, the report stays under 1 GiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 512 * 1024 * 1024;

/// What a session may use, as the user set it (`--memory-limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineSettings {
    /// Bytes the operators may hold before spilling to disk.
    pub memory_limit: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            memory_limit: DEFAULT_MEMORY_LIMIT,
        }
    }
}

/// The runtime every query command runs on. DataFusion reads local files
/// on tokio's blocking threads; left at tokio's default of up to 512 of
/// them, each kept its own allocator heap and a 10M-record report peaked at
/// 1.2 GB. A few threads read as fast on two cores.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
        .map_err(|e| Error::io("the query runtime", e))
}

const BLOCKING_THREADS: usize = 4;

/// Bytes from `512M`, `2G`, `800000K` or a plain number.
pub fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], t[i..].to_ascii_uppercase()),
        None => (t, String::new()),
    };
    let n: f64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a size such as 512M or 2G"))?;
    let scale: f64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("'{text}' is not a size such as 512M or 2G")),
    };
    let bytes = n * scale;
    if bytes.is_nan() || bytes < 16.0 * 1024.0 * 1024.0 {
        return Err(format!("'{text}' is below the smallest limit, 16M"));
    }
    Ok(bytes as usize)
}

/// A DataFusion session with the store registered once as the table
/// `cases`. Its list of files comes from the manifest, so files a killed run
/// left behind are never read.
pub async fn session(store: &Store, settings: EngineSettings) -> Result<SessionContext> {
    let ctx = bounded_context(session_config()?, settings.memory_limit)?;
    crate::sql::udf::register(&ctx);
    crate::sql::text_extremes::register(&ctx);
    crate::sql::count_rows::register(&ctx);
    crate::sql::rollup::register(&ctx);
    crate::sql::perturb::register(
        &ctx,
        crate::sql::perturb::CountSettings::internal(store.cell_key_secret()?),
    );
    let paths = store.data_paths();
    if paths.is_empty() {
        let empty = MemTable::try_new(schema::store_schema(), vec![vec![]])?;
        ctx.register_table("cases", Arc::new(empty))?;
        return Ok(ctx);
    }
    crate::sql::known_years::register(&ctx, paths.clone());
    let urls = paths
        .iter()
        .map(|p| file_url(p))
        .collect::<Result<Vec<_>>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(scan_schema());
    let table = ListingTable::try_new(config)?;
    ctx.register_table("cases", Arc::new(table))?;
    Ok(ctx)
}

/// A store file as DataFusion's URL for it. Not `ListingTableUrl::parse`,
/// which reads `[`, `*` and `?` in a path as a glob: a store under
/// `cases [2024]/` then matched no file and read as empty, with no error.
/// The path is made canonical first: DataFusion refuses a URL with `..`
/// in it, so `--store ../store` failed every query ("illegal character
/// sequence"), after `run` had already ingested.
pub fn file_url(path: &std::path::Path) -> Result<ListingTableUrl> {
    let absolute = std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .map_err(|e| Error::io(path, e))?;
    let url = url::Url::from_file_path(&absolute).map_err(|()| {
        Error::io(
            path,
            std::io::Error::other("the path cannot be written as a file URL"),
        )
    })?;
    Ok(ListingTableUrl::try_new(url, None)?)
}

/// [`session`] for a command that runs many queries over the store (a
/// report, a comparison, a bundle): a small store is read into memory once
/// instead of from its files by every query (see [`super::in_memory`]).
pub async fn session_for_many_queries(
    store: &Store,
    settings: EngineSettings,
) -> Result<SessionContext> {
    let ctx = session(store, settings).await?;
    super::in_memory::read_small_store(&ctx, store).await?;
    Ok(ctx)
}

/// The first value of a one-row `count(...)` result (0 when it has no row).
pub fn single_count(batches: &[RecordBatch]) -> i64 {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;
    batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map_or(0, |b| b.column(0).as_primitive::<Int64Type>().value(0))
}

/// The store's schema as queries read it: text columns as string views.
/// Decoding a dictionary-encoded Parquet column into views points at the
/// dictionary instead of copying each value, and filters, repartitions and
/// joins move 16-byte views instead of the text; on a million records
/// every shipped query ran about a tenth faster. Results are turned back
/// into plain strings ([`plain_strings`]), so nothing downstream sees a
/// view.
fn scan_schema() -> datafusion::arrow::datatypes::SchemaRef {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let store = schema::store_schema();
    let fields: Vec<Field> = store
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Result columns of strings as plain `Utf8`, whatever type the engine
/// chose to carry them in, in lists too (`array_agg` of a text column).
fn plain_strings(batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::Schema;
    let Some(first) = batches.first() else {
        return Ok(batches);
    };
    let schema = first.schema();
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(plain_type(f.data_type())))
        .collect();
    let plain = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    if plain == schema {
        return Ok(batches);
    }
    batches
        .iter()
        .map(|batch| {
            let columns = batch
                .columns()
                .iter()
                .zip(plain.fields())
                .map(|(column, field)| cast(column, field.data_type()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(RecordBatch::try_new(Arc::clone(&plain), columns)?)
        })
        .collect()
}

/// `data_type` with every string view or large string as `Utf8`.
fn plain_type(
    data_type: &datafusion::arrow::datatypes::DataType,
) -> datafusion::arrow::datatypes::DataType {
    use datafusion::arrow::datatypes::DataType;
    let item = |f: &datafusion::arrow::datatypes::FieldRef| {
        Arc::new(f.as_ref().clone().with_data_type(plain_type(f.data_type())))
    };
    match data_type {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::List(f) => DataType::List(item(f)),
        DataType::LargeList(f) => DataType::LargeList(item(f)),
        other => other.clone(),
    }
}

/// The session settings every query command shares.
fn session_config() -> Result<SessionConfig> {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_target_partitions(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        );
    // No table statistics. Planning a scan turned every file's footer into
    // minimums, maximums and null counts of every column. What reads them:
    // cost estimates for joins, `count(*)`, `min` and `max` answered without
    // a scan, and skipping a whole file before its footer is read. The
    // report's queries use none of that: they filter on an expression
    // (`coalesce(year_from, year)`) that no statistic answers, and join
    // small grouped results. Without them a `count(*)` reads every footer
    // (no column), and a filter on a stored column reads every file's
    // footer at run time rather than at planning; row groups and pages are
    // still pruned from those footers (see the test
    // `a_country_and_year_filter_reads_one_partition`). With
    // them off, the 14 benchmark queries (one `query` process each,
    // `benches/ab_builds.py queries`, identical tables) took 1.402 -> 1.334 s
    // at a million records (five rounds) and 9.366 -> 9.239 s at ten
    // million (three): a few milliseconds less per process.
    config.options_mut().execution.collect_statistics = false;
    // DataFusion 55 can deadlock under a memory limit (apache/datafusion
    // #24883, fixed after 55.2): when two input tasks of a RepartitionExec
    // spill into the same output's pool at once, the pool holds two open
    // files, the reader waits on the older one while the batch it needs is in
    // the newer, and every thread parks. A 10M-record `count(DISTINCT)` sat
    // idle for 27 minutes that way. With a one-byte rotation size each
    // spilled batch is written and sealed in its own file inside one
    // synchronous call, so the reader never waits on a file nobody will
    // finish. The cost is one temp file per spilled batch, only when a
    // repartition runs out of memory; no other operator reads this setting.
    config.options_mut().execution.max_spill_file_size_bytes =
        datafusion::config::ConfigNonZeroUsize::try_new(1)?;
    // No dynamic filters. DataFusion 55's min/max filter gives wrong answers
    // when a partition has seen only missing values (apache/datafusion
    // #25147, unfixed in 55.2): its typed null replaces the shared lower
    // bound, the filter becomes `x > max`, and files holding the true minimum
    // are pruned unread. The store's `year=unknown` files are exactly that,
    // and `min(year)` sometimes started the report a year late. The join and
    // TopK filters have had silent wrong-result bugs of their own (#23126,
    // #24352). They only save reading rows on selective queries; published
    // figures come before that saving.
    let optimizer = &mut config.options_mut().optimizer;
    optimizer.enable_dynamic_filter_pushdown = false;
    optimizer.enable_aggregate_dynamic_filter_pushdown = false;
    optimizer.enable_join_dynamic_filter_pushdown = false;
    optimizer.enable_topk_dynamic_filter_pushdown = false;
    Ok(config)
}

/// A context whose operators share a pool of `limit` bytes. Operators that
/// can spill (sorts, grouped aggregates, repartitions) spill to the OS temp
/// dir beyond it instead of growing without limit.
fn bounded_context(config: SessionConfig, limit: usize) -> Result<SessionContext> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(FairSpillPool::new(limit)))
        .build_arc()?;
    Ok(SessionContext::new_with_config_rt(config, runtime))
}

/// Runs one read-only statement. DDL, DML and statements such as `SET` are
/// refused: the store is only ever changed by `ingest` and `classify`.
pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    run(ctx, sql, None).await
}

/// The one runner of every query, the report's and the user's: read-only,
/// with `params` bound by name when given (never spliced into the SQL).
pub async fn run(
    ctx: &SessionContext,
    sql: &str,
    params: Option<ParamValues>,
) -> Result<Vec<RecordBatch>> {
    run_planned(ctx, plan(ctx, sql).await?, params).await
}

/// The statement planned, read-only: DDL, DML and statements such as `SET`
/// are refused.
pub async fn plan(ctx: &SessionContext, sql: &str) -> Result<DataFrame> {
    ctx.sql_with_options(sql, read_only()).await.map_err(|e| {
        let text = e.to_string();
        if text.contains("not supported")
            && (text.contains("DDL") || text.contains("DML") || text.contains("Statement"))
        {
            Error::Usage(format!("query is read-only: {text}"))
        } else {
            Error::DataFusion(e)
        }
    })
}

/// Runs a statement [`plan`] planned, with `params` bound when given.
pub async fn run_planned(
    ctx: &SessionContext,
    df: DataFrame,
    params: Option<ParamValues>,
) -> Result<Vec<RecordBatch>> {
    let df = match params {
        Some(params) => df.with_param_values(params)?,
        None => df,
    };
    crate::sql::known_years::read_before_the_first_statement(ctx).await;
    // a result without rows still has its columns: one empty batch keeps
    // them, so an empty table is published with its header, not as `|  |`
    let schema = df.schema().inner().clone();
    let mut batches = collect_within_pool(ctx, df).await?;
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema));
    }
    plain_strings(batches)
}

/// Collects a result, holding its batches against the session's memory
/// pool like any operator's memory: a result larger than `--memory-limit`
/// (`repeat('x', 1e9)`, a billion rows) is an error, not a process that
/// grows without bound.
async fn collect_within_pool(ctx: &SessionContext, df: DataFrame) -> Result<Vec<RecordBatch>> {
    use datafusion::execution::memory_pool::MemoryConsumer;
    use futures::StreamExt;
    let reservation = MemoryConsumer::new("query result").register(&ctx.runtime_env().memory_pool);
    let mut stream = df.execute_stream().await?;
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        if reservation.try_grow(batch.get_array_memory_size()).is_err() {
            return Err(Error::Usage(
                "the query's result does not fit in --memory-limit: aggregate it, add a LIMIT, or raise --memory-limit"
                    .into(),
            ));
        }
        batches.push(batch);
    }
    Ok(batches)
}

/// Runs `work` for at most `timeout` (`query --timeout`): a query that runs
/// longer is stopped (its streams are dropped) and reported.
pub async fn within<T>(
    timeout: Option<std::time::Duration>,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match timeout {
        None => work.await,
        Some(limit) => tokio::time::timeout(limit, work).await.map_err(|_| {
            Error::Usage(format!(
                "the query ran longer than --timeout {}s and was stopped",
                limit.as_secs()
            ))
        })?,
    }
}

/// Whether a planned statement has parameters to bind.
pub fn has_placeholders(df: &DataFrame) -> bool {
    df.logical_plan()
        .get_parameter_types()
        .is_ok_and(|types| !types.is_empty())
}

fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// The batches as the text the table format shows, each value (and column
/// name) with its control characters as visible escapes
/// (`base::escape::terminal`): values from the store cannot drive the
/// terminal nor break the table's lines. Every value is shown as text by
/// the table format anyway, so the table looks as it would without this.
fn terminal_safe(batches: &[RecordBatch]) -> Result<Vec<RecordBatch>> {
    use datafusion::arrow::array::{ArrayRef, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default().with_display_error(true);
    batches
        .iter()
        .map(|batch| {
            let fields: Vec<Field> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| Field::new(terminal(f.name()), DataType::Utf8, true))
                .collect();
            let columns = batch
                .columns()
                .iter()
                .map(|column| -> Result<ArrayRef> {
                    let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
                    let values: StringArray = (0..column.len())
                        .map(|row| Some(terminal(&formatter.value(row).to_string()).into_owned()))
                        .collect();
                    Ok(std::sync::Arc::new(values))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(RecordBatch::try_new(
                std::sync::Arc::new(Schema::new(fields)),
                columns,
            )?)
        })
        .collect()
}

/// Renders result batches in the chosen format. The table format is for a
/// person at a terminal: values are shown with their control characters as
/// visible escapes. CSV and JSON are for programs and keep the values as
/// they are (JSON escapes control characters by its own rules); the command
/// line escapes them too when it prints them to a terminal.
pub fn render(batches: &[RecordBatch], format: OutputFormat) -> Result<String> {
    use datafusion::arrow::util::pretty;
    Ok(match format {
        OutputFormat::Table => {
            pretty::pretty_format_batches(&terminal_safe(batches)?)?.to_string() + "\n"
        }
        other => super::output::render_text(batches, other)?,
    })
}

#[cfg(test)]
mod tests {
    use super::{bounded_context, parse_size, session_config};
    use datafusion::arrow::array::{Array, Int32Array, Int64Array, RecordBatch};
    use std::time::Duration;

    /// String views and large strings come back as plain strings, in lists
    /// too, with the values unchanged.
    #[tokio::test]
    async fn results_carry_plain_strings_only() {
        let ctx = datafusion::prelude::SessionContext::new();
        let batches = ctx
            .sql(
                "SELECT arrow_cast('a', 'Utf8View') AS v, arrow_cast('b', 'LargeUtf8') AS l, \
                 make_array(arrow_cast('c', 'Utf8View')) AS list, 1 AS n",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let plain = super::plain_strings(batches).unwrap();
        let schema = plain[0].schema();
        use datafusion::arrow::datatypes::DataType;
        assert_eq!(schema.field(0).data_type(), &DataType::Utf8);
        assert_eq!(schema.field(1).data_type(), &DataType::Utf8);
        assert!(
            matches!(schema.field(2).data_type(), DataType::List(item) if item.data_type() == &DataType::Utf8)
        );
        assert_eq!(schema.field(3).data_type(), &DataType::Int64);
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&plain)
            .unwrap()
            .to_string();
        assert!(text.contains("| a | b | [c]  | 1 |"), "{text}");
    }

    /// apache/datafusion#24883: under a memory limit a grouped
    /// `count(DISTINCT)` on two partitions could park every thread for good.
    /// This is the issue's own reproducer (64-row batches, a 2 MB pool) run
    /// with our session settings; without the one-byte spill rotation the
    /// first or second run hangs. Each group holds every one of 337 ids, so
    /// the counts are checked too: spilling must not lose or repeat a row.
    #[test]
    fn a_spilling_distinct_count_never_parks() {
        const RUNS: usize = 5;
        let (done, outcome) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a test runtime");
            let counts: crate::error::Result<Vec<Vec<i64>>> = runtime.block_on(async {
                let config = session_config()?
                    .with_target_partitions(2)
                    .with_batch_size(64);
                let ctx = bounded_context(config, 2 * 1024 * 1024)?;
                ctx.sql(
                    "CREATE TABLE t AS SELECT v % 13 AS g, \
                     concat('trace-', CAST(v % 337 AS VARCHAR), '-0123456789abcdef') AS trace_id \
                     FROM generate_series(1, 40000) AS s(v)",
                )
                .await?
                .collect()
                .await?;
                let mut counts = Vec::new();
                for _ in 0..RUNS {
                    let batches = ctx
                        .sql("SELECT g, count(DISTINCT trace_id) AS n FROM t GROUP BY g")
                        .await?
                        .collect()
                        .await?;
                    let mut run = Vec::new();
                    for batch in &batches {
                        let n = batch
                            .column(1)
                            .as_any()
                            .downcast_ref::<Int64Array>()
                            .expect("count is Int64");
                        run.extend((0..n.len()).map(|i| n.value(i)));
                    }
                    counts.push(run);
                }
                Ok(counts)
            });
            let _ = done.send(counts);
        });
        let counts = outcome
            .recv_timeout(Duration::from_secs(60))
            .expect("a spilling count(DISTINCT) did not finish in a minute: deadlocked")
            .expect("the query runs");
        assert_eq!(counts.len(), RUNS);
        for run in counts {
            assert_eq!(run, vec![337; 13], "13 groups of 337 distinct ids");
        }
    }

    /// apache/datafusion#25147: with the aggregate dynamic filter on, a
    /// partition that has seen only missing values merges a typed null into
    /// the shared lower bound, the filter becomes `year > max`, and a file
    /// holding the true minimum is pruned unread. The store has such a file
    /// (`year=unknown`), and the report once started a year late this way.
    /// The race depends on scheduling, so the query runs many times.
    #[test]
    fn min_and_max_see_every_file_when_one_holds_only_missing_values() {
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        use datafusion::parquet::arrow::ArrowWriter;
        use std::sync::Arc;

        const RUNS: usize = 300;
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("year", DataType::Int32, true)]));
        let files: [(&str, Option<i32>); 5] = [
            ("a_unknown", None),
            ("b_2021", Some(2021)),
            ("c_2021", Some(2021)),
            ("d_unknown", None),
            ("e_2020", Some(2020)),
        ];
        for (name, year) in files {
            let years = Int32Array::from(vec![year; 1000]);
            let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(years)]).unwrap();
            let file = std::fs::File::create(dir.path().join(format!("{name}.parquet"))).unwrap();
            let mut writer = ArrowWriter::try_new(file, Arc::clone(&schema), None).unwrap();
            writer.write(&batch).unwrap();
            writer.close().unwrap();
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let wrong = runtime.block_on(async {
            let config = session_config().unwrap().with_target_partitions(2);
            let ctx = bounded_context(config, 64 * 1024 * 1024).unwrap();
            ctx.register_parquet(
                "t",
                dir.path().to_str().unwrap(),
                datafusion::prelude::ParquetReadOptions::default(),
            )
            .await
            .unwrap();
            let mut wrong = Vec::new();
            for _ in 0..RUNS {
                let batches = ctx
                    .sql("SELECT min(year), max(year) FROM t")
                    .await
                    .unwrap()
                    .collect()
                    .await
                    .unwrap();
                let column = |i: usize| {
                    batches[0]
                        .column(i)
                        .as_any()
                        .downcast_ref::<Int32Array>()
                        .unwrap()
                        .value(0)
                };
                let got = (column(0), column(1));
                if got != (2020, 2021) {
                    wrong.push(got);
                }
            }
            wrong
        });
        assert!(
            wrong.is_empty(),
            "{} of {RUNS} runs gave a wrong min/max, e.g. {:?}",
            wrong.len(),
            wrong.first()
        );
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("512M"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_size("1g"), Ok(1024 * 1024 * 1024));
        assert_eq!(parse_size("1.5GiB"), Ok(1536 * 1024 * 1024));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1M").is_err(), "too small to run anything");
    }
}
