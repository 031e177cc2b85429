use chrono::NaiveDate;

use crate::cli::Ctx;
use crate::cli::pay::closeout::{table, void_targets};
use crate::cli::report::day_arg;
use crate::cli::report::frame::{Column, Covers, Output, Report, Section, col, emit};
use crate::cli::schedule::Sched;
use crate::domain::closeout::closeout;
use crate::error::Result;

/// The end-of-day closeout of `pay closeout` as a report: payments by method and staff
/// member, checks, the cash drawer, insurance payments, voids and refunds (entry IDs only).
///
/// Reads one day's ledger directory.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The business day (default today).
    #[arg(allow_hyphen_values = true)]
    pub date: Option<String>,
    #[command(flatten)]
    pub out: Output,
}

const COLUMNS: &[Column] = &[col("section"), col("name"), col("count"), col("amount")];

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
    let mut sec = Section::new("closeout", "Closeout", COLUMNS);
    for row in table(&c).rows {
        sec.push(row);
    }
    Ok(Report {
        name: "closeout",
        title: "Closeout",
        covers: Covers::Day(date),
        sections: vec![sec],
    })
}
