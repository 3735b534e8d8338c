//! `safetynet audit REPORT_DIR`: the disclosure audit of a report as
//! written. It reads the CSV tables back (what a reader has), with the
//! disclosure model the report wrote beside them (`disclosure.json`: which
//! quantity each count is and how they add up), and checks every
//! suppressed count with [`super::disclosure::audit`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::disclosure::{self, Policy};
use super::table::{Cell, SUPPRESSED, Table, TableSpec};
use crate::error::{Error, Result};
use crate::sql::selection::Unit;

/// Written as `disclosure.json` in every report directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DisclosureModel {
    /// Version of this file's layout.
    pub format: u32,
    pub unit: Unit,
    pub min_cell: u64,
    pub width: u64,
    /// False when written with `--no-suppression`.
    pub suppression: bool,
    /// The noise table's D the counts were published with (0, or absent
    /// in a file of an older version: exact counts).
    #[serde(default)]
    pub max_noise: u64,
    pub tables: Vec<TableSpec>,
}

pub const MODEL_FILE: &str = "disclosure.json";
const FORMAT: u32 = 1;

impl DisclosureModel {
    /// The model of `tables` as published, counted in `unit` under `policy`.
    pub fn new(unit: Unit, policy: Policy, tables: &[Table]) -> Self {
        DisclosureModel {
            format: FORMAT,
            unit,
            min_cell: policy.min_cell,
            width: policy.width(),
            suppression: policy.suppression,
            max_noise: if policy.suppression {
                policy.perturbation().max_noise
            } else {
                0
            },
            tables: tables.iter().map(|t| t.spec.clone()).collect(),
        }
    }

    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        write_model(&dir.join(MODEL_FILE), self)
    }

    fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MODEL_FILE);
        if !path.exists() {
            return Err(Error::bad_input(
                dir,
                format!("not a report directory: it has no {MODEL_FILE} (written by `report`)"),
            ));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let model: DisclosureModel = serde_json::from_str(&text)
            .map_err(|e| Error::bad_input(&path, format!("not a disclosure model: {e}")))?;
        if model.format != FORMAT {
            return Err(Error::bad_input(
                &path,
                format!(
                    "format {} is not the format {FORMAT} this version reads",
                    model.format
                ),
            ));
        }
        Ok(model)
    }
}

/// Writes a model file an audit reads back (`disclosure.json`,
/// `comparison.json`): pretty JSON and a final newline.
pub(crate) fn write_model<T: Serialize>(path: &Path, model: &T) -> Result<PathBuf> {
    let text =
        serde_json::to_string_pretty(model).map_err(|e| Error::store(path, e.to_string()))?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))?;
    Ok(path.to_path_buf())
}

/// What the audit of a report directory found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub tables: usize,
    pub suppressed: usize,
    pub width: u64,
    pub findings: Vec<String>,
}

/// The threshold to audit with: the folder's own, or the auditor's when
/// given and higher; and what to say when the folder declares less than
/// the auditor asks for, or less than any report may (a K the audited
/// folder declares is not taken on trust).
pub fn threshold(declared: u64, required: Option<u64>) -> (u64, Option<String>) {
    let k = required.unwrap_or(declared).max(declared).max(2);
    let finding = if declared < 2 {
        Some(format!(
            "the folder declares K = {declared}: no publication is made with K below 2; audited with K = {k}"
        ))
    } else if declared < k {
        Some(format!(
            "the folder declares K = {declared}, below the K = {k} the audit was asked for; audited with K = {k}"
        ))
    } else {
        None
    };
    (k, finding)
}

