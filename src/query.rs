//! `query`: read-only DataFusion SQL over the store, registered as `cases`.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::SQLOptions;
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
    let ctx = SessionContext::new_with_config(config);
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
