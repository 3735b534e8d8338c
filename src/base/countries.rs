//! ISO 3166-1 alpha-2 country codes (officially assigned, plus XK for Kosovo,
//! which CTDC and IOM data use). Codes are validated, never guessed.

const ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL \
BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK \
DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU \
GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY \
MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU \
RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO \
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK";

/// The alpha-3 code of each code of [`ALPHA2`], in the same order (XKX for
/// Kosovo, the user-assigned code the EU, IOM and UNODC data use).
const ALPHA3: &str = "AND ARE AFG ATG AIA ALB ARM AGO ATA ARG ASM AUT AUS ABW ALA AZE BIH BRB BGD BEL \
BFA BGR BHR BDI BEN BLM BMU BRN BOL BES BRA BHS BTN BVT BWA BLR BLZ CAN CCK COD CAF COG CHE CIV COK \
CHL CMR CHN COL CRI CUB CPV CUW CXR CYP CZE DEU DJI DNK DMA DOM DZA ECU EST EGY ESH ERI ESP ETH FIN \
FJI FLK FSM FRO FRA GAB GBR GRD GEO GUF GGY GHA GIB GRL GMB GIN GLP GNQ GRC SGS GTM GUM GNB GUY HKG \
HMD HND HRV HTI HUN IDN IRL ISR IMN IND IOT IRQ IRN ISL ITA JEY JAM JOR JPN KEN KGZ KHM KIR COM KNA \
PRK KOR KWT CYM KAZ LAO LBN LCA LIE LKA LBR LSO LTU LUX LVA LBY MAR MCO MDA MNE MAF MDG MHL MKD MLI \
MMR MNG MAC MNP MTQ MRT MSR MLT MUS MDV MWI MEX MYS MOZ NAM NCL NER NFK NGA NIC NLD NOR NPL NRU NIU \
NZL OMN PAN PER PYF PNG PHL PAK POL SPM PCN PRI PSE PRT PLW PRY QAT REU ROU SRB RUS RWA SAU SLB SYC \
SDN SWE SGP SHN SVN SJM SVK SLE SMR SEN SOM SUR SSD STP SLV SXM SYR SWZ TCA TCD ATF TGO THA TJK TKL \
TLS TKM TUN TON TUR TTO TUV TWN TZA UKR UGA UMI USA URY UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM \
MYT ZAF ZMB ZWE XKX";

/// The alpha-2 code of an alpha-3 code (`MEX` → `MX`), as exports that use
/// alpha-3 (UNODC, Eurostat) write them.
fn alpha2_of_alpha3(code: &str) -> Option<&'static str> {
    static CODES: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static str>> =
        std::sync::OnceLock::new();
    CODES
        .get_or_init(|| {
            ALPHA3
                .split_ascii_whitespace()
                .zip(ALPHA2.split_ascii_whitespace())
                .collect()
        })
        .get(code)
        .copied()
}

/// Every alpha-2 code the project knows, in table order.
pub fn all_alpha2() -> impl Iterator<Item = &'static str> {
    ALPHA2.split_ascii_whitespace()
}

/// True when `code` is an uppercase ISO 3166-1 alpha-2 code.
pub fn is_alpha2(code: &str) -> bool {
    static CODES: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    code.len() == 2
        && CODES
            .get_or_init(|| ALPHA2.split_ascii_whitespace().collect())
            .contains(code)
}

/// The alpha-2 code of a country cell written as an alpha-2 or alpha-3
/// code, in any case, as [`normalise_country`] reads it, but borrowed from
/// the code table rather than allocated: ingest reads three such cells in
/// every record.
pub fn country_code(raw: &str) -> Option<&'static str> {
    static CODES: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static str>> =
        std::sync::OnceLock::new();
    let t = raw.trim().as_bytes();
    if !(2..=3).contains(&t.len()) {
        return None;
    }
    let mut upper = [0u8; 3];
    upper[..t.len()].copy_from_slice(t);
    upper.make_ascii_uppercase();
    let code = std::str::from_utf8(&upper[..t.len()]).ok()?;
    CODES
        .get_or_init(|| {
            let alpha2 = ALPHA2.split_ascii_whitespace();
            (alpha2.clone().zip(alpha2.clone()))
                .chain(ALPHA3.split_ascii_whitespace().zip(alpha2))
                .collect()
        })
        .get(code)
        .copied()
}

/// Normalises a country cell: trims and uppercases. Returns `None` for text
/// that is not a valid code, so the caller can quarantine it with the value.
pub fn normalise_alpha2(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    is_alpha2(&code).then_some(code)
}

