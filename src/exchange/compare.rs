//! The comparison between countries, made from their aggregates only:
//! typology shares side by side (shares, not counts, since hotline volumes
//! differ), the types much more common in one country than another, the
//! chi-square test for each pair, and regional totals, which are ranges
//! where suppressed counts leave them uncertain.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::aggregate::{Aggregates, TYPES_BY_YEAR, TYPES_OVER_PERIOD, published};
use crate::error::{Error, Result};
use crate::publish::charts::{self, Chart, TrendPoint};
use crate::publish::disclosure::{self, Policy};
use crate::publish::render::{self, Document};
use crate::publish::table::{Cell, Table, TableSpec};
use crate::report::independence::{self, Mix};
use crate::sql::stats::wilson_interval;

pub struct Comparison {
    /// In the order given: the first is the reference of the differences.
    pub countries: Vec<String>,
    pub from_year: i32,
    pub to_year: i32,
    pub policy: Policy,
    pub unit: crate::sql::selection::Unit,
    pub rules_version: String,
    pub max_noise: u64,
    pub tables: Vec<Table>,
    pub charts: Vec<Chart>,
    /// The files the figures come from (a store's input files, or the
    /// bundles), each with its SHA-256; set by the caller.
    pub inputs: Vec<String>,
}

/// Why aggregates cannot be compared, if they cannot.
pub fn check_compatible(all: &[Aggregates]) -> Result<()> {
    let Some(first) = all.first() else {
        return Err(Error::Usage("nothing to compare".into()));
    };
    let mut seen = BTreeSet::new();
    for a in all {
        let (s, f) = (&a.scope, &first.scope);
        let differs = |what: &str, x: String, y: String| {
            Err(Error::Usage(format!(
                "{} and {} differ in {what} ({x} and {y}): figures are compared only when {what} is the same",
                f.country, s.country
            )))
        };
        if !seen.insert(s.country.clone()) {
            return Err(Error::Usage(format!("{} is given twice", s.country)));
        }
        if s.min_cell != f.min_cell {
            return differs(
                "suppression threshold",
                f.min_cell.to_string(),
                s.min_cell.to_string(),
            );
        }
        if s.unit != f.unit {
            return differs("unit", f.unit.as_str().into(), s.unit.as_str().into());
        }
        if s.rules_version != f.rules_version {
            return differs(
                "classification rules version",
                f.rules_version.clone(),
                s.rules_version.clone(),
            );
        }
        // the same version may name other rules: a store's own edit of the
        // shipped rules keeps their version, and a type then meant one
        // thing in one country and another in the next
        if let (Some(x), Some(y)) = (&f.rules_sha256, &s.rules_sha256)
            && x != y
        {
            return differs(
                "classification rules (the same version, other rules: SHA-256)",
                x[..12.min(x.len())].to_string(),
                y[..12.min(y.len())].to_string(),
            );
        }
        // the comparison is protected, and audited, with one width and one
        // noise: figures protected with another would fail that audit
        if s.width != f.width {
            return differs("protection width", f.width.to_string(), s.width.to_string());
        }
        if s.max_noise != f.max_noise {
            return differs(
                "noise (largest noise D)",
                f.max_noise.to_string(),
                s.max_noise.to_string(),
            );
        }
        if (s.from_year, s.to_year) != (f.from_year, f.to_year) {
            return differs(
                "period",
                format!("{}–{}", f.from_year, f.to_year),
                format!("{}–{}", s.from_year, s.to_year),
            );
        }
    }
    Ok(())
}

/// A type as the tables key it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Category {
    section_order: u8,
    pub(super) type_id: Option<i64>,
    pub(super) name: String,
    pub(super) section: String,
}

pub(super) fn category_of(t: &Table, row: &[Cell]) -> Category {
    let text = |c: &str| {
        t.column(c)
            .and_then(|i| row[i].as_text())
            .unwrap_or("")
            .to_string()
    };
    let section = text("section");
    Category {
        section_order: match section.as_str() {
            "typology" => 1,
            "undetermined" => 3,
            _ => 2,
        },
        type_id: t
            .column("type_id")
            .and_then(|i| row[i].as_f64())
            .map(|v| v as i64),
        name: text("category"),
        section,
    }
}

fn count_at(t: &Table, row: &[Cell], column: &str) -> Cell {
    row[t.column(column).expect("aggregate column")].clone()
}

