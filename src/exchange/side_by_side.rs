//! The comparison as analysts read it: countries as columns, each type's
//! share in every country, and each country's difference from the
//! reference country (the first one named) with its interval and a test
//! corrected for the number of types tested; then whether a type's trend
//! over the years differs between the countries.
//!
//! Everything here is computed from the long share tables, that is from
//! the countries' published (disclosure-controlled) counts alone.

use std::collections::BTreeMap;

use super::aggregate::published;
use super::compare::{Category, category_of, round1, share_cells};
use crate::error::{Error, Result};
use crate::publish::mix_tests::p_value_text;
use crate::publish::table::{Cell, Table, TableSpec};
use crate::sql::proportions::{self, holm};

/// Adjusted p-values below this are called a difference.
const ALPHA: f64 = 0.05;

/// (year, n, denominator) of a published year.
type YearCounts = (i32, u64, u64);

/// (n, denominator) of one country for one category (and year).
type Counts = (Cell, Cell);

/// The long share table as category → country → counts, and the
/// categories in table order.
fn counts_by_category(long: &Table) -> BTreeMap<Category, BTreeMap<String, Counts>> {
    let col = |c: &str| long.column(c).expect("share column");
    let mut out: BTreeMap<Category, BTreeMap<String, Counts>> = BTreeMap::new();
    for row in &long.rows {
        out.entry(category_of(long, row)).or_default().insert(
            row[col("country")].render(),
            (row[col("n")].clone(), row[col("denominator")].clone()),
        );
    }
    out
}

/// The categories `--types` names, in table order: each value a type's
/// number, a type's name or an extension category (case does not matter).
/// Without `--types`, every category of the long table.
pub(super) fn chosen(long: &Table, types: &[String]) -> Result<Vec<Category>> {
    let present: Vec<Category> = counts_by_category(long).into_keys().collect();
    if types.is_empty() {
        return Ok(present);
    }
    let fold = |s: &str| s.trim().to_lowercase();
    let known = crate::classify::rules::published_categories();
    let mut wanted = Vec::new();
    for value in types {
        let v = fold(value);
        let matches = |c: &Category| {
            c.type_id.is_some_and(|id| id.to_string() == v)
                || fold(&c.name) == v
                || fold(&crate::publish::profiles::reader_label(&c.name)) == v
        };
        match present.iter().find(|c| matches(c)) {
            Some(c) => {
                if !wanted.contains(c) {
                    wanted.push(c.clone())
                }
            }
            None => {
                let is_category = v.parse::<usize>().is_ok_and(|n| (1..=25).contains(&n))
                    || known.iter().any(|k| {
                        fold(k) == v || fold(&crate::publish::profiles::reader_label(k)) == v
                    });
                return Err(Error::Usage(if is_category {
                    format!(
                        "--types {value}: no compared country has a record of this type in the period"
                    )
                } else {
                    format!(
                        "--types {value}: not a type of the typology (a number 1 to 25, a type's name such as \
                         \"Agriculture\", or an extension category such as sex_unspecified)"
                    )
                }));
            }
        }
    }
    wanted.sort();
    Ok(wanted)
}

/// Short column names: `n_US`, `diff_pp_MX_vs_US`.
fn per_country(column: &str, country: &str) -> String {
    format!("{column}_{country}")
}

fn per_pair(column: &str, country: &str, reference: &str) -> String {
    format!("{column}_{country}_vs_{reference}")
}

