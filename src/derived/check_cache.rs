//! A disposable cache of what `check` derives from each record file alone, so a warm `check`
//! stats the files instead of parsing them.
//!
//! It lives in `.frontdesk/index/check.bin` (ignored by git) and is never the only copy of
//! anything: each entry is what inspecting the file gave (its problem, or its facts: ID, keys,
//! references, booking), stored with the file's size, modification time, change time and inode.
//! An entry is reused only while all four match a `statx` taken before the file would be read,
//! and the file was not stamped at or after two seconds before the last scan began (git's
//! racy-timestamp rule, as in the patient index). The whole file is keyed by the office file's
//! bytes, the office's date and the running executable, since rules read all three. A missing,
//! corrupt or truncated cache is rebuilt from the files; a corrupt section (one folder) costs
//! only that folder.
//!
//! Memory stays flat with the tree: one section per record folder (a day, a patient shard),
//! read with `pread` when `check` reaches that folder and written as the walk goes, so only the
//! table of contents (one line per folder) is held whole.
//!
//! ```text
//! "FDCHK003"  section…  toc  u64 toc offset  u32 toc length  u64 checksum(toc)  "FDCHK003"
//! toc:      u64 key, i64 scanned_at, u32 kinds, u32 sections,
//!           per section: u8 kind, str folder, u64 offset, u32 length, u64 checksum,
//!           u64 fingerprint of the folder's contents when it was written
//! section:  u16 strings, str…  (provider, type, room and payer keys, said once)
//!           u32 entries, per file (sorted by name):
//!           u8 flags (1: named `<ID>.toml`), u64 packed ID | str name,
//!           u64 size, i64 mtime, i64 ctime, u64 inode, u16 payload length, payload
//! payload:  0 facts (id, keys, refs, booking as start + duration, misplaced problem) | 1 problem
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};

use crate::derived::clean_note;
pub use crate::derived::print::Print;
use crate::derived::stamp::{FileStamp, untrusted_from};
use crate::disk::atomic::TEMP_PREFIX;
use crate::disk::codec::{Reader, Writer, checksum};
use crate::disk::{STATE_DIR, Tree};
use crate::domain::check::{Booking, Facts, Fix, Problem, Target, pack_str, unpack};
use crate::domain::id::Id;
use crate::error::{Error, Result};

/// One file's facts and a problem with where it lies, or the problem that stopped reading it.
pub type Inspected = std::result::Result<(Facts, Option<Problem>), Problem>;

const MAGIC: &[u8; 8] = b"FDCHK003";
pub const FILE: &str = "check.bin";
/// The folder of the check cache and its clean note (`.frontdesk/index/`).
pub fn dir(tree: &Tree) -> PathBuf {
    tree.path(Path::new(STATE_DIR)).join("index")
}

/// Deletes the check cache and its clean note; the next `check` builds them again.
pub fn remove(tree: &Tree) -> Result<()> {
    let dir = dir(tree);
    for name in [FILE, clean_note::FILE] {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(&path, "remove", e));
            }
            _ => {}
        }
    }
    Ok(())
}

/// toc offset, toc length, toc checksum, magic.
const TRAILER: usize = 8 + 4 + 8 + 8;

/// What the stat pass compares. The change time also moves when an edit puts the old
/// modification time back; the inode, when a file is replaced by another of the same stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    /// Size, modification and change time, as the patient index compares them.
    pub file: FileStamp,
    pub ino: u64,
}

impl Stamp {
    fn is_racy(&self, since: i64) -> bool {
        self.file.is_racy(since)
    }
    fn put(&self, w: &mut Writer) {
        self.file.write(w);
        w.u64(self.ino);
    }
    fn get(r: &mut Reader) -> Option<Stamp> {
        Some(Stamp {
            file: FileStamp::read(r)?,
            ino: r.u64()?,
        })
    }
}

