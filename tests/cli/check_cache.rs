//! `check`'s cache of per-file results (`.frontdesk/index/check/KEY/`, one file per record kind
//! and year, a section per record folder): a warm run reports exactly what a run without the
//! cache reports, whatever happened to the files or the cache.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::harness::*;

/// A small generated clinic: patients, payers, providers, rooms and appointments (all
/// upcoming at this size, so no ledger yet).
fn clinic() -> Clinic {
    Clinic::generated(20, Some(60))
}

/// The check cache's folder: one folder per key, one file per kind and year in it.
fn cache(c: &Clinic) -> PathBuf {
    c.path(".frontdesk/index/check")
}

/// Every file of the check cache, by path, with its bytes and modification time.
fn cache_files(c: &Clinic) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    fn walk(dir: &std::path::Path, out: &mut BTreeMap<PathBuf, (Vec<u8>, SystemTime)>) {
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                let mtime = e.metadata().unwrap().modified().unwrap();
                out.insert(path.clone(), (fs::read(&path).unwrap(), mtime));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&cache(c), &mut out);
    out
}

/// A cache file's entries: what follows its header (which holds the time of the scan that
/// wrote it).
fn entries(bytes: &[u8]) -> &[u8] {
    let header = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    &bytes[12 + header + 8..]
}

/// Writes each of the cache's files as `change` makes its bytes (one gone since is left gone).
fn damage_cache(
    files: &BTreeMap<PathBuf, (Vec<u8>, SystemTime)>,
    change: impl Fn(&[u8]) -> Vec<u8>,
) {
    for (path, (bytes, _)) in files {
        if let Ok(mut f) = fs::File::options().write(true).truncate(true).open(path) {
            std::io::Write::write_all(&mut f, &change(bytes)).unwrap();
        }
    }
}

/// Where `check` remembers a clean `git status`.
fn git_note(c: &Clinic) -> PathBuf {
    c.path(".frontdesk/index/check-git.bin")
}

/// `check`'s exit code, its JSON report and its summary line without the time it took.
fn report(c: &Clinic) -> (i32, String, String) {
    report_at(c, None)
}

/// [`report`] with the office clock fixed at `now` (`FRONTDESK_NOW`), when given.
fn report_at(c: &Clinic, now: Option<&str>) -> (i32, String, String) {
    let mut cmd = c.cmd();
    if let Some(now) = now {
        cmd.env("FRONTDESK_NOW", now);
    }
    report_of(cmd)
}

