//! The patient index's file layout, read in place: the layout of every cache of the per-file
//! engine (`file_cache.rs`, which alone reads and writes it, under each cache's magic), and
//! the patient index's payload.
//!
//! A search scores 100,000 patients straight from these bytes ([`DocRef`] borrows every string
//! it needs), and only the hits it shows are decoded into owned [`PatientSummary`]s. The file is
//! split by shard directory (`patients/7K/`), each section with its own checksum, so the stat
//! pass checks a section on the core that stats its files, and one corrupt section costs a
//! re-read of that shard only.
//!
//! ```text
//! "FDPIX005"  u32 header length  header  u64 checksum(header)  section…
//! header:   i64 scanned_at, u32 shards, per shard: name, dir stamp, u32 entries,
//!           u32 section length, u64 checksum(section)
//! section:  per file, sorted by name: name + NUL, stamp, u32 payload length, payload
//!           (an empty payload marks a file that could not be read: it is re-read every time)
//! payload:  id, active, birth date (days), names, phones, other IDs  (what scoring reads)
//!           name, sex, phone, status, family, external IDs          (what a listing shows)
//! ```

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::ops::Range;

use chrono::{Datelike, NaiveDate};

use crate::derived::stamp::FileStamp;
use crate::disk::codec::{Reader, Writer, checksum};
use serde::{Deserialize, Serialize};

use crate::domain::patient::Patient;
use crate::domain::search::{SearchDoc, Searchable, fold};

/// What listings and search need about one patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientSummary {
    pub id: String,
    pub name: String,
    pub birth_date: String,
    pub sex: String,
    pub phone: Option<String>,
    pub status: String,
    /// Folded family name: the duplicate guard's key with the birth date.
    pub family: String,
    pub search: SearchDoc,
    /// Identifiers in other systems, so an import can tell a row it already imported.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external_ids: BTreeMap<String, String>,
}

impl PatientSummary {
    pub fn from_patient(p: &Patient) -> PatientSummary {
        PatientSummary {
            id: p.id.to_string(),
            name: p.list_name(),
            birth_date: p.birth_date.to_string(),
            sex: p.sex.as_str().to_string(),
            phone: p.primary_phone().map(|ph| ph.number.clone()),
            status: format!("{:?}", p.status).to_lowercase(),
            family: fold(&p.family),
            search: SearchDoc::from_patient(p),
            external_ids: p.external_ids.clone(),
        }
    }
}

pub const MAGIC: &[u8; 8] = b"FDPIX005";

/// One shard directory's section, as the header describes it.
pub struct Shard<'a> {
    pub name: &'a str,
    /// The directory's own stamp: while it holds, no file was added, removed or renamed.
    pub dir: FileStamp,
    count: u32,
    section: Range<usize>,
    sum: u64,
}

/// A loaded index file: when it was scanned and its shards, sorted by name.
pub struct Layout<'a> {
    pub scanned_at: i64,
    pub shards: Vec<Shard<'a>>,
}

/// One file's entry, borrowed from the index bytes (ranges are offsets into them).
pub struct Entry<'a> {
    pub name: &'a CStr,
    pub stamp: FileStamp,
    /// The whole entry, copied as is into a rewritten index.
    pub raw: Range<usize>,
    pub payload: Range<usize>,
}

/// Reads the header; None when the magic, the header checksum or the lengths are wrong.
pub fn parse_layout(bytes: &[u8]) -> Option<Layout<'_>> {
    parse_layout_of(MAGIC, bytes)
}

/// [`parse_layout`] of a file in the same layout under another magic (the ledger cache's).
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
    /// The payload, unless the file could not be read when it was indexed.
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

/// A shard's section ready to be written: its name, directory stamp, entry count and bytes.
pub struct Section {
    pub name: String,
    pub dir: FileStamp,
    pub count: u32,
    pub bytes: Vec<u8>,
}

/// The whole file from its sections (sorted by name).
pub fn assemble(scanned_at: i64, sections: &[Section]) -> Vec<u8> {
    assemble_as(MAGIC, scanned_at, sections)
}

/// [`assemble`] under another magic (the ledger cache's).
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

/// One patient's payload: the search fields first, so scoring stops reading early.
pub fn encode_payload(s: &PatientSummary) -> Vec<u8> {
    let mut w = Writer::with_capacity(256);
    let d = &s.search;
    w.str(&d.id);
    w.u8(u8::from(d.active));
    w.i32(d.birth_date.num_days_from_ce());
    w.strs(&d.names);
    w.strs(&d.phones);
    w.strs(&d.other_ids);
    w.str(&s.name);
    w.str(&s.sex);
    w.opt_str(s.phone.as_deref());
    w.str(&s.status);
    w.str(&s.family);
    w.u32(s.external_ids.len() as u32);
    for (k, v) in &s.external_ids {
        w.str(k);
        w.str(v);
    }
    w.buf
}

