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
    Area(String),
}

/// A UN M49 area: a region (no parent), a subregion or an intermediate
/// region.
#[derive(Debug)]
pub struct Area {
    pub code: String,
    pub parent: Option<String>,
    pub name: String,
}

struct Tables {
    areas: Vec<Area>,
    /// alpha-2 → its M49 subregion.
    subregion_of_country: HashMap<String, String>,
    /// folded name or alias → a country or an area.
    names: HashMap<String, Place>,
    country_names: HashMap<String, String>,
    /// Folded names given to two different places (must stay empty; a test
    /// holds the tables to it).
    #[cfg_attr(not(test), allow(dead_code))]
    collisions: Vec<String>,
}

const COUNTRIES_CSV: &str = include_str!("../../rules/countries.csv");
const REGIONS_CSV: &str = include_str!("../../rules/regions.csv");

/// The data rows of a places table, trimmed; the files are compiled in, so
/// a row that does not parse is a bug of the build, not of the input.
fn records(text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| {
            r.expect("rules/*.csv places tables are valid CSV")
                .iter()
                .map(|f| f.trim().to_string())
                .collect()
        })
        .collect()
}

fn nonempty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let mut names: HashMap<String, Place> = HashMap::new();
    let mut collisions = Vec::new();
    let mut add_names = |place: Place, row: &[String]| {
        let aliases = row.get(5).map_or("", String::as_str);
        for name in row[2..5]
            .iter()
            .map(String::as_str)
            .chain(aliases.split(';'))
        {
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
        add_names(Place::Area(row[0].clone()), &row);
        areas.push(Area {
            code: row[0].clone(),
            parent: nonempty(&row[1]),
            name: row[2].clone(),
        });
    }
    let mut subregion_of_country = HashMap::new();
    let mut country_names = HashMap::new();
    for row in records(COUNTRIES_CSV) {
        if let Some(sub) = nonempty(&row[1]) {
            subregion_of_country.insert(row[0].clone(), sub);
        }
        country_names.insert(row[0].clone(), row[2].clone());
        add_names(Place::Country(row[0].clone()), &row);
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
        return area(&padded).map(|a| Place::Area(a.code.clone()));
    }
    TABLES.names.get(&normalise_label(t)).cloned()
}

/// A place's M49 region and the level just below it.
pub type Regions = (Option<&'static str>, Option<&'static str>);

/// The M49 region and subregion of a place: for a country, its subregion
/// and that subregion's region; for an area, the area's region and the
/// subregion it is or lies in (none for a region).
pub fn regions_of(place: &Place) -> Regions {
    match place {
        Place::Country(code) => regions_of_country(code),
        Place::Area(code) => regions_above(Some(code)),
    }
}

/// Every country's [`Regions`], walked up once: ingest asks for them for
/// every record's countries, and walking up each time (a search of the
/// areas per level) was 2.4% of ingest's CPU samples (perf, 1M records).
static REGIONS_OF_COUNTRY: LazyLock<foldhash::HashMap<&'static str, Regions>> =
    LazyLock::new(|| {
        (TABLES.subregion_of_country.iter())
            .map(|(country, sub)| (country.as_str(), regions_above(Some(sub))))
            .collect()
    });

/// [`regions_of`] a country given by its alpha-2 code, without making a
/// [`Place`] of it (ingest asks this of every record's citizenships).
pub fn regions_of_country(code: &str) -> Regions {
    REGIONS_OF_COUNTRY
        .get(code)
        .copied()
        .unwrap_or((None, None))
}

/// The region and the level just below it, walking up from `start`.
fn regions_above(start: Option<&str>) -> Regions {
    let Some(mut current) = start.and_then(area) else {
        return (None, None);
    };
    // walk up to the region, remembering the level just below it; an
    // intermediate region (Eastern Africa) reports its subregion
    // (Sub-Saharan Africa)
    let mut below = None;
    while let Some(parent) = current.parent.as_deref().and_then(area) {
        below = Some(current.code.as_str());
        current = parent;
    }
    (Some(current.code.as_str()), below)
}

/// The English name of an M49 area or a country code, for reports.
pub fn name_of(code: &str) -> Option<&'static str> {
    area(code)
        .map(|a| a.name.as_str())
        .or_else(|| TABLES.country_names.get(code).map(String::as_str))
}

/// The M49 regions (top level), in code order.
pub fn regions() -> impl Iterator<Item = &'static Area> {
    let mut top: Vec<&Area> = TABLES.areas.iter().filter(|a| a.parent.is_none()).collect();
    top.sort_by_key(|a| a.code.as_str());
    top.into_iter()
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_countrys_regions_are_those_of_its_subregion_walked_up() {
        let countries = super::TABLES.subregion_of_country.keys();
        for code in countries.map(String::as_str).chain(["XX", "", "us"]) {
            let walked = super::regions_above(
                (super::TABLES.subregion_of_country.get(code)).map(String::as_str),
            );
            assert_eq!(super::regions_of_country(code), walked, "{code}");
        }
        assert_eq!(super::regions_of_country("NG").0, Some("002"));
    }

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
        assert_eq!(parse("Europe"), Some(Place::Area("150".into())));
        assert_eq!(parse("Europa"), Some(Place::Area("150".into())));
        assert_eq!(parse("150"), Some(Place::Area("150".into())));
        assert_eq!(parse("Americas"), Some(Place::Area("019".into())));
        assert_eq!(parse("19"), Some(Place::Area("019".into())));
        assert_eq!(regions_of(&Place::Area("150".into())), (Some("150"), None));
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
