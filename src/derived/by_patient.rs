//! A dated kind's records by patient: the follower that lets `pay ledger` read one patient's
//! few ledger entries, and `schedule list` one patient's visits, instead of every year's day
//! lines (ten years of appointment lines are 20 MB at full size).
//!
//! A kind whose day lines keep each record as `RECORD:PATIENT` (`ledger_index.rs`,
//! `schedule_index.rs`: the appointments and the communications) declares a [`ByPatient`]:
//! the same pairs again, one bucket per two-character patient shard
//! (`.frontdesk/index/FOLDER/XY.tsv`: patient, day, record), and
//! `years.tsv`, the years whose lines the buckets hold. The engine (`day_index.rs`) tells it
//! each day whose pairs changed, old and new, before it writes the new lines, under the kind's
//! lock; it takes the old pairs out and puts the new in (idempotent, so a crash between the two
//! only repeats it).
//!
//! The engine owns the rest: the day lines' format, checksums and folder stamps, the racy
//! rule, re-reading a changed day (only its changed files, through `day_memory.rs`), the
//! refresh from each year's times alone, rebuilding lost lines, and `index rebuild`. What is
//! left here is the buckets: every file ends with `end N CHECKSUM`; a bucket or `years.tsv`
//! missing, damaged or not matching the years on disk, or a year whose lines were lost while
//! the buckets held it, makes the buckets rebuild from the day lines (not from the record
//! files: seconds at full size). Design and limits: docs/ledger.md.

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
use crate::disk::{Tree, atomic, layout};
use crate::domain::id::{ALPHABET, Id, IdKind};
use crate::error::{Error, Result};

/// One kind's buckets.
pub(crate) struct ByPatient {
    /// The kind whose day lines the buckets follow (its records kept as `RECORD:PATIENT`).
    pub(crate) shelf: &'static Shelf,
    /// The buckets' folder under `.frontdesk/index/`.
    pub(crate) folder: &'static str,
    /// The first line of its `years.tsv`.
    pub(crate) years_format: &'static str,
}

/// What [`ByPatient::few_patients_records`] found of one patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The stamp of the patient's bucket file, taken before it was read (None: no stamp).
    pub bucket: Option<FileStamp>,
    /// The patient's (day, record) pairs; None when the caller said its own copy, taken from
    /// the bucket when it had this same stamp, still holds (so the bucket was not read).
    pub entries: Option<Vec<(NaiveDate, Id)>>,
}

/// One bucket: each patient of a shard with their (day, record) pairs, in ID order.
pub type BucketList = Vec<(Id, Vec<(NaiveDate, Id)>)>;

type Bucket = BTreeMap<Id, BTreeSet<(NaiveDate, Id)>>;

/// The (record, patient) pairs of a day line (`RECORD:PATIENT`, a communication's with
/// `:DUE` after); a token without a readable patient is skipped (the commands that read the
/// file report it).
pub(crate) fn pairs(text: &str) -> impl Iterator<Item = (Id, Id)> + '_ {
    text.split(' ').filter_map(|token| {
        let mut fields = token.split(':');
        let (t, p) = (fields.next()?, fields.next()?);
        Some((Id::parse(t).ok()?, Id::parse_kind(p, IdKind::Patient).ok()?))
    })
}

impl ByPatient {
    pub(crate) fn dir(&self, store: &Tree) -> PathBuf {
        super::index_dir(store).join(self.folder)
    }

    pub(crate) fn years_path(&self, store: &Tree) -> PathBuf {
        self.dir(store).join("years.tsv")
    }

    /// The bucket of the patients of shard `shard` (`XY.tsv`).
    fn shard_path(&self, store: &Tree, shard: &str) -> PathBuf {
        self.dir(store).join(format!("{shard}.tsv"))
    }

