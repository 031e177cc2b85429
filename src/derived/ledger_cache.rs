//! Parsed ledger entries, kept per entry file through the per-file cache engine
//! (`file_cache.rs`), so commands that need many patients' ledgers do not open and parse every
//! entry file on every run. This file is the one declaration of "a parsed ledger entry"
//! ([`LedgerEntries`]: how an entry file is named, stamped, read and encoded), and its whole-shard
//! access pattern: `pay statement --all-due` and `report aging` read every patient's ledger,
//! shard by shard, from `.frontdesk/ledger-cache/XY.bin` (ignored by git), one cache file per
//! two-character patient shard, the shards of the ledger index's buckets
//! (`derived/ledger_index.rs`). The few-patients pattern of `report daily` is
//! `patient_ledger_cache.rs`.
//!
//! Nothing lives only in the cache: the engine checks every kept entry against its file's stamp
//! (size, modification and change time, by `statx` relative to the open day folder) under the
//! racy-timestamp rule, reads a changed, new or uncached file as before (errors keep their
//! file:line), rebuilds a cache file missing, cut short or failing a checksum, and rewrites one
//! only when something in it changed. Entries with fields this version does not know (kept in
//! `extra`) are not cached, so they are always read from their file.

use std::ffi::{CStr, CString, OsStr};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone};
use rust_decimal::Decimal;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode as FsMode, OFlags};

use crate::derived::file_cache::{Loaded, Pass, PerFile};
use crate::derived::ledger_index;
use crate::derived::stamp::{FileStamp, now_ns, stat_file};
use crate::disk::codec::{Reader, Writer};
use crate::disk::layout::{self, LEDGER_DIR};
use crate::disk::{STATE_DIR, Tree};
use crate::domain::id::Id;
use crate::domain::ledger::{
    AdjustmentKind, AppliesTo, BillTo, Entry, Kind, Method, ServiceLine, sort_entries,
};
use crate::error::Result;

const MAGIC: &[u8; 8] = b"FDLEC002";

fn cache_dir(store: &Tree) -> PathBuf {
    store.path(Path::new(STATE_DIR)).join("ledger-cache")
}

/// Every patient with ledger entries and their entries in ledger order, one shard at a time
/// on all cores (see [`ledger_index::map_buckets`]: results in patient ID order, the first
/// failing patient's error in that order). Entries whose file is unchanged since they were
/// cached are not read; the rest are read and checked as [`Store::read_entries`] does.
pub fn map_patient_ledgers<R, F>(store: &Tree, visit: F) -> Result<Vec<R>>
where
    R: Send,
    F: Fn(&Id, &[Entry]) -> Result<Option<R>> + Sync,
{
    let scan_start = now_ns();
    let ledger = LedgerEntries::open(store, MAGIC, true);
    let dir = cache_dir(store);
    ledger_index::map_buckets(store, |shard, bucket| {
        let path = dir.join(format!("{shard}.bin"));
        let bytes = fs::read(&path).unwrap_or_default();
        let old = Loaded::parse(MAGIC, &bytes);
        let mut pass = Pass::new(&ledger, &old);
        let mut out = Vec::new();
        for (patient, list) in bucket {
            let entries = patient_entries(&mut pass, &patient, &list)?;
            out.extend(visit(&patient, &entries)?);
        }
        // A failure to write the cache only costs speed next time.
        let _ = pass.save(&path, None, scan_start);
        Ok(out)
    })
}

/// Deletes the cache; the next statement run rebuilds it.
pub fn remove(store: &Tree) -> Result<()> {
    super::remove_folder(&cache_dir(store))
}

/// The patient's entries among those filed at `list`, in ledger order, through the cache;
/// files gone or no longer the patient's are skipped, as [`Store::read_entries`] does.
pub(crate) fn patient_entries(
    pass: &mut Pass<LedgerEntries>,
    patient: &Id,
    list: &[(NaiveDate, Id)],
) -> Result<Vec<Entry>> {
    let mut out = Vec::with_capacity(list.len());
    for (day, id) in list {
        if let Some(entry) = pass.get(entry_name(*day, id))?
            && &entry.patient == patient
        {
            out.push(entry);
        }
    }
    sort_entries(&mut out);
    Ok(out)
}

/// The declaration of a cache of parsed ledger entries: each file is named by its path below
/// `ledger/` (`2026/11/27/T….toml`), stamped relative to the open `ledger/` folder (or its
/// open day folder), read as [`Store::read_entry_if_present`] reads it, and kept in the
/// encoding below only when the entry is the one filed under that name.
pub(crate) struct LedgerEntries<'s> {
    store: &'s Tree,
    magic: &'static [u8; 8],
    dir: LedgerDir,
}

