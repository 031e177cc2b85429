//! What templates and JSON see: records turned into already-formatted text (money with its
//! currency, dates as the office writes them), so templates never do arithmetic.

use serde::Serialize;

use crate::domain::ledger::{AppliesTo, Balance, Entry, Method};
use crate::domain::money;
use crate::domain::office::Office;
use crate::domain::patient::Patient;
use crate::domain::phone;

#[derive(Debug, Serialize)]
pub struct OfficeView {
    pub name: String,
    pub address: Vec<String>,
    pub phone: String,
    pub email: String,
}

impl OfficeView {
    pub fn new(o: &Office) -> OfficeView {
        OfficeView {
            name: o.name.clone(),
            address: o.address.as_ref().map(|a| a.lines()).unwrap_or_default(),
            phone: o
                .phone
                .as_deref()
                .map(|p| phone::display(p, o.calling_code()))
                .unwrap_or_default(),
            email: o.email.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PatientView {
    pub id: String,
    pub name: String,
    pub address: Vec<String>,
}

impl PatientView {
    pub fn new(p: &Patient) -> PatientView {
        let mut name = format!("{} {}", p.given, p.family);
        if let Some(sfx) = &p.suffix {
            name = format!("{name} {sfx}");
        }
        PatientView {
            id: p.id.to_string(),
            name,
            address: p.address.as_ref().map(|a| a.lines()).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BalanceView {
    pub total: String,
    pub insurance: String,
    pub patient: String,
    pub due_now: String,
    pub credit: String,
    pub has_credit: bool,
    pub insurance_pending: bool,
}

impl BalanceView {
    pub fn new(b: &Balance, currency: &str) -> BalanceView {
        BalanceView {
            total: money::with_credit(b.total, currency),
            insurance: money::display(b.insurance, currency),
            patient: money::with_credit(b.patient, currency),
            due_now: money::display(b.due_now, currency),
            credit: money::display(b.credit, currency),
            has_credit: !b.credit.is_zero(),
            insurance_pending: !b.insurance.is_zero(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EntryView {
    pub id: String,
    pub kind: String,
    pub date: String,
    pub recorded: String,
    pub amount: String,
    pub method: String,
    pub reference: String,
    pub applies_to: String,
    pub appointment: String,
    pub by: String,
    pub description: String,
}

impl EntryView {
    pub fn new(e: &Entry, currency: &str) -> EntryView {
        EntryView {
            id: e.id.to_string(),
            kind: e.kind.as_str().to_string(),
            date: e.date.to_string(),
            recorded: e.recorded.format("%Y-%m-%d %H:%M").to_string(),
            amount: money::display(e.amount, currency),
            method: e.method.map(Method::as_str).unwrap_or("").to_string(),
            reference: e.reference.clone().unwrap_or_default(),
            applies_to: e
                .applies_to
                .map(AppliesTo::as_str)
                .unwrap_or("account")
                .to_string(),
            appointment: e
                .appointment
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            by: e.by.clone(),
            description: e.describe(),
        }
    }
}
