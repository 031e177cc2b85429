//! A provider (`providers/<key>.toml`): who they are, when they work, and when they are away.
//!
//! ```toml
//! schema = 1
//! key = "okafor"
//! name = "Adaeze Okafor"
//! credentials = "MD"
//! specialty = "family medicine"
//! npi = "1234567893"
//!
//! [[hours]]
//! days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
//! span = "08:00-17:00"
//! breaks = ["12:00-13:00"]
//! location = "main"          # optional: for providers who work at several sites
//!
//! [[time_off]]
//! from = "2026-12-24T00:00:00"   # office-local; a half day is just a shorter span
//! to = "2026-12-28T00:00:00"
//! reason = "vacation"
//! ```

use chrono::{Datelike, NaiveDate, NaiveDateTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::domain::schedule::check_key;
use crate::domain::schedule::clock::{Clock, Span};
use crate::error::{Error, Result};

pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub schema: u32,
    /// Short name used on the command line and in appointments, e.g. `okafor`.
    pub key: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialty: Option<String>,
    /// National Provider Identifier: 10 digits with a Luhn check digit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npi: Option<String>,
    /// False once the provider has left: kept for history, never offered for new bookings.
    #[serde(default = "yes", skip_serializing_if = "Clone::clone")]
    pub active: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hours: Vec<Hours>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_off: Vec<TimeOff>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

fn yes() -> bool {
    true
}

/// One weekly working session: on these weekdays, this span, minus these breaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hours {
    pub days: Vec<Weekday>,
    pub span: Span,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// Away from `from` up to (not including) `to`, office-local: vacations, conferences, half days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeOff {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl TimeOff {
    /// The part of `date` this time off covers, if any.
    pub fn on(&self, date: NaiveDate) -> Option<Span> {
        let day_start = date.and_time(chrono::NaiveTime::MIN);
        let day_end = day_start + chrono::Duration::days(1);
        if self.to <= day_start || self.from >= day_end {
            return None;
        }
        let s = if self.from <= day_start {
            Clock::MIDNIGHT
        } else {
            Clock::of(self.from.time())
        };
        let e = if self.to >= day_end {
            Clock::END_OF_DAY
        } else {
            Clock::of(self.to.time())
        };
        (s < e).then_some(Span { start: s, end: e })
    }
}

/// One working session on a given date.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub span: Span,
    pub breaks: Vec<Span>,
    pub location: Option<String>,
}

impl Provider {
    pub fn display(&self) -> String {
        match &self.credentials {
            Some(c) => format!("{}, {c}", self.name),
            None => self.name.clone(),
        }
    }

    /// The sessions the weekly hours give for `date` (before time off and holidays).
    pub fn sessions(&self, date: NaiveDate) -> Vec<Session> {
        let wd = date.weekday();
        let mut out: Vec<Session> = self
            .hours
            .iter()
            .filter(|h| h.days.contains(&wd))
            .map(|h| Session {
                span: h.span,
                breaks: h.breaks.clone(),
                location: h.location.clone(),
            })
            .collect();
        out.sort_by_key(|s| s.span.start);
        out
    }

    /// Time off that touches `date`, as spans of that day.
    pub fn away(&self, date: NaiveDate) -> Vec<(Span, Option<&str>)> {
        self.time_off
            .iter()
            .filter_map(|t| t.on(date).map(|s| (s, t.reason.as_deref())))
            .collect()
    }

    pub fn validate(&self) -> Result<()> {
        check_key("provider", &self.key)?;
        crate::domain::validate::required("provider name", &self.name)?;
        if let Some(npi) = &self.npi {
            check_npi(npi)?;
        }
        for h in &self.hours {
            if h.days.is_empty() {
                return Err(Error::user("working hours need at least one weekday"));
            }
            for b in &h.breaks {
                if !h.span.contains(b.start, b.end) {
                    return Err(Error::user(format!(
                        "break {b} lies outside working hours {}",
                        h.span
                    )));
                }
            }
        }
        // Two sessions on the same weekday must not overlap, or a slot would be double-counted.
        for (i, a) in self.hours.iter().enumerate() {
            for b in &self.hours[i + 1..] {
                if a.days.iter().any(|d| b.days.contains(d))
                    && a.span.overlaps(b.span.start, b.span.end)
                {
                    return Err(Error::user(format!(
                        "working hours {} and {} overlap on the same weekday",
                        a.span, b.span
                    )));
                }
            }
        }
        for t in &self.time_off {
            if t.to <= t.from {
                return Err(Error::user("time off must end after it starts"));
            }
        }
        Ok(())
    }
}

