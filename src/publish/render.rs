//! Renderers of a report: CSV per table, one XLSX workbook, Markdown and a
//! self-contained HTML page. No timestamps and no absolute paths, so the same
//! report gives the same bytes.
//!
//! Every value from data is escaped for where it goes (`base::escape`): text
//! cells of CSV files are neutralised when a spreadsheet would read them as
//! a formula, and stored as strings with Excel's quote prefix in the
//! workbook; table cells and the values in a document's texts ([`Text`])
//! are escaped for Markdown and for HTML. The tool's own prose is written as
//! it is.

use std::fmt::Write as _;
use std::path::Path;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

use super::Policy;
use super::charts::Chart;
use super::table::{Cell, SUPPRESSED, Table};
use crate::base::escape::{csv_cell, formula_like, html_text, markdown_text};
use crate::error::{Error, Result};

/// Stamped on every output written without disclosure control.
pub const NOT_FOR_PUBLICATION: &str = "NOT FOR PUBLICATION: written with --no-suppression for internal work; \
     small counts are shown and no disclosure control was applied.";

/// Writes a table as CSV. Without disclosure control the first line is the
/// NOT FOR PUBLICATION stamp (as a `#` comment line, which `pandas` and
/// `read.csv` can skip with `comment = "#"`, and a spreadsheet shows first).
pub fn write_csv(table: &Table, policy: Policy, path: &Path) -> Result<()> {
    let mut file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    if !policy.suppression {
        use std::io::Write as _;
        writeln!(file, "# {NOT_FOR_PUBLICATION}").map_err(|e| Error::io(path, e))?;
    }
    let mut w = csv::Writer::from_writer(file);
    let fail = |e: csv::Error| Error::store(path, e.to_string());
    w.write_record(table.columns.iter().map(|c| csv_cell(c).into_owned()))
        .map_err(fail)?;
    for row in &table.rows {
        w.write_record(row.iter().map(csv_text)).map_err(fail)?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

/// A cell as the CSV holds it: numbers stay numbers (`-1.5`); only text
/// can be a formula, and is neutralised.
pub(crate) fn csv_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => csv_cell(t).into_owned(),
        other => other.render(),
    }
}

/// Excel sheet names: at most 31 characters, unique.
pub(crate) fn sheet_name(name: &str) -> String {
    name.chars().take(31).collect()
}

/// The sheet row (0-based) of a table's first data row: title, stamp row,
/// header above it.
pub(crate) const XLSX_FIRST_ROW: u32 = 3;

/// What a column of the shipped tables holds, for the workbook's README
/// sheet; None for a column of a user's table, whose notes say.
pub(crate) fn column_meaning(name: &str) -> Option<&'static str> {
    Some(match name {
        "n" => "the count of the row (records or cases, see the unit); x when not published",
        "denominator" => "the count the share is taken of (see the table's note)",
        "share_pct" => "n as a percentage of denominator",
        "ci_low_pct" | "ci_high_pct" => "95% Wilson score interval of share_pct, low and high end",
        "prev_n" => "the count of the previous year",
        "change_pct" => "change from prev_n to n, in percent",
        "year" => "year of registration",
        "section" => "typology type, extension category (outside the 25 types) or undetermined",
        "type_id" => "number of the type in the Typology of Modern Slavery (1-25)",
        "category" => "typology type, extension category, or not determined",
        "type_records" => "all records of the type",
        "attribute" => "what is counted (gender, role, relation to victim, ...)",
        "value" => "the attribute's value",
        "trafficking_form" => {
            "form of trafficking: sex, labor, sex_and_labor, other, not_specified"
        }
        "recruitment_tactic" => "how the victim was recruited",
        "recruiter_relation" => "the recruiter's relation to the victim",
        "control_method" => "a method of control the exploiters used",
        "reporting_country" => "country of the reporting organisation (ISO 3166-1 alpha-2)",
        "exploitation_region" => "UN M49 region of the place of exploitation",
        "exploitation_country" => {
            "country of exploitation (ISO 3166-1 alpha-2); empty on a region's total"
        }
        "citizenship" => "the victim's citizenship",
        "rate_per_100k" => "detected records per 100,000 population",
        "population" | "population_year" => "population figure used for the rate, and its year",
        "reason" => "why a record has no type, or why it is left out",
        "statistic" => "Pearson chi-square statistic",
        "df" => "degrees of freedom",
        "p_value" => "p-value of the chi-square test",
        "cramers_v" => "Cramér's V: strength of the difference, 0 to 1",
        "reading" => "what the test says, in words",
        "source" => "who published the reference figure",
        "reference_count" => "the published figure",
        "reference_share_pct" => "the published figure as a share of the source's total",
        "total" | "total_low" | "total_high" => {
            "regional total and the range the published counts allow"
        }
        "p_holm" => "p-value adjusted with Holm's method for the tests of the table",
        "verdict" => "what the test says, in words",
        "country" => "reporting country",
        "reference" => "the reference country (the first named)",
        "trend_pct_per_year" | "reference_trend_pct_per_year" => {
            "change of the odds of the type per year, in percent (logistic regression on the year)"
        }
        "years_not_published" | "reference_years_not_published" => {
            "years left out of the trend because a count or total there is not published"
        }
        // a comparison's columns per country (`n_MX`) and per pair
        // (`diff_pp_US_vs_MX`)
        other => {
            return [
                (
                    "n_",
                    "the country's count (records or cases); x when not published",
                ),
                (
                    "share_pct_",
                    "the country's share of all its records of the period",
                ),
                (
                    "ci_low_pct_",
                    "95% Wilson interval of the country's share, low end",
                ),
                (
                    "ci_high_pct_",
                    "95% Wilson interval of the country's share, high end",
                ),
                (
                    "diff_pp_",
                    "the first country's share less the reference's, in percentage points",
                ),
                (
                    "diff_ci_low_pp_",
                    "95% Newcombe interval of the difference, low end",
                ),
                (
                    "diff_ci_high_pp_",
                    "95% Newcombe interval of the difference, high end",
                ),
                (
                    "p_holm_",
                    "two-proportion test of the difference, Holm-adjusted over the table",
                ),
            ]
            .into_iter()
            .find(|(prefix, _)| other.starts_with(prefix))
            .map(|(_, meaning)| meaning);
        }
    })
}

