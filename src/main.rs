//! The `safetynet` command line: argument parsing, printing and exit codes.
//! All behaviour lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use safetynet::ingest::Format;
use safetynet::query::OutputFormat;
use safetynet::report::{Policy, ReportOptions, Selection, Unit};
use safetynet::rules::Rules;
use safetynet::store::Store;

// Ingest allocates a few small strings per cell on several threads, and
// frees them on others; glibc's allocator spent a third of the time on that
// (perf). mimalloc is what DataFusion's own CLI uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "safetynet",
    version,
    about = "Anti-trafficking case exports into a classified Parquet store, and publication-safe statistics",
    after_help = "Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage."
)]
struct Cli {
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Memory the SQL engine may use before spilling to disk (report,
    /// query, compare, share, gaps), e.g. 512M or 2G.
    #[arg(long, global = true, default_value = "512M", value_parser = safetynet::query::parse_size)]
    memory_limit: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a synthetic export in the canonical layout (CSV, JSON lines or Parquet by extension).
    #[command(
        after_help = "Example:\n  safetynet generate --records 5000 --seed 1 --countries US --years 2015-2024 --out us.csv"
    )]
    Generate {
        #[arg(long)]
        records: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// ISO 3166-1 alpha-2 codes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "US")]
        countries: Vec<String>,
        /// Year range, e.g. 2015-2024.
        #[arg(long, default_value = "2015-2024")]
        years: String,
        /// Write the export in the layout of this mapping file (CSV), e.g.
        /// mappings/mx_hotline.toml, instead of the canonical layout.
        #[arg(long)]
        mapping: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Validate, classify and store case exports; bad rows go to the store's quarantine.
    #[command(
        after_help = "Example:\n  safetynet ingest sample-data/us_hotline.csv sample-data/mx_hotline.csv --store store --json"
    )]
    Ingest {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        store: PathBuf,
        /// Container (csv, jsonl, parquet, xlsx; guessed from the file name when
        /// omitted) or public layout (ctdc, ctdc-synthetic, htcds).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Mapping file (TOML) for any other layout; see docs/mapping.md.
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Reporting country (ISO alpha-2) of every record, for layouts that
        /// have none (CTDC); XX marks pooled data from several countries.
        #[arg(long)]
        country: Option<String>,
        #[command(flatten)]
        read: ReadArgs,
        /// Classification rules (TOML); the embedded default when omitted.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Work on mapping files (declarative layouts of other exports).
    #[command(subcommand)]
    Mapping(MappingCommand),
    /// The directory of organisations and the services they offer.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Where services for survivors are lacking: demand from the cases beside
    /// the organisations of the directory, gaps ranked by unmet demand.
    #[command(
        after_help = "Example:\n  safetynet gaps --store store --out gaps --from 2020 --to 2024"
    )]
    Gaps {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        selection: SelectionArgs,
        #[command(flatten)]
        disclosure: DisclosureArgs,
        /// Which services each type and profile needs (default: the built-in rules/needs.toml).
        #[arg(long)]
        needs: Option<PathBuf>,
    },
    /// Reclassify every record of the store (atomically) after a rules change.
    #[command(after_help = "Example:\n  safetynet classify --store store --rules my-rules.toml")]
    Classify {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        rules: Option<PathBuf>,
        /// How many unmatched venue texts to list.
        #[arg(long, default_value_t = 15)]
        top: usize,
        #[arg(long)]
        json: bool,
    },
    /// Show a record's type, the rule and evidence that placed it, and the rules that came close.
    #[command(after_help = "Example:\n  safetynet explain --store store US-0000042")]
    Explain {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        rules: Option<PathBuf>,
        record_id: String,
    },
    /// Write the report: tables (CSV, XLSX), charts (SVG, PNG), HTML and Markdown.
    #[command(
        after_help = "Example:\n  safetynet report --store store --out reports --from 2018 --to 2024 --country US,MX --unit cases --min-cell 10"
    )]
    Report {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        selection: SelectionArgs,
        #[command(flatten)]
        disclosure: DisclosureArgs,
        /// A directory of more .sql files to publish (same header conventions as queries/).
        #[arg(long)]
        queries: Option<PathBuf>,
        /// Population table (CSV: country, year, population, source) for the
        /// rates per 100,000 population; no rates table without it.
        #[arg(long)]
        population: Option<PathBuf>,
        /// Needs file for the service gaps, when the store has a directory
        /// (default: the built-in rules/needs.toml).
        #[arg(long)]
        needs: Option<PathBuf>,
    },
    /// Check a written report's disclosure control: no published count below
    /// K, and no suppressed count that the published numbers narrow to a
    /// range smaller than the protection width. Exit code 3 when it fails.
    #[command(after_help = "Example:\n  safetynet audit reports")]
    Audit {
        /// The report directory (as written by `report` or `run`).
        report: PathBuf,
        /// Audit with a wider protection width than the report was written with.
        #[arg(long)]
        protection_width: Option<u64>,
    },
    /// Compare typology shares of several reporting countries side by side
    /// (tables, chart, report), disclosure-controlled country by country.
    #[command(
        after_help = "Example:\n  safetynet compare --store store --countries US,MX,CA --from 2018 --to 2024 --out comparison"
    )]
    Compare {
        #[arg(long)]
        store: PathBuf,
        /// Reporting countries, comma-separated ISO codes (default: all in the store).
        #[arg(long, value_delimiter = ',')]
        countries: Vec<String>,
        #[command(flatten)]
        period: PeriodArgs,
        #[command(flatten)]
        disclosure: DisclosureArgs,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write one country's disclosure-controlled counts as a bundle to send
    /// to another hotline: no record-level data, no count below K.
    #[command(
        after_help = "Example:\n  safetynet share --store store --country MX --from 2018 --to 2024 --out mx-2018-2024.snb"
    )]
    Share {
        #[arg(long)]
        store: PathBuf,
        /// The reporting country whose figures are shared.
        #[arg(long)]
        country: String,
        #[command(flatten)]
        period: PeriodArgs,
        #[command(flatten)]
        disclosure: DisclosureArgs,
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify bundles from several hotlines and write the comparison from
    /// them alone.
    #[command(after_help = "Example:\n  safetynet merge us.snb mx.snb ca.snb --out comparison")]
    Merge {
        #[arg(required = true)]
        bundles: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Run the whole pipeline from a config file: ingest, classify, report.
    #[command(after_help = "Example:\n  safetynet run --config safetynet.toml")]
    Run {
        #[arg(long, default_value = "safetynet.toml")]
        config: PathBuf,
    },
    /// Measure classification throughput on generated records (not a test).
    #[command(
        after_help = "Example (release build):\n  cargo run --release -- bench-classify --records 10000000"
    )]
    BenchClassify {
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Run read-only SQL over the store (the table is `cases`). The result is
    /// not disclosure-controlled: internal work only (publish with `report`).
    #[command(
        after_help = "Examples:\n  safetynet query --store store \"SELECT typology_name, count(*) AS n FROM cases GROUP BY 1 ORDER BY 2 DESC\"\n  safetynet query --store store --format csv --file queries/my_table.sql"
    )]
    Query {
        #[arg(long)]
        store: PathBuf,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Values bound to $from_year, $to_year, $countries and $unit.
        #[command(flatten)]
        selection: SelectionArgs,
        /// Read the SQL from a file.
        #[arg(long, conflicts_with = "sql")]
        file: Option<PathBuf>,
        #[arg(required_unless_present = "file")]
        sql: Option<String>,
    },
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Validate a directory (CSV or XLSX: org_id, name, country, subdivision,
    /// services, populations, forms) and store it; bad rows are quarantined.
    #[command(
        after_help = "Example:\n  safetynet directory import sample-data/directory.csv --store store"
    )]
    Import {
        file: PathBuf,
        #[arg(long)]
        store: PathBuf,
        #[command(flatten)]
        read: ReadArgs,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a synthetic directory of fictional organisations.
    #[command(
        after_help = "Example:\n  safetynet directory generate --countries US,MX,CA --seed 1 --out sample-data/directory.csv"
    )]
    Generate {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_delimiter = ',', default_value = "US")]
        countries: Vec<String>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum MappingCommand {
    /// List what a mapping leaves unmapped in a sample export (columns and
    /// values, with counts). Stores nothing.
    #[command(
        after_help = "Example:\n  safetynet mapping check mappings/mx_hotline.toml --sample sample-data/mx_hotline.csv"
    )]
    Check {
        /// The mapping file, or the name of a built-in one (ctdc, ctdc-synthetic, htcds).
        mapping: String,
        /// A sample export in the mapping's layout.
        #[arg(long)]
        sample: PathBuf,
        /// Container of the sample (guessed from its name when omitted).
        #[arg(long, value_enum)]
        format: Option<Format>,
        #[arg(long)]
        country: Option<String>,
        #[command(flatten)]
        read: ReadArgs,
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Print the findings as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// How to read an input container, when detection is not enough.
#[derive(clap::Args)]
struct ReadArgs {
    /// Text encoding: utf-8, windows-1252, latin1, utf-16le, ... (detected when omitted).
    #[arg(long)]
    encoding: Option<String>,
    /// Field delimiter of delimited text: one character or `tab` (sniffed when omitted).
    #[arg(long)]
    delimiter: Option<String>,
    /// Worksheet of a workbook (the first sheet when omitted).
    #[arg(long)]
    sheet: Option<String>,
}

impl ReadArgs {
    fn options(&self) -> Result<safetynet::readers::ReadOptions, safetynet::Error> {
        let encoding = match &self.encoding {
            None => None,
            Some(label) => Some(safetynet::decode::encoding_for_label(label).ok_or_else(|| {
                safetynet::Error::Usage(format!("--encoding: '{label}' is not an encoding name"))
            })?),
        };
        let delimiter = match &self.delimiter {
            None => None,
            Some(d) => Some(safetynet::ingest::parse_delimiter(d)?),
        };
        Ok(safetynet::readers::ReadOptions {
            encoding,
            delimiter,
            sheet: self.sheet.clone(),
            expected_columns: Vec::new(),
        })
    }
}

fn print_directory_summary(s: &safetynet::directory::ImportSummary) {
    let c = &s.counts;
    if !s.imported {
        println!(
            "{}: already imported (same content); nothing changed",
            s.file
        );
        return;
    }
    println!(
        "{}: read {} = stored {} + quarantined {} + duplicates {}; {} organisations in the directory",
        s.file, c.read, c.stored, c.quarantined, c.duplicates, s.organizations_in_store
    );
    if let Some(q) = &s.quarantine_file {
        println!("quarantined rows with their reasons: {}", q.display());
    }
}

/// Years and unit of `compare` and `share`.
#[derive(clap::Args)]
struct PeriodArgs {
    /// First year of registration (default: the earliest in the store).
    #[arg(long = "from")]
    from_year: Option<i32>,
    /// Last year of registration (default: the latest in the store).
    #[arg(long = "to")]
    to_year: Option<i32>,
    /// victims (records) or cases (distinct case ids).
    #[arg(long, value_enum, default_value_t = Unit::Victims)]
    unit: Unit,
}

fn country_codes(codes: &[String], flag: &str) -> Result<Vec<String>, safetynet::Error> {
    codes
        .iter()
        .map(|c| {
            safetynet::countries::normalise_alpha2(c).ok_or_else(|| {
                safetynet::Error::Usage(format!("{flag}: '{c}' is not an ISO 3166-1 alpha-2 code"))
            })
        })
        .collect()
}

fn write_comparison(
    aggregates: &[safetynet::exchange::Aggregates],
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let comparison = safetynet::exchange::compare(aggregates)?;
    let written = safetynet::exchange::compare::write(&comparison, out)?;
    println!(
        "wrote {} files to {} comparing {} from {} to {}",
        written.len(),
        out.display(),
        comparison.countries.join(", "),
        comparison.from_year,
        comparison.to_year
    );
    Ok(())
}

/// The disclosure-control options of `report`.
#[derive(clap::Args)]
struct DisclosureArgs {
    /// K: counts from 1 to K-1 are suppressed (10 as CTDC; 3 is the Polaris convention).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..))]
    min_cell: u64,
    /// The narrowest range a suppressed count may be worked out to (default: K).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    protection_width: Option<u64>,
    /// Internal work only: no suppression; every output is stamped NOT FOR PUBLICATION.
    #[arg(long)]
    no_suppression: bool,
}

impl DisclosureArgs {
    fn policy(&self) -> Policy {
        Policy {
            min_cell: self.min_cell,
            width: self.protection_width,
            suppression: !self.no_suppression,
        }
    }
}

/// The report's selection, shared by `report` and `query`.
#[derive(clap::Args)]
struct SelectionArgs {
    /// First year of registration (default: the earliest in the store).
    #[arg(long = "from")]
    from_year: Option<i32>,
    /// Last year of registration (default: the latest in the store).
    #[arg(long = "to")]
    to_year: Option<i32>,
    /// Reporting countries, comma-separated ISO codes (default: all).
    #[arg(long = "country", value_delimiter = ',')]
    countries: Vec<String>,
    /// victims (records) or cases (distinct case ids).
    #[arg(long, value_enum, default_value_t = Unit::Victims)]
    unit: Unit,
}

impl SelectionArgs {
    fn selection(&self) -> Result<Selection, safetynet::Error> {
        let countries = country_codes(&self.countries, "--country")?;
        Ok(Selection {
            from_year: self.from_year,
            to_year: self.to_year,
            countries,
            unit: self.unit,
        })
    }
}

/// The query runtime. DataFusion reads local files on tokio's blocking
/// threads; left at tokio's default of up to 512 of them, each kept its own
/// allocator heap and a 10M-record report peaked at 1.2 GB. A few threads
/// read as fast on two cores.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
        .context("starting the query runtime")
}

