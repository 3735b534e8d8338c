//! What the tool writes never destroys what it did not write: output
//! folders (`--out`) that hold a store, a working directory or someone's
//! files are refused, and a previous output is replaced whole.

use std::path::Path;

use tempfile::TempDir;

use crate::common::*;
use crate::report::fixture_store;

fn refused_with(args: &[&str], what: &str) {
    let (code, _, err) = run(args);
    assert_eq!(code, 2, "{args:?}: {err}");
    assert!(err.contains(what), "{args:?}: {err}");
}

#[test]
fn report_out_into_a_folder_with_a_users_files_is_refused_and_they_stay() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let out = dir.path().join("thesis");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("my_notes.txt"), "mine").unwrap();
    std::fs::write(out.join("thesis.docx"), "mine too").unwrap();
    refused_with(
        &["report", "--store", p(&store), "--out", p(&out)],
        "my_notes.txt",
    );
    assert_eq!(
        std::fs::read_to_string(out.join("my_notes.txt")).unwrap(),
        "mine"
    );
    assert!(out.join("thesis.docx").exists());
    assert!(!out.join("report.md").exists());
    // nothing staged is left beside it
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

#[test]
fn report_out_into_the_store_or_the_working_directory_is_refused() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let before = snapshot(&store);
    refused_with(
        &["report", "--store", p(&store), "--out", p(&store)],
        "was not written by `safetynet report`",
    );
    assert_eq!(snapshot(&store), before, "the store changed");
    // `--out .` from the folder that holds the store and the user's notes
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let (code, _, err) = run_in(dir.path(), &["report", "--store", "store", "--out", "."]);
    assert_eq!(code, 2, "{err}");
    assert!(dir.path().join("notes.txt").exists());
    assert_eq!(snapshot(&store), before, "the store changed");
}

#[test]
fn a_previous_report_is_replaced_and_other_commands_outputs_are_not() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let out = dir.path().join("out");
    ok(&["report", "--store", p(&store), "--out", p(&out)]);
    ok(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&out),
        "--unit",
        "cases",
    ]);
    assert!(out.join(".safetynet-output.json").exists());
    // a comparison may not overwrite a report
    refused_with(
        &["compare", "--store", p(&store), "--out", p(&out)],
        "safetynet report",
    );
    assert!(Path::new(&out.join("report.md")).exists());
}

// ---------------------------------------------------------------------------
// The store: one change at a time, nothing lost, nothing outside touched
// ---------------------------------------------------------------------------

fn generated(
    dir: &Path,
    name: &str,
    records: u32,
    seed: u32,
    countries: &str,
) -> std::path::PathBuf {
    let path = dir.join(name);
    ok(&[
        "generate",
        "--records",
        &records.to_string(),
        "--seed",
        &seed.to_string(),
        "--countries",
        countries,
        "--out",
        p(&path),
    ]);
    path
}

/// The rules with another version: a reclassification that changes the
/// store's rules but none of its types.
fn other_rules(dir: &Path, version: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("rules/rules.toml")).unwrap();
    let text = text.replacen(
        "version = \"2026.12.1\"",
        &format!("version = \"{version}\""),
        1,
    );
    let path = dir.join(format!("rules-{version}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn records(store: &Path) -> u64 {
    query_count(store, "SELECT count(*) FROM cases")
}

fn spawn(args: &[&str]) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("safetynet"))
        .arg("--quiet")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: std::process::Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A change refused because another holds the lock, or committed since
/// this one read the store, says so and exits 1.
fn assert_ok_or_locked(code: i32, stderr: &str) {
    assert!(
        code == 0
            || (code == 1
                && (stderr.contains("being changed by another process")
                    || stderr.contains("changed by another process since"))),
        "exit {code}: {stderr}"
    );
}

#[test]
fn two_classify_runs_at_once_keep_every_record() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("store");
    let export = generated(dir.path(), "a.csv", 20_000, 1, "US,MX");
    ingest_json(&store, &[&export]);
    let (a, b) = (
        other_rules(dir.path(), "a.1"),
        other_rules(dir.path(), "b.1"),
    );
    for _ in 0..3 {
        let first = spawn(&["classify", "--store", p(&store), "--rules", p(&a)]);
        let second = spawn(&["classify", "--store", p(&store), "--rules", p(&b)]);
        let (c1, e1) = finish(first);
        let (c2, e2) = finish(second);
        assert_ok_or_locked(c1, &e1);
        assert_ok_or_locked(c2, &e2);
        assert!(c1 == 0 || c2 == 0, "neither ran: {e1} {e2}");
        assert_eq!(records(&store), 20_000);
        ok(&["verify", "--store", p(&store)]);
    }
}