/// Text that is a plain decimal number (`0.123`, `-4`), with its number of
/// decimals: written to the workbook as a number, shown at that precision.
fn plain_number(text: &str) -> Option<(f64, usize)> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, decimals) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && decimals.bytes().all(|b| b.is_ascii_digit());
    plain
        .then(|| text.parse().ok().map(|v| (v, decimals.len())))
        .flatten()
}

/// One workbook: a README sheet (each table, each column, the unit and the
/// symbol), a sheet per table with its title, notes and footnotes (frozen
/// header, filters, widths, numbers as numbers), and a Methods sheet.
pub fn write_xlsx(doc: &Document, path: &Path) -> Result<()> {
    let (tables, policy) = (doc.tables, doc.policy);
    let fail = |e: rust_xlsxwriter::XlsxError| Error::store(path, e.to_string());
    let mut workbook = Workbook::new();
    // a fixed creation time: the workbook must not change between runs
    let created = ExcelDateTime::from_ymd(2000, 1, 1).map_err(fail)?;
    workbook.set_properties(
        &DocProperties::new()
            .set_title(if policy.suppression {
                "safetynet report"
            } else {
                NOT_FOR_PUBLICATION
            })
            .set_author("safetynet")
            .set_creation_datetime(&created),
    );
    let bold = Format::new().set_bold();
    // text Excel would take for a formula if someone edited the cell: the
    // quote prefix keeps it text, as typing `'=...` does
    let text = Format::new().set_quote_prefix();
    let italic = Format::new().set_italic();
    let wrap = Format::new().set_text_wrap();
    let stamp = Format::new()
        .set_bold()
        .set_font_color(rust_xlsxwriter::Color::RGB(0xC00000));

    let readme = workbook.add_worksheet();
    readme.set_name("README").map_err(fail)?;
    readme
        .write_string_with_format(0, 0, doc.title, &bold)
        .map_err(fail)?;
    let mut line = 1;
    if !policy.suppression {
        readme
            .write_string_with_format(line, 0, NOT_FOR_PUBLICATION, &stamp)
            .map_err(fail)?;
        line += 1;
    }
    for note in [
        doc.scope.plain(),
        format!(
            "{SUPPRESSED}: not published (disclosure control): a count below {} or one hidden so that such a count \
             cannot be worked out, or a figure computed from such a count. Never 0.",
            policy.min_cell
        ),
        "One sheet per table, in the order of the report; the Methods sheet says how the figures were made.".into(),
    ] {
        readme.write_string(line, 0, &note).map_err(fail)?;
        line += 1;
    }
    line += 1;
    for (c, head) in ["sheet", "table", "column", "what it holds"]
        .iter()
        .enumerate()
    {
        readme
            .write_string_with_format(line, c as u16, *head, &bold)
            .map_err(fail)?;
    }
    readme.set_freeze_panes(line + 1, 0).map_err(fail)?;
    for table in tables {
        for column in &table.columns {
            line += 1;
            readme
                .write_string(line, 0, sheet_name(&table.spec.name))
                .map_err(fail)?;
            readme
                .write_string(line, 1, &table.spec.title)
                .map_err(fail)?;
            readme.write_string(line, 2, column).map_err(fail)?;
            readme
                .write_string(
                    line,
                    3,
                    column_meaning(column).unwrap_or("see the notes under the table"),
                )
                .map_err(fail)?;
        }
    }
    for (c, width) in [(0u16, 28.0), (1, 50.0), (2, 22.0), (3, 80.0)] {
        readme.set_column_width(c, width).map_err(fail)?;
    }

    for table in tables {
        let sheet = workbook.add_worksheet();
        sheet.set_name(sheet_name(&table.spec.name)).map_err(fail)?;
        sheet
            .write_string_with_format(0, 0, &table.spec.title, &bold)
            .map_err(fail)?;
        if !policy.suppression {
            sheet
                .write_string_with_format(1, 0, NOT_FOR_PUBLICATION, &stamp)
                .map_err(fail)?;
        }
        let mut widths: Vec<usize> = table.columns.iter().map(|c| c.chars().count()).collect();
        for (c, name) in table.columns.iter().enumerate() {
            sheet
                .write_string_with_format(2, c as u16, name, &bold)
                .map_err(fail)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = r as u32 + XLSX_FIRST_ROW;
            for (c, cell) in row.iter().enumerate() {
                widths[c] = widths[c].max(cell.render().chars().count());
                let c = c as u16;
                match cell {
                    Cell::Int(n) => sheet.write_number(r, c, *n as f64).map(|_| ()),
                    Cell::Float(f) => sheet.write_number(r, c, *f).map(|_| ()),
                    Cell::Null => Ok(()),
                    Cell::Text(t) if formula_like(t) => {
                        sheet.write_string_with_format(r, c, t, &text).map(|_| ())
                    }
                    // a figure computed as text at its precision (a p-value)
                    Cell::Text(t) => match plain_number(t) {
                        Some((value, decimals)) => {
                            let shown = if decimals == 0 {
                                "0".to_string()
                            } else {
                                format!("0.{}", "0".repeat(decimals))
                            };
                            sheet
                                .write_number_with_format(
                                    r,
                                    c,
                                    value,
                                    &Format::new().set_num_format(&shown),
                                )
                                .map(|_| ())
                        }
                        None => sheet.write_string(r, c, t).map(|_| ()),
                    },
                    other => sheet.write_string(r, c, other.render()).map(|_| ()),
                }
                .map_err(fail)?;
            }
        }
        for (c, width) in widths.iter().enumerate() {
            sheet
                .set_column_width(c as u16, (*width).clamp(6, 60) as f64 + 2.0)
                .map_err(fail)?;
        }
        sheet.set_freeze_panes(XLSX_FIRST_ROW, 0).map_err(fail)?;
        if !table.rows.is_empty() && !table.columns.is_empty() {
            sheet
                .autofilter(
                    XLSX_FIRST_ROW - 1,
                    0,
                    XLSX_FIRST_ROW - 1 + table.rows.len() as u32,
                    table.columns.len() as u16 - 1,
                )
                .map_err(fail)?;
        }
        let first_line = table.rows.len() as u32 + 4;
        for (line, note) in (first_line..).zip(footnotes(table, policy)) {
            sheet
                .write_string_with_format(line, 0, &note, &italic)
                .map_err(fail)?;
        }
    }

    let methods = workbook.add_worksheet();
    methods.set_name("Methods").map_err(fail)?;
    methods.set_column_width(0, 120.0).map_err(fail)?;
    methods
        .write_string_with_format(0, 0, "Methods", &bold)
        .map_err(fail)?;
    if !policy.suppression {
        methods
            .write_string_with_format(1, 0, NOT_FOR_PUBLICATION, &stamp)
            .map_err(fail)?;
    }
    let mut line = 3;
    for (title, body) in &doc.sections {
        methods
            .write_string_with_format(line, 0, title, &bold)
            .map_err(fail)?;
        methods
            .write_string_with_format(line + 1, 0, body.plain(), &wrap)
            .map_err(fail)?;
        line += 3;
    }
    workbook.save(path).map_err(fail)
}

