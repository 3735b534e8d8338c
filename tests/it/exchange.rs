//! Exchange between hotlines: compare from a store, share bundles, merge
//! them; bundles carry no small count and no record; damaged, altered,
//! incompatible or newer bundles are refused with a clear reason.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::*;
use datafusion::arrow::array::{Array, Int64Array, RecordBatch};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::Digest;
use tempfile::TempDir;

fn share(store: &Path, country: &str, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "share",
        "--store",
        p(store),
        "--country",
        country,
        "--out",
        p(out),
    ];
    args.extend(extra);
    ok(&args);
}

/// A bundle's files: (name, bytes) in order.
type Files = Vec<(String, Vec<u8>)>;

/// The bundle's files by name.
fn untar(bundle: &Path) -> Files {
    let mut archive = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().to_string();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

fn retar(files: &Files, bundle: &Path) {
    let mut builder = tar::Builder::new(std::fs::File::create(bundle).unwrap());
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    builder.finish().unwrap();
}

fn batches(parquet: &[u8]) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(parquet))
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

fn csv_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = snapshot(dir)
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    files
}

#[test]
fn three_bundles_merged_give_the_comparison_made_from_the_store() {
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "3000", "21", "US,MX,CA");
    let direct = dir.path().join("direct");
    ok(&[
        "compare",
        "--store",
        p(&store),
        "--countries",
        "US,MX,CA",
        "--from",
        "2016",
        "--to",
        "2023",
        "--out",
        p(&direct),
    ]);
    let mut bundles = Vec::new();
    for country in ["US", "MX", "CA"] {
        let bundle = dir.path().join(format!("{country}.snb"));
        share(
            &store,
            country,
            &bundle,
            &["--from", "2016", "--to", "2023"],
        );
        bundles.push(bundle);
    }
    let merged = dir.path().join("merged");
    let mut args = vec!["merge"];
    args.extend(bundles.iter().map(|b| p(b)));
    args.extend(["--out", p(&merged)]);
    let stdout = ok(&args);
    assert!(
        stdout.contains("comparing US, MX, CA from 2016 to 2023"),
        "{stdout}"
    );
    // every table and the report: the same bytes, so the same numbers
    // wherever either publishes one
    let (a, b) = (csv_files(&direct), csv_files(&merged));
    assert_eq!(
        a.len(),
        6,
        "{:?}",
        a.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert_eq!(a, b);
    for name in [
        "comparison.html",
        "comparison.xlsx",
        "charts/type_shares_by_country.svg",
    ] {
        assert!(merged.join(name).exists(), "{name}");
    }

    // Regional totals: exact where all publish, otherwise a range that
    // holds the true total (counted here from the store).
    let truth = query_rows(
        &store,
        "SELECT coalesce(typology_name, extension_category, 'not determined'), year, count(*) \
         FROM cases WHERE year BETWEEN 2016 AND 2023 GROUP BY 1, 2",
    );
    let mut reader = csv::Reader::from_path(merged.join("tables/04_regional_totals.csv")).unwrap();
    let mut ranges = 0;
    let mut areas = std::collections::BTreeSet::new();
    for row in reader.records() {
        let row = row.unwrap();
        // the compared countries (US, MX) all roll up to the Americas, so
        // its rows hold the same totals as those of all countries
        areas.insert(row[0].to_string());
        let row: Vec<&str> = row.iter().skip(1).collect();
        let (category, year) = (row[2], row[3]);
        let true_total: i64 = truth
            .iter()
            .find(|t| t[0] == category && t[1] == year)
            .map(|t| t[2].parse().unwrap())
            .unwrap_or(0);
        let low: i64 = row[5].parse().unwrap();
        if row[7].is_empty() {
            // the sum of the countries' published counts: each within 3
            let published: i64 = row[4].parse().unwrap();
            assert!(
                (published - true_total).abs() <= 3 * 3,
                "{row:?} vs {true_total}"
            );
        } else {
            ranges += 1;
            assert!(
                row[4].is_empty(),
                "an uncertain total is never one number: {row:?}"
            );
            assert!(low <= true_total, "{row:?} vs {true_total}");
            if !row[6].is_empty() {
                assert!(
                    true_total <= row[6].parse::<i64>().unwrap(),
                    "{row:?} vs {true_total}"
                );
            }
        }
    }
    assert!(ranges > 0, "the fixture has suppressed counts");
    assert_eq!(
        areas.into_iter().collect::<Vec<_>>(),
        ["Americas (UN M49 region)", "all countries compared"]
    );
}

