//! The report's charts, drawn from its tables with the chart kinds of
//! `publish::charts`.

use std::collections::BTreeMap;

use super::Report;
use crate::error::{Error, Result};
use crate::publish::charts::*;
use crate::publish::table::{Cell, Table};
use crate::sql::selection::Unit;

fn cell<'a>(t: &Table, row: &'a [Cell], column: &str) -> &'a Cell {
    &row[t.column(column).expect("column named by the query header")]
}

fn unit_label(unit: Unit) -> &'static str {
    match unit {
        Unit::Victims => "Detected victims (records)",
        Unit::Cases => "Detected cases (distinct case ids)",
    }
}

/// A chart kind a query's header can name (`-- chart: KIND`): the columns
/// it reads and how it is drawn.
struct ChartKind {
    name: &'static str,
    columns: &'static [&'static str],
    draw: fn(&Report, &Table, u64) -> Chart,
}

/// Every kind, in the order the report shows its charts.
const KINDS: &[ChartKind] = &[
    ChartKind {
        name: "stacked-types",
        columns: &["year", "section", "category", "n", "denominator"],
        draw: stacked_types,
    },
    ChartKind {
        name: "trend-top-types",
        columns: &[
            "year",
            "section",
            "category",
            "n",
            "share_pct",
            "ci_low_pct",
            "ci_high_pct",
        ],
        draw: |_, t, _| trend_top_types(t),
    },
    ChartKind {
        name: "control-heatmap",
        columns: &["category", "control_method", "share_pct"],
        draw: |_, t, k| control_heatmap(t, k),
    },
    ChartKind {
        name: "profile-bars",
        columns: &["attribute", "category", "value", "n", "share_pct"],
        draw: |_, t, k| profile_bars(t, k),
    },
    ChartKind {
        name: "service-gaps",
        columns: crate::gaps::CHART_COLUMNS,
        draw: |_, t, k| crate::gaps::chart(t, k),
    },
];

/// Checks a table's `-- chart:` lines against the kinds and its columns:
/// an unknown kind, or a kind whose columns the table lacks, is an error
/// naming the query file, never a chart silently left out.
pub fn check(table: &Table) -> Result<()> {
    for name in &table.spec.charts {
        let Some(kind) = KINDS.iter().find(|k| k.name == name) else {
            let known: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
            return Err(Error::Usage(format!(
                "{}.sql: `-- chart: {name}` is not a chart kind (known: {})",
                table.spec.name,
                known.join(", ")
            )));
        };
        let missing: Vec<&str> = kind
            .columns
            .iter()
            .copied()
            .filter(|c| table.column(c).is_none())
            .collect();
        // an empty result may come without its columns; nothing is drawn
        if !missing.is_empty() && !table.rows.is_empty() {
            return Err(Error::Usage(format!(
                "{}.sql: `-- chart: {name}` needs the columns {}, which the query does not return",
                table.spec.name,
                missing.join(", ")
            )));
        }
    }
    Ok(())
}

/// The report's charts: for each kind in order, one per table whose header
/// names it.
pub fn draw_all(report: &Report) -> Result<Vec<Chart>> {
    register_font();
    let k = report.context.policy.min_cell;
    let mut charts = Vec::new();
    for kind in KINDS {
        for table in &report.tables {
            if table.spec.charts.iter().any(|c| c == kind.name) {
                charts.push((kind.draw)(report, table, k));
                if kind.name == TREND_KIND && !report.context.trend_types.is_empty() {
                    charts.push(trend_of(table, &report.context.trend_types));
                }
            }
        }
    }
    let selection = selection_label(&report.context);
    for chart in &mut charts {
        // a chart is copied into slides and posts on its own: its title
        // says whose figures, which years
        chart.title = format!("{}: {selection}", chart.title);
        if !report.context.policy.suppression {
            chart.title = format!("NOT FOR PUBLICATION – {}", chart.title);
        }
        render_svg(chart)?;
    }
    Ok(charts)
}

/// The selection as a chart title names it: "MX, 2018–2024".
fn selection_label(context: &super::Context) -> String {
    let countries = match context.countries.len() {
        0 => "all reporting countries".to_string(),
        1..=4 => context.countries.join(", "),
        n => format!("{n} reporting countries"),
    };
    if context.from_year == context.to_year {
        format!("{countries}, {}", context.from_year)
    } else {
        format!("{countries}, {}–{}", context.from_year, context.to_year)
    }
}

/// The chart kind whose table `--type` draws its trend from.
const TREND_KIND: &str = "trend-top-types";

