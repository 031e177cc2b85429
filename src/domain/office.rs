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

impl Office {
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

    /// Now, in the office's time zone. `FRONTDESK_NOW` (RFC 3339, e.g.
    /// `2026-11-27T09:00:00-05:00`) pins the clock, for tests and for replaying a day.
    pub fn now(&self) -> DateTime<Tz> {
        let tz = self.tz().unwrap_or(chrono_tz::UTC);
        // Whole seconds: sub-second digits in records are noise in every diff.
        let now = std::env::var("FRONTDESK_NOW")
            .ok()
            .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(Utc::now);
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
