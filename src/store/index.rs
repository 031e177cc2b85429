//! The patient index: a disposable cache of what search and listings need from each patient
//! file, so `patient find` does not parse 100,000 TOML files.
//!
//! It lives in `.frontdesk/index/` (ignored by git) and is never the only copy of anything.
//! Each entry is validated against its file's path, size and modification time; an entry whose
//! file changed at or after the moment the index was last built is treated as stale (git's
//! racy-timestamp rule), so an edit made in the same second as a rebuild is never missed. A
//! missing, corrupt (checksum) or old-format index is rebuilt from the files.
//!
//! Speed at 100,000 patients (see docs/performance.md): the stat pass runs per shard directory
//! in parallel, changed files are parsed in parallel, and the index is a compact binary file
//! (`codec`) rather than JSON lines. It is rewritten only when something changed, without
//! fsync (a torn index fails its checksum and is rebuilt), and only by a command that holds
//! the records lock, so it never races a writer.
//!
//! A second small file, `patient-keys.bin`, maps a hash of (family name, birth date) to patient
//! IDs for the duplicate guard of `patient add`, so adding a patient reads ~2 MB instead of
//! checking every patient file. The store adds to it on every patient it saves; a full refresh
//! rewrites it. Candidates are always confirmed against their record files.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::patient::Patient;
use crate::domain::search::{SearchDoc, fold};
use crate::error::{Error, Result};
use crate::store::codec::{self, Reader, Writer};
use crate::store::{STATE_DIR, Store, Txn, atomic, is_record_file, read_toml};

const MAGIC: &[u8; 8] = b"FDPIX004";
const KEYS_MAGIC: &[u8; 8] = b"FDPKY001";
const FILE: &str = "patients.bin";
const KEYS_FILE: &str = "patient-keys.bin";
/// The JSON-lines index of earlier versions: removed when seen.
const OLD_FILE: &str = "patients.jsonl";

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

/// A patient file as the stat pass sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamp {
    /// Path relative to the records tree, `patients/7K/P7K3QX9M.toml`.
    pub rel: String,
    pub size: u64,
    pub mtime: i64,
}

struct Entry {
    stamp: Stamp,
    summary: PatientSummary,
}

