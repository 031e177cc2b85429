//! The per-patient ledger index: which entries belong to which patient, so `pay ledger`,
//! `pay balance` and `pay collect` read one patient's few files instead of the whole ledger.
//!
//! It lives in `.frontdesk/ledger-index/` (ignored by git), is never the only copy of anything,
//! and is checked against the files on every use (the design, and its limits, are in
//! docs/ledger.md):
//!
//! - `days.tsv` holds, per day directory, its modification time when last scanned, and the
//!   moment that scan began. A day whose directory time differs, or lies within `stamp::SETTLE_NS` of
//!   that moment (git's racy-timestamp rule), is re-listed: creating, renaming or deleting a
//!   file always changes its directory's time.
//! - `day/YYYY-MM-DD.tsv` lists that day's entries and their patients at the last scan, so a
//!   re-listed day only opens its new files.
//! - `patient/XY.tsv` (one bucket per two-character ID shard) lists each patient's entries.
//!
//! Every file ends with an `end N CHECKSUM` line (its line count and the checksum of the rest);
//! a truncated, changed, missing or unreadable file makes the whole index rebuild from the
//! ledger. Updates take `.frontdesk/ledger-index/lock`, write buckets
//! before days and `days.tsv` last, so a crash at any point leaves an index that the next
//! command either trusts correctly or rescans. `index rebuild` deletes the folder under the
//! same lock ([`remove`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDate;
use rayon::prelude::*;
use rustix::fs::{Mode as FsMode, OFlags};

use crate::derived::stamp::{
    FileStamp, SETTLE_NS, folder_in_racy_window, now_ns, stat_day_folders, stat_file,
};
use crate::disk::codec::{checked_text, iso_day, text_trailer};
use crate::disk::layout::{self, ledger_day_rel as day_rel};
use crate::disk::lock::alive;
use crate::disk::{STATE_DIR, Tree, atomic};
use crate::domain::id::{ALPHABET, Id, IdKind};
use crate::domain::ledger::Entry;
use crate::error::{Error, IoContext, Result};
use crate::text::parse_toml;

const FORMAT: &str = "frontdesk-ledger-index 2";

type DayMap = BTreeMap<NaiveDate, Vec<(Id, Id)>>;

fn dir(store: &Tree) -> PathBuf {
    store.path(Path::new(STATE_DIR)).join("ledger-index")
}

/// The (day, entry ID) pairs the index holds for `patient`, after bringing it up to date.
pub fn patient_entries(store: &Tree, patient: &Id) -> Result<Vec<(NaiveDate, Id)>> {
    Ok(patients_entries(store, std::slice::from_ref(patient))?
        .pop()
        .unwrap_or_default())
}

/// [`patient_entries`] of several patients, in the order given, bringing the index up to date
/// once (a refresh stats every day folder: an import of many rows pays for it once).
pub fn patients_entries(store: &Tree, patients: &[Id]) -> Result<Vec<Vec<(NaiveDate, Id)>>> {
    let _lock = lock(store)?;
    refresh(store)?;
    patients.iter().map(|p| bucket_entries(store, p)).collect()
}

/// What [`few_patients_entries`] found of one patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The stamp of the patient's bucket file, taken before it was read (None: no stamp).
    pub bucket: Option<FileStamp>,
    /// The patient's (day, entry) pairs; None when the caller said its own copy, taken from
    /// the bucket when it had this same stamp, still holds (so the bucket was not read).
    pub entries: Option<Vec<(NaiveDate, Id)>>,
}

/// [`patients_entries`] for a handful of patients among many (a day's patients), after
/// bringing the index up to date. A bucket holds ~1,700 lines at full size: one whose stamp
/// `trusted` (given the patient's position and the stamp) accepts is not read at all (buckets
/// are only ever replaced whole, by rename); the others are read once each, parsing only the
/// wanted patients' lines.
pub fn few_patients_entries(
    store: &Tree,
    patients: &[Id],
    trusted: impl Fn(usize, &FileStamp) -> bool,
) -> Result<Vec<Listed>> {
    let _lock = lock(store)?;
    refresh(store)?;
    match list_few(store, patients, &trusted) {
        Some(found) => Ok(found),
        None => {
            // Every bucket exists once built: a missing or damaged one means start over.
            start_over(store)?;
            list_few(store, patients, &trusted).ok_or_else(|| {
                Error::internal("cannot rebuild the ledger index")
                    .hint("delete .frontdesk/ledger-index and try again")
            })
        }
    }
}