#[test]
fn two_ingests_at_once_store_exactly_what_succeeded() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("store");
    let base = generated(dir.path(), "base.csv", 2_000, 1, "US");
    ingest_json(&store, &[&base]);
    let mx = generated(dir.path(), "mx.csv", 30_000, 2, "MX");
    let ca = generated(dir.path(), "ca.csv", 30_000, 3, "CA");
    let first = spawn(&["ingest", "--store", p(&store), p(&mx)]);
    let second = spawn(&["ingest", "--store", p(&store), p(&ca)]);
    let (c1, e1) = finish(first);
    let (c2, e2) = finish(second);
    assert_ok_or_locked(c1, &e1);
    assert_ok_or_locked(c2, &e2);
    let expected = 2_000 + if c1 == 0 { 30_000 } else { 0 } + if c2 == 0 { 30_000 } else { 0 };
    assert_eq!(records(&store), expected, "{e1}\n{e2}");
    ok(&["verify", "--store", p(&store)]);
    // what was refused can simply be run again, and is not "already ingested"
    if c1 != 0 {
        ingest_json(&store, &[&mx]);
    }
    if c2 != 0 {
        ingest_json(&store, &[&ca]);
    }
    assert_eq!(records(&store), 62_000);
}

fn first_data_file(store: &Path) -> std::path::PathBuf {
    store.join(manifest(store)["data_files"][0].as_str().unwrap())
}

#[test]
fn a_store_missing_a_data_file_answers_nothing() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let gone = first_data_file(&store);
    std::fs::remove_file(&gone).unwrap();
    let name = gone.file_name().unwrap().to_string_lossy().into_owned();
    for args in [
        vec!["query", "--store", p(&store), "SELECT count(*) FROM cases"],
        vec![
            "report",
            "--store",
            p(&store),
            "--out",
            p(&dir.path().join("r")),
        ],
        vec!["verify", "--store", p(&store)],
        vec!["classify", "--store", p(&store)],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(err.contains(&name) && err.contains("damaged"), "{err}");
    }
    assert!(!dir.path().join("r").exists());
}

#[test]
fn an_altered_data_file_is_found_by_verify_and_never_shared() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let file = first_data_file(&store);
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff; // same size, other content
    std::fs::write(&file, bytes).unwrap();
    let (code, _, err) = run(&["verify", "--store", p(&store)]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("SHA-256"), "{err}");
    let bundle = dir.path().join("us.snb");
    let (code, _, err) = run(&[
        "share",
        "--store",
        p(&store),
        "--country",
        "US",
        "--out",
        p(&bundle),
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(!bundle.exists());
}

#[test]
fn a_manifest_path_outside_the_store_is_refused_and_nothing_outside_is_touched() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("x.parquet"), "not the store's").unwrap();
    let mut edited = manifest(&store);
    edited["data_files"]
        .as_array_mut()
        .unwrap()
        .push("../outside/x.parquet".into());
    std::fs::write(store.join("manifest.json"), edited.to_string()).unwrap();
    for args in [
        vec!["classify", "--store", p(&store)],
        vec!["query", "--store", p(&store), "SELECT 1"],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(err.contains("../outside/x.parquet"), "{err}");
    }
    assert_eq!(
        std::fs::read_to_string(outside.join("x.parquet")).unwrap(),
        "not the store's"
    );
}

#[test]
fn a_file_someone_put_in_the_store_is_never_deleted() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let theirs = store.join("data/README.txt");
    std::fs::write(&theirs, "mine").unwrap();
    let rules = other_rules(dir.path(), "c.1");
    ok(&["classify", "--store", p(&store), "--rules", p(&rules)]);
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "mine");
}

