//! The reader's version of the trend table: types down, years across,
//! counts with thousands separators, labels instead of codes. The long
//! table it is made from stays in the report (and its CSV and sheet) for
//! machines; this one is for people.
//!
//! Every cell is a cell of the published long table, after disclosure
//! control (`x` stays `x`); `audit` builds it again from the CSV it reads
//! back and requires the report to show exactly it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::key_figures::thousands;
use super::render::escape;
use super::table::Table;

/// Rows of (section, category) by year.
pub struct WideTable {
    pub years: Vec<String>,
    /// (section, category, cells by year)
    pub rows: Vec<(String, String, Vec<String>)>,
}

/// A published count as a reader reads it: `12,345`, or `x`.
fn shown(cell: &str) -> String {
    match cell.parse::<f64>() {
        Ok(n) => thousands(n),
        Err(_) => cell.to_string(),
    }
}

/// The types-by-year table of the report, wide; None without one.
pub fn types_by_year(tables: &[Table]) -> Option<WideTable> {
    let t = Table::named(tables, "types_by_year")?;
    let mut years: Vec<String> = t.rows.iter().filter_map(|r| t.text(r, "year")).collect();
    years.sort();
    years.dedup();
    // rows in the long table's order (types by number, then the other
    // sections), one per category
    let mut order: Vec<(String, String)> = Vec::new();
    let mut cells: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for r in &t.rows {
        let (Some(section), Some(category), Some(year), Some(n)) = (
            t.text(r, "section"),
            t.text(r, "category"),
            t.text(r, "year"),
            t.text(r, "n"),
        ) else {
            continue;
        };
        if !order.contains(&(section.clone(), category.clone())) {
            order.push((section.clone(), category.clone()));
        }
        cells.insert((section, category, year), shown(&n));
    }
    let rows = order
        .into_iter()
        .map(|(section, category)| {
            let by_year = years
                .iter()
                .map(|y| {
                    cells
                        .get(&(section.clone(), category.clone(), y.clone()))
                        .cloned()
                        .unwrap_or_else(|| "0".into())
                })
                .collect();
            (section, category, by_year)
        })
        .collect();
    Some(WideTable { years, rows })
}

const TITLE: &str = "Records by type and year";
const NOTE: &str = "The trend table below, one column per year: x is not published (disclosure control), never 0. \
                    Counts carry the noise described under Methods.";

/// As HTML: a section of its own, before the long tables.
pub fn html(table: &Option<WideTable>) -> String {
    let Some(t) = table else {
        return String::new();
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<section id=\"reader-tables\">\n<h2>{TITLE}</h2>\n<table class=\"wide\">\n<thead><tr><th>type</th>"
    );
    for y in &t.years {
        let _ = write!(out, "<th>{}</th>", escape(y));
    }
    out += "</tr></thead>\n<tbody>\n";
    let mut section = "";
    for (s, category, cells) in &t.rows {
        if s != section {
            let _ = writeln!(
                out,
                "<tr class=\"section\"><th colspan=\"{}\">{}</th></tr>",
                t.years.len() + 1,
                escape(s)
            );
            section = s;
        }
        let _ = write!(
            out,
            "<tr><td>{}</td>",
            escape(&super::profiles::reader_label(category))
        );
        for c in cells {
            let _ = write!(out, "<td class=\"num\">{}</td>", escape(c));
        }
        out += "</tr>\n";
    }
    let _ = writeln!(
        out,
        "</tbody>\n</table>\n<p class=\"note\">{}</p>\n</section>",
        escape(NOTE)
    );
    out
}

/// As Markdown.
pub fn markdown(table: &Option<WideTable>) -> String {
    use crate::base::escape::markdown_text;
    let Some(t) = table else {
        return String::new();
    };
    let mut out = format!("## {TITLE}\n\n| type |");
    for y in &t.years {
        let _ = write!(out, " {} |", markdown_text(y));
    }
    out += "\n|---|";
    out += &"---:|".repeat(t.years.len());
    out.push('\n');
    for (section, category, cells) in &t.rows {
        let _ = write!(
            out,
            "| {} ({}) |",
            markdown_text(&super::profiles::reader_label(category)),
            markdown_text(section)
        );
        for c in cells {
            let _ = write!(out, " {} |", markdown_text(c));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "\n_{NOTE}_\n");
    out
}
