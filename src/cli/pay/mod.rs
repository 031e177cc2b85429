//! `frontdesk pay …`: charges, payments, insurance payments, adjustments, refunds and voids
//! on the patient ledger, and the ledger, balances, statements and closeout read from it.
//!
//! Every mutating command follows one shape: take the write lock, read the patient and their
//! ledger, let the domain decide, file one new entry (never editing an old one), make one
//! commit that names the entry and patient IDs only.

mod adjust;
mod balance;
mod charge;
pub(crate) mod closeout;
mod collect;
pub mod copay;
pub(crate) mod import;
mod insurance;
mod ledger;
mod receipt;
mod refund;
mod statement;
mod view;
mod void;

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use clap::Subcommand;

use crate::cli::Ctx;
use crate::domain::id::{Id, IdKind};
use crate::domain::ledger::{Balance, Entry, balance};
use crate::domain::money;
use crate::domain::patient::Patient;
use crate::error::Result;
use crate::render::{self, Format};
use crate::store::{Mode, Store, Txn};

pub use crate::cli::patient::patient_id;

#[derive(Debug, Subcommand)]
pub enum Command {
    Charge(charge::Args),
    Collect(collect::Args),
    Insurance(insurance::Args),
    Adjust(adjust::Args),
    Refund(refund::Args),
    Void(void::Args),
    Ledger(ledger::Args),
    Balance(balance::Args),
    Statement(statement::Args),
    Receipt(receipt::Args),
    Closeout(closeout::Args),
    Import(import::Args),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Charge(a) => charge::cmd_charge(ctx, a),
        Command::Collect(a) => collect::cmd_collect(ctx, a),
        Command::Insurance(a) => insurance::cmd_insurance(ctx, a),
        Command::Adjust(a) => adjust::cmd_adjust(ctx, a),
        Command::Refund(a) => refund::cmd_refund(ctx, a),
        Command::Void(a) => void::cmd_void(ctx, a),
        Command::Ledger(a) => ledger::cmd_ledger(ctx, a),
        Command::Balance(a) => balance::cmd_balance(ctx, a),
        Command::Statement(a) => statement::cmd_statement(ctx, a),
        Command::Receipt(a) => receipt::cmd_receipt(ctx, a),
        Command::Closeout(a) => closeout::cmd_closeout(ctx, a),
        Command::Import(a) => import::cmd_import(ctx, a),
    }
}

/// `--patient` and `--amount`, shared by the commands that move money.
#[derive(Debug, clap::Args)]
pub struct PatientAmount {
    /// The patient (P…).
    #[arg(long)]
    pub patient: String,
    /// The amount, e.g. 25.00 (more than zero, at most two decimals).
    #[arg(long, allow_hyphen_values = true)]
    pub amount: String,
}

impl PatientAmount {
    /// The checked patient ID and amount.
    pub fn parse(&self) -> Result<(Id, rust_decimal::Decimal)> {
        Ok((
            patient_id(&self.patient)?,
            money::parse_money("--amount", &self.amount)?,
        ))
    }
}

/// How money moved: `--method` and `--ref`, shared by collect and refund.
#[derive(Debug, clap::Args)]
pub struct Tender {
    #[arg(long, value_enum)]
    pub method: crate::domain::ledger::Method,
    /// Check number, or the card's last four digits.
    #[arg(long = "ref", value_name = "REF")]
    pub reference: Option<String>,
}

impl Tender {
    /// The reference checked against the method.
    pub fn reference(&self) -> Result<Option<String>> {
        crate::domain::ledger::check_reference(self.method, self.reference.as_deref())
    }
}

pub fn entry_id(s: &str) -> Result<Id> {
    Id::parse_kind(s, IdKind::Transaction)
}

/// One write in progress: the lock is held, and the patient and their ledger were read under it,
/// so two clerks cannot both refund the same money or void the same entry.
pub struct Posting<'s> {
    pub txn: Txn<'s>,
    pub patient: Patient,
    pub entries: Vec<Entry>,
    pub now: DateTime<FixedOffset>,
    pub by: String,
}

impl<'s> Posting<'s> {
    pub fn begin(store: &'s Store, patient: &Id) -> Result<Posting<'s>> {
        let txn = store.begin()?;
        let p = store.load_patient(patient)?;
        let entries = store.patient_ledger(patient)?;
        Ok(Posting {
            txn,
            patient: p,
            entries,
            now: store.office.now().fixed_offset(),
            by: store.options.user.clone(),
        })
    }

    pub fn store(&self) -> &Store {
        self.txn.store()
    }

    /// A new entry stamped with now and the staff member.
    pub fn entry(&self, kind: crate::domain::ledger::Kind, amount: rust_decimal::Decimal) -> Entry {
        Entry::new(kind, self.patient.id.clone(), amount, self.now, &self.by)
    }

    /// Files `entry` (and any `extra` files such as its receipt) with one commit
    /// ("Record payment T… for patient P…."); returns the balance after it.
    pub fn post(mut self, entry: &Entry, extra: &[(PathBuf, String)]) -> Result<Balance> {
        self.txn.add_entry(entry)?;
        for (rel, text) in extra {
            self.txn.put_bytes(rel, text.as_bytes(), Mode::CreateNew)?;
        }
        let noun = entry.kind.as_str().replace('-', " ");
        let of = entry
            .voids
            .as_ref()
            .map(|t| format!(" of entry {t}"))
            .unwrap_or_default();
        self.txn.commit(&format!(
            "Record {noun} {}{of} for patient {}.",
            entry.id, entry.patient
        ))?;
        let mut all = self.entries;
        all.push(entry.clone());
        Ok(balance(&all))
    }

    /// Files the entry and reports it the usual way.
    pub fn post_and_report(self, ctx: &Ctx, entry: &Entry) -> Result<()> {
        let currency = self.store().office.currency.clone();
        let after = self.post(entry, &[])?;
        report(ctx, &currency, entry, &after)
    }
}

/// Prints the new entry's ID (JSON: the entry and the balance after it) and a one-line summary.
pub fn report(ctx: &Ctx, currency: &str, entry: &Entry, after: &Balance) -> Result<()> {
    if ctx.format == Format::Json {
        return render::print_json(&serde_json::json!({ "entry": entry, "balance": after }));
    }
    render::print(&format!("{}\n", entry.id))?;
    summary(ctx, currency, entry, after);
    Ok(())
}

/// The one-line summary on stderr for the clerk.
pub fn summary(ctx: &Ctx, currency: &str, entry: &Entry, after: &Balance) {
    ctx.say(&format!(
        "{} {} of {} recorded for patient {}; balance {}, due now {}",
        entry.kind.as_str(),
        entry.id,
        money::display(entry.amount, currency),
        entry.patient,
        money::with_credit(after.total, currency),
        money::display(after.due_now, currency),
    ));
}

/// Free text (a reason, a reference) kept to one short line: it goes into a record file.
pub fn one_line(field: &str, s: &str, max: usize) -> Result<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(crate::error::Error::user(format!("{field} is empty")));
    }
    if t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(crate::error::Error::user(format!(
            "{field} must be one line of at most {max} characters"
        )));
    }
    Ok(t.to_string())
}
