//! `report`: runs the SQL files of `queries/` over the store, passes every
//! table through disclosure control, and writes CSV tables, one XLSX
//! workbook, SVG and PNG charts, and the report as HTML and Markdown.
//! The same store and options always give the same bytes.

pub mod audit;
pub mod charts;
pub mod disclosure;
pub mod linkage;
pub mod mix_test;
pub mod population;
pub mod render;
pub mod table;

use std::path::{Path, PathBuf};

use datafusion::common::ParamValues;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

use crate::error::{Error, Result};
use crate::store::Store;
pub use disclosure::Policy;
pub use table::{Cell, Table, TableSpec};

/// The query files shipped in `queries/`, embedded so the binary works from
/// any directory.
pub const DEFAULT_QUERIES: &[(&str, &str)] = &[
    (
        "01_totals_by_form_year",
        include_str!("../../queries/01_totals_by_form_year.sql"),
    ),
    (
        "02_types_by_year",
        include_str!("../../queries/02_types_by_year.sql"),
    ),
    (
        "03_top_types_by_form",
        include_str!("../../queries/03_top_types_by_form.sql"),
    ),
    (
        "04_profile_by_type",
        include_str!("../../queries/04_profile_by_type.sql"),
    ),
    (
        "05_recruitment_by_type",
        include_str!("../../queries/05_recruitment_by_type.sql"),
    ),
    (
        "06_recruiter_relation_by_type",
        include_str!("../../queries/06_recruiter_relation_by_type.sql"),
    ),
    (
        "07_control_methods_by_type",
        include_str!("../../queries/07_control_methods_by_type.sql"),
    ),
    (
        "08_exploitation_country_by_year",
        include_str!("../../queries/08_exploitation_country_by_year.sql"),
    ),
    (
        "09_citizenship_by_country",
        include_str!("../../queries/09_citizenship_by_country.sql"),
    ),
    (
        "10_classification_coverage",
        include_str!("../../queries/10_classification_coverage.sql"),
    ),
    (
        "11_detection_rates",
        include_str!("../../queries/11_detection_rates.sql"),
    ),
];

/// What is counted: victims (records) or cases (distinct case ids).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Victims,
    Cases,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Victims => "victims",
            Unit::Cases => "cases",
        }
    }
}

/// The selection and the parameters every query is run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub from_year: Option<i32>,
    pub to_year: Option<i32>,
    /// Reporting countries; empty = all.
    pub countries: Vec<String>,
    pub unit: Unit,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            from_year: None,
            to_year: None,
            countries: Vec::new(),
            unit: Unit::Victims,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub selection: Selection,
    pub policy: Policy,
    /// More `.sql` files to run after the shipped ones.
    pub extra_queries: Option<PathBuf>,
    /// Population table for rates (`-- requires: population` queries).
    pub population: Option<PathBuf>,
    /// Needs file for the service gaps (built-in when None); used when the
    /// store has a directory.
    pub needs: Option<PathBuf>,
}

/// The service-gap tables' names in the report (when the store has a directory).
pub const GAPS_TABLES: [&str; 3] = [
    "13_service_gaps",
    "14_demand_and_supply",
    "15_directory_coverage",
];

/// Facts the report states about its data.
#[derive(Debug, Clone)]
pub struct Context {
    pub from_year: i32,
    pub to_year: i32,
    pub countries: Vec<String>,
    pub unit: Unit,
    pub policy: Policy,
    pub rules_version: String,
    /// Input files by name (not path). Their record counts are not
    /// published: no table's disclosure control covers them.
    pub inputs: Vec<String>,
    pub outcome: disclosure::Outcome,
    /// Version of the needs file, when the report has service gaps.
    pub needs_version: Option<String>,
}

pub struct Report {
    pub context: Context,
    pub tables: Vec<Table>,
}

/// The named parameters bound into every query (never spliced into SQL).
pub fn parameters(selection: &Selection, from_year: i32, to_year: i32) -> ParamValues {
    ParamValues::from(vec![
        ("from_year", ScalarValue::Int32(Some(from_year))),
        ("to_year", ScalarValue::Int32(Some(to_year))),
        (
            "countries",
            ScalarValue::Utf8(Some(selection.countries.join(","))),
        ),
        (
            "unit",
            ScalarValue::Utf8(Some(selection.unit.as_str().to_string())),
        ),
    ])
}

