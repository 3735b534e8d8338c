//! Validation of one input row in the canonical layout. A row either becomes
//! a `CaseRecord` or yields the list of problems that send it to quarantine,
//! each naming the column, the value and the reason.

use crate::base::countries;
use crate::base::places::{self, Place};
use crate::base::record::{CaseRecord, Code, Codes, Perpetrators};
use crate::base::remembered::Remembered;
use crate::base::schema::INPUT_COLUMNS;
use crate::base::vocab::{self, CodedField};
use crate::classify::rules::{Label, Rules};

const NOT_A_PLACE: &str = "not a country (ISO 3166-1 alpha-2 or alpha-3 code, or an English, Spanish or French name) nor a UN M49 region";

/// One reason a row cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub column: String,
    pub value: String,
    pub reason: String,
}

impl Problem {
    pub fn new(column: &str, value: &str, reason: impl Into<String>) -> Self {
        Problem {
            column: column.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Where each canonical column sits in the input's header.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    positions: Vec<Option<usize>>,
}

impl ColumnMap {
    /// Maps a header to canonical columns. Fails with the names of required
    /// columns that are missing, or of columns the layout does not know (an
    /// unknown column could carry personal data and is never dropped
    /// silently), or of duplicated names.
    pub fn from_header(header: &[String]) -> Result<Self, String> {
        let mut seen = std::collections::HashSet::new();
        for name in header {
            if !seen.insert(name.as_str()) {
                return Err(format!("column '{name}' appears twice in the header"));
            }
        }
        if let Some(count) = header
            .iter()
            .find(|h| crate::input::mapping::is_count_column(h))
        {
            return Err(format!(
                "column '{count}' looks like a count: this file holds aggregates (one row for many victims), not case records. Published aggregates are kept beside the records with `safetynet reference import FILE --store STORE`"
            ));
        }
        let unknown: Vec<&str> = header
            .iter()
            .map(String::as_str)
            .filter(|h| !INPUT_COLUMNS.contains(h))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "unknown column(s) {} (not in the canonical layout; use --mapping for other layouts)",
                crate::base::listing::some_of(&unknown)
            ));
        }
        let missing: Vec<&str> = crate::base::schema::REQUIRED_COLUMNS
            .iter()
            .copied()
            .filter(|r| !header.iter().any(|h| h == r))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "missing required column(s): {}",
                missing.join(", ")
            ));
        }
        let positions = INPUT_COLUMNS
            .iter()
            .map(|c| header.iter().position(|h| h == c))
            .collect();
        Ok(ColumnMap { positions })
    }

    /// A row already in canonical order (the output of a mapping).
    pub fn identity() -> Self {
        ColumnMap {
            positions: (0..INPUT_COLUMNS.len()).map(Some).collect(),
        }
    }

    fn get<'a>(&self, row: &'a [&'a str], column: usize) -> &'a str {
        self.positions[column]
            .and_then(|i| row.get(i).copied())
            .unwrap_or("")
    }
}

pub struct Validator<'r> {
    rules: &'r Rules,
    current_year: i32,
    /// What each multi-valued cell's text came to, per field (indexed by
    /// `field as usize`): a list column holds few distinct texts, and
    /// splitting, looking up and ordering each cell's values anew was two
    /// fifths of validation's samples (perf, 1M records).
    lists: [Remembered<ListCell>; CodedField::ALL.len()],
}

/// A multi-valued cell, worked out: its codes in vocabulary order, and the
/// problems of its values that are not codes. Both follow from the field
/// and the text alone, so they can be remembered.
#[derive(Clone, Default)]
struct ListCell {
    codes: Option<Codes>,
    problems: Vec<Problem>,
}

/// Accepts "2019" and "2019.0" (spreadsheets turn integers into floats), and
/// nothing else.
/// The two years of a period written `YYYY-YYYY` (a hyphen, an en or em
/// dash, or a slash, spaces allowed around it).
fn split_period(raw: &str) -> Option<(i64, i64)> {
    let t = raw.trim();
    let (a, b) = t.split_once(['-', '–', '—', '/'])?;
    let year = |s: &str| {
        let s = s.trim();
        (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    Some((year(a)?, year(b)?))
}

fn parse_integer(raw: &str) -> Option<i64> {
    let t = raw.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Some(n);
    }
    let f: f64 = t.parse().ok()?;
    (f.fract() == 0.0 && f.is_finite() && f.abs() < 1e12).then_some(f as i64)
}

fn parse_bool(raw: &str) -> Option<Option<bool>> {
    match vocab::normalise_label(raw).as_str() {
        "" => Some(None),
        "true" | "1" | "yes" | "y" | "si" | "oui" | "vrai" | "verdadero" => Some(Some(true)),
        "false" | "0" | "no" | "n" | "non" | "faux" | "falso" => Some(Some(false)),
        _ => None,
    }
}

/// The CTDC band an age in whole years falls into.
pub fn age_band_of(age: i64) -> Option<&'static str> {
    Some(match age {
        0..=8 => "0-8",
        9..=17 => "9-17",
        18..=20 => "18-20",
        21..=23 => "21-23",
        24..=26 => "24-26",
        27..=29 => "27-29",
        30..=38 => "30-38",
        39..=47 => "39-47",
        48..=120 => "48+",
        _ => return None,
    })
}