const BLOCKING_THREADS: usize = 4;

fn report(store: &Store, out: &std::path::Path, options: &ReportOptions) -> anyhow::Result<()> {
    let report = runtime()?.block_on(safetynet::report::build(store, options))?;
    let (written, audited) = safetynet::report::write_replacing(&report, out)?;
    let c = &report.context;
    match audited {
        Some(audit) => println!(
            "wrote {} files to {} ({} counts below {} suppressed, {} more to protect them, {} derived figures \
             withheld; audit passed: every suppressed count has a range of at least {})",
            written.len(),
            out.display(),
            c.outcome.primary,
            c.policy.min_cell,
            c.outcome.secondary,
            c.outcome.withheld,
            audit.width
        ),
        None => {
            println!("wrote {} files to {}", written.len(), out.display());
            eprintln!("{}", safetynet::report::render::NOT_FOR_PUBLICATION);
        }
    }
    Ok(())
}

/// Prints a summary as one JSON object (for `--json`).
fn print_json(summary: &impl serde::Serialize) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string(summary).context("serialising summary")?
    );
    Ok(())
}

fn parse_years(text: &str) -> Result<(i32, i32), safetynet::Error> {
    let bad = || safetynet::Error::Usage(format!("--years '{text}' is not a range like 2015-2024"));
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let show_progress = !cli.quiet;
    safetynet::query::set_memory_limit(cli.memory_limit);
    match cli.command {
        Command::Generate {
            records,
            seed,
            countries,
            years,
            mapping,
            out,
        } => {
            let (first_year, last_year) = parse_years(&years)?;
            let layout = match &mapping {
                Some(path) => Some(safetynet::mapping::MappingSpec::load(path)?),
                None => None,
            };
            let countries = countries
                .iter()
                .map(|c| c.trim().to_ascii_uppercase())
                .collect();
            let n = safetynet::generate::generate(&safetynet::generate::GenerateOptions {
                records,
                seed,
                countries,
                first_year,
                last_year,
                out: out.clone(),
                layout,
                show_progress,
            })?;
            eprintln!("wrote {n} synthetic records to {}", out.display());
        }
        Command::Mapping(MappingCommand::Check {
            mapping,
            sample,
            format,
            country,
            read,
            rules,
            json,
        }) => {
            let rules = Rules::load(rules.as_deref())?;
            let spec = match safetynet::mapping::builtin::load(&mapping) {
                Some(spec) => spec?,
                None => safetynet::mapping::MappingSpec::load(std::path::Path::new(&mapping))?,
            };
            let container = match format.and_then(Format::container) {
                Some(c) => c,
                None => safetynet::readers::InputFormat::from_path(&sample).ok_or_else(|| {
                    safetynet::Error::bad_input(
                        &sample,
                        "cannot tell the format from the file name; pass --format",
                    )
                })?,
            };
            let mut read = read.options()?;
            read.expected_columns = spec.read_columns();
            let report =
                safetynet::mapping::check::check(&safetynet::mapping::check::CheckInput {
                    spec: &spec,
                    sample: &sample,
                    format: container,
                    read: &read,
                    country: country.as_deref(),
                    rules: &rules,
                })?;
            if json {
                print_json(&report)?;
            } else {
                print!("{}", report.render());
            }
        }
        Command::Ingest {
            files,
            store,
            format,
            mapping,
            country,
            read,
            rules,
            json,
        } => {
            let rules = Rules::load(rules.as_deref())?;
            let (container, mapping) =
                safetynet::ingest::resolve_layout(format, mapping.as_deref())?;
            let summary = safetynet::ingest::ingest(
                &store,
                &files,
                &safetynet::ingest::IngestOptions {
                    format: container,
                    mapping,
                    country,
                    read: read.options()?,
                    rules: &rules,
                    show_progress,
                },
            )?;
            if json {
                print_json(&summary)?;
            } else {
                println!(
                    "{:<40} {:>10} {:>10} {:>12} {:>11}  status",
                    "file", "read", "stored", "quarantined", "duplicates"
                );
                for f in &summary.files {
                    println!(
                        "{:<40} {:>10} {:>10} {:>12} {:>11}  {}",
                        f.file,
                        f.counts.read,
                        f.counts.stored,
                        f.counts.quarantined,
                        f.counts.duplicates,
                        f.status
                    );
                }
                let t = &summary.totals;
                println!(
                    "{:<40} {:>10} {:>10} {:>12} {:>11}  read = stored + quarantined + duplicates",
                    "total", t.read, t.stored, t.quarantined, t.duplicates
                );
                for f in summary.files.iter().filter(|f| f.quarantine_file.is_some()) {
                    println!(
                        "quarantine of {}: {}",
                        f.file,
                        store
                            .join(f.quarantine_file.as_ref().expect("filtered"))
                            .display()
                    );
                }
            }
        }
        Command::Classify {
            store,
            rules,
            top,
            json,
        } => {
            let rules = Rules::load(rules.as_deref())?;
            let store = Store::open(&store)?;
            let summary = safetynet::reclassify::reclassify(&store, &rules, show_progress, top)?;
            if json {
                print_json(&summary)?;
            } else {
                println!(
                    "reclassified {} records with rules {}: {} changed type",
                    summary.records, summary.rules_version, summary.changed
                );
                for (status, n) in &summary.by_status {
                    println!("  {status:<13} {n:>10}");
                }
                println!(
                    "records with a venue text that got a type or extension category: {:.1}%",
                    summary.venue_coverage * 100.0
                );
                if !summary.unmatched_venues.is_empty() {
                    println!(
                        "most frequent venue texts that matched no rule (add rules for these):"
                    );
                    for (venue, n) in &summary.unmatched_venues {
                        println!("  {n:>8}  {venue}");
                    }
                }
            }
        }
        Command::Explain {
            store,
            rules,
            record_id,
        } => {
            let rules = Rules::load(rules.as_deref())?;
            let store = Store::open(&store)?;
            let e = safetynet::reclassify::explain(&store, &rules, &record_id)?;
            print!("{}", render_explanation(&e, &rules));
        }
        Command::Report {
            store,
            out,
            selection,
            disclosure,
            queries,
            population,
            needs,
        } => {
            let store = Store::open(&store)?;
            let options = ReportOptions {
                selection: selection.selection()?,
                policy: disclosure.policy(),
                extra_queries: queries,
                population,
                needs,
            };
            report(&store, &out, &options)?;
        }
        Command::Audit {
            report,
            protection_width,
        } => {
            let audit = safetynet::report::audit::audit_dir(&report, protection_width)?;
            if !audit.findings.is_empty() {
                return Err(safetynet::Error::AuditFailed {
                    findings: audit.findings,
                }
                .into());
            }
            println!(
                "audit passed: {} tables, {} suppressed counts, each with a range of at least {}",
                audit.tables, audit.suppressed, audit.width
            );
        }
        Command::Directory(DirectoryCommand::Import {
            file,
            store,
            read,
            json,
        }) => {
            let summary = safetynet::directory::import(&store, &file, &read.options()?)?;
            if json {
                print_json(&summary)?;
            } else {
                print_directory_summary(&summary);
            }
        }
        Command::Directory(DirectoryCommand::Generate {
            seed,
            countries,
            out,
        }) => {
            let countries = country_codes(&countries, "--countries")?;
            let text = safetynet::directory::generate::directory_csv(&countries, seed);
            std::fs::write(&out, &text).map_err(|e| safetynet::Error::io(&out, e))?;
            println!(
                "wrote {} fictional organisations to {}",
                text.lines().count() - 1,
                out.display()
            );
        }
        Command::Gaps {
            store,
            out,
            selection,
            disclosure,
            needs,
        } => {
            if selection.unit != Unit::Victims {
                return Err(safetynet::Error::Usage(
                    "gaps counts victims (each victim needs services): --unit cases does not apply"
                        .into(),
                )
                .into());
            }
            let store = Store::open(&store)?;
            let gaps = runtime()?.block_on(safetynet::gaps::build_for_store(
                &store,
                &selection.selection()?,
                disclosure.policy(),
                needs.as_deref(),
                [
                    "01_service_gaps",
                    "02_demand_and_supply",
                    "03_directory_coverage",
                ],
            ))?;
            let written = safetynet::gaps::write(&gaps, disclosure.policy(), &out)?;
            println!(
                "wrote {} files to {} ({} gaps ranked)",
                written.len(),
                out.display(),
                gaps.tables[0].rows.len()
            );
            if !disclosure.policy().suppression {
                eprintln!("{}", safetynet::report::render::NOT_FOR_PUBLICATION);
            }
        }
        Command::Compare {
            store,
            countries,
            period,
            disclosure,
            out,
        } => {
            let store = Store::open(&store)?;
            let request = safetynet::exchange::Request {
                countries: country_codes(&countries, "--countries")?,
                from_year: period.from_year,
                to_year: period.to_year,
                unit: period.unit,
                policy: disclosure.policy(),
            };
            let aggregates = runtime()?
                .block_on(safetynet::exchange::aggregates_from_store(&store, &request))?;
            write_comparison(&aggregates, &out)?;
        }
        Command::Share {
            store,
            country,
            period,
            disclosure,
            out,
        } => {
            if disclosure.no_suppression {
                return Err(safetynet::Error::Usage(
                    "share never leaves without disclosure control: --no-suppression cannot be combined with sharing"
                        .into(),
                )
                .into());
            }
            let store = Store::open(&store)?;
            let request = safetynet::exchange::Request {
                countries: country_codes(std::slice::from_ref(&country), "--country")?,
                from_year: period.from_year,
                to_year: period.to_year,
                unit: period.unit,
                policy: disclosure.policy(),
            };
            let aggregates = runtime()?
                .block_on(safetynet::exchange::aggregates_from_store(&store, &request))?;
            let manifest =
                safetynet::exchange::bundle::write(&aggregates[0], store.input_names(), &out)?;
            println!(
                "wrote {}: {} {}–{}, {} tables of counts (no records), threshold {}",
                out.display(),
                manifest.scope.country,
                manifest.scope.from_year,
                manifest.scope.to_year,
                manifest.tables.len(),
                manifest.scope.min_cell
            );
        }
        Command::Merge { bundles, out } => {
            let mut aggregates = Vec::new();
            for path in &bundles {
                let (_, a) = safetynet::exchange::bundle::read(path)?;
                aggregates.push(a);
            }
            write_comparison(&aggregates, &out)?;
        }
        Command::Run { config } => {
            let config = safetynet::config::Config::load(&config)?;
            let rules = Rules::load(config.rules.as_deref())?;
            {
                let store = Store::open_or_new(&config.store)?;
                if store.exists() && store.manifest().rules_sha256 != rules.sha256 {
                    let s = safetynet::reclassify::reclassify(&store, &rules, show_progress, 0)?;
                    println!(
                        "reclassified {} records with rules {}: {} changed type",
                        s.records, s.rules_version, s.changed
                    );
                }
            }
            // one ingest per input: each may have its own layout
            let mut totals = safetynet::store::Counts::default();
            for input in &config.inputs {
                let (container, mapping) =
                    safetynet::ingest::resolve_layout(input.format, input.mapping.as_deref())?;
                let summary = safetynet::ingest::ingest(
                    &config.store,
                    std::slice::from_ref(&input.path),
                    &safetynet::ingest::IngestOptions {
                        format: container,
                        mapping,
                        country: input.country.clone(),
                        read: Default::default(),
                        rules: &rules,
                        show_progress,
                    },
                )?;
                totals.add(&summary.totals);
            }
            let t = &totals;
            println!(
                "ingest: read {} = stored {} + quarantined {} + duplicates {}",
                t.read, t.stored, t.quarantined, t.duplicates
            );
            if let Some(directory) = &config.directory {
                let summary =
                    safetynet::directory::import(&config.store, directory, &Default::default())?;
                print_directory_summary(&summary);
            }
            let store = Store::open(&config.store)?;
            let options = ReportOptions {
                selection: Selection {
                    from_year: config.report.from,
                    to_year: config.report.to,
                    countries: config.report.countries.clone(),
                    unit: config.report.unit,
                },
                policy: Policy {
                    min_cell: config.report.min_cell,
                    width: config.report.protection_width,
                    suppression: true,
                },
                extra_queries: None,
                population: config.report.population.clone(),
                needs: config.report.needs.clone(),
            };
            report(&store, &config.out, &options)?;
        }
        Command::BenchClassify {
            records,
            seed,
            rules,
        } => {
            let rules = Rules::load(rules.as_deref())?;
            let r = safetynet::bench::classify(records, seed, &rules)?;
            println!(
                "classified {} records in {:.2} s: {:.0} records/s",
                r.records, r.seconds, r.records_per_second
            );
        }
        Command::Query {
            store,
            format,
            selection,
            file,
            sql,
        } => {
            let sql = match (file, sql) {
                (Some(path), _) => {
                    std::fs::read_to_string(&path).map_err(|e| safetynet::Error::io(&path, e))?
                }
                (None, Some(sql)) => sql,
                (None, None) => unreachable!("clap requires one"),
            };
            let store = Store::open(&store)?;
            let selection = selection.selection()?;
            if show_progress {
                eprintln!(
                    "note: query results are not disclosure-controlled: NOT FOR PUBLICATION (publish with `report`)"
                );
            }
            let output = runtime()?.block_on(async {
                let ctx = safetynet::query::session(&store).await?;
                let batches = if sql.contains('$') {
                    let (from, to) = safetynet::report::year_range(&ctx).await?;
                    let params = safetynet::report::parameters(
                        &selection,
                        selection.from_year.unwrap_or(from),
                        selection.to_year.unwrap_or(to),
                    );
                    safetynet::report::run_with_parameters(&ctx, &sql, params).await?
                } else {
                    safetynet::query::run_sql(&ctx, &sql).await?
                };
                safetynet::query::render(&batches, format)
            })?;
            print!("{output}");
        }
    }
    Ok(())
}

