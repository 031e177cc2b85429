//! The visit flow: confirm, check in, room, check out, no-show, left without being seen.

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use crate::cli::Ctx;
use crate::cli::schedule::{modify, modify_then, visit_id};
use crate::domain::patient::Patient;
use crate::domain::schedule::Status;
use crate::error::{Error, Result, exit};

/// Record that the patient confirmed the appointment.
#[derive(Debug, clap::Args)]
pub struct ConfirmArgs {
    /// Appointment ID (A…), or a patient ID or name for that patient's appointment today.
    pub id: String,
    /// How it was confirmed.
    #[arg(long, value_enum, default_value_t = Via::Phone)]
    pub via: Via,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Via {
    Phone,
    Sms,
    Email,
    Letter,
    Portal,
    InPerson,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Phone => "phone",
            Via::Sms => "sms",
            Via::Email => "email",
            Via::Letter => "letter",
            Via::Portal => "portal",
            Via::InPerson => "in-person",
        }
    }
}

pub fn cmd_confirm(ctx: &Ctx, a: ConfirmArgs) -> Result<u8> {
    let id = visit_id(ctx, &a.id)?;
    let (_, appt) = modify(
        ctx,
        &id,
        |ap| {
            format!(
                "Confirm appointment {id} for patient {} via {}.",
                ap.patient,
                a.via.as_str()
            )
        },
        |s, ap| {
            ap.set_status(
                Status::Confirmed,
                s.now,
                &s.store.options.user,
                Some(a.via.as_str().into()),
                None,
            )
        },
    )?;
    ctx.say(&format!("confirmed {} by {}", appt.id, a.via.as_str()));
    Ok(exit::OK)
}

/// Record the patient's arrival; warns about what the desk should check while they are here.
#[derive(Debug, clap::Args)]
pub struct CheckinArgs {
    /// Appointment ID (A…), or a patient ID or name for that patient's appointment today.
    pub id: String,
}

pub fn cmd_checkin(ctx: &Ctx, a: CheckinArgs) -> Result<u8> {
    let id = visit_id(ctx, &a.id)?;
    // The patient and their ledger (read once for the warning and the co-pay line) are read
    // while git records the check-in: at ten years a ledger read stats every ledger day folder.
    let (sched, appt, read) = modify_then(
        ctx,
        &id,
        |ap| format!("Check in appointment {id} for patient {}.", ap.patient),
        |s, ap| {
            if s.today() != crate::domain::schedule::localtime::wall(s.tz, ap.start).date() {
                return Err(Error::user(format!("appointment {id} is not today"))
                    .hint("check in on the day of the visit, or move the appointment first"));
            }
            ap.set_status(Status::Arrived, s.now, &s.store.options.user, None, None)
        },
        |s, ap| -> Result<_> {
            let patient = s.store.load_patient(&ap.patient)?;
            Ok((patient, s.store.patient_ledger(&ap.patient)?))
        },
    )?;
    ctx.say(&format!("{} arrived at {}", appt.id, sched.hm(sched.now)));
    let (patient, entries) = read?;
    let owed = crate::domain::ledger::balance(&entries).due_now;
    for w in checkin_warnings(&patient, sched.today(), owed) {
        eprintln!("frontdesk: warning: {w}");
    }
    if !patient.needs.is_empty() {
        ctx.say(&format!(
            "needs: {}",
            crate::domain::needs::summary(&patient.needs)
        ));
    }
    // The co-pay for this visit's type from the primary coverage (payments, issue 4).
    if let Some(line) =
        crate::cli::pay::copay::checkin_line(&sched.store, &appt, &patient, &entries)?
    {
        ctx.say(&line);
    }
    Ok(exit::OK)
}

/// What the desk should sort out at check-in, as sentences without patient details.
pub fn checkin_warnings(p: &Patient, today: NaiveDate, owed: Decimal) -> Vec<String> {
    let year_ago = today - Duration::days(365);
    let mut out = Vec::new();
    if p.verified.is_none_or(|d| d < year_ago) {
        out.push(format!(
            "demographics of patient {} were not verified in the last 12 months: confirm address, phone and contacts",
            p.id
        ));
    }
    let active: Vec<_> = p.insurance.iter().filter(|c| c.active_on(today)).collect();
    if active.is_empty() && !p.insurance.is_empty() {
        out.push(format!(
            "patient {} has no coverage in force today (coverage ended): ask for current insurance",
            p.id
        ));
    }
    for c in active {
        let fresh = c
            .last_verified()
            .is_some_and(|v| v.at.date_naive() >= year_ago);
        if !fresh {
            out.push(format!(
                "{} insurance ({}) of patient {} was not verified in the last 12 months",
                c.rank_name(),
                c.payer,
                p.id
            ));
        }
    }
    if owed > Decimal::ZERO {
        out.push(format!("patient {} owes a balance of {owed}", p.id));
    }
    out
}

