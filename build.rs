//! Embeds every `queries/*.sql` file in the binary, in name order, so that
//! adding a table to the report is adding a file: no list to edit.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // read when the script runs, not when it was compiled: a script binary
    // compiled in another checkout must not read that checkout's queries
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir).join("queries");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("queries/ is readable")
        .map(|entry| entry.expect("queries/ entry").path())
        .filter(|path| path.extension().is_some_and(|x| x == "sql"))
        .map(|path| {
            println!("cargo::rerun-if-changed={}", path.display());
            path.file_stem()
                .expect("a file name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let mut code = String::from("&[\n");
    // The path is spelled with the crate's directory as the compiler sees
    // it, not as this script saw it: a build directory shared with another
    // checkout then never embeds that checkout's queries.
    for name in &names {
        writeln!(
            code,
            "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/queries/{name}.sql\"))),"
        )
        .expect("writing to a string");
    }
    code.push(']');
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("queries.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
