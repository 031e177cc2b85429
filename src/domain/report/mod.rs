//! The office's reports as pure functions over records already read: no disk, no output.
//! Each report's rows are plain values; `src/cli/report/` turns them into sections, tables and
//! charts. Shared arithmetic (rates, percentiles, weeks) lives here.

pub mod aging;
pub mod daily;
pub mod deid;
pub mod missing;
pub mod noshows;
pub mod productivity;
pub mod utilization;
pub mod waits;

use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::Decimal;

/// `n / d` as an exact decimal rounded to four places (0 when `d` is 0).
pub fn rate(n: u64, d: u64) -> Decimal {
    if d == 0 {
        return Decimal::ZERO;
    }
    (Decimal::from(n) / Decimal::from(d)).round_dp(4)
}

/// A rate as a percentage with one decimal, for people: `12.5%`.
pub fn percent(r: Decimal) -> String {
    format!("{}%", (r * Decimal::ONE_HUNDRED).round_dp(1))
}

/// The `p`th percentile (0–100) of sorted values by the nearest-rank method: the smallest value
/// with at least `p`% of the values at or below it. None for no values.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (p as usize * n).div_ceil(100).clamp(1, n);
    Some(sorted[rank - 1])
}

/// The Monday of `date`'s week.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    date - Duration::days(date.weekday().num_days_from_monday() as i64)
}

/// Every date from `from` to `to`, both included.
pub fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

/// The weekday's short English name, Monday first, for grouping.
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 100), Some(10));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn rates_and_percents() {
        assert_eq!(rate(1, 8), Decimal::new(1250, 4));
        assert_eq!(rate(3, 0), Decimal::ZERO);
        assert_eq!(percent(rate(1, 8)), "12.5%");
        assert_eq!(percent(rate(1, 3)), "33.3%");
    }

    #[test]
    fn weeks_start_on_monday() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(
            week_start(d),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        assert_eq!(days(d, d + Duration::days(2)).count(), 3);
    }
}
