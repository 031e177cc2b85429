//! What a day-folder cache remembers of a day it re-read, file by file, so that the next time
//! the folder changes only its changed files are read again.
//!
//! The day-folder caches (`schedule_index.rs`: appointments, communications) keep one line per
//! day folder, trusted while the folder's time is unchanged. A write into the folder (a
//! booking, a follow-up closed) moves that time, and the whole day used to be read again: a
//! booking on a day of 500 visits re-read all 500 files, right after the booking itself had.
//! So when a cache re-reads a day it already held, it also keeps here, per file, the token it
//! took from the file.
//!
//! It is a declaration over the per-file cache engine (`file_cache.rs`, [`DayFiles`]): the
//! records are the day folder's files whose name is an ID, named as on disk and stamped by
//! name in the open folder; the payload is the token. The engine owns the rest: the format, the
//! checksums, the stamp check (size, modification and change time, so an edit that keeps the
//! size and puts the modification time back is still seen) under the racy-timestamp rule, and
//! writing the file only when something in it changed. An edit made by hand is therefore seen
//! exactly when the day is re-read, as before.
//!
//! Files: `.frontdesk/index/days/KIND/YYYY-MM-DD.bin`, one per day, under [`MAGIC`]. Only the
//! [`KEEP`] most recently written are kept per kind: they serve the days being worked on, and
//! a day not among them is read whole, as without them. A file missing or damaged reads as
//! empty (the whole day is read) and is written again.

use std::ffi::{CStr, CString, OsStr};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};

use crate::derived::file_cache::{Loaded, Pass, PerFile};
use crate::derived::stamp::{FileStamp, now_ns, stat_file};
use crate::disk::files_with_ext;
use crate::domain::id::Id;
use crate::error::Result;

const MAGIC: &[u8; 8] = b"FDDAY002";
/// Days remembered per kind: the days a desk is working on, not the history.
pub const KEEP: usize = 64;

/// The declaration: a day folder's record files, each kept as the token `token_of` takes
/// from it.
struct DayFiles<'d> {
    dir: &'d Path,
    /// The open day folder its files are stamped in (None: every file is read).
    fd: Option<OwnedFd>,
    token_of: fn(&Path, &Id) -> String,
}

impl PerFile for DayFiles<'_> {
    type Payload = String;

    fn magic(&self) -> &'static [u8; 8] {
        MAGIC
    }

    fn stamp(&self, name: &CStr) -> Option<FileStamp> {
        stat_file(self.fd.as_ref()?, self.dir, name)
    }

    fn extract(&self, name: &CStr) -> Result<Option<String>> {
        let path = self.dir.join(OsStr::from_bytes(name.to_bytes()));
        Ok(name_id(&path).map(|id| (self.token_of)(&path, &id)))
    }

    fn encode(&self, _: &CStr, token: &String) -> Option<Vec<u8>> {
        Some(token.as_bytes().to_vec())
    }

    fn decode(&self, _: &CStr, bytes: &[u8]) -> Option<String> {
        String::from_utf8(bytes.to_vec()).ok()
    }
}

/// The day folder `dir`'s tokens (one per record file whose name is an ID, in name order,
/// joined by spaces), reading with `token_of` only the files `memory_dir`'s memory of the
/// day cannot vouch for. With `remember`, the memory is written again when it changed (a
/// first build of a year passes false: ten years of days would not fit in [`KEEP`]).
pub fn read_day(
    memory_dir: &Path,
    date: NaiveDate,
    dir: &Path,
    token_of: fn(&Path, &Id) -> String,
    remember: bool,
) -> Result<String> {
    read_day_listed_at(memory_dir, date, dir, token_of, remember, now_ns())
}

