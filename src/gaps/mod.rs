//! Where services for survivors are lacking: demand (victims detected in a
//! place who need a service, by the needs file) beside supply (organisations
//! of the directory offering that service, to that population, for that
//! form, in that place or nationwide), gaps ranked by unmet demand.
//!
//! Demand is published through disclosure control built for it: each group
//! of victims with the same place, form, type and profile is a hidden cell;
//! every published demand count is the sum of the groups that need the
//! service, and each country's total is published too; the engine then
//! suppresses so that no group, and no difference between two published
//! demands (all victims against sex-trafficking victims of a place, say),
//! gives a small count away. A suppressed demand is shown with the range
//! the published figures allow, and gaps are ranked by its low end.

pub mod needs;

use std::collections::BTreeMap;

use datafusion::prelude::SessionContext;

use crate::directory::Organization;
use crate::error::{Error, Result};
use crate::report::charts::{self, Chart};
use crate::report::disclosure::Policy;
use crate::report::table::{Cell, Table, TableSpec};
use crate::report::{Selection, Unit, parameters, run_with_parameters};
use crate::sdc::{self, CellId, CellStatus, LinkedTables};
pub use needs::{Needs, Profile};

/// Where a victim was exploited; empty when not recorded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    country: String,
    subdivision: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct DemandKey {
    place: Place,
    service: String,
    population: String,
    form: String,
}

pub struct Gaps {
    pub tables: Vec<Table>,
    pub chart: Chart,
    pub needs_version: String,
}

const CLASSES_SQL: &str = "\
SELECT coalesce(exploitation_country, '') AS country, coalesce(exploitation_subdivision, '') AS subdivision,
  trafficking_form AS form, typology_id AS type_id, majority_status, gender, foreign_national,
  count(*) AS n
FROM cases
WHERE year BETWEEN $from_year AND $to_year
  AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))
  AND $unit = $unit
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY 1, 2, 3, 4, 5, 6, 7";

/// Organisations that can serve the demand: same country, the place's
/// subdivision or nationwide (any of the country's when the subdivision is
/// not recorded), the service, the population (or all) and the form (or all).
fn matching<'a>(orgs: &'a [Organization], key: &DemandKey) -> Vec<&'a Organization> {
    listed(orgs, &key.place)
        .into_iter()
        .filter(|o| o.services.contains(&key.service))
        .filter(|o| {
            key.population == "not recorded"
                || o.populations
                    .iter()
                    .any(|p| p == "all" || *p == key.population)
        })
        .filter(|o| key.form == "any" || o.forms.iter().any(|f| f == "all" || *f == key.form))
        .collect()
}

/// The directory's entries that work in a place.
fn listed<'a>(orgs: &'a [Organization], place: &Place) -> Vec<&'a Organization> {
    orgs.iter()
        .filter(|o| o.country == place.country)
        .filter(|o| {
            place.subdivision.is_empty()
                || o.subdivision.is_none()
                || o.subdivision.as_deref() == Some(place.subdivision.as_str())
        })
        .collect()
}

fn text(c: &str) -> Cell {
    Cell::Text(c.to_string())
}

fn place_cells(place: &Place) -> [Cell; 2] {
    [
        text(if place.country.is_empty() {
            "(not recorded)"
        } else {
            &place.country
        }),
        text(if place.subdivision.is_empty() {
            "(not recorded)"
        } else {
            &place.subdivision
        }),
    ]
}

/// What to build the gaps from.
pub struct Request<'a> {
    pub selection: &'a Selection,
    pub from_year: i32,
    pub to_year: i32,
    pub policy: Policy,
    pub needs: &'a Needs,
    pub organizations: &'a [Organization],
    /// Names of the three tables (ranked gaps, demand and supply, coverage).
    pub names: [&'a str; 3],
}