/// The key every entry depends on: the office file (time zone, country), the office's date
/// (age rules) and the executable (the rules themselves).
pub fn key(office_bytes: &[u8], today: &str) -> u64 {
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
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

/// Where one folder's section lies in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Toc {
    kind: u8,
    folder: Box<[u8]>,
    offset: u64,
    len: u32,
    sum: u64,
    /// The fingerprint of the folder's contents (see [`Section::trusted`]) when the section
    /// was written.
    print: u64,
}

/// The section a kind's folder is found under.
fn toc_key(kind: usize, folder: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(folder.len() + 1);
    k.push(kind as u8);
    k.extend_from_slice(folder);
    k
}

/// The cache as the last `check` left it: the open file and its table of contents.
#[derive(Default)]
pub struct OldCache {
    file: Option<File>,
    since: i64,
    toc: Vec<Toc>,
    find: HashMap<Vec<u8>, u32>,
}

impl OldCache {
    /// Opens the cache and reads its table of contents; an empty cache when the file is
    /// missing, corrupt, truncated or made for another key.
    pub fn load(path: &Path, key: u64, kinds: usize) -> OldCache {
        File::open(path)
            .ok()
            .and_then(|f| OldCache::read_toc(f, key, kinds))
            .unwrap_or_default()
    }

    fn read_toc(file: File, key: u64, kinds: usize) -> Option<OldCache> {
        let len = file.metadata().ok()?.len();
        let body = len.checked_sub(TRAILER as u64)?;
        let mut trailer = [0u8; TRAILER];
        file.read_exact_at(&mut trailer, body).ok()?;
        let mut magic = [0u8; 8];
        file.read_exact_at(&mut magic, 0).ok()?;
        let mut t = Reader::new(&trailer);
        let (toc_at, toc_len, sum) = (t.u64()?, t.u32()? as u64, t.u64()?);
        if &magic != MAGIC || t.bytes(8)? != MAGIC || toc_at.checked_add(toc_len)? != body {
            return None;
        }
        let mut toc_bytes = vec![0u8; usize::try_from(toc_len).ok()?];
        file.read_exact_at(&mut toc_bytes, toc_at).ok()?;
        if checksum(&toc_bytes) != sum {
            return None;
        }
        let mut r = Reader::new(&toc_bytes);
        if r.u64()? != key {
            return None;
        }
        let since = untrusted_from(r.i64()?);
        if r.u32()? as usize != kinds {
            return None;
        }
        let count = r.u32()? as usize;
        let mut toc = Vec::with_capacity(count.min(1 << 20));
        let mut find = HashMap::with_capacity(count.min(1 << 20));
        let mut at = MAGIC.len() as u64;
        for i in 0..count {
            let kind = r.u8()?;
            let folder_len = r_len(&mut r)?;
            let folder: Box<[u8]> = r.bytes(folder_len)?.into();
            let entry = Toc {
                kind,
                folder,
                offset: r.u64()?,
                len: r.u32()?,
                sum: r.u64()?,
                print: r.u64()?,
            };
            // Sections lie end to end, so an unchanged start of the file can be copied whole.
            if entry.offset != at || usize::from(kind) >= kinds {
                return None;
            }
            at += u64::from(entry.len);
            if find
                .insert(toc_key(kind.into(), &entry.folder), i as u32)
                .is_some()
            {
                return None;
            }
            toc.push(entry);
        }
        (r.at_end() && at == toc_at).then_some(OldCache {
            file: Some(file),
            since,
            toc,
            find,
        })
    }

    /// The section of one folder, when the cache holds it and its checksum holds. `now` is
    /// the fingerprint of the folder's contents taken by this run's walk, if any.
    pub fn section(&self, kind: usize, folder: &[u8], now: Option<&Print>) -> Option<Section> {
        let index = *self.find.get(&toc_key(kind, folder))?;
        let toc = &self.toc[index as usize];
        let mut bytes = vec![0u8; toc.len as usize];
        self.file
            .as_ref()?
            .read_exact_at(&mut bytes, toc.offset)
            .ok()?;
        if checksum(&bytes) != toc.sum {
            return None;
        }
        let mut section = Section::parse(index, bytes, self.since)?;
        section.trusted = now.is_some_and(|p| p.sum == toc.print && p.newest < self.since);
        Some(section)
    }
}

