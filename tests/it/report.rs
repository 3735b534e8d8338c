//! Issue 4: every query file on a fixture store whose expected values are
//! worked out here from how the fixture was built; disclosure control;
//! deterministic output; snapshots; the committed reports/ is up to date;
//! the HTML report in a real headless browser.

use std::path::{Path, PathBuf};

use crate::common::*;
use tempfile::TempDir;

/// A group of identical records in the fixture.
struct Group {
    count: usize,
    year: &'static str,
    country: &'static str,
    form: &'static str,
    sectors: &'static str,
    venue: &'static str,
    gender: &'static str,
    age: &'static str,
    citizenship: &'static str,
    recruitment: &'static str,
    relation: &'static str,
    control: &'static str,
    /// Victims per case.
    per_case: usize,
}

const GROUPS: &[Group] = &[
    // 20 escort victims in 2020, nationals, adults, 5 cases of 4
    Group {
        count: 20,
        year: "2020",
        country: "US",
        form: "sex",
        sectors: "prostitution",
        venue: "Hotel",
        gender: "female",
        age: "18-20",
        citizenship: "US",
        recruitment: "intimate_partner",
        relation: "intimate_partner",
        control: "threats;physical_abuse",
        per_case: 4,
    },
    // 12 escort victims in 2021, minors, foreign nationals
    Group {
        count: 12,
        year: "2021",
        country: "US",
        form: "sex",
        sectors: "prostitution",
        venue: "Motel",
        gender: "female",
        age: "9-17",
        citizenship: "MX",
        recruitment: "intimate_partner;internet",
        relation: "family",
        control: "threats",
        per_case: 1,
    },
    // 4 agriculture victims in 2020 (a small cell)
    Group {
        count: 4,
        year: "2020",
        country: "US",
        form: "labor",
        sectors: "agriculture",
        venue: "farm",
        gender: "male",
        age: "30-38",
        citizenship: "GT",
        recruitment: "job_offer",
        relation: "other",
        control: "debt_bondage;withholds_documents",
        per_case: 1,
    },
    // 11 agriculture victims in 2021 in Mexico
    Group {
        count: 11,
        year: "2021",
        country: "MX",
        form: "labor",
        sectors: "agriculture",
        venue: "rancho",
        gender: "male",
        age: "24-26",
        citizenship: "MX",
        recruitment: "job_offer",
        relation: "other",
        control: "debt_bondage",
        per_case: 1,
    },
    // 10 sex trafficking records with no venue: undetermined
    Group {
        count: 10,
        year: "2021",
        country: "MX",
        form: "sex",
        sectors: "prostitution",
        venue: "",
        gender: "female",
        age: "",
        citizenship: "",
        recruitment: "",
        relation: "",
        control: "",
        per_case: 1,
    },
    // 2 records without a year: left out of every table
    Group {
        count: 2,
        year: "",
        country: "US",
        form: "sex",
        sectors: "prostitution",
        venue: "Hotel",
        gender: "female",
        age: "",
        citizenship: "US",
        recruitment: "",
        relation: "",
        control: "",
        per_case: 1,
    },
];

