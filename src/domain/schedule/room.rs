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
    /// Out of use (`room retire`): kept for the visits that used it, never offered again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::Clock;

    #[test]
    fn hours_and_time_off_limit_a_room() {
        let mut r = Room {
            schema: 1,
            key: "ultrasound".into(),
            name: "Ultrasound".into(),
            kind: "ultrasound".into(),
            location: None,
            hours: vec!["Tue,Thu 08:00-12:00".into()],
            time_off: vec![],
            retired: false,
            extra: Default::default(),
        };
        let tue = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let span = |a, b| Span {
            start: Clock(a),
            end: Clock(b),
        };
        assert!(r.available(tue, span(540, 600)).unwrap());
        assert!(
            !r.available(tue, span(690, 750)).unwrap(),
            "runs past its hours"
        );
        assert!(
            !r.available(tue.succ_opt().unwrap(), span(540, 600))
                .unwrap(),
            "Wednesday"
        );
        r.time_off.push(crate::domain::schedule::provider::TimeOff {
            from: tue.and_hms_opt(9, 30, 0).unwrap(),
            to: tue.and_hms_opt(10, 0, 0).unwrap(),
            reason: Some("repair".into()),
        });
        assert!(!r.available(tue, span(540, 600)).unwrap());
        assert!(r.available(tue, span(600, 630)).unwrap());
        r.hours = vec!["someday 08:00-12:00".into()];
        assert!(r.validate().is_err());
    }
}
