use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::cli::Ctx;
use crate::cli::report::chart::{self, permille};
use crate::cli::report::frame::{Column, Covers, Output, Phi, Report, Section, col, emit, phi};
use crate::cli::report::{Period, appointments, last_days};
use crate::cli::schedule::{Sched, patient_label};
use crate::domain::report::noshows::{Rates, due, noshows};
use crate::domain::report::{WEEKDAYS, percent};
use crate::error::Result;
use crate::render::Cell;

/// No-show and late-cancel rates by provider, appointment type, weekday, hour and week, and
/// the patients with repeated no-shows.
///
/// A rate's base is the visits that were due (kept, missed, cancelled late, or still marked
/// booked); cancellations in time and moves are left out. Reads one day directory per day of
/// the period (default: the last 30 days).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub period: Period,
    /// Only this provider's visits.
    #[arg(long)]
    pub provider: Option<String>,
    /// List patients with at least this many no-shows in the period.
    #[arg(long, default_value_t = 2)]
    pub repeat: u64,
    #[command(flatten)]
    pub out: Output,
}

const RATES: [Column; 5] = [
    col("due"),
    col("no-shows"),
    col("no-show rate"),
    col("late cancels"),
    col("late-cancel rate"),
];

const REPEAT: &[Column] = &[
    phi("patient", Phi::Id),
    phi("name", Phi::Name),
    col("no-shows"),
    col("due"),
    phi("last no-show", Phi::Date),
];

pub fn cmd_noshows(ctx: &Ctx, a: Args) -> Result<u8> {
    let s = Sched::open(ctx)?;
    let (from, to) = a.period.resolve(s.today(), last_days(s.today(), 30))?;
    if let Some(p) = &a.provider {
        s.store.load_provider(p)?;
    }
    let r = build(&s, from, to, a.provider.as_deref(), a.repeat)?;
    emit(ctx, &s.store, r, &a.out)
}

pub fn build(
    s: &Sched,
    from: NaiveDate,
    to: NaiveDate,
    provider: Option<&str>,
    repeat: u64,
) -> Result<Report> {
    let visits: Vec<_> = appointments(s, from, to, provider)?
        .iter()
        .filter_map(|a| due(a, s.tz))
        .collect();
    let n = noshows(&visits, repeat);
    let mut sections = vec![
        rates_section("providers", "By provider", "provider", &n.by_provider, None),
        rates_section("types", "By appointment type", "type", &n.by_type, None),
    ];
    let weekdays: BTreeMap<String, Rates> = n
        .by_weekday
        .iter()
        .map(|(d, r)| (format!("{} {}", d + 1, WEEKDAYS[*d as usize]), *r))
        .collect();
    sections.push(rates_section(
        "weekdays",
        "By weekday",
        "weekday",
        &weekdays,
        Some("No-show rate by weekday"),
    ));
    let hours: BTreeMap<String, Rates> = n
        .by_hour
        .iter()
        .map(|(h, r)| (format!("{h:02}:00"), *r))
        .collect();
    sections.push(rates_section("hours", "By hour", "hour", &hours, None));
    let weeks: BTreeMap<String, Rates> = n
        .by_week
        .iter()
        .map(|(w, r)| {
            let iso = w.iso_week();
            (format!("{}-W{:02}", iso.year(), iso.week()), *r)
        })
        .collect();
    sections.push(rates_section(
        "weeks",
        "By week (trend)",
        "week",
        &weeks,
        Some("No-show rate by week"),
    ));
    let mut total = BTreeMap::new();
    total.insert("all visits".to_string(), n.total);
    sections.insert(
        0,
        rates_section("total", "All visits", "group", &total, None),
    );
    let mut rep = Section::new("repeat", "Patients with repeated no-shows", REPEAT);
    for p in &n.repeats {
        rep.push(vec![
            Cell::code(p.patient.to_string()),
            Cell::from(patient_label(&s.store, &p.patient)),
            Cell::count(p.noshows),
            Cell::count(p.due),
            Cell::day(p.last),
        ]);
    }
    sections.push(rep);
    Ok(Report {
        name: "noshows",
        title: "No-shows and late cancels",
        covers: Covers::Range(from, to),
        sections,
    })
}

fn rates_section(
    key: &'static str,
    title: &'static str,
    first: &'static str,
    groups: &BTreeMap<String, Rates>,
    chart_title: Option<&str>,
) -> Section {
    let mut columns = vec![col(first)];
    columns.extend(RATES);
    let mut s = Section::new(key, title, &columns);
    let mut bars = Vec::new();
    for (k, r) in groups {
        s.push(vec![
            Cell::from(k.as_str()),
            Cell::count(r.due),
            Cell::count(r.noshows),
            Cell::Number(percent(r.noshow_rate())),
            Cell::count(r.late_cancels),
            Cell::Number(percent(r.late_cancel_rate())),
        ]);
        bars.push((
            k.clone(),
            permille(r.noshow_rate()),
            format!("{} of {}", percent(r.noshow_rate()), r.due),
            None,
        ));
    }
    match chart_title {
        Some(t) => s.with_chart(chart::bars(t, bars)),
        None => s,
    }
}