pub(crate) fn fixture_csv(dir: &Path) -> PathBuf {
    let mut lines = Vec::new();
    let mut id = 0;
    for (g, group) in GROUPS.iter().enumerate() {
        for i in 0..group.count {
            id += 1;
            let case = format!("C{g}-{}", i / group.per_case);
            lines.push(format!(
                "R{id:03},{case},fixture,{c},{y},,{c},,{cit},{gender},{age},,{form},{sectors},{venue},{rec},{rel},{ctl},",
                c = group.country,
                y = group.year,
                cit = group.citizenship,
                gender = group.gender,
                age = group.age,
                form = group.form,
                sectors = group.sectors,
                venue = group.venue,
                rec = group.recruitment,
                rel = group.relation,
                ctl = group.control,
            ));
        }
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    write_csv(dir, "fixture.csv", &refs)
}

pub(crate) fn fixture_store(dir: &Path) -> PathBuf {
    let csv = fixture_csv(dir);
    let store = dir.join("store");
    let s = ingest_json(&store, &[&csv]);
    assert_eq!(s["stored"], 59, "{s}");
    store
}

/// A published table as rows of column → text.
fn read_table(out: &Path, name: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    // `#` lines: the NOT FOR PUBLICATION stamp of --no-suppression
    csv_rows(
        csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_path(out.join("tables").join(format!("{name}.csv")))
            .unwrap(),
    )
}

fn row<'a>(
    rows: &'a [std::collections::BTreeMap<String, String>],
    key: &[(&str, &str)],
) -> &'a std::collections::BTreeMap<String, String> {
    rows.iter()
        .find(|r| {
            key.iter()
                .all(|(k, v)| r.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no row {key:?} in {rows:#?}"))
}

fn pct(n: f64, d: f64) -> String {
    format!("{:.1}", 100.0 * n / d)
}

pub(crate) fn report(store: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec!["report", "--store", p(store), "--out", p(out)];
    args.extend(extra);
    ok(&args);
}

#[test]
fn every_query_gives_the_values_worked_out_from_the_fixture() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let out = dir.path().join("out");
    // The queries' arithmetic, before disclosure control (tested below).
    report(&store, &out, &["--no-suppression"]);

    // 01: totals by form and year; 2020 has 24 records (20 sex, 4 labor)
    let t = read_table(&out, "01_totals_by_form_year");
    let r = row(&t, &[("year", "2020"), ("trafficking_form", "sex")]);
    assert_eq!((r["n"].as_str(), r["denominator"].as_str()), ("20", "24"));
    assert_eq!(r["share_pct"], pct(20.0, 24.0));
    let r = row(&t, &[("year", "2020"), ("trafficking_form", "labor")]);
    assert_eq!(
        (
            r["n"].clone(),
            r["share_pct"].clone(),
            r["ci_low_pct"].clone()
        ),
        (
            "4".to_string(),
            pct(4.0, 24.0),
            format!("{:.1}", wilson(4.0, 24.0).0)
        )
    );
    let r = row(&t, &[("year", "2021"), ("trafficking_form", "sex")]);
    assert_eq!((r["n"].as_str(), r["denominator"].as_str()), ("22", "33"));
    let r = row(&t, &[("year", "2021"), ("trafficking_form", "other")]);
    assert_eq!(
        (r["n"].as_str(), r["share_pct"].as_str()),
        ("0", "0.0"),
        "zero is shown as zero"
    );
    // the Wilson interval of 20/24
    let (lo, hi) = wilson(20.0, 24.0);
    let r = row(&t, &[("year", "2020"), ("trafficking_form", "sex")]);
    assert_eq!(
        (r["ci_low_pct"].clone(), r["ci_high_pct"].clone()),
        (format!("{lo:.1}"), format!("{hi:.1}"))
    );

    // 02: the trend table
    let t = read_table(&out, "02_types_by_year");
    let r = row(&t, &[("category", "Escort Services"), ("year", "2021")]);
    assert_eq!((r["n"].as_str(), r["prev_n"].as_str()), ("12", "20"));
    assert_eq!(r["change_pct"], "-40.0");
    assert_eq!(r["share_pct"], pct(12.0, 33.0));
    assert_eq!(r["section"], "typology");
    let r = row(
        &t,
        &[
            ("category", "Agriculture and Animal Husbandry"),
            ("year", "2021"),
        ],
    );
    assert_eq!(
        (
            r["n"].as_str(),
            r["prev_n"].as_str(),
            r["change_pct"].as_str()
        ),
        ("11", "4", "175.0")
    );
    let r = row(&t, &[("category", "not determined"), ("year", "2021")]);
    assert_eq!(
        (r["section"].as_str(), r["n"].as_str()),
        ("undetermined", "10")
    );
    let r = row(&t, &[("category", "not determined"), ("year", "2020")]);
    assert_eq!(r["n"], "0");

    // 03: top types within each form; sex records: 42 (32 escort + 10 undetermined)
    let t = read_table(&out, "03_top_types_by_form");
    let r = row(&t, &[("trafficking_form", "sex"), ("rank", "1")]);
    assert_eq!(
        (
            r["category"].as_str(),
            r["n"].as_str(),
            r["denominator"].as_str()
        ),
        ("Escort Services", "32", "42")
    );
    assert_eq!(r["share_pct"], pct(32.0, 42.0));
    let r = row(&t, &[("trafficking_form", "labor"), ("rank", "1")]);
    assert_eq!((r["n"].as_str(), r["share_pct"].as_str()), ("15", "100.0"));

    // 04: profile
    let t = read_table(&out, "04_profile_by_type");
    let r = row(
        &t,
        &[
            ("category", "Escort Services"),
            ("attribute", "adult/minor"),
            ("value", "minor"),
        ],
    );
    assert_eq!(
        (
            r["n"].as_str(),
            r["denominator"].as_str(),
            r["share_pct"].clone()
        ),
        ("12", "32", pct(12.0, 32.0))
    );
    let r = row(
        &t,
        &[
            ("category", "Escort Services"),
            ("attribute", "citizenship"),
            ("value", "foreign national"),
        ],
    );
    assert_eq!(r["n"], "12");
    let r = row(
        &t,
        &[
            ("category", "Escort Services"),
            ("attribute", "gender"),
            ("value", "female"),
        ],
    );
    assert_eq!(r["share_pct"], "100.0");

    // 05-07: multi-valued attributes, shares of records with the attribute recorded
    let t = read_table(&out, "05_recruitment_by_type");
    let r = row(
        &t,
        &[
            ("category", "Escort Services"),
            ("recruitment_tactic", "intimate_partner"),
        ],
    );
    assert_eq!((r["n"].as_str(), r["denominator"].as_str()), ("32", "32"));
    let r = row(
        &t,
        &[
            ("category", "Escort Services"),
            ("recruitment_tactic", "internet"),
        ],
    );
    assert_eq!(
        (r["n"].as_str(), r["share_pct"].clone()),
        ("12", pct(12.0, 32.0))
    );
    let t = read_table(&out, "06_recruiter_relation_by_type");
    let r = row(
        &t,
        &[
            ("category", "Escort Services"),
            ("recruiter_relation", "family"),
        ],
    );
    assert_eq!(r["n"], "12");
    let t = read_table(&out, "07_control_methods_by_type");
    let r = row(
        &t,
        &[
            ("category", "Escort Services"),
            ("control_method", "physical_abuse"),
        ],
    );
    assert_eq!(
        (r["n"].as_str(), r["share_pct"].clone()),
        ("20", pct(20.0, 32.0))
    );
    let r = row(
        &t,
        &[
            ("category", "Agriculture and Animal Husbandry"),
            ("control_method", "withholds_documents"),
        ],
    );
    assert_eq!(
        (r["n"].as_str(), r["share_pct"].clone()),
        ("4", pct(4.0, 15.0))
    );
    let r = row(
        &t,
        &[
            ("category", "Agriculture and Animal Husbandry"),
            ("control_method", "debt_bondage"),
        ],
    );
    assert_eq!((r["n"].as_str(), r["share_pct"].as_str()), ("15", "100.0"));

    // 08: country of exploitation by year
    let t = read_table(&out, "08_exploitation_country_by_year");
    assert_eq!(
        row(&t, &[("exploitation_country", "US"), ("year", "2020")])["n"],
        "24"
    );
    assert_eq!(
        row(&t, &[("exploitation_country", "MX"), ("year", "2021")])["n"],
        "21"
    );

    // 09: citizenship in the US: 20 US, 12 MX, 4 GT
    let t = read_table(&out, "09_citizenship_by_country");
    let r = row(&t, &[("exploitation_country", "US"), ("citizenship", "MX")]);
    assert_eq!((r["n"].as_str(), r["denominator"].as_str()), ("12", "36"));
    assert_eq!(
        row(&t, &[("exploitation_country", "US"), ("citizenship", "GT")])["n"],
        "4"
    );

    // 10: coverage, and the records without a year
    let t = read_table(&out, "10_classification_coverage");
    let r = row(&t, &[("section", "undetermined")]);
    assert_eq!(
        (
            r["reason"].as_str(),
            r["n"].as_str(),
            r["denominator"].as_str()
        ),
        ("sex trafficking, prostitution, no venue", "10", "57")
    );
    assert_eq!(row(&t, &[("section", "typology")])["n"], "47");
    assert_eq!(
        row(&t, &[("section", "left out: year not recorded")])["n"],
        "2"
    );
}

/// 95% Wilson interval in percent, computed here independently of the UDF.
fn wilson(x: f64, n: f64) -> (f64, f64) {
    let z: f64 = 1.959963984540054;
    let p = x / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    (100.0 * (centre - half), 100.0 * (centre + half))
}

/// Every report of one year counted in cases failed with exit 1 ("parts
/// sum to 32 but cell records(section=undetermined) is 15"): in cases, a
/// total no table publishes has a stand-in value (the least its relations
/// allow), and a relation derived between two of them was checked against
/// those values (helper-23).
#[test]
fn a_report_of_one_year_in_cases_is_published() {
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "1500", "6", "US");
    let out = dir.path().join("cases");
    report(
        &store,
        &out,
        &["--unit", "cases", "--from", "2020", "--to", "2020"],
    );
    let t = read_table(&out, "02_types_by_year");
    assert!(!t.is_empty() && t.iter().all(|r| r["year"] == "2020"));
    ok(&["audit", p(&out), "--store", p(&store)]);
}

#[test]
fn parameters_select_years_countries_and_unit() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let out = dir.path().join("cases");
    report(
        &store,
        &out,
        &[
            "--unit",
            "cases",
            "--from",
            "2020",
            "--to",
            "2020",
            "--country",
            "US",
        ],
    );
    let t = read_table(&out, "02_types_by_year");
    assert!(t.iter().all(|r| r["year"] == "2020"));
    // 20 victims in 5 cases: counted as cases the cell is small
    assert_eq!(row(&t, &[("category", "Escort Services")])["n"], "x");
    let out = dir.path().join("mx");
    report(&store, &out, &["--country", "MX", "--min-cell", "12"]);
    let t = read_table(&out, "08_exploitation_country_by_year");
    // the region's total (no country) above its one country
    assert!(
        t.iter()
            .all(|r| r["exploitation_country"] == "MX" || r["exploitation_country"].is_empty()),
        "{t:?}"
    );
    assert!(
        t.iter().all(|r| r["exploitation_region"] == "Americas"),
        "{t:?}"
    );
    // a value that is not a country code never reaches the SQL
    let (code, _, stderr) = run(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&out),
        "--country",
        "US' OR '1'='1",
    ]);
    assert_eq!(code, 2, "{stderr}");
    // the same parameters are bound by `query`
    let n = query_rows(
        &store,
        "SELECT count(*) FROM cases WHERE year BETWEEN $from_year AND $to_year",
    );
    assert_eq!(n[0][0], "57");
}

