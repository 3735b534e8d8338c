//! Records on their way to the store, gathered by the store's partition
//! (reporting country and year) as they come, so that the batch handed to
//! the store holds each partition's rows as one run. The store's writer
//! then takes a partition's rows as a slice of the batch; gathering them row
//! by row from a batch in the file's order was 7.5% of ingest's CPU (perf,
//! 1M records). Sorting each batch's records by partition instead, and
//! building the batch from them in that order rather than the order they
//! lie in memory, took back about half of that saving.
//!
//! The records come already as Arrow arrays, one batch per checked chunk,
//! built on the checking threads; what waits here is which row of which
//! chunk goes where. Held as records instead, this thread built the arrays
//! from them and dropped them, a quarter of ingest's CPU samples, most of
//! it reading and freeing strings another thread had allocated (perf, 1M
//! records).

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::compute::interleave_record_batch;
use datafusion::arrow::datatypes::Int32Type;

use crate::error::Result;

/// A waiting row: its chunk's number in `ByPartition::chunks`, and its
/// row in the chunk.
type ChunkRow = (usize, usize);

/// The rows waiting, by country, then year (`None`: not recorded).
#[derive(Default)]
pub struct ByPartition {
    countries: BTreeMap<String, BTreeMap<Option<i32>, Vec<ChunkRow>>>,
    /// Chunks whose rows wait, in the order they came (base schema), and
    /// the last one added, whose rows may still come.
    chunks: Vec<RecordBatch>,
    /// Rows of `chunks`, waiting or not.
    held: usize,
    /// Whether a row of the last chunk waits.
    last_used: bool,
    /// The partition key's columns of the chunk added last.
    keys: Option<(StringArray, Int32Array)>,
    len: usize,
    /// Batches taken so far.
    taken: usize,
}

impl ByPartition {
    /// Records waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Batches taken so far.
    pub fn taken(&self) -> usize {
        self.taken
    }

    /// Rows of the chunks held, waiting or not: rows left out (duplicates)
    /// are held with their chunk until the chunk's waiting rows are taken.
    pub fn held_rows(&self) -> usize {
        self.held
    }

    /// A chunk of checked records (base schema), whose rows [`Self::push`]
    /// then adds one by one. Chunks of which no row waits are let go.
    pub fn add_chunk(&mut self, records: RecordBatch) {
        if self.len == 0 {
            self.chunks.clear();
            self.held = 0;
        } else if !self.last_used
            && let Some(unused) = self.chunks.pop()
        {
            // no row names it: it was the last one added
            self.held -= unused.num_rows();
        }
        self.held += records.num_rows();
        self.last_used = false;
        let column = |name| records.column_by_name(name).expect("base schema");
        self.keys = Some((
            column("reporting_country").as_string::<i32>().clone(),
            column("year").as_primitive::<Int32Type>().clone(),
        ));
        self.chunks.push(records);
    }

    /// Adds row `row` of the chunk added last.
    pub fn push(&mut self, row: usize) {
        let chunk = self.chunks.len() - 1;
        let (countries, years) = self.keys.as_ref().expect("a chunk was added");
        let country = countries.value(row);
        let year = years.is_valid(row).then(|| years.value(row));
        self.len += 1;
        // looked up by the borrowed text: an owned key per record would be
        // an allocation per record
        let by_year = match self.countries.get_mut(country) {
            Some(by_year) => by_year,
            None => self.countries.entry(country.to_string()).or_default(),
        };
        by_year.entry(year).or_default().push((chunk, row));
        self.last_used = true;
    }

