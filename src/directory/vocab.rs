//! The controlled lists of a directory: services, populations served and
//! forms served, with the labels directories use for them.

/// Services an organisation can offer.
pub const SERVICES: &[&str] = &[
    "shelter",
    "legal_aid",
    "immigration_legal_aid",
    "medical",
    "mental_health",
    "case_management",
    "repatriation",
    "hotline",
    "economic_empowerment",
    "child_protection",
];

/// Populations an organisation serves; `all` serves every one.
pub const POPULATIONS: &[&str] = &["women", "men", "minors", "lgbtq", "foreign_nationals"];

/// Forms of trafficking an organisation serves; `all` serves both.
pub const FORMS: &[&str] = &["sex", "labor"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Service,
    Population,
    Form,
}

/// Labels seen in directories, after [`key`], for codes that differ.
const SYNONYMS: &[(&str, &str)] = &[
    ("legal_assistance", "legal_aid"),
    ("legal_services", "legal_aid"),
    ("immigration_legal_services", "immigration_legal_aid"),
    ("immigration", "immigration_legal_aid"),
    ("health", "medical"),
    ("health_care", "medical"),
    ("medical_care", "medical"),
    ("psychosocial_support", "mental_health"),
    ("counselling", "mental_health"),
    ("counseling", "mental_health"),
    ("case_work", "case_management"),
    ("return", "repatriation"),
    ("voluntary_return", "repatriation"),
    ("helpline", "hotline"),
    ("livelihood", "economic_empowerment"),
    ("job_training", "economic_empowerment"),
    ("child_protection_services", "child_protection"),
    ("woman", "women"),
    ("female", "women"),
    ("man", "men"),
    ("male", "men"),
    ("children", "minors"),
    ("child", "minors"),
    ("youth", "minors"),
    ("minor", "minors"),
    ("lgbtq_", "lgbtq"),
    ("lgbt", "lgbtq"),
    ("lgbtqi", "lgbtq"),
    ("lgbtqia", "lgbtq"),
    ("foreign_national", "foreign_nationals"),
    ("migrants", "foreign_nationals"),
    ("migrant", "foreign_nationals"),
    ("labour", "labor"),
    ("labor_trafficking", "labor"),
    ("sex_trafficking", "sex"),
    ("sexual_exploitation", "sex"),
    ("everyone", "all"),
    ("any", "all"),
];

/// Lower case, every run of other characters an underscore: "Legal Aid",
/// "legal-aid" and "legal_aid" are one key. A trailing `+` is kept as `_`
/// so that "LGBTQ+" finds its synonym.
fn key(label: &str) -> String {
    let mut out = String::new();
    for c in label.trim().to_lowercase().chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_start_matches('_').to_string()
}

fn codes(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Service => SERVICES,
        Kind::Population => POPULATIONS,
        Kind::Form => FORMS,
    }
}

/// The code of a label, or None when it is not in the list.
pub fn code(kind: Kind, label: &str) -> Option<&'static str> {
    let k = key(label);
    let k = k.as_str();
    let k = SYNONYMS
        .iter()
        .find(|(from, _)| *from == k)
        .map_or(k, |(_, to)| to);
    let k = if kind == Kind::Service {
        k
    } else {
        k.trim_end_matches('_')
    };
    if kind != Kind::Service && k == "all" {
        return Some("all");
    }
    codes(kind).iter().copied().find(|c| *c == k)
}

fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::Service => "service",
        Kind::Population => "population",
        Kind::Form => "form",
    }
}

pub fn unknown_reason(kind: Kind, value: &str) -> String {
    let all = if kind == Kind::Service { "" } else { ", all" };
    format!(
        "unknown {} '{value}' (allowed: {}{all})",
        name(kind),
        codes(kind).join(", ")
    )
}

pub fn empty_reason(kind: Kind) -> String {
    match kind {
        Kind::Service => "no service listed".into(),
        // Not stated is not "all": a gap must not be hidden by a guess.
        _ => format!(
            "no {} listed (write `all` if it serves every one)",
            name(kind)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_codes() {
        assert_eq!(code(Kind::Service, "Legal Aid"), Some("legal_aid"));
        assert_eq!(
            code(Kind::Service, "immigration-legal-aid"),
            Some("immigration_legal_aid")
        );
        assert_eq!(code(Kind::Service, "Counselling"), Some("mental_health"));
        assert_eq!(code(Kind::Population, "LGBTQ+"), Some("lgbtq"));
        assert_eq!(code(Kind::Population, "Children"), Some("minors"));
        assert_eq!(code(Kind::Population, "All"), Some("all"));
        assert_eq!(code(Kind::Form, "Labour"), Some("labor"));
        assert_eq!(
            code(Kind::Service, "all"),
            None,
            "a service list is explicit"
        );
        assert_eq!(code(Kind::Service, "yoga"), None);
        assert!(unknown_reason(Kind::Form, "x").contains("sex, labor, all"));
    }
}
