//! `frontdesk schedule …`: booking and the visit flow. One file per command; the shared glue
//! (opening the calendar, reading times, explaining refusals, one status change) lives here.

mod book;
mod cancel;
mod day;
mod export;
mod find;
mod flow;
mod list;
mod moves;
mod rooms;
mod show;
mod waiting;
mod waitlist;
mod week;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use chrono_tz::Tz;
use clap::Subcommand;

use crate::cli::Ctx;
use crate::domain::id::{Id, IdKind};
use crate::domain::schedule::appointment::{Appointment, Status};
use crate::domain::schedule::apptype::AppointmentTypes;
use crate::domain::schedule::localtime::{Fold, parse_local, resolve, wall};
use crate::domain::schedule::slots::{Calendar, Conflict, Filter, Slot};
use crate::domain::schedule::{AppointmentType, Provider, Room};
use crate::error::{Error, Result};
use crate::store::{Mode, Store, Txn};

#[derive(Debug, Subcommand)]
pub enum Command {
    Book(book::Args),
    /// Book a recurring series: `book` with --repeat or --rrule, which are then required.
    Recurring(book::Args),
    Find(find::Args),
    Move(moves::Args),
    Cancel(cancel::Args),
    Confirm(flow::ConfirmArgs),
    Checkin(flow::CheckinArgs),
    Room(flow::RoomArgs),
    /// Check the patient out: the visit is fulfilled.
    Checkout(flow::StepArgs),
    /// Mark a no-show (after the start time).
    Noshow(flow::StepArgs),
    /// Mark that an arrived patient left without being seen.
    Left(flow::StepArgs),
    Show(show::Args),
    Day(day::Args),
    Week(week::Args),
    Waiting(waiting::Args),
    List(list::Args),
    Rooms(rooms::Args),
    /// Patients waiting for an earlier or a particular time: add, list, match, remove.
    #[command(subcommand)]
    Waitlist(waitlist::Command),
    Export(export::Args),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    use crate::domain::schedule::Status;
    match cmd {
        Command::Book(a) => book::cmd_book(ctx, a),
        Command::Recurring(a) if a.repeat.is_none() && a.rrule.is_none() => Err(Error::user(
            "a recurring booking needs --repeat (with --count or --until) or --rrule",
        )
        .hint("e.g. --repeat weekly --count 8, or --rrule \"FREQ=WEEKLY;BYDAY=TU,TH;COUNT=8\"")),
        Command::Recurring(a) => book::cmd_book(ctx, a),
        Command::Find(a) => find::cmd_find(ctx, a),
        Command::Move(a) => moves::cmd_move(ctx, a),
        Command::Cancel(a) => cancel::cmd_cancel(ctx, a),
        Command::Confirm(a) => flow::cmd_confirm(ctx, a),
        Command::Checkin(a) => flow::cmd_checkin(ctx, a),
        Command::Room(a) => flow::cmd_room(ctx, a),
        Command::Checkout(a) => flow::cmd_step(ctx, a, Status::Fulfilled, "Check out"),
        Command::Noshow(a) => flow::cmd_step(ctx, a, Status::Noshow, "Mark no-show for"),
        Command::Left(a) => {
            flow::cmd_step(ctx, a, Status::Left, "Mark left without being seen for")
        }
        Command::Show(a) => show::cmd_show(ctx, a),
        Command::Day(a) => day::cmd_day(ctx, a),
        Command::Week(a) => week::cmd_week(ctx, a),
        Command::Waiting(a) => waiting::cmd_waiting(ctx, a),
        Command::List(a) => list::cmd_list(ctx, a),
        Command::Rooms(a) => rooms::cmd_rooms(ctx, a),
        Command::Waitlist(c) => waitlist::run(ctx, c),
        Command::Export(a) => export::cmd_export(ctx, a),
    }
}

/// What every scheduling command reads once: the office zone, the clock, types and rooms.
pub struct Sched {
    pub store: Store,
    pub tz: Tz,
    pub now: DateTime<FixedOffset>,
    pub types: AppointmentTypes,
    pub rooms: Vec<Room>,
}

