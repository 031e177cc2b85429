//! Scheduling end to end: providers, booking and every refusal, the booking race, DST days,
//! recurring series, the waitlist, the visit flow, listings and the iCalendar export.

use std::process::Output;

use crate::harness::*;

/// Friday 2026-11-27, 09:00 in New York.
const NOW: &str = "2026-11-27T09:00:00-05:00";

const TYPES: &str = r#"schema = 1

[[type]]
key = "follow-up"
name = "Follow-up"
minutes = 20
buffer_after = 5
needs = [{ kind = "exam" }]

[[type]]
key = "procedure"
name = "Procedure"
minutes = 60
min_lead_hours = 48
providers = ["okafor"]
needs = [{ kind = "procedure", minutes = 30 }]

[[type]]
key = "quick"
name = "Quick check"
minutes = 15

[[type]]
key = "new"
name = "New patient"
minutes = 30
new_patient = true
"#;

/// A clinic with two providers, rooms, types, a holiday and two patients, and a pinned clock.
struct Desk {
    c: Clinic,
    now: String,
    jane: String,
    john: String,
}

impl Desk {
    fn new() -> Desk {
        let c = Clinic::new();
        let mut d = Desk {
            c,
            now: NOW.into(),
            jane: String::new(),
            john: String::new(),
        };
        d.ok("provider add okafor --name 'Adaeze Okafor' --credentials MD --specialty 'family medicine' --npi 1234567893 --hours 'mon-fri 08:00-17:00 break 12:00-13:00'");
        d.ok("provider add lee --name 'Sam Lee' --specialty dermatology --hours 'mon-fri 09:00-17:00'");
        std::fs::write(d.c.path("appointment-types.toml"), TYPES).unwrap();
        std::fs::create_dir_all(d.c.path("rooms")).unwrap();
        for (key, kind) in [
            ("exam-1", "exam"),
            ("exam-2", "exam"),
            ("proc-1", "procedure"),
        ] {
            std::fs::write(
                d.c.path(&format!("rooms/{key}.toml")),
                format!("schema = 1\nkey = \"{key}\"\nname = \"{key}\"\nkind = \"{kind}\"\n"),
            )
            .unwrap();
        }
        let office = d.c.path("frontdesk.toml");
        let mut text = std::fs::read_to_string(&office).unwrap();
        text.push_str("\n[holidays]\n2026-12-25 = \"Christmas Day\"\n");
        std::fs::write(&office, text).unwrap();
        d.jane = d.c.add_jane();
        d.john = d
            .ok("patient add --first John --last Roe --dob 1970-01-09 --sex M")
            .trim()
            .to_string();
        d
    }

    fn at(&mut self, now: &str) -> &mut Desk {
        self.now = now.into();
        self
    }

    fn run(&self, args: impl IntoArgs) -> Output {
        self.c
            .cmd()
            .env("FRONTDESK_NOW", &self.now)
            .args(args.into_args())
            .output()
            .unwrap()
    }

    fn ok(&self, args: impl IntoArgs) -> String {
        let args = args.into_args();
        expect_ok(&args, self.run(args.as_slice()))
    }

    /// Runs and returns (stdout, stderr) of a success.
    fn ok2(&self, args: impl IntoArgs) -> (String, String) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    /// Asserts the exit code, that nothing was written or committed, and returns stderr.
    fn refused(&self, args: impl IntoArgs, code: i32) -> String {
        let (files, commits) = (self.c.files(), self.c.commits());
        let out = self.run(args);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(code), "{err}");
        assert_eq!(self.c.files(), files, "files changed after a refusal");
        assert_eq!(self.c.commits(), commits);
        assert!(
            !err.contains("Doe") && !err.contains("Jane"),
            "PHI in error: {err}"
        );
        err
    }

    fn book(&self, patient: &str, rest: &str) -> String {
        self.ok(format!("schedule book --patient {patient} {rest}"))
            .trim()
            .to_string()
    }

    fn appt_file(&self, id: &str) -> String {
        let path = walkdir::WalkDir::new(self.c.path("appointments"))
            .into_iter()
            .flatten()
            .find(|e| e.file_name().to_string_lossy() == format!("{id}.toml"))
            .unwrap_or_else(|| panic!("no file for {id}"));
        std::fs::read_to_string(path.path()).unwrap()
    }
}

