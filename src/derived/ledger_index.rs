//! The per-patient ledger index: which entries belong to which patient, so `pay ledger`,
//! `pay balance` and `pay collect` read one patient's few files instead of the whole ledger.
//!
//! It is a declaration over the engine of the caches kept per day folder (`day_index.rs`):
//! - [`LEDGER`], the kind: each entry's token in its day line is `T…:P…`, its patient, read
//!   from the file's `patient = "P…"` line ([`entry_token`]). The same lines answer the new-ID
//!   check and `history T…` (`schedule_index.rs`), so one stat pass serves both.
//! - [`BUCKETS`], its follower: the pairs again, by patient, one bucket per two-character
//!   patient shard (`.frontdesk/index/ledger-patients/XY.tsv`: patient, day, entry), and
//!   `years.tsv`, the years whose lines the buckets hold. The engine tells it each day whose
//!   pairs changed, old and new, before it writes the new lines, under the kind's lock; it
//!   takes the old pairs out and puts the new in (idempotent, so a crash between the two only
//!   repeats it).
//!
//! The engine owns the rest: the day lines' format, checksums and folder stamps, the racy
//! rule, re-reading a changed day (only its changed files, through `day_memory.rs`), the
//! refresh from each year's times alone (`pay balance` reads no year file whole), rebuilding
//! lost lines, and `index rebuild`. What is left here is the buckets: every file ends with
//! `end N CHECKSUM`; a bucket or `years.tsv` missing, damaged or not matching the years on
//! disk, or a year whose lines were lost while the buckets held it, makes the buckets rebuild
//! from the day lines (not from the entry files: seconds at full size). Design and limits:
//! docs/ledger.md.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;
use rustix::fs::{Mode as FsMode, OFlags};

use crate::derived::day_index::{self, Change, Follower, Held, Shelf};
use crate::derived::stamp::{FileStamp, stat_file};
use crate::disk::codec::{checked_text, iso_day, text_trailer};
use crate::disk::layout;
use crate::disk::lock::alive;
use crate::disk::{STATE_DIR, Tree, atomic};
use crate::domain::id::{ALPHABET, Id, IdKind};
use crate::domain::ledger::Entry;
use crate::error::{Error, Result};
use crate::text::parse_toml;

/// The ledger's entries, each kept as `ENTRY:PATIENT` (`ENTRY:` when the file names no
/// patient it can read: its ID still counts as taken), followed by the buckets.
pub const LEDGER: Shelf = Shelf {
    dir: layout::LEDGER_DIR,
    name: "ledger",
    magic: "frontdesk-ledger 3",
    pairs: true,
    token: Some(entry_token),
    rel: layout::ledger_rel,
    view: None,
    follower: Some(&BUCKETS),
};

/// The by-patient buckets, brought along with the ledger's day lines.
pub(crate) const BUCKETS: Follower = Follower {
    follow,
    remove: remove_buckets,
};

const YEARS_FORMAT: &str = "frontdesk-ledger-buckets 1";

fn dir(store: &Tree) -> PathBuf {
    super::index_dir(store).join("ledger-patients")
}

fn years_path(store: &Tree) -> PathBuf {
    dir(store).join("years.tsv")
}

/// An entry file's token: `T…:P…` from the `patient = "P…"` line the tool writes, or, for a
/// file written some other way, a full parse; `T…:` when neither names a patient.
fn entry_token(path: &Path, id: &Id) -> String {
    let patient = fs::read(path).ok().and_then(|bytes| {
        let text = std::str::from_utf8(&bytes).ok()?;
        let quick = text.lines().find_map(|l| {
            let v = l.strip_prefix("patient = \"")?.strip_suffix('"')?;
            Id::parse_kind(v, IdKind::Patient).ok()
        });
        quick.or_else(|| parse_toml::<Entry>(path, &bytes).ok().map(|e| e.patient))
    });
    format!(
        "{id}:{}",
        patient.map(|p| p.to_string()).unwrap_or_default()
    )
}

/// The (entry, patient) pairs of a day line; a token without a readable patient is skipped
/// (the commands that read the file report it).
fn pairs(text: &str) -> impl Iterator<Item = (Id, Id)> {
    text.split(' ').filter_map(|token| {
        let (t, p) = token.split_once(':')?;
        Some((Id::parse(t).ok()?, Id::parse_kind(p, IdKind::Patient).ok()?))
    })
}

