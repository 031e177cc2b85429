//! Writes for `patient import`: a batch of new patients in one transaction, and the reject
//! file beside the input.
//!
//! A batch keeps every guarantee of a single write (temp file, fsync, no-clobber rename,
//! directory fsync) but spreads the files over a few writer threads and flushes each
//! directory once, after all its files are in place. fsync is what an import waits on, and
//! concurrent fsyncs share the file system's journal commits: 1,000 patients take well under
//! a second instead of ten.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::domain::patient::Patient;
use crate::error::{Error, IoContext, Result};
use crate::store::{Mode, Store, Txn, atomic, fault, to_toml};

/// Enough threads to keep the disk's queue full; they mostly wait on fsync, not the CPU.
const WRITERS: usize = 16;

impl Txn<'_> {
    /// Creates every patient's file (never overwriting one), calling `progress` after each.
    /// When one fails, the files this call created are removed again, so a batch lands whole
    /// or not at all; nothing is committed either way until `commit`.
    pub fn create_patients(
        &mut self,
        patients: &[Patient],
        progress: &(dyn Fn() + Sync),
    ) -> Result<()> {
        self.write_untracked();
        let store = self.store;
        let rels: Vec<PathBuf> = patients.iter().map(|p| Store::patient_rel(&p.id)).collect();
        let (placed, failed) = in_parallel(patients, |i, p| {
            let text = to_toml(p)?;
            atomic::place(&store.path(&rels[i]), text.as_bytes(), Mode::CreateNew)?;
            progress();
            Ok(())
        });
        let failed = failed.or_else(|| {
            let dirs: Vec<PathBuf> = rels
                .iter()
                .filter_map(|r| r.parent().map(|d| store.path(d)))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            in_parallel(&dirs, |_, dir| {
                fault::check("dirsync")
                    .and_then(|_| atomic::sync_dir(dir))
                    .at_path(dir, "flush directory")
            })
            .1
        });
        if let Some(e) = failed {
            for (rel, done) in rels.iter().zip(&placed) {
                if *done {
                    let _ = fs::remove_file(store.path(rel));
                }
            }
            return Err(e);
        }
        self.written.extend(rels);
        for p in patients {
            self.note_patient(p);
        }
        Ok(())
    }
}

/// Runs `f` on every item from `WRITERS` threads, stopping at the first error. Returns which
/// items succeeded and the first error.
fn in_parallel<T: Sync>(
    items: &[T],
    f: impl Fn(usize, &T) -> Result<()> + Sync,
) -> (Vec<bool>, Option<Error>) {
    let done: Vec<AtomicBool> = items.iter().map(|_| AtomicBool::new(false)).collect();
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..WRITERS.min(items.len()) {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    match f(i, item) {
                        Ok(()) => done[i].store(true, Ordering::Relaxed),
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            if let Ok(mut first) = failure.lock() {
                                first.get_or_insert(e);
                            }
                        }
                    }
                }
            });
        }
    });
    let done = done.into_iter().map(AtomicBool::into_inner).collect();
    let failure = failure.into_inner().ok().flatten();
    (done, failure)
}

/// Writes the rows an import refused, outside the records tree. They are patients' details,
/// so the file is written like a record: atomically and readable by its owner only (0600).
pub fn write_rejects(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic::write(path, bytes, Mode::Replace)
}
