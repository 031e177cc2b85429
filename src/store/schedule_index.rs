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
use rayon::prelude::*;
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
    /// `APPOINTMENT:PATIENT` pairs separated by spaces, kept as text: most lookups only search
    /// it, so parsing a million IDs on every command would be wasted work.
    pairs: String,
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

fn parse(text: &str) -> Option<YearIndex> {
    let mut lines = text.lines();
    let scanned_at = lines.next()?.strip_prefix(MAGIC)?.trim().parse().ok()?;
    let mut days = BTreeMap::new();
    for line in lines {
        let mut f = line.splitn(3, '\t');
        let date: NaiveDate = f.next()?.parse().ok()?;
        let mtime: i128 = f.next()?.parse().ok()?;
        let pairs = f.next().unwrap_or("");
        // Only the shape is checked here; IDs are parsed when a line is actually used.
        if !pairs
            .split(' ')
            .filter(|p| !p.is_empty())
            .all(|p| p.contains(':'))
        {
            return None;
        }
        days.insert(
            date,
            Day {
                mtime,
                pairs: pairs.to_string(),
            },
        );
    }
    Some(YearIndex { scanned_at, days })
}

fn load(path: &Path) -> Option<YearIndex> {
    parse(&fs::read_to_string(path).ok()?)
}

fn save(path: &Path, idx: &YearIndex) -> Result<()> {
    let mut s = format!("{MAGIC} {}\n", idx.scanned_at);
    for (date, day) in &idx.days {
        s.push_str(&format!("{date}\t{}\t{}\n", day.mtime, day.pairs));
    }
    atomic::write(path, s.as_bytes(), atomic::Mode::Replace)
}

/// The (appointment, patient) pairs of a day line; malformed pairs are skipped.
fn pairs(text: &str) -> impl Iterator<Item = (Id, Id)> + '_ {
    text.split(' ').filter_map(|p| {
        let (a, b) = p.split_once(':')?;
        Some((Id::parse(a).ok()?, Id::parse(b).ok()?))
    })
}

/// Only what the index needs from a file; the rest is not even looked at by serde.
#[derive(Deserialize)]
struct Head {
    id: Id,
    patient: Id,
}

fn read_day(dir: &Path) -> Result<String> {
    let mut out: Vec<String> = Vec::new();
    for path in files_with_ext(dir, "toml")? {
        let Ok(bytes) = fs::read(&path) else { continue };
        // A broken file is reported by the command that reads it, not by the index.
        let head = quick_head(&bytes).or_else(|| {
            parse_toml::<Head>(&path, &bytes)
                .ok()
                .map(|h| (h.id, h.patient))
        });
        if let Some((id, patient)) = head {
            out.push(format!("{id}:{patient}"));
        }
    }
    Ok(out.join(" "))
}

/// `id` and `patient` from the top of a file as the store writes it (`id = "A…"` lines before
/// any table), without a full TOML parse; `None` sends anything unusual to the real parser.
fn quick_head(bytes: &[u8]) -> Option<(Id, Id)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (mut id, mut patient) = (None, None);
    for line in text.lines() {
        if line.starts_with('[') {
            break;
        }
        let value = |key: &str| {
            line.strip_prefix(key)?
                .strip_prefix(" = \"")?
                .strip_suffix('"')
                .and_then(|v| Id::parse(v).ok())
        };
        if let Some(v) = value("id") {
            if id.is_some() {
                return None;
            }
            id = Some(v);
        } else if let Some(v) = value("patient") {
            if patient.is_some() {
                return None;
            }
            patient = Some(v);
        }
    }
    Some((id?, patient?))
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
    let old_len = old.days.len();
    let mut old_days = old.days;
    let mut stale = Vec::new();
    for (date, dir) in day_dirs(store, year)? {
        let Ok(meta) = fs::metadata(&dir) else {
            continue;
        };
        let mtime = mtime_ns(&meta);
        match old_days.remove(&date) {
            Some(d) if d.mtime == mtime && mtime < old.scanned_at => {
                fresh.days.insert(date, d);
            }
            _ => stale.push((date, dir, mtime)),
        }
    }
    let changed = !stale.is_empty();
    // Re-reading changed days (all of them on a first run) is the slow part: spread it out.
    let read: Vec<(NaiveDate, i128, Result<String>)> = stale
        .into_par_iter()
        .map(|(date, dir, mtime)| (date, mtime, read_day(&dir)))
        .collect();
    for (date, mtime, pairs) in read {
        fresh.days.insert(
            date,
            Day {
                mtime,
                pairs: pairs?,
            },
        );
    }
    if changed || fresh.days.len() != old_len {
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
    // Fast path: search each year's index text as it stands (newest first, where most lookups
    // land), then confirm that the file is really there.
    for &y in &all {
        let Ok(text) = fs::read_to_string(index_path(store, y)) else {
            continue;
        };
        if let Some(date) = find_in_text(&text, id)
            && store.path(&Store::appointment_rel(date, id)).is_file()
        {
            return Ok(Some(date));
        }
    }
    for &y in &all {
        let idx = refresh_year(store, y)?;
        if let Some((date, _)) = idx
            .days
            .iter()
            .find(|(_, d)| has_pair_starting(&d.pairs, id))
        {
            return Ok(Some(*date));
        }
    }
    Ok(None)
}

