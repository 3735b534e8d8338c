//! Hostile input cannot hurt the machine: limits hold whatever a file
//! compresses to or claims, and what a limit stops is reported with its
//! row, never lost.

use std::io::Write;
use std::path::Path;

use tempfile::TempDir;

use crate::common::*;

fn line(id: &str, venue: &str) -> String {
    format!("{id},,,US,2020,,,,,,,,sex,,{venue},,,,")
}

fn ingest_summary(store: &Path, file: &Path) -> serde_json::Value {
    let out = ok(&["ingest", "--json", "--store", p(store), p(file)]);
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_gzip_with_one_giant_cell_is_refused_naming_its_line_without_reading_it_whole() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("bomb.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    writeln!(gz, "{HEADER}").unwrap();
    writeln!(gz, "{}", line("r1", "bar")).unwrap();
    write!(gz, "r2,,,US,2020,,,,,,,,sex,,").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&chunk).unwrap(); // one 64 MiB cell
    }
    writeln!(gz, ",,,,").unwrap();
    gz.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);
    let (code, _, err) = run(&["ingest", "--store", p(&dir.path().join("s")), p(&path)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("line 3") && err.contains("a row of more than"),
        "{err}"
    );
    assert!(!dir.path().join("s").join("manifest.json").exists());
}

#[test]
fn a_quote_that_never_closes_quarantines_every_line_it_swallowed() {
    let dir = TempDir::new().unwrap();
    let mut lines: Vec<String> = (1..=50).map(|i| line(&format!("r{i}"), "bar")).collect();
    lines[9] = line("r10", "\"bar"); // data line 10 is file line 11
    lines[44] = line("r45", "bar\""); // the next quote, on file line 46
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = write_csv(dir.path(), "quote.csv", &refs);
    let store = dir.path().join("s");
    let s = ingest_summary(&store, &file);
    assert_eq!(s["read"], 50, "{s}");
    assert_eq!(s["stored"], 14, "{s}");
    assert_eq!(s["quarantined"], 36, "{s}");
    let q = s["files"][0]["quarantine_file"].as_str().unwrap();
    let text = std::fs::read_to_string(store.join(q)).unwrap();
    assert!(text.contains("a quote opened on this line"), "{text}");
    assert!(
        text.contains("swallowed by the quote opened on line 11"),
        "{text}"
    );
}

#[test]
fn json_lines_whose_first_object_lacks_optional_keys_are_all_stored() {
    let dir = TempDir::new().unwrap();
    let mut text = String::from(
        "{\"record_id\":\"j0\",\"reporting_country\":\"US\",\"trafficking_form\":\"sex\"}\n",
    );
    for i in 1..50 {
        text += &format!(
            "{{\"record_id\":\"j{i}\",\"reporting_country\":\"US\",\"trafficking_form\":\"labor\",\"venue\":\"farm\",\"year\":2021}}\n"
        );
    }
    let file = dir.path().join("partial.jsonl");
    std::fs::write(&file, text).unwrap();
    let s = ingest_summary(&dir.path().join("s"), &file);
    assert_eq!(s["stored"], 50, "{s}");
}

