//! Writes classified batches into Parquet files partitioned by reporting
//! country and year, inside a transaction's staging area.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

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
/// memory together.
const BUFFER_BUDGET: usize = 64 * 1024 * 1024;

/// Rows that make a partition's row group full; the row group takes them
/// all (the writer's own limit is off, so that no sliver of the last batch
/// becomes a row group of its own).
const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Rows that make a row group good enough to write when memory runs short,
/// rather than compress and keep waiting.
const GOOD_ROW_GROUP_ROWS: usize = 16 * 1024;

/// Partition key: reporting country and year (`None` = year not recorded).
type PartitionKey = (String, Option<i32>);

/// Rows of one partition not yet written: as Arrow arrays until memory
/// runs short, then gathered and compressed (LZ4 Arrow IPC in memory).
#[derive(Default)]
struct Pending {
    recent: Vec<RecordBatch>,
    /// Bytes of `recent`.
    recent_bytes: usize,
    /// Whether some of `recent` are slices of larger batches.
    recent_slices: bool,
    compressed: Option<StreamWriter<Vec<u8>>>,
    rows: usize,
}

impl Pending {
    /// Adds rows that take `bytes`; `a_slice` when they are part of a
    /// larger batch, whose buffers they share.
    fn push(&mut self, batch: RecordBatch, bytes: usize, a_slice: bool) {
        self.rows += batch.num_rows();
        self.recent.push(batch);
        self.recent_bytes += bytes;
        self.recent_slices |= a_slice;
    }

    /// The recent rows in buffers of their own, when they are slices of
    /// larger batches: rows handed to the encoder would otherwise keep
    /// those whole batches in memory until their row group is written.
    fn own_recent(&mut self) -> Result<()> {
        if self.recent_slices {
            let owned = concat_batches(&schema::store_schema(), &self.recent)?;
            self.recent = vec![owned];
            self.recent_slices = false;
        }
        Ok(())
    }

    /// Compresses the rows held as arrays.
    fn compress(&mut self) -> Result<()> {
        if self.recent.is_empty() {
            return Ok(());
        }
        let stream = match &mut self.compressed {
            Some(stream) => stream,
            None => {
                // LZ4 rather than zstd (level 1): these bytes live for
                // seconds, and zstd's compressing and decoding them again
                // took 9% of ingest's CPU samples (perf, 1M records); eight
                // interleaved rounds at 1M: 7.15 s median with zstd, 6.42 s
                // with LZ4
                let options = IpcWriteOptions::default()
                    .try_with_compression(Some(CompressionType::LZ4_FRAME))?;
                self.compressed.insert(StreamWriter::try_new_with_options(
                    Vec::new(),
                    &schema::store_schema(),
                    options,
                )?)
            }
        };
        // gathered first: the few rows of one input chunk that fall in a
        // partition compress poorly on their own
        stream.write(&concat_batches(&schema::store_schema(), &self.recent)?)?;
        self.recent.clear();
        self.recent_bytes = 0;
        self.recent_slices = false;
        Ok(())
    }

    /// Bytes held: the compressed stream and the recent arrays.
    fn bytes(&self) -> usize {
        self.compressed.as_ref().map_or(0, |c| c.get_ref().len()) + self.recent_bytes
    }

    /// The rows, decoded, in the order they came.
    fn into_batches(self) -> Result<Vec<RecordBatch>> {
        let mut batches = Vec::new();
        if let Some(stream) = self.compressed {
            let bytes = stream.into_inner()?;
            let reader = StreamReader::try_new(std::io::Cursor::new(bytes), None)?;
            batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
        }
        batches.extend(self.recent);
        Ok(batches)
    }
}