/// Types × countries: every chosen type's count, share and interval in each
/// country, then each other country's difference from the reference.
pub(super) fn table(long: &Table, countries: &[String], chosen: &[Category]) -> Result<Table> {
    let counts = counts_by_category(long);
    let reference = &countries[0];
    let others = &countries[1..];
    // the differences first, so that Holm's correction sees the whole family
    let mut differences: Vec<(usize, usize, proportions::Difference)> = Vec::new();
    for (c, category) in chosen.iter().enumerate() {
        let by_country = &counts[category];
        let of = |country: &String| {
            let (n, d) = by_country.get(country)?;
            Some((published(n)?, published(d)?))
        };
        for (o, other) in others.iter().enumerate() {
            if let (Some((x1, n1)), Some((x2, n2))) = (of(other), of(reference))
                && let Some(d) = proportions::difference(x1, n1, x2, n2)
            {
                differences.push((c, o, d));
            }
        }
    }
    let adjusted = holm(&differences.iter().map(|d| d.2.p_value).collect::<Vec<_>>());
    let found: BTreeMap<(usize, usize), (proportions::Difference, f64)> = differences
        .iter()
        .zip(&adjusted)
        .map(|(&(c, o, d), &p)| ((c, o), (d, p)))
        .collect();

    let mut rows = Vec::new();
    for (c, category) in chosen.iter().enumerate() {
        let mut row = vec![
            Cell::Text(category.section.clone()),
            category.type_id.map_or(Cell::Null, Cell::Int),
            Cell::Text(category.name.clone()),
        ];
        for country in countries {
            match counts[category].get(country) {
                Some((n, d)) => {
                    let cells = share_cells(n, d);
                    // n, then share and interval (the denominator is the
                    // last row's)
                    row.push(cells[0].clone());
                    row.extend(cells[2..].iter().cloned());
                }
                None => row.extend([Cell::Null, Cell::Null, Cell::Null, Cell::Null]),
            }
        }
        for (o, _) in others.iter().enumerate() {
            match found.get(&(c, o)) {
                Some((d, p)) => row.extend([
                    Cell::Float(round1(100.0 * d.estimate)),
                    Cell::Float(round1(100.0 * d.low)),
                    Cell::Float(round1(100.0 * d.high)),
                    Cell::Text(p_value_text(*p)),
                ]),
                None => row.extend([
                    Cell::Withheld,
                    Cell::Withheld,
                    Cell::Withheld,
                    Cell::Withheld,
                ]),
            }
        }
        rows.push(row);
    }
    // the records each share is of
    let mut total = vec![
        Cell::Text("total".into()),
        Cell::Null,
        Cell::Text("all records".into()),
    ];
    for country in countries {
        let denominator = counts
            .values()
            .find_map(|by_country| by_country.get(country))
            .map_or(Cell::Null, |(_, d)| d.clone());
        total.extend([denominator, Cell::Null, Cell::Null, Cell::Null]);
    }
    total.extend(std::iter::repeat_n(Cell::Null, 4 * others.len()));
    rows.push(total);

    let mut columns: Vec<String> = ["section", "type_id", "category"]
        .map(String::from)
        .to_vec();
    for country in countries {
        for c in ["n", "share_pct", "ci_low_pct", "ci_high_pct"] {
            columns.push(per_country(c, country));
        }
    }
    for other in others {
        for c in ["diff_pp", "diff_ci_low_pp", "diff_ci_high_pp", "p_holm"] {
            columns.push(per_pair(c, other, reference));
        }
    }
    let counts_line = countries
        .iter()
        .map(|c| per_country("n", c))
        .collect::<Vec<_>>()
        .join(", ");
    let derived: String = countries
        .iter()
        .map(|c| {
            format!(
                "-- derived: {}, {}, {} from {}\n",
                per_country("share_pct", c),
                per_country("ci_low_pct", c),
                per_country("ci_high_pct", c),
                per_country("n", c)
            )
        })
        .collect();
    let header = format!(
        "\
-- title: Typology shares side by side, and each country's difference from the reference country
-- counts: {counts_line}
{derived}-- note: For each country: n, the records of the type over the period; share_pct, its share of all the country's records of the period (the last row), with its 95% Wilson interval. Then, for each other country against the reference country (the first named; the column names say which is which): diff_pp, the difference of the shares in percentage points (the country less the reference), its 95% Newcombe interval, and p_holm, the two-sided p-value of the two-proportion test adjusted with Holm's method for the {tests} differences in this table: below {ALPHA} is a difference beyond chance at 5% for the table as a whole. A difference involving a share not published is withheld ({withheld}). Detection differs between hotlines: a difference can reflect who each hotline reaches.
",
        tests = differences.len(),
        withheld = crate::publish::table::WITHHELD,
    );
    Ok(Table {
        spec: TableSpec::parse("01_shares_side_by_side", &header)?,
        columns,
        rows,
    })
}

