//! The personal-data guard, measured and run: recall per kind and false
//! refusals on the labelled set `tests/fixtures/guard_cases.tsv` (invented
//! values only), then the binary on files with the issue's examples, on
//! ordinary venues, and on rows that go to the quarantine unscreened by
//! the guard's first pass (nested JSON, broken JSON, invalid UTF-8).
//!
//! `cargo test --test it guard -- --nocapture` prints the measured numbers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetynet::input::guard::{Kind, kind_of_value};
use tempfile::TempDir;

use crate::common::*;

const CASES: &str = include_str!("../fixtures/guard_cases.tsv");

/// Written after the rules and never used to tune them: how the guard does
/// on values it was not built around. Reported, with a loose floor only.
const HELD_OUT: &str = include_str!("../fixtures/guard_held_out.tsv");

/// (label, language, value) of every line of a labelled set.
fn cases(set: &'static str) -> Vec<(&'static str, &'static str, &'static str)> {
    set.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            let (Some(label), Some(lang), Some(value)) = (parts.next(), parts.next(), parts.next())
            else {
                panic!("not label<TAB>language<TAB>value: {l:?}");
            };
            (label, lang, value)
        })
        .collect()
}

/// The kind a label of the set expects the guard to report.
fn expected_kind(label: &str) -> Option<Kind> {
    match label {
        "person" => Some(Kind::PersonName),
        "email" => Some(Kind::Email),
        "phone" => Some(Kind::Phone),
        "address" => Some(Kind::StreetAddress),
        "date" => Some(Kind::ExactDate),
        "id" => Some(Kind::IdentityNumber),
        "ordinary" => None,
        other => panic!("unknown label {other:?}"),
    }
}

/// What the guard did on one labelled set.
struct Measured {
    /// label → (values, stopped, stopped as the labelled kind)
    tally: BTreeMap<&'static str, (usize, usize, usize)>,
    missed: Vec<String>,
    refused: Vec<String>,
}

/// Screens every value of a set and prints recall per kind and the
/// false-refusal rate on ordinary values.
fn measure(name: &str, set: &'static str) -> Measured {
    let cases = cases(set);
    let mut m = Measured {
        tally: BTreeMap::new(),
        missed: Vec::new(),
        refused: Vec::new(),
    };
    for (label, lang, value) in &cases {
        let expected = expected_kind(label);
        let found = kind_of_value(value, false);
        let t = m.tally.entry(label).or_default();
        t.0 += 1;
        t.1 += usize::from(found.is_some());
        t.2 += usize::from(found.is_some() && found == expected);
        match (expected, found) {
            (Some(_), None) => m.missed.push(format!("{label} ({lang}): {value}")),
            (None, Some(kind)) => m.refused.push(format!("{lang}: {value} -> {kind}")),
            _ => {}
        }
    }
    println!(
        "personal-data guard on {name}, {} labelled values:",
        cases.len()
    );
    for (label, (n, stopped, as_kind)) in &m.tally {
        let pct = 100.0 * *stopped as f64 / *n as f64;
        if *label == "ordinary" {
            println!(
                "  ordinary venues/texts: {n}, refused {stopped} (false-refusal rate {pct:.1}%)"
            );
        } else {
            println!(
                "  {label:<8} {n:>3} values, stopped {stopped:>3} (recall {pct:.1}%), reported as {label} {as_kind:>3}"
            );
        }
    }
    for line in m.missed.iter().chain(&m.refused) {
        println!("    wrong: {line}");
    }
    m
}

#[test]
fn guard_labelled_set_recall_per_kind_and_false_refusals() {
    assert!(cases(CASES).len() >= 500);
    let m = measure("the labelled set", CASES);
    assert!(
        m.missed.is_empty(),
        "personal data let through:\n{}",
        m.missed.join("\n")
    );
    assert!(
        m.refused.is_empty(),
        "ordinary values refused:\n{}",
        m.refused.join("\n")
    );
    for label in ["person", "email", "phone", "address", "date", "id"] {
        let (n, _, _) = m.tally.get(label).copied().unwrap_or_default();
        assert!(n >= 40, "{label}: only {n} values in the set");
    }
}

#[test]
fn guard_held_out_set_is_measured() {
    let m = measure("the held-out set", HELD_OUT);
    let personal: usize = m
        .tally
        .iter()
        .filter(|(label, _)| **label != "ordinary")
        .map(|(_, t)| t.0)
        .sum();
    // a floor against regressions, not the goal (the goal is the set above)
    assert!(m.missed.len() * 10 <= personal, "{:?}", m.missed);
    assert!(m.refused.len() <= 3, "{:?}", m.refused);
}

// ------------------------------------------------------ the binary --

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A canonical CSV line with the given values (CSV-quoted) in record_id,
/// case_id, data_source and venue.
fn line(record_id: &str, case_id: &str, data_source: &str, venue: &str) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    format!(
        "{},{},{},US,2020,,,,,,,,sex,,{},,,,",
        q(record_id),
        q(case_id),
        q(data_source),
        q(venue)
    )
}

