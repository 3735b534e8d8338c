//! Values from data escaped for where they go. Inputs, venue texts, country
//! codes and category names of bundles from other organisations are data:
//! whatever they hold, they must not become markup in a report, a formula in
//! a spreadsheet or a command to the terminal that shows them.
//!
//! - [`markdown_text`]: a value in Markdown text or a table cell (never at
//!   the start of a line) cannot open HTML, a link, an image, emphasis or
//!   code, nor break the table row.
//! - [`html_text`]: a value in an HTML text node or a double-quoted
//!   attribute.
//! - [`csv_cell`]: a text cell of a CSV file the tool writes that a
//!   spreadsheet would read as a formula (it begins with `=`, `+`, `-`, `@`,
//!   a tab or a carriage return and is not a number) gets a leading `'`
//!   (the OWASP convention); [`formula_like`] says which (the XLSX writer
//!   stores such cells as strings with Excel's quote prefix).
//! - [`terminal`] and [`terminal_lines`]: control characters (C0, DEL, C1,
//!   so every escape sequence) and the invisible bidirectional controls are
//!   shown as visible escapes such as `\u{1b}`.
//!
//! Ordinary text (letters, digits, spaces and the punctuation of names) is
//! returned as it is, so reports of ordinary data keep their bytes.

use std::borrow::Cow;

/// A character a terminal would act on instead of showing: C0, DEL, C1
/// (`char::is_control`), and the bidirectional controls that reorder what
/// is shown (Trojan Source).
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `\t`, `\n`, `\r`, or `\u{1b}`: what Rust's `escape_debug` shows.
fn push_visible(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        other => out.push_str(&format!("\\u{{{:x}}}", other as u32)),
    }
}

/// `text` with every character that `needs` it passed through `rewrite`
/// (borrowed when none does).
fn rewrite<'a>(
    text: &'a str,
    needs: impl Fn(usize, char) -> bool,
    rewrite: impl Fn(&mut String, usize, char),
) -> Cow<'a, str> {
    if !text.char_indices().any(|(i, c)| needs(i, c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in text.char_indices() {
        if needs(i, c) {
            rewrite(&mut out, i, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One value on one line of terminal output: every control character,
/// newlines included, is shown as a visible escape.
pub fn terminal(text: &str) -> Cow<'_, str> {
    rewrite(text, |_, c| hidden(c), |out, _, c| push_visible(out, c))
}

/// Multi-line terminal output (an error message, a rendered table): as
/// [`terminal`], but newlines stay newlines.
pub fn terminal_lines(text: &str) -> Cow<'_, str> {
    rewrite(
        text,
        |_, c| c != '\n' && hidden(c),
        |out, _, c| push_visible(out, c),
    )
}

/// A value placed in Markdown text or a table cell. Backslashes, backticks,
/// `*`, `[`, `]` and `|` are backslash-escaped; `_` too unless it sits
/// between two letters or digits (where it cannot emphasise, as in
/// `us_hotline.csv`); `<` becomes `&lt;` where it could open a tag, a
/// comment or an autolink, and `&` becomes `&amp;` where it could start an
/// entity; control characters are shown as visible escapes, so a value
/// never spans lines. Values are never placed at the start of a line, so
/// `#`, `>`, `-` and `!` (whose `[` is escaped) stay as they are, and so
/// does `(`: no link can form without `]`.
pub fn markdown_text(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let word = |i: Option<usize>| {
        i.and_then(|i| bytes.get(i))
            .is_some_and(u8::is_ascii_alphanumeric)
    };
    let next = |i: usize| bytes.get(i + 1).copied();
    let needs = |i: usize, c: char| match c {
        '\\' | '`' | '*' | '[' | ']' | '|' => true,
        '_' => !(word(i.checked_sub(1)) && word(Some(i + 1))),
        '<' => next(i).is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'/' | b'!' | b'?')),
        '&' => next(i).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'#'),
        c => hidden(c),
    };
    rewrite(text, needs, |out, _, c| match c {
        '<' => out.push_str("&lt;"),
        '&' => out.push_str("&amp;"),
        c if hidden(c) => push_visible(out, c),
        c => {
            out.push('\\');
            out.push(c);
        }
    })
}