impl Sched {
    pub fn open(ctx: &Ctx) -> Result<Sched> {
        let store = ctx.open()?;
        let tz = store.office.tz()?;
        let now = store.office.now().fixed_offset();
        let types = store.appointment_types()?;
        // A retired room is never offered or held again.
        let rooms = store.rooms()?.into_iter().filter(|r| !r.retired).collect();
        Ok(Sched {
            store,
            tz,
            now,
            types,
            rooms,
        })
    }

    pub fn calendar(&self) -> Calendar<'_> {
        Calendar {
            tz: self.tz,
            holidays: &self.store.office.holidays,
            types: &self.types,
            rooms: &self.rooms,
            now: self.now,
        }
    }

    pub fn today(&self) -> NaiveDate {
        wall(self.tz, self.now).date()
    }

    /// An appointment type that may be booked (a retired one is refused).
    pub fn kind(&self, key: &str) -> Result<&AppointmentType> {
        let t = self.types.get(key)?;
        if t.retired {
            return Err(Error::user(format!("appointment type {key} is retired"))
                .hint("choose another type (`frontdesk type list`), or `frontdesk type retire KEY --undo`"));
        }
        Ok(t)
    }

    /// A typed date (`today`, `mon`, `+2w`, ISO).
    pub fn day(&self, s: &str) -> Result<NaiveDate> {
        crate::domain::dates::parse_day(s, self.today())
    }

    /// A typed local time, resolved in the office zone (refusing DST gaps, asking in folds).
    pub fn at(&self, s: &str, fold: &FoldArgs) -> Result<DateTime<FixedOffset>> {
        let local = parse_local(s, self.today()).map_err(|e| e.at("--at"))?;
        resolve(self.tz, local, fold.fold())
    }

    /// Local `HH:MM` of an instant.
    pub fn hm(&self, t: DateTime<FixedOffset>) -> String {
        wall(self.tz, t).format("%H:%M").to_string()
    }

    /// `Tue 2026-12-01 09:30` of an instant.
    pub fn when(&self, t: DateTime<FixedOffset>) -> String {
        wall(self.tz, t).format("%a %Y-%m-%d %H:%M").to_string()
    }
}

/// `--earlier` / `--later` for a time that happens twice when clocks go back.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FoldArgs {
    /// In the repeated hour when clocks go back, take the first (daylight) one.
    #[arg(long, conflicts_with = "later")]
    pub earlier: bool,
    /// In the repeated hour when clocks go back, take the second (standard) one.
    #[arg(long)]
    pub later: bool,
}

impl FoldArgs {
    pub fn fold(&self) -> Option<Fold> {
        if self.earlier {
            Some(Fold::Earlier)
        } else if self.later {
            Some(Fold::Later)
        } else {
            None
        }
    }
}

pub fn appointment_id(s: &str) -> Result<Id> {
    Id::parse_kind(s, IdKind::Appointment)
}

pub fn patient_id(s: &str) -> Result<Id> {
    Id::parse_kind(s, IdKind::Patient)
}

/// The patient a `--patient` argument means: a patient ID as it is, or the one patient a search
/// (`doe jan 1980`) finds, with a pick list on a terminal when it finds several.
pub fn patient_arg(ctx: &Ctx, sched: &Sched, input: &str) -> Result<Id> {
    // Something shaped like an ID is an ID, mistyped or of another kind: its error says so,
    // where a name search would find nobody. That is an ID of any kind as the tool prints it
    // (capitals, and no digit at all in about one ID in twenty), or capitals with a digit.
    let capitals = input.starts_with(|c: char| c.is_ascii_uppercase())
        && input
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let id_shaped =
        capitals && (input.chars().any(|c| c.is_ascii_digit()) || Id::parse(input).is_ok());
    if id_shaped {
        return patient_id(input);
    }
    let query = crate::domain::search::Query::parse(input, sched.store.office.today());
    if query.is_empty() {
        return Err(Error::user(
            "--patient needs a patient ID or a name to search for",
        ));
    }
    let index = crate::derived::index::open(&sched.store)?;
    let hits = index.search(&query, false)?;
    let ids: Vec<String> = hits
        .iter()
        .take(10)
        .map(|(_, d)| d.patient_id().to_string())
        .collect();
    match ids.as_slice() {
        [] => Err(Error::not_found("no patient matches --patient")
            .hint("try fewer words, or `frontdesk patient find`")),
        [one] => patient_id(one),
        several if ctx.interactive() => {
            for (i, id) in several.iter().enumerate() {
                eprintln!(
                    "  {}. {id} {}",
                    i + 1,
                    patient_label(&sched.store, &patient_id(id)?)
                );
            }
            patient_id(&several[ctx.pick(several.len())?])
        }
        several => Err(Error::user(format!(
            "{} patients match --patient: {}",
            several.len(),
            several.join(", ")
        ))
        .hint("give the patient ID, or more of the name or the birth date")),
    }
}