/// Show the patient to a room.
#[derive(Debug, clap::Args)]
pub struct RoomArgs {
    /// Appointment ID (A…), or a patient ID or name for that patient's appointment today.
    pub id: String,
    /// Room key (see `schedule rooms`); by default the room the booking holds.
    #[arg(long)]
    pub room: Option<String>,
}

/// The room to show the patient to: the one asked for, else the one the booking holds.
fn room_for(
    asked: &Option<String>,
    ap: &crate::domain::schedule::appointment::Appointment,
) -> Result<String> {
    asked
        .clone()
        .or_else(|| ap.room.clone())
        .or_else(|| ap.resources.first().map(|h| h.room.clone()))
        .ok_or_else(|| {
            Error::user(format!("appointment {} holds no room", ap.id))
                .hint("name one with --room (see `frontdesk schedule rooms`)")
        })
}

pub fn cmd_room(ctx: &Ctx, a: RoomArgs) -> Result<u8> {
    let id = visit_id(ctx, &a.id)?;
    let mut chosen = String::new();
    let (_, appt) = modify(
        ctx,
        &id,
        |ap| {
            format!(
                "Room appointment {id} for patient {} in {}.",
                ap.patient,
                room_for(&a.room, ap).unwrap_or_default()
            )
        },
        |s, ap| {
            let room = room_for(&a.room, ap)?;
            s.store.load_room(&room)?;
            let day = s.store.day_appointments(ap.date())?;
            if let Some(other) = day.iter().find(|o| {
                o.id != ap.id
                    && o.status == Status::Roomed
                    && o.room.as_deref() == Some(room.as_str())
            }) {
                return Err(
                    Error::conflict(format!("room {room} is in use by {}", other.id))
                        .hint("check that patient out first, or choose another room with --room"),
                );
            }
            ap.set_status(
                Status::Roomed,
                s.now,
                &s.store.options.user,
                None,
                Some(format!("room {room}")),
            )?;
            ap.room = Some(room.clone());
            chosen = room;
            Ok(())
        },
    )?;
    ctx.say(&format!("{} roomed in {chosen}", appt.id));
    Ok(exit::OK)
}

/// One step of the visit flow on an appointment.
#[derive(Debug, clap::Args)]
pub struct StepArgs {
    /// Appointment ID (A…), or a patient ID or name for that patient's appointment today.
    pub id: String,
    #[arg(long)]
    pub note: Option<String>,
}

pub fn cmd_step(ctx: &Ctx, a: StepArgs, to: Status, verb: &str) -> Result<u8> {
    let id = visit_id(ctx, &a.id)?;
    let mut unroomed = false;
    let (_, appt) = modify(
        ctx,
        &id,
        |ap| format!("{verb} appointment {id} for patient {}.", ap.patient),
        |s, ap| {
            if to == Status::Noshow && ap.status.can_become(to) && ap.start > s.now {
                return Err(Error::user(format!("appointment {id} has not started yet"))
                    .hint("mark a no-show after the start time; to call it off, use `schedule cancel`"));
            }
            unroomed = to == Status::Fulfilled && ap.status == Status::Arrived;
            ap.set_status(to, s.now, &s.store.options.user, None, a.note.clone())
        },
    )?;
    if unroomed {
        // Allowed (a quick visit at the desk), but usually a step the desk forgot.
        eprintln!(
            "frontdesk: warning: {} was checked out without being roomed (`schedule room` records the room)",
            appt.id
        );
    }
    let now = match appt.status {
        Status::Noshow => "marked a no-show".to_string(),
        Status::Left => "marked as left without being seen".to_string(),
        other => format!("now {other}"),
    };
    ctx.say(&format!("{} is {now}", appt.id));
    Ok(exit::OK)
}
