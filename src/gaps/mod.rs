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
use crate::publish::charts::{self, Chart};
use crate::publish::disclosure::Policy;
use crate::publish::table::{Cell, Table, TableSpec};
use crate::sql::selection::{Selection, Unit, parameters, run_with_parameters};
pub use needs::{Needs, Profile};
use safetynet_sdc::{self, CellId, CellStatus, LinkedTables};

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

/// A count, its records' cell key (the sum of its groups' keys, see
/// `safetynet_sdc::Perturbation`), and the hidden groups it sums.
type Sum = (u64, u64, Vec<CellId>);

pub struct Gaps {
    /// The years of registration the demand counts.
    pub from_year: i32,
    pub to_year: i32,
    /// Reporting countries; empty = all.
    pub countries: Vec<String>,
    pub tables: Vec<Table>,
    /// Counts suppressed for being small, and to protect those.
    pub primary: usize,
    pub secondary: usize,
    pub chart: Chart,
    pub needs_version: String,
    /// The input files and directory files the figures come from, with
    /// their SHA-256, and the classification rules version.
    pub inputs: Vec<String>,
    pub rules_version: String,
    /// What the user should be told (a period narrowed to the records').
    pub notes: Vec<String>,
}

const CLASSES_SQL: &str = "\
SELECT coalesce(exploitation_country, '') AS country, coalesce(exploitation_subdivision, '') AS subdivision,
  trafficking_form AS form, typology_id AS type_id, majority_status, gender, foreign_national,
  count(*) AS n, cell_key(record_id) AS cell_key
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

    // Victims whose place, form group and needed (service, population)
    // pairs are the same cannot be told apart by any published demand, so
    // they are one hidden group: the smallest model that says everything
    // the published numbers say.
    type Signature = (Place, &'static str, Vec<(String, String)>);
    let mut groups: BTreeMap<Signature, (u64, u64)> = BTreeMap::new();
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
        let key = match &row[8] {
            Cell::Int(k) => *k as u64,
            Cell::Float(k) => *k as u64,
            _ => 0,
        };
        let pairs = needs
            .of(&profile)
            .into_iter()
            .map(|(s, p)| (s.to_string(), p.to_string()))
            .collect();
        let group = groups
            .entry((place, profile.form_group(), pairs))
            .or_default();
        group.0 += n;
        group.1 = group.1.wrapping_add(key);
    }
    let mut model = LinkedTables::new();
    // per (place, service): all victims needing it, and those of them no
    // listed organisation can serve (their population or form not covered)
    let mut demand: BTreeMap<(Place, String), [Sum; 2]> = BTreeMap::new();
    let mut countries: BTreeMap<String, Sum> = BTreeMap::new();
    // each cell's key, by cell id, for its published value; None for the
    // cells no table shows (groups, remainders)
    let mut keys: Vec<Option<u64>> = Vec::new();
    for ((place, form, pairs), (n, group_key)) in groups {
        let base = model.add_hidden_cell(n, format!("{place:?} {form} {pairs:?}"));
        keys.push(None);
        let total = countries.entry(place.country.clone()).or_default();
        total.0 += n;
        total.1 = total.1.wrapping_add(group_key);
        total.2.push(base);
        for (service, population) in pairs {
            let key = DemandKey {
                place: place.clone(),
                service: service.clone(),
                population,
                form: form.to_string(),
            };
            let served = !place.country.is_empty() && !matching(orgs, &key).is_empty();
            let entry = demand.entry((place.clone(), service)).or_default();
            for part in if served {
                &mut entry[..1]
            } else {
                &mut entry[..]
            } {
                part.0 += n;
                part.1 = part.1.wrapping_add(group_key);
                part.2.push(base);
            }
        }
    }
    let sdc_error = |e: safetynet_sdc::SdcError| Error::Disclosure(e.to_string());
    let mut cells: Vec<[Option<CellId>; 2]> = Vec::new();
    for ((place, service), parts) in &demand {
        let mut pair = [None, None];
        for (i, (what, (n, key, bases))) in ["demand", "unmet"].iter().zip(parts).enumerate() {
            if bases.is_empty() {
                continue; // unmet is a published 0
            }
            let label = format!(
                "{what}({}, {}, {service})",
                place.country, place.subdivision
            );
            let id = model.add_labelled_cell(*n, label);
            keys.push(Some(*key));
            model.add_sum(bases, id).map_err(sdc_error)?;
            pair[i] = Some(id);
        }
        // Demand less unmet demand is the victims an organisation can
        // serve: a reader subtracts, so it is a cell, protected like one.
        if let [Some(demand_id), Some(unmet_id)] = pair {
            model
                .add_at_most(&[unmet_id], demand_id)
                .map_err(sdc_error)?;
            keys.push(None); // the remainder is never published
        }
        cells.push(pair);
    }
    let mut country_cells = Vec::new();
    for (country, (n, key, parts)) in &countries {
        let id = model.add_labelled_cell(*n, format!("victims({country})"));
        keys.push(Some(*key));
        model.add_sum(parts, id).map_err(sdc_error)?;
        country_cells.push(id);
    }
    let statuses = if policy.suppression {
        safetynet_sdc::protect(&model, policy.min_cell, policy.width()).map_err(sdc_error)?
    } else {
        vec![CellStatus::Published; model.cells().len()]
    };
    // Published values carry their records' noise; the range of a
    // suppressed count is what those published values allow, worked out on
    // them alone, so it gives away nothing they do not.
    let perturbation = policy.perturbation();
    assert_eq!(keys.len(), model.cells().len(), "one key entry per cell");
    let published: Vec<u64> = model
        .cells()
        .iter()
        .zip(&keys)
        .map(|(cell, key)| match key {
            Some(key) if policy.suppression => perturbation.apply(cell.value, *key),
            _ => cell.value,
        })
        .collect();
    // a reader knows nothing of the cells no table shows
    let seen: Vec<CellStatus> = statuses
        .iter()
        .zip(&keys)
        .map(|(s, key)| {
            if key.is_some() {
                *s
            } else {
                CellStatus::Hidden
            }
        })
        .collect();
    let noise = if policy.suppression {
        perturbation.max_noise
    } else {
        0
    };
    let view = model.published_view(&seen, &published, noise);
    // every suppressed count's range at once: the groups are found once and
    // the programs solved on every core
    let suppressed: Vec<CellId> = (0..statuses.len())
        .filter(|&i| statuses[i].is_suppressed())
        .map(CellId)
        .collect();
    let ranges: std::collections::HashMap<CellId, (f64, f64)> = suppressed
        .iter()
        .copied()
        .zip(safetynet_sdc::feasible_ranges(&view, &seen, &suppressed).map_err(sdc_error)?)
        .collect();
    let shown = |id: Option<CellId>| -> Result<(Cell, f64, f64)> {
        let Some(id) = id else {
            return Ok((Cell::Int(0), 0.0, 0.0));
        };
        let value = published[id.0];
        if let Some(&(lo, hi)) = ranges.get(&id) {
            Ok((Cell::Suppressed, (lo - 1e-6).ceil(), (hi + 1e-6).floor()))
        } else {
            Ok((Cell::Int(value as i64), value as f64, value as f64))
        }
    };

    let mut all_rows = Vec::new();
    let mut gaps: Vec<(f64, f64, Vec<Cell>)> = Vec::new();
    for (((place, service), _), pair) in demand.iter().zip(&cells) {
        let (demand_cell, _, _) = shown(pair[0])?;
        let (unmet_cell, lo, hi) = shown(pair[1])?;
        let offering: Vec<&Organization> = listed(orgs, place)
            .into_iter()
            .filter(|o| o.services.contains(service))
            .collect();
        let status = if place.country.is_empty() {
            "place not recorded"
        } else if listed(orgs, place).is_empty() {
            "no organizations listed"
        } else if offering.is_empty() {
            "no organization offers it"
        } else if pair[1].is_none() {
            "served"
        } else if parts_equal(&demand[&(place.clone(), service.clone())]) {
            "offered, not to these victims"
        } else {
            "partly served"
        };
        let [country, subdivision] = place_cells(place);
        let row = vec![
            country,
            subdivision,
            text(service),
            demand_cell,
            unmet_cell,
            Cell::Int(lo as i64),
            if hi.is_finite() {
                Cell::Int(hi as i64)
            } else {
                Cell::Null
            },
            Cell::Int(offering.len() as i64),
            text(&not_served(&offering)),
            text(status),
        ];
        if pair[1].is_some() && status != "place not recorded" {
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
        let (cell, _, _) = shown(Some(id))?;
        let [c, _] = place_cells(&place);
        let unlisted: std::collections::BTreeSet<&str> = demand
            .keys()
            .filter(|(p, _)| p.country == *country && !p.subdivision.is_empty())
            .filter(|(p, _)| listed(orgs, p).is_empty())
            .map(|(p, _)| p.subdivision.as_str())
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
                "demand",
                "unmet",
                "unmet_low",
                "unmet_high",
                "organizations",
                "not_offered_to",
                "status",
            ])
            .map(|c| c.to_string())
            .collect()
    };
    let ranked_table = Table {
        spec: TableSpec::parse(names[0], GAPS_HEADER)?,
        columns: columns(&["rank"]),
        rows: ranked,
    };
    let count = |wanted: CellStatus| statuses.iter().filter(|s| **s == wanted).count();
    Ok(Gaps {
        from_year,
        to_year,
        countries: selection.countries.clone(),
        primary: count(CellStatus::Primary),
        secondary: count(CellStatus::Secondary),
        chart: chart(&ranked_table, policy.min_cell),
        tables: vec![
            ranked_table,
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
        needs_version: needs.version.clone(),
        inputs: Vec::new(),
        rules_version: String::new(),
        notes: Vec::new(),
    })
}

