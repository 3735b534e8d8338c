//! Classification into the Typology of Modern Slavery: the rules (data), the
//! classifier that applies them to one record, reclassification of a whole
//! store after a rules change, and `explain` for one record.

pub mod classifier;
pub mod explain;
pub mod fuzzy;
pub mod reclassify;
pub mod rules;
pub mod suggest;
