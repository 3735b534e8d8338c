//! One country's figures as they may leave the organisation: counts by type
//! and year and by type over the period, with their totals, after
//! disclosure control. The comparison is made from these alone, whether
//! they come straight from a store (`compare`) or from bundles (`merge`),
//! so the two agree wherever both publish a number.

use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::publish::disclosure::{self, Policy};
use crate::publish::table::{Cell, Table, TableSpec};
use crate::sql::perturb::{self, CountSettings, Counting};
use crate::sql::selection::{Selection, Unit, parameters, run_with_parameters};

/// What the figures are: whose, over which years, counted how, protected how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub country: String,
    pub from_year: i32,
    pub to_year: i32,
    pub unit: Unit,
    pub rules_version: String,
    /// SHA-256 of the rules the store was classified with: two stores can
    /// give their rules the same version and classify differently. None in
    /// a bundle from before the fourteenth session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_sha256: Option<String>,
    pub min_cell: u64,
    pub width: u64,
    /// The noise table's D the counts were published with (0: exact
    /// counts, from a version before perturbation).
    #[serde(default)]
    pub max_noise: u64,
}

#[derive(Debug, Clone)]
pub struct Aggregates {
    pub scope: Scope,
    /// [`TYPES_BY_YEAR`], then [`TYPES_OVER_PERIOD`].
    pub tables: Vec<Table>,
}

pub const TYPES_BY_YEAR: &str = "types_by_year";
pub const TYPES_OVER_PERIOD: &str = "types_over_period";

/// The tables' headers, read like a query file's: what each count is and
/// how they add up, so that disclosure control protects the two together.
const BY_YEAR_HEADER: &str = "\
-- title: Records by typology type and year
-- counts: n, denominator
-- cells: n = records(year, section, category)
-- cells: denominator = records(year)
-- sum: records(year, section, category) over category
-- sum: records(year, section) over section
-- sum: records(year, section, category) over year
-- sum: records(year) over year
";

const OVER_PERIOD_HEADER: &str = "\
-- title: Records by typology type over the period
-- counts: n, denominator
-- cells: n = records(section, category)
-- cells: denominator = records()
-- sum: records(section, category) over category
-- sum: records(section) over section
";

pub fn spec(name: &str) -> Result<TableSpec> {
    match name {
        TYPES_BY_YEAR => TableSpec::parse(TYPES_BY_YEAR, BY_YEAR_HEADER),
        TYPES_OVER_PERIOD => TableSpec::parse(TYPES_OVER_PERIOD, OVER_PERIOD_HEADER),
        other => Err(Error::Usage(format!("no aggregate table '{other}'"))),
    }
}

const SELECTED: &str = "\
WITH selected AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE year BETWEEN $from_year AND $to_year
    AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))
),
labelled AS (
  SELECT year, unit_id,
    CASE classification WHEN 'typology' THEN 1 WHEN 'extension' THEN 2 ELSE 3 END AS section_order,
    CASE classification WHEN 'typology' THEN 'typology' WHEN 'extension' THEN 'extension (outside the 25 types)' ELSE 'undetermined' END AS section,
    typology_id AS type_id,
    coalesce(typology_name, extension_category, 'not determined') AS category
  FROM selected
)";

/// Every type of the country in every year (zeros included, so a share of
/// 0 is a published 0 and not a missing row).
const BY_YEAR_SQL: &str = "
, years AS (SELECT year, protected_count(unit_id) AS denominator FROM labelled GROUP BY year),
categories AS (SELECT DISTINCT section_order, section, type_id, category FROM labelled),
counts AS (SELECT year, category, protected_count(unit_id) AS n FROM labelled GROUP BY year, category)
SELECT y.year, k.section, k.type_id, k.category, coalesce(c.n, 0) AS n, y.denominator
FROM categories k CROSS JOIN years y
LEFT JOIN counts c ON c.category = k.category AND c.year = y.year
ORDER BY k.section_order, k.type_id NULLS LAST, k.category, y.year";

