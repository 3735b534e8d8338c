//! Matching that survives typing: a venue word that is not a word of any
//! rule is read as the rule word it is a slip of, when exactly one rule
//! word is within a small edit distance (optimal string alignment: a
//! swapped pair of letters is one edit). The bound grows with the word, so
//! short words are never corrected ("bar" never becomes "car"): one edit
//! from six letters, two from nine.

use std::collections::{HashMap, HashSet};

/// Shortest typed word corrected at all, and the length from which two
/// edits are allowed.
const ONE_EDIT_FROM: usize = 6;
const TWO_EDITS_FROM: usize = 9;
/// Shortest rule word a slip may be read as.
const SHORTEST_TARGET: usize = 4;

/// A correction: the rule word, and how many edits away it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub word: String,
    pub edits: usize,
}

/// The rule words (stemmed), by length, to compare a typed word with.
#[derive(Debug, Default)]
pub struct Corrector {
    by_length: HashMap<usize, Vec<String>>,
    known: HashSet<String>,
}

impl Corrector {
    pub fn new<'a>(words: impl IntoIterator<Item = &'a String>) -> Self {
        let mut by_length: HashMap<usize, Vec<String>> = HashMap::new();
        let mut known = HashSet::new();
        for w in words {
            known.insert(w.clone());
            let n = w.chars().count();
            if n >= SHORTEST_TARGET && !w.chars().all(|c| c.is_ascii_digit()) {
                by_length.entry(n).or_default().push(w.clone());
            }
        }
        for list in by_length.values_mut() {
            list.sort();
            list.dedup();
        }
        Corrector { by_length, known }
    }

    /// True for a word of some rule: never corrected.
    pub fn knows(&self, token: &str) -> bool {
        self.known.contains(token)
    }

    /// The rule word `token` (stemmed; typed as a word of `typed_len`
    /// letters) is a slip of, if exactly one is nearest within the bound.
    pub fn correct(&self, token: &str, typed_len: usize) -> Option<Correction> {
        let bound = match typed_len {
            n if n >= TWO_EDITS_FROM => 2,
            n if n >= ONE_EDIT_FROM => 1,
            _ => return None,
        };
        if token.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        let n = token.chars().count();
        let mut best: Option<(usize, &String)> = None;
        let mut tied = false;
        for len in n.saturating_sub(bound)..=n + bound {
            for word in self.by_length.get(&len).into_iter().flatten() {
                let d = strsim::osa_distance(token, word);
                if d == 0 || d > bound {
                    continue;
                }
                match best {
                    Some((b, _)) if d > b => {}
                    Some((b, w)) if d == b && w != word => tied = true,
                    Some((b, _)) if d == b => {}
                    _ => {
                        best = Some((d, word));
                        tied = false;
                    }
                }
            }
        }
        match best {
            Some((edits, word)) if !tied => Some(Correction {
                word: word.clone(),
                edits,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corrector(words: &[&str]) -> Corrector {
        let owned: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        Corrector::new(&owned)
    }

    #[test]
    fn long_words_are_corrected_short_ones_never() {
        let c = corrector(&[
            "restaurant",
            "construction",
            "agricultural",
            "bar",
            "car",
            "massag",
        ]);
        assert_eq!(
            c.correct("resturant", 9),
            Some(Correction {
                word: "restaurant".into(),
                edits: 1
            })
        );
        assert_eq!(c.correct("constuction", 11).unwrap().word, "construction");
        // a swapped pair is one edit
        assert_eq!(c.correct("agricultrual", 12).unwrap().edits, 1);
        assert_eq!(c.correct("masag", 6).unwrap().word, "massag");
        assert_eq!(c.correct("bat", 3), None);
        assert_eq!(c.correct("restaurnat", 10).unwrap().edits, 1);
        // two edits only for long words
        assert_eq!(c.correct("restrnt", 7), None);
    }

    #[test]
    fn a_slip_between_two_rule_words_is_left_alone() {
        let c = corrector(&["trailer", "trainer"]);
        assert_eq!(c.correct("traider", 7), None);
        assert_eq!(c.correct("trainre", 7).unwrap().word, "trainer");
    }
}
