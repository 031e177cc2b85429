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
//! corrupt or truncated cache (a checksum per kind section) is rebuilt from the files.
//!
//! ```text
//! "FDCHK001"  u32 header length  header  u64 checksum(header)  section…
//! header:   u64 key, i64 scanned_at, u32 sections, per section: u32 length, u64 checksum
//! section:  per file, sorted by path bytes: path, stamp, u32 payload length, payload
//! payload:  0 facts (id, keys, refs, booking, misplaced problem) | 1 problem
//! ```

use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;

use crate::domain::check::{Booking, Facts, Fix, Problem, Target};
use crate::domain::id::Id;
use crate::store::check::Inspected;
use crate::store::codec::{Reader, Writer, checksum};

const MAGIC: &[u8; 8] = b"FDCHK001";
pub const FILE: &str = "check.bin";

/// How long after a change a file counts as racy (see `index.rs`).
const SETTLE_NS: i64 = 2_000_000_000;

/// What the stat pass compares. The change time also moves when an edit puts the old
/// modification time back; the inode, when a file is replaced by another of the same stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    pub size: u64,
    pub mtime: i64,
    pub ctime: i64,
    pub ino: u64,
}

impl Stamp {
    fn is_racy(&self, since: i64) -> bool {
        self.mtime >= since || self.ctime >= since
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

/// One entry of the cache read from disk: where it lies in its bytes (kept small: a tree holds
/// hundreds of thousands of them). The path starts 4 bytes in, the stamp follows the path.
struct Old {
    start: u32,
    end: u32,
    path_len: u32,
}

impl Old {
    fn path<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        let at = self.start as usize + 4;
        &bytes[at..at + self.path_len as usize]
    }
    fn stamp(&self, bytes: &[u8]) -> Option<Stamp> {
        let at = self.start as usize + 4 + self.path_len as usize;
        let mut r = Reader::new(bytes.get(at..at + 32)?);
        Some(Stamp {
            size: r.u64()?,
            mtime: r.i64()?,
            ctime: r.i64()?,
            ino: r.u64()?,
        })
    }
    /// The payload starts after the path, the stamp and its u32 length.
    fn payload<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        let at = self.start as usize + 4 + self.path_len as usize + 32 + 4;
        &bytes[at..self.end as usize]
    }
    fn raw<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[self.start as usize..self.end as usize]
    }
}

/// The cache as the last `check` left it.
#[derive(Default)]
pub struct OldCache {
    bytes: Vec<u8>,
    since: i64,
    /// Per kind (in `KINDS` order), sorted by path bytes; empty for a corrupt section.
    sections: Vec<Vec<Old>>,
}

impl OldCache {
    /// Reads the cache; an empty one when it is missing, corrupt or made for another key.
    pub fn load(path: &Path, key: u64, kinds: usize) -> OldCache {
        let small = std::fs::metadata(path).is_ok_and(|m| m.len() <= MAX_BYTES as u64);
        let bytes = small
            .then(|| std::fs::read(path).ok())
            .flatten()
            .unwrap_or_default();
        let Some((since, ranges)) = parse_header(&bytes, key, kinds) else {
            return OldCache::default();
        };
        let sections = ranges
            .par_iter()
            .map(|(range, sum)| parse_section(&bytes, range.clone(), *sum).unwrap_or_default())
            .collect();
        OldCache {
            bytes,
            since,
            sections,
        }
    }

    /// The entry of `rel` when its stamp still holds: its index, for [`lookup_payload`].
    pub fn lookup(&self, kind: usize, rel: &str, stamp: &Stamp) -> Option<usize> {
        let section = self.sections.get(kind)?;
        let i = section
            .binary_search_by(|e| e.path(&self.bytes).cmp(rel.as_bytes()))
            .ok()?;
        let e = &section[i];
        (e.stamp(&self.bytes) == Some(*stamp) && !stamp.is_racy(self.since)).then_some(i)
    }

    pub fn payload(&self, kind: usize, i: usize) -> &[u8] {
        self.sections[kind][i].payload(&self.bytes)
    }

    fn raw(&self, kind: usize, i: usize) -> &[u8] {
        self.sections[kind][i].raw(&self.bytes)
    }

    fn len(&self, kind: usize) -> usize {
        self.sections.get(kind).map_or(0, Vec::len)
    }
}

/// Where each section lies in the file, with its checksum.
type Sections = Vec<(Range<usize>, u64)>;

