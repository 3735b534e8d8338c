//! The typology and the classification rules, loaded from data files.
//!
//! `rules/typology.toml` (the 25 types and the extension categories) and
//! `rules/rules.toml` (ordered rules and label tables) are embedded as the
//! defaults; an analyst can pass their own rules file with `--rules`.
//! Everything is validated on load so that a typo in a rules file is a clear
//! error, never a silently dead rule.

use std::collections::{BTreeMap, HashSet};

// Looked up for every coded value of every record: foldhash hashes a short
// label faster than std's SipHash.
use foldhash::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::base::remembered::Remembered;
use crate::base::vocab::{self, CodedField};
use crate::error::{Error, Result};

pub const DEFAULT_TYPOLOGY: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/typology.toml"));
pub const DEFAULT_RULES: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/rules.toml"));

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypologyType {
    pub id: u8,
    pub name: String,
    pub form: String,
    pub definition: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionCategory {
    pub code: String,
    pub name: String,
    pub definition: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypologyFile {
    #[serde(rename = "type")]
    types: Vec<TypologyType>,
    #[serde(rename = "extension")]
    extensions: Vec<ExtensionCategory>,
}

/// Every category as the tables publish it (`coalesce(typology_name,
/// extension_category)`): the names of the 25 types, then the codes of the
/// extension categories, in the order of the typology compiled into the
/// binary (which the loader requires of every typology file).
pub fn published_categories() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let file: TypologyFile =
            toml::from_str(DEFAULT_TYPOLOGY).expect("the compiled-in typology parses");
        file.types
            .into_iter()
            .map(|t| t.name)
            .chain(file.extensions.into_iter().map(|e| e.code))
            .collect()
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    typology: Option<u8>,
    extension: Option<String>,
    confidence: String,
    #[serde(default)]
    forms: Vec<String>,
    #[serde(default)]
    sectors: Vec<String>,
    #[serde(default)]
    phrases: Vec<String>,
    lang: Option<String>,
    note: Option<String>,
    /// Concepts that must all be in the venue text (a paraphrase: an
    /// activity and its object, "sell" + "subscription").
    #[serde(default)]
    concepts: Vec<String>,
}

/// A concept: the words and phrases, in the three languages and with their
/// slang, that say one thing ("sell": sell, selling, vender, vendre ...).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConceptDef {
    id: String,
    terms: Vec<String>,
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LabelsDef {
    #[serde(default)]
    not_recorded: Vec<String>,
    #[serde(flatten)]
    tables: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    version: String,
    #[serde(default, rename = "concept")]
    concepts: Vec<ConceptDef>,
    #[serde(rename = "rule")]
    rules: Vec<RuleDef>,
    labels: LabelsDef,
}

/// A concept as rules use it: its terms as phrases.
#[derive(Debug, Clone)]
pub struct Concept {
    pub id: String,
    pub phrases: Vec<Phrase>,
}

/// What a rule assigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Typology(u8),
    Extension(&'static str),
}

/// A phrase of a rule, kept as written (for evidence) and as stemmed words
/// (for matching).
#[derive(Debug, Clone)]
pub struct Phrase {
    pub text: String,
    pub tokens: Vec<String>,
    /// For a rule written in English, Spanish or French: the language (its
    /// index in [`vocab::STEM_LANGUAGES`]) and the words' Snowball stems.
    pub snowball: Option<(usize, Vec<String>)>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub target: Target,
    pub confidence: &'static str,
    pub forms: Vec<&'static str>,
    pub sectors: Vec<&'static str>,
    pub phrases: Vec<Phrase>,
    /// Indices into [`Rules::concepts`]: all must be in the venue text.
    pub concepts: Vec<usize>,
    pub lang: Option<String>,
}

/// Result of looking an exported label up in a label table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Code(&'static str),
    NotRecorded,
    Unknown,
}

#[derive(Debug)]
pub struct Rules {
    pub version: String,
    /// Hash of the rules text, stored in the manifest so a store knows which
    /// rules classified it.
    pub sha256: String,
    pub types: Vec<TypologyType>,
    pub extensions: Vec<ExtensionCategory>,
    pub rules: Vec<Rule>,
    pub concepts: Vec<Concept>,
    /// Every word of every phrase and concept: a typed word within a small
    /// edit distance of one of them is read as it.
    pub corrector: crate::classify::fuzzy::Corrector,
    labels: HashMap<CodedField, HashMap<String, &'static str>>,
    not_recorded: HashSet<String>,
    /// Labels already looked up, by raw text, one memory per field (indexed
    /// by the field's place in `CodedField::ALL`, its declaration order):
    /// a column holds few distinct labels, and normalising each cell again
    /// (accents, case, allocation) was half the time of an ingest.
    seen: [Remembered<Label>; CodedField::ALL.len()],
    /// Whether a raw text means "not recorded", for the same reason: every
    /// flag, place and count cell of every row asks it, and normalising
    /// each again was 9% of an ingest (perf, 300,000 records).
    seen_not_recorded: Remembered<bool>,
}

