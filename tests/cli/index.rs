//! The patient index is a cache: every result is identical with it, without it, after it is
//! corrupted, and after record files are changed by hand behind the tool's back.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::harness::Clinic;

const QUERIES: &[&[&str]] = &[
    &["smith"],
    &["jo", "smi"],
    &["maria"],
    &["1980"],
    &["617", "555"],
    &["garcia", "--all"],
];

/// Every search and listing the index serves, as CSV.
fn answers(c: &Clinic) -> Vec<String> {
    let mut out: Vec<String> = QUERIES
        .iter()
        .map(|q| {
            let mut args = vec!["--format", "csv", "patient", "find", "-n", "1000"];
            args.extend_from_slice(q);
            String::from_utf8(c.run(&args).stdout).unwrap()
        })
        .collect();
    out.push(c.ok(&["--format", "csv", "patient", "list", "--all"]));
    out
}

fn index_dir(c: &Clinic) -> PathBuf {
    c.path(".frontdesk/index")
}

/// Answers computed from the files alone (index deleted first), leaving no index behind
/// that could influence the next comparison.
fn answers_without_index(c: &Clinic) -> Vec<String> {
    let _ = fs::remove_dir_all(index_dir(c));
    answers(c)
}

fn some_patient_files(c: &Clinic, n: usize) -> Vec<String> {
    c.files()
        .into_iter()
        .filter(|f| f.starts_with("patients/"))
        .take(n)
        .collect()
}

#[test]
fn same_results_with_without_and_after_rebuild() {
    let c = Clinic::demo(300);
    let cold = answers_without_index(&c);
    assert!(
        index_dir(&c).join("patients.bin").is_file(),
        "find built the index"
    );
    assert_eq!(answers(&c), cold, "warm index");
    c.ok(&["index", "rebuild"]);
    assert_eq!(answers(&c), cold, "after rebuild");
    assert!(cold[0].lines().count() > 2, "the queries find something");
}

#[test]
fn corrupt_or_truncated_index_is_rebuilt() {
    let c = Clinic::demo(200);
    let expected = answers_without_index(&c);
    let file = index_dir(&c).join("patients.bin");
    let mut bytes = fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    fs::write(&file, &bytes).unwrap();
    assert_eq!(answers(&c), expected, "flipped byte");
    fs::write(&file, &bytes[..100]).unwrap();
    assert_eq!(answers(&c), expected, "truncated");
    fs::write(&file, b"garbage").unwrap();
    assert_eq!(answers(&c), expected, "garbage");
}