    /// The records as one batch of the base schema, partition after
    /// partition in key order, each partition's records in the order they
    /// came; the lists go with it. (Kept for the next batch, each list would
    /// hold the room of the most records its partition ever had in one
    /// batch: for an export sorted by country and year, a whole batch per
    /// partition, gigabytes over thousands of partitions.) The chunk added
    /// last stays, for its rows still to come.
    pub fn take_batch(&mut self) -> Result<RecordBatch> {
        let rows: Vec<ChunkRow> = self
            .countries
            .values()
            .flat_map(|years| years.values())
            .flatten()
            .copied()
            .collect();
        let chunks: Vec<&RecordBatch> = self.chunks.iter().collect();
        let batch = interleave_record_batch(&chunks, &rows)?;
        self.countries.clear();
        if let Some(last) = self.chunks.pop() {
            self.held = last.num_rows();
            self.chunks = vec![last];
        }
        self.last_used = false;
        self.len = 0;
        self.taken += 1;
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::record::CaseRecord;

    fn chunk(rows: &[(&str, &str, Option<i32>)]) -> RecordBatch {
        let records: Vec<CaseRecord> = rows
            .iter()
            .map(|&(id, country, year)| CaseRecord {
                record_id: id.to_string(),
                case_id: id.to_string(),
                reporting_country: country.to_string().into(),
                year,
                ..CaseRecord::default()
            })
            .collect();
        crate::base::batch::base_batch(&records).unwrap()
    }

    fn ids(batch: &RecordBatch) -> Vec<String> {
        let ids = batch
            .column_by_name("record_id")
            .unwrap()
            .as_string::<i32>();
        ids.iter().map(|id| id.unwrap().to_string()).collect()
    }

    #[test]
    fn a_batch_holds_each_partition_as_one_run_in_the_order_its_records_came() {
        let mut waiting = ByPartition::default();
        waiting.add_chunk(chunk(&[
            ("a", "US", Some(2020)),
            ("b", "MX", Some(2021)),
            ("c", "US", None),
            ("d", "US", Some(2020)),
        ]));
        for row in 0..4 {
            waiting.push(row);
        }
        // rows of a second chunk, one of them left out (a duplicate)
        waiting.add_chunk(chunk(&[
            ("e", "MX", Some(2021)),
            ("dup", "US", Some(2020)),
            ("f", "MX", Some(2019)),
            ("g", "US", None),
        ]));
        for row in [0, 2, 3] {
            waiting.push(row);
        }
        assert_eq!(waiting.len(), 7);
        assert_eq!(waiting.taken(), 0);
        let batch = waiting.take_batch().unwrap();
        assert_eq!(ids(&batch), ["f", "b", "e", "c", "g", "a", "d"]);
        assert_eq!(batch.schema(), crate::base::schema::base_schema());
        assert_eq!(waiting.taken(), 1);
        // emptied, and the next batch holds only what came after: the rest
        // of the chunk added last, then a new chunk
        assert!(waiting.is_empty());
        waiting.push(1);
        waiting.add_chunk(chunk(&[("h", "CA", Some(2018)), ("i", "US", Some(2020))]));
        waiting.push(0);
        waiting.push(1);
        assert_eq!(ids(&waiting.take_batch().unwrap()), ["h", "dup", "i"]);
        assert_eq!(waiting.taken(), 2);
    }

    #[test]
    fn chunks_of_which_no_row_waits_are_let_go() {
        let four = || {
            chunk(&[
                ("a", "US", Some(2020)),
                ("b", "US", Some(2020)),
                ("c", "US", Some(2020)),
                ("d", "US", Some(2020)),
            ])
        };
        let mut waiting = ByPartition::default();
        // a file of duplicates: nothing waits, so nothing is held but the
        // chunk being read
        for _ in 0..10 {
            waiting.add_chunk(four());
            assert_eq!(waiting.held_rows(), 4);
        }
        // one row of a chunk waits: it stays, a chunk after it with none
        // goes when the next comes
        waiting.push(3);
        waiting.add_chunk(four());
        waiting.add_chunk(four());
        assert_eq!(waiting.held_rows(), 8);
        waiting.push(0);
        assert_eq!(ids(&waiting.take_batch().unwrap()), ["d", "a"]);
        // only the last chunk stays after a take, and goes with the next
        // chunk when none of its rows came
        assert_eq!(waiting.held_rows(), 4);
        waiting.add_chunk(four());
        assert_eq!(waiting.held_rows(), 4);
    }
}
