//! The report's own texts (scope, coverage, methods) around the shared
//! renderers of `publish::render`.

use crate::publish::render::NOT_FOR_PUBLICATION;
use crate::publish::table::{Cell, SUPPRESSED, Table, WITHHELD};

use super::Report;
use crate::publish::charts::Chart;
use crate::publish::render::{Document, Text};
use crate::sql::selection::Unit;

fn unit_text(unit: Unit) -> &'static str {
    match unit {
        Unit::Victims => "victims (one record = one victim in one case)",
        Unit::Cases => "cases (distinct case ids; a case can have several victims)",
    }
}

/// The countries and the rules version are values from data (the store,
/// the rules file): escaped by each renderer.
fn scope(report: &Report) -> Text {
    let c = &report.context;
    let published_by = match &c.organisation {
        Some(org) => Text::prose("Published by ").value(org.clone()).and(". "),
        None => Text::default(),
    };
    published_by
        .and("Reporting countries: ")
        .values(&c.countries, ", ")
        .and(format!(
            ". Years of registration: {}–{}. Unit: {}. Classification rules: version ",
            c.from_year,
            c.to_year,
            unit_text(c.unit),
        ))
        .value(c.rules_version.clone())
        .and(".")
}

/// Coverage figures for the methods section, read from the coverage table.
fn coverage(report: &Report) -> Option<(String, [String; 3])> {
    let t = report
        .tables
        .iter()
        .find(|t| t.spec.summaries.iter().any(|s| s == "coverage"))?;
    let (section, n, denominator) = (
        t.column("section")?,
        t.column("n")?,
        t.column("denominator")?,
    );
    // the section's published counts over the published total (never a sum
    // of rounded shares, which can print 100.1%)
    let total = t.rows.iter().find_map(|r| r[denominator].as_f64());
    let sum = |name: &str| -> String {
        let counts: Vec<&Cell> = t
            .rows
            .iter()
            .filter(|r| r[section].as_text() == Some(name))
            .map(|r| &r[n])
            .collect();
        match total {
            _ if counts.iter().any(|c| c.as_f64().is_none()) => WITHHELD.to_string(),
            Some(total) if total > 0.0 => {
                let share = 100.0 * counts.iter().filter_map(|c| c.as_f64()).sum::<f64>() / total;
                // no "-0.0%": a share is never below zero, and the sum of no
                // counts is -0.0, which `max(0.0)` may keep
                format!("{:.1}%", if share > 0.0 { share } else { 0.0 })
            }
            _ => WITHHELD.to_string(),
        }
    };
    let left_out = |why: &str| {
        t.rows
            .iter()
            .find(|r| r[section].as_text() == Some(why))
            .map(|r| r[n].render())
            .unwrap_or_else(|| "0".into())
    };
    Some((
        format!(
            "{} of records have a typology type, {} an extension category (a form outside the 25 types), and {} \
             could not be given a type; the reasons are listed in the coverage table.",
            sum("typology"),
            sum("extension (outside the 25 types)"),
            sum("undetermined")
        ),
        [
            left_out("left out: year not recorded"),
            left_out("not in the tables by year: a period of several years"),
            left_out("left out: a period reaching outside the years"),
        ],
    ))
}

