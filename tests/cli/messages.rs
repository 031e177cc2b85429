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
    let booked = at(
        &c,
        SCHED_NOW,
        &book_args(&p, 0)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let a = String::from_utf8(booked.stdout)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
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