/// The racy limit and the sections, when the magic, header checksum, key and lengths hold.
fn parse_header(bytes: &[u8], key: u64, kinds: usize) -> Option<(i64, Sections)> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let mut r = Reader::new(rest);
    let header_len = r.u32()? as usize;
    let header = r.bytes(header_len)?;
    if r.u64()? != checksum(header) {
        return None;
    }
    let mut at = MAGIC.len() + r.pos();
    let mut h = Reader::new(header);
    if h.u64()? != key {
        return None;
    }
    let since = h.i64()?.saturating_sub(SETTLE_NS);
    let count = h.u32()? as usize;
    if count != kinds {
        return None;
    }
    let mut ranges = Vec::with_capacity(count);
    for _ in 0..count {
        let len = h.u32()? as usize;
        let sum = h.u64()?;
        let end = at.checked_add(len)?;
        ranges.push((at..end, sum));
        at = end;
    }
    (h.at_end() && at == bytes.len()).then_some((since, ranges))
}

fn parse_section(bytes: &[u8], range: Range<usize>, sum: u64) -> Option<Vec<Old>> {
    let section = bytes.get(range.clone())?;
    if checksum(section) != sum || u32::try_from(range.end).is_err() {
        return None;
    }
    let base = range.start;
    let mut r = Reader::new(section);
    let mut out: Vec<Old> = Vec::new();
    while !r.at_end() {
        let start = base + r.pos();
        let path_len = r.u32()?;
        r.bytes(path_len as usize)?;
        r.bytes(32)?; // the stamp
        let len = r.u32()? as usize;
        r.bytes(len)?;
        let entry = Old {
            start: start as u32,
            end: (base + r.pos()) as u32,
            path_len,
        };
        if out
            .last()
            .is_some_and(|o| o.path(bytes) >= entry.path(bytes))
        {
            return None; // lookups rely on the order
        }
        out.push(entry);
    }
    Some(out)
}

/// One file's entry as it is written: path, stamp, payload.
pub fn entry(path: &str, stamp: &Stamp, payload: &[u8]) -> Box<[u8]> {
    let mut w = Writer::with_capacity(4 + path.len() + 36 + payload.len());
    w.u32(path.len() as u32);
    w.buf.extend_from_slice(path.as_bytes());
    w.u64(stamp.size);
    w.i64(stamp.mtime);
    w.i64(stamp.ctime);
    w.u64(stamp.ino);
    w.u32(payload.len() as u32);
    w.buf.extend_from_slice(payload);
    w.buf.into_boxed_slice()
}

/// The path of an entry made by [`entry`].
fn entry_path(raw: &[u8]) -> &[u8] {
    let len = raw
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes) as usize;
    raw.get(4..4 + len).unwrap_or_default()
}

/// What one file contributes to the next cache.
pub enum Outcome {
    /// Its old entry, unchanged.
    Reused(usize),
    /// Inspected now: its whole entry (see [`entry`]).
    Fresh(Box<[u8]>),
    /// Not cacheable (no stamp, a path that is not UTF-8, a read error): inspected every time.
    Uncached,
}

/// The cache being rebuilt as `check` goes: what each kind's files gave.
pub struct NewCache {
    sections: Vec<Vec<Outcome>>,
    /// Bytes of fresh entries held so far.
    held: usize,
    /// The tree is too big for the cache: nothing is kept and nothing is saved.
    pub too_big: bool,
}

/// The largest cache kept (about 470,000 records): the cache is read whole, so past this a
/// warm `check` would hold more memory than the 200 MB every command keeps to. Bigger trees
/// are checked without it, streaming as before.
pub const MAX_BYTES: usize = 64 << 20;

impl NewCache {
    pub fn new(kinds: usize) -> NewCache {
        NewCache {
            sections: (0..kinds).map(|_| Vec::new()).collect(),
            held: 0,
            too_big: false,
        }
    }

    pub fn push(&mut self, kind: usize, outcome: Outcome) {
        if self.too_big {
            return;
        }
        self.held += match &outcome {
            Outcome::Fresh(raw) => raw.len(),
            _ => 0,
        };
        if self.held > MAX_BYTES {
            self.too_big = true;
            self.sections = Vec::new();
            return;
        }
        self.sections[kind].push(outcome);
    }

    /// True when the cache on disk no longer says exactly this: something was inspected anew,
    /// or an old entry's file is gone.
    pub fn differs(&self, old: &OldCache) -> bool {
        self.sections.iter().enumerate().any(|(k, s)| {
            let reused = s.iter().filter(|o| matches!(o, Outcome::Reused(_))).count();
            reused != old.len(k) || s.iter().any(|o| matches!(o, Outcome::Fresh(..)))
        })
    }

