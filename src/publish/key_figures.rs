//! The key figures a report opens with: the records of the last year
//! against the year before, with the change and whether it is beyond
//! chance, and the largest types of the last year with their shares.
//!
//! Every figure is read from the published tables (after disclosure
//! control), never from the store: a figure that is `x` there is not
//! published here. `audit` builds the same figures again from the CSVs and
//! requires the report to show exactly them.

use std::fmt::Write as _;

use super::render::escape;
use super::table::Table;

/// One key figure: what it is, its value, and how to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyFigure {
    pub label: String,
    pub value: String,
    pub detail: String,
}

/// A count with thousands separators (`12,345`).
pub fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0.0 { format!("-{out}") } else { out }
}

/// Whether two counts of consecutive years differ beyond chance: the two
/// counts as Poisson, the test of the first given their sum (the normal
/// approximation, |z| > 1.96 at the 5% level).
fn beyond_chance(now: f64, before: f64) -> bool {
    let sum = now + before;
    sum > 0.0 && ((now - before) / sum.sqrt()).abs() > 1.96
}

/// The key figures of the report's tables (none when the tables by year
/// are missing or hold fewer than one year).
pub fn build(tables: &[Table]) -> Vec<KeyFigure> {
    let mut figures = Vec::new();
    let Some(totals) = Table::named(tables, "totals_by_form_year") else {
        return figures;
    };
    // the year's total is the denominator of every row of the year
    let mut years: Vec<(i64, Option<f64>)> = Vec::new();
    for row in &totals.rows {
        let (Some(year), Some(d)) = (
            totals.text(row, "year").and_then(|y| y.parse::<i64>().ok()),
            totals.column("denominator").map(|i| row[i].number()),
        ) else {
            continue;
        };
        if !years.iter().any(|(y, _)| *y == year) {
            years.push((year, d));
        }
    }
    years.sort_by_key(|(y, _)| *y);
    let Some(&(last, now)) = years.last() else {
        return figures;
    };
    let before = years
        .iter()
        .find(|(y, _)| *y == last - 1)
        .and_then(|(_, d)| *d);
    let value = now.map_or("x (not published)".to_string(), thousands);
    let detail = match (now, before) {
        (Some(now), Some(before)) if before > 0.0 => {
            let change = 100.0 * (now - before) / before;
            format!(
                "{} in {}: a change of {}{:.1}% ({})",
                thousands(before),
                last - 1,
                if change > 0.0 { "+" } else { "" },
                change,
                if beyond_chance(now, before) {
                    "beyond chance at the 5% level"
                } else {
                    "within chance variation at the 5% level"
                }
            )
        }
        _ => format!("no published figure for {} to compare with", last - 1),
    };
    figures.push(KeyFigure {
        label: format!("Records registered in {last}"),
        value,
        detail,
    });

    if let Some(types) = Table::named(tables, "types_by_year") {
        let mut largest: Vec<(f64, String, String)> = types
            .rows
            .iter()
            .filter(|r| types.text(r, "year").as_deref() == Some(&last.to_string()))
            .filter(|r| types.text(r, "section").as_deref() == Some("typology"))
            .filter_map(|r| {
                let n = r[types.column("n")?].number()?;
                Some((n, types.text(r, "category")?, types.text(r, "share_pct")?))
            })
            .collect();
        largest.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (rank, (n, category, share)) in largest.into_iter().take(3).enumerate() {
            figures.push(KeyFigure {
                label: format!("Largest types in {last}, #{}", rank + 1),
                value: category,
                detail: format!("{} records, {share}% of the year's records", thousands(n)),
            });
        }
    }
    figures
}

/// The key figures as HTML: a short table at the top of the report.
pub fn html(figures: &[KeyFigure]) -> String {
    let mut out = String::new();
    if figures.is_empty() {
        return out;
    }
    out += "<section id=\"key-figures\">\n<h2>Key figures</h2>\n<table class=\"key-figures\">\n<tbody>\n";
    for f in figures {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            escape(&f.label),
            escape(&f.value),
            escape(&f.detail)
        );
    }
    out += "</tbody>\n</table>\n<p class=\"note\">From the tables below, after disclosure control: \
            counts carry the noise described under Methods.</p>\n</section>\n";
    out
}

/// The key figures as Markdown.
pub fn markdown(figures: &[KeyFigure]) -> String {
    use crate::base::escape::markdown_text;
    let mut out = String::new();
    if figures.is_empty() {
        return out;
    }
    out += "## Key figures\n\n| figure | value | reading |\n|---|---|---|\n";
    for f in figures {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            markdown_text(&f.label),
            markdown_text(&f.value),
            markdown_text(&f.detail)
        );
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_and_chance() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1234567.0), "1,234,567");
        assert!(beyond_chance(130.0, 100.0));
        assert!(!beyond_chance(110.0, 100.0));
    }
}
