//! Mapping of any export layout into the canonical layout, row by row, as
//! declared in a mapping file (see `spec`). The mapper only renames, splits,
//! translates labels and reads flags; whether a value is valid is decided by
//! the same `validate` step every layout goes through.

pub mod builtin;

pub mod inverse;
pub mod spec;

use std::collections::{HashMap, HashSet};

use crate::base::remembered::Remembered;
use crate::base::schema::{INPUT_COLUMNS, LIST_COLUMNS};
use crate::base::vocab::normalise_label;
use crate::input::validate::Problem;

pub use spec::{MappingSpec, Unlisted};

/// Where a field's values come from in one particular file.
#[derive(Debug, Clone)]
enum Source {
    Columns(Vec<usize>),
    Flags(Vec<(usize, Vec<String>)>),
    GeneratedId,
    Absent,
}

#[derive(Debug, Clone)]
struct CompiledField {
    canonical: usize,
    source: Source,
    multi: bool,
    split: Vec<String>,
    /// The canonical values a source value stands for, by its normalised
    /// label: an index into `targets`.
    values: HashMap<String, usize>,
    targets: Vec<Vec<String>>,
    /// `values` looked up by raw text, so that a cell is normalised once
    /// per distinct text, not once per row.
    seen: Remembered<Option<usize>>,
    combine: Vec<(Vec<String>, String)>,
    priority: Vec<String>,
    dates: Vec<String>,
    keep_first: bool,
    default: Option<String>,
}

/// A mapping compiled against the header of one file.
#[derive(Debug, Clone)]
pub struct Mapper {
    header: Vec<String>,
    fields: Vec<CompiledField>,
    constants: Vec<(usize, String)>,
    id_prefix: String,
    /// Source column names per canonical field, for messages.
    sources: Vec<String>,
    /// Columns the mapping reads that this file does not have.
    pub missing_columns: Vec<String>,
    /// Header names neither read nor dropped (allowed only with
    /// `unlisted_columns = "ignore"`).
    pub ignored_columns: Vec<String>,
}

fn canonical_index(name: &str) -> usize {
    INPUT_COLUMNS
        .iter()
        .position(|c| *c == name)
        .expect("checked when the mapping was loaded")
}

/// How a flag cell reads: `Some(true)` for 1, `Some(false)` for 0, `None`
/// for blank; `Err` for anything else.
fn parse_flag(raw: &str) -> Result<Option<bool>, ()> {
    // compared without lowering a copy: every flag cell of every row
    let raw = raw.trim();
    let is = |words: &[&str]| words.iter().any(|w| raw.eq_ignore_ascii_case(w));
    if raw.is_empty() {
        Ok(None)
    } else if is(&["1", "1.0", "true", "yes"]) {
        Ok(Some(true))
    } else if is(&["0", "0.0", "false", "no"]) {
        Ok(Some(false))
    } else {
        Err(())
    }
}

/// A column name that says its values count something: read as records,
/// each row of such a file would stand for one victim.
pub(crate) fn is_count_column(name: &str) -> bool {
    // words that mean a count and nothing else in the three languages
    // ("nombre" is a name in Spanish, "number" can be an id: not here)
    const COUNT_NAMES: &[&str] = &[
        "count",
        "counts",
        "n",
        "n_victims",
        "number_of_victims",
        "num_victims",
        "victim_count",
        "nb_victimes",
        "nombre_de_victimes",
        "numero_de_victimas",
        "número_de_víctimas",
        "cantidad",
        "total",
        "obs_value",
        "frequency",
        "freq",
    ];
    let name = name.trim().to_lowercase();
    COUNT_NAMES.contains(&name.as_str())
}

