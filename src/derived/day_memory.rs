//! What a day-folder cache remembers of a day it re-read, file by file, so that the next time
//! the folder changes only its changed files are read again.
//!
//! The day-folder caches (`schedule_index.rs`: appointments, communications) keep one line per
//! day folder, trusted while the folder's time is unchanged. A write into the folder (a
//! booking, a follow-up closed) moves that time, and the whole day used to be read again: a
//! booking on a day of 500 visits re-read all 500 files, right after the booking itself had.
//! So when a cache re-reads a day it already held, it also keeps here, per file, the file's
//! stamp (size, modification and change time) and the token it took from the file; the next
//! re-read of that day lists the folder, stats each file by name in the open folder, and reads
//! only the files that are new or whose stamp moved, or was taken within [`SETTLE_NS`] of the
//! listing that kept it (`stamp::SETTLE_NS`, git's racy-timestamp rule: an edit in the same clock tick keeps the
//! stamp). An edit made by hand is therefore seen exactly when the day is re-read, as before,
//! and an edit that keeps the size and puts the modification time back still moves the change
//! time.
//!
//! Files: `.frontdesk/index/days/KIND/YYYY-MM-DD.bin`, sealed (`codec::seal`) under [`MAGIC`]:
//! the moment the listing began (ns), then per file in name order: its name, its stamp and its
//! token. Only the [`KEEP`] most recently written are kept per kind: they serve the days being
//! worked on, and a day not among them is read whole, as without them. A file missing, cut
//! short or failing its checksum is simply not used, and written again.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};

#[cfg(test)]
use crate::derived::stamp::SETTLE_NS;
use crate::derived::stamp::{FileStamp, now_ns, stat_file, untrusted_from};
use crate::disk::codec::{Reader, Writer, seal, unseal};
use crate::disk::{atomic, files_with_ext};
use crate::domain::id::Id;
use crate::error::Result;

const MAGIC: &[u8; 8] = b"FDDAY001";
/// Days remembered per kind: the days a desk is working on, not the history.
pub const KEEP: usize = 64;

/// One day folder's files as last listed: (name, stamp, token), sorted by name.
struct Memory {
    listed_at: i64,
    files: Vec<(String, FileStamp, String)>,
}

impl Memory {
    fn load(path: &Path) -> Option<Memory> {
        let bytes = fs::read(path).ok()?;
        let mut r = Reader::new(unseal(MAGIC, &bytes)?);
        let listed_at = r.i64()?;
        let n = r.u32()? as usize;
        let mut files = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            let name = r.string()?;
            let stamp = FileStamp::read(&mut r)?;
            files.push((name, stamp, r.string()?));
        }
        r.at_end().then_some(Memory { listed_at, files })
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(64 * self.files.len() + 16);
        w.i64(self.listed_at);
        w.u32(self.files.len() as u32);
        for (name, stamp, token) in &self.files {
            w.str(name);
            stamp.write(&mut w);
            w.str(token);
        }
        seal(MAGIC, &w.buf)
    }

    /// The token kept for `name`, when its file still has the stamp it had, taken safely
    /// before the listing (outside the racy window).
    fn token(&self, name: &str, now: &FileStamp) -> Option<&str> {
        let i = self
            .files
            .binary_search_by(|(n, _, _)| n.as_str().cmp(name))
            .ok()?;
        let (_, kept, token) = &self.files[i];
        (kept == now && !kept.is_racy(untrusted_from(self.listed_at))).then_some(token.as_str())
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
    let listed_at = now_ns();
    let path = memory_dir.join(format!("{date}.bin"));
    let old = if remember { Memory::load(&path) } else { None };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd: Option<OwnedFd> = rustix::fs::open(dir, flags, Mode::empty()).ok();
    let mut tokens = Vec::new();
    let mut files = Vec::new();
    let mut read_any = false;
    for file in files_with_ext(dir, "toml")? {
        let Some(id) = name_id(&file) else { continue };
        let name = file.file_name().map(|n| n.as_bytes()).unwrap_or_default();
        let stamp = fd.as_ref().and_then(|fd| {
            let c = CString::new(name).ok()?;
            stat_file(fd, dir, &c)
        });
        let kept = stamp.and_then(|s| old.as_ref()?.token(id.as_str(), &s));
        let token = match kept {
            Some(t) => t.to_string(),
            None => {
                read_any = true;
                token_of(&file, &id)
            }
        };
        if let Some(s) = stamp {
            files.push((id.to_string(), s, token.clone()));
        }
        tokens.push(token);
    }
    let same_files = old.as_ref().is_some_and(|m| {
        m.files.len() == files.len() && m.files.iter().zip(&files).all(|(a, b)| a.0 == b.0)
    });
    if remember && (read_any || !same_files) {
        let memory = Memory { listed_at, files };
        // A memory that cannot be written only costs speed next time.
        let _ = save(memory_dir, &path, &memory);
    }
    Ok(tokens.join(" "))
}