/// One pass of [`few_patients_entries`] over an index just brought up to date; None when a
/// bucket it had to read is missing or damaged.
fn list_few(
    store: &Tree,
    patients: &[Id],
    trusted: &impl Fn(usize, &FileStamp) -> bool,
) -> Option<Vec<Listed>> {
    let buckets = dir(store).join("patient");
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = rustix::fs::open(&buckets, flags, FsMode::empty()).ok();
    let mut by_shard: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in patients.iter().enumerate() {
        by_shard.entry(p.shard()).or_default().push(i);
    }
    let mut out = vec![
        Listed {
            bucket: None,
            entries: None,
        };
        patients.len()
    ];
    for (shard, all) in by_shard {
        let name = format!("{shard}.tsv");
        let stamp = fd.as_ref().and_then(|fd| {
            let c = std::ffi::CString::new(name.as_str()).ok()?;
            stat_file(fd, &buckets, &c)
        });
        let mut wanted = Vec::with_capacity(all.len());
        for i in all {
            out[i].bucket = stamp;
            if !stamp.is_some_and(|s| trusted(i, &s)) {
                wanted.push(i);
            }
        }
        if wanted.is_empty() {
            continue;
        }
        let found = scan_bucket(&buckets.join(&name), patients, &wanted)?;
        for (i, pairs) in wanted.into_iter().zip(found) {
            out[i].entries = Some(pairs);
        }
    }
    Some(out)
}

/// The (day, entry) pairs of the `wanted` patients (positions in `patients`) in one bucket
/// file, in the order a parsed bucket gives them; None when the file is missing or damaged.
fn scan_bucket(
    path: &Path,
    patients: &[Id],
    wanted: &[usize],
) -> Option<Vec<Vec<(NaiveDate, Id)>>> {
    let body = read_body(path)?;
    let mut found: Vec<BTreeSet<(NaiveDate, Id)>> = vec![BTreeSet::new(); wanted.len()];
    for line in body.lines() {
        let (p, rest) = line.split_once('\t')?;
        for (k, &i) in wanted.iter().enumerate() {
            if patients[i].as_str() == p {
                let (d, t) = rest.split_once('\t')?;
                found[k].insert((iso_day(d)?, Id::parse(t).ok()?));
            }
        }
    }
    Some(found.into_iter().map(|s| s.into_iter().collect()).collect())
}

/// One patient's pairs from their bucket of an index just brought up to date. Only the
/// patient's own lines of the bucket (~1,700 lines at full size) are parsed.
fn bucket_entries(store: &Tree, patient: &Id) -> Result<Vec<(NaiveDate, Id)>> {
    let path = bucket_path(store, patient);
    let wanted = std::slice::from_ref(patient);
    let found = match scan_bucket(&path, wanted, &[0]) {
        Some(found) => found,
        None => {
            // Every bucket exists once built: a missing or cut-short one means start over.
            start_over(store)?;
            scan_bucket(&path, wanted, &[0]).ok_or_else(|| {
                Error::internal(format!(
                    "{}: cannot rebuild the ledger index",
                    path.display()
                ))
            })?
        }
    };
    Ok(found.into_iter().next().unwrap_or_default())
}

/// One bucket of the index: each patient of a shard with their (day, entry) pairs, in ID order.
pub type BucketList = Vec<(Id, Vec<(NaiveDate, Id)>)>;

/// Every bucket of the index (one per two-character patient shard), one at a time on all
/// cores, calling `visit` with the shard's name and its patients: memory stays at one bucket
/// per thread whatever the size of the ledger. Returns what `visit` kept, in shard (so patient
/// ID) order, and on failure the error of the first failing shard in that order, so the
/// outcome does not depend on thread timing. The index is brought up to date first (under its
/// lock); the buckets are then read without it, as they are only ever replaced whole.
pub fn map_buckets<R, F>(store: &Tree, visit: F) -> Result<Vec<R>>
where
    R: Send,
    F: Fn(&str, BucketList) -> Result<Vec<R>> + Sync,
{
    {
        let _lock = lock(store)?;
        refresh(store)?;
    }
    let shards: Vec<String> = ALPHABET
        .iter()
        .flat_map(|a| {
            ALPHABET
                .iter()
                .map(move |b| format!("{}{}", *a as char, *b as char))
        })
        .collect();
    // Shards after the first failed one need not run: their error would not be reported.
    let first_failed = AtomicUsize::new(usize::MAX);
    let per_shard: Vec<Result<Vec<R>>> = shards
        .par_iter()
        .enumerate()
        .map(|(i, shard)| {
            if i > first_failed.load(Ordering::Relaxed) {
                return Ok(Vec::new());
            }
            let done = read_shard(store, shard).and_then(|bucket| visit(shard, bucket));
            if done.is_err() {
                first_failed.fetch_min(i, Ordering::Relaxed);
            }
            done
        })
        .collect();
    let mut out = Vec::new();
    for r in per_shard {
        out.extend(r?);
    }
    Ok(out)
}

