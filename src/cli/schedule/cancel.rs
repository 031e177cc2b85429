use crate::cli::Ctx;
use crate::cli::schedule::waitlist::{matches_for, print_matches};
use crate::cli::schedule::{Sched, appointment_id};
use crate::domain::id::{Id, IdKind};
use crate::domain::schedule::Status;
use crate::domain::schedule::appointment::Appointment;
use crate::error::{Error, Result, exit};
use crate::store::Mode;

/// Cancel an appointment (or, with --series, it and every later occurrence of its series).
///
/// A cancel less than 24 hours before the start is recorded as a late cancel. Afterwards the
/// waitlisted patients who fit the freed time are listed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Appointment ID (A…), or a series ID (R…) to cancel the series.
    pub id: String,
    /// Why (patient's request, provider ill, weather, …).
    #[arg(long)]
    pub reason: String,
    /// Cancel this occurrence and every later one of its series; earlier ones stay.
    #[arg(long)]
    pub series: bool,
}

pub fn cmd_cancel(ctx: &Ctx, a: Args) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let reason = a.reason.trim().to_string();
    if reason.is_empty() {
        return Err(
            Error::user("--reason is required").hint("say why, e.g. --reason \"patient request\"")
        );
    }
    let id = Id::parse(&a.id)?;
    let mut txn = sched.store.begin()?;
    let targets: Vec<Appointment> = match id.kind() {
        IdKind::Series => future_of_series(&sched, &id, None)?,
        IdKind::Appointment if a.series => {
            let first = sched.store.load_appointment(&id)?;
            let sid = first
                .series
                .clone()
                .ok_or_else(|| Error::user(format!("appointment {id} is not part of a series")))?;
            future_of_series(&sched, &sid, Some(&first))?
        }
        IdKind::Appointment => vec![sched.store.load_appointment(&appointment_id(&a.id)?)?],
        _ => {
            return Err(Error::user(format!(
                "{id} is not an appointment or series ID"
            )));
        }
    };
    if targets.is_empty() {
        return Err(Error::not_found("no future occurrence left to cancel"));
    }
    let mut done = Vec::new();
    for mut appt in targets {
        appt.set_status(
            Status::Cancelled,
            sched.now,
            &sched.store.options.user,
            None,
            Some(reason.clone()),
        )?;
        appt.cancel_reason = Some(reason.clone());
        appt.late_cancel = appt.is_late_cancel(sched.now);
        txn.save_appointment(&appt, Mode::Replace)?;
        done.push(appt);
    }
    let message = if done.len() == 1 {
        format!(
            "Cancel appointment {} for patient {}.",
            done[0].id, done[0].patient
        )
    } else {
        format!(
            "Cancel {} appointments of series {} for patient {}.",
            done.len(),
            done[0]
                .series
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            done[0].patient
        )
    };
    txn.commit(&message)?;
    for appt in &done {
        ctx.say(&format!(
            "cancelled {} {}{}",
            appt.id,
            sched.when(appt.start),
            if appt.late_cancel {
                " (late cancel: less than 24 hours ahead)"
            } else {
                ""
            }
        ));
    }
    if ctx.quiet {
        return Ok(exit::OK);
    }
    // The freed time may suit someone who is waiting.
    let mut shown = false;
    for appt in done.iter().filter(|a| a.start > sched.now).take(5) {
        let m = matches_for(&sched, appt)?;
        if !m.is_empty() {
            eprintln!(
                "waitlisted patients who fit {} {}:",
                appt.id,
                sched.when(appt.start)
            );
            print_matches(ctx, &sched, &m)?;
            shown = true;
        }
    }
    if !shown {
        ctx.say("no one on the waitlist fits the freed time");
    }
    Ok(exit::OK)
}

/// The occurrences of a series that start after now (or at/after `from`) and still hold time.
fn future_of_series(
    sched: &Sched,
    sid: &Id,
    from: Option<&Appointment>,
) -> Result<Vec<Appointment>> {
    let series = sched.store.load_series(sid)?;
    let mut out = Vec::new();
    for oid in &series.occurrences {
        let a = match sched.store.load_appointment(oid) {
            Ok(a) => a,
            Err(e) if e.kind == crate::error::Kind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let later = from.is_none_or(|f| a.start >= f.start);
        if a.start > sched.now && later && matches!(a.status, Status::Booked | Status::Confirmed) {
            out.push(a);
        }
    }
    Ok(out)
}
