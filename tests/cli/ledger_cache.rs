//! The ledger cache (`.frontdesk/ledger-cache/`) behind `pay statement --all-due` is
//! disposable: statements are byte for byte the same with it, without it, with it corrupt or
//! cut short, and after entry files are edited, added or deleted behind the tool's back.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::*;
use crate::parallel::{contents, entries, generated, patient_of, rel};

const NOW: &str = "2026-11-27";
const CACHE: &str = ".frontdesk/ledger-cache";

type Run = (String, Vec<(String, Vec<u8>)>);

/// `pay statement --all-due` into a fresh folder `name`: the listing (folder name left out)
/// and every statement's bytes.
fn statements(c: &Clinic, name: &str) -> Run {
    let dir = c.dir.path().join(name);
    let _ = fs::remove_dir_all(&dir);
    let out = c
        .cmd()
        .env("FRONTDESK_NOW", NOW)
        .args(["pay", "statement", "--all-due", "--as", "text", "-o"])
        .arg(&dir)
        .output()
        .unwrap();
    run_of(out, name, &dir)
}

/// A statement run's listing (folder name left out) and every statement's bytes.
fn run_of(out: std::process::Output, name: &str, dir: &Path) -> Run {
    let listing = expect_ok(&[], out).replace(name, "mail");
    (listing, contents(dir))
}

/// Statements with the cache as it is, then with it deleted: they must be the same.
fn same_with_and_without_cache(c: &Clinic) -> Run {
    let cached = statements(c, "cached");
    fs::remove_dir_all(c.path(CACHE)).unwrap();
    let fresh = statements(c, "fresh");
    assert_eq!(
        cached, fresh,
        "statements with and without the ledger cache"
    );
    cached
}

fn cache_files(c: &Clinic) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(c.path(CACHE))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    out.sort();
    out
}

/// Patients a statement was written for, from a run's listing.
fn due(run: &Run) -> Vec<String> {
    run.1
        .iter()
        .map(|(name, _)| name.strip_suffix(".txt").unwrap().to_string())
        .collect()
}

/// A one-service charge of a patient owing money, and its amount.
fn charge_of_someone_due(c: &Clinic, run: &Run) -> (PathBuf, String) {
    let due = due(run);
    entries(c)
        .into_iter()
        .find_map(|f| {
            let text = fs::read_to_string(&f).unwrap();
            let one_service = text.matches("[[services]]").count() == 1;
            let amount = text
                .lines()
                .find_map(|l| l.strip_prefix("amount = \""))?
                .strip_suffix('"')?
                .to_string();
            (text.contains("kind = \"charge\"") && one_service && due.contains(&patient_of(&f)))
                .then_some((f, amount))
        })
        .expect("a charge of a patient owing money")
}

/// Changes the first digit of `amount` in `file`, keeping its size and putting its
/// modification time back, so only the change time tells; returns the new text.
pub(crate) fn change_amount_in_place(file: &Path, amount: &str) -> String {
    let text = fs::read_to_string(file).unwrap();
    let other = format!(
        "{}{}",
        if amount.starts_with('9') { '8' } else { '9' },
        &amount[1..]
    );
    let edited = text.replace(&format!("\"{amount}\""), &format!("\"{other}\""));
    assert_eq!(edited.len(), text.len());
    let modified = fs::metadata(file).unwrap().modified().unwrap();
    fs::write(file, &edited).unwrap();
    fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    assert_eq!(fs::metadata(file).unwrap().modified().unwrap(), modified);
    edited
}

/// Writes `text`, an entry of `file`, under a new ID beside it (as if added by hand); returns
/// the new file.
pub(crate) fn copy_under_a_new_id(file: &Path, text: &str) -> PathBuf {
    let id = file.file_stem().unwrap().to_str().unwrap().to_string();
    let new_id = format!(
        "{}{}",
        &id[..id.len() - 1],
        if id.ends_with('Z') { 'Y' } else { 'Z' }
    );
    let copy = file.with_file_name(format!("{new_id}.toml"));
    fs::write(&copy, text.replace(&id, &new_id)).unwrap();
    copy
}

#[test]
fn statements_are_the_same_with_the_cache_deleted_corrupt_or_cut_short() {
    let c = generated();
    // Older than the racy window, so the cache trusts the files it has read.
    std::thread::sleep(Duration::from_millis(2100));
    let first = statements(&c, "first");
    assert!(due(&first).len() >= 10, "{}", first.0);
    let files = cache_files(&c);
    assert!(!files.is_empty(), "the run leaves a ledger cache");
    let inodes: Vec<u64> = files
        .iter()
        .map(|f| fs::metadata(f).unwrap().ino())
        .collect();

    // Nothing changed: the cache is used as it is and not rewritten.
    assert_eq!(statements(&c, "again"), first);
    let after: Vec<u64> = files
        .iter()
        .map(|f| fs::metadata(f).unwrap().ino())
        .collect();
    assert_eq!(inodes, after, "an unchanged cache is not rewritten");

    // Every byte of a shard file flipped in turn is caught (the layout's checksums) ...
    let bytes = fs::read(&files[0]).unwrap();
    for at in [0, 9, bytes.len() / 2, bytes.len() - 1] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x41;
        fs::write(&files[0], &bad).unwrap();
        assert_eq!(statements(&c, "flipped"), first, "byte {at} flipped");
    }
    // ... and so are files cut short, emptied or replaced by garbage.
    for f in &files {
        let bytes = fs::read(f).unwrap();
        fs::write(f, &bytes[..bytes.len() / 2]).unwrap();
    }
    assert_eq!(statements(&c, "truncated"), first);
    for (i, f) in cache_files(&c).iter().enumerate() {
        fs::write(f, if i % 2 == 0 { &b""[..] } else { b"garbage" }).unwrap();
    }
    assert_eq!(statements(&c, "garbage"), first);
    assert_eq!(same_with_and_without_cache(&c), first);
}

