//! Classification of records into the typology, driven by `Rules`.
//!
//! Rules are tried in file order and the first whose conditions all hold
//! wins. Matching is done once per distinct venue text and once per distinct
//! (form, sectors, venue) combination, not once per row: exports repeat the
//! same few thousand venue strings millions of times.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Builder, ListArray, RecordBatch, StringArray, StringBuilder,
    new_null_array,
};

use crate::base::schema;
use crate::classify::rules::{Rule, Rules, Target};
use crate::error::Result;

/// The outcome for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// `typology`, `extension` or `undetermined`.
    pub status: &'static str,
    pub typology_id: Option<u8>,
    pub typology_name: Option<String>,
    pub extension_category: Option<&'static str>,
    pub rule_id: Option<String>,
    pub confidence: Option<&'static str>,
    pub evidence: Option<String>,
    pub undetermined_reason: Option<String>,
}

/// A rule that did not decide the record but matched part of it, for
/// `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss {
    pub rule_id: String,
    pub why_not: String,
}

/// What `explain` shows: the decision and the rules that came close.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub decision: Classification,
    pub near_misses: Vec<NearMiss>,
}

/// The facts about a record that classification looks at.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub form: &'a str,
    pub sectors: &'a [String],
    pub venue: Option<&'a str>,
}

/// Per rule: the first of its phrases found in the venue text, if any.
type PhraseHits = Vec<Option<usize>>;

pub struct Classifier<'r> {
    rules: &'r Rules,
    venue_hits: HashMap<String, Arc<PhraseHits>>,
    /// Decisions by `form \x1f sectors \x1f venue`, one string so that a
    /// lookup needs no allocation.
    decisions: HashMap<String, Arc<Classification>>,
    key: String,
}

fn contains_phrase(tokens: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && tokens.windows(phrase.len()).any(|w| w == phrase)
}

fn form_label(form: &str) -> &'static str {
    match form {
        "sex" => "sex trafficking",
        "labor" => "labor trafficking",
        "sex_and_labor" => "sex and labor trafficking",
        "other" => "other exploitation",
        _ => "form not specified",
    }
}

fn blank_to_none(venue: Option<&str>) -> Option<&str> {
    venue.filter(|v| !v.trim().is_empty())
}

impl<'r> Classifier<'r> {
    pub fn new(rules: &'r Rules) -> Self {
        Classifier {
            rules,
            venue_hits: HashMap::new(),
            decisions: HashMap::new(),
            key: String::new(),
        }
    }

    fn phrase_hits(&mut self, venue: &str) -> Arc<PhraseHits> {
        if let Some(hits) = self.venue_hits.get(venue) {
            return hits.clone();
        }
        let tokens = crate::base::vocab::venue_tokens(venue);
        let hits: PhraseHits = self
            .rules
            .rules
            .iter()
            .map(|rule| {
                rule.phrases
                    .iter()
                    .position(|p| contains_phrase(&tokens, &p.tokens))
            })
            .collect();
        let hits = Arc::new(hits);
        self.venue_hits.insert(venue.to_string(), hits.clone());
        hits
    }

    /// Classifies one record, using the caches.
    pub fn classify(&mut self, facts: Facts<'_>) -> Arc<Classification> {
        let venue = blank_to_none(facts.venue);
        self.key.clear();
        self.key.push_str(facts.form);
        for sector in facts.sectors {
            self.key.push('\x1f');
            self.key.push_str(sector);
        }
        self.key.push('\x1e');
        if let Some(v) = venue {
            self.key.push_str(v);
        }
        if let Some(done) = self.decisions.get(self.key.as_str()) {
            return done.clone();
        }
        let decision = Arc::new(self.decide(facts).decision);
        self.decisions.insert(self.key.clone(), decision.clone());
        decision
    }

    /// Classifies one record and says which other rules came close.
    pub fn explain(&mut self, facts: Facts<'_>) -> Explanation {
        self.decide(facts)
    }

    fn decide(&mut self, facts: Facts<'_>) -> Explanation {
        let venue = blank_to_none(facts.venue);
        let hits = venue.map(|v| self.phrase_hits(v));
        let mut winner: Option<(&Rule, String)> = None;
        let mut near_misses = Vec::new();
        for (index, rule) in self.rules.rules.iter().enumerate() {
            let phrase_hit = hits
                .as_ref()
                .and_then(|h| h[index])
                .map(|i| &rule.phrases[i]);
            let sector_hit = facts
                .sectors
                .iter()
                .find(|s| rule.sectors.contains(&s.as_str()));
            let form_ok = rule.forms.is_empty() || rule.forms.contains(&facts.form);
            let phrase_ok = rule.phrases.is_empty() || phrase_hit.is_some();
            let sector_ok = rule.sectors.is_empty() || sector_hit.is_some();
            let touched = phrase_hit.is_some() || sector_hit.is_some();
            if form_ok && phrase_ok && sector_ok {
                if let Some((first, _)) = &winner {
                    if touched {
                        near_misses.push(NearMiss {
                            rule_id: rule.id.clone(),
                            why_not: format!("also matches, but comes after rule {}", first.id),
                        });
                    }
                } else {
                    let mut evidence = Vec::new();
                    if let Some(p) = phrase_hit {
                        evidence.push(format!("venue: \"{}\"", p.text));
                    }
                    if let Some(s) = sector_hit {
                        evidence.push(format!("sector: {s}"));
                    }
                    winner = Some((rule, evidence.join("; ")));
                }
            } else if touched {
                let mut why = Vec::new();
                if !form_ok {
                    why.push(format!(
                        "form {} is not one of [{}]",
                        facts.form,
                        rule.forms.join(", ")
                    ));
                }
                if !phrase_ok {
                    why.push("no phrase of the rule is in the venue text".to_string());
                }
                if !sector_ok {
                    why.push(format!("needs sector [{}]", rule.sectors.join(", ")));
                }
                near_misses.push(NearMiss {
                    rule_id: rule.id.clone(),
                    why_not: why.join("; "),
                });
            }
        }
        let decision = match winner {
            Some((rule, evidence)) => self.decided(rule, evidence),
            None => undetermined(facts.form, facts.sectors, venue),
        };
        Explanation {
            decision,
            near_misses,
        }
    }