#[test]
fn no_published_count_is_between_1_and_k_minus_1() {
    let dir = TempDir::new().unwrap();
    let export = dir.path().join("g.csv");
    ok(&[
        "generate",
        "--records",
        "1500",
        "--seed",
        "3",
        "--countries",
        "US,MX",
        "--out",
        p(&export),
    ]);
    let store = dir.path().join("store");
    ingest_json(&store, &[&export]);
    for k in ["5", "10"] {
        let out = dir.path().join(format!("k{k}"));
        report(&store, &out, &["--min-cell", k]);
        let k: i64 = k.parse().unwrap();
        for entry in std::fs::read_dir(out.join("tables")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            // the count columns of each table, as the report declares them
            let model: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(out.join("disclosure.json")).unwrap(),
            )
            .unwrap();
            let counts: Vec<String> = model["tables"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["name"] == name.as_str())
                .unwrap()["counts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect();
            for r in read_table(&out, &name) {
                for c in &counts {
                    if let Ok(n) = r[c].parse::<i64>() {
                        assert!(n == 0 || n >= k, "{name}: {c} = {n} published with K = {k}");
                    } else {
                        assert!(r[c] == "x" || r[c].is_empty(), "{name}: {c} = {}", r[c]);
                    }
                }
            }
        }
    }
}

#[test]
fn two_runs_give_identical_bytes_and_match_the_snapshots() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    report(&store, &a, &[]);
    report(&store, &b, &[]);
    assert_eq!(snapshot(&a), snapshot(&b));
    let files: Vec<_> = snapshot(&a)
        .keys()
        .map(|p| p.display().to_string())
        .collect();
    for expected in [
        "report.html",
        "report.md",
        "report.xlsx",
        "charts/types_by_year.svg",
        "charts/types_by_year.png",
        "tables/02_types_by_year.csv",
    ] {
        assert!(
            files.contains(&expected.to_string()),
            "{expected} missing: {files:?}"
        );
    }
    // reviewed with `cargo insta review` (or INSTA_UPDATE=always) when a
    // change is intended
    insta::assert_snapshot!(
        "fixture_report_md",
        std::fs::read_to_string(a.join("report.md")).unwrap()
    );
    insta::assert_snapshot!(
        "fixture_types_by_year_svg",
        std::fs::read_to_string(a.join("charts/types_by_year.svg")).unwrap()
    );
    // the workbook is a real XLSX (a zip) with a sheet per table
    let xlsx = std::fs::read(a.join("report.xlsx")).unwrap();
    assert_eq!(&xlsx[..2], b"PK");
    let text = String::from_utf8_lossy(&xlsx);
    assert!(text.contains("xl/worksheets/sheet10.xml"));
}

/// The memory the session's table `cases` holds, when it is in memory.
async fn bytes_in_memory(ctx: &datafusion::prelude::SessionContext) -> Option<usize> {
    let table = ctx.table_provider("cases").await.unwrap();
    let any: &dyn std::any::Any = table.as_ref();
    any.downcast_ref::<safetynet::sql::in_memory::StoreInMemory>()
        .map(|t| t.bytes())
}

/// Every shipped query (those that need only the records) with the
/// selection's parameters, as text.
async fn every_query(ctx: &datafusion::prelude::SessionContext) -> Vec<String> {
    use safetynet::sql::selection::{Selection, parameters, run_with_parameters, year_range};
    let (from, to) = year_range(ctx).await.unwrap();
    let mut answers = Vec::new();
    for (name, sql) in safetynet::sql::queries::DEFAULT_QUERIES {
        let spec = safetynet::publish::table::TableSpec::parse(name, sql).unwrap();
        if spec.requires.iter().any(|r| r != "cases") {
            continue;
        }
        let batches = run_with_parameters(ctx, sql, parameters(&Selection::default(), from, to))
            .await
            .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap();
        answers.push(format!("{name}\n{text}"));
    }
    answers
}

