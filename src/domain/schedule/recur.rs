//! Recurrence: `--repeat weekly --count 8`, or a subset of RFC 5545 RRULE
//! (`FREQ=DAILY|WEEKLY|MONTHLY`, `INTERVAL`, `COUNT`, `UNTIL`, `BYDAY` for weekly rules).
//! Occurrences are office-local wall-clock times: a weekly 09:00 visit stays at 09:00 across a
//! DST change. A monthly rule on the 31st skips months without one, as RFC 5545 says.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, Weekday};

use crate::error::{Error, Result};

/// The most occurrences one series may have.
pub const MAX_OCCURRENCES: u32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    Daily,
    Weekly,
    Monthly,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub freq: Freq,
    pub interval: u32,
    pub count: Option<u32>,
    pub until: Option<NaiveDate>,
    pub by_day: Vec<Weekday>,
}

impl Rule {
    /// `--repeat daily|weekly|biweekly|monthly` with `--count N` and/or `--until DATE`.
    pub fn simple(repeat: &str, count: Option<u32>, until: Option<NaiveDate>) -> Result<Rule> {
        let (freq, interval) = match repeat.to_ascii_lowercase().as_str() {
            "daily" => (Freq::Daily, 1),
            "weekly" => (Freq::Weekly, 1),
            "biweekly" | "fortnightly" => (Freq::Weekly, 2),
            "monthly" => (Freq::Monthly, 1),
            _ => {
                return Err(
                    Error::user("--repeat is daily, weekly, biweekly or monthly")
                        .hint("or give a rule with --rrule \"FREQ=WEEKLY;INTERVAL=2;COUNT=6\""),
                );
            }
        };
        Rule {
            freq,
            interval,
            count,
            until,
            by_day: Vec::new(),
        }
        .checked()
    }

