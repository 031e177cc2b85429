use chrono::{Duration, NaiveDateTime};

use crate::cli::Ctx;
use crate::cli::provider::modify;
use crate::domain::dates::parse_day;
use crate::domain::schedule::Clock;
use crate::domain::schedule::provider::TimeOff;
use crate::error::{Error, Result, exit};

/// Add or remove a provider's time off (vacation, conference, half day).
///
/// `--from 2026-12-21 --to 2026-12-23` is whole days, both included;
/// `--from "2026-12-01 12:00" --to "2026-12-01 17:00"` is part of a day.
/// Booked appointments in that time are listed so the desk can move them.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Provider key.
    pub key: String,
    #[arg(long, required_unless_present = "remove")]
    pub from: Option<String>,
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    #[arg(long)]
    pub reason: Option<String>,
    /// Remove entry N (as numbered by `provider show`).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub remove: Option<usize>,
}

pub fn cmd_timeoff(ctx: &Ctx, a: Args) -> Result<u8> {
    if let Some(n) = a.remove {
        modify(ctx, &a.key, "time off", |_, p| {
            if n == 0 || n > p.time_off.len() {
                return Err(
                    Error::user(format!("provider {} has no time-off entry {n}", a.key))
                        .hint("see the numbers with `provider show`"),
                );
            }
            p.time_off.remove(n - 1);
            Ok(())
        })?;
        ctx.say("time off removed");
        return Ok(exit::OK);
    }
    let store = ctx.open()?;
    let today = store.office.today();
    let from_s = a.from.clone().unwrap_or_default();
    let from = moment(&from_s, today, false)?;
    let to = moment(a.to.as_deref().unwrap_or(&from_s), today, true)?;
    if to <= from {
        return Err(Error::user("time off must end after it starts"));
    }
    let entry = TimeOff {
        from,
        to,
        reason: a.reason.clone(),
    };
    let p = modify(ctx, &a.key, "time off", |_, p| {
        p.time_off.push(entry.clone());
        p.time_off.sort_by_key(|t| t.from);
        Ok(())
    })?;
    ctx.say(&format!(
        "time off for {} from {} to {}",
        p.key,
        from.format("%Y-%m-%d %H:%M"),
        to.format("%Y-%m-%d %H:%M")
    ));
    // Visits already booked in that time need a call.
    let tz = store.office.tz()?;
    let mut d = from.date();
    while d <= to.date() {
        for ap in store
            .day_appointments(d)?
            .iter()
            .filter(|x| x.provider == p.key && x.status.holds_time())
        {
            let local = crate::domain::schedule::localtime::wall(tz, ap.start);
            if local >= from && local < to {
                eprintln!(
                    "frontdesk: warning: appointment {} ({}) is booked in this time off; move it with `schedule move`",
                    ap.id,
                    local.format("%Y-%m-%d %H:%M")
                );
            }
        }
        d += Duration::days(1);
    }
    Ok(exit::OK)
}

/// A day (`2026-12-21`, `mon`) or a day and time. A bare day means its start, or with
/// `end_of_day` the start of the next day, so `--to` includes the whole day.
fn moment(s: &str, today: chrono::NaiveDate, end_of_day: bool) -> Result<NaiveDateTime> {
    if let Some((day, time)) = s.trim().rsplit_once([' ', 'T'])
        && let Ok(c) = Clock::parse(time)
    {
        let d = parse_day(day, today)?;
        return Ok(match c.time() {
            Some(t) => d.and_time(t),
            None => (d + Duration::days(1)).and_time(chrono::NaiveTime::MIN),
        });
    }
    let d = parse_day(s, today)?;
    Ok(if end_of_day { d + Duration::days(1) } else { d }.and_time(chrono::NaiveTime::MIN))
}