/// A report's session reads a small store into memory once, and every
/// query answers from it exactly as from the store's files.
#[test]
fn a_small_store_is_read_into_memory_once_and_answers_as_its_files_do() {
    use safetynet::sql::engine::{EngineSettings, session, session_for_many_queries};
    let dir = TempDir::new().unwrap();
    let store = safetynet::store::Store::open(&fixture_store(dir.path())).unwrap();
    safetynet::sql::engine::runtime().unwrap().block_on(async {
        let in_memory = session_for_many_queries(&store, EngineSettings::default())
            .await
            .unwrap();
        let on_disk = session(&store, EngineSettings::default()).await.unwrap();
        assert!(bytes_in_memory(&in_memory).await.is_some());
        assert!(bytes_in_memory(&on_disk).await.is_none());
        let (memory, disk) = (every_query(&in_memory).await, every_query(&on_disk).await);
        assert!(memory.len() > 10, "{}", memory.len());
        assert_eq!(memory, disk);
    });
}

/// The store in memory is held against the memory limit: when it would
/// take more than its share, the session reads the files instead, and the
/// report is the same, byte for byte.
#[test]
fn a_store_beyond_its_share_of_the_memory_limit_is_read_from_its_files() {
    use safetynet::sql::engine::{EngineSettings, session_for_many_queries};
    use safetynet::sql::in_memory::SHARE_OF_POOL;
    let dir = TempDir::new().unwrap();
    let export = dir.path().join("g.csv");
    // enough records that a quarter of the pool that cannot hold them is
    // still a pool the report's sorts run in
    ok(&[
        "generate",
        "--records",
        "14000",
        "--seed",
        "5",
        "--out",
        p(&export),
    ]);
    let path = dir.path().join("store");
    ingest_json(&path, &[&export]);
    let store = safetynet::store::Store::open(&path).unwrap();
    let runtime = safetynet::sql::engine::runtime().unwrap();
    let read = |engine| {
        runtime
            .block_on(session_for_many_queries(&store, engine))
            .unwrap()
    };
    let bytes = runtime
        .block_on(bytes_in_memory(&read(EngineSettings::default())))
        .expect("read into memory");
    let fits = EngineSettings {
        memory_limit: bytes * SHARE_OF_POOL,
    };
    let too_small = EngineSettings {
        memory_limit: bytes * SHARE_OF_POOL - 1,
    };
    assert_eq!(runtime.block_on(bytes_in_memory(&read(fits))), Some(bytes));
    assert_eq!(runtime.block_on(bytes_in_memory(&read(too_small))), None);
    let written = |engine, out: &str| {
        let options = safetynet::report::ReportOptions {
            selection: Default::default(),
            policy: Default::default(),
            extra_queries: None,
            population: None,
            needs: None,
            engine,
            title: None,
            organisation: None,
            logo: None,
            trend_types: Vec::new(),
            pdf: false,
        };
        let built = runtime
            .block_on(safetynet::report::build(&store, &options))
            .unwrap();
        let out = dir.path().join(out);
        safetynet::report::write(&built, &out).unwrap();
        snapshot(&out)
    };
    assert_eq!(
        written(EngineSettings::default(), "memory"),
        written(too_small, "disk")
    );
}

#[test]
fn the_committed_reports_are_what_the_main_command_produces() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = TempDir::new().unwrap();
    let config = std::fs::read_to_string(root.join("safetynet.toml")).unwrap();
    // the same configuration, with the store and output in a temp dir
    let config = config
        .replace(
            "store = \"store\"",
            &format!(
                "store = {:?}",
                dir.path().join("store").display().to_string()
            ),
        )
        .replace(
            "out = \"reports\"",
            &format!(
                "out = {:?}",
                dir.path().join("reports").display().to_string()
            ),
        )
        .replace(
            "\"sample-data/",
            &format!("\"{}/sample-data/", root.display()),
        )
        .replace("\"mappings/", &format!("\"{}/mappings/", root.display()))
        .replace("\"data/", &format!("\"{}/data/", root.display()));
    let config_path = dir.path().join("safetynet.toml");
    std::fs::write(&config_path, config).unwrap();
    ok(&["run", "--config", p(&config_path)]);
    let produced = snapshot(&dir.path().join("reports"));
    let committed = snapshot(&root.join("reports"));
    let names =
        |s: &std::collections::BTreeMap<PathBuf, Vec<u8>>| s.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&produced),
        names(&committed),
        "reports/ lists other files than the command writes"
    );
    for (path, bytes) in &produced {
        assert!(
            committed.get(path) == Some(bytes),
            "reports/{} is out of date: run `cargo run --release -- run` and commit reports/",
            path.display()
        );
    }
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let Some(chromium) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        eprintln!("SKIPPED: Debian's chromium is not installed (.ci/run installs it)");
        if std::env::var_os("CI_REQUIRE_BROWSER").is_some() {
            panic!("CI_REQUIRE_BROWSER is set but chromium is missing");
        }
        return;
    };
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let out = dir.path().join("out");
    report(&store, &out, &[]);
    let html = out.join("report.html");
    let shot = dir.path().join("shot.png");
    let profile = dir.path().join("profile");
    let output = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            "--window-size=1200,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let console_errors: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            l.contains("CONSOLE")
                && (l.contains("Uncaught") || l.contains("error") || l.contains("Error"))
        })
        .collect();
    assert!(
        console_errors.is_empty(),
        "console errors: {console_errors:?}"
    );
    let non_white = dark_pixels(&shot);
    assert!(
        non_white > 5000,
        "the screenshot is (almost) blank: {non_white} dark pixels"
    );
}

/// A store whose records have no year cannot be reported on, and the
/// message says what to do about it rather than only that.
#[test]
fn a_store_without_years_is_refused_with_what_to_do() {
    let dir = TempDir::new().unwrap();
    let export = write_csv(
        dir.path(),
        "noyear.csv",
        &[
            "N1,C1,test,US,,,,,,,,,sex,,,,,,",
            "N2,C2,test,US,,,,,,,,,labor,,,,,,",
        ],
    );
    let store = dir.path().join("store");
    ingest_json(&store, &[&export]);
    let (code, _, stderr) = run(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&dir.path().join("out")),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no records with a year or a period") && stderr.contains("[fields.year]"),
        "{stderr}"
    );
    // `query` needs the store's years only for a year it is not given
    let by_year = "SELECT count(*) AS n FROM cases WHERE coalesce(year_from, year) >= $from_year";
    let (code, _, stderr) = run(&["query", "--store", p(&store), "--to", "2024", by_year]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no records with a year or a period"),
        "{stderr}"
    );
    let out = ok(&[
        "query",
        "--store",
        p(&store),
        "--format",
        "csv",
        "--from",
        "2015",
        "--to",
        "2024",
        by_year,
    ]);
    assert_eq!(out.trim(), "n\n0");
}