    /// Write-through: the records of this kind among the files a transaction has just written
    /// (`written`, paths in the tree) put into their days' lines and the buckets by the writer,
    /// under the kind's lock (see [`day_index::note_written`]), so that the next command finds
    /// them as it would make them: it still lists the written day and stats its files (its
    /// stamp is in the racy window), but neither tells the buckets (1.3 ms of a 115 KB ledger
    /// bucket on the full-size clinic) nor writes the year's overlay. Best effort: what cannot
    /// be done so (the kind's lock held by a reader, more days than the overlay holds, a file
    /// no longer there) is left to the next command, as before.
    pub(crate) fn after_write(&self, store: &Tree, written: &[PathBuf]) {
        let mut by_day: BTreeMap<NaiveDate, Vec<Id>> = BTreeMap::new();
        for rel in written {
            let record = rel.strip_prefix(self.shelf.dir).ok().and_then(|inner| {
                let (day, id) = layout::filed_at(inner.to_str()?)?;
                Some((day, Id::parse(id).ok()?))
            });
            if let Some((day, id)) = record {
                by_day.entry(day).or_default().push(id);
            }
        }
        if by_day.is_empty() {
            return;
        }
        let Ok(Some(held)) = day_index::lock_if_free(store, self.shelf) else {
            return;
        };
        // Buckets marked for rebuild (or never built): the next reader rebuilds them whole.
        if self.read_years(store).is_none() {
            return;
        }
        let days: Vec<(NaiveDate, Vec<Id>)> = by_day.into_iter().collect();
        for year in days.chunk_by(|a, b| a.0.year() == b.0.year()) {
            let told = day_index::note_written(store, self.shelf, year[0].0.year(), year, &held);
            if !matches!(told, Ok(true)) {
                return;
            }
        }
    }

    /// Whether any of `written` (paths in the tree) is a record of this kind.
    pub(crate) fn holds_any(&self, written: &[PathBuf]) -> bool {
        written.iter().any(|p| p.starts_with(self.shelf.dir))
    }