/// The notes printed under a table: its own, and the symbol when used.
pub(crate) fn footnotes(table: &Table, policy: Policy) -> Vec<String> {
    let mut notes = table.spec.notes.clone();
    let any = |wanted: &Cell| table.rows.iter().flatten().any(|c| c == wanted);
    let counts = format!(
        "a count below {} or one hidden so that such a count cannot be worked out from the totals (never 0)",
        policy.min_cell
    );
    let derived = "a figure computed from such a count";
    let what = match (any(&Cell::Suppressed), any(&Cell::Withheld)) {
        (true, true) => Some(format!("{counts}, or {derived}")),
        (true, false) => Some(counts),
        (false, true) => Some(derived.to_string()),
        (false, false) => None,
    };
    if let Some(what) = what {
        // suppressed counts and withheld figures share one symbol
        notes.push(format!(
            "{SUPPRESSED}: not published (disclosure control): {what}."
        ));
    }
    notes
}

pub(crate) fn markdown_table(table: &Table) -> String {
    let mut out = String::new();
    let columns: Vec<_> = table.columns.iter().map(|c| markdown_text(c)).collect();
    let _ = writeln!(out, "| {} |", columns.join(" | "));
    let _ = writeln!(
        out,
        "|{}|",
        table
            .columns
            .iter()
            .map(|_| "---")
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in &table.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| markdown_text(&c.render()).into_owned())
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// A text of a document: the tool's own prose (where backticks mark code)
/// and values from data (input names, countries, versions), which each
/// renderer escapes for its format, so that a value cannot become markup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Text(Vec<Part>);

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Prose(String),
    Value(String),
}

