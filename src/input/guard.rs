//! The personal-data guard. Before anything from a file is stored, every
//! column that is not explicitly dropped is screened, by its name and by its
//! values, for names, e-mail addresses, phone numbers, street addresses,
//! exact dates (of birth), identity document numbers and free-text
//! narratives. Any finding stops the ingest with a report of which columns
//! matched and how many values; the values themselves are never printed,
//! since printing them would leak what the guard exists to stop.
//!
//! The shapes are in `guard/patterns.rs` (English, Spanish and French, on
//! NFKC-normalised text), names judged in context in `guard/names.rs` with
//! word lists from `rules/personal_data.toml`. The same screen masks what
//! the quarantine would otherwise hold verbatim ([`masked`]): rows that fail
//! before they become cells never pass the file's screen.

mod names;
mod patterns;

use std::borrow::Cow;
use std::collections::BTreeMap;

// Looked up for every cell of every row: foldhash, not SipHash.
use foldhash::HashMap;
use std::fmt;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use crate::base::vocab::normalise_label;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    PersonName,
    Email,
    Phone,
    StreetAddress,
    ExactDate,
    IdentityNumber,
    Narrative,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::PersonName => "person names",
            Kind::Email => "e-mail addresses",
            Kind::Phone => "phone numbers",
            Kind::StreetAddress => "street addresses",
            Kind::ExactDate => "exact dates (such as dates of birth)",
            Kind::IdentityNumber => "identity document numbers",
            Kind::Narrative => "free-text narratives",
        })
    }
}

impl Kind {
    /// The name a mapping's `allow` uses for the kind.
    pub fn key(self) -> &'static str {
        match self {
            Kind::PersonName => "name",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::StreetAddress => "address",
            Kind::ExactDate => "date",
            Kind::IdentityNumber => "identity",
            Kind::Narrative => "narrative",
        }
    }

    /// Every kind, in the order messages list them.
    pub const ALL: [Kind; 7] = [
        Kind::PersonName,
        Kind::Email,
        Kind::Phone,
        Kind::StreetAddress,
        Kind::ExactDate,
        Kind::IdentityNumber,
        Kind::Narrative,
    ];

    /// The kind a mapping's `allow` names (`phone`, `date`, ...).
    pub fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// Kinds whose values are digits in a layout: their shape (`9999-9999`)
    /// says what was flagged without saying who. A name's or an address's
    /// shape would say too much, and is never shown.
    fn has_safe_shape(self) -> bool {
        matches!(self, Kind::Phone | Kind::ExactDate | Kind::IdentityNumber)
    }

    /// One value's kind, as a masked quarantine value names it.
    pub fn singular(self) -> &'static str {
        match self {
            Kind::PersonName => "person name",
            Kind::Email => "e-mail address",
            Kind::Phone => "phone number",
            Kind::StreetAddress => "street address",
            Kind::ExactDate => "exact date",
            Kind::IdentityNumber => "identity document number",
            Kind::Narrative => "free-text narrative",
        }
    }
}

/// Words of a column name that mark personal data, in English, Spanish and
/// French (compared after case and accent folding, camelCase split).
const NAME_WORDS: &[(Kind, &[&str])] = &[
    (
        Kind::PersonName,
        &[
            "name",
            "names",
            "firstname",
            "lastname",
            "surname",
            "surnames",
            "fullname",
            "forename",
            "nombre",
            "nombres",
            "apellido",
            "apellidos",
            "prenom",
            "nom",
            "alias",
            "nickname",
            "apodo",
            "caseworker",
        ],
    ),
    (Kind::Email, &["email", "e", "correo", "courriel", "mail"]),
    (
        Kind::Phone,
        &[
            "phone",
            "telephone",
            "telefono",
            "tel",
            "mobile",
            "movil",
            "celular",
            "cell",
            "portable",
            "whatsapp",
        ],
    ),
    (
        Kind::StreetAddress,
        &[
            "address",
            "street",
            "direccion",
            "domicilio",
            "calle",
            "adresse",
            "rue",
            "postal",
            "postcode",
            "zip",
            "zipcode",
            "mailing",
            "latitude",
            "longitude",
            "geolocation",
        ],
    ),
    (
        Kind::ExactDate,
        &[
            "birth",
            "birthdate",
            "birthday",
            "dob",
            "nacimiento",
            "naissance",
            "born",
        ],
    ),
    (
        Kind::IdentityNumber,
        &[
            "passport",
            "pasaporte",
            "passeport",
            "ssn",
            "dni",
            "curp",
            "nin",
            "cedula",
            "identity",
            "identification",
            "identidad",
            "identite",
            "nss",
        ],
    ),
    (
        Kind::Narrative,
        &[
            "note",
            "notes",
            "narrative",
            "comment",
            "comments",
            "comentario",
            "comentarios",
            "observacion",
            "observaciones",
            "description",
            "descripcion",
            "details",
            "detalles",
            "story",
            "relato",
            "remarks",
            "remarques",
            "commentaire",
            "commentaires",
            "summary",
            "resumen",
        ],
    ),
];