/// A u16 length, as `Writer::str` writes it.
fn r_len(r: &mut Reader) -> Option<usize> {
    Some(u16::from_le_bytes(r.bytes(2)?.try_into().ok()?) as usize)
}

/// One entry of a section: where its parts lie in the section's bytes.
struct At {
    /// The name, in `Section::names`.
    name: (u32, u32),
    /// The packed ID the name was made from, for entries named `<ID>.toml`.
    implied: Option<u64>,
    stamp: Stamp,
    payload: (u32, u32),
}

/// One folder's entries, read from the cache.
pub struct Section {
    /// Its place in the table of contents.
    index: u32,
    /// Nothing in the folder changed since the section was written: the fingerprint of every
    /// file and folder in it (path, mode, size, mtime, ctime, inode, as the tree walk took
    /// them this run) equals the one taken when it was written, and all those stamps are older
    /// than two seconds before that run (the racy rule). Its entries are then reused without
    /// a second stat of each file.
    pub trusted: bool,
    bytes: Vec<u8>,
    since: i64,
    strings: Vec<(u32, u32)>,
    names: Vec<u8>,
    entries: Vec<At>,
}

impl Section {
    fn parse(index: u32, bytes: Vec<u8>, since: i64) -> Option<Section> {
        let mut r = Reader::new(&bytes);
        let mut strings = Vec::new();
        for _ in 0..r_len(&mut r)? {
            let len = r_len(&mut r)?;
            let at = r.pos();
            std::str::from_utf8(r.bytes(len)?).ok()?;
            strings.push((at as u32, len as u32));
        }
        let count = r.u32()? as usize;
        // Every entry takes at least 37 bytes, whatever the count claims.
        let count_cap = count.min(r.remaining() / 37 + 1);
        let mut names = Vec::with_capacity(count_cap * 16);
        let mut entries: Vec<At> = Vec::with_capacity(count_cap);
        for _ in 0..count {
            let flags = r.u8()?;
            let start = names.len();
            let implied = if flags & 1 == 1 {
                let packed = r.u64()?;
                names.extend_from_slice(unpack(packed).as_bytes());
                names.extend_from_slice(b".toml");
                Some(packed)
            } else {
                let len = r_len(&mut r)?;
                names.extend_from_slice(r.bytes(len)?);
                None
            };
            let stamp = Stamp::get(&mut r)?;
            let len = r_len(&mut r)?;
            let at = r.pos();
            r.bytes(len)?;
            let entry = At {
                name: (start as u32, (names.len() - start) as u32),
                implied,
                stamp,
                payload: (at as u32, len as u32),
            };
            // Lookups rely on the order.
            if let Some(last) = entries.last()
                && slice(&names, last.name) >= slice(&names, entry.name)
            {
                return None;
            }
            entries.push(entry);
        }
        r.at_end().then_some(Section {
            index,
            trusted: false,
            bytes,
            since,
            strings,
            names,
            entries,
        })
    }

    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// The entry of the file `name` when its stamp still holds.
    pub fn lookup(&self, name: &[u8], stamp: &Stamp) -> Option<usize> {
        let i = self.find(name)?;
        let e = &self.entries[i];
        (e.stamp == *stamp && !stamp.is_racy(self.since)).then_some(i)
    }

    /// The entry of the file `name`, whatever its stamp (for a trusted section).
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        self.entries
            .binary_search_by(|e| slice(&self.names, e.name).cmp(name))
            .ok()
    }

    /// The stamp the entry was written with.
    pub fn stamp(&self, i: usize) -> Stamp {
        self.entries[i].stamp
    }

    /// What inspecting the file `rel` gave; None when the entry is malformed (then the file
    /// is read).
    pub fn decode(&self, i: usize, rel: &Path) -> Option<Inspected> {
        let e = &self.entries[i];
        let ctx = Strings {
            table: &self.strings,
            bytes: &self.bytes,
            implied: e.implied,
        };
        decode(rel, slice(&self.bytes, e.payload), &ctx)
    }
}

