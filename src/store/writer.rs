//! Writes classified batches into Parquet files partitioned by reporting
//! country and year, inside a transaction's staging area.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use datafusion::arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::datatypes::Int32Type;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;

use super::Transaction;
use crate::base::schema;
use crate::error::{Error, Result};

/// What the rows waiting on the store's thread to be handed to their
/// partition's row group may take in memory together.
const BUFFER_BUDGET: usize = 64 * 1024 * 1024;

/// Rows that make a partition's row group full: the encoder closes it once
/// it holds this many (the writer's own limit is off, so that no sliver of
/// a hand-over becomes a row group of its own).
const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Waiting rows of one partition that are handed to its row group at once:
/// the few rows of one batch that fall in a partition are gathered first,
/// since the Parquet writer's work per call is per column, not per row.
const HAND_OVER_ROWS: usize = 16 * 1024;

/// What the open row groups may take together (their encoded pages, the
/// encoders' dictionaries and buffers): past it the largest is closed
/// early, a smaller row group for bounded memory.
const OPEN_ROW_GROUPS_BUDGET: usize = 160 * 1024 * 1024;

/// Rows of a data page, at most. A dictionary-coded column holds its open
/// page's codes as 8-byte numbers, room for as many as the page may take;
/// with every partition's row group open, Parquet's default (20,000 rows,
/// room for 32,768 codes) held 256 KB per column and partition.
const PAGE_ROWS: usize = 7 * 1024;

/// Where a writer's files are staged: a change of the store.
pub trait Stage: Sync {
    /// A path in the staging area for a file that will live at `relative`.
    fn stage(&self, relative: &str) -> Result<std::path::PathBuf>;
}

impl Stage for Transaction<'_> {
    fn stage(&self, relative: &str) -> Result<std::path::PathBuf> {
        Transaction::stage(self, relative)
    }
}

/// No change begun: for a writer [held in
/// memory](PartitionedWriter::held_in_memory), which stages nothing until
/// its files are [staged](HeldFiles::stage).
pub struct NotYet;

impl Stage for NotYet {
    fn stage(&self, relative: &str) -> Result<std::path::PathBuf> {
        Err(Error::store(
            relative,
            "no change of the store begun to stage it in",
        ))
    }
}

/// Partition key: reporting country and year (`None` = year not recorded).
type PartitionKey = (String, Option<i32>);

/// Rows of one partition not yet handed to the encoder.
#[derive(Default)]
struct Pending {
    batches: Vec<RecordBatch>,
    /// The numbers of the batches that `batches` came from, oldest first.
    sources: Vec<u64>,
    rows: usize,
}

impl Pending {
    /// Adds rows of the batch numbered `source`.
    fn push(&mut self, rows: RecordBatch, source: u64) {
        self.rows += rows.num_rows();
        self.batches.push(rows);
        self.sources.push(source);
    }

    /// The rows as one batch in buffers of its own. Gathered before they
    /// are encoded: rows handed over as slices would keep their whole
    /// batches in memory until the encoder is done with them.
    fn gathered(self) -> Result<Option<RecordBatch>> {
        Ok(match self.batches.len() {
            0 => None,
            _ => Some(concat_batches(&schema::store_schema(), &self.batches)?),
        })
    }
}

/// Writes each partition's rows into a file of its own, a row group of up
/// to [`ROW_GROUP_ROWS`] rows at a time. Rows go into their partition's
/// open row group as they come (a few thousand at a time), where the
/// Parquet encoders hold them encoded and compressed: a million records
/// take about 27 MB there, against 427 MB as Arrow arrays. Earlier the
/// rows waited as arrays, compressed with LZ4 when memory ran short, and
/// were decoded again to be encoded; compressing and decoding were a tenth
/// of ingest's CPU samples (perf, 1M records).
pub struct PartitionedWriter {
    generation: u64,
    change_id: String,
    /// Partitions whose file is open (on the encoder's side).
    opened: BTreeSet<PartitionKey>,
    encoder: Encoder,
    pending: BTreeMap<PartitionKey, Pending>,
    /// The batches that waiting slices belong to, by the number they came
    /// in with: a slice keeps its whole batch in memory, so memory is
    /// counted by batch, and a batch is let go when its last slice is
    /// handed over.
    held: BTreeMap<u64, HeldBatch>,
    batches_seen: u64,
    /// Bytes of the batches in `held`.
    pending_bytes: usize,
    /// [`BUFFER_BUDGET`], smaller in tests.
    budget: usize,
    /// Files are written in memory, not in the staging area, counted
    /// against a budget (see [`Self::held_in_memory`]).
    in_memory: Option<HeldBudget>,
}

