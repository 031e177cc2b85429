//! `report daily DATE`: the day ahead by provider: who is unconfirmed, whose coverage was not
//! verified in the last 30 days or has ended, the co-pays to collect, the balances owed, and
//! the new patients, and who needs an interpreter (the patient file's `interpreter_needed`).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use crate::domain::ledger::{self, Entry};
use crate::domain::patient::Patient;
use crate::domain::schedule::{Appointment, AppointmentTypes, CopayKind, Status};

/// Coverage verified longer ago than this is due for a check.
pub const VERIFY_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Coverage {
    /// Primary coverage in force and verified in the last 30 days.
    Verified,
    /// Primary coverage in force, not verified in the 30 days before the day.
    Unverified,
    /// The patient had coverage, none of it in force on the day.
    Ended,
    /// No coverage on file (self-pay).
    None,
}

impl Coverage {
    pub fn as_str(self) -> &'static str {
        match self {
            Coverage::Verified => "verified",
            Coverage::Unverified => "not verified in 30 days",
            Coverage::Ended => "ended",
            Coverage::None => "none on file",
        }
    }
    /// Something the desk has to do before the visit.
    pub fn needs_action(self) -> bool {
        matches!(self, Coverage::Unverified | Coverage::Ended)
    }
}

/// The state of the patient's primary coverage on `on`.
pub fn coverage(p: &Patient, on: NaiveDate) -> Coverage {
    match p.coverage_on(1, on) {
        Some(c) => match c.last_verified() {
            Some(v) if v.at.date_naive() > on - Duration::days(VERIFY_DAYS) => Coverage::Verified,
            _ => Coverage::Unverified,
        },
        None if p.insurance.iter().any(|c| !c.active_on(on)) => Coverage::Ended,
        None => Coverage::None,
    }
}

/// One appointment on the day sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    pub appointment: &'a Appointment,
    pub confirmed: bool,
    pub coverage: Coverage,
    /// Co-pay still to collect for this visit.
    pub copay: Option<Decimal>,
    /// What the patient owes now (insurance's expected part left out).
    pub owed: Decimal,
    pub new_patient: bool,
    /// The language to book an interpreter for (`interpreter_needed` on the patient's file);
    /// "yes" when no language is recorded.
    pub interpreter: Option<String>,
}

/// The row of one appointment holding time on `date`; `patient` and `entries` are the
/// patient's record and ledger (None when the file is missing: nothing to check).
pub fn row<'a>(
    a: &'a Appointment,
    patient: Option<&Patient>,
    entries: &[Entry],
    types: &AppointmentTypes,
    date: NaiveDate,
) -> Row<'a> {
    let kind = types.get(&a.kind).ok();
    let copay_kind = kind.map_or(CopayKind::None, |k| k.copay);
    Row {
        appointment: a,
        confirmed: a.status != Status::Booked,
        coverage: patient.map_or(Coverage::None, |p| coverage(p, date)),
        copay: patient
            .and_then(|p| ledger::copay_outstanding(p, copay_kind, date, &a.id, entries))
            .map(|c| c.amount),
        owed: ledger::balance(entries).due_now,
        new_patient: kind.is_some_and(|k| k.new_patient),
        interpreter: patient.filter(|p| p.interpreter_needed).map(|p| {
            p.language
                .clone()
                .filter(|l| !l.trim().is_empty())
                .unwrap_or_else(|| "yes".to_string())
        }),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub visits: u64,
    pub unconfirmed: u64,
    pub coverage_to_check: u64,
    pub copays: Decimal,
    pub owed: Decimal,
    pub new_patients: u64,
    pub interpreters: u64,
}

/// Totals per provider.
pub fn by_provider(rows: &[Row]) -> BTreeMap<String, Summary> {
    let mut out: BTreeMap<String, Summary> = BTreeMap::new();
    for r in rows {
        let s = out.entry(r.appointment.provider.clone()).or_default();
        s.visits += 1;
        s.unconfirmed += u64::from(!r.confirmed);
        s.coverage_to_check += u64::from(r.coverage.needs_action());
        s.copays += r.copay.unwrap_or_default();
        s.owed += r.owed;
        s.new_patients += u64::from(r.new_patient);
        s.interpreters += u64::from(r.interpreter.is_some());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::id::{Id, IdKind};
    use crate::domain::insurance::{
        Coverage as Cov, Relationship, Subscriber, Verification, VerifyMethod, VerifyResult,
    };
    use chrono::{DateTime, FixedOffset};

    fn at(d: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(&format!("{d}T10:00:00-05:00")).unwrap()
    }

    fn day(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    fn cov(end: Option<&str>, verified: Option<&str>) -> Cov {
        Cov {
            rank: 1,
            payer: "aetna-ppo".into(),
            plan: None,
            member_id: "W1".into(),
            group: None,
            effective: day("2026-01-01"),
            end: end.map(day),
            copay_office: Some(Decimal::new(2500, 2)),
            copay_specialist: None,
            copay_urgent: None,
            deductible: None,
            subscriber: Subscriber {
                relationship: Relationship::Own,
                name: None,
                birth_date: None,
            },
            verifications: verified
                .map(|v| Verification {
                    at: at(v),
                    by: "ann".into(),
                    via: VerifyMethod::Portal,
                    result: VerifyResult::Active,
                    reference: None,
                    note: None,
                })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn coverage_states() {
        let mut p = Patient::new(Id::generate(IdKind::Patient), at("2026-01-01"));
        let on = day("2026-12-01");
        assert_eq!(coverage(&p, on), Coverage::None);
        p.insurance = vec![cov(None, Some("2026-11-20"))];
        assert_eq!(coverage(&p, on), Coverage::Verified);
        p.insurance = vec![cov(None, Some("2026-10-01"))];
        assert_eq!(coverage(&p, on), Coverage::Unverified);
        p.insurance = vec![cov(None, None)];
        assert_eq!(coverage(&p, on), Coverage::Unverified);
        p.insurance = vec![cov(Some("2026-11-30"), Some("2026-11-20"))];
        assert_eq!(coverage(&p, on), Coverage::Ended);
        assert!(Coverage::Ended.needs_action() && !Coverage::None.needs_action());
    }

    #[test]
    fn interpreters_are_named_by_language_and_counted() {
        let t = at("2026-12-01");
        let mut p = Patient::new(Id::generate(IdKind::Patient), t);
        let a = Appointment::booked(
            Id::generate(IdKind::Appointment),
            p.id.clone(),
            "okafor",
            "follow-up",
            t,
            t + Duration::minutes(20),
        );
        let types = AppointmentTypes {
            schema: 1,
            types: vec![],
        };
        let on = day("2026-12-01");
        assert_eq!(row(&a, Some(&p), &[], &types, on).interpreter, None);
        p.interpreter_needed = true;
        assert_eq!(
            row(&a, Some(&p), &[], &types, on).interpreter.as_deref(),
            Some("yes")
        );
        p.language = Some("Spanish".into());
        let r = row(&a, Some(&p), &[], &types, on);
        assert_eq!(r.interpreter.as_deref(), Some("Spanish"));
        assert!(!r.confirmed && !r.new_patient);
        let s = by_provider(&[r]);
        assert_eq!((s["okafor"].visits, s["okafor"].interpreters), (1, 1));
    }
}
