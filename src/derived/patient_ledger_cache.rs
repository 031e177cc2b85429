//! A few patients' ledger entries, parsed, for the commands that need the balances of some
//! patients rather than everyone's: `report daily` wants the balance and co-pays of the day's
//! ~400 patients, whose ten years of history at full size are ~10,000 entry files to open and
//! parse, where the day itself is a day's work. One patient's ledger (`pay ledger`, `pay
//! balance`, `pay collect`, check-in) comes the same way: a patient with ten years of visits has
//! some 600 entry files, each a `stat` here instead of an open, a read and a parse.
//!
//! It is the ledger cache's declaration ([`LedgerEntries`]: a parsed ledger entry per entry
//! file) over the per-file cache engine (`file_cache.rs`), in another access pattern: one
//! cache file per patient asked about, `.frontdesk/patient-ledger/XY/P….bin` (ignored by git),
//! under the patient's two-character shard. Why not the ledger cache's files: each holds a
//! whole shard (~1,700 entries at full size), so a day's 400 patients would read some 330 of
//! them, over 100 MB, to use 2 % of it.
//!
//! Which entries are the patient's comes from the ledger index (`ledger_index.rs`, brought up
//! to date against every day folder on every use, so an entry added or removed by hand is
//! seen). A patient's cache file holds every entry file of that list (those gone, or not
//! encodable, without a payload) under the stamp of the index bucket the list came from, as
//! its folder stamp: while the bucket's stamp is unchanged (and outside the racy window), the
//! list holds and the bucket, ~1,700 lines at full size, is not read. Every entry is checked
//! against its file by the engine, so a hand edit of an amount, even one that keeps the size
//! and puts the modification time back, is read from the file: its change time moved.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rayon::prelude::*;

use crate::derived::file_cache::{Loaded, Pass};
use crate::derived::ledger_cache::{LedgerEntries, filed_at, patient_entries};
use crate::derived::ledger_index;
use crate::derived::stamp::now_ns;
use crate::disk::{STATE_DIR, Tree};
use crate::domain::id::Id;
use crate::domain::ledger::Entry;
use crate::error::Result;

const MAGIC: &[u8; 8] = b"FDPLC003";

fn cache_dir(store: &Tree) -> PathBuf {
    store.path(Path::new(STATE_DIR)).join("patient-ledger")
}

fn cache_path(store: &Tree, patient: &Id) -> PathBuf {
    cache_dir(store)
        .join(patient.shard())
        .join(format!("{patient}.bin"))
}

/// Deletes the cache; the next command that needs it builds what it asks for.
pub fn remove(store: &Tree) -> Result<()> {
    super::remove_folder(&cache_dir(store))
}

/// Each patient's entries in ledger order, in the order given (a patient asked twice is
/// looked up once), as [`crate::store::Store::read_entries`] would read them from the index's
/// list: files gone or no longer the patient's are skipped. Patients are done on all cores;
/// the error reported is that of the first failing patient in the order given.
pub fn patients_entries(store: &Tree, patients: &[Id]) -> Result<Vec<Vec<Entry>>> {
    let mut unique: Vec<Id> = patients.to_vec();
    unique.sort();
    unique.dedup();
    let scan_start = now_ns();
    let paths: Vec<PathBuf> = unique.iter().map(|p| cache_path(store, p)).collect();
    let bytes: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| fs::read(p).unwrap_or_default())
        .collect();
    let cached: Vec<Loaded> = bytes.iter().map(|b| Loaded::parse(MAGIC, b)).collect();
    let listed = ledger_index::few_patients_entries(store, &unique, |i, stamp| {
        cached[i].folder_holds(stamp)
    })?;
    // Few entries each: stat'ed by their path below `ledger/`, no day folder kept open.
    let ledger = LedgerEntries::open(store, MAGIC, false);
    let done: Vec<Result<Vec<Entry>>> = (0..unique.len())
        .into_par_iter()
        .map(|i| {
            let list = match &listed[i].entries {
                Some(list) => list.clone(),
                None => cached_list(&cached[i]),
            };
            let mut pass = Pass::new(&ledger, &cached[i]);
            let entries = patient_entries(&mut pass, &unique[i], &list)?;
            // A failure to write the cache only costs speed next time.
            let _ = pass.save(&paths[i], listed[i].bucket, scan_start);
            Ok(entries)
        })
        .collect();
    let mut by_id: HashMap<&Id, Vec<Entry>> = HashMap::with_capacity(unique.len());
    for (id, r) in unique.iter().zip(done) {
        by_id.insert(id, r?);
    }
    Ok(patients
        .iter()
        .map(|p| by_id.get(p).cloned().unwrap_or_default())
        .collect())
}

/// The list of (day, entry ID) a patient's cache file was written for; a name that is not an
/// entry's is left out (the bucket's stamp vouches for the list, so it cannot be one).
fn cached_list(cached: &Loaded) -> Vec<(NaiveDate, Id)> {
    cached
        .names()
        .filter_map(|name| {
            let (day, id) = filed_at(name)?;
            Some((day, Id::parse(id).ok()?))
        })
        .collect()
}
