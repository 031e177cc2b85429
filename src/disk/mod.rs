//! The records tree on disk, below everything that reads or writes it: where each kind of
//! record lives ([`layout`]), files written atomically ([`atomic`]), the lock file ([`lock`]),
//! the binary format of the caches ([`codec`]) and the fault points of the crash tests
//! ([`fault`]).
//!
//! A [`Tree`] is a records tree's root and whether this process holds its write lock: what the
//! caches (`derived`) need to read and refresh themselves. The write path (`store::Store`) is a
//! `Tree` plus transactions, and dereferences to one.

pub mod atomic;
pub mod codec;
pub mod fault;
pub mod layout;
pub mod lock;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::NaiveDate;
use serde::de::DeserializeOwned;

use crate::domain::id::{Id, IdKind};
use crate::domain::ledger::Entry;
use crate::error::{Error, IoContext, Result};
use crate::text::parse_toml;

pub use layout::{files_with_ext, is_record_file};

pub const OFFICE_FILE: &str = "frontdesk.toml";
pub const STATE_DIR: &str = ".frontdesk";

/// A records tree's root, and whether this process holds its write lock.
pub struct Tree {
    root: PathBuf,
    /// True while a `Txn` of this process holds the write lock (caches may then be saved).
    holds_lock: AtomicBool,
    /// Which taking of the write lock that is, unique in the process (see [`Tree::lock_epoch`]).
    lock_epoch: AtomicU64,
}

/// The last number given to a taking of the write lock in this process.
static LOCK_EPOCHS: AtomicU64 = AtomicU64::new(0);

impl Tree {
    pub fn new(root: &Path) -> Tree {
        Tree {
            root: root.to_path_buf(),
            holds_lock: AtomicBool::new(false),
            lock_epoch: AtomicU64::new(0),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    /// Shows a path the way errors show it: relative to where the user stands when possible.
    pub fn display(&self, rel: &Path) -> String {
        self.root.join(rel).display().to_string()
    }

    /// True while this process holds the write lock through a `Txn`.
    pub fn holds_lock(&self) -> bool {
        self.holds_lock.load(Ordering::SeqCst)
    }

    /// Set by the write path when its transaction takes and releases the lock.
    pub(crate) fn set_holds_lock(&self, held: bool) {
        if held {
            let epoch = LOCK_EPOCHS.fetch_add(1, Ordering::SeqCst) + 1;
            self.lock_epoch.store(epoch, Ordering::SeqCst);
        }
        self.holds_lock.store(held, Ordering::SeqCst);
    }

    /// While a `Txn` of this process holds the write lock, a number for that transaction,
    /// unique in the process: what a cache found of the records under it stays true for it
    /// (only its own writes, which it knows of, change them), and for it alone.
    pub fn lock_epoch(&self) -> Option<u64> {
        self.holds_lock()
            .then(|| self.lock_epoch.load(Ordering::SeqCst))
    }

    /// Takes the write lock only if it is free right now: for readers that refresh a cache
    /// and may skip saving it while a writer works.
    pub fn try_lock(&self) -> Result<Option<File>> {
        let (file, path) = self.lock_file()?;
        match file.try_lock() {
            Ok(()) => {
                lock::LockHolder::write(&file);
                Ok(Some(file))
            }
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(Error::io(&path, "lock", e)),
        }
    }

    /// The lock file (created, private), and its path for errors.
    pub(crate) fn lock_file(&self) -> Result<(File, PathBuf)> {
        let dir = self.root.join(STATE_DIR);
        atomic::create_dirs(&dir)?;
        let path = dir.join("lock");
        Ok((lock::open_lock_file(&path)?, path))
    }

    // ---- ledger reads the caches share ----

    /// Reads one entry and checks it belongs where it lies (its ID names the file, its date the
    /// directory), so a file copied to the wrong place is reported rather than miscounted.
    pub fn read_entry(&self, rel: &Path) -> Result<Entry> {
        let path = self.path(rel);
        let bytes = fs::read(&path).at_path(&path, "read")?;
        entry_from(rel, &path, &bytes)
    }

    /// [`Tree::read_entry`], or None when the file is gone (one open, no separate stat).
    pub(crate) fn read_entry_if_present(&self, rel: &Path) -> Result<Option<Entry>> {
        let path = self.path(rel);
        match fs::read(&path) {
            Ok(bytes) => entry_from(rel, &path, &bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, "read", e)),
        }
    }

    /// Every business day that has a ledger directory, oldest first.
    pub fn ledger_days(&self) -> Result<Vec<NaiveDate>> {
        let mut days = Vec::new();
        let root = self.path(Path::new(layout::LEDGER_DIR));
        for y in layout::numeric_dirs(&root)? {
            for m in layout::numeric_dirs(&root.join(format!("{y:04}")))? {
                let month = root.join(format!("{y:04}/{m:02}"));
                for d in layout::numeric_dirs(&month)? {
                    if let Some(date) = NaiveDate::from_ymd_opt(y as i32, m, d) {
                        days.push(date);
                    }
                }
            }
        }
        days.sort();
        Ok(days)
    }

    /// The IDs of the entries filed under one day.
    pub fn ledger_day_ids(&self, date: NaiveDate) -> Result<Vec<Id>> {
        let dir = self.path(&layout::ledger_day_rel(date));
        let mut ids = Vec::new();
        let Ok(rd) = fs::read_dir(&dir) else {
            return Ok(ids);
        };
        for entry in rd {
            let entry = entry.at_path(&dir, "list")?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(stem) = name.strip_suffix(".toml")
                && !stem.starts_with('.')
                && let Ok(id) = Id::parse_kind(stem, IdKind::Transaction)
            {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }
}

/// Parses and validates an entry read from `rel` (shown as `path` in errors).
fn entry_from(rel: &Path, path: &Path, bytes: &[u8]) -> Result<Entry> {
    let e: Entry = parse_toml(path, bytes)?;
    e.validate().map_err(|err| err.at(path.display()))?;
    if layout::ledger_rel(e.date, &e.id) != rel {
        return Err(Error::user(format!(
            "{}: entry {} dated {} is not in its place ({})",
            path.display(),
            e.id,
            e.date,
            layout::ledger_rel(e.date, &e.id).display()
        ))
        .hint("move the file back where its ID and date say it belongs"));
    }
    Ok(e)
}

/// Items read on one core when there are this few: waking the other threads costs more.
const READ_ON_ONE_CORE: usize = 48;

/// `read` of each item, in order: on one core for a few dozen, on every core past that (a full
/// day of a large practice is 400-500 appointment files, and as many patients on its sheet).
pub fn read_each<T: Sync, R: Send>(items: &[T], read: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    use rayon::prelude::*;
    match items.len() {
        0..=READ_ON_ONE_CORE => items.iter().map(read).collect(),
        _ => items.par_iter().map(read).collect(),
    }
}

/// Parses a TOML record. Errors give the file and line, and never quote the file's content.
pub fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).at_path(path, "read")?;
    parse_toml(path, &bytes)
}
