//! The patient ledger: entries that are never edited or deleted, and the pure rules over them
//! (balance, who is expected to pay, credits, aging, co-pays, refunds and voids).
//!
//! Every entry's `amount` is positive; its kind decides the sign. The balance is
//!
//! ```text
//! charges − payments − insurance payments − adjustments + refunds
//! ```
//!
//! over the entries that are in effect: a `void` names one entry and takes both itself and that
//! entry out of every sum. An insurance payment's contractual adjustment (the part of the bill
//! the payer's contract writes off) counts as an adjustment.
//!
//! Responsibility: a charge billed to insurance is "pending" (the payer is expected to pay it,
//! less the co-pay expected from the patient) until an insurance payment names it; from then on
//! whatever remains of it is the patient's. The amount due now is the patient's part only, so a
//! statement never asks a patient for money insurance is still expected to pay.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::id::{Id, IdKind};
use crate::domain::money::{cents, check_cents, check_positive};
use crate::domain::patient::Patient;
use crate::error::{Error, Result};

pub const SCHEMA: u32 = 1;

/// Declared in the order entries recorded at the same instant are listed: a charge before what
/// pays it, a void after what it voids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Charge,
    Payment,
    InsurancePayment,
    Adjustment,
    Refund,
    Void,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Charge => "charge",
            Kind::Payment => "payment",
            Kind::InsurancePayment => "insurance-payment",
            Kind::Adjustment => "adjustment",
            Kind::Refund => "refund",
            Kind::Void => "void",
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Cash,
    Check,
    Card,
    Other,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Cash => "cash",
            Method::Check => "check",
            Method::Card => "card",
            Method::Other => "other",
        }
    }
    pub const ALL: [Method; 4] = [Method::Cash, Method::Check, Method::Card, Method::Other];
}

/// Who a charge is expected to be paid by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BillTo {
    /// Sent to the patient's insurance; pending until the payer answers.
    Insurance,
    /// The patient pays it all (self-pay, not covered).
    Patient,
}

/// What a patient payment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppliesTo {
    /// The account in general (oldest balance first).
    Account,
    /// One appointment's charges.
    Appointment,
    /// Named charges.
    Charges,
    /// The co-pay at check-in.
    Copay,
    /// Money paid ahead of a visit; a credit until charges arrive.
    Prepayment,
}

impl AppliesTo {
    pub fn as_str(self) -> &'static str {
        match self {
            AppliesTo::Account => "account",
            AppliesTo::Appointment => "appointment",
            AppliesTo::Charges => "charges",
            AppliesTo::Copay => "co-pay",
            AppliesTo::Prepayment => "prepayment",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum AdjustmentKind {
    WriteOff,
    Discount,
    Hardship,
}

impl AdjustmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentKind::WriteOff => "write-off",
            AdjustmentKind::Discount => "discount",
            AdjustmentKind::Hardship => "financial hardship",
        }
    }
}

/// One billed service on a charge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceLine {
    pub code: String,
    pub description: String,
    pub fee: Decimal,
}

/// One ledger entry (`ledger/YYYY/MM/DD/T….toml`). Fields that do not apply to a kind are
/// left out of the file; [`Entry::validate`] says which each kind needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub schema: u32,
    pub id: Id,
    pub kind: Kind,
    pub patient: Id,
    /// The business day, in the office's time zone; the file lives in that day's directory.
    pub date: NaiveDate,
    /// Always positive; the kind gives the sign.
    pub amount: Decimal,
    /// When it was recorded, and by which staff member.
    pub recorded: DateTime<FixedOffset>,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<Id>,
    /// Charge: who is expected to pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_to: Option<BillTo>,
    /// Charge billed to insurance: the part expected from the patient (the co-pay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_portion: Option<Decimal>,
    /// Payment and refund: how the money moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// Check number or card last four digits, or the payer's EOB number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<AppliesTo>,
    /// Payment: the charges it pays; insurance payment: the charges it settles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charges: Vec<Id>,
    /// Insurance payment: the payer's key, claim number, allowed amount, contractual
    /// adjustment and the patient's responsibility per the EOB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contractual: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_responsibility: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustment: Option<AdjustmentKind>,
    /// Void: the entry it reverses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voids: Option<Id>,
    /// Adjustment, refund, void: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A retried `pay collect` or import row with the same key records nothing new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceLine>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

impl Entry {
    /// A new entry with the fields every kind has; the caller fills in the rest.
    pub fn new(
        kind: Kind,
        patient: Id,
        amount: Decimal,
        at: DateTime<FixedOffset>,
        by: &str,
    ) -> Entry {
        Entry {
            schema: SCHEMA,
            id: Id::generate(IdKind::Transaction),
            kind,
            patient,
            date: at.date_naive(),
            amount,
            recorded: at,
            by: by.to_string(),
            appointment: None,
            bill_to: None,
            patient_portion: None,
            method: None,
            reference: None,
            applies_to: None,
            charges: Vec::new(),
            payer: None,
            claim: None,
            allowed: None,
            contractual: None,
            patient_responsibility: None,
            adjustment: None,
            voids: None,
            reason: None,
            idempotency_key: None,
            services: Vec::new(),
            extra: toml::Table::new(),
        }
    }