/// The categories `--type` names (a number 1-25, a type's name or an
/// extension code, any case), as the trend table names them; an unknown
/// one, or one without a record in the selection, is refused by name.
pub fn chosen_types(tables: &[Table], wanted: &[String]) -> Result<Vec<String>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let Some(t) = tables
        .iter()
        .find(|t| t.spec.charts.iter().any(|c| c == TREND_KIND))
    else {
        return Err(Error::Usage(
            "--type: the report has no table of shares by type and year to draw a trend from"
                .into(),
        ));
    };
    let fold = |s: &str| s.trim().to_lowercase();
    let mut chosen = Vec::new();
    for value in wanted {
        let v = fold(value);
        let found = t.rows.iter().find_map(|row| {
            let name = cell(t, row, "category").as_text()?;
            let id = t
                .column("type_id")
                .and_then(|i| row[i].as_f64())
                .map(|id| (id as i64).to_string());
            (id.as_deref() == Some(v.as_str())
                || fold(name) == v
                || fold(&crate::publish::profiles::reader_label(name)) == v)
                .then(|| name.to_string())
        });
        match found {
            Some(name) if !chosen.contains(&name) => chosen.push(name),
            Some(_) => {}
            None => {
                return Err(Error::Usage(format!(
                    "--type {value}: no records of this type in the selection, or not a type (a number 1 to 25, a \
                     type's name such as \"Domestic Work\", or an extension category such as forced_marriage)"
                )));
            }
        }
    }
    Ok(chosen)
}