/// [`report`] from `cmd`, a `frontdesk` command with its settings.
fn report_of(mut cmd: assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.args(["--format", "json", "check"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let summary = stderr
        .lines()
        .filter(|l| l.starts_with("checked "))
        .map(|l| {
            let (head, tail) = l.split_once(" in ").unwrap_or((l, ""));
            format!("{head}{}", tail.split_once(':').map_or("", |t| t.1))
        })
        .collect();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        summary,
    )
}

/// The report with the cache as it is equals the report with the cache deleted, corrupt and
/// truncated; returns it.
fn same_with_and_without_cache(c: &Clinic, what: &str) -> (i32, String, String) {
    let warm = report(c);
    let files = cache_files(c);
    let note = fs::read(git_note(c)).ok();
    fs::remove_dir_all(cache(c)).ok();
    fs::remove_file(git_note(c)).ok();
    assert_eq!(report(c), warm, "{what}: cache deleted");
    if let Some(note) = note {
        let mut bad = note.clone();
        bad[10] ^= 1;
        fs::write(git_note(c), &bad).unwrap();
        fs::set_permissions(git_note(c), fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(report(c), warm, "{what}: git note corrupt");
    }
    if !files.is_empty() {
        damage_cache(&files, |bytes| {
            let mut bad = bytes.to_vec();
            bad[bytes.len() / 2] ^= 0x41;
            bad
        });
        assert_eq!(report(c), warm, "{what}: cache corrupt");
        damage_cache(&files, |bytes| bytes[..bytes.len() * 2 / 3].to_vec());
        assert_eq!(report(c), warm, "{what}: cache truncated");
        damage_cache(&files, |bytes| bytes.to_vec());
        assert_eq!(report(c), warm, "{what}: old cache put back");
    }
    warm
}

/// Rewrites a file by hand, keeping its size and putting its modification time back.
fn edit_in_place(path: &std::path::Path, from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let mtime = fs::metadata(path).unwrap().modified().unwrap();
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_modified(mtime).unwrap();
}

/// Edits the first patient's file by hand, keeping its size and modification time: the first
/// letter of the given name becomes another. Returns the file.
fn swap_first_letter_of_given_name(c: &Clinic) -> PathBuf {
    let patient = nth_file(c, "patients/", 0);
    let given = fs::read_to_string(&patient)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("given = \"").map(|g| g[..1].to_string()))
        .unwrap();
    let swap = if given == "Q" { "Z" } else { "Q" };
    edit_in_place(
        &patient,
        &format!("given = \"{given}"),
        &format!("given = \"{swap}"),
    );
    patient
}

/// The `n`th record file below `top`, in path order.
fn nth_file(c: &Clinic, top: &str, n: usize) -> PathBuf {
    let rel = c
        .files()
        .into_iter()
        .filter(|f| f.starts_with(top) && f.ends_with(".toml"))
        .nth(n)
        .unwrap();
    c.path(&rel)
}

/// Files stamped within two seconds of a scan are read again (the racy rule); wait that out so
/// the next run really relies on the stamps.
fn settle() {
    std::thread::sleep(Duration::from_millis(2100));
}

#[test]
fn a_warm_check_reuses_the_cache_and_leaves_it_alone() {
    let c = clinic();
    settle();
    let first = report(&c);
    assert_eq!(first.0, 0, "{first:?}");
    let written = cache_files(&c);
    let bytes: usize = written.values().map(|(b, _)| b.len()).sum();
    assert!(bytes > 1000, "one entry per record");
    assert_eq!(report(&c), first);
    assert_eq!(
        cache_files(&c),
        written,
        "nothing changed, so the cache is not rewritten"
    );
    c.ok(&["index", "rebuild"]);
    assert!(
        !cache(&c).exists() && !git_note(&c).exists(),
        "rebuild drops it"
    );
    assert_eq!(report(&c), first);
    assert!(cache(&c).exists(), "and the next check writes it again");
}

#[test]
fn hand_edits_behind_the_cache_are_all_seen() {
    let c = clinic();
    settle();
    let clean = same_with_and_without_cache(&c, "clean");
    assert_eq!(clean.0, 0, "{clean:?}");
    settle();
    report(&c); // the cache now holds settled entries for every file

    // Same size, modification time put back: a field rule broken.
    let patient = nth_file(&c, "patients/", 0);
    let text = fs::read_to_string(&patient).unwrap();
    let first = text
        .lines()
        .find_map(|l| l.strip_prefix("given = \""))
        .unwrap();
    let letter = &first[..1];
    edit_in_place(&patient, &format!("given = \"{letter}"), "given = \"9");
    let edited = same_with_and_without_cache(&c, "edited in place");
    assert_eq!(edited.0, 2, "{edited:?}");
    assert!(edited.1.contains("given"), "{}", edited.1);

    // Broken by hand: no longer parses.
    let appt = nth_file(&c, "appointments/", 0);
    fs::write(&appt, "schema = 1\nid = \"A\n").unwrap();
    let broken = same_with_and_without_cache(&c, "broken");
    assert!(
        broken
            .1
            .contains(&*appt.file_name().unwrap().to_string_lossy())
    );

    // Added: a copy of a record under another name (wrong name for its ID, duplicate ID).
    let appt = nth_file(&c, "appointments/", 1);
    let copy = appt.with_file_name("A00000000.toml");
    fs::copy(&appt, &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o600)).unwrap();
    let added = same_with_and_without_cache(&c, "added");
    assert!(added.1.contains("A00000000"), "{}", added.1);

    // Deleted: a patient others refer to.
    for n in 1..4 {
        fs::remove_file(nth_file(&c, "patients/", n)).unwrap();
    }
    let deleted = same_with_and_without_cache(&c, "deleted");
    assert!(deleted.1.contains("does not exist"), "{}", deleted.1);

    // Permissions loosened.
    let payer = nth_file(&c, "payers/", 0);
    fs::set_permissions(&payer, fs::Permissions::from_mode(0o644)).unwrap();
    let loose = same_with_and_without_cache(&c, "permissions");
    assert!(loose.1.contains("permissions 0644"), "{}", loose.1);

    // Another office date (rules read it: a birth date after it is wrong): entries made for
    // today's date are not reused.
    settle();
    let today = report(&c);
    let past = report_at(&c, Some("1930-01-01"));
    assert_ne!(past, today);
    assert!(past.1.contains("birth"), "{}", past.1);
    fs::remove_dir_all(cache(&c)).unwrap();
    assert_eq!(report_at(&c, Some("1930-01-01")), past);
    assert_eq!(report(&c), today);

    // Each problem found again after a settled cache was written.
    settle();
    let before = report(&c);
    settle();
    assert_eq!(report(&c), before);
}

