//! `report aging`: the office's accounts receivable by age, split into what insurance is still
//! expected to pay and what patients owe, by payer, and the largest balances.
//!
//! Each patient's balance is aged by [`ledger::aging`] (credits pay the oldest debts first),
//! so the buckets of every patient, and so of the office, add up to the balance. The insurance
//! part is the insurance share of each charge still pending with the payer, aged by the charge's
//! date and filed under the payer of the patient's primary coverage on that date; the patient
//! part of each bucket is the rest.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::id::Id;
use crate::domain::ledger::{self, Aging, Balance, Entry};
use crate::domain::money::cents;
use crate::domain::patient::Patient;

/// Payer name used when a pending charge's date has no primary coverage on file.
pub const NO_PAYER: &str = "(no coverage on file)";

#[derive(Debug, Clone, PartialEq)]
pub struct PatientAging {
    pub patient: Id,
    pub balance: Balance,
    pub total: Aging,
    pub insurance: Aging,
    pub patient_part: Aging,
    /// The insurance part by payer key.
    pub payers: BTreeMap<String, Aging>,
}

/// One patient's aged balance as of `as_of`, from entries dated on or before it; None when
/// the account is settled. `patient` gives the payer of pending insurance charges.
pub fn patient_aging(
    id: &Id,
    entries: &[Entry],
    as_of: NaiveDate,
    patient: Option<&Patient>,
) -> Option<PatientAging> {
    let upto: Vec<Entry> = entries
        .iter()
        .filter(|e| e.date <= as_of)
        .cloned()
        .collect();
    let balance = ledger::balance(&upto);
    let total = ledger::aging(&upto, as_of);
    if balance.total.is_zero() && total == Aging::default() {
        return None;
    }
    let mut insurance = Aging::default();
    let mut payers: BTreeMap<String, Aging> = BTreeMap::new();
    for c in ledger::pending_charges(&upto) {
        let part = ledger::insurance_part(c);
        let age = (as_of - c.date).num_days();
        *insurance.bucket(age) += part;
        let payer = patient
            .and_then(|p| p.coverage_on(1, c.date))
            .map_or(NO_PAYER.to_string(), |cov| cov.payer.clone());
        *payers.entry(payer).or_default().bucket(age) += part;
    }
    let patient_part = minus(&total, &insurance);
    Some(PatientAging {
        patient: id.clone(),
        balance,
        total,
        insurance: two_places(&insurance),
        patient_part,
        payers: payers
            .iter()
            .map(|(k, v)| (k.clone(), two_places(v)))
            .collect(),
    })
}

