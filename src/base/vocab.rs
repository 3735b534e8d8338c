//! The controlled vocabularies of the canonical schema, and the text
//! normalisation shared by label lookup and the classifier.
//!
//! The code lists are fixed in code because the schema, the queries and the
//! reports depend on them; the *labels* that map onto them (English, Spanish,
//! French, HTCDS, CTDC, Polaris) are data, in `rules/rules.toml`.

use unicode_normalization::UnicodeNormalization;

pub const TRAFFICKING_FORMS: &[&str] = &["sex", "labor", "sex_and_labor", "other", "not_specified"];

pub const GENDERS: &[&str] = &["female", "male", "gender_minority"];

/// CTDC age bands, in order.
pub const AGE_BANDS: &[&str] = &[
    "0-8", "9-17", "18-20", "21-23", "24-26", "27-29", "30-38", "39-47", "48+",
];

pub const MAJORITY_STATUSES: &[&str] = &["adult", "minor"];

pub const SECTORS: &[&str] = &[
    "agriculture",
    "aquafarming",
    "begging",
    "construction",
    "domestic_work",
    "hospitality",
    "illicit_activities",
    "manufacturing",
    "mining_or_drilling",
    "peddling",
    "transportation",
    "other_labour",
    "prostitution",
    "pornography",
    "remote_interactive_services",
    "private_sexual_services",
    "forced_marriage",
    "forced_military",
    "organ_removal",
    "slavery_practices",
    "other_exploitation",
];

pub const RECRUITMENT_TACTICS: &[&str] = &[
    "abduction",
    "educational_facility",
    "familial",
    "internet",
    "international_marriage_broker",
    "intimate_partner",
    "job_offer",
    "posing_as_benefactor",
    "public_area",
    "offer_of_accommodation",
    "shelter",
    "smuggling",
    "work",
    "false_promises",
    "other",
];

pub const RECRUITER_RELATIONS: &[&str] =
    &["intimate_partner", "friend_acquaintance", "family", "other"];

pub const CONTROL_METHODS: &[&str] = &[
    "debt_bondage",
    "takes_earnings",
    "restricts_financial_access",
    "threats",
    "psychological_abuse",
    "physical_abuse",
    "sexual_abuse",
    "false_promises",
    "psychoactive_substances",
    "restricts_movement",
    "restricts_medical_care",
    "excessive_working_hours",
    "uses_children",
    "threat_of_law_enforcement",
    "withholds_necessities",
    "withholds_documents",
    "other",
];

/// What a perpetrator did in the case, after HTCDS `per_RoleInProcess` and
/// the CTDC victim–perpetrator data (exploiter, recruiter, broker).
pub const PERPETRATOR_ROLES: &[&str] =
    &["exploiter", "recruiter", "broker", "transporter", "other"];

/// Age groups of perpetrators, as the victim–perpetrator data sets give them.
pub const PERPETRATOR_AGE_GROUPS: &[&str] = &["0-17", "18-29", "30-49", "50+"];

/// How the perpetrator was related to the victim.
pub const PERPETRATOR_RELATIONS: &[&str] = &[
    "family",
    "intimate_partner",
    "friend_acquaintance",
    "employer",
    "stranger",
    "other",
];

pub const EXTENSION_CATEGORIES: &[&str] = &[
    "mining",
    "fishing",
    "transportation",
    "forced_marriage",
    "forced_military",
    "organ_removal",
    "other_form",
];

pub const CONFIDENCES: &[&str] = &["high", "medium", "low"];

/// The coded fields whose labels are normalised through the label tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodedField {
    TraffickingForm,
    Gender,
    AgeBand,
    MajorityStatus,
    Sectors,
    RecruitmentTactics,
    RecruiterRelations,
    ControlMethods,
    PerpetratorRoles,
    PerpetratorGenders,
    PerpetratorAgeGroups,
    PerpetratorRelations,
}

impl CodedField {
    pub const ALL: [CodedField; 12] = [
        CodedField::TraffickingForm,
        CodedField::Gender,
        CodedField::AgeBand,
        CodedField::MajorityStatus,
        CodedField::Sectors,
        CodedField::RecruitmentTactics,
        CodedField::RecruiterRelations,
        CodedField::ControlMethods,
        CodedField::PerpetratorRoles,
        CodedField::PerpetratorGenders,
        CodedField::PerpetratorAgeGroups,
        CodedField::PerpetratorRelations,
    ];

