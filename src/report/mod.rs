//! `report`: runs the SQL files of `queries/` over the store, passes every
//! table through disclosure control, and writes CSV tables, one XLSX
//! workbook, SVG and PNG charts, and the report as HTML and Markdown.
//! The same store and options always give the same bytes.

pub mod charts;
pub mod independence;
pub mod population;
pub mod render;
mod user_tables;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::publish::audit;
use crate::publish::disclosure::{self, Policy};
use crate::publish::table::{Table, TableSpec, unnumbered};
use crate::publish::writer::OutputDir;
use crate::sql::perturb::{self, CountSettings, Counting};
use crate::sql::queries::DEFAULT_QUERIES;
use crate::sql::selection::{
    Selection, Unit, parameters, reporting_countries, run_with_parameters,
};
use crate::store::Store;

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
    pub engine: crate::sql::engine::EngineSettings,
    /// The report's title; the default names the years.
    pub title: Option<String>,
    /// The organisation publishing the report.
    pub organisation: Option<String>,
    /// The organisation's logo (PNG or JPEG), shown beside the title.
    pub logo: Option<PathBuf>,
    /// Types whose trend gets a chart of its own (`--type`): numbers,
    /// names or extension codes.
    pub trend_types: Vec<String>,
    /// Also print the report to `report.pdf` (needs a Chromium).
    pub pdf: bool,
}

/// The service-gap tables' names in the report (when the store has a
/// directory), numbered with the others by [`number_tables`].
pub const GAPS_TABLES: [&str; 3] = ["service_gaps", "demand_and_supply", "directory_coverage"];

/// Whether the query file named so (its stem, as given) is a shipped one.
fn is_shipped(name: &str) -> bool {
    DEFAULT_QUERIES.iter().any(|(shipped, _)| *shipped == name)
}

/// The one numbering of the report's tables: 01, 02, ... in the order they
/// are published (the query files in name order, the user's after them, the
/// typology mix tests, the service gaps). The number a query file's name
/// starts with orders the files and is otherwise replaced, so a table the
/// report leaves out (no population table, say) leaves no gap.
fn number_tables(tables: &mut [Table]) {
    for (i, table) in tables.iter_mut().enumerate() {
        let stem = unnumbered(&table.spec.name).to_string();
        table.spec.name = format!("{:02}_{stem}", i + 1);
    }
}

/// Facts the report states about its data.
#[derive(Debug, Clone)]
pub struct Context {
    pub from_year: i32,
    pub to_year: i32,
    pub countries: Vec<String>,
    pub unit: Unit,
    pub policy: Policy,
    pub rules_version: String,
    /// Input files by name (not path) with their SHA-256. Their record
    /// counts are not published: no table's disclosure control covers them.
    pub inputs: Vec<String>,
    pub outcome: disclosure::Outcome,
    /// Version of the needs file, when the report has service gaps.
    pub needs_version: Option<String>,
    pub title: String,
    pub organisation: Option<String>,
    /// The logo as a `data:` URI, checked to be a PNG or JPEG.
    pub logo: Option<String>,
    /// The categories of [`ReportOptions::trend_types`], as the tables name them.
    pub trend_types: Vec<String>,
    pub pdf: bool,
    /// What the report did that the user may not expect (a period narrowed
    /// to the store's years), said on stderr.
    pub notes: Vec<String>,
}

pub struct Report {
    pub context: Context,
    pub tables: Vec<Table>,
}

/// A report as written: where, which files, and the audit of the written
/// files (none with `--no-suppression`).
pub struct Published {
    pub report: Report,
    pub out: PathBuf,
    pub written: Vec<PathBuf>,
    pub audit: Option<audit::AuditReport>,
}

/// Builds the report of `store` and writes it into `out` (see
/// [`write_replacing`]): what `report` and `run` both do.
pub fn publish(store: &Store, out: &Path, options: &ReportOptions) -> Result<Published> {
    if options.policy.suppression {
        // refused before the work, not after it (the ledger checks again)
        crate::store::releases::allowed_after(
            &crate::store::releases::read(store)?,
            options.policy.min_cell,
            options.policy.width(),
        )?;
    }
    let report = crate::sql::engine::runtime()?.block_on(build(store, options))?;
    // Every file read is still there with its size: DataFusion reads a
    // listed file that has gone as empty (see `store::readers`), so one
    // removed behind the tool's back would have made the counts short
    // without an error. Names are never reused, so a file there now was
    // there all along.
    crate::store::verify::check_sizes(store)?;
    let (written, audit) = write_replacing(&report, out, Some(store))?;
    Ok(Published {
        report,
        out: out.to_path_buf(),
        written,
        audit,
    })
}