/// Words that make a "name" column an organisation's, not a person's.
const ORGANISATION_WORDS: &[&str] = &[
    "org",
    "organisation",
    "organization",
    "organizacion",
    "agency",
    "source",
    "typology",
    "venue",
    "file",
    "sheet",
];

/// Long free text: more than this many characters or words.
const NARRATIVE_CHARS: usize = 200;
const NARRATIVE_WORDS: usize = 25;

/// What a column's name says, if it marks personal data.
pub fn kind_of_column_name(name: &str) -> Option<Kind> {
    let normalised = normalise_label(name);
    let words: Vec<&str> = normalised.split(' ').collect();
    for (kind, markers) in NAME_WORDS {
        if *kind == Kind::PersonName && words.iter().any(|w| ORGANISATION_WORDS.contains(w)) {
            continue;
        }
        // "e mail" splits into two words; a lone "e" means nothing
        if *kind == Kind::Email {
            if words.windows(2).any(|p| p == ["e", "mail"])
                || words
                    .iter()
                    .any(|w| ["email", "correo", "courriel"].contains(w))
            {
                return Some(Kind::Email);
            }
            continue;
        }
        if words.iter().any(|w| markers.contains(w)) {
            return Some(*kind);
        }
    }
    // "id number", "numero de documento"
    let has = |w: &str| words.contains(&w);
    if (has("id") || has("document") || has("documento"))
        && (has("number") || has("numero") || has("no"))
    {
        return Some(Kind::IdentityNumber);
    }
    None
}

/// Compiles the value patterns now, on two threads, rather than one at a
/// time when the first rows need them.
pub fn compile_patterns() {
    patterns::compile_all();
}

/// What a value looks like, if it looks like personal data. `dates_allowed`
/// is set for columns the mapping parses as dates (a referral date is not
/// personal; the year and month are all that is kept), but a date that
/// says it is a birth date never passes.
pub fn kind_of_value(value: &str, dates_allowed: bool) -> Option<Kind> {
    let v = value.trim();
    if v.len() < 6 {
        return None;
    }
    if v.chars().count() > NARRATIVE_CHARS || v.split_whitespace().count() > NARRATIVE_WORDS {
        return Some(Kind::Narrative);
    }
    let text = nfkc(v);
    let text = text.as_ref();
    if patterns::email(text) {
        return Some(Kind::Email);
    }
    // every remaining shape but a name has a digit: most values have none
    if text.bytes().any(|b| b.is_ascii_digit()) && patterns::any_digit_shape(text) {
        if patterns::identity(text) {
            return Some(Kind::IdentityNumber);
        }
        if patterns::exact_date(text, dates_allowed) {
            return Some(Kind::ExactDate);
        }
        if patterns::phone(text) {
            return Some(Kind::Phone);
        }
        // an address is words and a number: an id without spaces is none
        if text.contains(char::is_whitespace) && patterns::street_address(text) {
            return Some(Kind::StreetAddress);
        }
    }
    names::person_name(text).then_some(Kind::PersonName)
}

/// NFKC form ("＠" → "@", "５５５" → "555", ligatures undone), so that no
/// look-alike character hides a shape; borrowed when the text already is.
fn nfkc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() || is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfkc().collect())
    }
}

/// A value as it may be written to the store's quarantine: unchanged, or,
/// when the screen flags it, replaced by `[masked: <kind>]`. The quarantine
/// is inside the store, so it gets the same screen as the records.
pub fn masked(value: &str, dates_allowed: bool) -> Cow<'_, str> {
    match kind_of_value(value, dates_allowed) {
        Some(kind) => Cow::Owned(format!("[masked: {}]", kind.singular())),
        None => Cow::Borrowed(value),
    }
}