#[test]
fn a_change_killed_before_its_commit_leaves_the_store_as_it_was() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("store");
    let base = generated(dir.path(), "base.csv", 1_000, 1, "US");
    ingest_json(&store, &[&base]);
    let before = std::fs::read(store.join("manifest.json")).unwrap();
    let more = generated(dir.path(), "more.csv", 1_000, 2, "MX");
    let out = bin()
        .env("SAFETYNET_KILL_AT", "store-before-manifest")
        .args(["ingest", "--store", p(&store), p(&more)])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the kill point was not reached");
    assert_eq!(std::fs::read(store.join("manifest.json")).unwrap(), before);
    assert_eq!(records(&store), 1_000);
    ok(&["verify", "--store", p(&store)]);
    // the next change removes what the killed one left, and stores the file
    ingest_json(&store, &[&more]);
    assert_eq!(records(&store), 2_000);
    let listed = manifest(&store)["data_files"].as_array().unwrap().len();
    let on_disk = snapshot(&store.join("data")).len();
    assert_eq!(listed, on_disk, "files the manifest does not list are left");
    assert!(!store.join(".tmp").exists());
}

/// A write that fails on ingest's store thread (a full disk, forced by a
/// test hook) is the error reported, whether it comes while rows are still
/// being checked ("store-write": the command's thread then finds the
/// thread gone) or while the last partitions are written on two cores
/// ("store-finish"); the store is left as it was, with nothing staged.
#[test]
fn a_write_that_fails_on_the_stores_thread_is_reported_and_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("store");
    let base = generated(dir.path(), "base.csv", 1_000, 1, "US");
    ingest_json(&store, &[&base]);
    let before = snapshot(&store);
    // three batches of rows, six partitions left for the finish
    let more = generated(dir.path(), "more.csv", 20_000, 2, "MX,CA");
    for point in ["store-write", "store-finish"] {
        let out = bin()
            .env("SAFETYNET_FAIL_AT", point)
            .args(["ingest", "--store", p(&store), p(&more)])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{point}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "no space left on device (test hook SAFETYNET_FAIL_AT={point})"
            )),
            "{point}: {stderr}"
        );
        assert!(!stderr.contains("writer stopped"), "{point}: {stderr}");
        assert_eq!(snapshot(&store), before, "{point}: the store changed");
    }
    ok(&["verify", "--store", p(&store)]);
    assert_eq!(records(&store), 1_000);
}

#[test]
fn a_report_killed_while_replacing_the_previous_one_loses_neither() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let out = dir.path().join("out");
    ok(&["report", "--store", p(&store), "--out", p(&out)]);
    let first = snapshot(&out);
    let killed = bin()
        .env("SAFETYNET_KILL_AT", "output-after-aside")
        .args([
            "report",
            "--store",
            p(&store),
            "--out",
            p(&out),
            "--unit",
            "cases",
        ])
        .output()
        .unwrap();
    assert!(!killed.status.success());
    // the previous report is whole, beside its place
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".out.old-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(snapshot(&aside[0]), first);
    // the next run puts it back first, then replaces it as usual
    ok(&["report", "--store", p(&store), "--out", p(&out)]);
    assert_eq!(snapshot(&out), first);
}

