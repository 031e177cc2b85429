//! Stamps and the racy-timestamp rule, for every cache: what a file's or a folder's stat says
//! (size, modification and change time, in nanoseconds), how it is read (`statx` relative to
//! an open folder, `lstat` where `statx` is refused), and when a stamp may be trusted.
//!
//! The rule (git's): a file or folder stamped at or after the moment the scan that recorded
//! it began may change again within the same timestamp tick without its stamp moving, so it
//! is looked at again. A per-file cache asks [`FileStamp::is_racy`]; a per-day-folder cache
//! asks [`folder_unchanged`], with the margin it declares for coarse file-system clocks.

use std::ffi::{CStr, OsStr};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use rayon::prelude::*;
use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Statx, StatxFlags, StatxTimestamp, statx};

use crate::disk::codec::{Reader, Writer};
use crate::disk::layout::{push_date_folders, two_digits, two_digits_c};
use crate::error::{Error, Result};

/// How long before the scan that recorded it a stamp is still not trusted: two seconds, for
/// file systems whose clocks tick coarser than the nanoseconds they report. Every per-file
/// cache uses it (through [`untrusted_from`]).
pub const SETTLE_NS: i64 = 2_000_000_000;

/// The moment from which stamps are not trusted by a cache whose scan began at `scanned_at`:
/// the `since` of [`FileStamp::is_racy`].
pub fn untrusted_from(scanned_at: i64) -> i64 {
    scanned_at.saturating_sub(SETTLE_NS)
}

/// What the stat pass compares: a file's size, modification time and change time (ns). The
/// change time also moves when an edit puts the old modification time back (`touch -d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStamp {
    pub size: u64,
    pub mtime: i64,
    pub ctime: i64,
}

impl FileStamp {
    /// Changed at or after `since`: another edit within the same timestamp tick could leave
    /// the stamp as it is, so the file must be looked at again (git's racy-timestamp rule).
    pub fn is_racy(&self, since: i64) -> bool {
        self.mtime >= since || self.ctime >= since
    }

    /// A stamp kept by a scan whose racy window began at `since` still describes the file
    /// stamped `now`: the one rule by which every per-file cache reuses what it kept.
    pub fn still(&self, now: &FileStamp, since: i64) -> bool {
        self == now && !now.is_racy(since)
    }

    /// The stamp with each field moved in turn (size grown, mtime put back, ctime moved on):
    /// each a change a cache must see.
    #[cfg(test)]
    pub fn each_field_changed(self) -> [FileStamp; 3] {
        [
            FileStamp {
                size: self.size + 1,
                ..self
            },
            FileStamp {
                mtime: self.mtime - 1,
                ..self
            },
            FileStamp {
                ctime: self.ctime + 1,
                ..self
            },
        ]
    }

    pub fn write(&self, w: &mut Writer) {
        w.u64(self.size);
        w.i64(self.mtime);
        w.i64(self.ctime);
    }

    pub fn read(r: &mut Reader) -> Option<FileStamp> {
        Some(FileStamp {
            size: r.u64()?,
            mtime: r.i64()?,
            ctime: r.i64()?,
        })
    }
}

pub fn mtime_ns(meta: &fs::Metadata) -> i64 {
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

const STAT_MASK: StatxFlags = StatxFlags::TYPE
    .union(StatxFlags::SIZE)
    .union(StatxFlags::MTIME)
    .union(StatxFlags::CTIME);

pub(crate) fn stamp_of(x: &Statx) -> FileStamp {
    let ns = |t: &StatxTimestamp| {
        t.tv_sec
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::from(t.tv_nsec))
    };
    FileStamp {
        size: x.stx_size,
        mtime: ns(&x.stx_mtime),
        ctime: ns(&x.stx_ctime),
    }
}

fn stamp_of_meta(m: &fs::Metadata) -> FileStamp {
    FileStamp {
        size: m.len(),
        mtime: mtime_ns(m),
        ctime: m
            .ctime()
            .saturating_mul(1_000_000_000)
            .saturating_add(m.ctime_nsec()),
    }
}

/// `statx` is missing before Linux 4.11 and refused by some old container seccomp profiles:
/// then std's `lstat` of the whole path answers (slower, but right).
fn statx_unavailable(e: rustix::io::Errno) -> bool {
    matches!(e, rustix::io::Errno::NOSYS | rustix::io::Errno::PERM)
}

