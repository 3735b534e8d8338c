//! The whole pipeline from a config file (what `safetynet run` does), and
//! the classification benchmark that runs generation and classification
//! together (`bench-classify`).

pub mod bench;
pub mod config;
pub mod run;
