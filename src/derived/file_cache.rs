//! The engine of the caches that keep one payload per record file.
//!
//! A cache declares, through [`PerFile`], what it keeps of one record file: how the file is
//! stamped and read (`stamp`, `extract`, whose errors keep their file:line), and how the
//! payload is written as bytes and read back (`encode`, `decode`). The engine alone owns the
//! rest:
//!
//! - the file format ([`format`]) under the cache's magic: one section whose header and body
//!   each carry a checksum; per record file, its name (as the declaration names it), its stamp
//!   and the payload (empty: not kept, read every time); the section's folder stamp, for a
//!   cache whose list of files comes from elsewhere;
//! - when a kept payload is used: the file's stamp now is the one kept, and lies before the
//!   racy window of the scan that kept it ([`FileStamp::still`], [`untrusted_from`]);
//! - recording, as a pass goes, which records were kept and which read afresh, and writing
//!   the cache file (whole, atomic, unsynced) only when something changed;
//! - a cache file missing, cut short, of another magic or failing a checksum reads as empty,
//!   so every record file is read and the cache is written again.
//!
//! The ledger caches (`ledger_cache.rs`: a whole patient shard for the statement run;
//! `patient_ledger_cache.rs`: a few patients for `report daily`) and the day-folder caches'
//! memory of a re-read day (`day_memory.rs`: each file's token, one cache file per day) are
//! declarations over it.
//!
//! A cache of MANY sections in one file, one per subfolder of a folder, whose records are the
//! files the subfolders list (the patient index: a section per patient shard), declares them
//! through [`folders::PerFolderFile`]; [`folders`] is the same engine over a folder of folders,
//! with the same pieces as a single section: the stamp rule ([`kept_still`]), a section's
//! records copied or written afresh ([`SectionWriter`]), and the file written whole
//! ([`write_file`]). It adds what a cache of 100,000 files needs: folders stat'ed in parallel,
//! a file that cannot be read kept as a warning, and a cheap answer when every stamp holds.
//! Its [`folders::WalkedFile`] is a file of many sections whose folders the caller finds
//! itself (the check cache: a section per day folder, a file per kind and year), each section
//! run through a [`Pass`] when the caller reaches its folder (`Pass::section`).

pub mod folders;
pub mod format;

use std::ffi::{CStr, CString};
use std::path::Path;

use self::format::{Entry, Section, assemble_as, parse_layout_of, write_entry};
use crate::derived::stamp::{FileStamp, untrusted_from};
use crate::disk::atomic;
use crate::disk::codec::Writer;
use crate::error::Result;

/// What a per-file cache keeps of one record file, and how.
pub trait PerFile {
    type Payload;
    /// The first eight bytes of the cache's files: another cache's file is not read as one.
    fn magic(&self) -> &'static [u8; 8];
    /// The record file's stamp now; None when it is gone or is not a regular file.
    fn stamp(&self, name: &CStr) -> Option<FileStamp>;
    /// Reads the record file; None when it is gone. Its errors name the file and line.
    fn extract(&self, name: &CStr) -> Result<Option<Self::Payload>>;
    /// The payload's bytes; None for one the encoding cannot hold exactly (it is then read
    /// from its file every time).
    fn encode(&self, name: &CStr, payload: &Self::Payload) -> Option<Vec<u8>>;
    /// The payload [`PerFile::encode`] made these bytes from, for the file `name`; None when
    /// they are not such bytes.
    fn decode(&self, name: &CStr, bytes: &[u8]) -> Option<Self::Payload>;
}

/// A cache file as loaded: the record files it holds, sorted by name, borrowed from its bytes.
#[derive(Default)]
pub struct Loaded<'a> {
    bytes: &'a [u8],
    /// Stamps at or after this moment are not trusted (the racy window of its scan).
    since: i64,
    /// The folder stamp it was written with, if any.
    folder: Option<FileStamp>,
    records: Vec<Entry<'a>>,
}

