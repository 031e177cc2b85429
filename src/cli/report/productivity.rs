use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::cli::Ctx;
use crate::cli::report::chart;
use crate::cli::report::frame::{Column, Covers, Output, Report, Section, col, emit};
use crate::cli::report::{Period, appointments, last_days};
use crate::cli::schedule::Sched;
use crate::domain::money;
use crate::domain::report::days;
use crate::domain::report::productivity::{Activity, productivity};
use crate::error::Result;
use crate::render::Cell;

/// Visits, charges and collections for a period, by provider and by staff member.
///
/// Visits are appointments checked out; charges and collections are the period's ledger
/// entries still in effect (collections: patient and insurance payments less refunds). Reads
/// one appointment and one ledger directory per day (default: the last 30 days).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub period: Period,
    #[command(flatten)]
    pub out: Output,
}

const ACTIVITY: [Column; 3] = [col("visits"), col("charges"), col("collections")];

pub fn cmd_productivity(ctx: &Ctx, a: Args) -> Result<u8> {
    let s = Sched::open(ctx)?;
    let (from, to) = a.period.resolve(s.today(), last_days(s.today(), 30))?;
    let r = build(&s, from, to)?;
    emit(ctx, &s.store, r, &a.out)
}

pub fn build(s: &Sched, from: NaiveDate, to: NaiveDate) -> Result<Report> {
    let appts = appointments(s, from, to, None)?;
    let mut entries = Vec::new();
    for d in days(from, to) {
        entries.extend(s.store.ledger_day(d)?);
    }
    let p = productivity(&appts, &entries);
    let cur = s.store.office.currency.as_str();
    let mut total = BTreeMap::new();
    total.insert("all".to_string(), p.total.clone());
    let mut bars = Vec::new();
    for (k, a) in &p.by_provider {
        bars.push((
            k.clone(),
            chart::cents(a.collections),
            money::display(a.collections, cur),
            None,
        ));
    }
    let providers = section("providers", "By provider", "provider", &p.by_provider, cur)
        .with_chart(chart::bars("Collections by provider", bars));
    Ok(Report {
        name: "productivity",
        title: "Productivity",
        covers: Covers::Range(from, to),
        sections: vec![
            section("total", "Whole office", "office", &total, cur),
            providers,
            section("staff", "By staff member", "staff", &p.by_staff, cur),
        ],
    })
}

fn section(
    key: &'static str,
    title: &'static str,
    first: &'static str,
    groups: &BTreeMap<String, Activity>,
    cur: &str,
) -> Section {
    let mut columns = vec![col(first)];
    columns.extend(ACTIVITY);
    let mut s = Section::new(key, title, &columns);
    for (k, a) in groups {
        s.push(vec![
            Cell::from(k.as_str()),
            Cell::count(a.visits),
            Cell::money(a.charges, cur),
            Cell::money(a.collections, cur),
        ]);
    }
    s
}
