use chrono::NaiveDate;

use crate::cli::Ctx;
use crate::cli::pay::closeout::{table, uncharged_visits, void_targets};
use crate::cli::report::day_arg;
use crate::cli::report::frame::{Column, Covers, Output, Phi, Report, Section, col, emit, phi};
use crate::cli::schedule::Sched;
use crate::domain::closeout::closeout;
use crate::error::Result;
use crate::render::Cell;

/// The end-of-day closeout of `pay closeout` as a report: payments by method and staff
/// member, checks, the cash drawer, insurance payments, voids and refunds (entry IDs only),
/// and the visits checked out that no charge names.
///
/// Reads one day's ledger and appointment directories.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The business day (default today).
    #[arg(allow_hyphen_values = true)]
    pub date: Option<String>,
    #[command(flatten)]
    pub out: Output,
}

const COLUMNS: &[Column] = &[
    col("section"),
    col("name"),
    phi("time", Phi::Date),
    phi("entry", Phi::Id),
    phi("of", Phi::Id),
    col("count"),
    col("amount"),
];

pub fn cmd_closeout(ctx: &Ctx, a: Args) -> Result<u8> {
    let s = Sched::open(ctx)?;
    let date = day_arg(&s, a.date.as_deref(), s.today(), "DATE")?;
    let r = build(&s, date)?;
    emit(ctx, &s.store, r, &a.out)
}

pub fn build(s: &Sched, date: NaiveDate) -> Result<Report> {
    let day = s.store.ledger_day(date)?;
    let targets = void_targets(&s.store, &day)?;
    let c = closeout(date, &day, &targets);
    let uncharged = uncharged_visits(&s.store, date)?;
    let cur = s.store.office.currency.as_str();
    let mut sec = Section::new("closeout", "Closeout", COLUMNS);
    // The totals as `pay closeout` prints them; voids, refunds and visits not charged with
    // their IDs in columns of their own, which --deidentify replaces.
    for mut row in table(&c, cur, &[]).rows {
        if matches!(row[0].text().as_ref(), "void" | "refund") {
            continue;
        }
        for at in [2, 3, 4] {
            row.insert(at, Cell::from(""));
        }
        sec.push(row);
    }
    for (what, list) in [("void", &c.voids), ("refund", &c.refunds)] {
        for e in list {
            sec.push(vec![
                Cell::from(what),
                Cell::from(e.by.as_str()),
                Cell::from(""),
                Cell::code(e.id.to_string()),
                Cell::code(e.voids.as_ref().map(|v| v.to_string()).unwrap_or_default()),
                Cell::from(""),
                Cell::signed_money(e.amount, cur),
            ]);
        }
    }
    // A checked-out visit no charge names: the appointment, of the patient.
    for u in &uncharged {
        sec.push(vec![
            Cell::from("not charged"),
            Cell::from(u.provider.as_str()),
            Cell::from(u.start.as_str()),
            Cell::code(u.appointment.as_str()),
            Cell::code(u.patient.as_str()),
            Cell::from(""),
            Cell::from(""),
        ]);
    }
    Ok(Report {
        name: "closeout",
        title: "Closeout",
        covers: Covers::Day(date),
        sections: vec![sec],
    })
}
