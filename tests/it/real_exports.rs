//! Real exports: the CTDC and HTCDS layouts, XLSX and gzip containers,
//! mapping files, hostile input and the personal-data guard. Every fixture
//! is made here; none is copied from a real data set. Each ingest asserts
//! the reconciliation invariant: read = stored + quarantined + duplicates.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::common::*;
use tempfile::TempDir;

/// Ingests with extra arguments; returns the JSON summary after checking
/// that every row read is accounted for.
fn ingest_with(store: &Path, file: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["ingest", p(file), "--store", p(store), "--json"];
    args.extend_from_slice(extra);
    let summary: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
    reconciles(&summary);
    summary
}

fn reconciles(summary: &serde_json::Value) {
    let n = |k: &str| summary[k].as_u64().unwrap();
    assert_eq!(
        n("read"),
        n("stored") + n("quarantined") + n("duplicates"),
        "{summary}"
    );
}

/// Runs an ingest that must be refused; returns stderr.
fn refused(store: &Path, file: &Path, extra: &[&str]) -> String {
    let mut args = vec!["ingest", p(file), "--store", p(store)];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 2, "expected exit 2:\n{stdout}\n{stderr}");
    assert!(
        !stderr.contains("panicked"),
        "a refusal must not be a panic: {stderr}"
    );
    stderr
}

fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Writes lines as given (the first is the header).
fn write_lines(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    write_bytes(dir, name, (lines.join("\n") + "\n").as_bytes())
}

fn quarantine_rows(store: &Path) -> Vec<Vec<String>> {
    let dir = store.join("quarantine");
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let mut reader = csv::Reader::from_path(entry.unwrap().path()).unwrap();
        for r in reader.records() {
            rows.push(r.unwrap().iter().map(str::to_string).collect());
        }
    }
    rows
}

/// Every stored text, for "nothing personal reached the store" checks.
fn all_stored_text(store: &Path) -> String {
    query_rows(
        store,
        "SELECT concat_ws('|', record_id, case_id, data_source, reporting_country, exploitation_country, \
         exploitation_subdivision, citizenship, gender, venue, array_to_string(sectors, ';'), \
         array_to_string(control_methods, ';')) FROM cases",
    )
    .into_iter()
    .map(|r| r.join(","))
    .collect::<Vec<_>>()
    .join("\n")
}

// ---------------------------------------------------------------- CTDC --

const CONTROL: &[&str] = &[
    "DebtBondage",
    "TakesEarnings",
    "RestrictsFinancialAccess",
    "Threats",
    "PsychologicalAbuse",
    "PhysicalAbuse",
    "SexualAbuse",
    "FalsePromises",
    "PsychoactiveSubstances",
    "RestrictsMovement",
    "RestrictsMedicalCare",
    "ExcessiveWorkingHours",
    "UsesChildren",
    "ThreatOfLawEnforcement",
    "WithholdsNecessities",
    "WithholdsDocuments",
    "Other",
    "NotSpecified",
];