    /// Checks what every stored entry of its kind must carry.
    pub fn validate(&self) -> Result<()> {
        if self.id.kind() != IdKind::Transaction {
            return Err(Error::user("id is not a ledger entry ID (T…)"));
        }
        if self.patient.kind() != IdKind::Patient {
            return Err(Error::user("patient is not a patient ID (P…)"));
        }
        check_positive("amount", self.amount)?;
        for (field, v) in [
            ("patient_portion", self.patient_portion),
            ("allowed", self.allowed),
            ("contractual", self.contractual),
            ("patient_responsibility", self.patient_responsibility),
        ] {
            if let Some(v) = v {
                check_cents(field, v)?;
            }
        }
        let need = |ok: bool, what: &str| -> Result<()> {
            if ok {
                Ok(())
            } else {
                Err(Error::user(format!(
                    "a {} entry needs {what}",
                    self.kind.as_str()
                )))
            }
        };
        match self.kind {
            Kind::Charge => {
                need(self.bill_to.is_some(), "bill_to")?;
                need(!self.services.is_empty(), "at least one service")?;
                let sum: Decimal = self.services.iter().map(|s| s.fee).sum();
                need(
                    sum == self.amount,
                    "an amount equal to the sum of its service fees",
                )?;
                need(
                    self.patient_portion.unwrap_or_default() <= self.amount,
                    "a patient portion no larger than its amount",
                )
            }
            Kind::Payment | Kind::Refund => need(self.method.is_some(), "a method"),
            Kind::InsurancePayment => need(self.payer.is_some(), "a payer"),
            Kind::Adjustment => need(self.adjustment.is_some(), "an adjustment kind"),
            Kind::Void => need(self.voids.is_some(), "the entry it voids"),
        }
    }

    /// The amounts an insurance payment takes off the balance: what was paid plus the
    /// contractual adjustment.
    fn credit(&self) -> Decimal {
        match self.kind {
            Kind::InsurancePayment => self.amount + self.contractual.unwrap_or_default(),
            Kind::Payment | Kind::Adjustment => self.amount,
            _ => Decimal::ZERO,
        }
    }

    /// The entry's effect on the balance: positive adds to what is owed.
    pub fn effect(&self) -> Decimal {
        match self.kind {
            Kind::Charge | Kind::Refund => self.amount,
            Kind::Payment | Kind::Adjustment | Kind::InsurancePayment => -self.credit(),
            Kind::Void => Decimal::ZERO,
        }
    }

    /// A one-line description for ledgers and statements (no values from other records).
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Charge => {
                let codes: Vec<&str> = self.services.iter().map(|s| s.code.as_str()).collect();
                format!("Charge {}", codes.join(", "))
            }
            Kind::Payment => {
                let what = self.applies_to.unwrap_or(AppliesTo::Account).as_str();
                let method = self.method.map(Method::as_str).unwrap_or("payment");
                format!("Payment ({method}, {what})")
            }
            Kind::InsurancePayment => {
                format!(
                    "Insurance payment ({})",
                    self.payer.as_deref().unwrap_or("payer")
                )
            }
            Kind::Adjustment => format!(
                "Adjustment ({})",
                self.adjustment
                    .map(AdjustmentKind::as_str)
                    .unwrap_or("other")
            ),
            Kind::Refund => "Refund".to_string(),
            Kind::Void => match &self.voids {
                Some(id) => format!("Void of {id}"),
                None => "Void".to_string(),
            },
        }
    }
}

/// Checks a payment reference for its method: a check needs its number; a card reference is
/// the last four digits only (a full card number is never stored); anything else is one short
/// line.
pub fn check_reference(method: Method, reference: Option<&str>) -> Result<Option<String>> {
    let r = reference.map(str::trim).filter(|r| !r.is_empty());
    match (method, r) {
        (Method::Check, None) => Err(Error::user(
            "a check payment needs --ref with the check number",
        )),
        (Method::Card, Some(r)) if !(r.len() == 4 && r.bytes().all(|b| b.is_ascii_digit())) => {
            Err(Error::user("--ref for a card is its last four digits")
                .hint("never type a whole card number; only the last four digits are kept"))
        }
        (_, Some(r))
            if r.len() > 30 || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Err(Error::user(
                "--ref must be at most 30 letters, digits and hyphens",
            ))
        }
        (_, r) => Ok(r.map(str::to_string)),
    }
}

/// An idempotency key names a request, not a person: a short token of letters, digits and
/// `- _ . :` (a card terminal's transaction ID, a UUID).
pub fn check_idempotency_key(key: &str) -> Result<String> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if !ok {
        return Err(Error::user(
            "idempotency key must be 1 to 64 letters, digits and - _ . :",
        ));
    }
    Ok(key.to_string())
}

/// The payment already recorded under an idempotency key, if any.
pub fn find_by_key<'a>(entries: &'a [Entry], key: &str) -> Option<&'a Entry> {
    entries
        .iter()
        .find(|e| e.kind == Kind::Payment && e.idempotency_key.as_deref() == Some(key))
}

/// Sort order of a ledger: by business day, then by when recorded, then (for entries recorded
/// in the same second, as a script or a pinned clock makes them) charges before payments, then
/// by ID. A running balance read in this order never starts with a credit for a visit charged
/// at the same moment.
pub fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        (a.date, a.recorded, a.kind, &a.id).cmp(&(b.date, b.recorded, b.kind, &b.id))
    });
}