pub(crate) fn mtime_ns(meta: &fs::Metadata) -> i64 {
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn index_dir(store: &Store) -> PathBuf {
    store.path(Path::new(STATE_DIR)).join("index")
}

/// Every patient file with its size and modification time, sorted by path. Shard directories
/// are listed and stat'ed in parallel.
pub fn scan(store: &Store) -> Result<Vec<Stamp>> {
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

/// Result of bringing the index up to date.
pub struct Refreshed {
    /// One per readable patient file, in path order (the same with or without the index).
    pub summaries: Vec<PatientSummary>,
    /// Files that could not be read; reported, never fatal to a search.
    pub problems: Vec<Error>,
}

/// Returns a summary of every patient, reusing cached entries whose file is unchanged and
/// re-reading the rest. Saves the refreshed index when it changed and this process holds the
/// write lock (inside a `Txn`) or can take it right now; otherwise a writer is busy and the
/// cache is left for the next command.
pub fn patient_summaries(store: &Store) -> Result<Refreshed> {
    if store.holds_lock() {
        return refresh(store, true);
    }
    let lock = store.try_lock()?;
    refresh(store, lock.is_some())
}

fn refresh(store: &Store, may_save: bool) -> Result<Refreshed> {
    let dir = index_dir(store);
    let scan_start = now_ns();
    // Reading the old index and stat'ing the files are independent: do both at once.
    let ((scanned_at, old), stamps) = rayon::join(
        || load(&dir.join(FILE)).unwrap_or((0, Vec::new())),
        || scan(store),
    );
    let stamps = stamps?;
    let old_len = old.len();
    let (mut slots, stale) = reuse(old, &stamps, scanned_at);
    let reused = slots.iter().filter(|s| s.is_some()).count();
    let parsed: Vec<(usize, Result<PatientSummary>)> = stale
        .par_iter()
        .map(|&i| {
            let path = store.path(Path::new(&stamps[i].rel));
            (
                i,
                read_toml::<Patient>(&path).map(|p| PatientSummary::from_patient(&p)),
            )
        })
        .collect();
    let mut problems = Vec::new();
    let mut fresh = 0;
    for (i, result) in parsed {
        match result {
            Ok(summary) => {
                fresh += 1;
                slots[i] = Some(Entry {
                    stamp: stamps[i].clone(),
                    summary,
                });
            }
            Err(e) => problems.push(e),
        }
    }
    let entries: Vec<Entry> = slots.into_iter().flatten().collect();
    if may_save && (fresh > 0 || reused != old_len) {
        // A failure to write the cache only costs speed next time.
        let _ = save(&dir, scan_start, &entries);
    }
    Ok(Refreshed {
        summaries: entries.into_iter().map(|e| e.summary).collect(),
        problems,
    })
}

/// Walks the old entries and the new stamps (both sorted by path) together: an entry is kept
/// when its file has the same size and mtime and was not modified at or after the last scan
/// began (racy rule). Returns one slot per stamp and the indexes of stamps to re-read.
fn reuse(old: Vec<Entry>, stamps: &[Stamp], scanned_at: i64) -> (Vec<Option<Entry>>, Vec<usize>) {
    let mut slots = Vec::with_capacity(stamps.len());
    let mut stale = Vec::new();
    let mut old = old.into_iter().peekable();
    for (i, st) in stamps.iter().enumerate() {
        while old.next_if(|e| e.stamp.rel < st.rel).is_some() {}
        match old.next_if(|e| e.stamp.rel == st.rel) {
            Some(e) if e.stamp == *st && st.mtime < scanned_at => slots.push(Some(e)),
            _ => {
                slots.push(None);
                stale.push(i);
            }
        }
    }
    (slots, stale)
}

/// Entries per chunk of the index file: chunks are decoded in parallel.
const CHUNK: usize = 2048;

fn load(path: &Path) -> Option<(i64, Vec<Entry>)> {
    let bytes = fs::read(path).ok()?;
    let body = codec::unseal(MAGIC, &bytes)?;
    let mut r = Reader::new(body);
    let scanned_at = r.i64()?;
    let chunks = r.u32()? as usize;
    let mut sizes = Vec::with_capacity(chunks.min(1 << 16));
    for _ in 0..chunks {
        sizes.push((r.u32()? as usize, r.u32()? as usize));
    }
    let mut slices = Vec::with_capacity(sizes.len());
    for &(count, len) in &sizes {
        slices.push((count, r.bytes(len)?));
    }
    if !r.at_end() {
        return None;
    }
    let decoded: Vec<Vec<Entry>> = slices
        .into_par_iter()
        .map(|(count, bytes)| {
            let mut r = Reader::new(bytes);
            let entries = (0..count)
                .map(|_| read_entry(&mut r))
                .collect::<Option<Vec<_>>>()?;
            r.at_end().then_some(entries)
        })
        .collect::<Option<_>>()?;
    let entries: Vec<Entry> = decoded.into_iter().flatten().collect();
    // Sorted order is what `reuse` relies on: an unsorted file is treated as corrupt.
    let sorted = entries.windows(2).all(|w| w[0].stamp.rel < w[1].stamp.rel);
    sorted.then_some((scanned_at, entries))
}

fn read_entry(r: &mut Reader) -> Option<Entry> {
    let stamp = Stamp {
        rel: r.string()?,
        size: r.u64()?,
        mtime: r.i64()?,
    };
    let id = r.string()?;
    let summary = PatientSummary {
        name: r.string()?,
        birth_date: r.string()?,
        sex: r.string()?,
        phone: r.opt_string()?,
        status: r.string()?,
        family: r.string()?,
        search: SearchDoc {
            names: r.strings()?,
            phones: r.strings()?,
            other_ids: r.strings()?,
            active: r.u8()? == 1,
            birth_date: r.str()?.parse().ok()?,
            id: id.clone(),
        },
        external_ids: read_pairs(r)?,
        id,
    };
    Some(Entry { stamp, summary })
}

fn write_entry(w: &mut Writer, e: &Entry) {
    let s = &e.summary;
    w.str(&e.stamp.rel);
    w.u64(e.stamp.size);
    w.i64(e.stamp.mtime);
    w.str(&s.id);
    w.str(&s.name);
    w.str(&s.birth_date);
    w.str(&s.sex);
    w.opt_str(s.phone.as_deref());
    w.str(&s.status);
    w.str(&s.family);
    w.strs(&s.search.names);
    w.strs(&s.search.phones);
    w.strs(&s.search.other_ids);
    w.u8(u8::from(s.search.active));
    w.str(&s.search.birth_date.to_string());
    w.u32(s.external_ids.len() as u32);
    for (k, v) in &s.external_ids {
        w.str(k);
        w.str(v);
    }
}

fn read_pairs(r: &mut Reader) -> Option<BTreeMap<String, String>> {
    let n = r.u32()?;
    (0..n).map(|_| Some((r.string()?, r.string()?))).collect()
}

fn save(dir: &Path, scanned_at: i64, entries: &[Entry]) -> Result<()> {
    atomic::create_dirs(dir)?;
    let chunks: Vec<Writer> = entries
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut w = Writer::with_capacity(chunk.len() * 220);
            for e in chunk {
                write_entry(&mut w, e);
            }
            w
        })
        .collect();
    let total: usize = chunks.iter().map(|c| c.buf.len() + 8).sum();
    let mut w = Writer::with_capacity(total + 16);
    w.i64(scanned_at);
    w.u32(chunks.len() as u32);
    for (chunk, part) in chunks.iter().zip(entries.chunks(CHUNK)) {
        w.u32(part.len() as u32);
        w.u32(chunk.buf.len() as u32);
    }
    for chunk in &chunks {
        w.buf.extend_from_slice(&chunk.buf);
    }
    atomic::write_unsynced(
        &dir.join(FILE),
        &codec::seal(MAGIC, &w.buf),
        atomic::Mode::Replace,
    )?;
    let keys: Vec<(u64, String)> = entries
        .iter()
        .map(|e| {
            (
                key_hash(&e.summary.family, &e.summary.birth_date),
                e.summary.id.clone(),
            )
        })
        .collect();
    save_keys(dir, &keys)?;
    let _ = fs::remove_file(dir.join(OLD_FILE));
    Ok(())
}