impl<'a> Loaded<'a> {
    /// The cache file's `bytes` (empty when there is none); anything wrong with them, from
    /// the magic to a checksum, gives an empty cache.
    pub fn parse(magic: &[u8; 8], bytes: &'a [u8]) -> Loaded<'a> {
        let Some(layout) = parse_layout_of(magic, bytes) else {
            return Loaded::default();
        };
        let [section] = layout.shards.as_slice() else {
            return Loaded::default();
        };
        match section.entries(bytes) {
            Some(records) => Loaded {
                bytes,
                since: untrusted_from(layout.scanned_at),
                folder: (section.dir != FileStamp::default()).then_some(section.dir),
                records,
            },
            None => Loaded::default(),
        }
    }

    /// The folder stamp it was written with is `now`'s, outside the racy window: what was
    /// listed from that folder still holds.
    pub fn folder_holds(&self, now: &FileStamp) -> bool {
        self.folder.is_some_and(|kept| kept.still(now, self.since))
    }

    /// The names of the record files it holds, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'a CStr> + '_ {
        self.records.iter().map(|r| r.name)
    }

    /// The stamp kept for the record file `name`, if it holds one. A declaration that knows by
    /// other means that the file is unchanged (`check`'s fingerprint of its folder) answers
    /// [`PerFile::stamp`] with it instead of a stat; the racy rule still applies to it.
    pub fn kept_stamp(&self, name: &CStr) -> Option<FileStamp> {
        let i = self.records.binary_search_by(|r| r.name.cmp(name)).ok()?;
        Some(self.records[i].stamp)
    }

    /// The position of the record of `name`, when its stamp is `now` and may be trusted.
    fn trusted(&self, name: &CStr, now: FileStamp) -> Option<usize> {
        let i = self.records.binary_search_by(|r| r.name.cmp(name)).ok()?;
        kept_still(&self.records[i], &now, self.since).then_some(i)
    }
}

/// The one rule by which every cache of this engine reuses a kept record: the record file's
/// stamp now is the kept one, outside the racy window that began at `since`, and a payload was
/// kept (an empty one marks a file that was not: it is read every time).
pub(crate) fn kept_still(kept: &Entry, now: &FileStamp, since: i64) -> bool {
    kept.stamp.still(now, since) && !kept.payload.is_empty()
}

/// A section of a cache file being made: records copied as they are from the old file's
/// bytes, or written afresh.
pub(crate) struct SectionWriter<'o> {
    old: &'o [u8],
    w: Writer,
    count: u32,
}

impl<'o> SectionWriter<'o> {
    pub(crate) fn new(old: &'o [u8], capacity: usize) -> SectionWriter<'o> {
        SectionWriter {
            old,
            w: Writer::with_capacity(capacity),
            count: 0,
        }
    }

    /// The old record, copied as it is.
    pub(crate) fn kept(&mut self, e: &Entry) {
        let raw = self.old.get(e.raw.clone()).unwrap_or_default();
        self.w.buf.extend_from_slice(raw);
        self.count += 1;
    }

    /// A record read now (an empty payload: not kept, read every time).
    pub(crate) fn fresh(&mut self, name: &CStr, stamp: &FileStamp, payload: &[u8]) {
        write_entry(&mut self.w, name, stamp, payload);
        self.count += 1;
    }

    /// The section, under the folder `name` and its stamp `dir`.
    pub(crate) fn finish(self, name: String, dir: FileStamp) -> Section {
        Section {
            name,
            dir,
            count: self.count,
            bytes: self.w.buf,
        }
    }
}

/// Writes a cache file whole (atomic, unsynced: a torn file fails its checksums and is
/// rebuilt), creating its folder.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        atomic::create_dirs(dir)?;
    }
    atomic::write_unsynced(path, bytes, atomic::Mode::Replace)
}

/// One record of the cache file being made.
enum Record {
    /// The old record at this position, copied as it is.
    Kept(usize),
    /// Read from its file now, with its stamp and encoded payload.
    Fresh(FileStamp, Vec<u8>),
    /// Looked for, but gone or not encodable: read again next time.
    Unread,
}

/// One pass of a cache over some record files: each payload from the cache or from its file,
/// and the records of the cache file that results.
pub struct Pass<'p, 'a, D: PerFile> {
    cache: &'p D,
    old: &'p Loaded<'a>,
    records: Vec<(CString, Record)>,
    /// Something was read from a file (or looked for and not found).
    fresh: bool,
}

impl<'p, 'a, D: PerFile> Pass<'p, 'a, D> {
    pub fn new(cache: &'p D, old: &'p Loaded<'a>) -> Pass<'p, 'a, D> {
        Pass {
            cache,
            old,
            records: Vec::new(),
            fresh: false,
        }
    }