/// The record ID a file's name spells exactly (`A3F9K2QX.toml`), if it does: records are
/// found, and new IDs refused, by the name a file has on disk.
pub fn name_id(path: &Path) -> Option<Id> {
    let stem = path.file_stem()?.to_str()?;
    Id::parse(stem).ok().filter(|id| id.as_str() == stem)
}

fn save(dir: &Path, path: &Path, memory: &Memory) -> Result<()> {
    atomic::create_dirs(dir)?;
    atomic::write_unsynced(path, &memory.encode(), atomic::Mode::Replace)?;
    forget_old_days(dir);
    Ok(())
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

    /// Puts a file's times an hour back, out of the racy window of any listing after it.
    fn settle(p: &Path) {
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
    }

    #[test]
    fn a_changed_day_reads_only_its_new_changed_and_racy_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (day, memory) = (tmp.path().join("day"), tmp.path().join("memory"));
        fs::create_dir(&day).unwrap();
        let date: NaiveDate = "2026-12-04".parse().unwrap();
        let files: Vec<PathBuf> = (1..=5).map(|n| put(&day, n, "x")).collect();
        files.iter().for_each(|p| settle(p));
        let first = read_day(&memory, date, &day, counted, true).unwrap();
        // The change time of a file whose mtime was set is "now": every file is racy once.
        assert_eq!(READS.swap(0, Ordering::SeqCst), 5);
        assert_eq!(first.split(' ').count(), 5);

        // Kept entries are trusted only outside the racy window of the listing that kept them:
        // age the memory by rewriting it with an old listing time.
        let path = memory.join(format!("{date}.bin"));
        let mut m = Memory::load(&path).unwrap();
        m.listed_at += 10 * SETTLE_NS;
        fs::write(&path, m.encode()).unwrap();
        assert_eq!(read_day(&memory, date, &day, counted, true).unwrap(), first);
        assert_eq!(READS.swap(0, Ordering::SeqCst), 0, "nothing changed");

        // A new file, an edited one (same size, mtime put back: only ctime moves), one gone.
        let mut m = Memory::load(&path).unwrap();
        m.listed_at += 10 * SETTLE_NS;
        fs::write(&path, m.encode()).unwrap();
        put(&day, 9, "n");
        fs::write(&files[1], "y").unwrap();
        settle(&files[1]);
        fs::remove_file(&files[2]).unwrap();
        let after = read_day(&memory, date, &day, counted, true).unwrap();
        assert_eq!(
            READS.swap(0, Ordering::SeqCst),
            2,
            "the new and the edited file"
        );
        let truth = read_day(&tmp.path().join("none"), date, &day, counted, false).unwrap();
        READS.store(0, Ordering::SeqCst);
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
        let truth = read_day(
            &memory,
            date,
            &day,
            |p, id| format!("{id}:{}", p.display()),
            true,
        )
        .unwrap();
        let path = memory.join(format!("{date}.bin"));
        let good = fs::read(&path).unwrap();
        for cut in [0, 8, good.len() / 2, good.len() - 1] {
            fs::write(&path, &good[..cut]).unwrap();
            assert!(Memory::load(&path).is_none(), "cut at {cut}");
        }
        for at in [9, good.len() / 2, good.len() - 3] {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            fs::write(&path, &bad).unwrap();
            assert!(Memory::load(&path).is_none(), "flip at {at}");
            let got = read_day(
                &memory,
                date,
                &day,
                |p, id| format!("{id}:{}", p.display()),
                true,
            );
            assert_eq!(got.unwrap(), truth);
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
}
