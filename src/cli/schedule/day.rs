use chrono::NaiveDate;

use crate::cli::schedule::Sched;
use crate::cli::{Ctx, found};
use crate::domain::schedule::appointment::Appointment;
use crate::domain::schedule::clock::Span;
use crate::domain::schedule::{Clock, Provider};
use crate::error::{Result, exit};
use crate::render::{self, Cell, Format, Table};

/// The day sheet: each provider's appointments in order, with breaks, time off and free gaps.
///
/// Reads that one day's directory only.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The day: today (default), tomorrow, mon, +3d, 2026-12-01.
    pub date: Option<String>,
    /// Only this provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// Also list cancelled, rescheduled and no-show appointments.
    #[arg(long)]
    pub all: bool,
}

pub fn cmd_day(ctx: &Ctx, a: Args) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let date = sched.day(a.date.as_deref().unwrap_or("today"))?;
    let day = sched.store.day_appointments(date)?;
    let providers = providers_for(&sched, a.provider.as_deref(), &day)?;
    if ctx.format == Format::Json {
        let rows: Vec<&Appointment> = day
            .iter()
            .filter(|ap| a.all || ap.status.holds_time())
            .filter(|ap| providers.iter().any(|p| p.key == ap.provider))
            .collect();
        render::print_json(&rows)?;
        return Ok(found(!rows.is_empty()));
    }
    let mut t = Table::new(&[
        "provider",
        "start",
        "end",
        "appointment",
        "patient",
        "name",
        "type",
        "status",
        "room",
        "needs",
    ]);
    let shown = crate::cli::schedule::patients_for_rows(
        &sched.store,
        day.iter()
            .filter(|ap| providers.iter().any(|p| on_sheet(ap, p, a.all)))
            .map(|ap| &ap.patient),
    );
    for p in &providers {
        sheet(&sched, p, date, &day, a.all, &shown, &mut t);
    }
    render::page::set_covers(match sched.store.office.holidays.get(&date) {
        Some(_) => format!("{}, office closed", date.format("%A %Y-%m-%d")),
        None => date.format("%A %Y-%m-%d").to_string(),
    });
    if let Some(h) = sched.store.office.holidays.get(&date) {
        ctx.say(&format!(
            "{} {date}: office closed ({h})",
            date.format("%A")
        ));
    } else if t.is_empty() {
        ctx.say(&format!(
            "{} {date}: no provider works and nothing is booked",
            date.format("%A")
        ));
    } else {
        ctx.say(&format!("{} {date}", date.format("%A")));
    }
    t.print(ctx.format)?;
    Ok(exit::OK)
}

/// The providers to show: the one asked for, or everyone working or booked that day.
pub fn providers_for(
    sched: &Sched,
    only: Option<&str>,
    day: &[Appointment],
) -> Result<Vec<Provider>> {
    if let Some(k) = only {
        return Ok(vec![sched.store.load_provider(k)?]);
    }
    Ok(sched
        .store
        .providers()?
        .into_iter()
        .filter(|p| p.active || day.iter().any(|a| a.provider == p.key))
        .collect())
}

/// Whether visit `ap` has a row on provider `p`'s sheet: theirs, and holding its time (with
/// `all`, cancelled and no-show visits too).
fn on_sheet(ap: &Appointment, p: &Provider, all: bool) -> bool {
    ap.provider == p.key && (all || ap.status.holds_time())
}

/// One provider's rows: visits, breaks, time off and free gaps in time order.
fn sheet(
    sched: &Sched,
    p: &Provider,
    date: NaiveDate,
    day: &[Appointment],
    all: bool,
    shown: &crate::cli::schedule::RowPatients,
    t: &mut Table,
) {
    let mut rows: Vec<(Clock, Vec<Cell>)> = Vec::new();
    let filler = |span: Span, what: String| {
        vec![
            Cell::from(p.key.as_str()),
            Cell::from(span.start.to_string()),
            Cell::from(span.end.to_string()),
            Cell::from(""),
            Cell::from(""),
            Cell::from(what),
            Cell::from(""),
            Cell::from(""),
            Cell::from(""),
            Cell::from(""),
        ]
    };
    if !sched.store.office.holidays.contains_key(&date) {
        for s in p.sessions(date) {
            for b in &s.breaks {
                rows.push((b.start, filler(*b, "(break)".into())));
            }
        }
        for (off, why) in p.away(date) {
            rows.push((
                off.start,
                filler(
                    off,
                    format!(
                        "(away{})",
                        why.map(|w| format!(": {w}")).unwrap_or_default()
                    ),
                ),
            ));
        }
        for g in sched.calendar().free_gaps(p, date, day) {
            let minutes = g.end.minutes() - g.start.minutes();
            rows.push((g.start, filler(g, format!("(free {minutes} min)"))));
        }
    }
    for ap in day.iter().filter(|ap| on_sheet(ap, p, all)) {
        let mut status = ap.status.to_string();
        if ap.double_booked {
            status.push_str(" (double)");
        }
        let room = ap
            .room
            .clone()
            .or(ap.resources.first().map(|h| h.room.clone()));
        let start = Clock::of(crate::domain::schedule::localtime::wall(sched.tz, ap.start).time());
        // One read of the patient gives the name and the needs; a file that cannot be read is
        // named on stderr and the row shows the ID.
        let patient = shown
            .get(&ap.patient)
            .and_then(|read| crate::cli::schedule::shown(read.as_ref().map_err(String::clone)));
        rows.push((
            start,
            vec![
                Cell::from(p.key.as_str()),
                Cell::from(sched.hm(ap.start)),
                Cell::from(sched.hm(ap.end)),
                Cell::code(ap.id.to_string()),
                Cell::code(ap.patient.to_string()),
                Cell::from(
                    patient
                        .as_ref()
                        .map_or_else(|| ap.patient.to_string(), |p| p.list_name()),
                ),
                Cell::from(ap.kind.as_str()),
                Cell::from(status),
                Cell::from(room),
                Cell::from(
                    patient
                        .as_ref()
                        .map(|p| crate::domain::needs::summary(&p.needs))
                        .unwrap_or_default(),
                ),
            ],
        ));
    }
    rows.sort_by_key(|(c, _)| *c);
    for (_, r) in rows {
        t.push(r);
    }
}
