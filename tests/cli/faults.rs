//! I/O failure at each step of a write (through the store's FRONTDESK_FAULT seam): a clean
//! error, a non-zero exit, and the records exactly as they were.

use crate::check::check;
use crate::harness::*;

const STEPS: [&str; 4] = ["write", "fsync", "rename", "dirsync"];

fn with_fault(c: &Clinic, step: &str, args: &[&str]) -> std::process::Output {
    spawnable(c)
        .env("FRONTDESK_FAULT", step)
        .args(args)
        .output()
        .unwrap()
}

fn assert_clean_failure(out: &std::process::Output, step: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{step}: {err}");
    assert!(err.starts_with("frontdesk: error: "), "{step}: {err}");
    assert!(!err.contains("panicked"), "{step}: {err}");
}

#[test]
fn a_failed_write_at_any_step_leaves_every_file_as_it_was() {
    let c = Clinic::new();
    let id = c.add_jane();
    c.ok(&["payer", "add", "acme-health", "--name", "Acme Health"]);
    let writers: Vec<Vec<&str>> = vec![
        vec![
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
        ],
        vec![
            "patient", "update", &id, "--notes", "changed", "--city", "Salem",
        ],
        vec!["patient", "deactivate", &id],
        vec!["payer", "add", "other-payer", "--name", "Other"],
        vec![
            "patient",
            "insurance",
            "add",
            &id,
            "--payer",
            "acme-health",
            "--member-id",
            "M1",
            "--effective",
            "2024-01-01",
        ],
    ];
    for step in STEPS {
        for args in &writers {
            let (before, commits) = (snapshot(&c), c.commits());
            let out = with_fault(&c, step, args);
            assert_clean_failure(&out, step);
            assert_eq!(snapshot(&c), before, "{step} {args:?} changed files");
            assert_eq!(c.commits(), commits, "{step} {args:?} committed");
            let (code, report) = check(&c, false);
            assert_eq!(code, 0, "{step} {args:?} left: {report}");
        }
    }
    // Without the fault every one of them works: the failures above were the fault's.
    for args in &writers {
        c.ok(args);
    }
}

/// A failing git is different by design: the record is safely on disk, so the command
/// succeeds with a warning (a retry would add the record twice), `check` lists the change as
/// uncommitted, and `check --fix` commits it.
#[test]
fn a_failed_commit_keeps_the_record_and_check_fix_records_it() {
    let c = Clinic::new();
    let commits = c.commits();
    let out = with_fault(
        &c,
        "git",
        &[
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
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(String::from_utf8_lossy(&out.stderr).contains("saved but not committed"));
    assert!(c.patient_file(&id).is_file());
    assert_eq!(c.commits(), commits);
    let (code, report) = check(&c, false);
    assert_eq!(code, 2);
    assert!(report.contains("not committed"), "{report}");
    assert_eq!(check(&c, true).0, 0);
    assert_eq!(c.commits(), commits + 1);
}
