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
    /// Change nothing: group the venue texts no rule places by the word
    /// they share, and propose for each group the type and the rule to add
    /// (with how many records it would move). `--top` groups.
    #[arg(long)]
    pub suggest: bool,
}

pub fn run(args: Args, globals: &Globals) -> anyhow::Result<()> {
    let Args {
        store,
        rules,
        top,
        json,
        suggest,
    } = args;

    let rules = Rules::load(rules.as_deref())?;
    let store = Store::open(&store)?;
    if suggest {
        let unmatched = safetynet::classify::suggest::unmatched(&store, &rules)?;
        let suggestions = safetynet::classify::suggest::suggest(&rules, &unmatched, top);
        if json {
            print_json(&suggestions)?;
            return Ok(());
        }
        if suggestions.is_empty() {
            println!("every venue text is placed by a rule: nothing to suggest");
        }
        for (i, s) in suggestions.iter().enumerate() {
            // venue texts are data: no escape sequence reaches the terminal
            println!(
                "{}. '{}': {} records would move; proposed: {}{}",
                i + 1,
                terminal(&s.word),
                s.records,
                terminal(
                    s.proposed
                        .as_deref()
                        .unwrap_or("(no rule comes near: decide the type)")
                ),
                s.nearest_rule
                    .as_deref()
                    .map(|r| format!(" (as rule {})", terminal(r)))
                    .unwrap_or_default()
            );
            for (text, n) in &s.examples {
                println!("     {n:>8}  {}", terminal(text));
            }
            for line in s.rule.lines() {
                println!("     {}", terminal(line));
            }
        }
        println!(
            "nothing was changed: add the rules you agree with to your rules file and run `classify --rules FILE`"
        );
        return Ok(());
    }
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
