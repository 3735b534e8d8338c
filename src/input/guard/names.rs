//! Person names judged in context. A given name alone says little ("Rosa"
//! is a venue as often as a person); what follows and precedes it decides:
//! a surname-like word makes a person ("Maria Torres", "JOHN SMITH",
//! "Smith, John"), a business word makes a venue ("Lisa Nails", "Jean
//! Coutu Pharmacy", "Bar Sofia"), and a person cue ("met", "conoció a",
//! "avec") lets the name be written in any case. The word lists are data:
//! `rules/personal_data.toml`, embedded in the binary and parsed once.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

const WORD_LISTS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/rules/personal_data.toml"
));

#[derive(Deserialize)]
struct WordListsFile {
    given_names: BTreeMap<String, Vec<String>>,
    business: BTreeMap<String, Vec<String>>,
    not_surnames: Words,
    person_cues: BTreeMap<String, Vec<String>>,
    place_words: Words,
}

#[derive(Deserialize)]
struct Words {
    words: Vec<String>,
}

/// The word lists, folded like the words they are compared with.
struct Lexicon {
    given: HashSet<String>,
    business: HashSet<String>,
    not_surname: HashSet<String>,
    place: HashSet<String>,
    /// One-word cues ("met") and two-word cues ("ask for") apart.
    cues: HashSet<String>,
    cue_pairs: HashSet<(String, String)>,
}

/// Words that join a given name to a surname: "Maria de la Luz Torres".
const PARTICLES: &[&str] = &[
    "de", "del", "la", "las", "los", "van", "von", "da", "das", "do", "dos", "di", "du", "des",
    "le", "st", "san", "santa",
];

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    // the file is part of the binary: a broken list is caught by the tests
    let file: WordListsFile = toml::from_str(WORD_LISTS)
        .unwrap_or_else(|e| panic!("rules/personal_data.toml does not parse: {e}"));
    let fold_all = |lists: BTreeMap<String, Vec<String>>| -> Vec<String> {
        lists
            .into_values()
            .flatten()
            .map(|w| fold(&w).into_owned())
            .collect()
    };
    let mut cues = HashSet::new();
    let mut cue_pairs = HashSet::new();
    for cue in fold_all(file.person_cues) {
        match cue.split_once(' ') {
            Some((a, b)) => {
                cue_pairs.insert((a.to_string(), b.to_string()));
            }
            None => {
                cues.insert(cue);
            }
        }
    }
    let set = |words: Vec<String>| -> HashSet<String> {
        words.iter().map(|w| fold(w).into_owned()).collect()
    };
    Lexicon {
        given: fold_all(file.given_names).into_iter().collect(),
        business: fold_all(file.business).into_iter().collect(),
        not_surname: set(file.not_surnames.words),
        place: set(file.place_words.words),
        cues,
        cue_pairs,
    }
});

/// Lower case without accents; borrowed when the word already is.
fn fold(word: &str) -> Cow<'_, str> {
    if word
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b == b' ' || b == b'\'')
    {
        return Cow::Borrowed(word);
    }
    Cow::Owned(
        word.nfd()
            .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
            .flat_map(char::to_lowercase)
            .map(|c| if c == '’' { '\'' } else { c })
            .collect(),
    )
}

/// A word of a value and what the name rules need to know about it.
struct Token<'a> {
    text: &'a str,
    start: usize,
    end: usize,
    /// Starts with a capital ("Smith", "SMITH", "McDonald").
    capital: bool,
    /// Ends in "'s" ("Rosa's Cantina"), which names a place, not a person.
    possessive: bool,
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '’'
}

/// Runs of letters, with apostrophes and hyphens inside a word kept.
fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !c.is_alphabetic() {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, c)) = chars.peek() {
            let joins = (is_apostrophe(c) || c == '-')
                && text[i + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphabetic);
            if !(c.is_alphabetic() || joins) {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        let word = &text[start..end];
        let possessive = word.len() > 2
            && (word.ends_with("'s") || word.ends_with("’s") || word.ends_with("'S"));
        let text = if possessive {
            word.trim_end_matches(['s', 'S'])
                .trim_end_matches(is_apostrophe)
        } else {
            word
        };
        out.push(Token {
            text,
            start,
            end,
            capital: c.is_uppercase(),
            possessive,
        });
    }
    out
}

/// Whether a value names a person.
pub fn person_name(text: &str) -> bool {
    // cheap first: a name is two words, one of them a given name of at
    // least two letters; a value without a space cannot hold one
    if !text.contains([' ', ',']) {
        return false;
    }
    let lex = &*LEXICON;
    let words = tokens(text);
    (0..words.len()).any(|i| given_name_starts_a_person(text, &words, i, lex))
        || surname_comma_given(text, &words, lex)
}

/// Only white space between two words: they belong to one name.
fn adjacent(text: &str, a: &Token<'_>, b: &Token<'_>) -> bool {
    text[a.end..b.start].chars().all(char::is_whitespace)
}

