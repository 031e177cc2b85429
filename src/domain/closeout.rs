//! The end-of-day closeout: what the desk took in on one business day, by payment method and
//! by staff member, as the drawer should hold it.
//!
//! Each entry of the day counts once, with a sign: a payment adds to its method, a refund takes
//! away from its method, and a void takes its entry back out (a voided payment subtracts, a
//! voided refund adds back), on the day of the void. So a past day's closeout never changes
//! after it is printed, and every method's net is exactly the signed sum of the day's entries
//! of that method.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::domain::id::Id;
use crate::domain::ledger::{Entry, Kind, Method};
use crate::domain::money::cents;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Line {
    /// Payments counted (voided ones subtract one).
    pub count: i64,
    pub net: Decimal,
}

#[derive(Debug, Clone, Serialize)]
pub struct Closeout<'a> {
    pub date: NaiveDate,
    pub by_method: BTreeMap<Method, Line>,
    pub by_staff: BTreeMap<String, Line>,
    /// Patient money, all methods.
    pub total: Decimal,
    pub checks: Line,
    pub cash_drawer: Decimal,
    /// Insurance payments posted that day (not drawer money).
    pub insurance: Decimal,
    pub voids: Vec<&'a Entry>,
    pub refunds: Vec<&'a Entry>,
}

/// How one entry moves the drawer: (method, count change, signed amount), or None when it is
/// not patient money (charges, adjustments, insurance payments and their voids).
pub fn drawer_effect(e: &Entry, targets: &HashMap<Id, Entry>) -> Option<(Method, i64, Decimal)> {
    match e.kind {
        Kind::Payment => Some((e.method?, 1, e.amount)),
        Kind::Refund => Some((e.method?, 0, -e.amount)),
        Kind::Void => {
            let t = targets.get(e.voids.as_ref()?)?;
            match t.kind {
                Kind::Payment => Some((t.method?, -1, -t.amount)),
                Kind::Refund => Some((t.method?, 0, t.amount)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The closeout of `day` from that day's entries; `targets` holds the entries the day's voids
/// name (which may be from earlier days).
pub fn closeout<'a>(
    date: NaiveDate,
    day: &'a [Entry],
    targets: &HashMap<Id, Entry>,
) -> Closeout<'a> {
    let mut c = Closeout {
        date,
        by_method: Method::ALL.iter().map(|m| (*m, Line::default())).collect(),
        by_staff: BTreeMap::new(),
        total: Decimal::ZERO,
        checks: Line::default(),
        cash_drawer: Decimal::ZERO,
        insurance: Decimal::ZERO,
        voids: day.iter().filter(|e| e.kind == Kind::Void).collect(),
        refunds: day.iter().filter(|e| e.kind == Kind::Refund).collect(),
    };
    for e in day {
        if e.kind == Kind::InsurancePayment {
            c.insurance += e.amount;
        }
        if e.kind == Kind::Void
            && let Some(t) = e.voids.as_ref().and_then(|v| targets.get(v))
            && t.kind == Kind::InsurancePayment
        {
            c.insurance -= t.amount;
        }
        let Some((method, count, amount)) = drawer_effect(e, targets) else {
            continue;
        };
        for line in [
            c.by_method.entry(method).or_default(),
            c.by_staff.entry(e.by.clone()).or_default(),
        ] {
            line.count += count;
            line.net += amount;
        }
        c.total += amount;
    }
    // Two decimals everywhere, so JSON shows 0.00 rather than 0.
    for line in c.by_method.values_mut().chain(c.by_staff.values_mut()) {
        line.net = cents(line.net);
    }
    c.total = cents(c.total);
    c.insurance = cents(c.insurance);
    c.checks = c.by_method.get(&Method::Check).cloned().unwrap_or_default();
    c.cash_drawer = c
        .by_method
        .get(&Method::Cash)
        .map(|l| l.net)
        .unwrap_or_default();
    c
}

// Amounts in tests are written in cents grouped as dollars_cents (150_00 is $150.00).
#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;
    use crate::domain::id::IdKind;
    use chrono::{FixedOffset, TimeZone};
    use proptest::prelude::*;

    fn entry(kind: Kind, method: Method, cents: i64, by: &str) -> Entry {
        let at = FixedOffset::west_opt(5 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 12, 1, 10, 0, 0)
            .unwrap();
        let mut e = Entry::new(
            kind,
            Id::generate(IdKind::Patient),
            Decimal::new(cents, 2),
            at,
            by,
        );
        e.method = Some(method);
        e
    }

    #[test]
    fn voids_and_refunds_come_out_of_their_method() {
        let cash = entry(Kind::Payment, Method::Cash, 40_00, "ann");
        let check = entry(Kind::Payment, Method::Check, 100_00, "bob");
        let mut void = entry(Kind::Void, Method::Cash, 40_00, "bob");
        void.voids = Some(cash.id.clone());
        let refund = entry(Kind::Refund, Method::Card, 5_00, "ann");
        let day = vec![cash.clone(), check, void, refund];
        let targets = HashMap::from([(cash.id.clone(), cash)]);
        let c = closeout(day[0].date, &day, &targets);
        assert_eq!(c.cash_drawer, Decimal::ZERO);
        assert_eq!(
            c.checks,
            Line {
                count: 1,
                net: Decimal::new(100_00, 2)
            }
        );
        assert_eq!(c.by_method[&Method::Card].net, Decimal::new(-5_00, 2));
        assert_eq!(c.total, Decimal::new(95_00, 2));
        assert_eq!(c.by_staff["bob"].net, Decimal::new(60_00, 2));
        assert_eq!((c.voids.len(), c.refunds.len()), (1, 1));
    }

    fn arb_method() -> impl Strategy<Value = Method> {
        prop_oneof![
            Just(Method::Cash),
            Just(Method::Check),
            Just(Method::Card),
            Just(Method::Other)
        ]
    }

    proptest! {
        #[test]
        fn totals_are_the_signed_sums_of_the_days_entries(
            specs in prop::collection::vec((arb_method(), 1i64..100_000, any::<bool>(), 0u8..3), 0..30)
        ) {
            let mut day = Vec::new();
            for (m, cents, refund, staff) in specs {
                let kind = if refund { Kind::Refund } else { Kind::Payment };
                day.push(entry(kind, m, cents, ["ann", "bob", "cy"][staff as usize]));
            }
            let c = closeout(day.first().map_or(NaiveDate::MIN, |e| e.date), &day, &HashMap::new());
            for m in Method::ALL {
                let expected: Decimal = day
                    .iter()
                    .filter(|e| e.method == Some(m))
                    .map(|e| if e.kind == Kind::Refund { -e.amount } else { e.amount })
                    .sum();
                prop_assert_eq!(c.by_method[&m].net, expected);
            }
            let staff: Decimal = c.by_staff.values().map(|l| l.net).sum();
            let methods: Decimal = c.by_method.values().map(|l| l.net).sum();
            prop_assert_eq!(staff, c.total);
            prop_assert_eq!(methods, c.total);
        }
    }
}