/// Writes each partition's rows a whole row group at a time. A row group
/// being written holds an encoder and a compressor for every column
/// (about a megabyte each); with every partition's row group open at once,
/// as a plain writer per partition would have them, 30 partitions took
/// 600 MB. Rows wait instead, and only one row group is open at any time
/// (two at the end, in [`PartitionedWriter::finish`]).
/// When memory runs short they are compressed rather than written: as
/// plain arrays the budget filled after about 9,000 rows per partition, and
/// row groups that small made every query of a freshly ingested store about
/// a fifth slower than after `classify` (which writes partition by
/// partition).
pub struct PartitionedWriter {
    generation: u64,
    change_id: String,
    /// Partitions whose file is open (on the encoder's side).
    opened: BTreeSet<PartitionKey>,
    encoder: Encoder,
    pending: BTreeMap<PartitionKey, Pending>,
    pending_bytes: usize,
    /// [`BUFFER_BUDGET`], smaller in tests.
    budget: usize,
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
            opened: BTreeSet::new(),
            encoder: Encoder::default(),
            pending: BTreeMap::new(),
            pending_bytes: 0,
            budget: BUFFER_BUDGET,
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

    /// Adds a batch's rows to their partitions. Each partition's rows are
    /// taken as a slice of the batch when they are one run of it (ingest
    /// hands its batches over sorted by partition, and a batch of `classify`
    /// is one partition), and gathered only when they are spread: gathering
    /// every row into its partition was 7.5% of ingest's CPU (perf, 1M
    /// records).
    pub fn write(&mut self, txn: &Transaction<'_>, batch: &RecordBatch) -> Result<()> {
        super::fail_point("store-write", Path::new("data"))?;
        let rows = batch.num_rows();
        if rows == 0 {
            return self.bound_memory(txn);
        }
        let countries = batch
            .column_by_name("reporting_country")
            .expect("country column");
        let countries = countries.as_string::<i32>();
        let years = batch.column_by_name("year").expect("year column");
        let years = years.as_primitive::<Int32Type>();
        let key_of = |row: usize| {
            (
                countries.value(row),
                years.is_valid(row).then(|| years.value(row)),
            )
        };
        // keyed by the borrowed text: an owned key per row was a million
        // allocations per million records
        let mut runs: BTreeMap<(&str, Option<i32>), Vec<Range<usize>>> = BTreeMap::new();
        let mut start = 0;
        let mut current = key_of(0);
        for row in 1..=rows {
            let next = (row < rows).then(|| key_of(row));
            if next != Some(current) {
                runs.entry(current).or_default().push(start..row);
                if let Some(next) = next {
                    (start, current) = (row, next);
                }
            }
        }
        // what a row takes, on average: a slice shares its batch's buffers,
        // so its own size would be the whole batch's
        let batch_bytes = batch.get_array_memory_size();
        for ((country, year), runs) in runs {
            let key = (country.to_string(), year);
            let (part, bytes, a_slice) = match runs.as_slice() {
                [run] => (
                    batch.slice(run.start, run.len()),
                    batch_bytes * run.len() / rows,
                    run.len() < rows,
                ),
                spread => {
                    let indices = UInt32Array::from_iter_values(
                        spread
                            .iter()
                            .flat_map(|run| run.clone())
                            .map(|row| row as u32),
                    );
                    let part = take_record_batch(batch, &indices)?;
                    let bytes = part.get_array_memory_size();
                    (part, bytes, false)
                }
            };
            let pending = self.pending.entry(key.clone()).or_default();
            pending.push(part, bytes, a_slice);
            self.pending_bytes += bytes;
            if pending.rows >= ROW_GROUP_ROWS {
                self.write_row_group(txn, &key)?;
            }
        }
        self.bound_memory(txn)
    }

