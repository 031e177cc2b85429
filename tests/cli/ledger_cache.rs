//! The two caches of parsed ledger entries are disposable: the ledger cache
//! (`.frontdesk/ledger-cache/`, a patient shard a file) behind `pay statement --all-due`, and
//! the per-patient entry cache (`.frontdesk/patient-ledger/`) behind `report daily` and every
//! command about one patient's ledger (`pay ledger`, `pay balance`, `pay collect`). Each
//! command's answer is byte for byte the same with its cache, without it, with it corrupt or cut
//! short, and after entry files are edited (even keeping their size and modification time),
//! added or deleted behind the tool's back. The same questions are asked of both caches
//! ([`EntryCache`]).

use std::fmt::Debug;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::harness::*;
use crate::parallel::{contents, entries, generated, patient_of, rel};

const NOW: &str = "2026-11-27";

/// A cache of parsed entries as the tests see it: the command that reads through it.
trait EntryCache {
    /// The cache's folder.
    const DIR: &str;
    /// The command's answer, compared whole.
    type Answer: PartialEq + Debug;
    /// The command's answer with the cache as it is.
    fn answer(c: &Clinic) -> Self::Answer;
    /// The answer is about enough patients for the questions to mean something.
    fn assert_broad(answer: &Self::Answer);
    /// An entry file the answer reads, and its amount: changing the amount changes what the
    /// answer says of the entry's patient.
    fn telling_entry(c: &Clinic, answer: &Self::Answer) -> (PathBuf, String);
    /// What the answer says of one patient.
    fn of_patient(answer: &Self::Answer, patient: &str) -> String;
    /// The command run once more, its outcome as it is (for a failure).
    fn run(c: &Clinic) -> Output;
}

/// `pay statement --all-due` through the ledger cache.
struct Statements;

type Run = (String, Vec<(String, Vec<u8>)>);

impl EntryCache for Statements {
    const DIR: &str = ".frontdesk/ledger-cache";
    type Answer = Run;
    fn answer(c: &Clinic) -> Run {
        statements(c, "mail")
    }
    fn assert_broad(run: &Run) {
        assert!(due(run).len() >= 10, "{}", run.0);
    }
    fn telling_entry(c: &Clinic, run: &Run) -> (PathBuf, String) {
        charge_of_someone_due(c, run)
    }
    fn of_patient(run: &Run, patient: &str) -> String {
        format!("{:?}", statement_of(run, patient))
    }
    fn run(c: &Clinic) -> Output {
        c.cmd()
            .env("FRONTDESK_NOW", NOW)
            .args(["pay", "statement", "--all-due", "-o"])
            .arg(c.dir.path().join("mail"))
            .output()
            .unwrap()
    }
}

/// `report daily` through the per-patient entry cache.
struct Daily;

/// The office's clock and the day reported on, a few days before it.
const DAILY_NOW: &str = "2026-11-27T08:00:00-05:00";
const DAY: &str = "2026-11-24";

impl EntryCache for Daily {
    const DIR: &str = ".frontdesk/patient-ledger";
    type Answer = String;
    fn answer(c: &Clinic) -> String {
        let out = c
            .cmd()
            .env("FRONTDESK_NOW", DAILY_NOW)
            .args(["--format", "json", "report", "daily", DAY])
            .output()
            .unwrap();
        expect_ok(&[], out)
    }
    fn assert_broad(report: &String) {
        assert!(report.matches("\"appointment\"").count() >= 20, "{report}");
    }
    fn telling_entry(c: &Clinic, report: &String) -> (PathBuf, String) {
        entries(c)
            .into_iter()
            .find_map(|f| {
                let text = fs::read_to_string(&f).unwrap();
                let amount = amount_of(&text)?;
                let p = patient_of(&f);
                (text.contains("kind = \"payment\"")
                    && report.contains(&p)
                    && owes(report, &p) != "0.00")
                    .then_some((f, amount))
            })
            .expect("a payment of a patient of the day owing money")
    }
    fn of_patient(report: &String, patient: &str) -> String {
        owes(report, patient)
    }
    fn run(c: &Clinic) -> Output {
        c.cmd()
            .env("FRONTDESK_NOW", DAILY_NOW)
            .args(["report", "daily", DAY])
            .output()
            .unwrap()
    }
}

/// `pay ledger PATIENT` through the per-patient entry cache, for the patient with the most
/// payments (chosen once per clinic and kept beside it, so that the entries the questions
/// add and delete do not change whose ledger is asked for).
struct Ledger;

