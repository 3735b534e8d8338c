//! `classify` and `explain`: reclassify a whole store after a rules change
//! (atomically, as a new generation of its files), and show why one record
//! got its type.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::Int32Type;
use serde::Serialize;

use crate::classify::{Classifier, Explanation, Facts};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::rules::Rules;
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
    let mut txn = store.begin()?;
    let mut writer = PartitionedWriter::new(txn.generation());
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
        writer.write(&mut txn, &new)
    })?;
    progress.finish();
    let mut manifest = store.manifest().clone();
    manifest.data_files = writer.finish(&mut txn)?;
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

/// A stored record's facts and its explanation under `rules`.
#[derive(Debug, Clone)]
pub struct RecordExplanation {
    pub record_id: String,
    pub form: String,
    pub sectors: Vec<String>,
    pub venue: Option<String>,
    /// The classification stored in the store (from the rules that built it).
    pub stored_rule: Option<String>,
    pub explanation: Explanation,
}

pub fn explain(store: &Store, rules: &Rules, record_id: &str) -> Result<RecordExplanation> {
    let mut found: Option<RecordExplanation> = None;
    let mut classifier = Classifier::new(rules);
    store.scan(
        Some(&[
            "record_id",
            "trafficking_form",
            "sectors",
            "venue",
            "rule_id",
        ]),
        |batch| {
            if found.is_some() {
                return Ok(());
            }
            let ids = batch.column(0).as_string::<i32>();
            if let Some(row) = (0..batch.num_rows()).find(|&r| ids.value(r) == record_id) {
                let form = batch.column(1).as_string::<i32>().value(row).to_string();
                let sectors_col = batch.column(2).as_list::<i32>();
                let sectors: Vec<String> = if sectors_col.is_valid(row) {
                    let v = sectors_col.value(row);
                    v.as_string::<i32>()
                        .iter()
                        .flatten()
                        .map(str::to_string)
                        .collect()
                } else {
                    Vec::new()
                };
                let venues = batch.column(3).as_string::<i32>();
                let venue = venues.is_valid(row).then(|| venues.value(row).to_string());
                let rule_ids = batch.column(4).as_string::<i32>();
                let explanation = classifier.explain(Facts {
                    form: &form,
                    sectors: &sectors,
                    venue: venue.as_deref(),
                });
                found = Some(RecordExplanation {
                    record_id: record_id.to_string(),
                    form,
                    sectors,
                    venue,
                    stored_rule: rule_ids
                        .is_valid(row)
                        .then(|| rule_ids.value(row).to_string()),
                    explanation,
                });
            }
            Ok(())
        },
    )?;
    found.ok_or_else(|| Error::Usage(format!("no record with id '{record_id}' in the store")))
}
