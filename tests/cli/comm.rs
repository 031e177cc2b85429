//! The communications log end to end: parties and releases, follow-ups coming due, closing
//! them, confirmations from the schedule, history, and every refusal writing nothing.

use std::process::Output;

use crate::harness::*;

/// Tuesday 2026-12-01, 10:00 in New York.
pub(crate) const NOW: &str = "2026-12-01T10:00:00-05:00";

pub(crate) fn run_at(c: &Clinic, now: &str, args: impl IntoArgs) -> Output {
    c.cmd()
        .env("FRONTDESK_NOW", now)
        .args(args.into_args())
        .output()
        .unwrap()
}

pub(crate) fn ok(c: &Clinic, args: impl IntoArgs) -> String {
    ok_at(c, NOW, args)
}

pub(crate) fn ok_at(c: &Clinic, now: &str, args: impl IntoArgs) -> String {
    let args = args.into_args();
    expect_ok(&args, run_at(c, now, args.as_slice()))
}

/// Runs a command that must fail with `code`; checks it changed no file, made no commit and
/// echoed none of the values typed.
pub(crate) fn refused(c: &Clinic, args: impl IntoArgs, code: i32) -> String {
    let args = args.into_args();
    let (files, commits) = (c.files(), c.commits());
    let out = run_at(c, NOW, args.as_slice());
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: stdout {} stderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(c.files(), files, "{args:?} changed files");
    assert_eq!(c.commits(), commits, "{args:?} committed");
    let err = String::from_utf8(out.stderr).unwrap();
    for secret in ["Doe", "Jane", "Ana", "Bob", "SECRET", "xxxxxxxxxx"] {
        assert!(!err.contains(secret), "value {secret} in error: {err}");
    }
    err
}

/// Jane Doe with her daughter (release on file) and a neighbour (none) on her record.
fn clinic() -> (Clinic, String) {
    let c = Clinic::new();
    let jane = ok(
        &c,
        &[
            "patient",
            "add",
            "--first",
            "Jane",
            "--last",
            "Doe",
            "--dob",
            "1950-04-02",
            "--sex",
            "F",
            "--phone",
            "617-555-0101",
            "--representative",
            "Ana Doe, daughter, 617-555-0102, 2026-01-05",
            "--emergency-contact",
            "Bob Smith, neighbour, 617-555-0103",
        ],
    )
    .trim()
    .to_string();
    (c, jane)
}

/// Books Jane with a provider (added on first use) and returns the appointment ID.
fn book(c: &Clinic, jane: &str, at: &str) -> String {
    if !c.path("providers/okafor.toml").exists() {
        ok(
            c,
            "provider add okafor --name 'Adaeze Okafor' --hours 'mon-fri 08:00-17:00'",
        );
        std::fs::write(
            c.path("appointment-types.toml"),
            "schema = 1\n\n[[type]]\nkey = \"quick\"\nname = \"Quick\"\nminutes = 15\n",
        )
        .unwrap();
    }
    let out = ok(
        c,
        format!("schedule book --patient {jane} --provider okafor --type quick --at '{at}'"),
    );
    out.split_whitespace()
        .find(|w| w.starts_with('A'))
        .unwrap()
        .to_string()
}

