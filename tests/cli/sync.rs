//! `frontdesk sync` between two sites through a bare remote: offline work merges cleanly, a
//! record edited at both sites is refused (or left marked), and what a merge brings is checked.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use frontdesk::domain::id::{Id, IdKind};

use crate::check::{appointment, check, put};
use crate::harness::*;

/// A bare hub and two sites: `a` made with `frontdesk init`, `b` a clone of it.
pub struct TwoSites {
    /// Kept so the hub outlives both sites.
    pub _hub: tempfile::TempDir,
    pub a: Clinic,
    pub b: Clinic,
}

pub fn two_sites() -> TwoSites {
    let hub = tempfile::tempdir().unwrap();
    git(hub.path(), &["init", "-q", "--bare"]);
    let a = Clinic::new();
    git(
        &a.root,
        &["remote", "add", "origin", hub.path().to_str().unwrap()],
    );
    a.ok(&["sync"]);
    let b = Clinic::clone_of(hub.path());
    TwoSites { _hub: hub, a, b }
}

/// Adds `n` valid patients as files and one commit, as a day of offline work would.
pub fn add_patients(c: &Clinic, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = Id::generate(IdKind::Patient).to_string();
        let given: String = (0..6)
            .map(|k| (b'a' + ((i >> (k * 3)) % 26) as u8) as char)
            .collect();
        put(
            c,
            &format!("patients/{}/{id}.toml", &id[1..3]),
            &format!(
                "schema = 1\nid = \"{id}\"\nstatus = \"active\"\ngiven = \"X{given}\"\nfamily = \"Bulk\"\nbirth_date = \"1970-01-01\"\nsex = \"U\"\ncreated = \"2026-11-27T08:00:00-05:00\"\nupdated = \"2026-11-27T08:00:00-05:00\"\n"
            ),
        );
        ids.push(id);
    }
    git(&c.root, &["add", "-A"]);
    git(&c.root, &["commit", "-qm", &format!("Add {n} patients.")]);
    ids
}

fn head(c: &Clinic) -> String {
    git(&c.root, &["rev-parse", "HEAD"]).trim().to_string()
}

#[test]
fn offline_work_at_two_sites_merges_without_conflicts() {
    let n = scaled(1000, 1000);
    let s = two_sites();
    let mut ids = add_patients(&s.a, n);
    ids.extend(add_patients(&s.b, n));
    s.a.ok(&["sync"]);
    s.b.ok(&["sync"]);
    s.a.ok(&["sync"]);
    for site in [&s.a, &s.b] {
        let files: Vec<String> = site
            .files()
            .into_iter()
            .filter(|f| f.starts_with("patients/"))
            .collect();
        assert_eq!(files.len(), 2 * n);
        let (code, out) = check(site, false);
        assert_eq!(code, 0, "{out}");
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2 * n, "ID collision between sites");
    assert_eq!(head(&s.a), head(&s.b));
}

