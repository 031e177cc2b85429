//! `check` works out what `git status` would list without running it (src/history/git_status.rs),
//! so git's whole index is never held in memory. Every case compares check's list of
//! uncommitted files with git's own, and says whether git status ran: only for what the
//! module hands to git (staged changes, settings it does not model).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::harness::*;

/// A small generated clinic with every kind of record, in git.
fn clinic() -> Clinic {
    Clinic::generated(20, Some(60))
}

/// check's uncommitted files, sorted, worked out afresh (its clean-tree note removed), and
/// whether it ran `git status` to get them.
fn check_says(c: &Clinic) -> (Vec<String>, bool) {
    fs::remove_file(c.path(".frontdesk/index/check-git.bin")).ok();
    let trace = c.dir.path().join("git-trace.log");
    fs::remove_file(&trace).ok();
    let out = c
        .cmd()
        .env("GIT_TRACE", &trace)
        .args(["--format", "json", "check"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut files: Vec<String> = report
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["what"].as_str().unwrap_or("").contains("not committed"))
        .map(|p| p["file"].as_str().unwrap().to_string())
        .collect();
    files.sort();
    let traced = fs::read_to_string(&trace).unwrap_or_default();
    assert!(
        traced.contains("cat-file --batch") || traced.contains(" status"),
        "the status was not worked out: {traced}"
    );
    (files, traced.contains(" status"))
}

/// What git itself lists, sorted (a rename's old path is part of its entry).
fn git_says(root: &Path) -> Vec<String> {
    let out = git(
        root,
        &[
            "--no-optional-locks",
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
        ],
    );
    let mut files = Vec::new();
    let mut fields = out.split('\0').filter(|f| !f.is_empty());
    while let Some(entry) = fields.next() {
        files.push(entry[3..].to_string());
        if entry.starts_with('R') || entry.starts_with('C') {
            fields.next();
        }
    }
    files.sort();
    files
}

/// check lists what git lists, without asking git; returns the list.
fn same_as_git_without_it(c: &Clinic, what: &str) -> Vec<String> {
    let (ours, ran) = check_says(c);
    assert!(!ran, "{what}: git status ran");
    assert_eq!(ours, git_says(&c.root), "{what}");
    ours
}

fn nth_record(c: &Clinic, top: &str, n: usize) -> String {
    c.files()
        .into_iter()
        .filter(|f| f.starts_with(top) && f.ends_with(".toml"))
        .nth(n)
        .unwrap()
}

fn write_private(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn hand_changes_are_listed_as_git_lists_them_without_running_it() {
    let c = clinic();
    assert_eq!(same_as_git_without_it(&c, "clean"), Vec::<String>::new());

    let a = nth_record(&c, "patients/", 0);
    let b = nth_record(&c, "appointments/", 2);
    let d = nth_record(&c, "appointments/", 0);
    let e = nth_record(&c, "patients/", 1);
    let f = nth_record(&c, "rooms/", 0);
    let g = nth_record(&c, "rooms/", 1);

    // Same size, modification time put back: only the change time and the content tell.
    let text = fs::read_to_string(c.path(&a)).unwrap();
    let mtime = fs::metadata(c.path(&a)).unwrap().modified().unwrap();
    let swapped = text.replacen("id = \"P", "id = \"Q", 1);
    assert_ne!(swapped, text);
    fs::write(c.path(&a), &swapped).unwrap();
    fs::File::options()
        .write(true)
        .open(c.path(&a))
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    // Appended to, removed, made executable.
    let more = format!("{}\n", fs::read_to_string(c.path(&b)).unwrap());
    fs::write(c.path(&b), more).unwrap();
    fs::remove_file(c.path(&d)).unwrap();
    fs::set_permissions(c.path(&e), fs::Permissions::from_mode(0o700)).unwrap();
    // Touched, and rewritten with the same bytes (a new inode): not changes.
    fs::File::options()
        .write(true)
        .open(c.path(&f))
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    let bytes = fs::read(c.path(&g)).unwrap();
    fs::remove_file(c.path(&g)).unwrap();
    write_private(&c.path(&g), std::str::from_utf8(&bytes).unwrap());
    // New files: at the top, in a tracked folder, deep in a new folder; ignored ones.
    write_private(&c.path("notes.txt"), "x\n");
    write_private(&c.path("patients/zz-new.toml"), "x = 1\n");
    write_private(&c.path("scans/2026/11/one.pdf"), "%PDF\n");
    write_private(&c.path("patients/.fdtmp-left"), "half\n");
    write_private(&c.path(".frontdesk/scratch/x"), "cache\n");

    let listed = same_as_git_without_it(&c, "hand changes");
    for expected in [&a, &b, &d, &e] {
        assert!(
            listed.contains(expected),
            "{expected} missing from {listed:?}"
        );
    }
    assert!(!listed.contains(&f) && !listed.contains(&g), "{listed:?}");
    assert!(listed.contains(&"scans/2026/11/one.pdf".to_string()));
    assert!(
        !listed
            .iter()
            .any(|l| l.contains(".fdtmp") || l.contains(".frontdesk"))
    );
}

#[test]
fn an_edit_right_after_frontdesk_s_own_commit_is_seen() {
    let c = clinic();
    let p = nth_record(&c, "patients/", 0);
    let id = p.rsplit('/').next().unwrap().trim_end_matches(".toml");
    // frontdesk's commit writes the file and its index entry within the same second; an edit
    // of the same size right after keeps the size and (usually) the second.
    c.ok(&["patient", "update", id, "--notes", "aaaa"]);
    let text = fs::read_to_string(c.path(&p)).unwrap();
    fs::write(c.path(&p), text.replace("aaaa", "bbbb")).unwrap();
    let listed = same_as_git_without_it(&c, "racy edit");
    assert_eq!(listed, vec![p]);
}

#[test]
fn a_split_index_git_wrote_itself_is_merged_as_git_merges_it() {
    let c = clinic();
    // git's own commits leave replaced, deleted and added entries in the small half.
    let replaced = [
        nth_record(&c, "patients/", 2),
        nth_record(&c, "providers/", 3),
    ];
    for r in &replaced {
        let more = format!("{}# by hand\n", fs::read_to_string(c.path(r)).unwrap());
        fs::write(c.path(r), more).unwrap();
    }
    git(&c.root, &["commit", "-q", "-am", "Edit by hand."]);
    let gone = nth_record(&c, "appointments/", 1);
    git(&c.root, &["rm", "-q", &gone]);
    git(&c.root, &["commit", "-q", "-m", "Remove by hand."]);
    write_private(&c.path("payers/by-hand.toml"), "x = 1\n");
    git(&c.root, &["add", "payers/by-hand.toml"]);
    git(&c.root, &["commit", "-q", "-m", "Add by hand."]);
    let index = fs::read(c.path(".git/index")).unwrap();
    let link = index.windows(4).position(|w| w == b"link").unwrap();
    let len = u32::from_be_bytes(index[link + 4..link + 8].try_into().unwrap());
    assert!(len > 20, "the small half carries no bitmaps");

    assert_eq!(
        same_as_git_without_it(&c, "after git's commits"),
        Vec::<String>::new()
    );
    let more = format!(
        "{}# again\n",
        fs::read_to_string(c.path(&replaced[0])).unwrap()
    );
    fs::write(c.path(&replaced[0]), more).unwrap();
    fs::remove_file(c.path("payers/by-hand.toml")).unwrap();
    let listed = same_as_git_without_it(&c, "edits over git's commits");
    assert_eq!(listed.len(), 2, "{listed:?}");
}

#[test]
fn a_fresh_clone_s_whole_index_is_read_as_a_stream_too() {
    let origin = clinic();
    let c = Clinic::clone_of(&origin.root);
    let index = fs::read(c.path(".git/index")).unwrap();
    assert!(
        !index.windows(4).any(|w| w == b"link"),
        "the clone's index is split"
    );
    assert_eq!(same_as_git_without_it(&c, "clone"), Vec::<String>::new());
    let p = nth_record(&c, "patients/", 0);
    let more = format!("{}\n", fs::read_to_string(c.path(&p)).unwrap());
    fs::write(c.path(&p), more).unwrap();
    assert_eq!(same_as_git_without_it(&c, "clone, edited"), vec![p]);
}

#[test]
fn staged_changes_and_unmodelled_settings_are_left_to_git() {
    let c = clinic();
    let p = nth_record(&c, "patients/", 0);
    let more = format!("{}\n", fs::read_to_string(c.path(&p)).unwrap());
    fs::write(c.path(&p), more).unwrap();
    git(&c.root, &["add", &p]);
    let (ours, ran) = check_says(&c);
    assert!(ran, "a staged change is git's to report");
    assert_eq!(ours, git_says(&c.root));
    git(&c.root, &["commit", "-q", "-m", "Staged by hand."]);

    let gone = nth_record(&c, "rooms/", 0);
    git(&c.root, &["rm", "-q", "--cached", &gone]);
    let (ours, ran) = check_says(&c);
    assert!(ran, "a staged deletion is git's to report");
    assert_eq!(ours, git_says(&c.root));
    git(&c.root, &["reset", "-q"]);

    git(&c.root, &["config", "core.autocrlf", "true"]);
    let (ours, ran) = check_says(&c);
    assert!(ran, "end-of-line conversion is git's to apply");
    assert_eq!(ours, git_says(&c.root));
    git(&c.root, &["config", "--unset", "core.autocrlf"]);

    write_private(&c.path(".gitattributes"), "*.toml text eol=crlf\n");
    let (ours, ran) = check_says(&c);
    assert!(ran, "attributes are git's to apply");
    assert_eq!(ours, git_says(&c.root));
}
