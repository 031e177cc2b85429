use chrono::{Duration, NaiveDate};

use crate::cli::patient::patient_id;
use crate::cli::{Ctx, found};
use crate::domain::dates::parse_day;
use crate::domain::statement_run::Kept;
use crate::error::{Error, Result};
use crate::render::{self, Cell, Table};

/// List letters sent: when, to whom, which template, through which channel.
///
/// By default the last 30 days; `--patient` alone searches every year ("did we send her a
/// statement in March?"). A statement run is one row (to "N patients"); with `--patient`, the
/// patient's statement in it is listed as `L…/P…`, which `letter show` prints.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this patient's letters (P…).
    #[arg(long)]
    pub patient: Option<String>,
    /// From this day (today, -30d, 2026-03-01, …).
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<String>,
    /// To this day, included.
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Only letters from this template.
    #[arg(long)]
    pub template: Option<String>,
}

pub fn cmd_sent(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let today = store.office.today();
    let pid = a.patient.as_deref().map(patient_id).transpose()?;
    let to = match &a.to {
        Some(s) => parse_day(s, today).map_err(|e| e.at("--to"))?,
        None => today,
    };
    let from = match &a.from {
        Some(s) => parse_day(s, today).map_err(|e| e.at("--from"))?,
        None if pid.is_some() => NaiveDate::MIN,
        None => to - Duration::days(30),
    };
    if from > to {
        return Err(Error::user("--from is after --to").hint("give the earlier day to --from"));
    }
    let mut t = Table::new(&[
        "letter",
        "sent",
        "patient",
        "template",
        "channel",
        "to",
        "appointment",
        "by",
    ]);
    let kept = match &pid {
        Some(p) => store.patient_kept(p, from, to)?,
        None => store.kept_between(from, to)?,
    };
    for (date, kept) in kept {
        let l = match kept {
            Kept::Letter(l) => l,
            Kept::Run(r) => {
                if a.template.as_ref().is_some_and(|t| &r.template != t) {
                    continue;
                }
                // A run is one row; a patient's statement in it is that patient's row,
                // addressed as `letter show` takes it (L…/P…).
                let (letter, patient, to) = match &pid {
                    Some(p) => match store.run_line(date, &r, p)? {
                        Some(_) => (format!("{}/{p}", r.id), p.to_string(), "patient".into()),
                        None => continue,
                    },
                    None => (
                        r.id.to_string(),
                        String::new(),
                        render::plural(usize::try_from(r.statements.count).unwrap_or(0), "patient"),
                    ),
                };
                t.push(vec![
                    Cell::code(letter),
                    Cell::day(date),
                    Cell::code(patient),
                    Cell::from(r.template.clone()),
                    Cell::from(r.channel.as_str()),
                    Cell::from(to),
                    Cell::code(String::new()),
                    Cell::from(r.by.clone()),
                ]);
                continue;
            }
        };
        if pid.as_ref().is_some_and(|p| &l.patient != p)
            || a.template.as_ref().is_some_and(|t| &l.template != t)
        {
            continue;
        }
        t.push(vec![
            Cell::code(l.id.to_string()),
            Cell::day(date),
            Cell::code(l.patient.to_string()),
            Cell::from(l.template.clone()),
            Cell::from(l.channel.as_str()),
            Cell::from(l.to.describe()),
            Cell::code(l.appointment.map(|a| a.to_string()).unwrap_or_default()),
            Cell::from(l.by.clone()),
        ]);
    }
    let any = !t.is_empty();
    t.print(ctx.format)?;
    Ok(found(any))
}
