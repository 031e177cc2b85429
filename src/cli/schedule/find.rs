use chrono::Duration;

use crate::cli::schedule::{Sched, patient_arg};
use crate::cli::{Ctx, found};
use crate::domain::schedule::Provider;
use crate::domain::schedule::prefs::{SchedulingPrefs, Windows};
use crate::domain::schedule::slots::{Filter, Slot};
use crate::error::{Error, Result};
use crate::render::{Cell, Table};
use crate::store::Mode;

/// Find the first free times that suit the provider's calendar, every room the type needs, and
/// the patient's other appointments and preferences.
///
/// Searches day by day as far ahead as needed (up to --before, default one year), reading only
/// the days it looks at. Within a day, slots with a preferred provider and slots that pack
/// against existing visits come first. Without --prefer/--avoid the patient's standing
/// preferences are used; --save stores the given ones on the patient.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Patient ID (P…) or a name search (`doe jan`): keeps clear of the patient's other visits and uses their standing
    /// preferences. Without it, the provider's free times for anyone.
    #[arg(long)]
    pub patient: Option<String>,
    /// Only this provider.
    #[arg(long, conflicts_with = "specialty")]
    pub provider: Option<String>,
    /// Any provider of this specialty.
    #[arg(long)]
    pub specialty: Option<String>,
    /// Appointment type key.
    #[arg(long = "type")]
    pub kind: String,
    /// First day to search (default today).
    #[arg(long)]
    pub after: Option<String>,
    /// Last day to search (default one year ahead).
    #[arg(long)]
    pub before: Option<String>,
    /// When the patient can come: "mornings", "tue,thu after 15:00", "mon-wed; fri before 12:00".
    #[arg(long)]
    pub prefer: Option<String>,
    /// When the patient cannot come, same language: "fri", "mornings".
    #[arg(long)]
    pub avoid: Option<String>,
    /// How many slots to show.
    #[arg(long, default_value_t = 5)]
    pub limit: usize,
    /// Store --prefer and --avoid on the patient as standing preferences.
    #[arg(long)]
    pub save: bool,
    /// Only times free every week (`weekly`) or every other week (`biweekly`) for --count
    /// occurrences: a standing slot for a series (then `schedule book --repeat`).
    #[arg(long, value_parser = ["weekly", "biweekly"])]
    pub repeat: Option<String>,
    /// Occurrences a --repeat slot must hold (default 4).
    #[arg(long, requires = "repeat", default_value_t = 4)]
    pub count: u32,
}

pub fn cmd_find(ctx: &Ctx, a: Args) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let (pid, stored) = match &a.patient {
        Some(p) => {
            let pid = patient_arg(ctx, &sched, p)?;
            let patient = sched.store.load_patient(&pid)?;
            (pid, patient.scheduling.clone().unwrap_or_default())
        }
        // No patient: an ID no record holds (all zeros is never drawn in practice), so no
        // visit counts as the patient's own.
        None => (
            crate::domain::id::Id::parse("P00000000")?,
            Default::default(),
        ),
    };
    let kind = sched.kind(&a.kind)?.clone();
    let prefer = a.prefer.clone().or(stored.prefer.clone());
    let avoid = a.avoid.clone().or(stored.avoid.clone());
    let filter = Filter {
        prefer: prefer
            .as_deref()
            .map(Windows::parse)
            .transpose()
            .map_err(|e| e.at("--prefer"))?,
        avoid: avoid
            .as_deref()
            .map(Windows::parse)
            .transpose()
            .map_err(|e| e.at("--avoid"))?,
    };
    let providers = candidates(&sched, &a, &stored, &kind.key)?;
    if a.save {
        if a.patient.is_none() {
            return Err(Error::user(
                "--save needs --patient: preferences are kept on the patient",
            ));
        }
        save_prefs(&sched, &pid, &a)?;
    }
    let today = sched.today();
    let from = a
        .after
        .as_deref()
        .map(|d| sched.day(d))
        .transpose()?
        .unwrap_or(today)
        .max(today);
    let to = match a.before.as_deref() {
        Some(d) => sched.day(d)?,
        None => today + Duration::days(366),
    };
    if to < from {
        return Err(Error::user("--before is earlier than --after"));
    }
    let limit = a.limit.clamp(1, 200);
    let cal = sched.calendar();
    let mut out: Vec<Slot> = Vec::new();
    let mut date = from;
    while date <= to && out.len() < limit {
        let working = providers.iter().any(|p| !p.sessions(date).is_empty());
        if working && !sched.store.office.holidays.contains_key(&date) {
            let day = sched.store.day_appointments(date)?;
            let book = cal.day_book(&day);
            let mut slots: Vec<(usize, Slot)> = Vec::new();
            for p in &providers {
                // Preferred providers first; the rest are equal, so fit and time decide.
                let pref_rank = stored
                    .providers
                    .iter()
                    .position(|k| k == &p.key)
                    .unwrap_or(usize::MAX);
                for s in cal.day_slots(&pid, p, &kind, date, &book, &filter) {
                    if let Some(step) = weeks_between(a.repeat.as_deref())
                        && !series_fits(&sched, &pid, p, &kind, &s, step, a.count)?
                    {
                        continue;
                    }
                    slots.push((pref_rank, s));
                }
            }
            slots.sort_by_key(|(rank, s)| (*rank, s.fit, s.plan.start));
            out.extend(slots.into_iter().map(|(_, s)| s).take(limit - out.len()));
        }
        date += Duration::days(1);
    }
    // The best slots were chosen above (preferred provider, then the tightest fit); the desk
    // reads them in time order.
    out.sort_by_key(|s| (s.plan.start, s.provider.clone()));
    let mut t = Table::new(&["date", "start", "end", "provider", "room", "location"]);
    for s in &out {
        let room = s
            .plan
            .room
            .clone()
            .or(s.plan.holds.first().map(|h| h.room.clone()));
        t.push(vec![
            Cell::day(crate::domain::schedule::localtime::wall(sched.tz, s.plan.start).date()),
            Cell::from(sched.hm(s.plan.start)),
            Cell::from(sched.hm(s.plan.end)),
            Cell::from(s.provider.as_str()),
            Cell::from(room),
            Cell::from(s.plan.location.clone()),
        ]);
    }
    t.print(ctx.format)?;
    if out.is_empty() {
        ctx.say(&format!(
            "no free {} slot between {from} and {to}",
            kind.key
        ));
    }
    Ok(found(!out.is_empty()))
}

