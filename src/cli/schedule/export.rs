use std::collections::HashMap;
use std::path::PathBuf;

use chrono::Duration;

use crate::cli::Ctx;
use crate::cli::schedule::Sched;
use crate::disk::atomic;
use crate::domain::schedule::ics::{Export, render};
use crate::error::{Error, Result, exit};

/// Export appointments as an iCalendar (.ics) file for Outlook, Google or Apple calendars.
///
/// Times carry the office's time zone with its real DST rules. Patient names are left out
/// unless --include-names is given (the file may leave the office).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this provider's appointments.
    #[arg(long)]
    pub provider: Option<String>,
    /// First day (default today).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day (default four weeks after --from).
    #[arg(long)]
    pub to: Option<String>,
    /// Write here (default: standard output).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Put patient names and IDs in the events.
    #[arg(long)]
    pub include_names: bool,
    /// Include cancelled, rescheduled and no-show appointments.
    #[arg(long)]
    pub all: bool,
}

pub fn cmd_export(ctx: &Ctx, a: Args) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let from = sched.day(a.from.as_deref().unwrap_or("today"))?;
    let to = match a.to.as_deref() {
        Some(d) => sched.day(d)?,
        None => from + Duration::days(27),
    };
    if to < from {
        return Err(Error::user("--to is earlier than --from"));
    }
    if (to - from).num_days() > 3660 {
        return Err(Error::user("export at most ten years at a time"));
    }
    if let Some(p) = &a.provider {
        sched.store.load_provider(p)?;
    }
    let mut appts = Vec::new();
    let mut d = from;
    while d <= to {
        appts.extend(
            sched
                .store
                .day_appointments(d)?
                .into_iter()
                .filter(|x| a.provider.as_ref().is_none_or(|p| &x.provider == p))
                .filter(|x| a.all || x.status.holds_time()),
        );
        d += Duration::days(1);
    }
    let names: Option<HashMap<_, _>> = a.include_names.then(|| {
        appts
            .iter()
            .map(|x| {
                (
                    x.patient.clone(),
                    crate::cli::schedule::patient_label(&sched.store, &x.patient),
                )
            })
            .collect()
    });
    let text = render(&Export {
        tz: sched.tz,
        from,
        to,
        stamp: sched.now,
        appointments: &appts,
        names: names.as_ref(),
        office: &sched.store.office.name,
    });
    match &a.output {
        Some(path) => {
            atomic::write(path, text.as_bytes(), atomic::Mode::Replace)?;
            ctx.say(&format!(
                "{} written to {}",
                crate::render::plural(appts.len(), "appointment"),
                path.display()
            ));
        }
        None => crate::render::print(&text)?,
    }
    Ok(exit::OK)
}
