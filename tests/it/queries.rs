//! One snapshot per query of `queries/`: the table the report publishes
//! from it on the fixture store of `report.rs` (disclosure-controlled, as a
//! reader gets it). Adding a query file adds a table, and this test then
//! asks for its snapshot; review new or changed ones with
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test`).

use std::path::Path;

use tempfile::TempDir;

use crate::common::{ingest_json, ok, p, query_count, query_csv_as};
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

/// Queries 09, 13 and 16 take their counts and denominators in one
/// aggregation (`GROUPING SETS`, the denominator spread over its rows by a
/// window), which reads the store once where a join of two aggregations read
/// it twice; 08 takes its countries' counts and its regions' totals so (a
/// row with no country is the region's total, as when they were two
/// aggregations stacked); 04, 12 and 13 also aggregate each attribute on its own rather
/// than all of them stacked in one long table (faster: no attribute name
/// among the grouping keys), and 04 and 12 take their attributes'
/// denominators in one aggregation with the type's total, one count of the
/// records recording each attribute (`FILTER`), joined to the counts on the
/// type's number and extension category. Each must
/// give exactly the table of the plain form (the attributes stacked, two
/// aggregations joined), for victims (every record counted) and for cases
/// (each case once, so a denominator is not the sum of its parts), on a
/// store whose cases have several records.
#[test]
fn counts_and_denominators_in_one_aggregation_equal_the_plain_join() {
    let dir = TempDir::new().unwrap();
    let store = store_of_mixed_cases(dir.path());
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    for (file, join) in PLAIN_JOINS {
        let shipped = std::fs::read_to_string(queries.join(file)).unwrap();
        // the steps before the one aggregation, as the file labelled each
        // record before it was grouped on the stored columns (the next test
        // holds the shipped file to that form)
        let labelled_per_record =
            per_record_form(file, &shipped).unwrap_or_else(|| shipped.clone());
        let (shared, one_pass) = labelled_per_record
            .split_once(ONE_PASS_MARKER)
            .unwrap_or_else(|| panic!("{file}: no line starting {ONE_PASS_MARKER:?}"));
        assert_ne!(one_pass.trim(), join.trim(), "{file}: nothing to compare");
        let reference = format!("{shared}{join}");
        assert_same_tables(dir.path(), &store, file, &shipped, &reference);
    }
}

/// Ten queries group on the stored columns (`typology_id`,
/// `extension_category`, `classification`, the flags and the count as
/// stored) and name the groups after: the category (with the type's name
/// as `max(typology_name)` of its group), the section and the values' words
/// are computed once per group, not once per record. Each
/// must give exactly the table of the form that named every record first,
/// for victims and for cases. `tests/fixtures/per_record_queries/` keeps
/// that form's steps after `selected`; the header and `selected` are the
/// shipped file's own, so the two differ only where the grouping does. This
/// holds because a record is classified into a type or an extension
/// category, never both, and a type has one name.
#[test]
fn grouping_on_stored_columns_equals_naming_each_record_first() {
    let dir = TempDir::new().unwrap();
    let store = store_of_mixed_cases(dir.path());
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    let mut files: Vec<String> = std::fs::read_dir(per_record_forms())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 10, "{files:?}");
    for file in &files {
        let shipped = std::fs::read_to_string(queries.join(file)).unwrap();
        let per_record = per_record_form(file, &shipped).unwrap();
        assert!(
            shipped.contains(GROUPED_MARKER) && !per_record.contains(GROUPED_MARKER),
            "{file}: the shipped file groups on the stored columns, the kept form does not"
        );
        assert_same_tables(dir.path(), &store, file, &shipped, &per_record);
    }
}

/// Where the forms that named each record before grouping are kept.
fn per_record_forms() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/per_record_queries")
}

/// The form of `file` that named each record before grouping, if kept: the
/// shipped file up to the end of its `selected` step, then the kept steps.
fn per_record_form(file: &str, shipped: &str) -> Option<String> {
    let steps = std::fs::read_to_string(per_record_forms().join(file)).ok()?;
    let start = shipped
        .find(SELECTED_STEP)
        .unwrap_or_else(|| panic!("{file}: no {SELECTED_STEP:?}"));
    let end = start
        + shipped[start..]
            .find(SELECTED_END)
            .unwrap_or_else(|| panic!("{file}: its `selected` step does not end"))
        + SELECTED_END.len();
    Some(format!("{}{steps}", &shipped[..end]))
}

/// The first step of every query, and the line that ends it.
const SELECTED_STEP: &str = "WITH selected AS (\n";
const SELECTED_END: &str = "\n),\n";

/// The comment that opens the grouping on the stored columns.
const GROUPED_MARKER: &str = "-- grouped on the stored columns";

/// Both SQL texts give the same table of more than ten rows, counted as
/// victims and as cases.
fn assert_same_tables(dir: &Path, store: &Path, file: &str, sql: &str, reference: &str) {
    for unit in ["victims", "cases"] {
        let tables: Vec<String> = [sql, reference]
            .iter()
            .enumerate()
            .map(|(i, sql)| {
                let path = dir.join(format!("{unit}-{i}-{file}"));
                std::fs::write(&path, sql).unwrap();
                query_csv_as(store, unit, &["--file", p(&path)])
            })
            .collect();
        assert!(
            tables[0].lines().count() > 10,
            "{file}, {unit}: {}",
            tables[0]
        );
        assert_eq!(tables[0], tables[1], "{file}, {unit}");
    }
}

/// A store of generated records whose cases hold three unrelated records
/// each, so that counting each case once differs from adding up its values.
fn store_of_mixed_cases(dir: &Path) -> std::path::PathBuf {
    let export = dir.join("g.csv");
    ok(&[
        "generate",
        "--records",
        "3000",
        "--seed",
        "11",
        "--countries",
        "US,MX",
        "--out",
        p(&export),
    ]);
    // Generated cases share their victims' attributes; three unrelated
    // records per case make a case hold several values of one attribute,
    // where counting each case once differs from adding up its values.
    let mixed = dir.join("mixed.csv");
    let mut reader = csv::Reader::from_path(&export).unwrap();
    let headers = reader.headers().unwrap().clone();
    let case_column = headers.iter().position(|h| h == "case_id").unwrap();
    let mut writer = csv::Writer::from_path(&mixed).unwrap();
    writer.write_record(&headers).unwrap();
    for (i, record) in reader.records().enumerate() {
        let record = record.unwrap();
        let case = format!("CASE-{:05}", i / 3);
        let cells = record.iter().enumerate().map(|(c, cell)| {
            if c == case_column {
                case.as_str()
            } else {
                cell
            }
        });
        writer.write_record(cells).unwrap();
    }
    writer.flush().unwrap();
    let store = dir.join("store");
    ingest_json(&store, &[&mixed]);
    let mixed_genders = query_count(
        &store,
        "SELECT count(*) FROM (SELECT case_id FROM cases GROUP BY case_id HAVING count(DISTINCT gender) > 1)",
    );
    assert!(
        mixed_genders > 100,
        "{mixed_genders} cases of mixed genders"
    );
    store
}

/// Where the shipped file's one aggregation starts.
const ONE_PASS_MARKER: &str = "-- the counts and";

/// The end of each query as two aggregations joined, after the shared steps.
const PLAIN_JOINS: [(&str, &str); 6] = [
    (
        "08_exploitation_country_by_year.sql",
        "counts AS (
  SELECT region_name AS exploitation_region, coalesce(exploitation_country, 'not recorded') AS exploitation_country, year, protected_count(unit_id) AS n
  FROM selected GROUP BY 1, 2, year
  UNION ALL
  SELECT region_name, CAST(NULL AS VARCHAR), year, protected_count(unit_id)
  FROM selected GROUP BY 1, year
)
SELECT
  c.exploitation_region, c.exploitation_country, c.year, c.n, y.denominator,
  round(100.0 * c.n / y.denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(c.n, y.denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(c.n, y.denominator), 1) AS ci_high_pct
FROM counts c JOIN years y ON y.year = c.year
ORDER BY CASE WHEN c.exploitation_region = 'not recorded' THEN 1 ELSE 0 END, c.exploitation_region,
  CASE WHEN c.exploitation_country IS NULL THEN 0 WHEN c.exploitation_country = 'not recorded' THEN 2 ELSE 1 END,
  c.exploitation_country, c.year
",
    ),
    (
        "04_profile_by_type.sql",
        "long AS (
  SELECT type_id, category, 'gender' AS attribute, gender AS value, unit_id FROM labelled WHERE gender IS NOT NULL
  UNION ALL
  SELECT type_id, category, 'adult/minor', majority_status, unit_id FROM labelled WHERE majority_status IS NOT NULL
  UNION ALL
  SELECT type_id, category, 'citizenship', citizenship_status, unit_id FROM labelled WHERE citizenship_status IS NOT NULL
),
denominators AS (SELECT category, attribute, protected_count(unit_id) AS denominator FROM long GROUP BY category, attribute),
counts AS (SELECT type_id, category, attribute, value, protected_count(unit_id) AS n FROM long GROUP BY type_id, category, attribute, value)
SELECT
  c.type_id, c.category, t.type_records, c.attribute, c.value, c.n, d.denominator,
  round(100.0 * c.n / d.denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(c.n, d.denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(c.n, d.denominator), 1) AS ci_high_pct
FROM counts c JOIN denominators d ON d.category = c.category AND d.attribute = c.attribute
  JOIN type_totals t ON t.category = c.category
ORDER BY c.type_id NULLS LAST, c.category, c.attribute, c.value
",
    ),
    (
        "09_citizenship_by_country.sql",
        "denominators AS (SELECT exploitation_country, protected_count(unit_id) AS denominator FROM recorded GROUP BY exploitation_country),
counts AS (SELECT exploitation_country, citizenship, protected_count(unit_id) AS n, published_count(unit_id) AS ranked_by FROM recorded GROUP BY exploitation_country, citizenship)
SELECT
  c.exploitation_country, c.citizenship, c.n, d.denominator,
  round(100.0 * c.n / d.denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(c.n, d.denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(c.n, d.denominator), 1) AS ci_high_pct
FROM counts c JOIN denominators d ON d.exploitation_country = c.exploitation_country
ORDER BY c.exploitation_country, c.ranked_by DESC, c.citizenship
",
    ),
    (
        "13_trafficker_flags_by_type.sql",
        "long AS (
  SELECT type_id, category, 'number of perpetrators' AS attribute, how_many AS value, unit_id FROM labelled WHERE how_many IS NOT NULL
  UNION ALL
  SELECT type_id, category, 'money paid', money_paid, unit_id FROM labelled WHERE money_paid IS NOT NULL
  UNION ALL
  SELECT type_id, category, 'transaction', transaction, unit_id FROM labelled WHERE transaction IS NOT NULL
  UNION ALL
  SELECT type_id, category, 'control, abuse or kidnap', control_abuse, unit_id FROM labelled WHERE control_abuse IS NOT NULL
),
denominators AS (SELECT category, attribute, protected_count(unit_id) AS denominator FROM long GROUP BY category, attribute),
counts AS (SELECT type_id, category, attribute, value, protected_count(unit_id) AS n FROM long GROUP BY type_id, category, attribute, value)
SELECT
  c.type_id, c.category, c.attribute, c.value, c.n, d.denominator,
  round(100.0 * c.n / d.denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(c.n, d.denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(c.n, d.denominator), 1) AS ci_high_pct
FROM counts c JOIN denominators d ON d.category = c.category AND d.attribute = c.attribute
ORDER BY c.type_id NULLS LAST, c.category, c.attribute, c.value
",
    ),
    (
        "12_trafficker_profile_by_type.sql",
        "long AS (
  SELECT type_id, category, 'role' AS attribute, unnest(perpetrator_roles) AS value, unit_id FROM labelled WHERE perpetrator_roles IS NOT NULL
  UNION ALL
  SELECT type_id, category, 'gender', unnest(perpetrator_genders), unit_id FROM labelled WHERE perpetrator_genders IS NOT NULL
  UNION ALL
  SELECT type_id, category, 'age group', unnest(perpetrator_age_groups), unit_id FROM labelled WHERE perpetrator_age_groups IS NOT NULL
  UNION ALL
  SELECT type_id, category, 'citizenship (region)', unnest(perpetrator_regions), unit_id FROM labelled WHERE perpetrator_regions IS NOT NULL
  UNION ALL
  SELECT type_id, category, 'relation to victim', unnest(perpetrator_relations), unit_id FROM labelled WHERE perpetrator_relations IS NOT NULL
),
named AS (
  SELECT type_id, category, attribute, unit_id,
    CASE WHEN attribute = 'citizenship (region)' THEN
      CASE value WHEN '002' THEN 'Africa' WHEN '019' THEN 'Americas' WHEN '142' THEN 'Asia'
        WHEN '150' THEN 'Europe' WHEN '009' THEN 'Oceania' ELSE value END
    ELSE value END AS value
  FROM long
),
-- each record once per attribute it records, however many perpetrators
recorded AS (
  SELECT category, 'role' AS attribute, unit_id FROM labelled WHERE perpetrator_roles IS NOT NULL
  UNION ALL
  SELECT category, 'gender', unit_id FROM labelled WHERE perpetrator_genders IS NOT NULL
  UNION ALL
  SELECT category, 'age group', unit_id FROM labelled WHERE perpetrator_age_groups IS NOT NULL
  UNION ALL
  SELECT category, 'citizenship (region)', unit_id FROM labelled WHERE perpetrator_regions IS NOT NULL
  UNION ALL
  SELECT category, 'relation to victim', unit_id FROM labelled WHERE perpetrator_relations IS NOT NULL
),
denominators AS (SELECT category, attribute, protected_count(unit_id) AS denominator FROM recorded GROUP BY category, attribute),
counts AS (SELECT type_id, category, attribute, value, protected_count(unit_id) AS n FROM named GROUP BY type_id, category, attribute, value)
SELECT
  c.type_id, c.category, c.attribute, c.value, c.n, d.denominator,
  round(100.0 * c.n / d.denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(c.n, d.denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(c.n, d.denominator), 1) AS ci_high_pct
FROM counts c JOIN denominators d ON d.category = c.category AND d.attribute = c.attribute
ORDER BY c.type_id NULLS LAST, c.category, c.attribute, c.value
",
    ),
    (
        "16_confidence_by_type.sql",
        "totals AS (SELECT category, protected_count(unit_id) AS type_records FROM labelled GROUP BY category),
counts AS (SELECT type_id, category, confidence, protected_count(unit_id) AS n FROM labelled GROUP BY type_id, category, confidence)
SELECT c.type_id, c.category, c.confidence, c.n, t.type_records,
  round(100.0 * c.n / t.type_records, 1) AS share_pct,
  round(100.0 * wilson_lo(c.n, t.type_records), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(c.n, t.type_records), 1) AS ci_high_pct
FROM counts c JOIN totals t ON t.category = c.category
ORDER BY c.type_id NULLS LAST, c.category, CASE c.confidence WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END
",
    ),
];
