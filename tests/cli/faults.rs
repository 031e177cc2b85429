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
    schedule_setup(&c);
    let booked = c.ok(&book_args(&id, 1)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let appt = booked.lines().next().unwrap().to_string();
    let book = book_args(&id, 2);
    let (csv, map) = import_files(&c);
    let writers: Vec<Vec<&str>> = vec![
        book.iter().map(String::as_str).collect(),
        vec!["schedule", "cancel", &appt, "--reason", "patient called"],
        vec!["patient", "import", &csv, "--map", &map],
        vec![
            "pay",
            "collect",
            "--patient",
            &id,
            "--amount",
            "25",
            "--method",
            "cash",
        ],
        ADD_ANN.to_vec(),
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

/// A 30-row import CSV and its map, beside the clinic.
fn import_files(c: &Clinic) -> (String, String) {
    let map = c.dir.path().join("map.toml");
    std::fs::write(&map, "[identity]\nsystem = \"chart\"\ncolumn = \"Chart\"\n\n[fields]\ngiven = \"First\"\nfamily = \"Last\"\nbirth_date = \"DOB\"\nsex = \"Sex\"\n").unwrap();
    let csv = c.dir.path().join("batch.csv");
    let mut text = String::from("Chart,First,Last,DOB,Sex\n");
    for i in 0..30 {
        let family: String = [b'a' + (i % 26) as u8, b'a' + (i / 26) as u8]
            .iter()
            .map(|b| *b as char)
            .collect();
        text.push_str(&format!("k{i},Bat,Fam{family},1970-01-02,F\n"));
    }
    std::fs::write(&csv, text).unwrap();
    (csv.display().to_string(), map.display().to_string())
}

/// A batch that fails part-way (the 7th file's write) leaves none of its files behind.
#[test]
fn an_import_failing_midway_writes_nothing() {
    let c = Clinic::new();
    let (csv, map) = import_files(&c);
    for step in ["write#7", "fsync#7", "rename#7", "dirsync#2"] {
        let (before, commits) = (snapshot(&c), c.commits());
        let out = with_fault(&c, step, &["patient", "import", &csv, "--map", &map]);
        assert_clean_failure(&out, step);
        assert_eq!(snapshot(&c), before, "{step}: a half import was left");
        assert_eq!(c.commits(), commits);
        assert_eq!(check(&c, false).0, 0, "{step}");
    }
    c.ok(&["patient", "import", &csv, "--map", &map]);
    assert_eq!(
        c.files()
            .iter()
            .filter(|f| f.starts_with("patients/"))
            .count(),
        30
    );
}

/// Batches of 4: a failure in the 6th batch (or in the final flush of the directories) also
/// removes the files of the five batches written before it.
#[test]
fn an_import_failing_in_a_later_batch_removes_the_earlier_batches() {
    let c = Clinic::new();
    let (csv, map) = import_files(&c);
    for step in ["write#23", "rename#23", "dirsync#3"] {
        let (before, commits) = (snapshot(&c), c.commits());
        let out = spawnable(&c)
            .env("FRONTDESK_FAULT", step)
            .env("FRONTDESK_IMPORT_BATCH", "4")
            .args(["patient", "import", &csv, "--map", &map])
            .output()
            .unwrap();
        assert_clean_failure(&out, step);
        assert_eq!(snapshot(&c), before, "{step}: earlier batches were left");
        assert_eq!(c.commits(), commits);
        assert_eq!(check(&c, false).0, 0, "{step}");
    }
}

/// A failing git is different by design: the record is safely on disk, so the command fails
/// with exit 4 naming the record (a retry would add it twice), and the next command that
/// changes records commits it as recovered, authored by `recovery`.
#[test]
fn a_failed_commit_keeps_the_record_and_the_next_command_records_it() {
    let c = Clinic::new();
    let commits = c.commits();
    let out = with_fault(&c, "git", &ADD_ANN);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not recorded in the history"), "{err}");
    assert!(err.contains("next frontdesk command"), "{err}");
    let added: Vec<String> = c
        .files()
        .into_iter()
        .filter(|f| f.starts_with("patients/"))
        .collect();
    assert_eq!(added.len(), 1, "{added:?}");
    let id = added[0]
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".toml");
    assert!(err.contains(id), "the error names the saved record: {err}");
    assert_eq!(c.commits(), commits);
    let (code, report) = check(&c, false);
    assert_eq!(code, 2);
    assert!(report.contains("not committed"), "{report}");

    let note = c.run(&["payer", "add", "acme", "--name", "Acme"]);
    assert!(note.status.success());
    assert!(String::from_utf8_lossy(&note.stderr).contains(id));
    assert_eq!(c.commits(), commits + 2);
    let log = git(&c.root, &["log", "-2", "--format=%an|%s"]);
    assert!(
        log.contains(&format!(
            "recovery|Recover changes an interrupted command left uncommitted: {id}"
        )),
        "{log}"
    );
    assert_eq!(check(&c, false).0, 0);
}
