//! A disposable cache of a few patients' ledger entries, parsed, for the commands that need
//! the balances of some patients rather than everyone's: `report daily` wants the balance and
//! co-pays of the day's ~400 patients, whose ten years of history at full size are ~10,000
//! entry files to open and parse, where the day itself is a day's work.
//!
//! It lives in `.frontdesk/patient-ledger/XY/P….bin` (ignored by git), one file per patient
//! asked about, under the patient's two-character shard. Which entries are the patient's comes
//! from the ledger index (`ledger_index.rs`, brought up to date against every day folder on
//! every use, so an entry added or removed by hand is seen). The cache keeps that list with the
//! stamp of the index bucket it came from: while the bucket's stamp is unchanged (and outside
//! the racy window), the list holds and the bucket, ~1,700 lines at full size, is not read.
//! Every entry in it is checked against its file on every use, as the ledger cache does
//! (`ledger_cache.rs`): `statx` of size, modification time and change time relative to the
//! open `ledger/` folder, with git's racy-timestamp rule (an entry whose file was stamped
//! within two seconds before the scan that cached it is read again). So a hand edit of an
//! amount, even one that keeps the size and puts the modification time back, is read from
//! the file: its change time moved. A file changed, new, or not in the cache is parsed as
//! before (its errors keep their file:line); a cache file that is missing, cut short or fails
//! its checksum is not used, and is written again.
//!
//! Why not the ledger cache: its files hold a whole shard each (~1,700 entries at full size),
//! so a day's 400 patients would read some 330 of them, over 100 MB, to use 2 % of it.
//!
//! Layout, sealed by `codec::seal` under its own magic: the moment the scan that wrote it
//! began (ns), the stamp of the index bucket the list came from, the number of entries, and
//! per entry of the list, in (day, ID) order: its day, its ID, and when its file was read, its
//! stamp and the entry in the ledger cache's encoding (`ledger_cache::encode`) behind its
//! length. Entries the encoding cannot hold exactly (fields this version does not know), and
//! files gone, have no stamp, so they are always read (or looked for) again. A file is rewritten, whole and by
//! rename without fsync, only when something in it changed.

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode as FsMode, OFlags};

use crate::derived::ledger_cache::{decode, encode};
use crate::derived::ledger_index;
use crate::derived::stamp::{FileStamp, now_ns, stat_file};
use crate::disk::codec::{Reader, Writer, seal, unseal};
use crate::disk::layout::{self, LEDGER_DIR};
use crate::disk::{STATE_DIR, Tree, atomic};
use crate::domain::id::Id;
use crate::domain::ledger::{Entry, sort_entries};
use crate::error::Result;

const MAGIC: &[u8; 8] = b"FDPLC002";
/// Entries stamped this close before the scan that cached them are read again.
const SETTLE_NS: i64 = 2_000_000_000;

fn cache_dir(store: &Tree) -> PathBuf {
    store.path(Path::new(STATE_DIR)).join("patient-ledger")
}

fn cache_path(store: &Tree, patient: &Id) -> PathBuf {
    cache_dir(store)
        .join(patient.shard())
        .join(format!("{patient}.bin"))
}

/// Deletes the cache; the next command that needs it builds what it asks for.
pub fn remove(store: &Tree) -> Result<()> {
    super::remove_folder(&cache_dir(store))
}

