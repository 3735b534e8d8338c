//! Issue 2: generate → ingest → query, re-ingest, quarantine, atomicity,
//! determinism, file-level errors and the read-only query.

use crate::common::*;
use tempfile::TempDir;

fn generate(dir: &TempDir, name: &str, records: u64, seed: u64) -> std::path::PathBuf {
    let out = dir.path().join(name);
    ok(&[
        "generate",
        "--records",
        &records.to_string(),
        "--seed",
        &seed.to_string(),
        "--countries",
        "US,MX,CA",
        "--years",
        "2015-2024",
        "--out",
        p(&out),
    ]);
    out
}

/// Counts the rows of a generated CSV per reporting country, independently
/// of the tool.
fn count_by_country(csv_path: &std::path::Path) -> std::collections::BTreeMap<String, u64> {
    let mut reader = csv::Reader::from_path(csv_path).unwrap();
    let col = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "reporting_country")
        .unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for r in reader.records() {
        *counts.entry(r.unwrap()[col].to_string()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn generate_ingest_query_round_trip() {
    let dir = TempDir::new().unwrap();
    let csv_path = generate(&dir, "export.csv", 3000, 7);
    let store = dir.path().join("store");
    let summary = ingest_json(&store, &[&csv_path]);
    assert_eq!(summary["read"], 3000);
    assert_eq!(
        summary["stored"], 3000,
        "generated data is all valid: {summary}"
    );
    assert_eq!(summary["quarantined"], 0);
    assert_eq!(summary["duplicates"], 0);
    assert_eq!(summary["files"][0]["read"], 3000);

    let expected = count_by_country(&csv_path);
    let rows = query_rows(
        &store,
        "SELECT reporting_country, count(*) FROM cases GROUP BY 1 ORDER BY 1",
    );
    let got: std::collections::BTreeMap<String, u64> = rows
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    assert_eq!(got, expected);
    // every stored record got a classification outcome
    assert_eq!(
        query_count(
            &store,
            "SELECT count(*) FROM cases WHERE classification IS NULL"
        ),
        0
    );
}

/// Each stored file holds one country and year, with statistics: a filter on
/// both reads one partition's row groups, and DataFusion says so.
#[test]
fn a_country_and_year_filter_reads_one_partition() {
    let dir = TempDir::new().unwrap();
    let csv_path = generate(&dir, "export.csv", 3000, 7);
    let store = dir.path().join("store");
    ingest_json(&store, &[&csv_path]);
    let partitions = query_count(
        &store,
        "SELECT count(*) FROM (SELECT DISTINCT reporting_country, year FROM cases)",
    );
    assert!(partitions > 10, "{partitions} partitions");
    let plan = ok(&[
        "query",
        "--store",
        p(&store),
        "EXPLAIN ANALYZE SELECT count(*) FROM cases WHERE year = 2019 AND reporting_country = 'US'",
    ]);
    let pruned = plan
        .split("row_groups_pruned_statistics=")
        .nth(1)
        .and_then(|rest| rest.split([',', ']']).next())
        .unwrap_or_else(|| panic!("no row group pruning metric in:\n{plan}"));
    let (total, matched) = pruned
        .split_once(" total → ")
        .unwrap_or_else(|| panic!("unexpected metric '{pruned}'"));
    let total: u64 = total.trim().parse().unwrap();
    // "1 matched", or "1 matched -> 1 fully matched" when the statistics
    // show every row of the group matches
    let matched: u64 = matched
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected metric '{pruned}'"));
    assert_eq!(matched, 1, "{pruned}");
    assert!(total >= partitions, "{pruned}");
}

#[test]
fn jsonl_and_parquet_exports_ingest_like_csv() {
    let dir = TempDir::new().unwrap();
    let csv_path = generate(&dir, "a.csv", 500, 3);
    let jsonl = generate(&dir, "a.jsonl", 500, 3);
    let parquet = generate(&dir, "a.parquet", 500, 3);
    let mut stores = Vec::new();
    for (i, file) in [&csv_path, &jsonl, &parquet].into_iter().enumerate() {
        let store = dir.path().join(format!("store{i}"));
        let s = ingest_json(&store, &[file]);
        assert_eq!(s["stored"], 500, "{file:?}: {s}");
        stores.push(store);
    }
    let sql = "SELECT record_id, year, gender, age_band, trafficking_form, array_to_string(control_methods, ';') AS c, \
               abduction, typology_id, extension_category FROM cases ORDER BY record_id";
    let reference = query_rows(&stores[0], sql);
    for store in &stores[1..] {
        assert_eq!(
            query_rows(store, sql),
            reference,
            "{store:?} differs from the CSV ingest"
        );
    }
}

#[test]
fn reingesting_a_file_changes_nothing_and_says_so() {
    let dir = TempDir::new().unwrap();
    let csv_path = generate(&dir, "export.csv", 300, 1);
    let store = dir.path().join("store");
    ingest_json(&store, &[&csv_path]);
    let before = snapshot(&store);
    let again = ingest_json(&store, &[&csv_path]);
    assert_eq!(again["read"], 0);
    assert_eq!(again["stored"], 0);
    assert!(
        again["files"][0]["status"]
            .as_str()
            .unwrap()
            .contains("already ingested")
    );
    assert_eq!(snapshot(&store), before, "re-ingest changed the store");
    assert_eq!(query_count(&store, "SELECT count(*) FROM cases"), 300);
}

/// A copy under another name is hashed beside its screen rather than
/// before it; it is still recognised, in the same `ingest` and in a later
/// one, and nothing of it is stored twice.
#[test]
fn a_copy_under_another_name_is_recognised_as_already_ingested() {
    let dir = TempDir::new().unwrap();
    let csv_path = generate(&dir, "export.csv", 300, 1);
    let copy = dir.path().join("copy.csv");
    let later = dir.path().join("later-copy.csv");
    std::fs::copy(&csv_path, &copy).unwrap();
    std::fs::copy(&csv_path, &later).unwrap();
    let store = dir.path().join("store");
    let both = ingest_json(&store, &[&csv_path, &copy]);
    assert_eq!(both["stored"], 300, "{both}");
    let status = |summary: &serde_json::Value, i: usize| {
        summary["files"][i]["status"].as_str().unwrap().to_string()
    };
    assert_eq!(status(&both, 0), "ingested");
    assert!(
        status(&both, 1).contains(&format!("already ingested (as {}", csv_path.display())),
        "{both}"
    );
    let before = snapshot(&store);
    let again = ingest_json(&store, &[&later]);
    assert_eq!(again["read"], 0, "{again}");
    assert!(status(&again, 0).contains("already ingested"), "{again}");
    assert_eq!(snapshot(&store), before, "the copy changed the store");
    assert_eq!(query_count(&store, "SELECT count(*) FROM cases"), 300);
}

#[test]
fn bad_rows_are_quarantined_with_reasons_and_counts_reconcile() {
    let dir = TempDir::new().unwrap();
    let file = write_csv(
        dir.path(),
        "bad.csv",
        &[
            "A1,,src,US,2019,5,US,US-TX,MX,female,24-26,adult,sex,prostitution,Motel,job_offer,intimate_partner;family,threats;debt_bondage,false",
            "A2,,src,US,2019,5,US,,US,female,,,sex,,,,,not_a_method,", // unknown code
            "A3,,src,UXA,2019,5,US,,US,female,,,sex,,,,,,",            // invalid country
            "A4,,src,US,2999,5,US,,US,female,,,sex,,,,,,",             // future year
            "A5,,src,US,1985,5,US,,US,female,,,sex,,,,,,",             // before 1990
            "A6,,src,US,20x9,5,US,,US,female,,,sex,,,,,,",             // malformed number
            "A7,,src,US,2019,5,US",                                    // wrong column count
            "A1,,src,US,2020,1,US,,US,male,,,labor,,,,,,",             // duplicate id
            "A8,,src,US,2019.0,13,US,,US,female,,,sex,,,,,,",          // month out of range
            "A9,,src,US,2019,,US,MX-JAL,US,female,,,sex,,,,,,",        // subdivision not in country
            "A10,,src,US,2019,,US,,US,female,9-17,adult,sex,,,,,,",    // majority contradicts band
            "A11,C1,src,US,2019.0,,,,,,,,labor,,Farm,,,,",             // valid, mostly unknown
        ],
    );
    let store = dir.path().join("store");
    let s = ingest_json(&store, &[&file]);
    assert_eq!(s["read"], 12);
    assert_eq!(s["stored"], 2);
    assert_eq!(s["duplicates"], 1);
    assert_eq!(s["quarantined"], 9);
    assert_eq!(s["files"][0]["read"], 12);

    let quarantine = store.join(s["files"][0]["quarantine_file"].as_str().unwrap());
    let mut reader = csv::Reader::from_path(&quarantine).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec!["file", "row", "column", "value", "reason"]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let find = |row: &str| {
        rows.iter()
            .find(|r| r[1] == row)
            .unwrap_or_else(|| panic!("no quarantine line for row {row}: {rows:?}"))
    };
    // rows are numbered as lines of the file: header is line 1
    assert_eq!(find("3")[2], "control_methods");
    assert!(find("3")[4].contains("unknown control_methods"));
    assert_eq!(find("4")[2], "reporting_country");
    assert_eq!(find("4")[3], "UXA");
    assert!(find("5")[4].contains("future"));
    assert!(find("6")[4].contains("outside 1990"));
    assert!(find("7")[4].contains("malformed number"));
    assert!(find("8")[4].contains("fields, header has"));
    assert!(find("9")[4].contains("duplicate"));
    assert_eq!(find("10")[2], "month");
    assert!(find("11")[4].contains("not in exploitation country"));
    assert!(find("12")[4].contains("contradicts age band"));
    assert!(rows.iter().all(|r| r[0].ends_with("bad.csv")));

    // unknown is not no: a blank flag is null, a blank list is null
    assert_eq!(
        query_count(
            &store,
            "SELECT count(*) FROM cases WHERE record_id = 'A11' AND abduction IS NULL AND control_methods IS NULL AND year = 2019"
        ),
        1
    );
    assert_eq!(
        query_count(
            &store,
            "SELECT count(*) FROM cases WHERE record_id = 'A1' AND abduction = false AND foreign_national"
        ),
        1
    );
    assert_eq!(
        query_rows(&store, "SELECT case_id FROM cases WHERE record_id = 'A11'")[0][0],
        "C1"
    );
    assert_eq!(
        query_rows(&store, "SELECT case_id FROM cases WHERE record_id = 'A1'")[0][0],
        "A1"
    );
}

#[test]
fn a_failing_ingest_leaves_the_store_byte_identical() {
    let dir = TempDir::new().unwrap();
    let first = generate(&dir, "first.csv", 400, 1);
    let second = generate(&dir, "second.csv", 400, 2);
    let store = dir.path().join("store");
    ingest_json(&store, &[&first]);
    let before = snapshot(&store);

    // the second file is processed and staged, then the third is refused
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "record_id,year\nX1,2019\n").unwrap();
    let (code, _, stderr) = run(&["ingest", "--store", p(&store), p(&second), p(&broken)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("broken.csv") && stderr.contains("missing required column"),
        "{stderr}"
    );
    assert_eq!(snapshot(&store), before);
}

#[test]
fn file_level_errors_exit_2_and_write_nothing() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("store");
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let header_only = write_csv(dir.path(), "header.csv", &[]);
    let missing = dir.path().join("missing.csv");
    let unknown_col = dir.path().join("extra.csv");
    std::fs::write(&unknown_col, format!("{HEADER},shoe_size\n")).unwrap();
    // unknown and personal: the screen, which runs first, names it
    let personal_col = dir.path().join("personal.csv");
    std::fs::write(&personal_col, format!("{HEADER},full_name\n")).unwrap();
    for (file, needle) in [
        (&empty, "empty"),
        (&header_only, "no data rows"),
        (&missing, "No such file"),
        (&unknown_col, "unknown column(s) shoe_size"),
        (
            &personal_col,
            "column 'full_name': its name suggests person names",
        ),
    ] {
        let (code, _, stderr) = run(&["ingest", "--store", p(&store), p(file)]);
        assert_eq!(code, 2, "{file:?}: {stderr}");
        assert!(stderr.contains(needle), "{file:?}: {stderr}");
        assert!(!store.exists(), "{file:?} left a store behind");
    }
}

/// Ingest writes the store's files on several threads (the records'
/// arrays and Parquet on a thread of their own, the last row groups of
/// the partitions two at a time): the files must not depend on which
/// thread finished first.
#[test]
fn ingesting_one_file_twice_writes_the_same_data_files() {
    let dir = TempDir::new().unwrap();
    // three countries over ten years: thirty partitions
    let export = generate(&dir, "g.csv", 20000, 5);
    // a partition's file, named without the change id that differs
    let data_files = |store: &std::path::Path| -> std::collections::BTreeMap<String, Vec<u8>> {
        snapshot(&store.join("data"))
            .into_iter()
            .map(|(path, bytes)| {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let parts: Vec<&str> = name.split('-').collect();
                assert_eq!(parts.len(), 3, "{name}");
                let folder = path.parent().unwrap().display().to_string();
                (format!("{folder}/{}-{}", parts[0], parts[2]), bytes)
            })
            .collect()
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    ingest_json(&a, &[&export]);
    ingest_json(&b, &[&export]);
    let (a, b) = (data_files(&a), data_files(&b));
    assert_eq!(a.len(), 30, "{:?}", a.keys());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs");
    }
}

#[test]
fn generator_is_deterministic() {
    let dir = TempDir::new().unwrap();
    for ext in ["csv", "jsonl", "parquet"] {
        let a = generate(&dir, &format!("a.{ext}"), 2000, 42);
        let b = generate(&dir, &format!("b.{ext}"), 2000, 42);
        let c = generate(&dir, &format!("c.{ext}"), 2000, 43);
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{ext}"
        );
        assert_ne!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&c).unwrap(),
            "{ext}"
        );
    }
    // a wrong output name is refused before anything is written, so an
    // existing file of that name is left alone
    let keep = dir.path().join("notes.txt");
    std::fs::write(&keep, "keep me").unwrap();
    let (code, _, stderr) = run(&["generate", "--records", "5", "--out", p(&keep)]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "keep me");
}