/// The 63 CTDC columns, in the codebook's order; flag names are composed
/// from their group prefix.
fn ctdc_header() -> Vec<String> {
    let mut h: Vec<String> = [
        "yearOfRegistration",
        "Datasource",
        "gender",
        "ageBroad",
        "majorityStatus",
        "majorityStatusAtExploit",
        "majorityEntry",
        "citizenship",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    h.extend(CONTROL.iter().map(|c| format!("meansOfControl{c}")));
    h.push("meansOfControlConcatenated".into());
    for s in [
        "isForcedLabour",
        "isSexualExploit",
        "isOtherExploit",
        "isSexAndLabour",
        "isForcedMarriage",
        "isForcedMilitary",
        "isOrganRemoval",
        "isSlaveryAndPractices",
        "typeOfExploitConcatenated",
    ] {
        h.push(s.into());
    }
    for s in [
        "Agriculture",
        "Aquafarming",
        "Begging",
        "Construction",
        "DomesticWork",
        "Hospitality",
        "IllicitActivities",
        "Manufacturing",
        "MiningOrDrilling",
        "Peddling",
        "Transportation",
        "Other",
        "NotSpecified",
        "Concatenated",
    ] {
        h.push(format!("typeOfLabour{s}"));
    }
    for s in [
        "Prostitution",
        "Pornography",
        "RemoteInteractiveServices",
        "PrivateSexualServices",
        "Concatenated",
    ] {
        h.push(format!("typeOfSex{s}"));
    }
    h.extend(
        [
            "isAbduction",
            "RecruiterRelationship",
            "CountryOfExploitation",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    for s in ["IntimatePartner", "Friend", "Family", "Other", "Unknown"] {
        h.push(format!("recruiterRelation{s}"));
    }
    assert_eq!(h.len(), 63);
    h
}

/// One CTDC row: `set` gives column → value; everything else blank.
fn ctdc_row(header: &[String], set: &[(&str, &str)]) -> String {
    header
        .iter()
        .map(|h| {
            set.iter()
                .find(|(k, _)| k == h)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn ctdc_file(dir: &Path, rows: &[Vec<(&str, &str)>]) -> PathBuf {
    let header = ctdc_header();
    let mut text = header.join(",") + "\n";
    for r in rows {
        text += &ctdc_row(&header, r);
        text += "\n";
    }
    write_bytes(dir, "ctdc.csv", text.as_bytes())
}

#[test]
fn ctdc_layout_maps_flags_forms_and_blanks() {
    let dir = TempDir::new().unwrap();
    let sex_labour = vec![
        ("yearOfRegistration", "2019.0"),
        ("Datasource", "Hotline"),
        ("gender", "Female"),
        ("ageBroad", "18--20"),
        ("majorityStatus", "Adult"),
        ("citizenship", "PH"),
        ("CountryOfExploitation", "US"),
        ("isForcedLabour", "1"),
        ("isSexualExploit", "1"),
        ("meansOfControlTakesEarnings", "1"),
        ("meansOfControlThreats", "1"),
        ("meansOfControlPhysicalAbuse", "0"),
        ("typeOfLabourDomesticWork", "1"),
        ("typeOfSexProstitution", "1"),
        ("recruiterRelationFamily", "1"),
        ("isAbduction", "0"),
        ("meansOfControlConcatenated", "Takes earnings; Threats"),
    ];
    // k-anonymity makes identical rows: both must be stored
    let blank = vec![
        ("Datasource", "Case Management"),
        ("meansOfControlNotSpecified", "1"),
        ("recruiterRelationUnknown", "1"),
    ];
    let bad_flag = vec![("yearOfRegistration", "2018"), ("isSexualExploit", "2")];
    let file = ctdc_file(dir.path(), &[sex_labour, blank.clone(), blank, bad_flag]);
    let store = dir.path().join("store");

    let stderr = refused(&store, &file, &["--format", "ctdc"]);
    assert!(stderr.contains("--country"), "{stderr}");

    let summary = ingest_with(&store, &file, &["--format", "ctdc", "--country", "XX"]);
    assert_eq!(summary["read"], 4);
    assert_eq!(summary["stored"], 3);
    assert_eq!(summary["quarantined"], 1);
    let q = quarantine_rows(&store);
    assert_eq!(q.len(), 1);
    assert_eq!(
        &q[0][1..],
        ["5", "isSexualExploit", "2", "flag is not 1, 0 or blank"]
    );

    let rows = query_rows(
        &store,
        "SELECT year, trafficking_form, array_to_string(control_methods, ';'), array_to_string(sectors, ';'), \
         array_to_string(recruiter_relations, ';'), abduction, age_band, reporting_country, exploitation_country \
         FROM cases ORDER BY record_id",
    );
    assert_eq!(
        rows[0],
        [
            "2019",
            "sex_and_labor",
            "takes_earnings;threats",
            "domestic_work;prostitution",
            "family",
            "false",
            "18-20",
            "XX",
            "US"
        ]
    );
    // blank flags are "not recorded": null lists, null abduction, no year
    assert_eq!(rows[1], ["", "not_specified", "", "", "", "", "", "XX", ""]);
    assert_eq!(rows[1], rows[2]);
    assert_eq!(
        query_count(&store, "SELECT count(DISTINCT record_id) FROM cases"),
        3
    );
    assert_eq!(
        query_count(
            &store,
            "SELECT count(*) FROM cases WHERE control_methods IS NULL AND abduction IS NULL"
        ),
        2
    );
}

#[test]
fn ctdc_with_an_unknown_column_is_refused_naming_it() {
    let dir = TempDir::new().unwrap();
    let header = ctdc_header().join(",") + ",victimName\n";
    let file = write_bytes(dir.path(), "c.csv", header.as_bytes());
    let stderr = refused(
        &dir.path().join("s"),
        &file,
        &["--format", "ctdc", "--country", "US"],
    );
    assert!(stderr.contains("victimName"), "{stderr}");
}

#[test]
fn ctdc_synthetic_layout_spreads_grouped_flags() {
    let dir = TempDir::new().unwrap();
    let file = write_lines(
        dir.path(),
        "syn.csv",
        &[
            "yearOfRegistration,gender,ageBroad,citizenship,CountryOfExploitation,traffickMonths,meansAbusePsyPhySex,meansDebtBondageEarnings,meansThreats,isSexualExploit,isForcedLabour,sectorOfLabourAgriculture,typeOfSexProstitution",
            "2020,Male,30--38,GT,US,12--24,1,1,0,0,1,1,",
            "2021,Female,9--17,MX,US,0--12,0,,1,1,0,,1",
        ],
    );
    let store = dir.path().join("store");
    let summary = ingest_with(
        &store,
        &file,
        &["--format", "ctdc-synthetic", "--country", "US"],
    );
    assert_eq!(summary["stored"], 2);
    let rows = query_rows(
        &store,
        "SELECT trafficking_form, array_to_string(control_methods, ';'), array_to_string(sectors, ';') FROM cases ORDER BY year",
    );
    assert_eq!(
        rows[0],
        [
            "labor",
            "debt_bondage;takes_earnings;psychological_abuse;physical_abuse;sexual_abuse",
            "agriculture"
        ]
    );
    assert_eq!(rows[1], ["sex", "threats", "prostitution"]);
}

// --------------------------------------------------------------- HTCDS --

const HTCDS_HEADER: &str = "org_Name,org_ShippingCountry,prs_FirstName,prs_SecondName,prs_Email,prs_Gender,prs_Citizenship,vic_AgeWhenTrafficked,vic_TypeOfExploitation,vic_ForcedLabourIndustry,vic_TypeOfSexExploitation,vic_MethodsOfControl,vic_MethodOfRecruitment,vic_RelationshipToTrafficker,cas_IncomingReferralDate,hte_Country,cas_Status";

#[test]
fn htcds_csv_maps_prefixed_fields_and_never_reads_personal_ones() {
    let dir = TempDir::new().unwrap();
    let file = write_lines(
        dir.path(),
        "htcds.csv",
        &[
            HTCDS_HEADER,
            "Shelter North,TH,Somchai,Prasert,somchai@example.org,Masculine,MM;TH,34,ForcedLabour,A_AgricultureForestryAndFishing,,DebtBondage;WithholdsDocuments;PhysicalThreats,ThroughANewspaperAdvert,Acquainted,2021-03-15,TH,Active",
            "Shelter North,TH,Anh,Nguyen,,Feminine,VN,16,SexualExploitation;ForcedLabour,,Prostitution,SexualAbuse,ThroughOnlineSocialNetworks,Familial,02/11/2022,TH,Closed",
        ],
    );
    let store = dir.path().join("store");
    let summary = ingest_with(&store, &file, &["--format", "htcds"]);
    assert_eq!(summary["stored"], 2);
    let rows = query_rows(
        &store,
        "SELECT reporting_country, year, month, citizenship, gender, age_band, trafficking_form, \
         array_to_string(sectors, ';'), array_to_string(control_methods, ';'), \
         array_to_string(recruitment_tactics, ';'), array_to_string(recruiter_relations, ';'), data_source \
         FROM cases ORDER BY year",
    );
    assert_eq!(
        rows[0],
        [
            "TH",
            "2021",
            "3",
            "MM",
            "male",
            "30-38",
            "labor",
            "agriculture",
            "debt_bondage;threats;withholds_documents",
            "job_offer",
            "friend_acquaintance",
            "Shelter North"
        ]
    );
    assert_eq!(
        &rows[1][..8],
        [
            "TH",
            "2022",
            "11",
            "VN",
            "female",
            "9-17",
            "sex_and_labor",
            "prostitution"
        ]
    );
    let stored = all_stored_text(&store);
    for personal in ["Somchai", "Prasert", "example.org", "Nguyen"] {
        assert!(!stored.contains(personal), "{personal} reached the store");
    }
}

/// An XLSX shaped like the HTCDS template: a title row, the field names,
/// a row of labels, numbered empty rows, real dates.
fn htcds_workbook(path: &Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let notes = wb.add_worksheet();
    notes.set_name("Notes").unwrap();
    notes.write(0, 0, "Read me first").unwrap();
    let sheet = wb.add_worksheet();
    sheet.set_name("Cases").unwrap();
    sheet.write(0, 1, "HTCDS export").unwrap();
    let names = [
        "org_ShippingCountry",
        "prs_FirstName",
        "prs_Gender",
        "vic_AgeWhenTrafficked",
        "vic_TypeOfExploitation",
        "vic_MethodsOfControl",
        "cas_IncomingReferralDate",
    ];
    let labels = [
        "Shipping Country",
        "First Name",
        "Gender",
        "Age When Trafficked",
        "Type Of Exploitation",
        "Methods Of Control",
        "Incoming Referral Date",
    ];
    for (i, (n, l)) in names.iter().zip(labels).enumerate() {
        sheet.write(1, 1 + i as u16, *n).unwrap();
        sheet.write(2, 1 + i as u16, l).unwrap();
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (r, (gender, age, form, control, (y, m))) in [
        (
            "Feminine",
            22.0,
            "SexualExploitation",
            "SexualAbuse",
            (2020, 6),
        ),
        (
            "Masculine",
            41.0,
            "ForcedLabour",
            "DebtBondage;TakesEarnings",
            (2019, 1),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let row = 3 + r as u32;
        sheet.write(row, 0, (r + 1) as f64).unwrap();
        sheet.write(row, 1, "PH").unwrap();
        sheet.write(row, 2, "Maria").unwrap();
        sheet.write(row, 3, gender).unwrap();
        sheet.write(row, 4, age).unwrap();
        sheet.write(row, 5, form).unwrap();
        sheet.write(row, 6, control).unwrap();
        let d = ExcelDateTime::from_ymd(y, m, 9).unwrap();
        sheet.write_with_format(row, 7, &d, &date).unwrap();
    }
    // numbered rows with nothing else: template padding, not records
    for row in 5..40u32 {
        sheet.write(row, 0, (row - 2) as f64).unwrap();
    }
    wb.save(path).unwrap();
}

#[test]
fn htcds_template_xlsx_finds_header_skips_labels_and_padding() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("htcds.xlsx");
    htcds_workbook(&file);
    let store = dir.path().join("store");
    // the first sheet is a note: the export is in "Cases"
    let stderr = refused(&store, &file, &["--format", "htcds", "--sheet", "Missing"]);
    assert!(
        stderr.contains("no sheet named 'Missing'") && stderr.contains("Cases"),
        "{stderr}"
    );
    let summary = ingest_with(&store, &file, &["--format", "htcds", "--sheet", "Cases"]);
    assert_eq!(summary["read"], 3);
    assert_eq!(summary["stored"], 2);
    assert_eq!(summary["quarantined"], 1);
    let q = quarantine_rows(&store);
    assert_eq!(q[0][1], "3", "the label row is sheet row 3");
    assert!(q[0][4].contains("label row"), "{q:?}");
    let rows = query_rows(
        &store,
        "SELECT year, month, gender, age_band, trafficking_form, array_to_string(control_methods, ';') FROM cases ORDER BY year",
    );
    assert_eq!(
        rows,
        [
            [
                "2019",
                "1",
                "male",
                "39-47",
                "labor",
                "debt_bondage;takes_earnings"
            ],
            ["2020", "6", "female", "21-23", "sex", "sexual_abuse"],
        ]
    );
    assert!(!all_stored_text(&store).contains("Maria"));
}

// ---------------------------------------------------------- containers --

#[test]
fn gzip_csv_is_read_like_plain_csv() {
    let dir = TempDir::new().unwrap();
    let plain = format!("{HEADER}\ng1,,,US,2020,,,,,,,,sex,,hotel,,,,\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(plain.as_bytes()).unwrap();
    let file = write_bytes(dir.path(), "export.csv.gz", &gz.finish().unwrap());
    let store = dir.path().join("store");
    let summary = ingest_with(&store, &file, &[]);
    assert_eq!(summary["stored"], 1);
    assert_eq!(
        query_count(&store, "SELECT count(*) FROM cases WHERE venue = 'hotel'"),
        1
    );

    let broken = write_bytes(dir.path(), "broken.csv.gz", &[0x1f, 0x8b, 8, 0, 1, 2, 3]);
    let stderr = refused(&dir.path().join("s2"), &broken, &[]);
    assert!(
        stderr.contains("broken.csv.gz") && stderr.contains("gzip"),
        "{stderr}"
    );
}

// ------------------------------------------------------------- mapping --

const SPANISH_MAPPING: &str = r#"
drop = ["Nombre", "Notas"]

[layout]
name = "linea-es"
language = "es"

[constants]
reporting_country = "MX"
data_source = "Línea (prueba)"

[fields.record_id]
column = "Folio"

[fields.year]
column = "Fecha"
date = ["%d/%m/%Y"]

[fields.month]
column = "Fecha"
date = ["%d/%m/%Y"]

[fields.gender]
column = "Sexo"
values = { M = "female", H = "male" }

[fields.trafficking_form]
column = "Tipo"
values = { "Sexual" = "sex", "Laboral" = "labor" }

[fields.control_methods]
column = "Control"
split = ["/", ";"]
values = { "Golpes y amenazas" = ["physical_abuse", "threats"], "Deuda" = "debt_bondage", "Sin dato" = "" }

[fields.venue]
column = "Lugar"
"#;

#[test]
fn mapping_file_renames_translates_splits_and_parses_dates() {
    let dir = TempDir::new().unwrap();
    let mapping = write_bytes(dir.path(), "es.toml", SPANISH_MAPPING.as_bytes());
    let file = write_lines(
        dir.path(),
        "linea.csv",
        &[
            "Folio,Nombre,Fecha,Sexo,Tipo,Control,Lugar,Notas",
            "A-1,Juana Pérez,15/03/2021,M,Sexual,Golpes y amenazas / Deuda,bar,llamó dos veces",
            "A-2,Luis Gómez,01/12/2020,H,Laboral,sin dato,rancho,",
            "A-3,X,31/02/2020,X,Sexual,,bar,",
        ],
    );
    let store = dir.path().join("store");
    let summary = ingest_with(&store, &file, &["--mapping", p(&mapping)]);
    assert_eq!(
        (summary["stored"].as_u64(), summary["quarantined"].as_u64()),
        (Some(2), Some(1))
    );
    let rows = query_rows(
        &store,
        "SELECT record_id, reporting_country, data_source, year, month, gender, trafficking_form, array_to_string(control_methods, ';') FROM cases ORDER BY record_id",
    );
    assert_eq!(
        rows,
        [
            [
                "A-1",
                "MX",
                "Línea (prueba)",
                "2021",
                "3",
                "female",
                "sex",
                "debt_bondage;threats;physical_abuse"
            ],
            [
                "A-2",
                "MX",
                "Línea (prueba)",
                "2020",
                "12",
                "male",
                "labor",
                ""
            ],
        ]
    );
    // problems name the user's columns, not only the canonical ones
    let q = quarantine_rows(&store);
    let columns: Vec<&str> = q.iter().map(|r| r[2].as_str()).collect();
    assert!(columns.contains(&"Fecha"), "{q:?}");
    assert!(columns.iter().any(|c| c.starts_with("Sexo")), "{q:?}");
    assert!(!all_stored_text(&store).contains("Pérez"));
}

#[test]
fn mapping_check_lists_unmapped_columns_and_values_with_counts() {
    let dir = TempDir::new().unwrap();
    let mapping = write_bytes(dir.path(), "es.toml", SPANISH_MAPPING.as_bytes());
    let sample = write_lines(
        dir.path(),
        "muestra.csv",
        &[
            "Folio,Nombre,Fecha,Sexo,Tipo,Control,Lugar,Notas,Municipio",
            "A-1,,15/03/2021,M,Sexual,Amenazas veladas,bar,,Tijuana",
            "A-2,,16/03/2021,M,Sexual,Amenazas veladas,bar,,",
            "A-3,,17/03/2021,Z,Sexual,,bar,,Juárez",
        ],
    );
    let out = ok(&[
        "mapping",
        "check",
        p(&mapping),
        "--sample",
        p(&sample),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["rows"], 3);
    assert_eq!(report["rows_ok"], 0);
    assert_eq!(
        report["unmapped_columns"],
        serde_json::json!([{"column": "Municipio", "non_empty_values": 2}])
    );
    let values = report["unmapped_values"].as_array().unwrap();
    let find = |v: &str| {
        values
            .iter()
            .find(|x| x["value"] == v)
            .unwrap_or_else(|| panic!("{v} not listed: {values:?}"))
    };
    assert_eq!(find("Amenazas veladas")["rows"], 2);
    assert!(
        find("Amenazas veladas")["column"]
            .as_str()
            .unwrap()
            .starts_with("Control")
    );
    assert_eq!(find("Z")["rows"], 1);
    // the store is untouched: check stores nothing
    assert!(!dir.path().join("store").exists());
}

#[test]
fn a_broken_mapping_file_is_refused_with_its_mistake() {
    let dir = TempDir::new().unwrap();
    let file = write_lines(dir.path(), "x.csv", &["a", "1"]);
    for (text, expected) in [
        (
            "[layout]\nname = \"x\"\n[fields.colour]\ncolumn = \"a\"\n",
            "not a canonical field",
        ),
        (
            "[layout]\nname = \"x\"\n[fields.gender]\n",
            "exactly one of",
        ),
        ("[layout]\nname = \"x\"\nlanguage = \"de\"\n", "language"),
        (
            "[layout]\nname = \"x\"\n[fields.gender]\ncolumn = \"a\"\nsplitt = \";\"\n",
            "splitt",
        ),
    ] {
        let mapping = write_bytes(dir.path(), "m.toml", text.as_bytes());
        let stderr = refused(&dir.path().join("s"), &file, &["--mapping", p(&mapping)]);
        assert!(
            stderr.contains("m.toml") && stderr.contains(expected),
            "{expected}: {stderr}"
        );
    }
}

// -------------------------------------------------------- hostile input --

fn canonical_line(id: &str, venue: &str) -> String {
    format!("{id},,,US,2020,,,,,,,,sex,,{venue},,,,")
}

#[test]
fn text_variants_are_read_the_same() {
    let dir = TempDir::new().unwrap();
    let body = format!(
        "{}\n{}\n{}\n",
        HEADER,
        canonical_line("r1", "café"),
        canonical_line("r2", "\"bar, \"\"late\"\"\"")
    );
    let variants: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("plain.csv", body.clone().into_bytes(), vec![]),
        (
            "bom.csv",
            [b"\xef\xbb\xbf".as_slice(), body.as_bytes()].concat(),
            vec![],
        ),
        ("crlf.csv", body.replace('\n', "\r\n").into_bytes(), vec![]),
        (
            "semicolon.csv",
            body.replace(',', ";")
                .replace("bar; ", "bar, ")
                .into_bytes(),
            vec![],
        ),
        (
            "tab.tsv",
            body.replace(',', "\t")
                .replace("bar\t ", "bar, ")
                .into_bytes(),
            vec![],
        ),
        (
            "latin1.csv",
            encoding_rs::WINDOWS_1252.encode(&body).0.into_owned(),
            vec![],
        ),
        (
            "latin1-declared.csv",
            encoding_rs::WINDOWS_1252.encode(&body).0.into_owned(),
            vec!["--encoding", "latin1"],
        ),
        (
            "utf16.csv",
            {
                let mut b = vec![0xff, 0xfe];
                for u in body.encode_utf16() {
                    b.extend(u.to_le_bytes());
                }
                b
            },
            vec![],
        ),
    ];
    for (name, bytes, extra) in variants {
        let file = write_bytes(dir.path(), name, &bytes);
        let store = dir.path().join(format!("store-{name}"));
        let summary = ingest_with(&store, &file, &extra);
        assert_eq!(summary["stored"], 2, "{name}: {summary}");
        let venues = query_rows(&store, "SELECT venue FROM cases ORDER BY record_id");
        assert_eq!(
            venues,
            [vec!["café".to_string()], vec!["bar, \"late\"".to_string()]],
            "{name}"
        );
    }
}

#[test]
fn embedded_newlines_keep_row_numbers_of_the_line_where_a_record_starts() {
    let dir = TempDir::new().unwrap();
    let text = format!(
        "{HEADER}\n{}\n{}\n",
        canonical_line("r1", "\"two\nlines\""),
        "r2,,,ZZ,2020,,,,,,,,sex,,bar,,,,"
    );
    let file = write_bytes(dir.path(), "nl.csv", text.as_bytes());
    let store = dir.path().join("store");
    let summary = ingest_with(&store, &file, &[]);
    assert_eq!(summary["quarantined"], 1);
    let q = quarantine_rows(&store);
    assert_eq!(q[0][1..4], ["4", "reporting_country", "ZZ"]);
}

/// Windows exports end lines with `\r\n`, old Mac ones with `\r`, and
/// hand-edited files have blank lines: a bad row is still named by the
/// line an editor shows it on. (Read through the `csv` crate, a `\r\n`
/// file named every row one line early, and a blank line moved the rows
/// after it.)
#[test]
fn rows_are_named_by_their_line_whatever_the_line_ends_and_blank_lines() {
    let dir = TempDir::new().unwrap();
    let bad = "r3,,,ZZ,2020,,,,,,,,sex,,bar,,,,";
    for (name, ending, bad_line) in [("crlf.csv", "\r\n", "6"), ("cr.csv", "\r", "6")] {
        // line 1 header, 2 r1, 3 blank, 4 r2, 5 blank, 6 the bad row
        let text = [
            HEADER,
            &canonical_line("r1", "bar"),
            "",
            &canonical_line("r2", "bar"),
            "",
            bad,
            &canonical_line("r4", "bar"),
            "",
        ]
        .join(ending);
        let file = write_bytes(dir.path(), name, text.as_bytes());
        let store = dir.path().join(format!("store-{name}"));
        let summary = ingest_with(&store, &file, &[]);
        assert_eq!(summary["stored"], 3, "{name}: {summary}");
        assert_eq!(summary["quarantined"], 1, "{name}: {summary}");
        let q = quarantine_rows(&store);
        assert_eq!(q[0][1..4], [bad_line, "reporting_country", "ZZ"], "{name}");
    }
}

#[test]
fn invalid_utf8_after_the_detection_window_is_quarantined_with_row_and_column() {
    let dir = TempDir::new().unwrap();
    let mut bytes = format!("{HEADER}\n").into_bytes();
    for i in 0..3000 {
        bytes.extend(canonical_line(&format!("ok{i:05}"), "hotel").as_bytes());
        bytes.push(b'\n');
    }
    // a lone Latin-1 "é" in a file that was UTF-8 for its first 64 KiB
    bytes.extend(b"bad,,,US,2020,,,,,,,,sex,,caf\xe9,,,,\n");
    let file = write_bytes(dir.path(), "late.csv", &bytes);
    let store = dir.path().join("store");
    let summary = ingest_with(&store, &file, &[]);
    assert_eq!(summary["stored"], 3000);
    assert_eq!(summary["quarantined"], 1);
    let q = quarantine_rows(&store);
    assert_eq!(q[0][1..3], ["3002", "venue"]);
    assert!(q[0][4].contains("--encoding"), "{q:?}");
}

#[test]
fn refused_files_name_the_file_and_the_problem() {
    let dir = TempDir::new().unwrap();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.csv", vec![], "empty"),
        (
            "header-only.csv",
            format!("{HEADER}\n").into_bytes(),
            "no data rows",
        ),
        (
            "dup.csv",
            format!("{HEADER},venue\n").into_bytes(),
            "appears twice",
        ),
        ("garbage.csv", garbage, "binary"),
        (
            "zip.xlsx",
            b"PK\x03\x04not really a workbook".to_vec(),
            "workbook",
        ),
        (
            "no-header.csv",
            format!("{}\n", "x".repeat(300)).into_bytes(),
            "not a header",
        ),
    ];
    for (name, bytes, expected) in cases {
        let file = write_bytes(dir.path(), name, &bytes);
        let store = dir.path().join(format!("s-{name}"));
        let stderr = refused(&store, &file, &[]);
        assert!(
            stderr.contains(name) && stderr.contains(expected),
            "{name}: {stderr}"
        );
        // nothing was committed
        assert!(!store.join("manifest.json").exists(), "{name}");
    }
}

#[test]
fn very_wide_rows_and_megabyte_cells() {
    let dir = TempDir::new().unwrap();
    // 3000 extra columns read through a mapping that ignores them
    let extra: Vec<String> = (0..3000).map(|i| format!("c{i}")).collect();
    let mapping = write_bytes(
        dir.path(),
        "wide.toml",
        b"[layout]\nname = \"wide\"\nunlisted_columns = \"ignore\"\n[constants]\nreporting_country = \"US\"\n[fields.record_id]\ncolumn = \"id\"\n[fields.venue]\ncolumn = \"place\"\n",
    );
    let header = format!("id,place,{}", extra.join(","));
    let row = format!("w1,bar,{}", vec!["1"; 3000].join(","));
    let file = write_lines(dir.path(), "wide.csv", &[&header, &row]);
    let summary = ingest_with(&dir.path().join("s1"), &file, &["--mapping", p(&mapping)]);
    assert_eq!(summary["stored"], 1);

    // a megabyte in one cell is a narrative, which the guard refuses
    let huge = "word ".repeat(200_000);
    let text = format!("{HEADER}\n{}\n", canonical_line("m1", &huge));
    let file = write_bytes(dir.path(), "huge.csv", text.as_bytes());
    let stderr = refused(&dir.path().join("s2"), &file, &[]);
    assert!(
        stderr.contains("'venue'") && stderr.contains("free-text narratives"),
        "{stderr}"
    );
}

// ----------------------------------------------------- personal data ----

#[test]
fn the_guard_stops_each_kind_of_personal_data_before_anything_is_stored() {
    let dir = TempDir::new().unwrap();
    // column name → (a value, what the report says)
    let cases = [
        ("victim_name", "Rosa", "person names"),
        ("contact", "rosa.m@example.com", "e-mail addresses"),
        ("callback", "+1 (415) 555-0134", "phone numbers"),
        ("residence", "1200 Main Street", "street addresses"),
        ("dob", "12/03/1990", "exact dates"),
        ("doc", "123-45-6789", "identity document numbers"),
        (
            "intake",
            "She said she was recruited by a cousin who promised restaurant work and then took her passport and kept her locked in the house for months",
            "free-text narratives",
        ),
    ];
    let mapping_for = |column: &str, drop: bool| {
        let base = "[layout]\nname = \"g\"\n[constants]\nreporting_country = \"US\"\n[fields.record_id]\ncolumn = \"id\"\n";
        if drop {
            format!("drop = [\"{column}\"]\n{base}")
        } else {
            format!("{base}[fields.venue]\ncolumn = \"{column}\"\n")
        }
    };
    for (column, value, kind) in cases {
        let file = write_lines(
            dir.path(),
            &format!("{column}.csv"),
            &[&format!("id,{column}"), &format!("p1,\"{value}\""), "p2,"],
        );
        // read into a stored field: refused, with the column and a count
        let mapping = write_bytes(dir.path(), "g.toml", mapping_for(column, false).as_bytes());
        let store = dir.path().join(format!("s-{column}"));
        let stderr = refused(&store, &file, &["--mapping", p(&mapping)]);
        assert!(
            stderr.contains(&format!("'{column}'")) && stderr.contains(kind),
            "{column}: {stderr}"
        );
        assert!(
            !stderr.contains(value),
            "the report must not repeat the value"
        );
        assert!(
            !store.join("manifest.json").exists(),
            "{column}: something was stored"
        );

        // explicitly dropped: ingested, and the value never reaches the store
        let dropping = write_bytes(dir.path(), "d.toml", mapping_for(column, true).as_bytes());
        let summary = ingest_with(&store, &file, &["--mapping", p(&dropping)]);
        assert_eq!(summary["stored"], 2, "{column}");
        assert!(!all_stored_text(&store).contains(value), "{column}");
    }

    // the canonical layout is screened too: an e-mail typed as a venue
    let file = write_lines(
        dir.path(),
        "canon.csv",
        &[HEADER, &canonical_line("c1", "ask for lupe@example.net")],
    );
    let stderr = refused(&dir.path().join("s-canon"), &file, &[]);
    assert!(
        stderr.contains("'venue'") && stderr.contains("e-mail"),
        "{stderr}"
    );
}

/// A single-valued field read from flags that can be set together, with no
/// `combine`: `mapping check` warns with the number of rows it would settle
/// by `priority` alone (a "sex and labour" record stored as "sex"), and is
/// not clean; with `combine` the warning goes.
#[test]
fn mapping_check_warns_of_flags_set_together_without_combine() {
    let dir = TempDir::new().unwrap();
    let export = write_lines(
        dir.path(),
        "flags.csv",
        &["id,isSex,isLabour", "F1,1,0", "F2,1,1", "F3,0,1", "F4,1,1"],
    );
    let mapping = |combine: &str| {
        let text = format!(
            "[layout]\nname = \"flags\"\n[constants]\nreporting_country = \"US\"\n\
             [fields.record_id]\ncolumn = \"id\"\n\
             [fields.trafficking_form]\nflags = {{ isSex = \"sex\", isLabour = \"labor\" }}\n\
             priority = [\"sex\", \"labor\"]\n{combine}"
        );
        write_bytes(dir.path(), "flags.toml", text.as_bytes())
    };
    let without = mapping("");
    let stdout = ok(&["mapping", "check", "--sample", p(&export), p(&without)]);
    assert!(
        stdout.contains(
            "[fields.trafficking_form]: 2 row(s) set the flags of labor and sex together"
        ) && stdout.contains("combine"),
        "{stdout}"
    );
    assert!(!stdout.contains("nothing unmapped"), "{stdout}");
    let with = mapping("combine = { \"sex+labor\" = \"sex_and_labor\" }\n");
    let stdout = ok(&["mapping", "check", "--sample", p(&export), p(&with)]);
    assert!(!stdout.contains("warnings"), "{stdout}");
    assert!(stdout.contains("nothing unmapped"), "{stdout}");
}

/// A layout that reads columns the file lacks (built-in layouts ignore
/// columns they do not know, and may meet a file without some of theirs)
/// stores those fields as not recorded, and says so: the ingest warns with
/// the list, on stderr and in its JSON summary.
#[test]
fn ingest_warns_of_columns_the_mapping_reads_that_the_file_lacks() {
    let dir = TempDir::new().unwrap();
    let export = write_lines(dir.path(), "few.csv", &["id,form", "W1,sex", "W2,labor"]);
    let mapping = write_bytes(
        dir.path(),
        "few.toml",
        b"[layout]\nname = \"few\"\nunlisted_columns = \"ignore\"\n[constants]\nreporting_country = \"US\"\n\
          [fields.record_id]\ncolumn = \"id\"\n[fields.trafficking_form]\ncolumn = \"form\"\n\
          [fields.gender]\ncolumn = \"sexo\"\n[fields.year]\ncolumn = \"anio\"\n",
    );
    let store = dir.path().join("store");
    let (code, _, stderr) = run(&[
        "ingest",
        "--store",
        p(&store),
        "--mapping",
        p(&mapping),
        p(&export),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning:")
            && stderr.contains("2 column(s) mapping 'few' reads are not in the file")
            && stderr.contains("anio")
            && stderr.contains("sexo"),
        "{stderr}"
    );
    let store2 = dir.path().join("store2");
    let json = ingest_with(&store2, &export, &["--mapping", p(&mapping)]);
    assert!(
        json["files"][0]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("not in the file"),
        "{json}"
    );
}

/// Registers that give a period of registration (`2014-2018`) instead of a
/// year: the period is stored (year_from, year_to) and never read as
/// personal data, a one-year period is that year, a period in the wrong
/// order or outside the years the store takes is quarantined with the
/// reason, and the report says how many records it leaves out for
/// spanning several years.
#[test]
fn periods_of_registration_are_stored_and_counted_apart() {
    let dir = TempDir::new().unwrap();
    let export = write_lines(
        dir.path(),
        "periods.csv",
        &[
            "id,registro,tipo",
            "P1,2014-2018,Sexual",
            "P2,2021 – 2022,Laboral",
            "P3,2020-2020,Laboral",
            "P4,2019,Sexual",
            "P5,2018-2014,Sexual",
            "P6,1985-1990,Sexual",
        ],
    );
    let mapping = write_bytes(
        dir.path(),
        "periods.toml",
        "[layout]\nname = \"periods\"\n[constants]\nreporting_country = \"MX\"\n\
         [fields.record_id]\ncolumn = \"id\"\n[fields.year]\ncolumn = \"registro\"\n\
         [fields.trafficking_form]\ncolumn = \"tipo\"\nvalues = { Sexual = \"sex\", Laboral = \"labor\" }\n"
            .as_bytes(),
    );
    let store = dir.path().join("store");
    let json = ingest_with(&store, &export, &["--mapping", p(&mapping)]);
    assert_eq!(
        (json["stored"].as_u64(), json["quarantined"].as_u64()),
        (Some(4), Some(2))
    );
    let rows = query_rows(
        &store,
        "SELECT record_id, year, year_from, year_to FROM cases ORDER BY record_id",
    );
    let rows: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["P1", "", "2014", "2018"],
            ["P2", "", "2021", "2022"],
            ["P3", "2020", "2020", "2020"],
            ["P4", "2019", "2019", "2019"],
        ]
    );
    let reasons: Vec<String> = quarantine_rows(&store)
        .into_iter()
        .map(|r| r[4].clone())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("a period from 2018 back to 2014")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("a period outside 1990")),
        "{reasons:?}"
    );
    assert_eq!(
        query_count(
            &store,
            "SELECT count(*) FROM cases WHERE year IS NULL AND year_from IS NOT NULL"
        ),
        2
    );
    let out = dir.path().join("out");
    ok(&["report", "--store", p(&store), "--out", p(&out)]);
    // two records: a small count, shown as x like any other; within the
    // report's years (2014 to 2022, the periods included) they are in the
    // tables by type, not in those by year
    let coverage =
        std::fs::read_to_string(out.join("tables/10_classification_coverage.csv")).unwrap();
    assert!(
        coverage.contains("not in the tables by year: a period of several years,,x,,"),
        "{coverage}"
    );
    // a report of 2016 to 2022 leaves the period 2014-2018 out, and says so
    let later = dir.path().join("later");
    ok(&[
        "report",
        "--store",
        p(&store),
        "--out",
        p(&later),
        "--from",
        "2016",
        "--to",
        "2022",
    ]);
    let coverage =
        std::fs::read_to_string(later.join("tables/10_classification_coverage.csv")).unwrap();
    assert!(
        coverage.contains("left out: a period reaching outside the years,,x,,"),
        "{coverage}"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("a period of several years (such as 2014-2018)"),
        "{md}"
    );
}

/// Country fields take ISO 3166-1 alpha-3 codes as exports of aggregated
/// registers write them (UNODC, Eurostat), in any case, without a value
/// map: stored as alpha-2. Three letters that are no code are quarantined.
#[test]
fn alpha3_country_codes_are_read_without_a_value_map() {
    let dir = TempDir::new().unwrap();
    let export = write_lines(
        dir.path(),
        "a3.csv",
        &[
            "id,pais,nacionalidad,tipo",
            "C1,MEX,gtm,Sexual",
            "C2,USA,HND,Laboral",
            "C3,MX,GT,Laboral",
            "C4,MEX,XYZ,Laboral",
        ],
    );
    let mapping = write_bytes(
        dir.path(),
        "a3.toml",
        b"[layout]\nname = \"a3\"\n[constants]\nreporting_country = \"MX\"\n\
          [fields.record_id]\ncolumn = \"id\"\n[fields.exploitation_country]\ncolumn = \"pais\"\n\
          [fields.citizenship]\ncolumn = \"nacionalidad\"\n\
          [fields.trafficking_form]\ncolumn = \"tipo\"\nvalues = { Sexual = \"sex\", Laboral = \"labor\" }\n",
    );
    let store = dir.path().join("store");
    let json = ingest_with(&store, &export, &["--mapping", p(&mapping)]);
    assert_eq!(
        (json["stored"].as_u64(), json["quarantined"].as_u64()),
        (Some(3), Some(1))
    );
    let rows = query_rows(
        &store,
        "SELECT record_id, exploitation_country, citizenship FROM cases ORDER BY record_id",
    );
    assert_eq!(
        rows,
        [["C1", "MX", "GT"], ["C2", "US", "HN"], ["C3", "MX", "GT"],]
    );
    let reasons: Vec<String> = quarantine_rows(&store)
        .into_iter()
        .map(|r| r[4].clone())
        .collect();
    assert!(reasons[0].contains("alpha-3"), "{reasons:?}");
}

/// A workbook's sheets are inputs of their own: its second sheet was
/// "already ingested" because its first was (same bytes), and its records
/// could never be stored. Reading the first sheet says which were not read.
#[test]
fn each_sheet_of_a_workbook_is_an_input_of_its_own() {
    use rust_xlsxwriter::Workbook;
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("two.xlsx");
    let mut wb = Workbook::new();
    let header = ["record_id", "reporting_country", "year", "trafficking_form"];
    for (name, ids) in [("Cases", 1..=20), ("More", 101..=104)] {
        let sheet = wb.add_worksheet();
        sheet.set_name(name).unwrap();
        for (c, h) in header.iter().enumerate() {
            sheet.write(0, c as u16, *h).unwrap();
        }
        for (r, id) in ids.enumerate() {
            let row = r as u32 + 1;
            sheet.write(row, 0, format!("R{id}")).unwrap();
            sheet.write(row, 1, "US").unwrap();
            sheet.write(row, 2, 2020).unwrap();
            sheet.write(row, 3, "labor").unwrap();
        }
    }
    wb.save(&path).unwrap();
    let store = dir.path().join("store");
    let (code, out, err) = run(&["ingest", "--store", p(&store), p(&path)]);
    assert_eq!(code, 0, "{err}");
    let said = format!("{out}{err}");
    assert!(
        said.contains("only the sheet 'Cases' was read") && said.contains("More"),
        "{said}"
    );
    let s = ingest_with(&store, &path, &[]);
    assert!(s.to_string().contains("already ingested"), "{s}");
    let s = ingest_with(&store, &path, &["--sheet", "More"]);
    assert_eq!(s["stored"], 4, "{s}");
    assert_eq!(query_count(&store, "SELECT count(*) FROM cases"), 24);
    let m = manifest(&store);
    let sheets: Vec<&str> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["sheet"].as_str().unwrap())
        .collect();
    assert_eq!(sheets, ["Cases", "More"]);
    // the same sheet again is already ingested
    let s = ingest_with(&store, &path, &["--sheet", "More"]);
    assert!(s.to_string().contains("already ingested"), "{s}");

    // a store of before sheets were recorded: its workbook was its first
    // sheet, and another sheet of it can still be ingested
    let old = dir.path().join("old");
    ingest_with(&old, &path, &[]);
    let file = old.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    m["inputs"][0].as_object_mut().unwrap().remove("sheet");
    std::fs::write(&file, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let s = ingest_with(&old, &path, &[]);
    assert!(s.to_string().contains("already ingested"), "{s}");
    let s = ingest_with(&old, &path, &["--sheet", "More"]);
    assert_eq!(s["stored"], 4, "{s}");
}

/// A UTF-8 export with one stray Latin-1 byte was read as Windows-1252
/// whole: every accented value garbled ("construcciÃ³n"), and classified
/// as garbled. Now the row with the stray byte is quarantined, naming row
/// and column, and the rest is read as written.
#[test]
fn a_stray_latin1_byte_in_a_utf8_export_quarantines_its_row_only() {
    let dir = TempDir::new().unwrap();
    let rows = [
        "record_id,reporting_country,year,trafficking_form,venue",
        "R1,MX,2020,labor,construcción",
        "R2,MX,2020,labor,estética y masajes",
        "R3,MX,2020,labor,PLACEHOLDER",
        "R4,MX,2020,labor,cocina económica",
        "R5,MX,2020,labor,niñera en área rural",
    ];
    let text = rows.join("\n") + "\n";
    let bytes = text.replace("PLACEHOLDER", "caf\u{1}").into_bytes();
    // the stray byte: Latin-1 é where the placeholder's control byte is
    let bytes: Vec<u8> = bytes
        .iter()
        .map(|&b| if b == 1 { 0xe9 } else { b })
        .collect();
    let path = dir.path().join("mixed.csv");
    std::fs::write(&path, bytes).unwrap();
    let store = dir.path().join("store");
    let s = ingest_with(&store, &path, &[]);
    assert_eq!(s["stored"], 4, "{s}");
    assert_eq!(s["quarantined"], 1, "{s}");
    let venues = query_rows(&store, "SELECT venue FROM cases ORDER BY record_id");
    let venues: Vec<&str> = venues.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        venues,
        [
            "construcción",
            "estética y masajes",
            "cocina económica",
            "niñera en área rural"
        ]
    );
}

/// A JSON record naming a field twice kept the last value and dropped the
/// first without a word; now the record is quarantined, naming the field.
#[test]
fn a_json_record_naming_a_field_twice_is_quarantined() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("twice.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"record_id":"J1","reporting_country":"MX","year":2020,"trafficking_form":"labor","venue":"taller"}"#,
            "\n",
            r#"{"record_id":"J2","reporting_country":"MX","year":2020,"trafficking_form":"labor","venue":"planta","venue":"otra"}"#,
            "\n",
        ),
    )
    .unwrap();
    let store = dir.path().join("store");
    let s = ingest_with(&store, &path, &[]);
    assert_eq!(s["stored"], 1, "{s}");
    assert_eq!(s["quarantined"], 1, "{s}");
    let quarantine = first_quarantine(&store);
    assert!(
        quarantine.contains("venue") && quarantine.contains("appears twice"),
        "{quarantine}"
    );
}

/// A formula cell saved without its value (openpyxl and other writers
/// without a calculation engine) was read as empty and stored as not
/// recorded, silently; now its row is quarantined, naming the column. A
/// formula with its value saved is read by the value.
#[test]
fn a_workbook_formula_never_computed_quarantines_its_row() {
    use rust_xlsxwriter::{Formula, Workbook};
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("formulas.xlsx");
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    for (c, h) in [
        "record_id",
        "reporting_country",
        "year",
        "venue",
        "trafficking_form",
    ]
    .iter()
    .enumerate()
    {
        sheet.write(0, c as u16, *h).unwrap();
    }
    for (r, id) in ["F1", "F2", "F3"].iter().enumerate() {
        let row = r as u32 + 1;
        sheet.write(row, 0, *id).unwrap();
        sheet.write(row, 1, "US").unwrap();
        sheet.write(row, 3, "farm").unwrap();
        sheet.write(row, 4, "labor").unwrap();
    }
    sheet.write(1, 2, 2020).unwrap();
    // saved with no value, as writers without a calculation engine do
    // (openpyxl): rust_xlsxwriter always writes one, so the mark is taken
    // out of the file below
    sheet
        .write_formula(2, 2, Formula::new("=2000+20").set_result("UNCOMPUTED"))
        .unwrap();
    // a formula that returns "" is a value, not a missing one
    sheet.set_formula_result_default("");
    sheet.write_formula(3, 3, "=IF(1=1,\"\",\"x\")").unwrap();
    sheet
        .write_formula(3, 2, Formula::new("=2000+21").set_result("2021"))
        .unwrap();
    let written = dir.path().join("written.xlsx");
    wb.save(&written).unwrap();
    without_formula_values(
        &written,
        &path,
        r#" t="str"><f>2000+20</f><v>UNCOMPUTED</v>"#,
    );
    let store = dir.path().join("store");
    let s = ingest_with(&store, &path, &[]);
    assert_eq!(s["stored"], 2, "{s}");
    assert_eq!(s["quarantined"], 1, "{s}");
    let years = query_rows(
        &store,
        "SELECT record_id, year, venue FROM cases ORDER BY 1",
    );
    assert_eq!(years, [["F1", "2020", "farm"], ["F3", "2021", ""]]);
    let quarantine = first_quarantine(&store);
    assert!(
        quarantine.contains("year") && quarantine.contains("never computed"),
        "{quarantine}"
    );
}

/// The quarantine file of the store's first input, as text.
fn first_quarantine(store: &Path) -> String {
    let relative = manifest(store)["inputs"][0]["quarantine_file"]
        .as_str()
        .expect("a quarantine file")
        .to_string();
    std::fs::read_to_string(store.join(relative)).unwrap()
}

/// A copy of the workbook `from` at `to` with `cell_tail` (the end of a
/// formula cell's opening tag, its formula and its value) in the sheet
/// written as the formula alone: a formula saved without its value.
fn without_formula_values(from: &Path, to: &Path, cell_tail: &str) {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let formula = cell_tail
        .split("<v>")
        .next()
        .unwrap()
        .replacen(r#" t="str""#, "", 1);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut text = Vec::new();
        entry.read_to_end(&mut text).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            let xml = String::from_utf8(text).unwrap();
            assert!(xml.contains(cell_tail), "{xml}");
            text = xml.replacen(cell_tail, &formula, 1).into_bytes();
        }
        out.start_file(name, options).unwrap();
        out.write_all(&text).unwrap();
    }
    out.finish().unwrap();
}

