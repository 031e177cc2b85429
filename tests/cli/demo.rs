//! `frontdesk demo generate`: a deterministic synthetic clinic.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{Clinic, bare};

#[test]
fn generates_valid_private_records_in_one_commit() {
    let c = Clinic::demo(120);
    let files = c.files();
    let patients: Vec<&String> = files
        .iter()
        .filter(|f| f.starts_with("patients/"))
        .collect();
    assert_eq!(patients.len(), 120);
    assert!(files.contains(&"payers/medicare-b.toml".to_string()));
    for f in &patients {
        let mode = std::fs::metadata(c.path(f)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    // Every generated record loads through the real code path.
    let out = c.ok(&["--format", "csv", "patient", "list", "--all"]);
    assert_eq!(out.lines().count(), 121, "header + 120 rows");
    assert_eq!(c.commits(), 2, "init + one commit for the whole batch");
    let msg = &c.commit_messages()[0];
    assert!(
        msg.ends_with(
            "Generate demo clinic: 120 patients, 0 appointments, 0 ledger entries, 0 communications."
        ),
        "{msg}"
    );
    let status = crate::harness::git_lines(&c.root, &["status", "--porcelain"]);
    assert!(status.is_empty(), "git status is clean: {status:?}");
}

#[test]
fn same_seed_same_clinic() {
    let a = Clinic::demo(40);
    let b = Clinic::demo(40);
    assert_eq!(a.files(), b.files());
    for f in a.files().iter().filter(|f| f.starts_with("patients/")) {
        assert_eq!(
            std::fs::read(a.path(f)).unwrap(),
            std::fs::read(b.path(f)).unwrap()
        );
    }
}

#[test]
fn refuses_an_existing_tree_and_zero_patients() {
    let c = Clinic::new();
    let out = bare()
        .args(["demo", "generate"])
        .arg(&c.root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already a records tree"));
    let dir = tempfile::tempdir().unwrap();
    let out = bare()
        .args(["demo", "generate"])
        .arg(dir.path().join("x"))
        .args(["--patients", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("x").exists(), "nothing written");
}

#[test]
fn appointments_are_valid_and_a_day_reads_back() {
    let c = Clinic::made_by("demo generate", |root| {
        bare()
            .args(["demo", "generate"])
            .arg(root)
            .args(["--patients", "60", "--appointments", "400"])
            .args(["--providers", "4", "--as-of", "2026-11-27", "--no-git"])
            .output()
            .unwrap()
    });
    let appts: Vec<String> = c
        .files()
        .into_iter()
        .filter(|f| f.starts_with("appointments/"))
        .collect();
    assert!((380..=400).contains(&appts.len()), "{}", appts.len());
    assert!(c.files().contains(&"providers/okafor.toml".to_string()));
    // Every record passes the same checks the tool applies to hand-edited trees.
    let check = c.run(&["check"]);
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let day = c.ok(&["--format", "csv", "schedule", "day", "2026-12-08", "--all"]);
    assert!(day.lines().count() > 60, "four providers' full day:\n{day}");
}

#[test]
fn the_desk_log_comes_with_the_visits_and_only_recent_follow_ups_are_open() {
    let c = Clinic::made_by("demo generate", |root| {
        bare()
            .args(["demo", "generate"])
            .arg(root)
            .args(["--patients", "80", "--appointments", "1600"])
            .args(["--providers", "4", "--as-of", "2026-11-27", "--no-git"])
            .output()
            .unwrap()
    })
    .at("2026-11-27T12:00:00-05:00");
    let contacts = c
        .files()
        .into_iter()
        .filter(|f| f.starts_with("communications/"))
        .count();
    // 20 working days, the first 10 past: a reminder for most of their visits, a few calls after.
    assert!(
        (600..=1100).contains(&contacts),
        "{contacts} communications"
    );
    let check = c.run(&["check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    let due: serde_json::Value =
        serde_json::from_str(&c.ok(&["--format", "json", "comm", "due"])).unwrap();
    let due = due.as_array().unwrap();
    assert!(!due.is_empty(), "some follow-ups are waiting");
    for c in due {
        let on = c["follow_up"].as_str().unwrap();
        // Only the last two weeks' follow-ups linger; every one is on or before today.
        assert!(("2026-11-13"..="2026-11-27").contains(&on), "{c}");
        assert!(c.get("done").is_none(), "{c}");
    }
    let open: serde_json::Value =
        serde_json::from_str(&c.ok(&["--format", "json", "comm", "list", "--open"])).unwrap();
    assert!(open.as_array().unwrap().len() >= due.len());
}
