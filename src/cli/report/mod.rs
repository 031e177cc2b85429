//! `frontdesk report …`: the office's reports, for people (text, HTML with charts, Excel) and
//! for scripts and cron (CSV, JSON, `report nightly`). One file per report; what they share
//! (sections, formats, footer, de-identification) is in `frame.rs`, the charts in `chart.rs`,
//! and the rules themselves in `src/domain/report/`.

mod aging;
mod chart;
mod closeout;
mod daily;
mod frame;
mod missing_info;
mod nightly;
mod noshows;
mod productivity;
mod recall;
mod satisfaction;
mod utilization;
mod wait_times;

use chrono::{Duration, NaiveDate};
use clap::Subcommand;

use crate::cli::Ctx;
use crate::cli::schedule::Sched;
use crate::domain::dates::parse_day;
use crate::domain::report::days;
use crate::domain::schedule::{Appointment, Provider};
use crate::error::{Error, Result, exit};
use crate::render;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Name every report, with a line each.
    List,
    Daily(daily::Args),
    Aging(aging::Args),
    Noshows(noshows::Args),
    Utilization(utilization::Args),
    MissingInfo(missing_info::Args),
    WaitTimes(wait_times::Args),
    Productivity(productivity::Args),
    Recall(recall::Args),
    Closeout(closeout::Args),
    Satisfaction(satisfaction::Args),
    Nightly(nightly::Args),
}

/// The reports, with the line `report list` prints.
pub const REPORTS: &[(&str, &str)] = &[
    (
        "daily",
        "the day by provider: unconfirmed visits, coverage to verify, co-pays, balances, new patients",
    ),
    (
        "aging",
        "accounts receivable in 0-30/31-60/61-90/90+ day buckets, insurance vs patient, by payer, largest balances",
    ),
    (
        "noshows",
        "no-show and late-cancel rates by provider, type, weekday, hour and week; repeated no-shows",
    ),
    (
        "utilization",
        "booked vs available minutes per provider per day and week; the largest unused gaps",
    ),
    (
        "missing-info",
        "active patients missing an address, phone, emergency contact, coverage or a recent verification",
    ),
    (
        "wait-times",
        "arrival to rooming to checkout minutes by provider, weekday and hour (median, 90th percentile)",
    ),
    (
        "productivity",
        "visits, charges and collections by provider and by staff member",
    ),
    (
        "recall",
        "patients due for a recall visit (the type's recall_after) with nothing of that type booked",
    ),
    (
        "closeout",
        "the end-of-day closeout (as `pay closeout`), as a report",
    ),
    (
        "satisfaction",
        "survey responses joined to visits: top-box by composite, provider rating, NPS with 95% intervals; --against wait|late",
    ),
    (
        "nightly",
        "for cron: the standard set into DIR/YYYY-MM-DD/, one log line per report",
    ),
];

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::List => {
            let w = REPORTS.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            let mut s = String::new();
            for (name, line) in REPORTS {
                s.push_str(&format!("{name:<w$}  {line}\n"));
            }
            render::print(&s)?;
            Ok(exit::OK)
        }
        Command::Daily(a) => daily::cmd_daily(ctx, a),
        Command::Aging(a) => aging::cmd_aging(ctx, a),
        Command::Noshows(a) => noshows::cmd_noshows(ctx, a),
        Command::Utilization(a) => utilization::cmd_utilization(ctx, a),
        Command::MissingInfo(a) => missing_info::cmd_missing_info(ctx, a),
        Command::WaitTimes(a) => wait_times::cmd_wait_times(ctx, a),
        Command::Productivity(a) => productivity::cmd_productivity(ctx, a),
        Command::Recall(a) => recall::cmd_recall(ctx, a),
        Command::Closeout(a) => closeout::cmd_closeout(ctx, a),
        Command::Satisfaction(a) => satisfaction::cmd_satisfaction(ctx, a),
        Command::Nightly(a) => nightly::cmd_nightly(ctx, a),
    }
}

/// `--from` and `--to` for reports over a period.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Period {
    /// First day (included): 2026-11-01, -30d, mon, today.
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Last day (included).
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<String>,
}

/// The longest period a report reads day by day (ten years).
const MAX_DAYS: i64 = 3660;

impl Period {
    /// The period asked for, each end defaulting to the report's own.
    pub fn resolve(
        &self,
        today: NaiveDate,
        default: (NaiveDate, NaiveDate),
    ) -> Result<(NaiveDate, NaiveDate)> {
        let from = match &self.from {
            Some(s) => parse_day(s, today).map_err(|e| e.at("--from"))?,
            None => default.0,
        };
        let to = match &self.to {
            Some(s) => parse_day(s, today).map_err(|e| e.at("--to"))?,
            None => default.1,
        };
        if to < from {
            return Err(Error::user("--to is before --from")
                .hint("give the first day with --from and the last with --to"));
        }
        if (to - from).num_days() > MAX_DAYS {
            return Err(Error::user("the period is longer than ten years")
                .hint("give a shorter period with --from and --to"));
        }
        Ok((from, to))
    }
}

/// The last `n` days up to yesterday: the default period of reports about what happened.
pub fn last_days(today: NaiveDate, n: i64) -> (NaiveDate, NaiveDate) {
    (today - Duration::days(n), today - Duration::days(1))
}

/// Every appointment from `from` to `to`, of one provider when given: one day directory read
/// per day.
pub fn appointments(
    s: &Sched,
    from: NaiveDate,
    to: NaiveDate,
    provider: Option<&str>,
) -> Result<Vec<Appointment>> {
    let mut out = Vec::new();
    for d in days(from, to) {
        out.extend(
            s.store
                .day_appointments(d)?
                .into_iter()
                .filter(|a| provider.is_none_or(|p| a.provider == p)),
        );
    }
    Ok(out)
}

/// The providers a report covers: the one asked for (which must exist), or every provider.
pub fn providers(s: &Sched, only: Option<&str>) -> Result<Vec<Provider>> {
    match only {
        Some(k) => Ok(vec![s.store.load_provider(k)?]),
        None => s.store.providers(),
    }
}

/// A day typed on the command line, or `default`.
pub fn day_arg(
    s: &Sched,
    input: Option<&str>,
    default: NaiveDate,
    flag: &str,
) -> Result<NaiveDate> {
    match input {
        Some(d) => parse_day(d, s.today()).map_err(|e| e.at(flag)),
        None => Ok(default),
    }
}

/// `yes` or nothing, for a flag column.
pub fn yes(b: bool) -> crate::render::Cell {
    crate::render::Cell::from(if b { "yes" } else { "" })
}

/// Minutes, or nothing when there is no value.
pub fn minutes(m: Option<i64>) -> crate::render::Cell {
    m.map_or(crate::render::Cell::from(""), crate::render::Cell::count)
}
