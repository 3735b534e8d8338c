//! `rules/needs.toml`: which services a victim needs, as data that can be
//! reviewed and changed like the classification rules.

use std::path::Path;

use serde::Deserialize;

use crate::directory::vocab::{POPULATIONS, SERVICES};
use crate::error::{Error, Result};

pub const DEFAULT_NEEDS: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/needs.toml"));
const FORMS: &[&str] = &["sex", "labor", "sex_and_labor", "other", "not_specified"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Needs {
    pub version: String,
    #[serde(rename = "need")]
    pub needs: Vec<Need>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Need {
    pub service: String,
    #[serde(default)]
    pub forms: Vec<String>,
    #[serde(default)]
    pub types: Vec<i64>,
    pub minor: Option<bool>,
    pub foreign_national: Option<bool>,
    /// "profile" (the default) or a fixed population.
    pub population: Option<String>,
    pub reason: String,
}

/// One group of victims with the same attributes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Profile {
    pub form: String,
    pub type_id: Option<i64>,
    /// Some(true) minor, Some(false) adult, None unknown.
    pub minor: Option<bool>,
    pub gender: Option<String>,
    pub foreign_national: Option<bool>,
}

impl Profile {
    /// The population an organisation must serve for this victim: minors,
    /// else by gender; "not recorded" when neither is known.
    pub fn population(&self) -> &'static str {
        if self.minor == Some(true) {
            return "minors";
        }
        match self.gender.as_deref() {
            Some("female") => "women",
            Some("male") => "men",
            Some("gender_minority") => "lgbtq",
            _ => "not recorded",
        }
    }

    /// Which organisations' forms can serve this victim: `sex`, `labor`,
    /// or `any` (both forms, or another or unknown form).
    pub fn form_group(&self) -> &'static str {
        match self.form.as_str() {
            "sex" => "sex",
            "labor" => "labor",
            _ => "any",
        }
    }
}

impl Needs {
    pub fn load(path: Option<&Path>) -> Result<Needs> {
        let (origin, text) = match path {
            Some(p) => (
                p.display().to_string(),
                std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?,
            ),
            None => (
                "rules/needs.toml (built in)".to_string(),
                DEFAULT_NEEDS.to_string(),
            ),
        };
        let fail = |message: String| Error::Rules {
            origin: origin.clone(),
            message,
        };
        let needs: Needs = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
        for (i, need) in needs.needs.iter().enumerate() {
            let at = format!("need {} ({})", i + 1, need.service);
            if !SERVICES.contains(&need.service.as_str()) {
                return Err(fail(format!(
                    "{at}: unknown service (allowed: {})",
                    SERVICES.join(", ")
                )));
            }
            if let Some(f) = need.forms.iter().find(|f| !FORMS.contains(&f.as_str())) {
                return Err(fail(format!("{at}: unknown form '{f}'")));
            }
            if let Some(t) = need.types.iter().find(|t| !(1..=25).contains(*t)) {
                return Err(fail(format!("{at}: type {t} is not one of 1-25")));
            }
            match need.population.as_deref() {
                None | Some("profile") => {}
                Some(p) if POPULATIONS.contains(&p) => {}
                Some(p) => return Err(fail(format!("{at}: unknown population '{p}'"))),
            }
            if need.reason.trim().is_empty() {
                return Err(fail(format!("{at}: every need says why (reason)")));
            }
        }
        Ok(needs)
    }

    /// The (service, population) pairs a victim of this profile needs, in
    /// the file's order, each service once.
    pub fn of(&self, profile: &Profile) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for need in &self.needs {
            let matches = (need.forms.is_empty() || need.forms.contains(&profile.form))
                && (need.types.is_empty()
                    || profile.type_id.is_some_and(|t| need.types.contains(&t)))
                && need.minor.is_none_or(|m| profile.minor == Some(m))
                && need
                    .foreign_national
                    .is_none_or(|f| profile.foreign_national == Some(f));
            if matches && !out.iter().any(|(s, _)| *s == need.service) {
                let population = match need.population.as_deref() {
                    None | Some("profile") => profile.population(),
                    Some(p) => POPULATIONS
                        .iter()
                        .copied()
                        .find(|x| *x == p)
                        .unwrap_or("not recorded"),
                };
                out.push((need.service.as_str(), population));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(
        form: &str,
        type_id: Option<i64>,
        minor: Option<bool>,
        foreign: Option<bool>,
    ) -> Profile {
        Profile {
            form: form.into(),
            type_id,
            minor,
            gender: Some("female".into()),
            foreign_national: foreign,
        }
    }

    #[test]
    fn the_shipped_needs_load_and_apply() {
        let needs = Needs::load(None).unwrap();
        let adult_sex = needs.of(&profile("sex", Some(1), Some(false), Some(false)));
        assert!(adult_sex.contains(&("shelter", "women")));
        assert!(!adult_sex.iter().any(|(s, _)| *s == "child_protection"));
        let minor_migrant_farm = needs.of(&profile("labor", Some(11), Some(true), Some(true)));
        for wanted in [
            ("child_protection", "minors"),
            ("immigration_legal_aid", "foreign_nationals"),
            ("shelter", "minors"),
            ("legal_aid", "minors"),
        ] {
            assert!(
                minor_migrant_farm.contains(&wanted),
                "{wanted:?} in {minor_migrant_farm:?}"
            );
        }
        // unknown citizenship is not "national" and not "foreign"
        let unknown = needs.of(&profile("labor", None, None, None));
        assert!(!unknown.iter().any(|(s, _)| *s == "immigration_legal_aid"));
    }

    #[test]
    fn a_broken_needs_file_is_refused_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("needs.toml");
        for (text, why) in [
            (
                "version='1'\n[[need]]\nservice='spa'\nreason='x'\n",
                "unknown service",
            ),
            (
                "version='1'\n[[need]]\nservice='shelter'\ntypes=[30]\nreason='x'\n",
                "type 30",
            ),
            (
                "version='1'\n[[need]]\nservice='shelter'\nreason=''\n",
                "says why",
            ),
            (
                "version='1'\n[[need]]\nservice='shelter'\nreason='x'\ncolour='red'\n",
                "unknown field",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = Needs::load(Some(&path)).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
    }
}
