//! The population table behind rates per 100,000 population: a CSV with
//! `country, year, population, source`, validated like any input (a bad row
//! is an error naming the file, row and column) and registered for the
//! queries as the table `population`.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Int32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationRow {
    pub country: String,
    pub year: i32,
    pub population: i64,
    pub source: String,
}

const COLUMNS: [&str; 4] = ["country", "year", "population", "source"];

/// Reads and checks the population CSV.
pub fn read(path: &Path) -> Result<Vec<PopulationRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_path(path)
        .map_err(|e| Error::bad_input(path, e.to_string()))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::bad_input(path, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let index = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            Error::bad_input(
                path,
                format!(
                    "missing column '{name}' (a population table has {})",
                    COLUMNS.join(", ")
                ),
            )
        })
    };
    let [country, year, population, source] = COLUMNS.map(index);
    let (country, year, population, source) = (country?, year?, population?, source?);
    let mut rows: Vec<PopulationRow> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| Error::bad_input(path, format!("row {line}: {e}")))?;
        let field = |c: usize| record.get(c).unwrap_or("").trim();
        let bad = |column: &str, why: String| {
            Error::bad_input(path, format!("row {line}, column {column}: {why}"))
        };
        let code = crate::base::countries::normalise_alpha2(field(country)).ok_or_else(|| {
            bad(
                "country",
                format!("'{}' is not an ISO 3166-1 alpha-2 code", field(country)),
            )
        })?;
        let y: i32 = field(year)
            .parse()
            .ok()
            .filter(|y| (1900..=2100).contains(y))
            .ok_or_else(|| bad("year", format!("'{}' is not a year", field(year))))?;
        let p: i64 = field(population)
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                bad(
                    "population",
                    format!("'{}' is not a positive whole number", field(population)),
                )
            })?;
        if field(source).is_empty() {
            return Err(bad(
                "source",
                "every population figure needs its source".into(),
            ));
        }
        if rows.iter().any(|r| r.country == code && r.year == y) {
            return Err(bad("year", format!("{code} {y} is given twice")));
        }
        rows.push(PopulationRow {
            country: code,
            year: y,
            population: p,
            source: field(source).to_string(),
        });
    }
    if rows.is_empty() {
        return Err(Error::bad_input(path, "no population rows"));
    }
    Ok(rows)
}

/// Registers the table `population` in the session.
pub async fn register(ctx: &SessionContext, path: &Path) -> Result<()> {
    let rows = read(path)?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("country", DataType::Utf8, false),
        Field::new("year", DataType::Int32, false),
        Field::new("population", DataType::Int64, false),
        Field::new("source", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.country.as_str()),
            )),
            Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.year))),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.population),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.source.as_str()),
            )),
        ],
    )?;
    let table = MemTable::try_new(schema, vec![vec![batch]])?;
    ctx.register_table("population", Arc::new(table))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("population.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_a_valid_table_and_names_row_and_column_of_a_bad_one() {
        let (_d, path) =
            write("# comment\ncountry,year,population,source\nus,2020,331449281,US Census 2020\n");
        let rows = read(&path).unwrap();
        assert_eq!(rows[0].country, "US");
        assert_eq!(rows[0].population, 331_449_281);

        let (_d, path) = write("country,year,population,source\nUS,2020,-5,x\n");
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("row 2, column population"), "{e}");

        let (_d, path) = write("country,year,population,source\nUS,2020,5,\n");
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("column source"), "{e}");

        let (_d, path) = write("country,year,population\nUS,2020,5\n");
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("missing column 'source'"), "{e}");

        let (_d, path) = write("country,year,population,source\nUS,2020,5,a\nUS,2020,6,b\n");
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("row 3") && e.contains("twice"), "{e}");
    }
}
