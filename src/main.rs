//! The `safetynet` command line: argument parsing, printing and exit codes.
//! All behaviour lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use safetynet::query::OutputFormat;
use safetynet::readers::InputFormat;
use safetynet::rules::Rules;
use safetynet::store::Store;

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
        /// Input container; guessed from the file extension when omitted.
        #[arg(long, value_enum)]
        format: Option<InputFormat>,
        /// Classification rules (TOML); the embedded default when omitted.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
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
    /// Run read-only SQL over the store (the table is `cases`).
    #[command(
        after_help = "Examples:\n  safetynet query --store store \"SELECT typology_name, count(*) AS n FROM cases GROUP BY 1 ORDER BY 2 DESC\"\n  safetynet query --store store --format csv --file queries/my_table.sql"
    )]
    Query {
        #[arg(long)]
        store: PathBuf,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Read the SQL from a file.
        #[arg(long, conflicts_with = "sql")]
        file: Option<PathBuf>,
        #[arg(required_unless_present = "file")]
        sql: Option<String>,
    },
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
    match cli.command {
        Command::Generate {
            records,
            seed,
            countries,
            years,
            out,
        } => {
            let (first_year, last_year) = parse_years(&years)?;
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
                show_progress,
            })?;
            eprintln!("wrote {n} synthetic records to {}", out.display());
        }
        Command::Ingest {
            files,
            store,
            format,
            rules,
            json,
        } => {
            let rules = Rules::load(rules.as_deref())?;
            let summary = safetynet::ingest::ingest(
                &store,
                &files,
                &safetynet::ingest::IngestOptions {
                    format,
                    rules: &rules,
                    show_progress,
                },
            )?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&summary).context("serialising summary")?
                );
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
                println!(
                    "{}",
                    serde_json::to_string(&summary).context("serialising summary")?
                );
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
        Command::Query {
            store,
            format,
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
            let runtime = tokio::runtime::Runtime::new().context("starting the query runtime")?;
            let output = runtime.block_on(async {
                let ctx = safetynet::query::session(&store).await?;
                let batches = safetynet::query::run_sql(&ctx, &sql).await?;
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
