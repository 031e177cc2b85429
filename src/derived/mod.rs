//! The caches: disposable files under `.frontdesk/` derived from the records, each rebuilt
//! when missing, corrupt or stale, none holding anything that lives only there.
//!
//! - [`index`] (with [`index_file`], its format, and `patient_keys`, the duplicate guard): the
//!   patient search index.
//! - [`schedule_index`]: which day holds which appointment, ledger entry or communication.
//! - [`ledger_index`]: which days hold each patient's ledger entries.
//! - [`ledger_cache`]: patients' ledger entries, parsed, for the statement run.
//! - [`patient_ledger_cache`]: a few patients' ledger entries, parsed, one file per patient,
//!   for `report daily`.
//! - [`check_cache`] and [`clean_note`]: what `frontdesk check` found, file by file, and its
//!   note that the tree was clean (with [`print`], the fingerprints both compare).
//!
//! What they share is in [`stamp`]: a file's or a day folder's stamp and the racy-timestamp
//! rule that says when a stamp may be trusted.
//!
//! They read the records through a [`crate::disk::Tree`] and never import the write path
//! (`store`), the history (`history`) or `check`: what they need of those is passed in.

pub mod check_cache;
pub mod clean_note;
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

/// Deletes a cache's folder (gone already is fine): the next command that needs it rebuilds it.
pub(crate) fn remove_folder(dir: &std::path::Path) -> crate::error::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::error::Error::io(dir, "remove", e)),
    }
}