pub async fn build(ctx: &SessionContext, request: &Request<'_>) -> Result<Gaps> {
    let Request {
        selection,
        from_year,
        to_year,
        policy,
        needs,
        organizations: orgs,
        names,
    } = *request;
    // Demand counts victims, whatever unit the report uses.
    let selection = Selection {
        unit: Unit::Victims,
        ..selection.clone()
    };
    let batches =
        run_with_parameters(ctx, CLASSES_SQL, parameters(&selection, from_year, to_year)).await?;
    let classes = Table::from_batches(TableSpec::parse("classes", "")?, &batches)?;

    let mut model = LinkedTables::new();
    let mut demand: BTreeMap<DemandKey, (u64, Vec<CellId>)> = BTreeMap::new();
    let mut countries: BTreeMap<String, (u64, Vec<CellId>)> = BTreeMap::new();
    for row in &classes.rows {
        let place = Place {
            country: row[0].render(),
            subdivision: row[1].render(),
        };
        let profile = Profile {
            form: row[2].render(),
            type_id: row[3].as_f64().map(|v| v as i64),
            minor: match row[4].as_text() {
                Some("minor") => Some(true),
                Some("adult") => Some(false),
                _ => None,
            },
            gender: row[5].as_text().map(str::to_string),
            foreign_national: match row[6].as_text() {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            },
        };
        let n = row[7].as_f64().unwrap_or(0.0) as u64;
        let base = model.add_hidden_cell(n, format!("{place:?} {profile:?}"));
        let total = countries.entry(place.country.clone()).or_default();
        total.0 += n;
        total.1.push(base);
        for (service, population) in needs.of(&profile) {
            let key = DemandKey {
                place: place.clone(),
                service: service.to_string(),
                population: population.to_string(),
                form: profile.form_group().to_string(),
            };
            let entry = demand.entry(key).or_default();
            entry.0 += n;
            entry.1.push(base);
        }
    }
    let sdc_error = |e: sdc::SdcError| Error::Disclosure(e.to_string());
    let mut demand_cells = Vec::new();
    for (key, (n, parts)) in &demand {
        let label = format!(
            "demand({}, {}, {}, {}, {})",
            key.place.country, key.place.subdivision, key.service, key.population, key.form
        );
        let id = model.add_labelled_cell(*n, label);
        model.add_sum(parts, id).map_err(sdc_error)?;
        demand_cells.push(id);
    }
    let mut country_cells = Vec::new();
    for (country, (n, parts)) in &countries {
        let id = model.add_labelled_cell(*n, format!("victims({country})"));
        model.add_sum(parts, id).map_err(sdc_error)?;
        country_cells.push(id);
    }
    let statuses = if policy.suppression {
        sdc::protect(&model, policy.min_cell, policy.width()).map_err(sdc_error)?
    } else {
        vec![CellStatus::Published; model.cells().len()]
    };
    let shown = |id: CellId| -> Result<(Cell, f64, f64)> {
        let value = model.cells()[id.0].value;
        if statuses[id.0].is_suppressed() {
            let (lo, hi) = sdc::feasible_range(&model, &statuses, id).map_err(sdc_error)?;
            Ok((Cell::Suppressed, (lo - 1e-6).ceil(), (hi + 1e-6).floor()))
        } else {
            Ok((Cell::Int(value as i64), value as f64, value as f64))
        }
    };

    let mut all_rows = Vec::new();
    let mut gaps: Vec<(f64, f64, Vec<Cell>)> = Vec::new();
    for ((key, _), &id) in demand.iter().zip(&demand_cells) {
        let (cell, lo, hi) = shown(id)?;
        let supply = matching(orgs, key).len();
        let status = if key.place.country.is_empty() {
            "place not recorded"
        } else if listed(orgs, &key.place).is_empty() {
            "no organizations listed"
        } else if supply == 0 {
            "no matching organization"
        } else {
            "served"
        };
        let [country, subdivision] = place_cells(&key.place);
        let row = vec![
            country,
            subdivision,
            text(&key.service),
            text(&key.population),
            text(&key.form),
            cell,
            Cell::Int(lo as i64),
            if hi.is_finite() {
                Cell::Int(hi as i64)
            } else {
                Cell::Null
            },
            Cell::Int(supply as i64),
            text(status),
        ];
        if status != "served" && status != "place not recorded" {
            gaps.push((lo, hi, row.clone()));
        }
        all_rows.push(row);
    }
    // Largest unmet demand first: by what the published figures guarantee,
    // then by what they allow.
    gaps.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)));
    let ranked: Vec<Vec<Cell>> = gaps
        .iter()
        .enumerate()
        .map(|(i, (_, _, row))| {
            let mut r = vec![Cell::Int(i as i64 + 1)];
            r.extend(row.iter().cloned());
            r
        })
        .collect();
    let mut coverage = Vec::new();
    for ((country, _), &id) in countries.iter().zip(&country_cells) {
        let place = Place {
            country: country.clone(),
            subdivision: String::new(),
        };
        let (cell, _, _) = shown(id)?;
        let [c, _] = place_cells(&place);
        let unlisted: std::collections::BTreeSet<&str> = demand
            .keys()
            .filter(|k| k.place.country == *country && !k.place.subdivision.is_empty())
            .filter(|k| listed(orgs, &k.place).is_empty())
            .map(|k| k.place.subdivision.as_str())
            .collect();
        coverage.push(vec![
            c,
            cell,
            Cell::Int(orgs.iter().filter(|o| o.country == *country).count() as i64),
            text(&unlisted.into_iter().collect::<Vec<_>>().join(", ")),
        ]);
    }
    let columns = |first: &[&str]| -> Vec<String> {
        first
            .iter()
            .chain(&[
                "country",
                "subdivision",
                "service",
                "population",
                "form",
                "demand",
                "demand_low",
                "demand_high",
                "organizations",
                "status",
            ])
            .map(|c| c.to_string())
            .collect()
    };
    let chart = gaps_chart(&gaps, policy.min_cell);
    Ok(Gaps {
        tables: vec![
            Table {
                spec: TableSpec::parse(names[0], GAPS_HEADER)?,
                columns: columns(&["rank"]),
                rows: ranked,
            },
            Table {
                spec: TableSpec::parse(names[1], DEMAND_HEADER)?,
                columns: columns(&[]),
                rows: all_rows,
            },
            Table {
                spec: TableSpec::parse(names[2], COVERAGE_HEADER)?,
                columns: [
                    "country",
                    "victims",
                    "organizations",
                    "subdivisions_without_entries",
                ]
                .map(String::from)
                .to_vec(),
                rows: coverage,
            },
        ],
        chart,
        needs_version: needs.version.clone(),
    })
}

