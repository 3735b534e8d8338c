//! Disclosure control as a user meets it: the report suppresses and audits,
//! `audit` rereads what was written and catches tampering, internal mode is
//! stamped everywhere, and rates need a valid population table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::*;
use tempfile::TempDir;

fn generated_store(dir: &Path) -> PathBuf {
    let export = dir.join("g.csv");
    ok(&[
        "generate",
        "--records",
        "1200",
        "--seed",
        "11",
        "--countries",
        "US,MX",
        "--out",
        p(&export),
    ]);
    let store = dir.join("store");
    ingest_json(&store, &[&export]);
    store
}

fn report(store: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["report", "--store", p(store), "--out", p(out)];
    args.extend(extra);
    run(&args)
}

type Rows = (Vec<String>, Vec<Vec<String>>);

fn read_csv(path: &Path) -> Rows {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_path(path)
        .unwrap();
    let headers = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

fn write_csv(path: &Path, (headers, rows): &Rows) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(headers).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn the_report_passes_its_own_audit_and_the_audit_catches_a_count_given_away() {
    let dir = TempDir::new().unwrap();
    let store = generated_store(dir.path());
    let (out, internal) = (dir.path().join("out"), dir.path().join("internal"));
    let (code, stdout, stderr) = report(&store, &out, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("audit passed"), "{stdout}");
    assert!(out.join("disclosure.json").exists());
    let (code, stdout, stderr) = run(&["audit", p(&out)]);
    assert_eq!(code, 0, "{stderr}");
    // 14 query tables and the mix tests (no rates without a population)
    assert!(stdout.starts_with("audit passed: 15 tables"), "{stdout}");
    let (code, _, stderr) = report(&store, &internal, &["--no-suppression"]);
    assert_eq!(code, 0, "{stderr}");

    // In the type-by-year table, find a year with suppressed counts and a
    // published total, and publish all but one of the counts with their true
    // values: the year total then gives the last one away.
    let table = |root: &Path| root.join("tables/02_types_by_year.csv");
    let (headers, mut rows) = read_csv(&table(&out));
    let (_, truth) = read_csv(&table(&internal));
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (year, n, total) = (col("year"), col("n"), col("denominator"));
    let mut by_year: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        // a year whose total is published (secondary suppression may hide it)
        if r[n] == "x" && r[total] != "x" {
            by_year.entry(r[year].clone()).or_default().push(i);
        }
    }
    let (_, suppressed) = by_year
        .iter()
        .find(|(_, rows)| rows.len() >= 2)
        .expect("a year with two suppressed counts");
    let (last, others) = suppressed.split_last().unwrap();
    for &i in others {
        assert_eq!(rows[i][..n], truth[i][..n], "same rows in the same order");
        rows[i][n] = truth[i][n].clone();
    }
    write_csv(&table(&out), &(headers.clone(), rows));
    let (code, _, stderr) = run(&["audit", p(&out)]);
    assert_eq!(code, 3, "{stderr}");
    // Published counts carry noise of up to 3 either way, so the year total
    // less the others leaves the last one a range, not its value; the small
    // counts published are what the audit names.
    let _ = last;
    assert!(stderr.contains("is published but below 10"), "{stderr}");
    // the HTML no longer holds the CSV either; the audit checks the two side
    // by side, and its findings come in the order of its checks
    let small = stderr.find("is published but below 10").unwrap();
    let formats = stderr
        .find("report.html: table")
        .expect("the HTML is not the changed CSV");
    assert!(small < formats, "{stderr}");
    for &i in others {
        assert!(stderr.contains(&format!("row {}", i + 1)), "{stderr}");
    }
}