/// Random interleavings of ingest, classify and report on one store, run as
/// real processes two or three at a time: afterwards the store holds exactly
/// the records of the ingests that reported success, and every file is the
/// one written.
#[test]
fn random_interleavings_keep_exactly_the_records_of_successful_changes() {
    let dir = TempDir::new().unwrap();
    let countries = ["US", "MX", "CA", "GB"];
    let exports: Vec<_> = countries
        .iter()
        .enumerate()
        .map(|(i, c)| generated(dir.path(), &format!("{c}.csv"), 3_000, i as u32 + 1, c))
        .collect();
    let rules = [
        other_rules(dir.path(), "r.1"),
        other_rules(dir.path(), "r.2"),
    ];
    for seed in 1..=3u64 {
        let store = dir.path().join(format!("store{seed}"));
        let mut state = seed;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let mut stored = std::collections::BTreeSet::new();
        let mut reclassified = false;
        for wave in 0..4 {
            let width = 2 + next(2);
            let mut running = Vec::new();
            for _ in 0..width {
                let (kind, args): (&str, Vec<String>) = match next(3) {
                    0 => {
                        let i = next(exports.len() as u64) as usize;
                        (
                            "ingest",
                            vec![
                                "ingest".into(),
                                "--store".into(),
                                p(&store).into(),
                                p(&exports[i]).into(),
                                format!("#{i}"),
                            ],
                        )
                    }
                    1 if stored.is_empty() => continue,
                    1 => {
                        let r = &rules[next(2) as usize];
                        (
                            "classify",
                            vec![
                                "classify".into(),
                                "--store".into(),
                                p(&store).into(),
                                "--rules".into(),
                                p(r).into(),
                            ],
                        )
                    }
                    _ if stored.is_empty() => continue,
                    _ => {
                        let out = dir
                            .path()
                            .join(format!("report{seed}-{wave}-{}", next(1000)));
                        (
                            "report",
                            vec![
                                "report".into(),
                                "--store".into(),
                                p(&store).into(),
                                "--out".into(),
                                p(&out).into(),
                            ],
                        )
                    }
                };
                let tag = args.last().filter(|a| a.starts_with('#')).cloned();
                let argv: Vec<&str> = args
                    .iter()
                    .map(String::as_str)
                    .filter(|a| !a.starts_with('#'))
                    .collect();
                running.push((kind, tag, spawn(&argv)));
            }
            let finished: Vec<_> = (running.into_iter())
                .map(|(kind, tag, child)| (kind, tag, finish(child)))
                .collect();
            reclassified |=
                (finished.iter()).any(|(kind, _, (code, _))| *kind == "classify" && *code == 0);
            for (kind, tag, (code, err)) in finished {
                match kind {
                    // a file read once is read without the lock; when a
                    // classify with other rules committed meanwhile (or
                    // before), the ingest checks the file against the store
                    // as it is then, and its rules no longer match it
                    "ingest" if reclassified && code == 2 => assert!(
                        err.contains("was classified with rules version"),
                        "ingest: exit {code}: {err}"
                    ),
                    "report" => assert!(
                        // a report reads the generation it opened, whose
                        // files no change removes while it reads; recording
                        // the release is a change of its own, which another
                        // change may hold off (exit 1)
                        code == 0 || (code == 1 && err.contains("another process")),
                        "report: exit {code}: {err}"
                    ),
                    _ => assert_ok_or_locked(code, &err),
                }
                if kind == "ingest" && code == 0 {
                    stored.insert(tag.unwrap());
                }
            }
        }
        if stored.is_empty() {
            continue;
        }
        assert_eq!(
            records(&store),
            3_000 * stored.len() as u64,
            "seed {seed}: {stored:?}"
        );
        ok(&["verify", "--store", p(&store)]);
    }
}

/// Files under `data/`, sorted.
fn data_files(store: &Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                walk(&entry.path(), out);
            } else {
                out.push(entry.path());
            }
        }
    }
    let mut out = Vec::new();
    walk(&store.join("data"), &mut out);
    out.sort();
    out
}

/// DataFusion reads a listed file that has gone as empty, so a change must
/// not remove the files a reading process opened: a report beside an
/// ingest once counted nothing. Here the test process itself is the reader.
#[test]
fn a_store_being_read_keeps_its_files_until_the_reader_is_done() {
    let dir = TempDir::new().unwrap();
    let store = dir.path().join("store");
    let us = generated(dir.path(), "US.csv", 3_000, 1, "US");
    let mx = generated(dir.path(), "MX.csv", 2_000, 2, "MX");
    ok(&["ingest", "--store", p(&store), p(&us)]);

    // no one reading: the replaced generation's files go at once
    let first = data_files(&store);
    let rules = other_rules(dir.path(), "p.1");
    ok(&["classify", "--store", p(&store), "--rules", p(&rules)]);
    let second = data_files(&store);
    assert!(first.iter().all(|f| !f.exists()), "{first:?}");

    // a reader holds its generation: the change commits, the files stay
    let reader = safetynet::store::Store::open(&store).unwrap();
    let read: Vec<_> = reader.data_paths();
    let mut sorted = read.clone();
    sorted.sort();
    assert_eq!(sorted, second);
    let rules = other_rules(dir.path(), "p.2");
    ok(&["classify", "--store", p(&store), "--rules", p(&rules)]);
    assert!(read.iter().all(|f| f.exists()), "{read:?}");
    let mut rows = 0;
    reader
        .scan(Some(&["unit_id"]), |batch| {
            rows += batch.num_rows();
            Ok(())
        })
        .unwrap();
    assert_eq!(rows, 3_000);
    assert_eq!(records(&store), 3_000);
    // intact, and says what waits
    let said = ok(&["verify", "--store", p(&store)]);
    assert!(
        said.contains(&format!(
            "{} files of replaced generations await removal",
            read.len()
        )),
        "{said}"
    );

    // a change while it still reads leaves them too; once it is done, the
    // next change removes them, and only what the manifest lists remains
    ok(&["ingest", "--store", p(&store), "--rules", p(&rules), p(&mx)]);
    assert!(read.iter().all(|f| f.exists()), "{read:?}");
    drop(reader);
    let rules = other_rules(dir.path(), "p.3");
    ok(&["classify", "--store", p(&store), "--rules", p(&rules)]);
    assert!(read.iter().all(|f| !f.exists()), "{read:?}");
    let now = safetynet::store::Store::open(&store).unwrap();
    let mut listed = now.data_paths();
    listed.sort();
    assert_eq!(data_files(&store), listed);
    assert_eq!(records(&store), 5_000);
    let said = ok(&["verify", "--store", p(&store)]);
    assert!(!said.contains("await removal"), "{said}");
}

