//! `query`: read-only DataFusion SQL over the store, registered as `cases`.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::SQLOptions;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::{Error, Result};
use crate::schema;
use crate::store::Store;

/// Output formats of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

/// What queries may hold in memory unless `--memory-limit` says otherwise:
/// with the rest of the process, the report stays under 1 GiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 512 * 1024 * 1024;

static MEMORY_LIMIT: OnceLock<usize> = OnceLock::new();

/// Sets the query memory pool for the rest of the process (`--memory-limit`).
pub fn set_memory_limit(bytes: usize) {
    let _ = MEMORY_LIMIT.set(bytes);
}

fn memory_limit() -> usize {
    MEMORY_LIMIT.get().copied().unwrap_or(DEFAULT_MEMORY_LIMIT)
}

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
pub async fn session(store: &Store) -> Result<SessionContext> {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_target_partitions(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        );
    // A bounded pool: operators that can spill (sorts, grouped aggregates)
    // spill to the OS temp dir beyond it instead of growing without limit.
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(FairSpillPool::new(memory_limit())))
        .build_arc()?;
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    crate::udf::register(&ctx);
    let paths = store.data_paths();
    if paths.is_empty() {
        let empty = MemTable::try_new(schema::store_schema(), vec![vec![]])?;
        ctx.register_table("cases", Arc::new(empty))?;
        return Ok(ctx);
    }
    let urls = paths
        .iter()
        .map(|p| {
            let absolute = std::path::absolute(p).map_err(|e| Error::io(p, e))?;
            Ok(ListingTableUrl::parse(absolute.to_string_lossy())?)
        })
        .collect::<Result<Vec<_>>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema::store_schema());
    ctx.register_table("cases", Arc::new(ListingTable::try_new(config)?))?;
    Ok(ctx)
}

/// Runs one read-only statement. DDL, DML and statements such as `SET` are
/// refused: the store is only ever changed by `ingest` and `classify`.
pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let df = ctx.sql_with_options(sql, options).await.map_err(|e| {
        let text = e.to_string();
        if text.contains("not supported")
            && (text.contains("DDL") || text.contains("DML") || text.contains("Statement"))
        {
            Error::Usage(format!("query is read-only: {text}"))
        } else {
            Error::Sql(e)
        }
    })?;
    df.collect().await.map_err(Error::Sql)
}

/// Renders result batches in the chosen format.
pub fn render(batches: &[RecordBatch], format: OutputFormat) -> Result<String> {
    use datafusion::arrow::{csv, json, util::pretty};
    Ok(match format {
        OutputFormat::Table => pretty::pretty_format_batches(batches)?.to_string() + "\n",
        OutputFormat::Csv => {
            let mut out = Vec::new();
            {
                let mut writer = csv::WriterBuilder::new().with_header(true).build(&mut out);
                for batch in batches {
                    writer.write(batch)?;
                }
            }
            String::from_utf8(out).expect("CSV writer produces UTF-8")
        }
        OutputFormat::Json => {
            let mut out = Vec::new();
            {
                let mut writer = json::LineDelimitedWriter::new(&mut out);
                for batch in batches {
                    writer.write(batch)?;
                }
                writer.finish()?;
            }
            String::from_utf8(out).expect("JSON writer produces UTF-8")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("512M"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_size("1g"), Ok(1024 * 1024 * 1024));
        assert_eq!(parse_size("1.5GiB"), Ok(1536 * 1024 * 1024));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1M").is_err(), "too small to run anything");
    }
}