const ISSUE_EXAMPLES: &[(&str, &str)] = &[
    ("met John Smith at Motel 6", "person names"),
    ("JOHN SMITH", "person names"),
    ("Smith, John", "person names"),
    ("555.123.4567", "phone numbers"),
    ("5551234567", "phone numbers"),
    ("call 555-123-4567 ask for Rosa", "phone numbers"),
    ("rosa[at]example.org", "e-mail addresses"),
    ("rosa(at)example.org", "e-mail addresses"),
    ("rosa at example dot org", "e-mail addresses"),
    ("rosa＠example.org", "e-mail addresses"),
    ("Main Street 1200", "street addresses"),
    ("PO Box 1234", "street addresses"),
    ("DOB 1984-03-12", "exact dates"),
    ("born 12/03/1984", "exact dates"),
    ("March 12, 1984", "exact dates"),
    ("SSN 123-45-6789", "identity document numbers"),
    ("passport X1234567", "identity document numbers"),
];

#[test]
fn guard_refuses_each_issue_example_in_each_text_column() {
    let dir = TempDir::new().unwrap();
    for column in ["venue", "record_id", "case_id", "data_source"] {
        for (i, (value, kind)) in ISSUE_EXAMPLES.iter().enumerate() {
            let cell = |c: &str, ordinary: &str| {
                if c == column {
                    value.to_string()
                } else {
                    ordinary.to_string()
                }
            };
            let text = format!(
                "{HEADER}\n{}\n",
                line(
                    &cell("record_id", "r1"),
                    &cell("case_id", "c1"),
                    &cell("data_source", "hotline"),
                    &cell("venue", "bar"),
                )
            );
            let file = write(dir.path(), &format!("{column}-{i}.csv"), text.as_bytes());
            let store = dir.path().join(format!("s-{column}-{i}"));
            let (code, stdout, stderr) = run(&["ingest", p(&file), "--store", p(&store)]);
            assert_eq!(code, 2, "{column} = {value:?}: {stdout}{stderr}");
            assert!(
                stderr.contains(&format!("'{column}'")) && stderr.contains(kind),
                "{column} = {value:?}: {stderr}"
            );
            assert!(!stderr.contains(value), "the value was printed: {stderr}");
            assert!(!store.join("manifest.json").exists(), "{column}: stored");
        }
    }
}

#[test]
fn guard_lets_ordinary_venues_through() {
    let dir = TempDir::new().unwrap();
    let venues = [
        "Lisa Nails",
        "Linda Nail Spa",
        "Rosa Blanca Bar",
        "Maria Bonita Restaurant",
        "Sofia Spa",
        "Jean Coutu Pharmacy",
        "truck stop near 99 Highway",
    ];
    let mut text = format!("{HEADER}\n");
    for (i, venue) in venues.iter().enumerate() {
        text.push_str(&line(&format!("v{i}"), "", "hotline", venue));
        text.push('\n');
    }
    let file = write(dir.path(), "venues.csv", text.as_bytes());
    let store = dir.path().join("store");
    let summary = ingest_json(&store, &[&file]);
    assert_eq!(summary["stored"], venues.len(), "{summary}");
}

/// Every quarantine line of a store, as (column, value) pairs.
fn quarantined(store: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(store.join("quarantine")).unwrap() {
        let mut reader = csv::Reader::from_path(entry.unwrap().path()).unwrap();
        for r in reader.records() {
            let r = r.unwrap();
            out.push((r[2].to_string(), r[3].to_string()));
        }
    }
    out
}

#[test]
fn guard_masks_personal_values_in_the_quarantine() {
    let dir = TempDir::new().unwrap();
    let ok_line = r#"{"record_id":"j1","reporting_country":"US","year":2020,"trafficking_form":"sex","venue":"bar"}"#;
    let nested = r#"{"record_id":"j2","reporting_country":"US","year":2020,"trafficking_form":"sex","venue":{"phone":"555-123-4567"}}"#;
    let broken =
        r#"{"record_id":"j3","reporting_country":"US","venue":"write to rosa.m@example.com""#;
    let jsonl = write(
        dir.path(),
        "export.jsonl",
        format!("{ok_line}\n{nested}\n{broken}\n").as_bytes(),
    );
    let store = dir.path().join("store");
    let summary = ingest_json(&store, &[&jsonl]);
    assert_eq!(
        (&summary["stored"], &summary["quarantined"]),
        (&serde_json::json!(1), &serde_json::json!(2)),
        "{summary}"
    );

    // the encoding is detected on the first 64 KiB: the bad byte comes later
    let mut csv = format!("{HEADER}\n").into_bytes();
    for i in 0..3000 {
        csv.extend(line(&format!("c{i:05}"), "", "hotline", "bar").as_bytes());
        csv.push(b'\n');
    }
    csv.extend(line("bad", "", "hotline", "met Maria Lopez at caf\u{e9}").as_bytes());
    // the "é" above as one Latin-1 byte: invalid UTF-8
    let at = csv.len() - csv.iter().rev().position(|&b| b == 0xc3).unwrap() - 1;
    csv.splice(at..at + 2, [0xe9]);
    csv.push(b'\n');
    let file = write(dir.path(), "latin.csv", &csv);
    let summary = ingest_json(&store, &[&file]);
    assert_eq!(summary["quarantined"], 1, "{summary}");

    let lines = quarantined(&store);
    println!("quarantine lines: {lines:?}");
    let all: String = lines.iter().map(|(c, v)| format!("{c} {v}\n")).collect();
    for personal in ["555-123-4567", "rosa.m@example.com", "Maria Lopez"] {
        assert!(
            !all.contains(personal),
            "{personal} in the quarantine:\n{all}"
        );
    }
    for mask in [
        "[masked: phone number]",
        "[masked: e-mail address]",
        "[masked: person name]",
    ] {
        assert!(all.contains(mask), "no {mask} in the quarantine:\n{all}");
    }
}