/// The patients of one bucket, in ID order.
fn read_shard(store: &Tree, shard: &str) -> Result<BucketList> {
    let path = dir(store).join("patient").join(format!("{shard}.tsv"));
    let bucket = read_bucket(&path).ok_or_else(|| {
        Error::internal(format!(
            "{}: the ledger index changed while reading; run the command again",
            path.display()
        ))
    })?;
    Ok(bucket
        .into_iter()
        .map(|(patient, set)| (patient, set.into_iter().collect()))
        .collect())
}

/// Deletes the index, under its lock, so a command reading it never sees it vanish midway;
/// the next command rebuilds it. The folder is renamed away, then deleted: its lock file goes
/// with it, so a command that was waiting for the lock holds, once it has it, a file that is no
/// longer the index's lock, and takes the lock again on the file now there (see [`lock`]).
pub fn remove(store: &Tree) -> Result<()> {
    let d = dir(store);
    sweep_removed(&d);
    if !d.is_dir() {
        return Ok(());
    }
    remove_locked(store, lock(store)?)
}

/// [`remove`], holding the index's lock (`_held`, let go once the folder is deleted).
fn remove_locked(store: &Tree, _held: File) -> Result<()> {
    let d = dir(store);
    let away = d.with_file_name(format!(
        "ledger-index.removed-{}-{}",
        std::process::id(),
        now_ns()
    ));
    fs::rename(&d, &away).at_path(&d, "remove")?;
    super::remove_folder(&away)
}

/// Deletes what a remover killed between its rename and its delete left beside the index
/// (`ledger-index.removed-PID-NS`), when that process is gone: a killed command's leftovers
/// are the next one's to clear. A live remover's folder is its own to delete.
fn sweep_removed(index: &Path) {
    let Some(parent) = index.parent() else { return };
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("ledger-index.removed-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !alive(pid) {
            let _ = super::remove_folder(&e.path());
        }
    }
}

/// Takes the index's lock, `.frontdesk/ledger-index/lock`, waiting for it. A lock taken on a
/// file that is no longer at that path ([`remove`] took the folder away meanwhile) is let go
/// and taken again on the file now there: everyone locks the same file.
fn lock(store: &Tree) -> Result<File> {
    let d = dir(store);
    let path = d.join("lock");
    loop {
        atomic::create_dirs(&d)?;
        let opened = File::options()
            .create(true)
            .mode(0o600)
            .truncate(false)
            .write(true)
            .open(&path);
        let file = match opened {
            // The folder went between making it and opening the file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            other => other.at_path(&path, "open the index lock")?,
        };
        file.lock().at_path(&path, "lock")?;
        if still_at(&file, &path) {
            return Ok(file);
        }
    }
}

/// The open `file` is the one at `path` (not one whose folder was since renamed away). When
/// either cannot be stat'ed for another reason than the path being gone, it is taken to be.
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        (_, Err(e)) if e.kind() == std::io::ErrorKind::NotFound => false,
        _ => true,
    }
}

/// Brings the index in line with the ledger directories, rebuilding it from scratch when any
/// part of it turns out to be damaged.
fn refresh(store: &Tree) -> Result<()> {
    if !try_refresh(store)? {
        start_over(store)?;
    }
    Ok(())
}

