//! A small store read into memory once, for the commands that run many
//! queries over it (`report`, `run`, `compare`, `share`, `gaps`).
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
//! larger in memory than [`SHARE_OF_POOL`] of the pool, reading stops and the
//! session keeps reading from disk: the result is the same either way, only
//! the speed differs.

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

/// Stores whose data files take more than this on disk are not read into
/// memory at all (a few hundred thousand records; the sample store is
/// about 1.2 MB): decoded they could not fit the pool's share anyway.
pub const MAX_STORE_BYTES: u64 = 16 * 1024 * 1024;

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
    if on_disk == 0 || on_disk > MAX_STORE_BYTES {
        return Ok(false);
    }
    let pool = &ctx.runtime_env().memory_pool;
    let budget = match pool.memory_limit() {
        datafusion::execution::memory_pool::MemoryLimit::Finite(limit) => limit / SHARE_OF_POOL,
        _ => usize::MAX,
    };
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
