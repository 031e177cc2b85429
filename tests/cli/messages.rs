//! The desk's messages: suggestions for every mistyped key, plurals, office-local times, and
//! hints that fit the mistake (issue 16's list, each reproduced).

use crate::harness::*;

fn at(c: &Clinic, now: &str, args: &[&str]) -> std::process::Output {
    c.cmd()
        .env("FRONTDESK_NOW", now)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn mistyped_keys_get_a_suggestion_and_are_never_echoed() {
    let c = Clinic::new();
    schedule_setup(&c);
    c.ok(&["payer", "add", "aetna-ppo", "--name", "Aetna PPO"]);
    let p = c.add_jane();
    let book = |provider: &str, kind: &str| {
        at(
            &c,
            SCHED_NOW,
            &[
                "schedule",
                "book",
                "--patient",
                &p,
                "--provider",
                provider,
                "--type",
                kind,
                "--at",
                "2026-12-01 10:00",
            ],
        )
    };
    let err = String::from_utf8(book("okafr", "quick").stderr).unwrap();
    assert!(
        err.contains("no such provider") && err.contains("did you mean `okafor`?"),
        "{err}"
    );
    assert!(!err.contains("okafr"), "{err}");
    let err = String::from_utf8(book("okafor", "quik").stderr).unwrap();
    assert!(err.contains("did you mean `quick`?"), "{err}");
    let err = c.fails(
        &[
            "patient",
            "insurance",
            "add",
            &p,
            "--payer",
            "aetna",
            "--member-id",
            "W1",
        ],
        2,
    );
    assert!(err.contains("did you mean `aetna-ppo`?"), "{err}");
    let err = c.fails(
        &[
            "service",
            "add",
            "99213",
            "--description",
            "Visit",
            "--fee",
            "-10",
        ],
        2,
    );
    assert!(err.contains("a fee is what the service costs"), "{err}");
    assert!(!err.contains("refund"), "{err}");
}

#[test]
fn the_visit_flow_says_what_happened_in_office_time_and_english() {
    let c = Clinic::new();
    schedule_setup(&c);
    let p = c.add_jane();
    let a = c.book(&p, 0);
    let visit = "2027-01-04T08:02:00-05:00";
    assert!(at(&c, visit, &["schedule", "checkin", &a]).status.success());
    let again = at(&c, visit, &["schedule", "checkin", &a]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("is already arrived"), "{err}");
    let out = c
        .cmd()
        .args([
            "schedule",
            "export",
            "--from",
            "2027-01-04",
            "--to",
            "2027-01-05",
            "-o",
        ])
        .arg(c.dir.path().join("x.ics"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 appointment written"),
        "{out:?}"
    );
    // history reads in office time (New York), not UTC.
    let history = c.ok(&["history", &p]);
    assert!(
        history.contains(" EST ") || history.contains(" EDT "),
        "{history}"
    );
    let show = c.ok(&["patient", "show", &p]);
    assert!(
        show.contains("Details confirmed") && !show.contains("never"),
        "{show}"
    );
}

/// Rooming takes the booked room, shows it once, and a checkout without rooming is flagged;
/// booking a waitlisted patient closes the entry; `schedule find` works without a patient and
/// lists times in order; an empty board and a day off say so on stderr.
#[test]
fn the_visit_flow_without_friction() {
    let c = Clinic::new();
    schedule_setup(&c);
    c.ok(&[
        "provider",
        "add",
        "lee",
        "--name",
        "Sam Lee",
        "--hours",
        "mon-fri 08:00-17:00",
    ]);
    std::fs::create_dir_all(c.path("rooms")).unwrap();
    std::fs::write(
        c.path("rooms/exam-1.toml"),
        "schema = 1\nkey = \"exam-1\"\nname = \"Exam 1\"\nkind = \"exam\"\nlocation = \"main\"\n",
    )
    .unwrap();
    let p = c.add_jane();
    let w = c.ok(&[
        "schedule",
        "waitlist",
        "add",
        "--patient",
        &p,
        "--type",
        "quick",
    ]);
    let w = w.trim().to_string();
    let mut book = book_args(&p, 0);
    book.extend(["--room".into(), "exam-1".into()]);
    let out = at(
        &c,
        SCHED_NOW,
        &book.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("waitlist entry {w} closed")));
    let a = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let waiting = c.run(&["schedule", "waitlist", "list"]);
    assert!(
        !String::from_utf8_lossy(&waiting.stdout).contains(&w),
        "still waiting"
    );
    let visit = "2027-01-04T08:02:00-05:00";
    assert!(at(&c, visit, &["schedule", "checkin", &a]).status.success());
    let roomed = at(&c, visit, &["schedule", "room", &a]);
    assert!(
        roomed.status.success(),
        "{}",
        String::from_utf8_lossy(&roomed.stderr)
    );
    assert!(String::from_utf8_lossy(&roomed.stderr).contains("roomed in exam-1"));
    let show = c.ok(&["schedule", "show", &a]);
    let rooms = show
        .lines()
        .find(|l| l.starts_with("rooms"))
        .unwrap()
        .to_string();
    assert_eq!(rooms.matches("exam-1").count(), 1, "{show}");

    // A second visit checked out straight from arrival is flagged.
    let b = c.book(&p, 3);
    assert!(
        at(
            &c,
            "2027-01-04T09:00:00-05:00",
            &["schedule", "checkin", &b]
        )
        .status
        .success()
    );
    let out = at(
        &c,
        "2027-01-04T09:10:00-05:00",
        &["schedule", "checkout", &b],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("without being roomed"));

    // Free times for anyone, in time order.
    let found = at(
        &c,
        SCHED_NOW,
        &[
            "--format",
            "csv",
            "--no-bom",
            "schedule",
            "find",
            "--type",
            "quick",
            "--after",
            "2026-12-01",
            "--limit",
            "8",
        ],
    );
    assert!(
        found.status.success(),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
    let rows: Vec<String> = String::from_utf8(found.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{} {}", f[0], f[1])
        })
        .collect();
    let mut sorted = rows.clone();
    sorted.sort();
    assert_eq!(rows, sorted);
    assert_eq!(rows.len(), 8);

    let board = at(&c, visit, &["schedule", "waiting"]);
    assert!(
        String::from_utf8_lossy(&board.stderr).contains("nobody is waiting")
            || !board.stdout.is_empty()
    );
    let sunday = at(&c, SCHED_NOW, &["schedule", "day", "2026-11-29"]);
    assert!(
        String::from_utf8_lossy(&sunday.stderr).contains("no provider works"),
        "{sunday:?}"
    );
}

/// --quiet lists only IDs; a record that breaks a field rule is flagged where it is shown; an
/// abandoned `patient edit` copy is reported by `check` after a day and removed by `--fix`.
#[test]
fn robust_listings_and_leftovers() {
    let c = Clinic::new();
    schedule_setup(&c);
    let p = c.add_jane();
    assert_eq!(c.ok(&["patient", "list", "--quiet"]).trim(), p);
    assert_eq!(c.ok(&["patient", "find", "doe", "-q"]).trim(), p);
    c.book(&p, 0);

    // A hand edit that parses but breaks a rule (a birth date in the future).
    let file = c.patient_file(&p);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("1980-04-02", "2099-04-02")).unwrap();
    let show = c.run(&["patient", "show", &p]);
    assert!(show.status.success());
    let err = String::from_utf8_lossy(&show.stderr);
    assert!(
        err.contains("warning") && err.contains(&p) && err.contains("patient edit"),
        "{err}"
    );
    // A file that does not parse: the day sheet names it instead of hiding it.
    std::fs::write(&file, "not toml at all [").unwrap();
    let day = at(&c, SCHED_NOW, &["schedule", "day", "2027-01-04"]);
    assert!(
        String::from_utf8_lossy(&day.stderr).contains("warning"),
        "{day:?}"
    );
    std::fs::write(&file, text).unwrap();

    let edit = c.path(".frontdesk/edit");
    std::fs::create_dir_all(&edit).unwrap();
    std::fs::set_permissions(&edit, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let copy = edit.join(format!("{p}.toml"));
    std::fs::write(&copy, "given = \"half typed\"\n").unwrap();
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let fresh = c.run(&["check"]);
    assert_eq!(
        fresh.status.code(),
        Some(0),
        "a fresh copy may be a live edit: {}",
        String::from_utf8_lossy(&fresh.stdout)
    );
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&copy)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let report = c.run(&["check"]);
    assert_eq!(report.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&report.stdout).contains("abandoned"),
        "{report:?}"
    );
    c.ok(&["check", "--fix"]);
    assert!(!copy.exists());
}

