//! A time of day as minutes since midnight, written `"HH:MM"` in files and on the command line.

use std::fmt;

use chrono::{NaiveTime, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// Minutes since local midnight, 0..=1440 (`24:00` ends a day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Clock(pub u16);

impl Clock {
    pub const MIDNIGHT: Clock = Clock(0);
    pub const END_OF_DAY: Clock = Clock(1440);

    pub fn hm(h: u16, m: u16) -> Clock {
        Clock(h * 60 + m)
    }

    /// Reads `9`, `9:30`, `09:30`, `0930`, `9am`, `2:15pm`, `14:15`.
    pub fn parse(input: &str) -> Result<Clock> {
        let bad = || {
            Error::user("a time of day was expected").hint("times look like 09:30, 14:15 or 2:15pm")
        };
        let s = input.trim().to_ascii_lowercase();
        let (s, pm) = if let Some(r) = s.strip_suffix("pm") {
            (r.trim(), Some(true))
        } else if let Some(r) = s.strip_suffix("am") {
            (r.trim(), Some(false))
        } else {
            (s.as_str(), None)
        };
        let (h, m) = match s.split_once(':') {
            Some((h, m)) => (h, m),
            None if s.len() == 4 && s.is_ascii() => s.split_at(2),
            None => (s, "0"),
        };
        let num = |t: &str| -> Option<u16> {
            (!t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        let (mut h, m) = (num(h).ok_or_else(bad)?, num(m).ok_or_else(bad)?);
        if m > 59 {
            return Err(bad());
        }
        match pm {
            Some(_) if !(1..=12).contains(&h) => return Err(bad()),
            Some(true) if h != 12 => h += 12,
            Some(false) if h == 12 => h = 0,
            _ => {}
        }
        if h > 24 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(Clock(h * 60 + m))
    }

    pub fn of(t: NaiveTime) -> Clock {
        Clock((t.hour() * 60 + t.minute()) as u16)
    }

    /// The time of day, or `None` for `24:00`.
    pub fn time(self) -> Option<NaiveTime> {
        NaiveTime::from_hms_opt(u32::from(self.0 / 60), u32::from(self.0 % 60), 0)
    }

    pub fn minutes(self) -> i64 {
        i64::from(self.0)
    }

    pub fn plus(self, minutes: i64) -> Option<Clock> {
        let m = self.minutes() + minutes;
        (0..=1440).contains(&m).then_some(Clock(m as u16))
    }
}

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for Clock {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Clock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Clock, D::Error> {
        let s = String::deserialize(d)?;
        Clock::parse(&s).map_err(|_| serde::de::Error::custom("not a time of day (like 09:30)"))
    }
}

/// A span of the day `[start, end)`, written `"12:00-13:00"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: Clock,
    pub end: Clock,
}

impl Span {
    /// Reads `12:00-13:00`.
    pub fn parse(input: &str) -> Result<Span> {
        let (a, b) = input.split_once('-').ok_or_else(|| {
            Error::user("a span of the day is written START-END")
                .hint("e.g. 08:00-17:00 or 12:00-13:00")
        })?;
        Span::new(Clock::parse(a)?, Clock::parse(b)?)
    }

    pub fn new(start: Clock, end: Clock) -> Result<Span> {
        if end <= start {
            return Err(Error::user(format!("{end} is not after {start}"))
                .hint("a span must end after it starts"));
        }
        Ok(Span { start, end })
    }

    pub fn contains(&self, s: Clock, e: Clock) -> bool {
        self.start <= s && e <= self.end
    }

    pub fn overlaps(&self, s: Clock, e: Clock) -> bool {
        s < self.end && self.start < e
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Span, D::Error> {
        let s = String::deserialize(d)?;
        Span::parse(&s)
            .map_err(|_| serde::de::Error::custom("not a span of the day (like 12:00-13:00)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forms() {
        for (s, want) in [
            ("9", 540),
            ("9:30", 570),
            ("09:30", 570),
            ("0930", 570),
            ("9am", 540),
            ("2:15pm", 855),
            ("12pm", 720),
            ("12am", 0),
            ("24:00", 1440),
        ] {
            assert_eq!(Clock::parse(s).unwrap(), Clock(want), "{s}");
        }
        for bad in ["", "25:00", "9:60", "13pm", "x", "24:30", "-1"] {
            assert!(Clock::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(m in 0u16..=1440) {
            prop_assert_eq!(Clock::parse(&Clock(m).to_string()).unwrap(), Clock(m));
        }
        #[test]
        fn never_panics(s in "\\PC{0,12}") { let _ = Clock::parse(&s); let _ = Span::parse(&s); }
    }
}
