//! The patient index's payload, read in place, and its file: the per-file engine's format
//! (`file_cache/format.rs`) under [`MAGIC`], one section per shard folder.
//!
//! A search scores 100,000 patients straight from these bytes ([`DocRef`] borrows every string
//! it needs), and only the hits it shows are decoded into owned [`PatientSummary`]s. The file is
//! split by shard directory (`patients/7K/`), each section with its own checksum, so the stat
//! pass checks a section on the core that stats its files, and one corrupt section costs a
//! re-read of that shard only.
//!
//! ```text
//! payload:  id, active, birth date (days), names, phones, other IDs  (what scoring reads)
//!           name, sex, phone, status, family, external IDs          (what a listing shows)
//! ```

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::disk::codec::{Reader, Writer};
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
    use crate::derived::file_cache::format::{
        Layout, Section, assemble_as, parse_layout_of, write_entry,
    };
    use crate::derived::stamp::FileStamp;

    fn parse_layout(bytes: &[u8]) -> Option<Layout<'_>> {
        parse_layout_of(MAGIC, bytes)
    }

    fn assemble(scanned_at: i64, sections: &[Section]) -> Vec<u8> {
        assemble_as(MAGIC, scanned_at, sections)
    }

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
