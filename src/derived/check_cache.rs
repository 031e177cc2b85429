//! A disposable cache of what `check` derives from each record file alone, so a warm `check`
//! stats the files instead of parsing them.
//!
//! It is a declaration over the per-file cache engine (`file_cache.rs`): per record file, the
//! payload is what inspecting the file gave ([`Inspected`]: its problem, or its facts: ID, keys,
//! references, booking, and a misplaced file's problem), and [`FolderFiles`] says how a file is
//! stamped (`statx` relative to its open folder) and read. The engine owns the rest: the format
//! and its checksums, reusing an entry only while the file's size, modification and change
//! time are the ones kept and lie before the racy window of the scan that kept them, rebuilding
//! a damaged file, and writing a file only when something in it changed.
//!
//! Files: `.frontdesk/index/check/KEY/GROUP.bin` (ignored by git), one engine file of many
//! sections ([`WalkedFile`], a section per record folder) per kind and year: a dated kind's
//! year (`appointments%2F2026.bin`, a section per day folder; surveys' months likewise), any
//! other kind whole (`patients.bin`, a section per shard folder; `payers.bin`, one section;
//! `frontdesk.toml.bin`). `check` picks the group of each folder (`group_of` in
//! `src/check/mod.rs`) and closes a group's file once its walk has left it. Why this grouping:
//!
//! - **A cold run creates a file per group, not per folder**: 11 on the 1,000-patient clinic
//!   where one per folder made 769, each create and rename ~0.9 ms on this machine's disk (a
//!   new user's first `check`, and every day's first, is a cold one: the date is in the key).
//!   Measured in docs/performance.md: 0.61-0.64 s → 0.26-0.28 s on a quiet machine.
//! - **Memory stays bounded by a year, not the tree**: a folder's section is read (`pread`,
//!   its checksum checked) when `check` reaches that folder, on whichever core inspects it;
//!   what changed is held until the walk leaves its group, then assembled and written (at
//!   most twice a group's bytes; the small clinic's year of appointments is 1.3 MB, one of
//!   the full-size clinic's ten ~12 MB by its ~120 bytes an appointment), and the next group
//!   starts empty. A section that holds is not copied unless its file is written.
//! - **A warm run writes nothing** while every section holds, and reads each section with one
//!   `pread` from a file opened once per group, where per-folder files cost an open, a read
//!   and a close per folder.
//! - **The price**: a folder that changed rewrites its group's file whole (the small clinic's
//!   year of appointments: 1.3 MB, no slower to check than one day's file in the measurement).
//!   A day's work touches today's folders, so the `check` after it rewrites about one file per
//!   dated kind. A file per month would write a twelfth of that but create twelve times as
//!   many files cold; a file per kind would hold ten years of appointments at once.
//! - A damaged section costs its folder only; a damaged header or a file cut short, its group.
//!
//! - **KEY** is what every entry depends on besides its file: the office file's bytes (time
//!   zone, country), the office's date (age rules) and the executable (the rules themselves),
//!   hashed into the folder's name ([`key`]). A new build or a new day finds no folder of its
//!   key, so it reads every file, as it must; at the end of its run every other key's folder
//!   (and the single-file cache of earlier builds, `index/check.bin`) is swept away. A key
//!   kept inside each file instead would let a folder written under an old key be read under
//!   a new one the day that folder comes back (a restored day); a name cannot be mistaken.
//! - **The folder's fingerprint** stands for the engine's folder stamp: the tree walk that
//!   `check` does anyway (permissions, temp files, git) sums a hash of every entry's `lstat`
//!   data per folder ([`Print`]: path, mode, size, mtime, ctime, inode) and keeps the newest
//!   time it saw. While the fingerprint a file was written with is this run's and that newest
//!   time lies before the racy window, nothing in the folder changed: its entries are used
//!   with the stamps they were kept with, and no file is stat'ed a second time.
//! - **No inode in a file's stamp** (the single-file cache kept one): a file put in place of a
//!   kept one after the scan that kept it was written, renamed or linked after that scan
//!   began, and the kernel sets its change time then; the kept change time lies at least two
//!   seconds before that scan (the racy rule), so the two differ. Only a clock set back could
//!   make them equal, which every cache of the engine accepts alike. The folder fingerprint
//!   keeps the inode, so an unchanged-folder shortcut sees a replacement too.
//! - **No table of strings per folder** (the single-file cache interned provider, type, room
//!   and payer keys once per section): each entry now says its keys in full, which the
//!   engine's one-entry-at-a-time payload needs; measured on the 1,000-patient clinic in
//!   docs/performance.md.
//!
//! A file the cache cannot hold exactly (one that could not be read, a reference field this
//! build does not list in `FIELDS`, a string too long) is kept unread and inspected every time.
//!
//! ```text
//! payload:  0 facts (id, keys, refs, booking as start + duration, misplaced problem) | 1 problem
//! ```
//!
//! Writes take no lock: each entry's stamp is taken before its file is read, so an entry
//! written while a command changes the folder carries the old stamp and is not reused.

