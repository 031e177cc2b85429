//! The fee schedule (`services.toml`): what the office bills, by CPT or HCPCS code.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::money::check_positive;
use crate::error::{Error, Result};

pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeeSchedule {
    pub schema: u32,
    #[serde(default, rename = "service")]
    pub services: Vec<Service>,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        FeeSchedule {
            schema: SCHEMA,
            services: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// CPT (`99213`, `0001F`) or HCPCS level II (`J1100`) code.
    pub code: String,
    pub description: String,
    pub fee: Decimal,
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// Reads a code as typed (`99213`, `j1100`) and checks its shape: five characters, either
/// five digits, four digits and a letter (CPT category II/III), or a letter and four digits
/// (HCPCS level II).
pub fn parse_code(input: &str) -> Result<String> {
    let code = input.trim().to_ascii_uppercase();
    let b = code.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let ok = b.len() == 5
        && (digits(b)
            || (digits(&b[..4]) && b[4].is_ascii_uppercase())
            || (b[0].is_ascii_uppercase() && digits(&b[1..])));
    if !ok {
        return Err(Error::user("service code is not a CPT or HCPCS code")
            .hint("codes are five characters: 99213, 0001F or J1100"));
    }
    Ok(code)
}

impl FeeSchedule {
    pub fn find(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }

    /// Looks a typed code up, saying what to do when it is not on the schedule.
    pub fn lookup(&self, input: &str) -> Result<&Service> {
        let code = parse_code(input)?;
        self.find(&code).ok_or_else(|| {
            Error::user(format!("service {code} is not on the fee schedule"))
                .hint("list services with `frontdesk service list`, or add it with `frontdesk service add`")
        })
    }

    pub fn validate(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for (i, s) in self.services.iter().enumerate() {
            let at = |e: Error| e.at(format!("service {} ({})", i + 1, s.code));
            parse_code(&s.code).map_err(at)?;
            if parse_code(&s.code)? != s.code {
                return Err(at(Error::user("code must be written in capitals")));
            }
            if s.description.trim().is_empty() {
                return Err(at(Error::user("description is empty")));
            }
            check_positive("fee", s.fee).map_err(at)?;
            if !seen.insert(s.code.as_str()) {
                return Err(at(Error::user("code is listed twice")));
            }
        }
        Ok(())
    }

    /// Keeps the file sorted by code so diffs stay small.
    pub fn sort(&mut self) {
        self.services.sort_by(|a, b| a.code.cmp(&b.code));
    }
}

// Amounts in tests are written in cents grouped as dollars_cents (150_00 is $150.00).
#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(parse_code(" 99213 ").unwrap(), "99213");
        assert_eq!(parse_code("j1100").unwrap(), "J1100");
        assert_eq!(parse_code("0001f").unwrap(), "0001F");
        for bad in ["9921", "992133", "AB123", "../x1", "", "9921\u{e9}"] {
            assert!(parse_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn duplicates_and_bad_fees_are_refused() {
        let s = |code: &str, fee: i64| Service {
            code: code.into(),
            description: "x".into(),
            fee: Decimal::new(fee, 2),
            extra: Default::default(),
        };
        let mut f = FeeSchedule {
            services: vec![s("99213", 100_00), s("99213", 100_00)],
            ..Default::default()
        };
        assert!(f.validate().unwrap_err().message.contains("twice"));
        f.services = vec![s("99213", 0)];
        assert!(f.validate().is_err());
        f.services = vec![s("99214", 1), s("99213", 1)];
        f.sort();
        assert_eq!(f.services[0].code, "99213");
    }
}