#[test]
fn providers_are_added_listed_shown_and_changed() {
    let d = Desk::new();
    let list = d.ok("provider list");
    assert!(
        list.contains("okafor") && list.contains("Adaeze Okafor, MD"),
        "{list}"
    );
    assert!(
        list.contains("Mon,Tue,Wed,Thu,Fri 08:00-17:00 break 12:00-13:00"),
        "{list}"
    );
    d.ok("provider hours lee --set 'tue,thu 10:00-14:00' --set 'sat 09:00-12:00 at north'");
    let hours = d.ok("provider hours lee");
    assert_eq!(hours, "Tue,Thu 10:00-14:00\nSat 09:00-12:00 at north\n");
    d.ok("provider timeoff okafor --from 2026-12-21 --to 2026-12-23 --reason vacation");
    d.ok("provider timeoff okafor --from '2026-12-01 12:00' --to '2026-12-01 17:00'");
    let show = d.ok("provider show okafor");
    assert!(
        show.contains("2026-12-21 00:00 to 2026-12-24 00:00 (vacation)"),
        "{show}"
    );
    assert!(show.contains("2. 2026-12-21"), "{show}");
    d.ok("provider timeoff okafor --remove 2");
    assert!(!d.ok("provider show okafor").contains("vacation"));
    assert!(d.c.commit_messages()[0].contains("Update provider okafor: time off."));
    // Refusals.
    d.refused("provider add okafor --name Again", 2);
    d.refused("provider add bad --name X --npi 1234567890", 2);
    d.refused("provider add ../x --name X", 2);
    d.refused(
        "provider add x --name X --hours 'mon-fri 08:00-12:00' --hours 'mon 11:00-13:00'",
        2,
    );
    d.refused("provider hours lee --set 'someday 09:00-10:00'", 2);
    d.refused(
        "provider hours lee --set 'mon 09:00-10:00 break 11:00-12:00'",
        2,
    );
    d.refused("provider timeoff nobody --from 2026-12-01", 2);
    d.refused("provider timeoff okafor --remove 9", 2);
}

#[test]
fn booking_writes_one_file_one_commit_and_shows_on_the_day() {
    let d = Desk::new();
    let id = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-12-01 09:30' --reason cough",
    );
    assert!(id.starts_with('A'), "{id}");
    let text = d.appt_file(&id);
    assert!(
        text.contains("start = \"2026-12-01T09:30:00-05:00\""),
        "{text}"
    );
    assert!(
        text.contains("end = \"2026-12-01T09:50:00-05:00\""),
        "{text}"
    );
    assert!(text.contains("status = \"booked\""));
    assert!(text.contains("room = \"exam-1\""), "{text}");
    assert!(
        d.c.path(&format!("appointments/2026/12/01/{id}.toml"))
            .is_file()
    );
    let msg = &d.c.commit_messages()[0];
    assert_eq!(
        msg,
        &format!("testclerk|Book appointment {id} for patient {}.", d.jane)
    );
    let day = d.ok("schedule day 2026-12-01 --provider okafor");
    assert!(
        day.contains("09:30  09:50") && day.contains("Doe, Jane"),
        "{day}"
    );
    assert!(day.contains("(free 90 min)"), "{day}");
    assert!(day.contains("(break)"), "{day}");
    let show = d.ok(format!("schedule show {id}"));
    assert!(show.contains("booked by testclerk"), "{show}");
    let json = d.ok(format!("--format json schedule show {id}"));
    assert!(json.contains("\"status\": \"booked\""));
}

