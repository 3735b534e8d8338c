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
    for name in names {
        let table = out.join("tables").join(format!("{name}.csv"));
        // a query that needs a population table publishes nothing without one
        let text = std::fs::read_to_string(&table).unwrap_or_else(|_| {
            "(not published: the query needs a table this report lacks)".into()
        });
        insta::assert_snapshot!(name.clone(), text);
    }
}
