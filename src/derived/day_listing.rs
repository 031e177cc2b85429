//! Which day folders a dated kind's year holds (`ledger/2026/11/27`), kept so that a command
//! stats the year's month folders instead of listing them.
//!
//! Every cache kept per day folder begins by finding the year's day folders, then stats each.
//! Listing them took a `getdents` pass over the year folder and each of its twelve month
//! folders (about 50 system calls a year, 1.2 ms for ten years of one kind at full size),
//! though the set of day folders changes once a day. A folder's stamp moves whenever an entry
//! is added to it, removed or renamed in it, so while a month folder's stamp is the one kept,
//! so are its day folders; likewise the year folder for its months.
//!
//! One cache file per kind and year, `.frontdesk/index/KIND-YYYY.folders`, in the per-file
//! engine's format (`file_cache/format.rs`): a section `.` for the year folder whose entries are
//! its month folders, then a section per month folder whose entries are its day folders, each
//! section under its folder's stamp. A section is trusted under the engine's racy rule (the
//! stamp kept, outside the window of the scan that wrote it); any other folder is listed again
//! and the file written again. A missing, damaged or foreign file counts as empty: the answer
//! is always what listing the folders gives.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rustix::fs::{Mode, OFlags};

use crate::derived::file_cache::format::{Layout, Section, assemble_as, parse_layout_of};
use crate::derived::file_cache::{SectionWriter, write_file};
use crate::derived::stamp::{
    DayFolders, FileStamp, now_ns, open_subfolder, stat_dir, untrusted_from,
};
use crate::disk::Tree;
use crate::disk::layout::{sorted_numeric_dirs, two_digits};
use crate::error::Result;

const MAGIC: &[u8; 8] = b"FDDAYS01";

/// The section of the year folder itself (sorts before every month's).
const YEAR: &str = ".";

/// Beside the kind's index files, named like them, so whatever removes a kind's index files
/// removes these too.
const EXT: &str = "folders";

fn cache_path(tree: &Tree, dir: &str, year: i32) -> PathBuf {
    super::index_dir(tree).join(format!("{dir}-{year:04}.{EXT}"))
}

/// Deletes the cache; the next command lists the folders and keeps them again.
pub fn remove(tree: &Tree) -> Result<()> {
    let Ok(rd) = fs::read_dir(super::index_dir(tree)) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == EXT) {
            super::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Day folders `DIR/YYYY/MM/DD` of one year of a date-sharded folder, in order: what
/// [`crate::disk::layout::day_dirs_in`] lists, with each folder whose stamp holds taken from
/// the cache instead of listed.
pub fn day_dirs_in(tree: &Tree, dir: &str, year: i32) -> Result<DayFolders> {
    let kind_dir = tree.path(Path::new(dir));
    let ydir = kind_dir.join(format!("{year:04}"));
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(yfd) = rustix::fs::open(&ydir, flags, Mode::empty()) else {
        // Not there (or unreadable): listing it gives nothing either.
        let listed = crate::disk::layout::day_dirs_in(tree, dir, year)?;
        return Ok(DayFolders {
            kind_dir,
            dates: listed.into_iter().map(|(date, _)| date).collect(),
            months: Vec::new(),
        });
    };
    let scan_start = now_ns();
    let path = cache_path(tree, dir, year);
    let bytes = fs::read(&path).unwrap_or_default();
    let kept = Kept::parse(&bytes);
    let mut listed_any = false;
    let year_stamp = stat_dir(&yfd, &ydir)?;
    let months: Vec<u32> = kept_or_listed(kept.as_ref(), YEAR, &ydir, year_stamp, &mut listed_any)?
        .into_iter()
        .filter(|m| (1..=12).contains(m))
        .collect();
    let mut dates = Vec::new();
    let mut month_fds = Vec::with_capacity(months.len());
    // What the file would hold: built into sections only when something was listed.
    let mut folders: Vec<(&str, FileStamp, Vec<u32>)> = Vec::with_capacity(months.len());
    for &month in &months {
        let name = two_digits(month);
        let mdir = ydir.join(name);
        // A month gone since the year was read is left out, as a listing would. Each is
        // opened to be stat'ed, and kept open for the stat pass over its days.
        let Some((fd, stamp)) = open_subfolder(&yfd, &mdir, name) else {
            listed_any = true;
            continue;
        };
        month_fds.push(((year, month), fd));
        let days = kept_or_listed(kept.as_ref(), name, &mdir, stamp, &mut listed_any)?;
        dates.extend(
            days.iter()
                .filter_map(|&day| NaiveDate::from_ymd_opt(year, month, day)),
        );
        folders.push((name, stamp, days));
    }
    if listed_any {
        let sections: Vec<Section> = std::iter::once((YEAR, year_stamp, months))
            .chain(folders)
            .map(|(name, stamp, numbers)| section(name, stamp, &numbers))
            .collect();
        // A failure to write only costs a listing next time.
        let _ = write_file(&path, &assemble_as(MAGIC, scan_start, &sections));
    }
    Ok(DayFolders {
        kind_dir,
        dates,
        months: month_fds,
    })
}

/// The subfolder numbers of the folder `name` (at `path`, stamped `now`): the kept ones while
/// its stamp holds, else a listing (and `listed` set).
fn kept_or_listed(
    kept: Option<&Kept>,
    name: &str,
    path: &Path,
    now: FileStamp,
    listed: &mut bool,
) -> Result<Vec<u32>> {
    if let Some(names) = kept.and_then(|k| k.names(name, &now)) {
        return Ok(names);
    }
    *listed = true;
    sorted_numeric_dirs(path)
}

/// One folder's section: the numbers of its subfolders as entry names, four digits each so
/// that their order as names is their order as numbers (a listing takes up to four digits).
fn section(name: &str, stamp: FileStamp, numbers: &[u32]) -> Section {
    let mut w = SectionWriter::new(&[], numbers.len() * 24);
    for n in numbers {
        let entry = CString::new(format!("{n:04}")).expect("digits have no NUL");
        // The engine keeps an entry with an empty payload as not kept: a byte marks it kept.
        w.fresh(&entry, &FileStamp::default(), b"+");
    }
    w.finish(name.to_string(), stamp)
}

/// The cache file as read.
struct Kept<'a> {
    bytes: &'a [u8],
    layout: Layout<'a>,
    since: i64,
}