use std::ffi::{CStr, CString, OsStr};
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, FixedOffset};
use rustix::fd::OwnedFd;
use rustix::fs::{Mode as FsMode, OFlags, openat};

use crate::derived::clean_note;
use crate::derived::file_cache::folders::WalkedFile;
use crate::derived::file_cache::{Loaded, Pass, PerFile};
pub use crate::derived::print::Print;
use crate::derived::stamp::{FileStamp, stat_file};
use crate::disk::Tree;
use crate::disk::codec::{Reader, Writer, checksum};
use crate::domain::check::{Booking, Facts, Fix, Problem, Target, pack_str, unpack};
use crate::domain::id::Id;
use crate::error::Result;

/// One file's facts and a problem with where it lies, or the problem that stopped reading it.
pub type Inspected = std::result::Result<(Facts, Option<Problem>), Problem>;

const MAGIC: &[u8; 8] = b"FDCHK005";
/// The folder of the check cache, under the state folder's `index/`.
pub const FOLDER: &str = "check";
/// The single-file cache of earlier builds, swept away.
const OLD_FILE: &str = "check.bin";

/// The folder of the check cache's keys and of its clean note (`.frontdesk/index/`).
pub fn dir(tree: &Tree) -> PathBuf {
    super::index_dir(tree)
}

/// Deletes the check cache and its clean note; the next `check` builds them again.
pub fn remove(tree: &Tree) -> Result<()> {
    let dir = dir(tree);
    for name in [OLD_FILE, clean_note::FILE] {
        super::remove_file(&dir.join(name))?;
    }
    // A `check` running meanwhile may add a file while the folder is emptied (its writes take
    // no lock), which fails the removal; it writes each group's file at most once, so a few
    // more tries empty it.
    let folder = dir.join(FOLDER);
    let mut tries = 0;
    loop {
        match crate::derived::remove_folder(&folder) {
            Err(_) if tries < 3 => tries += 1,
            done => return done,
        }
    }
}

/// The key every entry depends on: the office file (time zone, country), the office's date
/// (age rules) and the executable (the rules themselves).
pub fn key(office_bytes: &[u8], today: &str) -> u64 {
    let exe = std::env::current_exe()
        .and_then(fs::metadata)
        .map(|m| (m.len(), m.mtime(), m.mtime_nsec(), m.ino()))
        .unwrap_or_default();
    let mut w = Writer::with_capacity(office_bytes.len() + 64);
    w.buf.extend_from_slice(office_bytes);
    w.str(today);
    w.str(env!("CARGO_PKG_VERSION"));
    w.u64(exe.0);
    w.i64(exe.1);
    w.i64(exe.2);
    w.u64(exe.3);
    checksum(&w.buf)
}

/// How a file's bytes (or the error reading them) become its result; `rel` is the file's
/// path relative to the tree.
pub type Inspect<'a> = dyn Fn(&Path, std::io::Result<Vec<u8>>) -> Inspected + Sync + 'a;

/// The check cache of one run: the folder of its key, the moment its scan began, and its
/// engine files.
pub struct CheckCache {
    keyed: PathBuf,
    scanned_at: i64,
    /// The engine files of the folders being inspected, by group: one or two at a time, as
    /// the walk goes from one group (a kind's year) to the next.
    open: Mutex<Vec<(String, Arc<WalkedFile>)>>,
    /// The name of every engine file this run opened: any other in the key's folder (a year
    /// whose folder is gone) is swept.
    used: Mutex<Vec<PathBuf>>,
}

/// One record folder as `check` reaches it.
pub struct Folder<'f> {
    /// Relative to the tree (problems name their files by it); its section's name.
    pub rel: &'f str,
    /// On disk.
    pub path: &'f Path,
    /// The open folder, its files stamped and read relative to it.
    pub fd: &'f OwnedFd,
    /// The fingerprint of what the tree walk saw in it this run, if it walked it.
    pub print: Option<&'f Print>,
}

