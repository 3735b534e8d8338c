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
                let sectors =
                    crate::classify::classifier::list_texts(batch.column(2).as_list::<i32>(), row);
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
    if e.stored_rule != d.rule_id {
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
