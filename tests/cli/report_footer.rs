//! A report names the records commit it was computed from; when the tree holds changes that
//! commit does not (a hand edit, a file left behind), the footer and the JSON metadata say so,
//! and on a clean tree they do not.

use std::fs;

use crate::harness::*;

/// `report aging` as text (its footer is the last line) and as JSON (its `meta`).
fn footer_and_meta(c: &Clinic) -> (String, serde_json::Value) {
    let text = c.ok("report aging");
    let footer = text.lines().last().unwrap().to_string();
    let json: serde_json::Value =
        serde_json::from_str(&c.ok("--format json report aging")).unwrap();
    (footer, json["meta"].clone())
}

fn assert_clean(c: &Clinic, what: &str) {
    let (footer, meta) = footer_and_meta(c);
    let commit = meta["records_commit"].as_str().unwrap().to_string();
    assert_eq!(commit.len(), 40, "{what}: {meta}");
    assert!(
        footer.starts_with(&format!(
            "Computed from records commit {commit} by frontdesk"
        )),
        "{what}: {footer}"
    );
    assert_eq!(meta["uncommitted_changes"], false, "{what}: {meta}");
}

fn assert_dirty(c: &Clinic, what: &str) {
    let (footer, meta) = footer_and_meta(c);
    let commit = meta["records_commit"].as_str().unwrap().to_string();
    assert!(
        footer.contains(&format!(
            "records commit {commit} plus uncommitted changes by"
        )),
        "{what}: {footer}"
    );
    assert_eq!(meta["uncommitted_changes"], true, "{what}: {meta}");
    let html = c.ok("--format html report aging");
    assert!(
        html.contains("plus uncommitted changes"),
        "{what}: the HTML footer"
    );
}

#[test]
fn the_footer_says_whether_the_records_were_committed() {
    let c = Clinic::new();
    let p = c.add_jane();
    assert_clean(&c, "after the tool's own commits");

    // A hand edit of a record: the commit is no longer what the report read.
    let file = c.path(&format!("patients/{}/{p}.toml", &p[1..3]));
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, text.replace("Jane", "Joan")).unwrap();
    assert_dirty(&c, "a hand-edited patient");
    // Put back as it was: clean again.
    fs::write(&file, &text).unwrap();
    assert_clean(&c, "the edit undone");

    // A file left behind in the tree.
    let stray = c.path("patients/notes.txt");
    fs::write(&stray, "call back\n").unwrap();
    assert_dirty(&c, "a file left behind");
    fs::remove_file(&stray).unwrap();
    assert_clean(&c, "the file removed");

    // The tool's own write, committed: still clean.
    c.ok(format!("patient update {p} --phone 617-555-0199"));
    assert_clean(&c, "after another of the tool's commits");
}

#[test]
fn a_tree_without_git_names_no_commit_and_no_changes() {
    let c = Clinic::without_git();
    c.add_jane();
    let (footer, meta) = footer_and_meta(&c);
    assert!(
        footer.starts_with("Computed from records commit none (not a git repository) by"),
        "{footer}"
    );
    assert_eq!(meta["uncommitted_changes"], serde_json::Value::Null);
}

#[test]
fn the_nightly_reports_say_so_too() {
    let c = Clinic::new();
    let p = c.add_jane();
    let file = c.path(&format!("patients/{}/{p}.toml", &p[1..3]));
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, text.replace("Jane", "Joan")).unwrap();
    let out = c.dir.path().join("nightly");
    let args = ["report", "nightly", "--out", out.to_str().unwrap()];
    c.ok(&args[..]);
    let day = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let mut jsons = 0;
    for f in fs::read_dir(&day).unwrap().map(|e| e.unwrap().path()) {
        let bytes = fs::read_to_string(&f).unwrap();
        if f.extension().is_some_and(|e| e == "json") {
            let v: serde_json::Value = serde_json::from_str(&bytes).unwrap();
            assert_eq!(v["meta"]["uncommitted_changes"], true, "{}", f.display());
            jsons += 1;
        } else {
            assert!(
                bytes.contains("plus uncommitted changes"),
                "{}",
                f.display()
            );
        }
    }
    assert_eq!(jsons, 6);
}
