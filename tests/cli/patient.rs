use crate::harness::*;
use std::os::unix::fs::MetadataExt;

#[test]
fn add_prints_id_writes_private_file_and_one_clean_commit() {
    let c = Clinic::new();
    let before = c.commits();
    let id = c.add_jane();
    assert!(id.starts_with('P') && id.len() == 9, "{id}");
    let file = c.patient_file(&id);
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(file.parent().unwrap()).unwrap().mode() & 0o777,
        0o700
    );
    assert_eq!(c.commits(), before + 1);
    let msg = &c.commit_messages()[0];
    assert_eq!(msg, &format!("testclerk|Add patient {id}."));
    assert!(!msg.contains("Doe") && !msg.contains("1980"));
}

#[test]
fn find_by_name_date_and_phone() {
    let c = Clinic::new();
    let id = c.add_jane();
    c.ok(&[
        "patient",
        "add",
        "--first",
        "John",
        "--last",
        "Smith",
        "--dob",
        "1975-01-09",
        "--sex",
        "M",
    ]);
    for q in [
        "doe jan",
        "04/02/1980",
        "6175550101",
        "(617) 555-0101",
        &id.to_lowercase(),
    ] {
        let out = c.ok(&["patient", "find", q]);
        let first = out.lines().nth(1).unwrap_or("");
        assert!(first.contains(&id), "{q}: {out}");
    }
    assert_eq!(c.run(&["patient", "find", "nobody"]).status.code(), Some(1));
}

#[test]
fn impossible_birth_date_changes_nothing() {
    let c = Clinic::new();
    let (files, commits) = (c.files(), c.commits());
    let err = c.fails(
        &[
            "patient",
            "add",
            "--first",
            "Jane",
            "--last",
            "Doe",
            "--dob",
            "1980-02-30",
            "--sex",
            "F",
        ],
        2,
    );
    assert!(err.contains("not a date"), "{err}");
    assert!(
        !err.contains("Doe") && !err.contains("1980"),
        "PHI in error: {err}"
    );
    assert_eq!(c.files(), files);
    assert_eq!(c.commits(), commits);
}