    /// When the waiting rows take more than [`BUFFER_BUDGET`], the largest
    /// partitions with rows enough for a good row group are written, and
    /// waiting arrays are compressed: every partition's that holds slices of
    /// a batch, then the largest others'; when that is not enough, the
    /// largest partitions are written out early (smaller row groups,
    /// bounded memory).
    fn bound_memory(&mut self, txn: &Transaction<'_>) -> Result<()> {
        if self.pending_bytes <= self.budget {
            return Ok(());
        }
        let largest_first = |pending: &BTreeMap<PartitionKey, Pending>,
                             size: fn(&Pending) -> usize| {
            let mut sizes: Vec<(usize, PartitionKey)> =
                pending.iter().map(|(k, p)| (size(p), k.clone())).collect();
            sizes.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            sizes
        };
        // a partition with enough rows for a good row group is written
        // (what `classify`, reading partition after partition, has); the
        // others are compressed, to wait for more
        for (_, key) in largest_first(&self.pending, Pending::bytes) {
            if self.pending_bytes <= self.budget / 2 {
                break;
            }
            if self.pending[&key].rows >= GOOD_ROW_GROUP_ROWS {
                self.write_row_group(txn, &key)?;
            }
        }
        // Slices go whatever their size: a slice keeps the whole batch it
        // came from in memory, and a batch is freed only when no partition
        // holds a slice of it (left to wait, a small partition's slices
        // would keep every batch). Only those: compressing every waiting
        // partition made `classify`, which hands over whole batches, slower
        // and larger (1M records: 1.54-1.62 s and 286-292 MiB before,
        // 1.67-1.79 s and 374-382 MiB so).
        for pending in self.pending.values_mut() {
            if pending.recent_slices {
                let before = pending.bytes();
                pending.compress()?;
                self.pending_bytes = self.pending_bytes - before + pending.bytes();
            }
        }
        for (_, key) in largest_first(&self.pending, |p| p.recent_bytes) {
            if self.pending_bytes <= self.budget / 2 {
                return Ok(());
            }
            let pending = self.pending.get_mut(&key).expect("listed above");
            let before = pending.bytes();
            pending.compress()?;
            self.pending_bytes = self.pending_bytes - before + pending.bytes();
        }
        if self.pending_bytes <= self.budget {
            return Ok(());
        }
        for (_, key) in largest_first(&self.pending, Pending::bytes) {
            if self.pending_bytes <= self.budget / 2 {
                break;
            }
            self.write_row_group(txn, &key)?;
        }
        Ok(())
    }

    /// Hands a partition's waiting rows to the encoder, to be written as
    /// one row group, opening the partition's file on first use.
    fn write_row_group(&mut self, txn: &Transaction<'_>, key: &PartitionKey) -> Result<()> {
        let Some(mut pending) = self.pending.remove(key) else {
            return Ok(());
        };
        pending.own_recent()?;
        self.pending_bytes -= pending.bytes();
        let file = if self.opened.contains(key) {
            None
        } else {
            Some(self.open(txn, key)?)
        };
        self.encoder.send(RowGroup {
            key: key.clone(),
            file,
            pending,
        })
    }

    /// Opens the file of a partition that has none yet. Files are numbered
    /// in the order they are opened.
    fn open(&mut self, txn: &Transaction<'_>, key: &PartitionKey) -> Result<OpenFile> {
        let relative = self.relative_path(key, self.opened.len());
        self.opened.insert(key.clone());
        let path = txn.stage(&relative)?;
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let writer = ArrowWriter::try_new(file, schema::store_schema(), Some(properties()))?;
        Ok((relative, writer))
    }

    /// Writes what waits and closes every file; returns their paths
    /// relative to the store root.
    ///
    /// The partitions still waiting are written on two cores: each is a
    /// file of its own, so the files are the same bytes in any order of
    /// work (their names are given first, in key order, as one at a time
    /// would give them). On 300,000 records this last step had been a
    /// fifth of ingest's time on one core while the other waited.
    pub fn finish(mut self, txn: &Transaction<'_>) -> Result<Vec<String>> {
        // opened one at a time first, in key order, so that they are
        // numbered as writing them one after another numbered them
        let unopened: Vec<PartitionKey> = (self.pending.keys())
            .filter(|key| !self.opened.contains(*key))
            .cloned()
            .collect();
        let mut files = self.encoder.finish()?;
        for key in unopened {
            let opened = self.open(txn, &key)?;
            files.insert(key, opened);
        }
        let mut pending = std::mem::take(&mut self.pending);
        let jobs: Vec<_> = files
            .into_iter()
            .map(|(key, file)| {
                let rows = pending.remove(&key);
                (key, file, rows)
            })
            .collect();
        let written = on_two_cores(jobs, |(key, (relative, mut writer), pending)| {
            super::fail_point("store-finish", Path::new(&relative))?;
            if let Some(pending) = pending {
                write_rows(&mut writer, pending)?;
            }
            writer.close()?;
            Ok((key, relative))
        })?;
        // in key order, as the files were listed before
        let files: BTreeMap<PartitionKey, String> = written.into_iter().collect();
        Ok(files.into_values().collect())
    }
}

