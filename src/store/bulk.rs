//! Bulk creation of many records at once, for the demo generator.
//!
//! Each file is still written atomically (temp file, no-clobber rename: a crash leaves whole
//! files or none), but without a per-file fsync and without a per-file git commit: at a million
//! files, per-file fsync is what dominates. Instead the whole tree is synced once at the end
//! (`sync -f`, one syncfs), and the batch is recorded by one commit (through fast-import: one
//! pack, not millions of loose objects). This is
//! not the interactive write path: commands that change a record use `Txn::put`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::disk::atomic;
use crate::error::{Error, IoContext, Result};
use crate::store::{Mode, Txn};

impl Txn<'_> {
    /// Creates new records in parallel: `make(n)` for each `n` in `0..units` returns a batch
    /// of records, each as its path (relative to the tree) and bytes. Returns how many files
    /// were written. `progress` is called now and then with the running total.
    pub fn put_bulk<F>(
        &mut self,
        units: u64,
        make: F,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64>
    where
        F: Fn(u64) -> Result<Vec<(PathBuf, Vec<u8>)>> + Sync,
    {
        let root = self.store.root().to_path_buf();
        let done = AtomicU64::new(0);
        let written: Vec<Vec<PathBuf>> = (0..units)
            .into_par_iter()
            .map(|n| {
                let files = make(n)?;
                for (rel, bytes) in &files {
                    write_new(&root.join(rel), bytes)?;
                }
                let n = files.len() as u64;
                let before = done.fetch_add(n, Ordering::Relaxed);
                if before / 10_000 != (before + n) / 10_000 {
                    progress(before + n);
                }
                Ok::<_, Error>(files.into_iter().map(|(rel, _)| rel).collect())
            })
            .collect::<Result<_>>()?;
        self.written.extend(written.into_iter().flatten());
        self.bulk = true;
        self.write_untracked();
        Ok(done.into_inner())
    }
}

/// Writes one new file, creating its directory (0700) the first time it is missing. Another
/// thread may create that directory between the failed write and the check, so a missing
/// directory is retried whoever made it.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    match atomic::write_unsynced(path, bytes, Mode::CreateNew) {
        Err(e) if e.kind == crate::error::Kind::NotFound => {
            let dir = path.parent().unwrap_or(Path::new("."));
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .at_path(dir, "create directory")?;
            atomic::write_unsynced(path, bytes, Mode::CreateNew)
        }
        other => other,
    }
}

/// Flushes everything written to the file system holding `root` (one syncfs for the batch:
/// the generated tree, or a folder of statements).
pub fn sync_tree(root: &Path) -> Result<()> {
    let status = Command::new("sync").arg("-f").arg(root).status();
    match status {
        Ok(s) if s.success() => Ok(()),
        _ => Err(
            Error::internal(format!("could not flush {} to disk", root.display()))
                .hint("run `sync` before relying on the files just written"),
        ),
    }
}