fn ledger_patient(c: &Clinic) -> String {
    let kept = c.dir.path().join("ledger-patient");
    if let Ok(p) = fs::read_to_string(&kept) {
        return p;
    }
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for f in entries(c) {
        if fs::read_to_string(&f)
            .unwrap()
            .contains("kind = \"payment\"")
        {
            *counts.entry(patient_of(&f)).or_default() += 1;
        }
    }
    let (p, _) = counts
        .into_iter()
        .max_by_key(|(p, n)| (*n, std::cmp::Reverse(p.clone())))
        .expect("the clinic has payments");
    fs::write(&kept, &p).unwrap();
    p
}

impl EntryCache for Ledger {
    const DIR: &str = ".frontdesk/patient-ledger";
    /// The patient and their ledger as JSON.
    type Answer = (String, String);
    fn answer(c: &Clinic) -> (String, String) {
        let p = ledger_patient(c);
        let out = c
            .cmd()
            .env("FRONTDESK_NOW", DAILY_NOW)
            .args(["--format", "json", "pay", "ledger", &p])
            .output()
            .unwrap();
        let ledger = expect_ok(&[], out);
        (p, ledger)
    }
    fn assert_broad((_, ledger): &(String, String)) {
        let v: serde_json::Value = serde_json::from_str(ledger).unwrap();
        assert!(v.as_array().is_some_and(|a| a.len() >= 5), "{ledger}");
    }
    fn telling_entry(c: &Clinic, (p, _): &(String, String)) -> (PathBuf, String) {
        entries(c)
            .into_iter()
            .find_map(|f| {
                let text = fs::read_to_string(&f).unwrap();
                (&patient_of(&f) == p && text.contains("kind = \"payment\""))
                    .then(|| amount_of(&text).map(|a| (f, a)))
                    .flatten()
            })
            .expect("a payment of the patient")
    }
    fn of_patient((p, ledger): &(String, String), patient: &str) -> String {
        assert_eq!(p, patient, "the question is about the answered patient");
        ledger.clone()
    }
    fn run(c: &Clinic) -> Output {
        c.cmd()
            .env("FRONTDESK_NOW", DAILY_NOW)
            .args(["pay", "ledger", &ledger_patient(c)])
            .output()
            .unwrap()
    }
}

