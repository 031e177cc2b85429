//! The file format of every cache of the per-file engine, read in place: a header, then one
//! section per folder (a single section for a cache of one), each with its own checksum, so
//! one damaged section costs only its own records and a reader may check a section on the core
//! that stats its files.
//!
//! ```text
//! MAGIC (8 bytes, the cache's)  u32 header length  header  u64 checksum(header)  section…
//! header:   i64 scanned_at, u32 sections, per section: name, folder stamp, u32 entries,
//!           u32 section length, u64 checksum(section)
//! section:  per record file, sorted by name: name + NUL, stamp, u32 payload length, payload
//!           (an empty payload marks a file not kept: it is read every time)
//! ```
//!
//! Only the engine (`file_cache.rs`, `folders.rs`) reads and writes it; a cache declares its
//! magic and what a payload holds.

use std::ffi::CStr;
use std::ops::Range;

use crate::derived::stamp::FileStamp;
use crate::disk::codec::{Reader, Writer, checksum};

/// One section (a folder's, for a cache of many), as the header describes it.
pub struct Shard<'a> {
    pub name: &'a str,
    /// The directory's own stamp: while it holds, no file was added, removed or renamed.
    pub dir: FileStamp,
    pub(super) count: u32,
    pub(super) section: Range<usize>,
    pub(super) sum: u64,
}

/// A loaded cache file: when it was scanned and its sections, sorted by name.
pub struct Layout<'a> {
    pub scanned_at: i64,
    pub shards: Vec<Shard<'a>>,
}

/// One record file's entry, borrowed from the cache bytes (ranges are offsets into them).
pub struct Entry<'a> {
    pub name: &'a CStr,
    pub stamp: FileStamp,
    /// The whole entry, copied as is into a rewritten index.
    pub raw: Range<usize>,
    pub payload: Range<usize>,
}

/// Reads the header of a cache file of `magic`; None when the magic, the header checksum or
/// the lengths are wrong.
pub fn parse_layout_of<'a>(magic: &[u8; 8], bytes: &'a [u8]) -> Option<Layout<'a>> {
    parse_header_of(magic, bytes, bytes.len() as u64)
}

/// The magic and the header's length.
pub const HEAD_START: usize = 12;

/// How many bytes a file's start (magic, length, header, checksum) takes, told by its first
/// [`HEAD_START`] bytes; None when the magic is wrong.
pub fn header_size(magic: &[u8; 8], start: &[u8]) -> Option<usize> {
    let rest = start.strip_prefix(magic.as_slice())?;
    let header_len = Reader::new(rest).u32()? as usize;
    HEAD_START.checked_add(header_len)?.checked_add(8)
}

/// The header from the start of a file of `file_len` bytes, so a reader can load one section
/// at a time; the sections' ranges are offsets into the file. None as for [`parse_layout`].
pub fn parse_header_of<'a>(magic: &[u8; 8], bytes: &'a [u8], file_len: u64) -> Option<Layout<'a>> {
    let rest = bytes.strip_prefix(magic.as_slice())?;
    let mut r = Reader::new(rest);
    let header_len = r.u32()? as usize;
    let header = r.bytes(header_len)?;
    if r.u64()? != checksum(header) {
        return None;
    }
    let mut at = magic.len() + r.pos();
    let mut h = Reader::new(header);
    let scanned_at = h.i64()?;
    let count = h.u32()? as usize;
    let mut shards: Vec<Shard> = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let name = h.str()?;
        let dir = FileStamp::read(&mut h)?;
        let entries = h.u32()?;
        let len = h.u32()? as usize;
        let sum = h.u64()?;
        let end = at.checked_add(len)?;
        if shards.last().is_some_and(|s| s.name >= name) {
            return None; // sorted order is what the merge with the listing relies on
        }
        shards.push(Shard {
            name,
            dir,
            count: entries,
            section: at..end,
            sum,
        });
        at = end;
    }
    (h.at_end() && at as u64 == file_len).then_some(Layout { scanned_at, shards })
}

impl<'h> Shard<'h> {
    /// Where the section lies in the file.
    pub fn section(&self) -> Range<usize> {
        self.section.clone()
    }

    /// The same shard with its section at the start of a buffer that holds only it.
    pub fn relocated(&self) -> Shard<'h> {
        Shard {
            section: 0..self.section.len(),
            ..*self
        }
    }

    /// The section's entries, sorted by name; None when its checksum or structure is wrong.
    pub fn entries<'a>(&self, bytes: &'a [u8]) -> Option<Vec<Entry<'a>>> {
        let section = bytes.get(self.section.clone())?;
        if checksum(section) != self.sum {
            return None;
        }
        let base = self.section.start;
        let mut r = Reader::new(section);
        let mut out: Vec<Entry> = Vec::with_capacity(self.count as usize);
        for _ in 0..self.count {
            let start = base + r.pos();
            let name = read_cstr(&mut r)?;
            let stamp = FileStamp::read(&mut r)?;
            let len = r.u32()? as usize;
            let payload_start = base + r.pos();
            r.bytes(len)?;
            if out.last().is_some_and(|e| e.name >= name) {
                return None;
            }
            out.push(Entry {
                name,
                stamp,
                raw: start..base + r.pos(),
                payload: payload_start..payload_start + len,
            });
        }
        r.at_end().then_some(out)
    }
}

impl Entry<'_> {
    /// The payload, unless the file could not be read (or was not kept) when it was cached.
    pub fn payload_if_any(&self) -> Option<Range<usize>> {
        (!self.payload.is_empty()).then(|| self.payload.clone())
    }
}

fn read_cstr<'a>(r: &mut Reader<'a>) -> Option<&'a CStr> {
    let len = r.u32()? as usize;
    CStr::from_bytes_with_nul(r.bytes(len.checked_add(1)?)?).ok()
}

/// Appends one file's entry to a section.
pub fn write_entry(w: &mut Writer, name: &CStr, stamp: &FileStamp, payload: &[u8]) {
    let bytes = name.to_bytes_with_nul();
    w.u32((bytes.len() - 1) as u32);
    w.buf.extend_from_slice(bytes);
    stamp.write(w);
    w.u32(payload.len() as u32);
    w.buf.extend_from_slice(payload);
}

/// A section ready to be written: its name, folder stamp, entry count and bytes.
pub struct Section {
    pub name: String,
    pub dir: FileStamp,
    pub count: u32,
    pub bytes: Vec<u8>,
}

/// A whole cache file of `magic` from its sections (sorted by name).
pub fn assemble_as(magic: &[u8; 8], scanned_at: i64, sections: &[Section]) -> Vec<u8> {
    let mut h = Writer::with_capacity(16 + sections.len() * 48);
    h.i64(scanned_at);
    h.u32(sections.len() as u32);
    for s in sections {
        h.str(&s.name);
        s.dir.write(&mut h);
        h.u32(s.count);
        h.u32(s.bytes.len() as u32);
        h.u64(checksum(&s.bytes));
    }
    let total: usize = sections.iter().map(|s| s.bytes.len()).sum();
    let mut w = Writer::with_capacity(magic.len() + 12 + h.buf.len() + total);
    w.buf.extend_from_slice(magic);
    w.u32(h.buf.len() as u32);
    w.buf.extend_from_slice(&h.buf);
    w.u64(checksum(&h.buf));
    for s in sections {
        w.buf.extend_from_slice(&s.bytes);
    }
    w.buf
}
