//! The duplicate guard's keys: a hash of (folded family name, birth date) → patient ID, so that
//! `patient add` reads ~2 MB instead of checking every patient file. Disposable, like the
//! search index beside it: candidates are always confirmed against their record files.
//!
//! Two files under `.frontdesk/index/`: a sealed snapshot (`patient-keys.bin`), written by a
//! full index refresh, and a journal (`patient-keys.log`) that each saved patient appends one
//! record to, so that an add writes a few bytes instead of rewriting 2 MB. The journal is folded
//! into a new snapshot when it grows past a limit. A torn or damaged record makes the whole
//! cache untrusted: the caller then refreshes the index, which rewrites both.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::disk::atomic;
use crate::disk::codec::{self, Reader, Writer};
use crate::error::Result;

const MAGIC: &[u8; 8] = b"FDPKY001";
const SNAPSHOT: &str = "patient-keys.bin";
const JOURNAL: &str = "patient-keys.log";
/// Past this size the journal is folded into the snapshot (about 20,000 additions).
const JOURNAL_LIMIT: u64 = 512 * 1024;

/// FNV-1a over the folded family name and the ISO birth date.
pub fn key_hash(family_folded: &str, birth_date: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in family_folded.bytes().chain([0]).chain(birth_date.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The names of both files, for whoever deletes the index.
pub const FILES: [&str; 2] = [SNAPSHOT, JOURNAL];

/// Replaces the snapshot with `keys` and empties the journal (a full refresh knows them all).
pub fn save(dir: &Path, keys: &[(u64, String)]) -> Result<()> {
    let mut w = Writer::with_capacity(keys.len() * 20 + 8);
    w.u32(keys.len() as u32);
    for (h, id) in keys {
        w.u64(*h);
        w.str(id);
    }
    atomic::write_unsynced(
        &dir.join(SNAPSHOT),
        &codec::seal(MAGIC, &w.buf),
        atomic::Mode::Replace,
    )?;
    // A journal left by a crash between these two steps only repeats keys: harmless.
    let _ = fs::remove_file(dir.join(JOURNAL));
    Ok(())
}

/// IDs whose key is `want`, sorted and without repeats; None when there is no trustworthy
/// cache (no snapshot, or a damaged file).
pub fn lookup(dir: &Path, want: u64) -> Option<Vec<String>> {
    let mut ids = Vec::new();
    scan(dir, |hash, id| {
        if hash == want {
            ids.push(id.to_string());
        }
    })?;
    ids.sort();
    ids.dedup();
    Some(ids)
}

/// Records the keys of patients just saved. Without a snapshot there is nothing to add to: the
/// next refresh builds one. Called under the records lock.
pub fn note(dir: &Path, new: &[(u64, String)]) {
    if new.is_empty() || !dir.join(SNAPSHOT).is_file() {
        return;
    }
    let mut records = Vec::with_capacity(new.len() * 32);
    for (hash, id) in new {
        records.extend_from_slice(&journal_record(*hash, id));
    }
    let path = dir.join(JOURNAL);
    let appended = fs::OpenOptions::new()
        .create(true)
        .append(true)
        // IDs only, but under .frontdesk everything is the office's alone.
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(&records).map(|()| f));
    match appended {
        Ok(f) if f.metadata().is_ok_and(|m| m.len() > JOURNAL_LIMIT) => fold(dir),
        Ok(_) => {}
        // An unwritable cache only costs a refresh later.
        Err(_) => {
            let _ = fs::remove_file(dir.join(SNAPSHOT));
        }
    }
}

/// Folds the journal into a new snapshot; drops the cache when it cannot be read whole.
fn fold(dir: &Path) {
    let mut keys = Vec::new();
    let whole = scan(dir, |hash, id| keys.push((hash, id.to_string())));
    if whole.is_none() || save(dir, &keys).is_err() {
        let _ = fs::remove_file(dir.join(SNAPSHOT));
    }
}

/// Calls `each` for every key of the snapshot, then of the journal, without copying. None
/// when the snapshot is missing or damaged, or a journal record is torn.
fn scan(dir: &Path, mut each: impl FnMut(u64, &str)) -> Option<()> {
    let bytes = fs::read(dir.join(SNAPSHOT)).ok()?;
    let body = codec::unseal(MAGIC, &bytes)?;
    let mut r = Reader::new(body);
    let count = r.u32()?;
    for _ in 0..count {
        let hash = r.u64()?;
        each(hash, r.str()?);
    }
    if !r.at_end() {
        return None;
    }
    let journal = match fs::read(dir.join(JOURNAL)) {
        Ok(j) => j,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(()),
        Err(_) => return None,
    };
    let mut r = Reader::new(&journal);
    while !r.at_end() {
        let start = journal.len() - r.remaining();
        let hash = r.u64()?;
        let id = r.str()?;
        let end = journal.len() - r.remaining();
        if r.u64()? != codec::checksum(&journal[start..end]) {
            return None;
        }
        each(hash, id);
    }
    Some(())
}

/// One journal record: the key, the ID, and a checksum of both.
fn journal_record(hash: u64, id: &str) -> Vec<u8> {
    let mut w = Writer::with_capacity(32);
    w.u64(hash);
    w.str(id);
    let sum = codec::checksum(&w.buf);
    w.u64(sum);
    w.buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u64) -> Vec<(u64, String)> {
        (0..n).map(|i| (i % 7, format!("P{i:08}"))).collect()
    }

    #[test]
    fn journal_additions_are_found_with_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &keys(20)).unwrap();
        note(
            dir.path(),
            &[(3, "PNEW00001".into()), (99, "PNEW00002".into())],
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join(JOURNAL))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let threes = lookup(dir.path(), 3).unwrap();
        assert_eq!(threes.len(), 4);
        assert!(threes.contains(&"PNEW00001".to_string()));
        assert_eq!(lookup(dir.path(), 99).unwrap(), ["PNEW00002"]);
        assert_eq!(lookup(dir.path(), 12345).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn without_a_snapshot_nothing_is_noted_and_nothing_is_trusted() {
        let dir = tempfile::tempdir().unwrap();
        note(dir.path(), &[(3, "PNEW00001".into())]);
        assert!(!dir.path().join(JOURNAL).exists());
        assert_eq!(lookup(dir.path(), 3), None);
    }

    #[test]
    fn a_torn_journal_record_distrusts_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &keys(5)).unwrap();
        note(dir.path(), &[(3, "PNEW00001".into())]);
        let path = dir.path().join(JOURNAL);
        let mut bytes = fs::read(&path).unwrap();
        bytes.pop();
        fs::write(&path, &bytes).unwrap();
        assert_eq!(lookup(dir.path(), 3), None);
        bytes.push(0);
        bytes[9] ^= 0x40;
        fs::write(&path, &bytes).unwrap();
        assert_eq!(lookup(dir.path(), 3), None);
    }

    #[test]
    fn a_long_journal_is_folded_into_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &keys(3)).unwrap();
        let many: Vec<(u64, String)> = (0..JOURNAL_LIMIT / 16)
            .map(|i| (1000 + i % 5, format!("PJ{i:07}")))
            .collect();
        for chunk in many.chunks(1000) {
            note(dir.path(), chunk);
        }
        let journal = fs::metadata(dir.path().join(JOURNAL)).map_or(0, |m| m.len());
        assert!(journal <= JOURNAL_LIMIT, "folded: {journal} bytes left");
        let total: usize = (1000..1005)
            .map(|k| lookup(dir.path(), k).unwrap().len())
            .sum();
        assert_eq!(total, many.len());
        assert_eq!(lookup(dir.path(), 0).unwrap(), ["P00000000"]);
    }
}