#[test]
fn hand_edits_behind_the_tools_back_are_seen() {
    let c = Clinic::demo(200);
    answers(&c); // warm the index
    let files = some_patient_files(&c, 3);

    // Same size, edited right after the index was written: only the racy rule catches it.
    let p = c.path(&files[0]);
    let text = fs::read_to_string(&p).unwrap();
    let family = text
        .lines()
        .find_map(|l| l.strip_prefix("family = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    let replacement: String = "Q".repeat(family.chars().count());
    fs::write(
        &p,
        text.replace(
            &format!("family = \"{family}\""),
            &format!("family = \"{replacement}\""),
        ),
    )
    .unwrap();
    let found = c.ok(&["patient", "find", &replacement.to_lowercase()]);
    assert!(found.contains(&replacement), "same-size edit seen: {found}");

    // Different size with the old modification time put back: the size gives it away.
    let p = c.path(&files[1]);
    let old_mtime = fs::metadata(&p).unwrap().modified().unwrap();
    let text = fs::read_to_string(&p).unwrap();
    let renamed = text.replacen("given = \"", "given = \"Xavierre", 1);
    fs::write(&p, renamed).unwrap();
    set_mtime(&p, old_mtime);
    assert!(c.ok(&["patient", "find", "xavierre"]).contains("Xavierre"));

    // Deleted by hand: gone from results. Copied in by hand under a new ID: found.
    let gone = files[2]
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".toml")
        .to_string();
    let gone_text = fs::read_to_string(c.path(&files[2])).unwrap();
    fs::remove_file(c.path(&files[2])).unwrap();
    assert!(
        !c.ok(&["--format", "csv", "patient", "list", "--all"])
            .contains(&gone)
    );
    let new_id = "PZZZZZZZZ";
    let copy = gone_text
        .replacen(&gone, new_id, 1)
        .replacen("given = \"", "given = \"Yolanda", 1);
    fs::create_dir_all(c.path("patients/ZZ")).unwrap();
    fs::write(c.path("patients/ZZ/PZZZZZZZZ.toml"), copy).unwrap();
    assert!(c.ok(&["patient", "find", "yolanda"]).contains(new_id));

    // And after all of that, the index agrees with the files exactly.
    let warm = answers(&c);
    assert_eq!(warm, answers_without_index(&c));
}

#[test]
fn unreadable_file_is_reported_with_and_without_index() {
    let c = Clinic::demo(50);
    answers(&c);
    let f = &some_patient_files(&c, 1)[0];
    fs::write(c.path(f), "schema = 1\nid = [broken\n").unwrap();
    let warm = c.run(&["patient", "list", "--all"]);
    let stderr = String::from_utf8_lossy(&warm.stderr).to_string();
    assert!(
        stderr.contains(f.as_str()) && stderr.contains(":2"),
        "{stderr}"
    );
    let _ = fs::remove_dir_all(index_dir(&c));
    let cold = c.run(&["patient", "list", "--all"]);
    assert_eq!(warm.stdout, cold.stdout);
    assert_eq!(String::from_utf8_lossy(&cold.stderr), stderr);
}

fn set_mtime(p: &std::path::Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn a_file_with_a_future_timestamp_is_always_reread() {
    let c = Clinic::demo(30);
    answers(&c);
    let p = c.path(&some_patient_files(&c, 1)[0]);
    let future = SystemTime::now() + Duration::from_secs(3600);
    let text = fs::read_to_string(&p).unwrap();
    fs::write(&p, text.replacen("given = \"", "given = \"Zebulon", 1)).unwrap();
    set_mtime(&p, future);
    assert!(c.ok(&["patient", "find", "zebulon"]).contains("Zebulon"));
    let text = fs::read_to_string(&p).unwrap();
    fs::write(&p, text.replacen("Zebulon", "Zachary", 1)).unwrap();
    set_mtime(&p, future);
    assert!(c.ok(&["patient", "find", "zachary"]).contains("Zachary"));
}

/// `patient add` for a woman born 1980-04-02, the duplicate guard's shared birth date.
fn add_1980<'a>(first: &'a str, last: &'a str) -> [&'a str; 10] {
    [
        "patient",
        "add",
        "--first",
        first,
        "--last",
        last,
        "--dob",
        "1980-04-02",
        "--sex",
        "F",
    ]
}

#[test]
fn duplicate_guard_with_and_without_index() {
    let c = Clinic::new();
    let jane = c.add_jane();
    let dup = add_1980("Janet", "DOE");
    // With the keys written by the first add.
    assert!(c.fails(&dup, 2).contains(&jane));
    // With the index deleted: the guard rebuilds what it needs.
    fs::remove_dir_all(index_dir(&c)).ok();
    assert!(c.fails(&dup, 2).contains(&jane));
    // A family name changed through the tool is seen at once under its new key.
    c.ok(&["patient", "update", &jane, "--last", "Roe"]);
    c.ok(&dup);
    assert!(c.fails(&add_1980("Jane", "Roe"), 2).contains(&jane));
    // A stale key (the old name) never blocks anyone: candidates are checked against the file.
    let out = c.fails(&add_1980("Jan", "Doe"), 2);
    assert!(!out.contains(&jane), "Jane is a Roe now: {out}");
}