/// A batch some of whose rows wait: its bytes, and the partitions holding
/// some of them.
struct HeldBatch {
    bytes: usize,
    partitions: usize,
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
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_created_by("safetynet".to_string())
        .build()
}

impl PartitionedWriter {
    /// A writer for the files of `txn`'s change.
    pub fn new(txn: &Transaction<'_>) -> Self {
        Self::writing(txn.generation(), txn.change_id(), None)
    }

    /// A writer whose files stay in memory until [staged](HeldFiles::stage):
    /// for a change that must leave no trace on disk until it is known to be
    /// kept (an input read once, screened for personal data as it is
    /// checked). Its memory grows with the encoded store, so it is for
    /// inputs of bounded size.
    ///
    /// Its files are named for the change of `generation` and `change_id`
    /// ([`Store::begin_as`](super::Store::begin_as) begins it), and it writes
    /// no more than `budget` bytes: past that the writes fail, and the
    /// [`HeldBudget`] returned beside it says why.
    pub fn held_in_memory(generation: u64, change_id: &str, budget: usize) -> (Self, HeldBudget) {
        let held = HeldBudget {
            written: Arc::new(AtomicUsize::new(0)),
            budget,
        };
        let writer = Self::writing(generation, change_id, Some(held.clone()));
        (writer, held)
    }

    fn writing(generation: u64, change_id: &str, in_memory: Option<HeldBudget>) -> Self {
        PartitionedWriter {
            generation,
            change_id: change_id.to_string(),
            opened: BTreeSet::new(),
            encoder: Encoder::default(),
            pending: BTreeMap::new(),
            held: BTreeMap::new(),
            batches_seen: 0,
            pending_bytes: 0,
            budget: BUFFER_BUDGET,
            in_memory,
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
    pub fn write(&mut self, txn: &impl Stage, batch: &RecordBatch) -> Result<()> {
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
        let number = self.batches_seen;
        self.batches_seen += 1;
        let mut partitions = 0;
        for ((country, year), runs) in runs {
            let key = (country.to_string(), year);
            let part = match runs.as_slice() {
                [run] => batch.slice(run.start, run.len()),
                spread => {
                    let indices = UInt32Array::from_iter_values(
                        spread
                            .iter()
                            .flat_map(|run| run.clone())
                            .map(|row| row as u32),
                    );
                    take_record_batch(batch, &indices)?
                }
            };
            let pending = self.pending.entry(key.clone()).or_default();
            pending.push(part, number);
            partitions += 1;
            if pending.rows >= HAND_OVER_ROWS {
                self.hand_over(txn, &key)?;
                partitions -= 1;
            }
        }
        if partitions > 0 {
            let bytes = batch.get_array_memory_size();
            self.held.insert(number, HeldBatch { bytes, partitions });
            self.pending_bytes += bytes;
        }
        self.bound_memory(txn)
    }

    /// When the batches that waiting rows keep take more than the budget,
    /// the partitions holding rows of the oldest batch hand them over, until
    /// half the budget is held: the oldest batch is then let go.
    fn bound_memory(&mut self, txn: &impl Stage) -> Result<()> {
        if self.pending_bytes <= self.budget {
            return Ok(());
        }
        while self.pending_bytes > self.budget / 2 {
            let Some((&oldest, _)) = self.held.first_key_value() else {
                break;
            };
            let holders: Vec<PartitionKey> = (self.pending.iter())
                .filter(|(_, pending)| pending.sources.first() == Some(&oldest))
                .map(|(key, _)| key.clone())
                .collect();
            if holders.is_empty() {
                break; // not reached: every held batch has a holder
            }
            for key in holders {
                self.hand_over(txn, &key)?;
            }
        }
        Ok(())
    }

    /// Hands a partition's waiting rows to the encoder, to go into the
    /// partition's open row group, opening the partition's file on first
    /// use; the batches none of whose rows wait any more are let go.
    fn hand_over(&mut self, txn: &impl Stage, key: &PartitionKey) -> Result<()> {
        let Some(pending) = self.pending.remove(key) else {
            return Ok(());
        };
        self.release(&pending.sources);
        let Some(rows) = pending.gathered()? else {
            return Ok(());
        };
        let file = if self.opened.contains(key) {
            None
        } else {
            Some(self.open(txn, key)?)
        };
        self.encoder.send(Rows {
            key: key.clone(),
            file,
            rows,
        })
    }

    /// One partition's rows of these batches are no longer held.
    fn release(&mut self, sources: &[u64]) {
        for number in sources {
            let Some(held) = self.held.get_mut(number) else {
                continue; // the partition that took it to the encoder at once
            };
            held.partitions -= 1;
            if held.partitions == 0 {
                self.pending_bytes -= held.bytes;
                self.held.remove(number);
            }
        }
    }

    /// Opens the file of a partition that has none yet. Files are numbered
    /// in the order they are opened.
    fn open(&mut self, txn: &impl Stage, key: &PartitionKey) -> Result<OpenFile> {
        let relative = self.relative_path(key, self.opened.len());
        self.opened.insert(key.clone());
        let sink = if let Some(held) = &self.in_memory {
            Sink::Memory(Vec::new(), held.clone())
        } else {
            let path = txn.stage(&relative)?;
            Sink::File(File::create(&path).map_err(|e| Error::io(&path, e))?)
        };
        let writer = ArrowWriter::try_new(sink, schema::store_schema(), Some(properties()))?;
        Ok((relative, writer))
    }

    /// Writes what waits and closes every file; returns their paths
    /// relative to the store root. A writer [held in
    /// memory](Self::held_in_memory) stages its files here.
    pub fn finish(self, txn: &Transaction<'_>) -> Result<Vec<String>> {
        self.finish_held(txn)?.stage(txn)
    }

    /// Writes what waits and closes every file, leaving the files of a
    /// writer [held in memory](Self::held_in_memory) in memory, for the
    /// caller to [stage](HeldFiles::stage) or drop.
    ///
    /// The partitions still waiting are written on two cores: each is a
    /// file of its own, so the files are the same bytes in any order of
    /// work (their names are given first, in key order, as one at a time
    /// would give them). On 300,000 records this last step had been a
    /// fifth of ingest's time on one core while the other waited.
    pub fn finish_held(mut self, txn: &impl Stage) -> Result<HeldFiles> {
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
            if let Some(rows) = pending.map(Pending::gathered).transpose()?.flatten() {
                append_rows(&mut writer, &rows)?;
            }
            let held = match writer.into_inner()? {
                Sink::File(_) => None,
                Sink::Memory(bytes, _) => Some(bytes),
            };
            Ok((key, (relative, held)))
        })?;
        // in key order, as the files were listed before
        let files: BTreeMap<PartitionKey, (String, Option<Vec<u8>>)> =
            written.into_iter().collect();
        Ok(HeldFiles {
            files: files.into_values().collect(),
        })
    }
}