/// The IDs taken out of effect: every voided entry and every void.
pub fn voided(entries: &[Entry]) -> HashSet<&Id> {
    let mut out = HashSet::new();
    for e in entries.iter().filter(|e| e.kind == Kind::Void) {
        if let Some(target) = &e.voids {
            out.insert(target);
            out.insert(&e.id);
        }
    }
    out
}

/// The entries in effect (not voided, not voids), in their given order.
pub fn effective(entries: &[Entry]) -> Vec<&Entry> {
    let gone = voided(entries);
    entries.iter().filter(|e| !gone.contains(&e.id)).collect()
}

/// The sums the balance is made of.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub charges: Decimal,
    pub payments: Decimal,
    pub insurance_payments: Decimal,
    /// Adjustments plus the contractual adjustments of insurance payments.
    pub adjustments: Decimal,
    pub refunds: Decimal,
}

pub fn totals(entries: &[Entry]) -> Totals {
    let mut t = Totals::default();
    for e in effective(entries) {
        match e.kind {
            Kind::Charge => t.charges += e.amount,
            Kind::Payment => t.payments += e.amount,
            Kind::InsurancePayment => {
                t.insurance_payments += e.amount;
                t.adjustments += e.contractual.unwrap_or_default();
            }
            Kind::Adjustment => t.adjustments += e.amount,
            Kind::Refund => t.refunds += e.amount,
            Kind::Void => {}
        }
    }
    t
}

/// True when a charge in effect names the appointment.
pub fn is_charged(entries: &[Entry], appointment: &Id) -> bool {
    effective(entries)
        .iter()
        .any(|e| e.kind == Kind::Charge && e.appointment.as_ref() == Some(appointment))
}

/// A payment in effect, recorded on `date`, with the same amount, method and reference as the
/// one about to be recorded: most likely the same payment keyed twice.
pub fn same_payment<'a>(
    entries: &'a [Entry],
    date: NaiveDate,
    amount: Decimal,
    method: Method,
    reference: Option<&str>,
) -> Option<&'a Entry> {
    effective(entries).into_iter().find(|e| {
        e.kind == Kind::Payment
            && e.date == date
            && e.amount == amount
            && e.method == Some(method)
            && e.reference.as_deref() == reference
    })
}

/// A patient's balance, split by who is expected to pay it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Balance {
    /// Everything owed on the account (negative: the office owes the patient).
    pub total: Decimal,
    /// What insurance is still expected to pay.
    pub insurance: Decimal,
    /// What the patient is responsible for: total − insurance (negative: a credit). Written as
    /// `patient_owes`: `patient` is a patient's ID everywhere else in the JSON output.
    #[serde(rename = "patient_owes")]
    pub patient: Decimal,
    /// What to ask the patient for today: the patient's part, never below zero.
    pub due_now: Decimal,
    /// Money the patient has on account beyond what they owe.
    pub credit: Decimal,
}

/// Charges still waiting for the payer: billed to insurance, and not yet named by an insurance
/// payment in effect.
pub fn pending_charges(entries: &[Entry]) -> Vec<&Entry> {
    let live = effective(entries);
    let settled: HashSet<&Id> = live
        .iter()
        .filter(|e| e.kind == Kind::InsurancePayment)
        .flat_map(|e| e.charges.iter())
        .collect();
    live.into_iter()
        .filter(|e| billed_to_insurance(e))
        .filter(|e| !settled.contains(&e.id))
        .collect()
}

/// A charge billed to insurance: pending while no insurance payment in effect names it.
fn billed_to_insurance(e: &Entry) -> bool {
    e.kind == Kind::Charge && e.bill_to == Some(BillTo::Insurance)
}

/// The part of a pending charge insurance is expected to pay.
pub fn insurance_part(charge: &Entry) -> Decimal {
    (charge.amount - charge.patient_portion.unwrap_or_default()).max(Decimal::ZERO)
}

pub fn balance(entries: &[Entry]) -> Balance {
    let t = totals(entries);
    let total = t.charges - t.payments - t.insurance_payments - t.adjustments + t.refunds;
    let insurance: Decimal = pending_charges(entries)
        .into_iter()
        .map(insurance_part)
        .sum();
    Balance::of(total, insurance)
}

impl Balance {
    /// From what is owed on the account and what insurance is still expected to pay, exact:
    /// each figure is rounded to cents only here.
    fn of(total: Decimal, insurance: Decimal) -> Balance {
        let patient = total - insurance;
        Balance {
            total: cents(total),
            insurance: cents(insurance),
            patient: cents(patient),
            due_now: cents(patient.max(Decimal::ZERO)),
            credit: cents((-patient).max(Decimal::ZERO)),
        }
    }
}

/// One row of a ledger with running balances after it.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerRow<'a> {
    pub entry: &'a Entry,
    /// Effect on the balance; a void shows the reversal of its entry.
    pub change: Decimal,
    pub voided_by: Option<&'a Id>,
    pub after: Balance,
}