fn slice(bytes: &[u8], (at, len): (u32, u32)) -> &[u8] {
    &bytes[at as usize..(at + len) as usize]
}

/// What a folder gives the next cache.
pub enum SectionOut {
    /// Its section as it was: every file reused, none added or gone.
    Same(Section),
    /// A new section's bytes (see [`SectionBuilder`]).
    New(Vec<u8>),
    /// Nothing to keep (no file could be cached).
    Nothing,
}

/// Builds one folder's section from its files' results, in name order.
#[derive(Default)]
pub struct SectionBuilder {
    table: Vec<String>,
    interned: HashMap<String, u16>,
    entries: Writer,
    count: u32,
    last: Vec<u8>,
}

impl SectionBuilder {
    /// Adds one file; a file the cache cannot hold is left out (it is read every time).
    pub fn add(&mut self, name: &[u8], stamp: &Stamp, result: &Inspected) {
        if self.count > 0 && name <= self.last.as_slice() {
            return;
        }
        let id = match result {
            Ok((facts, _)) => facts.id.as_ref().and_then(|id| pack_str(id.as_str())),
            Err(_) => None,
        };
        let implied = id.filter(|p| {
            name.strip_suffix(b".toml")
                .is_some_and(|stem| stem == unpack(*p).as_bytes())
        });
        let Some(payload) = encode(result, implied, self) else {
            return;
        };
        let Ok(payload_len) = u16::try_from(payload.len()) else {
            return;
        };
        let Ok(name_len) = u16::try_from(name.len()) else {
            return;
        };
        let w = &mut self.entries;
        match implied {
            Some(packed) => {
                w.u8(1);
                w.u64(packed);
            }
            None => {
                w.u8(0);
                w.buf.extend_from_slice(&name_len.to_le_bytes());
                w.buf.extend_from_slice(name);
            }
        }
        stamp.put(w);
        w.buf.extend_from_slice(&payload_len.to_le_bytes());
        w.buf.extend_from_slice(&payload);
        self.count += 1;
        self.last.clear();
        self.last.extend_from_slice(name);
    }

    /// The index of `s` in the section's string table; None when the table is full.
    fn intern(&mut self, s: &str) -> Option<u16> {
        if let Some(i) = self.interned.get(s) {
            return Some(*i);
        }
        let i = u16::try_from(self.table.len())
            .ok()
            .filter(|i| *i < u16::MAX)?;
        (s.len() <= u16::MAX as usize).then_some(())?;
        self.table.push(s.to_string());
        self.interned.insert(s.to_string(), i);
        Some(i)
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn finish(self) -> Vec<u8> {
        let mut w = Writer::with_capacity(self.entries.buf.len() + 16 * self.table.len() + 8);
        w.buf
            .extend_from_slice(&(self.table.len() as u16).to_le_bytes());
        for s in &self.table {
            w.str(s);
        }
        w.u32(self.count);
        w.buf.extend_from_slice(&self.entries.buf);
        w.buf
    }
}

/// The next cache file, written as the walk goes. While every folder so far gave its old
/// section back, in the old order, nothing is written; at the first difference the unchanged
/// start of the old file is copied and the rest follows section by section.
pub struct CacheWriter {
    dir: std::path::PathBuf,
    /// Old sections matched so far, in order.
    same: usize,
    out: Option<Out>,
    failed: bool,
}

struct Out {
    file: BufWriter<tempfile::NamedTempFile>,
    at: u64,
    toc: Vec<Toc>,
}

impl CacheWriter {
    /// A writer for a cache in `dir`.
    pub fn new(dir: &Path) -> CacheWriter {
        CacheWriter {
            dir: dir.to_path_buf(),
            same: 0,
            out: None,
            failed: false,
        }
    }