/// A value in an HTML text node or a double-quoted attribute: `&`, `<`,
/// `>` and `"` as entities, control characters as visible escapes.
pub fn html_text(text: &str) -> Cow<'_, str> {
    rewrite(
        text,
        |_, c| matches!(c, '&' | '<' | '>' | '"') || (hidden(c) && !matches!(c, '\n' | '\t')),
        |out, _, c| match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => push_visible(out, c),
        },
    )
}

/// A plain decimal number (`-1.5`, `+3`, `2e-4`): a spreadsheet reads it
/// as that number, never as a formula.
fn is_number(text: &str) -> bool {
    let t = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next().unwrap_or("");
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok =
        digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Whether a spreadsheet would read this text as a formula (or start of
/// one): it begins with `=`, `+`, `-`, `@`, a tab or a carriage return and
/// is not a plain number.
pub fn formula_like(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_number(text)
}

/// A text cell of a CSV file: a [`formula_like`] value gets a leading `'`,
/// which spreadsheets show and never evaluate (the OWASP convention for
/// CSV injection). Numbers written as numbers are not text cells and never
/// pass through here.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    if formula_like(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_shows_escape_sequences_and_controls() {
        assert_eq!(terminal("\x1b[31mred\x1b[0m"), "\\u{1b}[31mred\\u{1b}[0m");
        assert_eq!(terminal("a\nb\tc\rd"), "a\\nb\\tc\\rd");
        assert_eq!(terminal("del\x7f c1\u{9b}31m"), "del\\u{7f} c1\\u{9b}31m");
        assert_eq!(terminal("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(terminal_lines("one\ntwo\x07"), "one\ntwo\\u{7}");
        for ordinary in ["Hotel", "Ñandú – café (x)", "C:\\path", "1/2 & 3 < 4"] {
            assert!(matches!(terminal(ordinary), Cow::Borrowed(_)), "{ordinary}");
        }
    }

    #[test]
    fn markdown_text_opens_no_html_link_image_code_or_cell() {
        assert_eq!(
            markdown_text("<img src=x onerror=alert(1)>.csv"),
            "&lt;img src=x onerror=alert(1)>.csv"
        );
        assert_eq!(
            markdown_text("[click](javascript:alert(1))"),
            "\\[click\\](javascript:alert(1))"
        );
        assert_eq!(markdown_text("![i](x.png)"), "!\\[i\\](x.png)");
        assert_eq!(
            markdown_text("<javascript:alert(1)>"),
            "&lt;javascript:alert(1)>"
        );
        assert_eq!(markdown_text("</b><!-- <?x"), "&lt;/b>&lt;!-- &lt;?x");
        assert_eq!(
            markdown_text("`code` *em* _em_"),
            "\\`code\\` \\*em\\* \\_em\\_"
        );
        assert_eq!(markdown_text("a|b\\"), "a\\|b\\\\");
        assert_eq!(
            markdown_text("&lt; &#60; R&D"),
            "&amp;lt; &amp;#60; R&amp;D"
        );
        assert_eq!(markdown_text("line\n# heading"), "line\\n# heading");
        // ordinary text keeps its bytes
        for ordinary in [
            "us_hotline.csv",
            "extension (outside the 25 types)",
            "<0.001",
            "the mixes differ (p < 0.05)",
            "Agriculture & Farms/Animal Husbandry",
            "-13.6",
            "2015–2019",
        ] {
            assert_eq!(markdown_text(ordinary), ordinary);
        }
    }

    #[test]
    fn html_text_escapes_markup_and_controls() {
        assert_eq!(
            html_text("</text><script>alert(\"1\")</script>&"),
            "&lt;/text&gt;&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt;&amp;"
        );
        assert_eq!(html_text("a\x1bb"), "a\\u{1b}b");
        assert_eq!(html_text("Women's shelter"), "Women's shelter");
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_evaluate_are_neutralised() {
        for formula in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "-",
            "-inf",
            "+",
            "-1e",
        ] {
            assert_eq!(csv_cell(formula), format!("'{formula}"), "{formula:?}");
            assert!(formula_like(formula));
        }
        for plain in [
            "-1.5", "+3", "-0", "2e-4", "-.5", "-7.", "US", "a=b", "", "x",
        ] {
            assert_eq!(csv_cell(plain), plain, "{plain:?}");
            assert!(!formula_like(plain));
        }
    }
}