/// Each patient's entries in ledger order, in the order given (a patient asked twice is
/// looked up once), as [`crate::store::Store::read_entries`] would read them from the index's
/// list: files gone or no longer the patient's are skipped. Patients are done on all cores;
/// the error reported is that of the first failing patient in the order given.
pub fn patients_entries(store: &Tree, patients: &[Id]) -> Result<Vec<Vec<Entry>>> {
    let mut unique: Vec<Id> = patients.to_vec();
    unique.sort();
    unique.dedup();
    let scan_start = now_ns();
    let paths: Vec<PathBuf> = unique.iter().map(|p| cache_path(store, p)).collect();
    let bytes: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| fs::read(p).unwrap_or_default())
        .collect();
    let cached: Vec<Cached> = bytes
        .iter()
        .map(|b| Cached::parse(b).unwrap_or_default())
        .collect();
    let listed = ledger_index::few_patients_entries(store, &unique, |i, stamp| {
        cached[i].bucket_holds(stamp)
    })?;
    let ledger_path = store.path(Path::new(LEDGER_DIR));
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    // Without it every entry is simply read (and its error reported) as before.
    let ledger = rustix::fs::open(&ledger_path, flags, FsMode::empty()).ok();
    let done: Vec<Result<Vec<Entry>>> = (0..unique.len())
        .into_par_iter()
        .map(|i| {
            let (patient, cached, listed) = (&unique[i], &cached[i], &listed[i]);
            let list = match &listed.entries {
                Some(list) => list.clone(),
                None => cached.list(),
            };
            let mut pass = Pass {
                store,
                ledger: ledger.as_ref(),
                ledger_path: &ledger_path,
                cached,
                records: Vec::with_capacity(list.len()),
                fresh: false,
            };
            let entries = pass.entries(patient, list)?;
            // Nothing read from a file means every entry of the list came from the cache.
            if pass.fresh
                || pass.records.len() != cached.records.len()
                || cached.bucket != listed.bucket
            {
                // A failure to write the cache only costs speed next time.
                let _ = save(&paths[i], scan_start, listed.bucket, &pass.records);
            }
            Ok(entries)
        })
        .collect();
    let mut by_id: HashMap<&Id, Vec<Entry>> = HashMap::with_capacity(unique.len());
    for (id, r) in unique.iter().zip(done) {
        by_id.insert(id, r?);
    }
    Ok(patients
        .iter()
        .map(|p| by_id.get(p).cloned().unwrap_or_default())
        .collect())
}

/// One entry of a cached list: where it is filed, and when its file was read, the file's
/// stamp and the entry's encoded bytes.
#[derive(Debug, Clone, PartialEq)]
struct Record<'a> {
    day: NaiveDate,
    id: &'a str,
    read: Option<(FileStamp, &'a [u8])>,
}

/// What a patient's cache file holds.
#[derive(Debug, Default)]
struct Cached<'a> {
    /// Stamps at or after this moment are not trusted.
    since: i64,
    /// The stamp of the index bucket the list was taken from.
    bucket: Option<FileStamp>,
    /// The patient's entries as the index listed them, in (day, ID) order.
    records: Vec<Record<'a>>,
}

