//! Typed errors of the library. The binary maps each kind to an exit code:
//! bad input or usage is 2, everything else that goes wrong at run time is 1.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user gave input the tool cannot accept as a whole (missing required
    /// column, empty file, unknown column, unreadable format).
    #[error("{path}: {message}")]
    BadInput { path: PathBuf, message: String },

    /// Columns of an input that look like personal data; nothing was stored.
    #[error("{path}: {report}")]
    PersonalData {
        path: PathBuf,
        report: crate::guard::Report,
    },

    /// Invalid arguments or a request the tool refuses (e.g. DDL in `query`).
    #[error("{0}")]
    Usage(String),

    /// A rules or typology file that does not load or does not validate.
    #[error("rules {origin}: {message}")]
    Rules { origin: String, message: String },

    /// SQL that DataFusion rejects, shown as DataFusion reports it.
    #[error("{0}")]
    Sql(datafusion::error::DataFusionError),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The store on disk is not in the state its manifest describes.
    #[error("store {path}: {message}")]
    Store { path: PathBuf, message: String },

    /// The published tables cannot be put into one disclosure model (they
    /// disagree about a shared count), or the engine failed on them.
    #[error("disclosure control: {0}")]
    Disclosure(String),

    /// The audit found suppressed cells a reader can narrow down, or
    /// published counts below the threshold; each line names one.
    #[error("disclosure audit failed:\n{}", .findings.join("\n"))]
    AuditFailed { findings: Vec<String> },

    /// A chart could not be drawn.
    #[error("chart: {0}")]
    Chart(String),

    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),

    #[error(transparent)]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),

    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
}

impl Error {
    /// Exit code documented in the README: 2 for what the user can fix in
    /// their input or command line, 1 for failures at run time.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadInput { .. }
            | Error::PersonalData { .. }
            | Error::Usage(_)
            | Error::Rules { .. }
            | Error::Sql(_) => 2,
            Error::AuditFailed { .. } => 3,
            _ => 1,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn bad_input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::BadInput {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn store(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Store {
            path: path.into(),
            message: message.into(),
        }
    }
}