#[test]
fn generated_data_looks_like_hotline_data() {
    let dir = TempDir::new().unwrap();
    let csv_path = generate(&dir, "g.csv", 6000, 5);
    let store = dir.path().join("store");
    ingest_json(&store, &[&csv_path]);
    let share = |sql: &str| query_count(&store, sql) as f64 / 6000.0;
    assert!(share("SELECT count(*) FROM cases WHERE trafficking_form = 'sex'") > 0.5);
    assert!(share("SELECT count(*) FROM cases WHERE gender = 'female'") > 0.6);
    assert!(share("SELECT count(*) FROM cases WHERE majority_status = 'minor'") > 0.05);
    assert!(share("SELECT count(*) FROM cases WHERE venue IS NULL") > 0.05);
    assert!(share("SELECT count(*) FROM cases WHERE cardinality(control_methods) > 1") > 0.1);
    assert!(share("SELECT count(*) FROM cases WHERE classification = 'extension'") > 0.005);
    assert!(share("SELECT count(*) FROM cases WHERE case_id <> record_id") > 0.05);
    let top = query_rows(
        &store,
        "SELECT typology_id FROM cases WHERE typology_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 2",
    );
    assert!(
        top.iter().any(|r| r[0] == "1"),
        "escort services among the two largest: {top:?}"
    );
    let labor = query_rows(
        &store,
        "SELECT typology_id FROM cases WHERE trafficking_form = 'labor' AND typology_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 3",
    );
    assert!(
        labor.iter().any(|r| r[0] == "5" || r[0] == "11"),
        "{labor:?}"
    );
    // Spanish venue texts for MX
    assert!(
        query_count(
            &store,
            "SELECT count(*) FROM cases WHERE reporting_country = 'MX' AND venue IN ('cantina', 'trabajo del hogar', 'en la calle', 'casa de citas')"
        ) > 0
    );
}

