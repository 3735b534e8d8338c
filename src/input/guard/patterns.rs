//! The shapes of personal data in a value: e-mail addresses (also spelled
//! out), phone numbers, identity document numbers, exact dates and street
//! addresses, in English, Spanish and French. Every function takes text
//! already NFKC-normalised (full-width "＠" is "@", full-width digits are
//! ASCII digits) and says whether the shape occurs in it.
//!
//! The regex crate has no look-around, so "not inside an id" is written as
//! a boundary group around the match (`(?:^|[^\w-])` ... `(?:$|[^\w-])`):
//! a number glued to letters or dashes ("US-0000012345") is part of an id.

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::{LazyLock, OnceLock};

use regex::{Regex, RegexSet};

/// A pattern written in this file, compiled when first used. Its source
/// is kept apart from the compiled regex so that the set of digit shapes
/// can be compiled from the sources while the patterns compile on another
/// thread ([`compile_all`]).
struct Pattern {
    source: fn() -> Cow<'static, str>,
    compiled: OnceLock<Regex>,
}

impl Pattern {
    const fn new(source: fn() -> Cow<'static, str>) -> Self {
        Pattern {
            source,
            compiled: OnceLock::new(),
        }
    }

    fn source(&self) -> Cow<'static, str> {
        (self.source)()
    }
}

impl Deref for Pattern {
    type Target = Regex;

    /// A pattern that does not compile is a bug caught by the first test,
    /// not an input problem.
    fn deref(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            Regex::new(&self.source())
                .unwrap_or_else(|e| panic!("guard pattern does not compile: {e}"))
        })
    }
}

/// Every pattern of this file.
static ALL: [&Pattern; 20] = [
    &EMAIL,
    &EMAIL_SPELLED,
    &EMAIL_AT_DOT,
    &PHONE_SHAPE,
    &PHONE_INTERNATIONAL,
    &PHONE_LABELLED,
    &NOT_PHONE,
    &IDENTITY_SHAPE,
    &SIN_ALONE,
    &IDENTITY_LABELLED,
    &DATE_ALONE,
    &DATE_IN_TEXT,
    &DATE_WITH_MONTH_NAME,
    &BIRTH_DATE,
    &STREET_NUMBER_FIRST,
    &STREET_LOWER,
    &STREET_NAME_FIRST,
    &STREET_SPANISH,
    &STREET_FRENCH,
    &POST_BOX,
];

/// Compiles every pattern now, on two threads: the set of digit shapes on
/// one and the patterns one by one on the other, about the same work.
/// Left to the first rows, they compiled one at a time while the screen's
/// other thread waited for the same pattern: on one core, about a tenth
/// of a `run` of the sample data (perf). Done once per process: every
/// later screen (each file of an ingest, each input of `run`) finds them
/// compiled and starts no thread.
pub fn compile_all() {
    static COMPILED: std::sync::Once = std::sync::Once::new();
    COMPILED.call_once(|| {
        std::thread::scope(|scope| {
            scope.spawn(|| LazyLock::force(&ANY_DIGIT_SHAPE));
            for pattern in ALL {
                let _ = pattern.deref();
            }
        });
    });
}

/// Month names in English, Spanish and French (abbreviated English too).
const MONTHS: &str = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[uû]t|septembre|octobre|novembre|d[ée]cembre";

// ------------------------------------------------------------- e-mail --

static EMAIL: Pattern =
    Pattern::new(|| r"(?i)[a-z0-9._%+-]+\s?@\s?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}".into());

/// "rosa[at]example[dot]org", "rosa (at) example.org", "rosa arroba
/// example punto com": an obfuscating "at" makes any domain count.
static EMAIL_SPELLED: Pattern = Pattern::new(|| {
    r"(?i)\b[a-z0-9][a-z0-9._%+-]*\s*(?:\[\s*at\s*\]|\(\s*at\s*\)|\{\s*at\s*\}|<\s*at\s*>|\barroba\b|\barobase\b)\s*[a-z0-9-]+(?:\s*(?:\.|\[\s*dot\s*\]|\(\s*dot\s*\)|\s+dot\s+|\s+punto\s+|\s+point\s+)\s*[a-z0-9-]+)+".into()
});