fn intern(codes: &'static [&'static str], value: &str) -> Option<&'static str> {
    codes.iter().copied().find(|c| *c == value)
}

impl Rules {
    /// The embedded default rules.
    pub fn default_rules() -> Result<Self> {
        Self::parse(DEFAULT_TYPOLOGY, DEFAULT_RULES, "(embedded default)")
    }

    /// The default rules, or the analyst's rules file when one is given.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        match path {
            None => Self::default_rules(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
                Self::parse(DEFAULT_TYPOLOGY, &text, &p.display().to_string())
            }
        }
    }

    pub fn parse(typology_text: &str, rules_text: &str, origin: &str) -> Result<Self> {
        let err = |message: String| Error::Rules {
            origin: origin.to_string(),
            message,
        };
        let typology: TypologyFile =
            toml::from_str(typology_text).map_err(|e| err(format!("typology: {e}")))?;
        validate_typology(&typology).map_err(err)?;
        let file: RulesFile = toml::from_str(rules_text).map_err(|e| err(e.to_string()))?;

        let mut concepts: Vec<Concept> = Vec::with_capacity(file.concepts.len());
        for def in file.concepts {
            if concepts.iter().any(|c| c.id == def.id) {
                return Err(err(format!("concept id '{}' is used twice", def.id)));
            }
            let _ = def.note;
            concepts.push(Concept {
                phrases: compile_phrases(&def.terms, &format!("concept '{}'", def.id), None)
                    .map_err(&err)?,
                id: def.id,
            });
        }
        let mut seen_ids = HashSet::new();
        let mut rules = Vec::with_capacity(file.rules.len());
        for def in file.rules {
            let rule = compile_rule(def, &typology, &concepts).map_err(&err)?;
            if !seen_ids.insert(rule.id.clone()) {
                return Err(err(format!("rule id '{}' is used twice", rule.id)));
            }
            rules.push(rule);
        }

        let mut labels: HashMap<CodedField, HashMap<String, &'static str>> = HashMap::default();
        for field in CodedField::ALL {
            // every code maps to itself, so canonical exports need no table
            let table = labels.entry(field).or_default();
            for code in field.codes() {
                table.insert(vocab::normalise_label(code), code);
            }
        }
        for (name, table) in &file.labels.tables {
            let field = CodedField::from_name(name)
                .ok_or_else(|| err(format!("unknown label table [labels.{name}]")))?;
            let map = labels.get_mut(&field).expect("every field has a table");
            for (code, names) in table {
                let code = intern(field.codes(), code).ok_or_else(|| {
                    err(format!("[labels.{name}]: '{code}' is not a {name} code"))
                })?;
                for label in names {
                    let key = vocab::normalise_label(label);
                    if let Some(previous) = map.insert(key, code)
                        && previous != code
                    {
                        return Err(err(format!(
                            "[labels.{name}]: label '{label}' maps to both '{previous}' and '{code}'"
                        )));
                    }
                }
            }
        }
        let not_recorded = file
            .labels
            .not_recorded
            .iter()
            .map(|l| vocab::normalise_label(l))
            .collect();

        let corrector = crate::classify::fuzzy::Corrector::new(
            rules
                .iter()
                .flat_map(|r| &r.phrases)
                .chain(concepts.iter().flat_map(|c| &c.phrases))
                .flat_map(|p| &p.tokens),
        );
        Ok(Rules {
            version: file.version,
            sha256: crate::base::files::sha256_hex(rules_text.as_bytes()),
            types: typology.types,
            extensions: typology.extensions,
            rules,
            concepts,
            corrector,
            labels,
            not_recorded,
            seen: Default::default(),
            seen_not_recorded: Remembered::default(),
        })
    }

    /// Looks an exported label up: a code, "not recorded" (empty, "Unknown",
    /// "No especificado", ...) or unknown.
    pub fn label(&self, field: CodedField, raw: &str) -> Label {
        self.seen[field as usize].get_or(raw, || self.label_uncached(field, raw))
    }

    fn label_uncached(&self, field: CodedField, raw: &str) -> Label {
        let key = vocab::normalise_label(raw);
        if self.means_not_recorded(&key) {
            return Label::NotRecorded;
        }
        match self
            .labels
            .get(&field.label_table())
            .and_then(|t| t.get(&key))
        {
            Some(code) => Label::Code(code),
            None => Label::Unknown,
        }
    }

    /// True for an empty cell or a label meaning "not recorded".
    pub fn is_not_recorded(&self, raw: &str) -> bool {
        // most cells of an export are empty: no lookup, no lock
        if raw.trim().is_empty() {
            return true;
        }
        self.seen_not_recorded.get_or(raw, || {
            self.means_not_recorded(&vocab::normalise_label(raw))
        })
    }

    /// Whether a normalised label means "not recorded".
    fn means_not_recorded(&self, key: &str) -> bool {
        key.is_empty() || self.not_recorded.contains(key)
    }

    pub fn type_name(&self, id: u8) -> Option<&str> {
        self.types
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.as_str())
    }
}