/// Whether every victim needing the service is unmet (the same groups).
fn parts_equal(parts: &[Sum; 2]) -> bool {
    parts[0].2 == parts[1].2
}

/// Populations and forms that no organisation offering the service in the
/// place serves: what the directory says, not what the cases say.
fn not_served(offering: &[&Organization]) -> String {
    if offering.is_empty() {
        return "everyone".into();
    }
    let mut missing: Vec<&str> = crate::directory::vocab::POPULATIONS
        .iter()
        .copied()
        .filter(|p| {
            !offering
                .iter()
                .any(|o| o.populations.iter().any(|x| x == "all" || x == p))
        })
        .collect();
    for form in crate::directory::vocab::FORMS {
        if !offering
            .iter()
            .any(|o| o.forms.iter().any(|x| x == "all" || x == form))
        {
            missing.push(match *form {
                "sex" => "sex trafficking",
                _ => "labor trafficking",
            });
        }
    }
    missing.join("; ")
}

const GAPS_HEADER: &str = "\
-- chart: service-gaps
-- title: Service gaps, largest unmet demand first
-- counts: demand, unmet
-- note: demand = detected victims exploited in the place (subdivision) who need the service (rules/needs.toml); unmet = those of them whom no organization of the directory can serve: none offers the service in the subdivision or nationwide to their population (minors, women, men, LGBTQ+, or foreign nationals for immigration services) and form. organizations = entries offering the service there at all; not_offered_to = populations and forms none of them serves.
-- note: no organizations listed: the directory has no entry for the place at all, so whether services exist is unknown; this is not \"no gap\". no organization offers it: entries exist, none offers the service. offered, not to these victims: it is offered, but not to the victims' population or form. partly served: some of the victims are served.
-- note: A suppressed count (x) is ranked by unmet_low, the least the published figures allow; unmet_high empty: no upper bound.
";

