//! Setting an office up from the command line: office settings and holidays, rooms, retiring a
//! provider. Each is validated, one commit, files 0600, and a refusal changes nothing.

use std::os::unix::fs::PermissionsExt;

use crate::harness::*;

#[test]
fn office_rooms_and_providers_are_set_up_without_editing_toml() {
    let c = Clinic::new();
    let commits = c.commits();
    c.ok(&[
        "office",
        "set",
        "--phone",
        "617-555-0100",
        "--address",
        "1 Main St",
        "--city",
        "Boston",
        "--state",
        "MA",
        "--zip",
        "02134",
        "--max-payment",
        "5000",
    ]);
    c.ok(&[
        "office",
        "holiday",
        "add",
        "2026-12-25",
        "--name",
        "Christmas Day",
    ]);
    c.ok(&[
        "room", "add", "exam-1", "--name", "Exam 1", "--kind", "exam",
    ]);
    c.ok(&[
        "room", "add", "exam-2", "--name", "Exam 2", "--kind", "exam",
    ]);
    c.ok(&["room", "retire", "exam-2"]);
    schedule_setup(&c);
    c.ok(&["provider", "retire", "okafor"]);
    // One commit each: five here, schedule_setup's two, the retirement.
    let log = git_lines(&c.root, &["log", "--format=%s"]);
    assert_eq!(c.commits(), commits + 8, "{log:?}");
    for f in [
        "frontdesk.toml",
        "rooms/exam-1.toml",
        "providers/okafor.toml",
    ] {
        let mode = std::fs::metadata(c.path(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let office: serde_json::Value =
        serde_json::from_str(&c.ok(&["--format", "json", "office", "show"])).unwrap();
    assert_eq!(office["phone"], "+16175550100");
    assert_eq!(office["max_payment"], "5000.00");
    assert_eq!(office["address"]["postal_code"], "02134");
    let holidays = c.ok(&[
        "--format", "csv", "--no-bom", "office", "holiday", "list", "--all",
    ]);
    assert!(holidays.contains("2026-12-25,Christmas Day"), "{holidays}");
    let rooms = c.ok(&["room", "list"]);
    assert!(
        rooms.contains("retired") && rooms.contains("in use"),
        "{rooms}"
    );
    // A retired provider is not offered; an unknown one is refused with a suggestion.
    assert!(!String::from_utf8_lossy(&c.run(&["provider", "list"]).stdout).contains("okafor"));
    assert!(c.ok(&["provider", "list", "--all"]).contains("okafor"));
    let err = c.fails(&["provider", "retire", "okafor"], 2);
    assert!(err.contains("already retired"), "{err}");
    c.ok(&["provider", "retire", "okafor", "--undo"]);

    let before = (c.files(), c.commits());
    for (args, want) in [
        (
            vec!["office", "set", "--email", "not-an-address"],
            "--email",
        ),
        (
            vec!["office", "set", "--timezone", "Mars/Olympus"],
            "time zone",
        ),
        (
            vec!["office", "set", "--max-payment", "-5"],
            "--max-payment",
        ),
        (
            vec!["office", "holiday", "add", "2026-12-25", "--name", "Again"],
            "already a holiday",
        ),
        (
            vec!["office", "holiday", "remove", "2026-07-04"],
            "not a holiday",
        ),
        (
            vec!["room", "add", "exam-1", "--name", "Dup", "--kind", "exam"],
            "already exists",
        ),
        (
            vec![
                "room", "add", "Exam 3", "--name", "Bad key", "--kind", "exam",
            ],
            "room key",
        ),
        (
            vec!["room", "update", "exam-9", "--name", "X"],
            "no such room",
        ),
    ] {
        let err = c.fails(&args, 2);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert_eq!(
        (c.files(), c.commits()),
        before,
        "a refusal changed something"
    );
}

/// Appointment types from the command line: added, changed, listed, retired (and not bookable),
/// each one commit; a bad value is refused and changes nothing.
#[test]
fn appointment_types_are_set_up_without_editing_toml() {
    let c = Clinic::new();
    c.ok(&[
        "provider",
        "add",
        "okafor",
        "--name",
        "Adaeze Okafor",
        "--hours",
        "mon-fri 08:00-17:00",
    ]);
    let commits = c.commits();
    c.ok(&[
        "type",
        "add",
        "follow-up",
        "--name",
        "Follow-up visit",
        "--minutes",
        "20",
        "--buffer-after",
        "5",
        "--recall-after",
        "12 months",
        "--instructions",
        "Bring your medicines.",
    ]);
    c.ok(&[
        "type",
        "add",
        "procedure",
        "--name",
        "Procedure",
        "--minutes",
        "90",
        "--needs",
        "procedure:60",
        "--lead-hours",
        "48",
    ]);
    c.ok(&["type", "update", "follow-up", "--minutes", "25"]);
    c.ok(&["type", "retire", "procedure"]);
    assert_eq!(c.commits(), commits + 4);
    let types: serde_json::Value =
        serde_json::from_str(&c.ok(&["--format", "json", "type", "list"])).unwrap();
    assert_eq!(types[0]["minutes"], 25);
    assert_eq!(types[0]["recall_after"], "12 months");
    assert_eq!(types[1]["retired"], true);
    let p = c.add_jane();
    let book = |kind: &str| {
        c.cmd()
            .env("FRONTDESK_NOW", SCHED_NOW)
            .args([
                "schedule",
                "book",
                "--patient",
                &p,
                "--provider",
                "okafor",
                "--type",
                kind,
                "--at",
                "2026-12-08 10:00",
            ])
            .output()
            .unwrap()
    };
    let refused = book("procedure");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("retired"));
    assert!(book("follow-up").status.success());
    let before = (c.files(), c.commits());
    for (args, want) in [
        (
            vec!["type", "add", "x", "--name", "X", "--minutes", "2"],
            "minutes",
        ),
        (vec!["type", "add", "y", "--name", "Y"], "--minutes"),
        (
            vec![
                "type",
                "add",
                "follow-up",
                "--name",
                "Again",
                "--minutes",
                "20",
            ],
            "already exists",
        ),
        (
            vec!["type", "update", "folow-up", "--minutes", "30"],
            "did you mean `follow-up`?",
        ),
        (
            vec!["type", "update", "follow-up", "--recall-after", "soon"],
            "recall",
        ),
    ] {
        let err = c.fails(&args, 2);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert_eq!((c.files(), c.commits()), before);
}

/// `init --sample` starts from the sample clinic's setup (no patients): a visit can be found
/// and booked at once, and `check` finds nothing to fix.
#[test]
fn init_sample_gives_a_tree_that_books_at_once() {
    let c = Clinic::with_args(&["--sample"]);
    assert_eq!(c.commits(), 2);
    assert!(c.files().iter().all(|f| !f.starts_with("patients/")));
    let p = c.add_jane();
    let found = c
        .cmd()
        .env("FRONTDESK_NOW", SCHED_NOW)
        .args([
            "-q",
            "schedule",
            "find",
            "--patient",
            &p,
            "--type",
            "follow-up",
            "--provider",
            "okafor",
        ])
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
    assert_eq!(c.run(&["check"]).status.code(), Some(0));
}

/// A command that creates a record keyed by the user honours --format: the key as JSON or a
/// one-row CSV for scripts, a line on stderr for people.
#[test]
fn created_records_are_reported_in_every_format() {
    let c = Clinic::new();
    let json: serde_json::Value = serde_json::from_str(
        &c.ok(&["--format", "json", "payer", "add", "acme", "--name", "Acme"]),
    )
    .unwrap();
    assert_eq!(json["payer"], "acme");
    let csv = c.ok(&[
        "--format", "csv", "--no-bom", "room", "add", "exam-1", "--name", "E", "--kind", "exam",
    ]);
    assert_eq!(csv, "kind,key\nroom,exam-1\n");
    let out = c.run(&["provider", "add", "okafor", "--name", "A Okafor"]);
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("provider okafor added"));
}