/// Audits the report in `dir` with its own threshold (or the higher
/// `min_cell` the auditor asks for), or a wider `width`.
pub fn audit_dir(dir: &Path, width: Option<u64>, min_cell: Option<u64>) -> Result<AuditReport> {
    let model = DisclosureModel::read(dir)?;
    let (min_cell, declared_too_low) = threshold(model.min_cell, min_cell);
    if !model.suppression {
        return Err(Error::AuditFailed {
            findings: vec![format!(
                "{}: written with --no-suppression: NOT FOR PUBLICATION",
                dir.display()
            )],
        });
    }
    let published = model
        .tables
        .iter()
        .map(|spec| read_csv(dir, spec))
        .collect::<Result<Vec<PublishedCsv>>>()?;
    let tables: Vec<Table> = published.iter().map(PublishedCsv::cells).collect();
    let policy = Policy {
        min_cell,
        width: Some(width.unwrap_or(model.width)),
        suppression: true,
    };
    // The tables' arithmetic and the formats are checked side by side (the
    // linear programs and the reading of the HTML, Markdown and workbook
    // are independent); the findings and the first error come in the
    // order the two checks ran one after the other.
    let (audited, agreeing) = std::thread::scope(|scope| {
        let agreeing = scope.spawn(|| formats_agree(dir, "report", &published));
        let audited = disclosure::audit(
            &tables,
            model.unit,
            policy,
            disclosure::credited_noise(model.max_noise),
        );
        let agreeing = agreeing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (audited, agreeing)
    });
    let mut findings = audited?;
    findings.extend(agreeing?);
    findings.extend(reference_figures_hidden(&tables, min_cell));
    findings.extend(mix_tests_from_what_is_shown(&tables, min_cell));
    findings.extend(declared_too_low);
    let suppressed = tables
        .iter()
        .flat_map(|t| t.rows.iter().flatten())
        .filter(|c| **c == Cell::Suppressed)
        .count();
    Ok(AuditReport {
        tables: tables.len(),
        suppressed,
        width: policy.width(),
        findings,
    })
}

/// Readers read the HTML and the Markdown, not only the CSV: every table
/// there must be the CSV table cell for cell, or a figure published only
/// in one format would pass an audit of the others. Each table is
/// rendered again from the CSV's text and looked for in the report.
pub(crate) fn formats_agree(
    dir: &Path,
    stem: &str,
    published: &[PublishedCsv],
) -> Result<Vec<String>> {
    let mut findings = Vec::new();
    let read = |name: &str| -> Result<Option<String>> {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    };
    let (markdown, html) = (read(&format!("{stem}.md"))?, read(&format!("{stem}.html"))?);
    let mut workbook = match dir.join(format!("{stem}.xlsx")) {
        path if path.exists() => Some(
            calamine::open_workbook::<calamine::Xlsx<_>, _>(&path)
                .map_err(|e| Error::bad_input(&path, format!("not a readable workbook: {e}")))?,
        ),
        _ => None,
    };
    // each table as a reader sees it, read once for every check below
    let shown: Vec<Table> = published.iter().map(PublishedCsv::shown).collect();
    for (csv, table) in published.iter().zip(&shown) {
        let spec = &csv.spec;
        if let Some(workbook) = &mut workbook
            && !sheet_agrees(workbook, table)
        {
            findings.push(format!(
                "{stem}.xlsx: sheet {} is not tables/{}.csv cell for cell",
                spec.name, spec.name
            ));
        }
        if let Some(md) = &markdown
            && !md.contains(&super::render::markdown_table(table))
        {
            findings.push(format!(
                "{stem}.md: table {} is not tables/{}.csv cell for cell",
                spec.name, spec.name
            ));
        }
        if let Some(html) = &html
            && html_table_of(html, &spec.name).is_none_or(|found| found != html_rows(table))
        {
            findings.push(format!(
                "{stem}.html: table {} is not tables/{}.csv cell for cell",
                spec.name, spec.name
            ));
        }
    }
    findings.extend(profiles_agree(
        html.as_deref(),
        markdown.as_deref(),
        &shown,
    )?);
    findings.extend(key_figures_agree(
        html.as_deref(),
        markdown.as_deref(),
        &shown,
    ));
    Ok(findings)
}

/// The typology mix tests, worked out again from the published CSVs of
/// counts by reporting country and type and by type and year, must be the
/// tests published: a test that took in a count shown as `x` gives that
/// count back through its n and statistic.
fn mix_tests_from_what_is_shown(tables: &[Table], min_cell: u64) -> Vec<String> {
    let name = super::mix_tests::NAME;
    let Some(published) = Table::named(tables, name) else {
        return Vec::new();
    };
    let mut rebuilt = tables.to_vec();
    super::mix_tests::rebuild_from_published(&mut rebuilt, min_cell);
    let Some(expected) = Table::named(&rebuilt, name) else {
        return Vec::new();
    };
    // read back from the CSV, 0.401 is a number (shown as 0.4), and the
    // statistic is rounded to one decimal
    let same = |a: &Cell, b: &Cell| match (a.number(), b.number()) {
        (Some(x), Some(y)) => (x - y).abs() <= 0.05 + 1e-9,
        _ => a.render() == b.render(),
    };
    let render = |r: &[Cell]| -> Vec<String> { r.iter().map(|c| c.render()).collect() };
    (published.rows.iter().zip(&expected.rows))
        .filter(|(shown, wanted)| {
            shown.len() != wanted.len() || !shown.iter().zip(wanted.iter()).all(|(a, b)| same(a, b))
        })
        .map(|(shown, wanted)| (render(shown), render(wanted)))
        .map(|(shown, wanted)| {
            format!(
                "tables/{}.csv: the test of {} against {} is not the one the published counts give ({} published; {} from the tables)",
                published.spec.name,
                shown[1],
                shown[2],
                shown[3..].join(", "),
                wanted[3..].join(", ")
            )
        })
        .collect()
}

