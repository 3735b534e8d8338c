//! `safetynet mapping check MAPPING --sample EXPORT`: what a mapping leaves
//! unmapped in a sample export (columns neither read nor dropped, values no
//! value map or label table knows), with counts, so a mapping is finished
//! before the first real ingest. Nothing is stored.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use super::mapping::{Mapper, MappingSpec, Unlisted};
use crate::base::escape::{terminal, terminal_lines};
use crate::classify::rules::Rules;
use crate::error::{Error, Result};
use crate::input::guard::Guard;
use crate::input::readers::{self, InputFormat, RawRow, ReadOptions};
use crate::input::validate::Validator;

/// Values listed per column at most; the rest are counted.
const VALUES_PER_COLUMN: usize = 25;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnmappedColumn {
    pub column: String,
    pub non_empty_values: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnmappedValue {
    pub column: String,
    pub value: String,
    pub reason: String,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnlistedValues {
    pub column: String,
    pub values: u64,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub layout: String,
    pub rows: u64,
    /// Rows that would be stored (if not duplicates).
    pub rows_ok: u64,
    pub unmapped_columns: Vec<UnmappedColumn>,
    pub missing_columns: Vec<String>,
    pub dropped_columns: Vec<String>,
    pub unmapped_values: Vec<UnmappedValue>,
    /// Per column, the unknown values past the first [`VALUES_PER_COLUMN`]
    /// and their rows: counted, not listed (a list cut short without a
    /// word read as all there was).
    pub unlisted_values: Vec<UnlistedValues>,
    /// Values of columns the guard flags are never listed.
    pub personal_data: Option<String>,
    /// What the mapping would do that the user may not mean, one line each
    /// (several flags of a single-valued field set in one row, with no
    /// `combine` for them: settled by `priority` alone).
    pub warnings: Vec<String>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.unmapped_columns.is_empty()
            && self.missing_columns.is_empty()
            && self.unmapped_values.is_empty()
            && self.personal_data.is_none()
            && self.warnings.is_empty()
    }

    /// The report as `mapping check` prints it: column names and values
    /// come from the sample, so their control characters are shown as
    /// visible escapes (`base::escape::terminal`).
    pub fn render(&self) -> String {
        let mut out = format!(
            "mapping '{}' on {} sample rows: {} map and validate cleanly\n",
            terminal(&self.layout),
            self.rows,
            self.rows_ok
        );
        if !self.unmapped_columns.is_empty() {
            out += "\ncolumns neither mapped nor dropped (non-empty values):\n";
            for c in &self.unmapped_columns {
                out += &format!("  {:<40} {:>8}\n", terminal(&c.column), c.non_empty_values);
            }
        }
        if !self.missing_columns.is_empty() {
            out += &format!(
                "\ncolumns the mapping reads that the sample lacks: {}\n",
                terminal(&crate::base::listing::some_of(&self.missing_columns))
            );
        }
        if !self.unmapped_values.is_empty() {
            out += "\nvalues no value map or label table knows (rows):\n";
            for v in &self.unmapped_values {
                out += &format!(
                    "  {:<36} {:<28} {:>8}  {}\n",
                    terminal(&v.column),
                    terminal(&v.value),
                    v.rows,
                    terminal(&v.reason)
                );
            }
            for u in &self.unlisted_values {
                out += &format!(
                    "  {:<36} and {} more value(s) in {} row(s), not listed\n",
                    terminal(&u.column),
                    u.values,
                    u.rows
                );
            }
        }
        if let Some(p) = &self.personal_data {
            out += &format!("\n{}", terminal_lines(p));
        }
        if !self.warnings.is_empty() {
            out += "\nwarnings:\n";
            for w in &self.warnings {
                out += &format!("  {}\n", terminal(w));
            }
        }
        if self.is_clean() {
            out += "nothing unmapped\n";
        }
        out
    }
}

pub struct CheckInput<'a> {
    pub spec: &'a MappingSpec,
    pub sample: &'a Path,
    pub format: InputFormat,
    pub read: &'a ReadOptions,
    pub country: Option<&'a str>,
    pub rules: &'a Rules,
}