impl Mapper {
    /// Compiles `spec` against a header. `file_sha` names generated record
    /// ids; `reporting_country` (from `--country`) overrides the mapping's
    /// constant. Fails with a message naming what does not fit.
    pub fn new(
        spec: &MappingSpec,
        header: &[String],
        file_sha: &str,
        reporting_country: Option<&str>,
    ) -> Result<Self, String> {
        let mut seen = HashSet::new();
        for name in header.iter().filter(|n| !n.is_empty()) {
            if !seen.insert(name.as_str()) {
                return Err(format!("column '{name}' appears twice in the header"));
            }
        }
        let position = |name: &str| header.iter().position(|h| h == name);
        let read = spec.read_columns();
        if let Some(count) = header
            .iter()
            .find(|h| is_count_column(h) && !read.contains(h))
        {
            return Err(format!(
                "column '{count}' looks like a count: this file holds aggregates (one row for many victims), not case records, and each row would be stored as one victim. safetynet stores one row per victim; published aggregates are not records: keep them beside the records with `safetynet reference import FILE --store STORE`. If '{count}' is not a count of victims, map it to a field"
            ));
        }
        let missing_columns: Vec<String> = read
            .iter()
            .filter(|c| position(c).is_none())
            .cloned()
            .collect();
        let ignored_columns: Vec<String> = header
            .iter()
            .filter(|h| !h.is_empty() && !read.contains(h) && !spec.drop.contains(h))
            .cloned()
            .collect();
        if spec.layout.unlisted_columns == Unlisted::Refuse {
            if !missing_columns.is_empty() {
                return Err(format!(
                    "column(s) {} read by mapping '{}' are not in the file",
                    crate::base::listing::some_of(&missing_columns),
                    spec.layout.name
                ));
            }
            if !ignored_columns.is_empty() {
                return Err(format!(
                    "column(s) {} are neither mapped nor dropped by mapping '{}'; map them, or list them under `drop` (dropped columns are never read)",
                    crate::base::listing::some_of(&ignored_columns),
                    spec.layout.name
                ));
            }
        }

        let mut constants: Vec<(usize, String)> = spec
            .constants
            .iter()
            .map(|(k, v)| (canonical_index(k), v.clone()))
            .collect();
        if let Some(cc) = reporting_country {
            constants.retain(|(i, _)| INPUT_COLUMNS[*i] != "reporting_country");
            constants.push((canonical_index("reporting_country"), cc.to_string()));
        }

        let mut sources = vec![String::new(); INPUT_COLUMNS.len()];
        for (i, _) in &constants {
            sources[*i] = format!("(constant {})", INPUT_COLUMNS[*i]);
        }
        let mut fields = Vec::new();
        for (name, field) in &spec.fields {
            if name == "reporting_country" && reporting_country.is_some() {
                continue;
            }
            let canonical = canonical_index(name);
            sources[canonical] = field.source_columns().join(" + ");
            let source = if field.generate.is_some() {
                Source::GeneratedId
            } else if !field.flags.is_empty() {
                Source::Flags(
                    field
                        .flags
                        .iter()
                        .filter_map(|(k, v)| {
                            position(&format!("{}{}", field.flag_prefix, k)).map(|i| {
                                let values = v.values().into_iter().filter(|s| !s.is_empty());
                                (i, values.map(str::to_string).collect())
                            })
                        })
                        .collect(),
                )
            } else {
                let cols: Vec<usize> = field
                    .column
                    .iter()
                    .chain(field.columns.iter())
                    .filter_map(|c| position(c))
                    .collect();
                if cols.is_empty() {
                    Source::Absent
                } else {
                    Source::Columns(cols)
                }
            };
            let multi = LIST_COLUMNS.contains(&name.as_str());
            let split = if field.split.is_empty() && multi {
                vec![";".to_string()]
            } else {
                field.split.clone()
            };
            fields.push(CompiledField {
                canonical,
                source,
                multi,
                split,
                values: field
                    .values
                    .keys()
                    .enumerate()
                    .map(|(i, k)| (normalise_label(k), i))
                    .collect(),
                targets: field
                    .values
                    .values()
                    .map(|v| v.values().into_iter().map(str::to_string).collect())
                    .collect(),
                seen: Remembered::default(),
                combine: field
                    .combine
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.split('+').map(|s| s.trim().to_string()).collect(),
                            v.clone(),
                        )
                    })
                    .collect(),
                priority: field.priority.clone(),
                dates: field.date.clone(),
                keep_first: field.keep_first,
                default: field.default.clone(),
            });
        }
        for required in crate::base::schema::REQUIRED_COLUMNS {
            let i = canonical_index(required);
            let provided = constants.iter().any(|(c, _)| *c == i)
                || fields
                    .iter()
                    .any(|f| f.canonical == i && !matches!(f.source, Source::Absent));
            if !provided && *required != "trafficking_form" {
                return Err(if *required == "reporting_country" {
                    format!(
                        "mapping '{}' gives no reporting country and the file has no column for it; pass --country CC",
                        spec.layout.name
                    )
                } else {
                    format!(
                        "mapping '{}' gives no {required} (map a column, or generate = \"file-row\")",
                        spec.layout.name
                    )
                });
            }
        }
        Ok(Mapper {
            header: header.to_vec(),
            fields,
            constants,
            id_prefix: format!(
                "{}-{}",
                spec.layout.name,
                &file_sha[..12.min(file_sha.len())]
            ),
            sources,
            missing_columns,
            ignored_columns,
        })
    }

    /// The source column(s) behind a canonical field, for messages.
    pub fn describe(&self, canonical: &str) -> String {
        match INPUT_COLUMNS.iter().position(|c| *c == canonical) {
            Some(i) if !self.sources[i].is_empty() => {
                format!("{} (-> {canonical})", self.sources[i])
            }
            _ => canonical.to_string(),
        }
    }

    /// Maps one source row into canonical cells, in `INPUT_COLUMNS` order,
    /// with the problems met on the way (a cell with a problem is left
    /// empty, so validation can still report the rest of the row).
    pub fn map_row(
        &self,
        row_number: u64,
        cells: &[impl AsRef<str>],
    ) -> (Vec<String>, Vec<Problem>) {
        let mut out = vec![String::new(); INPUT_COLUMNS.len()];
        let mut problems = Vec::new();
        for (i, value) in &self.constants {
            out[*i] = value.clone();
        }
        for field in &self.fields {
            let mut values: Vec<String> = Vec::new();
            match &field.source {
                Source::Absent => {}
                Source::GeneratedId => values.push(format!("{}-{row_number:07}", self.id_prefix)),
                Source::Flags(flags) => {
                    for (i, contributes) in flags {
                        let raw = cells.get(*i).map(AsRef::as_ref).unwrap_or("");
                        match parse_flag(raw) {
                            Ok(Some(true)) => values.extend(contributes.iter().cloned()),
                            Ok(_) => {}
                            Err(()) => problems.push(Problem::new(
                                &self.header[*i],
                                raw,
                                "flag is not 1, 0 or blank",
                            )),
                        }
                    }
                }
                Source::Columns(cols) => {
                    for &i in cols {
                        let raw = cells.get(i).map(AsRef::as_ref).unwrap_or("").trim();
                        if raw.is_empty() {
                            continue;
                        }
                        if !field.dates.is_empty() {
                            match parse_date(raw, &field.dates) {
                                Some((y, m)) => {
                                    values.push(if INPUT_COLUMNS[field.canonical] == "year" {
                                        y.to_string()
                                    } else {
                                        m.to_string()
                                    })
                                }
                                None => problems.push(Problem::new(
                                    &self.header[i],
                                    raw,
                                    format!(
                                        "not a date in the format {}",
                                        field.dates.join(" or ")
                                    ),
                                )),
                            }
                            continue;
                        }
                        for part in split_all(raw, &field.split) {
                            let listed = field
                                .seen
                                .get_or(part, || field.values.get(&normalise_label(part)).copied());
                            match listed {
                                Some(t) => values.extend(
                                    field.targets[t].iter().filter(|t| !t.is_empty()).cloned(),
                                ),
                                None => values.push(part.to_string()),
                            }
                        }
                    }
                }
            }
            if values.is_empty()
                && let Some(d) = &field.default
            {
                values.push(d.clone());
            }
            dedup_in_order(&mut values);
            let cell = if field.multi {
                values.join(";")
            } else {
                match resolve_single(field, values) {
                    Ok(v) => v,
                    Err(several) => {
                        problems.push(Problem::new(
                            &self.sources[field.canonical],
                            &several.join("; "),
                            format!(
                                "several values for the single-valued field {}",
                                INPUT_COLUMNS[field.canonical]
                            ),
                        ));
                        String::new()
                    }
                }
            };
            out[field.canonical] = cell;
        }
        (out, problems)
    }

    /// `map_row`, as a result: the cells only when there was no problem.
    pub fn map_row_strict(
        &self,
        row_number: u64,
        cells: &[impl AsRef<str>],
    ) -> Result<Vec<String>, Vec<Problem>> {
        let (out, problems) = self.map_row(row_number, cells);
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }
}