/// A published figure of a reference source (`reference import`) from 1 to
/// K-1 must be shown as `x` like a count of records: what was imported as a
/// reference could be anyone's internal count. Read from the CSV, not from
/// what the report says it did.
fn reference_figures_hidden(tables: &[Table], min_cell: u64) -> Vec<String> {
    let mut findings = Vec::new();
    for table in tables {
        let Some(column) = table.column("reference_count") else {
            continue;
        };
        for row in &table.rows {
            if row[column]
                .number()
                .is_some_and(|v| v >= 1.0 && v < min_cell as f64)
            {
                findings.push(format!(
                    "tables/{}.csv: a reference figure of {} is below {min_cell} and shown",
                    table.spec.name,
                    row[column].render()
                ));
            }
        }
        // a share beside a hidden figure's (same source, country, year)
        // gives their total, and so the hidden figure
        let Some(share) = table.column("reference_share_pct") else {
            continue;
        };
        let group = super::table::reference_group(table);
        let hidden: std::collections::BTreeSet<Vec<String>> = (table.rows.iter())
            .filter(|row| row[column].number().is_none() && !row[column].render().is_empty())
            .map(|row| group(row))
            .collect();
        for row in &table.rows {
            if hidden.contains(&group(row)) && row[share].number().is_some() {
                findings.push(format!(
                    "tables/{}.csv: a reference share of {} is shown beside a hidden figure of the same source, country and year",
                    table.spec.name,
                    row[share].render()
                ));
            }
        }
    }
    findings
}

/// The type profiles the published CSVs give, built again as the report
/// builds them (charts included), must be in the HTML and the Markdown
/// exactly: an edit anywhere in them (a row, a heading, the markup around
/// it) is a finding, and so is profile markup where the tables give none.
fn profiles_agree(html: Option<&str>, md: Option<&str>, tables: &[Table]) -> Result<Vec<String>> {
    use super::profiles;
    let rebuilt = profiles::build(tables)?;
    let mut findings = Vec::new();
    let (want_html, want_md) = (profiles::html(&rebuilt), profiles::markdown(&rebuilt));
    if let Some(html) = html {
        let shown = if want_html.is_empty() {
            !html.contains("class=\"profile\"")
        } else {
            html.contains(&want_html)
        };
        if !shown {
            findings.push(
                "report.html: the type profiles are not those the published tables give".into(),
            );
        }
    }
    if let Some(md) = md {
        let shown = if want_md.is_empty() {
            !md.contains("Type profiles")
        } else {
            md.contains(&want_md)
        };
        if !shown {
            findings.push(
                "report.md: the type profiles are not those the published tables give".into(),
            );
        }
    }
    Ok(findings)
}

/// The key figures and the reader's tables a report shows must be the
/// ones the published CSVs give: built again from them, they must be in the
/// HTML and the Markdown exactly, and where the tables give none, none may
/// be shown.
fn key_figures_agree(html: Option<&str>, md: Option<&str>, tables: &[Table]) -> Vec<String> {
    use super::{countries, key_figures, reader};
    let figures = key_figures::build(tables);
    let wide = reader::types_by_year(tables);
    let by_country = countries::build(tables);
    let mut findings = Vec::new();
    let checks = [
        (
            "report.html",
            html,
            "the sections by reporting country",
            countries::html(&by_country),
            "id=\"countries\"",
        ),
        (
            "report.md",
            md,
            "the sections by reporting country",
            countries::markdown(&by_country),
            "## By reporting country",
        ),
        (
            "report.html",
            html,
            "the key figures",
            key_figures::html(&figures),
            "id=\"key-figures\"",
        ),
        (
            "report.md",
            md,
            "the key figures",
            key_figures::markdown(&figures),
            "## Key figures",
        ),
        (
            "report.html",
            html,
            "the table of records by type and year",
            reader::html(&wide),
            "id=\"reader-tables\"",
        ),
        (
            "report.md",
            md,
            "the table of records by type and year",
            reader::markdown(&wide),
            "## Records by type and year",
        ),
    ];
    for (file, text, what, expected, marker) in checks {
        let Some(text) = text else { continue };
        let shown = if expected.is_empty() {
            !text.contains(marker)
        } else {
            text.contains(&expected)
        };
        if !shown {
            findings.push(format!(
                "{file}: {what} are not those the published tables give"
            ));
        }
    }
    findings
}

