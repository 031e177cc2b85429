//! `report noshows`: no-show and late-cancel rates by provider, appointment type, weekday, hour
//! and week, and the patients who missed more than once.
//!
//! The base of a rate is the visits that were due: kept (arrived, roomed, seen, or left
//! unseen), missed (no-show), cancelled late (under 24 hours before), or still marked booked or
//! confirmed. Cancellations made in time, moves and entries in error were never due and are
//! left out, so a rate is the share of due visits that were missed.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Timelike};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::domain::id::Id;
use crate::domain::report::{rate, week_start};
use crate::domain::schedule::Appointment;
use crate::domain::schedule::Status;
use crate::domain::schedule::localtime::wall;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Kept,
    NoShow,
    LateCancel,
    /// Still booked or confirmed: nobody marked it either way.
    Unmarked,
}

/// One due visit, as the report groups it.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub patient: Id,
    pub provider: String,
    pub kind: String,
    pub date: NaiveDate,
    /// Local hour of the start, 0–23.
    pub hour: u32,
    pub outcome: Outcome,
}

/// How an appointment counts; None when it was never due.
pub fn outcome(a: &Appointment) -> Option<Outcome> {
    match a.status {
        Status::Fulfilled | Status::Arrived | Status::Roomed | Status::Left => Some(Outcome::Kept),
        Status::Noshow => Some(Outcome::NoShow),
        Status::Cancelled if a.late_cancel => Some(Outcome::LateCancel),
        Status::Booked | Status::Confirmed => Some(Outcome::Unmarked),
        Status::Cancelled | Status::Rescheduled | Status::EnteredInError => None,
    }
}

/// The appointment as a due visit, in the office's zone; None when it was never due.
pub fn due(a: &Appointment, tz: Tz) -> Option<Due> {
    let start = wall(tz, a.start);
    Some(Due {
        patient: a.patient.clone(),
        provider: a.provider.clone(),
        kind: a.kind.clone(),
        date: start.date(),
        hour: start.hour(),
        outcome: outcome(a)?,
    })
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    pub due: u64,
    pub noshows: u64,
    pub late_cancels: u64,
}

impl Rates {
    fn add(&mut self, o: Outcome) {
        self.due += 1;
        match o {
            Outcome::NoShow => self.noshows += 1,
            Outcome::LateCancel => self.late_cancels += 1,
            Outcome::Kept | Outcome::Unmarked => {}
        }
    }
    pub fn noshow_rate(&self) -> Decimal {
        rate(self.noshows, self.due)
    }
    pub fn late_cancel_rate(&self) -> Decimal {
        rate(self.late_cancels, self.due)
    }
}

/// A patient who missed at least the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    pub patient: Id,
    pub noshows: u64,
    pub due: u64,
    pub last: NaiveDate,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoShows {
    pub total: Rates,
    pub by_provider: BTreeMap<String, Rates>,
    pub by_type: BTreeMap<String, Rates>,
    /// Monday = 0.
    pub by_weekday: BTreeMap<u32, Rates>,
    pub by_hour: BTreeMap<u32, Rates>,
    /// By the Monday of the week.
    pub by_week: BTreeMap<NaiveDate, Rates>,
    /// Most no-shows first, then by patient ID.
    pub repeats: Vec<Repeat>,
}

/// Groups the due visits; patients with at least `repeat_at` no-shows are listed.
pub fn noshows(visits: &[Due], repeat_at: u64) -> NoShows {
    let mut r = NoShows::default();
    let mut per_patient: BTreeMap<&Id, Repeat> = BTreeMap::new();
    for v in visits {
        r.total.add(v.outcome);
        r.by_provider
            .entry(v.provider.clone())
            .or_default()
            .add(v.outcome);
        r.by_type.entry(v.kind.clone()).or_default().add(v.outcome);
        r.by_weekday
            .entry(v.date.weekday().num_days_from_monday())
            .or_default()
            .add(v.outcome);
        r.by_hour.entry(v.hour).or_default().add(v.outcome);
        r.by_week
            .entry(week_start(v.date))
            .or_default()
            .add(v.outcome);
        let p = per_patient.entry(&v.patient).or_insert_with(|| Repeat {
            patient: v.patient.clone(),
            noshows: 0,
            due: 0,
            last: v.date,
        });
        p.due += 1;
        if v.outcome == Outcome::NoShow {
            p.noshows += 1;
            p.last = if p.noshows == 1 {
                v.date
            } else {
                p.last.max(v.date)
            };
        }
    }
    r.repeats = per_patient
        .into_values()
        .filter(|p| p.noshows >= repeat_at.max(1))
        .collect();
    r.repeats.sort_by(|a, b| {
        b.noshows
            .cmp(&a.noshows)
            .then_with(|| a.patient.cmp(&b.patient))
    });
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::id::IdKind;
    use proptest::prelude::*;

    fn arb_outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            Just(Outcome::Kept),
            Just(Outcome::NoShow),
            Just(Outcome::LateCancel),
            Just(Outcome::Unmarked)
        ]
    }

    proptest! {
        #[test]
        fn rates_are_between_0_and_1_and_match_a_direct_count(
            specs in prop::collection::vec((0usize..3, 0usize..3, 0i64..60, 7u32..18, arb_outcome(), 0usize..4), 0..80)
        ) {
            let patients: Vec<Id> = (0..4).map(|_| Id::generate(IdKind::Patient)).collect();
            let base = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
            let visits: Vec<Due> = specs.iter().map(|&(p, k, d, h, o, pt)| Due {
                patient: patients[pt].clone(),
                provider: ["okafor", "patel", "lindqvist"][p].into(),
                kind: ["follow-up", "new-patient", "urgent"][k].into(),
                date: base + chrono::Duration::days(d),
                hour: h,
                outcome: o,
            }).collect();
            let r = noshows(&visits, 2);
            let groups = r.by_provider.values()
                .chain(r.by_type.values())
                .chain(r.by_weekday.values())
                .chain(r.by_hour.values())
                .chain(r.by_week.values())
                .chain(std::iter::once(&r.total));
            for g in groups {
                for x in [g.noshow_rate(), g.late_cancel_rate()] {
                    prop_assert!(x >= Decimal::ZERO && x <= Decimal::ONE);
                }
            }
            for (prov, g) in &r.by_provider {
                let mine: Vec<&Due> = visits.iter().filter(|v| &v.provider == prov).collect();
                let missed = mine.iter().filter(|v| v.outcome == Outcome::NoShow).count() as u64;
                let late = mine.iter().filter(|v| v.outcome == Outcome::LateCancel).count() as u64;
                prop_assert_eq!(g.due, mine.len() as u64);
                prop_assert_eq!(g.noshows, missed);
                prop_assert_eq!(g.noshow_rate(), rate(missed, mine.len() as u64));
                prop_assert_eq!(g.late_cancel_rate(), rate(late, mine.len() as u64));
            }
            let total_missed = visits.iter().filter(|v| v.outcome == Outcome::NoShow).count() as u64;
            prop_assert_eq!(r.total.noshows, total_missed);
            prop_assert_eq!(r.by_weekday.values().map(|g| g.noshows).sum::<u64>(), total_missed);
            for p in &r.repeats {
                let n = visits.iter().filter(|v| v.patient == p.patient && v.outcome == Outcome::NoShow).count() as u64;
                prop_assert!(n >= 2);
                prop_assert_eq!(p.noshows, n);
            }
        }
    }
}
