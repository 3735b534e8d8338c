//! A mapping run backwards: canonical records written in a hotline's own
//! layout. `generate --mapping` uses it to make synthetic exports in the
//! layouts of the MX and CA samples from the same mapping files the ingest
//! reads, so the sample and its mapping cannot drift apart.

use std::collections::HashMap;
use std::path::Path;

use super::MappingSpec;
use crate::base::schema::{INPUT_COLUMNS, LIST_COLUMNS};
use crate::error::{Error, Result};

struct Column {
    canonical: usize,
    /// Canonical value → the first source label (in the file's order of
    /// keys) that maps to exactly that value.
    labels: HashMap<String, String>,
    join: String,
}

pub struct Inverse {
    header: Vec<String>,
    columns: Vec<Column>,
}

impl Inverse {
    /// Only renames, value maps and splits can be run backwards; a mapping
    /// with flags, dates or several columns cannot. A generated id is left
    /// out: ingest generates it.
    pub fn new(spec: &MappingSpec, origin: &Path) -> Result<Self> {
        let mut columns = Vec::new();
        let mut header = Vec::new();
        for (canonical, name) in INPUT_COLUMNS.iter().enumerate() {
            let Some(field) = spec.fields.get(*name) else {
                continue;
            };
            // a generated id has no source column: the reader makes it again
            if field.generate.is_some() {
                continue;
            }
            let Some(column) = &field.column else {
                return Err(Error::bad_input(
                    origin,
                    format!(
                        "[fields.{name}] reads flags or several columns; such a mapping cannot be written backwards"
                    ),
                ));
            };
            if !field.date.is_empty() {
                return Err(Error::bad_input(
                    origin,
                    format!(
                        "[fields.{name}] parses dates; such a mapping cannot be written backwards"
                    ),
                ));
            }
            let mut labels = HashMap::new();
            for (label, target) in &field.values {
                if let [value] = target.values().as_slice() {
                    labels
                        .entry(value.to_string())
                        .or_insert_with(|| label.clone());
                }
            }
            let join = match field.split.first() {
                Some(sep) if sep.len() == 1 && sep != " " => format!("{sep} "),
                Some(sep) => sep.clone(),
                None => ";".to_string(),
            };
            header.push(column.clone());
            columns.push(Column {
                canonical,
                labels,
                join,
            });
        }
        Ok(Inverse { header, columns })
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// A record in the flat canonical form (`CaseRecord::to_flat`) as a row
    /// of the source layout.
    pub fn row(&self, flat: &[String]) -> Vec<String> {
        self.columns
            .iter()
            .map(|c| {
                let value = &flat[c.canonical];
                let label = |v: &str| c.labels.get(v).cloned().unwrap_or_else(|| v.to_string());
                if LIST_COLUMNS.contains(&INPUT_COLUMNS[c.canonical]) {
                    value
                        .split(';')
                        .filter(|v| !v.is_empty())
                        .map(label)
                        .collect::<Vec<_>>()
                        .join(&c.join)
                } else if value.is_empty() {
                    String::new()
                } else {
                    label(value)
                }
            })
            .collect()
    }
}