fn log(c: &Clinic, args: &str) -> (String, String) {
    let out = run_at(c, NOW, args);
    assert!(
        out.status.success(),
        "{args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap().trim().to_string(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

pub(crate) fn json(c: &Clinic, args: &str) -> serde_json::Value {
    serde_json::from_str(&ok(c, format!("--format json {args}"))).unwrap()
}

#[test]
fn a_daughter_with_a_release_is_not_warned_about_a_neighbour_without_one_is() {
    let (c, jane) = clinic();
    let (daughter, err) = log(
        &c,
        &format!(
            "comm log --patient {jane} --with family:daughter --channel phone --direction out --summary 'Discussed the lab results'"
        ),
    );
    assert!(!err.contains("warning"), "{err}");
    let (neighbour, err) = log(
        &c,
        &format!(
            "comm log --patient {jane} --with 'contact:bob smith' --channel phone --direction in --summary 'Asked about her medication'"
        ),
    );
    assert!(
        err.contains("warning: care was discussed with a contact of patient")
            && err.contains("no release on file")
            && !err.contains("Bob"),
        "{err}"
    );
    let d = json(&c, &format!("comm show {daughter}"));
    assert_eq!(d["with"], "Ana Doe");
    assert_eq!(d["relation"], "daughter");
    assert_eq!(d["topic"], "care");
    assert!(d.get("warnings").is_none(), "{d}");
    let n = json(&c, &format!("comm show {neighbour}"));
    assert_eq!(n["warnings"].as_array().unwrap().len(), 1, "{n}");
    // Talk that is not about care raises no warning, even without a release.
    let (_, err) = log(
        &c,
        &format!(
            "comm log --patient {jane} --with contact:neighbour --channel phone --direction out --summary 'Ride to the appointment at nine' --topic scheduling"
        ),
    );
    assert!(!err.contains("warning"), "{err}");
    // The commits name IDs and the channel, never the summary or the people.
    let messages = c.commit_messages().join("\n");
    assert!(messages.contains(&format!(
        "Log phone communication {daughter} for patient {jane}."
    )));
    for secret in ["lab", "medication", "Ana", "Bob", "daughter", "neighbour"] {
        assert!(!messages.contains(secret), "{secret} in {messages}");
    }
}

#[test]
fn a_follow_up_comes_due_on_its_day_and_leaves_when_done() {
    let (c, jane) = clinic();
    let (id, _) = log(
        &c,
        &format!(
            "comm log --patient {jane} --with patient --channel phone --direction out --summary 'Left word about the ride' --follow-up +2d --assign maria"
        ),
    );
    let (other, _) = log(
        &c,
        &format!(
            "comm log --patient {jane} --with agency:'Ride Share Co' --channel phone --direction out --summary 'Booked a ride' --follow-up thu"
        ),
    );
    // Tuesday: nothing due yet; Wednesday neither; Thursday both, oldest follow-up first.
    let out = run_at(&c, NOW, "comm due");
    assert_eq!(out.status.code(), Some(1));
    let out = run_at(&c, "2026-12-02T08:00:00-05:00", "comm due");
    assert_eq!(out.status.code(), Some(1));
    let due = ok_at(&c, "2026-12-03T08:00:00-05:00", "--format csv comm due");
    assert!(due.contains(&id) && due.contains(&other), "{due}");
    assert!(due.contains("2026-12-03,0,"), "{due}");
    // --on asks about another day; --assign keeps one person's list; --overdue the late ones.
    let later = ok(&c, "--format json comm due --on 2026-12-05 --overdue");
    let later: serde_json::Value = serde_json::from_str(&later).unwrap();
    assert_eq!(later.as_array().unwrap().len(), 2);
    // JSON gives the communications as stored (both due Thursday, logged the same minute).
    let mut ids: Vec<&str> = later
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["follow_up"], "2026-12-03");
            c["id"].as_str().unwrap()
        })
        .collect();
    ids.sort();
    let mut want = vec![id.as_str(), other.as_str()];
    want.sort();
    assert_eq!(ids, want);
    let late = ok(&c, "--format csv comm due --on 2026-12-05 --overdue");
    assert!(late.contains("2026-12-03,2,"), "{late}");
    let mine = ok(&c, "--format csv comm due --on 2026-12-03 --assign maria");
    assert!(mine.contains(&id) && !mine.contains(&other), "{mine}");
    assert_eq!(
        run_at(&c, NOW, "comm due --on 2026-12-03 --overdue")
            .status
            .code(),
        Some(1)
    );
    // Done: gone from the list, kept in the record with its note.
    ok(&c, format!("comm done {id} --note 'Ride confirmed'"));
    let due = ok(&c, "--format csv comm due --on 2026-12-03");
    assert!(!due.contains(&id) && due.contains(&other), "{due}");
    let shown = json(&c, &format!("comm show {id}"));
    assert_eq!(shown["done_note"], "Ride confirmed");
    assert_eq!(shown["done_by"], "testclerk");
    // Twice is refused; so is closing a contact without a follow-up.
    refused(&c, format!("comm done {id}"), 2);
    let (plain, _) = log(
        &c,
        &format!(
            "comm log --patient {jane} --with patient --channel sms --direction out --summary 'Reminder sent'"
        ),
    );
    refused(&c, format!("comm done {plain}"), 2);
    // history shows the record's commits.
    let history = ok(&c, format!("history {id}"));
    assert!(
        history.contains(&format!("Log phone communication {id}")),
        "{history}"
    );
    assert!(
        history.contains(&format!("Close follow-up of communication {id}.")),
        "{history}"
    );
}