    /// Adds one folder's section, in walk order, with the fingerprint of the folder's
    /// contents this run's walk took (0 when none).
    pub fn push(
        &mut self,
        old: &OldCache,
        kind: usize,
        folder: &[u8],
        section: SectionOut,
        print: u64,
    ) {
        if self.failed {
            return;
        }
        if self.out.is_none() {
            if let SectionOut::Same(s) = &section
                && s.index as usize == self.same
                && old.toc[self.same].print == print
            {
                self.same += 1;
                return;
            }
            if matches!(section, SectionOut::Nothing) {
                return;
            }
            self.start(old);
        }
        let (bytes, sum) = match section {
            SectionOut::Same(s) => {
                let sum = old.toc[s.index as usize].sum;
                (s.bytes, sum)
            }
            SectionOut::New(bytes) => {
                let sum = checksum(&bytes);
                (bytes, sum)
            }
            SectionOut::Nothing => return,
        };
        if let Some(out) = &mut self.out
            && out.add(kind as u8, folder, &bytes, sum, print).is_err()
        {
            self.fail();
        }
    }

    /// Starts the new file with the old file's unchanged sections.
    fn start(&mut self, old: &OldCache) {
        let made = (|| -> std::io::Result<Out> {
            crate::disk::atomic::create_dirs(&self.dir)
                .map_err(|e| std::io::Error::other(e.message))?;
            let tmp = tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .permissions(std::fs::Permissions::from_mode(0o600))
                .tempfile_in(&self.dir)?;
            let mut out = Out {
                file: BufWriter::with_capacity(1 << 20, tmp),
                at: MAGIC.len() as u64,
                toc: Vec::new(),
            };
            out.file.write_all(MAGIC)?;
            let kept = &old.toc[..self.same];
            let end = kept.last().map_or(out.at, |t| t.offset + u64::from(t.len));
            if let Some(file) = &old.file {
                copy_range(file, out.at, end, &mut out.file)?;
            }
            out.at = end;
            out.toc.extend_from_slice(kept);
            Ok(out)
        })();
        match made {
            Ok(out) => self.out = Some(out),
            Err(_) => self.fail(),
        }
    }

    fn fail(&mut self) {
        self.failed = true;
        self.out = None;
    }

    /// The finished file, to be renamed over the cache; None when the old one still says
    /// exactly this (or writing failed).
    pub fn finish(
        mut self,
        old: &OldCache,
        key: u64,
        scanned_at: i64,
        kinds: usize,
    ) -> Option<tempfile::NamedTempFile> {
        if self.failed {
            return None;
        }
        if self.out.is_none() {
            if self.same == old.toc.len() {
                return None;
            }
            self.start(old);
        }
        let out = self.out.take()?;
        out.close(key, scanned_at, kinds).ok()
    }
}

impl Out {
    fn add(
        &mut self,
        kind: u8,
        folder: &[u8],
        bytes: &[u8],
        sum: u64,
        print: u64,
    ) -> std::io::Result<()> {
        let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
        self.file.write_all(bytes)?;
        self.toc.push(Toc {
            kind,
            folder: folder.into(),
            offset: self.at,
            len,
            sum,
            print,
        });
        self.at += u64::from(len);
        Ok(())
    }

    fn close(
        mut self,
        key: u64,
        scanned_at: i64,
        kinds: usize,
    ) -> std::io::Result<tempfile::NamedTempFile> {
        let mut w = Writer::with_capacity(32 + self.toc.len() * 48);
        w.u64(key);
        w.i64(scanned_at);
        w.u32(kinds as u32);
        w.u32(self.toc.len() as u32);
        for t in &self.toc {
            w.u8(t.kind);
            let len = u16::try_from(t.folder.len()).map_err(std::io::Error::other)?;
            w.buf.extend_from_slice(&len.to_le_bytes());
            w.buf.extend_from_slice(&t.folder);
            w.u64(t.offset);
            w.u32(t.len);
            w.u64(t.sum);
            w.u64(t.print);
        }
        let toc_len = u32::try_from(w.buf.len()).map_err(std::io::Error::other)?;
        self.file.write_all(&w.buf)?;
        let mut trailer = Writer::with_capacity(TRAILER);
        trailer.u64(self.at);
        trailer.u32(toc_len);
        trailer.u64(checksum(&w.buf));
        trailer.buf.extend_from_slice(MAGIC);
        self.file.write_all(&trailer.buf)?;
        self.file.into_inner().map_err(|e| e.into_error())
    }
}

/// Copies `from..to` of `file` to `out`, a MiB at a time.
fn copy_range(file: &File, mut from: u64, to: u64, out: &mut impl Write) -> std::io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    while from < to {
        let n = ((to - from) as usize).min(buf.len());
        file.read_exact_at(&mut buf[..n], from)?;
        out.write_all(&buf[..n])?;
        from += n as u64;
    }
    Ok(())
}