#[test]
fn every_refusal_names_the_conflict_and_changes_nothing() {
    let mut d = Desk::new();
    let first = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-12-01 09:30'",
    );
    let book = |p: &str, rest: &str| format!("schedule book --patient {p} {rest}");
    // Provider taken: exit 3, names the appointment and offers the nearest free times.
    let e = d.refused(
        book(
            &d.john,
            "--provider okafor --type follow-up --at '2026-12-01 09:40'",
        ),
        3,
    );
    assert!(
        e.contains(&format!("the provider is already booked ({first})")),
        "{e}"
    );
    assert!(
        e.contains("nearest free times: Tue 2026-12-01 09:55"),
        "{e}"
    );
    assert!(e.contains("--force"), "{e}");
    // The buffer after a visit counts.
    d.refused(
        book(
            &d.john,
            "--provider okafor --type follow-up --at '2026-12-01 09:50'",
        ),
        3,
    );
    // Patient already booked with someone else.
    let e = d.refused(
        book(
            &d.jane,
            "--provider lee --type quick --at '2026-12-01 09:35'",
        ),
        3,
    );
    assert!(
        e.contains(&format!("the patient is already booked then ({first})")),
        "{e}"
    );
    let cases = [
        (
            "--provider okafor --type follow-up --at '2026-12-01 07:30'",
            "outside the provider's working hours",
        ),
        (
            "--provider okafor --type follow-up --at '2026-12-01 16:50'",
            "outside the provider's working hours",
        ),
        (
            "--provider okafor --type follow-up --at '2026-12-05 10:00'",
            "outside the provider's working hours",
        ),
        (
            "--provider okafor --type follow-up --at '2026-12-01 12:10'",
            "during the provider's break 12:00-13:00",
        ),
        (
            "--provider okafor --type follow-up --at '2026-12-25 10:00'",
            "office is closed that day (Christmas Day)",
        ),
        (
            "--provider okafor --type follow-up --at '2026-11-26 10:00'",
            "the time is in the past",
        ),
        (
            "--provider okafor --type procedure --at '2026-11-28 10:00'",
            "at least 48 hours ahead",
        ),
        (
            "--provider lee --type procedure --at '2026-12-03 10:00'",
            "does not take this appointment type",
        ),
        (
            "--provider okafor --type follow-up --at '2026-12-01 10:00' --room nowhere",
            "there is no such room",
        ),
    ];
    for (args, want) in cases {
        let e = d.refused(book(&d.john, args), 2);
        assert!(e.contains(want), "{args}: {e}");
    }
    d.ok("provider timeoff okafor --from '2026-12-02 09:00' --to '2026-12-02 11:00' --reason conference");
    let e = d.refused(
        book(
            &d.john,
            "--provider okafor --type follow-up --at '2026-12-02 10:00'",
        ),
        2,
    );
    assert!(e.contains("the provider has time off (conference)"), "{e}");
    // The room a visit holds cannot be taken by another.
    d.ok(book(
        &d.john,
        "--provider okafor --type procedure --at '2026-12-03 10:00'",
    ));
    let e = d.refused(
        book(
            &d.jane,
            "--provider lee --type follow-up --at '2026-12-03 10:00' --room proc-1",
        ),
        3,
    );
    assert!(e.contains("room proc-1 is taken"), "{e}");
    // Unknown things are named.
    assert!(
        d.refused(
            book(
                &d.john,
                "--provider nobody --type follow-up --at '2026-12-01 10:00'"
            ),
            2
        )
        .contains("no such provider")
    );
    assert!(
        d.refused(
            book(
                &d.john,
                "--provider okafor --type nope --at '2026-12-01 10:00'"
            ),
            2
        )
        .contains("types: follow-up, procedure, quick")
    );
    d.refused(
        book(
            "P0000000",
            "--provider okafor --type follow-up --at '2026-12-01 10:00'",
        ),
        1,
    );
    d.refused(
        book(&d.john, "--provider okafor --type follow-up --at 'someday'"),
        2,
    );
    d.refused(
        book(
            &first,
            "--provider okafor --type follow-up --at '2026-12-01 10:00'",
        ),
        2,
    );
    // An ID without a digit (about one in twenty) is still an ID, not a name to search for.
    d.refused(
        book(
            "AKXRWPQHM",
            "--provider okafor --type follow-up --at '2026-12-01 10:00'",
        ),
        2,
    );
    let gone = d.c.add_jane_twin();
    d.ok(format!("patient deactivate {gone} --deceased"));
    let e = d.refused(
        book(
            &gone,
            "--provider okafor --type follow-up --at '2026-12-01 10:00'",
        ),
        2,
    );
    assert!(e.contains("deceased"), "{e}");
    // --force books a double-booking on purpose, and says so in the record.
    let forced = d.book(
        &d.john,
        "--provider okafor --type follow-up --at '2026-12-01 09:40' --force",
    );
    let text = d.appt_file(&forced);
    assert!(text.contains("double_booked = true"), "{text}");
    assert!(
        text.contains(&format!("double-booked over {first}")),
        "{text}"
    );
    // … but never outside hours.
    d.refused(
        book(
            &d.john,
            "--provider okafor --type follow-up --at '2026-12-01 07:00' --force",
        ),
        2,
    );
    // Past times stay refused even on a different clock.
    d.at("2026-12-01T10:00:00-05:00");
    d.refused(
        book(
            &d.john,
            "--provider okafor --type follow-up --at '2026-12-01 09:00'",
        ),
        2,
    );
}

#[test]
fn two_clerks_booking_the_same_slot_exactly_one_wins() {
    let d = Desk::new();
    let mut patients = vec![d.jane.clone(), d.john.clone()];
    for i in 0..4 {
        patients.push(
            d.ok(format!(
                "patient add --first Pat --last Racer{} --dob 1990-01-0{} --sex X",
                ["a", "b", "c", "d"][i],
                i + 1
            ))
            .trim()
            .to_string(),
        );
    }
    let losers = race_one_winner(
        patients.iter().map(|p| {
            let mut cmd = spawnable(&d.c);
            cmd.args([
                "schedule",
                "book",
                "--patient",
                p,
                "--provider",
                "okafor",
                "--type",
                "follow-up",
                "--at",
                "2026-12-01 10:00",
            ])
            .env("FRONTDESK_NOW", NOW)
            .env("FRONTDESK_USER", "racer");
            cmd
        }),
        "same-slot booking",
    );
    for o in &losers {
        assert!(String::from_utf8_lossy(&o.stderr).contains("already booked"));
    }
    let day: Vec<_> = std::fs::read_dir(d.c.path("appointments/2026/12/01"))
        .unwrap()
        .collect();
    assert_eq!(day.len(), 1);
}