impl<'s> LedgerEntries<'s> {
    /// Over `store`'s ledger, for the cache files of `magic`; `with_days` keeps every day
    /// folder open, for a pass that stats most entries (a name in an open day folder is one
    /// lookup, where `2026/11/27/T….toml` from `ledger/` is four).
    pub(crate) fn open(store: &'s Tree, magic: &'static [u8; 8], with_days: bool) -> Self {
        LedgerEntries {
            store,
            magic,
            dir: LedgerDir::open(store, with_days),
        }
    }
}

impl PerFile for LedgerEntries<'_> {
    type Payload = Entry;

    fn magic(&self) -> &'static [u8; 8] {
        self.magic
    }

    fn stamp(&self, name: &CStr) -> Option<FileStamp> {
        self.dir.stamp(name)
    }

    fn extract(&self, name: &CStr) -> Result<Option<Entry>> {
        let rel = Path::new(LEDGER_DIR).join(OsStr::from_bytes(name.to_bytes()));
        self.store.read_entry_if_present(&rel)
    }

    fn encode(&self, name: &CStr, e: &Entry) -> Option<Vec<u8>> {
        (filed_at(name)? == (e.date, e.id.as_str())).then_some(())?;
        encode(e)
    }

    fn decode(&self, name: &CStr, bytes: &[u8]) -> Option<Entry> {
        let e = decode(bytes)?;
        // The bytes must be the entry filed there (a checksum collision aside, this holds).
        (filed_at(name)? == (e.date, e.id.as_str())).then_some(e)
    }
}

/// The open `ledger/` directory and, for a pass over most entries, its day folders, which
/// entry files are stat'ed relative to (a tenth of a statement run went to walking folders).
struct LedgerDir {
    path: PathBuf,
    fd: Option<OwnedFd>,
    /// Open day folders, by date (as many as the open-file limit leaves room for).
    days: Vec<(NaiveDate, PathBuf, OwnedFd)>,
}

/// Open files kept free for everything else a run opens (entries, patients, statements).
const SPARE_FILES: u64 = 512;

impl LedgerDir {
    fn open(store: &Tree, with_days: bool) -> LedgerDir {
        let path = store.path(Path::new(LEDGER_DIR));
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        // Without it every entry is simply read (and its error reported) as before.
        let fd = rustix::fs::open(&path, flags, FsMode::empty()).ok();
        let mut days = Vec::new();
        if let (Some(ledger), true) = (&fd, with_days) {
            let dates = store.ledger_days().unwrap_or_default();
            let room = room_for_open_files(dates.len() as u64);
            for date in dates.into_iter().take(room) {
                let rel = day_rel_name(date);
                if let Ok(day) = rustix::fs::openat(ledger, rel.as_str(), flags, FsMode::empty()) {
                    days.push((date, path.join(rel), day));
                }
            }
        }
        LedgerDir { path, fd, days }
    }

    /// The stamp of the entry file at `name` (its path below `ledger/`).
    fn stamp(&self, name: &CStr) -> Option<FileStamp> {
        let open_day =
            filed_at(name).and_then(|(day, _)| self.days.binary_search_by_key(&day, |d| d.0).ok());
        match open_day {
            Some(i) => {
                let (_, dir, fd) = &self.days[i];
                stat_file(fd, dir, file_name(name)?)
            }
            None => stat_file(self.fd.as_ref()?, &self.path, name),
        }
    }
}

/// How many more files this process may keep open, raising its soft limit towards the hard
/// one when `wanted` needs it, and keeping [`SPARE_FILES`] free.
fn room_for_open_files(wanted: u64) -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let mut soft = limit.current.unwrap_or(u64::MAX);
    let need = wanted.saturating_add(2 * SPARE_FILES);
    if soft < need {
        let raised = limit.maximum.map_or(need, |hard| hard.min(need));
        if setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(raised),
                maximum: limit.maximum,
            },
        )
        .is_ok()
        {
            soft = raised;
        }
    }
    usize::try_from(soft.saturating_sub(2 * SPARE_FILES).min(wanted)).unwrap_or(0)
}

/// The last part of a path (`T….toml` of `2026/11/27/T….toml`), borrowed with its NUL.
fn file_name(path: &CStr) -> Option<&CStr> {
    let bytes = path.to_bytes_with_nul();
    let start = bytes.iter().rposition(|b| *b == b'/').map_or(0, |i| i + 1);
    CStr::from_bytes_with_nul(&bytes[start..]).ok()
}

