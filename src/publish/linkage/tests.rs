//! Declarations as query headers write them, and the model they give.

use super::*;
use crate::publish::table::TableSpec;

pub(crate) fn table(name: &str, header: &str, columns: &[&str], rows: &[&[&str]]) -> Table {
    Table {
        spec: TableSpec::parse(name, header).unwrap(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| match v.parse::<i64>() {
                        Ok(n) => Cell::Int(n),
                        Err(_) if *v == "x" => Cell::Suppressed,
                        Err(_) if v.is_empty() => Cell::Null,
                        Err(_) => Cell::Text(v.to_string()),
                    })
                    .collect()
            })
            .collect(),
    }
}

#[test]
fn declarations_parse_and_bad_ones_name_the_file_and_line() {
    let c = CellDeclaration::parse("t", "prev_n = records(year-1, category)").unwrap();
    assert_eq!(c.column, "prev_n");
    assert_eq!(c.quantity, "records");
    assert_eq!(
        c.dimensions,
        [
            Dimension {
                column: "year".into(),
                offset: -1
            },
            Dimension {
                column: "category".into(),
                offset: 0
            }
        ]
    );
    let c = CellDeclaration::parse("t", "n = undated() where denominator is null").unwrap();
    assert_eq!(c.only_where, Some(("denominator".into(), false)));
    assert!(c.dimensions.is_empty());

    let r = RelationDeclaration::parse("t", "cover", "tactics(category, tactic) over tactic")
        .unwrap()
        .unwrap();
    assert_eq!((r.kind, r.total.as_str()), (RelationKind::Cover, "tactics"));
    let r = RelationDeclaration::parse("t", "each-within", "tactics(category) = records(category)")
        .unwrap()
        .unwrap();
    assert_eq!((r.over.as_str(), r.total.as_str()), ("", "records"));
    assert_eq!(
        RelationDeclaration::parse("t", "title", "anything").unwrap(),
        None,
        "other header words are not relations"
    );

    for (keyword, text, why) in [
        ("cells", "n records(year)", "expected COLUMN"),
        ("cells", "n = records(year", "missing `)`"),
        ("cells", "n = records(year) where n > 3", "COLUMN is null"),
        (
            "sum",
            "records(year, form) over country",
            "one of the dimensions",
        ),
        ("sum", "records(year, form)", "expected QUANTITY"),
        ("each-within", "records(year) = records", "its own total"),
        (
            "each-within",
            "profile(category, attribute) over attribute = records(year)",
            "the total's dimensions",
        ),
    ] {
        let e = if keyword == "cells" {
            CellDeclaration::parse("q", text).unwrap_err()
        } else {
            RelationDeclaration::parse("q", keyword, text).unwrap_err()
        }
        .to_string();
        assert!(e.starts_with("q.sql: `-- "), "{e}");
        assert!(e.contains(why), "{text}: {e}");
    }
}

const BY_YEAR: &str = "\
-- counts: n, denominator
-- cells: n = records(year, category)
-- cells: denominator = records(year)
-- sum: records(year, category) over category
-- sum: records(year, category) over year
";

const BY_COUNTRY: &str = "\
-- counts: n
-- cells: n = records(country, category)
-- sum: records(country, category) over country
";

pub(crate) fn types_by_year(cells: [&str; 4]) -> Table {
    let [a20, b20, a21, b21] = cells;
    table(
        "by_year",
        BY_YEAR,
        &["year", "category", "n", "denominator"],
        &[
            &["2020", "A", a20, "23"],
            &["2020", "B", b20, "23"],
            &["2021", "A", a21, "45"],
            &["2021", "B", b21, "45"],
        ],
    )
}

pub(crate) fn types_by_country() -> Table {
    table(
        "by_country",
        BY_COUNTRY,
        &["country", "category", "n"],
        &[
            &["US", "A", "13"],
            &["MX", "A", "20"],
            &["US", "B", "15"],
            &["MX", "B", "20"],
        ],
    )
}

