use super::*;
use crate::domain::id::IdKind;
use crate::domain::schedule::apptype::{CopayKind, Need};
use crate::domain::schedule::provider::{Hours, TimeOff};
use chrono::{Datelike, NaiveDateTime, TimeZone, Weekday};
use proptest::prelude::*;

fn ny() -> Tz {
    "America/New_York".parse().unwrap()
}

fn kind(minutes: u32, buffer: u32, needs: Vec<Need>) -> AppointmentType {
    AppointmentType {
        key: "visit".into(),
        name: "Visit".into(),
        minutes,
        buffer_after: buffer,
        new_patient: false,
        copay: CopayKind::Office,
        min_lead_hours: 0,
        providers: vec![],
        instructions: None,
        needs,
        recall_after: None,
        retired: false,
    }
}

fn provider(start: u16, end: u16, brk: Option<(u16, u16)>, off: Vec<TimeOff>) -> Provider {
    Provider {
        schema: 1,
        key: "okafor".into(),
        name: "Okafor".into(),
        credentials: None,
        specialty: None,
        npi: None,
        active: true,
        hours: vec![Hours {
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            span: Span {
                start: Clock(start),
                end: Clock(end),
            },
            breaks: brk
                .map(|(s, e)| {
                    vec![Span {
                        start: Clock(s),
                        end: Clock(e),
                    }]
                })
                .unwrap_or_default(),
            location: None,
        }],
        time_off: off,
        extra: Default::default(),
    }
}

fn local(date: NaiveDate, m: u16) -> DateTime<FixedOffset> {
    ny().from_local_datetime(&date.and_time(Clock(m).time().unwrap()))
        .earliest()
        .unwrap()
        .fixed_offset()
}

fn appt(patient: &Id, provider: &str, start: DateTime<FixedOffset>, minutes: i64) -> Appointment {
    let end = start + Duration::minutes(minutes);
    Appointment::booked(
        Id::generate(IdKind::Appointment),
        patient.clone(),
        provider,
        "visit",
        start,
        end,
    )
}

fn monday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
}

fn now() -> DateTime<FixedOffset> {
    local(NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(), 9 * 60)
}

fn types_of(t: &AppointmentType) -> AppointmentTypes {
    AppointmentTypes {
        schema: 1,
        types: vec![t.clone()],
    }
}

#[test]
fn each_refusal_is_named() {
    let t = kind(30, 0, vec![]);
    let types = types_of(&t);
    let mut holidays = BTreeMap::new();
    holidays.insert(monday() + Duration::days(3), "Holiday".to_string());
    let off = TimeOff {
        from: NaiveDateTime::new(
            monday() + Duration::days(1),
            Clock::hm(9, 0).time().unwrap(),
        ),
        to: NaiveDateTime::new(
            monday() + Duration::days(1),
            Clock::hm(11, 0).time().unwrap(),
        ),
        reason: Some("conference".into()),
    };
    let p = provider(480, 1020, Some((720, 780)), vec![off]);
    let cal = Calendar {
        tz: ny(),
        holidays: &holidays,
        types: &types,
        rooms: &[],
        now: now(),
    };
    let pat = Id::generate(IdKind::Patient);
    let other = Id::generate(IdKind::Patient);
    let existing = appt(&other, "okafor", local(monday(), 600), 30);
    let day = vec![existing.clone()];
    let try_at = |date: NaiveDate, m: u16| {
        let req = Request {
            patient: &pat,
            provider: &p,
            kind: &t,
            start: local(date, m),
            room: None,
            ignore: &[],
        };
        cal.check(&req, &day)
    };
    assert!(try_at(monday(), 540).is_ok());
    assert_eq!(
        try_at(monday(), 420).unwrap_err(),
        vec![Conflict::NotWorking]
    );
    assert_eq!(
        try_at(monday(), 1000).unwrap_err(),
        vec![Conflict::NotWorking]
    );
    assert!(matches!(
        try_at(monday(), 700).unwrap_err()[0],
        Conflict::Break(_)
    ));
    assert_eq!(
        try_at(monday(), 610).unwrap_err(),
        vec![Conflict::ProviderBusy(existing.id.clone())]
    );
    assert!(matches!(
        try_at(monday() + Duration::days(1), 600).unwrap_err()[0],
        Conflict::TimeOff(Some(_))
    ));
    assert!(matches!(
        try_at(monday() + Duration::days(3), 600).unwrap_err()[0],
        Conflict::Holiday(_)
    ));
    assert!(
        try_at(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(), 600)
            .unwrap_err()
            .contains(&Conflict::Past)
    );
    // Forcing accepts a double-booking, and records what it overlaps.
    let req = Request {
        patient: &pat,
        provider: &p,
        kind: &t,
        start: local(monday(), 610),
        room: None,
        ignore: &[],
    };
    assert_eq!(
        cal.check_forced(&req, &day).unwrap().overlaps,
        vec![existing.id.clone()]
    );
    // …but never hours.
    let req = Request {
        patient: &pat,
        provider: &p,
        kind: &t,
        start: local(monday(), 420),
        room: None,
        ignore: &[],
    };
    assert!(cal.check_forced(&req, &day).is_err());
}

