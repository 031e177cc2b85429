//! The booking rules: whether a visit can go at a given time (and if not, every reason why),
//! and the free slots of a day. `schedule find` offers only slots that [`check`] accepts, so
//! every slot it shows can be booked.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use chrono_tz::Tz;

use crate::domain::id::Id;
use crate::domain::schedule::appointment::{Appointment, Hold};
use crate::domain::schedule::apptype::{AppointmentType, AppointmentTypes};
use crate::domain::schedule::clock::{Clock, Span};
use crate::domain::schedule::localtime::{plus_minutes, resolve, wall};
use crate::domain::schedule::prefs::Windows;
use crate::domain::schedule::provider::Session;
use crate::domain::schedule::{Provider, Room};

/// What does not change while one command runs: the zone, holidays, types and rooms.
pub struct Calendar<'a> {
    pub tz: Tz,
    pub holidays: &'a BTreeMap<NaiveDate, String>,
    pub types: &'a AppointmentTypes,
    pub rooms: &'a [Room],
    pub now: DateTime<FixedOffset>,
}

/// A proposed visit.
pub struct Request<'a> {
    pub patient: &'a Id,
    pub provider: &'a Provider,
    pub kind: &'a AppointmentType,
    pub start: DateTime<FixedOffset>,
    /// A room asked for by name, held for the whole visit.
    pub room: Option<&'a str>,
    /// Appointments to leave out (the one being moved).
    pub ignore: &'a [Id],
}

/// Where and when an accepted visit goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    pub location: Option<String>,
    pub room: Option<String>,
    pub holds: Vec<Hold>,
    /// Appointments this one overlaps (only with --force).
    pub overlaps: Vec<Id>,
}

/// One reason a visit cannot go where asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Conflict {
    Past,
    LeadTime { hours: u32 },
    Holiday(String),
    NotWorking,
    Break(Span),
    TimeOff(Option<String>),
    ProviderInactive,
    TypeNotTaken,
    ProviderBusy(Id),
    PatientBusy(Id),
    RoomBusy { room: String, by: Id },
    RoomClosed(String),
    UnknownRoom(String),
    NoRoom { kind: String },
}

impl Conflict {
    /// Only double-bookings can be forced; hours, holidays and the clock cannot.
    pub fn forceable(&self) -> bool {
        matches!(
            self,
            Conflict::ProviderBusy(_) | Conflict::PatientBusy(_) | Conflict::RoomBusy { .. }
        )
    }

    fn overlapped(&self) -> Option<&Id> {
        match self {
            Conflict::ProviderBusy(id) | Conflict::PatientBusy(id) => Some(id),
            Conflict::RoomBusy { by, .. } => Some(by),
            _ => None,
        }
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::Past => write!(f, "the time is in the past"),
            Conflict::LeadTime { hours } => {
                write!(f, "this type must be booked at least {hours} hours ahead")
            }
            Conflict::Holiday(name) => write!(f, "the office is closed that day ({name})"),
            Conflict::NotWorking => write!(f, "outside the provider's working hours"),
            Conflict::Break(s) => write!(f, "during the provider's break {s}"),
            Conflict::TimeOff(Some(r)) => write!(f, "the provider has time off ({r})"),
            Conflict::TimeOff(None) => write!(f, "the provider has time off"),
            Conflict::ProviderInactive => write!(f, "the provider no longer takes appointments"),
            Conflict::TypeNotTaken => write!(f, "the provider does not take this appointment type"),
            Conflict::ProviderBusy(id) => write!(f, "the provider is already booked ({id})"),
            Conflict::PatientBusy(id) => write!(f, "the patient is already booked then ({id})"),
            Conflict::RoomBusy { room, by } => write!(f, "room {room} is taken ({by})"),
            Conflict::RoomClosed(room) => write!(f, "room {room} is not available then"),
            Conflict::UnknownRoom(_) => {
                write!(f, "there is no such room (see `frontdesk schedule rooms`)")
            }
            Conflict::NoRoom { kind } => write!(f, "no {kind} room is free"),
        }
    }
}

/// A visit as it occupies time: [start, end) for the patient and rooms, plus the buffer after
/// for the provider.
struct Busy<'a> {
    appt: &'a Appointment,
    provider_until: DateTime<FixedOffset>,
}