/// `2026/11/27`: a day's folder below `ledger/`.
fn day_rel_name(day: NaiveDate) -> String {
    format!("{:04}/{:02}/{:02}", day.year(), day.month(), day.day())
}

/// `2026/11/27/T….toml`: an entry's file relative to `ledger/`, as `layout::ledger_rel` files it.
pub(crate) fn entry_name(day: NaiveDate, id: &Id) -> CString {
    let name = if (0..=9999).contains(&day.year()) {
        format!(
            "{:04}/{:02}/{:02}/{id}.toml",
            day.year(),
            day.month(),
            day.day()
        )
    } else {
        let rel = layout::ledger_rel(day, id);
        let inner = rel.strip_prefix(LEDGER_DIR).unwrap_or(&rel);
        inner.to_string_lossy().into_owned()
    };
    // Neither a date nor an ID holds a NUL.
    CString::new(name).unwrap_or_default()
}

/// The day and entry ID an [`entry_name`] names; None for a name that is not one.
pub(crate) fn filed_at(name: &CStr) -> Option<(NaiveDate, &str)> {
    layout::filed_at(name.to_str().ok()?)
}

// ---- the entry encoding ----

const KINDS: [Kind; 6] = [
    Kind::Charge,
    Kind::Payment,
    Kind::InsurancePayment,
    Kind::Adjustment,
    Kind::Refund,
    Kind::Void,
];
const BILL_TO: [BillTo; 2] = [BillTo::Insurance, BillTo::Patient];
const APPLIES_TO: [AppliesTo; 5] = [
    AppliesTo::Account,
    AppliesTo::Appointment,
    AppliesTo::Charges,
    AppliesTo::Copay,
    AppliesTo::Prepayment,
];
const ADJUSTMENTS: [AdjustmentKind; 3] = [
    AdjustmentKind::WriteOff,
    AdjustmentKind::Discount,
    AdjustmentKind::Hardship,
];

/// An entry's bytes; None for one the encoding cannot hold exactly (unknown fields, a string
/// longer than 64 KiB), which is then always read from its file.
pub fn encode(e: &Entry) -> Option<Vec<u8>> {
    if !e.extra.is_empty() {
        return None;
    }
    let mut w = Writer::with_capacity(256);
    w.u32(e.schema);
    w.str(e.id.as_str());
    w.u8(position(&KINDS, &e.kind)?);
    w.str(e.patient.as_str());
    w.i32(e.date.num_days_from_ce());
    decimal(&mut w, e.amount);
    w.i64(e.recorded.timestamp());
    w.u32(e.recorded.timestamp_subsec_nanos());
    w.i32(e.recorded.offset().local_minus_utc());
    text(&mut w, &e.by)?;
    opt_id(&mut w, e.appointment.as_ref());
    opt_enum(&mut w, &BILL_TO, e.bill_to.as_ref())?;
    opt_decimal(&mut w, e.patient_portion);
    opt_enum(&mut w, &Method::ALL, e.method.as_ref())?;
    opt_text(&mut w, e.reference.as_deref())?;
    opt_enum(&mut w, &APPLIES_TO, e.applies_to.as_ref())?;
    w.u32(e.charges.len() as u32);
    for c in &e.charges {
        w.str(c.as_str());
    }
    opt_text(&mut w, e.payer.as_deref())?;
    opt_text(&mut w, e.claim.as_deref())?;
    opt_decimal(&mut w, e.allowed);
    opt_decimal(&mut w, e.contractual);
    opt_decimal(&mut w, e.patient_responsibility);
    opt_enum(&mut w, &ADJUSTMENTS, e.adjustment.as_ref())?;
    opt_id(&mut w, e.voids.as_ref());
    opt_text(&mut w, e.reason.as_deref())?;
    opt_text(&mut w, e.idempotency_key.as_deref())?;
    w.u32(e.services.len() as u32);
    for s in &e.services {
        text(&mut w, &s.code)?;
        text(&mut w, &s.description)?;
        decimal(&mut w, s.fee);
    }
    Some(w.buf)
}

