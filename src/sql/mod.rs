//! SQL over the store: the DataFusion session and its one runner, the
//! selection every query is bound with, the queries shipped in `queries/`,
//! the functions registered for them (UDFs and statistics), and `query`'s
//! output formats.

pub mod count_rows;
pub mod engine;
pub mod in_memory;
pub mod known_years;
pub mod output;
pub mod perturb;
pub mod proportions;
pub mod queries;
pub mod rollup;
pub mod selection;
pub mod stats;
pub mod text_extremes;
pub mod udf;
