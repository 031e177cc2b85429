//! `report daily` reads the day's patients' ledgers through the per-patient entry cache
//! (`.frontdesk/patient-ledger/`): the report is byte for byte the same with the cache, without
//! it, with it corrupt or cut short, and after entry files are edited (even keeping their size
//! and modification time), added or deleted behind the tool's back.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::harness::*;
use crate::ledger_cache::{change_amount_in_place, copy_under_a_new_id};
use crate::parallel::{entries, generated, patient_of, rel};

const NOW: &str = "2026-11-27T08:00:00-05:00";
const DAY: &str = "2026-11-24";
const CACHE: &str = ".frontdesk/patient-ledger";

/// The day's report as JSON, with the cache as it is.
fn daily(c: &Clinic) -> String {
    let out = c
        .cmd()
        .env("FRONTDESK_NOW", NOW)
        .args(["--format", "json", "report", "daily", DAY])
        .output()
        .unwrap();
    expect_ok(&[], out)
}

/// The report with the cache as it is, then with it deleted: they must be the same.
fn same_with_and_without_cache(c: &Clinic) -> String {
    let cached = daily(c);
    let _ = fs::remove_dir_all(c.path(CACHE));
    assert_eq!(
        cached,
        daily(c),
        "the daily report with and without the cache"
    );
    cached
}

fn cache_files(c: &Clinic) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(c.path(CACHE))
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    out.sort();
    out
}

/// What the report says patient `p` owes, from its visit rows.
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

/// A payment of a patient of the day who owes money, and its amount: changing it changes
/// what the report says they owe.
fn payment_of_someone_owing(c: &Clinic, report: &str) -> (PathBuf, String) {
    entries(c)
        .into_iter()
        .find_map(|f| {
            let text = fs::read_to_string(&f).unwrap();
            let amount = text
                .lines()
                .find_map(|l| l.strip_prefix("amount = \""))?
                .strip_suffix('"')?
                .to_string();
            let p = patient_of(&f);
            (text.contains("kind = \"payment\"")
                && report.contains(&p)
                && owes(report, &p) != "0.00")
                .then_some((f, amount))
        })
        .expect("a payment of a patient of the day owing money")
}

#[test]
fn the_daily_report_is_the_same_with_the_cache_deleted_corrupt_or_cut_short() {
    let c = generated();
    // Older than the racy window, so the cache trusts the files it has read.
    std::thread::sleep(Duration::from_millis(2100));
    let first = daily(&c);
    assert!(first.matches("\"appointment\"").count() >= 20, "{first}");
    let files = cache_files(&c);
    assert!(files.len() >= 10, "one cache file per patient of the day");
    let inodes: Vec<u64> = files
        .iter()
        .map(|f| fs::metadata(f).unwrap().ino())
        .collect();

    // Nothing changed: the cache is used as it is and not rewritten.
    assert_eq!(daily(&c), first);
    let after: Vec<u64> = files
        .iter()
        .map(|f| fs::metadata(f).unwrap().ino())
        .collect();
    assert_eq!(inodes, after, "an unchanged cache is not rewritten");

    // The biggest file, a byte flipped here and there: its checksum catches it.
    let big = files
        .iter()
        .max_by_key(|f| fs::metadata(f).unwrap().len())
        .unwrap();
    let bytes = fs::read(big).unwrap();
    for at in [0, 9, 20, bytes.len() / 2, bytes.len() - 9, bytes.len() - 1] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x41;
        fs::write(big, &bad).unwrap();
        assert_eq!(daily(&c), first, "byte {at} flipped");
    }
    // Files cut short, emptied or replaced by garbage.
    for f in &files {
        let bytes = fs::read(f).unwrap();
        fs::write(f, &bytes[..bytes.len() / 2]).unwrap();
    }
    assert_eq!(daily(&c), first, "cut short");
    for (i, f) in cache_files(&c).iter().enumerate() {
        fs::write(f, if i % 2 == 0 { &b""[..] } else { b"garbage" }).unwrap();
    }
    assert_eq!(daily(&c), first, "garbage");
    assert_eq!(same_with_and_without_cache(&c), first);
}

#[test]
fn entries_edited_added_or_deleted_by_hand_change_the_daily_report() {
    let c = generated();
    std::thread::sleep(Duration::from_millis(2100));
    let before = same_with_and_without_cache(&c);
    // The cache now holds every entry of the day's patients, settled.
    assert_eq!(daily(&c), before);

    // Edited in place, same size, modification time put back: only the change time tells.
    let (file, amount) = payment_of_someone_owing(&c, &before);
    let patient = patient_of(&file);
    let text = fs::read_to_string(&file).unwrap();
    change_amount_in_place(&file, &amount);
    let after_edit = same_with_and_without_cache(&c);
    assert_ne!(
        owes(&after_edit, &patient),
        owes(&before, &patient),
        "the edited payment changes what {patient} owes"
    );

    // Added by hand: a copy of the original payment under a new ID in the same day folder.
    let copy = copy_under_a_new_id(&file, &text);
    let after_add = same_with_and_without_cache(&c);
    assert_ne!(
        owes(&after_add, &patient),
        owes(&after_edit, &patient),
        "the added payment counts"
    );

    // Deleted by hand, and the edit undone: the report is what it was at first.
    fs::remove_file(&copy).unwrap();
    fs::write(&file, &text).unwrap();
    assert_eq!(same_with_and_without_cache(&c), before);
}

#[test]
fn a_cached_entry_broken_by_hand_is_reported_with_its_file_and_line() {
    let c = generated();
    std::thread::sleep(Duration::from_millis(2100));
    let first = daily(&c);
    assert!(!cache_files(&c).is_empty());
    let (file, _) = payment_of_someone_owing(&c, &first);
    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str("amount = oops\n");
    fs::write(&file, &text).unwrap();
    let want = format!("{}:{}:", rel(&c, &file), text.lines().count());
    for _ in 0..2 {
        let out = c
            .cmd()
            .env("FRONTDESK_NOW", NOW)
            .args(["report", "daily", DAY])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(&want), "{want} in {err}");
        assert!(!err.contains("oops"), "the value is not echoed: {err}");
    }
}