#[test]
fn no_published_count_is_small_and_shares_of_suppressed_counts_are_withheld() {
    let dir = TempDir::new().unwrap();
    let store = generated_store(dir.path());
    let out = dir.path().join("out");
    let (code, _, stderr) = report(
        &store,
        &out,
        &["--min-cell", "5", "--protection-width", "8"],
    );
    assert_eq!(code, 0, "{stderr}");
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("disclosure.json")).unwrap())
            .unwrap();
    assert_eq!(
        (model["min_cell"].as_u64(), model["width"].as_u64()),
        (Some(5), Some(8))
    );
    for table in model["tables"].as_array().unwrap() {
        let name = table["name"].as_str().unwrap();
        let (headers, rows) = read_csv(&out.join("tables").join(format!("{name}.csv")));
        let counts: Vec<usize> = table["counts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| headers.iter().position(|h| h == c.as_str().unwrap()))
            .collect();
        for r in &rows {
            for &c in &counts {
                if let Ok(v) = r[c].parse::<i64>() {
                    assert!(v == 0 || v >= 5, "{name}: {} = {v}", headers[c]);
                }
            }
            if let (Some(n), Some(share)) = (
                headers.iter().position(|h| h == "n"),
                headers.iter().position(|h| h == "share_pct"),
            ) && r[n] == "x"
            {
                assert_eq!(r[share], "x", "{name}: share of a suppressed count");
            }
        }
    }
    // The same report audited for a wider range than it was made for may
    // fail, but never for the width it was made for.
    let (code, _, stderr) = run(&["audit", p(&out), "--protection-width", "8"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn internal_mode_stamps_every_output_and_cannot_pass_the_audit() {
    let dir = TempDir::new().unwrap();
    let store = generated_store(dir.path());
    let out = dir.path().join("internal");
    let (code, _, stderr) = report(&store, &out, &["--no-suppression"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("NOT FOR PUBLICATION"), "{stderr}");
    let stamp = "NOT FOR PUBLICATION";
    for entry in std::fs::read_dir(out.join("tables")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(text.starts_with(&format!("# {stamp}")), "{text:.80}");
    }
    for entry in std::fs::read_dir(out.join("charts")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "svg") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains(stamp), "{}", path.display());
        }
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.starts_with(&format!("**{stamp}")));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains(&format!("<p class=\"stamp\">{stamp}")));
    use calamine::{Reader, Xlsx, open_workbook};
    let mut book: Xlsx<_> = open_workbook(out.join("report.xlsx")).unwrap();
    for name in book.sheet_names() {
        let sheet = book.worksheet_range(&name).unwrap();
        let cell = sheet
            .get_value((1, 0))
            .map(|v| v.to_string())
            .unwrap_or_default();
        assert!(cell.starts_with(stamp), "sheet {name}: {cell}");
    }
    // a small count is there, as asked
    let (headers, rows) = read_csv(&out.join("tables/02_types_by_year.csv"));
    let n = headers.iter().position(|h| h == "n").unwrap();
    assert!(
        rows.iter()
            .any(|r| matches!(r[n].parse::<i64>(), Ok(1..=9)))
    );

    let (code, _, stderr) = run(&["audit", p(&out)]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains("--no-suppression: NOT FOR PUBLICATION"),
        "{stderr}"
    );
    // a directory that is not a report at all
    let (code, _, stderr) = run(&["audit", p(&out.join("tables"))]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a report directory"), "{stderr}");
}

#[test]
fn rates_need_a_valid_population_table_and_are_labelled_as_detection() {
    let dir = TempDir::new().unwrap();
    let store = generated_store(dir.path());
    let population = dir.path().join("population.csv");
    std::fs::write(
        &population,
        "country,year,population,source\nUS,2020,331449281,US Census 2020\nMX,2020,126014024,INEGI 2020\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let (code, _, stderr) = report(&store, &out, &["--population", p(&population)]);
    assert_eq!(code, 0, "{stderr}");
    let (headers, rows) = read_csv(&out.join("tables/11_detection_rates.csv"));
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let us = rows
        .iter()
        .find(|r| r[col("reporting_country")] == "US" && r[col("n")] != "x")
        .expect("a published US year");
    let n: f64 = us[col("n")].parse().unwrap();
    assert_eq!(us[col("population_year")], "2020");
    assert_eq!(
        us[col("rate_per_100k")],
        format!("{:.1}", 100_000.0 * n / 331_449_281.0)
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("detected cases per 100,000 population"));
    assert!(md.contains("not the prevalence"));

    // without a population table there is no rates table
    let plain = dir.path().join("plain");
    report(&store, &plain, &[]);
    assert!(!plain.join("tables/11_detection_rates.csv").exists());

    std::fs::write(
        &population,
        "country,year,population,source\nUS,2020,many,x\n",
    )
    .unwrap();
    let (code, _, stderr) = report(
        &store,
        &dir.path().join("bad"),
        &["--population", p(&population)],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("population.csv: row 2, column population"),
        "{stderr}"
    );
}

#[test]
fn the_mix_test_compares_every_pair_of_countries_and_the_two_halves_of_the_period() {
    let dir = TempDir::new().unwrap();
    let store = generated_store(dir.path());
    let out = dir.path().join("out");
    report(&store, &out, &[]);
    // without a population table there is no rates table, and the numbers
    // close up: the mix tests follow the two trafficker tables, the table by
    // reporting country and the confidence table as table 15
    assert!(!out.join("tables/16_typology_mix_tests.csv").exists());
    let (headers, rows) = read_csv(&out.join("tables/15_typology_mix_tests.csv"));
    assert_eq!(
        headers,
        [
            "comparison",
            "group_a",
            "group_b",
            "n",
            "statistic",
            "df",
            "p_value",
            "cramers_v",
            "reading"
        ]
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0][..3], ["countries", "MX", "US"]);
    assert_eq!(rows[1][0], "periods");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("Detection differs between hotlines"));
}

