//! What a query is run on: the selection (years, reporting countries, the
//! unit counted) and the named parameters every query is bound with.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::ParamValues;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

use super::engine::run_sql;
use crate::error::{Error, Result};

/// What is counted: victims (records) or cases (distinct case ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Victims,
    Cases,
}

impl std::str::FromStr for Unit {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "victims" => Ok(Unit::Victims),
            "cases" => Ok(Unit::Cases),
            other => Err(Error::Usage(format!(
                "unit '{other}' is neither 'victims' nor 'cases'"
            ))),
        }
    }
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Victims => "victims",
            Unit::Cases => "cases",
        }
    }
}

/// The selection and the parameters every query is run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub from_year: Option<i32>,
    pub to_year: Option<i32>,
    /// Reporting countries; empty = all.
    pub countries: Vec<String>,
    pub unit: Unit,
}

impl Selection {
    /// The selection a user asked for, from flags or the config file alike:
    /// country codes checked (`origin` names where they came from).
    pub fn checked(
        from_year: Option<i32>,
        to_year: Option<i32>,
        countries: &[String],
        unit: Unit,
        origin: &str,
    ) -> Result<Self> {
        if let (Some(from), Some(to)) = (from_year, to_year)
            && from > to
        {
            return Err(Error::Usage(format!("--from {from} is after --to {to}")));
        }
        Ok(Selection {
            from_year,
            to_year,
            countries: crate::base::countries::checked_codes(countries, origin)?,
            unit,
        })
    }
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            from_year: None,
            to_year: None,
            countries: Vec::new(),
            unit: Unit::Victims,
        }
    }
}

/// The named parameters bound into every query (never spliced into SQL).
pub fn parameters(selection: &Selection, from_year: i32, to_year: i32) -> ParamValues {
    ParamValues::from(vec![
        ("from_year", ScalarValue::Int32(Some(from_year))),
        ("to_year", ScalarValue::Int32(Some(to_year))),
        (
            "countries",
            ScalarValue::Utf8(Some(selection.countries.join(","))),
        ),
        (
            "unit",
            ScalarValue::Utf8(Some(selection.unit.as_str().to_string())),
        ),
    ])
}

/// Runs SQL with the selection's parameters bound.
pub async fn run_with_parameters(
    ctx: &SessionContext,
    sql: &str,
    params: ParamValues,
) -> Result<Vec<datafusion::arrow::array::RecordBatch>> {
    super::engine::run(ctx, sql, Some(params)).await
}

/// Runs a user's SQL (`query`): with the selection's parameters bound when
/// the statement has placeholders (`$from_year`, ...), as planned by
/// DataFusion, not as guessed from the text (a `$` in a string literal is
/// not a parameter). The store's years are read only for a year not given:
/// reading them is a query of its own over the whole store, which was a
/// quarter of a report query's time on a million records. (`report`,
/// `gaps` and `share` read them whatever years are given, on purpose: they
/// publish, and refuse a store without dated records with what to do about
/// it; `query` is internal work, and with both years runs on any store.)
pub async fn run_user_sql(
    ctx: &SessionContext,
    sql: &str,
    selection: &Selection,
) -> Result<Vec<datafusion::arrow::array::RecordBatch>> {
    // planned once: for the placeholders, then to run
    let planned = super::engine::plan(ctx, sql).await?;
    if !super::engine::has_placeholders(&planned) {
        return super::engine::run_planned(ctx, planned, None).await;
    }
    let (from, to) = match (selection.from_year, selection.to_year) {
        (Some(from), Some(to)) => (from, to),
        (from, to) => {
            let (first, last) = year_range(ctx).await?;
            (from.unwrap_or(first), to.unwrap_or(last))
        }
    };
    let params = parameters(selection, from, to);
    super::engine::run_planned(ctx, planned, Some(params)).await
}