/// The workbook as analysts expect it, read back with a reader crate: a
/// README sheet naming every table and column, numbers stored as numbers
/// (the p-values and Cramér's V of the mix tests too), a Methods sheet.
#[test]
fn the_workbook_has_a_readme_numbers_as_numbers_and_the_methods() {
    use calamine::{Data, Reader};
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "3000", "8", "US,MX");
    let out = dir.path().join("out");
    report(&store, &out, &[]);
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(out.join("report.xlsx")).unwrap();
    let names = book.sheet_names();
    assert_eq!(names.first().map(String::as_str), Some("README"));
    assert_eq!(names.last().map(String::as_str), Some("Methods"));
    let readme = book.worksheet_range("README").unwrap();
    let text: Vec<String> = readme
        .rows()
        .flat_map(|r| r.iter().map(|c| c.to_string()))
        .collect();
    assert!(
        text.iter().any(|t| t.starts_with("x: not published")),
        "{text:?}"
    );
    assert!(text.iter().any(|t| t == "ci_low_pct"));
    assert!(text.iter().any(|t| t.contains("95% Wilson")));
    let mix_name = names
        .iter()
        .find(|n| n.ends_with("typology_mix_tests"))
        .unwrap()
        .clone();
    let mix = book.worksheet_range(&mix_name).unwrap();
    let header: Vec<String> = mix
        .rows()
        .nth(2)
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (pc, vc) = (column("p_value"), column("cramers_v"));
    let tested: Vec<&[Data]> = mix
        .rows()
        .skip(3)
        .take_while(|r| !r.iter().all(|c| matches!(c, Data::Empty)))
        .filter(|r| !matches!(r[vc], Data::Empty))
        .collect();
    assert!(!tested.is_empty());
    for row in tested {
        assert!(matches!(row[vc], Data::Float(_)), "{row:?}");
        // "<0.001" stays text; every other p-value is a number
        assert!(
            matches!(row[pc], Data::Float(_)) || row[pc] == Data::String("<0.001".into()),
            "{row:?}"
        );
    }
    let methods = book.worksheet_range("Methods").unwrap();
    assert!(methods.rows().any(|r| {
        r.iter()
            .any(|c| *c == Data::String("Disclosure control".into()))
    }));
    // the audit reads the workbook too, and still agrees
    let audit = ok(&["audit", p(&out)]);
    assert!(audit.contains("audit passed"), "{audit}");
}

/// A selection without a record is refused, as `compare` refuses one,
/// instead of an empty report that says "audit passed".
#[test]
fn an_empty_selection_is_refused_and_the_report_records_its_inputs() {
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "400", "9", "US");
    let out = dir.path().join("out");
    let (code, _, stderr) = run(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&out),
        "--country",
        "CA",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no records of CA"), "{stderr}");
    assert!(!out.exists());
    // the report names its inputs with their hashes and the tool's version
    report(&store, &out, &[]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let sha = manifest(&store)["inputs"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(md.contains(&format!("g9.csv (SHA-256 {sha})")), "{md}");
    assert!(md.contains(&format!("safetynet {}", env!("CARGO_PKG_VERSION"))));
    // the report opens with its key figures, which the audit rebuilds from
    // the published tables: a figure changed in the HTML fails it
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let at = html
        .find("<section id=\"key-figures\">")
        .expect("key figures");
    let row = at + html[at..].find("<td>").unwrap() + 4;
    let tampered = format!("{}9{}", &html[..row], &html[row..]);
    std::fs::write(out.join("report.html"), tampered).unwrap();
    let (code, _, stderr) = run(&["audit", p(&out)]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("key figures"), "{stderr}");
}

/// A type keeps its colour whatever the selection: Escort Services (type 1)
/// is drawn in the same colour in two reports of different years, and in
/// the colour of its legend swatch.
#[test]
fn a_type_keeps_its_colour_across_reports() {
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "3000", "12", "US");
    let (all, late) = (dir.path().join("all"), dir.path().join("late"));
    report(&store, &all, &[]);
    report(&store, &late, &["--from", "2021"]);
    for out in [&all, &late] {
        for chart in ["types_by_year.svg", "top_types_trend.svg"] {
            let svg = std::fs::read_to_string(out.join("charts").join(chart)).unwrap();
            assert!(svg.contains("Escort Services"), "{chart}");
            // type 1's fixed colour (Paul Tol's blue), never the palette's first
            assert!(svg.contains("#4477AA"), "{chart} of {out:?}");
        }
    }
}

/// The pipeline is the analyst's: `run` takes the selection and the output
/// folder as flags over the config file, and the config's `queries` folder
/// adds the user's own tables to the annual report.
#[test]
fn run_takes_the_selection_and_the_users_tables() {
    let dir = TempDir::new().unwrap();
    let export = dir.path().join("export.csv");
    ok(&[
        "generate",
        "--records",
        "2000",
        "--seed",
        "4",
        "--countries",
        "US",
        "--out",
        p(&export),
    ]);
    let queries = dir.path().join("mine");
    std::fs::create_dir(&queries).unwrap();
    std::fs::write(
        queries.join("50_minors.sql"),
        "-- title: Minors by type\n-- counts: n\n-- cells: n = minors(category)\n\
         SELECT coalesce(typology_name, 'not determined') AS category, protected_count(record_id) AS n \
         FROM cases WHERE year BETWEEN $from_year AND $to_year AND majority_status = 'minor' GROUP BY 1 ORDER BY 1\n",
    )
    .unwrap();
    let config = dir.path().join("safetynet.toml");
    std::fs::write(
        &config,
        "store = \"store\"\nout = \"reports\"\ninputs = [\"export.csv\"]\n\n[report]\nqueries = \"mine\"\n",
    )
    .unwrap();
    let out = dir.path().join("later");
    ok(&[
        "run",
        "--config",
        p(&config),
        "--from",
        "2020",
        "--to",
        "2022",
        "--out",
        p(&out),
    ]);
    assert!(!dir.path().join("reports").exists());
    let tables: Vec<String> = std::fs::read_dir(out.join("tables"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        tables.iter().any(|t| t.ends_with("_minors.csv")),
        "{tables:?}"
    );
    let totals = read_table(&out, "01_totals_by_form_year");
    let mut years: Vec<&str> = totals.iter().map(|r| r["year"].as_str()).collect();
    years.dedup();
    assert_eq!(years, ["2020", "2021", "2022"]);
}

/// The pixels of a screenshot that are not (nearly) white.
fn dark_pixels(shot: &Path) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(shot).expect("a screenshot was taken"),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf[..info.buffer_size()]
        .chunks(info.color_type.samples())
        .filter(|px| px.iter().take(3).any(|v| *v < 200))
        .count()
}