/// Throws the index away and builds it again from the ledger.
fn start_over(store: &Tree) -> Result<()> {
    // Nothing in an untrusted index may survive.
    let _ = fs::remove_file(dir(store).join("days.tsv"));
    let _ = fs::remove_dir_all(dir(store).join("day"));
    let _ = fs::remove_dir_all(dir(store).join("patient"));
    write_empty_buckets(store)?;
    if scan(store, 0, BTreeMap::new())? {
        Ok(())
    } else {
        Err(Error::internal("cannot rebuild the ledger index")
            .hint("delete .frontdesk/ledger-index and try again"))
    }
}

/// One pass of [`refresh`]; false when an index file it needed was missing or damaged.
fn try_refresh(store: &Tree) -> Result<bool> {
    match read_days(&dir(store).join("days.tsv")) {
        Some((scanned_at, known)) => scan(store, scanned_at, known),
        None => Ok(false),
    }
}

/// Re-lists the day directories that changed since the scan that began at `scanned_at`, and
/// moves their entries into and out of patients' buckets.
fn scan(store: &Tree, scanned_at: i64, mut known: BTreeMap<NaiveDate, i64>) -> Result<bool> {
    let scan_start = now_ns();
    let mut stale: Vec<NaiveDate> = Vec::new();
    let mut now_days: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let folders = stat_day_folders(
        store
            .ledger_days()?
            .into_iter()
            .map(|day| (day, store.path(&day_rel(day)))),
        |day| known.get(&day).map(|m| (*m, scanned_at)),
        SETTLE_NS,
    );
    for f in folders {
        now_days.insert(f.date, f.mtime);
        if !f.trusted {
            stale.push(f.date);
        }
    }
    let gone: Vec<NaiveDate> = known
        .keys()
        .filter(|d| !now_days.contains_key(d))
        .copied()
        .collect();
    if stale.is_empty() && gone.is_empty() {
        return Ok(true);
    }
    let mut old_days = DayMap::new();
    let mut new_days = DayMap::new();
    for day in stale.iter().chain(gone.iter()) {
        let old = read_day(&day_path(store, *day)).unwrap_or_default();
        let new = if now_days.contains_key(day) {
            rescan_day(store, *day, &old)?
        } else {
            Vec::new()
        };
        old_days.insert(*day, old);
        new_days.insert(*day, new);
    }
    // Days re-listed only for lying in the racy window, and found as they were, would be
    // re-listed next time all the same: nothing is written (as the day index does).
    let only_racy = gone.is_empty()
        && stale.iter().all(|d| {
            let now = now_days[d];
            known.get(d) == Some(&now)
                && old_days.get(d) == new_days.get(d)
                && folder_in_racy_window(now, scan_start)
        });
    if only_racy {
        return Ok(true);
    }
    if !apply_to_buckets(store, &old_days, &new_days)? {
        return Ok(false);
    }
    for (day, rows) in &new_days {
        if now_days.contains_key(day) {
            write_lines(
                &day_path(store, *day),
                rows.iter().map(|(t, p)| format!("{t}\t{p}")),
            )?;
        } else {
            let _ = fs::remove_file(day_path(store, *day));
        }
    }
    known = now_days;
    write_days(&dir(store).join("days.tsv"), scan_start, &known)?;
    Ok(true)
}

/// The day's (entry, patient) pairs now: known files keep their patient, new files are read.
fn rescan_day(store: &Tree, day: NaiveDate, old: &[(Id, Id)]) -> Result<Vec<(Id, Id)>> {
    let before: HashMap<&Id, &Id> = old.iter().map(|(t, p)| (t, p)).collect();
    let mut out = Vec::new();
    for id in store.ledger_day_ids(day)? {
        let patient = match before.get(&id) {
            Some(p) => (*p).clone(),
            None => match patient_of(store, &layout::ledger_rel(day, &id)) {
                Some(p) => p,
                // An unreadable file is reported by the commands that read it, not here.
                None => continue,
            },
        };
        out.push((id, patient));
    }
    Ok(out)
}

/// The patient an entry file names: the `patient = "P…"` line the tool writes, or, for a file
/// written some other way, a full parse.
fn patient_of(store: &Tree, rel: &Path) -> Option<Id> {
    let path = store.path(rel);
    let bytes = fs::read(&path).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let quick = text.lines().find_map(|l| {
        let v = l.strip_prefix("patient = \"")?.strip_suffix('"')?;
        Id::parse_kind(v, IdKind::Patient).ok()
    });
    quick.or_else(|| parse_toml::<Entry>(&path, &bytes).ok().map(|e| e.patient))
}