#[test]
fn entries_edited_added_or_deleted_by_hand_are_seen_through_the_cache() {
    let c = generated();
    std::thread::sleep(Duration::from_millis(2100));
    let before = same_with_and_without_cache(&c);

    // Edited in place, same size, modification time put back: only the change time tells.
    let (file, amount) = charge_of_someone_due(&c, &before);
    let patient = patient_of(&file);
    let text = fs::read_to_string(&file).unwrap();
    let edited = change_amount_in_place(&file, &amount);
    let after_edit = same_with_and_without_cache(&c);
    assert_ne!(
        statement_of(&after_edit, &patient),
        statement_of(&before, &patient),
        "the edited charge shows on the statement"
    );

    // Added by hand: a copy of that charge under a new ID in the same day folder.
    let copy = copy_under_a_new_id(&file, &edited);
    let after_add = same_with_and_without_cache(&c);
    assert_ne!(
        statement_of(&after_add, &patient),
        statement_of(&after_edit, &patient),
        "the added charge shows on the statement"
    );

    // Deleted by hand: both files gone, the statement is what it was at first except for
    // the edit undone.
    fs::remove_file(&copy).unwrap();
    fs::write(&file, &text).unwrap();
    assert_eq!(same_with_and_without_cache(&c), before);
    fs::remove_file(&file).unwrap();
    let after_delete = same_with_and_without_cache(&c);
    assert_ne!(
        statement_of(&after_delete, &patient),
        statement_of(&before, &patient),
        "the deleted charge is gone from the statement"
    );
}

#[test]
fn a_cached_entry_broken_by_hand_is_reported_with_its_file_and_line() {
    let c = generated();
    std::thread::sleep(Duration::from_millis(2100));
    statements(&c, "first");
    assert!(!cache_files(&c).is_empty());
    let file = entries(&c)[7].clone();
    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str("amount = oops\n");
    fs::write(&file, &text).unwrap();
    let want = format!("{}:{}:", rel(&c, &file), text.lines().count());
    for _ in 0..2 {
        let out = c
            .cmd()
            .env("FRONTDESK_NOW", NOW)
            .args(["pay", "statement", "--all-due", "-o"])
            .arg(c.dir.path().join("mail"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(&want), "{want} in {err}");
    }
}

fn statement_of<'a>(run: &'a Run, patient: &str) -> Option<&'a [u8]> {
    run.1
        .iter()
        .find(|(name, _)| Path::new(name).file_stem().unwrap() == patient)
        .map(|(_, b)| b.as_slice())
}

/// [`statements`] under an open-file limit of `limit` (soft and hard), so that not every day
/// folder of the ledger can be kept open and entries are stat'ed by their path instead.
fn statements_with_file_limit(c: &Clinic, name: &str, limit: usize) -> Run {
    let dir = c.dir.path().join(name);
    let _ = fs::remove_dir_all(&dir);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
        .arg(assert_cmd::cargo::cargo_bin("frontdesk"))
        .arg("--records")
        .arg(&c.root)
        .args(["pay", "statement", "--all-due", "--as", "text", "-o"])
        .arg(&dir)
        .env("FRONTDESK_NOW", NOW)
        .env("FRONTDESK_USER", "testclerk")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    run_of(out, name, &dir)
}

#[test]
fn entries_are_checked_the_same_whether_their_day_folders_are_kept_open_or_not() {
    let c = generated();
    let days = walkdir::WalkDir::new(c.path("ledger"))
        .min_depth(3)
        .max_depth(3)
        .into_iter()
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_type().is_dir()))
        .count();
    assert!(days > 10, "{days}");
    std::thread::sleep(Duration::from_millis(2100));
    let before = same_with_and_without_cache(&c);
    // Edited in place behind the cache, modification time put back.
    let (file, amount) = charge_of_someone_due(&c, &before);
    change_amount_in_place(&file, &amount);
    // 1,024 files are kept free for the rest of the run: no room, room for half, room for all.
    let runs: Vec<Run> = [600, 1024 + days / 2, 1024 + days + 64]
        .into_iter()
        .enumerate()
        .map(|(i, limit)| statements_with_file_limit(&c, &format!("limit{i}"), limit))
        .collect();
    let after = same_with_and_without_cache(&c);
    assert_ne!(after, before, "the edit shows");
    for run in runs {
        assert_eq!(run, after);
    }
}
