//! Insurance: payers and each patient's coverages with their eligibility checks.

use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::common::Address;
use crate::error::{Error, Result};

/// An insurance company or plan sponsor (`payers/aetna-ppo.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payer {
    pub schema: u32,
    /// Short name used on the command line and in patient records, e.g. `aetna-ppo`.
    pub key: String,
    pub name: String,
    /// The electronic payer ID used on claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_address: Option<Address>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// A payer key is also its file name, so it is held to a strict alphabet.
pub fn check_payer_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 40
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !key.starts_with('-');
    if !ok {
        return Err(Error::user(
            "payer key must be lowercase letters, digits and hyphens (at most 40)",
        )
        .hint("e.g. aetna-ppo"));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// 1 = primary, 2 = secondary, 3 = tertiary.
    pub rank: u8,
    /// The payer's key (`payers/<key>.toml`).
    pub payer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    pub member_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub effective: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copay_office: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copay_specialist: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copay_urgent: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deductible: Option<Decimal>,
    pub subscriber: Subscriber,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verifications: Vec<Verification>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscriber {
    pub relationship: Relationship,
    /// Absent when the patient is the subscriber.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Relationship {
    #[serde(rename = "self")]
    #[value(name = "self")]
    Own,
    Spouse,
    Child,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum VerifyMethod {
    Phone,
    Portal,
    Electronic,
    Card,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum VerifyResult {
    Active,
    Inactive,
    Pending,
    NotFound,
}

/// One eligibility check: when, by whom, how and what the payer said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub at: DateTime<FixedOffset>,
    pub by: String,
    pub via: VerifyMethod,
    pub result: VerifyResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Coverage {
    pub fn active_on(&self, on: NaiveDate) -> bool {
        self.effective <= on && self.end.is_none_or(|end| on <= end)
    }

    pub fn rank_name(&self) -> &'static str {
        rank_name(self.rank)
    }

    pub fn last_verified(&self) -> Option<&Verification> {
        self.verifications.iter().max_by_key(|v| v.at)
    }

    pub fn validate(&self) -> Result<()> {
        if !(1..=3).contains(&self.rank) {
            return Err(Error::user(
                "coverage rank must be 1 (primary), 2 (secondary) or 3 (tertiary)",
            ));
        }
        check_payer_key(&self.payer)?;
        if self.member_id.trim().is_empty() || self.member_id.len() > 40 {
            return Err(Error::user(
                "member ID is required and at most 40 characters",
            ));
        }
        if let Some(end) = self.end
            && end < self.effective
        {
            return Err(Error::user(format!(
                "coverage ends ({end}) before it starts ({})",
                self.effective
            )));
        }
        for (field, amount) in [
            ("office co-pay", self.copay_office),
            ("specialist co-pay", self.copay_specialist),
            ("urgent care co-pay", self.copay_urgent),
            ("deductible", self.deductible),
        ] {
            if let Some(a) = amount
                && (a.is_sign_negative() || a.scale() > 2)
            {
                return Err(Error::user(format!(
                    "{field} must be a non-negative amount with at most 2 decimals"
                )));
            }
        }
        if self.subscriber.relationship != Relationship::Own && self.subscriber.name.is_none() {
            return Err(
                Error::user("a subscriber other than the patient needs a name")
                    .hint("add --subscriber-name and --subscriber-dob"),
            );
        }
        Ok(())
    }
}

pub fn rank_name(rank: u8) -> &'static str {
    match rank {
        1 => "primary",
        2 => "secondary",
        3 => "tertiary",
        _ => "other",
    }
}

pub fn parse_rank(s: &str) -> Result<u8> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "primary" => Ok(1),
        "2" | "secondary" => Ok(2),
        "3" | "tertiary" => Ok(3),
        _ => Err(Error::user(
            "coverage rank is primary, secondary or tertiary",
        )),
    }
}

/// Reads a money amount as typed: `25`, `25.00`, `$25.00`. Exact, never a float.
pub fn parse_amount(field: &str, s: &str) -> Result<Decimal> {
    let cleaned = s.trim().trim_start_matches('$').replace(',', "");
    // Digits and one point only: the decimal parser would also take `1e3` as 1000.00.
    let plain = cleaned
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
    let d: Decimal = plain
        .then(|| cleaned.parse().ok())
        .flatten()
        .ok_or(())
        .map_err(|_| {
            Error::user(format!("{field} is not an amount")).hint("amounts look like 25 or 25.00")
        })?;
    if d.scale() > 2 && d.normalize().scale() > 2 {
        return Err(Error::user(format!("{field} has more than two decimals")));
    }
    if d.is_sign_negative() {
        return Err(Error::user(format!("{field} is negative")));
    }
    Ok(d.round_dp(2).max(Decimal::ZERO).normalize_to_cents())
}

trait Cents {
    fn normalize_to_cents(self) -> Decimal;
}

impl Cents for Decimal {
    fn normalize_to_cents(mut self) -> Decimal {
        self.rescale(2);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact() {
        assert_eq!(parse_amount("co-pay", "25").unwrap().to_string(), "25.00");
        assert_eq!(
            parse_amount("co-pay", "$1,025.5").unwrap().to_string(),
            "1025.50"
        );
        assert!(parse_amount("co-pay", "25.005").is_err());
        assert!(parse_amount("co-pay", "-5").is_err());
        assert!(parse_amount("co-pay", "abc").is_err());
        assert!(parse_amount("co-pay", "1e3").is_err());
        assert!(parse_amount("co-pay", "0x10").is_err());
        assert_eq!(
            parse_amount("co-pay", "0.10").unwrap() + parse_amount("co-pay", "0.20").unwrap(),
            parse_amount("x", "0.30").unwrap()
        );
    }

    #[test]
    fn payer_keys_are_path_safe() {
        assert!(check_payer_key("aetna-ppo").is_ok());
        for bad in ["../x", "Aetna", "a/b", "", "-x", "a b"] {
            assert!(check_payer_key(bad).is_err(), "{bad}");
        }
    }
}
