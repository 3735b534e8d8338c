//! The release ledger: every publication from a store is recorded with
//! its scope, settings and file hashes, and the ledger cannot be deleted
//! or edited without the store saying it is damaged.

use std::path::Path;

use sha2::Digest;
use tempfile::TempDir;

use crate::common::*;
use crate::report::fixture_store;

fn ledger(store: &Path) -> Vec<serde_json::Value> {
    ok(&["releases", "--store", p(store), "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_publication_is_recorded_with_its_scope_and_file_hashes() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    assert!(ledger(&store).is_empty());
    let report = dir.path().join("report");
    let (code, _, stderr) = run(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&report),
        "--from",
        "2019",
        "--country",
        "US",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // the fixture's US records start in 2020: the period is narrowed to
    // them, and the user is told
    assert!(
        stderr.contains("the report covers 2020–") && stderr.contains("not the 2019–"),
        "{stderr}"
    );
    // a bound that leaves no year is refused, naming what was given (not a
    // --from the user never passed), and is no release
    let (code, _, stderr) = run(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&dir.path().join("none")),
        "--to",
        "2019",
        "--country",
        "US",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--to 2019 is before the records of US, which start in 2020"),
        "{stderr}"
    );
    ok(&[
        "compare",
        "--store",
        p(&store),
        "--out",
        p(&dir.path().join("cmp")),
    ]);
    let bundle = dir.path().join("us.snb");
    ok(&[
        "share",
        "--store",
        p(&store),
        "--country",
        "US",
        "--out",
        p(&bundle),
    ]);
    // internal work is not a release
    ok(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&dir.path().join("internal")),
        "--no-suppression",
    ]);
    let releases = ledger(&store);
    let commands: Vec<&str> = releases
        .iter()
        .map(|r| r["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands, ["report", "compare", "share"]);
    let ids: Vec<u64> = releases.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3]);
    let first = &releases[0];
    assert_eq!(first["scope"]["from_year"], 2020);
    assert_eq!(first["scope"]["countries"], serde_json::json!(["US"]));
    assert_eq!(first["min_cell"], 10);
    // the hashes are those of the files as published
    let md = first["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "report.md")
        .unwrap();
    let digest = sha2::Sha256::digest(std::fs::read(report.join("report.md")).unwrap());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(md["sha256"], hex);
    let shared = &releases[2]["files"][0]["sha256"];
    let digest = sha2::Sha256::digest(std::fs::read(&bundle).unwrap());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(*shared, hex);
    let table = ok(&["releases", "--store", p(&store)]);
    assert!(
        table.contains("report") && table.contains("2020-2021"),
        "{table}"
    );
}

fn ledger_file(store: &Path) -> std::path::PathBuf {
    store.join(manifest(store)["ledger"].as_str().unwrap())
}

#[test]
fn deleting_or_editing_the_ledger_makes_the_store_damaged() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    for name in ["a", "b"] {
        ok(&[
            "report",
            "--store",
            p(&store),
            "--out",
            p(&dir.path().join(name)),
        ]);
    }
    let file = ledger_file(&store);
    let text = std::fs::read_to_string(&file).unwrap();
    // forgetting the second release: a shorter file
    let first_line = text.lines().next().unwrap().to_string() + "\n";
    std::fs::write(&file, &first_line).unwrap();
    for args in [
        vec!["releases", "--store", p(&store)],
        vec![
            "report",
            "--store",
            p(&store),
            "--out",
            p(&dir.path().join("c")),
        ],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(err.contains("ledger"), "{err}");
    }
    std::fs::remove_file(&file).unwrap();
    let (code, _, err) = run(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&dir.path().join("c")),
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("is missing"), "{err}");
    assert!(!dir.path().join("c").exists());
}

#[test]
fn audit_with_the_store_finds_a_report_edited_after_publication() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let report = dir.path().join("report");
    ok(&["report", "--store", p(&store), "--out", p(&report)]);
    let said = ok(&["audit", p(&report), "--store", p(&store)]);
    assert!(said.contains("is release 1 of the store"), "{said}");
    // the publisher's own model edited: the tables no longer declared
    let model = report.join("disclosure.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    json["tables"] = serde_json::json!([]);
    std::fs::write(&model, json.to_string()).unwrap();
    let (code, _, err) = run(&["audit", p(&report), "--store", p(&store)]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("not a release") && err.contains("disclosure.json"),
        "{err}"
    );
}

