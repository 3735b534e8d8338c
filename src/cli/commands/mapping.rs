//! `safetynet mapping check`.

use super::prelude::*;
use safetynet::classify::rules::Rules;
use safetynet::input::ingest::Format;

#[derive(clap::Subcommand)]
pub enum Command {
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
        #[arg(long, value_parser = format_parser())]
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

pub fn run(command: Command, _globals: &Globals) -> anyhow::Result<()> {
    match command {
        Command::Check {
            mapping,
            sample,
            format,
            country,
            read,
            rules,
            json,
        } => {
            let rules = Rules::load(rules.as_deref())?;
            let spec = match safetynet::input::mapping::builtin::load(&mapping) {
                Some(spec) => spec?,
                None => {
                    safetynet::input::mapping::MappingSpec::load(std::path::Path::new(&mapping))?
                }
            };
            let container = match format.and_then(Format::container) {
                Some(c) => c,
                None => {
                    safetynet::input::readers::InputFormat::from_path(&sample).ok_or_else(|| {
                        safetynet::Error::bad_input(
                            &sample,
                            "cannot tell the format from the file name; pass --format",
                        )
                    })?
                }
            };
            let mut read = read.options()?;
            read.expected_columns = spec.read_columns();
            let report = safetynet::input::mapping_check::check(
                &safetynet::input::mapping_check::CheckInput {
                    spec: &spec,
                    sample: &sample,
                    format: container,
                    read: &read,
                    country: country.as_deref(),
                    rules: &rules,
                },
            )?;
            if json {
                print_json(&report)?;
            } else {
                print!("{}", report.render());
            }
        }
    }
    Ok(())
}
