//! One snapshot per query of `queries/`: the table the report publishes
//! from it on the fixture store of `report.rs` (disclosure-controlled, as a
//! reader gets it). Adding a query file adds a table, and this test then
//! asks for its snapshot; review new or changed ones with
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test`).

use std::path::Path;

use tempfile::TempDir;

use crate::report::{fixture_store, report};

#[test]
fn every_query_file_publishes_its_snapshotted_table() {
    let dir = TempDir::new().unwrap();
    let store = fixture_store(dir.path());
    let out = dir.path().join("out");
    report(&store, &out, &[]);
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    let mut names: Vec<String> = std::fs::read_dir(&queries)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    let published: Vec<String> = std::fs::read_dir(out.join("tables"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut missing = 0;
    for name in names {
        // the report numbers its tables in the order it publishes them, so
        // a table is found by its name without the query file's number
        let unnumbered = safetynet::publish::table::unnumbered(&name);
        let file = published.iter().find(|f| {
            f.strip_suffix(".csv")
                .map(safetynet::publish::table::unnumbered)
                == Some(unnumbered)
        });
        // a query that needs a population or reference table publishes
        // nothing without one
        let text = match file {
            Some(f) => std::fs::read_to_string(out.join("tables").join(f)).unwrap(),
            None => {
                missing += 1;
                "(not published: the query needs a table this report lacks)".into()
            }
        };
        insta::assert_snapshot!(name.clone(), text);
    }
    // rates (no population table) and reference shares (no reference
    // figures): the only two the fixture cannot publish
    assert_eq!(missing, 2);
}