/// A list of strings inside a payload. Its lengths are checked when the payload is parsed,
/// its UTF-8 when it is read (once per search: a string that is not UTF-8, which the section
/// checksum rules out, ends the list).
#[derive(Debug, Clone, Copy)]
pub struct StrList<'a> {
    bytes: &'a [u8],
}

impl<'a> StrList<'a> {
    fn read(r: &mut Reader<'a>, payload: &'a [u8]) -> Option<StrList<'a>> {
        let start = r.pos();
        let n = r.u8()?;
        for _ in 0..n {
            r.skip_str()?;
        }
        Some(StrList {
            bytes: payload.get(start..r.pos())?,
        })
    }

    pub fn iter(self) -> impl Iterator<Item = &'a str> {
        // One UTF-8 check for the whole list, then each string is a slice of it: search reads
        // every name of 100,000 patients, and checking each on its own cost more than the
        // comparing. The count and length bytes are ASCII while strings are under 128 bytes;
        // a list that is not UTF-8 as a whole is checked string by string.
        let whole = std::str::from_utf8(self.bytes).ok();
        let mut r = Reader::new(self.bytes);
        let n = r.u8().unwrap_or(0);
        (0..n).map_while(move |_| match whole {
            Some(text) => text.get(r.skip_str()?),
            None => r.str(),
        })
    }

    fn to_vec(self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

/// The display fields of a patient, borrowed from the index bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Listing<'a> {
    pub name: &'a str,
    pub sex: &'a str,
    pub phone: Option<&'a str>,
    pub status: &'a str,
}

/// A patient as search sees it, borrowed from the index bytes: no allocation per patient.
#[derive(Debug, Clone, Copy)]
pub struct DocRef<'a> {
    id: &'a str,
    active: bool,
    birth_date: NaiveDate,
    names: StrList<'a>,
    phones: StrList<'a>,
    other_ids: StrList<'a>,
    /// The display fields, decoded only for the hits a command shows.
    rest: &'a [u8],
}

impl<'a> DocRef<'a> {
    pub fn parse(payload: &'a [u8]) -> Option<DocRef<'a>> {
        let mut r = Reader::new(payload);
        let id = r.str()?;
        let active = match r.u8()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let birth_date = NaiveDate::from_num_days_from_ce_opt(r.i32()?)?;
        let names = StrList::read(&mut r, payload)?;
        let phones = StrList::read(&mut r, payload)?;
        let other_ids = StrList::read(&mut r, payload)?;
        Some(DocRef {
            id,
            active,
            birth_date,
            names,
            phones,
            other_ids,
            rest: payload.get(r.pos()..)?,
        })
    }

    /// The patient ID, borrowed for as long as the index bytes.
    pub fn patient_id(&self) -> &'a str {
        self.id
    }

    /// What a listing shows; None only if the payload is malformed.
    pub fn listing(&self) -> Option<Listing<'a>> {
        self.display().map(|(shown, _)| shown)
    }

    /// The display fields, and a reader at what follows them (family, external IDs).
    fn display(&self) -> Option<(Listing<'a>, Reader<'a>)> {
        let mut r = Reader::new(self.rest);
        let name = r.str()?;
        let sex = r.str()?;
        let phone = match r.u8()? {
            0 => None,
            1 => Some(r.str()?),
            _ => return None,
        };
        let status = r.str()?;
        let shown = Listing {
            name,
            sex,
            phone,
            status,
        };
        Some((shown, r))
    }

    /// The patient's identifier in another system (an import's identity column).
    pub fn external_id(&self, system: &str) -> Option<&'a str> {
        let (_, mut r) = self.display()?;
        r.str()?; // family
        for _ in 0..r.u32()? {
            let (k, v) = (r.str()?, r.str()?);
            if k == system {
                return Some(v);
            }
        }
        None
    }

    /// The folded family name: the duplicate guard's key with the birth date.
    pub fn family(&self) -> Option<&'a str> {
        let (_, mut r) = self.display()?;
        r.str()
    }

    /// The owned summary a listing shows; None only if the payload is malformed.
    pub fn summary(&self) -> Option<PatientSummary> {
        let mut r = Reader::new(self.rest);
        let name = r.string()?;
        let sex = r.string()?;
        let phone = r.opt_string()?;
        let status = r.string()?;
        let family = r.string()?;
        let pairs = r.u32()?;
        let external_ids = (0..pairs)
            .map(|_| Some((r.string()?, r.string()?)))
            .collect::<Option<BTreeMap<_, _>>>()?;
        if !r.at_end() {
            return None;
        }
        Some(PatientSummary {
            id: self.id.to_string(),
            name,
            birth_date: self.birth_date.to_string(),
            sex,
            phone,
            status,
            family,
            search: SearchDoc {
                id: self.id.to_string(),
                names: self.names.to_vec(),
                birth_date: self.birth_date,
                phones: self.phones.to_vec(),
                other_ids: self.other_ids.to_vec(),
                active: self.active,
            },
            external_ids,
        })
    }
}