/// Every count column must say which quantity over the records it is
/// (`-- cells:`): a count the disclosure model cannot place is protected
/// only against being small on its own, and a reader who adds it to the
/// other tables can work suppressed counts out (three were, from a table
/// that declared only `-- counts:`). Such a table is refused.
fn require_declared_counts(spec: &TableSpec) -> Result<()> {
    let undeclared: Vec<&str> = spec
        .counts
        .iter()
        .filter(|c| !spec.cells.iter().any(|d| &d.column == *c))
        .map(String::as_str)
        .collect();
    if undeclared.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{}.sql: the count column(s) {} do not say what they count. Declare each with a line such as \
         `-- cells: {} = records(year, category)` (the quantity and the columns that tell its groups apart), \
         and how they add up with `-- sum: records(year, category) over category`; see queries/README.md. \
         A count the disclosure model cannot place would let a reader work out suppressed counts",
        spec.name,
        undeclared.join(", "),
        undeclared[0]
    )))
}

/// Every count of a published table is taken with `protected_count`: a
/// plain `count(...)` is the true count, which other releases publish with
/// noise, so publishing it would undo the noise for every reader holding
/// both. Refused with the function to use. (The report also checks the
/// numbers themselves, see `disclosure::carry_over`.)
fn require_protected_counting(name: &str, sql: &str) -> Result<()> {
    // the SQL without its comments (a note may say "count (of ...)")
    let lower: String = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
        .to_ascii_lowercase();
    let bare = lower.match_indices("count").any(|(at, _)| {
        let before = &lower[..at];
        let after = lower[at + "count".len()..].trim_start();
        after.starts_with('(')
            && !before.ends_with("protected_")
            && !before.ends_with("published_")
            && !before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    });
    if bare {
        return Err(Error::Usage(format!(
            "{name}.sql: counts with count(...). A published table counts with protected_count(unit_id) \
             (the true count with the noise its records carry in every release), and ranks with \
             published_count(unit_id); see queries/README.md"
        )));
    }
    Ok(())
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
            // `.SQL` too: a file silently not read is a table silently
            // not published
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("sql")))
            .collect();
        extra_files.sort();
        if extra_files.is_empty() {
            return Err(Error::Usage(format!(
                "--queries {}: the folder holds no .sql file, so the report would add no table",
                dir.display()
            )));
        }
        for path in extra_files {
            let name = path
                .file_stem()
                .expect("a file")
                .to_string_lossy()
                .to_string();
            let sql = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            if let Some((_, shipped)) = files.iter().find(|(n, _)| *n == name) {
                // a copy of the shipped file is the same table; an edited
                // one would be left out without a word
                // (line endings aside: a copy made on Windows is a copy)
                let same = |text: &str| text.replace("\r\n", "\n").trim().to_string();
                if same(shipped) != same(&sql) {
                    return Err(Error::Usage(format!(
                        "{}: a shipped query has this name, with other SQL; give the file a name of its own",
                        path.display()
                    )));
                }
                continue;
            }
            if name == independence::NAME {
                return Err(Error::Usage(format!(
                    "{}: the report's own mix-test table has this name; give the file a name of its own",
                    path.display()
                )));
            }
            files.push((name, sql));
        }
    }
    Ok(files)
}

/// Queries of one counting pass run at once (see [`query_tables`]): on
/// small stores each is mostly planning, on one core.
const CONCURRENT_QUERIES: usize = 2;

