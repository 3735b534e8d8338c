//! `classify`: reclassify a whole store after a rules change (atomically,
//! as a new generation of its files).

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::Int32Type;
use serde::Serialize;

use crate::base::progress::Progress;
use crate::classify::classifier::Classifier;
use crate::classify::rules::Rules;
use crate::error::Result;
use crate::store::Store;
use crate::store::writer::PartitionedWriter;

#[derive(Debug, Clone, Serialize)]
pub struct ClassifySummary {
    pub records: u64,
    /// Records whose type, extension category or undetermined status changed.
    pub changed: u64,
    pub rules_version: String,
    /// Records per outcome after classification: `typology`, `extension`,
    /// `undetermined`.
    pub by_status: BTreeMap<String, u64>,
    /// Share of records with a venue text that got a type or extension.
    pub venue_coverage: f64,
    /// The most frequent venue texts that matched no rule, with counts.
    pub unmatched_venues: Vec<(String, u64)>,
}

/// The columns that say what a record's class is, for counting changes;
/// looked up once per batch, not once per row.
struct Outcomes<'a> {
    ids: &'a Int32Array,
    extension: &'a StringArray,
    status: &'a StringArray,
}

impl<'a> Outcomes<'a> {
    fn of(batch: &'a RecordBatch) -> Self {
        let column = |name: &str| batch.column_by_name(name).expect("a store column");
        Outcomes {
            ids: column("typology_id").as_primitive::<Int32Type>(),
            extension: column("extension_category").as_string::<i32>(),
            status: column("classification").as_string::<i32>(),
        }
    }

    fn get(&self, row: usize) -> (Option<i32>, Option<&'a str>, &'a str) {
        (
            self.ids.is_valid(row).then(|| self.ids.value(row)),
            self.extension
                .is_valid(row)
                .then(|| self.extension.value(row)),
            self.status.value(row),
        )
    }
}

pub fn reclassify(
    store: &Store,
    rules: &Rules,
    show_progress: bool,
    top: usize,
) -> Result<ClassifySummary> {
    let txn = store.begin()?;
    let mut writer = PartitionedWriter::new(&txn);
    let mut classifier = Classifier::new(rules);
    let total: u64 = store
        .manifest()
        .inputs
        .iter()
        .map(|f| f.counts.stored)
        .sum();
    let progress = Progress::rows(show_progress, total, "classify");
    let mut summary = ClassifySummary {
        records: 0,
        changed: 0,
        rules_version: rules.version.clone(),
        by_status: BTreeMap::new(),
        venue_coverage: 0.0,
        unmatched_venues: Vec::new(),
    };
    let mut unmatched: BTreeMap<String, u64> = BTreeMap::new();
    let (mut with_venue, mut covered) = (0u64, 0u64);
    store.scan_pipelined(None, |batch| {
        let new = classifier.classify_batch(&batch)?;
        let venues = new.column_by_name("venue").expect("venue");
        let venues = venues.as_string::<i32>();
        let (before, now) = (Outcomes::of(&batch), Outcomes::of(&new));
        for row in 0..new.num_rows() {
            let after = now.get(row);
            if before.get(row) != after {
                summary.changed += 1;
            }
            if venues.is_valid(row) && !venues.value(row).trim().is_empty() {
                with_venue += 1;
                if after.2 == "undetermined" {
                    *unmatched.entry(venues.value(row).to_string()).or_default() += 1;
                } else {
                    covered += 1;
                }
            }
            match summary.by_status.get_mut(after.2) {
                Some(n) => *n += 1,
                None => {
                    summary.by_status.insert(after.2.to_string(), 1);
                }
            }
        }
        summary.records += new.num_rows() as u64;
        progress.inc(new.num_rows() as u64);
        writer.write(&txn, &new)
    })?;
    progress.finish();
    let mut manifest = store.manifest().clone();
    manifest.data_files = writer.finish(&txn)?;
    manifest.rules_version = rules.version.clone();
    manifest.rules_sha256 = rules.sha256.clone();
    txn.commit(manifest)?;

    summary.venue_coverage = if with_venue == 0 {
        1.0
    } else {
        covered as f64 / with_venue as f64
    };
    let mut ranked: Vec<(String, u64)> = unmatched.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(top);
    summary.unmatched_venues = ranked;
    Ok(summary)
}
