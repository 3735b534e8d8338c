//! `safetynet directory import` and `safetynet directory generate`.

use super::prelude::*;

#[derive(clap::Subcommand)]
pub enum Command {
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
        after_help = "Example:\n  safetynet directory generate --countries US,MX,CA --seed 1 --out directory.csv"
    )]
    Generate {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_delimiter = ',', default_value = "US")]
        countries: Vec<String>,
        #[arg(long)]
        out: PathBuf,
        /// Write over the file at --out if there is one.
        #[arg(long)]
        replace: bool,
    },
}

pub fn run(command: Command, _globals: &Globals) -> anyhow::Result<()> {
    match command {
        Command::Import {
            file,
            store,
            read,
            json,
        } => {
            let summary = safetynet::directory::import(&store, &file, &read.options()?)?;
            if json {
                print_json(&summary)?;
            } else {
                print_directory_summary(&summary);
            }
        }
        Command::Generate {
            seed,
            countries,
            out,
            replace,
        } => {
            refuse_to_replace(&out, replace)?;
            let countries = safetynet::base::countries::checked_codes(&countries, "--countries")?;
            let text = safetynet::directory::generate::directory_csv(&countries, seed);
            std::fs::write(&out, &text).map_err(|e| safetynet::Error::io(&out, e))?;
            println!(
                "wrote {} fictional organisations to {}",
                text.lines().count() - 1,
                shown(&out)
            );
        }
    }
    Ok(())
}