    /// The name of the column and of the label table in the rules file.
    pub fn name(self) -> &'static str {
        match self {
            CodedField::TraffickingForm => "trafficking_form",
            CodedField::Gender => "gender",
            CodedField::AgeBand => "age_band",
            CodedField::MajorityStatus => "majority_status",
            CodedField::Sectors => "sectors",
            CodedField::RecruitmentTactics => "recruitment_tactics",
            CodedField::RecruiterRelations => "recruiter_relations",
            CodedField::ControlMethods => "control_methods",
            CodedField::PerpetratorRoles => "perpetrator_roles",
            CodedField::PerpetratorGenders => "perpetrator_genders",
            CodedField::PerpetratorAgeGroups => "perpetrator_age_groups",
            CodedField::PerpetratorRelations => "perpetrator_relations",
        }
    }

    /// The field whose label table reads this one's labels: a perpetrator's
    /// gender is written with the same words as a victim's.
    pub fn label_table(self) -> CodedField {
        match self {
            CodedField::PerpetratorGenders => CodedField::Gender,
            other => other,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn codes(self) -> &'static [&'static str] {
        match self {
            CodedField::TraffickingForm => TRAFFICKING_FORMS,
            CodedField::Gender => GENDERS,
            CodedField::AgeBand => AGE_BANDS,
            CodedField::MajorityStatus => MAJORITY_STATUSES,
            CodedField::Sectors => SECTORS,
            CodedField::RecruitmentTactics => RECRUITMENT_TACTICS,
            CodedField::RecruiterRelations => RECRUITER_RELATIONS,
            CodedField::ControlMethods => CONTROL_METHODS,
            CodedField::PerpetratorRoles => PERPETRATOR_ROLES,
            CodedField::PerpetratorGenders => GENDERS,
            CodedField::PerpetratorAgeGroups => PERPETRATOR_AGE_GROUPS,
            CodedField::PerpetratorRelations => PERPETRATOR_RELATIONS,
        }
    }
}

/// Folds a character to lowercase ASCII-ish form: accents are removed by
/// decomposing (NFD) and dropping combining marks, so "Pêche" and "peche"
/// compare equal.
fn fold_accents(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Normalises an exported label for lookup in a label table:
/// camelCase is split into words ("DebtBondage" → "debt bondage"), case and
/// accents are folded and every run of punctuation or space becomes one space.
pub fn normalise_label(label: &str) -> String {
    if label.is_ascii() {
        normalise_ascii_label(label)
    } else {
        normalise_any_label(label)
    }
}

/// [`normalise_label`] for ASCII text, in one pass and one allocation:
/// nearly every cell of a real export is ASCII, and ingest normalises
/// every flag and mapped cell (the general path allocates four times).
/// It gives what the general path gives (a property test checks it).
fn normalise_ascii_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut prev_lower = false;
    // a word ended (punctuation, space, camelCase) and the next one
    // starts after a space
    let mut word_ended = false;
    for b in label.bytes() {
        if b.is_ascii_uppercase() && prev_lower {
            word_ended = true;
        }
        prev_lower = b.is_ascii_lowercase() || b.is_ascii_digit();
        if b.is_ascii_alphanumeric() {
            if word_ended && !out.is_empty() {
                out.push(' ');
            }
            word_ended = false;
            out.push(char::from(b.to_ascii_lowercase()));
        } else if b == b'+' {
            // a "+" is a word of its own ("48+" → "48 +")
            if !out.is_empty() {
                out.push(' ');
            }
            out.push('+');
            word_ended = true;
        } else {
            word_ended = true;
        }
    }
    out
}

fn normalise_any_label(label: &str) -> String {
    let mut spaced = String::with_capacity(label.len() + 8);
    let mut prev_lower = false;
    for c in label.chars() {
        if c.is_uppercase() && prev_lower {
            spaced.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        spaced.push(c);
    }
    words(&fold_accents(&spaced)).collect::<Vec<_>>().join(" ")
}

/// Splits folded text into words of letters and digits. A "+" is kept as a
/// word of its own so that age bands like "48+" survive normalisation.
fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !(c.is_alphanumeric() || c == '+'))
        .flat_map(|w| {
            // split "48+" into "48", "+"
            let mut parts = Vec::new();
            let mut rest = w;
            while let Some(i) = rest.find('+') {
                if i > 0 {
                    parts.push(&rest[..i]);
                }
                parts.push("+");
                rest = &rest[i + 1..];
            }
            if !rest.is_empty() {
                parts.push(rest);
            }
            parts
        })
        .filter(|w| !w.is_empty())
}

