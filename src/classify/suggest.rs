//! `classify --suggest`: learning from the analyst. The venue texts no rule
//! places are grouped by the word they share most (by records, stemmed, so
//! "kitchens" and "kitchen" are one group), and for each group the tool
//! proposes the type the nearest rule gives and the rule that would place
//! the group, with how many records it would move. Nothing is applied: the
//! analyst copies a rule into the rules file, or not.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::array::{Array, AsArray};
use serde::Serialize;

use crate::base::vocab::{stem, venue_words};
use crate::classify::classifier::{Classifier, Facts};
use crate::classify::rules::{Rules, Target};
use crate::error::Result;
use crate::store::Store;

/// Words that say nothing about the type ("worked", "para", "avec").
const STOPWORDS: &[&str] = &[
    "with",
    "from",
    "that",
    "this",
    "they",
    "them",
    "their",
    "there",
    "were",
    "into",
    "under",
    "over",
    "made",
    "make",
    "forced",
    "work",
    "worked",
    "working",
    "place",
    "para",
    "como",
    "donde",
    "trabajo",
    "trabajaba",
    "trabajar",
    "ella",
    "ellos",
    "estaba",
    "dans",
    "avec",
    "pour",
    "chez",
    "elle",
    "travail",
    "travaillait",
    "une",
    "unos",
    "unas",
];

fn content(token: &str) -> bool {
    token.chars().count() >= 4 && !token.chars().all(|c| c.is_ascii_digit())
}

/// One proposed rule.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Suggestion {
    /// The shared word, as most often typed.
    pub word: String,
    /// Undetermined records the proposed rule would place (a text with the
    /// words of two groups is counted in both).
    pub records: u64,
    /// The group's most frequent texts, with their records.
    pub examples: Vec<(String, u64)>,
    /// The type proposed, in words, and the rule it was taken from; None
    /// when no rule comes near (the analyst decides the type).
    pub proposed: Option<String>,
    pub nearest_rule: Option<String>,
    /// The rule to add, as TOML for the rules file.
    pub rule: String,
}

/// Undetermined records with venue text, by (form, text), under `rules`.
pub fn unmatched(store: &Store, rules: &Rules) -> Result<BTreeMap<(String, String), u64>> {
    let mut classifier = Classifier::new(rules);
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    store.scan(Some(&["trafficking_form", "sectors", "venue"]), |batch| {
        let forms = batch.column(0).as_string::<i32>();
        let sectors = batch.column(1).as_list::<i32>();
        let venues = batch.column(2).as_string::<i32>();
        for row in 0..batch.num_rows() {
            if !venues.is_valid(row) || venues.value(row).trim().is_empty() {
                continue;
            }
            let row_sectors = crate::classify::classifier::list_texts(sectors, row);
            let c = classifier.classify(Facts {
                form: forms.value(row),
                sectors: &row_sectors,
                venue: Some(venues.value(row)),
            });
            if c.status == "undetermined" {
                *counts
                    .entry((forms.value(row).to_string(), venues.value(row).to_string()))
                    .or_default() += 1;
            }
        }
        Ok(())
    })?;
    Ok(counts)
}

/// At most `groups` suggestions for the unmatched texts, largest first.
pub fn suggest(
    rules: &Rules,
    unmatched: &BTreeMap<(String, String), u64>,
    groups: usize,
) -> Vec<Suggestion> {
    let classifier = Classifier::new(rules);
    // each text's content stems, with the word as typed
    let texts: Vec<Text<'_>> = unmatched
        .iter()
        .map(|(key, &n)| {
            let words: Vec<(String, String)> = venue_words(&key.1)
                .into_iter()
                .map(|w| (stem(&w), w))
                // the stopwords are words as typed ("place"), not stems
                .filter(|(s, w)| content(s) && !STOPWORDS.contains(&w.as_str()))
                .collect();
            (key, n, words)
        })
        .collect();
    let mut placed = vec![false; texts.len()];
    let mut out = Vec::new();
    while out.len() < groups {
        // the stem with the most records among the texts not yet grouped
        let mut weight: BTreeMap<&str, u64> = BTreeMap::new();
        for (i, (_, n, words)) in texts.iter().enumerate() {
            if placed[i] {
                continue;
            }
            let distinct: BTreeSet<&str> = words.iter().map(|(s, _)| s.as_str()).collect();
            for s in distinct {
                *weight.entry(s).or_default() += n;
            }
        }
        let Some((top, _)) = weight
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        else {
            break;
        };
        let top = top.to_string();
        let members: Vec<usize> = (0..texts.len())
            .filter(|&i| !placed[i] && texts[i].2.iter().any(|(s, _)| *s == top))
            .collect();
        for &i in &members {
            placed[i] = true;
        }
        out.push(group(&classifier, rules, &texts, &members, &top));
    }
    out
}