/// The engine's news of one year's changed days: their old pairs out of the buckets, their new
/// ones in. A year whose old lines were lost can only be taken in whole when the buckets hold
/// nothing of it; buckets that hold a year they were not told of, or lost it, or are damaged,
/// are marked for rebuilding (`years.tsv` deleted) and rebuilt by the next look.
fn follow(store: &Tree, year: i32, changes: &[Change], lost: bool) -> Result<()> {
    let Some(mut years) = read_years(store) else {
        return Ok(()); // marked already: rebuilt at the next look, from the lines
    };
    if lost == years.contains(&year) {
        return mark_for_rebuild(store);
    }
    let mut by_bucket: BTreeMap<String, Vec<(bool, NaiveDate, Id, Id)>> = BTreeMap::new();
    for c in changes {
        let (old, new): (BTreeSet<_>, BTreeSet<_>) =
            (pairs(c.old).collect(), pairs(c.new).collect());
        for (add, from, other) in [(false, &old, &new), (true, &new, &old)] {
            for (t, p) in from.difference(other) {
                by_bucket.entry(p.shard().to_string()).or_default().push((
                    add,
                    c.date,
                    t.clone(),
                    p.clone(),
                ));
            }
        }
    }
    for (shard, moves) in by_bucket {
        let path = dir(store).join(format!("{shard}.tsv"));
        let Some(body) = read_body(&path) else {
            return mark_for_rebuild(store);
        };
        // A bucket's lines are sorted as bytes, which is their (patient, day, entry) order, and
        // each is there once: a move is one binary search and one insert or removal, no line
        // parsed (a bucket is 3,000 lines at full size, and parsing and printing them all was
        // most of a payment's 1.3 ms here).
        let mut lines: Vec<&str> = body.lines().collect();
        if !lines.windows(2).all(|w| w[0] < w[1]) {
            return mark_for_rebuild(store);
        }
        let moved: Vec<(bool, String)> = moves
            .into_iter()
            .map(|(add, d, t, p)| (add, format!("{p}\t{d}\t{t}")))
            .collect();
        for (add, line) in &moved {
            match (lines.binary_search(&line.as_str()), add) {
                (Ok(at), false) => {
                    lines.remove(at);
                }
                (Err(at), true) => lines.insert(at, line),
                _ => {}
            }
        }
        write_lines(&path, lines.into_iter())?;
    }
    if lost {
        years.insert(year);
        write_years(store, &years)?;
    }
    Ok(())
}

/// The buckets are not to be trusted: the next look rebuilds them.
fn mark_for_rebuild(store: &Tree) -> Result<()> {
    match fs::remove_file(years_path(store)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io(&years_path(store), "remove", e))
        }
        _ => Ok(()),
    }
}

/// The ledger's day lines and the buckets brought up to date, under the kind's lock (returned:
/// the buckets are read under it).
fn up_to_date(store: &Tree) -> Result<Held> {
    let held = day_index::lock(store, &LEDGER)?;
    let years = day_index::bring_along(store, &LEDGER, &held)?;
    let on_disk: BTreeSet<i32> = years.into_iter().collect();
    if read_years(store).as_ref() != Some(&on_disk) {
        rebuild_buckets(store, &held)?;
    }
    Ok(held)
}