fn majority_of_band(band: &str) -> &'static str {
    if band == "0-8" || band == "9-17" {
        "minor"
    } else {
        "adult"
    }
}

/// Where a canonical column sits in `INPUT_COLUMNS`, worked out while
/// compiling (see [`col!`]): looked up by name for each cell, the search
/// through the column names was a visible part of validation's own time
/// (perf annotate, 1M records).
const fn column_index(name: &str) -> usize {
    let mut i = 0;
    while i < INPUT_COLUMNS.len() {
        if same_text(INPUT_COLUMNS[i], name) {
            return i;
        }
        i += 1;
    }
    panic!("not a canonical column")
}

const fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The position of the canonical column named, as a constant: a misspelt
/// name fails the build.
macro_rules! col {
    ($name:literal) => {
        const { column_index($name) }
    };
}

impl<'r> Validator<'r> {
    pub fn new(rules: &'r Rules) -> Self {
        Validator {
            rules,
            current_year: crate::base::clock::current_year(),
            lists: Default::default(),
        }
    }

    /// Validates a row. All problems of the row are reported, not just the
    /// first, so that one pass over the quarantine shows everything to fix.
    pub fn validate(&self, columns: &ColumnMap, row: &[&str]) -> Result<CaseRecord, Vec<Problem>> {
        let mut problems = Vec::new();
        let cell = |column: usize| columns.get(row, column);
        let text = |column: usize| {
            let v = cell(column).trim();
            (!v.is_empty()).then(|| v.to_string())
        };

        let record_id = match text(col!("record_id")) {
            Some(id) if id.len() <= 128 => id,
            Some(id) => {
                problems.push(Problem::new(
                    "record_id",
                    &id,
                    "record id longer than 128 characters",
                ));
                id
            }
            None => {
                problems.push(Problem::new("record_id", "", "missing required value"));
                String::new()
            }
        };
        let case_id = text(col!("case_id")).unwrap_or_else(|| record_id.clone());

        // codes borrowed from the code table: no allocation per record
        let reporting_country: Code = match cell(col!("reporting_country")).trim() {
            "" => {
                problems.push(Problem::new(
                    "reporting_country",
                    "",
                    "missing required value",
                ));
                Code::Borrowed("")
            }
            // XX (user-assigned in ISO 3166) marks data pooled from several
            // reporting countries, such as the CTDC global dataset
            raw if raw.eq_ignore_ascii_case("XX") => Code::Borrowed("XX"),
            raw => match countries::country_code(raw) {
                Some(code) if raw.len() == 2 => Code::Borrowed(code),
                _ => {
                    problems.push(Problem::new(
                        "reporting_country",
                        raw,
                        "not an ISO 3166-1 alpha-2 country code",
                    ));
                    Code::Borrowed("")
                }
            },
        };

        let (year, period) = self.year_or_period(&mut problems, cell(col!("year")));
        let month = self.number(&mut problems, "month", cell(col!("month")), 1, 12);

        let (exploitation_country, exploitation_area) = self.place(
            &mut problems,
            "exploitation_country",
            cell(col!("exploitation_country")),
        );
        let (citizenship, citizenship_area) =
            self.place(&mut problems, "citizenship", cell(col!("citizenship")));
        let exploitation_subdivision = text(col!("exploitation_subdivision")).and_then(|raw| {
            match countries::normalise_subdivision(&raw, exploitation_country.as_deref()) {
                Ok(code) => Some(code),
                Err(reason) => {
                    problems.push(Problem::new("exploitation_subdivision", &raw, reason));
                    None
                }
            }
        });

        let gender = self.code(&mut problems, CodedField::Gender, cell(col!("gender")));
        let age_band = {
            let raw = cell(col!("age_band"));
            match parse_integer(raw) {
                Some(age) if !raw.contains('-') => match age_band_of(age) {
                    Some(band) => Some(Code::Borrowed(band)),
                    None => {
                        problems.push(Problem::new("age_band", raw, "age outside 0 to 120"));
                        None
                    }
                },
                _ => self.code(&mut problems, CodedField::AgeBand, raw),
            }
        };
        let majority_status = match (
            self.code(
                &mut problems,
                CodedField::MajorityStatus,
                cell(col!("majority_status")),
            ),
            age_band.as_deref(),
        ) {
            (Some(status), Some(band)) if status != majority_of_band(band) => {
                problems.push(Problem::new(
                    "majority_status",
                    cell(col!("majority_status")),
                    format!("contradicts age band {band}"),
                ));
                None
            }
            (Some(status), _) => Some(status),
            (None, Some(band)) => Some(Code::Borrowed(majority_of_band(band))),
            (None, None) => None,
        };

        let trafficking_form = self
            .code(
                &mut problems,
                CodedField::TraffickingForm,
                cell(col!("trafficking_form")),
            )
            .unwrap_or(Code::Borrowed("not_specified"));

        let sectors = self.list(&mut problems, CodedField::Sectors, cell(col!("sectors")));
        let recruitment_tactics = self.list(
            &mut problems,
            CodedField::RecruitmentTactics,
            cell(col!("recruitment_tactics")),
        );
        let recruiter_relations = self.list(
            &mut problems,
            CodedField::RecruiterRelations,
            cell(col!("recruiter_relations")),
        );
        let control_methods = self.list(
            &mut problems,
            CodedField::ControlMethods,
            cell(col!("control_methods")),
        );

        let abduction = self.flag(&mut problems, "abduction", cell(col!("abduction")));
        let perpetrators = self.perpetrators(&mut problems, &cell);

        // the venue is kept verbatim: the classifier and the analyst see what
        // the hotline typed
        let venue = {
            let raw = cell(col!("venue"));
            (!raw.trim().is_empty()).then(|| raw.to_string())
        };

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(CaseRecord {
            record_id,
            case_id,
            data_source: text(col!("data_source")),
            reporting_country,
            year,
            period,
            month: month.map(|m| m as i32),
            exploitation_country,
            exploitation_area,
            exploitation_subdivision,
            citizenship,
            citizenship_area,
            gender,
            age_band,
            majority_status,
            trafficking_form,
            sectors,
            venue,
            recruitment_tactics,
            recruiter_relations,
            control_methods,
            abduction,
            perpetrators,
        })
    }