#[test]
fn a_margin_shared_by_two_tables_is_one_cell() {
    let tables = [types_by_year(["3", "20", "30", "15"]), types_by_country()];
    let l = link(&tables, Unit::Victims, true).unwrap();
    let labels: Vec<&str> = l
        .model
        .cells()
        .iter()
        .filter_map(|c| c.label.as_deref())
        .collect();
    // 4 + 2 cells of the first table, 4 of the second, then the type totals
    // both tables imply (hidden, shared) and their slacks-free sums.
    assert_eq!(
        &labels[..6],
        [
            "records(category=A, year=2020)",
            "records(year=2020)",
            "records(category=B, year=2020)",
            "records(category=A, year=2021)",
            "records(year=2021)",
            "records(category=B, year=2021)",
        ]
    );
    let hidden: Vec<&str> = l
        .model
        .cells()
        .iter()
        .filter(|c| c.hidden)
        .filter_map(|c| c.label.as_deref())
        .collect();
    assert_eq!(hidden, ["records(category=A)", "records(category=B)"]);
    let a_total = l
        .model
        .cells()
        .iter()
        .find(|c| c.label.as_deref() == Some("records(category=A)"))
        .unwrap();
    assert_eq!(a_total.value, 33);
    // year sums (2) + type sums from each table (2 + 2)
    assert_eq!(l.model.constraints().len(), 6);
    // the denominator repeated on every row is one cell
    assert_eq!(l.positions.len(), 12);
    let distinct: BTreeSet<usize> = l.positions.iter().map(|(_, id)| id.0).collect();
    assert_eq!(distinct.len(), 10);
}

#[test]
fn tables_that_disagree_about_a_shared_count_are_refused() {
    let mut other = types_by_country();
    other.rows[0][2] = Cell::Int(14); // A in the US: 14 + 20 = 34, not 33
    let e = link(
        &[types_by_year(["3", "20", "30", "15"]), other],
        Unit::Victims,
        true,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("records(category=A)"), "{e}");
}

#[test]
fn distinct_cases_are_not_additive_so_sums_become_bounds() {
    // 12 + 14 cases of two types in a year of 23 cases: one case has both.
    let t = table(
        "t",
        BY_YEAR,
        &["year", "category", "n", "denominator"],
        &[&["2020", "A", "12", "23"], &["2020", "B", "14", "23"]],
    );
    assert!(link(std::slice::from_ref(&t), Unit::Victims, true).is_err());
    let l = link(&[t], Unit::Cases, true).unwrap();
    // each part <= total (2 slacks) and total <= sum (sum and overlap)
    assert!(l.model.cells().iter().filter(|c| c.hidden).count() >= 4);
}

#[test]
fn previous_year_and_conditions_pick_the_right_cells() {
    let header = "\
-- counts: n, prev_n
-- cells: n = records(year) where note is null
-- cells: prev_n = records(year-1) where note is null
-- cells: n = undated() where note is not null
";
    let t = table(
        "t",
        header,
        &["year", "n", "prev_n", "note"],
        &[
            &["2020", "40", "", ""],
            &["2021", "50", "40", ""],
            &["", "7", "", "left out"],
        ],
    );
    let l = link(&[t], Unit::Victims, true).unwrap();
    let labels: Vec<&str> = l
        .model
        .cells()
        .iter()
        .filter_map(|c| c.label.as_deref())
        .collect();
    assert_eq!(
        labels,
        ["records(year=2020)", "records(year=2021)", "undated()"]
    );
    // 2021's prev_n is 2020's n
    assert_eq!(l.positions[2].1, l.positions[0].1);
}

/// Counts of records say what they are, so how they add up follows without
/// a `-- sum:` line: a table of records by year and type beside records by
/// year is linked, and the true counts say the parts are complete. The
/// small count is then protected by a complement, as it would be had the
/// header declared the sum; and parts that leave records out leave a
/// remainder that is a cell of its own.
#[test]
fn relations_between_record_counts_are_derived_without_declarations() {
    let header = "-- counts: n, total\n-- cells: n = records(year, category)\n-- cells: total = records(year)\n";
    let columns = ["year", "category", "n", "total"];
    let complete = table(
        "mine",
        header,
        &columns,
        &[&["2020", "A", "3", "23"], &["2020", "B", "20", "23"]],
    );
    let l = link(std::slice::from_ref(&complete), Unit::Victims, true).unwrap();
    assert_eq!(
        l.model.constraints().len(),
        1,
        "{:?}",
        l.model.constraints()
    );
    let statuses = safetynet_sdc::protect(&l.model, 10, 10).unwrap();
    let suppressed = statuses.iter().filter(|s| s.is_suppressed()).count();
    assert!(
        suppressed >= 2,
        "the 3 alone would be 23 - 20: {statuses:?}"
    );

    // 12 + 15 of 32: 5 records have no category counted here
    let partial = table(
        "mine",
        header,
        &columns,
        &[&["2020", "A", "12", "32"], &["2020", "B", "15", "32"]],
    );
    let l = link(&[partial], Unit::Victims, true).unwrap();
    let statuses = safetynet_sdc::primary_suppression(&l.model, 10);
    // the remainder, 32 - 12 - 15 = 5, is a sensitive cell
    assert!(
        l.model
            .cells()
            .iter()
            .zip(&statuses)
            .any(|(c, s)| c.value == 5 && *s == CellStatus::Primary),
        "{:?}",
        l.model.cells()
    );
}
