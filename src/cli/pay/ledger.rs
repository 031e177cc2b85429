use crate::cli::pay::patient_id;
use crate::cli::{Ctx, found};
use crate::domain::ledger::{LedgerRow, running};
use crate::error::Result;
use crate::render::{self, Cell, Format, Table};

/// A patient's ledger: every entry with the running balance, split into what insurance is
/// expected to pay and what the patient owes (credits shown as credits).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The patient (P…).
    pub patient: String,
}

pub fn cmd_ledger(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let pid = patient_id(&a.patient)?;
    store.load_patient(&pid)?;
    let entries = store.patient_ledger(&pid)?;
    let rows = running(&entries);
    if ctx.format == Format::Json {
        render::print_json(&rows)?;
        return Ok(found(!rows.is_empty()));
    }
    let cur = &store.office.currency;
    let mut t = Table::new(&[
        "date",
        "entry",
        "description",
        "amount",
        "balance",
        "insurance",
        "patient",
        "note",
    ]);
    for r in &rows {
        t.push(row(r, cur));
    }
    t.print(ctx.format)?;
    Ok(found(!t.is_empty()))
}

fn row(r: &LedgerRow, cur: &str) -> Vec<Cell> {
    let note = match (r.voided_by, &r.entry.voids) {
        (Some(v), _) => format!("voided by {v}"),
        (None, Some(_)) => "void".to_string(),
        _ => String::new(),
    };
    vec![
        Cell::from(r.entry.date.to_string()),
        Cell::code(r.entry.id.to_string()),
        Cell::from(r.entry.describe()),
        Cell::money(r.change, cur),
        Cell::money(r.after.total, cur),
        Cell::money(r.after.insurance, cur),
        Cell::money(r.after.patient, cur),
        Cell::from(note),
    ]
}
