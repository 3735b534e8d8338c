//! Classification of records into the typology, driven by `Rules`.
//!
//! Rules are tried in file order and the first whose conditions all hold
//! wins. Matching is done once per distinct venue text and once per distinct
//! (form, sectors, venue) combination, not once per row: exports repeat the
//! same few thousand venue strings millions of times.

// Looked up for every record: foldhash, not SipHash.
use foldhash::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Builder, ListArray, RecordBatch, StringArray, StringBuilder,
    new_null_array,
};

use crate::base::schema;
use crate::classify::fuzzy::Correction;
use crate::classify::rules::{Phrase, Rule, Rules, Target};
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
    /// For an undetermined record with venue text: the rule that comes
    /// nearest, and why.
    pub nearest: Option<Nearest>,
}

/// The rule whose venue words come nearest an undetermined text.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest {
    pub rule_id: String,
    /// What the rule assigns, in words ("type 9 Restaurants and Food Service").
    pub target: String,
    /// How near: the words shared, or the edits between two words.
    pub why: String,
    /// True when the text holds every content word of the rule's phrase
    /// (only some other word of the rule, form or order keeps it out).
    pub whole_phrase: bool,
}

/// Words too common to make two texts near ("de", "the", "and").
fn is_content(token: &str) -> bool {
    token.chars().count() >= 4
}

/// The facts about a record that classification looks at.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub form: &'a str,
    pub sectors: &'a [String],
    pub venue: Option<&'a str>,
}

/// How a rule's venue condition was met: what to show as evidence, and
/// whether it took a corrected slip (which lowers the confidence).
#[derive(Debug, Clone)]
pub struct VenueHit {
    pub evidence: String,
    pub fuzzy: bool,
}

/// Per rule: how its phrases and concepts were found in the venue text.
type PhraseHits = Vec<Option<VenueHit>>;

pub struct Classifier<'r> {
    rules: &'r Rules,
    venue_hits: HashMap<String, Arc<PhraseHits>>,
    /// Slips already looked up, by stemmed word and the edits its typed
    /// length allows (two typed words of one stem may allow different ones).
    corrections: HashMap<(String, usize), Option<Correction>>,
    /// Decisions by `form \x1f sectors \x1f venue`, one string so that a
    /// lookup needs no allocation.
    decisions: HashMap<String, Arc<Classification>>,
    key: String,
}

/// The venue text as typed and as corrected, for matching.
struct Venue {
    words: Vec<String>,
    tokens: Vec<String>,
    /// The words' Snowball stems in each language of the rules.
    snowball: [Vec<String>; 3],
    corrected: Vec<String>,
    fixes: Vec<Option<Correction>>,
}

impl Venue {
    /// Where `phrase` is in the text: found as typed, or only through
    /// corrected slips (with what was corrected).
    fn find(&self, phrase: &Phrase) -> Option<VenueHit> {
        let n = phrase.tokens.len();
        if n == 0 || n > self.tokens.len() {
            return None;
        }
        let at = |tokens: &[String]| {
            tokens
                .windows(n)
                .position(|w| w == phrase.tokens.as_slice())
        };
        if at(&self.tokens).is_some() {
            return Some(VenueHit {
                evidence: format!("\"{}\"", phrase.text),
                fuzzy: false,
            });
        }
        // another form of the same words ("harvesting" for "harvest")
        if let Some((language, stems)) = &phrase.snowball
            && self.snowball[*language]
                .windows(n)
                .any(|w| w == stems.as_slice())
        {
            return Some(VenueHit {
                evidence: format!("\"{}\" (word form)", phrase.text),
                fuzzy: false,
            });
        }
        if self.fixes.iter().all(Option::is_none) {
            return None;
        }
        let start = at(&self.corrected)?;
        let slips: Vec<String> = (start..start + n)
            .filter_map(|i| {
                self.fixes[i].as_ref().map(|c| {
                    format!(
                        "matched '{}' from '{}' ({} edit{})",
                        c.word,
                        self.words[i],
                        c.edits,
                        if c.edits == 1 { "" } else { "s" }
                    )
                })
            })
            .collect();
        Some(VenueHit {
            evidence: format!("\"{}\", {}", phrase.text, slips.join(", ")),
            fuzzy: true,
        })
    }