/// The ledger with a running balance after each entry. A void shows as reversing its entry on
/// the void's own day, so the running balance reads the way it happened: the balance after
/// row `i` is [`balance`] of the entries up to it, kept up to date entry by entry (asked
/// afresh for each row it took a ten-year ledger's 2,000 entries 4 million steps).
pub fn running(entries: &[Entry]) -> Vec<LedgerRow<'_>> {
    let by_id: HashMap<&Id, &Entry> = entries.iter().map(|e| (&e.id, e)).collect();
    let voided_by: HashMap<&Id, &Id> = entries
        .iter()
        .filter_map(|e| e.voids.as_ref().map(|t| (t, &e.id)))
        .collect();
    let mut sums = RunningBalance::default();
    entries
        .iter()
        .map(|e| {
            let change = match (&e.kind, &e.voids) {
                (Kind::Void, Some(t)) => by_id.get(t).map(|v| -v.effect()).unwrap_or_default(),
                _ => e.effect(),
            };
            sums.push(e);
            LedgerRow {
                entry: e,
                change,
                voided_by: voided_by.get(&e.id).copied(),
                after: sums.balance(),
            }
        })
        .collect()
}

/// [`balance`] of a growing list of entries, updated as each is added. What [`voided`] takes
/// out only grows as entries are added, so an entry leaves the sums at most once; a charge is
/// pending while it is in effect, billed to insurance and named by no insurance payment in
/// effect (counted, since voiding one payment may leave a charge named by another).
#[derive(Default)]
struct RunningBalance<'a> {
    /// Σ effect of the entries in effect: charges − payments − … + refunds.
    total: Decimal,
    /// Σ insurance part of the pending charges.
    insurance: Decimal,
    gone: HashSet<&'a Id>,
    /// The entries added so far, by ID (an ID may repeat: each counts on its own).
    added: HashMap<&'a Id, Vec<&'a Entry>>,
    /// How many insurance payments in effect name each charge.
    settled_by: HashMap<&'a Id, usize>,
}

impl<'a> RunningBalance<'a> {
    fn push(&mut self, e: &'a Entry) {
        self.added.entry(&e.id).or_default().push(e);
        if e.kind == Kind::Void
            && let Some(target) = &e.voids
        {
            for id in [target, &e.id] {
                if self.gone.insert(id) {
                    let leaving = self.added.get(id).cloned().unwrap_or_default();
                    for x in leaving {
                        self.count(x, false);
                    }
                }
            }
        } else if !self.gone.contains(&e.id) {
            self.count(e, true);
        }
    }

    /// An entry comes into effect (`into`) or leaves it.
    fn count(&mut self, e: &'a Entry, into: bool) {
        let sign = |d: Decimal| if into { d } else { -d };
        self.total += sign(e.effect());
        if billed_to_insurance(e) && self.settled_by.get(&e.id).copied().unwrap_or(0) == 0 {
            self.insurance += sign(insurance_part(e));
        }
        if e.kind == Kind::InsurancePayment {
            for charge in &e.charges {
                let n = self.settled_by.entry(charge).or_insert(0);
                let before = *n;
                *n = if into { before + 1 } else { before - 1 };
                // A charge named for the first time stops being pending; one no longer named
                // by any payment in effect is pending again.
                if (before == 0) != (*n == 0) {
                    for c in self.added.get(charge).into_iter().flatten() {
                        if billed_to_insurance(c) && !self.gone.contains(&c.id) {
                            self.insurance -= sign(insurance_part(c));
                        }
                    }
                }
            }
        }
    }

    fn balance(&self) -> Balance {
        Balance::of(self.total, self.insurance)
    }
}

/// Aging buckets: the balance split by how long ago each part was charged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Aging {
    pub current: Decimal,
    pub days_31_60: Decimal,
    pub days_61_90: Decimal,
    pub over_90: Decimal,
}

impl Aging {
    pub fn sum(&self) -> Decimal {
        self.current + self.days_31_60 + self.days_61_90 + self.over_90
    }
    /// The bucket a debt `age_days` old falls in.
    pub fn bucket(&mut self, age_days: i64) -> &mut Decimal {
        match age_days {
            ..=30 => &mut self.current,
            31..=60 => &mut self.days_31_60,
            61..=90 => &mut self.days_61_90,
            _ => &mut self.over_90,
        }
    }
}

/// Ages the balance as of `as_of`: credits pay the oldest debts first (first in, first out), what
/// remains of each debt lands in the bucket of its age, and a net credit lands in the current
/// bucket as a negative amount. The buckets always add up to the balance.
pub fn aging(entries: &[Entry], as_of: NaiveDate) -> Aging {
    let live = effective(entries);
    let mut debts: Vec<(NaiveDate, Decimal)> = live
        .iter()
        .filter(|e| e.effect() > Decimal::ZERO)
        .map(|e| (e.date, e.effect()))
        .collect();
    debts.sort();
    let mut credit: Decimal = live.iter().map(|e| -e.effect().min(Decimal::ZERO)).sum();
    let mut out = Aging::default();
    for (date, amount) in debts {
        let paid = amount.min(credit);
        credit -= paid;
        *out.bucket((as_of - date).num_days()) += amount - paid;
    }
    out.current -= credit;
    Aging {
        current: cents(out.current),
        days_31_60: cents(out.days_31_60),
        days_61_90: cents(out.days_61_90),
        over_90: cents(out.over_90),
    }
}

