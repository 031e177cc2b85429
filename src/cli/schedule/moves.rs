use crate::cli::Ctx;
use crate::cli::schedule::book::{Details, new_appointment, plan_all_ignoring};
use crate::cli::schedule::waitlist::{matches_for, print_matches};
use crate::cli::schedule::{FoldArgs, Sched, appointment_id};
use crate::domain::schedule::Status;
use crate::error::{Error, Result, exit};
use crate::render::{self, Format};
use crate::store::{Mode, Store};

/// Move an appointment to another time (and optionally another provider or room).
///
/// The new time is checked like a new booking. The old record stays, marked `rescheduled` and
/// linked to the new one, so the history shows what happened.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Appointment ID (A…).
    pub id: String,
    /// New office-local start: "2026-12-01 09:30".
    #[arg(long)]
    pub at: String,
    /// Another provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// Hold this room for the whole visit.
    #[arg(long)]
    pub room: Option<String>,
    /// Book over another appointment on purpose.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub fold: FoldArgs,
}

pub fn cmd_move(ctx: &Ctx, a: Args) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let id = appointment_id(&a.id)?;
    let start = sched.at(&a.at, &a.fold)?;
    let mut txn = sched.store.begin()?;
    let mut old = sched.store.load_appointment(&id)?;
    if !matches!(old.status, Status::Booked | Status::Confirmed) {
        return Err(Error::user(format!(
            "appointment {id} is {}; only a booked appointment can be moved",
            old.status
        ))
        .hint("book a new one with `schedule book`"));
    }
    let provider = sched
        .store
        .load_provider(a.provider.as_deref().unwrap_or(&old.provider))?;
    let kind = sched.kind(&old.kind)?.clone();
    let room = a.room.as_deref().or(old.room.as_deref());
    let plans = plan_all_ignoring(
        &sched,
        &old.patient,
        &provider,
        &kind,
        &[start],
        room,
        a.force,
        std::slice::from_ref(&id),
    )?;
    let details = Details {
        reason: old.reason.clone(),
        referral: old.referral.clone(),
        notes: old.notes.clone(),
    };
    let plan = plans
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("no plan for the move"))?;
    let mut new = new_appointment(&sched, &old.patient, &provider.key, &kind, plan, &details);
    new.series = old.series.clone();
    new.rescheduled_from = Some(id.clone());
    if let Some(c) = new.history.last_mut() {
        c.note = Some(format!(
            "moved from {id}{}",
            c.note
                .as_ref()
                .map(|n| format!("; {n}"))
                .unwrap_or_default()
        ));
    }
    old.set_status(
        Status::Rescheduled,
        sched.now,
        &sched.store.options.user,
        None,
        Some(format!("moved to {}", new.id)),
    )?;
    old.rescheduled_to = Some(new.id.clone());
    txn.save_appointment(&new, Mode::CreateNew)?;
    txn.save_appointment(&old, Mode::Replace)?;
    if let Some(sid) = &old.series {
        let mut s = sched.store.load_series(sid)?;
        s.occurrences.push(new.id.clone());
        txn.put(&Store::series_rel(sid), &s, Mode::Replace)?;
    }
    txn.commit(&format!(
        "Move appointment {id} to {} for patient {}.",
        new.id, new.patient
    ))?;
    if ctx.format == Format::Json {
        render::print_json(
            &serde_json::json!({"id": new.id, "from": id, "start": new.start, "end": new.end}),
        )?;
    } else {
        render::print(&format!("{}\n", new.id))?;
        ctx.say(&format!(
            "moved {id} to {} {}-{} with {}",
            new.id,
            sched.when(new.start),
            sched.hm(new.end),
            new.provider
        ));
    }
    // The old time is free now and may suit someone who is waiting.
    if !ctx.quiet && old.start > sched.now {
        let m = matches_for(&sched, &old)?;
        if !m.is_empty() {
            eprintln!(
                "waitlisted patients who fit the freed time {}:",
                sched.when(old.start)
            );
            print_matches(ctx, &sched, &m)?;
        }
    }
    Ok(exit::OK)
}
