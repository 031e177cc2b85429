//! `report utilization`: booked against available minutes per provider per day and week, and
//! the largest unused gaps.
//!
//! Available time is the provider's working sessions less breaks and time off (none on an
//! office holiday). Free time is the calendar's free gaps (the same the day sheet shows, after
//! visits and their clean-up buffers) clipped to the available time; booked time is the rest.
//! So booked minutes can never exceed the available minutes, and a double booking or a visit
//! outside hours does not push a provider past 100%.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::report::{rate, week_start};
use crate::domain::schedule::Provider;
use crate::domain::schedule::clock::{Clock, Span};

/// The provider's available spans on `date`: sessions less breaks and time off, disjoint and in
/// order; none on a holiday.
pub fn available(provider: &Provider, date: NaiveDate, holiday: bool) -> Vec<Span> {
    if holiday {
        return Vec::new();
    }
    let sessions = provider.sessions(date);
    let mut spans = merge(sessions.iter().map(|s| s.span).collect());
    let mut cuts: Vec<Span> = sessions.iter().flat_map(|s| s.breaks.clone()).collect();
    cuts.extend(provider.away(date).into_iter().map(|(s, _)| s));
    for c in cuts {
        spans = spans.into_iter().flat_map(|s| minus(s, c)).collect();
    }
    spans
}

/// Minutes in disjoint spans.
pub fn minutes(spans: &[Span]) -> i64 {
    spans
        .iter()
        .map(|s| s.end.minutes() - s.start.minutes())
        .sum()
}

/// One provider's day: available and booked minutes, and the free gaps within the hours.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderDay {
    pub provider: String,
    pub date: NaiveDate,
    pub available: i64,
    pub booked: i64,
    pub gaps: Vec<Span>,
}

impl ProviderDay {
    pub fn share(&self) -> Decimal {
        share(self.booked, self.available)
    }
}

/// The day from the available spans and the calendar's free gaps.
pub fn provider_day(
    provider: &str,
    date: NaiveDate,
    available: &[Span],
    free_gaps: &[Span],
) -> ProviderDay {
    let gaps: Vec<Span> = free_gaps
        .iter()
        .flat_map(|g| available.iter().filter_map(move |a| intersect(*a, *g)))
        .collect();
    let gaps = merge(gaps);
    let avail = minutes(available);
    let free = minutes(&gaps).min(avail);
    ProviderDay {
        provider: provider.to_string(),
        date,
        available: avail,
        booked: avail - free,
        gaps,
    }
}

/// Booked over available, 0 when nothing was available.
pub fn share(booked: i64, available: i64) -> Decimal {
    rate(booked.max(0) as u64, available.max(0) as u64)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    pub available: i64,
    pub booked: i64,
}