/// A day's visits as the checks look them up, worked out once per day rather than once per
/// start tried: `schedule find` tries some forty starts for each of twenty providers on a day
/// of 400 visits, and redoing this for each start was most of its time. Made by
/// [`Calendar::day_book`].
pub struct DayBook<'a> {
    /// The visits that hold time, in day order.
    busy: Vec<Busy<'a>>,
    /// Where in `busy` each provider's and each patient's visits are, in day order.
    by_provider: HashMap<&'a str, Vec<usize>>,
    by_patient: HashMap<&'a Id, Vec<usize>>,
    /// Per room, in day order: each span a visit holds it (the whole visit in its room, and
    /// each part hold), so the first visit found holding a room is the first in the day.
    rooms: HashMap<&'a str, Vec<RoomUse<'a>>>,
}

struct RoomUse<'a> {
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
    by: &'a Id,
}

impl<'a> DayBook<'a> {
    /// The visits of `provider` or of `patient`, in day order: the only ones that can keep
    /// either from a time.
    fn of(&self, provider: &str, patient: &Id) -> Vec<&Busy<'a>> {
        let none = Vec::new();
        let mine = self.by_provider.get(provider).unwrap_or(&none);
        let theirs = self.by_patient.get(patient).unwrap_or(&none);
        let mut at: Vec<usize> = mine.iter().chain(theirs).copied().collect();
        at.sort_unstable();
        at.dedup();
        at.into_iter().map(|i| &self.busy[i]).collect()
    }

    /// The visit holding `room` at some moment of [from, to), if any.
    fn room_taken_by(
        &self,
        room: &str,
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
    ) -> Option<Id> {
        self.rooms
            .get(room)?
            .iter()
            .find(|u| u.start < to && from < u.end)
            .map(|u| u.by.clone())
    }
}

