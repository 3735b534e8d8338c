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

/// True when `code` is an uppercase ISO 3166-1 alpha-2 code.
pub fn is_alpha2(code: &str) -> bool {
    static CODES: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    code.len() == 2
        && CODES
            .get_or_init(|| ALPHA2.split_ascii_whitespace().collect())
            .contains(code)
}

/// Normalises a country cell: trims and uppercases. Returns `None` for text
/// that is not a valid code, so the caller can quarantine it with the value.
pub fn normalise_alpha2(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    is_alpha2(&code).then_some(code)
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
}