/// A partition's file being written: its path relative to the store root,
/// and its writer.
type OpenFile = (String, ArrowWriter<File>);

/// Row groups handed to the encoder that it has not begun, at most. Each
/// holds its rows (up to [`ROW_GROUP_ROWS`], compressed or not) outside
/// [`BUFFER_BUDGET`], so the queue is short. With none (a hand-over waits
/// for the encoder), `classify` at 10M records peaked at 370-395 MB rather
/// than 438-449 MB in as much time, but ingest took longer (1M: 4.83-4.89 s
/// against 4.50-4.78 s; 10M: 52.1 s against 47.8 s), for no less memory.
const ENCODE_QUEUE: usize = 1;

/// One row group for the encoder: the partition, its file when this is the
/// partition's first row group, and the rows.
struct RowGroup {
    key: PartitionKey,
    file: Option<OpenFile>,
    pending: Pending,
}

/// Encodes row groups into the partitions' files on a thread of its own,
/// in the order they are handed over, so that the store's thread goes on
/// classifying and sorting rows into partitions meanwhile. Encoding a row
/// group (Parquet's encoders, statistics and compression) was two thirds
/// of the store's thread, and that thread alone the slowest stage of
/// ingest: perf on a million records had it busy 3.0 s of the 4.1 s that
/// checking took, while the checking threads waited for it.
///
/// Each file's row groups are written in the order they were handed over,
/// by one thread, so the files are the same bytes as when the store's
/// thread wrote them itself. The thread starts with the first row group;
/// small inputs, whose rows all wait for [`PartitionedWriter::finish`],
/// never start it.
#[derive(Default)]
struct Encoder {
    row_groups: Option<SyncSender<RowGroup>>,
    thread: Option<JoinHandle<Result<BTreeMap<PartitionKey, OpenFile>>>>,
}

impl Encoder {
    fn send(&mut self, row_group: RowGroup) -> Result<()> {
        let row_groups = match self.row_groups.take() {
            Some(started) => started,
            None => self.start()?,
        };
        let sent = row_groups.send(row_group);
        self.row_groups = Some(row_groups);
        if sent.is_ok() {
            return Ok(());
        }
        // the encoder stopped, on the error that `finish` returns
        self.finish()?;
        Err(Error::store(
            "data",
            "the store's encoder thread stopped before every row group was written",
        ))
    }

    /// Starts the thread; returns the queue to it.
    fn start(&mut self) -> Result<SyncSender<RowGroup>> {
        let (row_groups, received) = sync_channel::<RowGroup>(ENCODE_QUEUE);
        let thread = std::thread::Builder::new()
            .name("store-encoder".into())
            .spawn(move || {
                let mut files: BTreeMap<PartitionKey, OpenFile> = BTreeMap::new();
                for RowGroup { key, file, pending } in received {
                    if let Some(file) = file {
                        files.insert(key.clone(), file);
                    }
                    let Some((_, writer)) = files.get_mut(&key) else {
                        return Err(Error::store(
                            "data",
                            "a row group reached the encoder before its partition's file",
                        ));
                    };
                    write_rows(writer, pending)?;
                }
                Ok(files)
            })
            .map_err(|e| Error::io("store-encoder thread", e))?;
        self.thread = Some(thread);
        Ok(row_groups)
    }

    /// Waits until every row group handed over is written; returns the
    /// open files, or the error the encoder stopped on.
    fn finish(&mut self) -> Result<BTreeMap<PartitionKey, OpenFile>> {
        // the encoder's loop ends when the queue is closed and empty
        drop(self.row_groups.take());
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => Ok(BTreeMap::new()),
        }
    }
}

