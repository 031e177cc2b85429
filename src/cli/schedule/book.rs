use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::cli::Ctx;
use crate::cli::schedule::{FoldArgs, Sched, nearest, patient_arg, refusal};
use crate::derived::schedule_index;
use crate::domain::id::{Id, IdKind};
use crate::domain::schedule::appointment::{self, Appointment, Change, Series, Status};
use crate::domain::schedule::localtime::{resolve, wall};
use crate::domain::schedule::recur::Rule;
use crate::domain::schedule::slots::{Conflict, Plan, Request};
use crate::domain::schedule::{AppointmentType, Provider};
use crate::error::{Error, Result, exit};
use crate::render::{self, Format};
use crate::store::{Mode, Store};

/// Book an appointment, or a recurring series with --repeat or --rrule.
///
/// Refuses a time that is taken (provider, patient or room), outside the provider's hours, in a
/// break, time off or an office holiday, in the past, or too soon for the type; the message
/// names each conflict and offers the nearest free times. A series is checked whole first:
/// if any occurrence conflicts, every conflict is listed and nothing is booked.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Patient ID (P…), or a search (`doe jan 1980`) that finds one patient.
    #[arg(long)]
    pub patient: String,
    /// Provider key (see `frontdesk provider list`).
    #[arg(long)]
    pub provider: String,
    /// Appointment type key (see appointment-types.toml).
    #[arg(long = "type")]
    pub kind: String,
    /// Office-local start: "2026-12-01 09:30", "tomorrow 9am", "mon 14:15".
    #[arg(long)]
    pub at: String,
    /// Hold this room for the whole visit.
    #[arg(long)]
    pub room: Option<String>,
    /// Reason for the visit, in the patient's words.
    #[arg(long)]
    pub reason: Option<String>,
    /// Who referred the patient.
    #[arg(long)]
    pub referral: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
    /// Book over another appointment on purpose; recorded as a double-booking.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub fold: FoldArgs,
    /// Repeat: daily, weekly, biweekly or monthly (with --count and/or --until).
    #[arg(long, conflicts_with = "rrule")]
    pub repeat: Option<String>,
    /// How many occurrences in all (the first included).
    #[arg(long)]
    pub count: Option<u32>,
    /// Last date an occurrence may fall on.
    #[arg(long)]
    pub until: Option<String>,
    /// An RFC 5545 rule instead of --repeat, e.g. "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=8".
    #[arg(long)]
    pub rrule: Option<String>,
    /// For a series: book the occurrences that fit and list the ones that do not, instead of
    /// refusing the whole series.
    #[arg(long)]
    pub skip_conflicts: bool,
}