/// The trend of the chosen types, each with its interval band.
fn trend_of(t: &Table, chosen: &[String]) -> Chart {
    let mut chart = trend_series(t, chosen);
    chart.name = "chosen_types_trend".into();
    chart.title = format!(
        "Share of the year's records: {}",
        chosen
            .iter()
            .map(|c| crate::publish::profiles::reader_label(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    chart.caption =
        "The types chosen with --type. Lines: share of all records of the year; bands: 95% Wilson \
                     intervals. Years where a share is withheld are left as gaps."
            .into();
    chart
}

/// Types ordered by their total published count over the period.
fn top_types(t: &Table, section: &str, n: usize) -> Vec<String> {
    let mut totals: BTreeMap<String, f64> = BTreeMap::new();
    for row in &t.rows {
        if cell(t, row, "section").as_text() == Some(section) {
            let name = cell(t, row, "category").as_text().unwrap_or("").to_string();
            *totals.entry(name).or_default() += cell(t, row, "n").as_f64().unwrap_or(0.0);
        }
    }
    let mut ranked: Vec<(String, f64)> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.into_iter().take(n).map(|(name, _)| name).collect()
}

fn years_of(t: &Table) -> Vec<i32> {
    let mut years: Vec<i32> = t
        .rows
        .iter()
        .filter_map(|r| cell(t, r, "year").as_f64())
        .map(|y| y as i32)
        .collect();
    years.sort_unstable();
    years.dedup();
    years
}

fn stacked_types(report: &Report, t: &Table, k: u64) -> Chart {
    let years = years_of(t);
    let top = top_types(t, "typology", 7);
    let mut series: Vec<(String, Vec<f64>)> = top
        .iter()
        .map(|n| (n.clone(), vec![0.0; years.len()]))
        .collect();
    let mut rest = vec![vec![0.0; years.len()]; 3];
    let mut year_totals: Vec<Option<f64>> = vec![None; years.len()];
    for row in &t.rows {
        let year = cell(t, row, "year").as_f64().unwrap_or(0.0) as i32;
        if let Some(yi) = years.iter().position(|y| *y == year) {
            year_totals[yi] = cell(t, row, "denominator").as_f64();
        }
    }
    for row in &t.rows {
        let Some(value) = cell(t, row, "n").as_f64() else {
            continue;
        };
        let year = cell(t, row, "year").as_f64().unwrap_or(0.0) as i32;
        let Some(yi) = years.iter().position(|y| *y == year) else {
            continue;
        };
        let name = cell(t, row, "category").as_text().unwrap_or("");
        match (
            top.iter().position(|n| n == name),
            cell(t, row, "section").as_text().unwrap_or(""),
        ) {
            (Some(i), "typology") => series[i].1[yi] += value,
            (_, "typology") => rest[0][yi] += value,
            (_, "undetermined") => rest[2][yi] += value,
            _ => rest[1][yi] += value,
        }
    }
    let labels = ["other types", "extension categories", "undetermined"];
    for (label, values) in labels.iter().zip(rest) {
        series.push((label.to_string(), values));
    }
    // What the suppressed cells hold together is the published year total
    // less the published cells: no more than a reader can compute.
    let not_published = year_totals
        .iter()
        .enumerate()
        .map(|(i, total)| {
            let drawn: f64 = series.iter().map(|s| s.1[i]).sum();
            total.map_or(0.0, |t| (t - drawn).max(0.0))
        })
        .collect();
    Chart {
        name: "types_by_year".into(),
        title: "Records by typology type and year".into(),
        caption: format!(
            "{}. The seven largest types, the other types together, categories outside the typology, and records \
             whose type could not be determined. Hatched grey: records in counts not published (disclosure \
             control: below {k}, or hidden to protect such a count), drawn together on top of each year.",
            unit_label(report.context.unit)
        ),
        svg: String::new(),
        kind: Kind::Stacked {
            years,
            series,
            not_published,
            y_label: unit_label(report.context.unit).into(),
        },
    }
}

fn trend_top_types(t: &Table) -> Chart {
    trend_series(t, &top_types(t, "typology", 5))
}

/// Trend lines of the named categories' shares by year.
fn trend_series(t: &Table, top: &[String]) -> Chart {
    let years = years_of(t);
    let series = top
        .iter()
        .map(|name| {
            let points = t
                .rows
                .iter()
                .filter(|r| cell(t, r, "category").as_text() == Some(name))
                .filter_map(|r| {
                    Some((
                        cell(t, r, "year").as_f64()? as i32,
                        cell(t, r, "share_pct").as_f64()?,
                        cell(t, r, "ci_low_pct").as_f64()?,
                        cell(t, r, "ci_high_pct").as_f64()?,
                    ))
                })
                .collect();
            (name.clone(), points)
        })
        .collect();
    Chart {
        name: "top_types_trend".into(),
        title: "Share of the year's records, five largest types".into(),
        caption: "Lines: share of all records of the year; bands: 95% Wilson intervals. Years where a share is \
                  withheld are left as gaps."
            .into(),
        svg: String::new(),
        kind: Kind::Trend { years, series },
    }
}

fn control_heatmap(t: &Table, k: u64) -> Chart {
    let mut rows: Vec<String> = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    for row in &t.rows {
        let r = cell(t, row, "category").as_text().unwrap_or("").to_string();
        let c = cell(t, row, "control_method")
            .as_text()
            .unwrap_or("")
            .to_string();
        if !rows.contains(&r) {
            rows.push(r);
        }
        if !columns.contains(&c) {
            columns.push(c);
        }
    }
    let vocab = crate::base::vocab::CONTROL_METHODS;
    columns.sort_by_key(|c| vocab.iter().position(|v| v == c));
    let mut cells = vec![vec![HeatCell::NoRecords; columns.len()]; rows.len()];
    for row in &t.rows {
        let r = rows
            .iter()
            .position(|x| Some(x.as_str()) == cell(t, row, "category").as_text());
        let c = columns
            .iter()
            .position(|x| Some(x.as_str()) == cell(t, row, "control_method").as_text());
        if let (Some(r), Some(c)) = (r, c) {
            cells[r][c] = match cell(t, row, "share_pct").as_f64() {
                Some(v) => HeatCell::Share(v),
                None => HeatCell::NotPublished,
            };
        }
    }
    Chart {
        name: "control_methods_heatmap".into(),
        title: "Methods of control by type".into(),
        caption: format!(
            "Share of records of the type (with control methods recorded) that name the method; a record can name \
             several. Grey cells marked x: not published (disclosure control: a count below {k}, or hidden to protect one). \
             White cells: no record names the method."
        ),
        svg: String::new(),
        kind: Kind::Heatmap {
            rows,
            columns,
            cells,
        },
    }
}

fn profile_bars(t: &Table, k: u64) -> Chart {
    let groups = [
        ("gender", "female", "% female"),
        ("adult/minor", "minor", "% minor"),
        ("citizenship", "foreign national", "% foreign national"),
    ];
    let mut rows: Vec<String> = Vec::new();
    let mut totals: BTreeMap<String, f64> = BTreeMap::new();
    for row in &t.rows {
        // the types and categories, not the records without a type
        if cell(t, row, "attribute").as_text() == Some("gender")
            && t.column("section")
                .is_none_or(|i| row[i].as_text() != Some("undetermined"))
            && cell(t, row, "category").as_text() != Some("not determined")
        {
            let name = cell(t, row, "category").as_text().unwrap_or("").to_string();
            *totals.entry(name).or_default() += cell(t, row, "n").as_f64().unwrap_or(0.0);
        }
    }
    let mut ranked: Vec<(String, f64)> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows.extend(ranked.into_iter().take(10).map(|(n, _)| n));
    let values = rows
        .iter()
        .map(|name| {
            groups
                .iter()
                .map(|(attribute, value, _)| {
                    t.rows
                        .iter()
                        .find(|r| {
                            cell(t, r, "category").as_text() == Some(name)
                                && cell(t, r, "attribute").as_text() == Some(attribute)
                                && cell(t, r, "value").as_text() == Some(value)
                        })
                        .and_then(|r| cell(t, r, "share_pct").as_f64())
                })
                .collect()
        })
        .collect();
    Chart {
        name: "victim_profile".into(),
        title: "Victim profile, ten largest types".into(),
        caption: format!(
            "Share of records of the type where the attribute was recorded. A grey x instead of a bar: not published \
             (disclosure control: a count below {k}, or hidden to protect one) or none recorded."
        ),
        svg: String::new(),
        kind: Kind::Bars {
            rows,
            groups: groups.iter().map(|g| g.2.to_string()).collect(),
            values,
        },
    }
}