/// "rosa at example dot org": a bare " at " is everyday English, so the
/// dot must be spelled out too, or the domain a known mail provider.
static EMAIL_AT_DOT: Pattern = Pattern::new(|| {
    r"(?i)\b[a-z0-9][a-z0-9._%+-]*\s+at\s+(?:[a-z0-9-]+(?:\s+(?:dot|punto|point)\s+[a-z0-9-]+)+|(?:gmail|hotmail|yahoo|outlook|live|icloud|aol|proton(?:mail)?|gmx|orange|laposte|wanadoo|sfr|free|prodigy|yandex|msn)\s*\.\s*[a-z]{2,})\b".into()
});

pub fn email(text: &str) -> bool {
    if text.contains('@') && EMAIL.is_match(text) {
        return true;
    }
    // cheap first: every spelled-out form has "at", "arroba" or "arobase"
    let spelled_at =
        contains_ci(text, "at") || contains_ci(text, "arob") || contains_ci(text, "arrob");
    spelled_at && (EMAIL_SPELLED.is_match(text) || EMAIL_AT_DOT.is_match(text))
}

// -------------------------------------------------------------- phone --

/// Formatted shapes that are phone numbers without a label: 3-3-4 with
/// separators, "(555) 555-5555", 2-4-4 (Mexico), 0X XX XX XX XX (France),
/// and a free-standing run of ten digits.
static PHONE_SHAPE: Pattern = Pattern::new(|| {
    concat!(
        r"(?:^|[^\w./+-])(?:",
        r"\(\d{2,4}\)\s?\d{3,4}[\s.-]?\d{4}",
        r"|\d{3}[\s.-]\d{3}[\s.-]\d{4}",
        r"|\d{2}[\s.-]\d{4}[\s.-]\d{4}",
        r"|0[1-9](?:[\s.-]\d{2}){4}",
        r"|(?:0[1-9]|[2-9]\d)\d{8}",
        r")(?:$|[^\w/-])"
    )
    .into()
});

/// An international number: "+" and 8 to 15 digits in groups.
static PHONE_INTERNATIONAL: Pattern =
    Pattern::new(|| r"(?:^|[^\w+])\+\s?(\d[\d\s().-]{6,22}\d)(?:$|[^\w-])".into());

/// A number after a phone word: "tel 5551234", "call me at 555 1234",
/// "llamar al 5512345678", "appeler le 06 12 34 56 78".
static PHONE_LABELLED: Pattern = Pattern::new(|| {
    r"(?i)\b(?:tel|t[eé]l|t[eé]l[eé]fono|tel[eé]phone|telephone|phone|phones|ph|cell|cel|celular|cellphone|m[oó]vil|mobile|portable|whatsapp|whats|wa|sms|fax|call|text|txt|llam[ae]r?|llam[oó]|marcar|marca|appel(?:er|ez|le)?|joindre|contact|contacto)\b\.?[\s:#=.-]*(?:(?:me|him|her|at|al|a|el|le|au|on|en|us|to|no\.?)\s+){0,3}(\+?\(?\d[\d\s().-]{5,22}\d)".into()
});

/// A year range or a date is not a phone number even after "text".
static NOT_PHONE: Pattern = Pattern::new(|| {
    r"^(?:\d{4}\s*[-/]\s*\d{4}|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,3}(?:,\d{3})+)$".into()
});

pub fn phone(text: &str) -> bool {
    if PHONE_SHAPE
        .find_iter(text)
        .any(|m| !is_year_prefixed_id(m.as_str()))
    {
        return true;
    }
    let counted = |m: Option<regex::Match<'_>>, min: usize| {
        m.is_some_and(|m| {
            let digits = count_digits(m.as_str());
            (min..=15).contains(&digits) && !NOT_PHONE.is_match(m.as_str().trim())
        })
    };
    // `is_match` first: it runs on the fast engine, captures do not
    if text.contains('+')
        && PHONE_INTERNATIONAL.is_match(text)
        && PHONE_INTERNATIONAL
            .captures_iter(text)
            .any(|c| counted(c.get(1), 8))
    {
        return true;
    }
    PHONE_LABELLED.is_match(text)
        && PHONE_LABELLED
            .captures_iter(text)
            .any(|c| counted(c.get(1), 7))
}

