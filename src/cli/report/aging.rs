use chrono::NaiveDate;

use crate::cli::Ctx;
use crate::cli::report::chart;
use crate::cli::report::day_arg;
use crate::cli::report::frame::{Covers, Output, Phi, Report, Section, col, emit, phi};
use crate::cli::schedule::{Sched, patient_label};
use crate::derived::ledger_cache;
use crate::domain::ledger::Aging;
use crate::domain::report::aging::{buckets, has_pending_insurance, office_aging, patient_aging};
use crate::error::{Kind, Result};
use crate::render::Cell;

/// The office's accounts receivable by age: 0-30, 31-60, 61-90 and over 90 days, what
/// insurance is still expected to pay and what patients owe, totals by payer, and the largest
/// balances.
///
/// Reads every patient's ledger (through the ledger cache).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Age the balances as of this day (default today); later entries are left out.
    #[arg(long, allow_hyphen_values = true)]
    pub as_of: Option<String>,
    /// How many of the largest balances to list.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    #[command(flatten)]
    pub out: Output,
}

pub fn cmd_aging(ctx: &Ctx, a: Args) -> Result<u8> {
    let s = Sched::open(ctx)?;
    let as_of = day_arg(&s, a.as_of.as_deref(), s.today(), "--as-of")?;
    let r = build(&s, as_of, a.top)?;
    emit(ctx, &s.store, r, &a.out)
}

const BUCKETS: &[crate::cli::report::frame::Column] = &[
    col("bucket"),
    col("insurance"),
    col("patient"),
    col("total"),
];

const PAYERS: &[crate::cli::report::frame::Column] = &[
    col("payer"),
    col("0-30"),
    col("31-60"),
    col("61-90"),
    col("over 90"),
    col("total"),
];

const LARGEST: &[crate::cli::report::frame::Column] = &[
    phi("patient", Phi::Id),
    phi("name", Phi::Name),
    col("balance"),
    col("insurance"),
    col("patient owes"),
    col("over 90"),
];

pub fn build(s: &Sched, as_of: NaiveDate, top: usize) -> Result<Report> {
    let store = &s.store;
    let rows = ledger_cache::map_patient_ledgers(store, |id, entries| {
        // The payer of pending insurance charges comes from the patient's coverage; a broken
        // patient file is an error like any other, a missing one leaves the payer unknown.
        let patient = if has_pending_insurance(entries, as_of) {
            match store.load_patient(id) {
                Ok(p) => Some(p),
                Err(e) if e.kind == Kind::NotFound => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        Ok(patient_aging(id, entries, as_of, patient.as_ref()))
    })?;
    let o = office_aging(rows, top);
    let cur = store.office.currency.as_str();
    let m = |d| Cell::money(d, cur);

    let mut b = Section::new("buckets", "Balances by age", BUCKETS);
    let ins = buckets(&o.insurance);
    let pat = buckets(&o.patient);
    let mut bars = Vec::new();
    for (i, (name, total)) in buckets(&o.total).into_iter().enumerate() {
        b.push(vec![name.into(), m(ins[i].1), m(pat[i].1), m(total)]);
        bars.push((
            format!("{name} days"),
            chart::cents(total),
            crate::domain::money::with_credit(total, cur),
            None,
        ));
    }
    b.push(vec![
        "total".into(),
        m(o.insurance.sum()),
        m(o.patient.sum()),
        m(o.total.sum()),
    ]);
    let b = b.with_chart(chart::bars("Balance by age (days since charged)", bars));

    let mut p = Section::new("payers", "Insurance still expected, by payer", PAYERS);
    for (payer, a) in &o.payers {
        p.push(bucket_row(Cell::from(payer.as_str()), a, cur));
    }

    let mut l = Section::new("largest", "Largest balances", LARGEST);
    for x in &o.largest {
        l.push(vec![
            Cell::code(x.patient.to_string()),
            Cell::from(patient_label(store, &x.patient)),
            m(x.balance.total),
            m(x.balance.insurance),
            m(x.balance.patient),
            m(x.total.over_90),
        ]);
    }
    Ok(Report {
        name: "aging",
        title: "Accounts receivable aging",
        covers: Covers::AsOf(as_of),
        sections: vec![b, p, l],
    })
}

fn bucket_row(first: Cell, a: &Aging, cur: &str) -> Vec<Cell> {
    let mut row = vec![first];
    row.extend(buckets(a).into_iter().map(|(_, d)| Cell::money(d, cur)));
    row.push(Cell::money(a.sum(), cur));
    row
}