fn split_all<'a>(raw: &'a str, separators: &[String]) -> Vec<&'a str> {
    let mut parts = vec![raw];
    for sep in separators {
        parts = parts
            .into_iter()
            .flat_map(|p| p.split(sep.as_str()))
            .collect();
    }
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Drops every value that came before, keeping the first of each in order.
fn dedup_in_order(values: &mut Vec<String>) {
    // A cell holds a few values: comparing each with the ones kept costs
    // less than hashing a copy of each (a set per cell was 3% of ingest's
    // CPU on the sample data). Long lists still take the set.
    if values.len() > 16 {
        let mut seen = HashSet::new();
        values.retain(|v| seen.insert(v.clone()));
        return;
    }
    let mut kept = 0;
    for at in 0..values.len() {
        if !values[..kept].contains(&values[at]) {
            values.swap(kept, at);
            kept += 1;
        }
    }
    values.truncate(kept);
}

/// Settles several values of a single-valued field through `combine` and
/// `priority`; returns them all when neither decides.
fn resolve_single(field: &CompiledField, mut values: Vec<String>) -> Result<String, Vec<String>> {
    if values.len() <= 1 {
        return Ok(values.pop().unwrap_or_default());
    }
    for (parts, result) in &field.combine {
        if parts.iter().all(|p| values.contains(p)) {
            values.retain(|v| !parts.contains(v));
            values.insert(0, result.clone());
        }
    }
    dedup_in_order(&mut values);
    if values.len() == 1 || field.keep_first {
        return Ok(values.remove(0));
    }
    match field.priority.iter().find(|p| values.contains(p)) {
        Some(p) => Ok(p.clone()),
        None => Err(values),
    }
}

