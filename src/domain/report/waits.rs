//! `report wait-times`: minutes from arrival to rooming (the wait), rooming to checkout (the
//! visit) and arrival to checkout (the whole stay), by provider, weekday and hour, as median and
//! 90th percentile (nearest rank), from the status history of visits that were checked out.

use std::collections::BTreeMap;

use chrono::{Datelike, Timelike};
use chrono_tz::Tz;

use crate::domain::report::percentile;
use crate::domain::schedule::localtime::wall;
use crate::domain::schedule::{Appointment, Status};

/// One checked-out visit's times, in minutes.
#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    pub provider: String,
    /// Monday = 0.
    pub weekday: u32,
    /// Local hour of arrival.
    pub hour: u32,
    /// Arrival to rooming; None when the visit was never marked roomed.
    pub wait: Option<i64>,
    /// Rooming to checkout.
    pub visit: Option<i64>,
    /// Arrival to checkout.
    pub total: i64,
}

/// The stay of a fulfilled appointment with an arrival on record; None otherwise (or when the
/// history runs backwards, as a hand edit might leave it).
pub fn stay(a: &Appointment, tz: Tz) -> Option<Stay> {
    if a.status != Status::Fulfilled {
        return None;
    }
    let arrived = a.when(Status::Arrived)?;
    let out = a.when(Status::Fulfilled)?;
    let roomed = a.when(Status::Roomed);
    let total = (out - arrived).num_minutes();
    if total < 0 {
        return None;
    }
    let wait = roomed
        .map(|r| (r - arrived).num_minutes())
        .filter(|m| (0..=total).contains(m));
    let visit = match (roomed, wait) {
        (Some(r), Some(_)) => Some((out - r).num_minutes()),
        _ => None,
    };
    let local = wall(tz, arrived);
    Some(Stay {
        provider: a.provider.clone(),
        weekday: local.date().weekday().num_days_from_monday(),
        hour: local.hour(),
        wait,
        visit,
        total,
    })
}

/// Median and 90th percentile of each measure for one group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub visits: u64,
    pub wait_median: Option<i64>,
    pub wait_p90: Option<i64>,
    pub visit_median: Option<i64>,
    pub visit_p90: Option<i64>,
    pub total_median: Option<i64>,
    pub total_p90: Option<i64>,
}

pub fn summary<'a>(stays: impl Iterator<Item = &'a Stay>) -> Summary {
    let (mut w, mut v, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for s in stays {
        w.extend(s.wait);
        v.extend(s.visit);
        t.push(s.total);
    }
    w.sort_unstable();
    v.sort_unstable();
    t.sort_unstable();
    Summary {
        visits: t.len() as u64,
        wait_median: percentile(&w, 50),
        wait_p90: percentile(&w, 90),
        visit_median: percentile(&v, 50),
        visit_p90: percentile(&v, 90),
        total_median: percentile(&t, 50),
        total_p90: percentile(&t, 90),
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WaitTimes {
    pub all: Summary,
    pub by_provider: BTreeMap<String, Summary>,
    pub by_weekday: BTreeMap<u32, Summary>,
    pub by_hour: BTreeMap<u32, Summary>,
    /// How many waits (arrival to rooming) fell in each 10-minute band: band 0 is 0–9 minutes;
    /// the last band holds everything from `WAIT_BANDS`×10 minutes on.
    pub distribution: Vec<u64>,
}

pub const WAIT_BANDS: usize = 6;

pub fn wait_times(stays: &[Stay]) -> WaitTimes {
    let group = |key: &dyn Fn(&Stay) -> u32| -> BTreeMap<u32, Summary> {
        let mut keys: Vec<u32> = stays.iter().map(key).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .map(|k| (k, summary(stays.iter().filter(|s| key(s) == k))))
            .collect()
    };
    let mut providers: Vec<&String> = stays.iter().map(|s| &s.provider).collect();
    providers.sort();
    providers.dedup();
    let mut distribution = vec![0; WAIT_BANDS + 1];
    for w in stays.iter().filter_map(|s| s.wait) {
        distribution[((w / 10) as usize).min(WAIT_BANDS)] += 1;
    }
    WaitTimes {
        all: summary(stays.iter()),
        by_provider: providers
            .into_iter()
            .map(|p| {
                (
                    p.clone(),
                    summary(stays.iter().filter(|s| &s.provider == p)),
                )
            })
            .collect(),
        by_weekday: group(&|s| s.weekday),
        by_hour: group(&|s| s.hour),
        distribution,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::id::{Id, IdKind};
    use chrono::{DateTime, Duration, FixedOffset};

    fn at(h: u32, m: u32) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(&format!("2026-12-01T{h:02}:{m:02}:00-05:00")).unwrap()
    }

    fn visit(arrive: (u32, u32), room: Option<(u32, u32)>, out: (u32, u32)) -> Appointment {
        let mut a = Appointment::booked(
            Id::generate(IdKind::Appointment),
            Id::generate(IdKind::Patient),
            "okafor",
            "follow-up",
            at(9, 0),
            at(9, 0) + Duration::minutes(20),
        );
        a.set_status(Status::Arrived, at(arrive.0, arrive.1), "ann", None, None)
            .unwrap();
        if let Some(r) = room {
            a.set_status(Status::Roomed, at(r.0, r.1), "ann", None, None)
                .unwrap();
        }
        a.set_status(Status::Fulfilled, at(out.0, out.1), "ann", None, None)
            .unwrap();
        a
    }

    #[test]
    fn stays_are_measured_from_the_history() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let s = stay(&visit((8, 50), Some((9, 5)), (9, 40)), tz).unwrap();
        assert_eq!((s.wait, s.visit, s.total), (Some(15), Some(35), 50));
        assert_eq!((s.weekday, s.hour), (1, 8));
        let s = stay(&visit((8, 50), None, (9, 10)), tz).unwrap();
        assert_eq!((s.wait, s.visit, s.total), (None, None, 20));
    }

    #[test]
    fn medians_percentiles_and_bands() {
        let stays: Vec<Stay> = (1..=10)
            .map(|i| Stay {
                provider: if i % 2 == 0 { "a" } else { "b" }.into(),
                weekday: 0,
                hour: 9,
                wait: Some(i * 7),
                visit: Some(20),
                total: i * 7 + 20,
            })
            .collect();
        let w = wait_times(&stays);
        assert_eq!(w.all.visits, 10);
        assert_eq!(w.all.wait_median, Some(35));
        assert_eq!(w.all.wait_p90, Some(63));
        assert_eq!(w.by_provider["a"].visits, 5);
        assert_eq!(w.distribution.iter().sum::<u64>(), 10);
        // 7 → band 0; 14 → 1; 21, 28 → 2; 35 → 3; 42, 49 → 4; 56 → 5; 63, 70 → 6 (60 and over)
        assert_eq!(w.distribution, vec![1, 1, 2, 1, 2, 1, 2]);
    }
}
