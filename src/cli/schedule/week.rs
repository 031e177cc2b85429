use chrono::{Datelike, Duration};

use crate::cli::Ctx;
use crate::cli::schedule::Sched;
use crate::cli::schedule::day::providers_for;
use crate::error::{Result, exit};
use crate::render::{Cell, Table};

/// The week at a glance: per day and provider, visits booked and free time left.
///
/// Reads the seven day directories of that week only.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Any day of the week to show (default this week).
    pub date: Option<String>,
    #[arg(long)]
    pub provider: Option<String>,
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
