//! The first stage: exports as users have them (delimited text, JSON lines,
//! Parquet, workbooks; any encoding; canonical, standard or mapped layouts)
//! read, decoded, mapped to the canonical record, validated, screened for
//! personal data, classified and stored by `ingest`.

pub mod decode;
pub mod guard;
pub mod ingest;
pub mod limits;
pub mod mapping;
pub mod mapping_check;
pub mod readers;
pub mod validate;