/// The appointment a visit-flow command means: an appointment ID as it is, or a patient ID or
/// a name search (`doe jan`) for the patient's one appointment today. Several that day: a
/// pick list on a terminal, else a refusal that lists them.
pub fn visit_id(ctx: &Ctx, input: &str) -> Result<Id> {
    if let Ok(id) = Id::parse_kind(input, IdKind::Appointment) {
        return Ok(id);
    }
    let store = ctx.open()?;
    let today = store.office.today();
    let day = store.day_appointments(today)?;
    let live = |a: &&Appointment| a.status.holds_time() || a.status == Status::Roomed;
    let mine: Vec<&Appointment> = match Id::parse_kind(input, IdKind::Patient) {
        Ok(pid) => day
            .iter()
            .filter(live)
            .filter(|a| a.patient == pid)
            .collect(),
        Err(_) => {
            let query = crate::domain::search::Query::parse(input, today);
            if query.is_empty() {
                return Err(
                    Error::user("give an appointment ID, a patient ID or a name")
                        .hint("today's appointment IDs are on `frontdesk schedule day`"),
                );
            }
            day.iter()
                .filter(live)
                .filter(|a| {
                    store.load_patient(&a.patient).is_ok_and(|p| {
                        query
                            .score(&crate::domain::search::SearchDoc::from_patient(&p))
                            .is_some()
                    })
                })
                .collect()
        }
    };
    match mine.as_slice() {
        [] => Err(Error::not_found("no appointment today matches")
            .hint("give the appointment ID (see `frontdesk schedule day`), or `schedule list --patient` for other days")),
        [one] => Ok(one.id.clone()),
        several if ctx.interactive() => {
            for (i, a) in several.iter().enumerate() {
                eprintln!(
                    "  {}. {} {} with {} ({})",
                    i + 1,
                    a.id,
                    crate::domain::schedule::localtime::wall(store.office.tz()?, a.start).format("%H:%M"),
                    a.provider,
                    a.kind
                );
            }
            let n = ctx.pick(several.len())?;
            Ok(several[n].id.clone())
        }
        several => Err(Error::user(format!(
            "{} appointments today match: {}",
            several.len(),
            several.iter().map(|a| a.id.to_string()).collect::<Vec<_>>().join(", ")
        ))
        .hint("give the appointment ID")),
    }
}

