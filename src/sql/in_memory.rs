//! A small store read into memory once, for the commands that run many
//! queries over it (`report` and `run`, with their service gaps; `compare`
//! and `share`). `query` and `gaps` run one or two queries, which read only
//! the columns they need from the files: reading every column first would
//! cost more than it saves.
//!
//! Why: every query of a report scans the store again, and on a small store
//! a scan is mostly opening files, not reading rows. The sample store is 30
//! files of a few hundred records (one per country and year); its report
//! runs 16 queries twice, and opening, decoding and pruning those files was
//! about three fifths of the queries' time. Read once, each scan is a copy
//! of shared buffers. A large store is left on disk, where the Parquet
//! reader's projection and pruning pay and memory stays bounded.
//!
//! The memory is held against the session's pool (`--memory-limit`) like
//! any operator's, so the queries know it is taken. When the store turns out
//! larger in memory than its share of the pool ([`SHARE_OF_POOL`]), reading
//! stops and the session keeps reading from disk: the result is the same
//! either way, only the speed differs. The first batch read, scaled to the
//! store's record count, stops reading early a store that is far too large.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::{MemTable, TableType};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::store::Store;

/// Decoded records take at least this many times their size on disk (7
/// times on the sample store, 26 at a million records): a store whose
/// files are larger than its share of the pool divided by this is not read
/// at all.
pub const LEAST_EXPANSION: u64 = 4;

/// The part of the session's memory pool the store may take in memory; the
/// rest stays for the queries' own operators.
pub const SHARE_OF_POOL: usize = 4;

/// The store's records as the table `cases`, held in memory. The
/// reservation keeps the memory counted in the pool for as long as the
/// table lives.
#[derive(Debug)]
pub struct StoreInMemory {
    table: MemTable,
    held: MemoryReservation,
}

impl StoreInMemory {
    /// The memory the records take, as held in the pool.
    pub fn bytes(&self) -> usize {
        self.held.size()
    }
}

#[async_trait]
impl TableProvider for StoreInMemory {
    fn schema(&self) -> SchemaRef {
        self.table.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        self.table.scan(state, projection, filters, limit).await
    }
}

/// The store's records, from the row counts in the files' footers: no
/// column is read.
async fn record_count(ctx: &SessionContext) -> Result<u64> {
    let batches = super::engine::run_sql(ctx, "SELECT count(*) FROM cases").await?;
    Ok(super::engine::single_count(&batches).max(0) as u64)
}

/// Replaces the table `cases` of `ctx` (the store on disk) by the same
/// records in memory when the store is small (see the module comment).
/// Returns whether it did. Each partition keeps the batches of one
/// partition of the scan, in the scan's order, so the queries see the
/// records in the same order on every run.
pub async fn read_small_store(ctx: &SessionContext, store: &Store) -> Result<bool> {
    let mut on_disk = 0;
    for path in store.data_paths() {
        on_disk += std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
    }
    let pool = &ctx.runtime_env().memory_pool;
    let budget = match pool.memory_limit() {
        datafusion::execution::memory_pool::MemoryLimit::Finite(limit) => limit / SHARE_OF_POOL,
        _ => usize::MAX,
    };
    if on_disk == 0 || on_disk.saturating_mul(LEAST_EXPANSION) > budget as u64 {
        return Ok(false);
    }
    let records = record_count(ctx).await?;
    let held = MemoryConsumer::new("the store, read into memory").register(pool);
    let plan = ctx.table("cases").await?.create_physical_plan().await?;
    let schema = plan.schema();
    let task = ctx.task_ctx();
    let mut partitions = Vec::new();
    for partition in 0..plan.properties().partitioning.partition_count() {
        let mut stream = plan.execute(partition, Arc::clone(&task))?;
        let mut batches: Vec<RecordBatch> = Vec::new();
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let size = batch.get_array_memory_size();
            // The first batch tells the size of a record: a store that
            // cannot fit is left on disk after one batch, not after a
            // budget's worth of reading (a 500,000-record report was 8%
            // slower that way). Only a guess, so with a margin of two: the
            // reservation below is what decides.
            let expected = (size as u64).saturating_mul(records) / batch.num_rows().max(1) as u64;
            if held.size() == 0 && expected > (budget as u64).saturating_mul(2) {
                return Ok(false);
            }
            if held.size() + size > budget || held.try_grow(size).is_err() {
                return Ok(false); // too large for memory: stays on disk
            }
            batches.push(batch);
        }
        partitions.push(batches);
    }
    let table = MemTable::try_new(schema, partitions)?;
    ctx.deregister_table("cases")?;
    ctx.register_table("cases", Arc::new(StoreInMemory { table, held }))?;
    Ok(true)
}