impl Text {
    /// The tool's own words: written as they are.
    pub fn prose(text: impl Into<String>) -> Self {
        Text(vec![Part::Prose(text.into())])
    }

    /// Appends more prose.
    pub fn and(mut self, text: impl Into<String>) -> Self {
        self.0.push(Part::Prose(text.into()));
        self
    }

    /// Appends a value from data: escaped wherever it is written.
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.0.push(Part::Value(value.into()));
        self
    }

    /// Appends values from data, each escaped, joined by `separator`.
    pub fn values(mut self, values: &[String], separator: &str) -> Self {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.0.push(Part::Prose(separator.to_string()));
            }
            self.0.push(Part::Value(v.clone()));
        }
        self
    }

    /// As plain text (a workbook cell): prose without its code marks,
    /// values as they are (a cell is text, never markup).
    pub fn plain(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Part::Prose(t) => t.replace('`', ""),
                Part::Value(v) => v.clone(),
            })
            .collect()
    }

    pub fn markdown(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Part::Prose(t) => t.clone(),
                Part::Value(v) => markdown_text(v).into_owned(),
            })
            .collect()
    }

    pub fn html(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Part::Prose(t) => code_spans(t),
                Part::Value(v) => html_text(v).into_owned(),
            })
            .collect()
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text::prose(text)
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Text::prose(text)
    }
}

/// What the Markdown and HTML renderers need: the report of `report` and the
/// comparison of `compare` are both one.
pub struct Document<'a> {
    pub title: &'a str,
    /// The organisation's logo as a checked `data:` URI (PNG or JPEG).
    pub logo: Option<String>,
    pub scope: Text,
    pub caveat: &'a str,
    pub policy: Policy,
    pub charts: &'a [Chart],
    pub tables: &'a [Table],
    pub sections: Vec<(String, Text)>,
    /// Sections drawn from the tables (the report's type profiles), as
    /// HTML and as Markdown; empty when the document has none.
    pub profiles: (String, String),
    /// The key figures the document opens with (HTML, Markdown); empty
    /// when it has none.
    pub key_figures: (String, String),
    /// Tables for people, drawn from the long ones (HTML, Markdown).
    pub reader_tables: (String, String),
}

