//! The per-file engine over a folder of folders: one cache file for every record file below
//! `ROOT/*/`, one section per subfolder (the patient index: `patients/7K/P7K3QX9M.toml`, one
//! section per shard folder), every file's payload in place in the file's bytes.
//!
//! A cache declares, through [`PerFolderFile`], which listed names are its records and what one
//! record file gives (its payload's bytes, or an error naming the file and line). The engine owns
//! the rest, with the single-section engine's pieces (`super`: the stamp rule, the section writer,
//! the cache file written whole):
//!
//! - listing the subfolders, and per subfolder, in parallel: checking its section's checksum,
//!   stat'ing the folder and each file by name relative to the open folder (`statx`, no path
//!   built per file) and, while the folder's own stamp holds (no file added, removed or
//!   renamed), not listing it;
//! - reusing every entry whose stamp holds ([`super::kept_still`]), re-reading the rest in
//!   parallel; a file that cannot be read is kept as such (empty payload, read every time) and
//!   reported as a problem, never fatal;
//! - the cheap answer: when every stamp holds the bytes read are the answer, nothing is copied
//!   or written; otherwise the file is written again (one damaged section costs only its
//!   folder's files), and only by a caller that may write it;
//! - [`visit_warm`]: a pass over the payloads of a file that needs no refresh, a section at a
//!   time into a reused buffer, without loading the whole file (its fresh pages cost more than
//!   the reading), reading the few files changed since itself.

use std::borrow::Cow;
use std::ffi::{CStr, CString, OsStr};
use std::fs;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode as FsMode, OFlags, RawDir, openat};

use super::format::{
    Entry, HEAD_START, Section, Shard, assemble_as, header_size, parse_header_of, parse_layout_of,
    write_entry,
};
use super::{Loaded, Pass, PerFile, SectionWriter, kept_still, write_file};
use crate::derived::stamp::{FileStamp, now_ns, stat_dir, stat_file, untrusted_from};
use crate::error::{Error, Result};

/// What a cache of one section per subfolder keeps of each record file.
pub trait PerFolderFile: Sync {
    /// The first eight bytes of the cache file: another cache's file is not read as one.
    fn magic(&self) -> &'static [u8; 8];
    /// Whether a file listed in a subfolder is one of the records.
    fn is_record(&self, name: &str) -> bool;
    /// The payload of the record file at `path`, as bytes (never empty); its errors name the
    /// file and line, and are reported while the file is kept as unreadable.
    fn extract(&self, path: &Path) -> Result<Vec<u8>>;
}

/// Where a cache of folders lives and what it covers.
pub struct Folders<'d, D> {
    pub cache: &'d D,
    /// The folder whose subfolders hold the record files (`patients/`).
    pub root: PathBuf,
    /// The cache file (`.frontdesk/index/patients.bin`).
    pub file: PathBuf,
}

/// A cache file up to date with the record files: its bytes and where each readable record's
/// payload lies in them, in path order.
pub struct Current {
    pub bytes: Vec<u8>,
    pub payloads: Vec<Range<usize>>,
    /// Files that could not be read, in path order.
    pub problems: Vec<Error>,
    /// The cache file was written again.
    pub saved: bool,
}

