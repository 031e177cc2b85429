use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::cli::Ctx;
use crate::cli::report::chart;
use crate::cli::report::frame::{Column, Covers, Output, Report, Section, col, emit};
use crate::cli::report::{Period, appointments, last_days, minutes};
use crate::cli::schedule::Sched;
use crate::domain::report::WEEKDAYS;
use crate::domain::report::waits::{Summary, WAIT_BANDS, stay, wait_times};
use crate::error::Result;
use crate::render::Cell;

/// Minutes from arrival to rooming (wait), rooming to checkout (visit) and arrival to checkout
/// (total) by provider, weekday and hour: median and 90th percentile, and the spread of waits.
///
/// Counts the visits checked out in the period (default: the last 30 days), from their status
/// history; reads one day directory per day.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub period: Period,
    /// Only this provider's visits.
    #[arg(long)]
    pub provider: Option<String>,
    #[command(flatten)]
    pub out: Output,
}

const SUMMARY: [Column; 7] = [
    col("visits"),
    col("wait median"),
    col("wait p90"),
    col("visit median"),
    col("visit p90"),
    col("total median"),
    col("total p90"),
];

const DISTRIBUTION: &[Column] = &[col("wait"), col("visits")];

pub fn cmd_wait_times(ctx: &Ctx, a: Args) -> Result<u8> {
    let s = Sched::open(ctx)?;
    let (from, to) = a.period.resolve(s.today(), last_days(s.today(), 30))?;
    if let Some(p) = &a.provider {
        s.store.load_provider(p)?;
    }
    let r = build(&s, from, to, a.provider.as_deref())?;
    emit(ctx, &s.store, r, &a.out)
}

pub fn build(s: &Sched, from: NaiveDate, to: NaiveDate, provider: Option<&str>) -> Result<Report> {
    let stays: Vec<_> = appointments(s, from, to, provider)?
        .iter()
        .filter_map(|a| stay(a, s.tz))
        .collect();
    let w = wait_times(&stays);
    let mut all = BTreeMap::new();
    all.insert("all visits".to_string(), w.all.clone());
    let weekdays: BTreeMap<String, Summary> = w
        .by_weekday
        .iter()
        .map(|(d, x)| (format!("{} {}", d + 1, WEEKDAYS[*d as usize]), x.clone()))
        .collect();
    let hours: BTreeMap<String, Summary> = w
        .by_hour
        .iter()
        .map(|(h, x)| (format!("{h:02}:00"), x.clone()))
        .collect();
    let mut dist = Section::new("distribution", "Waits, arrival to rooming", DISTRIBUTION);
    let mut bars = Vec::new();
    for (i, n) in w.distribution.iter().enumerate() {
        let label = if i == WAIT_BANDS {
            format!("{} min or more", i * 10)
        } else {
            format!("{}-{} min", i * 10, i * 10 + 9)
        };
        dist.push(vec![Cell::from(label.as_str()), Cell::count(*n)]);
        bars.push((label, *n as i64, n.to_string(), None));
    }
    let dist = dist.with_chart(chart::bars("Visits by wait, arrival to rooming", bars));
    Ok(Report {
        name: "wait-times",
        title: "Wait times (minutes)",
        covers: Covers::Range(from, to),
        sections: vec![
            summary_section("total", "All visits", "group", &all),
            summary_section("providers", "By provider", "provider", &w.by_provider),
            summary_section("weekdays", "By weekday", "weekday", &weekdays),
            summary_section("hours", "By hour of arrival", "hour", &hours),
            dist,
        ],
    })
}

fn summary_section(
    key: &'static str,
    title: &'static str,
    first: &'static str,
    groups: &BTreeMap<String, Summary>,
) -> Section {
    let mut columns = vec![col(first)];
    columns.extend(SUMMARY);
    let mut s = Section::new(key, title, &columns);
    for (k, x) in groups {
        s.push(vec![
            Cell::from(k.as_str()),
            Cell::count(x.visits),
            minutes(x.wait_median),
            minutes(x.wait_p90),
            minutes(x.visit_median),
            minutes(x.visit_p90),
            minutes(x.total_median),
            minutes(x.total_p90),
        ]);
    }
    s
}