/// How the queries count their unit: `count(DISTINCT unit_id)`.
pub const UNIT_COUNT: &str = "count(DISTINCT unit_id)";

/// The SQL as it is run for `unit`. Counted as victims, `unit_id` is the
/// record id, which is unique in the store (ingest refuses a second record
/// with the same id), so `count(DISTINCT unit_id)` equals `count(unit_id)`;
/// the rewrite spares a hash set of every record id per group, the largest
/// memory cost of the report (ten million ids are gigabytes).
pub fn unit_counting(sql: &str, unit: Unit) -> std::borrow::Cow<'_, str> {
    match unit {
        Unit::Victims if sql.contains(UNIT_COUNT) => {
            std::borrow::Cow::Owned(sql.replace(UNIT_COUNT, "count(unit_id)"))
        }
        _ => std::borrow::Cow::Borrowed(sql),
    }
}

/// Runs SQL with the report's parameters bound.
pub async fn run_with_parameters(
    ctx: &SessionContext,
    sql: &str,
    params: ParamValues,
) -> Result<Vec<datafusion::arrow::array::RecordBatch>> {
    let options = datafusion::execution::context::SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let df = ctx
        .sql_with_options(sql, options)
        .await
        .map_err(Error::Sql)?;
    let df = df.with_param_values(params).map_err(Error::Sql)?;
    df.collect().await.map_err(Error::Sql)
}

/// The reporting countries asked for, or, when none is, every one in the
/// store, sorted.
pub async fn reporting_countries(ctx: &SessionContext, asked: &[String]) -> Result<Vec<String>> {
    if !asked.is_empty() {
        return Ok(asked.to_vec());
    }
    let batches = crate::query::run_sql(
        ctx,
        "SELECT DISTINCT reporting_country FROM cases ORDER BY 1",
    )
    .await?;
    let t = Table::from_batches(TableSpec::parse("countries", "")?, &batches)?;
    Ok(t.rows
        .iter()
        .filter_map(|r| r[0].as_text().map(str::to_string))
        .collect())
}

/// The first and last year of registration in the store.
pub async fn year_range(ctx: &SessionContext) -> Result<(i32, i32)> {
    // Correct only because the session turns off DataFusion's min/max
    // dynamic filter (see `query::session_config`): with it on, the
    // `year=unknown` files could make this skip the first year.
    let batches =
        crate::query::run_sql(ctx, "SELECT min(year) AS lo, max(year) AS hi FROM cases").await?;
    let t = Table::from_batches(TableSpec::parse("years", "")?, &batches)?;
    match t.rows.first().map(|r| (r[0].as_f64(), r[1].as_f64())) {
        Some((Some(lo), Some(hi))) => Ok((lo as i32, hi as i32)),
        _ => Err(Error::Usage(
            "the store has no records with a year: nothing to report".into(),
        )),
    }
}

fn query_files(extra: Option<&Path>) -> Result<Vec<(String, String)>> {
    let mut files: Vec<(String, String)> = DEFAULT_QUERIES
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    if let Some(dir) = extra {
        let mut extra_files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        extra_files.sort();
        for path in extra_files {
            let name = path
                .file_stem()
                .expect("a file")
                .to_string_lossy()
                .to_string();
            if files.iter().any(|(n, _)| *n == name) {
                continue; // the shipped file of the same name is the same table
            }
            let sql = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            files.push((name, sql));
        }
    }
    Ok(files)
}