impl<D: PerFolderFile> Folders<'_, D> {
    /// Brings the cache up to date: reuses every entry whose stamp holds, re-reads the rest,
    /// and, when something differs from the file and `may_save`, writes the file again (a
    /// failure to write it only costs speed next time).
    pub fn refresh(&self, may_save: bool) -> Result<Current> {
        self.refresh_at(may_save, now_ns())
    }

    /// [`Folders::refresh`] with the scan taken to begin at `scan_start` (ns).
    fn refresh_at(&self, may_save: bool, scan_start: i64) -> Result<Current> {
        let old = read_in_parallel(&self.file).unwrap_or_default();
        let layout = parse_layout_of(self.cache.magic(), &old);
        let since = layout
            .as_ref()
            .map_or(i64::MIN, |l| untrusted_from(l.scanned_at));
        let old_shards = layout.map(|l| l.shards).unwrap_or_default();
        let mut shards: Vec<ShardScan> = match list_folders(&self.root)? {
            None => Vec::new(),
            Some((pfd, names)) => names
                .into_par_iter()
                .map(|name| {
                    let prev = old_shards
                        .binary_search_by(|s| s.name.cmp(name.as_str()))
                        .ok()
                        .map(|i| &old_shards[i]);
                    self.stat_shard(&pfd, name, prev, &old, since)
                })
                .collect::<Result<_>>()?,
        };
        let problems = self.reread_stale(&mut shards, since, &old);
        let gone = old_shards.iter().any(|o| {
            shards
                .binary_search_by(|s| s.name.as_str().cmp(o.name))
                .is_err()
        });
        let rewrite = gone || shards.iter().any(|s| s.changed || s.racy);
        if !rewrite {
            // The common case: nothing changed, the bytes just read are the answer.
            let payloads = shards
                .iter()
                .flat_map(|s| s.entries.iter().filter_map(Entry::payload_if_any))
                .collect();
            return Ok(Current {
                bytes: old,
                payloads,
                problems,
                saved: false,
            });
        }
        let sections: Vec<Section> = shards.par_iter().map(|s| s.section(&old)).collect();
        drop(shards);
        let bytes = assemble_as(self.cache.magic(), scan_start, &sections);
        drop(sections);
        let payloads = payloads_of(self.cache.magic(), &bytes).ok_or_else(|| {
            Error::internal("a cache file just assembled does not read back")
                .hint("run `frontdesk index rebuild`")
        })?;
        // A failure to write the cache file only costs speed next time.
        let saved = may_save && write_file(&self.file, &bytes).is_ok();
        Ok(Current {
            bytes,
            payloads,
            problems,
            saved,
        })
    }

    /// Every record file, sorted by path (folders listed in parallel): what the cache covers.
    pub fn files(&self) -> Result<Vec<PathBuf>> {
        let Some((pfd, names)) = list_folders(&self.root)? else {
            return Ok(Vec::new());
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let per_folder: Vec<Vec<PathBuf>> = names
            .par_iter()
            .map(|name| {
                let path = self.root.join(name);
                let dfd = openat(&pfd, name.as_str(), flags, FsMode::empty())
                    .map_err(|e| Error::io(&path, "list", e.into()))?;
                let listed = self.list_files(&dfd, &path)?;
                // A file deleted between listing and stat is simply not there.
                Ok(listed
                    .into_iter()
                    .filter(|f| stat_file(&dfd, &path, f).is_some())
                    .map(|f| path.join(OsStr::from_bytes(f.to_bytes())))
                    .collect())
            })
            .collect::<Result<_>>()?;
        Ok(per_folder.into_iter().flatten().collect())
    }

    /// Visits the payload of every record file, from a cache file that [`Folders::refresh`]
    /// would return as it is, a section at a time: `visit` gives what to keep of a payload, or
    /// None to give the pass up. The few files changed since the file was written (at most
    /// `limit` in all) are read here; None when anything else calls for a refresh (no cache
    /// file, a bad header or section, subfolders added or removed, a file unreadable, too many
    /// changed), which the caller then takes.
    pub fn visit_warm<R: Send>(
        &self,
        limit: usize,
        visit: impl Fn(&[u8]) -> Option<Option<R>> + Sync,
    ) -> Option<Vec<R>> {
        let file = fs::File::open(&self.file).ok()?;
        let (start, file_len) = read_start(self.cache.magic(), &file)?;
        let layout = parse_header_of(self.cache.magic(), &start, file_len)?;
        let since = untrusted_from(layout.scanned_at);
        let (pfd, names) = list_folders(&self.root).ok()??;
        if !names.iter().eq(layout.shards.iter().map(|s| s.name)) {
            return None;
        }
        let reread = AtomicUsize::new(0);
        let per_shard: Vec<Vec<R>> = names
            .into_par_iter()
            .zip(&layout.shards)
            .map_init(Vec::new, |section, (name, shard)| {
                // One buffer per worker: reused pages, not fresh ones, for each section. Only
                // its growth is zeroed; what the last section left is read over.
                let at = shard.section();
                section.resize(at.len(), 0);
                file.read_exact_at(section, at.start as u64).ok()?;
                let here = shard.relocated();
                let scan = self
                    .stat_shard(&pfd, name, Some(&here), section, since)
                    .ok()?;
                let mut kept = Vec::new();
                if scan.unchanged {
                    for e in &scan.entries {
                        kept.extend(visit(section.get(e.payload.clone())?)?);
                    }
                    return Some(kept);
                }
                if scan.entries.is_empty() && !scan.files.is_empty() {
                    return None; // no usable section: a refresh's job
                }
                let stale = scan
                    .files
                    .iter()
                    .filter(|f| !scan.reusable(f, since))
                    .count();
                if reread.fetch_add(stale, Ordering::Relaxed) + stale > limit {
                    return None;
                }
                for f in &scan.files {
                    let fresh;
                    let payload: &[u8] = if scan.reusable(f, since) {
                        section.get(scan.entries[f.old?].payload.clone())?
                    } else {
                        fresh = self.cache.extract(&scan.path_of(&self.root, f)).ok()?;
                        &fresh
                    };
                    kept.extend(visit(payload)?);
                }
                Some(kept)
            })
            .collect::<Option<_>>()?;
        Some(per_shard.into_iter().flatten().collect())
    }

    /// Stats every record file of one subfolder. While the folder's own stamp is what the
    /// cache recorded (no file added, removed or renamed since), the files are the section's
    /// entries and are stat'ed by name, relative to the open folder; otherwise it is listed.
    fn stat_shard<'a>(
        &self,
        pfd: &OwnedFd,
        name: String,
        prev: Option<&Shard<'a>>,
        old: &'a [u8],
        since: i64,
    ) -> Result<ShardScan<'a>> {
        let path = self.root.join(&name);
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let dfd = openat(pfd, name.as_str(), flags, FsMode::empty())
            .map_err(|e| Error::io(&path, "list", e.into()))?;
        let dir = stat_dir(&dfd, &path)?;
        let entries = prev.and_then(|s| s.entries(old));
        let dir_same = prev.is_some_and(|s| s.dir == dir) && entries.is_some();
        let racy = dir_same && dir.is_racy(since);
        let mut scan = ShardScan {
            name,
            dir,
            entries: entries.unwrap_or_default(),
            files: Vec::new(),
            unchanged: false,
            changed: !dir_same,
            racy,
        };
        if dir_same && !racy {
            let stamps: Vec<Option<FileStamp>> = scan
                .entries
                .iter()
                .map(|e| stat_file(&dfd, &path, e.name))
                .collect();
            let reusable = |(e, st): (&Entry, &Option<FileStamp>)| {
                st.is_some_and(|st| kept_still(e, &st, since))
            };
            if scan.entries.iter().zip(&stamps).all(reusable) {
                // The usual case: every entry is reused as it is, no per-file record is built.
                scan.unchanged = true;
                return Ok(scan);
            }
            for (i, (e, stamp)) in scan.entries.iter().zip(stamps).enumerate() {
                match stamp {
                    Some(stamp) => scan.files.push(seen(Cow::Borrowed(e.name), stamp, Some(i))),
                    None => scan.changed = true,
                }
            }
            return Ok(scan);
        }
        let listed = self.list_files(&dfd, &path)?;
        let mut olds = scan.entries.iter().enumerate().peekable();
        for file in listed {
            while olds.next_if(|(_, e)| e.name < file.as_c_str()).is_some() {}
            let prior = olds
                .next_if(|(_, e)| e.name == file.as_c_str())
                .map(|(i, _)| i);
            if let Some(stamp) = stat_file(&dfd, &path, &file) {
                scan.files.push(seen(Cow::Owned(file), stamp, prior));
            }
        }
        Ok(scan)
    }

    /// The record files of a subfolder (as the declaration tells them), sorted by name.
    fn list_files(&self, dfd: &OwnedFd, path: &Path) -> Result<Vec<CString>> {
        let mut buf = Vec::with_capacity(32 * 1024);
        let mut dir = RawDir::new(dfd, buf.spare_capacity_mut());
        let mut out = Vec::new();
        while let Some(entry) = dir.next() {
            let entry = entry.map_err(|e| Error::io(path, "list", e.into()))?;
            let name = entry.file_name();
            if name.to_str().is_ok_and(|n| self.cache.is_record(n)) {
                out.push(name.to_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Reads (in parallel) every file whose old entry cannot be reused. Returns the files
    /// that could not be read, in path order.
    fn reread_stale(&self, shards: &mut [ShardScan], since: i64, old: &[u8]) -> Vec<Error> {
        let stale: Vec<(usize, usize)> = shards
            .iter()
            .enumerate()
            .flat_map(|(si, s)| {
                (0..s.files.len())
                    .filter(move |&fi| !s.reusable(&s.files[fi], since))
                    .map(move |fi| (si, fi))
            })
            .collect();
        let all: &[ShardScan] = shards;
        let read: Vec<Result<Vec<u8>>> = stale
            .par_iter()
            .map(|&(si, fi)| {
                let s = &all[si];
                self.cache.extract(&s.path_of(&self.root, &s.files[fi]))
            })
            .collect();
        let mut problems = Vec::new();
        for ((si, fi), payload) in stale.into_iter().zip(read) {
            let payload = match payload {
                Ok(p) => p,
                Err(e) => {
                    problems.push(e);
                    Vec::new()
                }
            };
            shards[si].settle(fi, payload, old, since);
        }
        problems
    }
}

/// A cache file of many sections whose folders its caller finds itself as it walks (`check`:
/// one file per record kind and year, a section per day folder, see `check_cache.rs`), where
/// [`Folders`] lists one folder's subfolders for its caller. Each section is read (`pread`,
/// its checksum checked) when the caller reaches its folder, on whichever core handles it,
/// and run through the single-section engine's [`Pass`]; the file is written whole once the
/// caller has been through every folder it covers ([`WalkedFile::save`]), and only when a
/// section changed, came or went. So memory holds one file's sections at a time, a damaged
/// section costs only its folder, and a section that holds is copied only when the file is
/// written again.
pub struct WalkedFile {
    magic: &'static [u8; 8],
    path: PathBuf,
    /// The file as it was when opened, kept open: every section comes from that one file
    /// even if another run replaces it meanwhile.
    old: Option<fs::File>,
    /// Stamps at or after this moment are not trusted (the racy window of its scan).
    since: i64,
    /// Its sections, sorted by name.
    places: Vec<Place>,
    /// The sections of the file to write, as their folders are reached.
    sections: Mutex<Vec<Kept>>,
    /// A section differs from the one read (or the file was missing or damaged).
    changed: AtomicBool,
}

/// A folder's section of the [`WalkedFile`] to write.
enum Kept {
    /// The one the file holds, at this place: copied from it only if the file is written.
    Same(usize),
    /// Made by the pass over its folder.
    New(Section),
}

impl Kept {
    fn name<'k>(&'k self, places: &'k [Place]) -> &'k str {
        match self {
            Kept::Same(i) => &places[*i].name,
            Kept::New(section) => &section.name,
        }
    }
}

/// Where one section of a [`WalkedFile`] lies, with what checks it.
struct Place {
    name: String,
    dir: FileStamp,
    count: u32,
    section: Range<usize>,
    sum: u64,
}

impl Place {
    /// The section as read alone into a buffer of its length.
    fn relocated(&self) -> Shard<'_> {
        Shard {
            name: &self.name,
            dir: self.dir,
            count: self.count,
            section: 0..self.section.len(),
            sum: self.sum,
        }
    }
}

impl WalkedFile {
    /// The cache file at `path` of `magic`: its header read, its sections left on disk. A
    /// file missing, cut short, of another magic or with a bad header has no sections.
    pub fn open(magic: &'static [u8; 8], path: PathBuf) -> WalkedFile {
        let old = fs::File::open(&path).ok();
        let start = old.as_ref().and_then(|f| read_start(magic, f));
        let layout = start
            .as_ref()
            .and_then(|(start, len)| parse_header_of(magic, start, *len));
        let since = layout
            .as_ref()
            .map_or(i64::MIN, |l| untrusted_from(l.scanned_at));
        let places = layout
            .map(|l| l.shards)
            .unwrap_or_default()
            .into_iter()
            .map(|s| Place {
                name: s.name.to_string(),
                dir: s.dir,
                count: s.count,
                section: s.section,
                sum: s.sum,
            })
            .collect();
        WalkedFile {
            magic,
            path,
            old,
            since,
            places,
            sections: Mutex::new(Vec::new()),
            changed: AtomicBool::new(false),
        }
    }

    /// The section of the folder `name`, read into `buf`; empty (every file of the folder
    /// read again) when the file holds none or it fails its checksum.
    pub fn load<'b>(&self, name: &str, buf: &'b mut Vec<u8>) -> Loaded<'b> {
        let Some(i) = self.place(name) else {
            return Loaded::default();
        };
        let (place, Some(file)) = (&self.places[i], &self.old) else {
            return Loaded::default();
        };
        buf.clear();
        buf.resize(place.section.len(), 0);
        if file.read_exact_at(buf, place.section.start as u64).is_err() {
            return Loaded::default();
        }
        let buf: &'b [u8] = buf;
        match place.relocated().entries(buf) {
            Some(records) => Loaded {
                bytes: buf,
                since: self.since,
                folder: (place.dir != FileStamp::default()).then_some(place.dir),
                records,
            },
            None => Loaded::default(),
        }
    }

    /// Keeps the section a pass over the folder `name` (its section loaded by
    /// [`WalkedFile::load`]) leaves, with the folder stamp `folder`: the pass's own when it
    /// read or dropped anything, else the loaded one as it was.
    pub fn keep<D: PerFile>(&self, name: &str, pass: Pass<'_, '_, D>, folder: Option<FileStamp>) {
        let kept = match pass.section(name.to_string(), folder) {
            Some(section) => {
                self.changed.store(true, Ordering::Relaxed);
                Kept::New(section)
            }
            None => match self.place(name) {
                Some(i) => Kept::Same(i),
                None => return, // nothing asked of a folder the file does not hold
            },
        };
        self.sections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(kept);
    }

    /// The position of the folder `name`'s section among the file's.
    fn place(&self, name: &str) -> Option<usize> {
        self.places
            .binary_search_by(|p| p.name.as_str().cmp(name))
            .ok()
    }

    /// Writes the file again (whole, atomic, unsynced, its scan taken to begin at
    /// `scanned_at`) when a section kept since [`WalkedFile::open`] differs from the file's,
    /// or the folders kept are not the file's (one came, one went); true when it did. Every
    /// section kept was checked against its files by this run, so the new scan time holds
    /// for them all. A failure to write only costs speed next time.
    pub fn save(&self, scanned_at: i64) -> Result<bool> {
        let mut kept =
            std::mem::take(&mut *self.sections.lock().unwrap_or_else(PoisonError::into_inner));
        let places = &self.places;
        kept.sort_by(|a, b| a.name(places).cmp(b.name(places)));
        kept.dedup_by(|a, b| a.name(places) == b.name(places));
        let same_folders = kept
            .iter()
            .map(|k| k.name(places))
            .eq(places.iter().map(|p| p.name.as_str()));
        if same_folders && !self.changed.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let sections = kept
            .into_iter()
            .map(|k| match k {
                Kept::New(section) => Ok(section),
                Kept::Same(i) => self.copied(&places[i]),
            })
            .collect::<Result<Vec<Section>>>()?;
        write_file(&self.path, &assemble_as(self.magic, scanned_at, &sections))?;
        Ok(true)
    }

    /// A section of the file as it was, to be written again as it is.
    fn copied(&self, place: &Place) -> Result<Section> {
        let read = |e| Error::io(&self.path, "read", e);
        let file = self
            .old
            .as_ref()
            .ok_or_else(|| read(std::io::ErrorKind::NotFound.into()))?;
        let mut bytes = vec![0; place.section.len()];
        file.read_exact_at(&mut bytes, place.section.start as u64)
            .map_err(read)?;
        Ok(Section {
            name: place.name.clone(),
            dir: place.dir,
            count: place.count,
            bytes,
        })
    }
}

