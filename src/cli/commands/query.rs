//! `safetynet query`.

use super::prelude::*;
use safetynet::sql::engine::OutputFormat;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub store: PathBuf,
    #[arg(long, default_value = "table", value_parser = output_format_parser())]
    pub format: OutputFormat,
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
}

pub fn run(args: Args, globals: &Globals) -> anyhow::Result<()> {
    let Args {
        store,
        format,
        selection,
        file,
        sql,
        timeout,
    } = args;

    let sql = match (file, sql) {
        (Some(path), _) => {
            std::fs::read_to_string(&path).map_err(|e| safetynet::Error::io(&path, e))?
        }
        (None, Some(sql)) => sql,
        (None, None) => unreachable!("clap requires one"),
    };
    let store = Store::open(&store)?;
    let selection = selection.selection()?;
    if globals.show_progress {
        eprintln!(
            "note: query results are not disclosure-controlled: NOT FOR PUBLICATION (publish with `report`)"
        );
    }
    let engine = globals.engine;
    let timeout = (timeout > 0).then(|| std::time::Duration::from_secs(timeout));
    let output = safetynet::sql::engine::runtime()?.block_on(async {
        let ctx = safetynet::sql::engine::session(&store, engine).await?;
        let batches = safetynet::sql::engine::within(
            timeout,
            safetynet::sql::selection::run_user_sql(&ctx, &sql, &selection),
        )
        .await?;
        safetynet::sql::engine::render(&batches, format)
    })?;
    // CSV and JSON keep values as they are for the program reading them;
    // to a terminal, escape sequences from the data are shown, not obeyed
    // (the table format has escaped them already)
    use std::io::IsTerminal as _;
    if std::io::stdout().is_terminal() {
        print!("{}", safetynet::base::escape::terminal_lines(&output));
    } else {
        print!("{output}");
    }

    Ok(())
}