/// A writer dropped on an error elsewhere still waits for its encoder, so
/// that nothing writes into a transaction's staging area after the
/// transaction is gone.
impl Drop for Encoder {
    fn drop(&mut self) {
        drop(self.row_groups.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Writes rows that waited as one row group.
fn write_rows(writer: &mut ArrowWriter<File>, pending: Pending) -> Result<()> {
    for batch in &pending.into_batches()? {
        writer.write(batch)?;
    }
    // ends the row group, which frees its encoders
    writer.flush()?;
    Ok(())
}

/// Partitions written at once by [`PartitionedWriter::finish`]. Each holds
/// a row group's encoders and its rows decoded (tens of megabytes at 10M
/// records), so the number is fixed, not the machine's core count: on a
/// 32-core machine one per core would hold thirty-two.
const FINISHING_THREADS: usize = 2;

/// Runs `work` on every job, on up to [`FINISHING_THREADS`] threads.
fn on_two_cores<J: Send, R: Send>(
    jobs: Vec<J>,
    work: impl Fn(J) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(FINISHING_THREADS)
        .clamp(1, jobs.len().max(1));
    let queue = std::sync::Mutex::new(jobs.into_iter());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let next = queue.lock().expect("no writer thread panics").next();
                        let Some(job) = next else {
                            return Ok(done);
                        };
                        match work(job) {
                            Ok(result) => done.push(result),
                            Err(e) => {
                                // the other threads stop after their job
                                queue
                                    .lock()
                                    .expect("no writer thread panics")
                                    .by_ref()
                                    .for_each(drop);
                                return Err(e);
                            }
                        }
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for handle in handles {
            all.extend(handle.join().expect("a writer thread does not panic")?);
        }
        Ok(all)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Int32Array, StringArray, new_null_array};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;

    /// Rows with only an id, a country and a year; every other column null.
    fn rows(ids: &[String], countries: &[&str], years: &[i32]) -> RecordBatch {
        let schema = schema::store_schema();
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| -> ArrayRef {
                match f.name().as_str() {
                    "record_id" => Arc::new(StringArray::from(ids.to_vec())),
                    "reporting_country" => Arc::new(StringArray::from(countries.to_vec())),
                    "year" => Arc::new(Int32Array::from(years.to_vec())),
                    _ if f.is_nullable() => new_null_array(f.data_type(), ids.len()),
                    // other required text (case_id, the form, ...): a word
                    _ => Arc::new(StringArray::from(vec!["x"; ids.len()])),
                }
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    /// A row group the encoder cannot write fails the ingest: the error
    /// comes back from a later hand-over or from the end, never lost with
    /// the thread. (`/dev/full` refuses every write with "no space left".)
    #[cfg(target_os = "linux")]
    #[test]
    fn an_error_of_the_encoder_thread_is_returned() {
        let full = File::options().write(true).open("/dev/full").unwrap();
        let file = ArrowWriter::try_new(full, schema::store_schema(), Some(properties())).unwrap();
        let ids: Vec<String> = (0..20_000).map(|n| format!("record-{n:06}")).collect();
        let mut pending = Pending::default();
        let batch = rows(&ids, &vec!["US"; ids.len()], &vec![2020; ids.len()]);
        let bytes = batch.get_array_memory_size();
        pending.push(batch, bytes, false);
        let mut encoder = Encoder::default();
        let handed = encoder.send(RowGroup {
            key: ("US".to_string(), Some(2020)),
            file: Some(("data/full.parquet".into(), file)),
            pending,
        });
        let outcome = handed.and_then(|()| encoder.finish().map(|files| files.len()));
        let error = outcome.expect_err("the write to /dev/full fails");
        assert!(
            error.to_string().to_lowercase().contains("space"),
            "{error}"
        );
    }

    #[test]
    fn rows_that_wait_compressed_are_all_written_in_their_order() {
        write_and_check_every_row(false);
    }

    /// Batches whose partitions are runs (as ingest hands them over) are
    /// taken as slices; their rows come out the same.
    #[test]
    fn rows_of_batches_sorted_by_partition_are_all_written_in_their_order() {
        write_and_check_every_row(true);
    }

    /// When memory runs short, a partition's slices are compressed however
    /// small they are: left to wait, one row of a batch keeps the whole
    /// batch in memory while the budget counts only that row.
    #[test]
    fn slices_are_compressed_whatever_their_size_when_memory_runs_short() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open_or_new(&dir.path().join("store")).unwrap();
        let txn = store.begin().unwrap();
        let mut writer = PartitionedWriter::new(&txn);
        let ids = |n: usize| -> Vec<String> { (0..n).map(|i| format!("record-{i:06}")).collect() };
        // a partition over the budget on its own, in a batch of its own
        let large = rows(&ids(4000), &vec!["US"; 4000], &vec![2020; 4000]);
        let large_bytes = large.get_array_memory_size();
        // one row of a batch of 500
        let batch = rows(&ids(500), &vec!["MX"; 500], &vec![2020; 500]);
        let slice_bytes = batch.get_array_memory_size() / 500;
        writer.budget = large_bytes / 2;
        let us = ("US".to_string(), Some(2020));
        let mx = ("MX".to_string(), Some(2020));
        writer
            .pending
            .entry(us)
            .or_default()
            .push(large, large_bytes, false);
        writer
            .pending
            .entry(mx.clone())
            .or_default()
            .push(batch.slice(0, 1), slice_bytes, true);
        writer.pending_bytes = large_bytes + slice_bytes;
        writer.bound_memory(&txn).unwrap();
        let small = &writer.pending[&mx];
        assert!(small.recent.is_empty() && !small.recent_slices);
        assert_eq!(small.rows, 1);
        writer.finish(&txn).unwrap();
    }

    /// Writes 20,000 rows of six partitions in batches of 500 (each batch
    /// sorted by partition when `sorted`), with a budget so small that
    /// rows are compressed and partitions written early, and checks that
    /// every partition's file holds its rows in the order they came.
    fn write_and_check_every_row(sorted: bool) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open_or_new(&dir.path().join("store")).unwrap();
        let txn = store.begin().unwrap();
        let mut writer = PartitionedWriter::new(&txn);
        // tiny: rows are compressed, and partitions written early
        writer.budget = 256 * 1024;
        let mut expected: BTreeMap<(String, i32), Vec<String>> = BTreeMap::new();
        for chunk in 0..40 {
            let (mut ids, mut countries, mut years) = (vec![], vec![], vec![]);
            for i in 0..500 {
                let n = chunk * 500 + i;
                let (country, year) = (["US", "MX", "CA"][n % 3], 2018 + (n / 3 % 2) as i32);
                let id = format!("record-{n:06}");
                expected
                    .entry((country.to_string(), year))
                    .or_default()
                    .push(id.clone());
                ids.push(id);
                countries.push(country);
                years.push(year);
            }
            if sorted {
                let mut order: Vec<usize> = (0..ids.len()).collect();
                order.sort_by_key(|&i| (countries[i], years[i]));
                ids = order.iter().map(|&i| ids[i].clone()).collect();
                countries = order.iter().map(|&i| countries[i]).collect();
                years = order.iter().map(|&i| years[i]).collect();
            }
            writer.write(&txn, &rows(&ids, &countries, &years)).unwrap();
        }
        let files = writer.finish(&txn).unwrap();
        assert_eq!(files.len(), expected.len());
        let mut row_groups = 0;
        for relative in files {
            let builder = ParquetRecordBatchReaderBuilder::try_new(
                File::open(txn.stage(&relative).unwrap()).unwrap(),
            )
            .unwrap();
            row_groups += builder.metadata().num_row_groups();
            let mut got: Vec<String> = Vec::new();
            let mut key = None;
            for batch in builder.build().unwrap() {
                let batch = batch.unwrap();
                let ids = batch
                    .column_by_name("record_id")
                    .unwrap()
                    .as_string::<i32>();
                let countries = batch
                    .column_by_name("reporting_country")
                    .unwrap()
                    .as_string::<i32>();
                let years = batch
                    .column_by_name("year")
                    .unwrap()
                    .as_primitive::<Int32Type>();
                for row in 0..batch.num_rows() {
                    key = Some((countries.value(row).to_string(), years.value(row)));
                    got.push(ids.value(row).to_string());
                }
            }
            assert_eq!(&got, &expected[&key.unwrap()], "{relative}");
        }
        // the budget made partitions go out in several row groups
        assert!(row_groups > expected.len(), "{row_groups} row groups");
    }
}