/// The payload ranges of every readable entry of a complete cache file, in path order.
pub fn payloads_of(magic: &[u8; 8], bytes: &[u8]) -> Option<Vec<Range<usize>>> {
    let layout = parse_layout_of(magic, bytes)?;
    let per_shard: Vec<Vec<Entry>> = layout
        .shards
        .par_iter()
        .map(|s| s.entries(bytes))
        .collect::<Option<_>>()?;
    Some(
        per_shard
            .iter()
            .flatten()
            .filter_map(Entry::payload_if_any)
            .collect(),
    )
}

/// A cache file's bytes held in memory only, for these payloads in this order (each named by
/// its position), and where each payload lies in them.
pub fn in_memory(
    magic: &[u8; 8],
    payloads: impl Iterator<Item = Vec<u8>>,
) -> (Vec<u8>, Vec<Range<usize>>) {
    let mut w = crate::disk::codec::Writer::with_capacity(1 << 16);
    let mut count = 0;
    for payload in payloads {
        let name = CString::new(format!("{count:09}")).unwrap_or_default();
        write_entry(&mut w, &name, &FileStamp::default(), &payload);
        count += 1;
    }
    let section = Section {
        name: "00".into(),
        dir: FileStamp::default(),
        count,
        bytes: w.buf,
    };
    let bytes = assemble_as(magic, 0, &[section]);
    let payloads = payloads_of(magic, &bytes).unwrap_or_default();
    (bytes, payloads)
}

