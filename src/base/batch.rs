//! Conversion of `CaseRecord`s to Arrow record batches in the canonical
//! schemas.
//!
//! The columns are filled one record at a time. A batch of 8,192 records
//! takes several megabytes, more than a core's cache: filled a column at a
//! time, the records were read from memory once per column (36 times), and
//! that function was about 6% of ingest's samples (perf, 1M records).

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, ListBuilder, RecordBatch, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef};

use crate::base::record::CaseRecord;
use crate::base::schema;
use crate::error::Result;

/// The builder of one column, by the column's type in the schema.
enum Column {
    Text(StringBuilder),
    Number(Int32Builder),
    Flag(BooleanBuilder),
    Texts(ListBuilder<StringBuilder>),
}

impl Column {
    fn of(data_type: &DataType, rows: usize) -> Self {
        match data_type {
            DataType::Utf8 => Column::Text(StringBuilder::with_capacity(rows, rows * 8)),
            DataType::Int32 => Column::Number(Int32Builder::with_capacity(rows)),
            DataType::Boolean => Column::Flag(BooleanBuilder::with_capacity(rows)),
            DataType::List(_) => Column::Texts(ListBuilder::new(StringBuilder::new())),
            other => unreachable!("the record schemas have no {other} column"),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Text(b) => Arc::new(b.finish()),
            Column::Number(b) => Arc::new(b.finish()),
            Column::Flag(b) => Arc::new(b.finish()),
            Column::Texts(b) => Arc::new(b.finish()),
        }
    }
}

/// Appends one record's values to the columns, in the schema's order.
/// A value of the wrong type for its column is a bug in this file (the
/// first test that builds a batch finds it), not an input problem.
struct Row<'a> {
    columns: &'a mut [Column],
    next: usize,
}

impl Row<'_> {
    fn column(&mut self) -> &mut Column {
        self.next += 1;
        &mut self.columns[self.next - 1]
    }

    fn text(&mut self, value: Option<&str>) {
        match self.column() {
            Column::Text(b) => b.append_option(value),
            _ => unreachable!("not a text column"),
        }
    }

    fn number(&mut self, value: Option<i32>) {
        match self.column() {
            Column::Number(b) => b.append_option(value),
            _ => unreachable!("not a number column"),
        }
    }

    fn flag(&mut self, value: Option<bool>) {
        match self.column() {
            Column::Flag(b) => b.append_option(value),
            _ => unreachable!("not a flag column"),
        }
    }

    fn texts<T: AsRef<str>>(&mut self, values: Option<&[T]>) {
        match self.column() {
            Column::Texts(b) => match values {
                Some(values) => {
                    for v in values {
                        b.values().append_value(v.as_ref());
                    }
                    b.append(true);
                }
                None => b.append(false),
            },
            _ => unreachable!("not a list column"),
        }
    }
}

/// The columns of `schema::INPUT_COLUMNS`.
fn input_values(r: &CaseRecord, row: &mut Row<'_>) {
    let p = &r.perpetrators;
    row.text(Some(&r.record_id));
    row.text(Some(&r.case_id));
    row.text(r.data_source.as_deref());
    row.text(Some(&r.reporting_country));
    row.number(r.year);
    row.number(r.month);
    row.text(r.exploitation_country.as_deref());
    row.text(r.exploitation_subdivision.as_deref());
    row.text(r.citizenship.as_deref());
    row.text(r.gender.as_deref());
    row.text(r.age_band.as_deref());
    row.text(r.majority_status.as_deref());
    row.text(Some(&r.trafficking_form));
    row.texts(r.sectors.as_deref());
    row.text(r.venue.as_deref());
    row.texts(r.recruitment_tactics.as_deref());
    row.texts(r.recruiter_relations.as_deref());
    row.texts(r.control_methods.as_deref());
    row.flag(r.abduction);
    row.number(p.count);
    row.texts(p.roles.as_deref());
    row.texts(p.genders.as_deref());
    row.texts(p.age_groups.as_deref());
    row.texts(p.citizenships.as_deref());
    row.texts(p.relations.as_deref());
    row.flag(p.money_paid);
    row.flag(p.transaction);
    row.flag(p.control_abuse);
}

/// The input columns, then the profile fields derived from them.
fn base_values(r: &CaseRecord, row: &mut Row<'_>) {
    input_values(r, row);
    let span = r.year_span();
    let exploitation = r.exploitation_regions();
    let citizenship = r.citizenship_regions();
    row.flag(r.foreign_national());
    row.number(span.map(|s| s.0));
    row.number(span.map(|s| s.1));
    row.text(exploitation.0);
    row.text(exploitation.1);
    row.text(citizenship.0);
    row.text(citizenship.1);
    row.texts(r.perpetrators.regions().as_deref());
}

