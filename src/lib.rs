//! safetynet: anonymized anti-trafficking case exports into a classified
//! Parquet store, and publication-safe statistics from it.
//!
//! The library holds all behaviour; the binary (`src/main.rs`) only parses
//! arguments, prints, and maps errors to exit codes.

pub mod batch;
pub mod bench;
pub mod classify;
pub mod clock;
pub mod config;
pub mod countries;
pub mod decode;
pub mod directory;
pub mod error;
pub mod exchange;
pub mod gaps;
pub mod generate;
pub mod guard;
pub mod ingest;
pub mod mapping;
pub mod progress;
pub mod query;
pub mod readers;
pub mod reclassify;
pub mod record;
pub mod report;
pub mod rng;
pub mod rules;
pub mod schema;
pub mod sdc;
pub mod stats;
pub mod store;
pub mod udf;
pub mod validate;
pub mod vocab;
pub mod xlsx;

pub use error::{Error, Result};
