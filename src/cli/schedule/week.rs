use chrono::{Datelike, Duration};

use crate::cli::Ctx;
use crate::cli::schedule::day::providers_for;
use crate::cli::schedule::{Sched, patient_label};
use crate::error::{Result, exit};
use crate::render::{Cell, Table};

/// The week at a glance: per day and provider, visits booked and free time left; with
/// --visits, every visit of the week with its appointment ID.
///
/// Reads the seven day directories of that week only.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Any day of the week to show (default this week).
    pub date: Option<String>,
    #[arg(long)]
    pub provider: Option<String>,
    /// List each visit (appointment ID, patient, type, status) instead of the totals.
    #[arg(long)]
    pub visits: bool,
}

pub fn cmd_week(ctx: &Ctx, a: Args) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let any = sched.day(a.date.as_deref().unwrap_or("today"))?;
    let monday = any - Duration::days(i64::from(any.weekday().num_days_from_monday()));
    crate::render::page::set_covers(format!(
        "Week of {} to {}",
        monday.format("%a %Y-%m-%d"),
        (monday + Duration::days(6)).format("%a %Y-%m-%d")
    ));
    if a.visits {
        return week_visits(ctx, &sched, monday, a.provider.as_deref());
    }
    let mut t = Table::new(&[
        "date",
        "provider",
        "hours",
        "booked",
        "booked min",
        "free min",
        "largest gap",
    ]);
    for i in 0..7 {
        let date = monday + Duration::days(i);
        let day = sched.store.day_appointments(date)?;
        let closed = sched.store.office.holidays.get(&date);
        for p in providers_for(&sched, a.provider.as_deref(), &day)? {
            let sessions = p.sessions(date);
            let mine: Vec<_> = day
                .iter()
                .filter(|x| x.provider == p.key && x.status.holds_time())
                .collect();
            if sessions.is_empty() && mine.is_empty() {
                continue;
            }
            let hours = match closed {
                Some(h) => format!("closed: {h}"),
                None => sessions
                    .iter()
                    .map(|s| s.span.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            let gaps = if closed.is_some() {
                Vec::new()
            } else {
                sched.calendar().free_gaps(&p, date, &day)
            };
            let free: i64 = gaps
                .iter()
                .map(|g| g.end.minutes() - g.start.minutes())
                .sum();
            let largest = gaps
                .iter()
                .map(|g| g.end.minutes() - g.start.minutes())
                .max()
                .unwrap_or(0);
            t.push(vec![
                Cell::day(date),
                Cell::from(p.key.as_str()),
                Cell::from(hours),
                Cell::count(mine.len()),
                Cell::count(mine.iter().map(|x| x.minutes()).sum::<i64>()),
                Cell::count(free),
                Cell::count(largest),
            ]);
        }
    }
    t.print(ctx.format)?;
    Ok(exit::OK)
}

/// Every visit of the week that holds its time, in day and start order: the IDs the desk needs
/// to move, confirm or cancel one.
fn week_visits(
    ctx: &Ctx,
    sched: &Sched,
    monday: chrono::NaiveDate,
    provider: Option<&str>,
) -> Result<u8> {
    if let Some(key) = provider {
        sched.store.load_provider(key)?;
    }
    let mut t = Table::new(&[
        "date",
        "start",
        "end",
        "provider",
        "appointment",
        "patient",
        "name",
        "type",
        "status",
    ]);
    for i in 0..7 {
        let date = monday + Duration::days(i);
        let mut day = sched.store.day_appointments(date)?;
        day.retain(|x| x.status.holds_time() && provider.is_none_or(|p| x.provider == p));
        day.sort_by(|x, y| (x.start, &x.provider).cmp(&(y.start, &y.provider)));
        for x in &day {
            t.push(vec![
                Cell::day(date),
                Cell::from(sched.hm(x.start)),
                Cell::from(sched.hm(x.end)),
                Cell::from(x.provider.as_str()),
                Cell::code(x.id.as_str()),
                Cell::code(x.patient.as_str()),
                Cell::from(patient_label(&sched.store, &x.patient)),
                Cell::from(x.kind.as_str()),
                Cell::from(x.status.as_str()),
            ]);
        }
    }
    t.print(ctx.format)?;
    Ok(exit::OK)
}
