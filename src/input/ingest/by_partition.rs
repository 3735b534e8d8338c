//! Records on their way to the store, gathered by the store's partition
//! (reporting country and year) as they come, so that the batch handed to
//! the store holds each partition's rows as one run. The store's writer
//! then takes a partition's rows as a slice of the batch; gathering them row
//! by row from a batch in the file's order was 7.5% of ingest's CPU (perf,
//! 1M records). Sorting each batch's records by partition instead, and
//! building the batch from them in that order rather than the order they
//! lie in memory, took back about half of that saving.

use std::collections::BTreeMap;

use datafusion::arrow::array::RecordBatch;

use crate::base::record::CaseRecord;
use crate::error::Result;

/// The records waiting, by country, then year (`None`: not recorded).
#[derive(Default)]
pub struct ByPartition {
    countries: BTreeMap<String, BTreeMap<Option<i32>, Vec<CaseRecord>>>,
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

    pub fn push(&mut self, record: CaseRecord) {
        self.len += 1;
        // looked up by the borrowed text: an owned key per record would be
        // an allocation per record
        let years = match self.countries.get_mut(record.reporting_country.as_str()) {
            Some(years) => years,
            None => self
                .countries
                .entry(record.reporting_country.clone())
                .or_default(),
        };
        years.entry(record.year).or_default().push(record);
    }

    /// The records as one batch of the base schema, partition after
    /// partition in key order, each partition's records in the order they
    /// came; the lists go with it. (Kept for the next batch, each list would
    /// hold the room of the most records its partition ever had in one
    /// batch: for an export sorted by country and year, a whole batch per
    /// partition, gigabytes over thousands of partitions.)
    pub fn take_batch(&mut self) -> Result<RecordBatch> {
        let records = self
            .countries
            .values()
            .flat_map(|years| years.values())
            .flatten();
        let batch = crate::base::batch::base_batch_of(self.len, records)?;
        self.countries.clear();
        self.len = 0;
        self.taken += 1;
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::AsArray;

    #[test]
    fn a_batch_holds_each_partition_as_one_run_in_the_order_its_records_came() {
        let record = |id: &str, country: &str, year: Option<i32>| CaseRecord {
            record_id: id.to_string(),
            case_id: id.to_string(),
            reporting_country: country.to_string(),
            year,
            ..CaseRecord::default()
        };
        let mut waiting = ByPartition::default();
        for (id, country, year) in [
            ("a", "US", Some(2020)),
            ("b", "MX", Some(2021)),
            ("c", "US", None),
            ("d", "US", Some(2020)),
            ("e", "MX", Some(2021)),
            ("f", "MX", Some(2019)),
            ("g", "US", None),
        ] {
            waiting.push(record(id, country, year));
        }
        assert_eq!(waiting.len(), 7);
        let ids = |batch: &RecordBatch| -> Vec<String> {
            let ids = batch
                .column_by_name("record_id")
                .unwrap()
                .as_string::<i32>();
            ids.iter().map(|id| id.unwrap().to_string()).collect()
        };
        assert_eq!(waiting.taken(), 0);
        let batch = waiting.take_batch().unwrap();
        assert_eq!(ids(&batch), ["f", "b", "e", "c", "g", "a", "d"]);
        assert_eq!(waiting.taken(), 1);
        // emptied, and the next batch holds only what came after
        assert!(waiting.is_empty());
        waiting.push(record("h", "CA", Some(2018)));
        waiting.push(record("i", "US", Some(2020)));
        assert_eq!(ids(&waiting.take_batch().unwrap()), ["h", "i"]);
        assert_eq!(waiting.taken(), 2);
    }
}