/// The closed files of a change, by their paths relative to the store
/// root, with the bytes of those written in memory.
#[must_use = "files held in memory reach the store only when staged"]
pub struct HeldFiles {
    files: Vec<(String, Option<Vec<u8>>)>,
}

impl HeldFiles {
    /// Bytes held in memory.
    pub fn held_bytes(&self) -> usize {
        (self.files.iter())
            .filter_map(|(_, bytes)| bytes.as_ref().map(Vec::len))
            .sum()
    }

    /// Writes the files held in memory into the change's staging area;
    /// returns every file's path relative to the store root.
    pub fn stage(self, txn: &Transaction<'_>) -> Result<Vec<String>> {
        let mut names = Vec::with_capacity(self.files.len());
        for (relative, bytes) in self.files {
            if let Some(bytes) = bytes {
                let path = txn.stage(&relative)?;
                std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
            }
            names.push(relative);
        }
        Ok(names)
    }
}

/// Where a partition's file is written: the staging area, or memory until
/// the change may leave a trace on disk (see
/// [`PartitionedWriter::held_in_memory`]).
enum Sink {
    File(File),
    Memory(Vec<u8>, HeldBudget),
}

/// The bytes written in memory by all of a writer's files, and how many
/// they may be.
#[derive(Clone)]
pub struct HeldBudget {
    written: Arc<AtomicUsize>,
    budget: usize,
}

impl HeldBudget {
    /// Whether the writer stopped because its files would take more.
    pub fn exceeded(&self) -> bool {
        self.written.load(Ordering::Relaxed) > self.budget
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::File(file) => file.write(bytes),
            Sink::Memory(held, counted) => {
                let written = counted.written.fetch_add(bytes.len(), Ordering::Relaxed);
                if written + bytes.len() > counted.budget {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::OutOfMemory,
                        "more bytes than a writer held in memory may hold",
                    ));
                }
                held.write(bytes)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(file) => file.flush(),
            Sink::Memory(..) => Ok(()),
        }
    }
}