/// Write-through: the entries among the files a transaction has just written (`written`,
/// paths in the tree) put into the ledger's day lines and buckets by the writer, under the
/// kind's lock (see [`day_index::note_written`]), so that the next command finds them as it
/// would make them: it still lists the written day and stats its files (its stamp is in the
/// racy window), but neither tells the buckets (1.3 ms of a 115 KB bucket on the full-size
/// clinic) nor writes the year's overlay. Best effort: what cannot be done so (the kind's lock
/// held by a reader, more days than the overlay holds) is left to the next command, as before.
pub fn after_write(store: &Tree, written: &[PathBuf]) {
    let mut by_day: BTreeMap<NaiveDate, Vec<Id>> = BTreeMap::new();
    for rel in written {
        let entry = rel.strip_prefix(layout::LEDGER_DIR).ok().and_then(|inner| {
            let (day, id) = layout::filed_at(inner.to_str()?)?;
            Some((day, Id::parse(id).ok()?))
        });
        if let Some((day, id)) = entry {
            by_day.entry(day).or_default().push(id);
        }
    }
    if by_day.is_empty() {
        return;
    }
    let Ok(Some(held)) = day_index::lock_if_free(store, &LEDGER) else {
        return;
    };
    // Buckets marked for rebuild (or never built): the next reader rebuilds them whole.
    if read_years(store).is_none() {
        return;
    }
    let days: Vec<(NaiveDate, Vec<Id>)> = by_day.into_iter().collect();
    for year in days.chunk_by(|a, b| a.0.year() == b.0.year()) {
        let told = day_index::note_written(store, &LEDGER, year[0].0.year(), year, &held);
        if !matches!(told, Ok(true)) {
            return;
        }
    }
}

/// Writes every bucket again from the ledger's day lines (a year whose lines were lost is read
/// again from its folders first), `years.tsv` last.
fn rebuild_buckets(store: &Tree, held: &Held) -> Result<()> {
    mark_for_rebuild(store)?;
    let mut by_shard: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let years = day_index::each_year_held(store, &LEDGER, held, |_, idx| {
        for (date, day) in &idx.days {
            for (t, p) in pairs(&day.pairs) {
                let line = format!("{p}\t{date}\t{t}");
                by_shard
                    .entry(p.shard().to_string())
                    .or_default()
                    .push(line);
            }
        }
        Ok(())
    })?;
    for a in ALPHABET {
        for b in ALPHABET {
            let shard = format!("{}{}", *a as char, *b as char);
            let mut lines = by_shard.remove(&shard).unwrap_or_default();
            lines.sort_unstable();
            lines.dedup();
            write_lines(&dir(store).join(format!("{shard}.tsv")), lines.into_iter())?;
        }
    }
    write_years(store, &years.into_iter().collect())
}

fn read_years(store: &Tree) -> Option<BTreeSet<i32>> {
    let body = read_body(&years_path(store))?;
    let mut lines = body.lines();
    (lines.next()? == YEARS_FORMAT).then_some(())?;
    lines.map(|l| l.parse().ok()).collect()
}