/// The stamp of a regular file `name` in the open directory `dir` (at `dir_path`); None when
/// it is gone or is not a regular file (a symlink is not followed).
pub(crate) fn stat_file(dir: &OwnedFd, dir_path: &Path, name: &CStr) -> Option<FileStamp> {
    match statx(dir, name, AtFlags::SYMLINK_NOFOLLOW, STAT_MASK) {
        Ok(x) => (FileType::from_raw_mode(x.stx_mode.into()) == FileType::RegularFile)
            .then(|| stamp_of(&x)),
        Err(e) if statx_unavailable(e) => {
            let meta = fs::symlink_metadata(dir_path.join(OsStr::from_bytes(name.to_bytes())));
            meta.ok().filter(|m| m.is_file()).map(|m| stamp_of_meta(&m))
        }
        Err(_) => None,
    }
}

/// The subfolder `name` of the open folder `dir` (at `path`), opened for lookups relative to
/// it, and its stamp; None when it is gone or is not a folder (a symlink is not followed, as a
/// listing does not take one for a folder).
pub(crate) fn open_subfolder(
    dir: &OwnedFd,
    path: &Path,
    name: &str,
) -> Option<(OwnedFd, FileStamp)> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::empty()).ok()?;
    let stamp = stat_dir(&fd, path).ok()?;
    Some((fd, stamp))
}

/// The stamp of an open directory (at `path`).
pub(crate) fn stat_dir(dir: &OwnedFd, path: &Path) -> Result<FileStamp> {
    match statx(dir, c"", AtFlags::EMPTY_PATH, STAT_MASK) {
        Ok(x) => Ok(stamp_of(&x)),
        Err(e) if statx_unavailable(e) => fs::symlink_metadata(path)
            .map(|m| stamp_of_meta(&m))
            .map_err(|e| Error::io(path, "list", e)),
        Err(e) => Err(Error::io(path, "list", e.into())),
    }
}

/// Seconds and nanoseconds as nanoseconds.
pub fn ns(s: i64, n: i64) -> i64 {
    s.saturating_mul(1_000_000_000).saturating_add(n)
}

/// The day folders of one year of a date-sharded kind, in order: the kind's folder
/// (`ROOT/ledger`) and each day folder's date. A day folder's path is its date under the
/// kind's folder (`2026/11/27`), so a listing keeps dates only and a path is built for the few
/// folders a cache re-reads: ten years are 3,100 folders a kind, and a path each, then a copy
/// each in the stat pass, were 6,000 fresh allocations a command (their pages faulted in).
pub struct DayFolders {
    pub kind_dir: PathBuf,
    pub dates: Vec<NaiveDate>,
    /// The month folders (year, month) opened while they were stat'ed to find the days: a
    /// stat pass looks each day up relative to its month's folder without opening it again by
    /// its whole path (163 such opens were a quarter of `patient show`'s work beyond the stats
    /// at ten years). Empty when the days were found some other way; the pass then opens them.
    pub months: Vec<((i32, u32), OwnedFd)>,
}

impl DayFolders {
    /// The folder of the day `date`: `KIND/YYYY/MM/DD`.
    pub fn path_of(&self, date: NaiveDate) -> PathBuf {
        let mut days = String::with_capacity(10);
        push_date_folders(&mut days, date);
        self.kind_dir.join(days)
    }

    fn month_path(&self, date: NaiveDate) -> PathBuf {
        self.kind_dir
            .join(format!("{:04}/{:02}", date.year(), date.month()))
    }
}

/// One day folder as a scan finds it: its modification time now, and whether what a cache
/// kept of it may be trusted.
pub struct DayFolder {
    pub date: NaiveDate,
    pub mtime: i64,
    pub trusted: bool,
}

