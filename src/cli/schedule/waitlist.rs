//! `schedule waitlist add|list|match|remove`: patients who want a time sooner than there is.

use clap::Subcommand;

use crate::cli::schedule::{Sched, appointment_id, patient_arg, patient_label};
use crate::cli::{Ctx, found};
use crate::domain::id::{Id, IdKind};
use crate::domain::schedule::Clock;
use crate::domain::schedule::appointment::Appointment;
use crate::domain::schedule::localtime::wall;
use crate::domain::schedule::prefs::Windows;
use crate::domain::schedule::slots::{Filter, Plan, Request};
use crate::domain::schedule::waitlist::{self, WaitStatus, WaitlistEntry};
use crate::error::{Error, Result, exit};
use crate::render::{self, Cell, Format, Table};
use crate::store::{Mode, Store};

#[derive(Debug, Subcommand)]
pub enum Command {
    Add(AddArgs),
    List(ListArgs),
    Match(MatchArgs),
    Remove(RemoveArgs),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Add(a) => cmd_add(ctx, a),
        Command::List(a) => cmd_list(ctx, a),
        Command::Match(a) => cmd_match(ctx, a),
        Command::Remove(a) => cmd_remove(ctx, a),
    }
}

/// Put a patient on the waitlist for an earlier or a particular time.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Patient ID (P…), or a search (`doe jan 1980`) that finds one patient.
    #[arg(long)]
    pub patient: String,
    /// Appointment type key.
    #[arg(long = "type")]
    pub kind: String,
    /// Only this provider (default: any who takes the type).
    #[arg(long)]
    pub provider: Option<String>,
    /// First date that suits (default today).
    #[arg(long)]
    pub from: Option<String>,
    /// Last date that suits.
    #[arg(long)]
    pub until: Option<String>,
    /// Times that suit: "mornings", "tue,thu after 15:00".
    #[arg(long)]
    pub window: Option<String>,
    #[arg(long)]
    pub note: Option<String>,
}

fn cmd_add(ctx: &Ctx, a: AddArgs) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let pid = patient_arg(ctx, &sched, &a.patient)?;
    sched.kind(&a.kind)?;
    if let Some(p) = &a.provider {
        sched.store.load_provider(p)?;
    }
    if let Some(w) = &a.window {
        Windows::parse(w).map_err(|e| e.at("--window"))?;
    }
    let from = a.from.as_deref().map(|d| sched.day(d)).transpose()?;
    let until = a.until.as_deref().map(|d| sched.day(d)).transpose()?;
    if let (Some(f), Some(u)) = (from, until)
        && u < f
    {
        return Err(Error::user("--until is before --from"));
    }
    let entry = WaitlistEntry {
        schema: waitlist::SCHEMA,
        id: Id::generate(IdKind::Waitlist),
        patient: pid.clone(),
        provider: a.provider.clone(),
        kind: a.kind.clone(),
        from,
        until,
        prefer: a.window.clone(),
        status: WaitStatus::Waiting,
        created: sched.now,
        by: sched.store.options.user.clone(),
        booked: None,
        note: a.note.clone(),
        extra: Default::default(),
    };
    let mut txn = sched.store.begin()?;
    sched.store.load_patient(&pid)?;
    txn.put(&Store::waitlist_rel(&entry.id), &entry, Mode::CreateNew)?;
    txn.commit(&format!(
        "Add waitlist entry {} for patient {pid}.",
        entry.id
    ))?;
    render::print(&format!("{}\n", entry.id))?;
    Ok(exit::OK)
}

/// List the patients waiting, longest-waiting first.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Include entries already booked or removed.
    #[arg(long)]
    pub all: bool,
}

fn cmd_list(ctx: &Ctx, a: ListArgs) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let entries: Vec<WaitlistEntry> = sched
        .store
        .waitlist()?
        .into_iter()
        .filter(|e| a.all || e.status == WaitStatus::Waiting)
        .collect();
    if ctx.format == Format::Json {
        render::print_json(&entries)?;
        return Ok(found(!entries.is_empty()));
    }
    let mut t = Table::new(&[
        "id", "patient", "name", "type", "provider", "from", "until", "window", "since", "status",
    ]);
    for e in &entries {
        t.push(vec![
            Cell::from(e.id.to_string()),
            Cell::from(e.patient.to_string()),
            Cell::from(patient_label(&sched.store, &e.patient)),
            Cell::from(e.kind.as_str()),
            Cell::from(e.provider.clone().unwrap_or_else(|| "any".into())),
            Cell::from(e.from.map(|d| d.to_string())),
            Cell::from(e.until.map(|d| d.to_string())),
            Cell::from(e.prefer.clone()),
            Cell::from(wall(sched.tz, e.created).date().to_string()),
            Cell::from(format!("{:?}", e.status).to_lowercase()),
        ]);
    }
    t.print(ctx.format)?;
    Ok(found(!t.is_empty()))
}