/// The browser the PDF and rendering tests use: Debian's Chromium. None
/// (the test says SKIPPED) where it is not installed, unless CI requires it.
fn chromium() -> Option<&'static str> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    if found.is_none() {
        eprintln!("SKIPPED: Debian's chromium is not installed (.ci/run installs it)");
        if std::env::var_os("CI_REQUIRE_BROWSER").is_some() {
            panic!("CI_REQUIRE_BROWSER is set but chromium is missing");
        }
    }
    found
}

/// `--type` draws the chosen types' trend, every chart title names the
/// selection, `--logo` takes a PNG into the page and refuses anything else,
/// and a `--pdf` the browser fails to print leaves no report behind.
#[test]
fn chart_titles_name_the_selection_and_type_and_logo_are_the_users() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let logo = dir.path().join("logo.png");
    // the smallest valid PNG: 1×1, one blue pixel
    std::fs::write(
        &logo,
        [
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0,
            0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xDE, 0, 0, 0, 12, b'I', b'D',
            b'A', b'T', 0x08, 0xD7, 0x63, 0x60, 0x60, 0xF8, 0x0F, 0, 0x01, 0x03, 0x01, 0x00, 0x18,
            0xDD, 0x8D, 0xB4, 0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82,
        ],
    )
    .unwrap();
    let out = dir.path().join("out");
    report(
        &store,
        &out,
        &[
            "--type",
            "agriculture and animal husbandry",
            "--logo",
            p(&logo),
            "--country",
            "US",
        ],
    );
    let trend = std::fs::read_to_string(out.join("charts/chosen_types_trend.svg")).unwrap();
    assert!(
        trend.contains("Share of the year&apos;s records: Agriculture and Animal Husbandry: US")
            || trend.contains("Share of the year's records: Agriculture and Animal Husbandry: US"),
        "{}",
        &trend[..trend.len().min(2000)]
    );
    for chart in ["types_by_year", "top_types_trend", "victim_profile"] {
        let svg = std::fs::read_to_string(out.join(format!("charts/{chart}.svg"))).unwrap();
        assert!(
            svg.contains(": US, "),
            "{chart} does not name the selection"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<img class=\"logo\" alt=\"logo\" src=\"data:image/png;base64,iVBORw0KGgo")
    );
    ok(&["audit", p(&out)]);

    let svg_logo = dir.path().join("logo.svg");
    std::fs::write(&svg_logo, "<svg onload=\"alert(1)\"/>").unwrap();
    for (flag, value, says) in [
        ("--type", "Knitting", "--type Knitting"),
        ("--logo", p(&svg_logo), "PNG or JPEG"),
    ] {
        let target = dir.path().join("refused");
        let (code, _, err) = run(&[
            "report",
            "--store",
            p(&store),
            "--out",
            p(&target),
            flag,
            value,
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(says), "{err}");
        assert!(!target.exists());
    }

    // a browser that writes no PDF: an error, and nothing published
    let target = dir.path().join("no-pdf");
    let output = bin()
        .env("SAFETYNET_BROWSER", "/bin/false")
        .args(["report", "--store", p(&store), "--out", p(&target), "--pdf"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{err}");
    assert!(err.contains("did not write a PDF"), "{err}");
    assert!(!target.join("report.html").exists());
}

/// The report prints to a PDF of a sensible length with its title, the
/// same bytes every time; the comparison renders in the browser too.
#[test]
fn the_report_prints_to_a_pdf_and_the_comparison_renders_in_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "1500", "7", "US,MX");
    let out = dir.path().join("out");
    let output = bin()
        .env("SAFETYNET_BROWSER", chromium)
        .args(["report", "--store", p(&store), "--out", p(&out), "--pdf"])
        .args(["--title", "Hotline figures"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pdf = std::fs::read(out.join("report.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let pages = safetynet::publish::pdf::page_count(&pdf);
    assert!((3..=120).contains(&pages), "{pages} pages");
    // the title, as the PDF's metadata holds it (plain, or UTF-16 in hex)
    let title_hex: String = "FEFF"
        .chars()
        .map(String::from)
        .chain("Hotline figures".encode_utf16().map(|u| format!("{u:04X}")))
        .collect();
    let holds = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
    assert!(
        holds(b"/Title (Hotline figures)") || holds(title_hex.as_bytes()),
        "the PDF's title"
    );
    // bookmarks from the headings: the key figures open it, each country
    // has its section
    for heading in [
        &b"/Title (Key figures)"[..],
        b"/Title (By reporting country)",
        b"/Title (Mexico \\(MX\\))",
        b"/Title (Methods)",
    ] {
        assert!(holds(heading), "{}", String::from_utf8_lossy(heading));
    }
    // printed again from the same page: the same bytes
    let again = dir.path().join("again.pdf");
    // (Debian's chromium is on the PATH, where `print` looks for it)
    safetynet::publish::pdf::print(&out.join("report.html"), &again).unwrap();
    assert!(
        std::fs::read(&again).unwrap() == pdf,
        "the PDF is not reproducible"
    );
    // the release ledger holds the PDF with the other files
    ok(&["audit", p(&out), "--store", p(&store)]);

    let comparison = dir.path().join("cmp");
    ok(&["compare", "--store", p(&store), "--out", p(&comparison)]);
    let shot = dir.path().join("cmp.png");
    let status = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--proxy-server=127.0.0.1:9",
            "--window-size=1200,1600",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!(
            "file://{}",
            comparison.join("comparison.html").display()
        ))
        .output()
        .unwrap();
    assert!(status.status.success());
    let dark = dark_pixels(&shot);
    assert!(dark > 5000, "the comparison renders (almost) blank: {dark}");
}

/// A report of several reporting countries has a section for each, read
/// from the published table by reporting country; `audit` rebuilds the
/// sections from the CSV and fails on a figure they do not give.
#[test]
fn each_reporting_country_has_its_section_and_the_audit_checks_it() {
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "1500", "9", "US,MX");
    let out = dir.path().join("out");
    report(&store, &out, &[]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for text in [&html, &md] {
        assert!(text.contains("By reporting country"));
        assert!(
            text.contains("Mexico (MX)") && text.contains("United States"),
            "names"
        );
    }
    // the section's figures are the table's
    // numbered where it falls (tables left out leave no gap)
    let name = std::fs::read_dir(out.join("tables"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .find(|n| n.ends_with("_types_by_reporting_country.csv"))
        .unwrap();
    let rows = read_table(&out, name.trim_end_matches(".csv"));
    let mx_total = rows
        .iter()
        .find(|r| r["reporting_country"] == "MX")
        .map(|r| r["denominator"].clone())
        .unwrap();
    let shown: f64 = mx_total.parse().unwrap();
    let formatted = safetynet::publish::key_figures::thousands(shown);
    assert!(
        html.contains(&format!("Records of the period: {formatted}.")),
        "{formatted}"
    );
    ok(&["audit", p(&out)]);

    let section = html.find("id=\"countries\"").unwrap();
    let at =
        section + html[section..].find("<td class=\"num\">").unwrap() + "<td class=\"num\">".len();
    let mut forged = html.clone();
    forged.insert(at, '9');
    std::fs::write(out.join("report.html"), forged).unwrap();
    let (code, _, err) = run(&["audit", p(&out)]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("the sections by reporting country"), "{err}");
}

/// A year without records has no row in the trend table, so the row
/// before a year can be two years back: its count is not the previous
/// year's, and a change over two years shown as one year's was wrong (and
/// contradicted the other tables, so such a store could not be published).
#[test]
fn a_year_without_records_gives_no_change_from_the_year_before_it() {
    let dir = TempDir::new().unwrap();
    let full = dir.path().join("full.csv");
    ok(&[
        "generate",
        "--records",
        "3000",
        "--seed",
        "5",
        "--countries",
        "US,MX",
        "--years",
        "2018-2022",
        "--out",
        p(&full),
    ]);
    // the same export without 2021
    let mut reader = csv::Reader::from_path(&full).unwrap();
    let headers = reader.headers().unwrap().clone();
    let year = headers.iter().position(|h| h == "year").unwrap();
    let gap = dir.path().join("gap.csv");
    let mut writer = csv::Writer::from_path(&gap).unwrap();
    writer.write_record(&headers).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        if &record[year] != "2021" {
            writer.write_record(&record).unwrap();
        }
    }
    writer.flush().unwrap();
    let store = dir.path().join("store");
    ingest_json(&store, &[&gap]);

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let trend = query_rows_of_file(&store, &root.join("queries/02_types_by_year.sql"));
    let year_of = |r: &std::collections::BTreeMap<String, String>| r["year"].clone();
    assert!(trend.iter().any(|r| year_of(r) == "2020"));
    assert!(trend.iter().all(|r| year_of(r) != "2021"));
    for row in trend.iter().filter(|r| year_of(r) == "2022") {
        assert_eq!(row["prev_n"], "", "{row:?}");
        assert_eq!(row["change_pct"], "", "{row:?}");
    }
    // 2020 still has 2019 before it
    assert!(
        trend
            .iter()
            .any(|r| year_of(r) == "2020" && !r["prev_n"].is_empty())
    );
    let out = dir.path().join("report");
    ok(&["report", "--store", p(&store), "--out", p(&out)]);
    for row in read_table(&out, "02_types_by_year")
        .iter()
        .filter(|r| r["year"] == "2022")
    {
        assert_eq!(row["prev_n"], "", "{row:?}");
        assert_eq!(row["change_pct"], "", "{row:?}");
    }
}

/// A query file's result as rows of column → text (CSV; empty = null).
fn query_rows_of_file(
    store: &Path,
    file: &Path,
) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = ok(&[
        "query",
        "--store",
        p(store),
        "--format",
        "csv",
        "--file",
        p(file),
    ]);
    csv_rows(csv::Reader::from_reader(text.as_bytes()))
}

/// A report of "US, FR" from a store without FR named FR as covered while
/// counting none of it: refused, naming FR.
#[test]
fn a_report_naming_a_country_without_records_is_refused() {
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "2000", "3", "US,MX");
    let out = dir.path().join("report");
    let (code, _, err) = run(&[
        "report",
        "--store",
        p(&store),
        "--country",
        "US,FR",
        "--out",
        p(&out),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("has no records of FR from"), "{err}");
    assert!(!out.exists());
    ok(&[
        "report",
        "--store",
        p(&store),
        "--country",
        "US,MX",
        "--out",
        p(&out),
    ]);
}

/// `--queries DIR` whose files would not be read (none named `.sql`, or one
/// named as a shipped query with other SQL) published nothing of them,
/// silently: refused, naming the folder or the file.
#[test]
fn report_queries_that_would_not_be_read_are_refused() {
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "1500", "6", "US");
    let out = dir.path().join("report");
    let report = |queries: &Path| {
        let (code, _, err) = run(&[
            "report",
            "--store",
            p(&store),
            "--out",
            p(&out),
            "--queries",
            p(queries),
        ]);
        (code, err)
    };
    let refused = |queries: &Path, named: &str| {
        let (code, err) = report(queries);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(named), "{err}");
        assert!(!out.exists());
    };
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    refused(&empty, "holds no .sql file");
    let edited = dir.path().join("edited");
    std::fs::create_dir(&edited).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("queries/01_totals_by_form_year.sql")).unwrap();
    std::fs::write(
        edited.join("01_totals_by_form_year.sql"),
        shipped.replace("WHERE", "WHERE 1 = 1 AND"),
    )
    .unwrap();
    refused(&edited, "a shipped query has this name");
    // a copy of the shipped file (with Windows line endings) is the same
    // table, and `.SQL` is read
    std::fs::write(
        edited.join("01_totals_by_form_year.sql"),
        shipped.replace('\n', "\r\n"),
    )
    .unwrap();
    std::fs::write(
        edited.join("60_Mine.SQL"),
        "-- title: Mine\nSELECT 'mine' AS label",
    )
    .unwrap();
    let (code, err) = report(&edited);
    assert_eq!(code, 0, "{err}");
    // tables are numbered in the report's order
    let mine = std::fs::read_dir(out.join("tables"))
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with("_Mine.csv"));
    assert!(mine);
}