/// n, denominator, share and Wilson interval as published cells.
pub(super) fn share_cells(n: &Cell, denominator: &Cell) -> Vec<Cell> {
    match (published(n), published(denominator)) {
        (Some(x), Some(d)) if d > 0 => {
            let (lo, hi) = wilson_interval(x, d).unwrap_or((0.0, 0.0));
            vec![
                n.clone(),
                denominator.clone(),
                Cell::Float(round1(100.0 * x as f64 / d as f64)),
                Cell::Float(round1(100.0 * lo)),
                Cell::Float(round1(100.0 * hi)),
            ]
        }
        _ => vec![
            n.clone(),
            denominator.clone(),
            Cell::Withheld,
            Cell::Withheld,
            Cell::Withheld,
        ],
    }
}

pub(super) fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn spec(name: &str, header: &str) -> Result<TableSpec> {
    TableSpec::parse(name, header)
}

/// The comparison of the countries' aggregates, in the order given (the
/// first country is the reference of the differences), over the types
/// `types` names (all when empty).
pub fn compare(all: &[Aggregates], types: &[String]) -> Result<Comparison> {
    let (tables, chosen) = tables(all, types)?;
    let first = &all[0].scope;
    let countries: Vec<String> = all.iter().map(|a| a.scope.country.clone()).collect();
    let mut charts = vec![trend_panels(&tables[5], &countries, &chosen, first)];
    for chart in &mut charts {
        charts::render_svg(chart)?;
    }
    Ok(Comparison {
        countries,
        from_year: first.from_year,
        to_year: first.to_year,
        policy: all[0].policy(),
        unit: first.unit,
        rules_version: first.rules_version.clone(),
        max_noise: first.max_noise,
        tables,
        charts,
        inputs: Vec::new(),
    })
}

/// The comparison's tables, and the types chosen: what `audit` builds again
/// from the published counts to check every figure derived from them.
pub(super) fn tables(all: &[Aggregates], types: &[String]) -> Result<(Vec<Table>, Vec<Category>)> {
    check_compatible(all)?;
    let policy = all[0].policy();
    let ordered: Vec<&Aggregates> = all.iter().collect();
    let countries: Vec<String> = ordered.iter().map(|a| a.scope.country.clone()).collect();
    let period = shares_over_period(&ordered)?;
    let by_year = shares_by_year(&ordered)?;
    let chosen = super::side_by_side::chosen(&period, types)?;
    let side_by_side = super::side_by_side::table(&period, &countries, &chosen)?;
    let trends = super::side_by_side::trend_table(&by_year, &countries, &chosen)?;
    let tests = mix_tests(&ordered, policy.min_cell)?;
    let regional = regional_totals(&ordered)?;
    Ok((
        vec![side_by_side, trends, tests, regional, period, by_year],
        chosen,
    ))
}

const SHARE_COLUMNS: [&str; 5] = ["n", "denominator", "share_pct", "ci_low_pct", "ci_high_pct"];

/// Rows of (category, [year,] country) with the country's share; a type a
/// country has no record of is a published 0 of its total.
fn share_table(
    all: &[&Aggregates],
    source: &str,
    name: &str,
    header: &str,
    by_year: bool,
) -> Result<Table> {
    // (category, year) -> country -> (n, denominator)
    let mut cells: BTreeMap<(Category, i32), BTreeMap<String, (Cell, Cell)>> = BTreeMap::new();
    let mut totals: BTreeMap<(String, i32), Cell> = BTreeMap::new();
    for a in all {
        let t = a.table(source);
        for row in &t.rows {
            let year = if by_year {
                count_at(t, row, "year").as_f64().unwrap_or(0.0) as i32
            } else {
                0
            };
            let denominator = count_at(t, row, "denominator");
            totals.insert((a.scope.country.clone(), year), denominator.clone());
            cells
                .entry((category_of(t, row), year))
                .or_default()
                .insert(
                    a.scope.country.clone(),
                    (count_at(t, row, "n"), denominator),
                );
        }
    }
    let mut rows = Vec::new();
    for ((category, year), by_country) in &cells {
        for a in all {
            let country = &a.scope.country;
            let (n, denominator) = match by_country.get(country) {
                Some(pair) => pair.clone(),
                None => match totals.get(&(country.clone(), *year)) {
                    Some(total) => (Cell::Int(0), total.clone()),
                    None => continue, // no records of the country that year
                },
            };
            let mut row = vec![
                Cell::Text(category.section.clone()),
                category.type_id.map_or(Cell::Null, Cell::Int),
                Cell::Text(category.name.clone()),
            ];
            if by_year {
                row.push(Cell::Int(i64::from(*year)));
            }
            row.push(Cell::Text(country.clone()));
            row.extend(share_cells(&n, &denominator));
            rows.push(row);
        }
    }
    let mut columns: Vec<String> = ["section", "type_id", "category"]
        .map(String::from)
        .to_vec();
    if by_year {
        columns.push("year".into());
    }
    columns.push("country".into());
    columns.extend(SHARE_COLUMNS.map(String::from));
    Ok(Table {
        spec: spec(name, header)?,
        columns,
        rows,
    })
}

