//! Dates as people type them.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use crate::error::{Error, Result};

/// A calendar date typed by a person: ISO `1980-04-02`, US `04/02/1980` or `4/2/80`,
/// `04-02-1980`, `04021980`, `19800402`. Two-digit years are read as the most recent past
/// year (for birth dates) relative to `today`.
pub fn parse_date(input: &str, today: NaiveDate) -> Result<NaiveDate> {
    let s = input.trim();
    let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
    let num = |p: &str| -> Option<u32> {
        if !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()) {
            p.parse().ok()
        } else {
            None
        }
    };
    let (y, m, d) = match parts.as_slice() {
        [y, m, d] if y.len() == 4 => (num(y), num(m), num(d)),
        [m, d, y] if y.len() == 4 || y.len() == 2 => (
            num(y).map(|n| expand_year(n, y.len(), today)),
            num(m),
            num(d),
        ),
        [one] if one.len() == 8 && one.bytes().all(|b| b.is_ascii_digit()) => {
            // 19800402 or 04021980: a plausible year decides which.
            let (a, b) = (num(&one[..4]), num(&one[4..]));
            if a.is_some_and(|y| y > 1800) {
                (a, num(&one[4..6]), num(&one[6..]))
            } else {
                (b, num(&one[..2]), num(&one[2..4]))
            }
        }
        _ => (None, None, None),
    };
    let (Some(y), Some(m), Some(d)) = (y, m, d) else {
        return Err(Error::user("not a date").hint("dates are YYYY-MM-DD, or MM/DD/YYYY"));
    };
    NaiveDate::from_ymd_opt(y as i32, m, d).ok_or_else(|| {
        // The reason, not the value: a birth date is protected health information.
        let why = if !(1..=12).contains(&m) {
            format!("there is no month {m}")
        } else {
            format!(
                "that month has {} days, not {d}",
                days_in_month(y as i32, m)
            )
        };
        Error::user(format!("not a date: {why}")).hint("dates are YYYY-MM-DD, or MM/DD/YYYY")
    })
}

fn expand_year(y: u32, len: usize, today: NaiveDate) -> u32 {
    if len == 4 {
        return y;
    }
    let this = today.year() as u32;
    let century = this / 100 * 100;
    if century + y > this {
        century - 100 + y
    } else {
        century + y
    }
}

pub fn month_name(m: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ][(m.clamp(1, 12) - 1) as usize]
}

pub fn days_in_month(y: i32, m: u32) -> u32 {
    let first = NaiveDate::from_ymd_opt(y, m, 1).expect("valid month");
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    next.expect("valid month")
        .signed_duration_since(first)
        .num_days() as u32
}

/// A day typed for scheduling: `today`, `tomorrow`, `yesterday`, a weekday name (the next one,
/// today included), `+3d`, `+2w`, `-1d`, or any date `parse_date` reads.
pub fn parse_day(input: &str, today: NaiveDate) -> Result<NaiveDate> {
    let s = input.trim().to_ascii_lowercase();
    match s.as_str() {
        "today" => return Ok(today),
        "tomorrow" => return Ok(today + Duration::days(1)),
        "yesterday" => return Ok(today - Duration::days(1)),
        _ => {}
    }
    if let Ok(wd) = s.parse::<Weekday>() {
        let ahead = (7 + wd.num_days_from_monday() as i64
            - today.weekday().num_days_from_monday() as i64)
            % 7;
        return Ok(today + Duration::days(ahead));
    }
    if let Some(rest) = s.strip_prefix('+').or_else(|| s.strip_prefix('-')) {
        let sign = if s.starts_with('-') { -1 } else { 1 };
        let (n, unit) = rest.split_at(
            rest.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len()),
        );
        if let Ok(n) = n.parse::<i64>() {
            let days = match unit {
                "" | "d" => Some(n),
                "w" => Some(n * 7),
                _ => None,
            };
            if let Some(days) = days.filter(|d| *d <= 3660) {
                return Ok(today + Duration::days(sign * days));
            }
        }
    }
    parse_date(input, today)
        .map_err(|e| e.hint("days are today, tomorrow, a weekday (mon), +3d, +2w or YYYY-MM-DD"))
}

/// Checks a birth date: not in the future and not more than 130 years ago.
pub fn check_birth_date(dob: NaiveDate, today: NaiveDate) -> Result<()> {
    if dob > today {
        return Err(Error::user("date of birth is in the future").hint("check the year"));
    }
    if today.year() - dob.year() > 130 {
        return Err(Error::user("date of birth is more than 130 years ago").hint("check the year"));
    }
    Ok(())
}

/// Age in whole years on `on`.
pub fn age(dob: NaiveDate, on: NaiveDate) -> i32 {
    let mut years = on.year() - dob.year();
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        years -= 1;
    }
    years
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn common_formats() {
        let want = NaiveDate::from_ymd_opt(1980, 4, 2).unwrap();
        for s in [
            "1980-04-02",
            "04/02/1980",
            "4/2/1980",
            "04-02-1980",
            "4/2/80",
            "04021980",
            "19800402",
            "1980/4/2",
        ] {
            assert_eq!(parse_date(s, today()).unwrap(), want, "{s}");
        }
        assert_eq!(parse_date("4/2/20", today()).unwrap().year(), 2020);
        assert_eq!(parse_date("4/2/27", today()).unwrap().year(), 1927);
    }

    #[test]
    fn impossible_dates_say_why() {
        let e = parse_date("1980-02-30", today()).unwrap_err();
        assert!(
            e.message.contains("that month has 29 days, not 30"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("1980"));
        assert!(
            parse_date("1981-02-29", today())
                .unwrap_err()
                .message
                .contains("28 days")
        );
        assert!(parse_date("2024-02-29", today()).is_ok());
        assert!(
            parse_date("1980-13-01", today())
                .unwrap_err()
                .message
                .contains("no month 13")
        );
        assert!(parse_date("soon", today()).is_err());
    }

    #[test]
    fn relative_days() {
        let t = today(); // a Friday
        assert_eq!(parse_day("today", t).unwrap(), t);
        assert_eq!(parse_day("tomorrow", t).unwrap(), t + Duration::days(1));
        assert_eq!(
            parse_day("mon", t).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        assert_eq!(parse_day("fri", t).unwrap(), t);
        assert_eq!(parse_day("+2w", t).unwrap(), t + Duration::days(14));
        assert_eq!(parse_day("+3d", t).unwrap(), t + Duration::days(3));
        assert!(parse_day("+99999d", t).is_err());
    }

    #[test]
    fn birth_date_bounds() {
        assert!(check_birth_date(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), today()).is_err());
        assert!(check_birth_date(NaiveDate::from_ymd_opt(1890, 1, 1).unwrap(), today()).is_err());
        assert!(check_birth_date(NaiveDate::from_ymd_opt(1980, 4, 2).unwrap(), today()).is_ok());
        assert_eq!(
            age(
                NaiveDate::from_ymd_opt(2000, 2, 29).unwrap(),
                NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
            ),
            25
        );
    }

    proptest! {
        #[test]
        fn iso_round_trip(days in 0i64..60000) {
            let d = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + Duration::days(days);
            prop_assert_eq!(parse_date(&d.to_string(), today()).unwrap(), d);
            prop_assert_eq!(parse_date(&d.format("%m/%d/%Y").to_string(), today()).unwrap(), d);
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = parse_date(&s, today());
            let _ = parse_day(&s, today());
        }
    }
}
