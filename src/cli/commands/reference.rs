//! `safetynet reference import`.

use super::prelude::*;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Store published aggregates (country, year, form, count; optionally
    /// sex, age_group, source) beside the records, for the report's
    /// comparison with them. They are never counted as records.
    #[command(
        after_help = "Example:\n  safetynet reference import glotip.csv --store store --source \"UNODC GLOTIP 2024\""
    )]
    Import {
        file: PathBuf,
        #[arg(long)]
        store: PathBuf,
        /// Whose figures they are, for a file without a `source` column.
        #[arg(long)]
        source: Option<String>,
        /// The rules file whose label tables read the form, sex and age group.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: Command, _globals: &Globals) -> anyhow::Result<()> {
    match command {
        Command::Import {
            file,
            store,
            source,
            rules,
            json,
        } => {
            // an existing store only: published figures belong beside records
            let store = Store::open(&store)?;
            let rules = safetynet::classify::rules::Rules::load(rules.as_deref())?;
            let summary =
                safetynet::reference::import(store.root(), &file, &rules, source.as_deref())?;
            if json {
                print_json(&summary)?;
            } else if summary.imported {
                println!(
                    "{}: {} published figures stored ({} in the store)",
                    summary.file, summary.rows, summary.rows_in_store
                );
            } else {
                println!(
                    "{}: already imported ({} figures); nothing changed",
                    summary.file, summary.rows
                );
            }
        }
    }
    Ok(())
}