    /// The payload of the record file `name`: the kept one when the file's stamp says it is
    /// unchanged, else read from the file (None when it is gone).
    pub fn get(&mut self, name: CString) -> Result<Option<D::Payload>> {
        let stamp = self.cache.stamp(&name);
        if let Some(i) = stamp.and_then(|now| self.old.trusted(&name, now)) {
            let kept = &self.old.records[i];
            let bytes = self.old.bytes.get(kept.payload.clone()).unwrap_or_default();
            if let Some(payload) = self.cache.decode(&name, bytes) {
                self.records.push((name, Record::Kept(i)));
                return Ok(Some(payload));
            }
        }
        self.fresh = true;
        let read = self.cache.extract(&name)?;
        let encoded = match (&read, stamp) {
            (Some(p), Some(st)) => self.cache.encode(&name, p).map(|b| (st, b)),
            _ => None,
        };
        let record = match encoded {
            Some((st, bytes)) if !bytes.is_empty() => Record::Fresh(st, bytes),
            _ => Record::Unread,
        };
        self.records.push((name, record));
        Ok(read)
    }

    /// Writes the cache file at `path` (folder stamp `folder`, scan begun at `scanned_at`)
    /// when it would differ from the one loaded. A failure to write it only costs speed next
    /// time, and is returned for the caller to drop.
    pub fn save(self, path: &Path, folder: Option<FileStamp>, scanned_at: i64) -> Result<()> {
        let magic = self.cache.magic();
        match self.section(String::new(), folder) {
            Some(section) => write_file(path, &assemble_as(magic, scanned_at, &[section])),
            None => Ok(()),
        }
    }

