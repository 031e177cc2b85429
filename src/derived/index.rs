//! The patient index: a disposable cache of what search and listings need from each patient
//! file, so `patient find` does not parse 100,000 TOML files.
//!
//! It lives in `.frontdesk/index/` (ignored by git) and is never the only copy of anything.
//! Each entry is validated against its file's path, size, modification time and change time
//! (the change time also moves when an edit puts the old modification time back). A file or
//! directory stamped at or after two seconds before the last scan began is looked at again
//! (git's racy-timestamp rule, with room for coarse file-system clocks), so an edit made just
//! after a rebuild is never missed. A missing, corrupt (checksum) or old-format index, or one
//! corrupt shard section, is rebuilt from the files.
//!
//! Speed at 100,000 patients (docs/performance.md): the file layout is in `index_file`. Per
//! shard directory, in parallel, `stat_shard` checks the section's checksum, stats the
//! directory and each file by name relative to the open directory (`statx`, no path built per
//! file) and, while the directory's own stamp is unchanged (no file added, removed or
//! renamed), does not list it. A warm `patient find` ([`warm_matches`]) reads only the header,
//! then each shard's section into a small reused buffer, and scores an unchanged shard's
//! entries in place ([`DocRef`]), keeping only the matches: reading the 18 MB file into fresh
//! memory cost more than the reading itself. Anything else takes [`open`], which reads the
//! whole file, parses the files whose entry cannot be reused (in parallel), and rewrites the
//! index only when something changed, without fsync (a torn index fails its checksum and is
//! rebuilt), and only in a command that holds the records lock, so it never races a writer.
//!
//! Beside it, the duplicate guard's keys (`patient_keys.rs`): rewritten by a full refresh,
//! appended to for every patient the store saves.

use std::borrow::Cow;
use std::ffi::{CStr, CString, OsStr};
use std::fs;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode as FsMode, OFlags, RawDir, openat};

pub use crate::derived::index_file::{DocRef, PatientSummary};
use crate::derived::index_file::{
    Entry, HEAD_START, MAGIC, Section, Shard, assemble, encode_payload, header_size,
    parse_header_of, parse_layout, write_entry,
};
use crate::derived::patient_keys;
pub use crate::derived::patient_keys::key_hash;
use crate::derived::stamp::{FileStamp, mtime_ns, now_ns, stat_dir, stat_file, untrusted_from};
use crate::disk::codec::Writer;
use crate::disk::{STATE_DIR, Tree, atomic, is_record_file, read_toml};
use crate::domain::patient::Patient;
use crate::domain::search::{Query, Searchable, rank};
use crate::error::{Error, Result};

const FILE: &str = "patients.bin";
/// The JSON-lines index of earlier versions: removed when seen.
const OLD_FILE: &str = "patients.jsonl";

/// A patient file as the stat pass sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamp {
    /// Path relative to the records tree, `patients/7K/P7K3QX9M.toml`.
    pub rel: String,
    pub size: u64,
    pub mtime: i64,
}

fn index_dir(store: &Tree) -> PathBuf {
    store.path(Path::new(STATE_DIR)).join("index")
}

/// Every patient file with its size and modification time, sorted by path. Shard directories
/// are listed and stat'ed in parallel.
pub fn scan(store: &Tree) -> Result<Vec<Stamp>> {
    let dir = store.path(Path::new("patients"));
    let list_err = |e: std::io::Error| Error::io(&dir, "list", e);
    let mut shards: Vec<String> = match fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(list_err(e)),
    };
    shards.sort();
    let per_shard: Vec<Vec<Stamp>> = shards
        .par_iter()
        .map(|shard| scan_shard(&dir.join(shard), shard))
        .collect::<Result<_>>()?;
    Ok(per_shard.into_iter().flatten().collect())
}

