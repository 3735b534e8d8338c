//! The command line: arguments, the settings they become, and one module
//! per command (`commands/`). Each command turns its arguments into the
//! library's options, calls the library, and prints; nothing here carries
//! out a pipeline step itself.

pub mod args;
pub mod commands;
pub mod output;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "safetynet",
    version,
    about = "Anti-trafficking case exports into a classified Parquet store, and publication-safe statistics",
    after_help = "Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage, 3 audit failed or store damaged."
)]
pub struct Cli {
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Memory the SQL engine may use before spilling to disk (report,
    /// query, compare, share, gaps), e.g. 512M or 2G.
    #[arg(long, global = true, default_value = "512M", value_parser = safetynet::sql::engine::parse_size)]
    pub memory_limit: usize,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Write a synthetic export in the canonical layout (CSV, JSON lines or Parquet by extension).
    #[command(
        after_help = "Example:\n  safetynet generate --records 5000 --seed 1 --countries US --years 2015-2024 --out us.csv"
    )]
    Generate(commands::generate::Args),
    /// Validate, classify and store case exports; bad rows go to the store's quarantine.
    #[command(
        after_help = "Example:\n  safetynet ingest sample-data/us_hotline.csv sample-data/mx_hotline.csv --store store --json"
    )]
    Ingest(commands::ingest::Args),
    /// Work on mapping files (declarative layouts of other exports).
    #[command(subcommand)]
    Mapping(commands::mapping::Command),
    /// The directory of organisations and the services they offer.
    #[command(subcommand)]
    Directory(commands::directory::Command),
    /// Published aggregates (UNODC, national reports) kept beside the records.
    #[command(subcommand)]
    Reference(commands::reference::Command),
    /// Where services for survivors are lacking: demand from the cases beside
    /// the organisations of the directory, gaps ranked by unmet demand.
    #[command(
        after_help = "Example:\n  safetynet gaps --store store --out gaps --from 2020 --to 2024"
    )]
    Gaps(commands::gaps::Args),
    /// Reclassify every record of the store (atomically) after a rules change.
    #[command(after_help = "Example:\n  safetynet classify --store store --rules my-rules.toml")]
    Classify(commands::classify::Args),
    /// Show a record's type, the rule and evidence that placed it, and the rules that came close.
    #[command(after_help = "Example:\n  safetynet explain --store store US-0000042")]
    Explain(commands::explain::Args),
    /// Write the report: tables (CSV, XLSX), charts (SVG, PNG), HTML and Markdown.
    #[command(
        after_help = "Example:\n  safetynet report --store store --out reports --from 2018 --to 2024 --country US,MX --unit cases --min-cell 10"
    )]
    Report(commands::report::Args),
    /// Check a written report's disclosure control: no published count below
    /// K, and no suppressed count that the published numbers narrow to a
    /// range smaller than the protection width. Exit code 3 when it fails.
    #[command(after_help = "Example:\n  safetynet audit reports")]
    Audit(commands::audit::Args),
    /// Compare typology shares of several reporting countries side by side
    /// (tables, chart, report), disclosure-controlled country by country.
    #[command(
        after_help = "Example:\n  safetynet compare --store store --countries US,MX,CA --from 2018 --to 2024 --out comparison"
    )]
    Compare(commands::compare::Args),
    /// Write one country's disclosure-controlled counts as a bundle to send
    /// to another hotline: no record-level data, no count below K.
    #[command(
        after_help = "Example:\n  safetynet share --store store --country MX --from 2018 --to 2024 --out mx-2018-2024.snb"
    )]
    Share(commands::share::Args),
    /// Verify bundles from several hotlines and write the comparison from
    /// them alone.
    #[command(after_help = "Example:\n  safetynet merge us.snb mx.snb ca.snb --out comparison")]
    Merge(commands::merge::Args),
    /// Run the whole pipeline from a config file: ingest, classify, report.
    #[command(after_help = "Example:\n  safetynet run --config safetynet.toml")]
    Run(commands::run::Args),
    /// Measure classification throughput on generated records (not a test).
    #[command(
        after_help = "Example (release build):\n  cargo run --release -- bench-classify --records 10000000"
    )]
    BenchClassify(commands::bench_classify::Args),
    /// Run read-only SQL over the store (the table is `cases`). The result is
    /// not disclosure-controlled: internal work only (publish with `report`).
    #[command(
        after_help = "Examples:\n  safetynet query --store store \"SELECT typology_name, count(*) AS n FROM cases GROUP BY 1 ORDER BY 2 DESC\"\n  safetynet query --store store --format csv --file queries/my_table.sql"
    )]
    Query(commands::query::Args),
    /// List the release ledger: every publication made from the store
    /// (report, gaps, compare, share), with its scope and settings.
    #[command(after_help = "Example:\n  safetynet releases --store store")]
    Releases(commands::releases::Args),
    /// Check that every file of the store is there, with the size and
    /// SHA-256 it was written with. Exit code 3 when one is not.
    #[command(after_help = "Example:\n  safetynet verify --store store")]
    Verify(commands::verify::Args),
}

/// What every command may need besides its own arguments.
pub struct Globals {
    pub show_progress: bool,
    pub engine: safetynet::sql::engine::EngineSettings,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let globals = Globals {
        show_progress: !cli.quiet,
        engine: safetynet::sql::engine::EngineSettings {
            memory_limit: cli.memory_limit,
        },
    };
    match cli.command {
        Command::Mapping(command) => commands::mapping::run(command, &globals),
        Command::Directory(command) => commands::directory::run(command, &globals),
        Command::Reference(command) => commands::reference::run(command, &globals),
        Command::Generate(args) => commands::generate::run(args, &globals),
        Command::Ingest(args) => commands::ingest::run(args, &globals),
        Command::Gaps(args) => commands::gaps::run(args, &globals),
        Command::Classify(args) => commands::classify::run(args, &globals),
        Command::Explain(args) => commands::explain::run(args, &globals),
        Command::Report(args) => commands::report::run(args, &globals),
        Command::Audit(args) => commands::audit::run(args, &globals),
        Command::Compare(args) => commands::compare::run(args, &globals),
        Command::Share(args) => commands::share::run(args, &globals),
        Command::Merge(args) => commands::merge::run(args, &globals),
        Command::Run(args) => commands::run::run(args, &globals),
        Command::BenchClassify(args) => commands::bench_classify::run(args, &globals),
        Command::Query(args) => commands::query::run(args, &globals),
        Command::Verify(args) => commands::verify::run(args, &globals),
        Command::Releases(args) => commands::releases::run(args, &globals),
    }
}