/// A partition's file being written: its path relative to the store root,
/// and its writer.
type OpenFile = (String, ArrowWriter<Sink>);

/// Hand-overs the encoder has not begun, at most. Each holds its rows as
/// arrays outside [`BUFFER_BUDGET`], so the queue is short.
const ENCODE_QUEUE: usize = 2;

/// Rows for the encoder: the partition, its file when these are the
/// partition's first rows, and the rows.
struct Rows {
    key: PartitionKey,
    file: Option<OpenFile>,
    rows: RecordBatch,
}

/// Encodes rows into the partitions' open row groups on a thread of its
/// own, in the order they are handed over, so that the store's thread goes
/// on classifying and sorting rows into partitions meanwhile. Encoding
/// (Parquet's encoders, statistics and compression) was two thirds of the
/// store's thread, and that thread alone the slowest stage of ingest: perf
/// on a million records had it busy 3.0 s of the 4.1 s that checking took,
/// while the checking threads waited for it.
///
/// Each file's rows are written in the order they were handed over, by
/// one thread, and where its row groups end follows from those rows alone,
/// so the files are the same bytes in every run. The thread starts with
/// the first hand-over; small inputs, whose rows all wait for
/// [`PartitionedWriter::finish`], never start it.
struct Encoder {
    hand_overs: Option<SyncSender<Rows>>,
    thread: Option<JoinHandle<Result<BTreeMap<PartitionKey, OpenFile>>>>,
    /// [`OPEN_ROW_GROUPS_BUDGET`], smaller in tests.
    budget: usize,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder {
            hand_overs: None,
            thread: None,
            budget: OPEN_ROW_GROUPS_BUDGET,
        }
    }
}

impl Encoder {
    fn send(&mut self, rows: Rows) -> Result<()> {
        let hand_overs = match self.hand_overs.take() {
            Some(started) => started,
            None => self.start()?,
        };
        let sent = hand_overs.send(rows);
        self.hand_overs = Some(hand_overs);
        if sent.is_ok() {
            return Ok(());
        }
        // the encoder stopped, on the error that `finish` returns
        self.finish()?;
        Err(Error::store(
            "data",
            "the store's encoder thread stopped before every row was written",
        ))
    }

    /// Starts the thread; returns the queue to it.
    fn start(&mut self) -> Result<SyncSender<Rows>> {
        let (hand_overs, received) = sync_channel::<Rows>(ENCODE_QUEUE);
        let budget = self.budget;
        let thread = std::thread::Builder::new()
            .name("store-encoder".into())
            .spawn(move || {
                let mut files: BTreeMap<PartitionKey, OpenFile> = BTreeMap::new();
                for Rows { key, file, rows } in received {
                    if let Some(file) = file {
                        files.insert(key.clone(), file);
                    }
                    let Some((_, writer)) = files.get_mut(&key) else {
                        return Err(Error::store(
                            "data",
                            "rows reached the encoder before their partition's file",
                        ));
                    };
                    append_rows(writer, &rows)?;
                    close_largest_past_budget(&mut files, budget)?;
                }
                Ok(files)
            })
            .map_err(|e| Error::io("store-encoder thread", e))?;
        self.thread = Some(thread);
        Ok(hand_overs)
    }