/// Runs the query files (and the typology mix tests) with the session's
/// counting, in publication order.
async fn query_tables(
    ctx: &datafusion::prelude::SessionContext,
    options: &ReportOptions,
    from_year: i32,
    to_year: i32,
    available: &[String],
) -> Result<Vec<Table>> {
    let sel = &options.selection;
    let mut jobs = Vec::new();
    for (name, sql) in query_files(options.extra_queries.as_deref())? {
        let spec = TableSpec::parse(&name, &sql)?;
        require_declared_counts(&spec)?;
        require_protected_counting(&name, &sql)?;
        if !is_shipped(&name) {
            user_tables::require_protected_aggregation(ctx, &spec, &sql).await?;
        }
        if spec.requires.iter().all(|r| available.contains(r)) {
            jobs.push((name, spec, sql));
        }
    }
    // Each query is a task of its own: polled side by side within this
    // future, two queries' planning (most of a query on a small store) took
    // turns on one thread while the runtime's workers waited.
    let run_one = |(name, spec, sql): (String, TableSpec, String)| {
        let ctx = ctx.clone();
        let params = parameters(sel, from_year, to_year);
        on_a_worker(async move {
            let batches = run_with_parameters(&ctx, &sql, params)
                .await
                .map_err(|e| Error::in_query(&name, e))?;
            let table = Table::from_batches(spec, &batches)?;
            charts::check(&table)?;
            Ok::<_, Error>(table)
        })
    };
    let queried = run_together(jobs, &run_one, CONCURRENT_QUERIES);
    let independence = {
        let (ctx, sel, min_cell) = (ctx.clone(), sel.clone(), options.policy.min_cell);
        on_a_worker(
            async move { independence::build(&ctx, &sel, from_year, to_year, min_cell).await },
        )
    };
    let (queried, independence) = futures::join!(queried, independence);
    // both finished before either's error is reported: the first in
    // publication order, whichever failed first
    let mut tables = again_alone(queried, &run_one).await?;
    tables.push(independence?);
    Ok(tables)
}

/// Runs `work` as a task of the runtime, so that it runs on a worker thread
/// beside the caller's other work; a panic in it is the caller's panic.
/// Dropping the returned future stops the task, as dropping `work` itself
/// would: a report that fails does not leave its other queries running.
async fn on_a_worker<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    struct StopOnDrop<T>(tokio::task::JoinHandle<T>);
    impl<T> Drop for StopOnDrop<T> {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut task = StopOnDrop(tokio::spawn(work));
    (&mut task.0)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// Runs `jobs` `at_once` at a time; each result comes back beside its job,
/// in the jobs' order. A failure other than memory ends the run there: it
/// is the error to report, and the jobs after it are not started.
async fn run_together<J: Clone, T, Fut>(
    jobs: Vec<J>,
    run: &impl Fn(J) -> Fut,
    at_once: usize,
) -> Vec<(J, Result<T>)>
where
    Fut: std::future::Future<Output = Result<T>>,
{
    use futures::StreamExt;
    let mut ran = std::pin::pin!(
        futures::stream::iter(jobs)
            .map(|job| {
                let ran = run(job.clone());
                async move { (job, ran.await) }
            })
            .buffered(at_once)
    );
    let mut results = Vec::new();
    while let Some((job, result)) = ran.next().await {
        let failed = matches!(&result, Err(e) if !e.is_out_of_memory());
        results.push((job, result));
        if failed {
            break;
        }
    }
    results
}

/// The results of [`run_together`], with every job that ran out of memory
/// beside others run again alone, one after another, once all are done;
/// the first failure in the jobs' order is the error. Queries share one
/// memory pool (`--memory-limit`), and some of their memory cannot spill:
/// counting distinct case ids holds every case's key. On a million
/// generated records, `report --unit cases` failed with "Resources
/// exhausted" because two queries (and the mix tests) ran at once, while
/// each fit alone. Only a job that fails alone too fails the report. The
/// results are the same either way: an answer does not depend on what ran
/// beside it. A job out of memory alone says to give a larger limit.
async fn again_alone<J, T, Fut>(
    results: Vec<(J, Result<T>)>,
    run: &impl Fn(J) -> Fut,
) -> Result<Vec<T>>
where
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut done = Vec::with_capacity(results.len());
    for (job, result) in results {
        match result {
            Err(e) if e.is_out_of_memory() => done.push(run(job).await.map_err(|e| {
                if e.is_out_of_memory() {
                    Error::OutOfMemory {
                        source: Box::new(e),
                    }
                } else {
                    e
                }
            })?),
            other => done.push(other?),
        }
    }
    Ok(done)
}