impl<'a> Kept<'a> {
    fn parse(bytes: &'a [u8]) -> Option<Kept<'a>> {
        let layout = parse_layout_of(MAGIC, bytes)?;
        Some(Kept {
            bytes,
            since: untrusted_from(layout.scanned_at),
            layout,
        })
    }

    /// The subfolder numbers kept for the folder `name`, when its stamp is still `now`
    /// (outside the racy window) and its section reads whole.
    fn names(&self, name: &str, now: &FileStamp) -> Option<Vec<u32>> {
        let shard = self.layout.shards.iter().find(|s| s.name == name)?;
        if !shard.dir.still(now, self.since) {
            return None;
        }
        shard
            .entries(self.bytes)?
            .iter()
            .map(|e| e.name.to_str().ok()?.parse().ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derived::stamp::SETTLE_NS;

    fn tree() -> (tempfile::TempDir, Tree) {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::new(dir.path());
        (dir, tree)
    }

    fn day(tree: &Tree, ymd: &str) -> PathBuf {
        let p = tree.path(Path::new("ledger")).join(ymd);
        fs::create_dir_all(&p).unwrap();
        p
    }

    /// Lets the folders' stamps leave the racy window of the next scan: their change times
    /// cannot be put back, so this waits out the window.
    fn settle() {
        std::thread::sleep(std::time::Duration::from_nanos(
            SETTLE_NS as u64 + 100_000_000,
        ));
    }

    fn plain(tree: &Tree) -> Vec<(NaiveDate, PathBuf)> {
        crate::disk::layout::day_dirs_in(tree, "ledger", 2026).unwrap()
    }

    fn kept(tree: &Tree) -> Vec<(NaiveDate, PathBuf)> {
        let folders = day_dirs_in(tree, "ledger", 2026).unwrap();
        let paths = folders.dates.iter().map(|d| (*d, folders.path_of(*d)));
        paths.collect()
    }

    fn seed(tree: &Tree) {
        for d in [
            "2026/01/05",
            "2026/01/31",
            "2026/02/28",
            "2026/11/27",
            "2026/12/01",
        ] {
            day(tree, d);
        }
        // Not day folders: a file, a month 13, a name that is not a number, a day 105 (whose
        // last two digits are a day).
        fs::write(tree.path(Path::new("ledger/2026/01/07")), "").unwrap();
        day(tree, "2026/13/01");
        day(tree, "2026/02/notes");
        day(tree, "2026/02/105");
        settle();
    }

    #[test]
    fn the_kept_listing_is_the_listing_and_is_used_while_the_stamps_hold() {
        let (_d, tree) = tree();
        assert_eq!(kept(&tree), Vec::new(), "no year folder");
        seed(&tree);
        assert_eq!(kept(&tree), plain(&tree));
        assert_eq!(kept(&tree).len(), 5);
        let file = cache_path(&tree, "ledger", 2026);
        let written = fs::metadata(&file).unwrap().ino_and_time();
        // Settled and unchanged: answered from the file, which is not written again.
        assert_eq!(kept(&tree), plain(&tree));
        assert_eq!(fs::metadata(&file).unwrap().ino_and_time(), written);

        // What it answers then comes from the file: one that says November holds a 28th too,
        // under November's stamp as it is, is believed (the stamps are what vouch for it).
        let ydir = tree.path(Path::new("ledger/2026"));
        let yfd = rustix::fs::open(&ydir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let stamp = |m: &str| open_subfolder(&yfd, &ydir.join(m), m).unwrap().1;
        let sections = [
            section(YEAR, stat_dir(&yfd, &ydir).unwrap(), &[1, 2, 11, 12]),
            section("01", stamp("01"), &[5, 31]),
            section("02", stamp("02"), &[28]),
            section("11", stamp("11"), &[27, 28]),
            section("12", stamp("12"), &[1]),
        ];
        fs::write(&file, assemble_as(MAGIC, now_ns(), &sections)).unwrap();
        let mut want = plain(&tree);
        want.insert(
            4,
            (
                NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
                ydir.join("11/28"),
            ),
        );
        assert_eq!(kept(&tree), want);
    }

    #[test]
    fn day_and_month_folders_added_or_removed_by_hand_are_seen() {
        let (_d, tree) = tree();
        seed(&tree);
        kept(&tree);
        // A day added in a kept month, with the month's modification time put back: its
        // change time still moves.
        let month = tree.path(Path::new("ledger/2026/11"));
        let mtime = fs::metadata(&month).unwrap().modified().unwrap();
        day(&tree, "2026/11/30");
        fs::File::open(&month).unwrap().set_modified(mtime).unwrap();
        assert_eq!(kept(&tree), plain(&tree));
        assert!(
            kept(&tree)
                .iter()
                .any(|(d, _)| d.to_string() == "2026-11-30")
        );
        // A new month, a day removed, a month removed.
        day(&tree, "2026/06/15");
        fs::remove_dir(tree.path(Path::new("ledger/2026/01/05"))).unwrap();
        fs::remove_dir_all(tree.path(Path::new("ledger/2026/02"))).unwrap();
        assert_eq!(kept(&tree), plain(&tree));
        assert_eq!(kept(&tree).len(), 5);
        // Changed after the scan that kept it.
        settle();
        kept(&tree);
        day(&tree, "2026/06/16");
        assert_eq!(kept(&tree), plain(&tree));
    }

    #[test]
    fn a_damaged_cache_file_gives_the_listing() {
        let (_d, tree) = tree();
        seed(&tree);
        kept(&tree);
        let file = cache_path(&tree, "ledger", 2026);
        let bytes = fs::read(&file).unwrap();
        for at in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
            let mut bad = bytes.clone();
            bad[at] ^= 0x41;
            fs::write(&file, &bad).unwrap();
            assert_eq!(kept(&tree), plain(&tree), "byte {at} flipped");
            // Read again and written whole: the file is good again.
            assert_eq!(fs::read(&file).unwrap().len(), bytes.len(), "byte {at}");
        }
        for len in [0, 8, 12, bytes.len() / 2, bytes.len() - 1] {
            fs::write(&file, &bytes[..len]).unwrap();
            assert_eq!(kept(&tree), plain(&tree), "cut to {len}");
        }
        fs::write(&file, b"garbage").unwrap();
        assert_eq!(kept(&tree), plain(&tree));
        remove(&tree).unwrap();
        assert!(!file.exists());
        assert_eq!(kept(&tree), plain(&tree));
        assert!(file.exists(), "kept again");
    }

    trait InoAndTime {
        fn ino_and_time(&self) -> (u64, std::time::SystemTime);
    }

    impl InoAndTime for fs::Metadata {
        fn ino_and_time(&self) -> (u64, std::time::SystemTime) {
            use std::os::unix::fs::MetadataExt;
            (self.ino(), self.modified().unwrap())
        }
    }
}