    /// The new cache file's bytes, built in place: each kind's entries sorted by path.
    pub fn assemble(&self, old: &OldCache, key: u64, scanned_at: i64) -> Vec<u8> {
        let pieces: Vec<Vec<&[u8]>> = self
            .sections
            .par_iter()
            .enumerate()
            .map(|(k, s)| sorted_entries(k, s, old))
            .collect();
        let header_len = 8 + 8 + 4 + 12 * pieces.len();
        let lens: Vec<usize> = pieces
            .iter()
            .map(|p| p.iter().map(|e| e.len()).sum())
            .collect();
        let body = MAGIC.len() + 4 + header_len + 8;
        let mut buf = Vec::with_capacity(body + lens.iter().sum::<usize>());
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&(header_len as u32).to_le_bytes());
        buf.resize(body, 0);
        for entries in &pieces {
            for e in entries {
                buf.extend_from_slice(e);
            }
        }
        drop(pieces);
        let mut h = Writer::with_capacity(header_len);
        h.u64(key);
        h.i64(scanned_at);
        h.u32(lens.len() as u32);
        let mut at = body;
        for len in lens {
            h.u32(len as u32);
            h.u64(checksum(&buf[at..at + len]));
            at += len;
        }
        let sum = checksum(&h.buf);
        let header_at = MAGIC.len() + 4;
        buf[header_at..header_at + header_len].copy_from_slice(&h.buf);
        buf[header_at + header_len..body].copy_from_slice(&sum.to_le_bytes());
        buf
    }
}

/// A kind's entries, reused and fresh, sorted by path (one per path).
fn sorted_entries<'a>(kind: usize, outcomes: &'a [Outcome], old: &'a OldCache) -> Vec<&'a [u8]> {
    let mut entries: Vec<&[u8]> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Reused(i) => Some(old.raw(kind, *i)),
            Outcome::Fresh(raw) => Some(&raw[..]),
            Outcome::Uncached => None,
        })
        .collect();
    entries.sort_by(|a, b| entry_path(a).cmp(entry_path(b)));
    entries.dedup_by(|a, b| entry_path(a) == entry_path(b));
    entries
}

// ---- fingerprints, for remembering git's answer (see `clean_note.rs`) ----

/// A fingerprint of a set of files' stat data: the sum of one hash per file, so it can be
/// gathered on all cores in any order, and the newest time seen (for the racy rule).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Print {
    pub sum: u64,
    pub newest: i64,
}

impl Print {
    /// Adds one file: its path and everything `lstat` says that an edit, a chmod, a
    /// replacement or a rename would move.
    pub fn add(&mut self, path: &[u8], meta: &std::fs::Metadata) {
        use crate::store::clean_note::{contribution, ns};
        self.sum = self.sum.wrapping_add(contribution(path, meta));
        let (mtime, ctime) = (
            ns(meta.mtime(), meta.mtime_nsec()),
            ns(meta.ctime(), meta.ctime_nsec()),
        );
        self.newest = self.newest.max(mtime).max(ctime);
    }