fn validate_typology(t: &TypologyFile) -> std::result::Result<(), String> {
    let ids: Vec<u8> = t.types.iter().map(|t| t.id).collect();
    if ids != (1..=25).collect::<Vec<u8>>() {
        return Err("typology must list types 1 to 25 in order".into());
    }
    for ty in &t.types {
        if !["sex", "labor", "sex_and_labor"].contains(&ty.form.as_str()) {
            return Err(format!(
                "type {}: form '{}' is not sex, labor or sex_and_labor",
                ty.id, ty.form
            ));
        }
    }
    let codes: Vec<&str> = t.extensions.iter().map(|e| e.code.as_str()).collect();
    if codes != vocab::EXTENSION_CATEGORIES {
        return Err(format!(
            "extension categories must be exactly {:?}",
            vocab::EXTENSION_CATEGORIES
        ));
    }
    Ok(())
}

fn compile_phrases(
    terms: &[String],
    whose: &str,
    lang: Option<&str>,
) -> std::result::Result<Vec<Phrase>, String> {
    let language = lang.and_then(|l| vocab::STEM_LANGUAGES.iter().position(|x| *x == l));
    terms
        .iter()
        .map(|p| {
            let words = vocab::venue_words(p);
            if words.is_empty() {
                return Err(format!("{whose}: phrase '{p}' has no words"));
            }
            // a Snowball stem of under four letters ("casarse" → "cas", the
            // stem of "casa") says too little to match other word forms on
            let snowball = language
                .map(|l| (l, vocab::snowball_stems(&words, l)))
                .filter(|(_, stems)| {
                    words
                        .iter()
                        .zip(stems)
                        .all(|(w, s)| w.chars().count() < 4 || s.chars().count() >= 4)
                });
            Ok(Phrase {
                text: p.clone(),
                tokens: words.iter().map(|w| vocab::stem(w)).collect(),
                snowball,
            })
        })
        .collect()
}

fn compile_rule(
    def: RuleDef,
    typology: &TypologyFile,
    concepts: &[Concept],
) -> std::result::Result<Rule, String> {
    let id = def.id;
    let target = match (def.typology, def.extension.as_deref()) {
        (Some(n), None) if typology.types.iter().any(|t| t.id == n) => Target::Typology(n),
        (Some(n), None) => {
            return Err(format!("rule '{id}': typology {n} is not between 1 and 25"));
        }
        (None, Some(code)) => Target::Extension(
            intern(vocab::EXTENSION_CATEGORIES, code)
                .ok_or_else(|| format!("rule '{id}': unknown extension category '{code}'"))?,
        ),
        _ => {
            return Err(format!(
                "rule '{id}': give exactly one of `typology` or `extension`"
            ));
        }
    };
    let confidence = intern(vocab::CONFIDENCES, &def.confidence).ok_or_else(|| {
        format!(
            "rule '{id}': confidence '{}' is not high, medium or low",
            def.confidence
        )
    })?;
    let forms = def
        .forms
        .iter()
        .map(|f| {
            intern(vocab::TRAFFICKING_FORMS, f)
                .ok_or_else(|| format!("rule '{id}': unknown form '{f}'"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let sectors = def
        .sectors
        .iter()
        .map(|s| {
            intern(vocab::SECTORS, s).ok_or_else(|| format!("rule '{id}': unknown sector '{s}'"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let phrases = compile_phrases(&def.phrases, &format!("rule '{id}'"), def.lang.as_deref())?;
    let rule_concepts = def
        .concepts
        .iter()
        .map(|c| {
            concepts.iter().position(|k| k.id == *c).ok_or_else(|| {
                format!("rule '{id}': no concept '{c}' (define it with [[concept]])")
            })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if sectors.is_empty() && phrases.is_empty() && rule_concepts.is_empty() {
        return Err(format!(
            "rule '{id}': give `sectors`, `phrases` or `concepts`"
        ));
    }
    let _ = def.note;
    Ok(Rule {
        id,
        target,
        confidence,
        forms,
        sectors,
        phrases,
        concepts: rule_concepts,
        lang: def.lang,
    })
}

#[cfg(test)]
mod tests {
    use super::Rules;

    /// The remembered answer is the computed one: asked twice (the second
    /// time from memory) and in every spelling the labels table normalises.
    #[test]
    fn not_recorded_is_answered_the_same_from_memory() {
        let rules = Rules::default_rules().unwrap();
        let cases = [
            ("", true),
            ("   ", true),
            ("\t", true),
            ("Unknown", true),
            ("  UNKNOWN ", true),
            ("NotSpecified", true),
            ("n/a", true),
            ("t", false),
            ("recruiter", false),
            ("0", false),
            ("Unknownish", false),
        ];
        for _ in 0..2 {
            for (raw, expected) in cases {
                assert_eq!(rules.is_not_recorded(raw), expected, "{raw:?}");
            }
        }
    }
}