#[test]
fn one_record_edited_at_both_sites_is_refused_then_marked_for_a_person() {
    let s = two_sites();
    let id = s.a.add_jane();
    s.a.ok(&["patient", "update", &id, "--notes", "first visit"]);
    s.a.ok(&["sync"]);
    s.b.ok(&["sync"]);
    // One line changed two ways: git cannot merge it.
    s.a.ok(&["patient", "update", &id, "--notes", "moved to Boston"]);
    s.b.ok(&["patient", "update", &id, "--notes", "moved to Salem"]);
    s.a.ok(&["sync"]);
    let before = head(&s.b);
    let file = s.b.patient_file(&id);
    let bytes = fs::read(&file).unwrap();
    let err = s.b.fails(&["sync"], 3);
    assert!(
        err.contains(&format!("patients/{}/{id}.toml", &id[1..3])),
        "{err}"
    );
    assert!(err.contains("the merge was undone"), "{err}");
    assert!(
        !err.contains("Salem") && !err.contains("Boston") && !err.contains("Doe"),
        "{err}"
    );
    assert_eq!(head(&s.b), before, "a refused sync changed history");
    assert_eq!(
        fs::read(&file).unwrap(),
        bytes,
        "a refused sync changed the record"
    );
    assert_eq!(check(&s.b, false).0, 0);

    let err = s.b.fails(&["sync", "--keep-conflicts"], 3);
    assert!(err.contains("left in progress"), "{err}");
    let (code, out) = check(&s.b, false);
    assert_eq!(code, 2);
    assert!(
        out.contains(&format!("{id}.toml:")) && out.contains("git conflict markers"),
        "{out}"
    );
    assert!(out.contains("a merge is in progress"), "{out}");
    assert!(!out.contains("Salem") && !out.contains("Boston"), "{out}");
    // A sync over an unfinished merge is refused.
    assert!(s.b.fails(&["sync"], 3).contains("already in progress"));
    // Resolving as the hint says: keep one side, commit, sync.
    git(
        &s.b.root,
        &[
            "checkout",
            "--theirs",
            "--",
            &format!("patients/{}/{id}.toml", &id[1..3]),
        ],
    );
    git(&s.b.root, &["commit", "-qam", "Resolve conflict."]);
    s.b.ok(&["sync"]);
    s.a.ok(&["sync"]);
    assert_eq!(head(&s.a), head(&s.b));
    let (code, out) = check(&s.a, false);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn refuses_uncommitted_changes_a_busy_tree_and_a_missing_remote() {
    let s = two_sites();
    let id = s.b.ok(&[&["--no-commit"][..], &ADD_ANN[..]].concat());
    let err = s.b.fails(&["sync"], 2);
    assert!(
        err.contains("not committed") && err.contains(id.trim()),
        "{err}"
    );
    s.b.ok(&["check", "--fix"]);
    let f = fs::OpenOptions::new()
        .write(true)
        .open(s.b.path(".frontdesk/lock"))
        .unwrap();
    f.lock().unwrap();
    assert!(s.b.fails(&["sync"], 3).contains("nothing was synced"));
    drop(f);
    s.b.ok(&["sync"]);
    let err = s.b.fails(&["sync", "elsewhere"], 2);
    assert!(err.contains("no git remote named elsewhere"), "{err}");
}

#[test]
fn a_double_booking_made_at_two_sites_is_reported_after_sync() {
    let s = two_sites();
    let jane = s.a.add_jane();
    put(
        &s.a,
        "providers/okafor.toml",
        "schema = 1\nkey = \"okafor\"\nname = \"Dr Okafor\"\n",
    );
    put(
        &s.a,
        "appointment-types.toml",
        "schema = 1\n[[type]]\nkey = \"follow-up\"\nname = \"Follow-up\"\nminutes = 20\n",
    );
    git(&s.a.root, &["add", "-A"]);
    git(&s.a.root, &["commit", "-qm", "Set up scheduling."]);
    s.a.ok(&["sync"]);
    s.b.ok(&["sync"]);
    let day = "appointments/2026/12/01";
    for (site, id) in [(&s.a, "A0000000A"), (&s.b, "A0000000B")] {
        put(
            site,
            &format!("{day}/{id}.toml"),
            &appointment(
                id,
                &jane,
                "okafor",
                "2026-12-01T09:00:00-05:00",
                "2026-12-01T09:30:00-05:00",
                "booked",
            ),
        );
        git(&site.root, &["add", "-A"]);
        git(
            &site.root,
            &["commit", "-qm", &format!("Book appointment {id}.")],
        );
    }
    s.a.ok(&["sync"]);
    let out = s.b.run(&["sync"]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("double-booked"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("need a person"));
    // Both bookings reached the hub: the other site sees the problem too.
    assert_eq!(s.a.run(&["sync"]).status.code(), Some(2));
    assert!(check(&s.a, false).1.contains("double-booked"));
    // Files git brought in are private.
    let mode = fs::metadata(s.b.path(&format!("{day}/A0000000A.toml")))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Git merges two additions far apart in one file without a conflict, but the result can be a
/// record that does not parse (the same table twice). Sync undoes such a merge like a conflict.
#[test]
fn a_clean_git_merge_that_breaks_a_record_is_undone() {
    let s = two_sites();
    let id = s.a.add_jane();
    s.a.ok(&["sync"]);
    s.b.ok(&["sync"]);
    let rel = format!("patients/{}/{id}.toml", &id[1..3]);
    let base = fs::read_to_string(s.a.path(&rel)).unwrap();
    // Site A adds the address at the end, site B before the phones.
    let a_text = format!("{base}\n[address]\nline1 = \"1 Elm St\"\ncity = \"Boston\"\n");
    let b_text = base.replacen(
        "\n[[phones]]",
        "\n[address]\nline1 = \"2 Oak St\"\ncity = \"Salem\"\n\n[[phones]]",
        1,
    );
    assert_ne!(b_text, base, "the fixture has no phones table");
    for (site, text) in [(&s.a, &a_text), (&s.b, &b_text)] {
        put(site, &rel, text);
        git(
            &site.root,
            &["commit", "-qam", &format!("Edit patient {id}.")],
        );
    }
    s.a.ok(&["sync"]);
    let before = head(&s.b);
    let err = s.b.fails(&["sync"], 3);
    assert!(
        err.contains("does not parse") && err.contains(&rel),
        "{err}"
    );
    assert!(!err.contains("Salem") && !err.contains("Elm"), "{err}");
    assert_eq!(head(&s.b), before, "the broken merge was kept");
    assert_eq!(fs::read_to_string(s.b.path(&rel)).unwrap(), b_text);
    let (code, out) = check(&s.b, false);
    assert_eq!(code, 0, "{out}");
    // Kept on request: not pushed, and check names the file and line.
    let err = s.b.fails(&["sync", "--keep-conflicts"], 3);
    assert!(err.contains("was not pushed"), "{err}");
    let (code, out) = check(&s.b, false);
    assert_eq!(code, 2);
    assert!(out.contains(&format!("{rel}:")), "{out}");
    let hub = git(&s.b.root, &["ls-remote", "--heads", "origin"]);
    assert!(
        hub.starts_with(&head(&s.a)),
        "the broken merge reached the hub: {hub}"
    );
}
