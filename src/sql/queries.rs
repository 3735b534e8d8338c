//! The SQL files of `queries/`, embedded so the binary works from any
//! directory. `build.rs` lists every `.sql` file there, in name order: a new
//! file is a new table. Each file's header declares its table (title,
//! counts, charts, disclosure relations; see `queries/README.md` and
//! `publish::table::TableSpec`).

/// `(file stem, SQL)` of every shipped query, in name order.
pub const DEFAULT_QUERIES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/queries.rs"));
