//! The mapping file: a declarative TOML description of how one export layout
//! becomes the canonical layout. Adding a hotline's layout means writing one
//! of these, never code. `docs/mapping.md` documents every key.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::base::schema::INPUT_COLUMNS;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    pub layout: LayoutSpec,
    /// Canonical field → the same value for every row (e.g. the reporting
    /// country of a hotline's export).
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    /// Source columns that are deliberately never read. Only these are
    /// exempt from the personal-data guard.
    #[serde(default)]
    pub drop: Vec<String>,
    /// Canonical field → how to fill it from the source row.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Language of the labels: `en`, `es`, `fr`, or `mixed`. Labels are
    /// looked up in the mapping's own value maps first, then in the
    /// multilingual label tables of the rules file.
    #[serde(default = "default_language")]
    pub language: String,
    /// What to do with source columns that are neither mapped nor dropped:
    /// `refuse` (the default: the file is refused, naming them) or `ignore`
    /// (not read, but still screened by the personal-data guard).
    #[serde(default)]
    pub unlisted_columns: Unlisted,
    /// Field delimiter of text exports; sniffed from the header when absent.
    pub delimiter: Option<String>,
    /// Text encoding (`utf-8`, `windows-1252`, `latin1`, ...); detected
    /// when absent.
    pub encoding: Option<String>,
    /// Worksheet of an XLSX export; the first sheet when absent.
    pub sheet: Option<String>,
}

fn default_language() -> String {
    "mixed".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unlisted {
    #[default]
    Refuse,
    Ignore,
}

/// A value-map target: one label, or several for a multi-valued field.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Target {
    One(String),
    Many(Vec<String>),
}

impl Target {
    pub fn values(&self) -> Vec<&str> {
        match self {
            Target::One(v) => vec![v.as_str()],
            Target::Many(vs) => vs.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// One source column (renamed into this field).
    pub column: Option<String>,
    /// Several source columns whose values are united (multi-valued fields).
    #[serde(default)]
    pub columns: Vec<String>,
    /// Separator(s) that join several values in one cell, e.g. `[";", ","]`.
    /// Multi-valued fields split on `;` when absent.
    #[serde(default)]
    pub split: Vec<String>,
    /// Source label → canonical label(s). Keys are compared after case,
    /// accent and punctuation folding. `""` means "not recorded".
    #[serde(default)]
    pub values: BTreeMap<String, Target>,
    /// Flag columns (1 / 0 / blank) → the value(s) a `1` contributes. `""`
    /// marks a "not specified" flag that contributes nothing.
    #[serde(default)]
    pub flags: BTreeMap<String, Target>,
    /// Prepended to every key of `flags` (CTDC's `typeOfLabour…`).
    #[serde(default)]
    pub flag_prefix: String,
    /// For a single-valued field fed several values: `"a+b" = "c"` turns the
    /// set {a, b} into c (e.g. sex + labor → sex_and_labor).
    #[serde(default)]
    pub combine: BTreeMap<String, String>,
    /// For a single-valued field fed several values: keep the first of
    /// these that is present.
    #[serde(default)]
    pub priority: Vec<String>,
    /// Date formats (chrono `strftime` syntax) for `year` and `month` taken
    /// from a date column. ISO `YYYY-MM-DD` is always accepted.
    #[serde(default)]
    pub date: Vec<String>,
    /// For a single-valued field fed several values, keep the first one
    /// listed (e.g. the first of several citizenships) instead of refusing.
    #[serde(default)]
    pub keep_first: bool,
    /// Value used when the source cell is empty.
    pub default: Option<String>,
    /// `file-row` makes an opaque record id from the file's hash and the row
    /// number (for layouts such as CTDC that have no id).
    pub generate: Option<String>,
    /// Kinds of personal data whose *shape* this field's columns may carry
    /// (`phone`, `date`, `identity`, `email`, `name`, `address`,
    /// `narrative`): a period such as 2014-2018 looks like a phone number.
    /// Every other kind is still screened. Needs `allow_why`.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Why the kinds in `allow` are not personal data here; recorded in the
    /// store's manifest and printed by every ingest.
    pub allow_why: Option<String>,
}

impl FieldSpec {
    /// Every source column this field reads.
    pub fn source_columns(&self) -> Vec<String> {
        let mut out: Vec<String> = self.column.iter().cloned().collect();
        out.extend(self.columns.iter().cloned());
        out.extend(
            self.flags
                .keys()
                .map(|k| format!("{}{}", self.flag_prefix, k)),
        );
        out
    }
}

const LANGUAGES: &[&str] = &["en", "es", "fr", "mixed"];
const GENERATORS: &[&str] = &["file-row"];

impl MappingSpec {
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let spec: MappingSpec = toml::from_str(text)
            .map_err(|e| Error::bad_input(origin, format!("not a valid mapping file: {e}")))?;
        spec.check(origin)?;
        Ok(spec)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::bad_input(path, format!("cannot read the mapping file: {e}")))?;
        Self::parse(&text, path)
    }

