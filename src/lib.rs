//! safetynet: anonymized anti-trafficking case exports into a classified
//! Parquet store, and publication-safe statistics from it.
//!
//! The modules follow the pipeline, each depending only on those above it:
//!
//! ```text
//! base       schema, record, vocabularies, countries, clock, rng, progress
//! input      readers (CSV, JSON lines, Parquet, XLSX), decoding, mappings,
//!            validation, the personal-data guard, ingest
//! store      the Parquet store: manifest, transactions, writer
//! classify   rules, the classifier, reclassification, explanations
//! sql        the DataFusion session, the selection and its parameters, the
//!            embedded queries, UDFs and statistics
//! publish    tables, disclosure control, audit, charts, renderers, and the
//!            one writer of output folders
//! reference  published aggregates kept beside the records
//! report, gaps, directory, exchange, generate   the products
//! pipeline   the config file and what `run` does
//! ```
//!
//! Disclosure control's engine is the crate `safetynet_sdc` (crates/sdc),
//! which depends on nothing of this one. The binary (`src/main.rs` and
//! `src/cli/`) only parses arguments, turns them into settings, prints, and
//! maps errors to exit codes.

pub mod base;
pub mod classify;
pub mod directory;
pub mod error;
pub mod exchange;
pub mod gaps;
pub mod generate;
pub mod input;
pub mod pipeline;
pub mod publish;
pub mod reference;
pub mod report;
pub mod sql;
pub mod store;

pub use error::{Error, Result};