pub fn check(input: &CheckInput<'_>) -> Result<CheckReport> {
    let spec = input.spec;
    // unlisted columns are reported here, not refused
    let mut relaxed = spec.clone();
    relaxed.layout.unlisted_columns = Unlisted::Ignore;
    let mut source = readers::open(input.sample, input.format, input.read)?;
    let header = source.header().to_vec();
    // a placeholder country lets a layout without one be checked
    let country = input.country.or_else(|| {
        let has_column = spec.fields.contains_key("reporting_country");
        let has_constant = spec.constants.contains_key("reporting_country");
        (!has_column && !has_constant).then_some("XX")
    });
    let mapper = Mapper::new(&relaxed, &header, &"0".repeat(64), country)
        .map_err(|m| Error::bad_input(input.sample, m))?;
    let validator = Validator::new(input.rules);
    let mut guard = Guard::allowing(
        &header,
        &spec.drop,
        &spec.date_columns(),
        &spec.allowances(),
    );

    let unlisted: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| mapper.ignored_columns.contains(h))
        .map(|(i, _)| i)
        .collect();
    let mut co_occurring = CoOccurringFlags::of(spec, &header);
    let mut unlisted_counts: HashMap<usize, u64> = HashMap::new();
    let mut values: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let (mut rows, mut rows_ok) = (0u64, 0u64);
    while let Some(row) = source.next_row()? {
        rows += 1;
        let (number, cells) = match row {
            RawRow::Cells { number, cells } => (number, cells),
            RawRow::Malformed {
                column,
                value,
                reason,
                ..
            } => {
                // rows the guard never saw: screened here before listing
                let value = crate::input::guard::masked(&value, false).into_owned();
                *values.entry((column, value, reason)).or_default() += 1;
                continue;
            }
        };
        let cells = cells.strs();
        guard.scan(number, &cells);
        co_occurring.scan(&cells);
        for &i in &unlisted {
            if cells.get(i).is_some_and(|c| !c.trim().is_empty()) {
                *unlisted_counts.entry(i).or_default() += 1;
            }
        }
        let problems =
            match crate::input::ingest::mapped_record(&mapper, &validator, number, &cells) {
                Ok(_) => {
                    rows_ok += 1;
                    continue;
                }
                Err(problems) => problems,
            };
        for p in problems {
            *values.entry((p.column, p.value, p.reason)).or_default() += 1;
        }
    }

    let guard_report = guard.finish();
    let flagged: Vec<&str> = guard_report
        .columns
        .iter()
        .map(|c| c.column.as_str())
        .collect();
    let mut unmapped_values: Vec<UnmappedValue> = values
        .into_iter()
        .map(|((column, value, reason), rows)| {
            let personal = flagged.iter().any(|f| column.starts_with(f));
            UnmappedValue {
                value: if personal {
                    "(not shown: personal data)".into()
                } else {
                    value.chars().take(60).collect()
                },
                column,
                reason,
                rows,
            }
        })
        .collect();
    unmapped_values.sort_by(|a, b| {
        a.column
            .cmp(&b.column)
            .then(b.rows.cmp(&a.rows))
            .then(a.value.cmp(&b.value))
    });
    let mut per_column: HashMap<String, usize> = HashMap::new();
    let mut past_the_list: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    unmapped_values.retain(|v| {
        let n = per_column.entry(v.column.clone()).or_default();
        *n += 1;
        if *n > VALUES_PER_COLUMN {
            let (values, rows) = past_the_list.entry(v.column.clone()).or_default();
            *values += 1;
            *rows += v.rows;
        }
        *n <= VALUES_PER_COLUMN
    });
    let unlisted_values = past_the_list
        .into_iter()
        .map(|(column, (values, rows))| UnlistedValues {
            column,
            values,
            rows,
        })
        .collect();
    Ok(CheckReport {
        layout: spec.layout.name.clone(),
        rows,
        rows_ok,
        unmapped_columns: unlisted
            .iter()
            .map(|&i| UnmappedColumn {
                column: header[i].clone(),
                non_empty_values: unlisted_counts.get(&i).copied().unwrap_or(0),
            })
            .collect(),
        missing_columns: mapper.missing_columns.clone(),
        dropped_columns: spec
            .drop
            .iter()
            .filter(|d| header.contains(d))
            .cloned()
            .collect(),
        unmapped_values,
        unlisted_values,
        personal_data: (!guard_report.is_clean()).then(|| guard_report.to_string()),
        warnings: co_occurring.warnings(),
    })
}

/// Single-valued fields read from flag columns without `combine`: a row
/// with flags of two values set (a record of sex *and* labour trafficking)
/// is settled by `priority` alone, and turns into one of them without a
/// word. Counted per field and set of values, so the check can say how many
/// rows the mapping would change.
struct CoOccurringFlags {
    /// (field, [(column index, value)]) for each such field.
    fields: Vec<(String, Vec<(usize, String)>)>,
    /// (field, values set together) → rows.
    rows: BTreeMap<(String, Vec<String>), u64>,
}

impl CoOccurringFlags {
    fn of(spec: &MappingSpec, header: &[String]) -> Self {
        let fields = spec
            .fields
            .iter()
            .filter(|(name, f)| {
                !f.flags.is_empty()
                    && f.combine.is_empty()
                    && !crate::base::schema::LIST_COLUMNS.contains(&name.as_str())
            })
            .map(|(name, f)| {
                let columns = f
                    .flags
                    .iter()
                    .filter_map(|(flag, target)| {
                        let column = format!("{}{flag}", f.flag_prefix);
                        let index = header.iter().position(|h| *h == column)?;
                        let value = target.values().first().copied().unwrap_or("");
                        (!value.is_empty()).then(|| (index, value.to_string()))
                    })
                    .collect();
                (name.clone(), columns)
            })
            .collect();
        CoOccurringFlags {
            fields,
            rows: BTreeMap::new(),
        }
    }

    fn scan(&mut self, cells: &[&str]) {
        for (field, columns) in &self.fields {
            let mut set: Vec<String> = columns
                .iter()
                .filter(|(i, _)| cells.get(*i).is_some_and(|c| c.trim() == "1"))
                .map(|(_, v)| v.clone())
                .collect();
            set.sort();
            set.dedup();
            if set.len() > 1 {
                *self.rows.entry((field.clone(), set)).or_default() += 1;
            }
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.rows
            .iter()
            .map(|((field, values), rows)| {
                format!(
                    "[fields.{field}]: {rows} row(s) set the flags of {} together, and the field holds one \
                     value: without `combine` (e.g. combine = {{ \"{}\" = \"...\" }}) they are stored as one of \
                     them by `priority`",
                    values.join(" and "),
                    values.join("+")
                )
            })
            .collect()
    }
}