    /// Waits until every hand-over is written; returns the open files, or
    /// the error the encoder stopped on.
    fn finish(&mut self) -> Result<BTreeMap<PartitionKey, OpenFile>> {
        // the encoder's loop ends when the queue is closed and empty
        drop(self.hand_overs.take());
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
        drop(self.hand_overs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Writes rows into the partition's open row group, and closes the row
/// group once it is full.
fn append_rows(writer: &mut ArrowWriter<Sink>, rows: &RecordBatch) -> Result<()> {
    writer.write(rows)?;
    if writer.in_progress_rows() >= ROW_GROUP_ROWS {
        // ends the row group, which frees its encoders
        writer.flush()?;
    }
    Ok(())
}

/// While the open row groups take more than `budget` together, closes the
/// largest (the first in key order of equals).
fn close_largest_past_budget(
    files: &mut BTreeMap<PartitionKey, OpenFile>,
    budget: usize,
) -> Result<()> {
    loop {
        let sizes = files.values().map(|(_, writer)| writer.memory_size());
        if sizes.sum::<usize>() <= budget {
            return Ok(());
        }
        let largest = (files.values_mut())
            .map(|(_, writer)| writer)
            .rev()
            .max_by_key(|writer| writer.memory_size())
            .expect("some row group is open");
        largest.flush()?;
    }
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
        let file =
            ArrowWriter::try_new(Sink::File(full), schema::store_schema(), Some(properties()))
                .unwrap();
        let ids: Vec<String> = (0..20_000).map(|n| format!("record-{n:06}")).collect();
        let batch = rows(&ids, &vec!["US"; ids.len()], &vec![2020; ids.len()]);
        // no room for any open row group: the encoder closes it at once,
        // and so writes to the file
        let mut encoder = Encoder::default();
        encoder.budget = 0;
        let handed = encoder.send(Rows {
            key: ("US".to_string(), Some(2020)),
            file: Some(("data/full.parquet".into(), file)),
            rows: batch,
        });
        let outcome = handed.and_then(|()| encoder.finish().map(|files| files.len()));
        let error = outcome.expect_err("the write to /dev/full fails");
        assert!(
            error.to_string().to_lowercase().contains("space"),
            "{error}"
        );
    }

    #[test]
    fn rows_handed_over_early_are_all_written_in_their_order() {
        write_and_check_every_row(false);
    }

    /// Batches whose partitions are runs (as ingest hands them over) are
    /// taken as slices; their rows come out the same.
    #[test]
    fn rows_of_batches_sorted_by_partition_are_all_written_in_their_order() {
        write_and_check_every_row(true);
    }

    /// A slice keeps its whole batch in memory, so memory is counted by
    /// batch: when it runs short, every partition holding rows of the
    /// oldest batch hands them over and the batch is let go, however few
    /// rows a partition holds (left to wait, the one row per batch of a
    /// small partition would keep every batch).
    #[test]
    fn the_oldest_batches_are_let_go_when_memory_runs_short() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open_or_new(&dir.path().join("store")).unwrap();
        let txn = store.begin().unwrap();
        let mut writer = PartitionedWriter::new(&txn);
        let batch_of = |chunk: usize| {
            let ids: Vec<String> = (0..500)
                .map(|i| format!("record-{:06}", chunk * 500 + i))
                .collect();
            // sorted by partition, as ingest hands them over: one MX row
            let mut countries = vec!["MX"];
            countries.extend(vec!["US"; 499]);
            rows(&ids, &countries, &vec![2020; 500])
        };
        let batch_bytes = batch_of(0).get_array_memory_size();
        writer.budget = 3 * batch_bytes;
        for chunk in 0..20 {
            writer.write(&txn, &batch_of(chunk)).unwrap();
            assert!(writer.pending_bytes <= writer.budget, "after batch {chunk}");
            assert!(
                writer.held.len() <= 3,
                "after batch {chunk}: {}",
                writer.held.len()
            );
            let mx = writer.pending.get(&("MX".to_string(), Some(2020)));
            assert!(mx.is_none_or(|p| p.rows <= 3), "after batch {chunk}");
        }
        let files = writer.finish(&txn).unwrap();
        let mut got = Vec::new();
        for relative in files {
            let reader = ParquetRecordBatchReaderBuilder::try_new(
                File::open(txn.stage(&relative).unwrap()).unwrap(),
            )
            .unwrap()
            .build()
            .unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                let ids = batch
                    .column_by_name("record_id")
                    .unwrap()
                    .as_string::<i32>();
                got.extend(ids.iter().map(|id| id.unwrap().to_string()));
            }
        }
        assert_eq!(got.len(), 20 * 500);
    }