// ---- one file's result ----

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
];

const TARGETS: &[Target] = &[
    Target::Patient,
    Target::Provider,
    Target::Payer,
    Target::Room,
    Target::AppointmentType,
    Target::MergedPatient,
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

/// How a string is written: interned in the section's table, the record's own ID (a patient's
/// key), an ID packed into 8 bytes, or inline.
const V_INTERNED: u8 = 0;
const V_OWN_ID: u8 = 1;
const V_PACKED: u8 = 2;
const V_INLINE: u8 = 3;

/// The IDs and keys a record names, as written.
fn put_value(w: &mut Writer, s: &str, own: Option<&str>, b: &mut SectionBuilder) -> Option<()> {
    if own == Some(s) {
        w.u8(V_OWN_ID);
    } else if let Some(p) = pack_str(s).filter(|_| s.len() >= 6) {
        w.u8(V_PACKED);
        w.u64(p);
    } else if let Some(i) = b.intern(s) {
        w.u8(V_INTERNED);
        w.buf.extend_from_slice(&i.to_le_bytes());
    } else {
        w.u8(V_INLINE);
        put_str(w, s)?;
    }
    Some(())
}

/// What a section's entry reads its strings from.
struct Strings<'a> {
    /// Where each interned string lies in `bytes` (checked to be UTF-8 when read).
    table: &'a [(u32, u32)],
    bytes: &'a [u8],
    implied: Option<u64>,
}

fn get_value(r: &mut Reader, own: Option<&str>, s: &Strings) -> Option<String> {
    match r.u8()? {
        V_OWN_ID => own.map(str::to_string),
        V_PACKED => Some(unpack(r.u64()?)),
        V_INTERNED => {
            let i = u16::from_le_bytes(r.bytes(2)?.try_into().ok()?);
            let at = *s.table.get(i as usize)?;
            std::str::from_utf8(slice(s.bytes, at))
                .ok()
                .map(str::to_string)
        }
        V_INLINE => r.string(),
        _ => None,
    }
}