impl Calendar<'_> {
    fn buffer(&self, kind: &str) -> i64 {
        self.types
            .get(kind)
            .map(|t| i64::from(t.buffer_after))
            .unwrap_or(0)
    }

    /// Every reason the visit cannot go as asked; an empty list means it can.
    pub fn check(&self, req: &Request, day: &[Appointment]) -> Result<Plan, Vec<Conflict>> {
        let booked = self.booked(day, req.ignore);
        let theirs = booked.of(&req.provider.key, req.patient);
        self.check_booked(req, &booked, &theirs)
    }

    /// [`Calendar::check`] against a day already looked up; `theirs` are the day's visits of
    /// the request's provider and patient ([`DayBook::of`]).
    fn check_booked(
        &self,
        req: &Request,
        booked: &DayBook,
        theirs: &[&Busy],
    ) -> Result<Plan, Vec<Conflict>> {
        let mut out = Vec::new();
        let (plan, s, e, date) = self.frame(req, &mut out);
        let Some(session) = self.session_check(req, date, s, e, &mut out) else {
            return Err(out);
        };
        let mine_until = plan.end + Duration::minutes(i64::from(req.kind.buffer_after));
        for b in theirs {
            if b.appt.start < mine_until
                && plan.start < b.provider_until
                && b.appt.provider == req.provider.key
            {
                out.push(Conflict::ProviderBusy(b.appt.id.clone()));
            }
            if b.appt.start < plan.end
                && plan.start < b.appt.end
                && &b.appt.patient == req.patient
                && b.appt.provider != req.provider.key
            {
                out.push(Conflict::PatientBusy(b.appt.id.clone()));
            }
        }
        let mut plan = plan;
        plan.location = session.location.clone();
        self.rooms_check(req, &mut plan, &session, date, booked, &mut out);
        if out.is_empty() { Ok(plan) } else { Err(out) }
    }

    /// Like [`check`], but accepts double-bookings and lists what was overlapped.
    pub fn check_forced(&self, req: &Request, day: &[Appointment]) -> Result<Plan, Vec<Conflict>> {
        match self.check(req, day) {
            Ok(p) => Ok(p),
            Err(cs) if cs.iter().all(Conflict::forceable) => {
                // Book with what was found free; overlapped rooms stay held as asked.
                let mut out = Vec::new();
                let (mut plan, _, _, date) = self.frame(req, &mut out);
                let (s, e) = (
                    Clock::of(wall(self.tz, plan.start).time()),
                    Clock::of(wall(self.tz, plan.end).time()),
                );
                if let Some(session) = self.session_check(req, date, s, e, &mut out) {
                    plan.location = session.location.clone();
                    let nothing = self.booked(&[], req.ignore);
                    self.rooms_check(req, &mut plan, &session, date, &nothing, &mut out);
                }
                let mut ids: Vec<Id> = cs.iter().filter_map(|c| c.overlapped().cloned()).collect();
                ids.sort();
                ids.dedup();
                plan.overlaps = ids;
                Ok(plan)
            }
            Err(cs) => Err(cs),
        }
    }

    /// Start, end, and the checks that need no other appointment.
    fn frame(&self, req: &Request, out: &mut Vec<Conflict>) -> (Plan, Clock, Clock, NaiveDate) {
        let start = req.start.with_timezone(&self.tz).fixed_offset();
        let end = plus_minutes(self.tz, start, i64::from(req.kind.minutes));
        let (ws, we) = (wall(self.tz, start), wall(self.tz, end));
        let date = ws.date();
        let s = Clock::of(ws.time());
        // A visit that runs past midnight ends at 24:00 for the hours check, and fails it.
        // When clocks go back the wall-clock end can come before the start; the start plus the
        // real length is then the safe end for the hours, breaks and time-off checks.
        let real_end = s.0.saturating_add(req.kind.minutes.min(1440) as u16);
        let e = if we.date() == date {
            Clock(Clock::of(we.time()).0.max(real_end))
        } else {
            Clock(Clock::END_OF_DAY.0 + 1)
        };
        if start < self.now {
            out.push(Conflict::Past);
        } else if start < self.now + Duration::hours(i64::from(req.kind.min_lead_hours)) {
            out.push(Conflict::LeadTime {
                hours: req.kind.min_lead_hours,
            });
        }
        if let Some(name) = self.holidays.get(&date) {
            out.push(Conflict::Holiday(name.clone()));
        }
        if !req.provider.active {
            out.push(Conflict::ProviderInactive);
        }
        if !req.kind.allows(&req.provider.key) {
            out.push(Conflict::TypeNotTaken);
        }
        let plan = Plan {
            start,
            end,
            location: None,
            room: None,
            holds: Vec::new(),
            overlaps: Vec::new(),
        };
        (plan, s, e, date)
    }

    /// The working session the visit lies in, after breaks and time off.
    fn session_check(
        &self,
        req: &Request,
        date: NaiveDate,
        s: Clock,
        e: Clock,
        out: &mut Vec<Conflict>,
    ) -> Option<Session> {
        let session = req
            .provider
            .sessions(date)
            .into_iter()
            .find(|x| x.span.contains(s, e));
        let Some(session) = session else {
            out.push(Conflict::NotWorking);
            return None;
        };
        for b in &session.breaks {
            if b.overlaps(s, e) {
                out.push(Conflict::Break(*b));
            }
        }
        for (off, reason) in req.provider.away(date) {
            if off.overlaps(s, e) {
                out.push(Conflict::TimeOff(reason.map(str::to_string)));
            }
        }
        Some(session)
    }

    /// A day's visits, looked up once for every provider and start [`Calendar::day_slots`]
    /// tries on it.
    pub fn day_book<'d>(&self, day: &'d [Appointment]) -> DayBook<'d> {
        self.booked(day, &[])
    }

    fn booked<'d>(&self, day: &'d [Appointment], ignore: &[Id]) -> DayBook<'d> {
        let busy: Vec<Busy> = day
            .iter()
            .filter(|a| a.status.holds_time() && !ignore.contains(&a.id))
            .map(|a| Busy {
                appt: a,
                provider_until: a.end + Duration::minutes(self.buffer(&a.kind)),
            })
            .collect();
        let mut rooms: HashMap<&str, Vec<RoomUse>> = HashMap::new();
        let mut by_provider: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_patient: HashMap<&Id, Vec<usize>> = HashMap::new();
        for (i, a) in busy.iter().map(|b| b.appt).enumerate() {
            by_provider.entry(&a.provider).or_default().push(i);
            by_patient.entry(&a.patient).or_default().push(i);
            let whole = a.room.as_deref().map(|r| (r, a.start, a.end));
            let parts = a
                .resources
                .iter()
                .map(|h| (h.room.as_str(), h.start, h.end));
            for (room, start, end) in whole.into_iter().chain(parts) {
                rooms.entry(room).or_default().push(RoomUse {
                    start,
                    end,
                    by: &a.id,
                });
            }
        }
        DayBook {
            busy,
            by_provider,
            by_patient,
            rooms,
        }
    }

    /// Holds the asked-for room and one free room of each kind the type needs.
    fn rooms_check(
        &self,
        req: &Request,
        plan: &mut Plan,
        session: &Session,
        date: NaiveDate,
        booked: &DayBook,
        out: &mut Vec<Conflict>,
    ) {
        let span_of = |from: DateTime<FixedOffset>, to: DateTime<FixedOffset>| Span {
            start: Clock::of(wall(self.tz, from).time()),
            end: Clock::of(wall(self.tz, to).time()).max(Clock(1)),
        };
        let mut asked_kind = None;
        if let Some(key) = req.room {
            match self.rooms.iter().find(|r| r.key == key) {
                None => out.push(Conflict::UnknownRoom(key.to_string())),
                Some(room) => {
                    asked_kind = Some(room.kind.clone());
                    if !room
                        .available(date, span_of(plan.start, plan.end))
                        .unwrap_or(false)
                    {
                        out.push(Conflict::RoomClosed(key.to_string()));
                    }
                    if let Some(by) = booked.room_taken_by(key, plan.start, plan.end) {
                        out.push(Conflict::RoomBusy {
                            room: key.to_string(),
                            by,
                        });
                    }
                    plan.room = Some(key.to_string());
                }
            }
        }
        for need in &req.kind.needs {
            if asked_kind.as_deref() == Some(need.kind.as_str()) {
                continue;
            }
            let to = need
                .minutes
                .map(|m| plus_minutes(self.tz, plan.start, i64::from(m)))
                .unwrap_or(plan.end);
            let candidates: Vec<&Room> = self
                .rooms
                .iter()
                .filter(|r| r.kind == need.kind)
                .filter(|r| match (&r.location, &session.location) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                })
                .filter(|r| !plan.holds.iter().any(|h| h.room == r.key))
                .collect();
            let span = span_of(plan.start, to);
            let free = candidates.iter().find(|r| {
                r.available(date, span).unwrap_or(false)
                    && booked.room_taken_by(&r.key, plan.start, to).is_none()
            });
            match free {
                Some(r) => plan.holds.push(Hold {
                    room: r.key.clone(),
                    start: plan.start,
                    end: to,
                }),
                None => match candidates.iter().find_map(|r| {
                    booked
                        .room_taken_by(&r.key, plan.start, to)
                        .map(|by| (r, by))
                }) {
                    Some((r, by)) => out.push(Conflict::RoomBusy {
                        room: r.key.clone(),
                        by,
                    }),
                    None => out.push(Conflict::NoRoom {
                        kind: need.kind.clone(),
                    }),
                },
            }
        }
    }
}

