//! A section for each reporting country of a report: its records over the
//! period and its largest types with their shares and intervals, read from
//! the published table of records by reporting country and type (after
//! disclosure control, so a figure that is `x` there is `x` here).
//! `audit` builds the sections again from the CSV and requires the report
//! to show exactly them.

use std::fmt::Write as _;

use super::key_figures::thousands;
use super::profiles::reader_label;
use super::render::escape;
use super::table::{SUPPRESSED, Table};

/// The table the sections are drawn from.
const TABLE: &str = "types_by_reporting_country";
/// Types shown per country.
const LARGEST: usize = 5;

/// One reporting country's section.
#[derive(Debug, Clone, PartialEq)]
pub struct CountrySection {
    pub country: String,
    /// The country's records over the period, as published (`x` when not).
    pub records: String,
    /// (type, records, share and interval as published)
    pub largest: Vec<(String, String, String)>,
    /// Types and categories with records whose count is not published.
    pub not_published: usize,
}

/// The sections of the report's tables: none when the table is missing or
/// the report covers one country only (its key figures say it all).
pub fn build(tables: &[Table]) -> Vec<CountrySection> {
    let Some(t) = Table::named(tables, TABLE) else {
        return Vec::new();
    };
    let mut countries: Vec<String> = Vec::new();
    for row in &t.rows {
        if let Some(c) = t.text(row, "reporting_country")
            && !countries.contains(&c)
        {
            countries.push(c);
        }
    }
    if countries.len() < 2 {
        return Vec::new();
    }
    countries
        .into_iter()
        .map(|country| {
            let rows: Vec<&Vec<_>> = t
                .rows
                .iter()
                .filter(|r| t.text(r, "reporting_country").as_deref() == Some(&country))
                .collect();
            let records = rows
                .first()
                .and_then(|r| t.text(r, "denominator"))
                .map_or_else(String::new, |d| shown_count(&d));
            let mut ranked: Vec<(f64, String, String, String)> = rows
                .iter()
                .filter(|r| t.text(r, "section").as_deref() == Some("typology"))
                .filter_map(|r| {
                    let n = r[t.column("n")?].number()?;
                    let share = match (
                        t.text(r, "share_pct"),
                        t.text(r, "ci_low_pct"),
                        t.text(r, "ci_high_pct"),
                    ) {
                        (Some(s), Some(lo), Some(hi)) if s.parse::<f64>().is_ok() => {
                            format!("{s}% ({lo}–{hi})")
                        }
                        _ => "not published".into(),
                    };
                    Some((n, t.text(r, "category")?, thousands(n), share))
                })
                .collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let not_published = rows
                .iter()
                .filter(|r| t.text(r, "n").as_deref() == Some(SUPPRESSED))
                .count();
            CountrySection {
                // "Canada (CA)": the code is what the tables hold
                country: match crate::base::places::name_of(&country) {
                    Some(name) => format!("{name} ({country})"),
                    None => country,
                },
                records,
                largest: ranked
                    .into_iter()
                    .take(LARGEST)
                    .map(|(_, category, n, share)| (reader_label(&category), n, share))
                    .collect(),
                not_published,
            }
        })
        .collect()
}

fn shown_count(text: &str) -> String {
    text.parse::<f64>()
        .map_or_else(|_| text.to_string(), thousands)
}

fn note(s: &CountrySection) -> String {
    let mut note = format!(
        "Records of the period: {}. Share of the country's records, with its 95% Wilson interval.",
        s.records
    );
    if s.not_published > 0 {
        let _ = write!(
            note,
            " {} types or categories have records in counts not published (disclosure control).",
            s.not_published
        );
    }
    note
}

/// The sections as HTML, under one heading.
pub fn html(sections: &[CountrySection]) -> String {
    let mut out = String::new();
    if sections.is_empty() {
        return out;
    }
    out += "<section id=\"countries\">\n<h2>By reporting country</h2>\n";
    for s in sections {
        let _ = writeln!(
            out,
            "<h3>{}</h3>\n<p class=\"note\">{}</p>\n<table>\n<thead><tr><th>largest types</th><th>records</th><th>share</th></tr></thead>\n<tbody>",
            escape(&s.country),
            escape(&note(s))
        );
        for (category, n, share) in &s.largest {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(category),
                escape(n),
                escape(share)
            );
        }
        out += "</tbody>\n</table>\n";
    }
    out += "</section>\n";
    out
}

/// The sections as Markdown.
pub fn markdown(sections: &[CountrySection]) -> String {
    use crate::base::escape::markdown_text;
    let mut out = String::new();
    if sections.is_empty() {
        return out;
    }
    out += "## By reporting country\n\n";
    for s in sections {
        let _ = writeln!(
            out,
            "### {}\n\n_{}_\n\n| largest types | records | share |\n|---|---|---|",
            markdown_text(&s.country),
            markdown_text(&note(s))
        );
        for (category, n, share) in &s.largest {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                markdown_text(category),
                markdown_text(n),
                markdown_text(share)
            );
        }
        out.push('\n');
    }
    out
}
