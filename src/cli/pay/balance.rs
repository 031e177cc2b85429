use serde::Serialize;

use crate::cli::Ctx;
use crate::cli::pay::patient_id;
use crate::domain::ledger::{Aging, Balance, aging, balance};
use crate::domain::money;
use crate::error::{Result, exit};
use crate::render::{self, Cell, Format, Table, key_values};

/// A patient's balance: what is owed, what insurance is still expected to pay, what is due
/// from the patient now, any credit, and the aging of the balance.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The patient (P…).
    pub patient: String,
}

/// The balance's JSON shape: `patient_id` names the patient, and the patient's share of the
/// balance is `patient_owes` (the domain's `patient` field, renamed so the key is not the
/// patient's ID in one place and an amount in another).
#[derive(Serialize)]
struct Out {
    patient_id: String,
    total: rust_decimal::Decimal,
    insurance: rust_decimal::Decimal,
    patient_owes: rust_decimal::Decimal,
    due_now: rust_decimal::Decimal,
    credit: rust_decimal::Decimal,
    aging: Aging,
}

pub fn cmd_balance(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let pid = patient_id(&a.patient)?;
    store.load_patient(&pid)?;
    let entries = store.patient_ledger(&pid)?;
    let b: Balance = balance(&entries);
    let out = Out {
        patient_id: pid.to_string(),
        total: b.total,
        insurance: b.insurance,
        patient_owes: b.patient,
        due_now: b.due_now,
        credit: b.credit,
        aging: aging(&entries, store.office.today()),
    };
    let cur = &store.office.currency;
    let m = |d| money::display(d, cur);
    match ctx.format {
        Format::Json => render::print_json(&out)?,
        Format::Table => render::print(&key_values(&[
            ("patient", out.patient_id.clone()),
            ("balance", money::with_credit(out.total, cur)),
            ("insurance pending", m(out.insurance)),
            ("patient owes", money::with_credit(out.patient_owes, cur)),
            ("due now", m(out.due_now)),
            ("credit", m(out.credit)),
            ("0-30 days", m(out.aging.current)),
            ("31-60 days", m(out.aging.days_31_60)),
            ("61-90 days", m(out.aging.days_61_90)),
            ("over 90 days", m(out.aging.over_90)),
        ]))?,
        Format::Csv | Format::Html | Format::Xlsx => {
            let mut t = Table::new(&[
                "patient",
                "balance",
                "insurance",
                "patient owes",
                "due now",
                "credit",
                "0-30",
                "31-60",
                "61-90",
                "over 90",
            ]);
            let p = |d| Cell::signed_money(d, cur);
            t.push(vec![
                Cell::code(out.patient_id.clone()),
                p(out.total),
                p(out.insurance),
                p(out.patient_owes),
                p(out.due_now),
                p(out.credit),
                p(out.aging.current),
                p(out.aging.days_31_60),
                p(out.aging.days_61_90),
                p(out.aging.over_90),
            ]);
            t.print(ctx.format)?;
        }
    }
    Ok(exit::OK)
}