fn shares_over_period(all: &[&Aggregates]) -> Result<Table> {
    share_table(
        all,
        TYPES_OVER_PERIOD,
        "05_type_shares_by_country",
        "\
-- title: Typology shares by country over the period
-- counts: n, denominator
-- derived: share_pct, ci_low_pct, ci_high_pct from n, denominator
-- note: share_pct is the type's share of all the country's records of the period, with its 95% Wilson interval. Hotline volumes differ, so countries are compared by shares, not counts; a type the country has no record of is 0.
",
        false,
    )
}

fn shares_by_year(all: &[&Aggregates]) -> Result<Table> {
    share_table(
        all,
        TYPES_BY_YEAR,
        "06_type_shares_by_year",
        "\
-- title: Typology shares by country and year
-- counts: n, denominator
-- derived: share_pct, ci_low_pct, ci_high_pct from n, denominator
-- note: share_pct is the type's share of all the country's records of the year, with its 95% Wilson interval.
",
        true,
    )
}

/// One country's published mix over the period, with the types not
/// published in either country of the pair pooled: their records are the
/// published total less the published types, which a reader can compute.
fn pooled_mix(a: &Aggregates, pooled: &BTreeSet<String>) -> Option<Mix> {
    let t = a.table(TYPES_OVER_PERIOD);
    let total = t
        .rows
        .first()
        .and_then(|r| published(&count_at(t, r, "denominator")))?;
    let mut mix = Mix::new();
    let mut named = 0;
    for row in &t.rows {
        let name = category_of(t, row).name;
        if pooled.contains(&name) {
            continue;
        }
        let n = published(&count_at(t, row, "n"))?;
        named += n;
        mix.insert(name, n);
    }
    if !pooled.is_empty() {
        mix.insert(
            "types not published in either (pooled)".into(),
            total.checked_sub(named)?,
        );
    }
    Some(mix)
}

fn suppressed_types(a: &Aggregates) -> BTreeSet<String> {
    let t = a.table(TYPES_OVER_PERIOD);
    t.rows
        .iter()
        .filter(|r| count_at(t, r, "n") == Cell::Suppressed)
        .map(|r| category_of(t, r).name)
        .collect()
}

fn mix_tests(all: &[&Aggregates], min_cell: u64) -> Result<Table> {
    let mut rows = Vec::new();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            let pooled: BTreeSet<String> = suppressed_types(a)
                .union(&suppressed_types(b))
                .cloned()
                .collect();
            let (x, y) = (&a.scope.country, &b.scope.country);
            rows.push(match (pooled_mix(a, &pooled), pooled_mix(b, &pooled)) {
                (Some(mix_a), Some(mix_b)) => {
                    independence::row("countries", x, y, &mix_a, &mix_b, min_cell)
                }
                _ => {
                    let mut r = vec![
                        Cell::Text("countries".into()),
                        Cell::Text(x.clone()),
                        Cell::Text(y.clone()),
                    ];
                    r.extend(std::iter::repeat_n(Cell::Null, 6));
                    r.push(Cell::Text(
                        "not tested: a country's total is not published".into(),
                    ));
                    r
                }
            });
        }
    }
    Ok(Table {
        spec: independence::spec("03_mix_tests")?,
        columns: independence::COLUMNS.map(String::from).to_vec(),
        rows,
    })
}