const GAPS_HEADER: &str = "\
-- title: Service gaps, largest unmet demand first
-- counts: demand
-- note: demand = detected victims exploited in the place who need the service (rules/needs.toml), by the population an organisation must serve and the form (any: both forms, another or unknown). organizations = directory entries offering that service to that population for that form, in the subdivision or nationwide.
-- note: no matching organization: the directory lists organizations there, none of them offering this. no organizations listed: the directory has no entry for the place at all, so whether services exist is unknown; this is not \"no gap\".
-- note: A suppressed demand (x) is ranked by demand_low, the least the published figures allow; demand_high empty: no upper bound.
";

const DEMAND_HEADER: &str = "\
-- title: Demand and supply of services by place
-- counts: demand
-- note: Every place, service, population and form with detected victims needing the service, with the organizations that can serve them (status served when at least one).
";

const COVERAGE_HEADER: &str = "\
-- title: Directory coverage by country
-- counts: victims
-- note: victims = detected victims exploited in the country in the period; organizations = directory entries in the country; subdivisions_without_entries = places with demand where the directory lists no organization.
";

fn gaps_chart(gaps: &[(f64, f64, Vec<Cell>)], k: u64) -> Chart {
    let rows = gaps
        .iter()
        .take(15)
        .map(|(lo, hi, row)| {
            let label = format!(
                "{} {} · {} · {} · {}",
                row[0].render(),
                row[1].render(),
                row[2].render(),
                row[3].render(),
                row[4].render()
            );
            (label, *lo, *hi, row[5] != Cell::Suppressed)
        })
        .collect();
    charts::ranked(
        "service_gaps",
        "Largest service gaps",
        &format!(
            "Detected victims who need a service where the directory lists no organization offering it (place, \
             service, population, form). Hatched: a demand not published (disclosure control: below {k}, or hidden \
             to protect one), drawn from the least to the most the published figures allow."
        ),
        rows,
    )
}