/// A user's table that counts records some other way than with
/// `protected_count` published true counts, small ones included, beside
/// the same cells shown as `x` in the shipped tables, and passed the
/// audit: `sum(1)`, `approx_distinct`, `cardinality(array_agg(...))`,
/// `max(row_number() OVER ...)`, and a table of the records themselves.
#[test]
fn a_users_table_that_counts_records_without_their_noise_is_refused() {
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "1500", "6", "US");
    let out = dir.path().join("report");
    let queries = dir.path().join("mine");
    std::fs::create_dir(&queries).unwrap();
    let table = queries.join("90_mine.sql");
    let report = || {
        let (code, _, err) = run(&[
            "report",
            "--store",
            p(&store),
            "--out",
            p(&out),
            "--queries",
            p(&queries),
        ]);
        (code, err)
    };
    for (sql, says) in [
        (
            "SELECT year, trafficking_form, sum(1) AS victims FROM cases GROUP BY 1, 2",
            "uses sum(...)",
        ),
        (
            "SELECT approx_distinct(record_id) AS n FROM cases",
            "approx_distinct",
        ),
        (
            "SELECT cardinality(array_agg(record_id)) AS n FROM cases",
            "array_agg",
        ),
        (
            "SELECT max(r) AS n FROM (SELECT row_number() OVER (ORDER BY record_id) AS r FROM cases)",
            "window function to the records",
        ),
        ("SELECT record_id, year FROM cases", "without being counted"),
        // what a review found past the first plan check: a sum of rows
        // grouped by record, a record's id in a scalar subquery, every
        // record counted three times over, the records' values listed
        (
            "SELECT year, sum(one) AS n FROM (SELECT record_id, year, 1 AS one FROM cases GROUP BY 1, 2) GROUP BY year",
            "groups by a record's or case's id",
        ),
        (
            "SELECT year, (SELECT c.record_id FROM cases c WHERE c.year = 2017 LIMIT 1) AS r FROM cases GROUP BY year",
            "subquery",
        ),
        (
            "SELECT year, protected_count(c.record_id) AS n FROM cases c CROSS JOIN (VALUES (1), (2), (3)) v(k) GROUP BY year",
            "joins or unions the records",
        ),
        (
            "SELECT year, gender, age_band FROM cases GROUP BY 1, 2, 3",
            "without being counted",
        ),
        // rows chosen by a count tell it (a third review listed every
        // hidden count so)
        (
            "WITH c AS (SELECT year, published_count(record_id) AS n FROM cases GROUP BY year) \
             SELECT c.year, v.t FROM c JOIN (VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9)) v(t) ON c.n = v.t",
            "chooses rows by a count",
        ),
    ] {
        std::fs::write(&table, format!("-- title: Mine\n{sql}")).unwrap();
        let (code, err) = report();
        assert_eq!(code, 2, "{sql}: {err}");
        assert!(err.contains(says), "{sql}: {err}");
        assert!(!out.exists());
    }
    // a protected count passed off as a derived figure (never suppressed)
    std::fs::write(
        &table,
        "-- title: Mine\n-- derived: n from year\n\
         SELECT year, protected_count(record_id) AS n FROM cases GROUP BY year ORDER BY year",
    )
    .unwrap();
    let (code, err) = report();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("worked out from year"), "{err}");
    // grouped on enough columns that most rows are one or two records: a
    // list of rare combinations, each count `x` (a review's table had
    // 2,919 rows for 3,000 records)
    std::fs::write(
        &table,
        "-- title: Mine\n-- counts: n\n\
         -- cells: n = records(year, month, gender, age_band, citizenship, exploitation_subdivision, venue)\n\
         SELECT year, month, gender, age_band, citizenship, exploitation_subdivision, venue, \
         protected_count(record_id) AS n \
         FROM cases GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7",
    )
    .unwrap();
    let (code, err) = report();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the grouping is finer than the data"), "{err}");
    assert!(!out.exists());
    // protected counts are published
    std::fs::write(
        &table,
        "-- title: Mine\n-- counts: n\n-- cells: n = records(year)\n\
         SELECT year, protected_count(record_id) AS n FROM cases GROUP BY year ORDER BY year",
    )
    .unwrap();
    let (code, err) = report();
    assert_eq!(code, 0, "{err}");
}

