use chrono::Duration;

use crate::cli::comm::{day_cell, party_text};
use crate::cli::{Ctx, found};
use crate::domain::comm;
use crate::domain::dates::parse_day;
use crate::error::{Error, Result};
use crate::render::{Cell, Format, Table};

/// The follow-ups due, oldest first: the desk's morning to-do list.
///
/// Reads only the open follow-ups (docs/comms.md): a closed communication is never opened.
/// `--format json` prints the communications as stored; table and CSV add how late each is.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only follow-ups assigned to this staff user (unassigned ones are for anyone, and are
    /// left out).
    #[arg(long, value_name = "USER")]
    pub assign: Option<String>,
    /// Only follow-ups already late (due before the day).
    #[arg(long)]
    pub overdue: bool,
    /// The day to list for (default today): every open follow-up due on or before it.
    #[arg(long, value_name = "DATE")]
    pub on: Option<String>,
}

pub fn cmd_due(ctx: &Ctx, a: Args) -> Result<u8> {
    if let Some(user) = &a.assign {
        comm::staff_key("--assign", user)?;
    }
    let store = ctx.open()?;
    let today = store.office.today();
    let on = match &a.on {
        Some(s) => parse_day(s, today).map_err(|e| Error::user(format!("--on: {}", e.message)))?,
        None => today,
    };
    let until = if a.overdue {
        on - Duration::days(1)
    } else {
        on
    };
    let mut list = store.due_communications(until)?;
    if let Some(user) = &a.assign {
        list.retain(|c| c.assign.as_deref() == Some(user.as_str()));
    }
    if ctx.format == Format::Json {
        crate::render::print_json(&list)?;
        return Ok(found(!list.is_empty()));
    }
    let mut t = Table::new(&[
        "due",
        "late_days",
        "id",
        "patient",
        "with",
        "channel",
        "summary",
        "assign",
    ]);
    for c in &list {
        let late = c.follow_up.map_or(0, |d| (on - d).num_days().max(0));
        t.push(vec![
            day_cell(c.follow_up),
            Cell::count(late),
            Cell::code(c.id.to_string()),
            Cell::code(
                c.patient
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
            ),
            Cell::from(party_text(c)),
            Cell::from(c.channel.as_str()),
            Cell::from(c.summary.as_str()),
            Cell::from(c.assign.clone()),
        ]);
    }
    t.print(ctx.format)?;
    Ok(found(!list.is_empty()))
}
