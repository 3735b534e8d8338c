//! Hand-worked examples of the report's disclosure step, and a property test
//! over random linked tables.

use proptest::prelude::*;

use super::*;
use crate::publish::linkage::tests::{table, types_by_country, types_by_year};

const K10: Policy = Policy {
    min_cell: 10,
    width: None,
    suppression: true,
};

fn suppressed_cells(t: &Table) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (r, row) in t.rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if *cell == Cell::Suppressed {
                out.push((r, c));
            }
        }
    }
    out
}

#[test]
fn a_table_safe_alone_can_leak_through_another_that_shares_a_margin() {
    //  types by year         types by country
    //         A    B | year          A    B
    //  2020   3   20 |  23    US    13   15
    //  2021  30   15 |  45    MX    20   20
    // Suppressing 2020's row pair protects the 3 within the first table
    // (it has no type totals: the 3 could be anything from 1 to 22)...
    let alone = [types_by_year(["x", "x", "30", "15"])];
    assert!(audit(&alone, Unit::Victims, K10, 0).unwrap().is_empty());
    // ...but the second table publishes the type totals: A = 13 + 20 = 33,
    // so the 3 is 33 - 30.
    let both = [types_by_year(["x", "x", "30", "15"]), types_by_country()];
    let findings = audit(&both, Unit::Victims, K10, 0).unwrap();
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert!(
        findings[0].starts_with(
            "records(category=A, year=2020) (suppressed in by_year row 1) can be worked out to [3.0, 3.0]"
        ),
        "{}",
        findings[0]
    );

    // The step protects the two tables together. Cheapest: hide 2020's
    // total (on both rows of 2020) and the US count of type A, so that the
    // 3 can grow with them: 3 + t, 23 + t, 13 + t stay consistent with
    // everything published, for any t.
    let mut tables = [types_by_year(["3", "20", "30", "15"]), types_by_country()];
    let outcome = protect(&mut tables, Unit::Victims, K10).unwrap();
    assert_eq!((outcome.primary, outcome.secondary), (1, 2));
    assert_eq!(suppressed_cells(&tables[0]), [(0, 2), (0, 3), (1, 3)]);
    assert_eq!(suppressed_cells(&tables[1]), [(0, 2)]);
    assert!(audit(&tables, Unit::Victims, K10, 0).unwrap().is_empty());
}

#[test]
fn small_published_counts_are_findings_and_shares_of_suppressed_counts_are_withheld() {
    let header = "\
-- counts: n, denominator
-- derived: share from n, denominator
-- cells: n = records(year, category)
-- cells: denominator = records(year)
-- sum: records(year, category) over category
";
    let mut t = [table(
        "t",
        header,
        &["year", "category", "n", "denominator", "share"],
        &[
            &["2020", "A", "4", "60", "7"],
            &["2020", "B", "0", "60", "0"],
            &["2020", "C", "56", "60", "93"],
        ],
    )];
    let published = audit(&t, Unit::Victims, K10, 0).unwrap();
    assert_eq!(
        published,
        ["table t row 1 column n: the count 4 is published but below 10"]
    );
    let outcome = protect(&mut t, Unit::Victims, K10).unwrap();
    assert_eq!(outcome.primary, 1);
    // The zero cannot hide the 4, so the 56 is suppressed too.
    assert_eq!(outcome.secondary, 1);
    assert_eq!(outcome.withheld, 2);
    assert_eq!(t[0].rows[1][2], Cell::Int(0), "zero is shown");
    assert_eq!(t[0].rows[0][4], Cell::Withheld);
    assert_eq!(t[0].rows[2][2], Cell::Suppressed);
    assert!(audit(&t, Unit::Victims, K10, 0).unwrap().is_empty());
}

#[test]
fn counts_without_declarations_still_get_primary_suppression() {
    let mut t = [table(
        "t",
        "-- counts: n\n",
        &["k", "n"],
        &[&["a", "3"], &["b", "12"]],
    )];
    let outcome = protect(&mut t, Unit::Victims, K10).unwrap();
    assert_eq!(outcome.primary, 1);
    assert_eq!(t[0].rows[0][1], Cell::Suppressed);
    assert_eq!(t[0].rows[1][1], Cell::Int(12));
}