    /// Reads an RRULE (with or without the `RRULE:` prefix).
    pub fn parse(input: &str) -> Result<Rule> {
        let s = input.trim();
        let s = s.strip_prefix("RRULE:").unwrap_or(s);
        let mut freq = None;
        let mut rule = Rule {
            freq: Freq::Weekly,
            interval: 1,
            count: None,
            until: None,
            by_day: Vec::new(),
        };
        let bad = |part: &str| {
            Error::user(format!(
                "RRULE part {:?} is not supported",
                part.chars().take(30).collect::<String>()
            ))
            .hint("supported: FREQ=DAILY|WEEKLY|MONTHLY, INTERVAL, COUNT, UNTIL, BYDAY (weekly)")
        };
        for part in s.split(';').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| bad(part))?;
            match k.to_ascii_uppercase().as_str() {
                "FREQ" => {
                    freq = Some(match v.to_ascii_uppercase().as_str() {
                        "DAILY" => Freq::Daily,
                        "WEEKLY" => Freq::Weekly,
                        "MONTHLY" => Freq::Monthly,
                        _ => return Err(bad(part)),
                    })
                }
                "INTERVAL" => rule.interval = v.parse().map_err(|_| bad(part))?,
                "COUNT" => rule.count = Some(v.parse().map_err(|_| bad(part))?),
                "UNTIL" => {
                    let d = v.get(..8).ok_or_else(|| bad(part))?;
                    rule.until =
                        Some(NaiveDate::parse_from_str(d, "%Y%m%d").map_err(|_| bad(part))?);
                }
                "BYDAY" => {
                    for d in v.split(',') {
                        rule.by_day.push(match d.to_ascii_uppercase().as_str() {
                            "MO" => Weekday::Mon,
                            "TU" => Weekday::Tue,
                            "WE" => Weekday::Wed,
                            "TH" => Weekday::Thu,
                            "FR" => Weekday::Fri,
                            "SA" => Weekday::Sat,
                            "SU" => Weekday::Sun,
                            _ => return Err(bad(part)),
                        });
                    }
                }
                "WKST" => {}
                _ => return Err(bad(part)),
            }
        }
        rule.freq = freq.ok_or_else(|| Error::user("the RRULE has no FREQ"))?;
        if !rule.by_day.is_empty() && rule.freq != Freq::Weekly {
            return Err(bad("BYDAY"));
        }
        rule.checked()
    }

    fn checked(self) -> Result<Rule> {
        if self.count.is_none() && self.until.is_none() {
            return Err(
                Error::user("a repeat needs an end: --count N or --until DATE")
                    .hint(format!("at most {MAX_OCCURRENCES} occurrences")),
            );
        }
        if self.count.is_some_and(|c| c == 0 || c > MAX_OCCURRENCES) {
            return Err(Error::user(format!(
                "--count must be between 1 and {MAX_OCCURRENCES}"
            )));
        }
        if self.interval == 0 || self.interval > 52 {
            return Err(Error::user("the repeat interval must be between 1 and 52"));
        }
        Ok(self)
    }

    /// The RRULE text stored on the series.
    pub fn to_rrule(&self) -> String {
        let mut s = format!(
            "FREQ={}",
            match self.freq {
                Freq::Daily => "DAILY",
                Freq::Weekly => "WEEKLY",
                Freq::Monthly => "MONTHLY",
            }
        );
        if self.interval != 1 {
            s.push_str(&format!(";INTERVAL={}", self.interval));
        }
        if let Some(c) = self.count {
            s.push_str(&format!(";COUNT={c}"));
        }
        if let Some(u) = self.until {
            s.push_str(&format!(";UNTIL={}", u.format("%Y%m%d")));
        }
        if !self.by_day.is_empty() {
            let days: Vec<&str> = self
                .by_day
                .iter()
                .map(|d| {
                    ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][d.num_days_from_monday() as usize]
                })
                .collect();
            s.push_str(&format!(";BYDAY={}", days.join(",")));
        }
        s
    }

    /// Local start times of every occurrence, the first being `first` itself.
    pub fn occurrences(&self, first: NaiveDateTime) -> Vec<NaiveDateTime> {
        let limit = self.count.unwrap_or(MAX_OCCURRENCES).min(MAX_OCCURRENCES) as usize;
        let in_range = |d: NaiveDate| self.until.is_none_or(|u| d <= u);
        let mut out = Vec::new();
        let time = first.time();
        let start = first.date();
        let mut step = 0u32;
        // Enough periods to reach the limit even when most candidate dates are skipped.
        while out.len() < limit && step < MAX_OCCURRENCES * 12 {
            let dates: Vec<NaiveDate> = match self.freq {
                Freq::Daily => vec![start + Duration::days(i64::from(step * self.interval))],
                Freq::Monthly => start
                    .with_day(1)
                    .and_then(|d| d.checked_add_months(Months::new(step * self.interval)))
                    .and_then(|d| d.with_day(start.day()))
                    .into_iter()
                    .collect(),
                Freq::Weekly => {
                    let week = start
                        - Duration::days(i64::from(start.weekday().num_days_from_monday()))
                        + Duration::weeks(i64::from(step * self.interval));
                    let days = if self.by_day.is_empty() {
                        vec![start.weekday()]
                    } else {
                        let mut d = self.by_day.clone();
                        d.sort_by_key(|w| w.num_days_from_monday());
                        d.dedup();
                        d
                    };
                    days.iter()
                        .map(|w| week + Duration::days(i64::from(w.num_days_from_monday())))
                        .filter(|d| *d >= start)
                        .collect()
                }
            };
            for d in dates {
                if !in_range(d) {
                    return out;
                }
                if out.len() < limit {
                    out.push(d.and_time(time));
                }
            }
            step += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn weekly_count() {
        let r = Rule::simple("weekly", Some(3), None).unwrap();
        let o = r.occurrences(at("2026-10-27 09:00"));
        assert_eq!(o.len(), 3);
        // Wall-clock 09:00 every week, across the 2026-11-01 change.
        assert_eq!(o[2], at("2026-11-10 09:00"));
    }

    #[test]
    fn rrule_byday_and_until() {
        let r = Rule::parse("RRULE:FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20261210").unwrap();
        let o = r.occurrences(at("2026-12-01 15:00"));
        assert_eq!(o.len(), 4);
        assert_eq!(o[1], at("2026-12-03 15:00"));
        assert_eq!(r.to_rrule(), "FREQ=WEEKLY;UNTIL=20261210;BYDAY=TU,TH");
    }

    #[test]
    fn byday_starts_on_the_first_matching_day() {
        let r = Rule::parse("FREQ=WEEKLY;BYDAY=TU,TH;COUNT=3").unwrap();
        // Monday start: the first occurrence is Tuesday, not the Monday itself.
        let o = r.occurrences(at("2026-11-30 09:00"));
        assert_eq!(
            o,
            vec![
                at("2026-12-01 09:00"),
                at("2026-12-03 09:00"),
                at("2026-12-08 09:00")
            ]
        );
        let none = Rule::simple("weekly", None, NaiveDate::from_ymd_opt(2026, 1, 1)).unwrap();
        assert!(none.occurrences(at("2026-11-30 09:00")).is_empty());
    }

    #[test]
    fn monthly_skips_short_months() {
        let r = Rule::simple("monthly", Some(3), None).unwrap();
        let o = r.occurrences(at("2027-01-31 10:00"));
        assert_eq!(
            o,
            vec![
                at("2027-01-31 10:00"),
                at("2027-03-31 10:00"),
                at("2027-05-31 10:00")
            ]
        );
    }

    #[test]
    fn refusals() {
        assert!(Rule::simple("weekly", None, None).is_err());
        assert!(Rule::simple("hourly", Some(2), None).is_err());
        assert!(Rule::simple("weekly", Some(500), None).is_err());
        assert!(Rule::parse("FREQ=YEARLY;COUNT=2").is_err());
        assert!(Rule::parse("COUNT=2").is_err());
        assert!(Rule::parse("FREQ=DAILY;BYDAY=MO;COUNT=2").is_err());
    }
}