/// Ten bare digits that start with a year ("2019000123") are a numbered
/// record, not a phone number: such ids are common, "19"/"20" area codes
/// are not.
fn is_year_prefixed_id(matched: &str) -> bool {
    let core = matched.trim_matches(|c: char| !c.is_ascii_digit());
    core.len() == 10
        && core.bytes().all(|b| b.is_ascii_digit())
        && (core.starts_with("19") || core.starts_with("20"))
}

// ----------------------------------------------------------- identity --

/// US SSN (3-2-4 with dashes) and Mexican CURP wherever they stand.
static IDENTITY_SHAPE: Pattern = Pattern::new(|| {
    r"(?:^|[^\w-])(?:\d{3}-\d{2}-\d{4}|(?i:[A-Z]{4}\d{6}[HM][A-Z]{5}[A-Z0-9]\d))(?:$|[^\w-])".into()
});

/// A Canadian SIN alone in a value (nine digits in threes).
static SIN_ALONE: Pattern = Pattern::new(|| r"^\d{3}[ -]\d{3}[ -]\d{3}$".into());

/// A number after the name of an identity document, in the three
/// languages: "SSN 123 45 6789", "passport X1234567", "pasaporte no.
/// G12345678", "DNI 12345678Z", "NAS 123 456 789", "ID no. 4455667".
static IDENTITY_LABELLED: Pattern = Pattern::new(|| {
    r"(?i)\b(?:ssn|social\s+security(?:\s+(?:number|no\.?|#))?|seguro\s+social|passports?|pasaportes?|passeports?|dni|curp|rfc|ine|nss|nas|sin|nir|c[eé]dula|cedula|carte\s+d'identit[eé]|identity\s+card|id|i\.d\.|driver'?s?\s+licen[cs]e|permis\s+de\s+conduire|visa|matr[ií]cula(?:\s+consular)?|green\s+card|a-number|alien\s+number)(?:\s+(?:no\.?|number|n[uú]m\.?|n[°º]|#|nr\.?|n[uú]mero|num[eé]ro))?\s*[:#]?\s*([A-Z0-9][A-Z0-9 -]{3,20}[A-Z0-9])".into()
});

pub fn identity(text: &str) -> bool {
    if IDENTITY_SHAPE.is_match(text) || SIN_ALONE.is_match(text.trim()) {
        return true;
    }
    // a document number has at least five digits: "passport 2019" is a year
    IDENTITY_LABELLED.is_match(text)
        && IDENTITY_LABELLED.captures_iter(text).any(|c| {
            c.get(1)
                .is_some_and(|m| count_digits(first_word_group(m.as_str())) >= 5)
        })
}

/// The number right after a label: "X1234567 ask" is "X1234567", while a
/// number written in groups ("123 456 789") stays whole.
fn first_word_group(captured: &str) -> &str {
    let end = captured
        .char_indices()
        .find(|&(i, c)| {
            c == ' '
                && captured[i..]
                    .trim_start()
                    .starts_with(|n: char| !n.is_ascii_digit())
        })
        .map_or(captured.len(), |(i, _)| i);
    &captured[..end]
}

// -------------------------------------------------------------- dates --

/// A value that is only a date (with or without a time).
static DATE_ALONE: Pattern = Pattern::new(|| {
    r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([T ].*)?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$".into()
});

/// A numeric date inside text: year first, or day and month first with a
/// four-digit year (two digits only with slashes, "12/03/84").
static DATE_IN_TEXT: Pattern = Pattern::new(|| {
    r"(?:^|[^\w/.-])(?:(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})|(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})|(\d{1,2})/(\d{1,2})/(\d{2}))(?:$|[^\w/-])".into()
});

