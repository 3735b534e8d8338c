//! Property-based fuzzing of the input path: arbitrary bytes and CSV-like
//! text full of quotes, delimiters, line breaks, byte order marks and
//! invalid UTF-8 go through the readers, the mapping and validation into a
//! store. Whatever comes in, the ingest either reconciles every row (read =
//! stored + quarantined + duplicates) or refuses the file with a user error
//! (exit code 2); it never panics and never fails as an internal error.
//!
//! `cargo test --test fuzz_input` runs a quick pass; `scripts/fuzz.sh` runs
//! many more cases for a bounded time.

use std::path::Path;

use proptest::prelude::*;
use safetynet::classify::rules::Rules;
use safetynet::input::ingest::{IngestOptions, ingest};
use safetynet::input::mapping::MappingSpec;

const MAPPING: &str = r#"
drop = ["notes"]
[layout]
name = "fuzz"
unlisted_columns = "ignore"
[constants]
reporting_country = "MX"
[fields.record_id]
column = "id"
[fields.year]
column = "fecha"
date = ["%d/%m/%Y"]
[fields.gender]
column = "sexo"
values = { M = "female", H = "male" }
[fields.control_methods]
column = "control"
split = ["/", ";"]
values = { "Deuda" = ["debt_bondage", "threats"] }
[fields.trafficking_form]
flags = { s = "sex", l = "labor" }
combine = { "sex+labor" = "sex_and_labor" }
"#;

fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b",".to_vec()),
        Just(b";".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just("é".as_bytes().to_vec()),
        Just(b"\xef\xbb\xbf".to_vec()),
        Just(b"\xff".to_vec()),
        Just(b"\x00".to_vec()),
        Just(b"US".to_vec()),
        Just(b"2020".to_vec()),
        Just(b"15/03/2021".to_vec()),
        Just(b"sex".to_vec()),
        Just(b"1".to_vec()),
        Just(b"Deuda/threats".to_vec()),
        Just(b"record_id".to_vec()),
        Just(b"reporting_country".to_vec()),
        Just(b"id".to_vec()),
        Just(b"a@b.org".to_vec()),
        "[a-z ]{0,12}".prop_map(String::into_bytes),
    ]
}

fn csv_like() -> impl Strategy<Value = Vec<u8>> {
    let header = prop_oneof![
        Just(
            "record_id,case_id,data_source,reporting_country,year,month,exploitation_country,\
             exploitation_subdivision,citizenship,gender,age_band,majority_status,trafficking_form,\
             sectors,venue,recruitment_tactics,recruiter_relations,control_methods,abduction\n"
                .to_string()
        ),
        Just("id,fecha,sexo,control,s,l,notes\n".to_string()),
        Just("id;fecha;sexo;control;s;l\n".to_string()),
    ];
    (header, prop::collection::vec(piece(), 0..120))
        .prop_map(|(h, body)| [h.into_bytes(), body.concat()].concat())
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        csv_like(),
        csv_like(),
    ]
}

fn ingest_bytes(bytes: &[u8], mapping: Option<MappingSpec>, rules: &Rules) {
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("input.csv");
    std::fs::write(&file, bytes).unwrap();
    let mut options = IngestOptions::canonical(rules);
    options.mapping = mapping;
    match ingest(&dir.path().join("store"), &[file], &options) {
        Ok(summary) => {
            let t = summary.totals;
            assert_eq!(t.read, t.stored + t.quarantined + t.duplicates);
        }
        Err(e) => assert_eq!(e.exit_code(), 2, "internal error on user input: {e}"),
    }
    // a refused file leaves no committed change behind
    let manifest = dir.path().join("store").join("manifest.json");
    if manifest.exists() {
        let text = std::fs::read_to_string(Path::new(&manifest)).unwrap();
        assert!(text.contains("\"inputs\""));
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_canonical_path_never_panics_and_always_reconciles(bytes in input()) {
        let rules = Rules::load(None).unwrap();
        ingest_bytes(&bytes, None, &rules);
    }

    #[test]
    fn the_mapping_path_never_panics_and_always_reconciles(bytes in input()) {
        let rules = Rules::load(None).unwrap();
        let spec = MappingSpec::parse(MAPPING, Path::new("fuzz.toml")).unwrap();
        ingest_bytes(&bytes, Some(spec), &rules);
    }
}