/// Year and month of a date cell. ISO dates (also with a time, as XLSX
/// dates are read) are always accepted; then the mapping's formats.
pub fn parse_date(raw: &str, formats: &[String]) -> Option<(i32, u32)> {
    use chrono::{Datelike, NaiveDate};
    let iso = raw.get(..10).unwrap_or(raw);
    if let Ok(d) = NaiveDate::parse_from_str(iso, "%Y-%m-%d") {
        return Some((d.year(), d.month()));
    }
    formats
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(raw, f).ok())
        .map(|d| (d.year(), d.month()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn mapper(toml: &str, header: &[&str]) -> Result<Mapper, String> {
        let spec = MappingSpec::parse(toml, Path::new("m.toml")).map_err(|e| e.to_string())?;
        let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
        Mapper::new(&spec, &header, "abcdef0123456789", None)
    }

    #[test]
    fn repeated_values_keep_their_first_place_short_lists_and_long() {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        let mut short = owned(&["b", "a", "b", "c", "a", "a"]);
        dedup_in_order(&mut short);
        assert_eq!(short, owned(&["b", "a", "c"]));
        // past the short lists' length, through the set: the same rule
        let long: Vec<String> = (0..40).map(|i| format!("v{}", (i * 7) % 13)).collect();
        for mut values in [long.clone(), long[..16].to_vec()] {
            let mut expected: Vec<String> = Vec::new();
            for v in &values {
                if !expected.contains(v) {
                    expected.push(v.clone());
                }
            }
            dedup_in_order(&mut values);
            assert_eq!(values, expected);
        }
    }

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| s.to_string()).collect()
    }

    const BASE: &str = r#"
