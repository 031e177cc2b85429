use chrono::NaiveDate;

use crate::cli::Ctx;
use crate::cli::report::chart;
use crate::cli::report::frame::{Column, Covers, Output, Phi, Report, Section, col, emit, phi};
use crate::cli::report::{Period, providers};
use crate::cli::schedule::Sched;
use crate::domain::report::utilization::{
    available, gap_minutes, provider_day, share, utilization,
};
use crate::domain::report::{days, percent, week_start};
use crate::error::Result;
use crate::render::Cell;

/// Booked against available minutes per provider per day and week, and the largest unused
/// gaps.
///
/// Available time is the weekly hours less breaks, time off and holidays; booked time is what
/// the day sheet does not show as free (visits with their clean-up buffers), so it never
/// exceeds the available time. Reads one day directory per day (default: this week).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub period: Period,
    /// Only this provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// How many of the largest gaps to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    #[command(flatten)]
    pub out: Output,
}

const LOAD: [Column; 3] = [col("available min"), col("booked min"), col("booked")];

const GAPS: &[Column] = &[
    col("provider"),
    phi("date", Phi::Date),
    col("start"),
    col("end"),
    col("minutes"),
];

pub fn cmd_utilization(ctx: &Ctx, a: Args) -> Result<u8> {
    let s = Sched::open(ctx)?;
    let monday = week_start(s.today());
    let (from, to) = a
        .period
        .resolve(s.today(), (monday, monday + chrono::Duration::days(6)))?;
    let r = build(&s, from, to, a.provider.as_deref(), a.top)?;
    emit(ctx, &s.store, r, &a.out)
}

pub fn build(
    s: &Sched,
    from: NaiveDate,
    to: NaiveDate,
    provider: Option<&str>,
    top: usize,
) -> Result<Report> {
    let provs = providers(s, provider)?;
    let cal = s.calendar();
    let mut out = Vec::new();
    for d in days(from, to) {
        let holiday = s.store.office.holidays.contains_key(&d);
        let day = s.store.day_appointments(d)?;
        for p in &provs {
            let avail = available(p, d, holiday);
            if avail.is_empty() {
                continue;
            }
            let gaps = cal.free_gaps(p, d, &day);
            out.push(provider_day(&p.key, d, &avail, &gaps));
        }
    }
    let u = utilization(&out, top);
    let load = |first: Vec<Cell>, a: i64, b: i64| {
        let mut row = first;
        row.extend([
            Cell::count(a),
            Cell::count(b),
            Cell::Number(percent(share(b, a))),
        ]);
        row
    };
    let with = |firsts: &[Column]| {
        let mut c = firsts.to_vec();
        c.extend(LOAD);
        c
    };
    let mut by_p = Section::new("providers", "By provider", &with(&[col("provider")]));
    let mut bars = Vec::new();
    for (k, l) in &u.by_provider {
        by_p.push(load(vec![Cell::from(k.as_str())], l.available, l.booked));
        bars.push((
            k.clone(),
            l.booked,
            format!("{} of {} h", percent(l.share()), l.available / 60),
            Some(l.available),
        ));
    }
    let by_p = by_p.with_chart(chart::bars(
        "Booked minutes (dark) within available minutes (box), per provider",
        bars,
    ));
    let mut by_w = Section::new(
        "weeks",
        "By provider and week",
        &with(&[col("provider"), phi("week of", Phi::Date)]),
    );
    for ((k, w), l) in &u.by_week {
        by_w.push(load(
            vec![Cell::from(k.as_str()), Cell::day(*w)],
            l.available,
            l.booked,
        ));
    }
    let mut by_d = Section::new(
        "days",
        "By provider and day",
        &with(&[col("provider"), phi("date", Phi::Date)]),
    );
    let mut sorted: Vec<_> = out.iter().collect();
    sorted.sort_by(|a, b| (&a.provider, a.date).cmp(&(&b.provider, b.date)));
    for d in sorted {
        by_d.push(load(
            vec![Cell::from(d.provider.as_str()), Cell::day(d.date)],
            d.available,
            d.booked,
        ));
    }
    let mut gaps = Section::new("gaps", "Largest unused gaps", GAPS);
    for (p, d, g) in &u.largest_gaps {
        gaps.push(vec![
            Cell::from(p.as_str()),
            Cell::day(*d),
            Cell::from(g.start.to_string()),
            Cell::from(g.end.to_string()),
            Cell::count(gap_minutes(g)),
        ]);
    }
    Ok(Report {
        name: "utilization",
        title: "Provider utilization",
        covers: Covers::Range(from, to),
        sections: vec![by_p, by_w, by_d, gaps],
    })
}