#[test]
fn a_corrupt_section_costs_only_its_folder() {
    let c = clinic();
    settle();
    let first = report(&c);
    let files = cache_files(&c);
    assert!(files.len() > 3, "a file per record kind");
    // A byte in the middle of one file: the section it falls in fails its checksum.
    let (hit, (bytes, _)) = files.iter().nth(files.len() / 2).unwrap();
    let mut bad = bytes.clone();
    bad[bytes.len() / 2] ^= 0x41;
    fs::write(hit, &bad).unwrap();
    assert_eq!(report(&c), first);
    let rebuilt = cache_files(&c);
    assert_eq!(
        entries(&rebuilt[hit].0),
        entries(bytes),
        "that section is made again"
    );
    for (path, kept) in &files {
        if path != hit {
            assert_eq!(rebuilt[path], *kept, "{}: kept as it was", path.display());
        }
    }
    // The cache of another key (another day, another build): not read, swept away, and the
    // whole cache made again.
    let keyed = hit
        .strip_prefix(cache(&c))
        .unwrap()
        .components()
        .next()
        .unwrap();
    let other = cache(&c).join("0000000000000000");
    fs::rename(cache(&c).join(keyed), &other).unwrap();
    assert_eq!(report(&c), first);
    assert!(!other.exists(), "another key's cache is swept");
    let again = cache_files(&c);
    assert_eq!(
        again.keys().collect::<Vec<_>>(),
        files.keys().collect::<Vec<_>>()
    );
    for (path, (bytes, _)) in &files {
        assert_eq!(
            entries(&again[path].0),
            entries(bytes),
            "{}",
            path.display()
        );
    }
}