/// Whether a table's sheet holds the CSV's values: the same text, or a
/// number that shows as the CSV's text at its precision, and nothing beside
/// or right below them.
fn sheet_agrees<R: std::io::Read + std::io::Seek>(
    workbook: &mut calamine::Xlsx<R>,
    table: &Table,
) -> bool {
    use calamine::{Data, Reader};
    let Ok(range) = workbook.worksheet_range(&super::render::sheet_name(&table.spec.name)) else {
        return false;
    };
    let first = super::render::XLSX_FIRST_ROW;
    let width = table.columns.len() as u32;
    let cell_agrees = |shown: &str, data: Option<&Data>| match data {
        None | Some(Data::Empty) => shown.is_empty(),
        Some(Data::String(s)) => s == shown,
        Some(Data::Float(f)) => shown_number_is(shown, *f),
        Some(Data::Int(n)) => shown_number_is(shown, *n as f64),
        Some(_) => false,
    };
    for (i, row) in table.rows.iter().enumerate() {
        let r = first + i as u32;
        for (c, cell) in row.iter().enumerate() {
            if !cell_agrees(&cell.render(), range.get_value((r, c as u32))) {
                return false;
            }
        }
        // a value beside the table is published too
        let (_, last_column) = range.end().unwrap_or((0, 0));
        if (width..=last_column).any(|c| {
            range
                .get_value((r, c))
                .is_some_and(|d| !matches!(d, Data::Empty))
        }) {
            return false;
        }
    }
    // the row right below the table is empty (footnotes follow it)
    let below = first + table.rows.len() as u32;
    (0..width.max(1)).all(|c| {
        range
            .get_value((below, c))
            .is_none_or(|d| matches!(d, Data::Empty))
    })
}

/// Whether `value` shows as `shown` at the precision `shown` is written in.
fn shown_number_is(shown: &str, value: f64) -> bool {
    let Ok(number) = shown.parse::<f64>() else {
        return false;
    };
    let decimals = shown.split_once('.').map_or(0, |(_, d)| d.len()) as i32;
    (value - number).abs() <= 0.5 * 10f64.powi(-decimals) + 1e-9
}

/// The header and body rows of a table as the HTML shows them, without the
/// class attributes that style its cells.
fn html_rows(table: &Table) -> String {
    use crate::base::escape::html_text;
    let mut out = String::from("<thead><tr>");
    for c in &table.columns {
        out += &format!("<th>{}</th>", html_text(c));
    }
    out += "</tr></thead>\n<tbody>\n";
    for row in &table.rows {
        out += "<tr>";
        for cell in row {
            out += &format!("<td>{}</td>", html_text(&cell.render()));
        }
        out += "</tr>\n";
    }
    out += "</tbody>";
    out
}

/// The table of the HTML under the heading `id`, from `<thead>` to
/// `</tbody>`, with its cells' class attributes taken out.
fn html_table_of(html: &str, id: &str) -> Option<String> {
    let heading = html.find(&format!("<h3 id=\"{id}\">"))?;
    let start = heading + html[heading..].find("<thead>")?;
    let end = start + html[start..].find("</tbody>")? + "</tbody>".len();
    Some(
        html[start..end]
            .replace(" class=\"num\"", "")
            .replace(" class=\"sup\"", ""),
    )
}

