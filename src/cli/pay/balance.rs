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

#[derive(Serialize)]
struct Out {
    patient: String,
    #[serde(flatten)]
    balance: Balance,
    aging: Aging,
}

pub fn cmd_balance(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let pid = patient_id(&a.patient)?;
    store.load_patient(&pid)?;
    let entries = store.patient_ledger(&pid)?;
    let out = Out {
        patient: pid.to_string(),
        balance: balance(&entries),
        aging: aging(&entries, store.office.today()),
    };
    let cur = &store.office.currency;
    let m = |d| money::display(d, cur);
    match ctx.format {
        Format::Json => render::print_json(&out)?,
        Format::Table => render::print(&key_values(&[
            ("patient", out.patient.clone()),
            ("balance", money::with_credit(out.balance.total, cur)),
            ("insurance pending", m(out.balance.insurance)),
            ("patient owes", money::with_credit(out.balance.patient, cur)),
            ("due now", m(out.balance.due_now)),
            ("credit", m(out.balance.credit)),
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
            let p = |d| Cell::Number(money::plain(d));
            t.push(vec![
                Cell::from(out.patient.clone()),
                p(out.balance.total),
                p(out.balance.insurance),
                p(out.balance.patient),
                p(out.balance.due_now),
                p(out.balance.credit),
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
