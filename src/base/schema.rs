//! The canonical Arrow schema of the store. `docs/schema.md` documents every
//! field, its allowed values and the cross-walk to CTDC and HTCDS.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// Columns of the canonical input layout (flat CSV, JSON lines, Parquet), in
/// the order `generate` writes them.
pub const INPUT_COLUMNS: &[&str] = &[
    "record_id",
    "case_id",
    "data_source",
    "reporting_country",
    "year",
    "month",
    "exploitation_country",
    "exploitation_subdivision",
    "citizenship",
    "gender",
    "age_band",
    "majority_status",
    "trafficking_form",
    "sectors",
    "venue",
    "recruitment_tactics",
    "recruiter_relations",
    "control_methods",
    "abduction",
    "perpetrator_count",
    "perpetrator_roles",
    "perpetrator_genders",
    "perpetrator_age_groups",
    "perpetrator_citizenships",
    "perpetrator_relations",
    "perpetrator_money_paid",
    "perpetrator_transaction",
    "perpetrator_control_abuse",
];

/// Yes/no input columns.
pub const BOOLEAN_COLUMNS: &[&str] = &[
    "abduction",
    "perpetrator_money_paid",
    "perpetrator_transaction",
    "perpetrator_control_abuse",
];

/// Whole-number input columns.
pub const INTEGER_COLUMNS: &[&str] = &["year", "month", "perpetrator_count"];

/// Input columns without which a file is refused as a whole.
pub const REQUIRED_COLUMNS: &[&str] = &["record_id", "reporting_country", "trafficking_form"];

/// Multi-valued input columns (Arrow lists; `;`-joined in the flat form).
pub const LIST_COLUMNS: &[&str] = &[
    "sectors",
    "recruitment_tactics",
    "recruiter_relations",
    "control_methods",
    "perpetrator_roles",
    "perpetrator_genders",
    "perpetrator_age_groups",
    "perpetrator_citizenships",
    "perpetrator_relations",
];

/// Columns the store derives from the input and from classification.
pub const CLASSIFICATION_COLUMNS: &[&str] = &[
    "classification",
    "typology_id",
    "typology_name",
    "extension_category",
    "rule_id",
    "confidence",
    "evidence",
    "undetermined_reason",
];

fn list_of_utf8() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

fn input_fields() -> Vec<Field> {
    INPUT_COLUMNS
        .iter()
        .map(|&name| {
            let data_type = match name {
                n if INTEGER_COLUMNS.contains(&n) => DataType::Int32,
                n if BOOLEAN_COLUMNS.contains(&n) => DataType::Boolean,
                n if LIST_COLUMNS.contains(&n) => list_of_utf8(),
                _ => DataType::Utf8,
            };
            Field::new(
                name,
                data_type,
                !REQUIRED_COLUMNS.contains(&name) && name != "case_id",
            )
        })
        .collect()
}

/// The canonical record as input (what `generate` writes to Parquet).
pub fn input_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| Arc::new(Schema::new(input_fields())));
    SCHEMA.clone()
}

/// Columns the store derives from a record's year: its first and last
/// possible year (equal for a record of one year; a period such as
/// 2014-2018 where the export gives one, `year` then being null).
pub const YEAR_SPAN_COLUMNS: [&str; 2] = ["year_from", "year_to"];

/// Columns the store derives from places: the UN M49 region and subregion
/// (numeric codes such as `150` and `151`) of the place of exploitation and
/// of the citizenship, from the country or from the region the export gave.
pub const REGION_COLUMNS: [&str; 4] = [
    "exploitation_region",
    "exploitation_subregion",
    "citizenship_region",
    "citizenship_subregion",
];

/// The M49 regions of the perpetrators' citizenships, in code order.
pub const PERPETRATOR_REGIONS_COLUMN: &str = "perpetrator_regions";

/// Every column the store derives from a record before classification, with
/// its type. A store written before a column existed reads it as null;
/// `reclassify` fills it.
pub fn derived_fields() -> Vec<Field> {
    let mut fields = vec![Field::new("foreign_national", DataType::Boolean, true)];
    for name in YEAR_SPAN_COLUMNS {
        fields.push(Field::new(name, DataType::Int32, true));
    }
    for name in REGION_COLUMNS {
        fields.push(Field::new(name, DataType::Utf8, true));
    }
    fields.push(Field::new(PERPETRATOR_REGIONS_COLUMN, list_of_utf8(), true));
    fields
}

/// Input columns plus the derived ones: what ingest builds before
/// classification appends its columns.
pub fn base_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let mut fields = input_fields();
        fields.extend(derived_fields());
        Arc::new(Schema::new(fields))
    });
    SCHEMA.clone()
}

pub fn classification_fields() -> Vec<Field> {
    CLASSIFICATION_COLUMNS
        .iter()
        .map(|&name| {
            let data_type = if name == "typology_id" {
                DataType::Int32
            } else {
                DataType::Utf8
            };
            Field::new(name, data_type, name != "classification")
        })
        .collect()
}

/// The schema of every Parquet file in the store: the table `cases`.
pub fn store_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let mut fields = base_schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect::<Vec<_>>();
        fields.extend(classification_fields());
        Arc::new(Schema::new(fields))
    });
    SCHEMA.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_schema_is_input_plus_derived() {
        let store = store_schema();
        assert_eq!(
            store.fields().len(),
            INPUT_COLUMNS.len() + derived_fields().len() + CLASSIFICATION_COLUMNS.len()
        );
        for name in YEAR_SPAN_COLUMNS {
            assert_eq!(
                store.field_with_name(name).unwrap().data_type(),
                &DataType::Int32
            );
        }
        assert_eq!(
            store.field_with_name("sectors").unwrap().data_type(),
            &list_of_utf8()
        );
        assert!(!store.field_with_name("record_id").unwrap().is_nullable());
        assert!(store.field_with_name("abduction").unwrap().is_nullable());
    }
}