#[test]
fn comm_due_never_opens_a_closed_communication() {
    let (c, jane) = clinic();
    let (closed, _) = log(
        &c,
        &format!(
            "comm log --patient {jane} --with patient --channel phone --direction out --summary 'One' --follow-up today"
        ),
    );
    let (open, _) = log(
        &c,
        &format!(
            "comm log --patient {jane} --with patient --channel phone --direction out --summary 'Two' --follow-up today"
        ),
    );
    ok(&c, format!("comm done {closed}"));
    ok(&c, "comm due"); // builds the index
    // Spoil the closed file in place (its folder's time does not change): `comm due` does not
    // read it, while a command that does read it reports it.
    let rel = format!("communications/2026/12/01/{closed}.toml");
    let path = c.path(&rel);
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    let due = ok(&c, "--format csv comm due");
    assert!(due.contains(&open) && !due.contains(&closed), "{due}");
    let err = run_at(&c, NOW, format!("comm show {closed}"));
    assert_eq!(err.status.code(), Some(2));
}

#[test]
fn listings_filter_and_show_schedule_confirmations_once() {
    let (c, jane) = clinic();
    let appt = book(&c, &jane, "2026-12-03 09:00");
    ok(&c, format!("schedule confirm {appt} --via sms"));
    let (vm, _) = log(
        &c,
        &format!(
            "comm log --patient {jane} --with patient --channel voicemail --direction in --summary 'Call me back' --follow-up today --about {appt}"
        ),
    );
    log(
        &c,
        "comm log --with agency:'State health department' --channel fax --direction out --summary 'Sent the report form'",
    );
    let list = json(&c, &format!("comm list --patient {jane}"));
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    assert!(
        rows.iter()
            .any(|r| r["id"] == appt.as_str() && r["channel"] == "sms"),
        "{list}"
    );
    // The callback queue.
    let queue = json(&c, "comm list --channel voicemail --direction in --open");
    assert_eq!(queue.as_array().unwrap().len(), 1);
    assert_eq!(queue[0]["id"], vm.as_str());
    // The last 30 days hold the agency fax too; --with narrows by kind and name.
    let all = json(&c, "comm list");
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let faxes = json(&c, "comm list --with agency:state");
    assert_eq!(faxes.as_array().unwrap().len(), 1);
    assert_eq!(
        run_at(&c, NOW, "comm list --from 2026-11-01 --to 2026-11-02")
            .status
            .code(),
        Some(1)
    );
    let none = run_at(&c, NOW, "--format json comm list --channel letter");
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&none.stdout).trim(), "[]");
    // A command with no page refuses HTML; the listings print one.
    refused(&c, "--format html comm done C00000000", 2);
    let page = run_at(&c, NOW, "--format html comm list");
    assert!(String::from_utf8_lossy(&page.stdout).starts_with("<!DOCTYPE html>"));
}

#[test]
fn bad_input_is_refused_naming_the_field_and_writes_nothing() {
    let (c, jane) = clinic();
    ok(&c, "payer add aetna --name 'Aetna PPO'");
    let base =
        |extra: &str| format!("comm log --patient {jane} --channel phone --direction out {extra}");
    // Unknown patient: not found.
    let e = refused(
        &c,
        "comm log --patient P00000000 --with patient --channel phone --direction out --summary SECRET",
        1,
    );
    assert!(e.contains("no patient"), "{e}");
    for (extra, field) in [
        ("--with contact:Nobody --summary SECRET", "--with"),
        ("--with friend:Bob --summary SECRET", "--with"),
        ("--with provider:nobody --summary SECRET", "--with"),
        ("--with payer:aetna --summary SECRET", "--ref"),
        ("--with payer:nobody --ref 1 --summary SECRET", "--with"),
        (
            "--with patient --summary SECRET --follow-up 2026-11-30",
            "--follow-up",
        ),
        (
            "--with patient --summary SECRET --follow-up 2026-02-30",
            "--follow-up",
        ),
        ("--with patient --summary '   '", "--summary"),
        ("--with patient --summary SECRET --assign maria", "--assign"),
        (
            "--with patient --summary SECRET --follow-up +1d --assign 'Bob Smith'",
            "--assign",
        ),
        (
            "--with patient --summary SECRET --about P00000000",
            "--about",
        ),
        (
            "--with patient --summary SECRET --about A00000000",
            "--about",
        ),
    ] {
        let e = refused(&c, base(extra), 2);
        assert!(e.contains(field), "{extra}: {e}");
    }
    // Values no shell line can carry: a slice, with one flag's value swapped in.
    let log_with = |flag: &str, value: &str| {
        let mut args: Vec<String> = (crate::day_caches::call_args(&jane, None).iter())
            .map(|s| s.to_string())
            .collect();
        let at = args.iter().position(|a| a == flag).unwrap() + 1;
        args[at] = value.to_string();
        args
    };
    let long = "x".repeat(10_000);
    let e = refused(&c, &log_with("--summary", &long), 2);
    assert!(e.contains("--summary is longer than"), "{e}");
    let e = refused(&c, &log_with("--summary", "SECRET\u{1b}[2J"), 2);
    assert!(e.contains("--summary has control characters"), "{e}");
    let e = refused(&c, &log_with("--with", "agency:SECRET\u{7}"), 2);
    assert!(e.contains("--with has control characters"), "{e}");
    refused(&c, "comm show C00000000", 1);
    refused(&c, format!("comm show {jane}"), 2);
    refused(&c, "comm done C00000000", 1);
}

