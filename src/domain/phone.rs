//! Phone numbers, stored in E.164 (`+16175550101`) and shown in the local style.
//!
//! We only need the shape rules (country code, trunk prefix, length), not libphonenumber's
//! carrier metadata, so this is a few lines instead of a large dependency.

use crate::error::{Error, Result};

/// Calling codes of the countries an office is likely to be in; others type `+CC…`.
pub fn calling_code(country: &str) -> Option<&'static str> {
    Some(match country.to_ascii_uppercase().as_str() {
        "US" | "CA" | "PR" | "GU" | "VI" | "AS" | "MP" => "1",
        "GB" | "UK" => "44",
        "IE" => "353",
        "AU" => "61",
        "NZ" => "64",
        "DE" => "49",
        "FR" => "33",
        "ES" => "34",
        "IT" => "39",
        "NL" => "31",
        "MX" => "52",
        "IN" => "91",
        "ZA" => "27",
        _ => return None,
    })
}

/// Normalises a typed phone number to E.164. `default_cc` is the office's calling code, used
/// when the number does not start with `+` (or `00`).
pub fn normalize(input: &str, default_cc: &str) -> Result<String> {
    let trimmed = input.trim();
    let bad = |why: &str| {
        Error::user(format!("phone number {why}"))
            .hint("type a phone like 617-555-0101, or +44 20 7946 0958 with a country code")
    };
    // Extensions are kept out of the number; a front desk notes them separately.
    let main = trimmed.split(['x', 'X', '#']).next().unwrap_or("");
    if main
        .chars()
        .any(|c| !(c.is_ascii_digit() || " ()-.+/".contains(c)))
    {
        return Err(bad(
            "has characters other than digits, spaces and ( ) - . + /",
        ));
    }
    let digits: String = main.chars().filter(|c| c.is_ascii_digit()).collect();
    let international = main.trim_start().starts_with('+')
        || digits.starts_with("00") && main.trim_start().starts_with("00");
    let e164 = if international {
        let d = digits
            .strip_prefix("00")
            .filter(|_| !main.trim_start().starts_with('+'))
            .unwrap_or(&digits);
        format!("+{d}")
    } else if default_cc == "1" {
        match digits.len() {
            10 => format!("+1{digits}"),
            11 if digits.starts_with('1') => format!("+{digits}"),
            n if n < 10 => {
                return Err(bad(&format!(
                    "has {n} digits; a North American number has 10"
                )));
            }
            n => {
                return Err(bad(&format!(
                    "has {n} digits; a North American number has 10"
                )));
            }
        }
    } else {
        // National format: drop the trunk prefix 0 (UK 020 …, AU 04 …).
        let national = digits.strip_prefix('0').unwrap_or(&digits);
        format!("+{default_cc}{national}")
    };
    let n = e164.len() - 1;
    if !(8..=15).contains(&n) {
        return Err(bad(&format!(
            "has {n} digits with the country code; a full number has 8 to 15"
        )));
    }
    if let Some(national) = e164.strip_prefix("+1") {
        if national.len() != 10 {
            return Err(bad("does not have 10 digits after +1"));
        }
        // North American area codes and exchanges never start with 0 or 1.
        if national.starts_with(['0', '1']) || national[3..].starts_with(['0', '1']) {
            return Err(bad("has an area code or exchange starting with 0 or 1"));
        }
    }
    Ok(e164)
}

/// Shows an E.164 number the way the office reads it: `(617) 555-0101` at home,
/// `+44 2079460958` abroad.
pub fn display(e164: &str, office_cc: &str) -> String {
    if let Some(national) = e164.strip_prefix("+1")
        && office_cc == "1"
        && national.len() == 10
    {
        return format!(
            "({}) {}-{}",
            &national[..3],
            &national[3..6],
            &national[6..]
        );
    }
    if let Some(rest) = e164
        .strip_prefix('+')
        .and_then(|r| r.strip_prefix(office_cc))
        && office_cc != "1"
    {
        return format!("0{rest}");
    }
    e164.to_string()
}

/// Digits only, for search.
pub fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn us_numbers_in_any_format() {
        for input in [
            "617-555-0101",
            "(617) 555-0101",
            "617.555.0101",
            "6175550101",
            "1 617 555 0101",
            "+1 617-555-0101",
        ] {
            assert_eq!(normalize(input, "1").unwrap(), "+16175550101", "{input}");
        }
        assert_eq!(normalize("617-555-0101 x22", "1").unwrap(), "+16175550101");
    }

    #[test]
    fn international_numbers() {
        assert_eq!(normalize("+44 20 7946 0958", "1").unwrap(), "+442079460958");
        assert_eq!(normalize("020 7946 0958", "44").unwrap(), "+442079460958");
        assert_eq!(
            normalize("0044 20 7946 0958", "1").unwrap(),
            "+442079460958"
        );
    }

    #[test]
    fn bad_numbers_say_why() {
        assert!(
            normalize("555-0101", "1")
                .unwrap_err()
                .message
                .contains("7 digits")
        );
        assert!(normalize("call me", "1").is_err());
        assert!(normalize("011-555-0101", "1").is_err());
        assert!(normalize("", "1").is_err());
    }

    #[test]
    fn display_local_style() {
        assert_eq!(display("+16175550101", "1"), "(617) 555-0101");
        assert_eq!(display("+442079460958", "44"), "02079460958");
        assert_eq!(display("+442079460958", "1"), "+442079460958");
    }

    proptest! {
        #[test]
        fn normalize_is_idempotent(area in 200u32..999, ex in 200u32..999, line in 0u32..9999) {
            let typed = format!("{area}-{ex}-{line:04}");
            let once = normalize(&typed, "1").unwrap();
            prop_assert_eq!(normalize(&once, "1").unwrap(), once.clone());
            prop_assert!(digits(&once).ends_with(&digits(&typed)));
        }

        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = normalize(&s, "1");
            let _ = normalize(&s, "44");
        }
    }
}