/// A published figure of a reference source below K is shown as `x` like
/// a count of the records: the reference table of a store is whatever was
/// imported, and an "aggregate" of internal figures must not get small
/// counts past disclosure control. The shares of the same source, country
/// and year are withheld with it: they share its total, so one share and
/// its figure gave the total, and the total less the figures shown gave
/// the hidden one (5, recovered so from 97 at 95.1%).
fn hide_small_reference_figures(tables: &mut [Table], min_cell: u64) {
    use crate::publish::Cell;
    for table in tables
        .iter_mut()
        .filter(|t| unnumbered(&t.spec.name) == "reference_shares")
    {
        let (Some(count), Some(share)) = (
            table.column("reference_count"),
            table.column("reference_share_pct"),
        ) else {
            continue;
        };
        let group = crate::publish::table::reference_group(table);
        let mut hidden_groups = std::collections::BTreeSet::new();
        for row in &mut table.rows {
            if row[count]
                .as_f64()
                .is_some_and(|v| v >= 1.0 && v < min_cell as f64)
            {
                row[count] = Cell::Suppressed;
                hidden_groups.insert(group(row));
            }
        }
        for row in &mut table.rows {
            if hidden_groups.contains(&group(row)) {
                row[share] = Cell::Withheld;
            }
        }
    }
}

/// Builds the report: every table counted twice, once with true counts,
/// on which disclosure control chooses what to suppress (the whole report
/// at once), and once with published counts (true counts with the noise
/// their records' key gives them), which is what is published; see
/// `docs/disclosure.md`. With `--no-suppression` the true counts are the
/// report.
pub async fn build(store: &Store, options: &ReportOptions) -> Result<Report> {
    let ctx = crate::sql::engine::session_for_many_queries(store, options.engine).await?;
    let sel = &options.selection;
    let crate::sql::selection::Period {
        from_year,
        to_year,
        notes,
    } = crate::sql::selection::period_of(&ctx, sel, "report").await?;
    let mut available = vec!["cases".to_string()];
    if let Some(path) = &options.population {
        population::register(&ctx, path).await?;
        available.push("population".into());
    }
    if crate::reference::register(&ctx, store.root())? {
        available.push("reference".into());
    }
    let perturbation = options.policy.perturbation();
    let secret = store.cell_key_secret()?;
    let settings = |counting| CountSettings::for_unit(counting, secret, perturbation, sel.unit);
    perturb::register(&ctx, settings(Counting::True));
    let mut tables = query_tables(&ctx, options, from_year, to_year, &available).await?;
    let queried = tables.len();
    // the user's own tables (`--queries`), by place, before the tables are
    // numbered: not the mix tests', the gaps' or the reference figures',
    // which the tool builds. The published run gives the same places.
    let own: Vec<(usize, String)> = (tables.iter().enumerate())
        .filter(|(_, t)| !is_shipped(&t.spec.name) && t.spec.name != independence::NAME)
        .map(|(i, t)| (i, t.spec.name.clone()))
        .collect();
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
    number_tables(&mut tables);
    // Suppression is chosen on the true counts while the published counts
    // are queried: the two are independent until `carry_over` joins them,
    // and the linear programs keep a core busy that planning leaves idle.
    let unit = sel.unit;
    let policy = options.policy;
    let protecting = tokio::task::spawn_blocking(move || {
        let outcome = disclosure::protect(&mut tables, unit, policy);
        (tables, outcome)
    });
    let publishing = async {
        if !policy.suppression {
            return Ok(None);
        }
        perturb::register(&ctx, settings(Counting::Published));
        query_tables(&ctx, options, from_year, to_year, &available)
            .await
            .map(Some)
    };
    let (protected, published) = futures::join!(protecting, publishing);
    let (mut tables, outcome) =
        protected.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let mut outcome = outcome?;
    if let Some(mut published) = published? {
        // the gap tables are published as their own model made them
        published.extend(tables[queried..].iter().cloned());
        number_tables(&mut published);
        outcome.withheld =
            disclosure::carry_over(&tables[..queried], &mut published[..queried], perturbation)
                .map_err(|e| changed_meanwhile(store).unwrap_or(e))?;
        tables = published;
        hide_small_reference_figures(&mut tables, options.policy.min_cell);
        crate::publish::mix_tests::rebuild_from_published(&mut tables, options.policy.min_cell);
        if !own.is_empty() {
            let units = crate::sql::selection::units_in(&ctx, sel, from_year, to_year).await?;
            let mine: Vec<(&str, &Table)> = (own.iter())
                .map(|(i, file)| (file.as_str(), &tables[*i]))
                .collect();
            user_tables::refuse_finer_than_the_data(
                &mine,
                units,
                sel.unit.as_str(),
                options.policy.min_cell,
            )?;
        }
    }
    // the gap tables were protected on their own model (see `gaps`)
    outcome.primary += gaps_suppressed.0;
    outcome.secondary += gaps_suppressed.1;
    let countries = reporting_countries(&ctx, &sel.countries).await?;
    let manifest = store.manifest();
    Ok(Report {
        context: Context {
            title: options.title.clone().unwrap_or_else(|| {
                if from_year == to_year {
                    format!("Detected cases of human trafficking, {to_year}")
                } else {
                    format!("Detected cases of human trafficking, {from_year}–{to_year}")
                }
            }),
            organisation: options.organisation.clone(),
            logo: options
                .logo
                .as_deref()
                .map(crate::publish::logo::data_uri)
                .transpose()?,
            notes,
            trend_types: charts::chosen_types(&tables, &options.trend_types)?,
            pdf: options.pdf,
            from_year,
            to_year,
            countries,
            unit: sel.unit,
            policy: options.policy,
            rules_version: manifest.rules_version.clone(),
            inputs: store.input_provenance(),
            outcome,
            needs_version,
        },
        tables,
    })
}