/// Sums over the countries by type and year: the sum of the published
/// counts where every country publishes its count, and always the range
/// the published figures allow: each published count give or take its
/// noise, each suppressed one its range worked out from its country's own
/// published tables.
fn regional_totals(all: &[&Aggregates]) -> Result<Table> {
    // (area, category, year) -> (low, high, countries not published, sum
    // published); the areas are all the countries compared, then each UN
    // M49 region their countries roll up to
    type Sum = (f64, f64, Vec<String>, f64);
    let mut sums: BTreeMap<((u8, String), Category, i32), Sum> = BTreeMap::new();
    for a in all {
        let mut areas = vec![(0u8, "all countries compared".to_string())];
        let place = crate::base::places::Place::Country(a.scope.country.clone());
        if let Some(name) = crate::base::places::regions_of(&place)
            .0
            .and_then(crate::base::places::name_of)
        {
            areas.push((1, format!("{name} (UN M49 region)")));
        }
        let ranges = disclosure::suppressed_ranges(&a.tables, a.scope.unit, a.noise())?;
        let ti = a
            .tables
            .iter()
            .position(|t| t.spec.name == TYPES_BY_YEAR)
            .expect("aggregate table");
        let t = &a.tables[ti];
        let n = t.column("n").expect("aggregate column");
        for ((r, row), area) in t
            .rows
            .iter()
            .enumerate()
            .flat_map(|rr| areas.iter().map(move |area| (rr, area)))
        {
            let year = count_at(t, row, "year").as_f64().unwrap_or(0.0) as i32;
            let entry = sums
                .entry((area.clone(), category_of(t, row), year))
                .or_insert((0.0, 0.0, Vec::new(), 0.0));
            match published(&row[n]) {
                Some(v) => {
                    let noise = if v > 0 { a.noise() } else { 0 };
                    entry.0 += v.saturating_sub(noise) as f64;
                    entry.1 += (v + noise) as f64;
                    entry.3 += v as f64;
                }
                None => {
                    let (lo, hi) = ranges
                        .get(&(ti, r, n))
                        .copied()
                        .unwrap_or((1.0, f64::INFINITY));
                    entry.0 += lo;
                    entry.1 += hi;
                    entry.2.push(a.scope.country.clone());
                }
            }
        }
    }
    let rows = sums
        .into_iter()
        .map(
            |((area, category, year), (lo, hi, missing, published_sum))| {
                let exact = missing.is_empty();
                vec![
                    Cell::Text(area.1),
                    Cell::Text(category.section),
                    category.type_id.map_or(Cell::Null, Cell::Int),
                    Cell::Text(category.name),
                    Cell::Int(i64::from(year)),
                    if exact {
                        Cell::Int(published_sum as i64)
                    } else {
                        Cell::Null
                    },
                    Cell::Int(lo as i64),
                    if hi.is_finite() {
                        Cell::Int(hi as i64)
                    } else {
                        Cell::Null
                    },
                    Cell::Text(missing.join(", ")),
                ]
            },
        )
        .collect();
    Ok(Table {
        spec: spec(
            "04_regional_totals",
            "\
-- title: Regional totals by type and year
-- counts: total
-- note: area is all the countries compared, then each UN M49 region (Americas, Europe, ...) the compared countries roll up to, over the compared countries of that region only. total is the sum of the countries' published counts where every country publishes its count; each published count carries noise of at most 3 either way, so total_low to total_high is the range the published figures allow for the true total. Where a country does not publish (not_published_in), the total is given only as that range (an empty total_high: no upper bound), never as one number.
",
        )?,
        columns: [
            "area",
            "section",
            "type_id",
            "category",
            "year",
            "total",
            "total_low",
            "total_high",
            "not_published_in",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    })
}

/// One panel per chosen type, one line per country in it, so that every
/// chosen type is seen in every country.
fn trend_panels(
    by_year: &Table,
    countries: &[String],
    chosen: &[Category],
    scope: &super::aggregate::Scope,
) -> Chart {
    let col = |c: &str| by_year.column(c).expect("share column");
    let mut years: Vec<i32> = by_year
        .rows
        .iter()
        .filter_map(|r| r[col("year")].as_f64())
        .map(|y| y as i32)
        .collect();
    years.sort_unstable();
    years.dedup();
    let panels = chosen
        .iter()
        .map(|category| {
            let series = countries
                .iter()
                .map(|country| {
                    by_year
                        .rows
                        .iter()
                        .filter(|r| {
                            r[col("country")].as_text() == Some(country)
                                && category_of(by_year, r) == *category
                        })
                        .filter_map(|r| -> Option<TrendPoint> {
                            Some((
                                r[col("year")].as_f64()? as i32,
                                r[col("share_pct")].as_f64()?,
                                r[col("ci_low_pct")].as_f64()?,
                                r[col("ci_high_pct")].as_f64()?,
                            ))
                        })
                        .collect()
                })
                .collect();
            (
                crate::publish::profiles::reader_label(&category.name),
                series,
            )
        })
        .collect();
    charts::small_multiples(
        "type_shares_by_country",
        &format!(
            "Share of each year's records by type: {}, {}–{}",
            countries.join(", "),
            scope.from_year,
            scope.to_year
        ),
        "One panel per type, one line per country, each panel on its own scale (read the axis); bands are 95% \
         Wilson intervals; a year whose share is not published (disclosure control) is a gap. Shares reflect what \
         each hotline detects.",
        years,
        countries.to_vec(),
        panels,
    )
}

/// Writes the comparison: tables as CSV and one workbook, the chart as SVG
/// and PNG, the report as Markdown and HTML.
///
/// With `ledger` (a comparison made from a store), it is recorded in that
/// store's release ledger before it is put in place.
pub fn write(
    comparison: &Comparison,
    target: &Path,
    command: &str,
    ledger: Option<&crate::store::Store>,
) -> Result<Vec<PathBuf>> {
    let output = crate::publish::writer::OutputDir::begin(target, command)?;
    let out = output.staging();
    let doc = Document {
        title: "Detected cases of human trafficking: comparison between countries",
        logo: None,
        // countries and the rules version come from the bundles: values
        scope: render::Text::prose("Countries: ")
            .values(&comparison.countries, ", ")
            .and(format!(
                ". Years of registration: {}–{}. Unit: {}. The first country is the reference of the differences. \
                 Classification rules: version ",
                comparison.from_year,
                comparison.to_year,
                comparison.unit.as_str(),
            ))
            .value(comparison.rules_version.clone())
            .and(format!(
                ". Counts below {} and those protecting them are not published.",
                comparison.policy.min_cell
            )),
        caveat: "These are cases detected by or reported to each country's hotline, not the prevalence of trafficking. \
                 Detection differs between hotlines (who calls, outreach, how cases are recorded), so a difference \
                 between countries can reflect detection as much as trafficking.",
        policy: comparison.policy,
        charts: &comparison.charts,
        tables: &comparison.tables,
        sections: vec![
            (
                "How the comparison is made".to_string(),
                "Each country's figures are counts by type and year and by type over the period, disclosure-controlled \
                 on their own (primary and secondary suppression over the two tables, which share their margins) \
                 before anything is compared, exactly as `safetynet share` writes them into a bundle; the comparison \
                 uses nothing else, so it is the same whether it is made from the stores or from bundles. Shares \
                 carry 95% Wilson intervals. Each country's share of a type is set against the reference country's \
                 (the first named): the difference in percentage points with its 95% Newcombe interval, and the \
                 two-proportion test, its p-values adjusted with Holm's method over every difference of the table, \
                 so that the chance of any false finding among the 25 or more types stays under 5%. Whether a \
                 type's trend differs is tested on the slopes of a logistic regression of its yearly share on the \
                 year in each country (Wald test), Holm-adjusted the same way. Published counts carry noise of a \
                 few records, which the tests do not model: a result near the threshold is weak evidence. The \
                 chi-square tests pool every type not published in either country of the pair (their records are \
                 each total less its published types). Regional totals are exact only where every country publishes \
                 its count; otherwise they are the range the published figures allow. `safetynet audit` checks the \
                 folder: each country's counts against its own disclosure control, every share, difference and \
                 total recomputed from the published counts, and the HTML, Markdown and workbook against the CSVs."
                    .into(),
            ),
            (
                "Data".to_string(),
                render::Text::prose("Figures from: ")
                    .values(&comparison.inputs, ", ")
                    .and(". Classification rules: version ")
                    .value(comparison.rules_version.clone())
                    .and(format!(
                        ". Made with safetynet {} (the same figures and options give the same bytes).",
                        env!("CARGO_PKG_VERSION")
                    )),
            ),
        ],
        profiles: Default::default(),
        key_figures: Default::default(),
        reader_tables: Default::default(),
    };
    let mut written = crate::publish::writer::write_document(out, "comparison", &doc)?;
    written.push(super::comparison_audit::Model::of(comparison).write(out)?);
    let written = written.iter().map(|p| output.published_path(p)).collect();
    if let Some(store) = ledger {
        let scope = crate::store::releases::Scope {
            from_year: comparison.from_year,
            to_year: comparison.to_year,
            countries: comparison.countries.clone(),
            unit: comparison.unit.as_str().into(),
        };
        output.record_release(store, scope, comparison.policy)?;
    }
    output.commit()?;
    Ok(written)
}
