//! One validated victim-in-case record in the canonical layout, before
//! classification. Codes are canonical (see `vocab`); `None` means "not
//! recorded", which is never the same as "no".

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseRecord {
    pub record_id: String,
    pub case_id: String,
    pub data_source: Option<String>,
    pub reporting_country: String,
    /// The year of registration, when the record can be placed in one.
    pub year: Option<i32>,
    /// A registration period of several years (`2014-2018`), first and
    /// last year, when the export gives a range; `year` is then None. A
    /// single year is the period (year, year), which the store derives.
    pub period: Option<(i32, i32)>,
    pub month: Option<i32>,
    pub exploitation_country: Option<String>,
    pub exploitation_subdivision: Option<String>,
    pub citizenship: Option<String>,
    pub gender: Option<String>,
    pub age_band: Option<String>,
    pub majority_status: Option<String>,
    pub trafficking_form: String,
    pub sectors: Option<Vec<String>>,
    pub venue: Option<String>,
    pub recruitment_tactics: Option<Vec<String>>,
    pub recruiter_relations: Option<Vec<String>>,
    pub control_methods: Option<Vec<String>>,
    pub abduction: Option<bool>,
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

    /// The first and last year the record can fall in: its period, or its
    /// year twice; None when neither was recorded.
    pub fn year_span(&self) -> Option<(i32, i32)> {
        self.period.or(self.year.map(|y| (y, y)))
    }

    /// The record in the flat CSV form, in `schema::INPUT_COLUMNS` order.
    pub fn to_flat(&self) -> Vec<String> {
        fn opt(v: &Option<String>) -> String {
            v.clone().unwrap_or_default()
        }
        fn num(v: Option<i32>) -> String {
            v.map(|n| n.to_string()).unwrap_or_default()
        }
        fn list(v: &Option<Vec<String>>) -> String {
            v.as_ref().map(|l| l.join(";")).unwrap_or_default()
        }
        vec![
            self.record_id.clone(),
            self.case_id.clone(),
            opt(&self.data_source),
            self.reporting_country.clone(),
            match self.period {
                Some((from, to)) => format!("{from}-{to}"),
                None => num(self.year),
            },
            num(self.month),
            opt(&self.exploitation_country),
            opt(&self.exploitation_subdivision),
            opt(&self.citizenship),
            opt(&self.gender),
            opt(&self.age_band),
            opt(&self.majority_status),
            self.trafficking_form.clone(),
            list(&self.sectors),
            opt(&self.venue),
            list(&self.recruitment_tactics),
            list(&self.recruiter_relations),
            list(&self.control_methods),
            self.abduction.map(|b| b.to_string()).unwrap_or_default(),
        ]
    }
}