fn scan_shard(dir: &Path, shard: &str) -> Result<Vec<Stamp>> {
    let rd = fs::read_dir(dir).map_err(|e| Error::io(dir, "list", e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(dir, "list", e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !is_record_file(Path::new(&name), "toml") {
            continue;
        }
        // A file deleted between listing and stat is simply not there.
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() {
            out.push(Stamp {
                rel: format!("patients/{shard}/{name}"),
                size: meta.len(),
                mtime: mtime_ns(&meta),
            });
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// Result of bringing the index up to date, with every summary decoded.
pub struct Refreshed {
    /// One per readable patient file, in path order (the same with or without the index).
    pub summaries: Vec<PatientSummary>,
    /// Files that could not be read; reported, never fatal to a search.
    pub problems: Vec<Error>,
}

/// The patient index, up to date with the files: its bytes and where each readable patient's
/// entry lies in them. Search scores [`DocRef`]s borrowed from the bytes.
pub struct PatientIndex {
    bytes: Vec<u8>,
    /// Payloads of the readable patient files, in path order.
    payloads: Vec<Range<usize>>,
    /// Files that could not be read; reported, never fatal to a search.
    pub problems: Vec<Error>,
}

impl PatientIndex {
    /// Every readable patient, borrowed from the index bytes, in path order. None marks an
    /// entry that does not decode, which its checksum rules out (see [`malformed`]).
    pub fn docs(&self) -> impl IndexedParallelIterator<Item = Option<DocRef<'_>>> {
        self.payloads
            .par_iter()
            .map(|r| self.bytes.get(r.clone()).and_then(DocRef::parse))
    }

    pub fn len(&self) -> usize {
        self.payloads.len()
    }

    /// The `i`th readable patient in path order; None past the end or for an entry that
    /// does not decode (see [`malformed`]).
    pub fn doc(&self, i: usize) -> Option<DocRef<'_>> {
        let range = self.payloads.get(i)?.clone();
        self.bytes.get(range).and_then(DocRef::parse)
    }

    pub fn is_empty(&self) -> bool {
        self.payloads.is_empty()
    }

    /// Ranks the patients (active ones only, unless `all`) against a query, scoring the index
    /// bytes in place: best first, as [`rank`] orders them.
    pub fn search(&self, query: &Query, all: bool) -> Result<Vec<(u32, DocRef<'_>)>> {
        let bad = AtomicBool::new(false);
        let docs = self.docs().filter_map(|d| {
            if d.is_none() {
                bad.store(true, Ordering::Relaxed);
            }
            d.filter(|d| all || d.active())
        });
        let hits = rank(query, docs);
        if bad.load(Ordering::Relaxed) {
            return Err(malformed());
        }
        Ok(hits)
    }

    /// An index of these patients built in memory, without a disk: what benchmarks and tests
    /// of in-place scoring use.
    pub fn from_summaries(summaries: &[PatientSummary]) -> PatientIndex {
        PatientIndex::from_payloads(summaries.iter().map(encode_payload))
    }

    /// An index built in memory from encoded payloads ([`encode_payload`]), in this order.
    fn from_payloads(payloads: impl Iterator<Item = Vec<u8>>) -> PatientIndex {
        let mut w = Writer::with_capacity(1 << 16);
        let mut count = 0;
        for payload in payloads {
            let name = CString::new(format!("{count:09}.toml")).unwrap_or_default();
            write_entry(&mut w, &name, &FileStamp::default(), &payload);
            count += 1;
        }
        let section = Section {
            name: "00".into(),
            dir: FileStamp::default(),
            count,
            bytes: w.buf,
        };
        let bytes = assemble(0, &[section]);
        let payloads = payloads_of(&bytes).unwrap_or_default();
        PatientIndex {
            bytes,
            payloads,
            problems: Vec::new(),
        }
    }

    /// Every patient decoded into an owned summary, in path order.
    pub fn summaries(&self) -> Result<Vec<PatientSummary>> {
        self.docs()
            .map(|d| d.and_then(|d| d.summary()).ok_or_else(malformed))
            .collect()
    }
}

/// An entry that passed its checksum but does not decode: a bug, never bad input.
pub fn malformed() -> Error {
    Error::internal("the patient index holds an entry it cannot read")
        .hint("run `frontdesk index rebuild`")
}

/// Returns a summary of every patient (see [`open`]).
pub fn patient_summaries(store: &Tree) -> Result<Refreshed> {
    let index = open(store)?;
    Ok(Refreshed {
        summaries: index.summaries()?,
        problems: index.problems,
    })
}

/// Every patient file, in a stable order (sorted by path).
pub fn patient_files(tree: &Tree) -> Result<Vec<PathBuf>> {
    Ok(scan(tree)?
        .into_iter()
        .map(|st| tree.path(Path::new(&st.rel)))
        .collect())
}

/// The patients whose record carries desk flag `flag` (flags are not in the index), as an
/// index held in memory. Every record is read, in parallel; only the matches are kept, as
/// index entries rather than whole records. The first unreadable file (in path order) fails
/// the whole call, as reading every record one by one would.
pub fn flagged(store: &Tree, flag: &str) -> Result<PatientIndex> {
    let files = patient_files(store)?;
    let read: Vec<Result<Option<Vec<u8>>>> = files
        .par_iter()
        .map(|path| {
            let p: Patient = read_toml(path)?;
            let has = p.flags.iter().any(|f| f == flag);
            Ok(has.then(|| encode_payload(&PatientSummary::from_patient(&p))))
        })
        .collect();
    drop(files);
    let mut found = Vec::new();
    for r in read {
        found.extend(r?);
    }
    Ok(PatientIndex::from_payloads(found.into_iter()))
}

/// Brings the index up to date, reusing entries whose file is unchanged and re-reading the
/// rest. Saves the refreshed index when it changed and this process holds the write lock
/// (inside a `Txn`) or can take it right now; otherwise a writer is busy and the cache is left
/// for the next command.
pub fn open(store: &Tree) -> Result<PatientIndex> {
    if store.holds_lock() {
        return refresh(store, true);
    }
    let lock = store.try_lock()?;
    refresh(store, lock.is_some())
}

fn refresh(store: &Tree, may_save: bool) -> Result<PatientIndex> {
    let dir = index_dir(store);
    let scan_start = now_ns();
    let old = read_in_parallel(&dir.join(FILE)).unwrap_or_default();
    let layout = parse_layout(&old);
    let since = layout
        .as_ref()
        .map_or(i64::MIN, |l| untrusted_from(l.scanned_at));
    let old_shards = layout.map(|l| l.shards).unwrap_or_default();
    let patients = store.path(Path::new("patients"));
    let mut shards: Vec<ShardScan> = match list_shards(&patients)? {
        None => Vec::new(),
        Some((pfd, names)) => names
            .into_par_iter()
            .map(|name| {
                let prev = old_shards
                    .binary_search_by(|s| s.name.cmp(name.as_str()))
                    .ok()
                    .map(|i| &old_shards[i]);
                stat_shard(&patients, &pfd, name, prev, &old, since)
            })
            .collect::<Result<_>>()?,
    };
    let problems = reread_stale(&patients, &mut shards, since, &old);
    let gone = old_shards.iter().any(|o| {
        shards
            .binary_search_by(|s| s.name.as_str().cmp(o.name))
            .is_err()
    });
    let rewrite = gone || shards.iter().any(|s| s.changed || s.racy);
    if !rewrite {
        // The common case: nothing changed, search the bytes just read.
        let payloads = shards
            .iter()
            .flat_map(|s| s.entries.iter().filter_map(Entry::payload_if_any))
            .collect();
        return Ok(PatientIndex {
            bytes: old,
            payloads,
            problems,
        });
    }
    let sections: Vec<Section> = shards.par_iter().map(|s| s.section(&old)).collect();
    let bytes = assemble(scan_start, &sections);
    drop(shards);
    let payloads = payloads_of(&bytes).ok_or_else(malformed)?;
    let index = PatientIndex {
        bytes,
        payloads,
        problems,
    };
    if may_save {
        // A failure to write the cache only costs speed next time.
        let _ = save(&dir, &index);
    }
    Ok(index)
}

/// The patients some part of `query` matches, read a shard section at a time from an index
/// that [`open`] would return as it is: the warm search without loading the whole file (whose
/// fresh pages cost more than the reading). None when anything calls for a refresh (no index,
/// a bad header or section, shards or files changed, added, removed, unreadable or racy): the
/// caller then takes [`open`], which rebuilds what it must and reports unreadable files.
pub fn warm_matches(store: &Tree, query: &Query) -> Option<PatientIndex> {
    let file = fs::File::open(index_dir(store).join(FILE)).ok()?;
    let (start, file_len) = read_start(&file)?;
    let layout = parse_header_of(MAGIC, &start, file_len)?;
    let since = untrusted_from(layout.scanned_at);
    let patients = store.path(Path::new("patients"));
    let (pfd, names) = list_shards(&patients).ok()??;
    if !names.iter().eq(layout.shards.iter().map(|s| s.name)) {
        return None;
    }
    let reread = AtomicUsize::new(0);
    let per_shard: Vec<Vec<Vec<u8>>> = names
        .into_par_iter()
        .zip(&layout.shards)
        .map_init(Vec::new, |section, (name, shard)| {
            // One buffer per worker: reused pages, not fresh ones, for each section. Only its
            // growth is zeroed; what the last section left is read over.
            let at = shard.section();
            section.resize(at.len(), 0);
            file.read_exact_at(section, at.start as u64).ok()?;
            let here = shard.relocated();
            let scan = stat_shard(&patients, &pfd, name, Some(&here), section, since).ok()?;
            if scan.unchanged {
                return matches_in(&scan.entries, section, query);
            }
            matches_in_changed(&patients, &scan, section, since, query, &reread)
        })
        .collect::<Option<_>>()?;
    Some(PatientIndex::from_payloads(per_shard.into_iter().flatten()))
}

/// How many files the warm search reads itself before leaving the refresh to [`open`] (which
/// saves what it read, so edits made since the index was last saved do not pile up).
const WARM_REREAD_LIMIT: usize = 64;

/// [`matches_in`] for a shard the stat pass found changed (a patient saved a moment ago, a file
/// added or edited): the entries still valid are scored from the section, the few files that
/// are new, edited or racy are read now. None when the section is missing or damaged, a file
/// does not read, or too many changed: [`open`] then refreshes the index (and reports).
fn matches_in_changed(
    patients: &Path,
    scan: &ShardScan,
    section: &[u8],
    since: i64,
    query: &Query,
    reread: &AtomicUsize,
) -> Option<Vec<Vec<u8>>> {
    if scan.entries.is_empty() && !scan.files.is_empty() {
        return None; // no usable section: a rebuild's job
    }
    let stale = scan
        .files
        .iter()
        .filter(|f| !scan.reusable(f, since))
        .count();
    if reread.fetch_add(stale, Ordering::Relaxed) + stale > WARM_REREAD_LIMIT {
        return None;
    }
    let mut hits = Vec::new();
    for f in &scan.files {
        // Scored in place, as in `matches_in`: only the hits are copied.
        let fresh;
        let payload: &[u8] = if scan.reusable(f, since) {
            section.get(scan.entries[f.old?].payload.clone())?
        } else {
            let path = patients
                .join(&scan.name)
                .join(OsStr::from_bytes(f.name.to_bytes()));
            fresh = read_payload(&path).ok()?;
            &fresh
        };
        if query.score(&DocRef::parse(payload)?).is_some() {
            hits.push(payload.to_vec());
        }
    }
    Some(hits)
}

/// The payloads (copied out of `section`) of the entries some part of `query` matches; None
/// when one does not decode, which [`open`] then reports.
fn matches_in(entries: &[Entry], section: &[u8], query: &Query) -> Option<Vec<Vec<u8>>> {
    let mut hits = Vec::new();
    for e in entries {
        let payload = section.get(e.payload.clone())?;
        if query.score(&DocRef::parse(payload)?).is_some() {
            hits.push(payload.to_vec());
        }
    }
    Some(hits)
}

/// The start of an index file (magic, header, checksum) and the file's length.
fn read_start(file: &fs::File) -> Option<(Vec<u8>, u64)> {
    let file_len = file.metadata().ok()?.len();
    let mut start = vec![0u8; HEAD_START];
    file.read_exact_at(&mut start, 0).ok()?;
    let size = header_size(MAGIC, &start)?;
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

/// The payload ranges of every readable entry of a complete index file, in path order.
fn payloads_of(bytes: &[u8]) -> Option<Vec<Range<usize>>> {
    let layout = parse_layout(bytes)?;
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

/// One shard directory after the stat pass.
struct ShardScan<'a> {
    name: String,
    dir: FileStamp,
    /// The old section's entries (empty when there was none or it failed its checksum).
    entries: Vec<Entry<'a>>,
    /// The files found, when they are not simply the old entries (see `unchanged`).
    files: Vec<Seen<'a>>,
    /// Every old entry still describes its file: `files` is left empty.
    unchanged: bool,
    /// Differs from the old section: the directory changed, files came or went, a file was
    /// edited, or the section was missing or corrupt.
    changed: bool,
    /// Something was looked at again only because of the racy rule: saving moves the scan
    /// time on, so it settles.
    racy: bool,
}

/// One patient file after the stat pass.
struct Seen<'a> {
    name: Cow<'a, CStr>,
    stamp: FileStamp,
    /// Its entry in the old section, by position.
    old: Option<usize>,
    /// The payload read from the file now (empty when it could not be read), for stale files.
    fresh: Option<Vec<u8>>,
}

/// The open `patients/` directory and its shard directories, sorted; None when there is no
/// `patients/` directory yet.
fn list_shards(patients: &Path) -> Result<Option<(OwnedFd, Vec<String>)>> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let pfd = match rustix::fs::open(patients, flags, FsMode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(Error::io(patients, "list", e.into())),
    };
    let list_err = |e: std::io::Error| Error::io(patients, "list", e);
    let mut names = Vec::new();
    for entry in fs::read_dir(patients).map_err(list_err)? {
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

/// Stats every patient file of one shard. While the directory's own stamp is what the index
/// recorded (no file added, removed or renamed since), the files are the index's entries and
/// are stat'ed by name, relative to the open directory; otherwise the directory is listed.
fn stat_shard<'a>(
    patients: &Path,
    pfd: &OwnedFd,
    name: String,
    prev: Option<&Shard<'a>>,
    old: &'a [u8],
    since: i64,
) -> Result<ShardScan<'a>> {
    let path = patients.join(&name);
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
            st.is_some_and(|st| e.stamp.still(&st, since) && !e.payload.is_empty())
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
    let listed = list_files(&dfd, &path)?;
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

fn seen(name: Cow<'_, CStr>, stamp: FileStamp, old: Option<usize>) -> Seen<'_> {
    Seen {
        name,
        stamp,
        old,
        fresh: None,
    }
}

/// The record files of a shard directory (`*.toml`, not hidden), sorted by name.
fn list_files(dfd: &OwnedFd, path: &Path) -> Result<Vec<CString>> {
    let mut buf = Vec::with_capacity(32 * 1024);
    let mut dir = RawDir::new(dfd, buf.spare_capacity_mut());
    let mut out = Vec::new();
    while let Some(entry) = dir.next() {
        let entry = entry.map_err(|e| Error::io(path, "list", e.into()))?;
        let name = entry.file_name();
        if name
            .to_str()
            .is_ok_and(|n| is_record_file(Path::new(n), "toml"))
        {
            out.push(name.to_owned());
        }
    }
    out.sort();
    Ok(out)
}

impl ShardScan<'_> {
    /// The old entry of a file, when it can be used as it is: same stamp, not racy, and the
    /// file was readable.
    fn reusable(&self, file: &Seen, since: i64) -> bool {
        file.old.is_some_and(|i| {
            let e = &self.entries[i];
            e.stamp.still(&file.stamp, since) && !e.payload.is_empty()
        })
    }

    /// Takes a file's payload read now; marks the shard changed when the file's stamp or
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

    /// The shard's section for a rewritten index: old entries copied as they are, re-read
    /// files encoded anew.
    fn section(&self, old: &[u8]) -> Section {
        let mut w = Writer::with_capacity(self.entries.len().max(self.files.len()) * 224);
        let mut count = 0;
        if self.unchanged {
            for e in &self.entries {
                w.buf
                    .extend_from_slice(old.get(e.raw.clone()).unwrap_or_default());
                count += 1;
            }
        }
        for f in &self.files {
            let kept = f.old.and_then(|i| old.get(self.entries[i].raw.clone()));
            match (&f.fresh, kept) {
                (Some(payload), _) => write_entry(&mut w, &f.name, &f.stamp, payload),
                (None, Some(raw)) => w.buf.extend_from_slice(raw),
                (None, None) => continue,
            }
            count += 1;
        }
        Section {
            name: self.name.clone(),
            dir: self.dir,
            count,
            bytes: w.buf,
        }
    }
}

/// Reads (in parallel) every file whose old entry cannot be reused. Returns the files that
/// could not be read, in path order.
fn reread_stale(patients: &Path, shards: &mut [ShardScan], since: i64, old: &[u8]) -> Vec<Error> {
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
            let name = OsStr::from_bytes(all[si].files[fi].name.to_bytes());
            read_payload(&patients.join(&all[si].name).join(name))
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

/// A patient file's index entry, read now.
fn read_payload(path: &Path) -> Result<Vec<u8>> {
    read_toml::<Patient>(path).map(|p| encode_payload(&PatientSummary::from_patient(&p)))
}

fn save(dir: &Path, index: &PatientIndex) -> Result<()> {
    atomic::create_dirs(dir)?;
    atomic::write_unsynced(&dir.join(FILE), &index.bytes, atomic::Mode::Replace)?;
    let keys: Vec<(u64, String)> = index
        .docs()
        .filter_map(|d| {
            let d = d?;
            let key = key_hash(d.family()?, &d.birth_date().to_string());
            Some((key, d.id().to_string()))
        })
        .collect();
    patient_keys::save(dir, &keys)?;
    let _ = fs::remove_file(dir.join(OLD_FILE));
    Ok(())
}

/// Deletes the index; the next command rebuilds it.
pub fn remove(store: &Tree) -> Result<()> {
    let dir = index_dir(store);
    for name in [FILE, OLD_FILE].into_iter().chain(patient_keys::FILES) {
        let path = dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, "remove", e)),
        }
    }
    Ok(())
}

/// Rebuilds the index from the files, under the write lock, and returns it (its length is
/// how many patients it holds; nothing is decoded, so memory does not grow with summaries).
pub fn rebuild(tree: &Tree) -> Result<PatientIndex> {
    debug_assert!(
        tree.holds_lock(),
        "the index is rebuilt inside a transaction"
    );
    remove(tree)?;
    open(tree)
}

// ---- the duplicate guard's keys ----

/// IDs of patients that may share this folded family name and birth date. Without a keys file
/// this refreshes the whole index once (which writes one). Callers confirm each candidate
/// against its record file.
pub fn duplicate_candidates(
    tree: &Tree,
    family_folded: &str,
    birth_date: &str,
) -> Result<Vec<String>> {
    debug_assert!(
        tree.holds_lock(),
        "duplicates are looked for inside a transaction"
    );
    let want = key_hash(family_folded, birth_date);
    if let Some(ids) = patient_keys::lookup(&index_dir(tree), want) {
        return Ok(ids);
    }
    Ok(patient_summaries(tree)?
        .summaries
        .into_iter()
        .filter(|s| s.family == family_folded && s.birth_date == birth_date)
        .map(|s| s.id)
        .collect())
}

/// Adds the keys of patients a transaction saved (called by the store under the lock, once
/// per commit).
pub(crate) fn note_patient_keys(store: &Tree, new: &[(u64, String)]) {
    patient_keys::note(&index_dir(store), new);
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate};

    use super::*;
    use crate::derived::stamp::SETTLE_NS;
    use crate::domain::demo;
    use crate::domain::patient::Status;
    use crate::domain::search::SearchDoc;
    use crate::store::Store;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    /// `n` generated patients, every seventh inactive and every eleventh deceased.
    fn patients(n: u64) -> Vec<Patient> {
        let now = DateTime::parse_from_rfc3339("2026-11-27T09:00:00-05:00").unwrap();
        (0..n)
            .map(|n| {
                let mut p = demo::patient(7, n, now);
                if n % 7 == 0 {
                    p.status = Status::Inactive;
                } else if n % 11 == 0 {
                    p.status = Status::Deceased;
                }
                p
            })
            .collect()
    }

    /// 3,000 of them, as the index summarises them.
    fn summaries() -> Vec<PatientSummary> {
        patients(3000)
            .iter()
            .map(PatientSummary::from_patient)
            .collect()
    }

    /// Queries of every kind, made from the data so that each one finds someone: names (many
    /// ties), typos, birth dates in three formats, a birth year, phones, member and patient IDs.
    fn queries(all: &[PatientSummary]) -> Vec<String> {
        let mut q: Vec<String> = ["smith", "jo smi", "maria"].map(String::from).to_vec();
        for s in all.iter().step_by(379) {
            let family = &s.search.names[s.search.names.len() - 1];
            let mut typo: Vec<char> = family.chars().collect();
            if typo.len() >= 4 {
                typo.swap(1, 2);
                q.push(typo.iter().collect());
                q.push(typo[..typo.len() - 1].iter().collect());
            }
            let d = s.search.birth_date;
            q.push(d.format("%m/%d/%Y").to_string());
            q.push(format!("{family} {}", d.format("%Y-%m-%d")));
            q.push(d.format("%Y%m%d").to_string());
            q.push(format!("{} {}", s.search.names[0], d.format("%Y")));
            if let Some(phone) = s.search.phones.first() {
                q.push(phone.clone());
                q.push(phone[phone.len() - 4..].to_string());
            }
            q.extend(s.search.other_ids.first().cloned());
            q.push(s.id.to_lowercase());
        }
        q
    }

    #[test]
    fn scoring_the_index_bytes_ranks_exactly_as_the_owned_documents() {
        let all = summaries();
        let index = PatientIndex::from_summaries(&all);
        assert_eq!(index.summaries().unwrap(), all, "every entry decodes back");
        for text in queries(&all) {
            let query = Query::parse(&text, today());
            for everyone in [false, true] {
                let owned: Vec<&SearchDoc> = all
                    .iter()
                    .filter(|s| everyone || s.status == "active")
                    .map(|s| &s.search)
                    .collect();
                let want: Vec<(u32, &str)> = rank(&query, owned)
                    .into_iter()
                    .map(|(score, d)| (score, d.id.as_str()))
                    .collect();
                let hits = index.search(&query, everyone).unwrap();
                let got: Vec<(u32, &str)> = hits.iter().map(|(s, d)| (*s, d.id())).collect();
                assert!(!everyone || !want.is_empty(), "{text:?} finds someone");
                assert_eq!(got, want, "{text:?} (all: {everyone})");
            }
        }
    }

    /// A records tree (no git) holding these patients, and its store.
    fn store_of(patients: &[Patient]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let office = crate::domain::office::Office::new("Test", "America/New_York").unwrap();
        let options = crate::store::Options {
            user: "t".into(),
            commit: false,
        };
        let store = Store::init(&dir.path().join("r"), office, options, false).unwrap();
        let mut txn = store.begin().unwrap();
        let files = |n: u64| {
            let p = &patients[n as usize];
            let toml = crate::store::to_toml(p)?;
            Ok(vec![(Store::patient_rel(&p.id), toml.into_bytes())])
        };
        txn.put_bulk(patients.len() as u64, files, &|_| {}).unwrap();
        txn.commit("Add test patients.").unwrap();
        (dir, store)
    }

    /// Waits out the racy window of every file written so far, then refreshes each index, so
    /// that it is one a warm search may use.
    fn settle<'a>(stores: impl IntoIterator<Item = &'a Store>) {
        std::thread::sleep(std::time::Duration::from_millis(
            SETTLE_NS as u64 / 1_000_000 + 300,
        ));
        for store in stores {
            open(store).unwrap();
        }
    }

    #[test]
    fn the_warm_search_finds_what_the_full_refresh_finds_in_the_same_order() {
        let all = patients(1000);
        let (_dir, store) = store_of(&all);
        settle([&store]);
        let full = open(&store).unwrap();
        let summaries: Vec<PatientSummary> = all.iter().map(PatientSummary::from_patient).collect();
        let mut hits_seen = 0;
        for text in queries(&summaries) {
            let query = Query::parse(&text, today());
            let warm = warm_matches(&store, &query).expect("a settled index is searched warm");
            for everyone in [false, true] {
                let ids = |hits: Vec<(u32, DocRef)>| -> Vec<(u32, String)> {
                    hits.iter().map(|(s, d)| (*s, d.id().to_string())).collect()
                };
                let want = ids(full.search(&query, everyone).unwrap());
                hits_seen += want.len();
                assert_eq!(
                    ids(warm.search(&query, everyone).unwrap()),
                    want,
                    "{text:?}"
                );
            }
        }
        assert!(
            hits_seen > 200,
            "the queries find many patients: {hits_seen}"
        );
    }

    /// One way of changing the records or the index behind the tool's back.
    type Change = fn(&Store);

    fn first_file(store: &Store) -> PathBuf {
        store.patient_files().unwrap().remove(0)
    }

    fn edit_same_size_times_put_back(store: &Store) {
        let path = first_file(store);
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        let text = fs::read_to_string(&path).unwrap();
        fs::write(
            &path,
            text.replacen("given = \"", "given = \"Q", 1)
                .replacen("\n\n", "\n", 1),
        )
        .unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), text.len() as u64);
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(mtime).unwrap();
    }

    fn add_file_to_a_shard(store: &Store) {
        let path = first_file(store);
        fs::copy(&path, path.with_file_name("PZZZZZZZZ.toml")).unwrap();
    }

    fn remove_file(store: &Store) {
        fs::remove_file(first_file(store)).unwrap();
    }

    fn add_shard(store: &Store) {
        fs::create_dir(store.path(Path::new("patients/ZZ"))).unwrap();
    }

    fn remove_shard(store: &Store) {
        fs::remove_dir_all(first_file(store).parent().unwrap()).unwrap();
    }

    fn index_file(store: &Store) -> PathBuf {
        index_dir(store).join(FILE)
    }

    fn delete_index(store: &Store) {
        fs::remove_file(index_file(store)).unwrap();
    }

    fn flip_last_section_byte(store: &Store) {
        let mut bytes = fs::read(index_file(store)).unwrap();
        *bytes.last_mut().unwrap() ^= 0x20;
        fs::write(index_file(store), bytes).unwrap();
    }

    fn flip_header_byte(store: &Store) {
        let mut bytes = fs::read(index_file(store)).unwrap();
        bytes[HEAD_START + 9] ^= 0x20;
        fs::write(index_file(store), bytes).unwrap();
    }

    fn truncate_index(store: &Store) {
        let bytes = fs::read(index_file(store)).unwrap();
        fs::write(index_file(store), &bytes[..bytes.len() - 1]).unwrap();
    }

    /// Edited right before the index was saved: its stamps match, only the racy rule tells.
    fn edit_then_refresh_at_once(store: &Store) {
        let path = first_file(store);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replacen("given = \"", "given = \"Q", 1)).unwrap();
        open(store).unwrap();
    }

    /// The IDs a search finds, sorted.
    fn ids_found(index: &PatientIndex, query: &Query) -> Vec<String> {
        let mut ids: Vec<String> = index
            .search(query, true)
            .unwrap()
            .iter()
            .map(|(_, d)| d.id().to_string())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn any_change_behind_the_tools_back_is_seen_by_the_warm_search() {
        let changes: [(&str, Change); 10] = [
            ("same size, times put back", edit_same_size_times_put_back),
            ("file added to a shard", add_file_to_a_shard),
            ("file removed", remove_file),
            ("shard directory added", add_shard),
            ("shard directory removed", remove_shard),
            ("index deleted", delete_index),
            ("index section corrupted", flip_last_section_byte),
            ("index header corrupted", flip_header_byte),
            ("index truncated", truncate_index),
            (
                "edited right before the index was saved",
                edit_then_refresh_at_once,
            ),
        ];
        let all = patients(40);
        let stores: Vec<_> = (0..=changes.len()).map(|_| store_of(&all)).collect();
        // An unreadable file, indexed as such: every search must read it again and report it.
        let (_, unreadable) = &stores[changes.len()];
        fs::write(first_file(unreadable), "schema = 1\nid = [broken\n").unwrap();
        settle(stores.iter().map(|(_, s)| s));
        let query = Query::parse("a", today());
        for (_, store) in &stores[..changes.len()] {
            let warm = warm_matches(store, &query).expect("settled: searched warm");
            assert_eq!(
                warm.len(),
                open(store).unwrap().search(&query, true).unwrap().len()
            );
        }
        assert!(
            warm_matches(unreadable, &query).is_none(),
            "unreadable file"
        );
        // A changed file or shard is read by the warm search itself (what it finds is what a
        // refresh finds); a damaged or missing index turns it away to `open`.
        let index_damage = [
            "index deleted",
            "index section corrupted",
            "index header corrupted",
            "index truncated",
            "shard directory added",
            "shard directory removed",
        ];
        for ((what, change), (_, store)) in changes.iter().zip(&stores) {
            change(store);
            match warm_matches(store, &query) {
                Some(warm) => {
                    assert!(!index_damage.contains(what), "{what}: searched warm");
                    assert_eq!(
                        ids_found(&warm, &query),
                        ids_found(&open(store).unwrap(), &query),
                        "{what}"
                    );
                }
                None => assert!(index_damage.contains(what), "{what}: turned away"),
            }
        }
    }
}
