//! The mapping files shipped inside the binary for the public standards, so
//! `--format ctdc` works without a file on disk. They are ordinary mapping
//! files (in `mappings/`), reviewable like any other.

use std::path::Path;

use super::MappingSpec;
use crate::error::Result;

const BUILTIN: &[(&str, &str)] = &[
    (
        "ctdc",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/ctdc.toml")),
    ),
    (
        "ctdc-synthetic",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/mappings/ctdc_synthetic.toml"
        )),
    ),
    (
        "htcds",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/htcds.toml")),
    ),
];

/// The built-in mapping called `name`, if there is one.
pub fn load(name: &str) -> Option<Result<MappingSpec>> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| MappingSpec::parse(text, Path::new(&format!("<built-in {n}>"))))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_mapping_loads() {
        for (name, _) in super::BUILTIN {
            super::load(name).unwrap().unwrap();
        }
    }
}