#[test]
fn share_replaces_its_own_bundle_but_never_another_file() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let notes = dir.path().join("notes.snb");
    std::fs::write(&notes, "my notes").unwrap();
    let (code, _, err) = run(&[
        "share",
        "--store",
        p(&store),
        "--country",
        "US",
        "--out",
        p(&notes),
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes");
    let bundle = dir.path().join("us.snb");
    for _ in 0..2 {
        ok(&[
            "share",
            "--store",
            p(&store),
            "--country",
            "US",
            "--out",
            p(&bundle),
        ]);
    }
}

#[test]
fn a_change_while_another_process_holds_the_lock_is_refused_naming_it() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let before = snapshot(&store.join("data"));
    // another process: its lock on the store, with what it says about itself
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(store.join(".lock"))
        .unwrap();
    lock.lock().unwrap();
    std::fs::write(
        store.join(".lock"),
        "pid 4242, `safetynet classify`, since 2026-12-03T10:00:00Z",
    )
    .unwrap();
    let rules = other_rules(dir.path(), "d.1");
    let (code, _, err) = run(&["classify", "--store", p(&store), "--rules", p(&rules)]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("being changed by another process") && err.contains("pid 4242"),
        "{err}"
    );
    assert_eq!(snapshot(&store.join("data")), before);
    drop(lock);
    ok(&["classify", "--store", p(&store), "--rules", p(&rules)]);
}

/// DataFusion's path parser reads `[`, `*` and `?` as a glob: a store under
/// such a folder matched no file and counted 0, with exit code 0.
#[test]
fn a_store_under_a_folder_named_with_glob_characters_is_read_whole() {
    let dir = TempDir::new().unwrap();
    let export = generated(dir.path(), "US.csv", 1_500, 4, "US");
    for name in ["cases [2024]", "a*b", "what?"] {
        let store = dir.path().join(name).join("store");
        ok(&["ingest", "--store", p(&store), p(&export)]);
        assert_eq!(records(&store), 1_500, "{name}");
        let out = dir.path().join(name).join("report");
        ok(&["report", "--store", p(&store), "--out", p(&out)]);
    }
    // `..` in the path: DataFusion refused the URL, and every query failed
    let round_about = dir
        .path()
        .join("what?")
        .join("..")
        .join("a*b")
        .join("store");
    assert_eq!(records(&round_about), 1_500);
    ok(&[
        "report",
        "--store",
        p(&round_about),
        "--out",
        p(&dir.path().join("via-dots")),
    ]);
}

/// `query ... | head`: the reader stops reading; the query ends without a
/// panic (it exited 101 with "failed printing to stdout").
#[test]
fn a_query_whose_reader_stops_reading_ends_quietly() {
    use std::io::Read as _;
    let dir = TempDir::new().unwrap();
    let export = generated(dir.path(), "US.csv", 3_000, 5, "US");
    let store = dir.path().join("store");
    ok(&["ingest", "--store", p(&store), p(&export)]);
    // far more than a pipe holds, so the query is still writing
    let mut child = spawn(&[
        "query",
        "--store",
        p(&store),
        "--format",
        "csv",
        "SELECT * FROM cases CROSS JOIN (SELECT 1 FROM cases LIMIT 20)",
    ]);
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // the read end is closed here, as `head -c 10` closes it
    let (code, err) = finish(child);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