#[test]
fn a_parquet_venue_that_is_not_utf8_is_quarantined_not_emptied() {
    use datafusion::arrow::array::{BinaryArray, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::ArrowWriter;
    use std::sync::Arc;
    let dir = TempDir::new().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("record_id", DataType::Utf8, false),
        Field::new("reporting_country", DataType::Utf8, false),
        Field::new("trafficking_form", DataType::Utf8, false),
        Field::new("venue", DataType::Binary, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["p1", "p2"])),
            Arc::new(StringArray::from(vec!["US", "US"])),
            Arc::new(StringArray::from(vec!["sex", "sex"])),
            Arc::new(BinaryArray::from(vec![&b"bar"[..], &b"caf\xe9"[..]])),
        ],
    )
    .unwrap();
    let file = dir.path().join("binary.parquet");
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&file).unwrap(), schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let store = dir.path().join("s");
    let s = ingest_summary(&store, &file);
    assert_eq!(
        (s["stored"].as_u64(), s["quarantined"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    let q = s["files"][0]["quarantine_file"].as_str().unwrap();
    let text = std::fs::read_to_string(store.join(q)).unwrap();
    assert!(
        text.contains("venue") && text.contains("not UTF-8"),
        "{text}"
    );
}

#[test]
fn a_file_with_a_hundred_thousand_unknown_columns_gets_a_short_message() {
    let dir = TempDir::new().unwrap();
    let extra: Vec<String> = (0..100_000).map(|i| format!("extra_{i}")).collect();
    let text = format!(
        "{HEADER},{}\n{},{}\n",
        extra.join(","),
        line("r1", "bar"),
        vec![""; 100_000].join(",")
    );
    let file = dir.path().join("wide.csv");
    std::fs::write(&file, text).unwrap();
    let (code, _, err) = run(&["ingest", "--store", p(&dir.path().join("s")), p(&file)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.len() < 4_000, "{} bytes", err.len());
    assert!(err.contains("and 99980 more"), "{err}");
}

#[test]
fn a_bundle_entry_claiming_gigabytes_is_refused_before_reading() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("liar.snb");
    let mut header = tar::Header::new_gnu();
    header.set_path("manifest.json").unwrap();
    header.set_size(16 << 30);
    header.set_mode(0o644);
    header.set_cksum();
    let mut bytes = header.as_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    std::fs::write(&path, bytes).unwrap();
    let (code, _, err) = run(&["merge", p(&path), "--out", p(&dir.path().join("out"))]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("an entry of 17179869184 bytes"), "{err}");
}

#[test]
fn query_results_are_bounded_in_memory_and_time() {
    let dir = TempDir::new().unwrap();
    let file = write_csv(dir.path(), "one.csv", &[&line("r1", "bar")]);
    let store = dir.path().join("s");
    ingest_summary(&store, &file);
    let (code, _, err) = run(&[
        "--memory-limit",
        "32M",
        "query",
        "--store",
        p(&store),
        "SELECT repeat('x', 1000) AS big FROM generate_series(1, 1000000)",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not fit in --memory-limit"), "{err}");
    let started = std::time::Instant::now();
    let (code, _, err) = run(&[
        "query",
        "--store",
        p(&store),
        "--timeout",
        "2",
        "SELECT count(*) FROM generate_series(1, 1000000000000)",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--timeout"), "{err}");
    assert!(started.elapsed().as_secs() < 60);
}

#[test]
fn a_long_workbook_is_streamed_row_by_row_with_its_sheet_row_numbers() {
    use rust_xlsxwriter::Workbook;
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("long.xlsx");
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.write(0, 0, "Export of the hotline").unwrap(); // a title above the header
    let columns: Vec<&str> = HEADER.split(',').collect();
    for (c, name) in columns.iter().enumerate() {
        sheet.write(2, c as u16, *name).unwrap();
    }
    let rows = 3_000u32;
    for i in 0..rows {
        let r = 3 + i + (i / 1000) * 5; // gaps of empty rows between blocks
        let country = if i == 2_500 { "ZZ" } else { "US" };
        for (c, value) in [
            (0u16, format!("x{i}")),
            (3, country.into()),
            (4, "2021".into()),
            (12, "labor".into()),
            (14, "farm".into()),
        ] {
            sheet.write(r, c, value).unwrap();
        }
    }
    wb.save(&path).unwrap();
    let store = dir.path().join("s");
    let s = ingest_summary(&store, &path);
    assert_eq!(
        (s["read"].as_u64(), s["stored"].as_u64()),
        (Some(3_000), Some(2_999)),
        "{s}"
    );
    let q = s["files"][0]["quarantine_file"].as_str().unwrap();
    let text = std::fs::read_to_string(store.join(q)).unwrap();
    // data row 2,500 sits on sheet row 3 + 2,500 + 10 (two gaps) + 1 = 2,514
    assert!(text.contains(",2514,reporting_country,ZZ,"), "{text}");
}

#[test]
fn a_row_of_only_delimiters_is_counted_and_quarantined() {
    let dir = TempDir::new().unwrap();
    let file = write_csv(
        dir.path(),
        "gaps.csv",
        &[
            &line("r1", "bar"),
            ",,,,,,,,,,,,,,,,,,",
            &line("r3", "farm"),
        ],
    );
    let s = ingest_summary(&dir.path().join("s"), &file);
    assert_eq!(s["read"], 3, "{s}");
    assert_eq!(s["stored"], 2, "{s}");
    assert_eq!(s["quarantined"], 1, "{s}");
}

#[test]
fn published_aggregates_are_refused_as_records() {
    let dir = TempDir::new().unwrap();
    let mapping = dir.path().join("unodc.toml");
    std::fs::write(
        &mapping,
        "[layout]\nname = \"naive\"\nunlisted_columns = \"ignore\"\n[fields.reporting_country]\ncolumn = \"country\"\n[fields.trafficking_form]\ncolumn = \"form\"\n",
    )
    .unwrap();
    let file = dir.path().join("unodc.csv");
    std::fs::write(
        &file,
        "country,year,sex,form,count\nUS,2020,female,sex,412\nUS,2020,male,labor,97\n",
    )
    .unwrap();
    let (code, _, err) = run(&[
        "ingest",
        "--store",
        p(&dir.path().join("s")),
        "--mapping",
        p(&mapping),
        p(&file),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("'count' looks like a count") && err.contains("aggregates"),
        "{err}"
    );
}

#[test]
fn a_quarantine_lists_ten_thousand_rows_and_counts_the_rest() {
    let dir = TempDir::new().unwrap();
    let lines: Vec<String> = (0..10_050)
        .map(|i| format!("q{i},,,ZZ,2020,,,,,,,,sex,,bar,,,,"))
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = write_csv(dir.path(), "bad.csv", &refs);
    let store = dir.path().join("s");
    let s = ingest_summary(&store, &file);
    assert_eq!(
        (s["read"].as_u64(), s["quarantined"].as_u64()),
        (Some(10_050), Some(10_050)),
        "{s}"
    );
    let q = s["files"][0]["quarantine_file"].as_str().unwrap();
    let mut reader = csv::Reader::from_path(store.join(q)).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 10_001);
    let last = &rows[10_000][4];
    assert!(
        last.starts_with("50 more rows quarantined for this reason"),
        "{last}"
    );
}

/// A CSV row read in one piece is checked for UTF-8 in one piece too; a
/// bad byte must still quarantine only its row, naming its line and its
/// column (not the first or last of the row), with the value shown.
#[test]
fn a_csv_cell_that_is_not_utf8_quarantines_its_row_naming_the_column() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("latin1.csv");
    let mut bytes = format!("{HEADER}\n{}\n", line("r1", "bar")).into_bytes();
    // "café" in Latin-1: the é is the byte 0xE9, not UTF-8
    bytes.extend(
        line("r2", "caf#")
            .bytes()
            .map(|b| if b == b'#' { 0xe9 } else { b }),
    );
    bytes.extend_from_slice(format!("\n{}\n", line("r3", "hotel")).as_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let store = dir.path().join("s");
    // (without --encoding the file would be read as Windows-1252)
    let out = ok(&[
        "ingest",
        "--json",
        "--encoding",
        "utf-8",
        "--store",
        p(&store),
        p(&file),
    ]);
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (s["stored"].as_u64(), s["quarantined"].as_u64()),
        (Some(2), Some(1)),
        "{s}"
    );
    let q = s["files"][0]["quarantine_file"].as_str().unwrap();
    let text = std::fs::read_to_string(store.join(q)).unwrap();
    assert!(text.contains("venue"), "{text}");
    assert!(text.contains("not valid UTF-8"), "{text}");
    assert!(text.contains("caf\u{fffd}"), "{text}");
}