/// Runs killed while writing left their staging folders (and `share` its
/// staging file) beside the output for good: thirty killed `compare` runs
/// left 26 MB. The next run of the same output removes those of ended
/// processes, and nothing else.
#[test]
fn what_killed_runs_left_beside_an_output_is_removed_by_the_next() {
    let dir = TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "600", "8", "US");
    let out = dir.path().join("report");
    let ended = 4_194_400u32; // above Linux's largest pid
    let staging = dir
        .path()
        .join(format!(".report.staging-00000000000000000001-{ended}"));
    std::fs::create_dir(&staging).unwrap();
    std::fs::write(staging.join("report.md"), "half").unwrap();
    let notes = dir.path().join(".report.notes");
    std::fs::create_dir(&notes).unwrap();
    ok(&["report", "--store", p(&store), "--out", p(&out)]);
    let bundle = dir.path().join("us.snb");
    let half_bundle = dir.path().join(format!(".us.snb.staging-{ended}"));
    std::fs::write(&half_bundle, "half").unwrap();
    ok(&[
        "share",
        "--store",
        p(&store),
        "--country",
        "US",
        "--out",
        p(&bundle),
    ]);
    if Path::new("/proc/self").exists() {
        assert!(!staging.exists() && !half_bundle.exists());
    }
    assert!(notes.exists(), "a folder of the user's stays");
}
