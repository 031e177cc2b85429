//! When a patient can come: a small language the desk types and the patient record stores.
//!
//! A preference is one or more clauses separated by `;`. Each clause is optional weekdays
//! followed by an optional part of the day:
//! `mornings`, `afternoons`, `evenings`, `after 15:00`, `before 10:30`, `09:00-12:00`.
//! Examples: `mornings`, `tue,thu after 15:00`, `mon-wed; fri before 12:00`, `weekdays`.
//! A slot suits `prefer` when it lies inside any clause, and is ruled out by `avoid` when it
//! touches any clause.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::domain::schedule::clock::{Clock, Span};
use crate::domain::schedule::provider::parse_weekdays;
use crate::error::{Error, Result};

/// The patient's standing preferences (`[scheduling]` in the patient file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchedulingPrefs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avoid: Option<String>,
    /// Provider keys the patient would rather see, first choice first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<String>,
}

impl SchedulingPrefs {
    pub fn validate(&self) -> Result<()> {
        for s in [&self.prefer, &self.avoid].into_iter().flatten() {
            Windows::parse(s)?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.prefer.is_none() && self.avoid.is_none() && self.providers.is_empty()
    }
}

/// One clause: on these weekdays (any when `None`), within this span of the day.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub days: Option<Vec<Weekday>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Windows(pub Vec<Window>);

impl Windows {
    pub fn parse(input: &str) -> Result<Windows> {
        let mut out = Vec::new();
        for clause in input.split(';').map(str::trim).filter(|c| !c.is_empty()) {
            out.push(parse_clause(clause).map_err(|e| {
                e.hint("e.g. mornings, afternoons, tue,thu after 15:00, mon-wed before 12:00, fri 09:00-11:00")
            })?);
        }
        if out.is_empty() {
            return Err(Error::user("the time preference is empty")
                .hint("e.g. mornings, or tue,thu after 15:00"));
        }
        Ok(Windows(out))
    }

    /// The visit `[s, e)` on `date` lies entirely inside one clause.
    pub fn fits(&self, date: NaiveDate, s: Clock, e: Clock) -> bool {
        self.0
            .iter()
            .any(|w| w.on(date.weekday()) && w.span.contains(s, e))
    }

    /// The visit `[s, e)` on `date` touches some clause.
    pub fn touches(&self, date: NaiveDate, s: Clock, e: Clock) -> bool {
        self.0
            .iter()
            .any(|w| w.on(date.weekday()) && w.span.overlaps(s, e))
    }
}

impl Window {
    fn on(&self, d: Weekday) -> bool {
        self.days.as_ref().is_none_or(|days| days.contains(&d))
    }
}

fn parse_clause(clause: &str) -> Result<Window> {
    let lower = clause.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let whole_day = Span {
        start: Clock::MIDNIGHT,
        end: Clock::END_OF_DAY,
    };
    // The first word is a weekday list unless it names a part of the day.
    let (days, rest) = match words.first() {
        Some(w)
            if part_of_day(w).is_none()
                && !["after", "before"].contains(w)
                && !w.contains(':')
                && !w.as_bytes()[0].is_ascii_digit() =>
        {
            (Some(parse_weekdays(w)?), &words[1..])
        }
        _ => (None, &words[..]),
    };
    let span = match rest {
        [] => whole_day,
        [p] if part_of_day(p).is_some() => part_of_day(p).unwrap_or(whole_day),
        ["after", t] => Span::new(Clock::parse(t)?, Clock::END_OF_DAY)?,
        ["before", t] => Span::new(Clock::MIDNIGHT, Clock::parse(t)?)?,
        [range] => Span::parse(range)?,
        _ => {
            return Err(Error::user(
                "a time preference clause is [DAYS] [mornings|afternoons|evenings|after T|before T|T-T]",
            ));
        }
    };
    Ok(Window { days, span })
}

fn part_of_day(word: &str) -> Option<Span> {
    let (s, e) = match word.trim_end_matches('s') {
        "morning" | "am" => (0, 12 * 60),
        "afternoon" | "pm" => (12 * 60, 17 * 60),
        "evening" => (17 * 60, 24 * 60),
        "weekday" | "weekend" | "any" | "anytime" => return None,
        _ => return None,
    };
    Some(Span {
        start: Clock(s),
        end: Clock(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = Windows::parse(&s);
            let _ = crate::domain::schedule::recur::Rule::parse(&s);
            let _ = crate::domain::schedule::provider::parse_hours_spec(&s);
            let _ = crate::domain::schedule::room::parse_room_hours(&s);
        }

        #[test]
        fn rrule_words_never_panic(s in "(FREQ=(DAILY|WEEKLY|MONTHLY)|COUNT=[0-9]{1,4}|INTERVAL=[0-9]{1,3}|UNTIL=[0-9]{8}|BYDAY=(MO|TU|SU)(,(WE|FR))?|X=1)(;(FREQ=WEEKLY|COUNT=[0-9]{1,3}|BYDAY=TH|UNTIL=2026[0-9]{4})){0,4}") {
            if let Ok(r) = crate::domain::schedule::recur::Rule::parse(&s) {
                let first = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap().and_hms_opt(9, 0, 0).unwrap();
                let o = r.occurrences(first);
                prop_assert!(o.len() <= crate::domain::schedule::recur::MAX_OCCURRENCES as usize);
                prop_assert!(o.windows(2).all(|w| w[0] < w[1]), "occurrences in order");
            }
        }
    }

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, day).unwrap() // Dec 1 2026 is a Tuesday
    }

    #[test]
    fn clauses() {
        let w = Windows::parse("tue,thu after 15:00").unwrap();
        assert!(w.fits(d(1), Clock::hm(15, 0), Clock::hm(15, 20)));
        assert!(!w.fits(d(1), Clock::hm(14, 50), Clock::hm(15, 10)));
        assert!(!w.fits(d(2), Clock::hm(15, 0), Clock::hm(15, 20)));
        let m = Windows::parse("mornings").unwrap();
        assert!(m.fits(d(4), Clock::hm(9, 0), Clock::hm(9, 30)));
        assert!(!m.fits(d(4), Clock::hm(11, 50), Clock::hm(12, 10)));
        assert!(m.touches(d(4), Clock::hm(11, 50), Clock::hm(12, 10)));
        let f = Windows::parse("fri").unwrap();
        assert!(f.touches(d(4), Clock::hm(9, 0), Clock::hm(9, 30)));
        assert!(!f.touches(d(3), Clock::hm(9, 0), Clock::hm(9, 30)));
        let mix = Windows::parse("mon-wed; fri before 12:00").unwrap();
        assert_eq!(mix.0.len(), 2);
        assert!(Windows::parse("09:00-11:00").is_ok());
        assert!(Windows::parse("sometime soon").is_err());
        assert!(Windows::parse("").is_err());
        assert!(Windows::parse("after 25:00").is_err());
    }
}