/// The error to give when the store was changed by another process after
/// this report opened it: the two counting runs may then have read
/// different data, which is not the query's fault.
fn changed_meanwhile(store: &Store) -> Option<Error> {
    let on_disk = crate::store::Manifest::read(store.root()).ok().flatten()?;
    (on_disk.generation != store.manifest().generation).then(|| {
        Error::store(
            store.root(),
            "the store was changed by another process during this report; run the command again",
        )
    })
}

/// Writes the report into `out` through the one output writer
/// ([`OutputDir`]): written beside it first and audited as written (see
/// [`audit::audit_dir`]), so a failure, or a report that does not pass the
/// audit, leaves the previous report in place, and a table that no longer
/// exists does not linger. Returns the files written and the audit (none
/// with `--no-suppression`).
/// A publishable report is recorded in the release ledger of `ledger`
/// (its store) before it is put in place; one written with
/// `--no-suppression` is internal work, not a release.
pub fn write_replacing(
    report: &Report,
    out: &Path,
    ledger: Option<&Store>,
) -> Result<(Vec<PathBuf>, Option<audit::AuditReport>)> {
    let output = OutputDir::begin(out, "report")?;
    let mut written = write(report, output.staging())?;
    let audited = if report.context.policy.suppression {
        let audit = audit::audit_dir(output.staging(), None, None)?;
        if !audit.findings.is_empty() {
            return Err(Error::AuditFailed {
                findings: audit.findings,
            });
        }
        Some(audit)
    } else {
        None
    };
    if report.context.pdf {
        // printed from the HTML the audit has just read, and recorded in the
        // ledger with the other files
        let pdf = output.staging().join("report.pdf");
        crate::publish::pdf::print(&output.staging().join("report.html"), &pdf)?;
        written.push(pdf);
    }
    if let (Some(store), Some(_)) = (ledger, &audited) {
        let c = &report.context;
        crate::store::releases::record(
            store,
            crate::store::releases::Publication {
                command: "report".into(),
                target: out.display().to_string(),
                scope: crate::store::releases::Scope {
                    from_year: c.from_year,
                    to_year: c.to_year,
                    countries: c.countries.clone(),
                    unit: c.unit.as_str().into(),
                },
                min_cell: c.policy.min_cell,
                protection_width: c.policy.width(),
                max_noise: c.policy.perturbation().max_noise,
                files: crate::store::releases::published_files(output.staging())?,
            },
        )?;
    }
    let written = written.iter().map(|p| output.published_path(p)).collect();
    output.commit()?;
    Ok((written, audited))
}

