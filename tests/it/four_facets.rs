//! [Four facets]: perpetrators as data, registration periods, places as
//! countries or UN regions, and the type profiles, tried on a synthetic
//! victim–perpetrator export made by `generate --coarse` through the
//! shipped mapping file. Counts are checked against an independent reader
//! of the export (the `csv` crate here, no code of the tool's).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::*;

fn mapping() -> String {
    format!(
        "{}/mappings/victim_perpetrator.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The export and its store: 6,000 victims of three hotlines, 2015-2024.
fn victim_perpetrator_store(dir: &Path) -> (PathBuf, PathBuf) {
    let export = dir.join("vp.csv");
    ok(&[
        "generate",
        "--records",
        "6000",
        "--seed",
        "11",
        "--countries",
        "US,MX,CA",
        "--coarse",
        "--mapping",
        &mapping(),
        "--out",
        p(&export),
    ]);
    let store = dir.join("store");
    ok(&[
        "ingest",
        "--mapping",
        &mapping(),
        "--store",
        p(&store),
        p(&export),
    ]);
    (export, store)
}

/// The export read on its own: each row as column → value.
fn read_export(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn count_where(
    rows: &[BTreeMap<String, String>],
    f: impl Fn(&BTreeMap<String, String>) -> bool,
) -> u64 {
    rows.iter().filter(|r| f(r)).count() as u64
}

#[test]
fn a_victim_perpetrator_export_is_stored_as_the_file_says() {
    let dir = tempfile::TempDir::new().unwrap();
    let (export, store) = victim_perpetrator_store(dir.path());
    let rows = read_export(&export);
    assert_eq!(rows.len(), 6000);
    assert_eq!(query_count(&store, "SELECT count(*) FROM cases"), 6000);

    // periods: four in five rows give one, and every one is stored as such
    let periods = count_where(&rows, |r| r["yearOfRegistration"].contains('-'));
    assert!(periods > 4000, "{periods} periods");
    assert_eq!(
        query_count(
            &store,
            "SELECT count(*) FROM cases WHERE year IS NULL AND year_from < year_to"
        ),
        periods
    );
    for (from, to) in [(2015, 2019), (2020, 2024)] {
        let label = format!("{from}-{to}");
        assert_eq!(
            query_count(
                &store,
                &format!(
                    "SELECT count(*) FROM cases WHERE year_from = {from} AND year_to = {to} AND year IS NULL"
                )
            ),
            count_where(&rows, |r| r["yearOfRegistration"] == label),
            "{label}"
        );
    }

    // places: UN regions by name, stored as M49 codes, no country
    assert!(
        rows.iter()
            .all(|r| r["placeOfExploitation"].is_empty() || r["placeOfExploitation"] == "Americas")
    );
    assert_eq!(
        query_count(
            &store,
            "SELECT count(*) FROM cases WHERE exploitation_region = '019' AND exploitation_country IS NULL"
        ),
        count_where(&rows, |r| r["placeOfExploitation"] == "Americas")
    );
    for (name, code) in [("Americas", "019"), ("Asia", "142")] {
        assert_eq!(
            query_count(
                &store,
                &format!("SELECT count(*) FROM cases WHERE citizenship_region = '{code}'")
            ),
            count_where(&rows, |r| r["victimCitizenship"] == name),
            "{name}"
        );
    }

    // perpetrators: multi-valued cells joined with ";"
    for (label, code) in [
        ("Family", "family"),
        ("Employer", "employer"),
        ("Intimate partner", "intimate_partner"),
    ] {
        assert_eq!(
            query_count(
                &store,
                &format!(
                    "SELECT count(*) FROM cases WHERE array_has(perpetrator_relations, '{code}')"
                )
            ),
            count_where(&rows, |r| r["relationToVictim"]
                .split(';')
                .any(|v| v.trim() == label)),
            "{label}"
        );
    }
    assert_eq!(
        query_count(
            &store,
            "SELECT count(*) FROM cases WHERE array_has(perpetrator_genders, 'female')"
        ),
        count_where(&rows, |r| r["perpetratorGender"]
            .split(';')
            .any(|v| v.trim() == "Woman"))
    );
    assert_eq!(
        query_count(
            &store,
            "SELECT count(*) FROM cases WHERE perpetrator_money_paid"
        ),
        count_where(&rows, |r| r["isMoneyPaid"] == "true")
    );
    assert_eq!(
        query_count(
            &store,
            "SELECT count(*) FROM cases WHERE perpetrator_count >= 3"
        ),
        count_where(&rows, |r| r["numberOfPerpetrators"]
            .parse::<u32>()
            .is_ok_and(|n| n >= 3))
    );
}

/// The share of `value` among the rows of `attribute` for `category` in a
/// profile table, and the largest value there.
fn profile<'a>(
    rows: &'a [BTreeMap<String, String>],
    category: &str,
    attribute: &str,
) -> Vec<(&'a str, f64)> {
    let mut found: Vec<(&str, f64)> = rows
        .iter()
        .filter(|r| r["category"] == category && r["attribute"] == attribute)
        .filter_map(|r| Some((r["value"].as_str(), r["share_pct"].parse().ok()?)))
        .collect();
    found.sort_by(|a, b| b.1.total_cmp(&a.1));
    found
}

#[test]
fn type_profiles_show_the_planted_trafficker_patterns_under_disclosure_control() {
    let dir = tempfile::TempDir::new().unwrap();
    let (_, store) = victim_perpetrator_store(dir.path());
    let out = dir.path().join("report");
    ok(&["report", "--store", p(&store), "--out", p(&out)]);
    let table = |stem: &str| -> Vec<BTreeMap<String, String>> {
        let name = std::fs::read_dir(out.join("tables"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|n| n.ends_with(&format!("{stem}.csv")))
            .unwrap_or_else(|| panic!("no table {stem}"));
        read_export(&out.join("tables").join(name))
    };
    let traffickers = table("trafficker_profile_by_type");

    // the generator makes family members most of the traffickers in
    // peddling and begging, and employers in agriculture
    let begging = profile(&traffickers, "Peddling and Begging", "relation to victim");
    assert_eq!(begging.first().map(|v| v.0), Some("family"), "{begging:?}");
    assert!(begging[0].1 > 45.0, "{begging:?}");
    let farms = profile(
        &traffickers,
        "Agriculture and Animal Husbandry",
        "relation to victim",
    );
    assert_eq!(farms.first().map(|v| v.0), Some("employer"), "{farms:?}");
    // regions of the perpetrators' citizenship by name
    assert!(
        traffickers
            .iter()
            .any(|r| r["attribute"] == "citizenship (region)" && r["value"] == "Americas")
    );

    // the by-type tables count period records; the annual tables cannot
    let coverage = table("classification_coverage");
    let periods = coverage
        .iter()
        .find(|r| r["section"] == "not in the tables by year: a period of several years")
        .expect("the coverage table counts period records");
    assert!(periods["n"].parse::<u64>().unwrap() > 3000, "{periods:?}");
    let flags = table("trafficker_flags_by_type");
    let denominators: u64 = flags
        .iter()
        .filter(|r| r["attribute"] == "money paid" && r["value"] == "yes")
        .filter_map(|r| r["denominator"].parse::<u64>().ok())
        .sum();
    assert!(
        denominators > 1000,
        "money paid recorded for {denominators}"
    );

    // no published count is small, and every profile row is a table's row
    for row in &traffickers {
        if let Ok(n) = row["n"].parse::<u64>() {
            assert!(n == 0 || n >= 10, "{row:?}");
        }
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<h3>Type 10: Peddling and Begging</h3>"));
    for facet in [
        "Trafficker profile",
        "Recruitment",
        "Victim profile",
        "Methods of control",
    ] {
        assert!(html.contains(&format!("<h4>{facet}</h4>")), "{facet}");
    }
    let audit = ok(&["audit", p(&out)]);
    assert!(audit.contains("audit passed"), "{audit}");

    // a profile row that no table publishes is caught by the audit
    let first = html.find("<table class=\"profile\"").unwrap();
    let row_at = first + html[first..].find("<tr><td>").unwrap();
    let row_end = row_at + html[row_at..].find("</tr>").unwrap();
    let row = &html[row_at..row_end];
    let cells: Vec<&str> = row.split("<td>").collect();
    let mut forged = cells.clone();
    forged[3] = "3</td>";
    let tampered = html.replacen(row, &forged.join("<td>"), 1);
    std::fs::write(out.join("report.html"), tampered).unwrap();
    let (code, stdout, stderr) = run(&["audit", p(&out)]);
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("type profile"),
        "{stdout}{stderr}"
    );
}

#[test]
fn places_are_read_as_countries_in_three_languages_or_as_un_regions() {
    let dir = tempfile::TempDir::new().unwrap();
    let file = write_csv(
        dir.path(),
        "places.csv",
        &[
            "r1,c1,,US,2020,,México,,Guatemala,female,,,sex,,,,,,",
            "r2,c2,,US,2020,,Allemagne,,Reino Unido,female,,,sex,,,,,,",
            "r3,c3,,US,2020,,DEU,,Europe,female,,,sex,,,,,,",
            "r4,c4,,US,2020,,Western Africa,,Africa,female,,,sex,,,,,,",
            "r5,c5,,US,2020,,Atlantis,,,female,,,sex,,,,,,",
        ],
    );
    // perpetrator details not recorded are null, never a reason to lose
    // the victim's record
    let unknown = dir.path().join("unknown.csv");
    std::fs::write(
        &unknown,
        "record_id,reporting_country,year,trafficking_form,perpetrator_count,perpetrator_money_paid,perpetrator_relations\n\
         u1,US,2020,sex,unknown,unknown,Unknown\n\
         u2,US,2020,sex,0,,family\n\
         u3,US,2020,sex,2,yes,familia; employer\n",
    )
    .unwrap();
    let other = dir.path().join("store2");
    let summary = ingest_json(&other, &[&unknown]);
    assert_eq!(summary["stored"], 3, "{summary}");
    assert_eq!(
        query_rows(
            &other,
            "SELECT record_id, perpetrator_count, perpetrator_money_paid, array_to_string(perpetrator_relations, ';') FROM cases ORDER BY record_id"
        ),
        [
            ["u1", "", "", ""],
            ["u2", "", "", "family"],
            ["u3", "2", "true", "family;employer"],
        ]
    );
    let store = dir.path().join("store");
    let summary = ingest_json(&store, &[&file]);
    assert_eq!(summary["stored"], 4, "{summary}");
    let rows = query_rows(
        &store,
        "SELECT record_id, exploitation_country, exploitation_region, exploitation_subregion, citizenship, citizenship_region, foreign_national FROM cases ORDER BY record_id",
    );
    assert_eq!(rows[0], ["r1", "MX", "019", "013", "GT", "019", "true"]);
    assert_eq!(rows[1], ["r2", "DE", "150", "155", "GB", "150", "true"]);
    assert_eq!(rows[2], ["r3", "DE", "150", "155", "", "150", ""]);
    assert_eq!(rows[3], ["r4", "", "002", "202", "", "002", ""]);
    let quarantine = std::fs::read_to_string(
        store.join(summary["files"][0]["quarantine_file"].as_str().unwrap()),
    )
    .unwrap();
    assert!(
        quarantine.contains("Atlantis") && quarantine.contains("UN M49 region"),
        "{quarantine}"
    );
}

#[test]
fn published_aggregates_are_kept_beside_the_records_and_never_counted_as_records() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = synthetic_store(dir.path(), "3000", "5", "US,MX");
    let before = query_count(&store, "SELECT count(*) FROM cases");
    let aggregates = dir.path().join("glotip.csv");
    std::fs::write(
        &aggregates,
        "Country,Year,Sex,Age_group,Form,Count\n\
         USA,2022,Total,Total,Sexual exploitation,1200\n\
         USA,2022,Total,Total,Forced labour,800\n\
         United States,2022,Total,Total,Total,2100\n\
         Mexique,2022,Total,Total,Sexual exploitation,300\n\
         MEX,2022,Total,Total,Forced labour,250\n\
         MEX,2022,Female,Total,Sexual exploitation,280\n\
         MEX,2021,Total,Total,Sexual exploitation,40\n\
         MEX,2021,Total,Total,Forced labour,3\n",
    )
    .unwrap();

    // a file of counts is not case records
    let (code, _, stderr) = run(&["ingest", "--store", p(&store), p(&aggregates)]);
    assert_ne!(code, 0);
    assert!(stderr.contains("reference import"), "{stderr}");

    // the source must be named
    let (code, _, stderr) = run(&["reference", "import", p(&aggregates), "--store", p(&store)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--source"), "{stderr}");
    ok(&[
        "reference",
        "import",
        p(&aggregates),
        "--store",
        p(&store),
        "--source",
        "UNODC (synthetic)",
    ]);
    assert_eq!(query_count(&store, "SELECT count(*) FROM cases"), before);
    // the same file again changes nothing; a bad figure names row and column
    let again = ok(&[
        "reference",
        "import",
        p(&aggregates),
        "--store",
        p(&store),
        "--source",
        "UNODC (synthetic)",
    ]);
    assert!(again.contains("already imported"), "{again}");
    let bad = dir.path().join("bad.csv");
    for (text, why) in [
        (
            "country,year,form,count,source\nUSA,2022,Forced labour,many,X\n",
            "row 2, column count",
        ),
        (
            "country,year,form,count,source\nUSA,2022,Forced labour,9e18,X\n",
            "row 2, column count",
        ),
        (
            "country,year,form,count,source\nUSA,2022,Forced labour,50,X\nUSA,2022,Total,20,X\n",
            "below its labor",
        ),
    ] {
        std::fs::write(&bad, text).unwrap();
        let (code, _, stderr) = run(&["reference", "import", p(&bad), "--store", p(&store)]);
        assert_ne!(code, 0);
        assert!(stderr.contains(why), "{stderr}");
    }

    let out = dir.path().join("report");
    ok(&["report", "--store", p(&store), "--out", p(&out)]);
    let name = std::fs::read_dir(out.join("tables"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with("reference_shares.csv"))
        .expect("the report sets the hotline's shares beside the published ones");
    let rows = read_export(&out.join("tables").join(&name));
    let us_sex = rows
        .iter()
        .find(|r| r["reporting_country"] == "US" && r["trafficking_form"] == "sex")
        .expect("US sex row");
    assert_eq!(us_sex["source"], "UNODC (synthetic)");
    assert_eq!(us_sex["reference_count"], "1200");
    // 1200 of the published total of 2100 (the row for all forms)
    assert_eq!(us_sex["reference_share_pct"], "57.1");
    let mx_labor = rows
        .iter()
        .find(|r| {
            r["reporting_country"] == "MX"
                && r["year"] == "2022"
                && r["trafficking_form"] == "labor"
        })
        .expect("MX labor row");
    // no row for all forms: the total is the sum of the forms (300 + 250)
    assert_eq!(mx_labor["reference_share_pct"], "45.5");
    // a published figure below K is not shown either: what was imported
    // as a reference could be anyone's internal count
    let mx_2021 = rows
        .iter()
        .find(|r| {
            r["reporting_country"] == "MX"
                && r["year"] == "2021"
                && r["trafficking_form"] == "labor"
        })
        .expect("MX 2021 labor row");
    assert_eq!(
        (
            mx_2021["reference_count"].as_str(),
            mx_2021["reference_share_pct"].as_str()
        ),
        ("x", "x")
    );
    // and so is the share of the other figure of that year: 40 at 93.0%
    // gave the total, 43, and the hidden figure, 43 - 40 = 3
    let mx_2021_sex = rows
        .iter()
        .find(|r| {
            r["reporting_country"] == "MX" && r["year"] == "2021" && r["trafficking_form"] == "sex"
        })
        .expect("MX 2021 sex row");
    assert_eq!(mx_2021_sex["reference_count"], "40");
    assert_eq!(mx_2021_sex["reference_share_pct"], "x");
    assert!(rows.len() == 6, "{rows:?}");
    let audit = ok(&["audit", p(&out)]);
    assert!(audit.contains("audit passed"), "{audit}");
    // the audit reads the reference figures from the CSV, not from what the
    // report says it hid
    let csv_path = out.join("tables").join(&name);
    let text = std::fs::read_to_string(&csv_path).unwrap();
    std::fs::write(
        &csv_path,
        text.replacen("UNODC (synthetic),x,x", "UNODC (synthetic),3,7.0", 1),
    )
    .unwrap();
    let (code, _, stderr) = run(&["audit", p(&out)]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("reference figure of 3"), "{stderr}");
    // nor does it trust that the shares beside a hidden figure were withheld
    std::fs::write(
        &csv_path,
        text.replacen("UNODC (synthetic),40,x", "UNODC (synthetic),40,93.0", 1),
    )
    .unwrap();
    let (code, _, stderr) = run(&["audit", p(&out)]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("reference share of 93.0"), "{stderr}");
}