/// [`read_day`] with the listing taken to begin at `listed_at` (ns).
fn read_day_listed_at(
    memory_dir: &Path,
    date: NaiveDate,
    dir: &Path,
    token_of: fn(&Path, &Id) -> String,
    remember: bool,
    listed_at: i64,
) -> Result<String> {
    let path = memory_dir.join(format!("{date}.bin"));
    let bytes = match remember {
        true => fs::read(&path).unwrap_or_default(),
        false => Vec::new(),
    };
    let old = Loaded::parse(MAGIC, &bytes);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let day = DayFiles {
        dir,
        fd: rustix::fs::open(dir, flags, Mode::empty()).ok(),
        token_of,
    };
    let mut pass = Pass::new(&day, &old);
    let mut tokens = Vec::new();
    for file in files_with_ext(dir, "toml")? {
        let Some(name) = file.file_name().filter(|_| name_id(&file).is_some()) else {
            continue;
        };
        let name = CString::new(name.as_bytes()).expect("a file name holds no NUL");
        tokens.extend(pass.get(name)?);
    }
    // A memory that cannot be written only costs speed next time. Only a day new to the
    // memory adds a file to it.
    if remember && pass.save(&path, None, listed_at).is_ok() && bytes.is_empty() {
        forget_old_days(memory_dir);
    }
    Ok(tokens.join(" "))
}

/// The record ID a file's name spells exactly (`A3F9K2QX.toml`), if it does: records are
/// found, and new IDs refused, by the name a file has on disk.
pub fn name_id(path: &Path) -> Option<Id> {
    let stem = path.file_stem()?.to_str()?;
    Id::parse(stem).ok().filter(|id| id.as_str() == stem)
}

