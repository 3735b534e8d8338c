//! What every stage shares: the canonical schema and record, the controlled
//! vocabularies, country codes and M49 regions, the clock, the seeded random numbers of the
//! synthetic data, progress bars, record batches, the process's memory settings, and the escaping of
//! values from data for where they are written (`escape`).

pub mod batch;
pub mod clock;
pub mod countries;
pub mod escape;
pub mod files;
pub mod leftovers;
pub mod listing;
pub mod memory;
pub mod places;
pub mod progress;
pub mod record;
pub mod remembered;
pub mod rng;
pub mod schema;
pub mod vocab;
