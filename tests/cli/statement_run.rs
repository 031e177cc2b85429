//! The monthly statement run (`pay statement --all-due`) kept as one letter: its record, its
//! sorted statement table and the statements as mailed, in one commit; `letter sent` and
//! `letter show` find one patient's statement in it; a changed copy is refused; a run killed
//! at any point leaves the records consistent for the re-run.

use std::path::{Path, PathBuf};

use crate::harness::*;
use crate::letter::{NOW, at, fails, ok, sample};

/// A statement run into `DIR/folder` at the letter tests' clock; the patients written.
fn run(c: &Clinic, folder: &str) -> (PathBuf, Vec<String>) {
    let mail = c.dir.path().join(folder);
    let listing = ok(
        c,
        &[
            "pay",
            "statement",
            "--all-due",
            "-o",
            mail.to_str().unwrap(),
        ],
    );
    (mail, patients_in(&listing))
}

/// The patients of a run's listing (one statement's path a line, named by patient ID).
fn patients_in(listing: &str) -> Vec<String> {
    listing
        .lines()
        .map(|l| {
            Path::new(l)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// A statement run into `mail` with `FRONTDESK_FAULT=fault`.
fn run_with_fault(c: &Clinic, mail: &Path, fault: &str) -> std::process::Output {
    run_with_env(c, mail, &[("FRONTDESK_FAULT", fault)])
}

/// A statement run into `mail` at the letter tests' clock, with these variables set.
fn run_with_env(c: &Clinic, mail: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = c.cmd();
    cmd.env("FRONTDESK_NOW", NOW);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args([
        "pay",
        "statement",
        "--all-due",
        "-o",
        mail.to_str().unwrap(),
    ])
    .output()
    .unwrap()
}

/// The files of the run records in the correspondence folder (`correspondence/…/L….toml`
/// holding a `[statements]` table).
fn run_records(c: &Clinic) -> Vec<String> {
    c.files()
        .into_iter()
        .filter(|f| f.starts_with("correspondence/") && f.ends_with(".toml"))
        .filter(|f| {
            std::fs::read_to_string(c.path(f))
                .unwrap()
                .contains("\n[statements]\n")
        })
        .collect()
}

/// The run's ID from its record's path.
fn run_id(record: &str) -> String {
    Path::new(record)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_run_is_one_letter_and_each_statement_reprints_as_mailed() {
    let c = sample();
    let before = c.commits();
    let (mail, patients) = run(&c, "mail");
    assert!(patients.len() >= 3, "{patients:?}");
    // One commit of three files: the record, the statement table and the statements.
    assert_eq!(c.commits(), before + 1);
    let records = run_records(&c);
    assert_eq!(records.len(), 1, "{records:?}");
    let id = run_id(&records[0]);
    let day = "correspondence/2026/12/03";
    let changed = git_lines(&c.root, &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(
        changed,
        vec![
            format!("{day}/{id}.csv"),
            format!("{day}/{id}.html"),
            format!("{day}/{id}.toml"),
        ]
    );
    // The record names no patient (no ID, and so no name): the table does, by ID.
    let record = std::fs::read_to_string(c.path(&records[0])).unwrap();
    let fields: toml::Table = toml::from_str(&record).unwrap();
    for p in &patients {
        assert!(!record.contains(p.as_str()), "{record}");
    }
    let statements = fields["statements"].as_table().unwrap();
    assert_eq!(
        statements["count"].as_integer(),
        Some(patients.len() as i64)
    );
    assert_eq!(statements["output"].as_str(), Some("mail"));
    assert_eq!(fields["template"].as_str(), Some("statement"));
    assert_eq!(fields["batch"].as_str(), Some("statements 2026-12-03"));
    let table = std::fs::read_to_string(c.path(&format!("{day}/{id}.csv"))).unwrap();
    let rows: Vec<&str> = table.lines().skip(1).collect();
    let in_table: Vec<&str> = rows.iter().map(|r| &r[..9]).collect();
    assert_eq!(in_table, patients, "the table is in patient-ID order");
    let total: rust_decimal::Decimal = rows
        .iter()
        .map(|r| {
            r.split(',')
                .nth(1)
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        statements["total_due"].as_str(),
        Some(total.to_string().as_str())
    );

    // `letter sent` lists the run as one row; with --patient, the patient's statement in it.
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&c, &["--format", "json", "letter", "sent"])).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["letter"], id.as_str());
    assert_eq!(listed[0]["patient"], "");
    assert_eq!(listed[0]["to"], format!("{} patients", patients.len()));
    for p in &patients {
        let mine: serde_json::Value = serde_json::from_str(&ok(
            &c,
            &["--format", "json", "letter", "sent", "--patient", p],
        ))
        .unwrap();
        let row = mine
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["template"] == "statement")
            .unwrap_or_else(|| panic!("no statement for {p}: {mine}"));
        let address = format!("{id}/{p}");
        assert_eq!(row["letter"], address.as_str());
        assert_eq!(row["sent"], "2026-12-03");
        assert_eq!(row["channel"], "mail");
        // Byte for byte what was mailed, by either way of naming it.
        let mailed = std::fs::read(mail.join(format!("{p}.html"))).unwrap();
        assert_eq!(at(&c, &["letter", "show", &address]).stdout, mailed, "{p}");
        let by_flag = at(&c, &["letter", "show", &id, "--patient", p]);
        assert_eq!(by_flag.stdout, mailed, "{p}");
    }
    // The run itself: its statements, each with its address and amount.
    let list = ok(&c, &["--format", "csv", "letter", "show", &id]);
    assert_eq!(list.lines().count(), patients.len() + 1, "{list}");
    assert!(list.contains(&format!("{id}/{}", patients[0])), "{list}");
    let one: serde_json::Value = serde_json::from_str(&ok(
        &c,
        &[
            "--format",
            "json",
            "letter",
            "show",
            &format!("{id}/{}", patients[0]),
        ],
    ))
    .unwrap();
    assert_eq!(one["due"], rows[0].split(',').nth(1).unwrap());
    assert_eq!(one["run"], id.as_str());

    // A patient the run sent nothing: not found (exit 1), and the message says which pair.
    let nobody = "PYN05M78T";
    assert!(!patients.iter().any(|p| p == nobody));
    let err = fails(&c, &["letter", "show", &format!("{id}/{nobody}")], 1);
    assert!(
        err.contains(&format!(
            "statement run {id} ({} statements) holds no statement for patient {nobody}",
            patients.len()
        )),
        "{err}"
    );
    assert!(err.contains("letter sent --patient"), "{err}");
    let mine = at(&c, &["letter", "sent", "--patient", nobody]);
    assert!(!String::from_utf8_lossy(&mine.stdout).contains(&id));
    // Two different patients in one address, or a patient with an ordinary letter's ID.
    let err = fails(
        &c,
        &[
            "letter",
            "show",
            &format!("{id}/{}", patients[0]),
            "--patient",
            &patients[1],
        ],
        2,
    );
    assert!(err.contains("two different patients"), "{err}");
    let err = fails(&c, &["letter", "show", &format!("{id}/A8CTRDRJ2")], 2);
    assert!(err.contains("a patient ID is needed"), "{err}");
}

#[test]
fn a_changed_kept_copy_is_refused_statement_by_statement() {
    let c = sample();
    let (mail, patients) = run(&c, "mail");
    let id = run_id(&run_records(&c)[0]);
    let day = "correspondence/2026/12/03";
    // Change one byte inside the second patient's statement.
    let kept = c.path(&format!("{day}/{id}.html"));
    let mut bytes = std::fs::read(&kept).unwrap();
    let first = std::fs::read(mail.join(format!("{}.html", patients[0]))).unwrap();
    let at_byte = first.len() + 200;
    bytes[at_byte] = if bytes[at_byte] == b'x' { b'y' } else { b'x' };
    std::fs::write(&kept, &bytes).unwrap();
    let err = fails(&c, &["letter", "show", &format!("{id}/{}", patients[1])], 2);
    assert!(err.contains("changed after they were sent"), "{err}");
    // The others are still what was mailed.
    assert_eq!(
        at(&c, &["letter", "show", &format!("{id}/{}", patients[0])]).stdout,
        first
    );
    git(&c.root, &["checkout", "--", "."]);
    // A table whose size moved is refused before it is searched.
    let table = c.path(&format!("{day}/{id}.csv"));
    let mut text = std::fs::read_to_string(&table).unwrap();
    text.push_str("PZZZZZZZZ,1.00,0000000000000000000000000000000000000000,0,1\n");
    std::fs::write(&table, text).unwrap();
    let err = fails(&c, &["letter", "sent", "--patient", &patients[0]], 2);
    assert!(err.contains(&format!("{id}.csv")), "{err}");
    assert!(err.contains("changed after they were sent"), "{err}");
    let err = fails(&c, &["letter", "show", &id], 2);
    assert!(err.contains("changed after they were sent"), "{err}");
}

/// A run on a clinic big enough that the statement table is searched, not read in one go.
#[test]
fn each_patient_is_found_in_a_table_of_many_statements() {
    let c = crate::parallel::generated().at("2026-11-27T12:00:00-05:00");
    let mail = c.dir.path().join("mail");
    let listing = c.ok(&[
        "pay",
        "statement",
        "--all-due",
        "--as",
        "text",
        "-o",
        mail.to_str().unwrap(),
    ]);
    let patients = patients_in(&listing);
    assert!(patients.len() > 30, "{} statements", patients.len());
    let id = run_id(&run_records(&c)[0]);
    let table = c.path(&format!("correspondence/2026/11/27/{id}.csv"));
    assert!(std::fs::metadata(table).unwrap().len() > 2048);
    // First, last and a spread between: each reprints as mailed.
    let step = patients.len() / 6;
    for p in patients.iter().step_by(step).chain(patients.last()) {
        let shown = c.run(["letter", "show", &format!("{id}/{p}")].as_slice());
        assert!(shown.status.success(), "{p}");
        assert_eq!(
            shown.stdout,
            std::fs::read(mail.join(format!("{p}.txt"))).unwrap()
        );
    }
    // Patients around the table's own (one who owes nothing, and IDs before and after all).
    let all: Vec<String> = c
        .ok("--format csv patient list --all")
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next().map(str::to_string))
        .collect();
    let owes_nothing = all
        .iter()
        .find(|p| p.starts_with('P') && !patients.contains(p))
        .expect("a patient without a statement");
    for p in [owes_nothing.as_str(), "P00000000", "PZZZZZZZZ"] {
        let err = c.fails(["letter", "show", &format!("{id}/{p}")].as_slice(), 1);
        assert!(err.contains("holds no statement"), "{p}: {err}");
    }
}

/// Asserts the records are whole after a killed run and its re-run: git clean, `check`
/// content, every run record with both its files, every statement of every run reprinting
/// as mailed (each run of the day wrote the same statements into `mail`).
fn assert_consistent(c: &Clinic, mail: &Path) {
    let status = git_lines(&c.root, &["status", "--porcelain"]);
    assert!(status.is_empty(), "{status:?}");
    ok(c, &["check", "--fix"]);
    ok(c, &["check"]);
    let records = run_records(c);
    assert!(!records.is_empty());
    for record in &records {
        let id = run_id(record);
        for ext in ["csv", "html"] {
            let beside = record.replace(".toml", &format!(".{ext}"));
            assert!(c.path(&beside).is_file(), "{record} without its {ext}");
        }
        let list = ok(c, &["--format", "csv", "letter", "show", &id]);
        for row in list.lines().skip(1) {
            let p = row.split(',').nth(1).unwrap();
            let mailed = std::fs::read(mail.join(format!("{p}.html"))).unwrap();
            assert_eq!(
                at(c, &["letter", "show", &format!("{id}/{p}")]).stdout,
                mailed
            );
        }
    }
}

#[test]
fn a_run_killed_between_statements_keeps_nothing_and_the_rerun_keeps_all() {
    let c = sample();
    let before = c.commits();
    let mail = c.dir.path().join("mail");
    // Ended on the spot (abort, as kill -9) before the third statement.
    let out = run_with_fault(&c, &mail, "crash:statement#3");
    assert!(!out.status.success(), "the run was not killed");
    // Nothing was sent, so nothing is kept: no letter, no commit.
    assert!(
        !c.files().iter().any(|f| f.starts_with("correspondence/")),
        "{:?}",
        c.files()
    );
    assert_eq!(c.commits(), before);
    let (_, patients) = run(&c, "mail");
    assert_eq!(c.commits(), before + 1);
    assert_eq!(run_records(&c).len(), 1);
    let listed = ok(
        &c,
        &[
            "--format",
            "csv",
            "letter",
            "show",
            &run_id(&run_records(&c)[0]),
        ],
    );
    assert_eq!(listed.lines().count(), patients.len() + 1, "{listed}");
    assert_consistent(&c, &mail);
}

#[test]
fn a_run_killed_while_filing_leaves_the_records_consistent() {
    // Killed at each write step of filing the run (the statements, the table and the record
    // are written and flushed as temp files, then renamed into place one after the other, the
    // record last), and at the commit: the next run leaves every kept run whole and every
    // statement reprinting. (Killed between two renames, the statements file, or it and the
    // table, are left without a record: the next command commits them as recovered, and
    // nothing lists them.)
    let mut killed = 0;
    for fault in [
        "crash:write#1",
        "crash:fsync#2",
        "crash:rename#1",
        "crash:rename#2",
        "crash:rename#3",
        "crash:dirsync#1",
        "crash:git",
    ] {
        let c = sample();
        let mail = c.dir.path().join("mail");
        let out = run_with_fault(&c, &mail, fault);
        if !out.status.success() {
            killed += 1;
        }
        run(&c, "mail");
        assert_consistent(&c, &mail);
    }
    assert_eq!(killed, 7, "every fault ends the run");
}

#[test]
fn a_run_that_cannot_be_filed_keeps_nothing() {
    // Every rename fails (a full or failing disk): the run reports it, and nothing is kept.
    let c = sample();
    let before = c.commits();
    let mail = c.dir.path().join("mail");
    let out = run_with_fault(&c, &mail, "rename");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("injected fault"), "{err}");
    assert!(!c.files().iter().any(|f| f.starts_with("correspondence/")));
    assert_eq!(c.commits(), before);
    let status = git_lines(&c.root, &["status", "--porcelain"]);
    assert!(status.is_empty(), "{status:?}");
}

/// A run's statements file is large (235 MB a month at full size): its commit is packed as
/// fast-import writes it, not unpacked into loose objects (which compresses it a second time),
/// and git agrees with the result.
#[test]
fn a_large_run_is_committed_as_one_pack() {
    let c = sample();
    // The tool's first commit in a tree goes through `git commit` and turns the split index
    // on; its commits from then on are written through fast-import.
    ok(&c, &["office", "set", "--phone", "617-555-0100"]);
    let before = c.packs();
    let mail = c.dir.path().join("mail");
    let out = run_with_env(&c, &mail, &[("FRONTDESK_GIT_LARGE", "100")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(c.packs(), before + 1, "the run's commit is one pack");
    assert_eq!(git(&c.root, &["status", "--porcelain"]), "");
    git(&c.root, &["fsck", "--no-dangling"]);
    assert_eq!(run_records(&c).len(), 1);
}