/// The reporting countries asked for, or, when none is, every one in the
/// store, sorted.
pub async fn reporting_countries(ctx: &SessionContext, asked: &[String]) -> Result<Vec<String>> {
    if !asked.is_empty() {
        return Ok(asked.to_vec());
    }
    let batches = run_sql(
        ctx,
        "SELECT DISTINCT CAST(reporting_country AS VARCHAR) AS c FROM cases ORDER BY 1",
    )
    .await?;
    let mut countries = Vec::new();
    for batch in &batches {
        let column = cast(batch.column(0), &DataType::Utf8)?;
        let column = column.as_string::<i32>();
        countries.extend(column.iter().flatten().map(str::to_string));
    }
    Ok(countries)
}

/// The units of the selection, records or distinct cases as `--unit`
/// says (a true count, for the tool's own checks: never published).
pub async fn units_in(
    ctx: &SessionContext,
    sel: &Selection,
    from_year: i32,
    to_year: i32,
) -> Result<u64> {
    let sql = "SELECT CAST(count(DISTINCT CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END) AS BIGINT) \
        FROM cases \
        WHERE coalesce(year_from, year) >= $from_year AND coalesce(year_to, year) <= $to_year \
        AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))";
    let batches = run_with_parameters(ctx, sql, parameters(sel, from_year, to_year)).await?;
    Ok((batches.iter()).find(|b| b.num_rows() > 0).map_or(0, |b| {
        b.column(0).as_primitive::<Int64Type>().value(0) as u64
    }))
}

/// The years a publication of a selection covers, and what the user should
/// be told about them.
pub struct Period {
    pub from_year: i32,
    pub to_year: i32,
    /// Said on stderr: a period asked beyond the records' years, narrowed.
    pub notes: Vec<String>,
}

/// The period `what` (a report, the gaps) of `selection` covers: the chosen
/// countries' years by default, and a period asked beyond them narrowed to
/// them, with a note. Titled "2005–2024" over records from 2015, a
/// publication read as ten years without a case. A selection without a
/// record in the period is refused ([`require_records`]); so is a bound
/// that leaves no year, said with what the user gave.
pub async fn period_of(ctx: &SessionContext, selection: &Selection, what: &str) -> Result<Period> {
    let (lo, hi) = year_range_of(ctx, &selection.countries).await?;
    let whose = match selection.countries.as_slice() {
        [] => "the store's records".to_string(),
        countries => format!("the records of {}", countries.join(", ")),
    };
    let from_year = selection.from_year.unwrap_or(lo);
    let to_year = selection.to_year.unwrap_or(hi);
    if from_year > to_year {
        // said with what the user gave: a default is the records' year
        return Err(Error::Usage(
            match (selection.from_year, selection.to_year) {
                (Some(_), Some(_)) => format!("--from {from_year} is after --to {to_year}"),
                (None, _) => format!("--to {to_year} is before {whose}, which start in {lo}"),
                (_, None) => format!("--from {from_year} is after {whose}, which end in {hi}"),
            },
        ));
    }
    require_records(ctx, selection, from_year, to_year).await?;
    let (from, to) = (from_year.max(lo), to_year.min(hi));
    let mut notes = Vec::new();
    if (from, to) != (from_year, to_year) {
        notes.push(format!(
            "{whose} fall in {}: the {what} covers {}, not the {} asked",
            years(lo, hi),
            years(from, to),
            years(from_year, to_year)
        ));
    }
    Ok(Period {
        from_year: from,
        to_year: to,
        notes,
    })
}

/// A period as a reader writes it: "2021–2023", or "2023" for one year.
fn years(from: i32, to: i32) -> String {
    if from == to {
        from.to_string()
    } else {
        format!("{from}–{to}")
    }
}