    fn flag(&self, problems: &mut Vec<Problem>, column: &str, raw: &str) -> Option<bool> {
        if self.rules.is_not_recorded(raw) {
            return None; // "unknown", "no especificado", ...
        }
        parse_bool(raw).unwrap_or_else(|| {
            problems.push(Problem::new(column, raw, "not a yes/no value"));
            None
        })
    }

    /// The perpetrator fields of a row. Their citizenships are places like
    /// the victim's: a country or an M49 region.
    fn perpetrators<'a>(
        &self,
        problems: &mut Vec<Problem>,
        cell: &impl Fn(usize) -> &'a str,
    ) -> Perpetrators {
        // "unknown" is not recorded; so is 0, which registers write for a
        // case whose perpetrators they could not count
        let raw_count = cell(col!("perpetrator_count"));
        let count = if self.rules.is_not_recorded(raw_count) {
            None
        } else {
            self.number(problems, "perpetrator_count", raw_count, 0, 10_000)
                .filter(|n| *n > 0)
                .map(|n| n as i32)
        };
        let mut citizenships = Vec::new();
        for part in cell(col!("perpetrator_citizenships")).split(';') {
            if self.rules.is_not_recorded(part) {
                continue;
            }
            match places::parse(part) {
                Some(Place::Country(code)) => citizenships.push(code),
                Some(Place::Area(code)) => citizenships.push(code),
                None => problems.push(Problem::new(
                    "perpetrator_citizenships",
                    part.trim(),
                    NOT_A_PLACE,
                )),
            }
        }
        citizenships.sort();
        citizenships.dedup();
        Perpetrators {
            count,
            roles: self.list(
                problems,
                CodedField::PerpetratorRoles,
                cell(col!("perpetrator_roles")),
            ),
            genders: self.list(
                problems,
                CodedField::PerpetratorGenders,
                cell(col!("perpetrator_genders")),
            ),
            age_groups: self.list(
                problems,
                CodedField::PerpetratorAgeGroups,
                cell(col!("perpetrator_age_groups")),
            ),
            citizenships: (!citizenships.is_empty()).then_some(citizenships),
            relations: self.list(
                problems,
                CodedField::PerpetratorRelations,
                cell(col!("perpetrator_relations")),
            ),
            money_paid: self.flag(
                problems,
                "perpetrator_money_paid",
                cell(col!("perpetrator_money_paid")),
            ),
            transaction: self.flag(
                problems,
                "perpetrator_transaction",
                cell(col!("perpetrator_transaction")),
            ),
            control_abuse: self.flag(
                problems,
                "perpetrator_control_abuse",
                cell(col!("perpetrator_control_abuse")),
            ),
        }
    }

    /// The year of registration, or a period of several years (`2014-2018`,
    /// `2014 – 2018`, `2014/2018`) as exports of aggregated registers give
    /// it: a period whose two years are the same is that year. Both years
    /// must be years the store takes (1990 to this year), the first not
    /// after the last.
    fn year_or_period(
        &self,
        problems: &mut Vec<Problem>,
        raw: &str,
    ) -> (Option<i32>, Option<(i32, i32)>) {
        let max = i64::from(self.current_year);
        let Some((from, to)) = split_period(raw) else {
            let year = self.number(problems, "year", raw, 1990, max);
            return (year.map(|y| y as i32), None);
        };
        let mut bad = |why: String| {
            problems.push(Problem::new("year", raw, why));
            (None, None)
        };
        if from > to {
            return bad(format!("a period from {from} back to {to}"));
        }
        if from < 1990 || to > max {
            return bad(format!("a period outside 1990 to {max}"));
        }
        let (from, to) = (from as i32, to as i32);
        if from == to {
            (Some(from), None)
        } else {
            (None, Some((from, to)))
        }
    }

    fn number(
        &self,
        problems: &mut Vec<Problem>,
        column: &str,
        raw: &str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        if raw.trim().is_empty() {
            return None;
        }
        match parse_integer(raw) {
            None => {
                problems.push(Problem::new(column, raw, "malformed number"));
                None
            }
            Some(n) if column == "year" && n > max => {
                problems.push(Problem::new(
                    column,
                    raw,
                    format!("year in the future (after {max})"),
                ));
                None
            }
            Some(n) if n < min || n > max => {
                problems.push(Problem::new(column, raw, format!("outside {min} to {max}")));
                None
            }
            Some(n) => Some(n),
        }
    }

    /// A place cell: a country (code or name), stored as its alpha-2 code,
    /// or failing that a UN M49 region or subregion, stored as its numeric
    /// code in the area slot.
    fn place(
        &self,
        problems: &mut Vec<Problem>,
        column: &str,
        raw: &str,
    ) -> (Option<Code>, Option<String>) {
        if self.rules.is_not_recorded(raw) {
            return (None, None); // empty, "unknown", "no especificado", ...
        }
        // a country's code, as most exports write it, borrowed from the code
        // table; names and regions are looked up as places
        if let Some(code) = countries::country_code(raw) {
            return (Some(Code::Borrowed(code)), None);
        }
        match places::parse(raw) {
            Some(Place::Country(code)) => (Some(Code::Owned(code)), None),
            Some(Place::Area(code)) => (None, Some(code)),
            None => {
                problems.push(Problem::new(column, raw, NOT_A_PLACE));
                (None, None)
            }
        }
    }

    fn code(&self, problems: &mut Vec<Problem>, field: CodedField, raw: &str) -> Option<Code> {
        match self.rules.label(field, raw) {
            Label::Code(code) => Some(Code::Borrowed(code)),
            Label::NotRecorded => None,
            Label::Unknown => {
                problems.push(Problem::new(
                    field.name(),
                    raw,
                    format!("unknown {} code", field.name()),
                ));
                None
            }
        }
    }

    /// A multi-valued cell: values joined with ";". Values are normalised to
    /// codes, de-duplicated and put in vocabulary order so equal sets compare
    /// equal. Only "not recorded" labels → null; never an empty list.
    fn list(&self, problems: &mut Vec<Problem>, field: CodedField, raw: &str) -> Option<Codes> {
        let cell = self.lists[field as usize].get_or(raw, || self.work_out_list(field, raw));
        problems.extend(cell.problems);
        cell.codes
    }

    fn work_out_list(&self, field: CodedField, raw: &str) -> ListCell {
        let mut cell = ListCell::default();
        let mut codes: Vec<Code> = Vec::new();
        for part in raw.split(';') {
            match self.rules.label(field, part) {
                Label::Code(code) => codes.push(Code::Borrowed(code)),
                Label::NotRecorded => {}
                Label::Unknown => cell.problems.push(Problem::new(
                    field.name(),
                    part.trim(),
                    format!("unknown {} code", field.name()),
                )),
            }
        }
        if !codes.is_empty() {
            let order = |c: &Code| field.codes().iter().position(|x| *x == c.as_ref());
            codes.sort_by_key(order);
            codes.dedup();
            cell.codes = Some(codes.into());
        }
        cell
    }
}
