//! The appointment index: which patient each appointment belongs to and on which day it lies,
//! so finding an appointment by ID or listing a patient's history never walks ten years of
//! files.
//!
//! Design (see docs/scheduling.md): one small text file per year under
//! `.frontdesk/index/appointments-YYYY.tsv` (ignored by git, disposable). Each line is one day
//! directory: its date, the directory's modification time, and the `ID:PATIENT` pairs in it.
//! Every write through the store replaces files by rename, which changes the day directory's
//! mtime, so validating a year costs one `stat` per day directory (about 3,650 for ten years),
//! not one per appointment. A day whose directory changed at or after the moment its line was
//! written is re-read (git's racy-timestamp rule). A missing or corrupt file is rebuilt.
//!
//! A lookup by ID first trusts the index without validating it (the file itself is then read and
//! its ID checked), and only on a miss validates and retries, so `schedule move ID` reads one
//! index file and one appointment.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::id::Id;
use crate::error::Result;
use crate::store::schedule::{day_dirs, years};
use crate::store::{STATE_DIR, Store, atomic, files_with_ext, parse_toml};

const MAGIC: &str = "frontdesk-appointments 1";

/// One day directory as last seen.
#[derive(Debug, Clone, PartialEq)]
struct Day {
    mtime: i128,
    /// (appointment, patient)
    entries: Vec<(Id, Id)>,
}

#[derive(Debug, Default)]
struct YearIndex {
    scanned_at: i128,
    days: BTreeMap<NaiveDate, Day>,
}

fn index_path(store: &Store, year: i32) -> PathBuf {
    store
        .path(Path::new(STATE_DIR))
        .join("index")
        .join(format!("appointments-{year:04}.tsv"))
}

fn mtime_ns(meta: &fs::Metadata) -> i128 {
    meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128
}

fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

fn load(path: &Path) -> Option<YearIndex> {
    let text = fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let head = lines.next()?;
    let scanned_at = head.strip_prefix(MAGIC)?.trim().parse().ok()?;
    let mut days = BTreeMap::new();
    for line in lines {
        let mut f = line.split('\t');
        let date: NaiveDate = f.next()?.parse().ok()?;
        let mtime: i128 = f.next()?.parse().ok()?;
        let mut entries = Vec::new();
        for pair in f.next().unwrap_or("").split(' ').filter(|p| !p.is_empty()) {
            let (a, p) = pair.split_once(':')?;
            entries.push((Id::parse(a).ok()?, Id::parse(p).ok()?));
        }
        days.insert(date, Day { mtime, entries });
    }
    Some(YearIndex { scanned_at, days })
}

fn save(path: &Path, idx: &YearIndex) -> Result<()> {
    let mut s = format!("{MAGIC} {}\n", idx.scanned_at);
    for (date, day) in &idx.days {
        s.push_str(&format!("{date}\t{}\t", day.mtime));
        for (i, (a, p)) in day.entries.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&format!("{a}:{p}"));
        }
        s.push('\n');
    }
    atomic::write(path, s.as_bytes(), atomic::Mode::Replace)
}

/// Only what the index needs from a file; the rest is not even looked at by serde.
#[derive(Deserialize)]
struct Head {
    id: Id,
    patient: Id,
}

fn read_day(dir: &Path) -> Result<Vec<(Id, Id)>> {
    let mut out = Vec::new();
    for path in files_with_ext(dir, "toml")? {
        let Ok(bytes) = fs::read(&path) else { continue };
        // A broken file is reported by the command that reads it, not by the index.
        if let Ok(h) = parse_toml::<Head>(&path, &bytes) {
            out.push((h.id, h.patient));
        }
    }
    Ok(out)
}

/// Brings one year's index up to date with the day directories on disk.
fn refresh_year(store: &Store, year: i32) -> Result<YearIndex> {
    let path = index_path(store, year);
    let old = load(&path).unwrap_or_default();
    let scan_start = now_ns();
    let mut fresh = YearIndex {
        scanned_at: scan_start,
        days: BTreeMap::new(),
    };
    let mut changed = false;
    for (date, dir) in day_dirs(store, year)? {
        let Ok(meta) = fs::metadata(&dir) else {
            continue;
        };
        let mtime = mtime_ns(&meta);
        match old.days.get(&date) {
            Some(d) if d.mtime == mtime && mtime < old.scanned_at => {
                fresh.days.insert(date, d.clone());
            }
            _ => {
                changed = true;
                let entries = read_day(&dir)?;
                fresh.days.insert(date, Day { mtime, entries });
            }
        }
    }
    if changed || fresh.days.len() != old.days.len() {
        // A cache that cannot be written only costs speed next time.
        let _ = save(&path, &fresh);
    } else {
        fresh.scanned_at = old.scanned_at;
    }
    Ok(fresh)
}

/// The day an appointment is filed under, or `None` when no such appointment exists.
pub fn date_of(store: &Store, id: &Id) -> Result<Option<NaiveDate>> {
    let all = years(store)?;
    // Fast path: trust the index as it stands, then confirm that the file is really there.
    for &y in &all {
        if let Some(idx) = load(&index_path(store, y))
            && let Some(date) = find_in(&idx, id)
            && store.path(&Store::appointment_rel(date, id)).is_file()
        {
            return Ok(Some(date));
        }
    }
    for &y in &all {
        if let Some(date) = find_in(&refresh_year(store, y)?, id) {
            return Ok(Some(date));
        }
    }
    Ok(None)
}

fn find_in(idx: &YearIndex, id: &Id) -> Option<NaiveDate> {
    idx.days
        .iter()
        .find(|(_, d)| d.entries.iter().any(|(a, _)| a == id))
        .map(|(date, _)| *date)
}

/// Every (day, appointment) of one patient, validated against the day directories.
pub fn of_patient(store: &Store, patient: &Id) -> Result<Vec<(NaiveDate, Id)>> {
    let mut out = Vec::new();
    for y in years(store)? {
        let idx = refresh_year(store, y)?;
        for (date, day) in &idx.days {
            for (a, p) in &day.entries {
                if p == patient {
                    out.push((*date, a.clone()));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Deletes every appointment index file; the next lookup rebuilds what it needs.
pub fn remove(store: &Store) -> Result<()> {
    let dir = store.path(Path::new(STATE_DIR)).join("index");
    let Ok(rd) = fs::read_dir(&dir) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("appointments-") {
            let _ = fs::remove_file(e.path());
        }
    }
    Ok(())
}