/// The date of the line that holds `ID:` as a whole pair, searching the raw index text.
fn find_in_text(text: &str, id: &Id) -> Option<NaiveDate> {
    let needle = format!("{id}:");
    let mut from = 0;
    while let Some(i) = text[from..].find(&needle) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        if matches!(before, Some(' ' | '\t')) {
            let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
            return text[line_start..].get(..10)?.parse().ok();
        }
        from = at + needle.len();
    }
    None
}

fn has_pair_starting(pairs: &str, id: &Id) -> bool {
    pairs
        .split(' ')
        .any(|p| p.split_once(':').is_some_and(|(a, _)| a == id.as_str()))
}

/// Every (day, appointment) of one patient, validated against the day directories.
pub fn of_patient(store: &Store, patient: &Id) -> Result<Vec<(NaiveDate, Id)>> {
    let needle = format!(":{patient}");
    let mut out = Vec::new();
    for y in years(store)? {
        let idx = refresh_year(store, y)?;
        for (date, day) in &idx.days {
            // A cheap text test first: most days do not mention the patient at all.
            if !day.pairs.contains(&needle) {
                continue;
            }
            out.extend(
                pairs(&day.pairs)
                    .filter(|(_, p)| p == patient)
                    .map(|(a, _)| (*date, a)),
            );
        }
    }
    out.sort();
    Ok(out)
}

/// Throws the appointment index away and builds it again from the day directories; returns
/// how many appointments it holds.
pub fn rebuild(store: &Store) -> Result<usize> {
    remove(store)?;
    let mut n = 0;
    for y in years(store)? {
        let idx = refresh_year(store, y)?;
        n += idx
            .days
            .values()
            .map(|d| d.pairs.split(' ').filter(|p| !p.is_empty()).count())
            .sum::<usize>();
    }
    Ok(n)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_search_finds_whole_pairs_only() {
        let text = format!(
            "{MAGIC} 5\n2026-12-01\t1\tA1111111:P2222222 A3333333:P4444444\n2026-12-02\t1\tA5555555:P1111111\n"
        );
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let id = |s: &str| Id::parse(s).unwrap();
        assert_eq!(find_in_text(&text, &id("A3333333")), Some(d("2026-12-01")));
        assert_eq!(find_in_text(&text, &id("A5555555")), Some(d("2026-12-02")));
        assert_eq!(find_in_text(&text, &id("A9999999")), None);
        let idx = parse(&text).unwrap();
        assert_eq!(idx.days.len(), 2);
        assert_eq!(pairs(&idx.days[&d("2026-12-01")].pairs).count(), 2);
        assert!(parse("garbage").is_none());
        let file =
            b"schema = 1\nid = \"A1111111\"\npatient = \"P2222222\"\n[[history]]\nid = \"x\"\n";
        let (a, p) = quick_head(file).unwrap();
        assert_eq!((a.as_str(), p.as_str()), ("A1111111", "P2222222"));
        assert!(quick_head(b"id = 'A1111111'\npatient = \"P2222222\"\n").is_none());
        assert!(
            quick_head(b"id = \"A1111111\"\nid = \"A2222222\"\npatient = \"P2222222\"\n").is_none()
        );
        assert!(parse(&format!("{MAGIC} 5\n2026-12-01\t1\tnonsense\n")).is_none());
    }
}
