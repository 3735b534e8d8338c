//! `explain`: why one stored record got its type, under the current rules,
//! and which rules came close.

use datafusion::arrow::array::{Array, AsArray};

use crate::base::escape::terminal;
use crate::classify::classifier::{Classifier, Explanation, Facts};
use crate::classify::rules::Rules;
use crate::error::{Error, Result};
use crate::store::Store;

/// A stored record's facts and its explanation under `rules`.
#[derive(Debug, Clone)]
pub struct RecordExplanation {
    pub record_id: String,
    pub form: String,
    pub sectors: Vec<String>,
    pub venue: Option<String>,
    /// The classification stored in the store (from the rules that built it).
    pub stored_rule: Option<String>,
    /// The type (or extension category) stored for the record, as reports
    /// count it.
    pub stored_type: Option<String>,
    /// The rules' SHA-256 the store was classified with (empty in a store
    /// from before it was recorded).
    pub store_rules_sha256: String,
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
            "typology_name",
            "extension_category",
        ]),
        |batch| {
            if found.is_some() {
                return Ok(());
            }
            // by name: the scan gives the columns in the store's order
            let column = |name: &str| batch.column_by_name(name).expect("scanned");
            let ids = column("record_id").as_string::<i32>();
            if let Some(row) = (0..batch.num_rows()).find(|&r| ids.value(r) == record_id) {
                let text = |name: &str| {
                    let values = column(name).as_string::<i32>();
                    values.is_valid(row).then(|| values.value(row).to_string())
                };
                let form = text("trafficking_form").unwrap_or_default();
                let sectors = crate::classify::classifier::list_texts(
                    column("sectors").as_list::<i32>(),
                    row,
                );
                let venue = text("venue");
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
                    stored_rule: text("rule_id"),
                    stored_type: text("typology_name").or_else(|| text("extension_category")),
                    store_rules_sha256: store.manifest().rules_sha256.clone(),
                    explanation,
                });
            }
            Ok(())
        },
    )?;
    found.ok_or_else(|| Error::Usage(format!("no record with id '{record_id}' in the store")))
}

/// The explanation as `explain` prints it. Every value from the record or
/// the rules is shown with its control characters as visible escapes
/// (`base::escape::terminal`): a venue text cannot colour, move or clear the
/// terminal, nor start a line of its own.
pub fn render(e: &RecordExplanation, rules: &Rules) -> String {
    let t = |text: &str| terminal(text).into_owned();
    let d = &e.explanation.decision;
    let mut out = String::new();
    out += &format!("record      {}\n", t(&e.record_id));
    out += &format!("form        {}\n", t(&e.form));
    out += &format!(
        "sectors     {}\n",
        if e.sectors.is_empty() {
            "(none)".into()
        } else {
            t(&e.sectors.join(", "))
        }
    );
    out += &format!(
        "venue       {}\n",
        t(e.venue.as_deref().unwrap_or("(none)"))
    );
    match (d.typology_id, d.extension_category) {
        (Some(id), _) => {
            out += &format!(
                "type        {id} {}\n",
                t(d.typology_name.as_deref().unwrap_or(""))
            )
        }
        (None, Some(ext)) => out += &format!("extension   {} (outside the 25 types)\n", t(ext)),
        _ => {
            out += &format!(
                "type        undetermined: {}\n",
                t(d.undetermined_reason.as_deref().unwrap_or(""))
            )
        }
    }
    if let Some(rule) = &d.rule_id {
        out += &format!(
            "rule        {} (confidence {})\n",
            t(rule),
            t(d.confidence.unwrap_or(""))
        );
        out += &format!("evidence    {}\n", t(d.evidence.as_deref().unwrap_or("")));
    }
    // The same rule id can stand for another type under other rules (a
    // store's own edit keeps the version): reports count the stored type,
    // so a difference is said, whatever the rule ids.
    let explained_type = d
        .typology_name
        .clone()
        .or_else(|| d.extension_category.map(String::from));
    let other_rules = !e.store_rules_sha256.is_empty() && e.store_rules_sha256 != rules.sha256;
    if other_rules || e.stored_type != explained_type {
        out += &format!(
            "stored      {} (what reports count)\n",
            t(e.stored_type.as_deref().unwrap_or("undetermined"))
        );
    }
    if other_rules {
        out += &format!(
            "note        these rules (version {}, SHA-256 {}) are not the ones the store was classified with (SHA-256 {}); pass those with --rules to explain the stored type\n",
            t(&rules.version),
            &rules.sha256[..12.min(rules.sha256.len())],
            t(&e.store_rules_sha256[..12.min(e.store_rules_sha256.len())])
        );
    } else if e.stored_rule != d.rule_id {
        out += &format!(
            "note        the store holds rule {} for this record; run `classify` to apply rules {}\n",
            t(e.stored_rule.as_deref().unwrap_or("(none)")),
            t(&rules.version)
        );
    }
    if let Some(n) = &e.explanation.nearest {
        out += &format!(
            "nearest     {} ({}): {}\n",
            t(&n.rule_id),
            t(&n.target),
            t(&n.why)
        );
    }
    if e.explanation.near_misses.is_empty() {
        out += "close       no other rule matched any part of this record\n";
    } else {
        out += "close       rules that matched part of this record:\n";
        for m in &e.explanation.near_misses {
            out += &format!("  {:<32} {}\n", t(&m.rule_id), t(&m.why_not));
        }
    }
    out
}
