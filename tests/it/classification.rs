//! Issue 3: reclassification after a rules change, explain, the unmatched
//! venue list, rules-file errors, and that arbitrary text never panics.

use crate::common::*;
use proptest::prelude::*;
use safetynet::classify::classifier::{Classifier, Facts};
use safetynet::classify::rules::{DEFAULT_RULES, Rules};
use tempfile::TempDir;

fn store_with(dir: &TempDir, records: u64) -> std::path::PathBuf {
    let export = dir.path().join("export.csv");
    ok(&[
        "generate",
        "--records",
        &records.to_string(),
        "--seed",
        "11",
        "--countries",
        "US,MX,CA",
        "--out",
        p(&export),
    ]);
    let store = dir.path().join("store");
    ingest_json(&store, &[&export]);
    store
}

/// The default rules with one rule's target changed.
fn rules_with_retargeted(rule_id: &str, from: &str, to: &str) -> String {
    let start = DEFAULT_RULES
        .find(&format!("id = \"{rule_id}\""))
        .expect("rule exists");
    let end = start
        + DEFAULT_RULES[start..]
            .find("[[rule]]")
            .expect("a rule follows");
    let block = &DEFAULT_RULES[start..end];
    assert!(block.contains(from), "{block}");
    format!(
        "{}{}{}",
        &DEFAULT_RULES[..start],
        block.replacen(from, to, 1),
        &DEFAULT_RULES[end..]
    )
}

#[test]
fn changing_one_rule_changes_exactly_its_records() {
    let dir = TempDir::new().unwrap();
    let store = store_with(&dir, 4000);
    let listing = "SELECT record_id, typology_id, extension_category, classification, rule_id FROM cases ORDER BY record_id";
    let before = query_rows(&store, listing);
    let affected = query_count(
        &store,
        "SELECT count(*) FROM cases WHERE rule_id = 'sex.outdoor.en'",
    );
    assert!(affected > 20, "the sample has street records: {affected}");

    let rules_file = dir.path().join("rules.toml");
    std::fs::write(
        &rules_file,
        rules_with_retargeted("sex.outdoor.en", "typology = 3", "typology = 4"),
    )
    .unwrap();
    let out = ok(&[
        "classify",
        "--json",
        "--store",
        p(&store),
        "--rules",
        p(&rules_file),
    ]);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["records"], 4000);
    assert_eq!(summary["changed"], affected);

    let after = query_rows(&store, listing);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        if b[4] == "sex.outdoor.en" {
            assert_eq!((b[1].as_str(), a[1].as_str()), ("3", "4"), "{b:?} -> {a:?}");
        } else {
            assert_eq!(b, a, "a record the rule does not touch changed");
        }
    }

    // the store now carries the new rules; ingesting with others is refused
    let extra = dir.path().join("extra.csv");
    ok(&[
        "generate",
        "--records",
        "10",
        "--seed",
        "99",
        "--countries",
        "CA",
        "--out",
        p(&extra),
    ]);
    let (code, _, stderr) = run(&["ingest", "--store", p(&store), p(&extra)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("safetynet classify"), "{stderr}");

    // back to the default rules: everything as before
    let out = ok(&["classify", "--json", "--store", p(&store)]);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["changed"], affected);
    assert_eq!(query_rows(&store, listing), before);
}

