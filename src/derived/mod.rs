//! The caches: disposable files under `.frontdesk/` derived from the records, each rebuilt
//! when missing, corrupt or stale, none holding anything that lives only there. [`CACHES`]
//! names every one, what it holds and how `frontdesk index rebuild` renews it.
//!
//! - [`index`] (with [`index_file`], its payload, and `patient_keys`, the duplicate guard): the
//!   patient search index, declared over [`file_cache`]'s many-section form (a section per
//!   patient shard).
//! - [`schedule_index`]: which day holds which appointment, ledger entry or communication,
//!   declared over [`day_index`], the engine of the caches kept per day folder (with
//!   [`day_memory`], what it read of the days it re-read, so a changed day opens only its
//!   changed files, [`day_listing`], which day folders a year holds, so the month folders
//!   are stat'ed instead of listed, and [`day_summary`], each year's day times and a Bloom
//!   filter of its IDs for the check of a new ID, read a block at a time).
//! - [`ledger_index`]: the ledger's kind over the same engine (each entry's patient), and its
//!   follower, the buckets of which days hold each patient's ledger entries ([`by_patient`],
//!   which the appointments and the communications declare too: which days hold each
//!   patient's visits and communications).
//! - [`ledger_cache`]: patients' ledger entries, parsed, for the statement run.
//! - [`patient_ledger_cache`]: a few patients' ledger entries, parsed, one file per patient,
//!   for `report daily`.
//! - [`check_cache`] and [`clean_note`]: what `frontdesk check` found, file by file, and its
//!   note that the tree was clean (with [`print`], the fingerprints both compare).
//!
//! What they share is in [`stamp`]: a file's or a day folder's stamp and the racy-timestamp
//! rule that says when a stamp may be trusted (one constant, `SETTLE_NS`). The caches that keep
//! one payload per record file declare what they extract and how it is encoded, and
//! [`file_cache`], the engine, owns the rest: the file format, the per-file stamp check,
//! rebuilding a damaged file and writing only what changed. The two ledger caches,
//! [`day_memory`], [`check_cache`] and (over many sections in one file, `file_cache::folders`)
//! the patient index are declarations over it. The caches kept per day folder declare what their
//! line keeps of one record file, and [`day_index`] owns the rest: the per-year files and their
//! overlays, the folder stamps, re-reading a changed day, views, a follower kept in step under
//! the kind's lock, rebuild.
//!
//! They read the records through a [`crate::disk::Tree`] and never import the write path
//! (`store`), the history (`history`) or `check`: what they need of those is passed in.

pub mod by_patient;
pub mod check_cache;
pub mod clean_note;
pub mod day_index;
pub mod day_listing;
pub mod day_memory;
pub mod day_summary;
pub mod file_cache;
pub mod index;
pub mod index_file;
pub mod ledger_cache;
pub mod ledger_index;
mod patient_keys;
pub mod patient_ledger_cache;
pub mod print;
pub mod schedule_index;
pub mod stamp;

use crate::disk::Tree;
use crate::error::Result;

/// `.frontdesk/index/`: where the indexes, their locks and most caches' files live.
pub(crate) fn index_dir(tree: &Tree) -> std::path::PathBuf {
    tree.path(std::path::Path::new(crate::disk::STATE_DIR))
        .join("index")
}

/// Deletes one cache file (gone already is fine).
pub(crate) fn remove_file(path: &std::path::Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::error::Error::io(path, "remove", e)),
    }
}

/// Deletes a cache's folder (gone already is fine): the next command that needs it rebuilds it.
pub(crate) fn remove_folder(dir: &std::path::Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::error::Error::io(dir, "remove", e)),
    }
}

/// What `index rebuild` does with one cache.
pub enum Rebuild {
    /// Build it again now from the records, saying how many of `what` it holds.
    Now {
        what: &'static str,
        build: fn(&Tree) -> Result<Rebuilt>,
    },
    /// Delete it: the next command that needs it builds it.
    Later(fn(&Tree) -> Result<()>),
}

/// A cache built again: how many records it holds, and the files it could not read.
pub struct Rebuilt {
    pub count: usize,
    pub problems: Vec<crate::error::Error>,
}

/// The dated kinds whose day lines a transaction's writes are put through to, with their
/// by-patient buckets (write-through): the ledger, the appointments, the communications and
/// the correspondence.
const WRITTEN_THROUGH: [&by_patient::ByPatient; 4] = [
    &ledger_index::PATIENTS,
    &schedule_index::VISITS,
    &schedule_index::PATIENT_COMMUNICATIONS,
    &schedule_index::PATIENT_LETTERS,
];