/// What the daily report says patient `p` owes, from its visit rows.
fn owes(report: &str, p: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(report).unwrap();
    v["visits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["patient"] == p)
        .map(|r| r["owes"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{p} has no visit in the report"))
}

fn amount_of(entry: &str) -> Option<String> {
    Some(
        entry
            .lines()
            .find_map(|l| l.strip_prefix("amount = \""))?
            .strip_suffix('"')?
            .to_string(),
    )
}

/// The answer with the cache as it is, then with it deleted: they must be the same.
fn same_with_and_without_cache<C: EntryCache>(c: &Clinic) -> C::Answer {
    let cached = C::answer(c);
    let _ = fs::remove_dir_all(c.path(C::DIR));
    assert_eq!(cached, C::answer(c), "with and without {}", C::DIR);
    cached
}

fn cache_files<C: EntryCache>(c: &Clinic) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(c.path(C::DIR))
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    out.sort();
    out
}

fn the_same_with_the_cache_deleted_corrupt_or_cut_short<C: EntryCache>() {
    let c = generated();
    // Older than the racy window, so the cache trusts the files it has read.
    std::thread::sleep(Duration::from_millis(2100));
    let first = C::answer(&c);
    C::assert_broad(&first);
    let files = cache_files::<C>(&c);
    assert!(!files.is_empty(), "the command leaves a cache");
    let inodes: Vec<u64> = files
        .iter()
        .map(|f| fs::metadata(f).unwrap().ino())
        .collect();

    // Nothing changed: the cache is used as it is and not rewritten.
    assert_eq!(C::answer(&c), first);
    let after: Vec<u64> = files
        .iter()
        .map(|f| fs::metadata(f).unwrap().ino())
        .collect();
    assert_eq!(inodes, after, "an unchanged cache is not rewritten");

    // The biggest file, a byte flipped here and there: its checksums catch it ...
    let big = files
        .iter()
        .max_by_key(|f| fs::metadata(f).unwrap().len())
        .unwrap();
    let bytes = fs::read(big).unwrap();
    for at in [0, 9, 20, bytes.len() / 2, bytes.len() - 9, bytes.len() - 1] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x41;
        fs::write(big, &bad).unwrap();
        assert_eq!(C::answer(&c), first, "byte {at} flipped");
    }
    // ... and so are files cut short, emptied or replaced by garbage.
    for f in &files {
        let bytes = fs::read(f).unwrap();
        fs::write(f, &bytes[..bytes.len() / 2]).unwrap();
    }
    assert_eq!(C::answer(&c), first, "cut short");
    for (i, f) in cache_files::<C>(&c).iter().enumerate() {
        fs::write(f, if i % 2 == 0 { &b""[..] } else { b"garbage" }).unwrap();
    }
    assert_eq!(C::answer(&c), first, "garbage");
    assert_eq!(same_with_and_without_cache::<C>(&c), first);
}

fn entries_edited_added_or_deleted_by_hand_are_seen_through_the_cache<C: EntryCache>() {
    let c = generated();
    std::thread::sleep(Duration::from_millis(2100));
    let before = same_with_and_without_cache::<C>(&c);
    // The cache now holds every entry read, settled.
    assert_eq!(C::answer(&c), before);

    // Edited in place, same size, modification time put back: only the change time tells.
    let (file, amount) = C::telling_entry(&c, &before);
    let patient = patient_of(&file);
    let text = fs::read_to_string(&file).unwrap();
    let edited = change_amount_in_place(&file, &amount);
    let after_edit = same_with_and_without_cache::<C>(&c);
    assert_ne!(
        C::of_patient(&after_edit, &patient),
        C::of_patient(&before, &patient),
        "the edited entry shows for {patient}"
    );

    // Added by hand: a copy of the edited entry under a new ID in the same day folder.
    let copy = copy_under_a_new_id(&file, &edited);
    let after_add = same_with_and_without_cache::<C>(&c);
    assert_ne!(
        C::of_patient(&after_add, &patient),
        C::of_patient(&after_edit, &patient),
        "the added entry counts"
    );

    // Deleted by hand, and the edit undone: the answer is what it was at first ...
    fs::remove_file(&copy).unwrap();
    fs::write(&file, &text).unwrap();
    assert_eq!(same_with_and_without_cache::<C>(&c), before);
    // ... until the entry itself is deleted.
    fs::remove_file(&file).unwrap();
    let after_delete = same_with_and_without_cache::<C>(&c);
    assert_ne!(
        C::of_patient(&after_delete, &patient),
        C::of_patient(&before, &patient),
        "the deleted entry is gone"
    );
}

fn a_cached_entry_broken_by_hand_is_reported_with_its_file_and_line<C: EntryCache>() {
    let c = generated();
    std::thread::sleep(Duration::from_millis(2100));
    let first = C::answer(&c);
    assert!(!cache_files::<C>(&c).is_empty());
    let (file, _) = C::telling_entry(&c, &first);
    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str("amount = oops\n");
    fs::write(&file, &text).unwrap();
    let want = format!("{}:{}:", rel(&c, &file), text.lines().count());
    for _ in 0..2 {
        let out = C::run(&c);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(&want), "{want} in {err}");
        assert!(!err.contains("oops"), "the value is not echoed: {err}");
    }
}

/// Each question, asked of each cache.
macro_rules! asked_of_each_cache {
    ($($question:ident),*) => {
        mod statements {
            $(#[test]
            fn $question() {
                super::$question::<super::Statements>();
            })*
        }
        mod daily {
            $(#[test]
            fn $question() {
                super::$question::<super::Daily>();
            })*
        }
        mod ledger {
            $(#[test]
            fn $question() {
                super::$question::<super::Ledger>();
            })*
        }
    };
}

asked_of_each_cache!(
    the_same_with_the_cache_deleted_corrupt_or_cut_short,
    entries_edited_added_or_deleted_by_hand_are_seen_through_the_cache,
    a_cached_entry_broken_by_hand_is_reported_with_its_file_and_line
);

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
            let amount = amount_of(&text)?;
            (text.contains("kind = \"charge\"") && one_service && due.contains(&patient_of(&f)))
                .then_some((f, amount))
        })
        .expect("a charge of a patient owing money")
}

/// Changes the first digit of `amount` in `file`, keeping its size and putting its
/// modification time back, so only the change time tells; returns the new text.
fn change_amount_in_place(file: &Path, amount: &str) -> String {
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
fn copy_under_a_new_id(file: &Path, text: &str) -> PathBuf {
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
    let before = same_with_and_without_cache::<Statements>(&c);
    // Edited in place behind the cache, modification time put back.
    let (file, amount) = charge_of_someone_due(&c, &before);
    change_amount_in_place(&file, &amount);
    // 1,024 files are kept free for the rest of the run: no room, room for half, room for all.
    let runs: Vec<Run> = [600, 1024 + days / 2, 1024 + days + 64]
        .into_iter()
        .enumerate()
        .map(|(i, limit)| statements_with_file_limit(&c, &format!("limit{i}"), limit))
        .collect();
    let after = same_with_and_without_cache::<Statements>(&c);
    assert_ne!(after, before, "the edit shows");
    for run in runs {
        assert_eq!(run, after);
    }
}