/// Moves the changed days' entries between patients' buckets; false when a bucket is damaged.
/// Only the rows that differ are moved, so a re-listed day rewrites the buckets of the entries
/// added to it or removed from it, not of every patient with an entry that day (one payment
/// used to rewrite some 200 buckets at full size).
fn apply_to_buckets(store: &Tree, old: &DayMap, new: &DayMap) -> Result<bool> {
    let mut by_bucket: BTreeMap<String, Vec<(bool, NaiveDate, &Id, &Id)>> = BTreeMap::new();
    for (add, map, other) in [(false, old, new), (true, new, old)] {
        for (day, rows) in map {
            let unchanged: BTreeSet<&(Id, Id)> = other
                .get(day)
                .map(|r| r.iter().collect())
                .unwrap_or_default();
            for row @ (t, p) in rows {
                if unchanged.contains(row) {
                    continue;
                }
                by_bucket
                    .entry(p.shard().to_string())
                    .or_default()
                    .push((add, *day, t, p));
            }
        }
    }
    for (shard, changes) in by_bucket {
        let path = dir(store).join("patient").join(format!("{shard}.tsv"));
        let Some(mut bucket) = read_bucket(&path) else {
            return Ok(false);
        };
        // Removals first, then additions: an entry both old and new stays.
        for (add, day, t, p) in changes
            .iter()
            .filter(|c| !c.0)
            .chain(changes.iter().filter(|c| c.0))
        {
            let set = bucket.entry((*p).clone()).or_default();
            if *add {
                set.insert((*day, (*t).clone()));
            } else {
                set.remove(&(*day, (*t).clone()));
            }
        }
        bucket.retain(|_, set| !set.is_empty());
        let lines = bucket
            .iter()
            .flat_map(|(p, set)| set.iter().map(move |(d, t)| format!("{p}\t{d}\t{t}")));
        write_lines(&path, lines)?;
    }
    Ok(true)
}

/// One empty file per possible shard, so that a missing bucket always means damage.
fn write_empty_buckets(store: &Tree) -> Result<()> {
    for a in ALPHABET {
        for b in ALPHABET {
            let name = format!("{}{}.tsv", *a as char, *b as char);
            write_lines(&dir(store).join("patient").join(name), std::iter::empty())?;
        }
    }
    Ok(())
}

fn bucket_path(store: &Tree, patient: &Id) -> PathBuf {
    dir(store)
        .join("patient")
        .join(format!("{}.tsv", patient.shard()))
}

fn day_path(store: &Tree, day: NaiveDate) -> PathBuf {
    dir(store).join("day").join(format!("{day}.tsv"))
}

type Bucket = BTreeMap<Id, BTreeSet<(NaiveDate, Id)>>;

fn read_bucket(path: &Path) -> Option<Bucket> {
    let mut out = Bucket::new();
    for line in read_body(path)?.lines() {
        let mut f = line.split('\t');
        let p = Id::parse(f.next()?).ok()?;
        let d = iso_day(f.next()?)?;
        let t = Id::parse(f.next()?).ok()?;
        out.entry(p).or_default().insert((d, t));
    }
    Some(out)
}

fn read_day(path: &Path) -> Option<Vec<(Id, Id)>> {
    read_body(path)?
        .lines()
        .map(|l| {
            let (t, p) = l.split_once('\t')?;
            Some((Id::parse(t).ok()?, Id::parse(p).ok()?))
        })
        .collect()
}

fn read_days(path: &Path) -> Option<(i64, BTreeMap<NaiveDate, i64>)> {
    // Read on every pay command (a line per ledger day, 3,100 at ten years): parsed in place.
    let body = read_body(path)?;
    let mut lines = body.lines();
    let scanned_at = lines.next()?.strip_prefix(FORMAT)?.trim().parse().ok()?;
    let mut days = BTreeMap::new();
    for l in lines {
        let (d, m) = l.split_once('\t')?;
        days.insert(iso_day(d)?, m.parse().ok()?);
    }
    Some((scanned_at, days))
}

fn write_days(path: &Path, scanned_at: i64, days: &BTreeMap<NaiveDate, i64>) -> Result<()> {
    let head = std::iter::once(format!("{FORMAT} {scanned_at}"));
    let rest = days.iter().map(|(d, m)| format!("{d}\t{m}"));
    write_lines(path, head.chain(rest))
}