/// Reduces a folded word by a crude, language-neutral plural rule: a final
/// "s" (not "ss") goes, then a final "e". Applied the same way to rule phrases
/// and to venue text, so "Hoteles", "hotels" and "hôtel" all meet at "hotel"
/// and "massages" meets "massage" at "massag".
pub fn stem(word: &str) -> String {
    let mut w = word;
    if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
        w = &w[..w.len() - 1];
    }
    if w.len() > 3 && w.ends_with('e') {
        w = &w[..w.len() - 1];
    }
    w.to_string()
}

/// Tokenises venue text for phrase matching: folded, split into words,
/// stemmed. Whole words only, so "bar" never matches "barn".
pub fn venue_tokens(text: &str) -> Vec<String> {
    venue_words(text).iter().map(|w| stem(w)).collect()
}

/// The languages venue rules are written in, in the order
/// [`snowball_stems`] numbers them.
pub const STEM_LANGUAGES: [&str; 3] = ["en", "es", "fr"];

/// Words reduced to their stem by the Snowball stemmer of a language of
/// [`STEM_LANGUAGES`] ("harvesting" and "harvested" → "harvest",
/// "cosechando" → "cosech"): the word forms the plain rule of [`stem`]
/// does not reach.
pub fn snowball_stems(words: &[String], language: usize) -> Vec<String> {
    use rust_stemmers::{Algorithm, Stemmer};
    static STEMMERS: std::sync::OnceLock<[Stemmer; 3]> = std::sync::OnceLock::new();
    let stemmers = STEMMERS.get_or_init(|| {
        [
            Stemmer::create(Algorithm::English),
            Stemmer::create(Algorithm::Spanish),
            Stemmer::create(Algorithm::French),
        ]
    });
    words
        .iter()
        .map(|w| stemmers[language].stem(w).into_owned())
        .collect()
}

/// The words of venue text, folded but not stemmed (what was typed, for
/// the evidence of a corrected slip).
pub fn venue_words(text: &str) -> Vec<String> {
    fold_accents(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_coded_field_is_at_its_own_number_in_all() {
        // the rules index their per-field memories by `field as usize`
        for (i, field) in CodedField::ALL.into_iter().enumerate() {
            assert_eq!(field as usize, i, "{field:?}");
        }
    }

    #[test]
    fn labels_normalise_across_case_accents_and_camel_case() {
        assert_eq!(normalise_label("DebtBondage"), "debt bondage");
        assert_eq!(normalise_label("debt_bondage"), "debt bondage");
        assert_eq!(normalise_label("  Physical abuse "), "physical abuse");
        assert_eq!(normalise_label("Explotación Sexual"), "explotacion sexual");
        assert_eq!(normalise_label("18--20"), "18 20");
        assert_eq!(normalise_label("48+"), "48 +");
        assert_eq!(
            normalise_label("Immigration-Related Threats"),
            "immigration related threats"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]
        #[test]
        fn the_ascii_path_normalises_as_the_general_one(label in "[ -~]{0,24}") {
            proptest::prop_assert_eq!(normalise_ascii_label(&label), normalise_any_label(&label));
        }

        #[test]
        fn the_ascii_path_normalises_labels_as_the_general_one(
            label in "(Debt|bondage|[A-Z]{1,3}|[a-z]{1,5}|[0-9]{1,3}|[+_ ./-]{1,3}|\\t){0,8}"
        ) {
            proptest::prop_assert_eq!(normalise_ascii_label(&label), normalise_any_label(&label));
        }
    }

    #[test]
    fn venue_tokens_fold_plurals_and_accents() {
        assert_eq!(venue_tokens("Hoteles"), venue_tokens("hôtel"));
        assert_eq!(
            venue_tokens("Massage Parlors"),
            venue_tokens("massage parlor")
        );
        assert_eq!(
            venue_tokens("Bares y CANTINAS"),
            vec!["bar", "y", "cantina"]
        );
        assert_ne!(venue_tokens("barn"), venue_tokens("bar"));
        assert!(venue_tokens("").is_empty());
    }
}