#[test]
fn rooms_are_held_and_shared_out() {
    let t = kind(
        60,
        0,
        vec![Need {
            kind: "procedure".into(),
            minutes: Some(30),
        }],
    );
    let types = types_of(&t);
    let holidays = BTreeMap::new();
    let room = Room {
        schema: 1,
        key: "proc-1".into(),
        name: "Procedure".into(),
        kind: "procedure".into(),
        location: None,
        hours: vec![],
        time_off: vec![],
        retired: false,
        extra: Default::default(),
    };
    let rooms = vec![room];
    let cal = Calendar {
        tz: ny(),
        holidays: &holidays,
        types: &types,
        rooms: &rooms,
        now: now(),
    };
    let p = provider(480, 1020, None, vec![]);
    let mut q = p.clone();
    q.key = "lee".into();
    let pat = Id::generate(IdKind::Patient);
    let req = Request {
        patient: &pat,
        provider: &p,
        kind: &t,
        start: local(monday(), 540),
        room: None,
        ignore: &[],
    };
    let plan = cal.check(&req, &[]).unwrap();
    assert_eq!(plan.holds.len(), 1);
    let mut first = appt(&pat, "okafor", plan.start, 60);
    first.resources = plan.holds.clone();
    // Another provider's patient cannot have the room in its first half hour, but can after.
    let other = Id::generate(IdKind::Patient);
    let at = |m| Request {
        patient: &other,
        provider: &q,
        kind: &t,
        start: local(monday(), m),
        room: None,
        ignore: &[],
    };
    let day = vec![first.clone()];
    assert!(matches!(
        cal.check(&at(550), &day).unwrap_err()[0],
        Conflict::RoomBusy { .. }
    ));
    assert!(cal.check(&at(570), &day).is_ok());

    // The free slots look the day up once ([`DayBook`]) and must agree with `check`, which
    // looks it up for each request: with the room held in part by one visit and whole by
    // another, each quarter hour is offered exactly when `check` accepts it, with its plan.
    let mut whole = appt(&pat, "okafor", local(monday(), 660), 60);
    whole.room = Some("proc-1".into());
    let day = vec![first, whole];
    let book = cal.day_book(&day);
    let slots = cal.day_slots(&other, &q, &t, monday(), &book, &Filter::default());
    let mut refused = 0;
    for m in (480..1020).step_by(15) {
        let offered = slots.iter().find(|s| s.plan.start == local(monday(), m));
        match cal.check(&at(m), &day) {
            Ok(plan) => assert_eq!(offered.map(|s| &s.plan), Some(&plan), "at {m}"),
            Err(_) => {
                refused += 1;
                assert!(offered.is_none(), "at {m}")
            }
        }
    }
    // 8:45 to 9:15 (their half hour would meet the part hold), 10:45 to 11:45 (the whole
    // visit), 16:15 to 16:45 (they would end after the session).
    assert_eq!(refused, 3 + 5 + 3, "{slots:?}");
}