static DATE_WITH_MONTH_NAME: Pattern = Pattern::new(|| {
    format!(
        r"(?i)\b(?:(?:1er|\d{{1,2}})(?:st|nd|rd|th|º|°)?\s+(?:de\s+|of\s+)?(?:{MONTHS})\.?,?\s+(?:de\s+|del\s+)?\d{{4}}|(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b"
    ).into()
});

/// A birth label followed by a day and month: "DOB 1984-03-12", "born
/// 12/03/1984", "nacida el 12 de marzo", "née le 3 mars 1990".
static BIRTH_DATE: Pattern = Pattern::new(|| {
    format!(
        r"(?i)(?:\b(?:born|dob|date\s+of\s+birth|birth\s*date|birthday|bday|nacid[oa]s?|naci[oó]|fecha\s+de\s+nacimiento|f\.\s?nac|n[ée]e?s?|date\s+de\s+naissance|naissance)|\bd\.o\.b)\b\.?[\s:,-]*(?:(?:on|el|le|the|en)\s+)?(?:\d{{1,4}}[-/.]\d{{1,2}}(?:[-/.]\d{{1,4}})?|(?:1er|\d{{1,2}})(?:st|nd|rd|th)?\s+(?:de\s+|of\s+)?(?:{MONTHS})\b|(?:{MONTHS})\.?\s+\d{{1,2}}\b)"
    ).into()
});

/// An exact date, and whether it says it is a birth date. A value of a
/// date column may be a date; a date of birth never passes.
pub fn exact_date(text: &str, dates_allowed: bool) -> bool {
    if BIRTH_DATE.is_match(text) {
        return true;
    }
    if dates_allowed {
        return false;
    }
    DATE_ALONE.is_match(text.trim())
        || (DATE_IN_TEXT.is_match(text)
            && DATE_IN_TEXT.captures_iter(text).any(|c| plausible_date(&c)))
        // a month name is a word apart: no date of that kind without a space
        || (text.contains(' ') && DATE_WITH_MONTH_NAME.is_match(text))
}

/// Day 1–31 and month 1–12 in either order: "2014.20.18" is no date.
fn plausible_date(c: &regex::Captures<'_>) -> bool {
    let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let day = |d: u32| (1..=31).contains(&d);
    let month = |m: u32| (1..=12).contains(&m);
    if let (Some(m), Some(d)) = (n(2), n(3)) {
        return month(m) && day(d);
    }
    let (a, b) = match (n(4), n(5), n(7), n(8)) {
        (Some(a), Some(b), _, _) | (_, _, Some(a), Some(b)) => (a, b),
        _ => return false,
    };
    (day(a) && month(b)) || (month(a) && day(b))
}

// ------------------------------------------------------------ address --

/// "1200 Main Street", "12 W 5th Ave", "1200 MAIN ST": a house number, up
/// to three capitalised words (or an ordinal), a street type. Highways and
/// routes are roads, not addresses ("truck stop near 99 Highway").
static STREET_NUMBER_FIRST: Pattern = Pattern::new(|| {
    r"\b\d{1,5}[A-Za-z]?\s+(?:(?:\p{Lu}[\p{L}'.-]*|\d{1,3}(?i:st|nd|rd|th))\s+){1,3}(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|ter|circle|cir|parkway|pkwy)\b".into()
});

/// The same written all in lower case, with the unambiguous types only
/// ("3 hours down the road" is not an address).
static STREET_LOWER: Pattern =
    Pattern::new(|| r"(?i)\b\d{1,5}\s+(?:[a-z]+\s+){1,2}(?:street|avenue|boulevard)\b".into());

/// "Main Street 1200", "Elm St. #45".
static STREET_NAME_FIRST: Pattern = Pattern::new(|| {
    r"\b(?:\p{Lu}[\p{L}'.-]*\s+){1,3}(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl)\.?,?\s+(?:#\s*|(?i:no)\.?\s*)?\d{1,5}\b".into()
});