/// A column whose values only look like a kind of personal data (here the
/// hotline's own public number, in each record's source) can allow that
/// kind in its mapping field, with a reason: the file is ingested, the
/// ingest says what was let through and why, and the store's manifest
/// records it. Without the allowance the file is refused, and `mapping
/// check` shows the shape of what it flagged, never the values. The other
/// kinds are still screened in that column.
#[test]
fn a_mapping_can_allow_a_kind_in_a_column_and_the_screen_stays() {
    let dir = TempDir::new().unwrap();
    let export = write(
        dir.path(),
        "calls.csv",
        b"folio,linea,anio,tipo\nA1,800 555 0199,2021,Sexual\nA2,800 555 0100,2022,Laboral\nA3,800 555 0199,2022,Laboral\n",
    );
    let mapping = |allow: &str| {
        let text = format!(
            "[layout]\nname = \"calls\"\n[constants]\nreporting_country = \"MX\"\n\
             [fields.record_id]\ncolumn = \"folio\"\n\
             [fields.data_source]\ncolumn = \"linea\"\n{allow}\n\
             [fields.year]\ncolumn = \"anio\"\n\
             [fields.trafficking_form]\ncolumn = \"tipo\"\nvalues = {{ Sexual = \"sex\", Laboral = \"labor\" }}\n"
        );
        write(dir.path(), "calls.toml", text.as_bytes())
    };
    let store = dir.path().join("store");
    let plain = mapping("");
    let (code, _, stderr) = run(&[
        "ingest",
        "--store",
        p(&store),
        "--mapping",
        p(&plain),
        p(&export),
    ]);
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.contains("column 'linea'") && stderr.contains("phone"),
        "{stderr}"
    );
    assert!(
        stderr.contains("999 999 9999 × 3"),
        "the shape, counted: {stderr}"
    );
    assert!(!stderr.contains("555 0199"), "never the value: {stderr}");
    let (_, stdout, stderr) = run(&["mapping", "check", "--sample", p(&export), p(&plain)]);
    let shown = format!("{stdout}{stderr}");
    assert!(
        shown.contains("999 999 9999 × 3") && !shown.contains("555 0199"),
        "{shown}"
    );

    // an allowance without a reason is refused
    let no_reason = mapping("allow = [\"phone\"]");
    let (code, _, stderr) = run(&[
        "ingest",
        "--store",
        p(&store),
        "--mapping",
        p(&no_reason),
        p(&export),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("allow_why"), "{stderr}");

    let allowed = mapping(
        "allow = [\"phone\"]\nallow_why = \"the public number of the hotline that took the call\"",
    );
    let stdout = ok(&[
        "ingest",
        "--store",
        p(&store),
        "--mapping",
        p(&allowed),
        p(&export),
    ]);
    assert!(
        stdout.contains("column 'linea': 3 value(s) shaped like 'phone' let through")
            && stdout.contains("the public number of the hotline"),
        "{stdout}"
    );
    let recorded = &manifest(&store)["inputs"][0]["guard_allowed"][0];
    assert_eq!(recorded["column"], "linea");
    assert_eq!(recorded["kind"], "phone");
    assert_eq!(recorded["values"], 3);

    // the allowed column is still screened for every other kind
    let with_email = write(
        dir.path(),
        "calls2.csv",
        b"folio,linea,anio,tipo\nB1,800 555 0199,2021,Sexual\nB2,ana.perez@example.org,2022,Laboral\n",
    );
    let (code, _, stderr) = run(&[
        "ingest",
        "--store",
        p(&store),
        "--mapping",
        p(&allowed),
        p(&with_email),
    ]);
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.contains("e-mail") && !stderr.contains("ana.perez"),
        "{stderr}"
    );
}