pub fn cmd_book(ctx: &Ctx, a: Args) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let pid = patient_arg(ctx, &sched, &a.patient)?;
    let provider = sched.store.load_provider(&a.provider)?;
    let kind = sched.kind(&a.kind)?.clone();
    let first = sched.at(&a.at, &a.fold)?;
    let rule = rule_of(&sched, &a)?;
    let starts = match &rule {
        None => vec![first],
        Some(r) => occurrence_starts(&sched, r, first)?,
    };
    let mut txn = sched.store.begin()?;
    let patient = sched.store.load_patient(&pid)?;
    if patient.status == crate::domain::patient::Status::Deceased {
        return Err(
            Error::user(format!("patient {pid} is recorded as deceased"))
                .hint("check the patient ID; nothing was booked"),
        );
    }
    let mut skipped: Vec<(DateTime<FixedOffset>, String)> = Vec::new();
    // The new IDs' check below stats every appointment day folder (3,100 at ten years): that
    // pass is made while the days are read and the times planned. Both spread over the cores
    // (a full day's files are read in parallel too), so they share rayon's threads rather than
    // each taking its own.
    let ((), planned) = rayon::join(
        || schedule_index::APPOINTMENTS.check_years_ahead(&sched.store),
        || plan_starts(&sched, &pid, &provider, &kind, &starts, &a, &mut skipped),
    );
    let planned = planned?;
    let details = Details {
        reason: clean(a.reason),
        referral: clean(a.referral),
        notes: clean(a.notes),
    };
    let series = rule.as_ref().map(|_| Id::generate(IdKind::Series));
    let mut booked = Vec::new();
    for plan in planned {
        let mut appt = new_appointment(&sched, &pid, &provider.key, &kind, plan, &details);
        appt.series = series.clone();
        // Every new ID is checked before the first file is written, so a refusal writes nothing.
        txn.refuse_dated_id_in_use(&schedule_index::APPOINTMENTS, &appt.id, appt.date())?;
        booked.push(appt);
    }
    for appt in &booked {
        txn.save_appointment(appt, Mode::CreateNew)?;
    }
    let message = match (&series, &rule) {
        (Some(sid), Some(r)) => {
            let s = Series {
                schema: appointment::SCHEMA,
                id: sid.clone(),
                patient: pid.clone(),
                provider: provider.key.clone(),
                kind: kind.key.clone(),
                rule: r.to_rrule(),
                created: sched.now,
                by: sched.store.options.user.clone(),
                occurrences: booked.iter().map(|b| b.id.clone()).collect(),
                extra: Default::default(),
            };
            txn.put(&Store::series_rel(sid), &s, Mode::CreateNew)?;
            format!(
                "Book series {sid} ({} appointments, first {}) for patient {pid}.",
                booked.len(),
                booked[0].id
            )
        }
        _ => format!("Book appointment {} for patient {pid}.", booked[0].id),
    };
    // The patient was waiting for this: the entry is closed in the same commit, so the
    // waitlist never offers a slot to someone already booked.
    let mut message = message;
    let mut closed = Vec::new();
    for mut w in sched.store.waitlist()? {
        let fits = w.patient == pid
            && w.status == crate::domain::schedule::waitlist::WaitStatus::Waiting
            && w.kind == kind.key
            && w.provider.as_ref().is_none_or(|p| *p == provider.key);
        if fits {
            w.status = crate::domain::schedule::waitlist::WaitStatus::Booked;
            w.booked = Some(booked[0].id.clone());
            txn.put(&Store::waitlist_rel(&w.id), &w, Mode::Replace)?;
            message.push_str(&format!(" Close waitlist entry {}.", w.id));
            closed.push(w.id);
        }
    }
    if !skipped.is_empty() {
        message.push_str(&format!(" {} occurrences skipped.", skipped.len()));
    }
    // Whether a new patient was seen before is read while git records the booking (at ten
    // years a patient's visits are found through ten years of the appointment index).
    let (committed, seen) = txn.commit_alongside(&message, || {
        (kind.new_patient)
            .then(|| seen_before(&sched, &pid, &booked))
            .transpose()
    });
    committed?;
    for (start, why) in &skipped {
        eprintln!(
            "frontdesk: skipped {}: {}",
            sched.when(*start),
            why.lines().next().unwrap_or_default()
        );
    }
    for w in &closed {
        ctx.say(&format!(
            "waitlist entry {w} closed: booked {}",
            booked[0].id
        ));
    }
    // A new-patient visit for someone the office has already seen is usually a booking
    // mistake (and bills differently), so the desk is told; the booking stands.
    if let Some(prior) = seen?.flatten() {
        eprintln!(
            "frontdesk: warning: patient {pid} was already seen ({}, {}); this is booked as a new-patient visit",
            prior.id,
            sched.when(prior.start)
        );
    }
    report(ctx, &sched, &booked, series.as_ref(), &kind)
}

