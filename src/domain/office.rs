//! The office: `frontdesk.toml` at the top of the records tree.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::domain::common::Address;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Office {
    pub schema: u32,
    pub name: String,
    /// IANA time zone name; every date and time in the records is local to it.
    pub timezone: String,
    /// ISO 4217 code, e.g. USD.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// ISO 3166 country code; decides phone and postal code rules.
    #[serde(default = "default_country")]
    pub country: String,
    /// Names this site when several sites share one records history.
    #[serde(default = "default_site")]
    pub site: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The largest payment the desk may record without `--force` (default 10,000): a slip of
    /// the keyboard (`200000` for `200.00`) is caught at the counter, not at the bank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payment: Option<rust_decimal::Decimal>,
    /// Days the office is closed (`2026-12-25 = "Christmas Day"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub holidays: BTreeMap<NaiveDate, String>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

fn default_currency() -> String {
    "USD".into()
}
fn default_country() -> String {
    "US".into()
}
fn default_site() -> String {
    "main".into()
}

/// `max_payment` when the office sets none.
pub const DEFAULT_MAX_PAYMENT: rust_decimal::Decimal =
    rust_decimal::Decimal::from_parts(10_000, 0, 0, false, 0);

impl Office {
    /// The largest payment recorded without `--force`.
    pub fn max_payment(&self) -> rust_decimal::Decimal {
        self.max_payment.unwrap_or(DEFAULT_MAX_PAYMENT)
    }

    pub fn new(name: &str, timezone: &str) -> Result<Office> {
        let office = Office {
            schema: 1,
            name: name.to_string(),
            timezone: timezone.to_string(),
            currency: default_currency(),
            country: default_country(),
            site: default_site(),
            phone: None,
            fax: None,
            email: None,
            address: None,
            max_payment: None,
            holidays: BTreeMap::new(),
            extra: toml::Table::new(),
        };
        office.tz()?;
        Ok(office)
    }

    pub fn tz(&self) -> Result<Tz> {
        self.timezone.parse::<Tz>().map_err(|_| {
            Error::user(format!("{:?} is not an IANA time zone", self.timezone))
                .hint("use a name such as America/New_York or Europe/London")
        })
    }

    /// Now, in the office's time zone.
    ///
    /// `FRONTDESK_NOW` fixes the clock (for tests, snapshots and reprocessing a past day):
    /// an RFC 3339 instant (`2026-12-01T09:30:00-05:00`), or an office-local
    /// `2026-12-01 09:30[:00]`, or a date alone (noon that day). A value it cannot read is
    /// ignored with a warning.
    pub fn now(&self) -> DateTime<Tz> {
        let tz = self.tz().unwrap_or(chrono_tz::UTC);
        if let Ok(fixed) = std::env::var("FRONTDESK_NOW") {
            match fixed_now(&fixed, tz) {
                Some(t) => return t,
                None => eprintln!(
                    "frontdesk: warning: FRONTDESK_NOW is not a date and time; using the clock"
                ),
            }
        }
        // Whole seconds: sub-second digits in records are noise in every diff.
        let now = Utc::now();
        now.with_nanosecond(0).unwrap_or(now).with_timezone(&tz)
    }

    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    /// The telephone country calling code used when a phone number is typed without one.
    pub fn calling_code(&self) -> &'static str {
        crate::domain::phone::calling_code(&self.country).unwrap_or("1")
    }
}

/// Reads a `FRONTDESK_NOW` value in the office's zone (see [`Office::now`]).
fn fixed_now(s: &str, tz: Tz) -> Option<DateTime<Tz>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&tz));
    }
    let local = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(12, 0, 0)
    })?;
    local.and_local_timezone(tz).earliest()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_reads_instants_local_times_and_dates() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let t = fixed_now("2026-12-01T14:30:00Z", tz).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T09:30:00-05:00");
        let t = fixed_now("2026-07-01 09:30", tz).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-07-01T09:30:00-04:00");
        assert_eq!(
            fixed_now("2026-03-08", tz).unwrap().to_rfc3339(),
            "2026-03-08T12:00:00-04:00"
        );
        // 02:30 on the spring-forward day does not exist in New York.
        assert!(fixed_now("2026-03-08 02:30", tz).is_none());
        assert!(fixed_now("soon", tz).is_none());
    }
}