/// "calle Juárez 45", "Av. Reforma #222", "Calzada de Tlalpan No. 1500".
static STREET_SPANISH: Pattern = Pattern::new(|| {
    r"(?i)(?:\b(?:calle|avenida|avda|calzada|callej[oó]n|privada|paseo|carrera|andador|circuito|prolongaci[oó]n|bulevar|blvd)\b\.?|\bav\.|\bc/)(?:\s*[\p{L}\d][\p{L}\d'.-]*){1,4}?\s*(?:#|n[°º])?\s*\d{1,5}(?:$|[^\w-])".into()
});

/// "12 rue de la Paix", "1234, boul. Saint-Laurent", "3 place de la Gare".
static STREET_FRENCH: Pattern = Pattern::new(|| {
    r"(?i)\b\d{1,5}(?:\s*(?:bis|ter))?,?\s+(?:(?:rue|avenue|av\.|boulevard|boul\.|bd|chemin|ch\.|all[ée]e|impasse|quai|rang|mont[ée]e)\s+\p{L}|(?:place|route|square|cours|voie|rond-point)\s+(?:de|du|des|d'))".into()
});

/// "PO Box 1234", "apartado postal 45", "case postale 12".
static POST_BOX: Pattern = Pattern::new(|| {
    r"(?i)\b(?:p\.?\s?o\.?\s?box|post\s+office\s+box|apartado(?:\s+postal)?|apdo\.?|case\s+postale|bo[iî]te\s+postale)\s*(?:no\.?|n[°º]|#)?\s*\d{1,6}\b".into()
});

pub fn street_address(text: &str) -> bool {
    STREET_NUMBER_FIRST.is_match(text)
        || STREET_LOWER.is_match(text)
        || STREET_NAME_FIRST.is_match(text)
        || STREET_SPANISH.is_match(text)
        || STREET_FRENCH.is_match(text)
        || POST_BOX.is_match(text)
}

// ------------------------------------------------------------- gate --

/// Every pattern with a digit in it, as one set: a single pass over a value
/// says whether any of them can match, so that the ids and counts of a
/// multi-million-row file (unique, so never cached) cost one scan, not a
/// dozen.
static ANY_DIGIT_SHAPE: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        PHONE_SHAPE.source(),
        PHONE_INTERNATIONAL.source(),
        PHONE_LABELLED.source(),
        IDENTITY_SHAPE.source(),
        SIN_ALONE.source(),
        IDENTITY_LABELLED.source(),
        DATE_ALONE.source(),
        DATE_IN_TEXT.source(),
        DATE_WITH_MONTH_NAME.source(),
        BIRTH_DATE.source(),
        STREET_NUMBER_FIRST.source(),
        STREET_LOWER.source(),
        STREET_NAME_FIRST.source(),
        STREET_SPANISH.source(),
        STREET_FRENCH.source(),
        POST_BOX.source(),
    ])
    .unwrap_or_else(|e| panic!("guard patterns do not compile as a set: {e}"))
});

/// Whether any phone, identity, date or address pattern may match; when
/// not, none of them needs to run.
pub fn any_digit_shape(text: &str) -> bool {
    // DATE_ALONE and SIN_ALONE are anchored on the trimmed value
    ANY_DIGIT_SHAPE.is_match(text.trim())
}

// ------------------------------------------------------------ helpers --

pub fn count_digits(text: &str) -> usize {
    text.bytes().filter(u8::is_ascii_digit).count()
}

/// ASCII case-insensitive substring test without allocating.
pub fn contains_ci(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_alone_and_the_digit_shapes_as_a_set() {
        compile_all();
        for pattern in ALL {
            assert!(!pattern.as_str().is_empty());
            assert_eq!(pattern.as_str(), pattern.source());
        }
        // the set is compiled from the same sources as the patterns
        assert_eq!(ANY_DIGIT_SHAPE.len(), 16);
        for member in ANY_DIGIT_SHAPE.patterns() {
            assert!(ALL.iter().any(|p| p.as_str() == member), "{member}");
        }
    }
}