#[test]
fn no_suppression_leaves_every_count() {
    let mut tables = [types_by_year(["3", "20", "30", "15"])];
    let internal = Policy {
        suppression: false,
        ..K10
    };
    assert_eq!(
        protect(&mut tables, Unit::Victims, internal).unwrap(),
        Outcome::default()
    );
    assert_eq!(tables[0].rows[0][2], Cell::Int(3));
}

/// Counts by type, year and country, as a store would give them: some
/// zeros, many small.
fn cube() -> impl Strategy<Value = Vec<Vec<Vec<u64>>>> {
    let count = prop_oneof![2 => Just(0u64), 4 => 1u64..10, 3 => 10u64..120];
    (1usize..=4, 1usize..=4, 1usize..=3).prop_flat_map(move |(types, years, countries)| {
        proptest::collection::vec(
            proptest::collection::vec(proptest::collection::vec(count.clone(), countries), years),
            types,
        )
    })
}

/// The cube as two published tables sharing the type totals and the grand
/// total: types by year (with year totals) and types by country.
fn linked_tables(cube: &[Vec<Vec<u64>>]) -> [Table; 2] {
    let header_year = "\
-- counts: n, denominator
-- cells: n = records(year, category)
-- cells: denominator = records(year)
-- sum: records(year, category) over category
-- sum: records(year, category) over year
-- sum: records(year) over year
";
    let header_country = "\
-- counts: n, denominator
-- cells: n = records(country, category)
-- cells: denominator = records(country)
-- sum: records(country, category) over category
-- sum: records(country, category) over country
-- sum: records(country) over country
";
    let (types, years, countries) = (cube.len(), cube[0].len(), cube[0][0].len());
    let mut by_year = Vec::new();
    for y in 0..years {
        let total: u64 = (0..types).flat_map(|t| cube[t][y].iter()).sum();
        for (t, plane) in cube.iter().enumerate() {
            let n: u64 = plane[y].iter().sum();
            by_year.push([
                format!("{}", 2020 + y),
                format!("T{t}"),
                n.to_string(),
                total.to_string(),
            ]);
        }
    }
    let mut by_country = Vec::new();
    for c in 0..countries {
        let total: u64 = cube.iter().flat_map(|p| p.iter().map(|row| row[c])).sum();
        for (t, plane) in cube.iter().enumerate() {
            let n: u64 = plane.iter().map(|row| row[c]).sum();
            by_country.push([
                format!("C{c}"),
                format!("T{t}"),
                n.to_string(),
                total.to_string(),
            ]);
        }
    }
    let rows = |v: &Vec<[String; 4]>| -> Vec<Vec<Cell>> {
        v.iter()
            .map(|r| {
                vec![
                    Cell::Text(r[0].clone()),
                    Cell::Text(r[1].clone()),
                    Cell::Int(r[2].parse().unwrap()),
                    Cell::Int(r[3].parse().unwrap()),
                ]
            })
            .collect()
    };
    [
        Table {
            spec: TableSpec::parse("by_year", header_year).unwrap(),
            columns: ["year", "category", "n", "denominator"]
                .map(String::from)
                .to_vec(),
            rows: rows(&by_year),
        },
        Table {
            spec: TableSpec::parse("by_country", header_country).unwrap(),
            columns: ["country", "category", "n", "denominator"]
                .map(String::from)
                .to_vec(),
            rows: rows(&by_country),
        },
    ]
}

