//! Places as exports write them: a country (ISO 3166-1 alpha-2 or alpha-3
//! code, or its English, Spanish or French name) or, where only that is
//! known, a UN M49 region or subregion (its numeric code or name). Every
//! country rolls up to its M49 subregion and region.
//!
//! The tables are `rules/countries.csv` and `rules/regions.csv`, compiled
//! in: they are reference data of public standards, not settings a user
//! edits, and a record's region must not change with a file on disk.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::base::countries;
use crate::base::vocab::normalise_label;

/// Where a place cell points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// An ISO 3166-1 alpha-2 code.
    Country(String),
    /// A UN M49 region, subregion or intermediate region, by numeric code.
    Area(&'static str),
}

/// A UN M49 area: a region (no parent), a subregion or an intermediate
/// region.
#[derive(Debug)]
pub struct Area {
    pub code: &'static str,
    pub parent: Option<&'static str>,
    pub name: &'static str,
}

struct Tables {
    areas: Vec<Area>,
    /// alpha-2 → its M49 subregion.
    subregion_of_country: HashMap<&'static str, &'static str>,
    /// folded name or alias → a country or an area.
    names: HashMap<String, Place>,
    country_names: HashMap<&'static str, &'static str>,
    /// Folded names given to two different places (must stay empty; a test
    /// holds the tables to it).
    #[cfg_attr(not(test), allow(dead_code))]
    collisions: Vec<String>,
}

const COUNTRIES_CSV: &str = include_str!("../../rules/countries.csv");
const REGIONS_CSV: &str = include_str!("../../rules/regions.csv");

fn records(text: &'static str) -> Vec<Vec<&'static str>> {
    // the files are plain RFC 4180; fields with commas are quoted, and no
    // field holds a quote inside, which `split_quoted` relies on
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(split_quoted)
        .collect()
}

fn split_quoted(line: &'static str) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').expect("closing quote in a places table");
            fields.push(&quoted[..end]);
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            fields.push(&rest[..end]);
            rest = &rest[end..];
        }
        match rest.strip_prefix(',') {
            Some(next) => rest = next,
            None => return fields,
        }
    }
}

fn nonempty(s: &'static str) -> Option<&'static str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let mut names: HashMap<String, Place> = HashMap::new();
    let mut collisions = Vec::new();
    let mut add_names = |place: Place, row: &[&'static str]| {
        let aliases = row.get(5).copied().unwrap_or("");
        for name in row[2..5].iter().copied().chain(aliases.split(';')) {
            let key = normalise_label(name);
            if key.is_empty() {
                continue;
            }
            if let Some(previous) = names.insert(key.clone(), place.clone())
                && previous != place
            {
                collisions.push(key);
            }
        }
    };
    let mut areas = Vec::new();
    for row in records(REGIONS_CSV) {
        let code = row[0].trim();
        add_names(Place::Area(code), &row);
        areas.push(Area {
            code,
            parent: nonempty(row[1]),
            name: row[2].trim(),
        });
    }
    let mut subregion_of_country = HashMap::new();
    let mut country_names = HashMap::new();
    for row in records(COUNTRIES_CSV) {
        let code = row[0].trim();
        if let Some(sub) = nonempty(row[1]) {
            subregion_of_country.insert(code, sub);
        }
        country_names.insert(code, row[2].trim());
        add_names(Place::Country(code.to_string()), &row);
    }
    Tables {
        areas,
        subregion_of_country,
        names,
        country_names,
        collisions,
    }
});

fn area(code: &str) -> Option<&'static Area> {
    TABLES.areas.iter().find(|a| a.code == code)
}

/// Reads a place cell: a country code or name, or an M49 area code or name.
/// `None` for anything else (the caller quarantines it with the value).
pub fn parse(raw: &str) -> Option<Place> {
    if let Some(code) = countries::normalise_country(raw) {
        return Some(Place::Country(code));
    }
    let t = raw.trim();
    if t.len() <= 3 && !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let padded = format!("{t:0>3}");
        return area(&padded).map(|a| Place::Area(a.code));
    }
    TABLES.names.get(&normalise_label(t)).cloned()
}

/// The M49 region and subregion of a place: for a country, its subregion
/// and that subregion's region; for an area, the area's region and the
/// subregion it is or lies in (none for a region).
pub fn regions_of(place: &Place) -> (Option<&'static str>, Option<&'static str>) {
    let start = match place {
        Place::Country(code) => TABLES.subregion_of_country.get(code.as_str()).copied(),
        Place::Area(code) => Some(*code),
    };
    let Some(mut current) = start.and_then(area) else {
        return (None, None);
    };
    // walk up to the region, remembering the level just below it; an
    // intermediate region (Eastern Africa) reports its subregion
    // (Sub-Saharan Africa)
    let mut below = None;
    while let Some(parent) = current.parent.and_then(area) {
        below = Some(current.code);
        current = parent;
    }
    (Some(current.code), below)
}

/// The English name of an M49 area or a country code, for reports.
pub fn name_of(code: &str) -> Option<&'static str> {
    area(code)
        .map(|a| a.name)
        .or_else(|| TABLES.country_names.get(code).copied())
}

/// The M49 regions (top level), in code order.
pub fn regions() -> impl Iterator<Item = &'static Area> {
    let mut top: Vec<&Area> = TABLES.areas.iter().filter(|a| a.parent.is_none()).collect();
    top.sort_by_key(|a| a.code);
    top.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_read_by_code_and_by_name_in_three_languages() {
        for raw in ["MX", "mex", "Mexico", "México", "Mexique", " MEXICO "] {
            assert_eq!(parse(raw), Some(Place::Country("MX".into())), "{raw}");
        }
        for raw in ["United States", "Estados Unidos", "États-Unis", "USA"] {
            assert_eq!(parse(raw), Some(Place::Country("US".into())), "{raw}");
        }
        assert_eq!(parse("Côte d'Ivoire"), Some(Place::Country("CI".into())));
        assert_eq!(parse("Atlantis"), None);
    }

    #[test]
    fn regions_are_read_by_name_and_code_and_roll_up() {
        assert_eq!(parse("Europe"), Some(Place::Area("150")));
        assert_eq!(parse("Europa"), Some(Place::Area("150")));
        assert_eq!(parse("150"), Some(Place::Area("150")));
        assert_eq!(parse("Americas"), Some(Place::Area("019")));
        assert_eq!(parse("19"), Some(Place::Area("019")));
        assert_eq!(regions_of(&Place::Area("150")), (Some("150"), None));
        assert_eq!(
            regions_of(&Place::Country("MX".into())),
            (Some("019"), Some("013"))
        );
        assert_eq!(
            regions_of(&Place::Country("NG".into())),
            (Some("002"), Some("202"))
        );
        // an intermediate region reports the subregion it lies in
        assert_eq!(
            regions_of(&parse("Western Africa").unwrap()),
            (Some("002"), Some("202"))
        );
        assert_eq!(name_of("019"), Some("Americas"));
        assert_eq!(name_of("MX"), Some("Mexico"));
        assert_eq!(regions().count(), 5);
    }

    #[test]
    fn no_name_points_to_two_places() {
        assert!(TABLES.collisions.is_empty(), "{:?}", TABLES.collisions);
    }

    #[test]
    fn every_country_code_has_a_row_and_a_region() {
        for code in countries::all_alpha2() {
            assert!(
                TABLES.country_names.contains_key(code),
                "{code} has no row in rules/countries.csv"
            );
            if code != "AQ" {
                let (region, _) = regions_of(&Place::Country(code.to_string()));
                assert!(region.is_some(), "{code} rolls up to no region");
            }
        }
    }
}
