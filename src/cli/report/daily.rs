use chrono::NaiveDate;

use crate::cli::Ctx;
use crate::cli::report::frame::{Column, Covers, Output, Phi, Report, Section, col, emit, phi};
use crate::cli::report::{day_arg, yes};
use crate::cli::schedule::Sched;
use crate::domain::report::daily::{by_provider, row};
use crate::error::{Kind, Result};
use crate::render::Cell;

/// The day ahead by provider: unconfirmed appointments, coverage not verified in 30 days or
/// ended, co-pays to collect, balances owed, new patients and interpreters to book.
///
/// Reads that one day's directory, and each booked patient's file and ledger.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The day (default tomorrow): 2026-12-01, tomorrow, mon, +3d.
    #[arg(allow_hyphen_values = true)]
    pub date: Option<String>,
    /// Only this provider's visits.
    #[arg(long)]
    pub provider: Option<String>,
    #[command(flatten)]
    pub out: Output,
}

const VISITS: &[Column] = &[
    col("provider"),
    phi("time", Phi::Date),
    phi("appointment", Phi::Id),
    phi("patient", Phi::Id),
    phi("name", Phi::Name),
    phi("phone to confirm", Phi::Contact),
    col("type"),
    col("confirmed"),
    col("coverage"),
    col("co-pay due"),
    col("owes"),
    col("new patient"),
    col("interpreter"),
];

const PROVIDERS: &[Column] = &[
    col("provider"),
    col("visits"),
    col("unconfirmed"),
    col("coverage to check"),
    col("co-pays due"),
    col("owed"),
    col("new patients"),
    col("interpreters"),
];

pub fn cmd_daily(ctx: &Ctx, a: Args) -> Result<u8> {
    let s = Sched::open(ctx)?;
    let tomorrow = s.today() + chrono::Duration::days(1);
    let date = day_arg(&s, a.date.as_deref(), tomorrow, "DATE")?;
    if let Some(p) = &a.provider {
        s.store.load_provider(p)?;
    }
    let r = build(&s, date, a.provider.as_deref())?;
    emit(ctx, &s.store, r, &a.out)
}

pub fn build(s: &Sched, date: NaiveDate, provider: Option<&str>) -> Result<Report> {
    let store = &s.store;
    let day: Vec<_> = store
        .day_appointments(date)?
        .into_iter()
        .filter(|a| a.status.holds_time() && provider.is_none_or(|p| a.provider == p))
        .collect();
    // The day's patients and their ledgers. The ledgers come through the per-patient entry
    // cache with one look at the ledger index: a day's work, not ten years of entry files.
    let mut patients = Vec::with_capacity(day.len());
    for a in &day {
        patients.push(match store.load_patient(&a.patient) {
            Ok(p) => Some(p),
            Err(e) if e.kind == Kind::NotFound => None,
            Err(e) => return Err(e),
        });
    }
    let asked: Vec<_> = day
        .iter()
        .zip(&patients)
        .map(|(a, p)| {
            let merged = p
                .as_ref()
                .map(|p| p.merged_from.clone())
                .unwrap_or_default();
            (a.patient.clone(), merged)
        })
        .collect();
    let ledgers = store.few_patient_ledgers(&asked)?;
    let loaded: Vec<_> = patients.into_iter().zip(ledgers).collect();
    let rows: Vec<_> = day
        .iter()
        .zip(&loaded)
        .map(|(a, (p, e))| row(a, p.as_ref(), e, &s.types, date))
        .collect();
    let cur = store.office.currency.as_str();
    let cc = store.office.calling_code();
    let mut visits = Section::new("visits", "Visits", VISITS);
    let mut ordered: Vec<usize> = (0..rows.len()).collect();
    ordered.sort_by_key(|&i| {
        let a = rows[i].appointment;
        (&a.provider, a.start, &a.id)
    });
    for i in ordered {
        let (r, p) = (&rows[i], &loaded[i].0);
        let a = r.appointment;
        visits.push(vec![
            Cell::from(a.provider.as_str()),
            Cell::from(s.hm(a.start)),
            Cell::code(a.id.to_string()),
            Cell::code(a.patient.to_string()),
            Cell::from(p.as_ref().map(|p| p.list_name())),
            // Only for a visit still to confirm: the desk calls that number.
            p.as_ref()
                .filter(|_| !r.confirmed)
                .and_then(|p| p.primary_phone())
                .map_or(Cell::from(""), |ph| Cell::phone(&ph.number, cc)),
            Cell::from(a.kind.as_str()),
            yes(r.confirmed),
            Cell::from(r.coverage.as_str()),
            r.copay.map_or(Cell::from(""), |c| Cell::money(c, cur)),
            Cell::money(r.owed, cur),
            yes(r.new_patient),
            Cell::from(r.interpreter.clone()),
        ]);
    }
    let mut providers = Section::new("providers", "By provider", PROVIDERS);
    for (k, t) in by_provider(&rows) {
        providers.push(vec![
            Cell::from(k),
            Cell::count(t.visits),
            Cell::count(t.unconfirmed),
            Cell::count(t.coverage_to_check),
            Cell::money(t.copays, cur),
            Cell::money(t.owed, cur),
            Cell::count(t.new_patients),
            Cell::count(t.interpreters),
        ]);
    }
    Ok(Report {
        name: "daily",
        title: "Daily report",
        covers: Covers::Day(date),
        sections: vec![providers, visits],
    })
}