/// The word before `i` is a person cue ("met", "ask for", "Mme."); the
/// gap may hold a period or a colon ("Sra. Ana López", "contact: John Lee").
fn cue_before(text: &str, words: &[Token<'_>], i: usize, lex: &Lexicon) -> bool {
    let near = |a: &Token<'_>, b: &Token<'_>| {
        text[a.end..b.start]
            .chars()
            .all(|c| c.is_whitespace() || c == '.' || c == ':')
    };
    let Some(prev) = i.checked_sub(1).map(|p| &words[p]) else {
        return false;
    };
    if !near(prev, &words[i]) {
        return false;
    }
    let p = fold(prev.text);
    if lex.cues.contains(p.as_ref()) {
        return true;
    }
    i >= 2
        && adjacent(text, &words[i - 2], prev)
        && lex
            .cue_pairs
            .contains(&(fold(words[i - 2].text).into_owned(), p.into_owned()))
}

/// A given name, or a compound one whose first part is ("Jean-Luc"); a
/// place like "Saint-Jean" starts with no given name.
fn is_given_name(word: &str, lex: &Lexicon) -> bool {
    let folded = fold(word);
    lex.given.contains(folded.as_ref())
        || folded
            .split_once('-')
            .is_some_and(|(first, _)| lex.given.contains(first))
}

/// Word `i` is a given name that begins a person's name: a surname-like
/// word follows, and no business word is part of the name.
fn given_name_starts_a_person(text: &str, words: &[Token<'_>], i: usize, lex: &Lexicon) -> bool {
    let word = &words[i];
    if word.possessive || word.text.chars().count() < 2 {
        return false;
    }
    let cue = cue_before(text, words, i, lex);
    if !(word.capital || cue) || !is_given_name(word.text, lex) {
        return false;
    }
    // "Bar Sofia", "San Juan", "La Rosa": a venue or a place
    if let Some(prev) = i.checked_sub(1).map(|p| &words[p])
        && adjacent(text, prev, word)
    {
        let p = fold(prev.text);
        if lex.business.contains(p.as_ref()) || lex.place.contains(p.as_ref()) {
            return false;
        }
    }
    let mut surname = false;
    for (k, next) in words.iter().enumerate().skip(i + 1).take(4) {
        if !adjacent(text, &words[k - 1], next) {
            break;
        }
        let w = fold(next.text);
        if lex.business.contains(w.as_ref()) {
            // "Jean Coutu Pharmacy", "Linda Nail Spa"
            return false;
        }
        if PARTICLES.contains(&w.as_ref()) {
            continue;
        }
        // lower-case words after a capitalised name end it ("Rosa said");
        // after a cue, a name typed in lower case still counts
        let lower_ok = cue && !word.capital && k == i + 1;
        if !(next.capital || lower_ok) || lex.not_surname.contains(w.as_ref()) {
            break;
        }
        // "John Smith's brother" still names him; "Gloria Jean's Coffee"
        // is still decided by the business word that may follow
        surname = true;
    }
    surname
}

/// "Smith, John" and "SMITH, JOHN": a surname-like word, a comma, a given
/// name that ends the value or the name ("Smith, John (driver)").
fn surname_comma_given(text: &str, words: &[Token<'_>], lex: &Lexicon) -> bool {
    words.windows(2).enumerate().any(|(i, pair)| {
        let (surname, given) = (&pair[0], &pair[1]);
        if !(surname.capital && given.capital) || surname.text.chars().count() < 2 {
            return false;
        }
        if text[surname.end..given.start].trim() != "," {
            return false;
        }
        let s = fold(surname.text);
        if lex.business.contains(s.as_ref())
            || lex.not_surname.contains(s.as_ref())
            || lex.place.contains(s.as_ref())
            || !is_given_name(given.text, lex)
        {
            return false;
        }
        // "Smith, John Bar" is a venue after all
        match words.get(i + 2) {
            Some(after) if adjacent(text, given, after) => {
                !lex.business.contains(fold(after.text).as_ref())
            }
            _ => true,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_lists_parse_and_are_folded() {
        let lex = &*LEXICON;
        assert!(lex.given.len() > 300, "{}", lex.given.len());
        assert!(lex.given.contains("jose") && lex.given.contains("helene"));
        assert!(lex.business.contains("pharmacy") && lex.business.contains("estetica"));
        assert!(lex.cue_pairs.contains(&("ask".into(), "for".into())));
        assert!(lex.cues.contains("conocio") && lex.cues.contains("rencontre"));
    }

    #[test]
    fn names_in_context() {
        for person in [
            "met John Smith at Motel 6",
            "JOHN SMITH",
            "Smith, John",
            "Maria Guadalupe Torres",
            "conoció a maría lópez en el bar",
            "rencontré Marie Dubois avec",
            "ask for rosa martinez",
            "Jean Martin",
        ] {
            assert!(person_name(person), "{person}");
        }
        for venue in [
            "Lisa Nails",
            "Linda Nail Spa",
            "Rosa Blanca Bar",
            "Maria Bonita Restaurant",
            "Sofia Spa",
            "Jean Coutu Pharmacy",
            "truck stop near 99 Highway",
            "Rosa's Cantina",
            "San Juan",
            "Grace Church",
            "Rosa said the bar was closed",
        ] {
            assert!(!person_name(venue), "{venue}");
        }
    }
}
