//! A synthetic directory for the sample data and the tests: fictional
//! organisations in the subdivisions the case generator uses, with some
//! places left without any entry and some services offered nowhere, so that
//! the gap analysis has something to find. No real organisation is named.
//! A country whose places the generator does not know gets its nationwide
//! helpline only.

use std::fmt::Write as _;

use super::vocab::{POPULATIONS, SERVICES};
use crate::base::rng::Rng;
use crate::generate::scenarios::subdivisions;

/// The directory as CSV text, deterministic for a seed.
pub fn directory_csv(countries: &[String], seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::from("org_id,name,country,subdivision,services,populations,forms\n");
    let mut id = 0;
    for (c, country) in countries.iter().enumerate() {
        // one nationwide organisation, a hotline with case management, in
        // every country but the last, whose last place is then not covered
        // by the directory at all
        if c + 1 < countries.len() {
            id += 1;
            let _ = writeln!(
                out,
                "ORG-{id:04},National Helpline {country},{country},,hotline;case_management,all,all"
            );
        }
        let places = subdivisions(country);
        if places.is_empty() {
            // the generator knows no places of this country (its cases
            // carry none either): its nationwide helpline only. Every
            // country but the last got one above; the last gets it here,
            // so that the directory is never empty (it was, with exit 0,
            // for `--countries FR`)
            if c + 1 == countries.len() {
                id += 1;
                let _ = writeln!(
                    out,
                    "ORG-{id:04},National Helpline {country},{country},,hotline;case_management,all,all"
                );
            }
            continue;
        }
        for (i, place) in places.iter().enumerate() {
            // the last place of each country has no entry at all
            if i + 1 == places.len() {
                continue;
            }
            for k in 0..1 + rng.below(3) {
                id += 1;
                // immigration legal aid and repatriation are rare: the
                // samples' foreign nationals should show gaps
                let mut services: Vec<&str> = SERVICES
                    .iter()
                    .copied()
                    .filter(|s| match *s {
                        "immigration_legal_aid" | "repatriation" => rng.chance(0.15),
                        "hotline" => false,
                        _ => rng.chance(0.45),
                    })
                    .collect();
                if services.is_empty() {
                    services.push("case_management");
                }
                let populations = if rng.chance(0.5) {
                    "all".to_string()
                } else {
                    let mut p: Vec<&str> = POPULATIONS
                        .iter()
                        .copied()
                        .filter(|_| rng.chance(0.5))
                        .collect();
                    if p.is_empty() {
                        p.push("women");
                    }
                    p.join(";")
                };
                let forms = *rng.pick(&["all", "all", "sex", "labor"]);
                let _ = writeln!(
                    out,
                    "ORG-{id:04},Fictional Service {place} {},{country},{place},{},{populations},{forms}",
                    k + 1,
                    services.join(";")
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn organisations(countries: &[&str]) -> Vec<String> {
        let countries: Vec<String> = countries.iter().map(|c| c.to_string()).collect();
        directory_csv(&countries, 1)
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn a_country_without_known_places_gets_its_nationwide_helpline() {
        assert_eq!(
            organisations(&["FR"]),
            ["ORG-0001,National Helpline FR,FR,,hotline;case_management,all,all"]
        );
        let both = organisations(&["FR", "US"]);
        assert_eq!(both.iter().filter(|o| o.contains(",FR,")).count(), 1);
        assert!(both.iter().filter(|o| o.contains(",US,US-")).count() > 5);
        // the last country with places keeps its gap: no helpline
        assert!(!both.iter().any(|o| o.contains("National Helpline US")));
    }
}