    /// The section the pass leaves, named `name` with the folder stamp `folder`, when it
    /// would differ from the one loaded; None when the loaded one stands as it is (a cache of
    /// many sections, `folders::WalkedFile`, keeps it then).
    pub(crate) fn section(mut self, name: String, folder: Option<FileStamp>) -> Option<Section> {
        let changed =
            self.fresh || self.records.len() != self.old.records.len() || folder != self.old.folder;
        if !changed {
            return None;
        }
        self.records.sort_by(|a, b| a.0.cmp(&b.0));
        self.records.dedup_by(|a, b| a.0 == b.0);
        let mut out = SectionWriter::new(self.old.bytes, self.records.len() * 256);
        for (name, record) in &self.records {
            match record {
                Record::Kept(i) => out.kept(&self.old.records[*i]),
                Record::Fresh(stamp, payload) => out.fresh(name, stamp, payload),
                Record::Unread => out.fresh(name, &FileStamp::default(), &[]),
            }
        }
        Some(out.finish(name, folder.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::collections::BTreeMap;
    use std::fs;

    use super::*;
    use crate::derived::stamp::{SETTLE_NS, now_ns};

    const MAGIC: &[u8; 8] = b"FDTST001";

    /// A cache of each file's text in upper case, over a map standing for the folder.
    struct Upper {
        files: BTreeMap<CString, (FileStamp, String)>,
        reads: Cell<usize>,
    }

    impl PerFile for Upper {
        type Payload = String;
        fn magic(&self) -> &'static [u8; 8] {
            MAGIC
        }
        fn stamp(&self, name: &CStr) -> Option<FileStamp> {
            self.files.get(name).map(|f| f.0)
        }
        fn extract(&self, name: &CStr) -> Result<Option<String>> {
            self.reads.set(self.reads.get() + 1);
            Ok(self.files.get(name).map(|f| f.1.to_uppercase()))
        }
        fn encode(&self, _: &CStr, p: &String) -> Option<Vec<u8>> {
            (!p.contains('!')).then(|| p.as_bytes().to_vec())
        }
        fn decode(&self, _: &CStr, bytes: &[u8]) -> Option<String> {
            String::from_utf8(bytes.to_vec()).ok()
        }
    }

    /// The cache over files of these names and texts, each stamped at 1,000 ns.
    fn upper(files: &[(&str, &str)]) -> Upper {
        Upper {
            files: files
                .iter()
                .map(|(n, text)| (name(n), (stamp(1_000), text.to_string())))
                .collect(),
            reads: Cell::new(0),
        }
    }

    fn stamp(n: i64) -> FileStamp {
        FileStamp {
            size: 10,
            mtime: n,
            ctime: n,
        }
    }

    fn name(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    /// Every file's payload through the cache at `path`, and how many files were read.
    fn run(
        cache: &Upper,
        path: &Path,
        names: &[&str],
        scanned_at: i64,
    ) -> (Vec<Option<String>>, usize) {
        cache.reads.set(0);
        let bytes = fs::read(path).unwrap_or_default();
        let old = Loaded::parse(MAGIC, &bytes);
        let mut pass = Pass::new(cache, &old);
        let got = names.iter().map(|n| pass.get(name(n)).unwrap()).collect();
        pass.save(path, Some(stamp(7)), scanned_at).unwrap();
        (got, cache.reads.get())
    }

    #[test]
    fn a_payload_is_kept_while_its_stamp_holds_and_read_again_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("c.bin");
        let mut cache = upper(&[("a", "ann"), ("b", "bob"), ("c", "hey!")]);
        let all = ["a", "b", "c", "gone"];
        let later = 1_000 + SETTLE_NS + 1;
        let want = vec![
            Some("ANN".to_string()),
            Some("BOB".into()),
            Some("HEY!".into()),
            None,
        ];
        assert_eq!(run(&cache, &path, &all, later), (want.clone(), 4));
        // The unencodable one and the gone one are looked at again; the rest are kept.
        let first = fs::read(&path).unwrap();
        assert_eq!(run(&cache, &path, &all, later), (want.clone(), 2));
        let old = Loaded::parse(MAGIC, &first);
        assert!(old.folder_holds(&stamp(7)));
        assert_eq!(old.names().count(), 4);
        // Each field of a stamp changed is seen.
        for changed in stamp(1_000).each_field_changed() {
            cache.files.get_mut(c"a").unwrap().0 = changed;
            cache.files.get_mut(c"a").unwrap().1 = "amy".into();
            let (got, reads) = run(&cache, &path, &all, later);
            assert_eq!((got[0].as_deref(), reads), (Some("AMY"), 3), "{changed:?}");
            cache.files.get_mut(c"a").unwrap().0 = stamp(1_000);
            run(&cache, &path, &all, later);
        }
        // Within the racy window of the scan that kept it, even an unchanged stamp is not
        // trusted: the file is read each time.
        let racy = 1_000 + SETTLE_NS - 1;
        run(&cache, &path, &all, racy);
        assert_eq!(run(&cache, &path, &all, racy).1, 4);
        // So is a folder stamp.
        let empty = Loaded::default();
        Pass::new(&cache, &empty)
            .save(&path, Some(stamp(racy)), racy + 1)
            .unwrap();
        let bytes = fs::read(&path).unwrap();
        let racy_folder = Loaded::parse(MAGIC, &bytes);
        assert!(!racy_folder.folder_holds(&stamp(racy)));
        assert!(!racy_folder.folder_holds(&stamp(7)), "another stamp");
    }

    #[test]
    fn a_cache_file_damaged_in_any_way_reads_as_empty_and_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        let cache = upper(&[("a", "ann"), ("b", "bob")]);
        let later = now_ns();
        let (want, _) = run(&cache, &path, &["a", "b"], later);
        let good = fs::read(&path).unwrap();
        assert_eq!(run(&cache, &path, &["a", "b"], later), (want.clone(), 0));
        let mut damaged: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x41;
            damaged.push(bad);
        }
        let mut other = good.clone();
        other[..8].copy_from_slice(crate::derived::index_file::MAGIC);
        damaged.push(other);
        for bad in damaged {
            assert!(Loaded::parse(MAGIC, &bad).names().next().is_none());
            fs::write(&path, &bad).unwrap();
            assert_eq!(run(&cache, &path, &["a", "b"], later), (want.clone(), 2));
            assert_eq!(fs::read(&path).unwrap(), good, "written again");
        }
    }

    #[test]
    fn an_unchanged_cache_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        let mut cache = upper(&[("a", "ann")]);
        let later = now_ns();
        run(&cache, &path, &["a"], later);
        let before = fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        run(&cache, &path, &["a"], later);
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), before);
        // A file added to those it is asked about, or one left out, changes it.
        cache.files.insert(name("b"), (stamp(1_000), "bob".into()));
        run(&cache, &path, &["a", "b"], later);
        let old = fs::read(&path).unwrap();
        assert_eq!(Loaded::parse(MAGIC, &old).names().count(), 2);
        run(&cache, &path, &["b"], later);
        let now = fs::read(&path).unwrap();
        assert_eq!(Loaded::parse(MAGIC, &now).names().count(), 1);
    }
}
