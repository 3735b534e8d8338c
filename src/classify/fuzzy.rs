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
        let bound = edits_allowed(typed_len);
        if bound == 0 {
            return None;
        }
        if token.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        let n = token.chars().count();
        // the candidates at the least distance
        let mut best: Vec<&String> = Vec::new();
        let mut least = usize::MAX;
        for len in n.saturating_sub(bound)..=n + bound {
            for word in self.by_length.get(&len).into_iter().flatten() {
                let d = strsim::osa_distance(token, word);
                if d == 0 || d > bound || !plausible_slip(token, word, d, typed_len) {
                    continue;
                }
                if d < least {
                    least = d;
                    best.clear();
                }
                if d == least {
                    best.push(word);
                }
            }
        }
        best.sort();
        match best.as_slice() {
            [] => None,
            [one] => Some(Correction {
                word: (*one).clone(),
                edits: least,
            }),
            // a tie between forms of one word in two languages
            // ("construccion", "construction") is no real tie
            [first, rest @ ..] if rest.iter().all(|w| common_prefix(first, w) >= SAME_ROOT) => {
                Some(Correction {
                    word: (*first).clone(),
                    edits: least,
                })
            }
            // two different words: which one was meant is not known
            _ => None,
        }
    }
}

/// The edits a typed word of `typed_len` letters may be away from a rule
/// word to be read as it.
pub fn edits_allowed(typed_len: usize) -> usize {
    match typed_len {
        n if n >= TWO_EDITS_FROM => 2,
        n if n >= ONE_EDIT_FROM => 1,
        _ => 0,
    }
}

/// Letters two words must share at their start to count as one root
/// ("construc-cion", "construc-tion"); "compan-ia" and "compan-y" are two
/// words of two different rules.
const SAME_ROOT: usize = 8;

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// Whether one edit is a typing slip rather than another word: in a word
/// shorter than [`TWO_EDITS_FROM`] only a letter left out, one too many or
/// two swapped ("resturant", "masage"), never one letter for another, which
/// turns real words into each other ("mixing" and "mining").
fn plausible_slip(token: &str, word: &str, edits: usize, typed_len: usize) -> bool {
    if typed_len >= TWO_EDITS_FROM || edits != 1 {
        return true;
    }
    if token.chars().count() != word.chars().count() {
        return true;
    }
    let (mut a, mut b): (Vec<char>, Vec<char>) = (token.chars().collect(), word.chars().collect());
    a.sort_unstable();
    b.sort_unstable();
    a == b
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
        // one letter for another in a short word is another word
        let c = corrector(&["mining", "construccion", "construction"]);
        assert_eq!(c.correct("mixing", 6), None);
        // a tie between one root in two languages
        assert_eq!(c.correct("construcion", 11).unwrap().word, "construccion");
        // but not between two words that only begin alike
        let c = corrector(&["compania", "company"]);
        assert_eq!(c.correct("compani", 9), None);
    }
}
