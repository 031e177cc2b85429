//! Office-local wall-clock times and the instants they name, with DST done right: a time in the
//! spring-forward gap does not exist and is refused; a time in the fall-back hour happens twice
//! and needs the caller to say which (`--earlier` / `--later`).

use chrono::{DateTime, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::domain::dates::parse_day;
use crate::domain::schedule::clock::Clock;
use crate::error::{Error, Result};

/// Which of the two instants an ambiguous local time means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    Earlier,
    Later,
}

/// Reads `"2026-12-01 09:30"`, `"2026-12-01T09:30"`, `"tomorrow 9am"`, `"mon 14:15"`.
pub fn parse_local(input: &str, today: NaiveDate) -> Result<NaiveDateTime> {
    let s = input.trim();
    let (day, time) = s.rsplit_once([' ', 'T']).ok_or_else(|| {
        Error::user("a date and a time are needed")
            .hint("write it as \"2026-12-01 09:30\" (or \"tomorrow 9am\")")
    })?;
    let date = parse_day(day.trim(), today)?;
    let clock = Clock::parse(time)?;
    let t = clock.time().ok_or_else(|| {
        Error::user("24:00 is not a start time").hint("use 00:00 of the next day")
    })?;
    Ok(date.and_time(t))
}

/// The instant a local time names in `tz`, as a local time with its offset.
pub fn resolve(tz: Tz, local: NaiveDateTime, fold: Option<Fold>) -> Result<DateTime<FixedOffset>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.fixed_offset()),
        LocalResult::Ambiguous(a, b) => match fold {
            Some(Fold::Earlier) => Ok(a.fixed_offset()),
            Some(Fold::Later) => Ok(b.fixed_offset()),
            None => Err(Error::user(format!(
                "{} happens twice on {} in {tz} (clocks go back): at UTC offset {} and again at {}",
                local.format("%H:%M"),
                local.date(),
                a.offset_str(),
                b.offset_str()
            ))
            .hint("add --earlier for the first one or --later for the second")),
        },
        LocalResult::None => Err(Error::user(format!(
            "{} does not exist on {} in {tz}: the clocks skip that hour (daylight saving time)",
            local.format("%H:%M"),
            local.date()
        ))
        .hint("choose a time outside the skipped hour")),
    }
}

trait OffsetStr {
    fn offset_str(&self) -> String;
}

impl OffsetStr for DateTime<Tz> {
    fn offset_str(&self) -> String {
        self.fixed_offset().offset().to_string()
    }
}

/// `t` as wall-clock time in `tz` (what a clock on the office wall shows).
pub fn wall(tz: Tz, t: DateTime<FixedOffset>) -> NaiveDateTime {
    t.with_timezone(&tz).naive_local()
}

/// The instant `minutes` after `start`, shown in the office zone (real elapsed time: a visit that
/// spans a DST change ends at the right wall-clock time).
pub fn plus_minutes(tz: Tz, start: DateTime<FixedOffset>, minutes: i64) -> DateTime<FixedOffset> {
    (start + Duration::minutes(minutes))
        .with_timezone(&tz)
        .fixed_offset()
}

/// The first instant of `date` in `tz` (midnight, or the first time that exists).
pub fn day_start(tz: Tz, date: NaiveDate) -> DateTime<FixedOffset> {
    let mut t = date.and_time(chrono::NaiveTime::MIN);
    for _ in 0..48 {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => return x.fixed_offset(),
            LocalResult::None => t += Duration::minutes(30),
        }
    }
    tz.from_utc_datetime(&t).fixed_offset()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ny() -> Tz {
        "America/New_York".parse().unwrap()
    }
    fn at(s: &str) -> NaiveDateTime {
        parse_local(s, NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()).unwrap()
    }

    #[test]
    fn gap_is_refused() {
        let e = resolve(ny(), at("2026-03-08 02:30"), None).unwrap_err();
        assert!(e.message.contains("does not exist"), "{}", e.message);
        assert!(resolve(ny(), at("2026-03-08 03:00"), None).is_ok());
    }

    #[test]
    fn fold_needs_a_choice() {
        let e = resolve(ny(), at("2026-11-01 01:30"), None).unwrap_err();
        assert!(e.message.contains("happens twice"), "{}", e.message);
        let a = resolve(ny(), at("2026-11-01 01:30"), Some(Fold::Earlier)).unwrap();
        let b = resolve(ny(), at("2026-11-01 01:30"), Some(Fold::Later)).unwrap();
        assert_eq!(a.to_rfc3339(), "2026-11-01T01:30:00-04:00");
        assert_eq!(b.to_rfc3339(), "2026-11-01T01:30:00-05:00");
        assert_eq!((b - a).num_minutes(), 60);
    }

    #[test]
    fn durations_are_real_time_across_the_change() {
        let s = resolve(ny(), at("2026-11-01 01:30"), Some(Fold::Earlier)).unwrap();
        let e = plus_minutes(ny(), s, 60);
        assert_eq!(e.to_rfc3339(), "2026-11-01T01:30:00-05:00");
        let s = resolve(ny(), at("2026-03-08 01:30"), None).unwrap();
        assert_eq!(
            plus_minutes(ny(), s, 60).to_rfc3339(),
            "2026-03-08T03:30:00-04:00"
        );
    }

    #[test]
    fn forms() {
        assert_eq!(at("2026-12-01T09:30").to_string(), "2026-12-01 09:30:00");
        assert_eq!(at("tomorrow 2pm").to_string(), "2026-11-28 14:00:00");
        assert!(parse_local("2026-12-01", NaiveDate::MIN).is_err());
        assert!(parse_local("2026-12-01 25:00", NaiveDate::MIN).is_err());
    }
}
