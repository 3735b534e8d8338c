//! One module per command, as `safetynet <command>` names it.

pub mod audit;
pub mod bench_classify;
pub mod classify;
pub mod compare;
pub mod directory;
pub mod explain;
pub mod gaps;
pub mod generate;
pub mod ingest;
pub mod mapping;
pub mod merge;
pub mod query;
pub mod reference;
pub mod releases;
pub mod report;
pub mod run;
pub mod share;
pub mod verify;

/// What every command module imports.
mod prelude {
    pub use std::path::PathBuf;

    pub use super::super::Globals;
    pub use super::super::args::*;
    pub use super::super::output::*;
    pub use safetynet::store::Store;
}
