//! `safetynet classify`.

use super::prelude::*;
use safetynet::base::escape::terminal;
use safetynet::classify::rules::Rules;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub store: PathBuf,
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// How many unmatched venue texts to list.
    #[arg(long, default_value_t = 15)]
    pub top: usize,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, globals: &Globals) -> anyhow::Result<()> {
    let Args {
        store,
        rules,
        top,
        json,
    } = args;

    let rules = Rules::load(rules.as_deref())?;
    let store = Store::open(&store)?;
    let summary =
        safetynet::classify::reclassify::reclassify(&store, &rules, globals.show_progress, top)?;
    if json {
        print_json(&summary)?;
    } else {
        println!(
            "reclassified {} records with rules {}: {} changed type",
            summary.records,
            terminal(&summary.rules_version),
            summary.changed
        );
        for (status, n) in &summary.by_status {
            println!("  {status:<13} {n:>10}");
        }
        println!(
            "records with a venue text that got a type or extension category: {:.1}%",
            summary.venue_coverage * 100.0
        );
        if !summary.unmatched_venues.is_empty() {
            println!("most frequent venue texts that matched no rule (add rules for these):");
            for (venue, n) in &summary.unmatched_venues {
                // venue texts are data: no escape sequence reaches the terminal
                println!("  {n:>8}  {}", terminal(venue));
            }
        }
    }

    Ok(())
}