/// A selection without a record is refused, as `compare` refuses one: a
/// report (or a list of gaps) of empty tables that says "audit passed"
/// reads as "no cases". So is a named country without a record in the
/// years: the report would name it as covered.
pub async fn require_records(
    ctx: &SessionContext,
    sel: &Selection,
    from_year: i32,
    to_year: i32,
) -> Result<()> {
    // each named country on its own: a report of "US, FR" from a store
    // without FR would otherwise name FR as covered while counting none
    let sql = "SELECT DISTINCT reporting_country FROM cases \
        WHERE coalesce(year_from, year) >= $from_year AND coalesce(year_to, year) <= $to_year \
        AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))";
    let batches = run_with_parameters(ctx, sql, parameters(sel, from_year, to_year)).await?;
    let mut present = std::collections::BTreeSet::new();
    for batch in &batches {
        let column = cast(batch.column(0), &DataType::Utf8)?;
        present.extend(
            column
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string),
        );
    }
    let absent: Vec<&str> = (sel.countries.iter())
        .filter(|c| !present.contains(c.as_str()))
        .map(String::as_str)
        .collect();
    if !present.is_empty() && absent.is_empty() {
        return Ok(());
    }
    let countries = if sel.countries.is_empty() {
        "any reporting country".to_string()
    } else if present.is_empty() {
        sel.countries.join(", ")
    } else {
        absent.join(", ")
    };
    Err(Error::Usage(format!(
        "the store has no records of {countries} from {from_year} to {to_year}: nothing to report \
         (see `safetynet query --store STORE \"SELECT reporting_country, year, count(*) FROM cases GROUP BY 1, 2 ORDER BY 1, 2\"`)"
    )))
}

/// The first and last year of registration in the store, periods of
/// several years included (a store of an old layout, without the year
/// span, by its years).
pub async fn year_range(ctx: &SessionContext) -> Result<(i32, i32)> {
    // Correct only because the session turns off DataFusion's min/max
    // dynamic filter (see `engine::session_config`): with it on, the
    // `year=unknown` files could make this skip the first year.
    let batches = run_sql(
        ctx,
        "SELECT CAST(min(coalesce(year_from, year)) AS BIGINT) AS lo, \
         CAST(max(coalesce(year_to, year)) AS BIGINT) AS hi FROM cases",
    )
    .await?;
    bounds_of(&batches)
}

/// [`year_range`] of the records of `countries` (of the whole store when
/// none is, or none of them has a dated record: the check for records then
/// names them), in one query: a bundle or report of a country whose
/// records start in 2022 was labelled with the store's first year, 2015,
/// and its seven empty years read as years without cases.
pub async fn year_range_of(ctx: &SessionContext, countries: &[String]) -> Result<(i32, i32)> {
    if countries.is_empty() {
        return year_range(ctx).await;
    }
    let batches = run_with_parameters(
        ctx,
        "SELECT CAST(min(coalesce(year_from, year)) AS BIGINT) AS lo, \
         CAST(max(coalesce(year_to, year)) AS BIGINT) AS hi FROM cases \
         WHERE array_has(string_to_array($1, ','), reporting_country)",
        ParamValues::from(vec![ScalarValue::from(countries.join(","))]),
    )
    .await?;
    match bounds_of(&batches) {
        Err(Error::Usage(_)) => year_range(ctx).await,
        bounds => bounds,
    }
}

fn bounds_of(batches: &[datafusion::arrow::array::RecordBatch]) -> Result<(i32, i32)> {
    let bounds = batches.iter().find(|b| b.num_rows() > 0).and_then(|b| {
        let lo = b.column(0).as_primitive::<Int64Type>();
        let hi = b.column(1).as_primitive::<Int64Type>();
        (lo.is_valid(0) && hi.is_valid(0)).then(|| (lo.value(0) as i32, hi.value(0) as i32))
    });
    bounds.ok_or_else(|| {
        Error::Usage(
            "the store has no records with a year or a period: nothing to report (every table counts \
             records by their year or period of registration). Map the export's registration year or date to `year` in its \
             mapping (`[fields.year]`, with `date = [\"%d/%m/%Y\"]` for a date column), check what \
             it quarantined (`STORE/quarantine/`), and ingest again into a new store"
                .into(),
        )
    })
}