#[test]
fn no_record_and_no_small_count_leaves_in_a_bundle() {
    let dir = TempDir::new().unwrap();
    for (records, seed, k) in [("250", "31", "10"), ("600", "32", "3"), ("900", "33", "5")] {
        let store = synthetic_store(dir.path(), records, seed, "US,MX");
        let bundle = dir.path().join(format!("b{seed}.snb"));
        share(&store, "MX", &bundle, &["--min-cell", k]);
        let k: i64 = k.parse().unwrap();
        let files = untar(&bundle);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "manifest.json",
                "types_by_year.parquet",
                "types_over_period.parquet"
            ]
        );
        let mut suppressed = 0;
        for (_, bytes) in &files[1..] {
            for batch in batches(bytes) {
                let columns: Vec<String> = batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                // aggregate columns only: nothing that identifies a record
                for c in &columns {
                    assert!(
                        ["year", "section", "type_id", "category", "n", "denominator"]
                            .contains(&c.as_str()),
                        "{c}"
                    );
                }
                for name in ["n", "denominator"] {
                    let i = columns.iter().position(|c| c == name).unwrap();
                    let values = batch
                        .column(i)
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .unwrap();
                    for v in values.iter() {
                        match v {
                            None => suppressed += 1,
                            Some(v) => assert!(v == 0 || v >= k, "{name} = {v} with K = {k}"),
                        }
                    }
                }
            }
        }
        assert!(
            suppressed > 0,
            "seed {seed}: small stores have small counts"
        );
        let manifest: serde_json::Value = serde_json::from_slice(&files[0].1).unwrap();
        assert_eq!(manifest["scope"]["min_cell"], k);
        assert_eq!(manifest["format_version"], 1);
    }
}

#[test]
fn damaged_altered_incompatible_and_newer_bundles_are_refused() {
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "800", "41", "US,MX");
    let (us, mx) = (dir.path().join("us.snb"), dir.path().join("mx.snb"));
    share(&store, "US", &us, &[]);
    share(&store, "MX", &mx, &[]);
    let out = dir.path().join("out");
    let refused = |bundles: &[&Path], why: &str| {
        let mut args = vec!["merge"];
        args.extend(bundles.iter().map(|b| p(b)));
        args.extend(["--out", p(&out)]);
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(why), "expected '{why}' in: {stderr}");
    };
    let variant = |name: &str, change: &dyn Fn(&mut Files)| -> PathBuf {
        let mut files = untar(&mx);
        change(&mut files);
        let path = dir.path().join(name);
        retar(&files, &path);
        path
    };

    // truncated in transit
    let bytes = std::fs::read(&mx).unwrap();
    let truncated = dir.path().join("truncated.snb");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    refused(&[&us, &truncated], "truncated.snb: ");
    // not a bundle at all
    let text = dir.path().join("notes.snb");
    std::fs::write(&text, "hello").unwrap();
    refused(&[&text], "notes.snb");
    // one byte of a table changed
    let altered = variant("altered.snb", &|files| {
        let last = files[1].1.len() - 20;
        files[1].1[last] ^= 0x01;
    });
    refused(&[&us, &altered], "does not match its SHA-256");
    // a file the manifest does not list
    let extra = variant("extra.snb", &|files| {
        files.push(("records.csv".into(), b"id\n1\n".to_vec()));
    });
    refused(
        &[&us, &extra],
        "records.csv is in the bundle but not in its manifest",
    );
    // written by a newer version
    let newer = variant("newer.snb", &|files| {
        let text = String::from_utf8(files[0].1.clone()).unwrap();
        files[0].1 = text
            .replace("\"format_version\": 1", "\"format_version\": 2")
            .into_bytes();
    });
    refused(&[&us, &newer], "written by a newer safetynet");
    // a small count forged in, with a hash to match: the audit still refuses it
    let forged = variant("forged.snb", &|files| {
        let batch = &batches(&files[1].1)[0];
        let n = batch.schema().index_of("n").unwrap();
        let values = batch
            .column(n)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        let at = (0..values.len())
            .find(|&i| values.is_null(i))
            .expect("a suppressed count");
        let replaced: Int64Array = (0..values.len())
            .map(|i| {
                if i == at {
                    Some(3)
                } else {
                    values.is_valid(i).then(|| values.value(i))
                }
            })
            .collect();
        let mut columns = batch.columns().to_vec();
        columns[n] = Arc::new(replaced);
        let batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
        let mut bytes = Vec::new();
        let mut w = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let hex = |b: &[u8]| -> String {
            sha2::Sha256::digest(b)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect()
        };
        let (old, new) = (hex(&files[1].1), hex(&bytes));
        files[1].1 = bytes;
        let manifest = String::from_utf8(files[0].1.clone()).unwrap();
        files[0].1 = manifest.replace(&old, &new).into_bytes();
    });
    refused(&[&us, &forged], "not disclosure-controlled");
    // another threshold, another period
    let short = dir.path().join("short.snb");
    share(&store, "MX", &short, &["--from", "2018"]);
    refused(&[&us, &short], "differ in period");
    // rules edited under the same version: Escort Services meant one thing
    // in one bundle and another in the other
    let rules =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/rules.toml"))
            .unwrap();
    let edited = dir.path().join("edited-rules.toml");
    std::fs::write(
        &edited,
        rules.replace("\ntypology = 1\n", "\ntypology = 4\n"),
    )
    .unwrap();
    let other = synthetic_store(dir.path(), "800", "43", "MX");
    ok(&["classify", "--store", p(&other), "--rules", p(&edited)]);
    let (us_years, mx_edited) = (
        dir.path().join("us-years.snb"),
        dir.path().join("mx-edited.snb"),
    );
    share(&store, "US", &us_years, &["--from", "2016", "--to", "2023"]);
    share(
        &other,
        "MX",
        &mx_edited,
        &["--from", "2016", "--to", "2023"],
    );
    refused(
        &[&us_years, &mx_edited],
        "differ in classification rules (the same version, other rules",
    );
    // another protection width: the comparison, protected and audited
    // with the first bundle's, failed its own audit
    let wide = dir.path().join("wide.snb");
    share(&store, "MX", &wide, &["--protection-width", "12"]);
    refused(&[&us, &wide], "differ in protection width (10 and 12)");
    // (after the K = 10 releases: the store's ledger refuses a lower K later)
    let k12 = dir.path().join("k12.snb");
    share(&store, "MX", &k12, &["--min-cell", "12"]);
    refused(&[&us, &k12], "differ in suppression threshold (10 and 12)");
    // the same country twice
    refused(&[&us, &us], "US is given twice");
    // and sharing without disclosure control is not possible
    let (code, _, stderr) = run(&[
        "share",
        "--store",
        p(&store),
        "--country",
        "US",
        "--out",
        p(&dir.path().join("raw.snb")),
        "--no-suppression",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot be combined with sharing"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing was written by a refused merge");
}