/// Deletes the index; the next command rebuilds it.
pub fn remove(store: &Store) -> Result<()> {
    let dir = index_dir(store);
    for name in [FILE, KEYS_FILE, OLD_FILE] {
        let path = dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, "remove", e)),
        }
    }
    Ok(())
}

/// Rebuilds the index from the files, under the write lock. Returns how many patients it holds.
pub fn rebuild(txn: &Txn) -> Result<Refreshed> {
    remove(txn.store())?;
    patient_summaries(txn.store())
}

// ---- the duplicate guard's keys ----

/// FNV-1a over the folded family name and the ISO birth date.
pub fn key_hash(family_folded: &str, birth_date: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in family_folded.bytes().chain([0]).chain(birth_date.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn load_keys(dir: &Path) -> Option<Vec<(u64, String)>> {
    let bytes = fs::read(dir.join(KEYS_FILE)).ok()?;
    let body = codec::unseal(KEYS_MAGIC, &bytes)?;
    let mut r = Reader::new(body);
    let count = r.u32()? as usize;
    let keys = (0..count)
        .map(|_| Some((r.u64()?, r.string()?)))
        .collect::<Option<Vec<_>>>()?;
    r.at_end().then_some(keys)
}

fn save_keys(dir: &Path, keys: &[(u64, String)]) -> Result<()> {
    let mut w = Writer::with_capacity(keys.len() * 20 + 8);
    w.u32(keys.len() as u32);
    for (h, id) in keys {
        w.u64(*h);
        w.str(id);
    }
    atomic::write_unsynced(
        &dir.join(KEYS_FILE),
        &codec::seal(KEYS_MAGIC, &w.buf),
        atomic::Mode::Replace,
    )
}

/// IDs of patients that may share this folded family name and birth date. Without a keys file
/// this refreshes the whole index once (which writes one). Callers confirm each candidate
/// against its record file.
pub fn duplicate_candidates(
    txn: &Txn,
    family_folded: &str,
    birth_date: &str,
) -> Result<Vec<String>> {
    let want = key_hash(family_folded, birth_date);
    if let Some(keys) = load_keys(&index_dir(txn.store())) {
        let mut ids: Vec<String> = keys
            .into_iter()
            .filter(|(h, _)| *h == want)
            .map(|(_, id)| id)
            .collect();
        ids.sort();
        ids.dedup();
        return Ok(ids);
    }
    Ok(patient_summaries(txn.store())?
        .summaries
        .into_iter()
        .filter(|s| s.family == family_folded && s.birth_date == birth_date)
        .map(|s| s.id)
        .collect())
}

/// Adds the keys of patients a transaction saved (called by the store under the lock, once
/// per commit). Without a keys file there is nothing to add to: the next refresh builds it.
pub(crate) fn note_patient_keys(store: &Store, new: &[(u64, String)]) {
    let dir = index_dir(store);
    if new.is_empty() {
        return;
    }
    if let Some(mut keys) = load_keys(&dir) {
        let known: std::collections::HashSet<&(u64, String)> = keys.iter().collect();
        let add: Vec<(u64, String)> = new.iter().filter(|k| !known.contains(k)).cloned().collect();
        if !add.is_empty() {
            keys.extend(add);
            let _ = save_keys(&dir, &keys);
        }
    }
}