/// For each chosen type and each country against the reference: the trend
/// of the type's share over the years in each, and whether they differ.
pub(super) fn trend_table(
    by_year: &Table,
    countries: &[String],
    chosen: &[Category],
) -> Result<Table> {
    let col = |c: &str| by_year.column(c).expect("share column");
    // (category, country) -> (year, n, denominator) of the published years
    let mut points: BTreeMap<(Category, String), Vec<YearCounts>> = BTreeMap::new();
    let mut unpublished: BTreeMap<(Category, String), usize> = BTreeMap::new();
    for row in &by_year.rows {
        let key = (category_of(by_year, row), row[col("country")].render());
        let year = row[col("year")].as_f64().unwrap_or(0.0) as i32;
        match (
            published(&row[col("n")]),
            published(&row[col("denominator")]),
        ) {
            (Some(n), Some(d)) if d > 0 => points.entry(key).or_default().push((year, n, d)),
            _ => *unpublished.entry(key).or_default() += 1,
        }
    }
    let reference = &countries[0];
    let trend_of = |category: &Category, country: &String| {
        points
            .get(&(category.clone(), country.clone()))
            .and_then(|p| proportions::trend(p))
    };
    let mut tested = Vec::new();
    let mut rows = Vec::new();
    for category in chosen {
        for other in &countries[1..] {
            let (a, b) = (trend_of(category, other), trend_of(category, reference));
            let skipped = |country: &String| {
                unpublished
                    .get(&(category.clone(), country.clone()))
                    .copied()
                    .unwrap_or(0) as i64
            };
            let mut row = vec![
                Cell::Text(category.section.clone()),
                category.type_id.map_or(Cell::Null, Cell::Int),
                Cell::Text(category.name.clone()),
                Cell::Text(other.clone()),
                a.map_or(Cell::Withheld, |t| Cell::Float(round1(t.odds_change_pct()))),
                Cell::Int(skipped(other)),
                Cell::Text(reference.clone()),
                b.map_or(Cell::Withheld, |t| Cell::Float(round1(t.odds_change_pct()))),
                Cell::Int(skipped(reference)),
            ];
            match (a, b) {
                (Some(a), Some(b)) => {
                    tested.push((rows.len(), proportions::trends_differ(&a, &b)));
                    row.extend([Cell::Null, Cell::Null, Cell::Null]);
                }
                _ => row.extend([
                    Cell::Withheld,
                    Cell::Withheld,
                    Cell::Text(
                        "not tested: fewer than 3 published years with records, or no records at all"
                            .into(),
                    ),
                ]),
            }
            rows.push(row);
        }
    }
    let adjusted = holm(&tested.iter().map(|t| t.1).collect::<Vec<_>>());
    for ((r, p), p_holm) in tested.iter().zip(adjusted) {
        let row = &mut rows[*r];
        let n = row.len();
        row[n - 3] = Cell::Text(p_value_text(*p));
        row[n - 2] = Cell::Text(p_value_text(p_holm));
        row[n - 1] = Cell::Text(
            if p_holm < ALPHA {
                "trends differ"
            } else {
                "no evidence that the trends differ"
            }
            .into(),
        );
    }
    let header = format!(
        "\
-- title: Whether each type's trend differs from the reference country's
-- note: trend_pct_per_year is the change per year of the odds of a record being of the type (a logistic regression of the type's yearly share on the year, on the published counts of the years whose count and total are both published; years_not_published counts the others, left out). p_value tests whether the two trends differ (Wald test of the difference of the slopes), p_holm adjusts it with Holm's method for the {tests} tests of this table. A trend needs three published years with records.
",
        tests = tested.len()
    );
    Ok(Table {
        spec: TableSpec::parse("02_trend_differences", &header)?,
        columns: [
            "section",
            "type_id",
            "category",
            "country",
            "trend_pct_per_year",
            "years_not_published",
            "reference",
            "reference_trend_pct_per_year",
            "reference_years_not_published",
            "p_value",
            "p_holm",
            "verdict",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    })
}