/// What the guard found in one column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnFinding {
    pub column: String,
    pub by_name: Option<Kind>,
    /// Kind → (number of values, first row where one was seen).
    pub by_value: BTreeMap<Kind, (u64, u64)>,
    /// The shapes of the flagged values of kinds that are digits in a
    /// layout (`9999-9999` → count), never the values; the
    /// [`SHAPES_SHOWN`] first in text order.
    pub shapes: BTreeMap<String, u64>,
}

impl ColumnFinding {
    /// Counts `n` more values of `shape`, keeping the [`SHAPES_SHOWN`]
    /// first shapes in text order. The first in order, not the first seen:
    /// each screening thread sees other rows, so "the first five seen" gave
    /// other shapes, and other counts, from run to run of the same file (a
    /// review had four messages in four runs). A shape among the first five
    /// of the file is among the first five of every thread that sees it, so
    /// it is kept from its first value on, and counted whole.
    fn count_shape(&mut self, shape: String, n: u64) {
        if let Some(count) = self.shapes.get_mut(&shape) {
            *count += n;
            return;
        }
        self.shapes.insert(shape, n);
        if self.shapes.len() > SHAPES_SHOWN {
            self.shapes.pop_last();
        }
    }
}

/// How many distinct shapes of flagged values a finding keeps.
const SHAPES_SHOWN: usize = 5;

/// A value's shape: digits as 9, letters as a, everything else as is.
pub fn shape_of(value: &str) -> String {
    value
        .trim()
        .chars()
        .take(32)
        .map(|c| {
            if c.is_ascii_digit() {
                '9'
            } else if c.is_alphabetic() {
                'a'
            } else {
                c
            }
        })
        .collect()
}

/// Values a mapping allows in a column: the kinds it may carry, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    pub column: String,
    pub kinds: Vec<Kind>,
    pub why: String,
}

pub use crate::store::manifest::Allowed;

impl fmt::Display for ColumnFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "  column '{}':", self.column)?;
        let mut parts = Vec::new();
        if let Some(kind) = self.by_name {
            parts.push(format!("its name suggests {kind}"));
        }
        for (kind, (n, row)) in &self.by_value {
            parts.push(format!(
                "{n} value(s) look like {kind} (first at row {row})"
            ));
        }
        if !self.shapes.is_empty() {
            let shapes: Vec<String> = self
                .shapes
                .iter()
                .map(|(shape, n)| format!("{shape} × {n}"))
                .collect();
            parts.push(format!("shaped {}", shapes.join(", ")));
        }
        write!(f, " {}", parts.join("; "))
    }
}