/// How much of what the patient paid can still be refunded: payments in effect less refunds in
/// effect.
pub fn refundable(entries: &[Entry]) -> Decimal {
    let t = totals(entries);
    (t.payments - t.refunds).max(Decimal::ZERO)
}

/// Whether `target` may be voided given the patient's ledger; the error says why not.
pub fn check_voidable(entries: &[Entry], target: &Entry) -> Result<()> {
    if target.kind == Kind::Void {
        return Err(
            Error::user(format!("{} is a void; a void cannot be voided", target.id))
                .hint("record the entry again if the void was a mistake"),
        );
    }
    if let Some(v) = entries
        .iter()
        .find(|e| e.voids.as_ref() == Some(&target.id))
    {
        return Err(
            Error::user(format!("{} is already voided by {}", target.id, v.id))
                .hint("an entry can be voided once"),
        );
    }
    if target.kind == Kind::Charge
        && let Some(ins) = effective(entries)
            .into_iter()
            .find(|e| e.kind == Kind::InsurancePayment && e.charges.contains(&target.id))
    {
        return Err(Error::user(format!(
            "charge {} is settled by insurance payment {}",
            target.id, ins.id
        ))
        .hint("void the insurance payment first, then the charge"));
    }
    if target.kind == Kind::Payment {
        let t = totals(entries);
        if t.payments - target.amount < t.refunds {
            return Err(Error::user(format!(
                "voiding payment {} would leave more refunded than paid",
                target.id
            ))
            .hint("void the refund first"));
        }
    }
    Ok(())
}

/// Which co-pay an appointment type draws (`copay = "office"` on the type).
pub use crate::domain::schedule::apptype::CopayKind;

/// The co-pay due from the patient's primary coverage in force on `on`, if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopayDue {
    pub amount: Decimal,
    /// The payer key of the coverage that sets it.
    pub payer: String,
}

/// The co-pay a patient owes at check-in for an appointment of a type drawing `kind`, from the
/// primary coverage in force on `on`. None: no primary coverage that day, no co-pay set for
/// that kind, or the type has no co-pay.
pub fn copay_due(patient: &Patient, kind: CopayKind, on: NaiveDate) -> Option<CopayDue> {
    let cov = patient.coverage_on(1, on)?;
    let amount = match kind {
        CopayKind::Office => cov.copay_office,
        CopayKind::Specialist => cov.copay_specialist,
        CopayKind::Urgent => cov.copay_urgent,
        CopayKind::None => None,
    }?;
    (amount > Decimal::ZERO).then(|| CopayDue {
        amount,
        payer: cov.payer.clone(),
    })
}

/// The co-pay still to collect for one appointment: [`copay_due`] less the co-pay payments in
/// effect that name the appointment. None when nothing is left to collect.
pub fn copay_outstanding(
    patient: &Patient,
    kind: CopayKind,
    on: NaiveDate,
    appointment: &Id,
    entries: &[Entry],
) -> Option<CopayDue> {
    let due = copay_due(patient, kind, on)?;
    let paid: Decimal = effective(entries)
        .into_iter()
        .filter(|e| e.kind == Kind::Payment && e.applies_to == Some(AppliesTo::Copay))
        .filter(|e| e.appointment.as_ref() == Some(appointment))
        .map(|e| e.amount)
        .sum();
    let left = due.amount - paid;
    (left > Decimal::ZERO).then(|| CopayDue {
        amount: cents(left),
        payer: due.payer,
    })
}

/// A visit on a statement: one appointment (or one day's charges without one) with its charges
/// and the payments applied to it.
#[derive(Debug, Clone, Serialize)]
pub struct Visit<'a> {
    pub date: NaiveDate,
    pub appointment: Option<&'a Id>,
    pub entries: Vec<&'a Entry>,
}

/// Groups the entries in effect into visits for a combined statement: each charge opens (or
/// joins) its appointment's visit, payments and insurance payments join the visit of the
/// appointment or charges they name, and anything else is "on account" (returned second).
pub fn visits(entries: &[Entry]) -> (Vec<Visit<'_>>, Vec<&Entry>) {
    let live = effective(entries);
    let mut keys: BTreeMap<(NaiveDate, String), Visit> = BTreeMap::new();
    let mut charge_visit: HashMap<&Id, (NaiveDate, String)> = HashMap::new();
    let mut appt_visit: HashMap<&Id, (NaiveDate, String)> = HashMap::new();
    for e in live.iter().filter(|e| e.kind == Kind::Charge) {
        let key = match &e.appointment {
            Some(a) => appt_visit
                .get(a)
                .cloned()
                .unwrap_or((e.date, a.to_string())),
            None => (e.date, String::new()),
        };
        if let Some(a) = &e.appointment {
            appt_visit.insert(a, key.clone());
        }
        charge_visit.insert(&e.id, key.clone());
        keys.entry(key)
            .or_insert_with(|| Visit {
                date: e.date,
                appointment: e.appointment.as_ref(),
                entries: Vec::new(),
            })
            .entries
            .push(e);
    }
    let mut account = Vec::new();
    for e in live.into_iter().filter(|e| e.kind != Kind::Charge) {
        // A co-pay taken at the desk without naming the visit belongs to that day's visit.
        let same_day = (e.applies_to == Some(AppliesTo::Copay))
            .then(|| keys.keys().find(|(d, _)| *d == e.date).cloned())
            .flatten();
        let key = e
            .charges
            .iter()
            .find_map(|c| charge_visit.get(c).cloned())
            .or_else(|| {
                e.appointment
                    .as_ref()
                    .and_then(|a| appt_visit.get(a).cloned())
            })
            .or(same_day);
        match key.and_then(|k| keys.get_mut(&k)) {
            Some(v) => v.entries.push(e),
            None => account.push(e),
        }
    }
    (keys.into_values().collect(), account)
}