    fn decided(&self, rule: &Rule, evidence: String) -> Classification {
        let (status, typology_id, typology_name, extension_category) = match rule.target {
            Target::Typology(id) => (
                "typology",
                Some(id),
                self.rules.type_name(id).map(str::to_string),
                None,
            ),
            Target::Extension(code) => ("extension", None, None, Some(code)),
        };
        Classification {
            status,
            typology_id,
            typology_name,
            extension_category,
            rule_id: Some(rule.id.clone()),
            confidence: Some(rule.confidence),
            evidence: Some(evidence),
            undetermined_reason: None,
        }
    }

    /// Appends the classification columns to a batch in the base schema
    /// (or replaces them in a batch in the store schema).
    pub fn classify_batch(&mut self, batch: &RecordBatch) -> Result<RecordBatch> {
        let base = schema::base_schema();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema::store_schema().fields().len());
        for field in base.fields() {
            let column = match batch.column_by_name(field.name()) {
                Some(column) => column,
                // a store written before the year span: a record's span is
                // its year, the only kind of year such a store holds
                None if schema::YEAR_SPAN_COLUMNS.contains(&field.name().as_str()) => batch
                    .column_by_name("year")
                    .expect("batch has the year column"),
                // a store written before this column: not recorded there;
                // `reclassify` writes it as null (derived places and
                // perpetrator regions come with a re-ingest)
                None => &new_null_array(field.data_type(), batch.num_rows()),
            };
            columns.push(column.clone());
        }
        let forms = batch
            .column_by_name("trafficking_form")
            .expect("form column");
        let forms: &StringArray = forms.as_string();
        let sectors: &ListArray = batch
            .column_by_name("sectors")
            .expect("sectors column")
            .as_list();
        let venues = batch.column_by_name("venue").expect("venue column");
        let venues: &StringArray = venues.as_string();

        let rows = batch.num_rows();
        let mut status = StringBuilder::with_capacity(rows, rows * 8);
        let mut type_id = Int32Builder::with_capacity(rows);
        let mut type_name = StringBuilder::new();
        let mut extension = StringBuilder::new();
        let mut rule_id = StringBuilder::new();
        let mut confidence = StringBuilder::new();
        let mut evidence = StringBuilder::new();
        let mut reason = StringBuilder::new();
        let mut row_sectors: Vec<String> = Vec::new();
        for row in 0..rows {
            row_sectors.clear();
            if sectors.is_valid(row) {
                let values = sectors.value(row);
                let values: &StringArray = values.as_string();
                row_sectors.extend(values.iter().flatten().map(str::to_string));
            }
            let venue = venues.is_valid(row).then(|| venues.value(row));
            let c = self.classify(Facts {
                form: forms.value(row),
                sectors: &row_sectors,
                venue,
            });
            status.append_value(c.status);
            type_id.append_option(c.typology_id.map(i32::from));
            type_name.append_option(c.typology_name.as_deref());
            extension.append_option(c.extension_category);
            rule_id.append_option(c.rule_id.as_deref());
            confidence.append_option(c.confidence);
            evidence.append_option(c.evidence.as_deref());
            reason.append_option(c.undetermined_reason.as_deref());
        }
        columns.push(Arc::new(status.finish()));
        columns.push(Arc::new(type_id.finish()));
        columns.push(Arc::new(type_name.finish()));
        columns.push(Arc::new(extension.finish()));
        columns.push(Arc::new(rule_id.finish()));
        columns.push(Arc::new(confidence.finish()));
        columns.push(Arc::new(evidence.finish()));
        columns.push(Arc::new(reason.finish()));
        Ok(RecordBatch::try_new(schema::store_schema(), columns)?)
    }
}

/// Why a record got no type. Reasons are categories (no raw text), so that
/// they can be counted in reports.
fn undetermined(form: &str, sectors: &[String], venue: Option<&str>) -> Classification {
    let reason = if venue.is_some() {
        format!("{}, venue text matched no rule", form_label(form))
    } else if sectors.is_empty() {
        format!("{}, no sector, no venue", form_label(form))
    } else {
        format!("{}, {}, no venue", form_label(form), sectors.join(" and "))
    };
    Classification {
        status: "undetermined",
        typology_id: None,
        typology_name: None,
        extension_category: None,
        rule_id: None,
        confidence: None,
        evidence: None,
        undetermined_reason: Some(reason),
    }
}