/// A country cell as exports write it: an ISO 3166-1 alpha-2 code, or an
/// alpha-3 one, in any case; the alpha-2 code, or `None` for anything
/// else (quarantined with the value by the caller).
pub fn normalise_country(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    match code.len() {
        2 => is_alpha2(&code).then_some(code),
        3 => alpha2_of_alpha3(&code).map(str::to_string),
        _ => None,
    }
}

/// A list of country codes as a user gives it (a flag or a config key named
/// by `origin`), normalised; the first code that is not ISO 3166-1 alpha-2
/// is an error naming it. Every list of countries a command takes passes
/// through here, whether it comes from a flag or from the config file.
pub fn checked_codes(codes: &[String], origin: &str) -> crate::Result<Vec<String>> {
    codes
        .iter()
        .map(|c| {
            normalise_alpha2(c).ok_or_else(|| {
                crate::Error::Usage(format!("{origin}: '{c}' is not an ISO 3166-1 alpha-2 code"))
            })
        })
        .collect()
}

/// An ISO 3166-2 subdivision code must name its country: `US-TX` belongs to
/// `US`. The part after the dash is 1 to 3 letters or digits.
pub fn normalise_subdivision(raw: &str, country: Option<&str>) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    let Some((cc, sub)) = code.split_once('-') else {
        return Err("subdivision is not an ISO 3166-2 code (CC-XXX)".into());
    };
    if !is_alpha2(cc)
        || sub.is_empty()
        || sub.len() > 3
        || !sub.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err("subdivision is not an ISO 3166-2 code (CC-XXX)".into());
    }
    match country {
        Some(c) if c != cc => Err(format!(
            "subdivision {code} is not in exploitation country {c}"
        )),
        None => Err("subdivision given without an exploitation country".into()),
        _ => Ok(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_country_code_is_the_normalised_one() {
        let mut cells: Vec<String> = Vec::new();
        for (a2, a3) in ALPHA2
            .split_ascii_whitespace()
            .zip(ALPHA3.split_ascii_whitespace())
        {
            cells.extend([
                a2.into(),
                a2.to_lowercase(),
                format!(" {a3} "),
                a3.to_lowercase(),
            ]);
        }
        cells.extend(
            [
                "", " ", "U", "UK", "USAA", "é", "éU", "ÉÉ", "U S", "XX", "XKX", "12", "usa\t",
            ]
            .map(String::from),
        );
        for cell in &cells {
            assert_eq!(
                country_code(cell).map(str::to_string),
                normalise_country(cell),
                "{cell:?}"
            );
        }
    }

    #[test]
    fn validates_alpha2() {
        assert!(is_alpha2("US"));
        assert!(is_alpha2("XK"));
        assert!(!is_alpha2("us"));
        assert!(!is_alpha2("USA"));
        assert!(!is_alpha2("ZZ"));
        assert_eq!(normalise_alpha2(" mx "), Some("MX".into()));
        assert_eq!(normalise_alpha2("Mexico"), None);
    }

    #[test]
    fn subdivision_must_match_country() {
        assert_eq!(normalise_subdivision("us-tx", Some("US")).unwrap(), "US-TX");
        assert!(normalise_subdivision("MX-JAL", Some("US")).is_err());
        assert!(normalise_subdivision("Texas", Some("US")).is_err());
        assert!(normalise_subdivision("US-TX", None).is_err());
    }

    #[test]
    fn every_alpha2_code_has_one_alpha3_code() {
        let two: Vec<&str> = ALPHA2.split_ascii_whitespace().collect();
        let three: Vec<&str> = ALPHA3.split_ascii_whitespace().collect();
        assert_eq!(two.len(), three.len());
        let unique: std::collections::HashSet<&&str> = three.iter().collect();
        assert_eq!(unique.len(), three.len());
        for (a2, a3) in [
            ("MX", "MEX"),
            ("US", "USA"),
            ("GB", "GBR"),
            ("CD", "COD"),
            ("XK", "XKX"),
        ] {
            assert_eq!(normalise_country(a3).as_deref(), Some(a2));
            assert_eq!(normalise_country(&a3.to_lowercase()).as_deref(), Some(a2));
            assert_eq!(normalise_country(a2).as_deref(), Some(a2));
        }
        assert_eq!(normalise_country("MEXICO"), None);
        assert_eq!(normalise_country("XYZ"), None);
    }
}