    /// The buckets are not to be trusted: the next look rebuilds them.
    fn mark_for_rebuild(&self, store: &Tree) -> Result<()> {
        let path = self.years_path(store);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io(&path, "remove", e))
            }
            _ => Ok(()),
        }
    }

    /// The kind's day lines and the buckets brought up to date, under the kind's lock
    /// (returned: the buckets are read under it).
    pub(crate) fn up_to_date(&self, store: &Tree) -> Result<Held> {
        let held = day_index::lock(store, self.shelf)?;
        let years = day_index::bring_along(store, self.shelf, &held)?;
        let on_disk: BTreeSet<i32> = years.into_iter().collect();
        if self.read_years(store).as_ref() != Some(&on_disk) {
            self.rebuild(store, &held)?;
        }
        Ok(held)
    }

    /// Writes every bucket again from the kind's day lines (a year whose lines were lost is
    /// read again from its folders first), `years.tsv` last.
    pub(crate) fn rebuild(&self, store: &Tree, held: &Held) -> Result<()> {
        self.mark_for_rebuild(store)?;
        let mut by_shard: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let years = day_index::each_year_held(store, self.shelf, held, |_, idx| {
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
                write_lines(&self.shard_path(store, &shard), lines.into_iter())?;
            }
        }
        self.write_years(store, &years.into_iter().collect())
    }

    /// The years `years.tsv` says the buckets hold; None when it is missing or damaged (the
    /// buckets are then rebuilt at the next look).
    pub(crate) fn read_years(&self, store: &Tree) -> Option<BTreeSet<i32>> {
        let body = read_body(&self.years_path(store))?;
        let mut lines = body.lines();
        (lines.next()? == self.years_format).then_some(())?;
        lines.map(|l| l.parse().ok()).collect()
    }

    pub(crate) fn write_years(&self, store: &Tree, years: &BTreeSet<i32>) -> Result<()> {
        let head = std::iter::once(self.years_format.to_string());
        write_lines(
            &self.years_path(store),
            head.chain(years.iter().map(|y| y.to_string())),
        )
    }

    /// The (day, record ID) pairs the buckets hold for `patient`, after bringing them up to
    /// date.
    pub fn patient_records(&self, store: &Tree, patient: &Id) -> Result<Vec<(NaiveDate, Id)>> {
        Ok(self
            .patients_records(store, std::slice::from_ref(patient))?
            .pop()
            .unwrap_or_default())
    }

    /// [`ByPatient::patient_records`] of several patients, in the order given, bringing the
    /// buckets up to date once (a refresh stats every day folder: an import of many rows pays
    /// for it once).
    pub fn patients_records(
        &self,
        store: &Tree,
        patients: &[Id],
    ) -> Result<Vec<Vec<(NaiveDate, Id)>>> {
        let held = self.up_to_date(store)?;
        patients
            .iter()
            .map(|p| self.bucket_records(store, p, &held))
            .collect()
    }

    /// [`ByPatient::patients_records`] for a handful of patients among many (a day's
    /// patients), after bringing the buckets up to date. A ledger bucket holds ~1,700 lines at
    /// full size: one whose stamp `trusted` (given the patient's position and the stamp)
    /// accepts is not read at all (buckets are only ever replaced whole, by rename); the others
    /// are read once each, parsing only the wanted patients' lines.
    pub fn few_patients_records(
        &self,
        store: &Tree,
        patients: &[Id],
        trusted: impl Fn(usize, &FileStamp) -> bool,
    ) -> Result<Vec<Listed>> {
        let held = self.up_to_date(store)?;
        match self.list_few(store, patients, &trusted) {
            Some(found) => Ok(found),
            None => {
                // Every bucket exists once built: a missing or damaged one means start over.
                self.rebuild(store, &held)?;
                self.list_few(store, patients, &trusted)
                    .ok_or_else(|| self.cannot_rebuild())
            }
        }
    }

    fn cannot_rebuild(&self) -> Error {
        Error::internal(format!("cannot rebuild the {} index", self.shelf.name))
            .hint("run `frontdesk index rebuild` and try again")
    }

    /// One pass of [`ByPatient::few_patients_records`] over buckets just brought up to date;
    /// None when a bucket it had to read is missing or damaged.
    fn list_few(
        &self,
        store: &Tree,
        patients: &[Id],
        trusted: &impl Fn(usize, &FileStamp) -> bool,
    ) -> Option<Vec<Listed>> {
        let buckets = self.dir(store);
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

    /// One patient's pairs from their bucket, just brought up to date. Only the patient's own
    /// lines of the bucket are parsed.
    fn bucket_records(
        &self,
        store: &Tree,
        patient: &Id,
        held: &Held,
    ) -> Result<Vec<(NaiveDate, Id)>> {
        let path = self.shard_path(store, patient.shard());
        let wanted = std::slice::from_ref(patient);
        let found = match scan_bucket(&path, wanted, &[0]) {
            Some(found) => found,
            None => {
                // Every bucket exists once built: a missing or cut-short one means start over.
                self.rebuild(store, held)?;
                scan_bucket(&path, wanted, &[0]).ok_or_else(|| self.cannot_rebuild())?
            }
        };
        Ok(found.into_iter().next().unwrap_or_default())
    }

    /// Every bucket (one per two-character patient shard), one at a time on all cores, calling
    /// `visit` with the shard's name and its patients: memory stays at one bucket per thread
    /// whatever the size of the kind. Returns what `visit` kept, in shard (so patient ID)
    /// order, and on failure the error of the first failing shard in that order, so the
    /// outcome does not depend on thread timing. The buckets are brought up to date first
    /// (under the kind's lock); they are then read without it, as they are only ever replaced
    /// whole.
    pub fn map_buckets<R, F>(&self, store: &Tree, visit: F) -> Result<Vec<R>>
    where
        R: Send,
        F: Fn(&str, BucketList) -> Result<Vec<R>> + Sync,
    {
        drop(self.up_to_date(store)?);
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
                let done = self
                    .read_shard(store, shard)
                    .and_then(|bucket| visit(shard, bucket));
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
    fn read_shard(&self, store: &Tree, shard: &str) -> Result<BucketList> {
        let path = self.shard_path(store, shard);
        let bucket = read_bucket(&path).ok_or_else(|| {
            Error::internal(format!(
                "{}: the {} index changed while reading; run the command again",
                path.display(),
                self.shelf.name
            ))
        })?;
        Ok(bucket
            .into_iter()
            .map(|(patient, set)| (patient, set.into_iter().collect()))
            .collect())
    }

    /// Deletes the buckets under the kind's lock, so a command reading them never sees them
    /// vanish midway; the next command rebuilds them from the day lines.
    pub fn remove(&self, store: &Tree) -> Result<()> {
        let held = day_index::lock(store, self.shelf)?;
        self.remove_held(store)?;
        drop(held);
        Ok(())
    }
}

impl Follower for ByPatient {
    /// The engine's news of one year's changed days: their old pairs out of the buckets, their
    /// new ones in. A year whose old lines were lost can only be taken in whole when the
    /// buckets hold nothing of it; buckets that hold a year they were not told of, or lost it,
    /// or are damaged, are marked for rebuilding (`years.tsv` deleted) and rebuilt by the next
    /// look.
    fn follow(&self, store: &Tree, year: i32, changes: &[Change], lost: bool) -> Result<()> {
        let Some(mut years) = self.read_years(store) else {
            return Ok(()); // marked already: rebuilt at the next look, from the lines
        };
        if lost == years.contains(&year) {
            return self.mark_for_rebuild(store);
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
            let path = self.shard_path(store, &shard);
            let Some(body) = read_body(&path) else {
                return self.mark_for_rebuild(store);
            };
            // A bucket's lines are sorted as bytes, which is their (patient, day, record)
            // order, and each is there once: a move is one binary search and one insert or
            // removal, no line parsed (a ledger bucket is 3,000 lines at full size, and
            // parsing and printing them all was most of a payment's 1.3 ms here).
            let mut lines: Vec<&str> = body.lines().collect();
            if !lines.windows(2).all(|w| w[0] < w[1]) {
                return self.mark_for_rebuild(store);
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
            self.write_years(store, &years)?;
        }
        Ok(())
    }

    /// The follower's removal: the engine holds the lock.
    fn remove_held(&self, store: &Tree) -> Result<()> {
        super::remove_folder(&self.dir(store))
    }
}

/// The (day, record) pairs of the `wanted` patients (positions in `patients`) in one bucket
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
pub(crate) fn read_body(path: &Path) -> Option<String> {
    let mut text = fs::read_to_string(path).ok()?;
    let (body, _) = checked_text(&text)?;
    text.truncate(body.len());
    Some(text)
}

/// Writes a bucket file by temp file and rename, without fsync: the index is a cache, and the
/// trailer catches a file cut short by a crash.
pub(crate) fn write_lines(path: &Path, lines: impl Iterator<Item = impl AsRef<str>>) -> Result<()> {
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
    use super::*;

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

    /// A communication's token carries its open follow-up's date after the patient; one
    /// without a patient (a call with an agency) or with an unreadable one is no one's.
    #[test]
    fn a_line_s_pairs_are_each_record_and_its_patient_whatever_follows() {
        let id = |kind, n| Id::from_bits(kind, n).to_string();
        let [c1, c2, c3, c4] = [1, 2, 3, 4].map(|n| id(IdKind::Communication, n));
        let p = id(IdKind::Patient, 9);
        let line = format!("{c1}:{p} {c2}:{p}:2026-12-09 {c3}::2026-12-09 {c4}: {c1}:X");
        let want =
            [(&c1, &p), (&c2, &p)].map(|(r, p)| (Id::parse(r).unwrap(), Id::parse(p).unwrap()));
        assert_eq!(pairs(&line).collect::<Vec<_>>(), want);
    }
}
