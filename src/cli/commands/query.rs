//! `safetynet query`.

use super::prelude::*;
use safetynet::sql::engine::OutputFormat;
use safetynet::sql::perturb::CountSettings;

#[derive(clap::Args)]
pub struct Args {
    /// The store (default: the `store` of the config file).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// The config file whose store is used when --store is not given.
    #[arg(long, default_value = "safetynet.toml")]
    pub config: PathBuf,
    /// table, csv, json (an array), ndjson (one object per line), parquet or
    /// xlsx (parquet and xlsx need --output).
    #[arg(long, default_value = "table", value_parser = output_format_parser())]
    pub format: OutputFormat,
    /// Write the results to this file (a new one) instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Values bound to $from_year, $to_year, $countries and $unit.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Read the SQL from a file.
    #[arg(long, conflicts_with = "sql")]
    pub file: Option<PathBuf>,
    #[arg(required_unless_present = "file")]
    pub sql: Option<String>,
    /// Stop the query after this many seconds (0: no limit).
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Say on standard error how long the statement took: planned, run and
    /// its last row collected (with the look-up of the store's years when
    /// --from or --to is not given); not the process's start, the opening of
    /// the store or the writing of the output.
    #[arg(long)]
    pub timing: bool,
}

pub fn run(args: Args, globals: &Globals) -> anyhow::Result<()> {
    let Args {
        store,
        config,
        format,
        output: output_file,
        selection,
        file,
        sql,
        timeout,
        timing,
    } = args;

    let sql = match (file, sql) {
        (Some(path), _) => {
            std::fs::read_to_string(&path).map_err(|e| safetynet::Error::io(&path, e))?
        }
        (None, Some(sql)) => sql,
        (None, None) => unreachable!("clap requires one"),
    };
    let store = match store {
        Some(store) => store,
        None if config.exists() => safetynet::pipeline::config::Config::load(&config)?.store,
        None => {
            return Err(safetynet::Error::Usage(
                "give the store with --store (or run where a config file names it: --config, default safetynet.toml)"
                    .into(),
            )
            .into());
        }
    };
    if output_file.is_none() && !safetynet::sql::output::is_text(format) {
        return Err(safetynet::Error::Usage(
            "--format parquet and xlsx are written to a file: give --output FILE".into(),
        )
        .into());
    }
    if let Some(path) = &output_file {
        safetynet::sql::output::refuse_existing(path)?;
    }
    let store = Store::open(&store)?;
    let selection = selection.selection()?;
    if globals.show_progress {
        eprintln!(
            "note: query results are not disclosure-controlled: NOT FOR PUBLICATION (publish with `report`)"
        );
    }
    let engine = globals.engine;
    let timeout = (timeout > 0).then(|| std::time::Duration::from_secs(timeout));
    let batches = safetynet::sql::engine::runtime()?.block_on(async {
        let ctx = safetynet::sql::engine::session(&store, engine).await?;
        let counting = CountSettings::for_query(store.cell_key_secret()?, selection.unit);
        safetynet::sql::perturb::register(&ctx, counting);
        let started = std::time::Instant::now();
        let batches = safetynet::sql::engine::within(
            timeout,
            safetynet::sql::selection::run_user_sql(&ctx, &sql, &selection),
        )
        .await?;
        if timing {
            // the span a database's own timer gives (DuckDB's, in the
            // benchmark, from execute to the last row fetched), so that the
            // two can be compared without either process's start
            eprintln!(
                "query took {:.6} s (planned, run, last row collected)",
                started.elapsed().as_secs_f64()
            );
        }
        Ok::<_, safetynet::Error>(batches)
    })?;
    // every file read is still there: DataFusion reads a listed file that
    // has gone as empty (see `store::readers`)
    safetynet::store::verify::check_sizes(&store)?;
    if let Some(path) = output_file {
        safetynet::sql::output::write_file(&batches, format, &path)?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        eprintln!("wrote {rows} rows to {}", shown(&path));
        return Ok(());
    }
    let output = safetynet::sql::engine::render(&batches, format)?;
    // CSV and JSON keep values as they are for the program reading them;
    // to a terminal, escape sequences from the data are shown, not obeyed
    // (the table format has escaped them already)
    use std::io::IsTerminal as _;
    if std::io::stdout().is_terminal() {
        crate::cli::output::to_stdout(&safetynet::base::escape::terminal_lines(&output))?;
    } else {
        crate::cli::output::to_stdout(&output)?;
    }

    Ok(())
}
