//! Lists of names in messages, kept short: a file with 100,000 unknown
//! columns gets a message of a few lines, not a megabyte.

/// How many items a message names before it counts the rest.
pub const SHOWN: usize = 20;

/// `a, b, c` or `a, b, ... t and 99,980 more`, each item cut to 80
/// characters.
pub fn some_of<S: AsRef<str>>(items: &[S]) -> String {
    let mut text = items
        .iter()
        .take(SHOWN)
        .map(|s| {
            let s = s.as_ref();
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(80).collect::<String>())
            } else {
                s.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text += &format!(" and {} more", items.len() - SHOWN);
    }
    text
}

/// The message for a header that lacks some of the `required` columns
/// (compared as given), naming what the file is (`a directory`) and every
/// column it takes; None when nothing is missing.
pub fn missing_columns(
    header: &[String],
    required: &[&str],
    optional: &[&str],
    what: &str,
) -> Option<String> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "missing column(s) {} ({what} has {}, and optionally {})",
            missing.join(", "),
            required.join(", "),
            optional.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_is_cut_and_counted() {
        let many: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
        let text = some_of(&many);
        assert!(text.ends_with("and 99980 more"), "{text}");
        assert!(text.len() < 300);
        assert_eq!(some_of(&["a", "b"]), "a, b");
    }
}