type Text<'a> = (&'a (String, String), u64, Vec<(String, String)>);

fn group(
    classifier: &Classifier<'_>,
    rules: &Rules,
    texts: &[Text<'_>],
    members: &[usize],
    top: &str,
) -> Suggestion {
    // the word as typed most often, the forms, the nearest rule by records
    let mut typed: BTreeMap<&str, u64> = BTreeMap::new();
    let mut forms: BTreeSet<&str> = BTreeSet::new();
    let mut nearest: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for &i in members {
        let ((form, venue), n, words) = &texts[i];
        forms.insert(form);
        for (s, w) in words {
            if s == top {
                *typed.entry(w).or_default() += n;
            }
        }
        // a rule only some of whose words are in the text proposes nothing
        // ("online" is not "online scam")
        if let Some(near) = classifier
            .nearest_rule(form, venue)
            .filter(|n| n.whole_phrase)
        {
            let entry = nearest.entry(near.rule_id).or_insert((0, near.target));
            entry.0 += n;
        }
    }
    let word = typed
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(w, _)| w.to_string())
        .unwrap_or_else(|| top.to_string());
    let forms: Vec<&str> = forms.into_iter().collect();
    // every unmatched record the rule would place: its word, one of the forms
    let records = texts
        .iter()
        .filter(|((form, _), _, words)| {
            forms.contains(&form.as_str()) && words.iter().any(|(s, _)| s == top)
        })
        .map(|(_, n, _)| n)
        .sum();
    // the same text under several forms is one example
    let mut by_text: BTreeMap<&str, u64> = BTreeMap::new();
    for &i in members {
        *by_text.entry(texts[i].0.1.as_str()).or_default() += texts[i].1;
    }
    let mut examples: Vec<(String, u64)> = by_text
        .into_iter()
        .map(|(t, n)| (t.to_string(), n))
        .collect();
    examples.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    examples.truncate(5);
    let best = nearest
        .into_iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then_with(|| b.0.cmp(&a.0)));
    let target = best
        .as_ref()
        .and_then(|(id, _)| rules.rules.iter().find(|r| &r.id == id))
        .map(|r| r.target);
    let target_line = match target {
        Some(Target::Typology(id)) => format!("typology = {id}"),
        Some(Target::Extension(code)) => format!("extension = \"{code}\""),
        None => "typology = 0   # decide the type: no rule comes near".to_string(),
    };
    let rule = format!(
        "[[rule]]\nid = \"suggested.{}\"\n{target_line}\nconfidence = \"medium\"\nforms = [{}]\nphrases = [\"{}\"]\n",
        top.replace(|c: char| !c.is_alphanumeric(), "_"),
        forms
            .iter()
            .map(|f| format!("\"{f}\""))
            .collect::<Vec<_>>()
            .join(", "),
        word.replace('"', "")
    );
    Suggestion {
        word,
        records,
        examples,
        proposed: best.as_ref().map(|(_, (_, target))| target.clone()),
        nearest_rule: best.map(|(id, _)| id),
        rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmatched_texts_are_grouped_by_their_shared_word_with_a_rule_to_add() {
        let rules = Rules::default_rules().unwrap();
        let mut unmatched = BTreeMap::new();
        let mut add = |form: &str, text: &str, n: u64| {
            unmatched.insert((form.to_string(), text.to_string()), n);
        };
        add("labor", "kebab shop kitchen", 40);
        add("labor", "kebab stand at the market", 25);
        add("labor", "zzyzx qqq", 3);
        let s = suggest(&rules, &unmatched, 2);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].word, "kebab");
        assert_eq!(s[0].records, 65);
        assert_eq!(s[0].examples[0], ("kebab shop kitchen".to_string(), 40));
        assert!(s[0].rule.contains("phrases = [\"kebab\"]"), "{}", s[0].rule);
        assert!(s[0].rule.contains("forms = [\"labor\"]"), "{}", s[0].rule);
        // the rules file takes the suggested rule as it is (given a type),
        // and it then places the group
        let rule = s[0].rule.replace(
            "typology = 0   # decide the type: no rule comes near",
            "typology = 9",
        );
        let text = crate::classify::rules::DEFAULT_RULES.replacen(
            "\n[[rule]]\n",
            &format!("\n{rule}\n[[rule]]\n"),
            1,
        );
        let edited = Rules::parse(crate::classify::rules::DEFAULT_TYPOLOGY, &text, "test").unwrap();
        let mut classifier = Classifier::new(&edited);
        let c = classifier.classify(Facts {
            form: "labor",
            sectors: &[],
            venue: Some("kebab stand at the market"),
        });
        assert_eq!(c.rule_id.as_deref(), Some("suggested.kebab"), "{c:?}");
        assert!(s[1].records > 0);
    }
}