#[test]
fn needs_show_at_check_in_on_the_day_sheet_and_in_patient_show() {
    let (c, jane) = clinic();
    ok(
        &c,
        format!(
            "patient needs {jane} --add transport --add interpreter:ES --note 'wheelchair van'"
        ),
    );
    ok(&c, format!("patient needs {jane} --add food"));
    ok(&c, format!("patient needs {jane} --remove food"));
    let msg = &c.commit_messages()[0];
    assert_eq!(
        msg,
        &format!("testclerk|Update needs of patient {jane}: needs.")
    );
    let listed = json(&c, &format!("patient needs {jane}"));
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(listed[1]["need"], "interpreter:es");
    assert_eq!(listed[1]["noted_by"], "testclerk");
    let appt = book(&c, &jane, "2026-12-01 11:00");
    let day = ok(&c, "--format csv schedule day 2026-12-01");
    assert!(day.lines().next().unwrap().ends_with(",needs"), "{day}");
    assert!(day.contains("\"transport, interpreter:es\""), "{day}");
    let show = ok(&c, format!("schedule show {appt}"));
    assert!(show.contains("transport, interpreter:es"), "{show}");
    let out = run_at(
        &c,
        "2026-12-01T10:55:00-05:00",
        format!("schedule checkin {appt}"),
    );
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("needs: transport, interpreter:es"), "{err}");
    // patient show: the needs and the open follow-ups, not the closed ones.
    let (open, _) = log(
        &c,
        &format!(
            "comm log --patient {jane} --with patient --channel phone --direction out --summary 'Book the van' --follow-up +1d"
        ),
    );
    let (closed, _) = log(
        &c,
        &format!(
            "comm log --patient {jane} --with patient --channel phone --direction out --summary 'Other' --follow-up +1d"
        ),
    );
    ok(&c, format!("comm done {closed}"));
    let shown = ok(&c, format!("patient show {jane}"));
    assert!(
        shown.contains("transport (noted 2026-12-01 by testclerk): wheelchair van"),
        "{shown}"
    );
    assert!(shown.contains(&open) && !shown.contains(&closed), "{shown}");
    // Refusals name the flag, not the value, and write nothing.
    for (args, field) in [
        (format!("patient needs {jane} --add diabetes"), "--add"),
        (
            format!("patient needs {jane} --add interpreter:xx"),
            "--add",
        ),
        (format!("patient needs {jane} --add interpreter"), "--add"),
        (format!("patient needs {jane} --remove food"), "--remove"),
        (format!("patient needs {jane} --note SECRET"), "--note"),
    ] {
        let e = refused(&c, &args, 2);
        assert!(e.contains(field), "{args}: {e}");
    }
    let long = "x".repeat(600);
    let e = refused(
        &c,
        &["patient", "needs", &jane, "--add", "food", "--note", &long],
        2,
    );
    assert!(e.contains("note is longer than"), "{e}");
    refused(&c, "patient needs P00000000 --add food", 1);
}

#[test]
fn check_reads_communications_and_index_rebuild_counts_them() {
    let (c, jane) = clinic();
    let (id, _) = log(
        &c,
        &format!(
            "comm log --patient {jane} --with patient --channel phone --direction out --summary 'Hello' --follow-up +1d"
        ),
    );
    ok(&c, "check");
    let rebuilt = run_at(&c, NOW, "index rebuild");
    assert!(String::from_utf8_lossy(&rebuilt.stderr).contains("Indexed 1 communications"));
    // A communication naming a patient who does not exist, and one filed under the wrong day.
    let file = c.path(&format!("communications/2026/12/01/{id}.toml"));
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace(&jane, "P00000000")).unwrap();
    let out = run_at(&c, NOW, "check");
    assert_eq!(out.status.code(), Some(2));
    let report =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        report.contains(&format!("{id}.toml")) && report.contains("P00000000"),
        "{report}"
    );
    std::fs::write(&file, text.replace("2026-12-01T", "2026-11-30T")).unwrap();
    let out = run_at(&c, NOW, "check");
    assert_eq!(out.status.code(), Some(2));
    let err = run_at(&c, NOW, format!("comm show {id}"));
    assert_eq!(err.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&err.stderr).contains("is not in its place"));
}