/// A batch of `schema`, each record's values appended by `values`.
fn batch(
    schema: SchemaRef,
    records: &[CaseRecord],
    values: fn(&CaseRecord, &mut Row<'_>),
) -> Result<RecordBatch> {
    let mut columns: Vec<Column> = (schema.fields().iter())
        .map(|f| Column::of(f.data_type(), records.len()))
        .collect();
    for r in records {
        let mut row = Row {
            columns: &mut columns,
            next: 0,
        };
        values(r, &mut row);
        debug_assert_eq!(row.next, row.columns.len(), "a value for every column");
    }
    let arrays = columns.iter_mut().map(Column::finish).collect();
    Ok(RecordBatch::try_new(schema, arrays)?)
}

/// Records in the input schema (what `generate` writes as Parquet).
pub fn input_batch(records: &[CaseRecord]) -> Result<RecordBatch> {
    batch(schema::input_schema(), records, input_values)
}

/// Records in the base schema: input columns plus derived profile fields.
pub fn base_batch(records: &[CaseRecord]) -> Result<RecordBatch> {
    batch(schema::base_schema(), records, base_values)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, ArrayRef, AsArray};
    use datafusion::arrow::datatypes::{DataType, Int32Type};

    use super::{base_batch, input_batch};
    use crate::base::record::{CaseRecord, Code, Perpetrators};
    use crate::base::schema::INPUT_COLUMNS;

    /// A cell as the flat CSV form writes it (lists joined with ";").
    fn flat(column: &ArrayRef, row: usize) -> String {
        if column.is_null(row) {
            return String::new();
        }
        match column.data_type() {
            DataType::Utf8 => column.as_string::<i32>().value(row).to_string(),
            DataType::Int32 => column.as_primitive::<Int32Type>().value(row).to_string(),
            DataType::Boolean => column.as_boolean().value(row).to_string(),
            DataType::List(_) => {
                let values = column.as_list::<i32>().value(row);
                let values = values.as_string::<i32>();
                (0..values.len())
                    .map(|i| values.value(i))
                    .collect::<Vec<_>>()
                    .join(";")
            }
            other => panic!("no {other} column expected"),
        }
    }

    /// Records with every field given (and different values in fields of
    /// one type), with none, and with some: made here, since the base
    /// stage comes before `generate`.
    fn records() -> Vec<CaseRecord> {
        let codes = |c: &[&'static str]| Some(c.iter().map(|c| Code::Borrowed(*c)).collect());
        let full = CaseRecord {
            record_id: "R-1".into(),
            case_id: "C-1".into(),
            data_source: Some("hotline".into()),
            reporting_country: "US".into(),
            year: Some(2021),
            period: None,
            month: Some(7),
            exploitation_country: Some("MX".into()),
            exploitation_area: None,
            exploitation_subdivision: Some("MX-JAL".into()),
            citizenship: Some("NG".into()),
            citizenship_area: None,
            gender: Some("female".into()),
            age_band: Some("18-20".into()),
            majority_status: Some("adult".into()),
            trafficking_form: "labour".into(),
            sectors: codes(&["agriculture", "domestic_work"]),
            venue: Some("a farm".into()),
            recruitment_tactics: codes(&["job_offer"]),
            recruiter_relations: codes(&["acquaintance", "employer"]),
            control_methods: codes(&["debt", "threats", "withheld_documents"]),
            abduction: Some(false),
            perpetrators: Perpetrators {
                count: Some(3),
                roles: codes(&["recruiter"]),
                genders: codes(&["male", "female"]),
                age_groups: codes(&["30-38"]),
                citizenships: Some(vec!["MX".into(), "US".into()]),
                relations: codes(&["employer"]),
                money_paid: Some(true),
                transaction: Some(false),
                control_abuse: Some(true),
            },
        };
        let partial = CaseRecord {
            record_id: "R-3".into(),
            case_id: "C-2".into(),
            reporting_country: "CA".into(),
            period: Some((2014, 2018)),
            citizenship: Some("CA".into()),
            exploitation_country: Some("CA".into()),
            trafficking_form: "sexual".into(),
            sectors: codes(&["escort"]),
            perpetrators: Perpetrators {
                genders: codes(&["female"]),
                citizenships: Some(vec!["FR".into()]),
                ..Default::default()
            },
            ..Default::default()
        };
        vec![
            full,
            CaseRecord {
                record_id: "R-2".into(),
                case_id: "C-1".into(),
                reporting_country: "US".into(),
                trafficking_form: "not_specified".into(),
                ..Default::default()
            },
            partial,
        ]
    }

    /// Filled record by record, every value must land in the column of its
    /// name: the record's flat form is in `INPUT_COLUMNS` order.
    #[test]
    fn every_column_holds_each_records_value_of_its_name() {
        let records = records();
        let input = input_batch(&records).unwrap();
        let base = base_batch(&records).unwrap();
        for (row, record) in records.iter().enumerate() {
            let mut expected = record.to_flat();
            if record.period.is_some() {
                // the flat form writes a period where the year goes; the
                // batch keeps it in year_from and year_to, the year null
                expected[4] = String::new();
            }
            for (i, name) in INPUT_COLUMNS.iter().enumerate() {
                assert_eq!(flat(input.column(i), row), expected[i], "{name}, row {row}");
                assert_eq!(flat(base.column(i), row), expected[i], "{name}, row {row}");
            }
            let span = record.year_span();
            let text = |v: Option<&str>| v.unwrap_or_default().to_string();
            let derived = [
                record
                    .foreign_national()
                    .map(|b| b.to_string())
                    .unwrap_or_default(),
                span.map(|s| s.0.to_string()).unwrap_or_default(),
                span.map(|s| s.1.to_string()).unwrap_or_default(),
                text(record.exploitation_regions().0),
                text(record.exploitation_regions().1),
                text(record.citizenship_regions().0),
                text(record.citizenship_regions().1),
                record.perpetrators.regions().unwrap_or_default().join(";"),
            ];
            assert_eq!(base.num_columns(), INPUT_COLUMNS.len() + derived.len());
            for (j, value) in derived.iter().enumerate() {
                let i = INPUT_COLUMNS.len() + j;
                let name = base.schema().field(i).name().clone();
                assert_eq!(&flat(base.column(i), row), value, "{name}, row {row}");
            }
        }
    }
}