impl<'a> Cached<'a> {
    fn parse(bytes: &'a [u8]) -> Option<Cached<'a>> {
        let mut r = Reader::new(unseal(MAGIC, bytes)?);
        let scanned_at = r.i64()?;
        let bucket = match r.u8()? {
            0 => None,
            1 => Some(FileStamp::read(&mut r)?),
            _ => return None,
        };
        let n = r.u32()? as usize;
        let mut records = Vec::with_capacity(n.min(bytes.len() / 8));
        for _ in 0..n {
            let day = NaiveDate::from_num_days_from_ce_opt(r.i32()?)?;
            let id = r.str()?;
            let read = match r.u8()? {
                0 => None,
                1 => {
                    let stamp = FileStamp::read(&mut r)?;
                    let len = r.u32()? as usize;
                    Some((stamp, r.bytes(len)?))
                }
                _ => return None,
            };
            records.push(Record { day, id, read });
        }
        r.at_end().then_some(Cached {
            since: scanned_at.saturating_sub(SETTLE_NS),
            bucket,
            records,
        })
    }

    /// The index bucket still has the stamp the list was taken at, outside the racy window:
    /// the list holds.
    fn bucket_holds(&self, stamp: &FileStamp) -> bool {
        self.bucket.as_ref() == Some(stamp) && !stamp.is_racy(self.since)
    }

    /// The cached list of (day, entry ID); an ID that does not parse makes the pair unknown,
    /// so it is simply looked for as a file that is not there.
    fn list(&self) -> Vec<(NaiveDate, Id)> {
        self.records
            .iter()
            .filter_map(|r| Some((r.day, Id::parse(r.id).ok()?)))
            .collect()
    }

    /// The cached entry filed at (`day`, `id`) when its file's stamp is still `stamp` and lies
    /// outside the racy window, with its encoded bytes.
    fn entry(&self, day: NaiveDate, id: &Id, stamp: FileStamp) -> Option<(Entry, &'a [u8])> {
        let i = self
            .records
            .binary_search_by(|r| (r.day, r.id).cmp(&(day, id.as_str())))
            .ok()?;
        let (kept, payload) = self.records[i].read?;
        if kept != stamp || stamp.is_racy(self.since) {
            return None;
        }
        let e = decode(payload)?;
        // The bytes must be the entry filed there (a checksum collision aside, this holds).
        (e.id == *id && e.date == day).then_some((e, payload))
    }
}

/// One entry of the list to write: its day, its ID, and its file's stamp and encoded entry.
type NewRecord = (NaiveDate, Id, Option<(FileStamp, Vec<u8>)>);

fn save(
    path: &Path,
    scanned_at: i64,
    bucket: Option<FileStamp>,
    records: &[NewRecord],
) -> Result<()> {
    let mut w = Writer::with_capacity(64 + records.len() * 200);
    w.i64(scanned_at);
    match bucket {
        Some(b) => {
            w.u8(1);
            b.write(&mut w);
        }
        None => w.u8(0),
    }
    w.u32(records.len() as u32);
    for (day, id, read) in records {
        w.i32(day.num_days_from_ce());
        w.str(id.as_str());
        match read {
            Some((stamp, payload)) => {
                w.u8(1);
                stamp.write(&mut w);
                w.u32(payload.len() as u32);
                w.buf.extend_from_slice(payload);
            }
            None => w.u8(0),
        }
    }
    if let Some(dir) = path.parent() {
        atomic::create_dirs(dir)?;
    }
    atomic::write_unsynced(path, &seal(MAGIC, &w.buf), atomic::Mode::Replace)
}

/// One patient's pass over their entries.
struct Pass<'s, 'c> {
    store: &'s Tree,
    ledger: Option<&'s OwnedFd>,
    ledger_path: &'s Path,
    cached: &'c Cached<'c>,
    /// What the cache file will hold, in (day, ID) order.
    records: Vec<NewRecord>,
    /// Something was read from its file (or looked for and not found).
    fresh: bool,
}

impl Pass<'_, '_> {
    fn entries(&mut self, patient: &Id, list: Vec<(NaiveDate, Id)>) -> Result<Vec<Entry>> {
        let mut out = Vec::with_capacity(list.len());
        for (day, id) in list {
            let name = entry_name(day, &id);
            let stamp = self
                .ledger
                .and_then(|fd| stat_file(fd, self.ledger_path, &name));
            let entry = match stamp.and_then(|st| self.cached.entry(day, &id, st)) {
                Some((e, payload)) => {
                    let st = stamp.unwrap_or_default();
                    self.records.push((day, id, Some((st, payload.to_vec()))));
                    e
                }
                None => {
                    self.fresh = true;
                    let rel = Path::new(LEDGER_DIR).join(OsStr::from_bytes(name.to_bytes()));
                    let read = self.store.read_entry_if_present(&rel)?;
                    let kept = match (&read, stamp) {
                        (Some(e), Some(st)) if e.id == id && e.date == day => {
                            encode(e).map(|payload| (st, payload))
                        }
                        _ => None,
                    };
                    self.records.push((day, id, kept));
                    let Some(e) = read else {
                        continue;
                    };
                    e
                }
            };
            if &entry.patient == patient {
                out.push(entry);
            }
        }
        sort_entries(&mut out);
        Ok(out)
    }
}

/// `2026/11/27/T….toml`: an entry's file relative to `ledger/`.
fn entry_name(day: NaiveDate, id: &Id) -> CString {
    let rel = layout::ledger_rel(day, id);
    let inner = rel.strip_prefix(LEDGER_DIR).unwrap_or(&rel);
    // Neither a date nor an ID holds a NUL.
    CString::new(inner.as_os_str().as_bytes()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_file_reads_back_and_refuses_damage() {
        let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let id = Id::parse("T1FHGM17X").unwrap();
        let stamp = FileStamp {
            size: 300,
            mtime: 1_000,
            ctime: 2_000,
        };
        let bucket = FileStamp {
            size: 40,
            mtime: 3_000,
            ctime: 3_000,
        };
        let gone = Id::parse("T1FHGM17Y").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("P1.bin");
        let records = [
            (day, id.clone(), Some((stamp, b"xyz".to_vec()))),
            (day, gone.clone(), None),
        ];
        save(&path, 10_000_000_000, Some(bucket), &records).unwrap();
        let bytes = fs::read(&path).unwrap();
        let c = Cached::parse(&bytes).unwrap();
        assert_eq!(c.since, 8_000_000_000);
        assert_eq!(c.bucket, Some(bucket));
        assert_eq!(
            c.records,
            vec![
                Record {
                    day,
                    id: "T1FHGM17X",
                    read: Some((stamp, &b"xyz"[..])),
                },
                Record {
                    day,
                    id: "T1FHGM17Y",
                    read: None,
                },
            ]
        );
        assert_eq!(c.list(), vec![(day, id.clone()), (day, gone)]);
        for n in 0..bytes.len() {
            assert!(Cached::parse(&bytes[..n]).is_none(), "cut at {n}");
        }
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(Cached::parse(&bad).is_none(), "byte {at} flipped");
        }
        // Bytes that are no entry are not one (decode refuses them).
        assert!(c.entry(day, &id, stamp).is_none());
        assert_eq!(
            entry_name(day, &id).to_str().unwrap(),
            "2024/02/29/T1FHGM17X.toml"
        );
    }

    #[test]
    fn a_list_and_an_entry_are_trusted_only_unchanged_and_outside_the_racy_window() {
        use crate::domain::ledger::Kind;
        let recorded = chrono::DateTime::parse_from_rfc3339("2024-02-29T10:00:00-05:00").unwrap();
        let patient = Id::parse("PEPB8R9NB").unwrap();
        let mut e = Entry::new(
            Kind::Payment,
            patient,
            "25.00".parse().unwrap(),
            recorded,
            "ann",
        );
        e.id = Id::parse("T1FHGM17X").unwrap();
        let day = e.date;
        let stamp = FileStamp {
            size: 300,
            mtime: 1_000,
            ctime: 2_000,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("P1.bin");
        let scanned_at = 10_000_000_000;
        let records = [(day, e.id.clone(), Some((stamp, encode(&e).unwrap())))];
        save(&path, scanned_at, Some(stamp), &records).unwrap();
        let bytes = fs::read(&path).unwrap();
        let c = Cached::parse(&bytes).unwrap();
        assert_eq!(c.entry(day, &e.id, stamp).map(|(x, _)| x), Some(e.clone()));
        assert!(c.bucket_holds(&stamp));
        // Changed within two seconds of the scan: looked at again whatever its stamp.
        let just_scanned = FileStamp {
            ctime: scanned_at - 1_999_999_999,
            ..stamp
        };
        for changed in stamp.each_field_changed().into_iter().chain([just_scanned]) {
            assert!(c.entry(day, &e.id, changed).is_none(), "{changed:?}");
            assert!(!c.bucket_holds(&changed), "{changed:?}");
        }
        let racy = FileStamp {
            ctime: scanned_at - 1_000_000_000,
            ..stamp
        };
        save(
            &path,
            scanned_at,
            Some(racy),
            &[(day, e.id.clone(), Some((racy, encode(&e).unwrap())))],
        )
        .unwrap();
        let bytes = fs::read(&path).unwrap();
        let c = Cached::parse(&bytes).unwrap();
        assert!(c.entry(day, &e.id, racy).is_none(), "racy entry");
        assert!(!c.bucket_holds(&racy), "racy bucket");
    }
}