// Amounts in tests are written in cents grouped as dollars_cents (150_00 is $150.00).
#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(day: u32) -> DateTime<FixedOffset> {
        FixedOffset::west_opt(5 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
            .unwrap()
            + chrono::Duration::days(day as i64)
    }

    fn pid() -> Id {
        Id::parse("P7K3QX9M2").unwrap()
    }

    fn money(cents: i64) -> Decimal {
        Decimal::new(cents, 2)
    }

    fn entry(kind: Kind, cents: i64, day: u32) -> Entry {
        let mut e = Entry::new(kind, pid(), money(cents), at(day), "clerk");
        match kind {
            Kind::Charge => {
                e.bill_to = Some(BillTo::Patient);
                e.services = vec![ServiceLine {
                    code: "99213".into(),
                    description: "Visit".into(),
                    fee: e.amount,
                }];
            }
            Kind::Payment | Kind::Refund => e.method = Some(Method::Cash),
            Kind::InsurancePayment => e.payer = Some("aetna".into()),
            Kind::Adjustment => e.adjustment = Some(AdjustmentKind::Discount),
            Kind::Void => {}
        }
        e
    }

    fn void(of: &Entry, day: u32) -> Entry {
        let mut v = entry(Kind::Void, 1, day);
        v.amount = of.amount;
        v.voids = Some(of.id.clone());
        v
    }

    #[test]
    fn entries_recorded_in_the_same_second_list_the_charge_first() {
        // A pinned clock or a script records a visit's charge, co-pay and insurance payment
        // in one second: the running balance must not start with a credit.
        let charge = entry(Kind::Charge, 12500, 0);
        let mut later = vec![
            entry(Kind::InsurancePayment, 7000, 0),
            entry(Kind::Payment, 2500, 0),
            charge.clone(),
        ];
        for e in &mut later {
            e.recorded = charge.recorded;
        }
        sort_entries(&mut later);
        let kinds: Vec<Kind> = later.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [Kind::Charge, Kind::Payment, Kind::InsurancePayment]);
        assert!(running(&later)[0].after.total > Decimal::ZERO);
    }

    #[test]
    fn insurance_pending_is_not_due_from_the_patient() {
        let mut charge = entry(Kind::Charge, 150_00, 0);
        charge.bill_to = Some(BillTo::Insurance);
        charge.patient_portion = Some(money(25_00));
        let copay = entry(Kind::Payment, 25_00, 0);
        let entries = vec![charge.clone(), copay];
        let b = balance(&entries);
        assert_eq!(
            (b.total, b.insurance, b.due_now),
            (money(125_00), money(125_00), money(0))
        );

        let mut ins = entry(Kind::InsurancePayment, 80_00, 20);
        ins.contractual = Some(money(35_00));
        ins.charges = vec![charge.id.clone()];
        let mut all = entries.clone();
        all.push(ins);
        let b = balance(&all);
        assert_eq!(
            (b.total, b.insurance, b.due_now),
            (money(10_00), money(0), money(10_00))
        );
    }

    #[test]
    fn overpayment_is_a_credit() {
        let entries = vec![
            entry(Kind::Charge, 50_00, 0),
            entry(Kind::Payment, 80_00, 1),
        ];
        let b = balance(&entries);
        assert_eq!(
            (b.total, b.due_now, b.credit),
            (money(-30_00), money(0), money(30_00))
        );
        assert_eq!(aging(&entries, at(100).date_naive()).current, money(-30_00));
    }

    #[test]
    fn voids_are_final_and_once() {
        let pay = entry(Kind::Payment, 20_00, 1);
        let v = void(&pay, 2);
        let entries = vec![entry(Kind::Charge, 50_00, 0), pay.clone(), v.clone()];
        assert_eq!(balance(&entries).total, money(50_00));
        assert!(
            check_voidable(&entries, &pay)
                .unwrap_err()
                .message
                .contains("already voided")
        );
        assert!(
            check_voidable(&entries, &v)
                .unwrap_err()
                .message
                .contains("cannot be voided")
        );
        let rows = running(&entries);
        assert_eq!(rows[2].change, money(20_00));
        assert_eq!(rows[1].voided_by, Some(&v.id));
    }

    #[test]
    fn a_settled_charge_cannot_be_voided_before_its_insurance_payment() {
        let mut charge = entry(Kind::Charge, 100_00, 0);
        charge.bill_to = Some(BillTo::Insurance);
        let mut ins = entry(Kind::InsurancePayment, 60_00, 10);
        ins.charges = vec![charge.id.clone()];
        let mut entries = vec![charge.clone(), ins.clone()];
        assert!(
            check_voidable(&entries, &charge)
                .unwrap_err()
                .message
                .contains("settled by")
        );
        entries.push(void(&ins, 11));
        assert!(check_voidable(&entries, &charge).is_ok());
        assert_eq!(balance(&entries).insurance, money(100_00));
    }

    #[test]
    fn a_payment_with_a_refund_against_it_cannot_be_voided() {
        let pay = entry(Kind::Payment, 20_00, 1);
        let entries = vec![pay.clone(), entry(Kind::Refund, 15_00, 2)];
        assert_eq!(refundable(&entries), money(5_00));
        assert!(check_voidable(&entries, &pay).is_err());
    }

    #[test]
    fn aging_is_first_in_first_out() {
        let entries = vec![
            entry(Kind::Charge, 100_00, 0),
            entry(Kind::Charge, 50_00, 70),
            entry(Kind::Payment, 30_00, 75),
        ];
        let a = aging(&entries, at(110).date_naive());
        assert_eq!(a.over_90, money(70_00));
        assert_eq!(a.days_31_60, money(50_00));
        assert_eq!(a.sum(), balance(&entries).total);
    }

    #[test]
    fn visits_gather_their_payments() {
        let mut charge = entry(Kind::Charge, 100_00, 0);
        charge.appointment = Some(Id::parse("A7K3QX9M2").unwrap());
        let mut pay = entry(Kind::Payment, 20_00, 0);
        pay.appointment = charge.appointment.clone();
        let other = entry(Kind::Payment, 5_00, 3);
        let entries = vec![charge, pay, other];
        let (v, account) = visits(&entries);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].entries.len(), 2);
        assert_eq!(account.len(), 1);
    }

    #[test]
    fn references_fit_their_method() {
        assert!(check_reference(Method::Check, None).is_err());
        assert_eq!(
            check_reference(Method::Check, Some("1042"))
                .unwrap()
                .as_deref(),
            Some("1042")
        );
        assert!(check_reference(Method::Card, Some("4242424242424242")).is_err());
        assert!(check_reference(Method::Card, Some("42a2")).is_err());
        assert_eq!(
            check_reference(Method::Card, Some(" 4242 "))
                .unwrap()
                .as_deref(),
            Some("4242")
        );
        assert_eq!(check_reference(Method::Cash, None).unwrap(), None);
        assert!(check_idempotency_key("term-2026-12-01:0042").is_ok());
        assert!(check_idempotency_key("a b").is_err());
    }

    #[test]
    fn copay_outstanding_counts_what_was_collected_for_the_visit() {
        use crate::domain::insurance::{Coverage, Relationship, Subscriber};
        let cov = Coverage {
            rank: 1,
            payer: "aetna".into(),
            plan: None,
            member_id: "W1".into(),
            group: None,
            effective: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            end: None,
            copay_office: Some(money(25_00)),
            copay_specialist: Some(money(40_00)),
            copay_urgent: None,
            deductible: None,
            subscriber: Subscriber {
                relationship: Relationship::Own,
                name: None,
                birth_date: None,
            },
            verifications: Vec::new(),
        };
        let mut p: Patient = toml::from_str(&format!(
            "schema = 1\nid = \"{}\"\nstatus = \"active\"\ngiven = \"A\"\nfamily = \"B\"\nbirth_date = \"1980-01-01\"\nsex = \"F\"\ncreated = \"2026-01-01T09:00:00-05:00\"\nupdated = \"2026-01-01T09:00:00-05:00\"\n",
            pid()
        ))
        .unwrap();
        p.insurance = vec![cov];
        let day = at(0).date_naive();
        let appt = Id::parse("A7K3QX9M2").unwrap();
        assert_eq!(
            copay_due(&p, CopayKind::Specialist, day).unwrap().amount,
            money(40_00)
        );
        assert!(copay_due(&p, CopayKind::Urgent, day).is_none());
        assert!(copay_due(&p, CopayKind::None, day).is_none());
        assert!(
            copay_due(
                &p,
                CopayKind::Office,
                NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()
            )
            .is_none()
        );
        let mut part = entry(Kind::Payment, 10_00, 0);
        part.applies_to = Some(AppliesTo::Copay);
        part.appointment = Some(appt.clone());
        let entries = vec![part.clone()];
        assert_eq!(
            copay_outstanding(&p, CopayKind::Office, day, &appt, &entries)
                .unwrap()
                .amount,
            money(15_00)
        );
        let mut rest = part.clone();
        rest.id = Id::generate(IdKind::Transaction);
        rest.amount = money(15_00);
        let entries = vec![part, rest];
        assert!(copay_outstanding(&p, CopayKind::Office, day, &appt, &entries).is_none());
    }

    #[test]
    fn validate_names_what_is_missing() {
        let mut e = entry(Kind::Payment, 10_00, 0);
        e.method = None;
        assert!(e.validate().unwrap_err().message.contains("method"));
        let mut c = entry(Kind::Charge, 10_00, 0);
        c.amount = money(11_00);
        assert!(c.validate().is_err());
        let mut z = entry(Kind::Payment, 10_00, 0);
        z.amount = Decimal::ZERO;
        assert!(z.validate().is_err());
    }

    fn arb_kind() -> impl Strategy<Value = Kind> {
        prop_oneof![
            Just(Kind::Charge),
            Just(Kind::Payment),
            Just(Kind::InsurancePayment),
            Just(Kind::Adjustment),
            Just(Kind::Refund),
        ]
    }

    /// A random ledger: entries of every kind, some insurance-billed charges settled by
    /// insurance payments, and voids of random earlier entries (each at most once).
    fn arb_ledger() -> impl Strategy<Value = Vec<Entry>> {
        prop::collection::vec(
            (
                arb_kind(),
                1i64..50_000_00,
                0u32..400,
                any::<bool>(),
                any::<u8>(),
                any::<bool>(),
            ),
            0..40,
        )
        .prop_map(|specs| {
            let mut out: Vec<Entry> = Vec::new();
            for (kind, cents, day, flag, pick, void_it) in specs {
                let mut e = entry(kind, cents, day);
                if kind == Kind::Charge && flag {
                    e.bill_to = Some(BillTo::Insurance);
                    e.patient_portion = Some((e.amount / Decimal::from(5)).round_dp(2));
                }
                if kind == Kind::InsurancePayment {
                    e.contractual = flag.then(|| money(cents / 3));
                    let charges: Vec<Id> = out
                        .iter()
                        .filter(|c| c.kind == Kind::Charge)
                        .map(|c| c.id.clone())
                        .collect();
                    if !charges.is_empty() {
                        e.charges = vec![charges[pick as usize % charges.len()].clone()];
                    }
                }
                out.push(e);
                if void_it && !out.is_empty() {
                    let target = out[pick as usize % out.len()].clone();
                    if check_voidable(&out, &target).is_ok() {
                        out.push(void(&target, day + 1));
                    }
                }
            }
            out
        })
    }

    proptest! {
        #[test]
        fn balance_is_the_signed_sum_of_entries_in_effect(entries in arb_ledger()) {
            let b = balance(&entries);
            let t = totals(&entries);
            prop_assert_eq!(
                b.total,
                t.charges - t.payments - t.insurance_payments - t.adjustments + t.refunds
            );
            prop_assert_eq!(b.total, b.insurance + b.patient);
            prop_assert!(b.insurance >= Decimal::ZERO && b.due_now >= Decimal::ZERO);
            prop_assert_eq!(b.due_now - b.credit, b.patient);
        }

        #[test]
        fn a_void_cancels_exactly_its_entry(entries in arb_ledger(), pick in any::<u16>()) {
            // The target is picked among the voidable entries: picking any entry and rejecting
            // the others threw most cases away, and proptest gave up at 5,000 cases.
            let voidable: Vec<&Entry> = entries
                .iter()
                .filter(|e| check_voidable(&entries, e).is_ok())
                .collect();
            prop_assume!(!voidable.is_empty());
            let target = voidable[pick as usize % voidable.len()].clone();
            let mut with_void = entries.clone();
            with_void.push(void(&target, 500));
            let without: Vec<Entry> =
                entries.iter().filter(|e| e.id != target.id).cloned().collect();
            // Voiding an entry is the same as never having recorded it, unless it was a void
            // itself (excluded above) or an insurance payment settling charges.
            prop_assert_eq!(totals(&with_void), totals(&without));
            prop_assert_eq!(balance(&with_void).total, balance(&without).total);
        }

        #[test]
        fn entries_round_trip_through_their_files(entries in arb_ledger()) {
            for e in &entries {
                let text = toml::to_string(e).unwrap();
                let back: Entry = toml::from_str(&text).unwrap();
                prop_assert_eq!(&back, e);
                let line = format!("patient = \"{}\"\n", e.patient);
                prop_assert!(text.contains(&line), "{}", text);
            }
        }

        #[test]
        fn aging_buckets_partition_the_balance(entries in arb_ledger(), day in 0u32..600) {
            let a = aging(&entries, at(day).date_naive());
            prop_assert_eq!(a.sum(), balance(&entries).total);
            prop_assert!(a.days_31_60 >= Decimal::ZERO && a.days_61_90 >= Decimal::ZERO);
            prop_assert!(a.over_90 >= Decimal::ZERO);
        }

        #[test]
        fn each_running_balance_is_the_balance_of_the_entries_up_to_it(
            entries in arb_ledger(),
            repeat in any::<u8>(),
        ) {
            let mut sorted = entries.clone();
            sort_entries(&mut sorted);
            // An ID twice (two merged charts' files, say) counts each entry on its own.
            if !sorted.is_empty() {
                let copy = sorted[repeat as usize % sorted.len()].clone();
                sorted.push(copy);
            }
            for (i, row) in running(&sorted).iter().enumerate() {
                prop_assert_eq!(&row.after, &balance(&sorted[..=i]), "row {}", i);
            }
        }

        #[test]
        fn running_balance_ends_at_the_balance(entries in arb_ledger()) {
            let mut sorted = entries.clone();
            sort_entries(&mut sorted);
            let rows = running(&sorted);
            if let Some(last) = rows.last() {
                prop_assert_eq!(&last.after, &balance(&sorted));
            }
            let sum: Decimal = rows.iter().map(|r| r.change).sum();
            prop_assert_eq!(sum, balance(&sorted).total);
        }
    }
}