/// Stats each day folder (one gone since it was listed is left out) and compares its time
/// with the one a cache `kept` for it, with the moment the scan that kept it began, under the
/// rule of [`folder_unchanged`] with the cache's `margin`. A cache re-reads the folders not
/// trusted. The result is in the order given.
pub fn stat_day_folders(
    folders: &DayFolders,
    kept: impl Fn(NaiveDate) -> Option<(i64, i64)> + Sync,
    margin: i64,
) -> Vec<DayFolder> {
    // In runs of two months on every core: ten years are 3,100 stats a kind, 3.9 ms on one
    // core of the bench machine and 2.7 ms on two (`examples/stat_floor`); a year's 310 are
    // worth splitting too. Each run opens its own month folders.
    if folders.dates.len() <= STAT_RUN {
        // A month or two: not worth waking the other threads.
        return stat_run(folders, &folders.dates, &kept, margin);
    }
    let runs: Vec<Vec<DayFolder>> = folders
        .dates
        .par_chunks(STAT_RUN)
        .map(|run| stat_run(folders, run, &kept, margin))
        .collect();
    runs.into_iter().flatten().collect()
}

/// Day folders stat'ed by one thread in a row: about two months.
const STAT_RUN: usize = 62;

fn stat_run(
    folders: &DayFolders,
    run: &[NaiveDate],
    kept: &(impl Fn(NaiveDate) -> Option<(i64, i64)> + Sync),
    margin: i64,
) -> Vec<DayFolder> {
    let mut months = MonthCursor::default();
    run.iter()
        .filter_map(|&date| {
            let by_path = || Some(mtime_ns(&fs::metadata(folders.path_of(date)).ok()?));
            let mtime = match months.open(folders, date) {
                Some(fd) => {
                    match statx(fd, two_digits_c(date.day()), AtFlags::empty(), STAT_MASK) {
                        Ok(x)
                            if FileType::from_raw_mode(x.stx_mode.into())
                                == FileType::Directory =>
                        {
                            stamp_of(&x).mtime
                        }
                        Ok(_) => return None,
                        Err(e) if statx_unavailable(e) => by_path()?,
                        Err(_) => return None,
                    }
                }
                None => by_path()?,
            };
            let trusted = kept(date)
                .is_some_and(|(k, scanned_at)| folder_unchanged(k, mtime, scanned_at, margin));
            Some(DayFolder {
                date,
                mtime,
                trusted,
            })
        })
        .collect()
}

/// The month folder of the day folders a run visits in order, opened once for its days: each
/// day folder is then looked up by name relative to it. A path walk per folder was most of
/// the time at ten years (3,500 folders a kind, three kinds for some commands).
#[derive(Default)]
struct MonthCursor {
    month: Option<((i32, u32), Option<OwnedFd>)>,
}

impl MonthCursor {
    /// The open month folder of the day `date` (None when it cannot be opened): the one the
    /// listing kept open, else opened here.
    fn open<'a>(&'a mut self, folders: &'a DayFolders, date: NaiveDate) -> Option<&'a OwnedFd> {
        let key = (date.year(), date.month());
        if let Some((_, fd)) = folders.months.iter().find(|(k, _)| *k == key) {
            return Some(fd);
        }
        if self.month.as_ref().is_none_or(|(k, _)| *k != key) {
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = rustix::fs::open(folders.month_path(date), flags, Mode::empty()).ok();
            self.month = Some((key, fd));
        }
        self.month.as_ref().and_then(|(_, fd)| fd.as_ref())
    }
}

/// The first of the day `folders` (in their order) other than `except` with an entry named
/// `name`: one lookup of a name that is not there per folder, which reads the folder's hash
/// tree (about 10 us each warm at full size: 25 ms for the ten years a booking checks a new
/// ID against where a year has no index yet), so it runs on every core in runs of
/// [`STAT_RUN`], each relative to its open month folder. An entry of any type counts.
pub fn first_holding(folders: &DayFolders, name: &OsStr, except: NaiveDate) -> Option<NaiveDate> {
    let run_holding = |run: &[NaiveDate]| {
        let mut months = MonthCursor::default();
        let mut relative = Vec::new();
        run.iter().find_map(|&date| {
            if date == except {
                return None;
            }
            let by_path = || fs::symlink_metadata(folders.path_of(date).join(name)).is_ok();
            let held = match months.open(folders, date) {
                Some(fd) => {
                    relative.clear();
                    relative.extend_from_slice(two_digits(date.day()).as_bytes());
                    relative.push(b'/');
                    relative.extend_from_slice(name.as_bytes());
                    match statx(
                        fd,
                        OsStr::from_bytes(&relative),
                        AtFlags::SYMLINK_NOFOLLOW,
                        StatxFlags::TYPE,
                    ) {
                        Ok(_) => true,
                        Err(e) if statx_unavailable(e) => by_path(),
                        Err(_) => false,
                    }
                }
                None => by_path(),
            };
            held.then_some(date)
        })
    };
    if folders.dates.len() <= STAT_RUN {
        return run_holding(&folders.dates);
    }
    folders
        .dates
        .par_chunks(STAT_RUN)
        .find_map_first(run_holding)
}