    /// Mistakes a reviewer would otherwise only find on real data.
    fn check(&self, origin: &Path) -> Result<()> {
        let bad = |m: String| Err(Error::bad_input(origin, m));
        if !LANGUAGES.contains(&self.layout.language.as_str()) {
            return bad(format!(
                "[layout] language '{}' is not one of {}",
                self.layout.language,
                LANGUAGES.join(", ")
            ));
        }
        for name in self.constants.keys().chain(self.fields.keys()) {
            if !INPUT_COLUMNS.contains(&name.as_str()) {
                return bad(format!(
                    "'{name}' is not a canonical field (one of {})",
                    INPUT_COLUMNS.join(", ")
                ));
            }
        }
        for name in self.constants.keys() {
            if self.fields.contains_key(name) {
                return bad(format!(
                    "'{name}' is both a constant and a mapped field; keep one"
                ));
            }
        }
        for (name, field) in &self.fields {
            let sources = usize::from(field.column.is_some())
                + usize::from(!field.columns.is_empty())
                + usize::from(!field.flags.is_empty())
                + usize::from(field.generate.is_some());
            if sources != 1 {
                return bad(format!(
                    "[fields.{name}] needs exactly one of `column`, `columns`, `flags` or `generate`"
                ));
            }
            if let Some(g) = &field.generate
                && (name != "record_id" || !GENERATORS.contains(&g.as_str()))
            {
                return bad(format!(
                    "[fields.{name}] generate = '{g}': only record_id can be generated, with 'file-row'"
                ));
            }
            if !field.date.is_empty() && name != "year" && name != "month" {
                return bad(format!(
                    "[fields.{name}] `date` applies to year and month only"
                ));
            }
            for kind in &field.allow {
                if crate::input::guard::Kind::from_key(kind).is_none() {
                    return bad(format!(
                        "[fields.{name}] allow = '{kind}': not a kind the guard screens for (one of {})",
                        crate::input::guard::Kind::ALL.map(|k| k.key()).join(", ")
                    ));
                }
            }
            if !field.allow.is_empty()
                && field
                    .allow_why
                    .as_deref()
                    .is_none_or(|w| w.trim().is_empty())
            {
                return bad(format!(
                    "[fields.{name}] allow needs allow_why: say why these values are not personal data"
                ));
            }
            for column in field.source_columns() {
                if self.drop.contains(&column) {
                    return bad(format!(
                        "column '{column}' is both dropped and read by [fields.{name}]"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Source columns the mapping parses as dates: the guard lets them hold
    /// exact dates, since only the year and month are kept.
    pub fn date_columns(&self) -> Vec<String> {
        self.fields
            .values()
            .filter(|f| !f.date.is_empty())
            .flat_map(FieldSpec::source_columns)
            .collect()
    }

    /// What the personal-data guard lets through each column, by the
    /// fields' `allow`.
    pub fn allowances(&self) -> Vec<crate::input::guard::Allowance> {
        self.fields
            .values()
            .filter(|f| !f.allow.is_empty())
            .flat_map(|f| {
                let kinds: Vec<_> = f
                    .allow
                    .iter()
                    .filter_map(|k| crate::input::guard::Kind::from_key(k))
                    .collect();
                let why = f.allow_why.clone().unwrap_or_default();
                f.source_columns()
                    .into_iter()
                    .map(move |column| crate::input::guard::Allowance {
                        column,
                        kinds: kinds.clone(),
                        why: why.clone(),
                    })
            })
            .collect()
    }

    /// Every source column some field reads, in a stable order.
    pub fn read_columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        for field in self.fields.values() {
            for c in field.source_columns() {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }
}