/// A free time `schedule find` offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub provider: String,
    pub plan: Plan,
    /// Lower is better: 0 packs against a booking or the start of a session, 1 leaves a gap.
    pub fit: u8,
}

/// What the patient can do, from flags and the patient's standing preferences.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub prefer: Option<Windows>,
    pub avoid: Option<Windows>,
}

impl Filter {
    pub fn allows(&self, date: NaiveDate, s: Clock, e: Clock) -> bool {
        self.prefer.as_ref().is_none_or(|w| w.fits(date, s, e))
            && self.avoid.as_ref().is_none_or(|w| !w.touches(date, s, e))
    }
}

/// Minutes between candidate starts on the plain grid.
pub const GRID: u16 = 15;

/// True when a visit starting at `m` follows directly on a booking (one of the provider's
/// `frees`), a break or the session's start.
fn packs(
    provider: &Provider,
    date: NaiveDate,
    m: Clock,
    session_start: Clock,
    frees: &[(NaiveDate, Clock)],
) -> bool {
    m == session_start
        || provider
            .sessions(date)
            .iter()
            .any(|s| s.breaks.iter().any(|b| b.end == m))
        || frees.iter().any(|(_, at)| *at == m)
}

impl Calendar<'_> {
    /// Every bookable slot for one provider on one day, in time order. Candidates are the
    /// quarter hours of each session plus the moments existing visits (and breaks) end, so the
    /// day packs tightly; each is kept only if [`Calendar::check`] accepts it.
    pub fn day_slots(
        &self,
        patient: &Id,
        provider: &Provider,
        kind: &AppointmentType,
        date: NaiveDate,
        booked: &DayBook,
        filter: &Filter,
    ) -> Vec<Slot> {
        if self.holidays.contains_key(&date) || !provider.active || !kind.allows(&provider.key) {
            return Vec::new();
        }
        let theirs = booked.of(&provider.key, patient);
        // When each of the provider's visits frees them (its end plus its type's buffer).
        let frees: Vec<(NaiveDate, Clock)> = booked
            .by_provider
            .get(provider.key.as_str())
            .into_iter()
            .flatten()
            .map(|&i| {
                let w = wall(self.tz, booked.busy[i].provider_until);
                (w.date(), Clock::of(w.time()))
            })
            .collect();
        let mut out = Vec::new();
        for session in provider.sessions(date) {
            let mut marks: Vec<Clock> = Vec::new();
            let mut t = session.span.start;
            while t < session.span.end {
                marks.push(t);
                t = Clock(t.0 + GRID);
            }
            marks.extend(session.breaks.iter().map(|b| b.end));
            for (off, _) in provider.away(date) {
                marks.push(off.end);
            }
            marks.extend(frees.iter().filter(|(d, _)| *d == date).map(|(_, m)| *m));
            marks.sort();
            marks.dedup();
            for m in marks {
                let Some(start) = self.start_at(date, m) else {
                    continue;
                };
                let req = Request {
                    patient,
                    provider,
                    kind,
                    start,
                    room: None,
                    ignore: &[],
                };
                let Ok(plan) = self.check_booked(&req, booked, &theirs) else {
                    continue;
                };
                let e = Clock::of(wall(self.tz, plan.end).time());
                if !filter.allows(date, m, e) {
                    continue;
                }
                let fit =
                    if m.0 % GRID == 0 && !packs(provider, date, m, session.span.start, &frees) {
                        1
                    } else {
                        0
                    };
                out.push(Slot {
                    provider: provider.key.clone(),
                    plan,
                    fit,
                });
            }
        }
        out
    }

    /// The instant a wall-clock time names; `None` in a DST gap, the first one in a fold.
    pub fn start_at(&self, date: NaiveDate, m: Clock) -> Option<DateTime<FixedOffset>> {
        let t = m.time()?;
        resolve(
            self.tz,
            date.and_time(t),
            Some(crate::domain::schedule::localtime::Fold::Earlier),
        )
        .ok()
    }
}