impl Load {
    pub fn share(&self) -> Decimal {
        share(self.booked, self.available)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Utilization {
    pub by_provider: BTreeMap<String, Load>,
    /// By provider and the Monday of the week.
    pub by_week: BTreeMap<(String, NaiveDate), Load>,
    /// The largest free gaps: (provider, date, gap), longest first.
    pub largest_gaps: Vec<(String, NaiveDate, Span)>,
}

/// Totals by provider and week, and the `top` longest gaps.
pub fn utilization(days: &[ProviderDay], top: usize) -> Utilization {
    let mut u = Utilization::default();
    let mut gaps = Vec::new();
    for d in days {
        for l in [
            u.by_provider.entry(d.provider.clone()).or_default(),
            u.by_week
                .entry((d.provider.clone(), week_start(d.date)))
                .or_default(),
        ] {
            l.available += d.available;
            l.booked += d.booked;
        }
        gaps.extend(d.gaps.iter().map(|g| (d.provider.clone(), d.date, *g)));
    }
    gaps.sort_by(|a, b| {
        len(&b.2)
            .cmp(&len(&a.2))
            .then_with(|| (a.1, &a.0, a.2.start).cmp(&(b.1, &b.0, b.2.start)))
    });
    gaps.truncate(top);
    u.largest_gaps = gaps;
    u
}

fn len(s: &Span) -> i64 {
    s.end.minutes() - s.start.minutes()
}

fn intersect(a: Span, b: Span) -> Option<Span> {
    let s = a.start.max(b.start);
    let e = a.end.min(b.end);
    (s < e).then_some(Span { start: s, end: e })
}

/// `s` less `cut`: zero, one or two spans.
fn minus(s: Span, cut: Span) -> Vec<Span> {
    if cut.end <= s.start || cut.start >= s.end {
        return vec![s];
    }
    let mut out = Vec::new();
    if cut.start > s.start {
        out.push(Span {
            start: s.start,
            end: cut.start,
        });
    }
    if cut.end < s.end {
        out.push(Span {
            start: cut.end,
            end: s.end,
        });
    }
    out
}

/// Disjoint spans in order, overlapping or touching ones joined.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| s.start < s.end);
    spans.sort_by_key(|s| (s.start, s.end));
    let mut out: Vec<Span> = Vec::new();
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// A gap's length as people read it.
pub fn gap_minutes(s: &Span) -> i64 {
    len(s)
}

/// `Clock` values for tests and callers that build spans from minutes.
pub fn span(start: u16, end: u16) -> Span {
    Span {
        start: Clock(start),
        end: Clock(end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::provider::{Hours, TimeOff};
    use chrono::Weekday;
    use proptest::prelude::*;

    fn provider(
        hours: Vec<(u16, u16)>,
        breaks: Vec<(u16, u16)>,
        off: Option<(u16, u16)>,
    ) -> Provider {
        let date = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        Provider {
            schema: 1,
            key: "okafor".into(),
            name: "Okafor".into(),
            credentials: None,
            specialty: None,
            npi: None,
            active: true,
            hours: hours
                .into_iter()
                .map(|(s, e)| Hours {
                    days: vec![Weekday::Tue],
                    span: span(s, e),
                    breaks: breaks.iter().map(|&(a, b)| span(a, b)).collect(),
                    location: None,
                })
                .collect(),
            time_off: off
                .map(|(a, b)| TimeOff {
                    from: date.and_time(Clock(a).time().unwrap()),
                    to: date.and_time(Clock(b).time().unwrap()),
                    reason: None,
                })
                .into_iter()
                .collect(),
            extra: Default::default(),
        }
    }

    fn arb_span() -> impl Strategy<Value = (u16, u16)> {
        (0u16..1380, 1u16..600).prop_map(|(s, l)| (s, (s + l).min(1439)))
    }

    proptest! {
        /// Whatever the hours, breaks, time off and free gaps, booked time is between zero and
        /// the available time, and so is every week's and provider's total.
        #[test]
        fn utilization_never_exceeds_the_available_minutes(
            hours in prop::collection::vec(arb_span(), 0..3),
            breaks in prop::collection::vec(arb_span(), 0..3),
            off in prop::option::of(arb_span()),
            gaps in prop::collection::vec(arb_span(), 0..6),
            holiday in any::<bool>(),
        ) {
            let p = provider(hours, breaks, off);
            let date = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
            let avail = available(&p, date, holiday);
            prop_assert!(avail.windows(2).all(|w| w[0].end <= w[1].start));
            let gaps: Vec<Span> = gaps.iter().map(|&(a, b)| span(a, b)).collect();
            let d = provider_day("okafor", date, &avail, &gaps);
            prop_assert!(d.booked >= 0 && d.booked <= d.available);
            prop_assert!(d.share() <= Decimal::ONE);
            prop_assert_eq!(d.available, minutes(&avail));
            if holiday {
                prop_assert_eq!(d.available, 0);
            }
            let u = utilization(&[d.clone(), d.clone()], 3);
            for l in u.by_provider.values().chain(u.by_week.values()) {
                prop_assert!(l.booked <= l.available);
            }
        }
    }

    #[test]
    fn breaks_and_time_off_are_not_available_and_gaps_are_clipped() {
        let p = provider(vec![(480, 1020)], vec![(720, 780)], Some((900, 1020)));
        let date = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let avail = available(&p, date, false);
        assert_eq!(avail, vec![span(480, 720), span(780, 900)]);
        // A free gap running into the break and time off counts only inside the hours.
        let d = provider_day("okafor", date, &avail, &[span(600, 1000)]);
        assert_eq!((d.available, d.booked), (360, 360 - 120 - 120));
        assert_eq!(d.gaps, vec![span(600, 720), span(780, 900)]);
        let u = utilization(&[d], 1);
        assert_eq!(u.largest_gaps.len(), 1);
        assert_eq!(u.by_provider["okafor"].share(), Decimal::new(3333, 4));
    }
}