#[test]
fn a_users_table_must_say_what_its_counts_are() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let queries = dir.path().join("mine");
    std::fs::create_dir(&queries).unwrap();
    let sql = "SELECT coalesce(typology_name, 'not determined') AS category, protected_count(record_id) AS n \
               FROM cases WHERE year BETWEEN $from_year AND $to_year AND majority_status = 'minor' GROUP BY 1 ORDER BY 1\n";
    std::fs::write(
        queries.join("50_minors.sql"),
        format!("-- title: Minors by type\n-- counts: n\n{sql}"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let (code, _, err) = run(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&out),
        "--queries",
        p(&queries),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("50_minors.sql") && err.contains("-- cells: n ="),
        "{err}"
    );
    assert!(!out.exists());
    std::fs::write(
        queries.join("50_minors.sql"),
        format!("-- title: Minors by type\n-- counts: n\n-- cells: n = minors(category)\n{sql}"),
    )
    .unwrap();
    ok(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&out),
        "--queries",
        p(&queries),
    ]);
    // after the fourteen shipped tables that run without a population table
    assert!(out.join("tables/15_minors.csv").exists());
    // a plain count is the true count, which other releases publish with
    // noise: refused, saying what to use
    std::fs::write(
        queries.join("50_minors.sql"),
        format!(
            "-- title: Minors by type\n-- counts: n\n-- cells: n = minors(category)\n{}",
            sql.replace("protected_count(record_id)", "count(DISTINCT record_id)")
        ),
    )
    .unwrap();
    let (code, _, err) = run(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&dir.path().join("plain")),
        "--queries",
        p(&queries),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("50_minors.sql") && err.contains("protected_count(unit_id)"),
        "{err}"
    );
}

/// The report's queries run two at a time, but an error is still the first
/// failing query's in publication order, whichever failed first.
#[test]
fn of_two_failing_tables_the_first_in_order_is_named() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let queries = dir.path().join("mine");
    std::fs::create_dir(&queries).unwrap();
    for (file, column) in [
        ("50_first.sql", "no_such_first"),
        ("51_second.sql", "no_such_second"),
    ] {
        std::fs::write(
            queries.join(file),
            format!(
                "-- title: Broken\n-- counts: n\n-- cells: n = broken(category)\n\
                 SELECT {column} AS category, protected_count(record_id) AS n FROM cases GROUP BY 1\n"
            ),
        )
        .unwrap();
    }
    let out = dir.path().join("out");
    let (code, _, err) = run(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&out),
        "--queries",
        p(&queries),
    ]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("50_first") && err.contains("no_such_first"),
        "{err}"
    );
    assert!(!err.contains("no_such_second"), "{err}");
    assert!(!out.exists());
}

/// A release may not lower K or the protection width below an earlier
/// release of the same store: it would publish counts the earlier one hid.
/// The refusal names the earlier release; a stricter release is fine.
#[test]
fn a_release_with_a_lower_k_than_an_earlier_one_is_refused() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let out = |name: &str| dir.path().join(name);
    ok(&["report", "--store", p(&store), "--out", p(&out("a"))]);
    let (code, _, stderr) = run(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&out("b")),
        "--min-cell",
        "5",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("release 1 (report") && stderr.contains("K = 10"),
        "{stderr}"
    );
    assert!(!out("b").exists());
    assert_eq!(ledger(&store).len(), 1);
    // internal work is not a release and is not refused
    ok(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&out("internal")),
        "--min-cell",
        "5",
        "--no-suppression",
    ]);
    ok(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&out("c")),
        "--min-cell",
        "12",
    ]);
    let releases = ledger(&store);
    assert_eq!(releases.len(), 2);
    assert_eq!(releases[1]["min_cell"], 12);
    assert_eq!(releases[1]["max_noise"], 3);
}

/// The secret that keys the noise is kept in the manifest for the life of
/// the store: removed after a release, every publication is refused (exit
/// 3), since a new secret would give every count fresh noise to average.
#[test]
fn a_store_that_lost_its_noise_secret_after_publishing_is_damaged() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let secret = manifest(&store)["cell_key"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32);
    ok(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&dir.path().join("a")),
    ]);
    assert_eq!(
        manifest(&store)["cell_key"],
        secret.as_str(),
        "kept by every change"
    );
    let path = store.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m.as_object_mut().unwrap().remove("cell_key");
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let (code, _, stderr) = run(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&dir.path().join("b")),
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("cell_key"), "{stderr}");
}
