//! Writes for `patient import`: a batch of new patients in one transaction, and the reject
//! file beside the input.
//!
//! A batch keeps every guarantee of a single write (temp file, fsync, no-clobber rename,
//! directory fsync) but spreads the files over a few writer threads and flushes each
//! directory once, after all the batches' files are in place. fsync is what an import waits on, and
//! concurrent fsyncs share the file system's journal commits: 1,000 patients take well under
//! a second instead of ten.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::disk::{atomic, fault};
use crate::domain::patient::Patient;
use crate::error::{Error, IoContext, Result};
use crate::store::{Mode, Store, Txn, to_toml};

/// Enough threads to keep the disk's queue full; they mostly wait on fsync, not the CPU.
const WRITERS: usize = 16;

impl Txn<'_> {
    /// Creates every patient's file (never overwriting one), batch by batch as `batches`
    /// yields them, calling `progress` after each file; each directory is flushed once, at the
    /// end. When anything fails (a write, a flush, or a batch that could not be made), every
    /// file this call created is removed again, so the import lands whole or not at all;
    /// nothing is committed either way until `commit`. Returns how many were created.
    pub fn create_patients(
        &mut self,
        batches: impl IntoIterator<Item = Result<Vec<Patient>>>,
        progress: &(dyn Fn() + Sync),
    ) -> Result<usize> {
        self.write_untracked();
        let (files, keys) = (self.written.len(), self.patient_keys.len());
        let mut dirs = BTreeSet::new();
        let mut made = 0;
        let all = || -> Result<()> {
            for batch in batches {
                made += self.place_patients(&batch?, &mut dirs, progress)?;
            }
            let dirs: Vec<PathBuf> = std::mem::take(&mut dirs).into_iter().collect();
            match in_parallel(&dirs, |_, dir| {
                fault::check("dirsync")
                    .and_then(|_| atomic::sync_dir(dir))
                    .at_path(dir, "flush directory")
            }) {
                (_, Some(e)) => Err(e),
                (_, None) => Ok(()),
            }
        };
        if let Err(e) = all() {
            for rel in self.written.drain(files..) {
                let _ = fs::remove_file(self.store.path(&rel));
            }
            self.patient_keys.truncate(keys);
            return Err(e);
        }
        Ok(made)
    }

    /// Places one batch of new files (the directories they are in go to `dirs`, flushed
    /// later). When one fails, the files of this batch are removed again.
    fn place_patients(
        &mut self,
        patients: &[Patient],
        dirs: &mut BTreeSet<PathBuf>,
        progress: &(dyn Fn() + Sync),
    ) -> Result<usize> {
        let store = self.store;
        let rels: Vec<PathBuf> = patients.iter().map(|p| Store::patient_rel(&p.id)).collect();
        store.journal(&rels.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
        let (placed, failed) = in_parallel(patients, |i, p| {
            let text = to_toml(p)?;
            atomic::place(&store.path(&rels[i]), text.as_bytes(), Mode::CreateNew)?;
            progress();
            Ok(())
        });
        if let Some(e) = failed {
            for (rel, done) in rels.iter().zip(&placed) {
                if *done {
                    let _ = fs::remove_file(store.path(rel));
                }
            }
            return Err(e);
        }
        dirs.extend(
            rels.iter()
                .filter_map(|r| r.parent().map(|d| store.path(d))),
        );
        self.written.extend(rels);
        for p in patients {
            self.note_patient(p);
        }
        Ok(patients.len())
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
