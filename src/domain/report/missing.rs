//! `report missing-info`: active patients whose file lacks what the desk needs: an address, a
//! phone, an emergency contact, coverage in force, or insurance verified in the 30 days before
//! their next visit.

use chrono::NaiveDate;

use crate::domain::patient::{Patient, Status};
use crate::domain::report::daily::{Coverage, coverage};

/// What is missing from one patient's file, in a fixed order; empty when nothing is.
pub fn missing(p: &Patient, next_visit: Option<NaiveDate>, today: NaiveDate) -> Vec<&'static str> {
    let mut out = Vec::new();
    let address_ok = p.address.as_ref().is_some_and(|a| {
        !a.line1.trim().is_empty()
            && !a.city.trim().is_empty()
            && a.postal_code
                .as_deref()
                .is_some_and(|z| !z.trim().is_empty())
    });
    if !address_ok {
        out.push("address");
    }
    if p.phones.is_empty() {
        out.push("phone");
    }
    if p.emergency_contacts.is_empty() {
        out.push("emergency contact");
    }
    let on = next_visit.unwrap_or(today);
    match coverage(p, on) {
        Coverage::Ended => out.push("coverage ended"),
        Coverage::Unverified if next_visit.is_some() => {
            out.push("insurance not verified before the visit")
        }
        _ => {}
    }
    out
}

/// Whether the report looks at this patient at all.
pub fn is_active(p: &Patient) -> bool {
    p.status == Status::Active
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::common::Address;
    use crate::domain::id::{Id, IdKind};
    use crate::domain::patient::{Contact, Phone, PhoneKind};
    use chrono::DateTime;

    #[test]
    fn each_gap_is_named_once_and_a_complete_file_has_none() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T10:00:00-05:00").unwrap();
        let today = now.date_naive();
        let mut p = Patient::new(Id::generate(IdKind::Patient), now);
        assert_eq!(
            missing(&p, None, today),
            vec!["address", "phone", "emergency contact"]
        );
        p.address = Some(Address {
            line1: "1 Main St".into(),
            line2: None,
            city: "Cambridge".into(),
            state: Some("MA".into()),
            postal_code: Some("02139".into()),
            country: None,
        });
        p.phones.push(Phone {
            kind: PhoneKind::Mobile,
            number: "+16175550101".into(),
            voicemail_ok: false,
            sms_ok: false,
        });
        p.emergency_contacts.push(Contact {
            name: "A".into(),
            relation: None,
            phone: None,
            release_on_file: None,
            address: None,
        });
        assert!(missing(&p, Some(today), today).is_empty());
        assert!(is_active(&p));
    }
}