impl CheckCache {
    /// The cache of `key` in `tree`, for a scan begun at `scanned_at` (ns).
    pub fn new(tree: &Tree, key: u64, scanned_at: i64) -> CheckCache {
        CheckCache {
            keyed: dir(tree).join(FOLDER).join(format!("{key:016x}")),
            scanned_at,
            open: Mutex::new(Vec::new()),
            used: Mutex::new(Vec::new()),
        }
    }

    /// The engine file of a group (`appointments/2026`, `patients`, `frontdesk.toml`), named
    /// for it with `/` written `%2F` (and `%` as `%25`, so no two groups share a name). All
    /// lie in the key's folder: nested names would cost a cold run a folder creation each.
    pub fn file_of(group: &str) -> PathBuf {
        let mut name = Vec::with_capacity(group.len() + 12);
        for &b in group.as_bytes() {
            match b {
                b'/' => name.extend_from_slice(b"%2F"),
                b'%' => name.extend_from_slice(b"%25"),
                _ => name.push(b),
            }
        }
        name.extend_from_slice(b".bin");
        PathBuf::from(OsStr::from_bytes(&name))
    }

    /// The engine file of each group, opened (its header read) unless it is open already.
    /// Groups come in walk order: each group's folders are reached one after another, so
    /// [`CheckCache::close_except`] may write the ones the walk has left.
    /// (None: a folder inspected without the cache.)
    pub fn files_of(&self, groups: &[Option<&str>]) -> Vec<Option<Arc<WalkedFile>>> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        groups
            .iter()
            .map(|group| {
                let group = (*group)?;
                if let Some((_, file)) = open.iter().find(|(g, _)| g == group) {
                    return Some(file.clone());
                }
                let name = Self::file_of(group);
                let file = Arc::new(WalkedFile::open(MAGIC, self.keyed.join(&name)));
                self.used
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(name);
                open.push((group.to_string(), file.clone()));
                Some(file)
            })
            .collect()
    }

    /// Writes (when something in it changed) and closes every open engine file but the one of
    /// `group`, whose folders the walk may not have finished: the walk has left the others.
    pub fn close_except(&self, group: Option<&str>) {
        let closing: Vec<(String, Arc<WalkedFile>)> = {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let (keep, close) = std::mem::take(&mut *open)
                .into_iter()
                .partition(|(g, _)| Some(g.as_str()) == group);
            *open = keep;
            close
        };
        for (_, file) in closing {
            // A failure to write it only costs speed next time.
            let _ = file.save(self.scanned_at);
        }
    }

    /// Each file's result (`files`: the folder's record files, relative to the tree, in name
    /// order): kept ones from the folder's section of `file`, the rest through `inspect`;
    /// then the section is handed back to `file`, written when the walk leaves it.
    pub fn inspect_folder(
        &self,
        file: &WalkedFile,
        folder: &Folder,
        files: &[PathBuf],
        inspect: &Inspect<'_>,
    ) -> Vec<Inspected> {
        let mut buf = Vec::new();
        let kept = file.load(folder.rel, &mut buf);
        let stamp = folder.print.map(folder_stamp);
        let declared = FolderFiles {
            folder,
            kept: &kept,
            unchanged: stamp.is_some_and(|s| kept.folder_holds(&s)),
            inspect,
        };
        let mut pass = Pass::new(&declared, &kept);
        let results = files
            .iter()
            .map(|rel| {
                let name = rel.file_name().map(|n| CString::new(n.as_bytes()));
                let got = match name {
                    Some(Ok(name)) => pass.get(name).ok().flatten(),
                    _ => None,
                };
                match got {
                    Some(looked) => looked.result,
                    None => inspect(
                        rel,
                        fs::read(folder.path.join(rel.file_name().unwrap_or_default())),
                    ),
                }
            })
            .collect();
        file.keep(folder.rel, pass, stamp);
        results
    }

    /// Closes every engine file still open, then deletes every other key's folder, any file
    /// of this key this run did not open (a year whose folder is gone), and the single-file
    /// cache of earlier builds: what another build or another day kept is never read again.
    pub fn sweep(&self) {
        self.close_except(None);
        let Some(all) = self.keyed.parent() else {
            return;
        };
        if let Some(index) = all.parent() {
            let _ = fs::remove_file(index.join(OLD_FILE));
        }
        let used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        for entry in fs::read_dir(&self.keyed).into_iter().flatten().flatten() {
            if !used.iter().any(|n| *n == entry.file_name()) {
                let _ = fs::remove_file(entry.path());
            }
        }
        let Ok(listing) = fs::read_dir(all) else {
            return;
        };
        for entry in listing.flatten() {
            if entry.path() != self.keyed {
                let _ = crate::derived::remove_folder(&entry.path());
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// The engine's folder stamp standing for a folder's fingerprint: equal while the fingerprint
/// is, and racy while the newest time in the folder is.
fn folder_stamp(print: &Print) -> FileStamp {
    FileStamp {
        size: print.sum,
        mtime: print.newest,
        ctime: print.newest,
    }
}

/// What inspecting one file gave, and whether the cache may keep it (not when the file could
/// not be read: it is tried again next time).
struct Looked {
    result: Inspected,
    keep: bool,
}

/// The declaration: a record folder's files, each kept as what inspecting it gave.
struct FolderFiles<'f, 'a> {
    folder: &'f Folder<'f>,
    kept: &'f Loaded<'a>,
    /// Nothing in the folder changed since its cache file was written (its fingerprint).
    unchanged: bool,
    inspect: &'f Inspect<'f>,
}

impl FolderFiles<'_, '_> {
    fn rel(&self, name: &CStr) -> PathBuf {
        Path::new(self.folder.rel).join(OsStr::from_bytes(name.to_bytes()))
    }
}

impl PerFile for FolderFiles<'_, '_> {
    type Payload = Looked;

    fn magic(&self) -> &'static [u8; 8] {
        MAGIC
    }

    /// In an unchanged folder, the stamp kept: the tree walk stat'ed every file already.
    fn stamp(&self, name: &CStr) -> Option<FileStamp> {
        if self.unchanged
            && let Some(kept) = self.kept.kept_stamp(name)
        {
            return Some(kept);
        }
        stat_file(self.folder.fd, self.folder.path, name)
    }

    fn extract(&self, name: &CStr) -> Result<Option<Looked>> {
        let read = read_at(self.folder.fd, name);
        let keep = read.is_ok();
        let result = (self.inspect)(&self.rel(name), read);
        Ok(Some(Looked { result, keep }))
    }

    fn encode(&self, name: &CStr, looked: &Looked) -> Option<Vec<u8>> {
        looked
            .keep
            .then(|| encode(&looked.result, named_for(name)))
            .flatten()
    }

    fn decode(&self, name: &CStr, bytes: &[u8]) -> Option<Looked> {
        let result = decode(bytes, named_for(name), || self.rel(name))?;
        Some(Looked { result, keep: true })
    }
}

/// The ID a file named `<ID>.toml` is named for, as text: an entry whose record has that ID
/// does not repeat it.
fn named_for(name: &CStr) -> Option<&str> {
    let stem = name.to_bytes().strip_suffix(b".toml")?;
    std::str::from_utf8(stem)
        .ok()
        .filter(|s| pack_str(s).is_some())
}

/// Reads a file of an open folder whole (following a symlink, as `fs::read` does). Through
/// `take`, which gives `read_to_end` no size hint: `File`'s own asks the file's size and
/// position first (a `statx` and an `lseek`), two system calls more for each of the files a
/// cold run reads, where a record rarely outgrows the first buffer.
fn read_at(dfd: &OwnedFd, name: &CStr) -> std::io::Result<Vec<u8>> {
    let fd = openat(dfd, name, OFlags::RDONLY | OFlags::CLOEXEC, FsMode::empty())?;
    let mut bytes = Vec::with_capacity(8 * 1024);
    fs::File::from(fd).take(u64::MAX).read_to_end(&mut bytes)?;
    Ok(bytes)
}

// ---- one file's result, as bytes ----

/// The reference fields records use; a field not listed here is not cached (its file is
/// inspected every time), so adding a field can never give a wrong answer.
const FIELDS: &[&str] = &[
    "insurance payer",
    "providers",
    "patient",
    "provider",
    "type",
    "room",
    "resources room",
    "payer",
    "kept copy",
];

const TARGETS: &[Target] = &[
    Target::Patient,
    Target::Provider,
    Target::Payer,
    Target::Room,
    Target::AppointmentType,
    Target::MergedPatient,
    Target::KeptCopy,
];

const FIXES: &[Fix] = &[
    Fix::RemoveTemp,
    Fix::RemoveGitLock,
    Fix::Tighten,
    Fix::Commit,
];

fn target_code(t: Target) -> u8 {
    TARGETS.iter().position(|x| *x == t).unwrap_or(0) as u8
}

/// How a string is written: the record's own ID (a patient's key), an ID packed into 8 bytes,
/// or inline.
const V_OWN_ID: u8 = 1;
const V_PACKED: u8 = 2;
const V_INLINE: u8 = 3;

/// The IDs and keys a record names, as written.
fn put_value(w: &mut Writer, s: &str, own: Option<&str>) -> Option<()> {
    if own == Some(s) {
        w.u8(V_OWN_ID);
    } else if let Some(p) = pack_str(s).filter(|_| s.len() >= 6) {
        w.u8(V_PACKED);
        w.u64(p);
    } else {
        w.u8(V_INLINE);
        put_str(w, s)?;
    }
    Some(())
}

fn get_value(r: &mut Reader, own: Option<&str>) -> Option<String> {
    match r.u8()? {
        V_OWN_ID => own.map(str::to_string),
        V_PACKED => Some(unpack(r.u64()?)),
        V_INLINE => r.string(),
        _ => None,
    }
}

/// Encodes what inspecting a file gave; None when it holds something the cache cannot say.
/// `named_for`: the ID the file's name spells, which the entry need not repeat.
fn encode(result: &Inspected, named_for: Option<&str>) -> Option<Vec<u8>> {
    let mut w = Writer::with_capacity(96);
    match result {
        Ok((facts, misplaced)) => {
            w.u8(0);
            let own = facts.id.as_ref().map(Id::as_str);
            match own {
                None => w.u8(0),
                Some(id) if Some(id) == named_for => w.u8(1),
                Some(id) => {
                    w.u8(2);
                    put_str(&mut w, id)?;
                }
            }
            w.u8(u8::try_from(facts.keys.len()).ok()?);
            for (t, k) in &facts.keys {
                w.u8(target_code(*t));
                put_value(&mut w, k, own)?;
            }
            w.u8(u8::try_from(facts.refs.len()).ok()?);
            for (field, t, k) in &facts.refs {
                let f = FIELDS.iter().position(|x| x == field)? as u8;
                w.u8(f << 3 | target_code(*t));
                put_value(&mut w, k, own)?;
            }
            match &facts.booking {
                Some(bk) => put_booking(&mut w, bk, own)?,
                None => w.u8(0),
            }
            match misplaced {
                Some(p) => {
                    w.u8(1);
                    put_problem(&mut w, p)?;
                }
                None => w.u8(0),
            }
        }
        Err(p) => {
            w.u8(1);
            put_problem(&mut w, p)?;
        }
    }
    Some(w.buf)
}

/// A booking as start and duration when both ends share an offset and whole seconds (nearly
/// always); both ends in full otherwise.
fn put_booking(w: &mut Writer, bk: &Booking, own: Option<&str>) -> Option<()> {
    let secs = bk.end.timestamp() - bk.start.timestamp();
    let short = bk.start.offset() == bk.end.offset()
        && bk.start.timestamp_subsec_nanos() == 0
        && bk.end.timestamp_subsec_nanos() == 0;
    match u32::try_from(secs).ok().filter(|_| short) {
        Some(secs) => {
            w.u8(1);
            put_value(w, &bk.provider, own)?;
            w.i64(bk.start.timestamp());
            w.i32(bk.start.offset().local_minus_utc());
            w.u32(secs);
        }
        None => {
            w.u8(2);
            put_value(w, &bk.provider, own)?;
            put_time(w, &bk.start);
            put_time(w, &bk.end);
        }
    }
    Some(())
}

fn get_booking(r: &mut Reader, own: Option<&str>) -> Option<Option<Booking>> {
    Some(match r.u8()? {
        0 => None,
        1 => {
            let provider = get_value(r, own)?;
            let start = r.i64()?;
            let offset = FixedOffset::east_opt(r.i32()?)?;
            let end = start.checked_add(i64::from(r.u32()?))?;
            let at = |t| DateTime::from_timestamp(t, 0).map(|d| d.with_timezone(&offset));
            Some(Booking {
                provider,
                start: at(start)?,
                end: at(end)?,
            })
        }
        2 => Some(Booking {
            provider: get_value(r, own)?,
            start: get_time(r)?,
            end: get_time(r)?,
        }),
        _ => return None,
    })
}

/// Decodes an entry of the file named for `named_for` (if it is), whose path relative to the
/// tree `rel` gives (asked only for a problem).
fn decode(payload: &[u8], named_for: Option<&str>, rel: impl Fn() -> PathBuf) -> Option<Inspected> {
    let mut r = Reader::new(payload);
    let out = match r.u8()? {
        0 => {
            let own = match r.u8()? {
                0 => None,
                1 => Some(named_for?.to_string()),
                2 => Some(r.string()?),
                _ => return None,
            };
            let id = match &own {
                Some(text) => Some(Id::parse(text).ok()?),
                None => None,
            };
            let own = own.as_deref();
            let keys = (0..r.u8()?)
                .map(|_| Some((*TARGETS.get(r.u8()? as usize)?, get_value(&mut r, own)?)))
                .collect::<Option<Vec<_>>>()?;
            let refs = (0..r.u8()?)
                .map(|_| {
                    let code = r.u8()?;
                    let field = *FIELDS.get((code >> 3) as usize)?;
                    let target = *TARGETS.get((code & 7) as usize)?;
                    Some((field, target, get_value(&mut r, own)?))
                })
                .collect::<Option<Vec<_>>>()?;
            let booking = get_booking(&mut r, own)?;
            let misplaced = match r.u8()? {
                0 => None,
                1 => Some(get_problem(&mut r, &rel)?),
                _ => return None,
            };
            let facts = Facts {
                id,
                keys,
                expected: None,
                refs,
                booking,
            };
            Ok((facts, misplaced))
        }
        1 => Err(get_problem(&mut r, &rel)?),
        _ => return None,
    };
    r.at_end().then_some(out)
}

/// A string the codec keeps whole (it cuts longer ones).
fn put_str(w: &mut Writer, s: &str) -> Option<()> {
    (s.len() <= u16::MAX as usize).then(|| w.str(s))
}
fn put_time(w: &mut Writer, t: &DateTime<FixedOffset>) {
    w.i64(t.timestamp());
    w.u32(t.timestamp_subsec_nanos());
    w.i32(t.offset().local_minus_utc());
}

fn get_time(r: &mut Reader) -> Option<DateTime<FixedOffset>> {
    let secs = r.i64()?;
    let nanos = r.u32()?;
    let offset = FixedOffset::east_opt(r.i32()?)?;
    Some(DateTime::from_timestamp(secs, nanos)?.with_timezone(&offset))
}

fn put_problem(w: &mut Writer, p: &Problem) -> Option<()> {
    match p.line {
        Some(l) => {
            w.u8(1);
            w.u64(l as u64);
        }
        None => w.u8(0),
    }
    put_str(w, &p.what)?;
    put_str(w, &p.todo)?;
    w.u8(match p.fix {
        Some(f) => FIXES.iter().position(|x| *x == f)? as u8 + 1,
        None => 0,
    });
    w.u8(u8::from(p.unreadable));
    Some(())
}

fn get_problem(r: &mut Reader, rel: &impl Fn() -> PathBuf) -> Option<Problem> {
    let line = match r.u8()? {
        0 => None,
        1 => Some(usize::try_from(r.u64()?).ok()?),
        _ => return None,
    };
    let what = r.string()?;
    let todo = r.string()?;
    let fix = match r.u8()? {
        0 => None,
        n => Some(*FIXES.get(n as usize - 1)?),
    };
    let unreadable = match r.u8()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let mut p = Problem::new(rel(), what, todo).line(line);
    p.fix = fix;
    p.unreadable = unreadable;
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const REL: &str = "appointments/2026/12/01/A7K3QX9M2.toml";

    fn sample() -> Vec<Inspected> {
        let rel = Path::new(REL);
        let tz = FixedOffset::west_opt(5 * 3600).unwrap();
        let start = tz.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let facts = Facts {
            id: Some(Id::parse("A7K3QX9M2").unwrap()),
            keys: vec![(Target::Patient, "A7K3QX9M2".into())],
            expected: None,
            refs: FIELDS
                .iter()
                .zip(TARGETS.iter().cycle())
                .map(|(f, t)| (*f, *t, format!("k-{f}")))
                .chain([("patient", Target::Patient, "P7K3QX9M2".to_string())])
                .collect(),
            booking: Some(Booking {
                provider: "okafor".into(),
                start,
                end: start + chrono::Duration::minutes(30),
            }),
        };
        // Across a change of offset, and with nanoseconds: kept whole.
        let odd = Facts {
            booking: Some(Booking {
                provider: "k-room".into(),
                start: start + chrono::Duration::nanoseconds(5),
                end: (start + chrono::Duration::hours(1))
                    .with_timezone(&FixedOffset::west_opt(4 * 3600).unwrap()),
            }),
            ..facts.clone()
        };
        let misplaced = Problem::new(rel, "the file name does not match", "move it");
        let broken = Problem::new(rel, "expected `=`", "fix the file by hand")
            .line(Some(7))
            .unreadable();
        let fixable = Problem::new(rel, "x", "y").fixable(Fix::Tighten);
        vec![
            Ok((facts.clone(), None)),
            Ok((facts, Some(misplaced))),
            Ok((odd, None)),
            Ok((Facts::default(), None)),
            Err(broken),
            Err(fixable),
        ]
    }

    fn same(a: &Inspected, b: &Inspected) -> bool {
        match (a, b) {
            (Ok((fa, pa)), Ok((fb, pb))) => {
                fa.id == fb.id
                    && fa.keys == fb.keys
                    && fa.refs == fb.refs
                    && fa.booking == fb.booking
                    && fa
                        .booking
                        .as_ref()
                        .map(|b| b.end.offset().local_minus_utc())
                        == fb
                            .booking
                            .as_ref()
                            .map(|b| b.end.offset().local_minus_utc())
                    && pa == pb
            }
            (Err(a), Err(b)) => a == b && a.unreadable == b.unreadable,
            _ => false,
        }
    }

    /// Each sample encoded as the file `A7K3QX9M2.toml` (the first) or another name, and
    /// decoded back.
    #[test]
    fn every_result_reads_back_as_it_was() {
        let rel = || PathBuf::from(REL);
        for (i, want) in sample().iter().enumerate() {
            let named = (i == 0).then_some("A7K3QX9M2");
            let bytes = encode(want, named).unwrap();
            let got = decode(&bytes, named, rel).unwrap();
            assert!(same(&got, want), "{got:?} != {want:?}");
            for cut in 0..bytes.len() {
                assert!(decode(&bytes[..cut], named, rel).is_none(), "cut at {cut}");
            }
        }
        // Named for its ID, the entry does not repeat it.
        let first = &sample()[0];
        assert!(
            encode(first, Some("A7K3QX9M2")).unwrap().len() < encode(first, None).unwrap().len()
        );
        assert_eq!(
            named_for(c"A7K3QX9M2.toml"),
            Some("A7K3QX9M2"),
            "a name that spells an ID"
        );
        assert_eq!(named_for(c"aetna-ppo.toml"), None);
    }

    #[test]
    fn each_group_has_an_engine_file_of_its_own_in_the_key_s_folder() {
        let name = CheckCache::file_of;
        assert_eq!(
            name("appointments/2026"),
            Path::new("appointments%2F2026.bin")
        );
        assert_eq!(name("frontdesk.toml"), Path::new("frontdesk.toml.bin"));
        assert_ne!(name("a%2Fb"), name("a/b"));
        assert_eq!(name("a%2Fb"), Path::new("a%252Fb.bin"));
    }

    #[test]
    fn an_unknown_field_is_not_cached() {
        let facts = Facts {
            refs: vec![("someday", Target::Room, "a".into())],
            ..Facts::default()
        };
        assert!(encode(&Ok((facts, None)), None).is_none());
    }

    /// A records tree with one folder `f` of three record files, and a count of the files
    /// inspected.
    struct Bench {
        _tmp: tempfile::TempDir,
        tree: Tree,
        reads: std::sync::atomic::AtomicUsize,
    }

    impl Bench {
        fn new() -> Bench {
            let tmp = tempfile::tempdir().unwrap();
            let tree = Tree::new(tmp.path());
            fs::create_dir(tmp.path().join("f")).unwrap();
            let b = Bench {
                _tmp: tmp,
                tree,
                reads: Default::default(),
            };
            for (name, text) in [("A1.toml", "one"), ("A2.toml", "two"), ("b.toml", "bad")] {
                fs::write(b.file(name), text).unwrap();
            }
            b
        }

        fn file(&self, name: &str) -> PathBuf {
            self.tree.path(Path::new("f")).join(name)
        }

        fn files(&self) -> Vec<PathBuf> {
            let mut names: Vec<PathBuf> = fs::read_dir(self.tree.path(Path::new("f")))
                .unwrap()
                .map(|e| Path::new("f").join(e.unwrap().file_name()))
                .collect();
            names.sort();
            names
        }

        /// Each file's result through the cache of `key`, the folder fingerprint `print`
        /// and a scan at `scanned_at`; and how many files were inspected.
        fn run(&self, key: u64, print: Option<&Print>, scanned_at: i64) -> (Vec<String>, usize) {
            use std::sync::atomic::Ordering;
            self.reads.store(0, Ordering::SeqCst);
            let inspect = |rel: &Path, bytes: std::io::Result<Vec<u8>>| -> Inspected {
                self.reads.fetch_add(1, Ordering::SeqCst);
                let text = String::from_utf8(bytes.unwrap()).unwrap();
                match text.as_str() {
                    "bad" => Err(Problem::new(rel, "bad", "fix it").line(Some(1))),
                    _ => Ok((
                        Facts {
                            keys: vec![(Target::Room, text)],
                            ..Facts::default()
                        },
                        None,
                    )),
                }
            };
            let path = self.tree.path(Path::new("f"));
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = rustix::fs::open(&path, flags, FsMode::empty()).unwrap();
            let folder = Folder {
                rel: "f",
                path: &path,
                fd: &fd,
                print,
            };
            let cache = CheckCache::new(&self.tree, key, scanned_at);
            let file = cache.files_of(&[Some("g")]).remove(0).unwrap();
            let got = cache.inspect_folder(&file, &folder, &self.files(), &inspect);
            drop(file);
            cache.sweep();
            let shown = got
                .iter()
                .map(|r| match r {
                    Ok((facts, _)) => facts.keys[0].1.clone(),
                    Err(p) => format!("{}:{}", p.file.display(), p.what),
                })
                .collect();
            (shown, self.reads.load(Ordering::SeqCst))
        }

        fn cache_file(&self, key: u64) -> PathBuf {
            dir(&self.tree)
                .join(FOLDER)
                .join(format!("{key:016x}"))
                .join("g.bin")
        }
    }

    /// Sets a file's modification time back to `to` (its change time moves to now).
    fn put_mtime_back(path: &Path, to: std::time::SystemTime) {
        let f = fs::File::options().write(true).open(path).unwrap();
        f.set_modified(to).unwrap();
    }

    #[test]
    fn a_folder_s_file_is_rebuilt_when_damaged_and_sees_every_hand_edit() {
        use crate::derived::stamp::{SETTLE_NS, now_ns};
        let b = Bench::new();
        let later = now_ns() + 10 * SETTLE_NS;
        let (want, reads) = b.run(1, None, later);
        assert_eq!(want, ["one", "two", "f/b.toml:bad"]);
        assert_eq!(reads, 3);
        let good = fs::read(b.cache_file(1)).unwrap();
        let written = fs::metadata(b.cache_file(1)).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(b.run(1, None, later), (want.clone(), 0), "all kept");
        assert_eq!(
            fs::metadata(b.cache_file(1)).unwrap().modified().unwrap(),
            written,
            "unchanged: not written"
        );
        // Truncated or a byte flipped anywhere: every file is read and the file made again.
        let mut damaged: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
        damaged.extend((0..good.len()).map(|at| {
            let mut bad = good.clone();
            bad[at] ^= 0x41;
            bad
        }));
        for bad in damaged {
            fs::write(b.cache_file(1), &bad).unwrap();
            assert_eq!(b.run(1, None, later), (want.clone(), 3));
            assert_eq!(fs::read(b.cache_file(1)).unwrap(), good, "written again");
        }
        // Edited by hand keeping its size and modification time: its change time tells.
        let a2 = b.file("A2.toml");
        let mtime = fs::metadata(&a2).unwrap().modified().unwrap();
        fs::write(&a2, "TWO").unwrap();
        put_mtime_back(&a2, mtime);
        let later = now_ns() + 10 * SETTLE_NS;
        assert_eq!(
            b.run(1, None, later),
            (vec!["one".into(), "TWO".into(), want[2].clone()], 1)
        );
        // Added by hand to a folder the cache lists.
        fs::write(b.file("A3.toml"), "three").unwrap();
        let (got, reads) = b.run(1, None, later);
        assert_eq!((got[2].as_str(), reads), ("three", 1));
        // Another key (a new day, a new build) reads everything and sweeps the old key away.
        assert_eq!(b.run(2, None, later).1, 4);
        assert!(!b.cache_file(1).exists() && b.cache_file(2).exists());
    }

    #[test]
    fn an_unchanged_folder_s_entries_are_used_without_a_stat_while_its_print_holds() {
        use crate::derived::stamp::{SETTLE_NS, now_ns};
        let b = Bench::new();
        let later = now_ns() + 10 * SETTLE_NS;
        let print = Print { sum: 5, newest: 0 };
        let (want, _) = b.run(1, Some(&print), later);
        // The fingerprint is the walk's word that nothing changed: an edit it did not see (it
        // always does) is not looked for.
        let a1 = b.file("A1.toml");
        fs::write(&a1, "uno").unwrap();
        assert_eq!(b.run(1, Some(&print), later), (want.clone(), 0));
        // Another fingerprint: each file's stamp is compared, the edit seen.
        let moved = Print { sum: 6, newest: 0 };
        assert_eq!(b.run(1, Some(&moved), later).0[0], "uno");
        // A fingerprint whose newest time lies in the racy window of the scan is not trusted.
        let racy = Print {
            sum: 7,
            newest: later,
        };
        b.run(1, Some(&racy), later + 1);
        fs::write(&a1, "one").unwrap();
        assert_eq!(b.run(1, Some(&racy), later + 1).0[0], "one");
    }
}
