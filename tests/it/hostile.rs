//! Hostile input cannot hurt the reader: a value from data (an input file's
//! name, a bundle's country and categories from another organisation, a
//! venue text) is escaped for where it goes: Markdown and HTML show it as
//! text, spreadsheets never evaluate it, terminals never obey it.

use std::path::{Path, PathBuf};

use crate::common::*;
use crate::report::{fixture_csv, report};
use safetynet::publish::table::Cell;
use tempfile::TempDir;

const INPUT_NAME: &str = "<img src=x onerror=alert(1)>.csv";

#[test]
fn an_input_named_like_markup_is_text_in_the_report() {
    let dir = TempDir::new().unwrap();
    let hostile = dir.path().join(INPUT_NAME);
    std::fs::copy(fixture_csv(dir.path()), &hostile).unwrap();
    let store = dir.path().join("store");
    ingest_json(&store, &[&hostile]);
    let out = dir.path().join("out");
    report(&store, &out, &[]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!md.contains("<img"), "raw tag in report.md");
    assert!(!html.contains("<img"), "raw tag in report.html");
    // still listed, as text
    assert!(
        md.contains("Input files: &lt;img src=x onerror=alert(1)>.csv (SHA-256 "),
        "{md}"
    );
    assert!(
        html.contains("Input files: &lt;img src=x onerror=alert(1)&gt;.csv (SHA-256 "),
        "{html}"
    );
}

/// What another organisation could put in a bundle's categories.
const CATEGORY_PAYLOADS: &[&str] = &[
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "[click](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "</text><script>alert(1)</script>",
    "`code` | broken | row ![i](javascript:alert(2))",
];
const COUNTRY: &str =
    "</text><script>alert(3)</script><b onmouseover=alert(4)>[XX](javascript:alert(5))\x1b[31m";

fn generated_store(dir: &Path) -> PathBuf {
    let export = dir.join("g.csv");
    ok(&[
        "generate",
        "--records",
        "800",
        "--seed",
        "41",
        "--countries",
        "US,MX",
        "--out",
        p(&export),
    ]);
    let store = dir.join("store");
    ingest_json(&store, &[&export]);
    store
}

/// A well-formed bundle with hostile text, written by the tool's own
/// writer (so its hashes are right and its figures pass the audit): every
/// category renamed with a payload in front, and optionally the country.
fn hostile_bundle(store: &Path, country: &str, hostile_country: Option<&str>, path: &Path) {
    let honest = path.with_extension("honest.snb");
    ok(&[
        "share",
        "--store",
        p(store),
        "--country",
        country,
        "--out",
        p(&honest),
    ]);
    let (manifest, mut aggregates) = safetynet::exchange::bundle::read(&honest).unwrap();
    for table in &mut aggregates.tables {
        let c = table.column("category").unwrap();
        for row in &mut table.rows {
            if let Cell::Text(name) = &row[c] {
                let k = name.bytes().map(usize::from).sum::<usize>() % CATEGORY_PAYLOADS.len();
                row[c] = Cell::Text(format!("{} {name}", CATEGORY_PAYLOADS[k]));
            }
        }
    }
    if let Some(hostile) = hostile_country {
        aggregates.scope.country = hostile.to_string();
    }
    safetynet::exchange::bundle::write(&aggregates, manifest.source, path, None).unwrap();
}

/// `|` that separate the cells of a Markdown table row (not `\|`).
fn cell_separators(line: &str) -> usize {
    let bytes = line.as_bytes();
    (0..bytes.len())
        .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
        .count()
}

