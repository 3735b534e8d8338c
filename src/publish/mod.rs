//! Publication: tables as the queries return them, disclosure control over
//! all of them together, the audit of what was written, charts, the type
//! profiles drawn from the by-type tables, the renderers (CSV, XLSX,
//! Markdown, HTML), and the one writer of output folders every product
//! uses.

pub mod audit;
pub mod charts;
pub mod countries;
pub mod declaration;
pub mod disclosure;
pub mod figures;
pub mod key_figures;
pub mod linkage;
pub mod logo;
pub mod mix_tests;
pub mod pdf;
pub mod profiles;
pub mod reader;
pub mod render;
pub mod table;
pub mod writer;

pub use disclosure::Policy;
pub use table::{Cell, Table, TableSpec};
