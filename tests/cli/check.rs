//! `frontdesk check`: every kind of problem is found, named with its file, and the safe ones
//! are repaired by `--fix`.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::harness::*;

/// Runs `check` and returns (exit code, stdout).
pub fn check(c: &Clinic, fix: bool) -> (i32, String) {
    let mut args = vec!["check"];
    if fix {
        args.push("--fix");
    }
    let out = c.run(&args);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "check panicked"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn a_fresh_tree_is_clean() {
    let c = Clinic::new();
    c.add_jane();
    let (code, out) = check(&c, false);
    assert_eq!(code, 0, "{out}");
    assert!(out.is_empty(), "{out}");
    let err = c.run(&["check"]).stderr;
    assert!(String::from_utf8_lossy(&err).contains("no problems"));
}

#[test]
fn broken_records_are_named_with_file_line_and_next_step() {
    let c = Clinic::new();
    let id = c.add_jane();
    let good = fs::read_to_string(c.patient_file(&id)).unwrap();
    let write = |rel: &str, text: &str| {
        let p = c.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    };
    // A field rule broken, a parse error, a conflict, a misplaced file, a newer schema, and a
    // reference to a payer that does not exist.
    write(
        "patients/AA/PAA000001.toml",
        &good.replace(&id, "PAA000001").replace("Jane", "Ja9ne"),
    );
    write(
        "patients/AA/PAA000002.toml",
        "schema = 1\nid = \"PAA000002\n",
    );
    write(
        "patients/AA/PAA000003.toml",
        "<<<<<<< HEAD\nschema = 1\n=======\nschema = 2\n>>>>>>> other\n",
    );
    write(
        "patients/BB/PAA000004.toml",
        &good.replace(&id, "PAA000004"),
    );
    write(
        "patients/AA/PAA000005.toml",
        &good
            .replace(&id, "PAA000005")
            .replace("schema = 1", "schema = 9"),
    );
    write(
        "patients/AA/PAA000006.toml",
        &format!(
            "{}\n[[insurance]]\nrank = 1\npayer = \"no-such-payer\"\nmember_id = \"X1\"\neffective = \"2020-01-01\"\n[insurance.subscriber]\nrelationship = \"self\"\n",
            good.replace(&id, "PAA000006")
        ),
    );
    write("patients/AA/notes.txt", "scratch\n");
    let (code, out) = check(&c, false);
    assert_eq!(code, 2, "{out}");
    let expect = [
        ("patients/AA/PAA000001.toml:", "given name has characters"),
        ("patients/AA/PAA000002.toml:2:", ""),
        ("patients/AA/PAA000003.toml:1:", "git conflict markers"),
        ("patients/BB/PAA000004.toml:", "wrong folder"),
        ("patients/AA/PAA000005.toml:", "schema 9"),
        (
            "patients/AA/PAA000006.toml:",
            "payer no-such-payer, which does not exist",
        ),
        ("patients/AA/notes.txt:", "unexpected here"),
    ];
    for (place, what) in expect {
        let line = out
            .lines()
            .find(|l| l.contains(place))
            .unwrap_or_else(|| panic!("{place} not reported:\n{out}"));
        assert!(line.contains(what), "{line}");
    }
    assert!(out.contains("  next: "), "{out}");
    assert!(
        !out.contains("Ja9ne") && !out.contains("Doe"),
        "PHI in output:\n{out}"
    );
    // Every file is also reported as uncommitted, and none of them may be auto-committed.
    let before = c.commits();
    let (code, _) = check(&c, true);
    assert_eq!(code, 2);
    assert_eq!(c.commits(), before, "--fix committed a broken record");
}

#[test]
fn duplicate_ids_are_found() {
    let c = Clinic::new();
    let id = c.add_jane();
    let other = c.path(&format!("patients/ZZ/{id}.toml"));
    fs::create_dir_all(other.parent().unwrap()).unwrap();
    fs::copy(c.patient_file(&id), &other).unwrap();
    let (code, out) = check(&c, false);
    assert_eq!(code, 2);
    assert!(
        out.contains(&format!(
            "patients/ZZ/{id}.toml: the record is in the wrong folder"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("id {id} is also used by patients/")),
        "{out}"
    );
}

#[test]
fn fix_removes_leftovers_tightens_permissions_and_commits_sound_records() {
    let c = Clinic::new();
    let id = c.add_jane();
    let file = c.patient_file(&id);
    let dir = file.parent().unwrap().to_path_buf();
    fs::write(dir.join(".fdtmpXYZ123"), "half a reco").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(c.path(".git/index.lock"), "").unwrap();
    let second = c.ok(&[&["--no-commit"][..], &ADD_ANN[..]].concat());
    let (code, out) = check(&c, false);
    assert_eq!(code, 2);
    assert!(
        out.contains(".fdtmpXYZ123: leftover temporary file"),
        "{out}"
    );
    assert!(out.contains("permissions 0644"), "{out}");
    assert!(out.contains("not committed"), "{out}");
    let (code, out) = check(&c, true);
    assert_eq!(code, 0, "{out}");
    assert!(!dir.join(".fdtmpXYZ123").exists());
    assert!(!c.path(".git/index.lock").exists());
    assert_eq!(fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    let msg = &c.commit_messages()[0];
    assert!(
        msg.contains(second.trim()) && msg.contains("left uncommitted"),
        "{msg}"
    );
    assert_eq!(check(&c, false).0, 0);
}

#[test]
fn a_lock_whose_process_is_gone_is_reported() {
    let c = Clinic::new();
    let lock = c.path(".frontdesk/lock");
    c.add_jane();
    // Hold the OS lock here but name a process that cannot exist, as a lock on a network share
    // held from another machine would look.
    let f = fs::OpenOptions::new().write(true).open(&lock).unwrap();
    f.lock().unwrap();
    fs::write(&lock, "4194999 1700000000\n").unwrap();
    let (code, out) = check(&c, false);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("process 4194999 is gone"), "{out}");
    drop(f);
    assert_eq!(check(&c, false).0, 0);
}

#[test]
fn conflict_markers_outside_records_are_found() {
    let c = Clinic::new();
    let gi = c.path(".gitignore");
    let text = fs::read_to_string(&gi).unwrap();
    fs::write(&gi, format!("<<<<<<< HEAD\n{text}=======\n>>>>>>> x\n")).unwrap();
    let (code, out) = check(&c, false);
    assert_eq!(code, 2);
    assert!(out.contains(".gitignore:1: git conflict markers"), "{out}");
}

#[test]
fn json_output_lists_problems_for_scripts() {
    let c = Clinic::without_git();
    let p = c.path("patients/AA/PAA000002.toml");
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::set_permissions(p.parent().unwrap(), fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(&p, "schema = 1\nid = \"PAA000002\"\n").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    let out = c.run(&["--format", "json", "check"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v.as_array().unwrap();
    assert!(
        list.iter()
            .any(|p| p["file"] == "patients/AA/PAA000002.toml"),
        "{v}"
    );
}

/// Writes a record file by hand, private, as a site's sync would bring it.
pub fn put(c: &Clinic, rel: &str, text: &str) {
    let p = c.path(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    for dir in p.ancestors().skip(1).take_while(|d| d.starts_with(&c.root)) {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).unwrap();
    }
    fs::write(&p, text).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
}

pub fn appointment(
    id: &str,
    patient: &str,
    provider: &str,
    start: &str,
    end: &str,
    status: &str,
) -> String {
    format!(
        "schema = 1\nid = \"{id}\"\npatient = \"{patient}\"\nprovider = \"{provider}\"\ntype = \"follow-up\"\nstart = \"{start}\"\nend = \"{end}\"\nstatus = \"{status}\"\n"
    )
}

#[test]
fn double_bookings_and_dangling_references_in_appointments() {
    let c = Clinic::without_git();
    let jane = c.add_jane();
    put(
        &c,
        "providers/okafor.toml",
        "schema = 1\nkey = \"okafor\"\nname = \"Dr Okafor\"\n",
    );
    put(
        &c,
        "appointment-types.toml",
        "schema = 1\n[[type]]\nkey = \"follow-up\"\nname = \"Follow-up\"\nminutes = 20\n",
    );
    let day = "appointments/2026/12/01";
    let t = |h: &str| format!("2026-12-01T{h}:00-05:00");
    put(
        &c,
        &format!("{day}/A0000000A.toml"),
        &appointment(
            "A0000000A",
            &jane,
            "okafor",
            &t("09:00"),
            &t("09:30"),
            "booked",
        ),
    );
    put(
        &c,
        &format!("{day}/A0000000B.toml"),
        &appointment(
            "A0000000B",
            &jane,
            "okafor",
            &t("09:20"),
            &t("09:40"),
            "confirmed",
        ),
    );
    // Cancelled: books nothing.
    put(
        &c,
        &format!("{day}/A0000000C.toml"),
        &appointment(
            "A0000000C",
            &jane,
            "okafor",
            &t("09:00"),
            &t("09:30"),
            "cancelled",
        ),
    );
    // Dangling: a patient and a provider that do not exist.
    put(
        &c,
        &format!("{day}/A0000000D.toml"),
        &appointment(
            "A0000000D",
            "PZZZZZZZZ",
            "nobody",
            &t("11:00"),
            &t("11:30"),
            "booked",
        ),
    );
    // Filed under the wrong day.
    put(
        &c,
        "appointments/2026/12/02/A0000000E.toml",
        &appointment(
            "A0000000E",
            &jane,
            "okafor",
            &t("13:00"),
            &t("13:30"),
            "booked",
        ),
    );
    let (code, out) = check(&c, false);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("A0000000A.toml: provider okafor is double-booked 2026-12-01 09:20 to 09:30 with appointments/2026/12/01/A0000000B.toml"), "{out}");
    assert!(!out.contains("A0000000C.toml"), "{out}");
    assert!(
        out.contains("A0000000D.toml: patient names patient PZZZZZZZZ, which does not exist"),
        "{out}"
    );
    assert!(
        out.contains("A0000000D.toml: provider names provider nobody, which does not exist"),
        "{out}"
    );
    assert!(
        out.contains("A0000000E.toml: the record is in the wrong folder"),
        "{out}"
    );
    assert_eq!(out.matches("next:").count(), 4, "{out}");
}

#[test]
fn ledger_entries_are_checked_for_their_patient() {
    let c = Clinic::new();
    let jane = c.add_jane();
    c.ok(&[
        "pay",
        "collect",
        "--patient",
        &jane,
        "--amount",
        "25",
        "--method",
        "cash",
    ]);
    let (code, out) = check(&c, false);
    assert_eq!(code, 0, "{out}");
    let entry = c
        .files()
        .into_iter()
        .find(|f| f.starts_with("ledger/"))
        .expect("no ledger entry written");
    let path = c.path(&entry);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(&jane, "PZZZZZZZZ")).unwrap();
    let (code, out) = check(&c, false);
    assert_eq!(code, 2);
    assert!(
        out.contains(&format!(
            "{entry}: patient names patient PZZZZZZZZ, which does not exist"
        )),
        "{out}"
    );
}

/// Receipts go through the check cache like records: a warm `check` that kept a receipt as
/// clean still finds conflict markers written into it by hand afterwards (the stamp moved),
/// and a file that is not a receipt is named, as in any record folder.
#[test]
fn receipts_are_checked_through_the_cache_for_markers_and_strays() {
    let c = Clinic::new();
    let jane = c.add_jane();
    let receipt_of = |amount: &str| {
        let out = c.ok(&[
            "pay",
            "collect",
            "--patient",
            &jane,
            "--amount",
            amount,
            "--method",
            "cash",
        ]);
        let t = out
            .lines()
            .find_map(|l| l.strip_prefix("RECEIPT "))
            .unwrap();
        let rel = c
            .files()
            .into_iter()
            .find(|f| f.ends_with(&format!("{t}.txt")));
        rel.expect("no receipt kept")
    };
    let (first, second) = (receipt_of("25"), receipt_of("5"));
    assert!(first.starts_with("receipts/"), "{first}");
    // Twice: the second run reads through the cache the first one wrote.
    for _ in 0..2 {
        let (code, out) = check(&c, false);
        assert_eq!((code, out.as_str()), (0, ""));
    }
    let path = c.path(&second);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        format!("{text}<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> b\n"),
    )
    .unwrap();
    let stray = format!("{}/notes.md", first.rsplit_once('/').unwrap().0);
    fs::write(c.path(&stray), "to do").unwrap();
    fs::set_permissions(c.path(&stray), fs::Permissions::from_mode(0o600)).unwrap();
    let line = text.lines().count() + 1;
    for _ in 0..2 {
        let (code, out) = check(&c, false);
        assert_eq!(code, 2, "{out}");
        assert!(
            out.contains(&format!("{second}:{line}: git conflict markers")),
            "{out}"
        );
        assert!(
            out.contains(&format!("{stray}: unexpected here: receipts holds only")),
            "{out}"
        );
        // And each as a change not committed: git's side of the same check.
        assert_eq!(out.matches("changed but not committed").count(), 2, "{out}");
        assert_eq!(out.matches("next:").count(), 4, "{out}");
    }
    fs::write(&path, text).unwrap();
    fs::remove_file(c.path(&stray)).unwrap();
    let (code, out) = check(&c, false);
    assert_eq!((code, out.as_str()), (0, ""));
}