/// A published CSV table as its text: the header and every cell, read
/// once and used both for the disclosure audit and to check the other
/// formats against it.
pub(crate) struct PublishedCsv {
    spec: TableSpec,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

pub(crate) fn read_csv(dir: &Path, spec: &TableSpec) -> Result<PublishedCsv> {
    let path = dir.join("tables").join(format!("{}.csv", spec.name));
    let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    // Only the stamp of `--no-suppression` is skipped, and only as the first
    // line: a row that merely begins with `#` (a category "#1 Bar") is a
    // row a reader sees, so the audit reads it too.
    let stamp = format!("# {}", super::render::NOT_FOR_PUBLICATION);
    let body = match text.strip_prefix(stamp.as_bytes()) {
        Some(rest) => rest.strip_prefix(b"\n").unwrap_or(rest),
        None => &text[..],
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(body);
    let columns = reader
        .headers()
        .map_err(|e| Error::bad_input(&path, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::bad_input(&path, format!("row {}: {e}", i + 2)))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok(PublishedCsv {
        spec: spec.clone(),
        columns,
        rows,
    })
}

impl PublishedCsv {
    pub(crate) fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The cells as the CSV holds them.
    pub(crate) fn raw_rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    /// The table back as cells: the symbol in a count column is a
    /// suppressed count, elsewhere a withheld figure.
    pub(crate) fn cells(&self) -> Table {
        let is_count: Vec<bool> = self
            .columns
            .iter()
            .map(|c| self.spec.counts.contains(c))
            .collect();
        Table {
            spec: self.spec.clone(),
            columns: self.columns.clone(),
            rows: self
                .rows
                .iter()
                .map(|row| {
                    row.iter()
                        .zip(&is_count)
                        .map(|(text, &count)| parse_cell(text, count))
                        .collect()
                })
                .collect(),
        }
    }

    /// The table as the other formats show it: every cell its text (a
    /// formula-like text the CSV neutralised with `'` as it was before).
    pub(crate) fn shown(&self) -> Table {
        let shown = |cell: &String| match cell.strip_prefix('\'') {
            Some(rest) if crate::base::escape::formula_like(rest) => rest.to_string(),
            _ => cell.clone(),
        };
        let mut columns: Vec<String> = self.columns.iter().map(shown).collect();
        if columns.len() == 1 && columns[0].is_empty() {
            columns.clear(); // an empty result: no columns, one empty line
        }
        Table {
            spec: self.spec.clone(),
            columns,
            rows: self
                .rows
                .iter()
                .map(|row| row.iter().map(|c| Cell::Text(shown(c))).collect())
                .collect(),
        }
    }
}

fn parse_cell(text: &str, count: bool) -> Cell {
    if text.is_empty() {
        Cell::Null
    } else if text == SUPPRESSED {
        if count {
            Cell::Suppressed
        } else {
            Cell::Withheld
        }
    } else if let Ok(n) = text.parse::<i64>() {
        Cell::Int(n)
    } else if let Ok(f) = text.parse::<f64>()
        && text.contains('.')
    {
        Cell::Float(f)
    } else {
        Cell::Text(text.to_string())
    }
}

/// Which release of a store's ledger a report folder is, file for file:
/// every file the release published is there with its hash, and nothing
/// else but the output marker. A report whose tables or `disclosure.json`
/// were edited after publication matches none, whatever its own files say.
pub fn release_of(
    dir: &Path,
    releases: &[crate::store::releases::Release],
) -> Result<MatchedRelease> {
    let mut on_disk = crate::store::releases::published_files(dir)?;
    on_disk.retain(|f| f.path != crate::publish::writer::MARKER);
    for release in releases.iter().rev() {
        if release.files == on_disk {
            return Ok(MatchedRelease::Release(release.id));
        }
    }
    // the closest release by files in common, to say what differs
    let closest = releases
        .iter()
        .max_by_key(|r| r.files.iter().filter(|f| on_disk.contains(f)).count());
    let differs = match closest {
        None => Vec::new(),
        Some(r) => {
            let mut names: Vec<String> = r
                .files
                .iter()
                .filter(|f| !on_disk.contains(f))
                .map(|f| f.path.clone())
                .collect();
            names.extend(
                on_disk
                    .iter()
                    .filter(|f| !r.files.iter().any(|g| g.path == f.path))
                    .map(|f| format!("{} (not published)", f.path)),
            );
            names
        }
    };
    Ok(MatchedRelease::None {
        closest: closest.map(|r| r.id),
        differs,
    })
}

/// What [`release_of`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchedRelease {
    Release(u64),
    None {
        closest: Option<u64>,
        differs: Vec<String>,
    },
}

#[cfg(test)]
mod threshold_tests {
    use super::threshold;

    #[test]
    fn the_auditor_not_the_folder_sets_the_least_threshold() {
        assert_eq!(threshold(10, None), (10, None));
        assert_eq!(threshold(10, Some(5)), (10, None));
        let (k, finding) = threshold(10, Some(20));
        assert_eq!(k, 20);
        assert!(finding.unwrap().contains("below the K = 20"));
        let (k, finding) = threshold(1, None);
        assert_eq!(k, 2);
        assert!(finding.unwrap().contains("declares K = 1"));
    }
}