/// The start of a cache file (magic, header, checksum) and the file's length.
fn read_start(magic: &[u8; 8], file: &fs::File) -> Option<(Vec<u8>, u64)> {
    let file_len = file.metadata().ok()?.len();
    let mut start = vec![0u8; HEAD_START];
    file.read_exact_at(&mut start, 0).ok()?;
    let size = header_size(magic, &start)?;
    if size as u64 > file_len {
        return None; // a corrupt length, not a reason to allocate gigabytes
    }
    start.resize(size, 0);
    file.read_exact_at(&mut start[HEAD_START..], HEAD_START as u64)
        .ok()?;
    Some((start, file_len))
}

/// Reads a whole file in 1 MiB pieces spread over the cores: copying 20 MB and faulting in
/// its pages is a good share of a warm search. None when it cannot be read whole.
fn read_in_parallel(path: &Path) -> Option<Vec<u8>> {
    const PIECE: usize = 1 << 20;
    let file = fs::File::open(path).ok()?;
    let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
    let mut buf = vec![0u8; len];
    buf.par_chunks_mut(PIECE)
        .enumerate()
        .try_for_each(|(i, piece)| file.read_exact_at(piece, (i * PIECE) as u64))
        .ok()?;
    Some(buf)
}

/// The open root folder and its subfolders, sorted; None when there is no root folder yet.
fn list_folders(root: &Path) -> Result<Option<(OwnedFd, Vec<String>)>> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let pfd = match rustix::fs::open(root, flags, FsMode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(Error::io(root, "list", e.into())),
    };
    let list_err = |e: std::io::Error| Error::io(root, "list", e);
    let mut names = Vec::new();
    for entry in fs::read_dir(root).map_err(list_err)? {
        let entry = entry.map_err(list_err)?;
        if entry.file_type().is_ok_and(|t| t.is_dir())
            && let Ok(name) = entry.file_name().into_string()
        {
            names.push(name);
        }
    }
    names.sort();
    Ok(Some((pfd, names)))
}