#[test]
fn dst_days_have_the_right_slots() {
    // 2026-03-08 and 2026-11-01 are Sundays; a Sunday clinic shows the change.
    let t = kind(60, 0, vec![]);
    let types = types_of(&t);
    let holidays = BTreeMap::new();
    let mut p = provider(0, 240, None, vec![]);
    p.hours[0].days = vec![Weekday::Sun];
    let cal = Calendar {
        tz: ny(),
        holidays: &holidays,
        types: &types,
        rooms: &[],
        now: local(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), 0),
    };
    let pat = Id::generate(IdKind::Patient);
    let spring = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
    let slots = cal.day_slots(&pat, &p, &t, spring, &cal.day_book(&[]), &Filter::default());
    // No slot starts in the missing hour, and 01:30 + 60 real minutes ends at 03:30.
    assert!(
        slots
            .iter()
            .all(|s| wall(ny(), s.plan.start).time().format("%H").to_string() != "02")
    );
    let s130 = slots
        .iter()
        .find(|s| wall(ny(), s.plan.start).time() == Clock::hm(1, 30).time().unwrap())
        .unwrap();
    assert_eq!(
        wall(ny(), s130.plan.end).time(),
        Clock::hm(3, 30).time().unwrap()
    );
    let fall = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let slots = cal.day_slots(&pat, &p, &t, fall, &cal.day_book(&[]), &Filter::default());
    // 01:00 (first) + 60 real minutes is 01:00 again (second): the hours still hold.
    let s100 = slots
        .iter()
        .find(|s| wall(ny(), s.plan.start).time() == Clock::hm(1, 0).time().unwrap())
        .unwrap();
    assert_eq!(s100.plan.end.to_rfc3339(), "2026-11-01T01:00:00-05:00");
}

#[derive(Debug, Clone)]
struct World {
    /// Which Monday the week starts on: a plain week, or one whose Sunday changes the clocks.
    week: usize,
    start: u16,
    end: u16,
    brk: Option<(u16, u16)>,
    off: Option<(u8, u16, u16)>,
    holiday: Option<u8>,
    minutes: u32,
    buffer: u32,
    booked: Vec<(u8, u16, u16, bool, bool)>,
}

/// Mondays of a plain week and of the weeks that end on the 2026 DST changes.
const WEEKS: [(i32, u32, u32); 3] = [(2026, 11, 30), (2026, 3, 2), (2026, 10, 26)];