/// The mix tests took in types shown as `x` in the table by reporting
/// country (hidden to protect a small neighbour), and their n and statistic
/// gave those cells back (an attacker recovered two, 24 and 10, from one
/// report). Each test's n is now what the published table shows for the
/// types both countries show, and the audit works the tests out again.
#[test]
fn the_mix_tests_use_only_counts_the_report_shows() {
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "3000", "7", "US,MX,CA");
    let out = dir.path().join("out");
    let (code, _, stderr) = report(&store, &out, &[]);
    assert_eq!(code, 0, "{stderr}");
    let table = |suffix: &str| {
        let name = std::fs::read_dir(out.join("tables"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .find(|n| n.ends_with(suffix))
            .unwrap();
        (
            out.join("tables").join(&name),
            read_csv(&out.join("tables").join(name)),
        )
    };
    let (_, (headers, by_country)) = table("_types_by_reporting_country.csv");
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (country, category, n) = (column("reporting_country"), column("category"), column("n"));
    // country -> category -> the count shown (None: x)
    let mut shown: BTreeMap<&str, BTreeMap<&str, Option<u64>>> = BTreeMap::new();
    for row in &by_country {
        shown
            .entry(&row[country])
            .or_default()
            .insert(&row[category], row[n].parse().ok());
    }
    let hidden_somewhere = shown.values().flat_map(|m| m.values()).any(Option::is_none);
    assert!(hidden_somewhere, "the data should hide some cell");
    let (tests_path, (_, tests)) = table("_typology_mix_tests.csv");
    let mut checked = 0;
    for test in tests.iter().filter(|t| t[0] == "countries") {
        let (a, b) = (&shown[test[1].as_str()], &shown[test[2].as_str()]);
        let expected: u64 = a
            .keys()
            .chain(b.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter_map(|c| {
                let x = a.get(c).copied().unwrap_or(Some(0))?;
                let y = b.get(c).copied().unwrap_or(Some(0))?;
                Some(x + y)
            })
            .sum();
        assert_eq!(test[3], expected.to_string(), "{test:?}");
        checked += 1;
    }
    assert_eq!(checked, 3);
    // the audit works the tests out from the published counts
    let text = std::fs::read_to_string(&tests_path).unwrap();
    let first_n = &tests[0][3];
    let edited = text.replacen(
        &format!(",{first_n},"),
        &format!(",{},", first_n.parse::<u64>().unwrap() + 40),
        1,
    );
    assert_ne!(edited, text);
    std::fs::write(&tests_path, edited).unwrap();
    let (code, _, stderr) = run(&["audit", p(&out)]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("is not the one the published counts give"),
        "{stderr}"
    );
}

#[test]
fn a_report_that_fails_its_audit_is_not_written_and_the_previous_one_stays() {
    use safetynet::publish::Cell;
    use safetynet::report::ReportOptions;
    let dir = TempDir::new().unwrap();
    let store = generated_store(dir.path());
    let out = dir.path().join("out");
    let (code, _, stderr) = report(&store, &out, &[]);
    assert_eq!(code, 0, "{stderr}");
    let before = snapshot(&out);

    let store = safetynet::store::Store::open(&store).unwrap();
    let options = ReportOptions {
        selection: Default::default(),
        policy: Default::default(),
        extra_queries: None,
        population: None,
        needs: None,
        engine: Default::default(),
        title: None,
        organisation: None,
        logo: None,
        trend_types: Vec::new(),
        pdf: false,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut built = runtime
        .block_on(safetynet::report::build(&store, &options))
        .unwrap();
    // A renderer bug that printed a suppressed count would look like this.
    let table = built
        .tables
        .iter_mut()
        .find(|t| t.spec.name == "02_types_by_year")
        .unwrap();
    let n = table.column("n").unwrap();
    let row = table
        .rows
        .iter_mut()
        .find(|r| r[n] == Cell::Suppressed)
        .unwrap();
    row[n] = Cell::Int(3);
    let error = safetynet::report::write_replacing(&built, &out, None).unwrap_err();
    assert_eq!(error.exit_code(), 3, "{error}");
    assert!(
        error.to_string().contains("published but below 10"),
        "{error}"
    );
    assert_eq!(
        snapshot(&out),
        before,
        "the previous report is left as it was"
    );
}

#[test]
fn the_audit_reads_a_row_that_begins_with_a_hash() {
    let dir = TempDir::new().unwrap();
    let store = generated_store(dir.path());
    let out = dir.path().join("out");
    let (code, _, stderr) = report(&store, &out, &[]);
    assert_eq!(code, 0, "{stderr}");
    let table = out.join("tables/01_totals_by_form_year.csv");
    let text = std::fs::read_to_string(&table).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    // a row a reader sees, with a small count in every column
    let row: Vec<&str> = header
        .iter()
        .enumerate()
        .map(|(i, _)| if i == 0 { "#1" } else { "3" })
        .collect();
    std::fs::write(&table, format!("{text}{}\n", row.join(","))).unwrap();
    let (code, _, err) = run(&["audit", p(&out)]);
    assert_eq!(code, 3, "the audit skipped a row beginning with #: {err}");
}

#[test]
fn a_count_published_only_in_the_html_the_markdown_or_the_workbook_fails_the_audit() {
    let dir = TempDir::new().unwrap();
    let store = generated_store(dir.path());
    let out = dir.path().join("out");
    let (code, _, stderr) = report(&store, &out, &[]);
    assert_eq!(code, 0, "{stderr}");
    for (file, from, to) in [
        (
            "report.html",
            "<td class=\"sup\">x</td>",
            "<td class=\"sup\">4</td>",
        ),
        ("report.md", "| x |", "| 4 |"),
    ] {
        let path = out.join(file);
        let original = std::fs::read_to_string(&path).unwrap();
        assert!(original.contains(from), "{file} has no suppressed cell");
        std::fs::write(&path, original.replacen(from, to, 1)).unwrap();
        let (code, _, err) = run(&["audit", p(&out)]);
        assert_eq!(code, 3, "a leak only in {file} passed: {err}");
        assert!(err.contains(file), "{err}");
        std::fs::write(&path, original).unwrap();
    }
    let (code, _, err) = run(&["audit", p(&out)]);
    assert_eq!(code, 0, "{err}");
    // the workbook of a report made with K = 3 shows counts K = 10 hides
    // (made from a copy of the store: its own ledger refuses a lower K)
    let copy = TempDir::new().unwrap();
    let loose = dir.path().join("loose");
    let (code, _, stderr) = report(&generated_store(copy.path()), &loose, &["--min-cell", "3"]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::copy(loose.join("report.xlsx"), out.join("report.xlsx")).unwrap();
    let (code, _, err) = run(&["audit", p(&out)]);
    assert_eq!(code, 3, "a leak only in report.xlsx passed: {err}");
    assert!(err.contains("report.xlsx"), "{err}");
}

/// The first round's blind spots, planted by hand: a share beside an `x`
/// (it pins the count), and a share that is not the share of the published
/// counts (computed from the true ones). The audit finds both.
#[test]
fn the_audit_finds_a_derived_figure_that_pins_a_count() {
    let dir = TempDir::new().unwrap();
    let store = generated_store(dir.path());
    let out = dir.path().join("out");
    let (code, _, stderr) = report(&store, &out, &[]);
    assert_eq!(code, 0, "{stderr}");
    let file = out.join("tables/04_profile_by_type.csv");
    let (headers, rows) = read_csv(&file);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (n, share) = (col("n"), col("share_pct"));
    let hidden = rows
        .iter()
        .position(|r| r[n] == "x")
        .expect("a suppressed count");
    let shown = rows
        .iter()
        .position(|r| r[n] != "x" && r[share] != "x")
        .expect("a published share");
    for (row, planted, expected) in [
        (hidden, "40.0", "beside a suppressed count"),
        (shown, "0.1", "is not what the published counts give"),
    ] {
        let mut edited = rows.clone();
        edited[row][share] = planted.into();
        write_csv(&file, &(headers.clone(), edited));
        let (code, _, stderr) = run(&["audit", p(&out)]);
        assert_eq!(code, 3, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
}