/// One subfolder after the stat pass.
struct ShardScan<'a> {
    name: String,
    dir: FileStamp,
    /// The old section's entries (empty when there was none or it failed its checksum).
    entries: Vec<Entry<'a>>,
    /// The files found, when they are not simply the old entries (see `unchanged`).
    files: Vec<Seen<'a>>,
    /// Every old entry still describes its file: `files` is left empty.
    unchanged: bool,
    /// Differs from the old section: the folder changed, files came or went, a file was
    /// edited, or the section was missing or corrupt.
    changed: bool,
    /// Something was looked at again only because of the racy rule: saving moves the scan
    /// time on, so it settles.
    racy: bool,
}

/// One record file after the stat pass.
struct Seen<'a> {
    name: Cow<'a, CStr>,
    stamp: FileStamp,
    /// Its entry in the old section, by position.
    old: Option<usize>,
    /// The payload read from the file now (empty when it could not be read), for stale files.
    fresh: Option<Vec<u8>>,
}

fn seen(name: Cow<'_, CStr>, stamp: FileStamp, old: Option<usize>) -> Seen<'_> {
    Seen {
        name,
        stamp,
        old,
        fresh: None,
    }
}

impl ShardScan<'_> {
    /// The old entry of a file, when it can be used as it is.
    fn reusable(&self, file: &Seen, since: i64) -> bool {
        file.old
            .is_some_and(|i| kept_still(&self.entries[i], &file.stamp, since))
    }

    fn path_of(&self, root: &Path, file: &Seen) -> PathBuf {
        root.join(&self.name)
            .join(OsStr::from_bytes(file.name.to_bytes()))
    }

    /// Takes a file's payload read now; marks the section changed when the file's stamp or
    /// contents differ from its old entry, or racy when only the racy rule made us look.
    fn settle(&mut self, at: usize, payload: Vec<u8>, old: &[u8], since: i64) {
        let file = &self.files[at];
        match file.old.map(|i| &self.entries[i]) {
            Some(e)
                if e.stamp == file.stamp && old.get(e.payload.clone()) == Some(&payload[..]) =>
            {
                self.racy |= file.stamp.is_racy(since);
            }
            _ => self.changed = true,
        }
        self.files[at].fresh = Some(payload);
    }

    /// The subfolder's section for a rewritten file: old entries copied as they are, re-read
    /// files written anew.
    fn section(&self, old: &[u8]) -> Section {
        let mut out = SectionWriter::new(old, self.entries.len().max(self.files.len()) * 224);
        if self.unchanged {
            for e in &self.entries {
                out.kept(e);
            }
        }
        for f in &self.files {
            match (&f.fresh, f.old) {
                (Some(payload), _) => out.fresh(&f.name, &f.stamp, payload),
                (None, Some(i)) => out.kept(&self.entries[i]),
                (None, None) => {}
            }
        }
        out.finish(self.name.clone(), self.dir)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::derived::stamp::SETTLE_NS;

    const MAGIC: &[u8; 8] = b"FDTSF001";

    /// Each `*.txt` file's text in upper case; a text with `!` does not read.
    struct Upper {
        reads: AtomicUsize,
    }

    impl PerFolderFile for Upper {
        fn magic(&self) -> &'static [u8; 8] {
            MAGIC
        }
        fn is_record(&self, name: &str) -> bool {
            name.ends_with(".txt")
        }
        fn extract(&self, path: &Path) -> Result<Vec<u8>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let text = fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
            if text.contains('!') {
                return Err(Error::user(format!("{}: not a record", path.display())));
            }
            Ok(text.to_uppercase().into_bytes())
        }
    }

    /// A folder of three folders of three files each (`a/1.txt` holds `a1`), and its cache.
    fn tree() -> (tempfile::TempDir, Upper) {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a", "b", "c"] {
            let sub = dir.path().join("root").join(f);
            fs::create_dir_all(&sub).unwrap();
            for n in 1..=3 {
                fs::write(sub.join(format!("{n}.txt")), format!("{f}{n}")).unwrap();
            }
            fs::write(sub.join("notes.md"), "not a record").unwrap();
        }
        let upper = Upper {
            reads: AtomicUsize::new(0),
        };
        (dir, upper)
    }

    fn folders<'d>(dir: &Path, cache: &'d Upper) -> Folders<'d, Upper> {
        Folders {
            cache,
            root: dir.join("root"),
            file: dir.join("cache").join("c.bin"),
        }
    }

    /// A moment well after every stamp the test makes: they all lie outside its racy window.
    fn later() -> i64 {
        now_ns() + 10 * SETTLE_NS
    }

    /// What a refresh at `at` gives: the payloads, how many files it read, how many it could
    /// not read, and whether it wrote the cache file.
    fn refresh(f: &Folders<Upper>, at: i64) -> (Vec<String>, usize, usize, bool) {
        f.cache.reads.store(0, Ordering::SeqCst);
        let c = f.refresh_at(true, at).unwrap();
        let got = c
            .payloads
            .iter()
            .map(|r| String::from_utf8(c.bytes[r.clone()].to_vec()).unwrap())
            .collect();
        (
            got,
            f.cache.reads.swap(0, Ordering::SeqCst),
            c.problems.len(),
            c.saved,
        )
    }

    /// What a warm visit gives (None: turned away to a refresh), and how many files it read.
    fn warm(f: &Folders<Upper>) -> (Option<Vec<String>>, usize) {
        f.cache.reads.store(0, Ordering::SeqCst);
        let got = f.visit_warm(64, |p| Some(Some(String::from_utf8(p.to_vec()).unwrap())));
        (got, f.cache.reads.swap(0, Ordering::SeqCst))
    }

    fn all() -> Vec<String> {
        ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn every_payload_is_kept_while_its_stamp_holds_and_nothing_is_written() {
        let (dir, upper) = tree();
        let f = folders(dir.path(), &upper);
        assert_eq!(refresh(&f, later()), (all(), 9, 0, true));
        let written = fs::read(&f.file).unwrap();
        assert_eq!(
            refresh(&f, later()),
            (all(), 0, 0, false),
            "the cheap answer"
        );
        assert_eq!(fs::read(&f.file).unwrap(), written);
        assert_eq!(warm(&f), (Some(all()), 0));
        let files: Vec<String> = f
            .files()
            .unwrap()
            .iter()
            .map(|p| {
                let rel = p.strip_prefix(&f.root).unwrap();
                rel.to_string_lossy().into_owned()
            })
            .collect();
        assert_eq!(files[..4], ["a/1.txt", "a/2.txt", "a/3.txt", "b/1.txt"]);
        assert_eq!(files.len(), 9, "what is not a record is not listed");
        // A cache file written within the racy window of its own files does not vouch for
        // them: they are read again, and the file written again so that its scan time moves on.
        fs::remove_file(&f.file).unwrap();
        assert_eq!(refresh(&f, now_ns()), (all(), 9, 0, true));
        assert_eq!(refresh(&f, later()), (all(), 9, 0, true), "racy");
        assert_eq!(refresh(&f, later()), (all(), 0, 0, false), "settled");
    }

    #[test]
    fn one_damaged_section_costs_only_its_folder() {
        let (dir, upper) = tree();
        let f = folders(dir.path(), &upper);
        refresh(&f, later());
        let good = fs::read(&f.file).unwrap();
        let layout = parse_layout_of(MAGIC, &good).unwrap();
        let b = layout
            .shards
            .iter()
            .find(|s| s.name == "b")
            .unwrap()
            .section();
        for at in b.clone() {
            let mut bad = good.clone();
            bad[at] ^= 0x41;
            fs::write(&f.file, &bad).unwrap();
            assert_eq!(warm(&f), (None, 0), "a damaged section is a refresh's job");
            assert_eq!(refresh(&f, later()), (all(), 3, 0, true), "flip at {at}");
        }
    }

    #[test]
    fn a_cache_file_cut_short_or_with_a_flipped_byte_is_rebuilt_whole() {
        let (dir, upper) = tree();
        let f = folders(dir.path(), &upper);
        refresh(&f, later());
        let good = fs::read(&f.file).unwrap();
        let mut damaged: Vec<Vec<u8>> = (0..good.len())
            .step_by(7)
            .map(|n| good[..n].to_vec())
            .collect();
        let b = parse_layout_of(MAGIC, &good).unwrap().shards[1].section();
        for at in (0..b.start).chain([good.len() - 1]) {
            let mut bad = good.clone();
            bad[at] ^= 0x41;
            damaged.push(bad);
        }
        for bad in damaged {
            fs::write(&f.file, &bad).unwrap();
            let (got, reads, problems, saved) = refresh(&f, later());
            assert_eq!((got, problems, saved), (all(), 0, true));
            assert!(reads >= 3, "at least the damaged section's folder is read");
            assert!(parse_layout_of(MAGIC, &fs::read(&f.file).unwrap()).is_some());
        }
    }

    #[test]
    fn a_hand_edit_keeping_size_and_mtime_is_seen_by_its_change_time() {
        let (dir, upper) = tree();
        let f = folders(dir.path(), &upper);
        refresh(&f, later());
        std::thread::sleep(std::time::Duration::from_millis(20));
        edit_keeping_mtime(&f.root.join("b").join("2.txt"), "x2");
        let mut want = all();
        want[4] = "X2".into();
        assert_eq!(
            warm(&f),
            (Some(want.clone()), 1),
            "read by the warm visit itself"
        );
        assert_eq!(refresh(&f, later()), (want.clone(), 1, 0, true));
        assert_eq!(refresh(&f, later()), (want, 0, 0, false));
    }

    #[test]
    fn a_file_added_by_hand_to_a_listed_folder_is_found() {
        let (dir, upper) = tree();
        let f = folders(dir.path(), &upper);
        refresh(&f, later());
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(f.root.join("a").join("4.txt"), "a4").unwrap();
        let mut want = all();
        want.insert(3, "A4".into());
        assert_eq!(warm(&f), (Some(want.clone()), 1));
        assert_eq!(refresh(&f, later()), (want.clone(), 1, 0, true));
        // A folder added or removed turns the warm visit away; the refresh sees it.
        fs::create_dir(f.root.join("d")).unwrap();
        fs::write(f.root.join("d").join("1.txt"), "d1").unwrap();
        assert_eq!(warm(&f), (None, 0));
        want.push("D1".into());
        assert_eq!(refresh(&f, later()), (want.clone(), 1, 0, true));
        fs::remove_dir_all(f.root.join("a")).unwrap();
        assert_eq!(warm(&f), (None, 0));
        assert_eq!(refresh(&f, later()), (want[4..].to_vec(), 0, 0, true));
    }

    #[test]
    fn an_unreadable_file_is_a_warning_read_again_every_time() {
        let (dir, upper) = tree();
        let f = folders(dir.path(), &upper);
        fs::write(f.root.join("c").join("1.txt"), "c1!").unwrap();
        let want: Vec<String> = all().into_iter().filter(|p| p != "C1").collect();
        assert_eq!(refresh(&f, later()), (want.clone(), 9, 1, true));
        assert_eq!(refresh(&f, later()), (want.clone(), 1, 1, false));
        assert_eq!(warm(&f).0, None, "the refresh reports it");
        // Mended, it is read and kept.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(f.root.join("c").join("1.txt"), "c1").unwrap();
        assert_eq!(refresh(&f, later()), (all(), 1, 0, true));
        assert_eq!(warm(&f), (Some(all()), 0));
    }

    /// One folder of [`tree`]'s, declared for a [`WalkedFile`]: each `*.txt` file's text in
    /// upper case, stat'ed relative to the open folder.
    struct Walked<'w> {
        fd: OwnedFd,
        path: PathBuf,
        reads: &'w AtomicUsize,
    }

    impl PerFile for Walked<'_> {
        type Payload = String;
        fn magic(&self) -> &'static [u8; 8] {
            MAGIC
        }
        fn stamp(&self, name: &CStr) -> Option<FileStamp> {
            stat_file(&self.fd, &self.path, name)
        }
        fn extract(&self, name: &CStr) -> Result<Option<String>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let path = self.path.join(OsStr::from_bytes(name.to_bytes()));
            Ok(fs::read_to_string(path).ok().map(|t| t.to_uppercase()))
        }
        fn encode(&self, _: &CStr, p: &String) -> Option<Vec<u8>> {
            Some(p.as_bytes().to_vec())
        }
        fn decode(&self, _: &CStr, bytes: &[u8]) -> Option<String> {
            String::from_utf8(bytes.to_vec()).ok()
        }
    }

    /// A walk of every folder below `root` through the one cache file `file`, as `check`
    /// walks its day folders: the payloads in path order, how many files were read, and
    /// whether the file was written.
    fn walk(root: &Path, file: &Path, scanned_at: i64) -> (Vec<String>, usize, bool) {
        let reads = AtomicUsize::new(0);
        let walked = WalkedFile::open(MAGIC, file.to_path_buf());
        let (_, folders) = list_folders(root).unwrap().unwrap();
        let mut got = Vec::new();
        for folder in folders {
            let path = root.join(&folder);
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = rustix::fs::open(&path, flags, FsMode::empty()).unwrap();
            let mut names: Vec<CString> = fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .filter(|n| n.to_string_lossy().ends_with(".txt"))
                .map(|n| CString::new(n.as_bytes()).unwrap())
                .collect();
            names.sort();
            let declared = Walked {
                fd,
                path,
                reads: &reads,
            };
            let mut buf = Vec::new();
            let kept = walked.load(&folder, &mut buf);
            let mut pass = Pass::new(&declared, &kept);
            for name in names {
                got.push(pass.get(name).unwrap().unwrap());
            }
            walked.keep(&folder, pass, None);
        }
        let saved = walked.save(scanned_at).unwrap();
        (got, reads.load(Ordering::SeqCst), saved)
    }

    #[test]
    fn a_walked_file_keeps_a_section_per_folder_and_a_damaged_one_costs_only_its_folder() {
        let (dir, _) = tree();
        let root = dir.path().join("root");
        let file = dir.path().join("cache").join("walked.bin");
        assert_eq!(walk(&root, &file, later()), (all(), 9, true));
        let good = fs::read(&file).unwrap();
        assert_eq!(walk(&root, &file, later()), (all(), 0, false), "all kept");
        assert_eq!(fs::read(&file).unwrap(), good, "not written");
        // A byte flipped in b's section: b's files are read, the others kept.
        let layout = parse_layout_of(MAGIC, &good).unwrap();
        let b = layout.shards[1].section();
        assert_eq!(layout.shards[1].name, "b");
        for at in b {
            let mut bad = good.clone();
            bad[at] ^= 0x41;
            fs::write(&file, &bad).unwrap();
            assert_eq!(
                walk(&root, &file, later()),
                (all(), 3, true),
                "flip at {at}"
            );
            assert_eq!(entries_of(&fs::read(&file).unwrap()), entries_of(&good));
        }
        // Cut short, or a byte of the header flipped: every file is read.
        let head = layout.shards[0].section().start;
        let mut damaged: Vec<Vec<u8>> = (0..good.len())
            .step_by(5)
            .map(|n| good[..n].to_vec())
            .collect();
        for at in 0..head {
            let mut bad = good.clone();
            bad[at] ^= 0x41;
            damaged.push(bad);
        }
        for bad in damaged {
            fs::write(&file, &bad).unwrap();
            assert_eq!(walk(&root, &file, later()), (all(), 9, true));
            assert_eq!(entries_of(&fs::read(&file).unwrap()), entries_of(&good));
        }
    }

    #[test]
    fn a_walked_file_sees_folders_come_and_go_and_files_edited_or_added_by_hand() {
        let (dir, _) = tree();
        let root = dir.path().join("root");
        let file = dir.path().join("cache").join("walked.bin");
        walk(&root, &file, later());
        // A file added by hand to a folder the file lists: only it is read.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(root.join("a").join("4.txt"), "a4").unwrap();
        let mut want = all();
        want.insert(3, "A4".into());
        assert_eq!(walk(&root, &file, later()), (want.clone(), 1, true));
        // Edited by hand keeping size and modification time: its change time tells.
        edit_keeping_mtime(&root.join("b").join("2.txt"), "x2");
        want[5] = "X2".into();
        assert_eq!(walk(&root, &file, later()), (want.clone(), 1, true));
        // A folder gone: its section is dropped; a folder new: only its files are read.
        fs::remove_dir_all(root.join("c")).unwrap();
        want.truncate(7);
        assert_eq!(walk(&root, &file, later()), (want.clone(), 0, true));
        let names = |bytes: &[u8]| -> Vec<String> {
            let layout = parse_layout_of(MAGIC, bytes).unwrap();
            layout.shards.iter().map(|s| s.name.to_string()).collect()
        };
        assert_eq!(names(&fs::read(&file).unwrap()), ["a", "b"]);
        fs::create_dir(root.join("d")).unwrap();
        fs::write(root.join("d").join("1.txt"), "d1").unwrap();
        want.push("D1".into());
        assert_eq!(walk(&root, &file, later()), (want.clone(), 1, true));
        assert_eq!(names(&fs::read(&file).unwrap()), ["a", "b", "d"]);
        assert_eq!(walk(&root, &file, later()), (want, 0, false));
    }

    /// Writes `text` over the file at `path` (of the same size) and puts its modification
    /// time back: only its change time tells.
    fn edit_keeping_mtime(path: &Path, text: &str) {
        let mtime = fs::metadata(path).unwrap().modified().unwrap();
        fs::write(path, text).unwrap();
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }

    /// A cache file's sections without its header (which holds the time of its scan).
    fn entries_of(bytes: &[u8]) -> Vec<u8> {
        let layout = parse_layout_of(MAGIC, bytes).unwrap();
        bytes[layout.shards[0].section().start..].to_vec()
    }
}