const OVER_PERIOD_SQL: &str = "
, total AS (SELECT protected_count(unit_id) AS denominator FROM labelled)
SELECT section, type_id, category, protected_count(unit_id) AS n, (SELECT denominator FROM total) AS denominator
FROM labelled
GROUP BY section_order, section, type_id, category
ORDER BY section_order, type_id NULLS LAST, category";

async fn tables_of(
    ctx: &SessionContext,
    selection: &Selection,
    from_year: i32,
    to_year: i32,
) -> Result<Vec<Table>> {
    let mut tables = Vec::new();
    for (name, sql) in [
        (TYPES_BY_YEAR, BY_YEAR_SQL),
        (TYPES_OVER_PERIOD, OVER_PERIOD_SQL),
    ] {
        let sql = format!("{SELECTED}{sql}");
        let batches =
            run_with_parameters(ctx, &sql, parameters(selection, from_year, to_year)).await?;
        tables.push(Table::from_batches(spec(name)?, &batches)?);
    }
    Ok(tables)
}

/// The country's aggregates from the store, protected as one linked pair.
pub async fn from_store(
    ctx: &SessionContext,
    country: &str,
    from_year: i32,
    to_year: i32,
    unit: Unit,
    store: &crate::store::Store,
    policy: Policy,
) -> Result<Aggregates> {
    let rules_version = &store.manifest().rules_version;
    let secret = store.cell_key_secret()?;
    if !policy.suppression {
        return Err(Error::Usage(
            "figures for comparison or sharing are always disclosure-controlled: --no-suppression is for internal reports only"
                .into(),
        ));
    }
    let selection = Selection {
        from_year: Some(from_year),
        to_year: Some(to_year),
        countries: vec![country.to_string()],
        unit,
    };
    // Counted true, protected, then counted as published (see `report::build`).
    let settings =
        |counting| CountSettings::for_unit(counting, secret, policy.perturbation(), unit);
    perturb::register(ctx, settings(Counting::True));
    let mut tables = tables_of(ctx, &selection, from_year, to_year).await?;
    if tables[1].rows.is_empty() {
        return Err(Error::Usage(format!(
            "the store has no records of {country} from {from_year} to {to_year}"
        )));
    }
    disclosure::protect(&mut tables, unit, policy)?;
    perturb::register(ctx, settings(Counting::Published));
    let mut published = tables_of(ctx, &selection, from_year, to_year).await?;
    disclosure::carry_over(&tables, &mut published, policy.perturbation())?;
    let tables = published;
    Ok(Aggregates {
        scope: Scope {
            country: country.to_string(),
            from_year,
            to_year,
            unit,
            rules_version: rules_version.to_string(),
            rules_sha256: Some(store.manifest().rules_sha256.clone()).filter(|h| !h.is_empty()),
            min_cell: policy.min_cell,
            width: policy.width(),
            max_noise: policy.perturbation().max_noise,
        },
        tables,
    })
}

impl Aggregates {
    pub fn policy(&self) -> Policy {
        Policy {
            min_cell: self.scope.min_cell,
            width: Some(self.scope.width),
            suppression: true,
        }
    }

    /// The noise bound of the counts, as a reader is credited with it.
    pub fn noise(&self) -> u64 {
        disclosure::credited_noise(self.scope.max_noise)
    }

    pub fn table(&self, name: &str) -> &Table {
        self.tables
            .iter()
            .find(|t| t.spec.name == name)
            .expect("both aggregate tables are always present")
    }

    /// What an audit of these tables finds (nothing, for aggregates made
    /// by [`from_store`] or read from a verified bundle).
    pub fn audit(&self) -> Result<Vec<String>> {
        disclosure::audit(&self.tables, self.scope.unit, self.policy(), self.noise())
    }
}

/// A count as published: its value, or None when suppressed.
pub fn published(cell: &Cell) -> Option<u64> {
    match cell {
        Cell::Int(n) if *n >= 0 => Some(*n as u64),
        _ => None,
    }
}