#[test]
fn dst_change_days_are_right() {
    let mut d = Desk::new();
    d.at("2026-01-05T09:00:00-05:00");
    d.ok("provider add night --name 'Night Clinic' --hours 'sun 00:00-06:00'");
    // Spring forward: 02:30 does not exist.
    let e = d.refused(
        format!(
            "schedule book --patient {} --provider night --type quick --at '2026-03-08 02:30'",
            d.jane
        ),
        2,
    );
    assert!(e.contains("does not exist") && e.contains("skip"), "{e}");
    // 01:30 + 60 minutes of real time ends at 03:30 local.
    std::fs::write(
        d.c.path("appointment-types.toml"),
        format!("{TYPES}\n[[type]]\nkey = \"hour\"\nname = \"Hour\"\nminutes = 60\n"),
    )
    .unwrap();
    let a = d.book(
        &d.jane,
        "--provider night --type hour --at '2026-03-08 01:30'",
    );
    let text = d.appt_file(&a);
    assert!(
        text.contains("start = \"2026-03-08T01:30:00-05:00\""),
        "{text}"
    );
    assert!(
        text.contains("end = \"2026-03-08T03:30:00-04:00\""),
        "{text}"
    );
    // Fall back: 01:30 happens twice and needs a choice.
    let e = d.refused(
        format!(
            "schedule book --patient {} --provider night --type quick --at '2026-11-01 01:30'",
            d.john
        ),
        2,
    );
    assert!(
        e.contains("happens twice") && e.contains("--earlier"),
        "{e}"
    );
    let first = d.book(
        &d.john,
        "--provider night --type quick --at '2026-11-01 01:30' --earlier",
    );
    let second = d.book(
        &d.john,
        "--provider night --type quick --at '2026-11-01 01:30' --later",
    );
    assert!(d.appt_file(&first).contains("2026-11-01T01:30:00-04:00"));
    assert!(d.appt_file(&second).contains("2026-11-01T01:30:00-05:00"));
    // Both are on the day sheet, an hour apart in real time, at the same wall-clock time.
    let day = d.ok("schedule day 2026-11-01 --provider night");
    assert_eq!(day.matches("01:30  01:45").count(), 2, "{day}");
    // Find on the spring day never offers the missing hour.
    let found = d.ok(format!("schedule find --patient {} --provider night --type quick --after 2026-03-08 --before 2026-03-08 --limit 30", d.john));
    assert!(!found.contains(" 02:"), "{found}");
    assert!(found.contains("03:30"), "{found}");
}

#[test]
fn recurring_series_with_one_moved_occurrence_and_future_only_cancel() {
    let mut d = Desk::new();
    let out = d.ok(format!("schedule book --patient {} --provider okafor --type follow-up --at '2026-12-01 09:00' --repeat weekly --count 4", d.jane));
    let ids: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(ids.len(), 4, "{out}");
    assert!(
        d.c.commit_messages()[0].contains("Book series R"),
        "one commit for the series"
    );
    let series = std::fs::read_dir(d.c.path("series"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let sid = series.file_stem().unwrap().to_string_lossy().to_string();
    assert!(
        std::fs::read_to_string(&series)
            .unwrap()
            .contains("rule = \"FREQ=WEEKLY;COUNT=4\"")
    );
    for (i, date) in ["01", "08", "15", "22"].iter().enumerate() {
        assert!(
            d.c.path(&format!("appointments/2026/12/{date}/{}.toml", ids[i]))
                .is_file()
        );
        assert!(d.appt_file(ids[i]).contains(&format!("series = \"{sid}\"")));
    }
    // Move one occurrence alone: the others stay, the moved one keeps its series link.
    let moved = d
        .ok(format!("schedule move {} --at '2026-12-09 14:00'", ids[1]))
        .trim()
        .to_string();
    let old = d.appt_file(ids[1]);
    assert!(
        old.contains("status = \"rescheduled\"")
            && old.contains(&format!("rescheduled_to = \"{moved}\"")),
        "{old}"
    );
    let new = d.appt_file(&moved);
    assert!(
        new.contains(&format!("series = \"{sid}\""))
            && new.contains(&format!("rescheduled_from = \"{}\"", ids[1])),
        "{new}"
    );
    assert!(d.appt_file(ids[2]).contains("status = \"booked\""));
    // A series that would conflict is reported whole before anything is booked.
    let e = d.refused(format!("schedule book --patient {} --provider okafor --type follow-up --at '2026-12-08 09:00' --repeat weekly --count 3", d.john), 3);
    assert!(
        e.contains("2 of 3 occurrences cannot be booked, so none were"),
        "{e}"
    );
    assert!(
        e.contains("Tue 2026-12-15 09:00: the provider is already booked"),
        "{e}"
    );
    let e = d.refused(format!("schedule book --patient {} --provider okafor --type follow-up --at '2026-12-18 09:00' --rrule 'FREQ=WEEKLY;COUNT=2'", d.john), 2);
    assert!(
        e.contains("Fri 2026-12-25 09:00: the office is closed"),
        "{e}"
    );
    d.refused(format!("schedule book --patient {} --provider okafor --type follow-up --at '2026-12-18 09:00' --repeat weekly", d.john), 2);
    let e = d.refused(format!("schedule recurring --patient {} --provider okafor --type follow-up --at '2026-12-18 09:00'", d.john), 2);
    assert!(e.contains("needs --repeat"), "{e}");
    let two = d.ok(format!("schedule recurring --patient {} --provider lee --type quick --at '2026-12-01 09:00' --rrule 'FREQ=WEEKLY;BYDAY=TU,TH;COUNT=2'", d.john));
    assert_eq!(two.split_whitespace().count(), 2, "{two}");
    d.refused(format!("schedule recurring --patient {} --provider lee --type quick --at '2026-12-01 09:00' --repeat weekly --until 2026-11-01", d.john), 2);
    d.refused(format!("schedule book --patient {} --provider okafor --type follow-up --at '2026-12-18 09:00' --rrule 'FREQ=YEARLY;COUNT=2'", d.john), 2);
    // Cancelling the series after the first visit cancels only the ones to come.
    d.at("2026-12-02T09:00:00-05:00");
    d.ok(format!("schedule cancel {sid} --reason 'therapy finished'"));
    assert!(
        d.appt_file(ids[0]).contains("status = \"booked\""),
        "past occurrence untouched"
    );
    assert!(d.appt_file(&moved).contains("status = \"cancelled\""));
    assert!(d.appt_file(ids[2]).contains("status = \"cancelled\""));
    assert!(d.appt_file(ids[3]).contains("status = \"cancelled\""));
    assert!(d.appt_file(ids[1]).contains("status = \"rescheduled\""));
    assert!(d.c.commit_messages()[0].contains(&format!("Cancel 3 appointments of series {sid}")));
}

#[test]
fn waitlist_match_after_a_cancel() {
    let d = Desk::new();
    let a = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-12-01 09:30'",
    );
    let w = d.ok(format!("schedule waitlist add --patient {} --type follow-up --provider okafor --window 'tue mornings' --until 2026-12-31", d.john)).trim().to_string();
    let far = d
        .ok(format!(
            "schedule waitlist add --patient {} --type follow-up --window 'afternoons'",
            d.c.add_jane_twin()
        ))
        .trim()
        .to_string();
    let list = d.ok("schedule waitlist list");
    assert!(
        list.contains(&w) && list.contains(&far) && list.contains("tue mornings"),
        "{list}"
    );
    // Asked before the cancel is recorded (the patient is still on the phone), the answer is
    // who could take the time once it is free.
    assert!(d.ok(format!("schedule waitlist match {a}")).contains(&w));
    let (_, err) = d.ok2(format!("schedule cancel {a} --reason 'patient request'"));
    let out = d.run(format!("schedule cancel {a} --reason again"));
    assert_eq!(
        out.status.code(),
        Some(2),
        "a cancelled appointment cannot be cancelled again"
    );
    assert!(err.contains("waitlisted patients who fit"), "{err}");
    let m = d.ok(format!("schedule waitlist match {a}"));
    assert!(m.contains(&w) && m.contains(&d.john), "{m}");
    assert!(
        !m.contains(&far),
        "an afternoons-only patient does not fit 09:30: {m}"
    );
    // Moving a visit away also offers its old time to the waitlist.
    let b = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-12-08 09:30'",
    );
    let (_, err) = d.ok2(format!("schedule move {b} --at '2026-12-08 14:00'"));
    assert!(
        err.contains("waitlisted patients who fit the freed time"),
        "{err}"
    );
    d.ok(format!("schedule waitlist remove {w}"));
    assert!(!d.ok("schedule waitlist list").contains(&w));
    d.refused(format!("schedule waitlist remove {w}"), 2);
    d.refused(
        format!(
            "schedule waitlist add --patient {} --type follow-up --window 'someday'",
            d.john
        ),
        2,
    );
}

