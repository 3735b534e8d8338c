//! Writes classified batches into Parquet files partitioned by reporting
//! country and year, inside a transaction's staging area.

use std::collections::BTreeMap;
use std::fs::File;

use datafusion::arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::datatypes::Int32Type;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;

use super::Transaction;
use crate::base::schema;
use crate::error::{Error, Result};

/// What the rows waiting for their partition's next row group may take in
/// memory together, as Arrow arrays.
const BUFFER_BUDGET: usize = 64 * 1024 * 1024;

/// Rows that make a partition's row group full; the row group takes them
/// all (the writer's own limit is off, so that no sliver of the last batch
/// becomes a row group of its own).
const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Partition key: reporting country and year (`None` = year not recorded).
type PartitionKey = (String, Option<i32>);

/// Rows of one partition not yet written.
#[derive(Default)]
struct Pending {
    batches: Vec<RecordBatch>,
    rows: usize,
    bytes: usize,
}

/// Writes each partition's rows a whole row group at a time. A row group
/// being written holds an encoder and a zstd context for every column
/// (about a megabyte each); with every partition's row group open at once,
/// as a plain writer per partition would have them, 30 partitions took
/// 600 MB. Rows wait as Arrow arrays instead, and only one row group is
/// open at any time.
pub struct PartitionedWriter {
    generation: u64,
    change_id: String,
    writers: BTreeMap<PartitionKey, (String, ArrowWriter<File>)>,
    pending: BTreeMap<PartitionKey, Pending>,
    pending_bytes: usize,
}

fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            // level 1: fast, and its compression contexts (one per column
            // of the row group being written) are the smallest; the files
            // are a few percent larger than at level 3
            ZstdLevel::try_new(1).expect("valid level"),
        ))
        .set_statistics_enabled(EnabledStatistics::Page)
        // ids are (nearly) all distinct: a dictionary of them only costs
        // time and space before the writer gives up on it
        .set_column_dictionary_enabled(ColumnPath::from("record_id"), false)
        .set_column_dictionary_enabled(ColumnPath::from("case_id"), false)
        .set_max_row_group_row_count(None)
        .set_created_by("safetynet".to_string())
        .build()
}

impl PartitionedWriter {
    /// A writer for the files of `txn`'s change.
    pub fn new(txn: &Transaction<'_>) -> Self {
        PartitionedWriter {
            generation: txn.generation(),
            change_id: txn.change_id().to_string(),
            writers: BTreeMap::new(),
            pending: BTreeMap::new(),
            pending_bytes: 0,
        }
    }

    /// Relative path of a partition's file in this generation.
    fn relative_path(&self, key: &PartitionKey, index: usize) -> String {
        let year = key
            .1
            .map(|y| y.to_string())
            .unwrap_or_else(|| "unknown".into());
        format!(
            "data/reporting_country={}/year={}/g{:06}-{}-{:04}.parquet",
            key.0, year, self.generation, self.change_id, index
        )
    }

    pub fn write(&mut self, txn: &mut Transaction<'_>, batch: &RecordBatch) -> Result<()> {
        let countries = batch
            .column_by_name("reporting_country")
            .expect("country column");
        let countries = countries.as_string::<i32>();
        let years = batch.column_by_name("year").expect("year column");
        let years = years.as_primitive::<Int32Type>();
        let mut groups: BTreeMap<PartitionKey, Vec<u32>> = BTreeMap::new();
        for row in 0..batch.num_rows() {
            let key = (
                countries.value(row).to_string(),
                years.is_valid(row).then(|| years.value(row)),
            );
            groups.entry(key).or_default().push(row as u32);
        }
        for (key, rows) in groups {
            let part = take_record_batch(batch, &UInt32Array::from(rows))?;
            let bytes = part.get_array_memory_size();
            let pending = self.pending.entry(key.clone()).or_default();
            pending.rows += part.num_rows();
            pending.bytes += bytes;
            pending.batches.push(part);
            self.pending_bytes += bytes;
            if pending.rows >= ROW_GROUP_ROWS {
                self.write_row_group(txn, &key)?;
            }
        }
        self.bound_memory(txn)
    }

    /// When the waiting rows take more than [`BUFFER_BUDGET`], the largest
    /// partitions are written out early (smaller row groups, bounded memory).
    fn bound_memory(&mut self, txn: &mut Transaction<'_>) -> Result<()> {
        if self.pending_bytes <= BUFFER_BUDGET {
            return Ok(());
        }
        let mut sizes: Vec<(usize, PartitionKey)> = self
            .pending
            .iter()
            .map(|(k, p)| (p.bytes, k.clone()))
            .collect();
        sizes.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (_, key) in sizes {
            if self.pending_bytes <= BUFFER_BUDGET / 2 {
                break;
            }
            self.write_row_group(txn, &key)?;
        }
        Ok(())
    }

    /// Writes a partition's waiting rows as one row group, opening its file
    /// on first use.
    fn write_row_group(&mut self, txn: &mut Transaction<'_>, key: &PartitionKey) -> Result<()> {
        let Some(pending) = self.pending.remove(key) else {
            return Ok(());
        };
        self.pending_bytes -= pending.bytes;
        if !self.writers.contains_key(key) {
            let relative = self.relative_path(key, self.writers.len());
            let path = txn.stage(&relative)?;
            let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
            let writer = ArrowWriter::try_new(file, schema::store_schema(), Some(properties()))?;
            self.writers.insert(key.clone(), (relative, writer));
        }
        let (_, writer) = self.writers.get_mut(key).expect("inserted above");
        for batch in &pending.batches {
            writer.write(batch)?;
        }
        // ends the row group, which frees its encoders
        writer.flush()?;
        Ok(())
    }

    /// Writes what waits and closes every file; returns their paths
    /// relative to the store root.
    pub fn finish(mut self, txn: &mut Transaction<'_>) -> Result<Vec<String>> {
        let keys: Vec<PartitionKey> = self.pending.keys().cloned().collect();
        for key in keys {
            self.write_row_group(txn, &key)?;
        }
        let mut files = Vec::new();
        for (_, (relative, writer)) in self.writers {
            writer.close()?;
            files.push(relative);
        }
        Ok(files)
    }
}