pub async fn build(store: &Store, options: &ReportOptions) -> Result<Report> {
    let ctx = crate::query::session(store).await?;
    let (lo, hi) = year_range(&ctx).await?;
    let sel = &options.selection;
    let from_year = sel.from_year.unwrap_or(lo);
    let to_year = sel.to_year.unwrap_or(hi);
    if from_year > to_year {
        return Err(Error::Usage(format!(
            "--from {from_year} is after --to {to_year}"
        )));
    }
    let mut available = vec!["cases".to_string()];
    if let Some(path) = &options.population {
        population::register(&ctx, path).await?;
        available.push("population".into());
    }
    let mut tables = Vec::new();
    for (name, sql) in query_files(options.extra_queries.as_deref())? {
        let spec = TableSpec::parse(&name, &sql)?;
        if !spec.requires.iter().all(|r| available.contains(r)) {
            continue;
        }
        let batches = run_with_parameters(
            &ctx,
            &unit_counting(&sql, sel.unit),
            parameters(sel, from_year, to_year),
        )
        .await
        .map_err(|e| Error::Usage(format!("query {name}.sql: {e}")))?;
        tables.push(Table::from_batches(spec, &batches)?);
    }
    tables.push(mix_test::build(&ctx, sel, from_year, to_year, options.policy.min_cell).await?);
    let mut needs_version = None;
    let mut gaps_suppressed = (0, 0);
    if crate::directory::exists(store.root()) {
        let needs = crate::gaps::Needs::load(options.needs.as_deref())?;
        let organizations = crate::directory::load(store.root())?;
        let gaps = crate::gaps::build(
            &ctx,
            &crate::gaps::Request {
                selection: sel,
                from_year,
                to_year,
                policy: options.policy,
                needs: &needs,
                organizations: &organizations,
                names: GAPS_TABLES,
            },
        )
        .await?;
        needs_version = Some(gaps.needs_version);
        gaps_suppressed = (gaps.primary, gaps.secondary);
        tables.extend(gaps.tables);
    }
    let mut outcome = disclosure::protect(&mut tables, sel.unit, options.policy)?;
    // the gap tables were protected on their own model (see `gaps`)
    outcome.primary += gaps_suppressed.0;
    outcome.secondary += gaps_suppressed.1;
    let countries = reporting_countries(&ctx, &sel.countries).await?;
    let manifest = store.manifest();
    Ok(Report {
        context: Context {
            from_year,
            to_year,
            countries,
            unit: sel.unit,
            policy: options.policy,
            rules_version: manifest.rules_version.clone(),
            inputs: store.input_names(),
            outcome,
            needs_version,
        },
        tables,
    })
}

/// Writes the report into `out`, replacing what was there: it is written
/// beside it first and audited as written (see [`audit::audit_dir`]), so a
/// failure, or a report that does not pass the audit, leaves the previous
/// report in place, and a table that no longer exists does not linger.
/// Returns the files written and the audit (none with `--no-suppression`).
pub fn write_replacing(
    report: &Report,
    out: &Path,
) -> Result<(Vec<PathBuf>, Option<audit::AuditReport>)> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "report".into());
    let staging = out.with_file_name(format!(".{name}.tmp"));
    let _ = std::fs::remove_dir_all(&staging);
    let written = write(report, &staging)?;
    let audited = if report.context.policy.suppression {
        let result = audit::audit_dir(&staging, None);
        let failed = match &result {
            Ok(a) if a.findings.is_empty() => None,
            Ok(a) => Some(Error::AuditFailed {
                findings: a.findings.clone(),
            }),
            Err(_) => None,
        };
        if let Some(error) = failed {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(error);
        }
        Some(result?)
    } else {
        None
    };
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| Error::io(out, e))?;
    }
    std::fs::rename(&staging, out).map_err(|e| Error::io(out, e))?;
    let written = written
        .into_iter()
        .map(|p| out.join(p.strip_prefix(&staging).expect("under staging")))
        .collect();
    Ok((written, audited))
}

/// Writes every output of the report into `out`.
pub fn write(report: &Report, out: &Path) -> Result<Vec<PathBuf>> {
    let tables_dir = out.join("tables");
    let charts_dir = out.join("charts");
    for dir in [out, &tables_dir, &charts_dir] {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut written = Vec::new();
    for table in &report.tables {
        let path = tables_dir.join(format!("{}.csv", table.spec.name));
        render::write_csv(table, report.context.policy, &path)?;
        written.push(path);
    }
    let xlsx = out.join("report.xlsx");
    render::write_xlsx(report, &xlsx)?;
    written.push(xlsx);
    let charts = charts::draw_all(report)?;
    for chart in &charts {
        let svg = charts_dir.join(format!("{}.svg", chart.name));
        std::fs::write(&svg, &chart.svg).map_err(|e| Error::io(&svg, e))?;
        let png = charts_dir.join(format!("{}.png", chart.name));
        charts::write_png(chart, &png)?;
        written.extend([svg, png]);
    }
    let md = out.join("report.md");
    std::fs::write(&md, render::markdown(report, &charts)).map_err(|e| Error::io(&md, e))?;
    let html = out.join("report.html");
    std::fs::write(&html, render::html(report, &charts)).map_err(|e| Error::io(&html, e))?;
    written.extend([md, html]);
    written.push(audit::DisclosureModel::of(report).write(out)?);
    Ok(written)
}