/// Whether [`after_write`] has anything to do for `written` (paths in the tree).
pub fn writes_through(written: &[std::path::PathBuf]) -> bool {
    WRITTEN_THROUGH.iter().any(|k| k.holds_any(written))
}

/// Write-through: the records among the files a transaction has just written put into their
/// kinds' day lines and buckets by the writer ([`by_patient::ByPatient::after_write`]), so the
/// next command finds those caches current. Best effort, a kind at a time (each under its own
/// lock, taken only when free).
pub fn after_write(store: &Tree, written: &[std::path::PathBuf]) {
    for kind in WRITTEN_THROUGH.iter().filter(|k| k.holds_any(written)) {
        kind.after_write(store, written);
    }
}

/// One cache: where it lives under `.frontdesk/`, what it holds, and how it is renewed.
pub struct Cache {
    pub at: &'static str,
    pub holds: &'static str,
    pub rebuild: Rebuild,
}

fn counted(count: usize) -> Rebuilt {
    Rebuilt {
        count,
        problems: Vec::new(),
    }
}

/// Every cache, in the order `index rebuild` renews them (and says so). The patient index is
/// built inside the caller's transaction (it asserts the records lock).
pub const CACHES: &[Cache] = &[
    // First: the indexes rebuilt below list the day folders afresh.
    Cache {
        at: "index/KIND-YYYY.folders",
        holds: "which day folders each year of a dated kind holds, under its folders' stamps",
        rebuild: Rebuild::Later(day_listing::remove),
    },
    Cache {
        at: "index/communications-YYYY.tsv (+ -open-, .recent, days/)",
        holds: "which day holds which communication, and the open follow-ups",
        rebuild: Rebuild::Now {
            what: "communications",
            build: |t| schedule_index::rebuild(t, &schedule_index::COMMUNICATIONS).map(counted),
        },
    },
    Cache {
        at: "index/correspondence-YYYY.tsv (+ -runs-, .recent, days/)",
        holds: "which day holds which letter, and whose it is; the statement runs",
        rebuild: Rebuild::Now {
            what: "letters",
            build: |t| schedule_index::rebuild(t, &schedule_index::CORRESPONDENCE).map(counted),
        },
    },
    Cache {
        at: "index/appointments-YYYY.tsv (+ .recent, days/)",
        holds: "which day holds which appointment, and whose it is",
        rebuild: Rebuild::Now {
            what: "appointments",
            build: |t| schedule_index::rebuild(t, &schedule_index::APPOINTMENTS).map(counted),
        },
    },
    Cache {
        at: "index/ledger-YYYY.tsv (+ .recent, .lines, days/)",
        holds: "which day holds which ledger entry, and whose it is",
        rebuild: Rebuild::Now {
            what: "ledger entries",
            build: |t| schedule_index::rebuild(t, &schedule_index::LEDGER).map(counted),
        },
    },
    Cache {
        at: "index/patients.bin",
        holds: "every patient's search fields and listing, per patient file",
        rebuild: Rebuild::Now {
            what: "patients",
            build: |t| {
                index::rebuild(t).map(|i| Rebuilt {
                    count: i.len(),
                    problems: i.problems,
                })
            },
        },
    },
    Cache {
        at: "index/ledger-patients/XY.tsv",
        holds: "which days hold each patient's ledger entries (with the lines above)",
        rebuild: Rebuild::Later(ledger_index::remove),
    },
    Cache {
        at: "index/appointments-patients/XY.tsv",
        holds: "which days hold each patient's appointments (with the lines above)",
        rebuild: Rebuild::Later(|t| schedule_index::VISITS.remove(t)),
    },
    Cache {
        at: "index/communications-patients/XY.tsv",
        holds: "which days hold each patient's communications (with the lines above)",
        rebuild: Rebuild::Later(|t| schedule_index::PATIENT_COMMUNICATIONS.remove(t)),
    },
    Cache {
        at: "ledger-cache/XY.bin",
        holds: "every patient's ledger entries, parsed, per entry file (statement run)",
        rebuild: Rebuild::Later(ledger_cache::remove),
    },
    Cache {
        at: "patient-ledger/XY/P….bin",
        holds: "a few patients' ledger entries, parsed, per entry file (report daily)",
        rebuild: Rebuild::Later(patient_ledger_cache::remove),
    },
    Cache {
        at: "index/check/KEY/GROUP.bin (a kind, or a dated kind's year), index/check-git.bin",
        holds: "what check found in each record file, and its note that the tree was clean",
        rebuild: Rebuild::Later(check_cache::remove),
    },
];