/// The entry [`encode`] made these bytes from; None when they are not such bytes.
pub fn decode(bytes: &[u8]) -> Option<Entry> {
    let mut r = Reader::new(bytes);
    let schema = r.u32()?;
    let id = read_id(&mut r)?;
    let kind = *KINDS.get(r.u8()? as usize)?;
    let patient = read_id(&mut r)?;
    let date = NaiveDate::from_num_days_from_ce_opt(r.i32()?)?;
    let amount = read_decimal(&mut r)?;
    let (secs, nanos) = (r.i64()?, r.u32()?);
    let recorded: DateTime<FixedOffset> = FixedOffset::east_opt(r.i32()?)?
        .timestamp_opt(secs, nanos)
        .single()?;
    let by = r.string()?;
    let appointment = read_opt(&mut r, read_id)?;
    let bill_to = read_opt_enum(&mut r, &BILL_TO)?;
    let patient_portion = read_opt(&mut r, read_decimal)?;
    let method = read_opt_enum(&mut r, &Method::ALL)?;
    let reference = read_opt(&mut r, Reader::string)?;
    let applies_to = read_opt_enum(&mut r, &APPLIES_TO)?;
    let charges = (0..r.u32()?)
        .map(|_| read_id(&mut r))
        .collect::<Option<Vec<Id>>>()?;
    let payer = read_opt(&mut r, Reader::string)?;
    let claim = read_opt(&mut r, Reader::string)?;
    let allowed = read_opt(&mut r, read_decimal)?;
    let contractual = read_opt(&mut r, read_decimal)?;
    let patient_responsibility = read_opt(&mut r, read_decimal)?;
    let adjustment = read_opt_enum(&mut r, &ADJUSTMENTS)?;
    let voids = read_opt(&mut r, read_id)?;
    let reason = read_opt(&mut r, Reader::string)?;
    let idempotency_key = read_opt(&mut r, Reader::string)?;
    let services = (0..r.u32()?)
        .map(|_| {
            Some(ServiceLine {
                code: r.string()?,
                description: r.string()?,
                fee: read_decimal(&mut r)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    if !r.at_end() {
        return None;
    }
    Some(Entry {
        schema,
        id,
        kind,
        patient,
        date,
        amount,
        recorded,
        by,
        appointment,
        bill_to,
        patient_portion,
        method,
        reference,
        applies_to,
        charges,
        payer,
        claim,
        allowed,
        contractual,
        patient_responsibility,
        adjustment,
        voids,
        reason,
        idempotency_key,
        services,
        extra: toml::Table::new(),
    })
}

fn position<T: PartialEq>(all: &[T], v: &T) -> Option<u8> {
    all.iter().position(|x| x == v).map(|i| i as u8)
}

/// A string the writer holds whole (it cuts longer ones).
fn text(w: &mut Writer, s: &str) -> Option<()> {
    (s.len() <= u16::MAX as usize).then(|| w.str(s))
}

fn opt_text(w: &mut Writer, s: Option<&str>) -> Option<()> {
    match s {
        Some(s) => {
            w.u8(1);
            text(w, s)
        }
        None => {
            w.u8(0);
            Some(())
        }
    }
}

fn opt_id(w: &mut Writer, id: Option<&Id>) {
    w.opt_str(id.map(Id::as_str));
}

/// 0 for none, else 1 + the value's position.
fn opt_enum<T: PartialEq>(w: &mut Writer, all: &[T], v: Option<&T>) -> Option<()> {
    let n = match v {
        Some(v) => position(all, v)? + 1,
        None => 0,
    };
    w.u8(n);
    Some(())
}

/// Exact, scale included ("125.00" stays two places).
fn decimal(w: &mut Writer, d: Decimal) {
    w.buf.extend_from_slice(&d.serialize());
}

fn opt_decimal(w: &mut Writer, d: Option<Decimal>) {
    match d {
        Some(d) => {
            w.u8(1);
            decimal(w, d);
        }
        None => w.u8(0),
    }
}

fn read_id(r: &mut Reader) -> Option<Id> {
    Id::parse(r.str()?).ok()
}

fn read_decimal(r: &mut Reader) -> Option<Decimal> {
    Some(Decimal::deserialize(r.bytes(16)?.try_into().ok()?))
}

fn read_opt<'a, T>(
    r: &mut Reader<'a>,
    read: impl FnOnce(&mut Reader<'a>) -> Option<T>,
) -> Option<Option<T>> {
    match r.u8()? {
        0 => Some(None),
        1 => read(r).map(Some),
        _ => None,
    }
}

fn read_opt_enum<T: Copy>(r: &mut Reader, all: &[T]) -> Option<Option<T>> {
    match r.u8()? {
        0 => Some(None),
        n => all.get(n as usize - 1).copied().map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::parse(s).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// An entry with every field set (no kind carries them all; the encoding does not care).
    fn full() -> Entry {
        Entry {
            schema: 1,
            id: id("T1FHGM17X"),
            kind: Kind::InsurancePayment,
            patient: id("PEPB8R9NB"),
            date: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
            amount: dec("125.50"),
            recorded: DateTime::parse_from_rfc3339("2024-02-29T23:59:58.123456789-05:00").unwrap(),
            by: "Zoë at the desk".into(),
            appointment: Some(id("AQNGP1VNM")),
            bill_to: Some(BillTo::Patient),
            patient_portion: Some(dec("20")),
            method: Some(Method::Other),
            reference: Some("EOB 7".into()),
            applies_to: Some(AppliesTo::Prepayment),
            charges: vec![id("T1FHGM17Y"), id("T1FHGM17Z")],
            payer: Some("aetna".into()),
            claim: Some("C-1".into()),
            allowed: Some(dec("100.00")),
            contractual: Some(dec("0.10")),
            patient_responsibility: Some(dec("9999999.99")),
            adjustment: Some(AdjustmentKind::Hardship),
            voids: Some(id("T0000000A")),
            reason: Some("line one\nline \"two\"".into()),
            idempotency_key: Some("k".into()),
            services: vec![ServiceLine {
                code: "99213".into(),
                description: "Office visit".into(),
                fee: dec("125.50"),
            }],
            extra: toml::Table::new(),
        }
    }

    /// The same with every optional field left out (as `Entry::new` leaves them).
    fn bare() -> Entry {
        let f = full();
        Entry {
            schema: f.schema,
            id: f.id,
            date: f.date,
            ..Entry::new(Kind::Void, f.patient, f.amount, f.recorded, &f.by)
        }
    }

    #[test]
    fn an_entry_decodes_to_exactly_what_was_encoded() {
        for e in [full(), bare()] {
            let back = decode(&encode(&e).unwrap()).unwrap();
            assert_eq!(back, e);
            // What equality does not see: the offset and the decimal scale.
            assert_eq!(back.recorded.to_rfc3339(), e.recorded.to_rfc3339());
            assert_eq!(back.amount.to_string(), e.amount.to_string());
            assert_eq!(
                back.patient_portion.map(|d| d.to_string()),
                e.patient_portion.map(|d| d.to_string())
            );
        }
        for kind in KINDS {
            let e = Entry { kind, ..bare() };
            assert_eq!(decode(&encode(&e).unwrap()).unwrap().kind, kind);
        }
    }

    #[test]
    fn entries_the_encoding_cannot_hold_exactly_are_not_cached() {
        let mut e = full();
        e.extra
            .insert("note".into(), toml::Value::String("x".into()));
        assert!(encode(&e).is_none(), "unknown fields");
        let mut e = full();
        e.reason = Some("x".repeat(70_000));
        assert!(encode(&e).is_none(), "a string longer than 64 KiB");
    }

    #[test]
    fn bytes_cut_short_or_padded_do_not_decode() {
        let bytes = encode(&full()).unwrap();
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_none(), "cut at {n}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode(&long).is_none());
    }

    #[test]
    fn an_entry_s_file_name_is_the_last_part_of_its_path() {
        let name = entry_name(
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
            &id("T1FHGM17X"),
        );
        assert_eq!(file_name(&name), Some(c"T1FHGM17X.toml"));
        assert_eq!(file_name(c"T1FHGM17X.toml"), Some(c"T1FHGM17X.toml"));
    }

    #[test]
    fn an_entry_is_kept_only_under_the_name_it_is_filed_at() {
        let e = full();
        let name = entry_name(e.date, &e.id);
        assert_eq!(name.to_str().unwrap(), "2024/02/29/T1FHGM17X.toml");
        assert_eq!(filed_at(&name), Some((e.date, "T1FHGM17X")));
        for day in [
            NaiveDate::from_ymd_opt(-1, 1, 2).unwrap(),
            NaiveDate::from_ymd_opt(10_000, 12, 31).unwrap(),
        ] {
            assert_eq!(filed_at(&entry_name(day, &e.id)), Some((day, "T1FHGM17X")));
        }
        for bad in [
            c"",
            c"T1FHGM17X.toml",
            c"2024/02/30/T1FHGM17X.toml",
            c"2024/02/29/T1",
        ] {
            assert_eq!(filed_at(bad), None, "{bad:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::new(dir.path());
        let ledger = LedgerEntries::open(&tree, MAGIC, false);
        let bytes = ledger.encode(&name, &e).unwrap();
        assert_eq!(ledger.decode(&name, &bytes), Some(full()));
        let elsewhere = entry_name(e.date.succ_opt().unwrap(), &e.id);
        assert!(
            ledger.encode(&elsewhere, &e).is_none(),
            "filed under another day"
        );
        assert!(ledger.decode(&elsewhere, &bytes).is_none());
        let other = entry_name(e.date, &id("T1FHGM17Y"));
        assert!(ledger.decode(&other, &bytes).is_none(), "another ID");
    }
}