#[test]
fn check_fix_repairs_and_leaves_a_consistent_cache() {
    let c = clinic();
    let payer = nth_file(&c, "payers/", 0);
    fs::set_permissions(&payer, fs::Permissions::from_mode(0o644)).unwrap();
    // A sound record left uncommitted.
    let patient = nth_file(&c, "patients/", 0);
    let text = fs::read_to_string(&patient).unwrap();
    fs::write(&patient, format!("{text}\n")).unwrap();
    settle();
    let before = report(&c);
    assert_eq!(before.0, 2, "{before:?}");
    let out = c.run(&["check", "--fix"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let after = same_with_and_without_cache(&c, "after --fix");
    assert_eq!(after.0, 0, "{after:?}");
    assert_eq!(after.1.trim(), "[]");
}

#[test]
fn git_is_asked_again_whenever_the_tree_or_the_repository_changed() {
    let c = clinic();
    settle();
    let clean = report(&c);
    assert_eq!(clean.0, 0, "{clean:?}");
    assert!(
        git_note(&c).exists(),
        "a settled clean status is remembered"
    );
    assert_eq!(report(&c), clean);

    // Each change below leaves something uncommitted; each is undone before the next.
    let patient = swap_first_letter_of_given_name(&c);
    let edited = same_with_and_without_cache(&c, "edited in place");
    assert!(edited.1.contains("not committed"), "{}", edited.1);
    git(&c.root, &["checkout", "--", "."]);
    fs::set_permissions(&patient, fs::Permissions::from_mode(0o600)).unwrap();
    settle();
    assert_eq!(report(&c), clean, "back to clean");

    fs::write(c.path("notes.txt"), "x\n").unwrap();
    fs::set_permissions(c.path("notes.txt"), fs::Permissions::from_mode(0o600)).unwrap();
    let untracked = same_with_and_without_cache(&c, "untracked file");
    assert!(untracked.1.contains("notes.txt"), "{}", untracked.1);
    fs::remove_file(c.path("notes.txt")).unwrap();
    settle();
    assert_eq!(report(&c), clean);

    // Only git's own files change: the branch moves back one commit.
    c.ok(&[
        "patient",
        "add",
        "--first",
        "Jo",
        "--last",
        "Roe",
        "--dob",
        "1990-01-02",
        "--sex",
        "M",
    ]);
    settle();
    let added = report(&c);
    assert_eq!(added.0, 0, "{added:?}");
    git(&c.root, &["reset", "--soft", "HEAD~1"]);
    let reset = same_with_and_without_cache(&c, "branch moved");
    assert!(reset.1.contains("not committed"), "{}", reset.1);
    git(&c.root, &["commit", "-q", "-m", "Add patient."]);
    settle();
    assert_eq!(report(&c).0, 0);

    // Only the index changes: a file unstaged by hand.
    let rel = c
        .files()
        .into_iter()
        .find(|f| f.starts_with("payers/"))
        .unwrap();
    git(&c.root, &["rm", "-q", "--cached", &rel]);
    let unstaged = same_with_and_without_cache(&c, "index changed");
    assert!(unstaged.1.contains(&rel), "{}", unstaged.1);
}

#[test]
fn a_remembered_clean_status_is_not_asked_again_and_git_s_index_is_left_alone() {
    let c = clinic();
    settle();
    assert_eq!(report(&c).0, 0);
    assert!(
        git_note(&c).exists(),
        "a settled clean status is remembered"
    );
    let index = c.path(".git/index");
    let stamp = || fs::metadata(&index).unwrap().modified().unwrap();
    let before = stamp();
    let (again, asked) = report_tracing_git(&c);
    assert_eq!(again.0, 0, "{again:?}");
    assert!(!asked, "git status ran again on an unchanged tree");
    assert_eq!(stamp(), before, "check rewrote git's index");
}

/// `check`'s report, and whether it worked out git's status again, by `git status` or by
/// streaming the index (which reads HEAD's trees through `git cat-file`); git writes every
/// command it starts to GIT_TRACE.
fn report_tracing_git(c: &Clinic) -> ((i32, String, String), bool) {
    let trace = c.path("../git-trace.log");
    fs::remove_file(&trace).ok();
    let mut cmd = c.cmd();
    cmd.env("GIT_TRACE", &trace);
    let report = report_of(cmd);
    let traced = fs::read_to_string(&trace).unwrap_or_default();
    let asked = traced.contains(" status") || traced.contains("cat-file --batch");
    (report, asked)
}

/// The first patient's ID in the clinic.
fn first_patient(c: &Clinic) -> String {
    let file = nth_file(c, "patients/", 0);
    file.file_stem().unwrap().to_string_lossy().into_owned()
}

#[test]
fn frontdesk_s_own_commits_keep_the_clean_note_so_check_asks_git_nothing() {
    let c = clinic();
    settle();
    assert_eq!(report(&c).0, 0);
    let p = first_patient(&c);
    // New files in new and existing folders, a file replaced, a ledger entry in a new day.
    c.ok(&ADD_ANN);
    c.ok(&["patient", "update", &p, "--notes", "called about the bill"]);
    c.ok(&[
        "pay",
        "collect",
        "--patient",
        &p,
        "--amount",
        "12.50",
        "--method",
        "cash",
    ]);
    let (after, asked) = report_tracing_git(&c);
    assert!(!asked, "git status ran after frontdesk's own commits");
    assert_eq!(after.0, 0, "{after:?}");
    // The same answer git gives.
    fs::remove_file(git_note(&c)).unwrap();
    let (fresh, asked) = report_tracing_git(&c);
    assert!(asked);
    assert_eq!(fresh, after);

    // A file edited by hand right after a frontdesk commit is seen: git is asked.
    settle();
    assert_eq!(report(&c).0, 0);
    c.ok(&["patient", "update", &p, "--notes", "called again"]);
    let other = nth_file(&c, "patients/", 1);
    let text = fs::read_to_string(&other).unwrap();
    fs::write(&other, format!("{text}\n")).unwrap();
    let (edited, asked) = report_tracing_git(&c);
    assert!(asked, "an edit by hand must send check to git");
    assert!(edited.1.contains("not committed"), "{}", edited.1);
    git(&c.root, &["checkout", "--", "."]);
    fs::set_permissions(&other, fs::Permissions::from_mode(0o600)).unwrap();

    // A change staged by hand after a frontdesk commit is seen.
    settle();
    assert_eq!(report(&c).0, 0);
    c.ok(&["patient", "update", &p, "--notes", "third call"]);
    let text = fs::read_to_string(&other).unwrap();
    fs::write(&other, format!("{text}\n")).unwrap();
    git(&c.root, &["add", "--", "."]);
    fs::write(&other, &text).unwrap();
    let (staged, asked) = report_tracing_git(&c);
    assert!(asked, "a staged change must send check to git");
    assert!(staged.1.contains("not committed"), "{}", staged.1);
}

#[test]
fn a_git_change_before_a_frontdesk_commit_drops_the_note() {
    let c = clinic();
    settle();
    assert_eq!(report(&c).0, 0);
    // Staged by hand, then frontdesk commits something else: the staged file is not in the
    // tree's fingerprint, only in git's, which the transaction must not carry over.
    let other = nth_file(&c, "patients/", 1);
    let text = fs::read_to_string(&other).unwrap();
    fs::write(&other, format!("{text}\n")).unwrap();
    git(&c.root, &["add", "--", "."]);
    fs::write(&other, &text).unwrap();
    fs::set_permissions(&other, fs::Permissions::from_mode(0o600)).unwrap();
    c.ok(&[
        "patient",
        "add",
        "--first",
        "Bo",
        "--last",
        "Ng",
        "--dob",
        "1981-05-06",
        "--sex",
        "M",
    ]);
    let (after, asked) = report_tracing_git(&c);
    assert!(
        asked,
        "the note must not survive a change git saw before the commit"
    );
    assert!(after.1.contains("not committed"), "{}", after.1);
}

/// The names of the check cache's files, of whichever key.
fn cache_names(c: &Clinic) -> Vec<String> {
    cache_files(c)
        .keys()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_cache_is_one_file_per_kind_and_year_and_a_year_gone_is_swept() {
    let c = Clinic::generated(20, Some(1000)); // several days of appointments
    settle();
    let first = report(&c);
    assert_eq!(first.0, 0, "{first:?}");
    let days: std::collections::BTreeSet<PathBuf> = c
        .files()
        .iter()
        .filter(|f| f.starts_with("appointments/"))
        .map(|f| PathBuf::from(f).parent().unwrap().to_path_buf())
        .collect();
    assert!(days.len() > 1, "{days:?}");
    let names = cache_names(&c);
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("appointments"))
            .collect::<Vec<_>>(),
        ["appointments%2F2026.bin"],
        "one file holds every day of the year"
    );
    let year = cache_files(&c)
        .into_iter()
        .find(|(p, _)| p.ends_with("appointments%2F2026.bin"))
        .unwrap()
        .1
        .0;
    // magic, header length, then the header: the scan time and the number of sections.
    let sections = u32::from_le_bytes(year[20..24].try_into().unwrap());
    assert_eq!(sections as usize, days.len(), "a section per day folder");
    for kind in ["frontdesk.toml", "patients", "payers", "providers"] {
        assert!(names.contains(&format!("{kind}.bin")), "{kind}: {names:?}");
    }
    // A year with a day in it by hand (the file misplaced there), then gone again.
    let day = days.iter().next().unwrap();
    let moved = c.path("appointments/2027/01/04");
    fs::create_dir_all(&moved).unwrap();
    for dir in [
        "appointments/2027",
        "appointments/2027/01",
        "appointments/2027/01/04",
    ] {
        fs::set_permissions(c.path(dir), fs::Permissions::from_mode(0o700)).unwrap();
    }
    let one = fs::read_dir(c.root.join(day))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    fs::rename(one.path(), moved.join(one.file_name())).unwrap();
    let misplaced = same_with_and_without_cache(&c, "a day of another year");
    assert_eq!(misplaced.0, 2, "{misplaced:?}");
    assert!(cache_names(&c).contains(&"appointments%2F2027.bin".to_string()));
    fs::rename(moved.join(one.file_name()), one.path()).unwrap();
    fs::remove_dir_all(c.path("appointments/2027")).unwrap();
    settle();
    assert_eq!(report(&c), first);
    assert_eq!(
        cache_names(&c),
        names,
        "the year's file is swept with its folder"
    );
}

#[test]
fn a_hand_edit_rewrites_only_its_group_s_file() {
    let c = clinic();
    settle();
    let first = report(&c);
    let before = cache_files(&c);
    std::thread::sleep(Duration::from_millis(20));
    swap_first_letter_of_given_name(&c);
    let edited = report(&c);
    assert_ne!(edited, first, "the edit is uncommitted");
    let after = cache_files(&c);
    let changed: Vec<String> = after
        .iter()
        .filter(|(path, kept)| before.get(*path) != Some(*kept))
        .map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(changed, ["patients.bin"]);
    assert_eq!(after.len(), before.len());
}