/// The guard's findings for one file; empty when nothing was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub columns: Vec<ColumnFinding>,
    /// What the mapping's allowances let through (not findings).
    pub allowed: Vec<Allowed>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.columns.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "personal data found; nothing was stored. Remove these columns from the export, or list them under `drop` in a mapping file (--mapping) so they are never read; a column whose values only look like one kind (periods such as 2014-2018 read as phone numbers) can allow it in its mapping field: `allow = [\"phone\"]` with `allow_why = \"...\"` (the other kinds are still screened):"
        )?;
        for c in &self.columns {
            writeln!(f, "{c}")?;
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Screened {
    index: usize,
    dates_allowed: bool,
    /// Kinds the mapping lets through in this column, and why.
    allowed: Option<(Vec<Kind>, String)>,
    /// Values of each allowed kind let through.
    let_through: BTreeMap<Kind, u64>,
    finding: ColumnFinding,
    /// Distinct values already judged; exports repeat the same labels.
    seen: HashMap<String, Option<Kind>>,
}

/// Bounds the memory the per-column value cache may take.
const CACHE_LIMIT: usize = 4096;

/// Cloned for each thread that screens part of a file; [`Guard::merge`]
/// then adds up what the parts found.
#[derive(Clone)]
pub struct Guard {
    columns: Vec<Screened>,
}

impl Guard {
    /// Screens every column of `header` except `dropped` ones. Columns in
    /// `date_columns` may hold dates.
    pub fn new(header: &[String], dropped: &[String], date_columns: &[String]) -> Self {
        Self::allowing(header, dropped, date_columns, &[])
    }

    /// [`Guard::new`], with the kinds each allowance lets through its
    /// column counted rather than refused. Every other kind is screened
    /// there as anywhere.
    pub fn allowing(
        header: &[String],
        dropped: &[String],
        date_columns: &[String],
        allowances: &[Allowance],
    ) -> Self {
        let columns = header
            .iter()
            .enumerate()
            .filter(|(_, name)| !dropped.contains(name))
            .map(|(index, name)| {
                let allowed = allowances
                    .iter()
                    .find(|a| &a.column == name)
                    .map(|a| (a.kinds.clone(), a.why.clone()));
                let by_name = kind_of_column_name(name)
                    .filter(|k| !allowed.as_ref().is_some_and(|(kinds, _)| kinds.contains(k)));
                Screened {
                    index,
                    dates_allowed: date_columns.contains(name),
                    allowed,
                    let_through: BTreeMap::new(),
                    finding: ColumnFinding {
                        column: if name.is_empty() {
                            format!("(unnamed column {})", index + 1)
                        } else {
                            name.clone()
                        },
                        by_name,
                        by_value: BTreeMap::new(),
                        shapes: BTreeMap::new(),
                    },
                    seen: HashMap::default(),
                }
            })
            .collect();
        Guard { columns }
    }

    pub fn scan(&mut self, row: u64, cells: &[&str]) {
        for c in &mut self.columns {
            let Some(&value) = cells.get(c.index) else {
                continue;
            };
            if value.len() < 6 {
                continue;
            }
            let kind = match c.seen.get(value) {
                Some(k) => *k,
                None => {
                    let k = kind_of_value(value, c.dates_allowed);
                    if c.seen.len() < CACHE_LIMIT {
                        c.seen.insert(value.to_string(), k);
                    }
                    k
                }
            };
            let Some(kind) = kind else {
                continue;
            };
            if c.allowed
                .as_ref()
                .is_some_and(|(kinds, _)| kinds.contains(&kind))
            {
                *c.let_through.entry(kind).or_default() += 1;
                continue;
            }
            let entry = c.finding.by_value.entry(kind).or_insert((0, row));
            entry.0 += 1;
            if kind.has_safe_shape() {
                c.finding.count_shape(shape_of(value), 1);
            }
        }
    }

    /// Adds what `other`, screening other rows of the same file, found.
    pub fn merge(&mut self, other: Guard) {
        for (mine, theirs) in self.columns.iter_mut().zip(other.columns) {
            debug_assert_eq!(mine.index, theirs.index);
            for (kind, (count, first_row)) in theirs.finding.by_value {
                let entry = mine.finding.by_value.entry(kind).or_insert((0, first_row));
                entry.0 += count;
                entry.1 = entry.1.min(first_row);
            }
            for (shape, count) in theirs.finding.shapes {
                mine.finding.count_shape(shape, count);
            }
            for (kind, count) in theirs.let_through {
                *mine.let_through.entry(kind).or_default() += count;
            }
        }
    }

    pub fn finish(self) -> Report {
        let mut allowed = Vec::new();
        let mut columns = Vec::new();
        for c in self.columns {
            if let Some((_, why)) = &c.allowed {
                for (kind, values) in &c.let_through {
                    allowed.push(Allowed {
                        column: c.finding.column.clone(),
                        kind: kind.key().to_string(),
                        values: *values,
                        why: why.clone(),
                    });
                }
            }
            let f = c.finding;
            if f.by_name.is_some() || !f.by_value.is_empty() {
                columns.push(f);
            }
        }
        Report { columns, allowed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names() {
        for (name, kind) in [
            ("prs_FirstName", Kind::PersonName),
            ("Nombre completo", Kind::PersonName),
            ("prénom", Kind::PersonName),
            ("E-mail", Kind::Email),
            ("correo_electronico", Kind::Email),
            ("prs_MobilePhone", Kind::Phone),
            ("Teléfono", Kind::Phone),
            ("prs_MailingStreet", Kind::StreetAddress),
            ("Dirección", Kind::StreetAddress),
            ("fecha_nacimiento", Kind::ExactDate),
            ("DOB", Kind::ExactDate),
            ("passport_no", Kind::IdentityNumber),
            ("ID number", Kind::IdentityNumber),
            ("CURP", Kind::IdentityNumber),
            ("case_notes", Kind::Narrative),
            ("Observaciones", Kind::Narrative),
        ] {
            assert_eq!(kind_of_column_name(name), Some(kind), "{name}");
        }
        for name in crate::base::schema::INPUT_COLUMNS {
            assert_eq!(kind_of_column_name(name), None, "{name}");
        }
        for name in [
            "org_Name",
            "typology_name",
            "yearOfRegistration",
            "meansOfControlThreats",
            "hte_Country",
            "Datasource",
        ] {
            assert_eq!(kind_of_column_name(name), None, "{name}");
        }
    }

    #[test]
    fn values() {
        for (value, kind) in [
            ("maria.lopez@example.org", Kind::Email),
            ("+52 55 1234 5678", Kind::Phone),
            ("(555) 123-4567", Kind::Phone),
            ("123-45-6789", Kind::IdentityNumber),
            ("GOLM800101MDFRPR09", Kind::IdentityNumber),
            ("1984-03-12", Kind::ExactDate),
            ("12/03/1984", Kind::ExactDate),
            ("1200 Main Street", Kind::StreetAddress),
            ("Calle Hidalgo 45", Kind::StreetAddress),
            ("15 rue de la Paix", Kind::StreetAddress),
            ("Maria Guadalupe Torres", Kind::PersonName),
            ("Jean Tremblay", Kind::PersonName),
        ] {
            assert_eq!(kind_of_value(value, false), Some(kind), "{value}");
        }
        let story = "She was promised a job in a restaurant and then taken to a house where she was kept for months without pay and threatened every day";
        assert_eq!(kind_of_value(story, false), Some(Kind::Narrative));
        for value in [
            "massage parlor",
            "hotel/motel",
            "narcomenudeo",
            "US-2019-000123",
            "MX-0000001",
            "debt_bondage;threats",
            "2019",
            "18-20",
            "Casa de citas",
            "Grace Church",
            "agriculture",
            "ctdc-3f9a1c2b4d5e-0000123",
            "sex_and_labor",
        ] {
            assert_eq!(kind_of_value(value, false), None, "{value}");
        }
        assert_eq!(kind_of_value("2019-03-12", true), None);
        assert_eq!(kind_of_value("March 12, 2019", true), None);
        assert_eq!(kind_of_value("DOB 1984-03-12", true), Some(Kind::ExactDate));
    }

    #[test]
    fn the_issue_findings() {
        for (value, kind) in [
            ("met John Smith at Motel 6", Kind::PersonName),
            ("JOHN SMITH", Kind::PersonName),
            ("Smith, John", Kind::PersonName),
            ("555.123.4567", Kind::Phone),
            ("5551234567", Kind::Phone),
            ("call 555-123-4567 ask for Rosa", Kind::Phone),
            ("rosa[at]example.org", Kind::Email),
            ("rosa(at)example.org", Kind::Email),
            ("rosa at example dot org", Kind::Email),
            ("rosa＠example.org", Kind::Email),
            ("Main Street 1200", Kind::StreetAddress),
            ("PO Box 1234", Kind::StreetAddress),
            ("DOB 1984-03-12", Kind::ExactDate),
            ("born 12/03/1984", Kind::ExactDate),
            ("March 12, 1984", Kind::ExactDate),
            ("SSN 123-45-6789", Kind::IdentityNumber),
            ("passport X1234567", Kind::IdentityNumber),
        ] {
            assert_eq!(kind_of_value(value, false), Some(kind), "{value}");
        }
        for venue in [
            "Lisa Nails",
            "Linda Nail Spa",
            "Rosa Blanca Bar",
            "Maria Bonita Restaurant",
            "Sofia Spa",
            "Jean Coutu Pharmacy",
            "truck stop near 99 Highway",
            "US-0000012345",
            "2014-2018",
            "2019000123",
        ] {
            assert_eq!(kind_of_value(venue, false), None, "{venue}");
        }
    }

    #[test]
    fn quarantine_values_are_masked_with_their_kind() {
        assert_eq!(masked("call 555-123-4567", false), "[masked: phone number]");
        assert_eq!(
            masked("{\"a\": \"x@example.org\"}", false),
            "[masked: e-mail address]"
        );
        assert_eq!(masked("caf\u{fffd}", false), "caf\u{fffd}");
        assert_eq!(masked("31/02/2020", true), "31/02/2020");
    }

    #[test]
    fn report_counts_without_values() {
        let header = vec![
            "record_id".to_string(),
            "venue".to_string(),
            "contact".to_string(),
        ];
        let mut guard = Guard::new(&header, &[], &[]);
        guard.scan(2, &["a", "bar", "x@example.com"]);
        guard.scan(3, &["b", "bar", "y@example.com"]);
        let report = guard.finish();
        assert_eq!(report.columns.len(), 1);
        let text = report.to_string();
        assert!(
            text.contains("'contact': 2 value(s) look like e-mail addresses (first at row 2)"),
            "{text}"
        );
        assert!(!text.contains("example.com"));
        let mut dropped = Guard::new(&header, &["contact".to_string()], &[]);
        dropped.scan(2, &["a", "bar", "x@example.com"]);
        assert!(dropped.finish().is_clean());
    }

    #[test]
    fn merged_parts_report_like_one_pass() {
        let header = vec!["record_id".to_string(), "contact".to_string()];
        let rows: Vec<(u64, [&str; 2])> = vec![
            (2, ["a", "bar"]),
            (3, ["b", "x@example.com"]),
            (4, ["c", "+1 555 123 4567"]),
            (5, ["d", "y@example.com"]),
        ];
        let scan = |part: &[(u64, [&str; 2])]| {
            let mut guard = Guard::new(&header, &[], &[]);
            for (row, cells) in part {
                guard.scan(*row, cells);
            }
            guard
        };
        let whole = scan(&rows).finish();
        // the later rows screened first, as a worker thread may
        let mut merged = scan(&rows[2..]);
        merged.merge(scan(&rows[..2]));
        assert_eq!(merged.finish(), whole);
        assert_eq!(
            whole.columns[0].by_value.get(&Kind::Email),
            Some(&(2, 3)),
            "two e-mail addresses, the first at row 3"
        );
    }

    #[test]
    fn an_allowance_lets_its_kind_through_its_column_and_nothing_else() {
        let header: Vec<String> = ["line", "venue"].map(String::from).to_vec();
        let allow = [Allowance {
            column: "line".into(),
            kinds: vec![Kind::Phone],
            why: "the public number of the hotline that took the call".into(),
        }];
        let mut guard = Guard::allowing(&header, &[], &[], &allow);
        assert_eq!(kind_of_value("800 555 0199", false), Some(Kind::Phone));
        guard.scan(1, &["800 555 0199", "bar"]);
        guard.scan(2, &["800 555 0100", "bar"]);
        let report = guard.clone().finish();
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.allowed.len(), 1);
        assert_eq!(
            (report.allowed[0].kind.as_str(), report.allowed[0].values),
            ("phone", 2)
        );
        // an e-mail in the allowed column, and a phone number in the venue,
        // are still found; the finding shows the shape, not the value
        guard.scan(3, &["ana.perez@example.org", "call 555-0134"]);
        let report = guard.finish();
        let text = report.to_string();
        assert_eq!(report.columns.len(), 2, "{text}");
        assert!(
            text.contains("column 'line'") && text.contains("e-mail"),
            "{text}"
        );
        assert!(text.contains("aaaa 999-9999 × 1"), "{text}");
        assert!(
            !text.contains("555-0134") && !text.contains("ana.perez"),
            "{text}"
        );
        assert!(text.contains("allow = [\"phone\"]"), "{text}");
    }

    /// The shapes a finding keeps, and their counts, are the same however
    /// the rows were shared out between the screening threads.
    #[test]
    fn the_shapes_kept_do_not_depend_on_which_thread_saw_which_rows() {
        let shapes: Vec<String> = (1..=12)
            .map(|i| format!("{}-9999", "9".repeat(i)))
            .collect();
        let finding_of = |parts: &[Vec<String>]| {
            let mut merged = ColumnFinding::default();
            for part in parts {
                let mut one = ColumnFinding::default();
                for shape in part {
                    one.count_shape(shape.clone(), 1);
                }
                for (shape, n) in one.shapes {
                    merged.count_shape(shape, n);
                }
            }
            merged.shapes
        };
        let evens: Vec<String> = shapes.iter().step_by(2).cloned().collect();
        let odds: Vec<String> = shapes.iter().skip(1).step_by(2).cloned().collect();
        let reversed: Vec<String> = shapes.iter().rev().cloned().collect();
        let whole = finding_of(std::slice::from_ref(&shapes));
        assert_eq!(whole.len(), SHAPES_SHOWN);
        assert_eq!(finding_of(&[evens.clone(), odds.clone()]), whole);
        assert_eq!(finding_of(&[odds, evens]), whole);
        assert_eq!(finding_of(&[reversed]), whole);
    }

    #[test]
    fn shapes_keep_the_layout_and_drop_the_digits() {
        assert_eq!(shape_of(" 2014-2018 "), "9999-9999");
        assert_eq!(shape_of("+52 55 1234 5678"), "+99 99 9999 9999");
        assert_eq!(shape_of("AB123456"), "aa999999");
    }
}