#[test]
fn cancel_within_24_hours_is_late() {
    let d = Desk::new();
    let soon = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at 'mon 08:00'",
    );
    let later = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-12-02 08:00'",
    );
    let mut d = d;
    d.at("2026-11-29T12:00:00-05:00");
    let (_, err) = d.ok2(format!("schedule cancel {soon} --reason sick"));
    assert!(err.contains("late cancel"), "{err}");
    assert!(d.appt_file(&soon).contains("late_cancel = true"));
    d.ok(format!("schedule cancel {later} --reason sick"));
    assert!(!d.appt_file(&later).contains("late_cancel"));
    assert!(d.appt_file(&later).contains("cancel_reason = \"sick\""));
    d.refused(format!("schedule cancel {later} --reason ''"), 2);
}

#[test]
fn the_visit_flow_from_confirm_to_checkout() {
    let mut d = Desk::new();
    let a = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at 'today 10:00'",
    );
    let b = d.book(
        &d.john,
        "--provider okafor --type follow-up --at 'today 10:30'",
    );
    let c = d.book(&d.john, "--provider lee --type quick --at 'today 11:00'");
    d.ok(format!("schedule confirm {a} --via sms"));
    assert!(d.appt_file(&a).contains("via = \"sms\""));
    d.refused(format!("schedule checkout {a}"), 2);
    d.refused(format!("schedule noshow {b}"), 2); // not started yet
    d.at("2026-11-27T09:52:00-05:00");
    let (_, err) = d.ok2(format!("schedule checkin {a}"));
    assert!(err.contains("not verified in the last 12 months"), "{err}");
    assert!(!err.contains("Doe"), "{err}");
    d.at("2026-11-27T10:05:00-05:00");
    let board = d.ok("schedule waiting");
    assert!(
        board.contains("09:52") && board.contains(&a) && board.contains(" 13 "),
        "{board}"
    );
    d.ok(format!("schedule room {a} --room exam-2"));
    assert_eq!(d.run("schedule waiting").status.code(), Some(1));
    d.refused(format!("schedule room {a} --room nowhere"), 2);
    d.at("2026-11-27T10:25:00-05:00");
    d.ok(format!("schedule checkout {a} --note 'seen'"));
    let text = d.appt_file(&a);
    for s in ["booked", "confirmed", "arrived", "roomed", "fulfilled"] {
        assert!(text.contains(&format!("status = \"{s}\"")), "{s}: {text}");
    }
    d.at("2026-11-27T10:50:00-05:00");
    d.ok(format!("schedule noshow {b}"));
    assert!(d.appt_file(&b).contains("status = \"noshow\""));
    d.ok(format!("schedule checkin {c}"));
    d.ok(format!("schedule left {c}"));
    // A new-patient visit for someone already seen gets a warning (the booking stands).
    let (_, err) = d.ok2(format!(
        "schedule book --patient {} --provider okafor --type new --at '2026-12-01 14:00'",
        d.jane
    ));
    assert!(
        err.contains(&format!("patient {} was already seen ({a}", d.jane)),
        "{err}"
    );
    let (_, err) = d.ok2(format!(
        "schedule book --patient {} --provider okafor --type new --at '2026-12-01 15:00'",
        d.c.add_jane_twin()
    ));
    assert!(!err.contains("already seen"), "{err}");
    // Visits not fulfilled (a no-show, one who left before being seen) are not a visit had.
    let (_, err) = d.ok2(format!(
        "schedule book --patient {} --provider okafor --type new --at '2026-12-02 14:00'",
        d.john
    ));
    assert!(!err.contains("already seen"), "{err}");
    assert!(d.appt_file(&c).contains("status = \"left\""));
    let msgs = d.c.commit_messages().join("\n");
    assert!(
        msgs.contains(&format!("Check in appointment {a}"))
            && msgs.contains(&format!("Mark no-show for appointment {b}")),
        "{msgs}"
    );
    // Check-in only on the day.
    let e = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-12-01 10:00'",
    );
    d.refused(format!("schedule checkin {e}"), 2);
    d.refused("schedule checkin A0000000", 1);
    // A patient ID finds that patient's visit today; this one has none.
    let err = d.refused("schedule checkin P0000000", 1);
    assert!(err.contains("no appointment today matches"), "{err}");
}