/// `mapping check` lists 25 unknown values per column; the rest were cut
/// without a word, so a sample with 300 unknown nationalities read as one
/// with 25. They are counted now, in the text and in `--json`.
#[test]
fn mapping_check_counts_the_values_it_does_not_list() {
    let dir = TempDir::new().unwrap();
    let mapping = write_bytes(dir.path(), "es.toml", SPANISH_MAPPING.as_bytes());
    let mut lines = vec!["Folio,Nombre,Fecha,Sexo,Tipo,Control,Lugar,Notas".to_string()];
    for i in 0..30 {
        lines.push(format!("A-{i},,15/03/2021,S{i},Sexual,,bar,"));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let sample = write_lines(dir.path(), "muestra.csv", &refs);
    let args = ["mapping", "check", p(&mapping), "--sample", p(&sample)];
    let report: serde_json::Value =
        serde_json::from_str(&ok(&[&args[..], &["--json"]].concat())).unwrap();
    let listed = report["unmapped_values"].as_array().unwrap();
    let column = listed[0]["column"].as_str().unwrap();
    assert!(column.starts_with("Sexo"), "{column}");
    assert_eq!(listed.iter().filter(|v| v["column"] == column).count(), 25);
    assert_eq!(
        report["unlisted_values"],
        serde_json::json!([{"column": column, "values": 5, "rows": 5}])
    );
    let (_, text, _) = run(&args);
    assert!(
        text.contains("and 5 more value(s) in 5 row(s), not listed"),
        "{text}"
    );
}
