//! Conversion of `CaseRecord`s to Arrow record batches in the canonical
//! schemas.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, ListBuilder, RecordBatch, StringBuilder,
};

use crate::base::record::CaseRecord;
use crate::base::schema;
use crate::error::Result;

fn strings<'a>(
    records: &'a [CaseRecord],
    get: impl Fn(&'a CaseRecord) -> Option<&'a str>,
) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(records.len(), records.len() * 8);
    for r in records {
        b.append_option(get(r));
    }
    Arc::new(b.finish())
}

fn ints(records: &[CaseRecord], get: impl Fn(&CaseRecord) -> Option<i32>) -> ArrayRef {
    let mut b = Int32Builder::with_capacity(records.len());
    for r in records {
        b.append_option(get(r));
    }
    Arc::new(b.finish())
}

fn bools(records: &[CaseRecord], get: impl Fn(&CaseRecord) -> Option<bool>) -> ArrayRef {
    let mut b = BooleanBuilder::with_capacity(records.len());
    for r in records {
        b.append_option(get(r));
    }
    Arc::new(b.finish())
}

fn lists<'a, T: AsRef<str> + 'a>(
    records: &'a [CaseRecord],
    get: impl Fn(&'a CaseRecord) -> &'a Option<Vec<T>>,
) -> ArrayRef {
    list_array(records.iter().map(|r| get(r).as_deref()))
}

fn list_array<'a, T: AsRef<str> + 'a>(values: impl Iterator<Item = Option<&'a [T]>>) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for value in values {
        match value {
            Some(values) => {
                for v in values {
                    b.values().append_value(v.as_ref());
                }
                b.append(true);
            }
            None => b.append(false),
        }
    }
    Arc::new(b.finish())
}

fn input_columns(records: &[CaseRecord]) -> Vec<ArrayRef> {
    vec![
        strings(records, |r| Some(&r.record_id)),
        strings(records, |r| Some(&r.case_id)),
        strings(records, |r| r.data_source.as_deref()),
        strings(records, |r| Some(&r.reporting_country)),
        ints(records, |r| r.year),
        ints(records, |r| r.month),
        strings(records, |r| r.exploitation_country.as_deref()),
        strings(records, |r| r.exploitation_subdivision.as_deref()),
        strings(records, |r| r.citizenship.as_deref()),
        strings(records, |r| r.gender.as_deref()),
        strings(records, |r| r.age_band.as_deref()),
        strings(records, |r| r.majority_status.as_deref()),
        strings(records, |r| Some(&r.trafficking_form)),
        lists(records, |r| &r.sectors),
        strings(records, |r| r.venue.as_deref()),
        lists(records, |r| &r.recruitment_tactics),
        lists(records, |r| &r.recruiter_relations),
        lists(records, |r| &r.control_methods),
        bools(records, |r| r.abduction),
        ints(records, |r| r.perpetrators.count),
        lists(records, |r| &r.perpetrators.roles),
        lists(records, |r| &r.perpetrators.genders),
        lists(records, |r| &r.perpetrators.age_groups),
        lists(records, |r| &r.perpetrators.citizenships),
        lists(records, |r| &r.perpetrators.relations),
        bools(records, |r| r.perpetrators.money_paid),
        bools(records, |r| r.perpetrators.transaction),
        bools(records, |r| r.perpetrators.control_abuse),
    ]
}

/// Records in the input schema (what `generate` writes as Parquet).
pub fn input_batch(records: &[CaseRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema::input_schema(),
        input_columns(records),
    )?)
}

/// Records in the base schema: input columns plus derived profile fields.
pub fn base_batch(records: &[CaseRecord]) -> Result<RecordBatch> {
    let mut columns = input_columns(records);
    columns.push(bools(records, CaseRecord::foreign_national));
    columns.push(ints(records, |r| r.year_span().map(|s| s.0)));
    columns.push(ints(records, |r| r.year_span().map(|s| s.1)));
    columns.push(strings(records, |r| r.exploitation_regions().0));
    columns.push(strings(records, |r| r.exploitation_regions().1));
    columns.push(strings(records, |r| r.citizenship_regions().0));
    columns.push(strings(records, |r| r.citizenship_regions().1));
    let regions: Vec<Option<Vec<&str>>> =
        records.iter().map(|r| r.perpetrators.regions()).collect();
    columns.push(list_array(regions.iter().map(Option::as_deref)));
    Ok(RecordBatch::try_new(schema::base_schema(), columns)?)
}
