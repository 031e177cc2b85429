//! Field rules shared by the patient record, the command line and the importer.
//! Messages name the field and the rule, never the value (it may be PHI).

use crate::domain::common::Address;
use crate::error::{Error, Result};

pub fn required(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::user(format!("{field} is required")));
    }
    Ok(())
}

/// Names: letters (any script), spaces, apostrophes, hyphens and periods; at most 100 characters.
pub fn name_chars(field: &str, value: &str) -> Result<()> {
    if value.chars().count() > 100 {
        return Err(Error::user(format!(
            "{field} is longer than 100 characters"
        )));
    }
    if !value
        .chars()
        .all(|c| c.is_alphabetic() || " '’-.,".contains(c))
    {
        return Err(Error::user(format!(
            "{field} has characters other than letters, spaces, ' - . ,"
        ))
        .hint("digits and symbols are not allowed in names"));
    }
    Ok(())
}

/// At most `max` characters (the value itself is never quoted back: it may be PHI).
pub fn max_chars(field: &str, value: Option<&str>, max: usize) -> Result<()> {
    if value.is_some_and(|v| v.chars().count() > max) {
        return Err(
            Error::user(format!("{field} is longer than {max} characters"))
                .hint("shorten it; long documents belong in a letter or a scanned file"),
        );
    }
    Ok(())
}

pub fn ssn_last4(value: &str) -> Result<()> {
    if value.len() != 4 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::user("SSN must be the last four digits only")
            .hint("a full SSN is never stored: give the last 4 digits"));
    }
    Ok(())
}

/// Reduces an SSN as typed or imported to its last four digits, refusing what is not an SSN.
pub fn ssn_to_last4(value: &str) -> Result<String> {
    let digits: String = value.chars().filter(|c| c.is_ascii_digit()).collect();
    if (digits.len() == 9 || digits.len() == 4)
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
    {
        Ok(digits[digits.len() - 4..].to_string())
    } else {
        Err(Error::user("SSN is not 9 digits (or the last 4)")
            .hint("type it as 123-45-6789 or just the last 4 digits; only the last 4 are kept"))
    }
}

pub fn email_shape(value: &str) -> Result<()> {
    let bad = || Error::user("email is not an address like name@example.org");
    let (local, domain) = value.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
        || domain.contains('@')
        || value.len() > 254
    {
        return Err(bad());
    }
    Ok(())
}

const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP", "AA", "AE", "AP",
];

pub fn address(addr: &Address, office_country: &str) -> Result<()> {
    let country = addr
        .country
        .as_deref()
        .unwrap_or(office_country)
        .to_ascii_uppercase();
    if country == "US" {
        if let Some(st) = &addr.state
            && !US_STATES.contains(&st.to_ascii_uppercase().as_str())
        {
            return Err(Error::user("state is not a two-letter US state code")
                .hint("use a code such as MA, NY or CA"));
        }
        if let Some(zip) = &addr.postal_code {
            let ok = match zip.len() {
                5 => zip.bytes().all(|b| b.is_ascii_digit()),
                10 => {
                    zip.as_bytes()[5] == b'-'
                        && zip
                            .bytes()
                            .enumerate()
                            .all(|(i, b)| i == 5 || b.is_ascii_digit())
                }
                _ => false,
            };
            if !ok {
                return Err(Error::user("ZIP code is not 12345 or 12345-6789"));
            }
        }
    }
    for (field, v) in [("address line", &addr.line1), ("city", &addr.city)] {
        if v.chars().count() > 200 || v.chars().any(|c| c.is_control()) {
            return Err(Error::user(format!(
                "{field} is too long or has control characters"
            )));
        }
    }
    Ok(())
}

/// The 249 officially assigned ISO 3166-1 alpha-2 country codes, sorted.
const ISO_COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// A country as an ISO 3166-1 alpha-2 code (`us` → `US`). Anything else (a name, `UK`, a
/// three-letter code) is refused, without the value.
pub fn country_code(value: &str) -> Result<String> {
    let c = value.trim().to_ascii_uppercase();
    if ISO_COUNTRIES.binary_search(&c.as_str()).is_err() {
        return Err(
            Error::user("country is not an ISO 3166-1 alpha-2 code such as US, GB or CA").hint(
                "the United Kingdom is GB; see https://www.iso.org/obp/ui/#search for the others",
            ),
        );
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(name_chars("given name", "Zoë").is_ok());
        assert!(name_chars("family name", "O'Brien-Smith").is_ok());
        assert!(name_chars("family name", "D0e").is_err());
        assert!(name_chars("family name", "=cmd()").is_err());
    }

    #[test]
    fn countries_are_iso_alpha_2() {
        assert!(ISO_COUNTRIES.windows(2).all(|w| w[0] < w[1]), "sorted");
        assert_eq!(country_code(" gb ").unwrap(), "GB");
        assert_eq!(country_code("us").unwrap(), "US");
        for bad in ["UK", "USA", "Germany", "", "U1", "XX"] {
            let e = country_code(bad).unwrap_err().message;
            assert!(e.contains("ISO 3166-1 alpha-2"), "{e}");
        }
    }

    #[test]
    fn ssn_reduced_to_last_four() {
        assert_eq!(ssn_to_last4("999-14-4831").unwrap(), "4831");
        assert_eq!(ssn_to_last4("4831").unwrap(), "4831");
        assert!(ssn_to_last4("99914483").is_err());
        assert!(ssn_last4("999144831").is_err());
    }

    #[test]
    fn emails() {
        assert!(email_shape("jane@example.org").is_ok());
        for bad in [
            "jane",
            "jane@",
            "@x.org",
            "jane@x",
            "ja ne@x.org",
            "a@b@c.org",
        ] {
            assert!(email_shape(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn us_addresses() {
        let mut a = Address {
            line1: "1 Main St".into(),
            city: "Boston".into(),
            state: Some("MA".into()),
            postal_code: Some("02110".into()),
            ..Default::default()
        };
        assert!(address(&a, "US").is_ok());
        a.postal_code = Some("0211".into());
        assert!(address(&a, "US").is_err());
        a.postal_code = Some("EX4".into());
        a.state = Some("Devon".into());
        assert!(address(&a, "GB").is_ok());
        a.country = Some("US".into());
        assert!(address(&a, "GB").is_err());
    }
}
