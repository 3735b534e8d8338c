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

use super::Transaction;
use crate::error::{Error, Result};
use crate::schema;

/// What the open partition writers may hold in memory together.
const BUFFER_BUDGET: usize = 64 * 1024 * 1024;

/// Partition key: reporting country and year (`None` = year not recorded).
type PartitionKey = (String, Option<i32>);

pub struct PartitionedWriter {
    generation: u64,
    writers: BTreeMap<PartitionKey, (String, ArrowWriter<File>)>,
}

fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            // level 1: each of the (partitions × columns) open column
            // writers holds a compression context, and level 1's are the
            // smallest; the files are a few percent larger than at level 3
            ZstdLevel::try_new(1).expect("valid level"),
        ))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(256 * 1024))
        .set_created_by("safetynet".to_string())
        .build()
}

impl PartitionedWriter {
    pub fn new(generation: u64) -> Self {
        PartitionedWriter {
            generation,
            writers: BTreeMap::new(),
        }
    }

    /// Relative path of a partition's file in this generation.
    fn relative_path(&self, key: &PartitionKey, index: usize) -> String {
        let year = key
            .1
            .map(|y| y.to_string())
            .unwrap_or_else(|| "unknown".into());
        format!(
            "data/reporting_country={}/year={}/g{:06}-{:04}.parquet",
            key.0, year, self.generation, index
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
            if !self.writers.contains_key(&key) {
                let relative = self.relative_path(&key, self.writers.len());
                let path = txn.stage(&relative)?;
                let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
                let writer =
                    ArrowWriter::try_new(file, schema::store_schema(), Some(properties()))?;
                self.writers.insert(key.clone(), (relative, writer));
            }
            let (_, writer) = self.writers.get_mut(&key).expect("inserted above");
            writer.write(&part)?;
        }
        self.bound_memory()
    }

    /// Every partition's writer holds its row group in memory until it is
    /// full; with dozens of partitions open that is most of the input. When
    /// the writers together hold more than [`BUFFER_BUDGET`], the largest
    /// row groups are written out early (smaller row groups, bounded memory).
    fn bound_memory(&mut self) -> Result<()> {
        let mut sizes: Vec<(usize, PartitionKey)> = self
            .writers
            .iter()
            .map(|(k, (_, w))| (w.in_progress_size(), k.clone()))
            .collect();
        let mut total: usize = sizes.iter().map(|(s, _)| s).sum();
        if total <= BUFFER_BUDGET {
            return Ok(());
        }
        sizes.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (size, key) in sizes {
            if total <= BUFFER_BUDGET / 2 {
                break;
            }
            let (_, writer) = self.writers.get_mut(&key).expect("listed above");
            writer.flush()?;
            total -= size;
        }
        Ok(())
    }

    /// Closes every file; returns their paths relative to the store root.
    pub fn finish(self) -> Result<Vec<String>> {
        let mut files = Vec::new();
        for (_, (relative, writer)) in self.writers {
            writer.close()?;
            files.push(relative);
        }
        Ok(files)
    }
}
