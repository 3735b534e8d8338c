//! Shared helpers of the integration tests: run the binary in temp dirs,
//! snapshot a store's bytes, read JSON summaries.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn bin() -> Command {
    let mut cmd = Command::cargo_bin("safetynet").expect("binary built");
    cmd.arg("--quiet");
    cmd
}

/// Runs the binary, returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    outcome(bin().args(args))
}

/// Runs the binary from the folder `dir` (for relative paths such as `.`).
pub fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    outcome(bin().current_dir(dir).args(args))
}

fn outcome(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the binary and fails the test unless it exits 0.
pub fn ok(args: &[&str]) -> String {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 0, "safetynet {args:?} failed:\n{stderr}\n{stdout}");
    stdout
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// A store's manifest as JSON.
pub fn manifest(store: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(store.join("manifest.json")).unwrap()).unwrap()
}

/// Every file under `root` with its bytes, for byte-identical comparisons.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                out.insert(
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    walk(root, root, &mut out);
    out
}

pub fn ingest_json(store: &Path, files: &[&Path]) -> serde_json::Value {
    let mut args = vec!["ingest", "--json", "--store", p(store)];
    args.extend(files.iter().map(|f| p(f)));
    serde_json::from_str(&ok(&args)).expect("ingest --json prints JSON")
}

/// Runs SQL through `query --format csv` and returns the rows as string cells
/// (header excluded).
pub fn query_rows(store: &Path, sql: &str) -> Vec<Vec<String>> {
    let out = ok(&["query", "--store", p(store), "--format", "csv", sql]);
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// `query --format csv` counted as `unit` (victims or cases), with the
/// SQL given by `sql` (text, or `--file` and a path); the CSV it prints.
pub fn query_csv_as(store: &Path, unit: &str, sql: &[&str]) -> String {
    let mut args = vec![
        "query",
        "--store",
        p(store),
        "--format",
        "csv",
        "--unit",
        unit,
    ];
    args.extend_from_slice(sql);
    ok(&args)
}

pub fn query_count(store: &Path, sql: &str) -> u64 {
    query_rows(store, sql)[0][0].parse().expect("a count")
}

pub const HEADER: &str = "record_id,case_id,data_source,reporting_country,year,month,exploitation_country,exploitation_subdivision,citizenship,gender,age_band,majority_status,trafficking_form,sectors,venue,recruitment_tactics,recruiter_relations,control_methods,abduction";

/// Writes a canonical CSV with the standard header and the given data lines.
pub fn write_csv(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut text = String::from(HEADER);
    text.push('\n');
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// A store of `records` synthetic records (`generate` with `seed`, reporting
/// `countries`), in `dir/store{seed}`.
pub fn synthetic_store(dir: &Path, records: &str, seed: &str, countries: &str) -> PathBuf {
    let export = dir.join(format!("g{seed}.csv"));
    ok(&[
        "generate",
        "--records",
        records,
        "--seed",
        seed,
        "--countries",
        countries,
        "--out",
        p(&export),
    ]);
    let store = dir.join(format!("store{seed}"));
    ingest_json(&store, &[&export]);
    store
}

/// A CSV's rows as column → text (empty cell: empty text).
pub fn csv_rows<R: std::io::Read>(mut reader: csv::Reader<R>) -> Vec<BTreeMap<String, String>> {
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}
