//! Figures exchanged between hotlines without exchanging case records.
//!
//! - `compare`: typology shares of several countries side by side, from one
//!   store ([`compare`]);
//! - `share`: one country's disclosure-controlled aggregates as a bundle
//!   ([`bundle::write`]);
//! - `merge`: the same comparison from bundles alone ([`bundle::read`]).
//!
//! All three go through [`aggregate::Aggregates`], so a comparison made from
//! the stores and one made from bundles agree wherever both publish.

pub mod aggregate;
pub mod bundle;
pub mod compare;
pub mod comparison_audit;
mod side_by_side;

pub use aggregate::Aggregates;
pub use compare::{Comparison, compare};

use crate::error::{Error, Result};
use crate::publish::disclosure::Policy;
use crate::sql::selection::{Unit, reporting_countries, year_range};
use crate::store::Store;

/// What to take from a store: countries (all when empty), years (the
/// store's range when not given), unit and disclosure policy.
#[derive(Debug, Clone)]
pub struct Request {
    pub countries: Vec<String>,
    pub from_year: Option<i32>,
    pub to_year: Option<i32>,
    pub unit: Unit,
    pub policy: Policy,
    pub engine: crate::sql::engine::EngineSettings,
}

/// Each requested country's aggregates, from the store.
pub async fn aggregates_from_store(store: &Store, request: &Request) -> Result<Vec<Aggregates>> {
    let ctx = crate::sql::engine::session_for_many_queries(store, request.engine).await?;
    // one country's bundle covers that country's years; a comparison
    // covers the store's, the same for every country
    let (lo, hi) = match request.countries.as_slice() {
        [_] if request.from_year.is_none() || request.to_year.is_none() => {
            crate::sql::selection::year_range_of(&ctx, &request.countries).await?
        }
        _ => year_range(&ctx).await?,
    };
    let (from, to) = (
        request.from_year.unwrap_or(lo),
        request.to_year.unwrap_or(hi),
    );
    if from > to {
        return Err(Error::Usage(format!("--from {from} is after --to {to}")));
    }
    let countries = reporting_countries(&ctx, &request.countries).await?;
    let mut all = Vec::new();
    for country in &countries {
        all.push(
            aggregate::from_store(&ctx, country, from, to, request.unit, store, request.policy)
                .await?,
        );
    }
    Ok(all)
}