fn render_explanation(e: &safetynet::reclassify::RecordExplanation, rules: &Rules) -> String {
    let d = &e.explanation.decision;
    let mut out = String::new();
    out += &format!("record      {}\n", e.record_id);
    out += &format!("form        {}\n", e.form);
    out += &format!(
        "sectors     {}\n",
        if e.sectors.is_empty() {
            "(none)".into()
        } else {
            e.sectors.join(", ")
        }
    );
    out += &format!("venue       {}\n", e.venue.as_deref().unwrap_or("(none)"));
    match (d.typology_id, d.extension_category) {
        (Some(id), _) => {
            out += &format!(
                "type        {id} {}\n",
                d.typology_name.as_deref().unwrap_or("")
            )
        }
        (None, Some(ext)) => out += &format!("extension   {ext} (outside the 25 types)\n"),
        _ => {
            out += &format!(
                "type        undetermined: {}\n",
                d.undetermined_reason.as_deref().unwrap_or("")
            )
        }
    }
    if let Some(rule) = &d.rule_id {
        out += &format!(
            "rule        {rule} (confidence {})\n",
            d.confidence.unwrap_or("")
        );
        out += &format!("evidence    {}\n", d.evidence.as_deref().unwrap_or(""));
    }
    if e.stored_rule != d.rule_id {
        out += &format!(
            "note        the store holds rule {} for this record; run `classify` to apply rules {}\n",
            e.stored_rule.as_deref().unwrap_or("(none)"),
            rules.version
        );
    }
    if e.explanation.near_misses.is_empty() {
        out += "close       no other rule matched any part of this record\n";
    } else {
        out += "close       rules that matched part of this record:\n";
        for m in &e.explanation.near_misses {
            out += &format!("  {:<32} {}\n", m.rule_id, m.why_not);
        }
    }
    out
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap's usage errors are exit 2 like all bad input; --help is 0
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = error
                .downcast_ref::<safetynet::Error>()
                .map(safetynet::Error::exit_code)
                .unwrap_or(1);
            eprintln!("error: {error:#}");
            ExitCode::from(code as u8)
        }
    }
}