const DEMAND_HEADER: &str = "\
-- title: Demand and supply of services by place
-- counts: demand, unmet
-- note: Every place and service with detected victims needing it, with the organizations offering it and the victims none of them can serve (status served when there are none).
";

const COVERAGE_HEADER: &str = "\
-- title: Directory coverage by country
-- counts: victims
-- note: victims = detected victims exploited in the country in the period; organizations = directory entries in the country; subdivisions_without_entries = places with demand where the directory lists no organization.
";

/// The columns of the ranked table the chart reads.
pub const CHART_COLUMNS: &[&str] = &[
    "country",
    "subdivision",
    "service",
    "unmet",
    "unmet_low",
    "unmet_high",
];

/// The chart of the fifteen largest gaps, from the ranked table.
pub fn chart(ranked: &Table, k: u64) -> Chart {
    let col = |c: &str| ranked.column(c).expect("gaps column");
    let rows = ranked
        .rows
        .iter()
        .take(15)
        .map(|row| {
            let subdivision = row[col("subdivision")].render();
            let place = if subdivision.starts_with('(') {
                format!("{} {subdivision}", row[col("country")].render())
            } else {
                subdivision
            };
            let label = format!("{place} · {}", row[col("service")].render());
            let lo = row[col("unmet_low")].as_f64().unwrap_or(0.0);
            let hi = row[col("unmet_high")].as_f64().unwrap_or(f64::INFINITY);
            (label, lo, hi, row[col("unmet")] != Cell::Suppressed)
        })
        .collect();
    charts::ranked(
        "service_gaps",
        "Largest service gaps",
        &format!(
            "Detected victims who need a service that no organization of the directory can give them there (their \
             population or form not served, or the service not offered). Hatched: a count not published (disclosure \
             control: below {k}, or hidden to protect one), drawn from the least to the most the published figures \
             allow."
        ),
        rows,
    )
}