/// List waitlisted patients who fit the time of an appointment (e.g. one just cancelled).
#[derive(Debug, clap::Args)]
pub struct MatchArgs {
    /// Appointment ID (A…) whose time is free or about to be.
    pub id: String,
}

fn cmd_match(ctx: &Ctx, a: MatchArgs) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let appt = sched.store.load_appointment(&appointment_id(&a.id)?)?;
    let m = matches_for(&sched, &appt)?;
    print_matches(ctx, &sched, &m)?;
    Ok(found(!m.is_empty()))
}

/// Take an entry off the waitlist (booked, or no longer wanted).
#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// Waitlist entry ID (W…).
    pub id: String,
    /// The appointment that was booked for it.
    #[arg(long)]
    pub booked: Option<String>,
}

fn cmd_remove(ctx: &Ctx, a: RemoveArgs) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let id = Id::parse_kind(&a.id, IdKind::Waitlist)?;
    let booked = a.booked.as_deref().map(appointment_id).transpose()?;
    let mut txn = sched.store.begin()?;
    let mut e = sched.store.load_waitlist_entry(&id)?;
    if e.status != WaitStatus::Waiting {
        return Err(Error::user(format!(
            "waitlist entry {id} is no longer waiting"
        )));
    }
    if let Some(b) = &booked {
        sched.store.load_appointment(b)?;
    }
    e.status = if booked.is_some() {
        WaitStatus::Booked
    } else {
        WaitStatus::Removed
    };
    e.booked = booked;
    txn.put(&Store::waitlist_rel(&id), &e, Mode::Replace)?;
    txn.commit(&format!(
        "Remove waitlist entry {id} for patient {}.",
        e.patient
    ))?;
    ctx.say(&format!("waitlist entry {id} closed"));
    Ok(exit::OK)
}

/// Waiting entries whose patient could be booked into `appt`'s time with its provider.
pub fn matches_for(sched: &Sched, appt: &Appointment) -> Result<Vec<(WaitlistEntry, Plan)>> {
    let provider = sched.store.load_provider(&appt.provider)?;
    let date = wall(sched.tz, appt.start).date();
    let day = sched.store.day_appointments(date)?;
    let cal = sched.calendar();
    let mut out = Vec::new();
    for e in sched.store.waitlist()? {
        if e.status != WaitStatus::Waiting
            || e.patient == appt.patient
            || e.provider.as_ref().is_some_and(|p| p != &appt.provider)
            || e.from.is_some_and(|f| date < f)
            || e.until.is_some_and(|u| date > u)
        {
            continue;
        }
        let Ok(kind) = sched.kind(&e.kind) else {
            continue;
        };
        let req = Request {
            patient: &e.patient,
            provider: &provider,
            kind,
            start: appt.start,
            room: appt.room.as_deref(),
            ignore: std::slice::from_ref(&appt.id),
        };
        let Ok(plan) = cal.check(&req, &day) else {
            continue;
        };
        let filter = Filter {
            prefer: e.prefer.as_deref().and_then(|w| Windows::parse(w).ok()),
            avoid: None,
        };
        let (s, en) = (
            Clock::of(wall(sched.tz, plan.start).time()),
            Clock::of(wall(sched.tz, plan.end).time()),
        );
        if filter.allows(date, s, en) {
            out.push((e, plan));
        }
    }
    Ok(out)
}

pub fn print_matches(ctx: &Ctx, sched: &Sched, m: &[(WaitlistEntry, Plan)]) -> Result<()> {
    let mut t = Table::new(&[
        "waitlist",
        "patient",
        "name",
        "type",
        "start",
        "end",
        "waiting since",
    ]);
    for (e, plan) in m {
        t.push(vec![
            Cell::from(e.id.to_string()),
            Cell::from(e.patient.to_string()),
            Cell::from(patient_label(&sched.store, &e.patient)),
            Cell::from(e.kind.as_str()),
            Cell::from(sched.when(plan.start)),
            Cell::from(sched.hm(plan.end)),
            Cell::from(wall(sched.tz, e.created).date().to_string()),
        ]);
    }
    t.print(ctx.format)
}