pub fn markdown_document(doc: &Document) -> String {
    let mut out = String::new();
    if !doc.policy.suppression {
        let _ = writeln!(out, "**{NOT_FOR_PUBLICATION}**\n");
    }
    let _ = writeln!(out, "# {}\n", doc.title);
    let _ = writeln!(out, "{}\n", doc.scope.markdown());
    let _ = writeln!(out, "> {}\n", doc.caveat);
    out += &doc.key_figures.1;
    out += &doc.reader_tables.1;
    let _ = writeln!(out, "## Charts\n");
    for chart in doc.charts {
        // a title can name the selection (countries of other
        // organisations' bundles): data, escaped
        let title = markdown_text(&chart.title);
        let _ = writeln!(
            out,
            "### {title}\n\n![{title}](charts/{}.svg)\n\n{}\n",
            chart.name, chart.caption
        );
    }
    out += &doc.profiles.1;
    let _ = writeln!(out, "## Tables\n");
    for table in doc.tables {
        let _ = writeln!(out, "### {}\n", table.spec.title);
        let _ = writeln!(out, "File: `tables/{}.csv`\n", table.spec.name);
        out += &markdown_table(table);
        for note in footnotes(table, doc.policy) {
            let _ = writeln!(out, "\n_{note}_");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Methods\n");
    for (title, text) in &doc.sections {
        let _ = writeln!(out, "### {title}\n\n{}\n", text.markdown());
    }
    out
}

pub(crate) fn escape(text: &str) -> String {
    html_text(text).into_owned()
}

/// Inline code spans of the methods text, for HTML.
fn code_spans(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

pub(crate) const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}th,td{border:1px solid #ccc;padding:2px 6px}\
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}td.sup{text-align:right;background:#eee;color:#555}\
.note{font-size:0.85em;color:#444;font-style:italic;margin:0.2em 0}figure{margin:1.5em 0}figcaption{font-size:0.9em;color:#444}\
.caveat{border-left:4px solid #0072B2;padding:0.3em 0.8em;background:#f3f8fc}details{margin:0.4em 0 1.4em}\
svg{max-width:100%;height:auto}\
table.key-figures th{text-align:left;background:none}tr.section th{text-align:left;background:#e6eef5}\
table.key-figures td{font-size:1.1em}\
.facets{display:grid;grid-template-columns:1fr 1fr;gap:0.5em 1.5em}.facet h4{margin:0.6em 0 0.2em}\
.print-only{display:none}img.logo{max-height:80px;max-width:240px;float:right;margin-left:1em}\
@page{size:A4;margin:16mm 14mm}\
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt}section.profile,#reader-tables,#countries,#charts,#methods{break-before:page}\
.facet svg{max-height:42mm}.facet table{font-size:8pt}figure svg{max-height:120mm}\
.facet,table,figure,tr{break-inside:avoid}h2,h3,h4{break-after:avoid}.print-only{display:block}section.appendix{display:none}\
a{color:inherit;text-decoration:none}}.stamp{border:3px solid #C00000;color:#C00000;font-weight:bold;padding:0.5em}";

/// The document as one self-contained HTML page; `workbook` is the name
/// of the workbook written beside it, which the tables refer to.
pub fn html_document(doc: &Document, workbook: &str) -> String {
    let policy = doc.policy;
    let mut out = String::new();
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    let _ = writeln!(out, "<title>{}</title>", escape(doc.title));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    if !policy.suppression {
        let _ = writeln!(
            out,
            "<p class=\"stamp\">{}</p>",
            escape(NOT_FOR_PUBLICATION)
        );
    }
    if let Some(logo) = &doc.logo {
        // a data: URI of a PNG or JPEG checked by its signature
        let _ = writeln!(
            out,
            "<img class=\"logo\" alt=\"logo\" src=\"{}\">",
            escape(logo)
        );
    }
    let _ = writeln!(out, "<h1>{}</h1>", escape(doc.title));
    let _ = writeln!(out, "<p>{}</p>", doc.scope.html());
    let _ = writeln!(out, "<p class=\"caveat\">{}</p>", escape(doc.caveat));
    out += &doc.key_figures.0;
    out += &doc.reader_tables.0;
    out += "<h2>Contents</h2>\n<ul>\n<li><a href=\"#charts\">Charts</a></li>\n";
    for table in doc.tables {
        let _ = writeln!(
            out,
            "<li><a href=\"#{}\">{}</a></li>",
            table.spec.name,
            escape(&table.spec.title)
        );
    }
    out += "<li><a href=\"#methods\">Methods</a></li>\n</ul>\n";
    if !doc.profiles.0.is_empty() {
        out = out.replacen(
            "<li><a href=\"#charts\">Charts</a></li>\n",
            "<li><a href=\"#charts\">Charts</a></li>\n<li><a href=\"#profiles\">Type profiles</a></li>\n",
            1,
        );
    }
    out += "<h2 id=\"charts\">Charts</h2>\n";
    for chart in doc.charts {
        // the SVG is inlined so that the page is one self-contained file
        let svg = chart.svg.trim_start_matches(|c| c != '<');
        let svg = svg
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .unwrap_or(svg);
        let _ = writeln!(
            out,
            "<figure role=\"img\" aria-label=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>",
            escape(&chart.title),
            svg.trim(),
            escape(&chart.caption)
        );
    }
    out += &doc.profiles.0;
    // A report's long machine tables are its data appendix: on screen they
    // are here, in print the reader's tables stand for them (a document,
    // not 150 pages of rows). A comparison's or the gaps' tables are
    // what they publish, and are printed.
    let appendix = !doc.reader_tables.0.is_empty();
    if appendix {
        let _ = writeln!(
            out,
            "<p class=\"print-only note\">The full tables ({} of them) are in tables/*.csv and {}, with every \
             column explained on its README sheet.</p>\n<section id=\"tables\" class=\"appendix\">",
            doc.tables.len(),
            escape(workbook)
        );
    } else {
        out += "<section id=\"tables\">\n";
    }
    out += "<h2>Tables</h2>\n";
    for table in doc.tables {
        let _ = writeln!(
            out,
            "<h3 id=\"{}\">{}</h3>",
            table.spec.name,
            escape(&table.spec.title)
        );
        let _ = writeln!(
            out,
            "<p class=\"note\">File: tables/{}.csv, sheet {} of {}</p>",
            table.spec.name,
            table.spec.name,
            escape(workbook)
        );
        out += "<table>\n<thead><tr>";
        for c in &table.columns {
            let _ = write!(out, "<th>{}</th>", escape(c));
        }
        out += "</tr></thead>\n<tbody>\n";
        for row in &table.rows {
            out += "<tr>";
            for cell in row {
                let class = match cell {
                    Cell::Int(_) | Cell::Float(_) => " class=\"num\"",
                    Cell::Suppressed | Cell::Withheld => " class=\"sup\"",
                    _ => "",
                };
                let _ = write!(out, "<td{class}>{}</td>", escape(&cell.render()));
            }
            out += "</tr>\n";
        }
        out += "</tbody>\n</table>\n";
        for note in footnotes(table, policy) {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&note));
        }
    }
    out += "</section>\n<section id=\"methods\">\n<h2>Methods</h2>\n";
    for (title, text) in &doc.sections {
        let _ = writeln!(out, "<h3>{}</h3>\n<p>{}</p>", escape(title), text.html());
    }
    out += "</section>\n</body>\n</html>\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::table::TableSpec;

    fn table(rows: Vec<Vec<Cell>>) -> Table {
        Table {
            spec: TableSpec::parse("t", "-- title: T\n").unwrap(),
            columns: vec!["category".into(), "change_pct".into()],
            rows,
        }
    }

    fn hostile() -> Table {
        table(vec![
            vec![
                Cell::Text("=HYPERLINK(\"http://x\",\"y\")".into()),
                Cell::Float(-1.5),
            ],
            vec![
                Cell::Text("<img src=x> | [a](javascript:b)".into()),
                Cell::Int(-3),
            ],
            vec![Cell::Text("-4".into()), Cell::Withheld],
        ])
    }

    #[test]
    fn markdown_cells_are_text_and_keep_the_row() {
        let md = markdown_table(&hostile());
        assert!(
            md.contains("| &lt;img src=x> \\| \\[a\\](javascript:b) | -3 |"),
            "{md}"
        );
        assert!(
            md.contains("| =HYPERLINK(\"http://x\",\"y\") | -1.5 |"),
            "{md}"
        );
    }

    #[test]
    fn csv_text_cells_are_neutralised_and_numbers_are_not() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("t.csv");
        write_csv(&hostile(), Policy::default(), &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "category,change_pct\n\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",-1.5\n\
             <img src=x> | [a](javascript:b),-3\n-4,x\n"
        );
    }

    #[test]
    fn values_in_texts_are_escaped_for_each_format_and_prose_is_not() {
        let text = Text::prose("Input files: ")
            .values(&["a_b.csv".into(), "<script>`x`</script>".into()], ", ")
            .and(" (see `tables/`).");
        assert_eq!(
            text.markdown(),
            "Input files: a_b.csv, &lt;script>\\`x\\`&lt;/script> (see `tables/`)."
        );
        assert_eq!(
            text.html(),
            "Input files: a_b.csv, &lt;script&gt;`x`&lt;/script&gt; (see <code>tables/</code>)."
        );
    }
}