/// Whether a patient's insurance part needs the patient record (to name the payer).
pub fn has_pending_insurance(entries: &[Entry], as_of: NaiveDate) -> bool {
    let upto: Vec<Entry> = entries
        .iter()
        .filter(|e| e.date <= as_of)
        .cloned()
        .collect();
    !ledger::pending_charges(&upto).is_empty()
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfficeAging {
    pub total: Aging,
    pub insurance: Aging,
    pub patient: Aging,
    pub payers: BTreeMap<String, Aging>,
    /// Accounts with a balance.
    pub accounts: u64,
    /// The largest balances, largest first (ties by patient ID).
    pub largest: Vec<PatientAging>,
}

/// The office's totals from every patient's aging; keeps the `top` largest balances.
pub fn office_aging(patients: Vec<PatientAging>, top: usize) -> OfficeAging {
    let mut o = OfficeAging::default();
    for p in &patients {
        add(&mut o.total, &p.total);
        add(&mut o.insurance, &p.insurance);
        add(&mut o.patient, &p.patient_part);
        for (payer, a) in &p.payers {
            add(o.payers.entry(payer.clone()).or_default(), a);
        }
        o.accounts += 1;
    }
    let mut largest = patients;
    largest.sort_by(|a, b| {
        b.balance
            .total
            .cmp(&a.balance.total)
            .then_with(|| a.patient.cmp(&b.patient))
    });
    largest.truncate(top);
    o.largest = largest;
    o
}

/// The four buckets in order, with their names as reports show them.
pub fn buckets(a: &Aging) -> [(&'static str, Decimal); 4] {
    [
        ("0-30", a.current),
        ("31-60", a.days_31_60),
        ("61-90", a.days_61_90),
        ("90+", a.over_90),
    ]
}

fn add(to: &mut Aging, a: &Aging) {
    to.current += a.current;
    to.days_31_60 += a.days_31_60;
    to.days_61_90 += a.days_61_90;
    to.over_90 += a.over_90;
}

fn minus(a: &Aging, b: &Aging) -> Aging {
    Aging {
        current: cents(a.current - b.current),
        days_31_60: cents(a.days_31_60 - b.days_31_60),
        days_61_90: cents(a.days_61_90 - b.days_61_90),
        over_90: cents(a.over_90 - b.over_90),
    }
}

fn two_places(a: &Aging) -> Aging {
    minus(a, &Aging::default())
}

// Amounts in tests are written in cents grouped as dollars_cents (100_00 is $100.00).
#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;
    use crate::domain::id::IdKind;
    use crate::domain::ledger::{BillTo, Kind};
    use chrono::{Duration, FixedOffset, TimeZone};
    use proptest::prelude::*;

    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap() - Duration::days(n)
    }

    fn entry(patient: &Id, kind: Kind, cents: i64, days_ago: i64) -> Entry {
        let at = FixedOffset::west_opt(5 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 12, 1, 10, 0, 0)
            .unwrap();
        let mut e = Entry::new(kind, patient.clone(), Decimal::new(cents, 2), at, "ann");
        e.date = day(days_ago);
        e
    }

    /// (kind 0..4, cents, days ago, billed to insurance, co-pay cents)
    type Spec = (u8, i64, i64, bool, i64);

    fn ledger_of(patient: &Id, specs: &[Spec]) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for &(k, cents, ago, ins, copay) in specs {
            let kind = [Kind::Charge, Kind::Payment, Kind::Adjustment, Kind::Refund][k as usize];
            let mut e = entry(patient, kind, cents, ago);
            if kind == Kind::Charge && ins {
                e.bill_to = Some(BillTo::Insurance);
                e.patient_portion = Some(Decimal::new(copay.min(cents), 2));
            }
            out.push(e);
        }
        ledger::sort_entries(&mut out);
        out
    }

    fn arb_spec() -> impl Strategy<Value = Spec> {
        (0u8..4, 1i64..50_000, 0i64..200, any::<bool>(), 0i64..5_000)
    }

    proptest! {
        /// The buckets partition the balance: for every patient and for the office, the four
        /// buckets add up to the balance, and insurance plus patient parts add up to each bucket.
        #[test]
        fn buckets_partition_the_balance(
            ledgers in prop::collection::vec(prop::collection::vec(arb_spec(), 0..12), 0..8)
        ) {
            let as_of = day(0);
            let mut rows = Vec::new();
            let mut expected = Decimal::ZERO;
            for specs in &ledgers {
                let id = Id::generate(IdKind::Patient);
                let entries = ledger_of(&id, specs);
                let b = ledger::balance(&entries);
                expected += b.total;
                if let Some(p) = patient_aging(&id, &entries, as_of, None) {
                    prop_assert_eq!(p.total.sum(), p.balance.total);
                    prop_assert_eq!(p.insurance.sum(), p.balance.insurance);
                    prop_assert_eq!(p.insurance.sum() + p.patient_part.sum(), p.balance.total);
                    rows.push(p);
                } else {
                    prop_assert!(b.total.is_zero());
                }
            }
            let o = office_aging(rows, 3);
            prop_assert_eq!(o.total.sum(), expected);
            for ((_, t), ((_, i), (_, p))) in buckets(&o.total)
                .iter()
                .zip(buckets(&o.insurance).iter().zip(buckets(&o.patient).iter()))
            {
                prop_assert_eq!(*t, *i + *p);
            }
            let by_payer: Decimal = o.payers.values().map(Aging::sum).sum();
            prop_assert_eq!(by_payer, o.insurance.sum());
            prop_assert!(o.largest.len() <= 3);
            prop_assert!(o.largest.windows(2).all(|w| w[0].balance.total >= w[1].balance.total));
        }
    }

    #[test]
    fn a_pending_insurance_charge_ages_under_insurance_and_the_copay_under_the_patient() {
        let id = Id::generate(IdKind::Patient);
        // 100.00 billed to insurance 45 days ago, 25.00 of it the patient's co-pay.
        let entries = ledger_of(&id, &[(0, 100_00, 45, true, 25_00)]);
        let p = patient_aging(&id, &entries, day(0), None).unwrap();
        assert_eq!(p.total.days_31_60, Decimal::new(100_00, 2));
        assert_eq!(p.insurance.days_31_60, Decimal::new(75_00, 2));
        assert_eq!(p.patient_part.days_31_60, Decimal::new(25_00, 2));
        assert_eq!(p.payers[NO_PAYER].days_31_60, Decimal::new(75_00, 2));
        // Entries after the as-of date do not count.
        assert!(patient_aging(&id, &entries, day(46), None).is_none());
    }
}
