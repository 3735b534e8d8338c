//! One validated victim-in-case record in the canonical layout, before
//! classification. Codes are canonical (see `vocab`); `None` means "not
//! recorded", which is never the same as "no".

use std::borrow::Cow;

/// A code of the vocabulary. Validated input borrows it from the
/// vocabulary, so a million records do not allocate a million copies of
/// "female" (each allocated on a checking thread and freed on another).
pub type Code = Cow<'static, str>;

/// The codes of a multi-valued field, in vocabulary order. Shared, not
/// copied: validation remembers each distinct cell's codes and hands the
/// same list to every record with that cell (a list of its own per record
/// was an allocation and a free per field and record). Measured on the AMD
/// machine, 2026-12-08, `ingest` of a million records into a fresh store,
/// 11 runs of each build interleaved: median 3.75 -> 3.49 s wall and 6.56
/// -> 6.02 s user CPU, the store's bytes unchanged.
pub type Codes = std::sync::Arc<[Code]>;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseRecord {
    pub record_id: String,
    pub case_id: String,
    pub data_source: Option<String>,
    pub reporting_country: Code,
    /// The year of registration, when the record can be placed in one.
    pub year: Option<i32>,
    /// A registration period of several years (`2014-2018`), first and
    /// last year, when the export gives a range; `year` is then None. A
    /// single year is the period (year, year), which the store derives.
    pub period: Option<(i32, i32)>,
    pub month: Option<i32>,
    pub exploitation_country: Option<Code>,
    /// The UN M49 region or subregion of exploitation (numeric code) when
    /// the export names only that, not the country.
    pub exploitation_area: Option<String>,
    pub exploitation_subdivision: Option<String>,
    pub citizenship: Option<Code>,
    /// The M49 region or subregion of citizenship when only that is known.
    pub citizenship_area: Option<String>,
    pub gender: Option<Code>,
    pub age_band: Option<Code>,
    pub majority_status: Option<Code>,
    pub trafficking_form: Code,
    pub sectors: Option<Codes>,
    pub venue: Option<String>,
    pub recruitment_tactics: Option<Codes>,
    pub recruiter_relations: Option<Codes>,
    pub control_methods: Option<Codes>,
    pub abduction: Option<bool>,
    pub perpetrators: Perpetrators,
}

/// What the case records about its perpetrators (traffickers), one value
/// set per case row: lists where a case has several perpetrators, and the
/// flags true when they hold for any of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Perpetrators {
    pub count: Option<i32>,
    pub roles: Option<Codes>,
    pub genders: Option<Codes>,
    pub age_groups: Option<Codes>,
    /// Alpha-2 country codes or M49 area codes.
    pub citizenships: Option<Vec<String>>,
    pub relations: Option<Codes>,
    pub money_paid: Option<bool>,
    pub transaction: Option<bool>,
    pub control_abuse: Option<bool>,
}

impl Perpetrators {
    /// The M49 regions of the perpetrators' citizenships, distinct, in code
    /// order; None when no citizenship rolls up to a region.
    pub fn regions(&self) -> Option<Vec<&'static str>> {
        use crate::base::places::{regions_of, regions_of_country};
        let mut regions: Vec<&'static str> = self
            .citizenships
            .iter()
            .flatten()
            .filter_map(|c| {
                if c.len() == 2 {
                    regions_of_country(c).0
                } else {
                    regions_of(&crate::base::places::parse(c)?).0
                }
            })
            .collect();
        regions.sort();
        regions.dedup();
        (!regions.is_empty()).then_some(regions)
    }
}

impl CaseRecord {
    /// A victim is a foreign national when their citizenship differs from the
    /// country of exploitation; unknown when either is unknown.
    pub fn foreign_national(&self) -> Option<bool> {
        match (&self.citizenship, &self.exploitation_country) {
            (Some(c), Some(e)) => Some(c != e),
            _ => None,
        }
    }

    /// The M49 region and subregion of the place of exploitation.
    pub fn exploitation_regions(&self) -> (Option<&'static str>, Option<&'static str>) {
        place_regions(
            self.exploitation_country.as_deref(),
            self.exploitation_area.as_deref(),
        )
    }

    /// The M49 region and subregion of the citizenship.
    pub fn citizenship_regions(&self) -> (Option<&'static str>, Option<&'static str>) {
        place_regions(
            self.citizenship.as_deref(),
            self.citizenship_area.as_deref(),
        )
    }

    /// The first and last year the record can fall in: its period, or its
    /// year twice; None when neither was recorded.
    pub fn year_span(&self) -> Option<(i32, i32)> {
        self.period.or(self.year.map(|y| (y, y)))
    }

    /// The record in the flat CSV form, in `schema::INPUT_COLUMNS` order.
    pub fn to_flat(&self) -> Vec<String> {
        fn opt(v: &Option<impl AsRef<str>>) -> String {
            v.as_ref()
                .map(|v| v.as_ref().to_string())
                .unwrap_or_default()
        }
        fn num(v: Option<i32>) -> String {
            v.map(|n| n.to_string()).unwrap_or_default()
        }
        fn list(v: &Option<Codes>) -> String {
            v.as_ref().map(|l| l.join(";")).unwrap_or_default()
        }
        fn flag(v: Option<bool>) -> String {
            v.map(|b| b.to_string()).unwrap_or_default()
        }
        // a country by its code, a region by its English name, which
        // `places::parse` reads back
        fn place(country: Option<&str>, area: Option<&str>) -> String {
            match (country, area) {
                (Some(c), _) if c.len() == 2 => c.to_string(),
                (Some(code), _) | (None, Some(code)) => crate::base::places::name_of(code)
                    .unwrap_or(code)
                    .to_string(),
                (None, None) => String::new(),
            }
        }
        let p = &self.perpetrators;
        vec![
            self.record_id.clone(),
            self.case_id.clone(),
            opt(&self.data_source),
            self.reporting_country.to_string(),
            match self.period {
                Some((from, to)) => format!("{from}-{to}"),
                None => num(self.year),
            },
            num(self.month),
            place(
                self.exploitation_country.as_deref(),
                self.exploitation_area.as_deref(),
            ),
            opt(&self.exploitation_subdivision),
            place(
                self.citizenship.as_deref(),
                self.citizenship_area.as_deref(),
            ),
            opt(&self.gender),
            opt(&self.age_band),
            opt(&self.majority_status),
            self.trafficking_form.to_string(),
            list(&self.sectors),
            opt(&self.venue),
            list(&self.recruitment_tactics),
            list(&self.recruiter_relations),
            list(&self.control_methods),
            flag(self.abduction),
            num(p.count),
            list(&p.roles),
            list(&p.genders),
            list(&p.age_groups),
            p.citizenships
                .iter()
                .flatten()
                .map(|c| place(Some(c), None))
                .collect::<Vec<_>>()
                .join(";"),
            list(&p.relations),
            flag(p.money_paid),
            flag(p.transaction),
            flag(p.control_abuse),
        ]
    }
}

fn place_regions(
    country: Option<&str>,
    area: Option<&str>,
) -> (Option<&'static str>, Option<&'static str>) {
    use crate::base::places::{regions_of, regions_of_country};
    match (country, area) {
        (Some(c), _) => regions_of_country(c),
        (None, Some(a)) => match crate::base::places::parse(a) {
            Some(place) => regions_of(&place),
            None => (None, None),
        },
        (None, None) => (None, None),
    }
}
