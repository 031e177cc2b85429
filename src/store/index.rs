//! The patient index: a disposable cache of what search and listings need from each patient
//! file, so `patient find` does not parse 100,000 TOML files.
//!
//! It lives in `.frontdesk/index/` (ignored by git) and is never the only copy of anything.
//! Each entry is validated against its file's path, size and modification time; an entry whose
//! file changed at or after the moment the index was last built is treated as stale (git's
//! racy-timestamp rule), so an edit made in the same second as a rebuild is never missed. A
//! missing, corrupt or old-format index is rebuilt from the files.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::patient::Patient;
use crate::domain::search::SearchDoc;
use crate::error::Result;
use crate::store::{STATE_DIR, Store, atomic, read_toml};

const FORMAT: u32 = 1;
const FILE: &str = "patients.jsonl";

/// What listings and search need about one patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientSummary {
    pub id: String,
    pub name: String,
    pub birth_date: String,
    pub sex: String,
    pub phone: Option<String>,
    pub status: String,
    pub family: String,
    pub search: SearchDoc,
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
            family: crate::domain::search::fold(&p.family),
            search: SearchDoc::from_patient(p),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    /// When the scan that wrote this index began, in nanoseconds since the epoch.
    scanned_at: i128,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    rel: String,
    size: u64,
    mtime: i128,
    summary: PatientSummary,
}

pub(crate) fn mtime_ns(meta: &fs::Metadata) -> i128 {
    meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128
}

pub(crate) fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

fn index_path(store: &Store) -> PathBuf {
    store.path(Path::new(STATE_DIR)).join("index").join(FILE)
}

fn load(path: &Path) -> Option<(Header, HashMap<String, Entry>)> {
    let file = fs::File::open(path).ok()?;
    let mut lines = BufReader::new(file).lines();
    let header: Header = serde_json::from_str(&lines.next()?.ok()?).ok()?;
    if header.format != FORMAT {
        return None;
    }
    let mut entries = HashMap::new();
    for line in lines {
        let entry: Entry = serde_json::from_str(&line.ok()?).ok()?;
        entries.insert(entry.rel.clone(), entry);
    }
    Some((header, entries))
}

/// Result of bringing the index up to date.
pub struct Refreshed {
    pub summaries: Vec<PatientSummary>,
    /// Files that could not be read; reported, never fatal to a search.
    pub problems: Vec<crate::error::Error>,
}

/// Returns a summary of every patient, reusing cached entries whose file is unchanged and
/// re-reading the rest; rewrites the cache when anything changed.
pub fn patient_summaries(store: &Store) -> Result<Refreshed> {
    let path = index_path(store);
    let scan_start = now_ns();
    let (scanned_at, mut old) = match load(&path) {
        Some((h, e)) => (h.scanned_at, e),
        None => (0, HashMap::new()),
    };
    let files = store.patient_files()?;
    let mut entries = Vec::with_capacity(files.len());
    let mut problems = Vec::new();
    let mut changed = old.len() != files.len();
    for file in files {
        let rel = file
            .strip_prefix(store.root())
            .unwrap_or(&file)
            .to_string_lossy()
            .into_owned();
        let Ok(meta) = fs::metadata(&file) else {
            continue;
        };
        let (size, mtime) = (meta.len(), mtime_ns(&meta));
        match old.remove(&rel) {
            Some(e) if e.size == size && e.mtime == mtime && mtime < scanned_at => entries.push(e),
            _ => {
                changed = true;
                match read_toml::<Patient>(&file) {
                    Ok(p) => entries.push(Entry {
                        rel,
                        size,
                        mtime,
                        summary: PatientSummary::from_patient(&p),
                    }),
                    Err(e) => problems.push(e),
                }
            }
        }
    }
    if changed || !old.is_empty() {
        // A failure to write the cache only costs speed next time.
        let _ = save(&path, scan_start, &entries);
    }
    Ok(Refreshed {
        summaries: entries.into_iter().map(|e| e.summary).collect(),
        problems,
    })
}

fn save(path: &Path, scanned_at: i128, entries: &[Entry]) -> Result<()> {
    let mut buf = Vec::with_capacity(entries.len() * 256);
    serde_json::to_writer(
        &mut buf,
        &Header {
            format: FORMAT,
            scanned_at,
        },
    )
    .map_err(|e| crate::error::Error::internal(e.to_string()))?;
    buf.push(b'\n');
    for e in entries {
        serde_json::to_writer(&mut buf, e)
            .map_err(|e| crate::error::Error::internal(e.to_string()))?;
        buf.write_all(b"\n").ok();
    }
    atomic::write(path, &buf, atomic::Mode::Replace)
}

/// Deletes the index; the next command rebuilds it.
pub fn remove(store: &Store) -> Result<()> {
    let path = index_path(store);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::error::Error::io(&path, "remove", e)),
    }
}