#[test]
fn a_bundle_of_format_1_stays_readable() {
    // tests/fixtures/bundle_v1_us.snb was written by the first version with
    // bundles (synthetic data: `generate --records 400 --seed 5 --countries US`).
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bundle_v1_us.snb");
    let (manifest, aggregates) = safetynet::exchange::bundle::read(&fixture).unwrap();
    assert_eq!(manifest.format_version, 1);
    assert_eq!(manifest.scope.country, "US");
    assert_eq!(
        (manifest.scope.from_year, manifest.scope.to_year),
        (2015, 2024)
    );
    assert_eq!(aggregates.tables[0].rows.len(), 240);
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    ok(&["merge", p(&fixture), "--out", p(&out)]);
    let shares = std::fs::read_to_string(out.join("tables/05_type_shares_by_country.csv")).unwrap();
    assert!(shares.contains(",US,"), "{shares}");
}

/// Countries side by side in the order asked, the first the reference;
/// `--types` chooses the types of every table and panel; the folder passes
/// `audit`, and a figure edited in any format fails it.
#[test]
fn a_comparison_is_side_by_side_in_the_order_asked_and_auditable() {
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "3000", "21", "US,MX,CA");
    let out = dir.path().join("cmp");
    let compare = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "compare",
            "--store",
            p(&store),
            "--countries",
            "MX,US,CA",
            "--out",
            p(out),
        ];
        args.extend(extra);
        run(&args)
    };
    let (code, stdout, stderr) = compare(
        &out,
        &[
            "--types",
            "3,agriculture and animal husbandry,domestic work",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("comparing MX, US, CA"), "{stdout}");

    let mut reader = csv::Reader::from_path(out.join("tables/01_shares_side_by_side.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[3..5], ["n_MX", "share_pct_MX"]);
    assert!(
        header.contains(&"diff_pp_US_vs_MX".to_string()),
        "{header:?}"
    );
    assert!(
        header.contains(&"p_holm_CA_vs_MX".to_string()),
        "{header:?}"
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let categories: Vec<&str> = rows.iter().map(|r| &r[2]).collect();
    assert_eq!(
        categories,
        [
            "Outdoor Solicitation",
            "Domestic Work",
            "Agriculture and Animal Husbandry",
            "all records"
        ]
    );
    // the difference is the two published shares' difference, inside its
    // interval
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    for row in &rows[..3] {
        let share = |c: &str| row[at(c)].parse::<f64>().ok();
        if let (Some(us), Some(mx), Some(d), Some(lo), Some(hi)) = (
            share("share_pct_US"),
            share("share_pct_MX"),
            share("diff_pp_US_vs_MX"),
            share("diff_ci_low_pp_US_vs_MX"),
            share("diff_ci_high_pp_US_vs_MX"),
        ) {
            assert!((d - (us - mx)).abs() <= 0.11, "{row:?}");
            assert!(lo <= d && d <= hi, "{row:?}");
        }
    }
    let trends = std::fs::read_to_string(out.join("tables/02_trend_differences.csv")).unwrap();
    assert_eq!(trends.lines().count(), 1 + 3 * 2, "{trends}");
    // one panel per chosen type, a line per country
    let svg = std::fs::read_to_string(out.join("charts/type_shares_by_country.svg")).unwrap();
    for label in [
        "Agriculture and Animal Husbandry",
        "Domestic Work",
        "Outdoor Solicitation",
        "MX, US, CA",
    ] {
        assert!(svg.contains(label), "{label}");
    }
    let html = std::fs::read_to_string(out.join("comparison.html")).unwrap();
    assert!(html.contains("sheet 01_shares_side_by_side of comparison.xlsx"));
    assert!(!html.contains("report.xlsx"));
    assert!(html.contains(&format!("safetynet {}", env!("CARGO_PKG_VERSION"))));
    assert!(html.contains("SHA-256"), "the input files' hashes");

    let audited = ok(&["audit", p(&out)]);
    assert!(audited.contains("audit passed: 6 tables"), "{audited}");

    // an edited share, an edited count in the HTML, a table of its own: each
    // fails the audit
    let forged = dir.path().join("forged");
    let forge = |edit: &dyn Fn(&Path)| {
        let _ = std::fs::remove_dir_all(&forged);
        copy_dir(&out, &forged);
        edit(&forged);
        let (code, _, stderr) = run(&["audit", p(&forged)]);
        assert_ne!(code, 0, "a forged comparison passed the audit");
        stderr
    };
    let err = forge(&|d| {
        let path = d.join("tables/01_shares_side_by_side.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let mut cells: Vec<String> = lines[1].split(',').map(String::from).collect();
        let i = at("share_pct_US");
        cells[i] = format!("{:.1}", cells[i].parse::<f64>().unwrap_or(0.0) + 5.0);
        lines[1] = cells.join(",");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    });
    assert!(err.contains("01_shares_side_by_side"), "{err}");
    let err = forge(&|d| {
        let path = d.join("comparison.html");
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replacen("<td class=\"num\">", "<td class=\"num\">1", 1);
        assert_ne!(text, edited);
        std::fs::write(&path, edited).unwrap();
    });
    assert!(err.contains("comparison.html"), "{err}");
    let err = forge(&|d| {
        std::fs::write(d.join("tables/07_mine.csv"), "category,n\nAgriculture,2\n").unwrap();
    });
    assert!(err.contains("07_mine.csv"), "{err}");

    // the threshold is not taken from the folder on trust: a K edited down
    // fails, and the auditor can require a higher one
    let err = forge(&|d| {
        let path = d.join("comparison.json");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"min_cell\": 10", "\"min_cell\": 1")).unwrap();
    });
    assert!(err.contains("declares K = 1"), "{err}");
    let (code, _, err) = run(&["audit", p(&out), "--min-cell", "20"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("below the K = 20"), "{err}");

    // types it does not know, or no country has, are refused by name
    let (code, _, err) = compare(&dir.path().join("bad"), &["--types", "Knitting"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--types Knitting"), "{err}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A bundle of one country without `--from`/`--to` covers that country's
/// years: one whose records start in 2022 was labelled with the store's
/// first year, 2015, and its empty years read as years without cases.
#[test]
fn a_bundle_covers_its_countrys_years_by_default() {
    let dir = TempDir::new().unwrap();
    let mut rows = Vec::new();
    for (country, years) in [("US", 2015..=2024), ("MX", 2022..=2024)] {
        for year in years {
            for i in 0..12 {
                rows.push(format!(
                    "{country}-{year}-{i},,src,{country},{year},5,{country},,{country},female,24-26,adult,sex,prostitution,Hotel/Motel,,,,"
                ));
            }
        }
    }
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = write_csv(dir.path(), "two.csv", &refs);
    let store = dir.path().join("store");
    ingest_json(&store, &[&file]);
    let bundle = dir.path().join("mx.snb");
    let out = ok(&[
        "share",
        "--store",
        p(&store),
        "--country",
        "MX",
        "--out",
        p(&bundle),
    ]);
    assert!(out.contains("MX 2022–2024"), "{out}");
    let bundle = dir.path().join("us.snb");
    let out = ok(&[
        "share",
        "--store",
        p(&store),
        "--country",
        "US",
        "--out",
        p(&bundle),
    ]);
    assert!(out.contains("US 2015–2024"), "{out}");
}