[layout]
name = "t"
[constants]
reporting_country = "MX"
[fields.record_id]
column = "folio"
"#;

    fn at(out: &[String], name: &str) -> String {
        out[canonical_index(name)].clone()
    }

    #[test]
    fn renames_translates_and_splits() {
        let toml = format!(
            "{BASE}\n[fields.control_methods]\ncolumn = \"control\"\nsplit = [\";\", \",\"]\nvalues = {{ \"Deuda\" = \"debt_bondage\", \"Golpes y amenazas\" = [\"physical_abuse\", \"threats\"], \"Sin dato\" = \"\" }}\n"
        );
        let m = mapper(&toml, &["folio", "control"]).unwrap();
        let out = m
            .map_row_strict(
                2,
                &row(&["A1", "deuda, golpes y amenazas; sin dato; Aislamiento"]),
            )
            .unwrap();
        assert_eq!(at(&out, "record_id"), "A1");
        assert_eq!(at(&out, "reporting_country"), "MX");
        assert_eq!(
            at(&out, "control_methods"),
            "debt_bondage;physical_abuse;threats;Aislamiento"
        );
    }

    #[test]
    fn flags_combine_and_priority() {
        let toml = format!(
            "{BASE}\n[fields.trafficking_form]\nflags = {{ isSex = \"sex\", isLabour = \"labor\", isOther = \"other\" }}\ncombine = {{ \"sex+labor\" = \"sex_and_labor\" }}\npriority = [\"sex_and_labor\", \"sex\", \"labor\", \"other\"]\n[fields.sectors]\nflag_prefix = \"typeOf\"\nflags = {{ Farm = \"agriculture\", NotSpecified = \"\" }}\n"
        );
        let header = [
            "folio",
            "isSex",
            "isLabour",
            "isOther",
            "typeOfFarm",
            "typeOfNotSpecified",
        ];
        let m = mapper(&toml, &header).unwrap();
        let out = m
            .map_row_strict(2, &row(&["a", "1", "1", "1", "1", "1"]))
            .unwrap();
        assert_eq!(at(&out, "trafficking_form"), "sex_and_labor");
        assert_eq!(at(&out, "sectors"), "agriculture");
        let out = m
            .map_row_strict(3, &row(&["b", "0", "1.0", "", "", "1"]))
            .unwrap();
        assert_eq!(at(&out, "trafficking_form"), "labor");
        assert_eq!(at(&out, "sectors"), "");
        let problems = m
            .map_row_strict(4, &row(&["c", "2", "", "", "", ""]))
            .unwrap_err();
        assert_eq!(problems[0].column, "isSex");
        assert_eq!(problems[0].reason, "flag is not 1, 0 or blank");
    }

    #[test]
    fn dates_and_generated_ids() {
        let toml = r#"
[layout]
name = "gen"
[constants]
reporting_country = "CA"
[fields.record_id]
generate = "file-row"
[fields.year]
column = "date"
date = ["%d/%m/%Y"]
[fields.month]
column = "date"
date = ["%d/%m/%Y"]
"#;
        let m = mapper(toml, &["date"]).unwrap();
        let out = m.map_row_strict(12, &row(&["31/12/2019"])).unwrap();
        assert_eq!(at(&out, "record_id"), "gen-abcdef012345-0000012");
        assert_eq!(
            (at(&out, "year"), at(&out, "month")),
            ("2019".into(), "12".into())
        );
        let out = m
            .map_row_strict(13, &row(&["2020-03-01T00:00:00"]))
            .unwrap();
        assert_eq!(at(&out, "month"), "3");
        let problems = m.map_row_strict(14, &row(&["March 2020"])).unwrap_err();
        assert_eq!(problems[0].column, "date");
    }

    #[test]
    fn unlisted_and_missing_columns_are_refused() {
        let err = mapper(BASE, &["folio", "Nombre"]).unwrap_err();
        assert!(err.contains("Nombre"), "{err}");
        let err = mapper(BASE, &["other"]).unwrap_err();
        assert!(err.contains("folio"), "{err}");
        let err = mapper(BASE, &["folio", "folio"]).unwrap_err();
        assert!(err.contains("twice"), "{err}");
        let dropping = format!("drop = [\"Nombre\"]\n{BASE}");
        assert!(mapper(&dropping, &["folio", "Nombre"]).is_ok());
    }

    #[test]
    fn several_values_without_a_rule_are_a_problem() {
        let toml = format!("{BASE}\n[fields.gender]\ncolumn = \"g\"\nsplit = [\"/\"]\n");
        let m = mapper(&toml, &["folio", "g"]).unwrap();
        let problems = m
            .map_row_strict(2, &row(&["a", "female/male"]))
            .unwrap_err();
        assert!(problems[0].reason.contains("single-valued"));
    }

    #[test]
    fn reporting_country_is_required() {
        let toml = "[layout]\nname = \"x\"\n[fields.record_id]\ncolumn = \"id\"\n";
        let err = mapper(toml, &["id"]).unwrap_err();
        assert!(err.contains("--country"), "{err}");
    }
}