/// NPI check digit: Luhn over "80840" + the first nine digits.
pub fn check_npi(npi: &str) -> Result<()> {
    let bad = || Error::user("NPI must be 10 digits with a valid check digit");
    if npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let digits: Vec<u32> = format!("80840{npi}")
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    if !sum.is_multiple_of(10) {
        return Err(bad());
    }
    Ok(())
}

/// Reads weekday lists as people type them: `mon-fri`, `tue,thu`, `weekdays`, `sat`.
pub fn parse_weekdays(input: &str) -> Result<Vec<Weekday>> {
    let bad = || {
        // What was typed is not repeated: a misplaced argument can be anything.
        Error::user("a weekday list was expected").hint("e.g. mon-fri, tue,thu, weekdays")
    };
    let mut out = Vec::new();
    for part in input.to_ascii_lowercase().split(',') {
        let part = part.trim();
        match part {
            "weekdays" => out.extend([
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ]),
            "weekends" => out.extend([Weekday::Sat, Weekday::Sun]),
            _ => match part.split_once('-') {
                Some((a, b)) => {
                    let a: Weekday = a.trim().parse().map_err(|_| bad())?;
                    let b: Weekday = b.trim().parse().map_err(|_| bad())?;
                    let mut d = a;
                    loop {
                        out.push(d);
                        if d == b {
                            break;
                        }
                        d = d.succ();
                    }
                }
                None => out.push(part.parse().map_err(|_| bad())?),
            },
        }
    }
    let mut seen = Vec::new();
    out.retain(|d| {
        let new = !seen.contains(d);
        seen.push(*d);
        new
    });
    Ok(out)
}

/// Reads a line of weekly hours as typed: `mon-fri 08:00-17:00 break 12:00-13:00 at main`.
pub fn parse_hours_spec(input: &str) -> Result<Hours> {
    let hint = "e.g. \"mon-fri 08:00-17:00 break 12:00-13:00\" or \"sat 09:00-12:00 at north\"";
    let words: Vec<&str> = input.split_whitespace().collect();
    let [days, span, rest @ ..] = words.as_slice() else {
        return Err(Error::user(
            "hours are written DAYS START-END [break START-END] [at LOCATION]",
        )
        .hint(hint));
    };
    let mut h = Hours {
        days: parse_weekdays(days)?,
        span: Span::parse(span)?,
        breaks: Vec::new(),
        location: None,
    };
    let mut it = rest.iter();
    while let Some(w) = it.next() {
        match (*w, it.next()) {
            ("break", Some(b)) => h.breaks.push(Span::parse(b)?),
            ("at", Some(loc)) => {
                check_key("location", loc)?;
                h.location = Some(loc.to_string());
            }
            _ => {
                return Err(
                    Error::user("after the hours come `break START-END` or `at LOCATION`")
                        .hint(hint),
                );
            }
        }
    }
    Ok(h)
}

/// The hours as they are typed back: `Mon-Fri 08:00-17:00 break 12:00-13:00`.
pub fn hours_spec(h: &Hours) -> String {
    let days: Vec<String> = h.days.iter().map(|d| d.to_string()).collect();
    let mut s = format!("{} {}", days.join(","), h.span);
    for b in &h.breaks {
        s.push_str(&format!(" break {b}"));
    }
    if let Some(l) = &h.location {
        s.push_str(&format!(" at {l}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npi_check_digit() {
        assert!(check_npi("1234567893").is_ok());
        assert!(check_npi("1234567890").is_err());
        assert!(check_npi("12345").is_err());
    }

    #[test]
    fn weekdays() {
        assert_eq!(parse_weekdays("mon-wed").unwrap().len(), 3);
        assert_eq!(parse_weekdays("fri-mon").unwrap().len(), 4);
        assert_eq!(
            parse_weekdays("tue, thu").unwrap(),
            vec![Weekday::Tue, Weekday::Thu]
        );
        assert!(parse_weekdays("funday").is_err());
    }

    #[test]
    fn time_off_per_day() {
        let t = TimeOff {
            from: NaiveDate::from_ymd_opt(2026, 12, 1)
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 12, 3)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            reason: None,
        };
        let d = |n| NaiveDate::from_ymd_opt(2026, 12, n).unwrap();
        assert_eq!(t.on(d(1)).unwrap().to_string(), "12:00-24:00");
        assert_eq!(t.on(d(2)).unwrap().to_string(), "00:00-24:00");
        assert_eq!(t.on(d(3)), None);
    }
}