/// Keeps the [`KEEP`] days most recently written; the rest are read whole when they change.
fn forget_old_days(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut days: Vec<(std::time::SystemTime, PathBuf)> = rd
        .flatten()
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if days.len() <= KEEP {
        return;
    }
    days.sort();
    for (_, path) in &days[..days.len() - KEEP] {
        let _ = fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::derived::stamp::SETTLE_NS;
    use crate::domain::id::IdKind;

    static READS: AtomicUsize = AtomicUsize::new(0);

    fn counted(path: &Path, id: &Id) -> String {
        READS.fetch_add(1, Ordering::SeqCst);
        format!(
            "{id}:{}",
            fs::read_to_string(path).unwrap_or_default().trim()
        )
    }

    fn put(dir: &Path, n: u64, text: &str) -> PathBuf {
        let p = dir.join(format!("{}.toml", Id::from_bits(IdKind::Appointment, n)));
        fs::write(&p, text).unwrap();
        p
    }

    /// Sets a file's modification time to the same moment long past (its change time moves
    /// to now): an edit followed by this leaves only the change time to tell.
    fn settle(p: &Path) {
        let past = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30);
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(past)
            .unwrap();
    }

    /// How many files a read of the day at `listed_at` read, and its tokens.
    fn read_at(memory: &Path, day: &Path, listed_at: i64) -> (usize, String) {
        let date: NaiveDate = "2026-12-04".parse().unwrap();
        READS.store(0, Ordering::SeqCst);
        let got = read_day_listed_at(memory, date, day, counted, true, listed_at).unwrap();
        (READS.swap(0, Ordering::SeqCst), got)
    }

    #[test]
    fn a_changed_day_reads_only_its_new_changed_and_racy_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (day, memory) = (tmp.path().join("day"), tmp.path().join("memory"));
        fs::create_dir(&day).unwrap();
        let files: Vec<PathBuf> = (1..=5).map(|n| put(&day, n, "x")).collect();
        files.iter().for_each(|p| settle(p));
        let (reads, first) = read_at(&memory, &day, now_ns());
        assert_eq!((reads, first.split(' ').count()), (5, 5));
        // The change time of a file whose mtime was just set is "now", within the racy window
        // of the listing that kept it: every file is read again.
        assert_eq!(read_at(&memory, &day, now_ns()), (5, first.clone()));
        // Kept by a listing well after it, the stamps are trusted: nothing is read, and the
        // memory, unchanged, is not written.
        let later = now_ns() + 10 * SETTLE_NS;
        read_at(&memory, &day, later);
        let path = memory.join("2026-12-04.bin");
        let kept = fs::read(&path).unwrap();
        assert_eq!(read_at(&memory, &day, later + 1), (0, first.clone()));
        assert_eq!(fs::read(&path).unwrap(), kept, "not written");

        // A new file, an edited one (same size, same mtime: only ctime moves), one gone.
        put(&day, 9, "n");
        fs::write(&files[1], "y").unwrap();
        settle(&files[1]);
        fs::remove_file(&files[2]).unwrap();
        let (reads, after) = read_at(&memory, &day, later + 10 * SETTLE_NS);
        assert_eq!(reads, 2, "the new and the edited file");
        let none = tmp.path().join("none");
        let date: NaiveDate = "2026-12-04".parse().unwrap();
        let truth = read_day(&none, date, &day, counted, false).unwrap();
        assert!(!none.exists(), "read without remembering writes nothing");
        assert_eq!(after, truth);
        assert_eq!(after.matches(":x").count(), 3);
        assert!(after.contains(":y") && after.contains(":n"));
    }

    #[test]
    fn a_damaged_memory_is_not_used() {
        let tmp = tempfile::tempdir().unwrap();
        let (day, memory) = (tmp.path().join("day"), tmp.path().join("memory"));
        fs::create_dir(&day).unwrap();
        let date: NaiveDate = "2026-12-05".parse().unwrap();
        for n in 1..=3 {
            settle(&put(&day, n, "v"));
        }
        let by_path = |p: &Path, id: &Id| format!("{id}:{}", p.display());
        let later = now_ns() + 10 * SETTLE_NS;
        let truth = read_day_listed_at(&memory, date, &day, by_path, true, later).unwrap();
        let path = memory.join(format!("{date}.bin"));
        let good = fs::read(&path).unwrap();
        let mut damaged: Vec<Vec<u8>> = [0, 8, good.len() / 2, good.len() - 1]
            .iter()
            .map(|&cut| good[..cut].to_vec())
            .collect();
        for at in [9, good.len() / 2, good.len() - 3] {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            damaged.push(bad);
        }
        for bad in damaged {
            assert!(Loaded::parse(MAGIC, &bad).names().next().is_none());
            fs::write(&path, &bad).unwrap();
            let got = read_day_listed_at(&memory, date, &day, by_path, true, later);
            assert_eq!(got.unwrap(), truth);
            assert_eq!(fs::read(&path).unwrap(), good, "written again");
        }
    }

    #[test]
    fn only_the_most_recent_days_are_kept() {
        let tmp = tempfile::tempdir().unwrap();
        for n in 0..KEEP + 3 {
            let p = tmp.path().join(format!("{n:03}.bin"));
            fs::write(&p, b"x").unwrap();
            let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(n as u64);
            fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        forget_old_days(tmp.path());
        let mut left: Vec<String> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), KEEP);
        assert_eq!(left[0], "003.bin", "the three oldest went");
    }

    #[test]
    fn a_day_new_to_the_memory_puts_out_the_oldest() {
        let tmp = tempfile::tempdir().unwrap();
        let (day, memory) = (tmp.path().join("day"), tmp.path().join("memory"));
        fs::create_dir_all(&memory).unwrap();
        fs::create_dir(&day).unwrap();
        settle(&put(&day, 1, "v"));
        for n in 0..KEEP {
            let p = memory.join(format!("2000-01-{:02}-{n}.bin", 1 + n % 28));
            fs::write(&p, b"x").unwrap();
            settle(&p);
        }
        read_at(&memory, &day, now_ns());
        let left: Vec<_> = fs::read_dir(&memory).unwrap().collect();
        assert_eq!(left.len(), KEEP);
        assert!(memory.join("2026-12-04.bin").exists());
    }
}