#[test]
fn checkin_warns_about_ended_coverage() {
    let mut d = Desk::new();
    d.ok("payer add acme --name Acme");
    d.ok(format!("patient insurance add {} --payer acme --member-id M1 --effective 2020-01-01 --end 2025-12-31", d.jane));
    let a = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at 'today 10:00'",
    );
    d.at("2026-11-27T09:55:00-05:00");
    let (_, err) = d.ok2(format!("schedule checkin {a}"));
    assert!(err.contains("coverage ended"), "{err}");
}

#[test]
fn find_searches_ahead_with_preferences_and_every_slot_books() {
    let d = Desk::new();
    // Okafor is away for six weeks: find must look past them.
    d.ok("provider timeoff okafor --from 2026-11-27 --to 2027-01-08 --reason sabbatical");
    let out = d.ok(format!(
        "schedule find --patient {} --provider okafor --type follow-up --limit 3",
        d.jane
    ));
    assert!(out.contains("Mon 2027-01-11  08:00"), "{out}");
    // Preferences: Tuesdays and Thursdays after 15:00, never the first hour.
    let out = d.ok(format!("schedule find --patient {} --provider lee --type quick --prefer 'tue,thu after 15:00' --limit 4", d.john));
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{out}");
    for r in &rows {
        assert!(
            (r.contains("Tue") || r.contains("Thu")) && r.contains(" 15:") || r.contains(" 16:"),
            "{r}"
        );
    }
    // Stored preferences are used when none are typed.
    d.ok(format!("schedule find --patient {} --provider lee --type quick --avoid 'mornings' --save --limit 1", d.jane));
    let p = std::fs::read_to_string(d.c.patient_file(&d.jane)).unwrap();
    assert!(
        p.contains("[scheduling]") && p.contains("avoid = \"mornings\""),
        "{p}"
    );
    let out = d.ok(format!(
        "schedule find --patient {} --provider lee --type quick --limit 5 --format csv",
        d.jane
    ));
    for line in out.lines().skip(1) {
        let start = line.split(',').nth(1).unwrap();
        assert!(start >= "12:00", "{line}");
    }
    // Every slot offered can be booked, straight from the CSV: its dates are plain dates (the
    // terminal table shows the weekday too).
    let out = d.ok(format!(
        "schedule find --patient {} --type follow-up --after 2026-12-01 --limit 6 --format csv",
        d.john
    ));
    for line in out.lines().skip(1).take(3) {
        let f: Vec<&str> = line.split(',').collect();
        let date = f[0];
        assert!(date.parse::<chrono::NaiveDate>().is_ok(), "{line}");
        d.book(
            &d.john,
            &format!(
                "--provider {} --type follow-up --at '{date} {}' --force",
                f[3], f[1]
            ),
        );
    }
    // Specialty narrows the providers; nothing found is exit 1.
    let out = d.ok(format!(
        "schedule find --patient {} --specialty dermatology --type quick --limit 2",
        d.jane
    ));
    assert!(out.contains("lee") && !out.contains("okafor"), "{out}");
    assert_eq!(d.run(format!("schedule find --patient {} --provider lee --type quick --after 2026-12-25 --before 2026-12-25", d.jane)).status.code(), Some(1));
    d.refused(
        format!(
            "schedule find --patient {} --type quick --prefer 'whenever'",
            d.jane
        ),
        2,
    );
    d.refused(
        format!(
            "schedule find --patient {} --provider lee --type procedure",
            d.jane
        ),
        2,
    );
}