/// Visit-flow commands take a patient ID or a name for today's one appointment, and
/// `schedule list --patient` takes a search: the clerk needs no appointment ID at the counter.
#[test]
fn the_desk_checks_in_by_patient_and_lists_by_name() {
    let c = Clinic::new();
    schedule_setup(&c);
    let p = c.add_jane();
    let ann = c.ok(&[
        "patient",
        "add",
        "--first",
        "Ann",
        "--last",
        "Lee",
        "--dob",
        "1990-01-01",
        "--sex",
        "F",
    ]);
    let ann = ann.trim().to_string();
    let a = c.book(&p, 0);
    c.book(&ann, 1);
    c.book(&ann, 5);
    let now = "2027-01-04T08:01:00-05:00";
    let out = at(&c, now, &["schedule", "checkin", &p]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value =
        serde_json::from_str(&c.ok(&["--format", "json", "schedule", "show", &a])).unwrap();
    assert_eq!(shown["status"], "arrived");
    let out = at(&c, now, &["schedule", "checkin", "doe jane"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already arrived"),
        "{out:?}"
    );
    // Two visits today for Ann: named, not guessed.
    let out = at(&c, now, &["schedule", "checkin", &ann]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2 appointments today match"),
        "{out:?}"
    );
    let out = at(&c, now, &["schedule", "checkin", "nobody here"]);
    assert_eq!(out.status.code(), Some(1));

    let listed = c.ok(&["-q", "schedule", "list", "--patient", "lee ann"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    let err = c.fails(&["schedule", "list", "--patient", "zzzz"], 1);
    assert!(err.contains("no patient matches"), "{err}");
}

/// A weekly series with one taken week is refused whole, unless --skip-conflicts books the
/// rest and names the week it skipped; `schedule find --repeat weekly` offers only times free
/// every week of the series.
#[test]
fn a_weekly_series_skips_a_conflict_and_find_offers_a_standing_slot() {
    let c = Clinic::new();
    schedule_setup(&c);
    let p = c.add_jane();
    let ann = c.ok(&[
        "patient",
        "add",
        "--first",
        "Ann",
        "--last",
        "Lee",
        "--dob",
        "1990-01-01",
        "--sex",
        "F",
    ]);
    // Ann holds Monday 2027-01-11 10:00, the second week of Jane's series.
    let taken = at(
        &c,
        SCHED_NOW,
        &[
            "schedule",
            "book",
            "--patient",
            ann.trim(),
            "--provider",
            "okafor",
            "--type",
            "quick",
            "--at",
            "2027-01-11 10:00",
        ],
    );
    assert!(taken.status.success());
    let series = [
        "schedule",
        "book",
        "--patient",
        &p,
        "--provider",
        "okafor",
        "--type",
        "quick",
        "--at",
        "2027-01-04 10:00",
        "--repeat",
        "weekly",
        "--count",
        "4",
    ];
    let refused = at(&c, SCHED_NOW, &series);
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("1 of 4 occurrences"),
        "{refused:?}"
    );
    let mut skip = series.to_vec();
    skip.push("--skip-conflicts");
    let out = at(&c, SCHED_NOW, &skip);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skipped Mon 2027-01-11 10:00"), "{err}");
    let booked = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        booked
            .lines()
            .filter(|l| l.starts_with('A') && l.len() == 9)
            .count(),
        3,
        "{booked}"
    );

    // Ann also holds Monday 2027-01-18 09:00: 09:00 on the 4th is free, but not every week.
    let held = at(
        &c,
        SCHED_NOW,
        &[
            "schedule",
            "book",
            "--patient",
            ann.trim(),
            "--provider",
            "okafor",
            "--type",
            "quick",
            "--at",
            "2027-01-18 09:00",
        ],
    );
    assert!(held.status.success());
    let find = |repeat: bool| {
        let mut args = vec![
            "--format",
            "csv",
            "--no-bom",
            "schedule",
            "find",
            "--type",
            "quick",
            "--after",
            "2027-01-04",
            "--before",
            "2027-01-04",
            "--limit",
            "50",
        ];
        if repeat {
            args.extend(["--repeat", "weekly", "--count", "4"]);
        }
        String::from_utf8(at(&c, SCHED_NOW, &args).stdout).unwrap()
    };
    assert!(find(false).contains("2027-01-04,09:00"), "{}", find(false));
    let weekly = find(true);
    assert!(!weekly.contains("2027-01-04,09:00"), "{weekly}");
    assert!(weekly.contains("2027-01-04,08:00"), "{weekly}");
}
