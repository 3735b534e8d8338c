//! Writes classified batches into Parquet files partitioned by reporting
//! country and year, inside a transaction's staging area.

use std::collections::BTreeMap;
use std::fs::File;

use datafusion::arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::datatypes::Int32Type;
use datafusion::arrow::ipc::CompressionType;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::{IpcWriteOptions, StreamWriter};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;

use super::Transaction;
use crate::base::schema;
use crate::error::{Error, Result};

/// What the rows waiting for their partition's next row group may take in
/// memory together (compressed Arrow IPC, about a fifth of the arrays).
const BUFFER_BUDGET: usize = 64 * 1024 * 1024;

/// Rows that make a partition's row group full; the row group takes them
/// all (the writer's own limit is off, so that no sliver of the last batch
/// becomes a row group of its own).
const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Partition key: reporting country and year (`None` = year not recorded).
type PartitionKey = (String, Option<i32>);

/// Rows gathered per partition before they are compressed together: the
/// few rows of one input chunk that fall in a partition compress poorly.
const COMPRESS_ROWS: usize = 1024;

/// Rows of one partition not yet written: the last few as arrays, the rest
/// as a zstd-compressed Arrow IPC stream in memory.
struct Pending {
    recent: Vec<RecordBatch>,
    recent_rows: usize,
    stream: StreamWriter<Vec<u8>>,
    rows: usize,
    /// Bytes held: the compressed stream and the recent arrays.
    bytes: usize,
}

impl Pending {
    fn new() -> Result<Self> {
        let options =
            IpcWriteOptions::default().try_with_compression(Some(CompressionType::ZSTD))?;
        Ok(Pending {
            recent: Vec::new(),
            recent_rows: 0,
            stream: StreamWriter::try_new_with_options(
                Vec::new(),
                &schema::store_schema(),
                options,
            )?,
            rows: 0,
            bytes: 0,
        })
    }

    /// Adds rows; returns how the bytes held changed.
    fn push(&mut self, batch: RecordBatch) -> Result<isize> {
        let before = self.bytes;
        self.rows += batch.num_rows();
        self.recent_rows += batch.num_rows();
        self.recent.push(batch);
        if self.recent_rows >= COMPRESS_ROWS {
            let gathered = concat_batches(&schema::store_schema(), &self.recent)?;
            self.recent.clear();
            self.recent_rows = 0;
            self.stream.write(&gathered)?;
        }
        self.bytes = self.stream.get_ref().len()
            + self
                .recent
                .iter()
                .map(RecordBatch::get_array_memory_size)
                .sum::<usize>();
        Ok(self.bytes as isize - before as isize)
    }

    /// The rows, decoded, in the order they came.
    fn into_batches(self) -> Result<Vec<RecordBatch>> {
        let bytes = self.stream.into_inner()?;
        let reader = StreamReader::try_new(std::io::Cursor::new(bytes), None)?;
        let mut batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
        batches.extend(self.recent);
        Ok(batches)
    }
}

/// Writes each partition's rows a whole row group at a time. A row group
/// being written holds an encoder and a compressor for every column
/// (about a megabyte each); with every partition's row group open at once,
/// as a plain writer per partition would have them, 30 partitions took
/// 600 MB. Rows wait instead, and only one row group is open at any time.
/// They wait compressed: as plain arrays the budget filled after about
/// 9,000 rows per partition, and row groups that small made every query of
/// a freshly ingested store about a quarter slower than after `classify`
/// (which writes partition by partition).
pub struct PartitionedWriter {
    generation: u64,
    change_id: String,
    writers: BTreeMap<PartitionKey, (String, ArrowWriter<File>)>,
    pending: BTreeMap<PartitionKey, Pending>,
    pending_bytes: usize,
}

fn properties() -> WriterProperties {
    WriterProperties::builder()
        // LZ4: every query decodes the store again, and LZ4 decodes
        // faster than zstd (which also builds a context per page): on a
        // million records the queries ran about 10% faster, for files
        // about a fifth larger than with zstd level 1
        .set_compression(Compression::LZ4_RAW)
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
            let pending = match self.pending.entry(key.clone()) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => e.insert(Pending::new()?),
            };
            let change = pending.push(part)?;
            self.pending_bytes = self.pending_bytes.saturating_add_signed(change);
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
        for batch in &pending.into_batches()? {
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