/// `query` counts with `protected_count` as its `--unit` says, as the
/// report's first pass does: victims, every record (no unit's key held,
/// which at 10M records ran a shipped query out of the default memory
/// limit); cases, each case once.
#[test]
fn query_counts_as_its_unit_says() {
    let dir = TempDir::new().unwrap();
    let csv_path = generate(&dir, "u.csv", 600, 4);
    let store = dir.path().join("store");
    ingest_json(&store, &[&csv_path]);
    let records = query_count(&store, "SELECT count(case_id) FROM cases");
    let cases = query_count(&store, "SELECT count(DISTINCT case_id) FROM cases");
    assert!(cases < records, "{cases} cases of {records} records");
    for (unit, expected) in [("victims", records), ("cases", cases)] {
        let out = query_csv_as(
            &store,
            unit,
            &["SELECT protected_count(case_id) AS n FROM cases"],
        );
        assert_eq!(out.trim(), format!("n\n{expected}"), "{unit}");
    }
}

/// `query --timing` says on standard error how long the statement took,
/// in a form the benchmark reads, and changes nothing of the result; without
/// it nothing is said.
#[test]
fn query_timing_is_said_on_standard_error_only_when_asked() {
    let dir = TempDir::new().unwrap();
    let csv_path = generate(&dir, "t.csv", 200, 5);
    let store = dir.path().join("store");
    ingest_json(&store, &[&csv_path]);
    let sql = "SELECT count(*) AS n FROM cases";
    let base = ["query", "--store", p(&store), "--format", "csv"];
    let (code, plain_out, plain_err) = run(&[&base[..], &[sql]].concat());
    assert_eq!(code, 0, "{plain_err}");
    assert!(!plain_err.contains("query took"), "{plain_err}");
    let (code, timed_out, timed_err) = run(&[&base[..], &["--timing", sql]].concat());
    assert_eq!(code, 0, "{timed_err}");
    assert_eq!(timed_out, plain_out);
    // the form benches/statements.sh reads: "query took <seconds> s (...)"
    let seconds: f64 = timed_err
        .lines()
        .find_map(|l| l.strip_prefix("query took "))
        .and_then(|rest| rest.split_once(" s ("))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'query took N s (' line in:\n{timed_err}"));
    // planning alone takes far more than the microsecond shown
    assert!(seconds.is_finite() && seconds > 0.0, "{seconds}");
}