/// The patient's latest fulfilled visit, other than the ones just `booked`. Only a day up to
/// today can hold one, so those days are read newest first and the first fulfilled visit
/// ends the look: a patient seen before is usually told by their last visit's file, and a new
/// patient (the usual case) by none.
fn seen_before(sched: &Sched, pid: &Id, booked: &[Appointment]) -> Result<Option<Appointment>> {
    let today = sched.today();
    let visits = schedule_index::of_patient(&sched.store, pid)?;
    let past = visits.iter().rev().filter(|(date, _)| *date <= today);
    for (date, id) in past.filter(|(_, id)| booked.iter().all(|b| &b.id != id)) {
        let Some(a) = sched.store.appointment_filed_on(*date, id)? else {
            continue;
        };
        // The index can lag an edit made in place; the file itself has the last word.
        if &a.patient == pid && a.status == Status::Fulfilled {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

pub struct Details {
    pub reason: Option<String>,
    pub referral: Option<String>,
    pub notes: Option<String>,
}

fn clean(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn rule_of(sched: &Sched, a: &Args) -> Result<Option<Rule>> {
    let until = a.until.as_deref().map(|u| sched.day(u)).transpose()?;
    match (&a.repeat, &a.rrule) {
        (Some(r), _) => Ok(Some(Rule::simple(r, a.count, until)?)),
        (None, Some(r)) => Ok(Some(Rule::parse(r)?)),
        (None, None) if a.count.is_some() || until.is_some() => {
            Err(Error::user("--count and --until need --repeat or --rrule"))
        }
        (None, None) => Ok(None),
    }
}

/// Each occurrence's instant: the rule's dates on or after the start, at its wall-clock time.
/// One falling in a DST gap is refused before anything is checked.
fn occurrence_starts(
    sched: &Sched,
    rule: &Rule,
    first: DateTime<FixedOffset>,
) -> Result<Vec<DateTime<FixedOffset>>> {
    let fold = Some(crate::domain::schedule::localtime::Fold::Earlier);
    let first_local = wall(sched.tz, first);
    let starts = rule
        .occurrences(first_local)
        .into_iter()
        .enumerate()
        .map(|(i, local)| {
            if local == first_local {
                Ok(first)
            } else {
                resolve(sched.tz, local, fold).map_err(|e| e.at(format!("occurrence {}", i + 1)))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    if starts.is_empty() {
        return Err(
            Error::user("the repeat gives no occurrence on or after --at")
                .hint("check --until (or UNTIL) and BYDAY against the start date"),
        );
    }
    Ok(starts)
}

/// The plan of each start. With `--skip-conflicts` a series' occurrences are planned one by
/// one: those that fit are kept, and the others added to `skipped` with why; otherwise any
/// conflict refuses the whole booking.
fn plan_starts(
    sched: &Sched,
    pid: &Id,
    provider: &Provider,
    kind: &AppointmentType,
    starts: &[DateTime<FixedOffset>],
    a: &Args,
    skipped: &mut Vec<(DateTime<FixedOffset>, String)>,
) -> Result<Vec<Plan>> {
    let (room, force) = (a.room.as_deref(), a.force);
    if !(a.skip_conflicts && starts.len() > 1) {
        return plan_all(sched, pid, provider, kind, starts, room, force);
    }
    let mut fit = Vec::new();
    for start in starts {
        let one = std::slice::from_ref(start);
        match plan_all(sched, pid, provider, kind, one, room, force) {
            Ok(plans) => fit.extend(plans),
            Err(e) => skipped.push((*start, e.message)),
        }
    }
    if fit.is_empty() {
        return Err(Error::user("no occurrence of the series can be booked")
            .hint("choose another start time or day (`schedule find --repeat weekly` finds one)"));
    }
    Ok(fit)
}

/// Checks every start (each against the others too) and returns the plans, or one error that
/// lists every conflict with the nearest free times.
pub fn plan_all(
    sched: &Sched,
    pid: &Id,
    provider: &Provider,
    kind: &AppointmentType,
    starts: &[DateTime<FixedOffset>],
    room: Option<&str>,
    force: bool,
) -> Result<Vec<Plan>> {
    plan_all_ignoring(sched, pid, provider, kind, starts, room, force, &[])
}

#[allow(clippy::too_many_arguments)]
pub fn plan_all_ignoring(
    sched: &Sched,
    pid: &Id,
    provider: &Provider,
    kind: &AppointmentType,
    starts: &[DateTime<FixedOffset>],
    room: Option<&str>,
    force: bool,
    ignore: &[Id],
) -> Result<Vec<Plan>> {
    let cal = sched.calendar();
    let mut days: HashMap<NaiveDate, Vec<Appointment>> = HashMap::new();
    let mut plans = Vec::new();
    let mut failed: Vec<(DateTime<FixedOffset>, Vec<Conflict>)> = Vec::new();
    for &start in starts {
        let date = wall(sched.tz, start).date();
        if let std::collections::hash_map::Entry::Vacant(e) = days.entry(date) {
            e.insert(sched.store.day_appointments(date)?);
        }
        let day = &days[&date];
        let req = Request {
            patient: pid,
            provider,
            kind,
            start,
            room,
            ignore,
        };
        let result = if force {
            cal.check_forced(&req, day)
        } else {
            cal.check(&req, day)
        };
        match result {
            Ok(plan) => {
                // Later occurrences must not collide with earlier ones of the same batch.
                let placeholder = placeholder(pid, &provider.key, &kind.key, &plan);
                days.entry(date).or_default().push(placeholder);
                plans.push(plan);
            }
            Err(cs) => failed.push((start, cs)),
        }
    }
    if failed.is_empty() {
        return Ok(plans);
    }
    if starts.len() == 1 {
        let (start, cs) = &failed[0];
        let near = nearest(sched, pid, provider, kind, *start, 3)?;
        return Err(refusal(
            sched,
            &format!("{} with {}", sched.when(*start), provider.key),
            cs,
            &near,
        ));
    }
    let lines: Vec<String> = failed
        .iter()
        .map(|(t, cs)| {
            let why: Vec<String> = cs.iter().map(ToString::to_string).collect();
            format!("{}: {}", sched.when(*t), why.join("; "))
        })
        .collect();
    let any_hard = failed
        .iter()
        .any(|(_, cs)| cs.iter().any(|c| !c.forceable()));
    let err = if any_hard {
        Error::user
    } else {
        Error::conflict
    };
    Err(err(format!(
        "{} of {} occurrences cannot be booked, so none were:\n  {}",
        failed.len(),
        starts.len(),
        lines.join("\n  ")
    ))
    .hint("choose another start time or day, shorten the series with --count, or book the free ones one by one"))
}

fn placeholder(pid: &Id, provider: &str, kind: &str, plan: &Plan) -> Appointment {
    let mut a = Appointment::booked(
        Id::generate(IdKind::Appointment),
        pid.clone(),
        provider,
        kind,
        plan.start,
        plan.end,
    );
    a.room = plan.room.clone();
    a.location = plan.location.clone();
    a.double_booked = !plan.overlaps.is_empty();
    a.resources = plan.holds.clone();
    a
}

/// A new booked appointment from an accepted plan, with its first history entry.
pub fn new_appointment(
    sched: &Sched,
    pid: &Id,
    provider: &str,
    kind: &AppointmentType,
    plan: Plan,
    details: &Details,
) -> Appointment {
    let mut a = placeholder(pid, provider, &kind.key, &plan);
    a.reason = details.reason.clone();
    a.referral = details.referral.clone();
    a.notes = details.notes.clone();
    a.history.push(Change {
        status: Status::Booked,
        at: sched.now,
        by: sched.store.options.user.clone(),
        via: None,
        note: (!plan.overlaps.is_empty()).then(|| {
            let ids: Vec<String> = plan.overlaps.iter().map(ToString::to_string).collect();
            format!("double-booked over {}", ids.join(", "))
        }),
    });
    a
}

fn report(
    ctx: &Ctx,
    sched: &Sched,
    booked: &[Appointment],
    series: Option<&Id>,
    kind: &AppointmentType,
) -> Result<u8> {
    if ctx.format == Format::Json {
        render::print_json(&serde_json::json!({
            "series": series,
            "appointments": booked.iter().map(|b| serde_json::json!({
                "id": b.id, "start": b.start, "end": b.end, "double_booked": b.double_booked,
            })).collect::<Vec<_>>(),
        }))?;
        return Ok(exit::OK);
    }
    let mut out = String::new();
    for b in booked {
        out.push_str(&format!("{}\n", b.id));
    }
    render::print(&out)?;
    for b in booked {
        let mut line = format!(
            "booked {}-{} with {}",
            sched.when(b.start),
            sched.hm(b.end),
            b.provider
        );
        if let Some(r) = b.room.as_ref().or(b.resources.first().map(|h| &h.room)) {
            line.push_str(&format!(" in {r}"));
        }
        if b.double_booked {
            line.push_str(" (double-booked)");
        }
        ctx.say(&line);
    }
    if let Some(s) = series {
        ctx.say(&format!("series {s}: {} appointments", booked.len()));
    }
    if let Some(i) = &kind.instructions {
        ctx.say(&format!("tell the patient: {i}"));
    }
    Ok(exit::OK)
}
