//! Fingerprints of a set of files' stat data, which `check`'s cache ([`super::check_cache`])
//! and its note of a clean tree ([`super::clean_note`]) both compare: a sum of one hash per
//! file, so it can be gathered on all cores in any order, and the newest time seen (for the
//! racy-timestamp rule).

use std::fs;
use std::os::unix::fs::MetadataExt;

use crate::derived::stamp::ns;
use crate::disk::codec::{Writer, checksum};

/// A fingerprint of a set of files' stat data: the sum of one hash per file, so it can be
/// gathered on all cores in any order, and the newest time seen (for the racy rule).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Print {
    pub sum: u64,
    pub newest: i64,
}

impl Print {
    /// Adds one file: its path and everything `lstat` says that an edit, a chmod, a
    /// replacement or a rename would move.
    pub fn add(&mut self, path: &[u8], meta: &std::fs::Metadata) {
        self.sum = self.sum.wrapping_add(contribution(path, meta));
        let (mtime, ctime) = (
            ns(meta.mtime(), meta.mtime_nsec()),
            ns(meta.ctime(), meta.ctime_nsec()),
        );
        self.newest = self.newest.max(mtime).max(ctime);
    }

    pub fn join(mut self, other: Print) -> Print {
        self.sum = self.sum.wrapping_add(other.sum);
        self.newest = self.newest.max(other.newest);
        self
    }
}

/// The hash one path adds to a fingerprint: its path and everything `lstat` says that an
/// edit, a chmod, a replacement or a rename would move. [`Print::add`] sums these.
pub fn contribution(path: &[u8], meta: &fs::Metadata) -> u64 {
    let mut w = Writer::with_capacity(path.len() + 40);
    w.buf.extend_from_slice(path);
    w.u32(meta.mode());
    w.u64(meta.len());
    w.i64(ns(meta.mtime(), meta.mtime_nsec()));
    w.i64(ns(meta.ctime(), meta.ctime_nsec()));
    w.u64(meta.ino());
    checksum(&w.buf)
}
