//! The integration tests: one binary (each test binary links DataFusion,
//! so ten of them cost minutes of linking), one module per area. They run
//! the real `safetynet` binary on fixtures each test writes into its own
//! temporary folder; none reads `../shared`.

mod common;

mod architecture;

mod attacks;

mod classification;
mod classify_examples;
mod disclosure;
mod exchange;
mod foundation;
mod four_facets;
mod fuzz_input;
mod gaps;
mod guard;
mod hostile;
mod hostile_input;
mod queries;
mod real_exports;
mod releases;
mod report;
mod sample_data;
mod store_safety;
mod venue_texts;