/// The gaps of a store's cases against its directory.
pub async fn build_for_store(
    store: &crate::store::Store,
    engine: crate::sql::engine::EngineSettings,
    selection: &Selection,
    policy: Policy,
    needs: Option<&std::path::Path>,
    names: [&str; 3],
) -> Result<Gaps> {
    if !crate::directory::exists(store.root()) {
        return Err(Error::Usage(format!(
            "{}: no directory of organizations in the store; import one with `safetynet directory import FILE --store ...`",
            store.root().display()
        )));
    }
    let needs = Needs::load(needs)?;
    let organizations = crate::directory::load(store.root())?;
    let ctx = crate::sql::engine::session(store, engine).await?;
    // gaps of a selection without records would read as "no gaps", and
    // of years without records as years without victims
    let crate::sql::selection::Period {
        from_year,
        to_year,
        notes,
    } = crate::sql::selection::period_of(&ctx, selection, "gaps list").await?;
    let mut inputs = store.input_provenance();
    inputs.extend(crate::directory::provenance(store.root())?);
    let mut gaps = build(
        &ctx,
        &Request {
            selection,
            from_year,
            to_year,
            policy,
            needs: &needs,
            organizations: &organizations,
            names,
        },
    )
    .await?;
    gaps.inputs = inputs;
    gaps.rules_version = store.manifest().rules_version.clone();
    gaps.notes = notes;
    Ok(gaps)
}

/// What the methods section says about the gaps.
pub fn method_text(needs_version: &str) -> crate::publish::render::Text {
    crate::publish::render::Text::prose(
        "Demand is the number of detected victims, by where they were exploited, who need each service by the \
         reviewable needs file (`rules/needs.toml`, version ",
    )
    .value(needs_version)
    .and(
        ": for example minors need child \
         protection, foreign nationals immigration legal aid). Supply is the organizations of the directory \
         offering that service, to that population (or all) and form (or all), in the subdivision or nationwide. \
         A place where the directory lists no organization at all is reported as \"no organizations listed\": \
         the directory does not cover it, which is not the same as no gap. Demand is disclosure-controlled on its \
         own model: the groups of victims behind every published demand are linked, so that neither a demand nor \
         a difference between two demands gives a small count away; a suppressed demand is shown as `x` with the \
         range the published figures allow, and gaps are ranked by the low end of that range.",
    )
}

/// Writes the gaps: tables as CSV and one workbook, the chart, the report.
/// With `release`, the gaps are recorded in that store's release ledger,
/// with the scope they cover, before they are put in place.
pub fn write(
    gaps: &Gaps,
    policy: Policy,
    target: &std::path::Path,
    release: Option<(&crate::store::Store, crate::store::releases::Scope)>,
) -> Result<Vec<std::path::PathBuf>> {
    let output = crate::publish::writer::OutputDir::begin(target, "gaps")?;
    let out = output.staging();
    let mut chart = chart(&gaps.tables[0], policy.min_cell);
    if !policy.suppression {
        chart.title = format!("NOT FOR PUBLICATION – {}", chart.title);
    }
    charts::render_svg(&mut chart)?;
    let charts = [chart];
    let doc = crate::publish::render::Document {
        title: "Services for survivors: where they are lacking",
        logo: None,
        scope: "Detected victims by place of exploitation, against the directory of organizations in the store."
            .into(),
        caveat: "Demand counts victims detected by hotlines, not all victims; the directory lists the organizations \
                 someone entered, not every service that exists.",
        policy,
        charts: &charts,
        tables: &gaps.tables,
        sections: vec![
            ("How gaps are found".into(), method_text(&gaps.needs_version)),
            (
                "Data".into(),
                crate::publish::render::Text::prose("Input files: ")
                    .values(&gaps.inputs, ", ")
                    .and(". Classification rules: version ")
                    .value(gaps.rules_version.clone())
                    .and(format!(
                        ". Made with safetynet {} (the same store, rules and options give the same bytes).",
                        env!("CARGO_PKG_VERSION")
                    )),
            ),
        ],
        profiles: Default::default(),
        key_figures: Default::default(),
        reader_tables: Default::default(),
    };
    let written = crate::publish::writer::write_document(out, "gaps", &doc)?;
    let written = written.iter().map(|p| output.published_path(p)).collect();
    if let Some((store, scope)) = release {
        output.record_release(store, scope, policy)?;
    }
    output.commit()?;
    Ok(written)
}