/// Writes every output of the report into `out`.
pub fn write(report: &Report, out: &Path) -> Result<Vec<PathBuf>> {
    let charts = charts::draw_all(report)?;
    let profiles = crate::publish::profiles::build(&report.tables)?;
    let mut written = crate::publish::writer::write_document(
        out,
        "report",
        &render::report_document(report, &charts, &profiles),
    )?;
    written.push(
        audit::DisclosureModel::new(report.context.unit, report.context.policy, &report.tables)
            .write(out)?,
    );
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn out_of_memory() -> Error {
        Error::in_query(
            "q",
            Error::DataFusion(datafusion::error::DataFusionError::ResourcesExhausted(
                "Failed to allocate".into(),
            )),
        )
    }

    /// Jobs 0 to 4; job 2 runs out of memory whenever another job runs
    /// beside it, job 4 runs out of memory even alone.
    async fn fake_query(job: u32, running: &Cell<u32>) -> Result<u32> {
        running.set(running.get() + 1);
        // the others started meanwhile are seen after a turn
        tokio::task::yield_now().await;
        let beside_others = running.get() > 1;
        tokio::task::yield_now().await;
        running.set(running.get() - 1);
        match job {
            2 if beside_others => Err(out_of_memory()),
            4 => Err(out_of_memory()),
            _ => Ok(job * 10),
        }
    }

    #[tokio::test]
    async fn a_query_out_of_memory_beside_others_is_run_again_alone() {
        let running = Cell::new(0);
        let run = |job: u32| fake_query(job, &running);
        let first = run_together(vec![0, 1, 2, 3], &run, 2).await;
        assert!(
            first[2].1.as_ref().is_err_and(Error::is_out_of_memory),
            "the fake job must fail beside another for the test to mean anything"
        );
        assert_eq!(again_alone(first, &run).await.unwrap(), vec![0, 10, 20, 30]);
    }

    #[tokio::test]
    async fn a_query_out_of_memory_alone_is_the_error_and_other_errors_are_not_retried() {
        let running = Cell::new(0);
        let run = |job: u32| fake_query(job, &running);
        let first = run_together(vec![0, 4], &run, 2).await;
        let error = again_alone(first, &run).await.unwrap_err();
        assert!(error.is_out_of_memory(), "{error}");
        assert!(error.to_string().contains("give a larger limit"), "{error}");
        assert_eq!(error.exit_code(), 2, "the user can give a larger limit");

        let tries = Cell::new(0);
        let failing = |_: u32| {
            tries.set(tries.get() + 1);
            async { Err::<u32, _>(Error::Usage("bad SQL".into())) }
        };
        let first = run_together(vec![7], &failing, 2).await;
        assert!(again_alone(first, &failing).await.is_err());
        assert_eq!(tries.get(), 1, "only memory is worth a second try");
    }

    #[tokio::test]
    async fn a_failing_query_stops_the_queries_after_it() {
        let started = Cell::new(0);
        let run = |job: u32| {
            started.set(started.get() + 1);
            async move {
                tokio::task::yield_now().await;
                if job == 1 {
                    Err(Error::Usage("bad SQL".into()))
                } else {
                    Ok(job)
                }
            }
        };
        let first = run_together((0..10).collect(), &run, 2).await;
        assert!(first.last().unwrap().1.is_err(), "ends on the failure");
        assert!(started.get() <= 4, "{} of 10 started", started.get());
        let error = again_alone(first, &run).await.unwrap_err();
        assert!(error.to_string().contains("bad SQL"), "{error}");
    }

    /// Sets its flag when dropped: the task holding it has ended.
    struct Dropped(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn work_on_a_worker_stops_when_its_caller_drops_it() {
        let runtime = crate::sql::engine::runtime().unwrap();
        let ended = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let held = Dropped(std::sync::Arc::clone(&ended));
        runtime.block_on(async {
            let mut waiting = std::pin::pin!(on_a_worker(async move {
                let _held = held;
                std::future::pending::<()>().await
            }));
            // started: the task is spawned on the first poll
            assert!(futures::poll!(waiting.as_mut()).is_pending());
        });
        // the caller's future is gone, so the task was stopped; without the
        // stop it would wait forever and hold its flag
        for _ in 0..1000 {
            if ended.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("the task went on after its caller dropped it");
    }

    #[test]
    #[should_panic(expected = "a query's own panic")]
    fn a_panic_on_a_worker_is_the_callers() {
        let runtime = crate::sql::engine::runtime().unwrap();
        runtime.block_on(on_a_worker(async { panic!("a query's own panic") }));
    }
}