/// The error for a refused booking: every reason, and the nearest times that would work.
pub fn refusal(sched: &Sched, what: &str, conflicts: &[Conflict], nearest: &[Slot]) -> Error {
    let mut reasons: Vec<String> = Vec::new();
    // One time off can be met twice (by the visit and by its buffer): say each reason once.
    for reason in conflicts.iter().map(ToString::to_string) {
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    let msg = format!("cannot book {what}: {}", reasons.join("; "));
    let err = if conflicts.iter().any(Conflict::forceable) {
        Error::conflict(msg)
    } else {
        Error::user(msg)
    };
    let mut hint = if nearest.is_empty() {
        "no free time found in the next 8 weeks; try `schedule find` with another provider"
            .to_string()
    } else {
        let times: Vec<String> = nearest
            .iter()
            .map(|s| format!("{} ({})", sched.when(s.plan.start), s.provider))
            .collect();
        format!("nearest free times: {}", times.join(", "))
    };
    if !conflicts.is_empty() && conflicts.iter().all(Conflict::forceable) {
        hint.push_str("; or add --force to double-book on purpose");
    }
    err.hint(hint)
}

/// The free slots closest to `around` for one provider: the same day first (nearest in time),
/// then the following days, reading one day directory at a time.
pub fn nearest(
    sched: &Sched,
    patient: &Id,
    provider: &Provider,
    kind: &AppointmentType,
    around: DateTime<FixedOffset>,
    want: usize,
) -> Result<Vec<Slot>> {
    let cal = sched.calendar();
    let date = wall(sched.tz, around).date();
    let day = sched.store.day_appointments(date)?;
    let mut same = cal.day_slots(
        patient,
        provider,
        kind,
        date,
        &cal.day_book(&day),
        &Filter::default(),
    );
    same.sort_by_key(|s| (s.plan.start - around).num_minutes().abs());
    same.truncate(want);
    let mut out = same;
    let mut d = date;
    while out.len() < want && d < date + Duration::weeks(8) {
        d += Duration::days(1);
        if provider.sessions(d).is_empty() {
            continue;
        }
        let day = sched.store.day_appointments(d)?;
        for s in cal.day_slots(
            patient,
            provider,
            kind,
            d,
            &cal.day_book(&day),
            &Filter::default(),
        ) {
            if out.len() < want {
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// One change to one appointment under the write lock, with one commit.
pub fn modify(
    ctx: &Ctx,
    id: &Id,
    message: impl FnOnce(&Appointment) -> String,
    change: impl FnOnce(&Sched, &mut Appointment) -> Result<()>,
) -> Result<(Sched, Appointment)> {
    let sched = Sched::open(ctx)?;
    let (a, ()) = change_one(&sched, id, change, |txn, a| txn.commit(&message(a)))?;
    Ok((sched, a))
}

/// [`modify`], with `after` (read-only work on the changed appointment, such as the check-in's
/// read of the patient's ledger) run while git records the commit, under the same lock.
pub fn modify_then<R: Send>(
    ctx: &Ctx,
    id: &Id,
    message: impl FnOnce(&Appointment) -> String,
    change: impl FnOnce(&Sched, &mut Appointment) -> Result<()>,
    after: impl FnOnce(&Sched, &Appointment) -> R + Send,
) -> Result<(Sched, Appointment, R)> {
    let sched = Sched::open(ctx)?;
    let (a, read) = change_one(&sched, id, change, |txn, a| {
        let (committed, read) = txn.commit_alongside(&message(a), || after(&sched, a));
        committed.map(|()| read)
    })?;
    Ok((sched, a, read))
}

/// The appointment `id` read under the write lock, changed and saved; `commit` ends the
/// transaction.
fn change_one<R>(
    sched: &Sched,
    id: &Id,
    change: impl FnOnce(&Sched, &mut Appointment) -> Result<()>,
    commit: impl FnOnce(Txn<'_>, &Appointment) -> Result<R>,
) -> Result<(Appointment, R)> {
    let mut txn = sched.store.begin()?;
    // The visit commands are about today's visits, nearly always.
    let mut a = sched.store.load_appointment_likely_on(id, sched.today())?;
    change(sched, &mut a)?;
    txn.save_appointment(&a, Mode::Replace)?;
    let r = commit(txn, &a)?;
    Ok((a, r))
}

/// The patient's name for the desk's own screens, or the ID when the file is missing.
pub fn patient_label(store: &Store, id: &Id) -> String {
    shown_patient(store, id).map_or_else(|| id.to_string(), |p| p.list_name())
}

/// A patient for a listing row: a file that cannot be read is named on stderr, and the row
/// still prints, with the ID where the name would be.
pub fn shown_patient(store: &Store, id: &Id) -> Option<crate::domain::patient::Patient> {
    shown(store.load_patient(id).map_err(|e| e.message))
}

/// Each listing row's patient as read, or why it could not be.
pub type RowPatients<'i> =
    std::collections::HashMap<&'i Id, std::result::Result<crate::domain::patient::Patient, String>>;

/// The patients of many listing rows (a full day's 400 visits), each read once, on every core
/// once there are a few dozen: each is [`shown`] when its row is printed.
pub fn patients_for_rows<'i>(store: &Store, ids: impl Iterator<Item = &'i Id>) -> RowPatients<'i> {
    let mut ids: Vec<&Id> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    crate::store::read_each(&ids, |id| {
        (*id, store.load_patient(id).map_err(|e| e.message))
    })
    .into_iter()
    .collect()
}

/// A listing row's patient as read: a file that could not be read is named on stderr (the row
/// then shows the ID where the name would be).
pub fn shown<P>(read: std::result::Result<P, String>) -> Option<P> {
    read.map_err(|message| eprintln!("frontdesk: warning: {message} (the name is shown as the ID)"))
        .ok()
}
