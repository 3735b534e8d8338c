//! The directory of organisations and the service gaps: import validates
//! and reconciles; fixtures with known gaps are found and ranked first;
//! demand is disclosure-controlled; a place the directory does not cover is
//! reported as such, not as "no gap".

use std::path::{Path, PathBuf};

use crate::common::*;
use tempfile::TempDir;

const DIRECTORY_HEADER: &str = "org_id,name,country,subdivision,services,populations,forms";

fn directory(dir: &Path, name: &str, rows: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut text = format!("{DIRECTORY_HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// `count` records exploited in `place` (US subdivision) with the profile.
fn cases(
    lines: &mut Vec<String>,
    count: usize,
    place: &str,
    age: &str,
    citizenship: &str,
    form: &str,
) {
    for _ in 0..count {
        let id = lines.len() + 1;
        let (sectors, venue) = if form == "sex" {
            ("prostitution", "Hotel")
        } else {
            ("agriculture", "farm")
        };
        lines.push(format!(
            "G{id:04},G{id:04},fixture,US,2022,,US,{place},{citizenship},female,{age},,{form},{sectors},{venue},,,,"
        ));
    }
}

/// A store whose demand is known: 40 minors sexually exploited in Texas,
/// 30 adult foreign nationals in agriculture in California, 20 adult
/// women sexually exploited in Washington, and 4 adults in Ohio.
fn store(dir: &Path) -> PathBuf {
    let mut lines = Vec::new();
    cases(&mut lines, 40, "US-TX", "9-17", "US", "sex");
    cases(&mut lines, 30, "US-CA", "24-26", "MX", "labor");
    cases(&mut lines, 20, "US-WA", "24-26", "US", "sex");
    cases(&mut lines, 4, "US-OH", "24-26", "US", "sex");
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let csv = write_csv(dir, "cases.csv", &refs);
    let store = dir.join("store");
    let s = ingest_json(&store, &[&csv]);
    assert_eq!(s["stored"], 94, "{s}");
    store
}

fn rows(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    csv_rows(csv::Reader::from_path(path).unwrap())
}

#[test]
fn a_directory_import_validates_quarantines_and_reconciles() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("store");
    let file = directory(
        dir.path(),
        "dir.csv",
        &[
            "A1,Shelter TX,US,US-TX,Shelter; Legal Aid,Women,sex",
            "A2,Clinic,us,,medical|mental health,all,all",
            "A3,Bad service,US,US-TX,shelter;yoga,all,all",
            "A4,Bad country,USA,,shelter,all,all",
            "A5,Elsewhere,US,MX-JAL,shelter,all,all",
            "A6,No populations,US,,shelter,,all",
            "A7,,US,,shelter,all,all",
            "A1,Same id again,US,,shelter,all,all",
            "A8,Kids,US,US-CA,child protection,Children;LGBTQ+,labour",
        ],
    );
    let out = ok(&[
        "directory",
        "import",
        p(&file),
        "--store",
        p(&store),
        "--json",
    ]);
    let s: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let c = &s["counts"];
    assert_eq!(
        (
            c["read"].as_u64(),
            c["stored"].as_u64(),
            c["quarantined"].as_u64(),
            c["duplicates"].as_u64()
        ),
        (Some(9), Some(3), Some(5), Some(1)),
        "{s}"
    );
    let quarantine = std::fs::read_to_string(s["quarantine_file"].as_str().unwrap()).unwrap();
    for expected in [
        "dir.csv,4,services,yoga,\"unknown service 'yoga' (allowed: shelter,",
        "dir.csv,5,country,USA,not an ISO 3166-1 alpha-2 code",
        "dir.csv,6,subdivision,MX-JAL,subdivision MX-JAL is not in the organization's country US",
        "dir.csv,7,populations,,no population listed (write `all` if it serves every one)",
        "dir.csv,8,name,,name is required",
    ] {
        assert!(
            quarantine.contains(expected),
            "{expected} in:\n{quarantine}"
        );
    }
    // the same file again changes nothing
    let again = ok(&["directory", "import", p(&file), "--store", p(&store)]);
    assert!(again.contains("already imported"), "{again}");
    // a file without a required column is refused as a whole
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "org_id,name,country\nB1,x,US\n").unwrap();
    let (code, _, stderr) = run(&["directory", "import", p(&bad), "--store", p(&store)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("missing column(s) services, populations, forms"),
        "{stderr}"
    );
    // an XLSX directory is read the same way
    let xlsx = dir.path().join("more.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in DIRECTORY_HEADER.split(',').enumerate() {
        sheet.write_string(0, c as u16, h).unwrap();
    }
    for (c, v) in [
        "X1",
        "Legal clinic",
        "US",
        "US-WA",
        "legal aid",
        "all",
        "all",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(1, c as u16, *v).unwrap();
    }
    book.save(&xlsx).unwrap();
    let out = ok(&["directory", "import", p(&xlsx), "--store", p(&store)]);
    assert!(
        out.contains("read 1 = stored 1 + quarantined 0 + duplicates 0; 4 organisations"),
        "{out}"
    );
}

#[test]
fn known_gaps_are_found_ranked_and_disclosure_controlled() {
    let dir = TempDir::new().unwrap();
    let store = store(dir.path());
    // Texas: a shelter for women only (minors are not served) and nothing
    // else; California: legal aid and medical care, no immigration legal
    // aid; Washington and Ohio: nothing listed at all, no nationwide entry.
    let file = directory(
        dir.path(),
        "dir.csv",
        &[
            "T1,Women's shelter,US,US-TX,shelter,women,sex",
            "C1,Farmworker law,US,US-CA,legal_aid;medical;case_management,all,labor",
        ],
    );
    ok(&["directory", "import", p(&file), "--store", p(&store)]);
    let out = dir.path().join("gaps");
    let stdout = ok(&["gaps", "--store", p(&store), "--out", p(&out)]);
    assert!(stdout.contains("gaps ranked"), "{stdout}");
    let gaps = rows(&out.join("tables/01_service_gaps.csv"));
    let find = |place: &str, service: &str| {
        gaps.iter()
            .find(|r| r["subdivision"] == place && r["service"] == service)
            .unwrap_or_else(|| panic!("no gap {place} {service} in {gaps:#?}"))
    };
    // Texas minors: shelter exists but not for minors, child protection
    // not at all: 40 unmet each, ranked first (largest unmet demand).
    // Published counts carry their records' noise (at most 3 either way);
    // the same records, the same noise.
    let near = |published: &str, truth: i64| {
        let v: i64 = published.parse().unwrap();
        assert!(
            (v - truth).abs() <= 3,
            "{published} is not {truth} give or take 3"
        );
    };
    assert_eq!(gaps[0]["subdivision"], "US-TX", "{:#?}", &gaps[..3]);
    near(&gaps[0]["unmet"], 40);
    let shelter = find("US-TX", "shelter");
    near(&shelter["demand"], 40);
    assert_eq!(shelter["demand"], shelter["unmet"], "the same 40 victims");
    assert_eq!(shelter["status"], "offered, not to these victims");
    assert!(shelter["not_offered_to"].contains("minors"), "{shelter:?}");
    assert_eq!(
        find("US-TX", "child_protection")["status"],
        "no organization offers it"
    );
    // California foreign nationals: immigration legal aid is missing, legal
    // aid is not
    near(&find("US-CA", "immigration_legal_aid")["unmet"], 30);
    assert!(
        !gaps
            .iter()
            .any(|r| r["subdivision"] == "US-CA" && r["service"] == "legal_aid")
    );
    // Washington: not covered by the directory, which is not "no gap"
    let wa = find("US-WA", "shelter");
    near(&wa["unmet"], 20);
    assert_eq!(wa["status"], "no organizations listed");
    // Ohio's 4 victims are never published as a number
    for r in gaps.iter().filter(|r| r["subdivision"] == "US-OH") {
        assert_eq!(r["unmet"], "x", "{r:?}");
        assert_eq!(r["demand"], "x", "{r:?}");
        let low: i64 = r["unmet_low"].parse().unwrap();
        assert!(
            low <= 4
                && (r["unmet_high"].is_empty() || r["unmet_high"].parse::<i64>().unwrap() >= 4)
        );
    }
    // no published demand anywhere is between 1 and 9
    for r in rows(&out.join("tables/02_demand_and_supply.csv")) {
        for c in ["demand", "unmet"] {
            if let Ok(v) = r[c].parse::<i64>() {
                assert!(v == 0 || v >= 10, "{c} = {v} in {r:?}");
            }
        }
    }
    let coverage = rows(&out.join("tables/03_directory_coverage.csv"));
    assert_eq!(coverage[0]["subdivisions_without_entries"], "US-OH, US-WA");
    for file in [
        "gaps.md",
        "gaps.html",
        "gaps.xlsx",
        "charts/service_gaps.svg",
        "charts/service_gaps.png",
    ] {
        assert!(out.join(file).exists(), "{file}");
    }
    // and the main report has the same tables, plus its methods section
    let report = dir.path().join("report");
    ok(&["report", "--store", p(&store), "--out", p(&report)]);
    // no population table: tables 01-10, the trafficker tables 11-12, the
    // table by reporting country 13, confidence 14, the mix tests as 15, the
    // gaps 16-18
    assert!(report.join("tables/16_service_gaps.csv").exists());
    assert!(report.join("tables/18_directory_coverage.csv").exists());
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(
        md.contains("### Service gaps") && md.contains("no organizations listed"),
        "{md:.300}"
    );
}

#[test]
fn gaps_without_a_directory_or_with_a_broken_needs_file_are_refused() {
    let dir = TempDir::new().unwrap();
    let store = store(dir.path());
    let out = dir.path().join("gaps");
    let (code, _, stderr) = run(&["gaps", "--store", p(&store), "--out", p(&out)]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no directory of organizations"), "{stderr}");
    let file = directory(
        dir.path(),
        "dir.csv",
        &["T1,Shelter,US,US-TX,shelter,all,all"],
    );
    ok(&["directory", "import", p(&file), "--store", p(&store)]);
    let needs = dir.path().join("needs.toml");
    std::fs::write(
        &needs,
        "version = '1'\n[[need]]\nservice = 'spa'\nreason = 'x'\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&[
        "gaps",
        "--store",
        p(&store),
        "--out",
        p(&out),
        "--needs",
        p(&needs),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown service"), "{stderr}");
    // demand counts victims: the unit flag it shares with report does not apply
    let (code, _, stderr) = run(&[
        "gaps",
        "--store",
        p(&store),
        "--out",
        p(&out),
        "--unit",
        "cases",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--unit cases does not apply"), "{stderr}");
}

/// Gaps of a selection without records read as "no gaps": refused, as a
/// report of one is, naming what the store does not hold.
#[test]
fn gaps_of_a_country_or_years_without_records_are_refused() {
    let dir = TempDir::new().unwrap();
    let store = store(dir.path());
    let file = directory(
        dir.path(),
        "dir.csv",
        &["T1,Women's shelter,US,US-TX,shelter,women,sex"],
    );
    ok(&["directory", "import", p(&file), "--store", p(&store)]);
    for (args, named) in [
        (vec!["--country", "FR"], "FR"),
        (vec!["--country", "US,FR"], "FR"),
        (vec!["--from", "2030", "--to", "2031"], "from 2030 to 2031"),
    ] {
        let out = dir.path().join("gaps-refused");
        let mut argv = vec!["gaps", "--store", p(&store), "--out", p(&out)];
        argv.extend(args.iter().copied());
        let (code, _, err) = run(&argv);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains("has no records of") && err.contains(named),
            "{args:?}: {err}"
        );
        assert!(!out.exists(), "{args:?}");
    }
    // and no release was recorded for them
    let (_, releases, _) = run(&["releases", "--store", p(&store)]);
    assert!(!releases.contains("gaps"), "{releases}");
}

/// Gaps cover the chosen countries' years, as a report does: `--country
/// US` over a store whose other country reports earlier years was labelled
/// with the store's first year, and a period asked beyond the records is
/// narrowed to them, with a note.
#[test]
fn gaps_cover_the_chosen_records_years_and_say_when_they_narrow_a_period() {
    let dir = TempDir::new().unwrap();
    let store = store(dir.path());
    let earlier = write_csv(
        dir.path(),
        "earlier.csv",
        &["CA1,CA1,fixture,CA,2019,,CA,,CA,female,24-26,,sex,prostitution,Hotel,,,,"],
    );
    ingest_json(&store, &[&earlier]);
    let file = directory(
        dir.path(),
        "dir.csv",
        &["T1,Women's shelter,US,US-TX,shelter,women,sex"],
    );
    ok(&["directory", "import", p(&file), "--store", p(&store)]);
    let scope_of = |out: &str, args: &[&str]| -> (String, String) {
        let mut argv = vec!["gaps", "--store", p(&store), "--out"];
        let out = dir.path().join(out);
        argv.push(p(&out));
        argv.extend(args);
        let (code, _, err) = run(&argv);
        assert_eq!(code, 0, "{args:?}: {err}");
        let (_, releases, _) = run(&["releases", "--store", p(&store)]);
        let last = releases.lines().last().unwrap_or_default().to_string();
        (last, err)
    };
    let (scope, note) = scope_of("us", &["--country", "US"]);
    assert!(
        scope.contains("2022-2022") || scope.contains(" 2022 "),
        "{scope}"
    );
    assert!(!scope.contains("2019"), "{scope}");
    assert!(!note.contains("note:"), "{note}");
    let (scope, note) = scope_of(
        "us-wider",
        &["--country", "US", "--from", "2010", "--to", "2030"],
    );
    assert!(
        !scope.contains("2010") && !scope.contains("2030"),
        "{scope}"
    );
    assert!(
        note.contains("note: the records of US fall in 2022: the gaps list covers 2022, not the 2010–2030 asked"),
        "{note}"
    );
    let (code, _, err) = run(&[
        "gaps",
        "--store",
        p(&store),
        "--out",
        p(&dir.path().join("none")),
        "--country",
        "US",
        "--to",
        "2020",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--to 2020 is before the records of US, which start in 2022"),
        "{err}"
    );
}

/// A directory whose `subdivision` column was misspelt (`subdivison`) had
/// every organisation stored as nationwide, with exit 0, and `gaps` then
/// found no gap. A column a letter or two from a directory column the file
/// lacks is refused naming both; other columns are imported with a warning
/// that they are not kept.
#[test]
fn a_misspelt_directory_column_is_refused_and_others_are_named() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = store(dir.path());
    let row = "ORG-1,Shelter,US,US-TX,shelter,all,all";
    let misspelt = dir.path().join("misspelt.csv");
    std::fs::write(
        &misspelt,
        format!(
            "{}\n{row}\n",
            DIRECTORY_HEADER.replace("subdivision", "subdivison")
        ),
    )
    .unwrap();
    let (code, _, stderr) = run(&["directory", "import", p(&misspelt), "--store", p(&store)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("'subdivison'") && stderr.contains("did you mean 'subdivision'"),
        "{stderr}"
    );
    assert!(!store.join("directory").exists());
    let extra = dir.path().join("extra.csv");
    std::fs::write(&extra, format!("{DIRECTORY_HEADER},phone\n{row},555\n")).unwrap();
    let (code, stdout, stderr) = run(&["directory", "import", p(&extra), "--store", p(&store)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("stored 1"), "{stdout}");
    assert!(
        stderr.contains("not directory columns and are not kept: phone"),
        "{stderr}"
    );
}

/// A directory cut from six organisations to two, its manifest deleted,
/// read as intact in `verify`, and `gaps` published from it. The directory's
/// file is now checked against the SHA-256 its import recorded, by
/// `verify` and before anything reads it (exit code 3).
#[test]
fn a_directory_changed_outside_the_tool_is_damage() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = self::store(dir.path());
    let six: Vec<String> = (1..=6)
        .map(|i| format!("ORG-{i},Shelter {i},US,US-TX,shelter,all,all"))
        .collect();
    let six: Vec<&str> = six.iter().map(String::as_str).collect();
    let full = directory(dir.path(), "six.csv", &six);
    ok(&["directory", "import", p(&full), "--store", p(&store)]);
    ok(&["verify", "--store", p(&store)]);
    // another store's directory of two, copied over this one's
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let other_store = self::store(&other);
    let two = directory(&other, "two.csv", &six[..2]);
    ok(&["directory", "import", p(&two), "--store", p(&other_store)]);
    let parquet = store.join("directory/organizations.parquet");
    std::fs::copy(
        other_store.join("directory/organizations.parquet"),
        &parquet,
    )
    .unwrap();
    for args in [
        vec!["verify", "--store", p(&store)],
        vec![
            "gaps",
            "--store",
            p(&store),
            "--out",
            p(&dir.path().join("g1")),
        ],
    ] {
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 3, "{args:?}: {stderr}");
        assert!(stderr.contains("SHA-256 differs"), "{stderr}");
    }
    std::fs::remove_file(store.join("directory/manifest.json")).unwrap();
    let (code, _, stderr) = run(&["verify", "--store", p(&store)]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("without directory/manifest.json"),
        "{stderr}"
    );
    assert!(!dir.path().join("g1").exists());
}