impl Searchable for DocRef<'_> {
    fn id(&self) -> &str {
        self.id
    }
    fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter()
    }
    fn phones(&self) -> impl Iterator<Item = &str> {
        self.phones.iter()
    }
    fn other_ids(&self) -> impl Iterator<Item = &str> {
        self.other_ids.iter()
    }
    fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }
    fn active(&self) -> bool {
        self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(n: u32) -> PatientSummary {
        let mut external_ids = BTreeMap::new();
        external_ids.insert("emr".to_string(), format!("E{n}"));
        PatientSummary {
            id: format!("P0000000{n}"),
            name: "O'Brien, Zoë".into(),
            birth_date: "1980-04-02".into(),
            sex: "F".into(),
            phone: n.is_multiple_of(2).then(|| "+16175550101".into()),
            status: if n.is_multiple_of(3) {
                "inactive"
            } else {
                "active"
            }
            .into(),
            family: "obrien".into(),
            search: SearchDoc {
                id: format!("P0000000{n}"),
                names: vec!["zoe".into(), "obrien".into()],
                birth_date: NaiveDate::from_ymd_opt(1980, 4, 2).unwrap(),
                phones: vec!["6175550101".into(), "16175550101".into()],
                other_ids: vec![format!("e{n}")],
                active: !n.is_multiple_of(3),
            },
            external_ids,
        }
    }

    fn file(summaries: &[PatientSummary]) -> Vec<u8> {
        let mut w = Writer::default();
        let names: Vec<std::ffi::CString> = (0..summaries.len())
            .map(|i| std::ffi::CString::new(format!("P{i}.toml")).unwrap())
            .collect();
        for (s, name) in summaries.iter().zip(&names) {
            let stamp = FileStamp {
                size: 100,
                mtime: 5,
                ctime: 6,
            };
            write_entry(&mut w, name, &stamp, &encode_payload(s));
        }
        let section = Section {
            name: "00".into(),
            dir: FileStamp::default(),
            count: summaries.len() as u32,
            bytes: w.buf,
        };
        assemble(42, &[section])
    }

    #[test]
    fn a_payload_reads_back_as_the_summary_it_was_made_from() {
        let all: Vec<PatientSummary> = (0..6).map(summary).collect();
        let bytes = file(&all);
        let layout = parse_layout(&bytes).unwrap();
        assert_eq!(layout.scanned_at, 42);
        let entries = layout.shards[0].entries(&bytes).unwrap();
        for (e, want) in entries.iter().zip(&all) {
            let doc = DocRef::parse(&bytes[e.payload.clone()]).unwrap();
            assert_eq!(doc.summary().as_ref(), Some(want));
            assert_eq!(doc.names().collect::<Vec<_>>(), want.search.names);
            assert_eq!(doc.active(), want.search.active);
            assert_eq!(doc.family(), Some(want.family.as_str()));
            let shown = doc.listing().unwrap();
            assert_eq!(doc.patient_id(), want.id);
            assert_eq!(
                (shown.name, shown.sex, shown.phone, shown.status),
                (
                    want.name.as_str(),
                    want.sex.as_str(),
                    want.phone.as_deref(),
                    want.status.as_str()
                )
            );
            assert_eq!(
                doc.external_id("emr"),
                want.external_ids.get("emr").map(|v| v.as_str())
            );
            assert_eq!(doc.external_id("mrn"), None);
        }
    }

    #[test]
    fn names_read_back_whatever_their_length_bytes_look_like() {
        // The list is checked as UTF-8 whole, its length bytes included: 200 makes a byte that
        // is not UTF-8 (each name is then checked alone), 0xA9C3 the bytes of "é" (the whole
        // list is UTF-8 and each name a slice of it). Both must give the names back as written.
        for long in [200, 0xA9C3] {
            let names = vec![
                "zoë".to_string(),
                "x".repeat(long),
                "李".to_string(),
                String::new(),
            ];
            let mut w = Writer::default();
            w.strs(&names);
            let mut r = Reader::new(&w.buf);
            let list = StrList::read(&mut r, &w.buf).unwrap();
            assert!(r.at_end());
            let whole_is_utf8 = std::str::from_utf8(&w.buf).is_ok();
            assert_eq!(whole_is_utf8, long == 0xA9C3);
            assert_eq!(list.iter().collect::<Vec<_>>(), names);
        }
    }

    #[test]
    fn any_flipped_byte_is_caught_by_a_checksum() {
        let bytes = file(&[summary(1), summary(2)]);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            let ok = parse_layout(&bad).and_then(|l| l.shards.first()?.entries(&bad));
            assert!(ok.is_none(), "flip at {i}");
        }
        assert!(parse_layout(&bytes[..bytes.len() - 1]).is_none());
    }
}