    /// Writes 20,000 rows of six partitions in batches of 500 (each batch
    /// sorted by partition when `sorted`), with budgets so small that rows
    /// are handed over early and row groups closed early, and checks that
    /// every partition's file holds its rows in the order they came.
    /// Every Parquet file under `root`, by its name, with its bytes.
    fn parquet_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
        let mut found = BTreeMap::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "parquet") {
                    let name = path.file_name().unwrap().to_string_lossy();
                    // the change's id differs between the two stores
                    let name = name.split('-').next_back().unwrap().to_string();
                    // the partition's folders, not the staging area's
                    let folders: Vec<_> = path.iter().rev().skip(1).take(2).collect();
                    let key = format!("{:?}/{name}", folders);
                    found.insert(key, std::fs::read(&path).unwrap());
                }
            }
        }
        found
    }

    /// A writer held in memory leaves nothing on disk until its files are
    /// staged, and then the same bytes as a writer of the staging area.
    #[test]
    fn files_held_in_memory_reach_the_disk_only_when_staged() {
        let dir = tempfile::tempdir().unwrap();
        let written: Vec<BTreeMap<String, Vec<u8>>> = [false, true]
            .into_iter()
            .map(|in_memory| {
                let root = dir.path().join(format!("store-{in_memory}"));
                let store = crate::store::Store::open_or_new(&root).unwrap();
                let txn = store.begin().unwrap();
                let mut writer = match in_memory {
                    true => {
                        PartitionedWriter::held_in_memory(
                            txn.generation(),
                            txn.change_id(),
                            usize::MAX,
                        )
                        .0
                    }
                    false => PartitionedWriter::new(&txn),
                };
                // tiny: rows are handed over early, and row groups closed early
                writer.budget = 64 * 1024;
                writer.encoder.budget = 256 * 1024;
                for chunk in 0..30 {
                    let ids: Vec<String> = (0..400)
                        .map(|i| format!("record-{:06}", chunk * 400 + i))
                        .collect();
                    let countries: Vec<&str> = (0..400).map(|i| ["US", "MX"][i % 2]).collect();
                    let years: Vec<i32> = (0..400).map(|i| 2019 + (i / 2 % 3)).collect();
                    writer.write(&txn, &rows(&ids, &countries, &years)).unwrap();
                }
                let held = writer.finish_held(&txn).unwrap();
                if in_memory {
                    assert!(held.held_bytes() > 0);
                    assert!(parquet_files(&root).is_empty(), "on disk before staging");
                } else {
                    assert_eq!(held.held_bytes(), 0);
                }
                let names = held.stage(&txn).unwrap();
                assert_eq!(names.len(), 6);
                let files = parquet_files(&root);
                assert_eq!(files.len(), 6);
                files
            })
            .collect();
        assert!(written[0] == written[1], "the files' bytes differ");
    }

    /// A writer held in memory writes no more than its budget: past it its
    /// writes fail, and the budget says so (ingest then reads the file
    /// twice instead).
    #[test]
    fn a_writer_held_in_memory_stops_at_its_budget() {
        let (mut writer, held) = PartitionedWriter::held_in_memory(1, "c0ffee00", 64 * 1024);
        writer.budget = 64 * 1024;
        writer.encoder.budget = 64 * 1024;
        let mut outcome = Ok(());
        for chunk in 0..40 {
            let ids: Vec<String> = (0..500)
                .map(|i| format!("record-{:06}-{}", chunk * 500 + i, "x".repeat(40)))
                .collect();
            outcome = writer.write(&NotYet, &rows(&ids, &vec!["US"; 500], &vec![2020; 500]));
            if outcome.is_err() {
                break;
            }
        }
        let finished = outcome.and_then(|()| writer.finish_held(&NotYet).map(|_| ()));
        assert!(finished.is_err(), "1 MB of ids fit in a budget of 64 KB");
        assert!(held.exceeded());
        let (_, roomy) = PartitionedWriter::held_in_memory(1, "c0ffee00", 64 * 1024);
        assert!(!roomy.exceeded());
    }

    /// Files held in memory are named for a change chosen before it began;
    /// it begins under that id only if no other process changed the store
    /// since this one read it (ingest reads a file once without the store's
    /// lock, and another ingest may commit meanwhile).
    #[test]
    fn a_change_begun_as_an_id_chosen_before_refuses_a_store_changed_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let read_before = crate::store::Store::open_or_new(&root).unwrap();
        let id = crate::store::transaction::new_change_id();
        {
            let txn = read_before.begin_as(id.clone()).unwrap();
            assert_eq!(txn.change_id(), id);
        }
        let other = crate::store::Store::open_or_new(&root).unwrap();
        let txn = other.begin().unwrap();
        let manifest = other.manifest().clone();
        txn.commit(manifest).unwrap();
        let stale = read_before.begin_as(id).err().expect("the store changed");
        assert!(
            stale
                .to_string()
                .contains("changed by another process since"),
            "{stale}"
        );
    }

    fn write_and_check_every_row(sorted: bool) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open_or_new(&dir.path().join("store")).unwrap();
        let txn = store.begin().unwrap();
        let mut writer = PartitionedWriter::new(&txn);
        // tiny: rows are handed over early, and row groups closed early
        writer.budget = 256 * 1024;
        writer.encoder.budget = 1024 * 1024;
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
