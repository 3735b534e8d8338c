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
    /// `findings` is the guard's report, as printed.
    #[error("{path}: {findings}")]
    PersonalData { path: PathBuf, findings: String },

    /// Invalid arguments or a request the tool refuses (e.g. DDL in `query`).
    #[error("{0}")]
    Usage(String),

    /// A rules or typology file that does not load or does not validate.
    #[error("rules {origin}: {message}")]
    Rules { origin: String, message: String },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Something went wrong reading or writing the store.
    #[error("store {path}: {message}")]
    Store { path: PathBuf, message: String },

    /// The store on disk is not what its manifest describes: a data file is
    /// missing, has another size or hash, or the manifest points outside
    /// the store. Nothing is answered from a damaged store.
    #[error("store {path} is damaged: {message}")]
    Damaged { path: PathBuf, message: String },

    /// Another process is changing the store; one change at a time.
    #[error(
        "store {path} is being changed by another process ({holder}); wait for it to finish and run the command again"
    )]
    Locked { path: PathBuf, holder: String },

    /// Another process committed a change of the store after this command
    /// read it and before this command's change began: what this command
    /// worked out (duplicates above all) was against a store that no longer
    /// is.
    #[error(
        "store {path}: the store was changed by another process since this command read it; run the command again"
    )]
    Changed { path: PathBuf },

    /// The published tables cannot be put into one disclosure model (they
    /// disagree about a shared count), or the engine failed on them.
    #[error("disclosure control: {0}")]
    Disclosure(String),

    /// The audit found suppressed cells a reader can narrow down, or
    /// published counts below the threshold; each line names one.
    #[error("disclosure audit failed:\n{}", .findings.join("\n"))]
    AuditFailed { findings: Vec<String> },

    /// A query of a report failed; the exit code is the cause's (SQL the
    /// user can fix is 2, a store that cannot be read is 1).
    #[error("query {query}.sql: {source}")]
    Query {
        query: String,
        #[source]
        source: Box<Error>,
    },

    /// A query ran out of the SQL engine's memory (`--memory-limit`) even
    /// when it ran alone: the user can give a larger limit (exit 2).
    #[error(
        "{source}\n(the query needs more than --memory-limit even when it runs alone; give a larger limit, e.g. --memory-limit 4G: counting cases, --unit cases, holds every case id in memory)"
    )]
    OutOfMemory {
        #[source]
        source: Box<Error>,
    },

    /// A chart could not be drawn.
    #[error("chart: {0}")]
    Chart(String),

    #[error("pdf: {0}")]
    Pdf(String),

    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),

    #[error(transparent)]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),

    /// Anything DataFusion reports, shown as it reports it: SQL it rejects
    /// (the user's to fix, exit 2) or a failure reading the store (exit 1).
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
            | Error::Rules { .. } => 2,
            Error::DataFusion(e) if is_users_sql(e) => 2,
            Error::AuditFailed { .. } | Error::Damaged { .. } => 3,
            Error::Query { source, .. } => source.exit_code(),
            Error::OutOfMemory { .. } => 2,
            _ => 1,
        }
    }

    pub fn in_query(query: &str, source: Error) -> Self {
        Error::Query {
            query: query.to_string(),
            source: Box::new(source),
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

impl Error {
    /// Whether the SQL engine stopped because its memory pool
    /// (`--memory-limit`) could not give an operator what it asked for.
    pub fn is_out_of_memory(&self) -> bool {
        match self {
            Error::DataFusion(e) => matches!(
                e.find_root(),
                datafusion::error::DataFusionError::ResourcesExhausted(_)
            ),
            Error::Query { source, .. } | Error::OutOfMemory { source } => {
                source.is_out_of_memory()
            }
            _ => false,
        }
    }
}

/// Whether DataFusion refused the SQL itself (a parse, planning or schema
/// error the user can fix) rather than failing to read or compute: a store
/// file that cannot be read is not the user's SQL.
fn is_users_sql(error: &datafusion::error::DataFusionError) -> bool {
    use datafusion::error::DataFusionError as E;
    matches!(
        error.find_root(),
        E::SQL(..) | E::Plan(_) | E::SchemaError(..) | E::NotImplemented(_) | E::Configuration(_)
    )
}

/// An error and its causes on one line, `error: cause: cause`, each text
/// once. Several variants show their cause in their own message (a failed
/// query names what failed inside it) and DataFusion nests its errors the
/// same way, so the plain chain (`{:#}`) printed one "Resources exhausted"
/// four times after a report ran out of memory. A cause whose text the line
/// already holds adds nothing and is left out; a cause with anything new is
/// kept.
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        next = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::error::DataFusionError;

    fn out_of_memory_in_a_query() -> Error {
        Error::Query {
            query: "01_totals_by_form_year".into(),
            source: Box::new(Error::OutOfMemory {
                source: Box::new(Error::DataFusion(DataFusionError::Context(
                    "FinalHashAggregateStream".into(),
                    Box::new(DataFusionError::ResourcesExhausted(
                        "Failed to allocate additional 69.8 MB".into(),
                    )),
                ))),
            }),
        }
    }

    #[test]
    fn a_cause_the_message_already_shows_is_not_repeated() {
        let error = anyhow::Error::from(out_of_memory_in_a_query()).context("report");
        let line = one_line(error.as_ref());
        assert!(
            line.starts_with("report: query 01_totals_by_form_year.sql: "),
            "{line}"
        );
        assert_eq!(
            line.matches("Failed to allocate additional 69.8 MB")
                .count(),
            1,
            "{line}"
        );
        assert_eq!(line.matches("give a larger limit").count(), 1, "{line}");
        // what the plain chain printed: the same cause at every level
        assert!(format!("{error:#}").matches("Failed to allocate").count() > 1);
    }

    #[test]
    fn a_cause_with_something_new_is_kept_in_order() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::from(io)
            .context("reading us.csv")
            .context("ingest");
        assert_eq!(
            one_line(error.as_ref()),
            "ingest: reading us.csv: no such file"
        );
    }
}