    pub fn join(mut self, other: Print) -> Print {
        self.sum = self.sum.wrapping_add(other.sum);
        self.newest = self.newest.max(other.newest);
        self
    }
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

/// Encodes what inspecting a file gave; None when it holds something the cache cannot say.
pub fn encode(result: &Inspected) -> Option<Vec<u8>> {
    let mut w = Writer::with_capacity(128);
    match result {
        Ok((facts, misplaced)) => {
            w.u8(0);
            w.opt_str(facts.id.as_ref().map(Id::as_str));
            w.u32(facts.keys.len() as u32);
            for (t, k) in &facts.keys {
                w.u8(target_code(*t));
                put_str(&mut w, k)?;
            }
            w.u32(facts.refs.len() as u32);
            for (field, t, k) in &facts.refs {
                w.u8(FIELDS.iter().position(|f| f == field)? as u8);
                w.u8(target_code(*t));
                put_str(&mut w, k)?;
            }
            match &facts.booking {
                Some(b) => {
                    w.u8(1);
                    put_str(&mut w, &b.provider)?;
                    put_time(&mut w, &b.start);
                    put_time(&mut w, &b.end);
                }
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

/// Decodes an entry for the file `rel`; None when it is malformed (then the file is read).
pub fn decode(rel: &Path, payload: &[u8]) -> Option<Inspected> {
    let mut r = Reader::new(payload);
    let out = match r.u8()? {
        0 => {
            let id = match r.opt_string()? {
                Some(s) => Some(Id::parse(&s).ok()?),
                None => None,
            };
            let keys = (0..r.u32()?)
                .map(|_| Some((*TARGETS.get(r.u8()? as usize)?, r.string()?)))
                .collect::<Option<Vec<_>>>()?;
            let refs = (0..r.u32()?)
                .map(|_| {
                    let field = *FIELDS.get(r.u8()? as usize)?;
                    Some((field, *TARGETS.get(r.u8()? as usize)?, r.string()?))
                })
                .collect::<Option<Vec<_>>>()?;
            let booking = match r.u8()? {
                0 => None,
                1 => Some(Booking {
                    provider: r.string()?,
                    start: get_time(&mut r)?,
                    end: get_time(&mut r)?,
                }),
                _ => return None,
            };
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

    fn sample() -> Vec<Inspected> {
        let rel = Path::new("appointments/2026/12/01/A7K3QX9M2.toml");
        let tz = FixedOffset::west_opt(5 * 3600).unwrap();
        let start = tz.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let facts = Facts {
            id: Some(Id::parse("A7K3QX9M2").unwrap()),
            keys: vec![(Target::Patient, "P7K3QX9M2".into())],
            expected: None,
            refs: FIELDS
                .iter()
                .zip(TARGETS.iter().cycle())
                .map(|(f, t)| (*f, *t, format!("k-{f}")))
                .collect(),
            booking: Some(Booking {
                provider: "okafor".into(),
                start,
                end: start + chrono::Duration::minutes(30),
            }),
        };
        let misplaced = Problem::new(rel, "the file name does not match", "move it");
        let broken = Problem::new(rel, "expected `=`", "fix the file by hand")
            .line(Some(7))
            .unreadable();
        let fixable = Problem::new(rel, "x", "y").fixable(Fix::Tighten);
        vec![
            Ok((facts.clone(), None)),
            Ok((facts, Some(misplaced))),
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
                    && pa == pb
            }
            (Err(a), Err(b)) => a == b && a.unreadable == b.unreadable,
            _ => false,
        }
    }

    #[test]
    fn every_result_reads_back_as_it_was() {
        let rel = Path::new("appointments/2026/12/01/A7K3QX9M2.toml");
        for want in sample() {
            let bytes = encode(&want).unwrap();
            let got = decode(rel, &bytes).unwrap();
            assert!(same(&got, &want), "{got:?} != {want:?}");
            for cut in 0..bytes.len() {
                assert!(decode(rel, &bytes[..cut]).is_none(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn a_tree_too_big_for_the_cache_keeps_nothing() {
        let mut new = NewCache::new(1);
        let big = vec![0u8; MAX_BYTES / 2 + 1].into_boxed_slice();
        new.push(0, Outcome::Fresh(big.clone()));
        assert!(!new.too_big);
        new.push(0, Outcome::Fresh(big));
        assert!(new.too_big && new.sections.is_empty());
        new.push(0, Outcome::Reused(0));
        assert!(new.sections.is_empty(), "nothing more is held");
    }

    #[test]
    fn an_unknown_field_is_not_cached() {
        let facts = Facts {
            refs: vec![("someday", Target::Room, "a".into())],
            ..Facts::default()
        };
        assert!(encode(&Ok((facts, None))).is_none());
    }

    #[test]
    fn a_cache_file_round_trips_and_any_flipped_byte_empties_a_section() {
        let stamp = Stamp {
            size: 10,
            mtime: 1,
            ctime: 2,
            ino: 3,
        };
        let mut new = NewCache::new(2);
        for (i, r) in sample().iter().enumerate() {
            let path = format!("x/{}.toml", 9 - i);
            let raw = entry(&path, &stamp, &encode(r).unwrap());
            new.push(i % 2, Outcome::Fresh(raw));
        }
        let empty = OldCache::default();
        assert!(new.differs(&empty));
        let bytes = new.assemble(&empty, 77, 1_000_000_000_000);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        std::fs::write(&path, &bytes).unwrap();
        let old = OldCache::load(&path, 77, 2);
        assert_eq!(old.len(0) + old.len(1), 5);
        let i = old.lookup(0, "x/9.toml", &stamp).unwrap();
        assert!(decode(Path::new("x/9.toml"), old.payload(0, i)).is_some());
        let touched = Stamp { ctime: 5, ..stamp };
        assert!(old.lookup(0, "x/9.toml", &touched).is_none());
        assert_eq!(OldCache::load(&path, 78, 2).len(0), 0, "another key");
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            let old = OldCache::load(&path, 77, 2);
            assert!(old.len(0) + old.len(1) < 5, "flip at {at}");
        }
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(OldCache::load(&path, 77, 2).len(0), 0, "truncated");
    }
}