#[cfg(test)]
mod tests;

impl Calendar<'_> {
    /// The provider's free time on `date` (working sessions less breaks, time off and visits that
    /// hold time, with their buffers), as spans of the day. Used by the day sheet and week view.
    pub fn free_gaps(
        &self,
        provider: &Provider,
        date: NaiveDate,
        day: &[Appointment],
    ) -> Vec<Span> {
        let tz = self.tz;
        let mut taken: Vec<Span> = Vec::new();
        for s in provider.sessions(date) {
            taken.extend(s.breaks.iter().copied());
        }
        taken.extend(provider.away(date).into_iter().map(|(s, _)| s));
        for a in day
            .iter()
            .filter(|a| a.provider == provider.key && a.status.holds_time())
        {
            let (s, e) = (
                wall(tz, a.start),
                wall(tz, a.end + Duration::minutes(self.buffer(&a.kind))),
            );
            let start = if s.date() < date {
                Clock::MIDNIGHT
            } else {
                Clock::of(s.time())
            };
            let end = if e.date() > date {
                Clock::END_OF_DAY
            } else {
                Clock::of(e.time())
            };
            if start < end {
                taken.push(Span { start, end });
            }
        }
        taken.sort_by_key(|s| s.start);
        let mut out = Vec::new();
        for session in provider.sessions(date) {
            let mut cursor = session.span.start;
            for t in &taken {
                if t.end <= cursor || t.start >= session.span.end {
                    continue;
                }
                if t.start > cursor {
                    out.push(Span {
                        start: cursor,
                        end: t.start,
                    });
                }
                cursor = cursor.max(t.end);
            }
            if cursor < session.span.end {
                out.push(Span {
                    start: cursor,
                    end: session.span.end,
                });
            }
        }
        out
    }
}
