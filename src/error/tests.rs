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
