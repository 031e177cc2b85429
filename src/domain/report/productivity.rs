//! `report productivity`: visits, charges and collections for a period, by provider and by
//! staff member.
//!
//! Visits are appointments checked out (fulfilled), counted for their provider and for the
//! staff member who checked them out. Charges and collections are the ledger entries of the
//! period still in effect (an entry voided within the period counts for neither); a provider
//! is credited through the appointment the entry names, the staff member who recorded it always.
//! Collections are patient payments and insurance payments less refunds.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;

use crate::domain::id::Id;
use crate::domain::ledger::{self, Entry, Kind};
use crate::domain::money::cents;
use crate::domain::schedule::{Appointment, Status};

/// Where entries that name no appointment of the period are filed under "provider".
pub const NO_VISIT: &str = "(no visit in period)";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    pub visits: u64,
    pub charges: Decimal,
    pub collections: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Productivity {
    pub total: Activity,
    pub by_provider: BTreeMap<String, Activity>,
    pub by_staff: BTreeMap<String, Activity>,
}

/// Totals from the period's appointments and ledger entries.
pub fn productivity(appointments: &[Appointment], entries: &[Entry]) -> Productivity {
    let mut p = Productivity::default();
    let provider_of: HashMap<&Id, &str> = appointments
        .iter()
        .map(|a| (&a.id, a.provider.as_str()))
        .collect();
    for a in appointments
        .iter()
        .filter(|a| a.status == Status::Fulfilled)
    {
        let by = a
            .history
            .iter()
            .rev()
            .find(|c| c.status == Status::Fulfilled)
            .map_or("(unknown)", |c| c.by.as_str());
        for act in [
            p.by_provider.entry(a.provider.clone()).or_default(),
            p.by_staff.entry(by.to_string()).or_default(),
            &mut p.total,
        ] {
            act.visits += 1;
        }
    }
    for e in ledger::effective(entries) {
        let (charge, collected) = match e.kind {
            Kind::Charge => (e.amount, Decimal::ZERO),
            Kind::Payment | Kind::InsurancePayment => (Decimal::ZERO, e.amount),
            Kind::Refund => (Decimal::ZERO, -e.amount),
            Kind::Adjustment | Kind::Void => continue,
        };
        let provider = e
            .appointment
            .as_ref()
            .and_then(|a| provider_of.get(a))
            .copied()
            .unwrap_or(NO_VISIT);
        for act in [
            p.by_provider.entry(provider.to_string()).or_default(),
            p.by_staff.entry(e.by.clone()).or_default(),
            &mut p.total,
        ] {
            act.charges += charge;
            act.collections += collected;
        }
    }
    for act in p
        .by_provider
        .values_mut()
        .chain(p.by_staff.values_mut())
        .chain(std::iter::once(&mut p.total))
    {
        act.charges = cents(act.charges);
        act.collections = cents(act.collections);
    }
    p
}

// Amounts in tests are written in cents grouped as dollars_cents (125_00 is $125.00).
#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;
    use crate::domain::id::IdKind;
    use chrono::{DateTime, Duration};

    #[test]
    fn visits_charges_and_collections_by_provider_and_staff() {
        let t = DateTime::parse_from_rfc3339("2026-12-01T09:00:00-05:00").unwrap();
        let patient = Id::generate(IdKind::Patient);
        let mut a = Appointment::booked(
            Id::generate(IdKind::Appointment),
            patient.clone(),
            "okafor",
            "follow-up",
            t,
            t + Duration::minutes(20),
        );
        a.set_status(Status::Arrived, t, "ann", None, None).unwrap();
        a.set_status(Status::Fulfilled, t, "bob", None, None)
            .unwrap();
        let mut charge = Entry::new(
            Kind::Charge,
            patient.clone(),
            Decimal::new(125_00, 2),
            t,
            "cy",
        );
        charge.appointment = Some(a.id.clone());
        let pay = Entry::new(
            Kind::Payment,
            patient.clone(),
            Decimal::new(25_00, 2),
            t,
            "ann",
        );
        let voided = Entry::new(
            Kind::Payment,
            patient.clone(),
            Decimal::new(10_00, 2),
            t,
            "ann",
        );
        let mut void = Entry::new(
            Kind::Void,
            patient.clone(),
            Decimal::new(10_00, 2),
            t,
            "ann",
        );
        void.voids = Some(voided.id.clone());
        let p = productivity(&[a], &[charge, pay, voided, void]);
        assert_eq!(p.by_provider["okafor"].visits, 1);
        assert_eq!(p.by_provider["okafor"].charges, Decimal::new(125_00, 2));
        assert_eq!(p.by_provider[NO_VISIT].collections, Decimal::new(25_00, 2));
        assert_eq!(p.by_staff["bob"].visits, 1);
        assert_eq!(p.by_staff["cy"].charges, Decimal::new(125_00, 2));
        assert_eq!(p.by_staff["ann"].collections, Decimal::new(25_00, 2));
        assert_eq!(
            p.total,
            Activity {
                visits: 1,
                charges: Decimal::new(125_00, 2),
                collections: Decimal::new(25_00, 2)
            }
        );
    }
}