    /// The first phrase found as typed, else the first found through a slip.
    fn first(&self, phrases: &[Phrase]) -> Option<VenueHit> {
        let mut fuzzy = None;
        for p in phrases {
            match self.find(p) {
                Some(hit) if !hit.fuzzy => return Some(hit),
                Some(hit) if fuzzy.is_none() => fuzzy = Some(hit),
                _ => {}
            }
        }
        fuzzy
    }
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
            venue_hits: HashMap::default(),
            corrections: HashMap::default(),
            decisions: HashMap::default(),
            key: String::new(),
        }
    }

    fn phrase_hits(&mut self, venue: &str) -> Arc<PhraseHits> {
        if let Some(hits) = self.venue_hits.get(venue) {
            return hits.clone();
        }
        let words = crate::base::vocab::venue_words(venue);
        let tokens: Vec<String> = words.iter().map(|w| crate::base::vocab::stem(w)).collect();
        let mut corrected = tokens.clone();
        let mut fixes = vec![None; tokens.len()];
        for (i, token) in tokens.iter().enumerate() {
            if self.rules.corrector.knows(token) {
                continue;
            }
            let typed = words[i].chars().count();
            let bound = crate::classify::fuzzy::edits_allowed(typed);
            let correction = self
                .corrections
                .entry((token.clone(), bound))
                .or_insert_with(|| self.rules.corrector.correct(token, typed))
                .clone();
            if let Some(c) = correction {
                corrected[i] = c.word.clone();
                fixes[i] = Some(c);
            }
        }
        let snowball = [0, 1, 2].map(|l| crate::base::vocab::snowball_stems(&words, l));
        let text = Venue {
            words,
            tokens,
            snowball,
            corrected,
            fixes,
        };
        let concepts: Vec<Option<VenueHit>> = self
            .rules
            .concepts
            .iter()
            .map(|c| text.first(&c.phrases))
            .collect();
        let hits: PhraseHits = self
            .rules
            .rules
            .iter()
            .map(|rule| {
                if rule.phrases.is_empty() && rule.concepts.is_empty() {
                    return None;
                }
                let mut parts = Vec::new();
                let mut fuzzy = false;
                if !rule.phrases.is_empty() {
                    let hit = text.first(&rule.phrases)?;
                    fuzzy |= hit.fuzzy;
                    parts.push(hit.evidence);
                }
                for &c in &rule.concepts {
                    let hit = concepts[c].as_ref()?;
                    fuzzy |= hit.fuzzy;
                    parts.push(format!("{} ({})", self.rules.concepts[c].id, hit.evidence));
                }
                Some(VenueHit {
                    evidence: parts.join(" + "),
                    fuzzy,
                })
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
        let mut winner: Option<(&Rule, String, bool)> = None;
        let mut near_misses = Vec::new();
        for (index, rule) in self.rules.rules.iter().enumerate() {
            let phrase_hit = hits.as_ref().and_then(|h| h[index].clone());
            let sector_hit = facts
                .sectors
                .iter()
                .find(|s| rule.sectors.contains(&s.as_str()));
            let form_ok = rule.forms.is_empty() || rule.forms.contains(&facts.form);
            let phrase_ok =
                (rule.phrases.is_empty() && rule.concepts.is_empty()) || phrase_hit.is_some();
            let sector_ok = rule.sectors.is_empty() || sector_hit.is_some();
            let touched = phrase_hit.is_some() || sector_hit.is_some();
            if form_ok && phrase_ok && sector_ok {
                if let Some((first, _, _)) = &winner {
                    if touched {
                        near_misses.push(NearMiss {
                            rule_id: rule.id.clone(),
                            why_not: format!("also matches, but comes after rule {}", first.id),
                        });
                    }
                } else {
                    let mut evidence = Vec::new();
                    let fuzzy = phrase_hit.as_ref().is_some_and(|h| h.fuzzy);
                    if let Some(p) = &phrase_hit {
                        evidence.push(format!("venue: {}", p.evidence));
                    }
                    if let Some(s) = sector_hit {
                        evidence.push(format!("sector: {s}"));
                    }
                    winner = Some((rule, evidence.join("; "), fuzzy));
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
                    why.push(
                        "no phrase of the rule (or not all its concepts) in the venue text"
                            .to_string(),
                    );
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
            Some((rule, evidence, fuzzy)) => self.decided(rule, evidence, fuzzy),
            None => undetermined(facts.form, facts.sectors, venue),
        };
        let nearest = match (&decision.rule_id, venue) {
            (None, Some(v)) => self.nearest_rule(facts.form, v),
            _ => None,
        };
        Explanation {
            decision,
            near_misses,
            nearest,
        }
    }

    /// What a rule assigns, in words.
    pub fn target_label(&self, rule: &Rule) -> String {
        match rule.target {
            Target::Typology(id) => {
                format!("type {id} {}", self.rules.type_name(id).unwrap_or(""))
            }
            Target::Extension(code) => format!("extension {code}"),
        }
    }

    /// The rule (for the record's form) with the phrase that shares the
    /// largest part of its words with `venue`; failing any shared word, the
    /// one with a word fewest edits (at most three) from a word of the text.
    pub fn nearest_rule(&self, form: &str, venue: &str) -> Option<Nearest> {
        let words = crate::base::vocab::venue_words(venue);
        let tokens: Vec<String> = words.iter().map(|w| crate::base::vocab::stem(w)).collect();
        let allowed = |rule: &Rule| rule.forms.is_empty() || rule.forms.contains(&form);
        let phrases_of = |rule: &'r Rule| {
            rule.phrases.iter().chain(
                rule.concepts
                    .iter()
                    .flat_map(|&c| self.rules.concepts[c].phrases.iter()),
            )
        };
        // (share of the phrase's words, words shared, rule, phrase, shared)
        let mut best: Option<(f64, usize, &Rule, &Phrase, Vec<String>)> = None;
        for rule in self.rules.rules.iter().filter(|r| allowed(r)) {
            for phrase in phrases_of(rule) {
                let shared: Vec<String> = phrase
                    .tokens
                    .iter()
                    .filter(|t| is_content(t) && tokens.contains(t))
                    .cloned()
                    .collect();
                if shared.is_empty() {
                    continue;
                }
                let score = shared.len() as f64 / phrase.tokens.len() as f64;
                if best
                    .as_ref()
                    .is_none_or(|b| score > b.0 || (score == b.0 && shared.len() > b.1))
                {
                    best = Some((score, shared.len(), rule, phrase, shared));
                }
            }
        }
        if let Some((score, _, rule, phrase, shared)) = best {
            let whole_phrase = shared.len()
                == phrase.tokens.iter().filter(|t| is_content(t)).count()
                && score > 0.0;
            return Some(Nearest {
                whole_phrase,
                rule_id: rule.id.clone(),
                target: self.target_label(rule),
                why: format!(
                    "its phrase \"{}\" shares {}",
                    phrase.text,
                    shared
                        .iter()
                        .map(|w| format!("'{w}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let mut closest: Option<(usize, &Rule, &str, &str)> = None;
        for rule in self.rules.rules.iter().filter(|r| allowed(r)) {
            for phrase in phrases_of(rule) {
                for target in phrase.tokens.iter().filter(|t| t.chars().count() >= 5) {
                    for (word, token) in words.iter().zip(&tokens) {
                        if token.chars().count() < 5 {
                            continue;
                        }
                        let d = strsim::osa_distance(token, target);
                        if d <= 3 && closest.as_ref().is_none_or(|c| d < c.0) {
                            closest = Some((d, rule, word, target));
                        }
                    }
                }
            }
        }
        closest.map(|(d, rule, word, target)| Nearest {
            whole_phrase: false,
            rule_id: rule.id.clone(),
            target: self.target_label(rule),
            why: format!("'{word}' is {d} edits from its word '{target}'"),
        })
    }

    /// The rule's decision; a match that took a corrected slip is one
    /// step less sure than the rule says.
    fn decided(&self, rule: &Rule, evidence: String, fuzzy: bool) -> Classification {
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
            confidence: Some(match (fuzzy, rule.confidence) {
                (false, c) => c,
                (true, "high") => "medium",
                (true, _) => "low",
            }),
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

/// The texts of a list cell (a record's sectors), empty when the cell is null.
pub fn list_texts(list: &ListArray, row: usize) -> Vec<String> {
    if !list.is_valid(row) {
        return Vec::new();
    }
    let values = list.value(row);
    values
        .as_string::<i32>()
        .iter()
        .flatten()
        .map(str::to_string)
        .collect()
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