#[test]
fn classify_lists_unmatched_venues_and_coverage() {
    let dir = TempDir::new().unwrap();
    let store = store_with(&dir, 3000);
    let out = ok(&["classify", "--store", p(&store)]);
    assert!(out.contains("0 changed type"), "{out}");
    assert!(out.contains("matched no rule"), "{out}");
    let unmatched = query_rows(
        &store,
        "SELECT venue, count(*) AS n FROM cases WHERE classification = 'undetermined' AND venue IS NOT NULL \
         GROUP BY venue ORDER BY n DESC, venue LIMIT 1",
    );
    let line = out
        .lines()
        .find(|l| l.trim_end().ends_with(&unmatched[0][0]))
        .expect("top unmatched venue listed");
    assert!(line.contains(&unmatched[0][1]), "{line}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["classify", "--json", "--store", p(&store)])).unwrap();
    assert!(json["venue_coverage"].as_f64().unwrap() >= 0.95, "{json}");
}

#[test]
fn explain_shows_rule_evidence_and_near_misses() {
    let dir = TempDir::new().unwrap();
    let file = write_csv(
        dir.path(),
        "e.csv",
        &[
            "E1,,src,US,2019,5,US,,US,female,24-26,adult,sex,prostitution,Hotel/Motel,,,,",
            "E2,,src,US,2019,5,US,,US,female,24-26,adult,sex,prostitution,,,,,",
        ],
    );
    let store = dir.path().join("store");
    ingest_json(&store, &[&file]);
    let out = ok(&["explain", "--store", p(&store), "E1"]);
    assert!(out.contains("type        1 Escort Services"), "{out}");
    assert!(out.contains("rule        "), "{out}");
    assert!(
        out.to_lowercase().contains("evidence    venue: \"hotel"),
        "{out}"
    );
    // the labor hotel rule matched the word but not the form
    assert!(
        out.contains("lab.hotel.en") && out.contains("form sex is not one of"),
        "{out}"
    );

    let out = ok(&["explain", "--store", p(&store), "E2"]);
    assert!(
        out.contains("undetermined: sex trafficking, prostitution, no venue"),
        "{out}"
    );

    let (code, _, stderr) = run(&["explain", "--store", p(&store), "NOPE"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("NOPE"), "{stderr}");

    // A store classified with an edit of the rules under the same version:
    // `explain` with the shipped rules said "type 1 Escort Services" with
    // no note, though the store (and every report) holds type 4 for E1.
    let edited = dir.path().join("edited.toml");
    let retargeted = rules_with_retargeted("sex.hotel.en", "typology = 1", "typology = 4");
    std::fs::write(&edited, retargeted).unwrap();
    ok(&["classify", "--store", p(&store), "--rules", p(&edited)]);
    let out = ok(&["explain", "--store", p(&store), "E1"]);
    assert!(out.contains("type        1 Escort Services"), "{out}");
    let stored = out
        .lines()
        .find(|l| l.starts_with("stored      "))
        .unwrap_or_default();
    assert!(!stored.is_empty() && !stored.contains("Escort"), "{out}");
    assert!(
        out.contains("not the ones the store was classified with"),
        "{out}"
    );
    let out = ok(&["explain", "--store", p(&store), "--rules", p(&edited), "E1"]);
    assert!(out.contains("type        4 "), "{out}");
    assert!(
        !out.contains("stored      ") && !out.contains("note        "),
        "{out}"
    );
}

#[test]
fn a_broken_rules_file_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let store = store_with(&dir, 50);
    let cases = [
        (
            DEFAULT_RULES.replacen("confidence = \"high\"", "confidence = \"certain\"", 1),
            "confidence 'certain'",
        ),
        (
            DEFAULT_RULES.replacen("typology = 7", "typology = 26", 1),
            "typology 26",
        ),
        (
            format!("{DEFAULT_RULES}\n[[rule]]\nid = \"x\"\ntypology = 1\nconfidence = \"low\"\n"),
            "rule 'x'",
        ),
        ("version = ".to_string(), "rules"),
    ];
    for (text, needle) in cases {
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, &text).unwrap();
        let (code, _, stderr) = run(&["classify", "--store", p(&store), "--rules", p(&file)]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
    }
}

#[test]
fn every_type_and_extension_has_rules_in_three_languages() {
    let rules = Rules::default_rules().unwrap();
    for lang in ["en", "es", "fr"] {
        for id in 1..=25u8 {
            assert!(
                rules.rules.iter().any(|r| r.lang.as_deref() == Some(lang)
                    && r.target == safetynet::classify::rules::Target::Typology(id)
                    && !r.phrases.is_empty()),
                "type {id} has no {lang} rule"
            );
        }
        for ext in safetynet::base::vocab::EXTENSION_CATEGORIES {
            assert!(
                rules.rules.iter().any(|r| r.lang.as_deref() == Some(lang)
                    && r.target == safetynet::classify::rules::Target::Extension(ext)),
                "{ext} has no {lang} rule"
            );
        }
    }
    // prostitution alone never decides a type
    assert!(
        !rules
            .rules
            .iter()
            .any(|r| r.phrases.is_empty() && r.sectors == ["prostitution"])
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(venue in any::<String>(), form in "(sex|labor|sex_and_labor|other|not_specified|[a-z]{0,8})",
                                   sector in any::<String>()) {
        let rules = Rules::default_rules().unwrap();
        let mut classifier = Classifier::new(&rules);
        let sectors = vec![sector.clone()];
        let c = classifier.classify(Facts { form: &form, sectors: &sectors, venue: Some(&venue) });
        prop_assert!(["typology", "extension", "undetermined"].contains(&c.status));
        prop_assert_eq!(c.status == "undetermined", c.undetermined_reason.is_some());
        let _ = classifier.explain(Facts { form: &form, sectors: &[], venue: Some(&venue) });
        let _ = safetynet::base::vocab::normalise_label(&venue);
        let _ = rules.label(safetynet::base::vocab::CodedField::ControlMethods, &sector);
    }
}