/// A folder stamped `mtime` is still in the racy window of a scan begun at `scan_start`: read
/// now, its line would not be trusted next time either, so a cache gains nothing by writing it.
pub fn folder_in_racy_window(mtime: i64, scan_start: i64) -> bool {
    !folder_unchanged(mtime, mtime, scan_start, SETTLE_NS)
}

/// Whether a day folder's line may be trusted: the folder's time is still `kept`, the one it
/// had when read, and lies more than `margin` before the scan that read it began.
pub fn folder_unchanged(kept: i64, now: i64, scanned_at: i64, margin: i64) -> bool {
    kept == now && now.saturating_add(margin) < scanned_at
}

/// Puts a folder's time an hour back, outside the racy window, so that a cache's line for it
/// is trusted (for the caches' tests).
#[cfg(test)]
pub(crate) fn settle_folder(dir: &Path) {
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::open(dir)
        .unwrap()
        .set_modified(past)
        .unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_trusted_only_unchanged_and_outside_the_racy_window() {
        let scanned_at = 10_000_000_000;
        assert!(folder_unchanged(5, 5, scanned_at, 0));
        assert!(!folder_unchanged(5, 6, scanned_at, 0), "changed");
        assert!(
            !folder_unchanged(scanned_at, scanned_at, scanned_at, 0),
            "at the scan"
        );
        let margin = 2_000_000_000;
        assert!(!folder_unchanged(
            9_000_000_000,
            9_000_000_000,
            scanned_at,
            margin
        ));
        assert!(folder_unchanged(
            7_000_000_000,
            7_000_000_000,
            scanned_at,
            margin
        ));
    }

    /// `n` consecutive day folders from `start` under the kind's folder `root`, not created.
    fn days_from(root: &Path, start: NaiveDate, n: u64) -> DayFolders {
        DayFolders {
            kind_dir: root.to_path_buf(),
            dates: (0..n).map(|k| start + chrono::Days::new(k)).collect(),
            months: Vec::new(),
        }
    }

    #[test]
    fn a_day_folders_path_is_its_date_under_the_kind() {
        let folders = days_from(
            Path::new("/r/ledger"),
            NaiveDate::from_ymd_opt(2026, 2, 7).unwrap(),
            1,
        );
        assert_eq!(
            folders.path_of(folders.dates[0]),
            Path::new("/r/ledger/2026/02/07")
        );
        let later = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(folders.path_of(later), Path::new("/r/ledger/2026/11/30"));
    }

    /// A new ID's look through a year without an index: the first folder holding the name,
    /// in the folders' order whichever thread finds it, the day excepted skipped, a folder
    /// gone or a file of another name not counted, an entry of any type counted.
    #[test]
    fn the_first_folder_holding_a_name_is_found_in_order_on_every_core() {
        let dir = tempfile::tempdir().unwrap();
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let folders = days_from(dir.path(), start, 366);
        assert!(folders.dates.len() > 4 * STAT_RUN);
        for (i, date) in folders.dates.iter().enumerate() {
            if i % 9 != 4 {
                let path = folders.path_of(*date);
                fs::create_dir_all(&path).unwrap();
                fs::write(path.join("A0000000B.toml"), "").unwrap();
            }
        }
        let name = OsStr::new("A1111111C.toml");
        let none = NaiveDate::MIN;
        assert_eq!(first_holding(&folders, name, none), None);
        // Two holders, in the first run of folders and in the fifth (a dangling link).
        let (first, later) = (folders.dates[10], folders.dates[300]);
        fs::write(folders.path_of(first).join(name), "").unwrap();
        std::os::unix::fs::symlink("/nowhere", folders.path_of(later).join(name)).unwrap();
        assert_eq!(first_holding(&folders, name, none), Some(first));
        assert_eq!(first_holding(&folders, name, first), Some(later));
        let forty = DayFolders {
            dates: folders.dates[..40].to_vec(),
            ..folders
        };
        assert_eq!(first_holding(&forty, name, first), None);
        assert_eq!(first_holding(&forty, name, none), Some(first));
    }

    /// Past a run's length the folders are stat'ed in runs on every core: the answer is the
    /// one a single pass gives, in the order given, across month folders, with gone, changed
    /// and unchanged days spread over every run.
    #[test]
    fn day_folders_stat_in_parallel_answer_as_one_pass_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let start = NaiveDate::from_ymd_opt(2025, 11, 20).unwrap();
        let folders = days_from(dir.path(), start, 400);
        for (i, date) in folders.dates.iter().enumerate() {
            if i % 7 != 3 {
                fs::create_dir_all(folders.path_of(*date)).unwrap();
            }
        }
        let later = now_ns() + 10_000_000_000;
        let times: std::collections::HashMap<NaiveDate, i64> = folders
            .dates
            .iter()
            .filter_map(|d| Some((*d, mtime_ns(&fs::metadata(folders.path_of(*d)).ok()?))))
            .collect();
        // Every fifth day kept with another time: changed.
        let kept = |d: NaiveDate| {
            let t = *times.get(&d)?;
            let changed = (d - start).num_days() % 5 == 0;
            Some((if changed { t - 1 } else { t }, later))
        };
        let parallel = stat_day_folders(&folders, kept, 0);
        let serial = stat_run(&folders, &folders.dates, &kept, 0);
        assert!(folders.dates.len() > 4 * STAT_RUN);
        let view = |found: &[DayFolder]| -> Vec<(NaiveDate, i64, bool)> {
            found.iter().map(|f| (f.date, f.mtime, f.trusted)).collect()
        };
        assert_eq!(view(&parallel), view(&serial));
        let expected: Vec<(NaiveDate, bool)> = folders
            .dates
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 7 != 3)
            .map(|(_, d)| (*d, (*d - start).num_days() % 5 != 0))
            .collect();
        let got: Vec<(NaiveDate, bool)> = parallel.iter().map(|f| (f.date, f.trusted)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn day_folders_are_trusted_only_with_the_time_kept_and_gone_ones_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        let folders = days_from(dir.path(), day(1), 3);
        let (same, moved) = (folders.path_of(day(1)), folders.path_of(day(2)));
        for d in [&same, &moved] {
            fs::create_dir_all(d).unwrap();
        }
        let time = |d: &Path| mtime_ns(&fs::metadata(d).unwrap());
        let (t1, t2) = (time(&same), time(&moved));
        let later = now_ns() + 10_000_000_000;
        let kept = |d: NaiveDate| match d.day0() {
            0 => Some((t1, later)),
            1 => Some((t2 - 1, later)),
            _ => Some((0, later)),
        };
        // The third day's folder was never made: gone.
        let found = stat_day_folders(&folders, kept, 2_000_000_000);
        let seen: Vec<(u32, bool)> = found.iter().map(|f| (f.date.day0(), f.trusted)).collect();
        assert_eq!(seen, vec![(0, true), (1, false)]);
        // Within the margin of the scan, even the kept time is not trusted.
        let racy = stat_day_folders(
            &days_from(dir.path(), day(1), 1),
            |_| Some((t1, t1 + 1)),
            2_000_000_000,
        );
        assert!(!racy[0].trusted);
    }

    #[test]
    fn a_file_stamped_at_or_after_the_scan_is_racy() {
        let stamp = FileStamp {
            size: 1,
            mtime: 100,
            ctime: 90,
        };
        assert!(!stamp.is_racy(101));
        assert!(stamp.still(&stamp, 101));
        assert!(!stamp.still(&stamp, 100), "racy");
        for changed in stamp.each_field_changed() {
            assert!(!stamp.still(&changed, 101), "{changed:?}");
        }
        assert!(stamp.is_racy(100));
        assert!(
            FileStamp {
                ctime: 200,
                ..stamp
            }
            .is_racy(150),
            "an edit that put mtime back"
        );
    }
}