fn world() -> impl Strategy<Value = World> {
    (
        0usize..3,
        (6u16..11, 14u16..20),
        proptest::option::of((11u16..13, 30u16..90)),
        proptest::option::of((0u8..7, 0u16..1200, 30u16..600)),
        proptest::option::of(0u8..7),
        (
            prop_oneof![
                Just(10u32),
                Just(15),
                Just(20),
                Just(30),
                Just(45),
                Just(60)
            ],
            0u32..15,
        ),
        proptest::collection::vec(
            (0u8..7, 360u16..1200, 5u16..90, any::<bool>(), any::<bool>()),
            0..25,
        ),
    )
        .prop_map(
            |(week, (sh, eh), brk, off, holiday, (minutes, buffer), booked)| World {
                week,
                start: sh * 60,
                end: eh * 60,
                brk: brk.map(|(h, len)| (h * 60, h * 60 + len)),
                off,
                holiday,
                minutes,
                buffer,
                booked,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn find_never_offers_a_taken_or_closed_time(w in world()) {
        let (y, m, d0) = WEEKS[w.week];
        let monday = || NaiveDate::from_ymd_opt(y, m, d0).unwrap();
        let t = kind(w.minutes, w.buffer, vec![]);
        let types = types_of(&t);
        let mut holidays = BTreeMap::new();
        if let Some(h) = w.holiday {
            holidays.insert(monday() + Duration::days(h.into()), "Holiday".to_string());
        }
        let off: Vec<TimeOff> = w.off.iter().map(|&(d, s, len)| {
            let from = (monday() + Duration::days(d.into())).and_time(Clock(s).time().unwrap());
            TimeOff { from, to: from + Duration::minutes(len.into()), reason: None }
        }).collect();
        let mut p = provider(w.start, w.end, w.brk, off.clone());
        // A night session on Sundays crosses the clock change in the DST weeks.
        p.hours.push(Hours { days: vec![Weekday::Sun], span: Span { start: Clock(0), end: Clock(300) }, breaks: vec![], location: None });
        let start_of_year = local(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), 0);
        let cal = Calendar { tz: ny(), holidays: &holidays, types: &types, rooms: &[], now: start_of_year };
        let pat = Id::generate(IdKind::Patient);
        let other = Id::generate(IdKind::Patient);
        for d in 0..7u8 {
            let date = monday() + Duration::days(d.into());
            let day: Vec<Appointment> = w.booked.iter().filter(|b| b.0 == d).map(|&(_, s, len, mine, same_provider)| {
                let who = if mine { &pat } else { &other };
                appt(who, if same_provider { "okafor" } else { "lee" }, local(date, s), len.into())
            }).collect();
            for slot in cal.day_slots(&pat, &p, &t, date, &cal.day_book(&day), &Filter::default()) {
                let (s, e) = (Clock::of(wall(ny(), slot.plan.start).time()), Clock::of(wall(ny(), slot.plan.end).time()));
                prop_assert_eq!(slot.plan.start.date_naive(), date);
                prop_assert!(!holidays.contains_key(&date));
                prop_assert!(date.weekday() != Weekday::Sat, "Saturday slot");
                let (hs, he) = if date.weekday() == Weekday::Sun { (0, 300) } else { (w.start, w.end) };
                prop_assert!(Clock(hs) <= s && e <= Clock(he), "outside hours");
                prop_assert!(s.minutes() + i64::from(w.minutes) <= i64::from(he), "runs past the session");
                // Real elapsed time is the visit's length, whatever the wall clock did.
                prop_assert_eq!((slot.plan.end - slot.plan.start).num_minutes(), i64::from(w.minutes));
                if let (Some((bs, be)), false) = (w.brk, date.weekday() == Weekday::Sun) {
                    prop_assert!(e <= Clock(bs) || Clock(be) <= s, "in the break");
                }
                for o in &off {
                    let (os, oe) = (local_naive(o.from), local_naive(o.to));
                    let (ss, se) = (slot.plan.start.naive_local(), slot.plan.end.naive_local());
                    prop_assert!(se <= os || oe <= ss, "during time off");
                }
                for a in &day {
                    let provider_clash = a.provider == "okafor"
                        && a.start < slot.plan.end + Duration::minutes(w.buffer.into())
                        && slot.plan.start < a.end + Duration::minutes(w.buffer.into());
                    let patient_clash = a.patient == pat && a.start < slot.plan.end && slot.plan.start < a.end;
                    prop_assert!(!provider_clash && !patient_clash, "overlaps {}", a.id);
                }
                // Every slot offered can be booked, and once booked it is taken.
                let req = Request { patient: &pat, provider: &p, kind: &t, start: slot.plan.start, room: None, ignore: &[] };
                prop_assert!(cal.check(&req, &day).is_ok());
                let mut after = day.clone();
                after.push(appt(&pat, "okafor", slot.plan.start, w.minutes.into()));
                prop_assert!(cal.check(&req, &after).is_err());
            }
        }
    }
}

fn local_naive(t: NaiveDateTime) -> NaiveDateTime {
    t
}