use crate::publish::table::TableSpec;

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn after_protection_the_audit_of_the_linked_tables_finds_nothing(
        cube in cube(),
        k in 2u64..=10,
    ) {
        let policy = Policy { min_cell: k, width: None, suppression: true };
        let mut tables = linked_tables(&cube);
        let before = tables.clone();
        protect(&mut tables, Unit::Victims, policy).unwrap();
        // What the audit reads is only what is published.
        let findings = audit(&tables, Unit::Victims, policy, 0).unwrap();
        prop_assert!(findings.is_empty(), "{findings:#?}");
        for (t, original) in tables.iter().zip(&before) {
            for (row, original_row) in t.rows.iter().zip(&original.rows) {
                for (cell, value) in row.iter().zip(original_row) {
                    if let Cell::Int(n) = cell {
                        prop_assert!(*n == 0 || *n as u64 >= k, "published {n} below {k}");
                        prop_assert_eq!(cell, value, "a published count changed");
                    }
                    if let (Cell::Suppressed, Cell::Int(n)) = (cell, value) {
                        prop_assert!(*n > 0, "a zero was suppressed");
                    }
                }
            }
        }
    }
}

/// The published run's table inherits what disclosure control chose on the
/// true one, and a table that was not counted with `protected_count` (no
/// noise, or more than the noise), or whose rows change between the runs,
/// is refused.
#[test]
fn carry_over_takes_the_suppression_and_refuses_counts_without_noise() {
    use crate::publish::linkage::tests::table;
    let header = "-- counts: n\n-- derived: share_pct from n, total\n-- cells: n = records(year, category)\n";
    let columns = ["year", "category", "n", "total", "share_pct"];
    let rows = |values: &[&str]| -> Vec<Vec<String>> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                vec![
                    "2020".to_string(),
                    format!("C{i:02}"),
                    v.to_string(),
                    "500".to_string(),
                    "1.0".to_string(),
                ]
            })
            .collect()
    };
    let make = |values: &[&str]| {
        let owned = rows(values);
        let refs: Vec<Vec<&str>> = owned
            .iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect();
        let slices: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
        table("mine", header, &columns, &slices)
    };
    let truth_values = [
        "x", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
    ];
    let truth = [make(&truth_values)];
    let p = safetynet_sdc::Perturbation {
        max_noise: 3,
        min_cell: 10,
    };

    // published values within the noise: suppression carried, share withheld
    let mut published = [make(&[
        "4", "12", "12", "10", "14", "17", "16", "17", "18", "19", "22",
    ])];
    assert_eq!(carry_over(&truth, &mut published, p).unwrap(), 1);
    assert_eq!(published[0].rows[0][2], Cell::Suppressed);
    assert_eq!(published[0].rows[0][4], Cell::Withheld);
    assert_eq!(published[0].rows[1][2], Cell::Int(12));

    // the true counts again: not counted with protected_count
    let mut same = [make(&[
        "4", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
    ])];
    let e = carry_over(&truth, &mut same, p).unwrap_err().to_string();
    assert!(e.contains("none of its counts carries noise"), "{e}");

    // further from the truth than the noise allows
    let mut far = [make(&[
        "4", "17", "12", "10", "14", "17", "16", "17", "18", "19", "22",
    ])];
    let e = carry_over(&truth, &mut far, p).unwrap_err().to_string();
    assert!(e.contains("where its true value is 11"), "{e}");

    // rows that are not the same rows
    let mut other = [make(&truth_values)];
    other[0].rows[3][1] = Cell::Text("another type".into());
    let e = carry_over(&truth, &mut other, p).unwrap_err().to_string();
    assert!(e.contains("its rows differ"), "{e}");

    // the same rows in another order (a statement without ORDER BY): said so
    let mut reordered = [make(&truth_values)];
    reordered[0].rows.swap(2, 5);
    let e = carry_over(&truth, &mut reordered, p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("come in another order"), "{e}");
    assert!(e.contains("ORDER BY"), "{e}");
}

/// A folder or bundle that declares a larger noise bound than the noise
/// table draws is audited with the table's bound: declaring more would
/// only widen ranges and let a leak pass.
#[test]
fn a_declared_noise_bound_is_credited_only_up_to_the_noise_table() {
    assert_eq!(credited_noise(0), 0);
    assert_eq!(credited_noise(2), 2);
    assert_eq!(credited_noise(100), safetynet_sdc::DEFAULT_MAX_NOISE);
}