/// Encodes what inspecting a file gave; None when it holds something the cache cannot say.
/// `implied`: the file is named for its ID, which the entry holds already.
fn encode(result: &Inspected, implied: Option<u64>, b: &mut SectionBuilder) -> Option<Vec<u8>> {
    let mut w = Writer::with_capacity(96);
    match result {
        Ok((facts, misplaced)) => {
            w.u8(0);
            let own = facts.id.as_ref().map(Id::as_str);
            match (own, implied) {
                (None, _) => w.u8(0),
                (Some(_), Some(_)) => w.u8(1),
                (Some(id), None) => {
                    w.u8(2);
                    put_str(&mut w, id)?;
                }
            }
            w.u8(u8::try_from(facts.keys.len()).ok()?);
            for (t, k) in &facts.keys {
                w.u8(target_code(*t));
                put_value(&mut w, k, own, b)?;
            }
            w.u8(u8::try_from(facts.refs.len()).ok()?);
            for (field, t, k) in &facts.refs {
                let f = FIELDS.iter().position(|x| x == field)? as u8;
                w.u8(f << 3 | target_code(*t));
                put_value(&mut w, k, own, b)?;
            }
            match &facts.booking {
                Some(bk) => put_booking(&mut w, bk, own, b)?,
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
fn put_booking(
    w: &mut Writer,
    bk: &Booking,
    own: Option<&str>,
    b: &mut SectionBuilder,
) -> Option<()> {
    let secs = bk.end.timestamp() - bk.start.timestamp();
    let short = bk.start.offset() == bk.end.offset()
        && bk.start.timestamp_subsec_nanos() == 0
        && bk.end.timestamp_subsec_nanos() == 0;
    match u32::try_from(secs).ok().filter(|_| short) {
        Some(secs) => {
            w.u8(1);
            put_value(w, &bk.provider, own, b)?;
            w.i64(bk.start.timestamp());
            w.i32(bk.start.offset().local_minus_utc());
            w.u32(secs);
        }
        None => {
            w.u8(2);
            put_value(w, &bk.provider, own, b)?;
            put_time(w, &bk.start);
            put_time(w, &bk.end);
        }
    }
    Some(())
}

fn get_booking(r: &mut Reader, own: Option<&str>, s: &Strings) -> Option<Option<Booking>> {
    Some(match r.u8()? {
        0 => None,
        1 => {
            let provider = get_value(r, own, s)?;
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
            provider: get_value(r, own, s)?,
            start: get_time(r)?,
            end: get_time(r)?,
        }),
        _ => return None,
    })
}

/// Decodes an entry for the file `rel`.
fn decode(rel: &Path, payload: &[u8], s: &Strings) -> Option<Inspected> {
    let mut r = Reader::new(payload);
    let out = match r.u8()? {
        0 => {
            let own = match r.u8()? {
                0 => None,
                1 => Some(unpack(s.implied?)),
                2 => Some(r.string()?),
                _ => return None,
            };
            let id = match &own {
                Some(text) => Some(Id::parse(text).ok()?),
                None => None,
            };
            let own = own.as_deref();
            let keys = (0..r.u8()?)
                .map(|_| Some((*TARGETS.get(r.u8()? as usize)?, get_value(&mut r, own, s)?)))
                .collect::<Option<Vec<_>>>()?;
            let refs = (0..r.u8()?)
                .map(|_| {
                    let code = r.u8()?;
                    let field = *FIELDS.get((code >> 3) as usize)?;
                    let target = *TARGETS.get((code & 7) as usize)?;
                    Some((field, target, get_value(&mut r, own, s)?))
                })
                .collect::<Option<Vec<_>>>()?;
            let booking = get_booking(&mut r, own, s)?;
            let misplaced = match r.u8()? {
                0 => None,
                1 => Some(get_problem(&mut r, rel)?),
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
        1 => Err(get_problem(&mut r, rel)?),
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

fn get_problem(r: &mut Reader, rel: &Path) -> Option<Problem> {
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
    let mut p = Problem::new(rel, what, todo).line(line);
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

    fn stamp(n: i64) -> Stamp {
        Stamp {
            file: FileStamp {
                size: 10,
                mtime: n,
                ctime: n + 1,
            },
            ino: 3,
        }
    }

    /// Each sample in one section; the first named for its ID, the rest by other names.
    fn section_bytes() -> Vec<u8> {
        let mut b = SectionBuilder::default();
        for (i, r) in sample().iter().enumerate() {
            let name = if i == 0 {
                "A7K3QX9M2.toml".to_string()
            } else {
                format!("B{i}.toml")
            };
            b.add(name.as_bytes(), &stamp(i as i64), r);
        }
        assert_eq!(b.count as usize, sample().len());
        b.finish()
    }

    #[test]
    fn every_result_reads_back_as_it_was() {
        let rel = Path::new(REL);
        let section = Section::parse(0, section_bytes(), i64::MAX).unwrap();
        assert_eq!(
            section.entries[0].implied,
            pack_str("A7K3QX9M2"),
            "name implied"
        );
        for (i, want) in sample().iter().enumerate() {
            let name = if i == 0 {
                "A7K3QX9M2.toml".to_string()
            } else {
                format!("B{i}.toml")
            };
            let at = section.lookup(name.as_bytes(), &stamp(i as i64)).unwrap();
            let got = section.decode(at, rel).unwrap();
            assert!(same(&got, want), "{got:?} != {want:?}");
            assert!(section.lookup(name.as_bytes(), &stamp(99)).is_none());
        }
        let bytes = section_bytes();
        for cut in 0..bytes.len() {
            assert!(
                Section::parse(0, bytes[..cut].to_vec(), i64::MAX).is_none(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn an_unknown_field_is_not_cached() {
        let facts = Facts {
            refs: vec![("someday", Target::Room, "a".into())],
            ..Facts::default()
        };
        let mut b = SectionBuilder::default();
        b.add(b"x.toml", &stamp(1), &Ok((facts, None)));
        assert!(b.is_empty());
    }

    /// Writes folders `f0..fN` of kind 0 with the sample section; returns the file's bytes.
    fn write_cache(path: &Path, folders: usize, old: &OldCache) -> Option<Vec<u8>> {
        let mut w = CacheWriter::new(path.parent().unwrap());
        for f in 0..folders {
            let folder = format!("f{f}");
            let out = match old.section(0, folder.as_bytes(), None) {
                Some(s) => SectionOut::Same(s),
                None => SectionOut::New(section_bytes()),
            };
            w.push(old, 0, folder.as_bytes(), out, 5);
        }
        let tmp = w.finish(old, 77, 1_000_000_000_000, 2)?;
        tmp.persist(path).unwrap();
        Some(std::fs::read(path).unwrap())
    }

    fn readable(path: &Path, folders: usize) -> Vec<bool> {
        let old = OldCache::load(path, 77, 2);
        (0..folders)
            .map(|f| old.section(0, format!("f{f}").as_bytes(), None).is_some())
            .collect()
    }

    #[test]
    fn a_cache_file_round_trips_and_a_flipped_byte_costs_one_section_at_most() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let bytes = write_cache(&path, 3, &OldCache::default()).unwrap();
        assert_eq!(readable(&path, 3), [true; 3]);
        let old = OldCache::load(&path, 77, 2);
        assert!(
            write_cache(&path, 3, &old).is_none(),
            "unchanged: not rewritten"
        );
        assert_eq!(OldCache::load(&path, 78, 2).toc.len(), 0, "another key");
        let section_len = old.toc[0].len as usize;
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            let ok = readable(&path, 3);
            let lost = ok.iter().filter(|r| !**r).count();
            let in_section = (MAGIC.len()..MAGIC.len() + 3 * section_len).contains(&at);
            if in_section {
                assert_eq!(lost, 1, "flip at {at} costs its section only");
                assert!(!ok[(at - MAGIC.len()) / section_len]);
            } else {
                assert_eq!(lost, 3, "flip at {at} in the table of contents");
            }
        }
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(readable(&path, 3), [false; 3], "truncated");
    }

    #[test]
    fn a_section_is_trusted_only_while_its_folder_is_unchanged_and_settled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        write_cache(&path, 1, &OldCache::default()).unwrap();
        let old = OldCache::load(&path, 77, 2);
        let trusted = |sum, newest| {
            let print = Print { sum, newest };
            old.section(0, b"f0", Some(&print)).unwrap().trusted
        };
        assert!(trusted(5, 0), "the fingerprint it was written with");
        assert!(!trusted(6, 0), "anything in the folder changed");
        assert!(
            !trusted(5, 1_000_000_000_000 - 1),
            "stamped too close to the last scan"
        );
        assert!(
            !old.section(0, b"f0", None).unwrap().trusted,
            "no fingerprint"
        );
    }

    #[test]
    fn a_changed_folder_rewrites_the_rest_and_keeps_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        write_cache(&path, 3, &OldCache::default()).unwrap();
        let old = OldCache::load(&path, 77, 2);
        // A folder fewer: the first two are copied, the table shrinks.
        let fewer = write_cache(&path, 2, &old).unwrap();
        assert_eq!(readable(&path, 3), [true, true, false]);
        let old = OldCache::load(&path, 77, 2);
        let more = write_cache(&path, 4, &old).unwrap();
        assert!(more.len() > fewer.len());
        assert_eq!(readable(&path, 4), [true; 4]);
    }
}