fn methods(report: &Report) -> Vec<(String, Text)> {
    let c = &report.context;
    let mut sections = vec![
        (
            "What these figures are".to_string(),
            Text::prose(
                "All figures count cases detected by or reported to the contributing hotlines and organisations. They \
             are not estimates of the prevalence of trafficking: they depend on who contacts a hotline, on \
             outreach, and on how each organisation records cases, which differ by country, region, population \
             group and form of exploitation. Rates or comparisons between countries reflect detection as much \
             as trafficking.",
            ),
        ),
        (
            "Units and shares".to_string(),
            Text::prose(format!(
                "Counts are {}. Every share states its denominator in the table (the column `denominator`); \
                 attributes that were not recorded are left out of the denominator and never counted as \"no\". \
                 Shares carry 95% Wilson score intervals (`ci_low_pct`, `ci_high_pct`).",
                unit_text(c.unit)
            )),
        ),
        (
            "Multi-valued attributes".to_string(),
            "Recruitment tactics, recruiter relations, methods of control and the perpetrators' attributes can \
             each have several values per record (a case can have several perpetrators), so their shares within \
             a type do not add up to 100%."
                .into(),
        ),
    ];
    if let Some((text, [no_year, periods, outside])) = coverage(report) {
        sections.push((
            "Classification coverage".to_string(),
            Text::prose(
                "Each record is placed in the Typology of Modern Slavery (Polaris, 2017) by reviewed, versioned \
                 rules on its trafficking form, sectors and venue text (rules version ",
            )
            .value(c.rules_version.clone())
            .and(format!(
                "). {text} Records whose year of registration was not recorded are left out of every table: \
                 {no_year}. Records registered over a period of several years (such as 2014-2018) cannot be \
                 placed in one year: the tables by year leave them out ({periods}), the tables by type count them \
                 when the whole period lies within the report's years, and those whose period reaches outside \
                 the years are left out ({outside})."
            )),
        ));
    }
    if Table::named(&report.tables, "detection_rates").is_none() {
        sections.push((
            "Rates".to_string(),
            "This report has no table of detected cases per 100,000 population: it was not given a \
             population table (`--population FILE`, or `population = \"FILE\"` in the config file; a CSV of \
             country, year, population and source)."
                .into(),
        ));
    }
    let p = c.policy;
    let disclosure = if p.suppression {
        format!(
            "Every count from 1 to {} is suppressed (primary suppression). Because totals are published too, \
             further counts are suppressed (secondary suppression) until no suppressed count can be worked out, \
             from the totals of its own table or of any other table of this report that shares a margin with it, \
             to a range narrower than {}; `safetynet audit` checks this with a linear program per suppressed count, \
             and the report is not written unless the audit passes. Suppressed counts are shown as `{SUPPRESSED}`, \
             never as 0, and the symbol does not say which of the two reasons applies; zero is shown as 0. Shares, \
             intervals and changes computed from a suppressed count are withheld and shown as `{WITHHELD}`. In this \
             report {} counts were suppressed for being small, {} more to protect them, and {} figures were \
             withheld. Charts draw suppressed figures in grey or hatched, never as zero. Every published count              of {} or more is the true count give or take at most {} (cell-key perturbation): the noise is drawn              from the records the count covers, so the same records carry the same noise in every table and every              release from this store, and subtracting two publications does not give a small count away. Shares,              intervals, changes and rates are computed from the published counts; parts may therefore add up to a              little more or less than their published total.",
            p.min_cell - 1,
            p.width(),
            c.outcome.primary,
            c.outcome.secondary,
            c.outcome.withheld,
            p.min_cell,
            p.perturbation().max_noise
        )
    } else {
        format!(
            "{NOT_FOR_PUBLICATION} Counts from 1 to {} are shown as they are.",
            p.min_cell - 1
        )
    };
    sections.push(("Disclosure control".to_string(), disclosure.into()));
    if let Some(version) = &c.needs_version {
        sections.push((
            "Service gaps".to_string(),
            crate::gaps::method_text(version),
        ));
    }
    sections.push((
        "Data".to_string(),
        scope(report)
            .and(" Input files: ")
            .values(&c.inputs, ", ")
            .and(format!(
                ". Made with safetynet {} (the same store, rules and options give the same bytes).",
                env!("CARGO_PKG_VERSION")
            )),
    ));
    sections
}

const REPORT_CAVEAT: &str =
    "These are cases detected by or reported to hotlines, not the prevalence of trafficking.";

/// The report as a document of the shared renderers.
pub fn report_document<'a>(
    report: &'a Report,
    charts: &'a [Chart],
    profiles: &[crate::publish::profiles::TypeProfile],
) -> Document<'a> {
    Document {
        title: &report.context.title,
        logo: report.context.logo.clone(),
        scope: scope(report),
        caveat: REPORT_CAVEAT,
        policy: report.context.policy,
        charts,
        tables: &report.tables,
        sections: methods(report),
        profiles: (
            crate::publish::profiles::html(profiles),
            crate::publish::profiles::markdown(profiles),
        ),
        reader_tables: {
            // types by year, then a section per reporting country
            let wide = crate::publish::reader::types_by_year(&report.tables);
            let countries = crate::publish::countries::build(&report.tables);
            (
                crate::publish::reader::html(&wide) + &crate::publish::countries::html(&countries),
                crate::publish::reader::markdown(&wide)
                    + &crate::publish::countries::markdown(&countries),
            )
        },
        key_figures: {
            let figures = crate::publish::key_figures::build(&report.tables);
            (
                crate::publish::key_figures::html(&figures),
                crate::publish::key_figures::markdown(&figures),
            )
        },
    }
}
