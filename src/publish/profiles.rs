//! The type profiles: for each typology type (and extension category), its
//! four facets side by side, as the Typology of Modern Slavery presents
//! each type: the trafficker profile, the recruitment, the victim profile
//! and the methods of control.
//!
//! A profile publishes nothing new: every row is a row of one of the
//! report's by-type tables, after their disclosure control, with the same
//! cells (`x` stays `x`). `audit` builds the profiles again from the CSVs
//! it reads back and requires the HTML and the Markdown to show exactly
//! them, charts included, so an edited or mis-rendered profile cannot pass.

use std::fmt::Write as _;

use crate::error::Result;
use crate::publish::charts::{Chart, Kind, render_svg};
use crate::publish::render::escape;
use crate::publish::table::{Cell, Table};

/// Where a facet's rows come from: a by-type table (named without its
/// number), and the column holding the attribute (or a fixed attribute
/// name) and the column holding the value.
pub struct Source {
    pub table: &'static str,
    pub attribute: Attribute,
    pub value: &'static str,
}

pub enum Attribute {
    Column(&'static str),
    Fixed(&'static str),
}

pub struct FacetSpec {
    pub title: &'static str,
    pub sources: &'static [Source],
}

/// The four facets, in the Typology's order.
pub const FACETS: [FacetSpec; 4] = [
    FacetSpec {
        title: "Trafficker profile",
        sources: &[
            Source {
                table: "trafficker_profile_by_type",
                attribute: Attribute::Column("attribute"),
                value: "value",
            },
            Source {
                table: "trafficker_flags_by_type",
                attribute: Attribute::Column("attribute"),
                value: "value",
            },
        ],
    },
    FacetSpec {
        title: "Recruitment",
        sources: &[
            Source {
                table: "recruitment_by_type",
                attribute: Attribute::Fixed("tactic"),
                value: "recruitment_tactic",
            },
            Source {
                table: "recruiter_relation_by_type",
                attribute: Attribute::Fixed("recruiter"),
                value: "recruiter_relation",
            },
        ],
    },
    FacetSpec {
        title: "Victim profile",
        sources: &[Source {
            table: "profile_by_type",
            attribute: Attribute::Column("attribute"),
            value: "value",
        }],
    },
    FacetSpec {
        title: "Methods of control",
        sources: &[Source {
            table: "control_methods_by_type",
            attribute: Attribute::Fixed("method"),
            value: "control_method",
        }],
    },
];

/// One row of a facet: attribute, value, count and share, as published.
#[derive(Debug, Clone, PartialEq)]
pub struct FacetRow {
    pub attribute: String,
    pub value: String,
    pub n: Cell,
    pub share_pct: Cell,
}

pub struct Facet {
    pub title: &'static str,
    /// The numbered name of the table the rows come from (the first source
    /// that has rows), for the reader and for `audit`.
    pub sources: Vec<String>,
    pub rows: Vec<FacetRow>,
    pub chart_svg: String,
}

pub struct TypeProfile {
    pub category: String,
    pub type_id: Option<i64>,
    pub facets: Vec<Facet>,
}

/// A cell's text, None when the column is missing or the cell empty.
fn text(table: &Table, row: &[Cell], column: &str) -> Option<String> {
    table.text(row, column).filter(|t| !t.is_empty())
}

/// A code as a reader reads it: `friend_acquaintance` → "friend or
/// acquaintance", `sex_and_labor` → "sex and labour". The long tables keep
/// the codes, for machines and for joining.
pub fn reader_label(code: &str) -> String {
    match code {
        "friend_acquaintance" => "friend or acquaintance".into(),
        "sex_and_labor" => "sex and labour".into(),
        "labor" => "labour".into(),
        "other_labour" => "other labour".into(),
        "mining_or_drilling" => "mining or drilling".into(),
        "threat_of_law_enforcement" => "threats of law enforcement".into(),
        other => other.replace('_', " "),
    }
}

/// The rows a source gives for one category.
fn source_rows(table: &Table, source: &Source, category: &str) -> Vec<FacetRow> {
    let (Some(n), Some(share)) = (table.column("n"), table.column("share_pct")) else {
        return Vec::new();
    };
    table
        .rows
        .iter()
        .filter(|row| text(table, row, "category").as_deref() == Some(category))
        .filter_map(|row| {
            let attribute = match source.attribute {
                Attribute::Column(c) => text(table, row, c)?,
                Attribute::Fixed(a) => a.to_string(),
            };
            Some(FacetRow {
                attribute,
                value: reader_label(&text(table, row, source.value)?),
                n: row[n].clone(),
                share_pct: row[share].clone(),
            })
        })
        .collect()
}

/// The profiles of every type and extension category the by-type tables
/// publish, in the order of the types (then the extension categories); the
/// undetermined records have no type and no profile.
pub fn build(tables: &[Table]) -> Result<Vec<TypeProfile>> {
    let mut categories: Vec<(Option<i64>, String)> = Vec::new();
    for facet in &FACETS {
        for source in facet.sources {
            let Some(table) = Table::named(tables, source.table) else {
                continue;
            };
            for row in &table.rows {
                let Some(category) = text(table, row, "category") else {
                    continue;
                };
                let type_id = table
                    .column("type_id")
                    .and_then(|i| row[i].number())
                    .map(|n| n as i64);
                if category != "not determined" && !categories.iter().any(|(_, c)| *c == category) {
                    categories.push((type_id, category));
                }
            }
        }
    }
    categories.sort_by(|a, b| (a.0.is_none(), a.0, &a.1).cmp(&(b.0.is_none(), b.0, &b.1)));
    let mut profiles = Vec::new();
    for (type_id, category) in categories {
        let mut facets = Vec::new();
        for spec in &FACETS {
            let mut rows = Vec::new();
            let mut sources = Vec::new();
            for source in spec.sources {
                if let Some(table) = Table::named(tables, source.table) {
                    let found = source_rows(table, source, &category);
                    if !found.is_empty() {
                        sources.push(table.spec.name.clone());
                    }
                    rows.extend(found);
                }
            }
            let chart_svg = facet_chart(&category, spec.title, &rows)?;
            facets.push(Facet {
                title: spec.title,
                sources,
                rows,
                chart_svg,
            });
        }
        profiles.push(TypeProfile {
            category,
            type_id,
            facets,
        });
    }
    Ok(profiles)
}

/// Horizontal bars of the facet's shares; a figure not published is drawn
/// as a grey x, never as zero. No chart for a facet with no rows.
fn facet_chart(category: &str, title: &str, rows: &[FacetRow]) -> Result<String> {
    if rows.is_empty() {
        return Ok(String::new());
    }
    let mut chart = Chart {
        name: String::new(),
        title: format!("{category}: {title}"),
        caption: String::new(),
        svg: String::new(),
        kind: Kind::Bars {
            rows: rows
                .iter()
                .map(|r| format!("{}: {}", r.attribute, r.value))
                .collect(),
            groups: vec!["% of records with the attribute recorded".into()],
            values: rows.iter().map(|r| vec![r.share_pct.number()]).collect(),
        },
    };
    render_svg(&mut chart)?;
    Ok(chart.svg)
}

fn anchor(category: &str) -> String {
    let slug: String = category
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("profile-{slug}")
}

fn heading(profile: &TypeProfile) -> String {
    heading_of(profile.type_id, &profile.category)
}

/// The profiles as HTML: one section per type, the four facets side by
/// side (two by two on a page), each a chart and its table.
pub fn html(profiles: &[TypeProfile]) -> String {
    let mut out = String::new();
    if profiles.is_empty() {
        return out;
    }
    out += "<h2 id=\"profiles\">Type profiles</h2>\n<p>Each type's four facets, as the Typology of Modern \
            Slavery describes every type: who the traffickers are, how victims were recruited, who the victims \
            are, and how they were controlled. Every figure is a row of the by-type tables below, with the same \
            disclosure control.</p>\n";
    for profile in profiles {
        let _ = writeln!(
            out,
            "<section class=\"profile\" id=\"{}\">\n<h3>{}</h3>\n<div class=\"facets\">",
            anchor(&profile.category),
            escape(&heading(profile))
        );
        for facet in &profile.facets {
            let _ = writeln!(
                out,
                "<div class=\"facet\">\n<h4>{}</h4>",
                escape(facet.title)
            );
            if facet.rows.is_empty() {
                out += "<p class=\"note\">No data: nothing recorded for this type.</p>\n</div>\n";
                continue;
            }
            let svg = facet.chart_svg.trim_start_matches(|c| c != '<');
            let svg = svg
                .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
                .unwrap_or(svg);
            out += svg.trim();
            out += "\n";
            let _ = writeln!(
                out,
                "<table class=\"profile\" data-category=\"{}\" data-sources=\"{}\">\n<thead><tr><th>attribute</th><th>value</th><th>n</th><th>share_pct</th></tr></thead>\n<tbody>",
                escape(&profile.category),
                escape(&facet.sources.join(" "))
            );
            for row in &facet.rows {
                out += &html_row(row);
                out.push('\n');
            }
            let _ = writeln!(
                out,
                "</tbody>\n</table>\n<p class=\"note\">From {}.</p>\n</div>",
                escape(&facet.sources.join(", "))
            );
        }
        out += "</div>\n</section>\n";
    }
    out
}

/// The line under a facet's Markdown table naming its tables.
const FROM: &str = "_From ";

/// A facet row as the Markdown shows it.
fn markdown_row(row: &FacetRow) -> String {
    use crate::base::escape::markdown_text;
    format!(
        "| {} | {} | {} | {} |",
        markdown_text(&row.attribute),
        markdown_text(&row.value),
        markdown_text(&row.n.render()),
        markdown_text(&row.share_pct.render())
    )
}

/// A facet row as the HTML shows it.
fn html_row(row: &FacetRow) -> String {
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(&row.attribute),
        escape(&row.value),
        escape(&row.n.render()),
        escape(&row.share_pct.render())
    )
}

/// The heading of a type's profile, and the category it names.
fn heading_of(type_id: Option<i64>, category: &str) -> String {
    match type_id {
        Some(id) => format!("Type {id}: {category}"),
        None => format!("Outside the 25 types: {}", reader_label(category)),
    }
}

/// The profiles as Markdown: a heading per type, a table per facet.
pub fn markdown(profiles: &[TypeProfile]) -> String {
    use crate::base::escape::markdown_text;
    let mut out = String::new();
    if profiles.is_empty() {
        return out;
    }
    out += "## Type profiles\n\n";
    for profile in profiles {
        let _ = writeln!(out, "### {}\n", markdown_text(&heading(profile)));
        for facet in &profile.facets {
            let _ = writeln!(out, "#### {}\n", facet.title);
            if facet.rows.is_empty() {
                out += "No data: nothing recorded for this type.\n\n";
                continue;
            }
            out += "| attribute | value | n | share_pct |\n|---|---|---|---|\n";
            for row in &facet.rows {
                out += &markdown_row(row);
                out.push('\n');
            }
            let _ = writeln!(out, "\n{FROM}{}._\n", facet.sources.join(", "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_read_as_words() {
        assert_eq!(
            super::reader_label("friend_acquaintance"),
            "friend or acquaintance"
        );
        assert_eq!(super::reader_label("debt_bondage"), "debt bondage");
        assert_eq!(super::reader_label("Americas"), "Americas");
    }
}