#[test]
fn query_is_read_only_and_reports_sql_errors() {
    let dir = TempDir::new().unwrap();
    let csv_path = generate(&dir, "e.csv", 50, 1);
    let store = dir.path().join("store");
    ingest_json(&store, &[&csv_path]);
    for sql in [
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO cases SELECT * FROM cases",
        "DROP TABLE cases",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let (code, _, stderr) = run(&["query", "--store", p(&store), sql]);
        assert_eq!(code, 2, "{sql}: {stderr}");
        assert!(
            stderr.contains("read-only")
                || stderr.contains("not supported")
                || stderr.contains("not allowed"),
            "{sql}: {stderr}"
        );
    }
    let (code, _, stderr) = run(&["query", "--store", p(&store), "SELECT nope FROM cases"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("nope"), "{stderr}");
    let json = ok(&[
        "query",
        "--store",
        p(&store),
        "--format",
        "json",
        "SELECT count(*) AS n FROM cases",
    ]);
    // json is one array (as DuckDB's JSON mode); ndjson one object a line
    assert_eq!(json.trim(), r#"[{"n":50}]"#);
    let table = ok(&[
        "query",
        "--store",
        p(&store),
        "SELECT count(*) AS n FROM cases",
    ]);
    assert!(table.contains("| 50 |"), "{table}");
    let sql_file = dir.path().join("q.sql");
    std::fs::write(
        &sql_file,
        "-- a comment\nSELECT count(*) AS n FROM cases WHERE year >= 2015",
    )
    .unwrap();
    assert_eq!(
        ok(&[
            "query",
            "--store",
            p(&store),
            "--format",
            "csv",
            "--file",
            p(&sql_file)
        ]),
        "n\n50\n"
    );
    let (code, _, _) = run(&[
        "query",
        "--store",
        p(&dir.path().join("nostore")),
        "SELECT 1",
    ]);
    assert_eq!(code, 2);
}

#[test]
fn help_shows_an_example_for_each_command() {
    for cmd in [
        "generate",
        "ingest",
        "classify",
        "explain",
        "query",
        "report",
        "run",
        "bench-classify",
    ] {
        let out = ok(&[cmd, "--help"]);
        assert!(out.contains("Example"), "{cmd} --help has no example");
    }
    let (code, _, _) = run(&["ingest"]);
    assert_eq!(code, 2);
}

#[test]
fn exported_labels_are_normalised_to_codes() {
    let dir = TempDir::new().unwrap();
    // Polaris, CTDC, HTCDS, Spanish and French labels in a canonical-layout file
    let file = write_csv(
        dir.path(),
        "labels.csv",
        &[
            "L1,,src,us,2019.0,,US,,MX,Female,18--20,,Sexual exploitation,Prostitution,Hotel,Job Offer / Advertisement,Intimate Partner,Emotional Abuse; Immigration-Related Threats;DebtBondage,1",
            "L2,,src,MX,2020,,MX,,MX,Mujer,25,,Explotación laboral,Agricultura,rancho,,Familiar,abuso físico;Not specified,no",
            "L3,,src,CA,2021,,CA,,,femme,,mineur,exploitation sexuelle,,,,,Unknown,",
        ],
    );
    let store = dir.path().join("store");
    let s = ingest_json(&store, &[&file]);
    assert_eq!(s["stored"], 3, "{s}");
    let rows = query_rows(
        &store,
        "SELECT record_id, reporting_country, year, gender, age_band, majority_status, trafficking_form, \
         array_to_string(sectors, ';'), array_to_string(recruitment_tactics, ';'), array_to_string(recruiter_relations, ';'), \
         array_to_string(control_methods, ';'), abduction, control_methods IS NULL FROM cases ORDER BY record_id",
    );
    let want = [
        [
            "L1",
            "US",
            "2019",
            "female",
            "18-20",
            "adult",
            "sex",
            "prostitution",
            "job_offer",
            "intimate_partner",
            "debt_bondage;psychological_abuse;threat_of_law_enforcement",
            "true",
            "false",
        ],
        [
            "L2",
            "MX",
            "2020",
            "female",
            "24-26",
            "adult",
            "labor",
            "agriculture",
            "",
            "family",
            "physical_abuse",
            "false",
            "false",
        ],
        [
            "L3", "CA", "2021", "female", "", "minor", "sex", "", "", "", "", "", "true",
        ],
    ];
    for (got, want) in rows.iter().zip(want) {
        assert_eq!(got, &want.map(str::to_string).to_vec());
    }
}

/// The rows of the quarantine file of the one file an `ingest --json`
/// summary reports.
fn quarantine_rows(store: &std::path::Path, summary: &serde_json::Value) -> Vec<csv::StringRecord> {
    let quarantine = store.join(summary["files"][0]["quarantine_file"].as_str().unwrap());
    csv::Reader::from_path(&quarantine)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

/// A later export that repeats every stored record (a cumulative export,
/// under a new file name) stores only its new records, in order, and
/// quarantines every repeated one as a duplicate, in the file's order:
/// whether the store holds the id already (found while the rows are
/// checked) or the file repeats one of its own new records (found in order).
#[test]
fn a_cumulative_export_stores_only_its_new_records() {
    let dir = TempDir::new().unwrap();
    let row = |id: &str| format!("{id},,src,US,2019,5,US,,US,female,,,sex,,,,,,");
    let first: Vec<String> = (1..=6_000).map(|i| row(&format!("R{i:05}"))).collect();
    let refs: Vec<&str> = first.iter().map(String::as_str).collect();
    let store = dir.path().join("store");
    let s = ingest_json(&store, &[&write_csv(dir.path(), "january.csv", &refs)]);
    assert_eq!(s["stored"], 6_000);

    let mut later = Vec::new();
    let mut duplicate_lines = Vec::new();
    for (i, line) in first.iter().enumerate() {
        later.push(line.clone());
        duplicate_lines.push(later.len() as u64 + 1); // the header is line 1
        if (i + 1) % 1_500 == 0 {
            later.push(row(&format!("N{}", (i + 1) / 1_500)));
        }
    }
    // a new record twice: the second is the duplicate
    later.push(row("N2"));
    duplicate_lines.push(later.len() as u64 + 1);
    let refs: Vec<&str> = later.iter().map(String::as_str).collect();
    let s = ingest_json(&store, &[&write_csv(dir.path(), "february.csv", &refs)]);
    assert_eq!(s["read"], 6_005);
    assert_eq!(s["stored"], 4);
    assert_eq!(s["duplicates"], 6_001);
    assert_eq!(s["quarantined"], 0);
    assert_eq!(
        query_rows(
            &store,
            "SELECT record_id FROM cases WHERE record_id LIKE 'N%' ORDER BY 1"
        ),
        [["N1"], ["N2"], ["N3"], ["N4"]]
    );
    assert_eq!(query_count(&store, "SELECT count(*) FROM cases"), 6_004);
    let found: Vec<(u64, String)> = quarantine_rows(&store, &s)
        .iter()
        .map(|r| {
            assert!(r[4].starts_with("duplicate"), "{:?}", r);
            (r[1].parse().unwrap(), r[3].to_string())
        })
        .collect();
    let lines: Vec<u64> = found.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, duplicate_lines);
    assert_eq!(found[0].1, "R00001");
    assert_eq!(found[found.len() - 1].1, "N2");
}

/// Ingest reads, checks and stores on separate threads, several thousand
/// rows at a time; across many such chunks the counts, the quarantine's
/// order and duplicates between chunks must come out as in one pass, and
/// personal data in a late chunk must still stop everything.
#[test]
fn a_file_of_many_chunks_is_checked_in_parallel_and_kept_in_order() {
    let dir = TempDir::new().unwrap();
    let rows = 30_000;
    let mut expected_quarantine = Vec::new();
    let mut lines = Vec::new();
    for i in 1..=rows {
        let line_number = i + 1; // the header is line 1
        if i % 4_999 == 0 {
            lines.push(format!(
                "R{i:05},,src,US,2019,5,US,,US,female,,,sex,,,,,not_a_method,"
            ));
            expected_quarantine.push((line_number, "control_methods".to_string()));
        } else if i == 25_000 {
            // the same id as a row thousands of lines (several chunks) before
            lines.push("R00002,,src,US,2020,1,US,,US,male,,,labor,,,,,,".to_string());
            expected_quarantine.push((line_number, "record_id".to_string()));
        } else {
            lines.push(format!("R{i:05},,src,US,2019,5,US,,US,female,,,sex,,,,,,"));
        }
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = write_csv(dir.path(), "many.csv", &refs);
    let store = dir.path().join("store");
    let s = ingest_json(&store, &[&file]);
    assert_eq!(s["read"], rows);
    assert_eq!(s["duplicates"], 1);
    assert_eq!(s["quarantined"], 6);
    assert_eq!(s["stored"], rows - 7);
    assert_eq!(query_count(&store, "SELECT count(*) FROM cases"), rows - 7);
    let found: Vec<(u64, String)> = quarantine_rows(&store, &s)
        .iter()
        .map(|r| (r[1].parse().unwrap(), r[2].to_string()))
        .collect();
    assert_eq!(found, expected_quarantine);

    // one e-mail address in row 29,000: refused, and the store is unchanged
    let before = snapshot(&store);
    let mut late = lines.clone();
    for (i, line) in late.iter_mut().enumerate() {
        *line = line.replacen("src", "second", 1).replacen('R', "S", 1);
        if i + 1 == 29_000 {
            *line = line.replacen("sex,,,,,,", "sex,,ask for ana@example.org,,,,", 1);
        }
    }
    let refs: Vec<&str> = late.iter().map(String::as_str).collect();
    let file = write_csv(dir.path(), "late.csv", &refs);
    let (code, _, stderr) = run(&["ingest", "--store", p(&store), p(&file)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("'venue': 1 value(s) look like e-mail addresses (first at row 29001)"),
        "{stderr}"
    );
    assert_eq!(snapshot(&store), before);
}

/// A single uncompressed file is read once, screened on the threads that
/// check it, its store files held in memory until the screen is done; a
/// gzip file is read twice, screened first. The two ways store the same
/// bytes and quarantine the same rows, and the one read once still
/// recognises records the store holds.
#[test]
fn a_file_read_once_stores_what_a_file_read_twice_does() {
    let dir = TempDir::new().unwrap();
    let mut lines = Vec::new();
    for i in 1..=20_000 {
        lines.push(match i {
            _ if i % 3_001 == 0 => format!("R{i:05},,src,MX,2019,5,MX,,MX,female,,,sex,,,,,not_a_method,"),
            12_000 => "R00007,,src,US,2020,1,US,,US,male,,,labor,,,,,,".to_string(),
            _ if i % 7 == 0 => format!("R{i:05},C{},src,MX,2021,2,US,,MX,male,30-38,,labor,agriculture,Farm,job_offer,,threats,false", i / 3),
            _ => format!("R{i:05},,src,US,{},5,US,,US,female,,,sex,,,,,,", 2015 + i % 9),
        });
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let plain = write_csv(dir.path(), "export.csv", &refs);
    let gzip = dir.path().join("export.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &std::fs::read(&plain).unwrap()).unwrap();
    std::fs::write(&gzip, gz.finish().unwrap()).unwrap();

    let once = dir.path().join("once");
    let twice = dir.path().join("twice");
    let read_once = ingest_json(&once, &[&plain]);
    let read_twice = ingest_json(&twice, &[&gzip]);
    for key in ["read", "stored", "quarantined", "duplicates"] {
        assert_eq!(read_once[key], read_twice[key], "{key}");
    }
    assert_eq!(read_once["duplicates"], 1, "{read_once}");
    assert_eq!(read_once["quarantined"], 6, "{read_once}");
    // the hash worked out as the rows were read is the file's, as is the
    // hash of the gzip file read twice
    for (summary, file) in [(&read_once, &plain), (&read_twice, &gzip)] {
        let (_, sha) = safetynet::base::files::sha256_file(file).unwrap();
        assert_eq!(summary["files"][0]["sha256"], sha.as_str(), "{summary}");
    }
    // the store's files by their bytes (their names carry the change's id)
    let data = |store: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = snapshot(store)
            .into_iter()
            .filter(|(path, _)| path.starts_with("data"))
            .map(|(path, bytes)| (path.parent().unwrap().display().to_string(), bytes))
            .collect();
        files.sort();
        files
    };
    let once_data = data(&once);
    assert!(once_data.len() >= 10, "{} files", once_data.len());
    assert!(
        once_data == data(&twice),
        "the stores' Parquet files differ"
    );
    // the quarantines but their file column
    let rows = |store: &std::path::Path, summary: &serde_json::Value| -> Vec<Vec<String>> {
        (quarantine_rows(store, summary).iter())
            .map(|r| r.iter().skip(1).map(str::to_string).collect())
            .collect()
    };
    assert_eq!(rows(&once, &read_once), rows(&twice, &read_twice));

    // read once into a store that holds some of its records
    let more: Vec<String> = (19_990..=20_010)
        .map(|i| format!("R{i:05},,src,US,2024,5,US,,US,female,,,sex,,,,,,"))
        .collect();
    let refs: Vec<&str> = more.iter().map(String::as_str).collect();
    let later = write_csv(dir.path(), "later.csv", &refs);
    let again = ingest_json(&once, &[&later]);
    assert_eq!(again["duplicates"], 11, "{again}");
    assert_eq!(again["stored"], 10, "{again}");

    // a copy under another name is already ingested, even read as
    // something its checks refuse (one column, with `;` as the delimiter)
    let before = snapshot(&once);
    let copy = dir.path().join("copy.txt");
    std::fs::copy(&plain, &copy).unwrap();
    let (code, out, err) = run(&["ingest", "--store", p(&once), "--delimiter", ";", p(&copy)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("already ingested"), "{out}");
    assert_eq!(snapshot(&once), before);

    // refused for personal data: nothing is written, not even the store's
    // folder, its lock or the folders above it
    let personal = dir.path().join("personal.csv");
    let mut text = std::fs::read_to_string(&plain).unwrap();
    text.push_str("R99999,,src,US,2020,1,US,,US,male,,,labor,,write to ana@example.org,,,,\n");
    std::fs::write(&personal, text).unwrap();
    let nested = dir.path().join("a").join("b").join("store");
    let (code, _, err) = run(&["ingest", "--store", p(&nested), p(&personal)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("e-mail"), "{err}");
    assert!(
        !dir.path().join("a").exists(),
        "a refused file left folders"
    );
}

/// `query` writes what analysts' SQL tools write: CSV with list columns
/// joined, a JSON array, JSON lines, Parquet and XLSX to a file; a file
/// that exists is never overwritten.
#[test]
fn query_writes_every_format_and_never_overwrites_a_file() {
    use calamine::{Data, Reader};
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "300", "3", "US");
    let sql = "SELECT record_id, year, control_methods FROM cases WHERE control_methods IS NOT NULL ORDER BY record_id LIMIT 5";
    let csv = ok(&["query", "--store", p(&store), "--format", "csv", sql]);
    let first = csv.lines().nth(1).unwrap();
    assert!(first.split(',').count() >= 3, "{csv}");
    assert!(
        !first.contains('['),
        "a list is joined with ;, not printed as an array: {csv}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "query",
        "--store",
        p(&store),
        "--format",
        "json",
        sql,
    ]))
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 5);
    assert!(json[0]["control_methods"].is_array());
    let ndjson = ok(&["query", "--store", p(&store), "--format", "ndjson", sql]);
    assert_eq!(ndjson.lines().count(), 5);

    let (code, _, stderr) = run(&["query", "--store", p(&store), "--format", "parquet", sql]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--output"), "{stderr}");
    let parquet = dir.path().join("q.parquet");
    ok(&[
        "query",
        "--store",
        p(&store),
        "--format",
        "parquet",
        "--output",
        p(&parquet),
        sql,
    ]);
    let reader =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&parquet).unwrap(),
        )
        .unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 5);

    let xlsx = dir.path().join("q.xlsx");
    ok(&[
        "query",
        "--store",
        p(&store),
        "--format",
        "xlsx",
        "--output",
        p(&xlsx),
        sql,
    ]);
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let sheet = book.worksheet_range("query").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows[0][1], Data::String("year".into()));
    assert!(matches!(rows[1][1], Data::Float(_)), "{:?}", rows[1]);
    assert!(
        matches!(&rows[1][2], Data::String(s) if !s.is_empty()),
        "{:?}",
        rows[1]
    );

    // an existing file is refused, and left as it was
    let before = std::fs::read(&xlsx).unwrap();
    let (code, _, stderr) = run(&[
        "query",
        "--store",
        p(&store),
        "--format",
        "csv",
        "--output",
        p(&xlsx),
        sql,
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(std::fs::read(&xlsx).unwrap(), before);
    // refused before the query runs: a query that cannot run (an unknown
    // table) is refused for the file, not for the SQL
    let (code, _, stderr) = run(&[
        "query",
        "--store",
        p(&store),
        "--output",
        p(&xlsx),
        "SELECT * FROM no_such_table",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("the file exists"), "{stderr}");
    assert!(!stderr.contains("no_such_table"), "{stderr}");
    // no staging file is left beside it
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".safetynet-query-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // without --store, the store the config file names
    std::fs::write(
        dir.path().join("safetynet.toml"),
        format!(
            "store = {:?}\nout = \"reports\"\ninputs = []\n[report]\n",
            store.file_name().unwrap().to_string_lossy()
        ),
    )
    .unwrap();
    let (code, stdout, stderr) = run_in(
        dir.path(),
        &[
            "query",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM cases",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "n\n300\n");
}
