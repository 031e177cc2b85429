//! A room or piece of equipment (`rooms/<key>.toml`) that appointments may need.
//!
//! ```toml
//! schema = 1
//! key = "procedure-1"
//! name = "Procedure room"
//! kind = "procedure"         # what appointment types ask for: exam, procedure, ultrasound, …
//! location = "main"
//! hours = ["Mon-Fri 08:00-17:00"]   # optional: absent means whenever the office is open
//! [[time_off]]               # maintenance, repairs
//! from = "2026-12-02T08:00:00"
//! to = "2026-12-02T12:00:00"
//! ```

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::domain::schedule::check_key;
use crate::domain::schedule::clock::Span;
use crate::domain::schedule::provider::{TimeOff, parse_weekdays};
use crate::error::{Error, Result};

pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Room {
    pub schema: u32,
    pub key: String,
    pub name: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `"Mon-Fri 08:00-17:00"` lines; empty means always available.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hours: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_off: Vec<TimeOff>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

impl Room {
    /// Whether the room can be used for the whole span on `date`.
    pub fn available(&self, date: NaiveDate, span: Span) -> Result<bool> {
        if self.time_off.iter().any(|t| {
            t.on(date)
                .is_some_and(|off| off.overlaps(span.start, span.end))
        }) {
            return Ok(false);
        }
        if self.hours.is_empty() {
            return Ok(true);
        }
        for line in &self.hours {
            let (days, s) = parse_room_hours(line)?;
            if days.contains(&date.weekday()) && s.contains(span.start, span.end) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub fn validate(&self) -> Result<()> {
        check_key("room", &self.key)?;
        check_key("room kind", &self.kind)?;
        crate::domain::validate::required("room name", &self.name)?;
        for line in &self.hours {
            parse_room_hours(line)?;
        }
        Ok(())
    }
}

/// `"Mon-Fri 08:00-17:00"` → weekdays and span.
pub fn parse_room_hours(line: &str) -> Result<(Vec<Weekday>, Span)> {
    let (days, span) = line.trim().split_once(' ').ok_or_else(|| {
        Error::user("room hours are written DAYS START-END").hint("e.g. Mon-Fri 08:00-17:00")
    })?;
    Ok((parse_weekdays(days)?, Span::parse(span.trim())?))
}