fn write_years(store: &Tree, years: &BTreeSet<i32>) -> Result<()> {
    let head = std::iter::once(YEARS_FORMAT.to_string());
    write_lines(
        &years_path(store),
        head.chain(years.iter().map(|y| y.to_string())),
    )
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
    let held = up_to_date(store)?;
    patients
        .iter()
        .map(|p| bucket_entries(store, p, &held))
        .collect()
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
    let held = up_to_date(store)?;
    match list_few(store, patients, &trusted) {
        Some(found) => Ok(found),
        None => {
            // Every bucket exists once built: a missing or damaged one means start over.
            rebuild_buckets(store, &held)?;
            list_few(store, patients, &trusted).ok_or_else(|| {
                Error::internal("cannot rebuild the ledger index")
                    .hint("run `frontdesk index rebuild` and try again")
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
    let buckets = dir(store);
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
fn bucket_entries(store: &Tree, patient: &Id, held: &Held) -> Result<Vec<(NaiveDate, Id)>> {
    let path = bucket_path(store, patient);
    let wanted = std::slice::from_ref(patient);
    let found = match scan_bucket(&path, wanted, &[0]) {
        Some(found) => found,
        None => {
            // Every bucket exists once built: a missing or cut-short one means start over.
            rebuild_buckets(store, held)?;
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
    drop(up_to_date(store)?);
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
    let path = dir(store).join(format!("{shard}.tsv"));
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

/// Deletes the buckets (under the ledger kind's lock, so a command reading them never sees
/// them vanish midway; the next command rebuilds them from the day lines), and what an
/// earlier version kept in `.frontdesk/ledger-index/`.
pub fn remove(store: &Tree) -> Result<()> {
    let held = day_index::lock(store, &LEDGER)?;
    remove_buckets(store)?;
    drop(held);
    sweep_old_layout(store)
}

/// [`BUCKETS`]' removal: the engine holds the lock.
fn remove_buckets(store: &Tree) -> Result<()> {
    super::remove_folder(&dir(store))
}

/// Deletes the folder an earlier version kept the index in (`.frontdesk/ledger-index/`, its
/// own lock inside), and what a remover of that version killed between its rename and its
/// delete left beside it (`ledger-index.removed-PID-NS`) once that process is gone. A live
/// remover's folder is its own to delete.
fn sweep_old_layout(store: &Tree) -> Result<()> {
    let state = store.path(Path::new(STATE_DIR));
    let Ok(entries) = fs::read_dir(&state) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let sweep = match name.strip_prefix("ledger-index") {
            Some("") => true,
            Some(rest) => rest
                .strip_prefix(".removed-")
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| pid != std::process::id() && !alive(pid)),
            None => false,
        };
        if sweep {
            super::remove_folder(&e.path())?;
        }
    }
    Ok(())
}

type Bucket = BTreeMap<Id, BTreeSet<(NaiveDate, Id)>>;

fn bucket_path(store: &Tree, patient: &Id) -> PathBuf {
    dir(store).join(format!("{}.tsv", patient.shard()))
}

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

/// The text of a bucket file without its trailer, or None when it is missing, cut short or
/// changed (its `end N CHECKSUM` trailer does not match). Its lines are parsed in place.
fn read_body(path: &Path) -> Option<String> {
    let mut text = fs::read_to_string(path).ok()?;
    let (body, _) = checked_text(&text)?;
    text.truncate(body.len());
    Some(text)
}

/// Writes a bucket file by temp file and rename, without fsync: the index is a cache, and the
/// trailer catches a file cut short by a crash.
fn write_lines(path: &Path, lines: impl Iterator<Item = impl AsRef<str>>) -> Result<()> {
    if let Some(parent) = path.parent() {
        atomic::create_dirs(parent)?;
    }
    let mut buf = Vec::new();
    let mut n = 0usize;
    for l in lines {
        buf.extend_from_slice(l.as_ref().as_bytes());
        buf.push(b'\n');
        n += 1;
    }
    let trailer = text_trailer(&buf, n);
    buf.extend_from_slice(trailer.as_bytes());
    atomic::write_unsynced(path, &buf, atomic::Mode::Replace)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

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
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        write_years(&tree, &BTreeSet::from([2026])).unwrap();
        let held = day_index::lock(&tree, &LEDGER).unwrap();
        let lock_file = crate::derived::index_dir(&tree).join("ledger.lock");
        let ino = fs::metadata(&lock_file).unwrap().ino();
        std::thread::scope(|s| {
            let removing = s.spawn(|| remove(&tree));
            while !removing.is_finished() && !lock_waited_for(ino) {
                std::thread::yield_now();
            }
            assert!(years_path(&tree).exists(), "not removed under a reader");
            drop(held);
            removing.join().unwrap().unwrap();
        });
        assert!(!dir(&tree).exists());
        assert!(
            lock_file.exists(),
            "the lock file stays: everyone locks the same file"
        );
    }

    fn bucket_of(tree: &Tree, patient: &str) -> Vec<String> {
        let path = dir(tree).join(format!("{}.tsv", &patient[1..3]));
        read_body(&path)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_buckets_follow_a_day_idempotently_and_a_lost_year_they_hold_marks_them() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        let day: NaiveDate = "2026-11-03".parse().unwrap();
        let (t1, t2, t3) = ("T1111111", "T2222222", "T3333333");
        let p = "PAB22222";
        // No years.tsv: nothing to keep, nothing written.
        let first = format!("{t1}:{p} {t2}:{p}");
        let change = |old: &'static str, new: String| (old, new);
        follow(&tree, 2026, &[], true).unwrap();
        assert!(!dir(&tree).exists());
        // Built from a ledger of no year: every bucket there, empty.
        rebuild_buckets(&tree, &day_index::lock(&tree, &LEDGER).unwrap()).unwrap();
        assert_eq!(read_years(&tree), Some(BTreeSet::new()));
        let (old, new) = change("", first.clone());
        let c = Change {
            date: day,
            old,
            new: &new,
        };
        follow(&tree, 2026, &[c], true).unwrap();
        assert_eq!(read_years(&tree), Some(BTreeSet::from([2026])));
        assert_eq!(
            bucket_of(&tree, p),
            [format!("{p}\t{day}\t{t1}"), format!("{p}\t{day}\t{t2}")]
        );
        // T2 gone, T3 new (and a token without a patient, skipped): told twice, as a crash
        // between the buckets and the day lines would have it.
        let now = format!("{t1}:{p} {t3}: {t3}:{p}");
        for _ in 0..2 {
            let c = Change {
                date: day,
                old: &first,
                new: &now,
            };
            follow(&tree, 2026, &[c], false).unwrap();
        }
        assert_eq!(
            bucket_of(&tree, p),
            [format!("{p}\t{day}\t{t1}"), format!("{p}\t{day}\t{t3}")]
        );
        // The lines of a year the buckets hold were lost: they cannot be taken out.
        follow(&tree, 2026, &[], true).unwrap();
        assert_eq!(read_years(&tree), None, "marked for rebuilding");
        // A damaged bucket marks them too.
        write_years(&tree, &BTreeSet::from([2026])).unwrap();
        let bucket = dir(&tree).join("AB.tsv");
        let good = fs::read(&bucket).unwrap();
        fs::write(&bucket, &good[..good.len() - 1]).unwrap();
        let c = Change {
            date: day,
            old: "",
            new: &now,
        };
        follow(&tree, 2026, &[c], false).unwrap();
        assert_eq!(read_years(&tree), None);
        // So does one whose lines are out of order (each move is a binary search in them).
        write_years(&tree, &BTreeSet::from([2026])).unwrap();
        let lines = [format!("{p}\t{day}\t{t3}"), format!("{p}\t{day}\t{t1}")];
        write_lines(&bucket, lines.iter()).unwrap();
        follow(&tree, 2026, &[c], false).unwrap();
        assert_eq!(read_years(&tree), None);
    }

    /// An entry file of `patient` on `date`, its day folder's time put `secs` seconds after an
    /// hour ago (outside the racy window, and moved by each call).
    fn entry(tree: &Tree, date: &str, n: u64, patient: &str, secs: u64) -> Id {
        let t = fresh_entry(tree, date, n, patient);
        let path = tree.path(&layout::ledger_rel(date.parse().unwrap(), &t));
        let when = std::time::SystemTime::now() - std::time::Duration::from_secs(3600 - secs);
        fs::File::open(path.parent().unwrap())
            .unwrap()
            .set_modified(when)
            .unwrap();
        t
    }

    /// The day lines' files (not the buckets) as they are now.
    fn lines_files(tree: &Tree) -> Vec<(PathBuf, Vec<u8>)> {
        let index = crate::derived::index_dir(tree);
        let mut out: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(&index)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && !p.ends_with("ledger.lock"))
            .map(|p| (p.clone(), fs::read(&p).unwrap()))
            .collect();
        out.sort();
        out
    }

    /// A crash after the buckets were told of a changed day but before its new line was
    /// written leaves the old lines: the day is read and told again, and the buckets hold each
    /// entry once, whether the day was one the lines held, a new one (both written to the
    /// overlay) or one gone (the year written whole).
    #[test]
    fn a_crash_between_the_buckets_and_the_lines_repeats_the_update_harmlessly() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        let p = Id::parse("PAB22222").unwrap();
        let first = entry(&tree, "2026-11-02", 1, p.as_str(), 1);
        entry(&tree, "2026-11-02", 2, "PCD33333", 2);
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            patient_entries(&tree, &p).unwrap(),
            [(d("2026-11-02"), first.clone())]
        );
        // Once to a day the lines hold (the overlay), once to a day they do not (a new day);
        // each time the lines as they were before are put back, as a crash would leave them.
        for (n, day) in [(3, "2026-11-02"), (4, "2026-11-09")] {
            let before = lines_files(&tree);
            let added = entry(&tree, day, n, p.as_str(), n);
            let want = patient_entries(&tree, &p).unwrap();
            assert!(want.contains(&(d(day), added)), "{want:?}");
            crash_and_ask_again(&tree, &p, &before, &want);
        }
        assert_eq!(patient_entries(&tree, &p).unwrap().len(), 3);
        let before = lines_files(&tree);
        fs::remove_dir_all(tree.path(&layout::ledger_day_rel(d("2026-11-09")))).unwrap();
        let want = patient_entries(&tree, &p).unwrap();
        assert_eq!(want.len(), 2);
        assert_ne!(lines_files(&tree)[0], before[0], "the year written whole");
        crash_and_ask_again(&tree, &p, &before, &want);
    }

    /// Puts the day lines' files back as they were `before` (as a crash before they were
    /// written leaves them), then asks for `patient` again: the answer is still `want`, and
    /// the buckets were not rebuilt.
    fn crash_and_ask_again(
        tree: &Tree,
        patient: &Id,
        before: &[(PathBuf, Vec<u8>)],
        want: &[(NaiveDate, Id)],
    ) {
        for (path, _) in lines_files(tree) {
            if !before.iter().any(|(b, _)| *b == path) {
                fs::remove_file(path).unwrap();
            }
        }
        for (path, bytes) in before {
            fs::write(path, bytes).unwrap();
        }
        assert_eq!(patient_entries(tree, patient).unwrap(), want, "told again");
        assert_eq!(
            read_years(tree),
            Some(BTreeSet::from([2026])),
            "not rebuilt"
        );
    }

    /// An entry file of `patient` on `date` as a command writes it: its day folder's time is
    /// now, in the racy window.
    fn fresh_entry(tree: &Tree, date: &str, n: u64, patient: &str) -> Id {
        let date: NaiveDate = date.parse().unwrap();
        let t = Id::from_bits(IdKind::Transaction, n);
        let path = tree.path(&layout::ledger_rel(date, &t));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("patient = \"{patient}\"\n")).unwrap();
        t
    }

    /// A bucket's bytes and inode: a rewrite by rename changes the inode even when it writes
    /// the same bytes.
    fn bucket_file(tree: &Tree, patient: &Id) -> (Vec<u8>, u64) {
        let path = dir(tree).join(format!("{}.tsv", patient.shard()));
        (fs::read(&path).unwrap(), fs::metadata(&path).unwrap().ino())
    }

    /// Write-through: what the writer leaves (the written days' lines and the buckets) is what
    /// the next command would make, so that command rewrites no bucket, on a day the lines
    /// held and on a new one; and a file the writer was not told of, put in by hand beside its
    /// own, is still found, the written day's time lying in the racy window.
    #[test]
    fn a_writer_leaves_what_the_next_command_would_make_and_hand_edits_are_still_found() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        let p = Id::parse("PAB22222").unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let first = entry(&tree, "2026-11-02", 1, p.as_str(), 1);
        entry(&tree, "2026-11-02", 2, "PCD33333", 2);
        let mut want = vec![(d("2026-11-02"), first)];
        assert_eq!(patient_entries(&tree, &p).unwrap(), want);
        for (n, day) in [(3, "2026-11-02"), (4, "2026-11-09")] {
            let written = fresh_entry(&tree, day, n, p.as_str());
            after_write(&tree, &[layout::ledger_rel(d(day), &written)]);
            let left = bucket_file(&tree, &p);
            want.push((d(day), written));
            assert_eq!(patient_entries(&tree, &p).unwrap(), want);
            assert_eq!(
                bucket_file(&tree, &p),
                left,
                "the next command rewrote the bucket"
            );
        }
        // One put in by hand, then the writer's own, told alone.
        let by_hand = fresh_entry(&tree, "2026-11-09", 5, p.as_str());
        let written = fresh_entry(&tree, "2026-11-09", 6, p.as_str());
        after_write(&tree, &[layout::ledger_rel(d("2026-11-09"), &written)]);
        want.extend([(d("2026-11-09"), by_hand), (d("2026-11-09"), written)]);
        assert_eq!(patient_entries(&tree, &p).unwrap(), want);
        // The buckets are what a rebuild from the lines makes.
        let held = day_index::lock(&tree, &LEDGER).unwrap();
        let kept = bucket_file(&tree, &p).0;
        rebuild_buckets(&tree, &held).unwrap();
        assert_eq!(bucket_file(&tree, &p).0, kept);
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