#[test]
fn a_hostile_bundle_is_text_in_the_comparison() {
    let dir = TempDir::new().unwrap();
    let store = generated_store(dir.path());
    let (us, mx) = (dir.path().join("us.snb"), dir.path().join("mx.snb"));
    hostile_bundle(&store, "US", None, &us);
    hostile_bundle(&store, "MX", Some(COUNTRY), &mx);
    let out = dir.path().join("out");
    let stdout = ok(&["merge", p(&us), p(&mx), "--out", p(&out)]);
    assert!(!stdout.contains('\x1b'), "{stdout}");

    let md = std::fs::read_to_string(out.join("comparison.md")).unwrap();
    for raw in ["<img", "<script", "</text", "<b ", "<javascript:", "\x1b"] {
        assert!(!md.contains(raw), "{raw} in comparison.md");
    }
    // a link needs a `]` that is not escaped right before its `(`; the only
    // ones are the document's own images of its charts
    for (at, _) in md.match_indices("](") {
        assert!(
            md[..at].ends_with('\\') || md[at..].starts_with("](charts/"),
            "a link in comparison.md: {}",
            &md[at.saturating_sub(40)..at + 30]
        );
    }
    assert!(md.contains("&lt;img src=x onerror=alert(1)>"), "{md}");
    // every row of a table has as many cells as its header
    let mut header = None;
    for line in md.lines() {
        if line.starts_with('|') {
            let n = cell_separators(line);
            assert_eq!(*header.get_or_insert(n), n, "a broken row: {line}");
        } else {
            header = None;
        }
    }

    let html = std::fs::read_to_string(out.join("comparison.html")).unwrap();
    let svg = std::fs::read_to_string(out.join("charts/type_shares_by_country.svg")).unwrap();
    for (name, text) in [("comparison.html", &html), ("the chart", &svg)] {
        for raw in ["<img", "<script", "<b ", "javascript:alert(5)\"", "\x1b"] {
            assert!(!text.contains(raw), "{raw} in {name}");
        }
        assert!(
            !text.to_lowercase().contains("href=\"javascript:"),
            "a javascript: link in {name}"
        );
    }
    // the payloads are there, as text: the country's panel title and the
    // categories in the legend
    assert!(svg.contains("&lt;/text&gt;&lt;script&gt;alert(3)"), "{svg}");
    assert!(
        html.contains("&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );

    // no text cell a spreadsheet would evaluate; numbers stay numbers
    let mut neutralised = 0;
    for (path, bytes) in snapshot(&out.join("tables")) {
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        for record in reader.records() {
            for cell in record.unwrap().iter() {
                assert!(
                    !cell.starts_with(['=', '+', '@', '\t', '\r'])
                        && (!cell.starts_with('-') || cell.parse::<f64>().is_ok()),
                    "{}: a formula: {cell}",
                    path.display()
                );
                neutralised += usize::from(cell.starts_with("'=HYPERLINK("));
            }
        }
    }
    assert!(neutralised > 0, "the payload is in the tables, neutralised");

    // the workbook holds them as strings, never as formulas
    use calamine::{Data, Reader};
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook(out.join("comparison.xlsx")).unwrap();
    let mut strings = 0;
    for sheet in workbook.sheet_names() {
        let formulas = workbook.worksheet_formula(&sheet).unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "{sheet} has formulas"
        );
        let range = workbook.worksheet_range(&sheet).unwrap();
        for (_, _, cell) in range.used_cells() {
            if let Data::String(s) = cell {
                strings += usize::from(s.starts_with("=HYPERLINK(") || s.starts_with("+cmd|"));
            }
        }
    }
    assert!(strings > 0, "the payloads are strings in the workbook");
}

/// A store whose venue texts hold terminal escape sequences: ESC (colour,
/// the window title with OSC ... BEL) and the one-byte C1 CSI.
const VENUE: &str = "\x1b[31mred\x1b[0m \x1b]0;owned\x07 \u{9b}2J blorp";

fn escape_store(dir: &Path) -> PathBuf {
    let mut lines: Vec<String> = (0..60)
        .map(|i| {
            format!("O{i},,src,US,2020,5,US,,US,female,24-26,adult,sex,prostitution,Hotel,,,,")
        })
        .collect();
    for i in 0..3 {
        lines.push(format!(
            "H{i},,src,US,2020,5,US,,US,female,24-26,adult,sex,prostitution,{VENUE},,,,"
        ));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = write_csv(dir, "venues.csv", &refs);
    let store = dir.join("store");
    let s = ingest_json(&store, &[&file]);
    assert_eq!(s["stored"], 63, "{s}");
    store
}

fn no_control(output: &str, what: &str) {
    for c in ['\x1b', '\x07', '\u{9b}'] {
        assert!(
            !output.contains(c),
            "{what} printed {c:?} raw:\n{}",
            output.escape_debug()
        );
    }
}

#[test]
fn escape_sequences_in_venues_do_not_reach_the_terminal() {
    let dir = TempDir::new().unwrap();
    let store = escape_store(dir.path());

    let out = ok(&["classify", "--store", p(&store)]);
    no_control(&out, "classify");
    assert!(out.contains("\\u{1b}[31mred"), "{out}");

    let out = ok(&["explain", "--store", p(&store), "H0"]);
    no_control(&out, "explain");
    assert!(out.contains("venue       \\u{1b}[31mred"), "{out}");

    let sql = "SELECT record_id, venue FROM cases WHERE record_id = 'H0'";
    let out = ok(&["query", "--store", p(&store), sql]);
    no_control(&out, "query");
    assert!(out.contains("\\u{1b}[31mred"), "{out}");
    // CSV to a pipe is for programs: the value as stored
    let out = ok(&["query", "--store", p(&store), "--format", "csv", sql]);
    assert!(out.contains(VENUE), "{out}");

    // an error message quoting a value
    let (code, _, stderr) = run(&["explain", "--store", p(&store), "\x1b[2Jgone"]);
    assert_eq!(code, 2, "{stderr}");
    no_control(&stderr, "an error message");
    assert!(stderr.contains("\\u{1b}[2Jgone"), "{stderr}");
}