/// Weeks between occurrences for `--repeat`.
fn weeks_between(repeat: Option<&str>) -> Option<i64> {
    match repeat {
        Some("weekly") => Some(1),
        Some("biweekly") => Some(2),
        _ => None,
    }
}

/// Whether the slot's weekday and time are free for `count` occurrences, `step` weeks apart
/// (the same wall time each week, across DST changes), as a booking would check them.
fn series_fits(
    sched: &Sched,
    pid: &crate::domain::id::Id,
    provider: &Provider,
    kind: &crate::domain::schedule::AppointmentType,
    slot: &Slot,
    step: i64,
    count: u32,
) -> Result<bool> {
    let first = crate::domain::schedule::localtime::wall(sched.tz, slot.plan.start);
    let mut starts = Vec::new();
    for k in 0..i64::from(count.clamp(1, 104)) {
        let local = first + Duration::weeks(step * k);
        match crate::domain::schedule::localtime::resolve(sched.tz, local, None) {
            Ok(t) => starts.push(t),
            Err(_) => return Ok(false),
        }
    }
    Ok(
        crate::cli::schedule::book::plan_all(sched, pid, provider, kind, &starts, None, false)
            .is_ok(),
    )
}

/// The providers to search, preferred ones first.
fn candidates(
    sched: &Sched,
    a: &Args,
    prefs: &SchedulingPrefs,
    kind: &str,
) -> Result<Vec<Provider>> {
    let ty = sched.kind(kind)?;
    if let Some(key) = &a.provider {
        let p = sched.store.load_provider(key)?;
        if !ty.allows(&p.key) {
            return Err(Error::user(format!(
                "provider {key} does not take {kind} appointments"
            )));
        }
        return Ok(vec![p]);
    }
    let mut all: Vec<Provider> = sched
        .store
        .providers()?
        .into_iter()
        .filter(|p| p.active && ty.allows(&p.key))
        .filter(|p| {
            a.specialty.as_ref().is_none_or(|s| {
                p.specialty
                    .as_deref()
                    .is_some_and(|ps| ps.eq_ignore_ascii_case(s.trim()))
            })
        })
        .collect();
    all.sort_by_key(|p| {
        prefs
            .providers
            .iter()
            .position(|k| k == &p.key)
            .unwrap_or(usize::MAX)
    });
    if all.is_empty() {
        return Err(Error::user(format!(
            "no active provider takes {kind} appointments{}",
            a.specialty
                .as_ref()
                .map(|s| format!(" in {s}"))
                .unwrap_or_default()
        ))
        .hint("list providers with `frontdesk provider list`"));
    }
    Ok(all)
}

fn save_prefs(sched: &Sched, pid: &crate::domain::id::Id, a: &Args) -> Result<()> {
    if a.prefer.is_none() && a.avoid.is_none() {
        return Err(Error::user("--save needs --prefer or --avoid"));
    }
    let mut txn = sched.store.begin()?;
    let mut p = sched.store.load_patient(pid)?;
    let mut prefs = p.scheduling.clone().unwrap_or_default();
    if a.prefer.is_some() {
        prefs.prefer = a.prefer.clone();
    }
    if a.avoid.is_some() {
        prefs.avoid = a.avoid.clone();
    }
    prefs.validate()?;
    p.scheduling = Some(prefs);
    p.updated = sched.now;
    txn.save_patient(&p, Mode::Replace)?;
    txn.commit(&format!("Update patient {pid}: scheduling preferences."))?;
    Ok(())
}