#[test]
fn list_by_patient_past_and_upcoming_with_or_without_the_index() {
    let mut d = Desk::new();
    d.at("2026-01-05T09:00:00-05:00");
    let old = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-01-06 09:00'",
    );
    d.at(NOW);
    let next = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2027-02-02 09:00'",
    );
    d.book(
        &d.john,
        "--provider okafor --type follow-up --at '2026-12-01 09:00'",
    );
    let all = d.ok(format!("schedule list --patient {}", d.jane));
    assert!(all.contains(&old) && all.contains(&next), "{all}");
    assert!(!all.contains(&d.john));
    let past = d.ok(format!("schedule list --patient {} --past", d.jane));
    assert!(past.contains(&old) && !past.contains(&next));
    let up = d.ok(format!("schedule list --patient {} --upcoming", d.jane));
    assert!(!up.contains(&old) && up.contains(&next));
    // The index is disposable: same answer without it, and it sees changes made behind its back.
    std::fs::remove_dir_all(d.c.path(".frontdesk/index")).ok();
    assert_eq!(d.ok(format!("schedule list --patient {}", d.jane)), all);
    let moved = d
        .ok(format!("schedule move {next} --at '2027-02-03 09:00'"))
        .trim()
        .to_string();
    let again = d.ok(format!("schedule list --patient {}", d.jane));
    assert!(
        again.contains(&moved) && again.contains("rescheduled"),
        "{again}"
    );
    std::fs::write(
        d.c.path(".frontdesk/index/appointments-2027.tsv"),
        "garbage",
    )
    .unwrap();
    assert_eq!(d.ok(format!("schedule list --patient {}", d.jane)), again);
    let (_, said) = d.ok2("index rebuild");
    assert!(said.contains("Indexed 4 appointments"), "{said}");
    assert_eq!(d.ok(format!("schedule list --patient {}", d.jane)), again);
    // A name finds the patient for `list`, `find` and `book` alike.
    assert_eq!(d.ok("schedule list --patient 'doe jan'"), again);
    let by_name = d.ok("schedule find --patient 'doe jan' --type follow-up --limit 3");
    let by_id = d.ok(format!(
        "schedule find --patient {} --type follow-up --limit 3",
        d.jane
    ));
    assert_eq!(by_name, by_id);
    let unknown = d.run("schedule list --patient P0000000");
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        d.run(format!("schedule list --patient {} --past", d.john))
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn week_view_counts_visits_and_free_time() {
    let d = Desk::new();
    let visit = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-12-01 09:00'",
    );
    // --visits lists each visit with the ID the desk needs to act on it.
    let visits = d.ok("schedule week 2026-12-02 --provider okafor --visits");
    let row = visits
        .lines()
        .find(|l| l.contains(&visit))
        .unwrap_or_else(|| panic!("{visits}"));
    assert!(
        row.contains("Tue 2026-12-01") && row.contains("09:00") && row.contains(&d.jane),
        "{row}"
    );
    assert_eq!(
        visits.lines().count(),
        2,
        "header and the one visit:\n{visits}"
    );
    let week = d.ok("schedule week 2026-12-02 --provider okafor");
    let tue = week.lines().find(|l| l.contains("Tue 2026-12-01")).unwrap();
    // 8 working hours less the visit and its buffer.
    assert!(
        tue.contains("08:00-17:00") && tue.contains(" 1 ") && tue.contains(" 455 "),
        "{week}"
    );
    assert_eq!(
        week.lines().filter(|l| l.contains("okafor")).count(),
        5,
        "{week}"
    );
}

#[test]
fn export_is_valid_icalendar_with_right_local_times_across_dst() {
    let mut d = Desk::new();
    d.at("2026-10-01T09:00:00-04:00");
    let summer = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-10-30 09:00'",
    );
    let winter = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-11-02 09:00'",
    );
    let out = d.c.dir.path().join("okafor.ics");
    d.ok(format!(
        "schedule export --provider okafor --from 2026-10-26 --to 2026-11-06 -o {}",
        out.display()
    ));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\r\n"), "CRLF line endings");
    assert!(
        !text.contains("Doe") && !text.contains(&d.jane),
        "names left out by default"
    );
    let cal = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()))
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(cal.events.len(), 2);
    assert_eq!(cal.timezones.len(), 1);
    let tz = &cal.timezones[0];
    // Resolve each event's TZID local time with the file's own VTIMEZONE rules.
    let transitions: Vec<(String, i64)> = tz
        .transitions
        .iter()
        .map(|t| {
            let get = |n: &str| {
                t.properties
                    .iter()
                    .find(|p| p.name == n)
                    .and_then(|p| p.value.clone())
                    .unwrap()
            };
            let off = get("TZOFFSETTO");
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let mins = off[1..3].parse::<i64>().unwrap() * 60 + off[3..5].parse::<i64>().unwrap();
            (get("DTSTART"), sign * mins)
        })
        .collect();
    let mut utc = std::collections::HashMap::new();
    for e in &cal.events {
        let prop = |n: &str| e.properties.iter().find(|p| p.name == n).unwrap().clone();
        let uid = prop("UID").value.unwrap();
        let start = prop("DTSTART");
        let params = start.params.clone().unwrap();
        assert!(
            params
                .iter()
                .any(|(k, v)| k == "TZID" && v[0] == "America/New_York")
        );
        let local = start.value.unwrap();
        let offset = transitions
            .iter()
            .filter(|(t, _)| t.as_str() <= local.as_str())
            .max_by(|a, b| a.0.cmp(&b.0))
            .unwrap()
            .1;
        let naive = chrono::NaiveDateTime::parse_from_str(&local, "%Y%m%dT%H%M%S").unwrap();
        utc.insert(
            uid,
            (naive - chrono::Duration::minutes(offset))
                .format("%H:%M")
                .to_string(),
        );
        assert_eq!(&local[9..], "090000", "local time kept");
    }
    assert_eq!(utc[&format!("{summer}@frontdesk")], "13:00", "EDT");
    assert_eq!(utc[&format!("{winter}@frontdesk")], "14:00", "EST");
    // Names only when asked.
    let named =
        d.ok("schedule export --provider okafor --from 2026-10-26 --to 2026-11-06 --include-names");
    assert!(named.contains("Doe\\, Jane"), "{named}");
    d.refused("schedule export --from 2026-12-01 --to 2026-11-01", 2);
}