/// The text of an index file without its trailer, or None when it is missing, cut short or
/// changed (its `end N CHECKSUM` trailer does not match). Its lines are parsed in place.
fn read_body(path: &Path) -> Option<String> {
    let mut text = fs::read_to_string(path).ok()?;
    let (body, _) = checked_text(&text)?;
    text.truncate(body.len());
    Some(text)
}

/// Writes an index file by temp file and rename, without fsync: the index is a cache, and the
/// trailer catches a file cut short by a crash.
fn write_lines(path: &Path, lines: impl Iterator<Item = String>) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    atomic::create_dirs(parent)?;
    let mut buf = Vec::new();
    let mut n = 0usize;
    for l in lines {
        buf.extend_from_slice(l.as_bytes());
        buf.push(b'\n');
        n += 1;
    }
    let trailer = text_trailer(&buf, n);
    buf.extend_from_slice(trailer.as_bytes());
    let mut tmp = tempfile::Builder::new()
        .prefix(atomic::TEMP_PREFIX)
        .tempfile_in(parent)
        .at_path(parent, "create a temporary file in")?;
    tmp.write_all(&buf).at_path(path, "write")?;
    tmp.persist(path)
        .map_err(|e| Error::io(path, "replace", e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    /// A tree with a ledger index folder (a stand-in `days.tsv` in it), and the path of the
    /// index's lock file.
    fn built() -> (tempfile::TempDir, Tree, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        drop(lock(&tree).unwrap());
        fs::write(dir(&tree).join("days.tsv"), "x").unwrap();
        let path = dir(&tree).join("lock");
        (tmp, tree, path)
    }

    /// Some process waits for the flock on the file of inode `ino` (per `/proc/locks`; without
    /// it, taken to be so).
    fn lock_waited_for(ino: u64) -> bool {
        let Ok(locks) = fs::read_to_string("/proc/locks") else {
            return true;
        };
        let file = format!(":{ino}");
        locks
            .lines()
            .any(|l| l.contains("-> FLOCK") && l.split_whitespace().any(|f| f.ends_with(&file)))
    }

    #[test]
    fn remove_waits_for_the_command_holding_the_lock() {
        let (_tmp, tree, _) = built();
        let held = lock(&tree).unwrap();
        let ino = held.metadata().unwrap().ino();
        std::thread::scope(|s| {
            let removing = s.spawn(|| remove(&tree));
            while !removing.is_finished() && !lock_waited_for(ino) {
                std::thread::yield_now();
            }
            assert!(
                dir(&tree).join("days.tsv").exists(),
                "not removed under a reader"
            );
            drop(held);
            removing.join().unwrap().unwrap();
        });
        assert!(!dir(&tree).exists());
    }

    #[test]
    fn a_command_waiting_for_the_lock_across_a_remove_locks_the_file_everyone_locks() {
        let (_tmp, tree, path) = built();
        let held = lock(&tree).unwrap();
        let ino = held.metadata().unwrap().ino();
        let taken = std::thread::scope(|s| {
            let waiting = s.spawn(|| lock(&tree));
            while !waiting.is_finished() && !lock_waited_for(ino) {
                std::thread::yield_now();
            }
            remove_locked(&tree, held).unwrap();
            waiting.join().unwrap().unwrap()
        });
        // It got the lock on the file that went with the folder, and took it again on the
        // lock file of the folder made anew, the one every later command locks.
        assert!(still_at(&taken, &path));
        let other = File::open(&path).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(taken);
        let state = tree.path(Path::new(STATE_DIR));
        let left: Vec<_> = fs::read_dir(&state)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with("ledger-index."))
            .collect();
        assert!(left.is_empty(), "nothing left behind: {left:?}");
        assert!(!dir(&tree).join("days.tsv").exists());
    }

    #[test]
    fn days_are_written_as_the_index_always_wrote_them() {
        // Display, not strftime: a bucket is written a line per entry, and chrono's format
        // string interpreter was most of a payment's rewrite of it.
        for (y, m, d) in [
            (2026, 11, 27),
            (2024, 2, 29),
            (999, 1, 1),
            (-1, 12, 31),
            (12345, 6, 7),
        ] {
            let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(day.to_string(), day.format("%Y-%m-%d").to_string());
            assert_eq!(iso_day(&day.to_string()), Some(day));
        }
    }
}