#[test]
fn moving_checks_the_new_time_and_keeps_history() {
    let d = Desk::new();
    let a = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-12-01 09:00'",
    );
    let b = d.book(
        &d.john,
        "--provider okafor --type follow-up --at '2026-12-01 10:00'",
    );
    // A small shift that overlaps only its own old time is fine.
    let a2 = d
        .ok(format!("schedule move {a} --at '2026-12-01 09:10'"))
        .trim()
        .to_string();
    let e = d.refused(format!("schedule move {a2} --at '2026-12-01 10:05'"), 3);
    assert!(e.contains(&b), "{e}");
    d.refused(format!("schedule move {a} --at '2026-12-02 09:00'"), 2); // already rescheduled
    let a3 = d
        .ok(format!(
            "schedule move {a2} --at '2026-12-03 11:00' --provider lee"
        ))
        .trim()
        .to_string();
    let text = d.appt_file(&a3);
    assert!(
        text.contains("provider = \"lee\"") && text.contains(&format!("moved from {a2}")),
        "{text}"
    );
    assert!(d.c.commit_messages()[0].contains(&format!("Move appointment {a2} to {a3}")));
}

impl Clinic {
    /// A third patient, for tests that need one more.
    fn add_jane_twin(&self) -> String {
        self.ok("patient add --first Janet --last Poe --dob 1981-05-06 --sex F")
            .trim()
            .to_string()
    }
}

#[test]
fn day_and_find_read_only_the_days_they_need() {
    let d = Desk::new();
    d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-12-01 09:00'",
    );
    // A broken file on another day cannot disturb commands about this day…
    let bad = d.c.path("appointments/2026/12/02/A0000000.toml");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(
        &bad,
        "schema = 1\nid = \"A0000000\"\nstart = \"not a time\"\n",
    )
    .unwrap();
    assert!(d.ok("schedule day 2026-12-01").contains("09:00  09:20"));
    d.ok(format!(
        "schedule find --patient {} --type follow-up --after 2026-12-01 --before 2026-12-01",
        d.john
    ));
    // …and is reported, with its file and line, when its own day is read.
    let e = d.refused("schedule day 2026-12-02", 2);
    assert!(e.contains("A0000000.toml:"), "{e}");
}

/// A full day (past the few dozen files read on one core) is read on every core, and so are
/// its patients: every visit is listed with its patient's name, and of two broken files the
/// first in name order is the one reported, as when the day is read file by file.
#[test]
fn a_full_day_lists_every_visit_and_reports_its_first_broken_file() {
    let d = Desk::new();
    let id = d.book(
        &d.jane,
        "--provider okafor --type follow-up --at '2026-12-03 09:00'",
    );
    let day = d.c.path("appointments/2026/12/03");
    let booked = d.appt_file(&id);
    for n in 0..59 {
        let copy = format!("A1{n:07}");
        let text = booked.replace(&id, &copy);
        std::fs::write(day.join(format!("{copy}.toml")), text).unwrap();
    }
    let listed: serde_json::Value =
        serde_json::from_str(&d.ok("--format json schedule day 2026-12-03")).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 60);
    // The sheet names each row's patient (the day's patients read on every core too); one
    // whose file cannot be read is named on stderr for each of its rows, which show the ID.
    assert_eq!(
        d.ok("schedule day 2026-12-03").matches("Doe, Jane").count(),
        60
    );
    let jane = d.c.patient_file(&d.jane);
    let kept = std::fs::read_to_string(&jane).unwrap();
    std::fs::write(&jane, "not = [toml").unwrap();
    let out = d.run("schedule day 2026-12-03");
    let (sheet, err) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(out.status.success(), "{err}");
    assert_eq!(sheet.matches(&d.jane).count(), 120, "{sheet}");
    assert_eq!(
        err.matches("the name is shown as the ID").count(),
        60,
        "{err}"
    );
    std::fs::write(&jane, kept).unwrap();
    for (name, line) in [("A00000002", "start = 7"), ("A00000001", "end = \"never\"")] {
        let text = booked
            .replace(&id, name)
            .replacen("start = ", &format!("{line}\nx = "), 1);
        std::fs::write(day.join(format!("{name}.toml")), text).unwrap();
    }
    let e = d.refused("schedule day 2026-12-03", 2);
    assert!(
        e.contains("A00000001.toml:") && !e.contains("A00000002"),
        "{e}"
    );
}
