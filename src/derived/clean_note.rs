//! `check`'s memory of a clean `git status`, kept true across frontdesk's own commits.
//!
//! `frontdesk check` reports files changed but not committed, which takes `git status`; at full
//! size that loads git's whole index: 8-15 s and over 600 MB of git's memory. So `check`
//! remembers a clean answer as two fingerprints ([`Print`]): one of the tree (every file's and
//! folder's stat data, `.git` and the state folder aside) and one of what git reads besides
//! (index, HEAD, branches, settings). While both are unchanged, git would answer the same.
//!
//! A fingerprint is a sum of one hash per path, so a frontdesk commit moves the note along
//! instead of dropping it: its transaction takes the hash of every path it is about to touch
//! (the file and each folder up to the top) before writing, and after its commit adds the new
//! hashes and takes away the old ones, and records git's fingerprint as the commit left it. A
//! change made by anything else (an editor, a `git add`, a file left behind) still moves the
//! tree or git away from the note, and the next `check` asks git again. So a nightly `check`
//! after a day of bookings and payments runs no `git status` at all.
//!
//! A file frontdesk has just written carries a stamp in the current clock tick, and an edit
//! straight after it could leave the same stamp (git calls such entries "racily clean"). The
//! note keeps each such file with the length and checksum of the bytes written, and `check`
//! compares them before trusting the note; once a file's stamp has settled it is dropped.

use std::collections::HashMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::derived::print::{Print, contribution};
use crate::derived::stamp::{SETTLE_NS, ns};
use crate::disk::Tree;
use crate::disk::atomic;
use crate::disk::codec::{Reader, Writer, checksum, seal, unseal};

/// The note's file, in the state folder's `index/`.
pub const FILE: &str = "check-git.bin";
const MAGIC: &[u8; 8] = b"FDCHKG02";

/// More files than this waiting for their stamps to settle: drop the note instead (the next
/// `check` asks git once and starts a new one).
const MAX_PENDING: usize = 20_000;

/// A file written by frontdesk whose stamp was racy when the note was moved along.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    rel: PathBuf,
    len: u64,
    sum: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Note {
    tree: u64,
    git: u64,
    pending: Vec<Pending>,
}

impl Note {
    fn read(path: &Path) -> Option<Note> {
        Note::read_bytes(&fs::read(path).ok()?)
    }

    fn read_bytes(bytes: &[u8]) -> Option<Note> {
        let mut r = Reader::new(unseal(MAGIC, bytes)?);
        let (tree, git) = (r.u64()?, r.u64()?);
        let n = r.u32()? as usize;
        let mut pending = Vec::with_capacity(n.min(MAX_PENDING));
        for _ in 0..n {
            let rel = PathBuf::from(r.str()?);
            pending.push(Pending {
                rel,
                len: r.u64()?,
                sum: r.u64()?,
            });
        }
        r.at_end().then_some(Note { tree, git, pending })
    }

    fn write(&self, path: &Path) {
        let mut w = Writer::with_capacity(24 + self.pending.len() * 64);
        w.u64(self.tree);
        w.u64(self.git);
        w.u32(self.pending.len() as u32);
        for p in &self.pending {
            w.str(&p.rel.to_string_lossy());
            w.u64(p.len);
            w.u64(p.sum);
        }
        if let Some(dir) = path.parent() {
            let _ = atomic::create_dirs(dir);
        }
        let _ = atomic::write_unsynced(path, &seal(MAGIC, &w.buf), atomic::Mode::Replace);
    }
}

/// Where the note of the tree at `store` lives.
pub fn path(store: &Tree) -> PathBuf {
    super::index_dir(store).join(FILE)
}

/// The hash of whatever is at `path` now (0: nothing is there).
fn contribution_of(path: &Path) -> u64 {
    fs::symlink_metadata(path)
        .map(|m| contribution(path.as_os_str().as_bytes(), &m))
        .unwrap_or(0)
}

/// True when the last `git status` found nothing uncommitted and neither the tree nor what
/// git reads has changed since, except by frontdesk's own commits: asking git again would give
/// the same empty answer. Files of those commits that are still racy must hold exactly the
/// bytes written; settled ones are dropped from the note.
pub fn known_clean(store: &Tree, tree: &Print, git: &Print, started: i64) -> bool {
    let path = path(store);
    let Some(note) = Note::read(&path) else {
        return false;
    };
    if note.tree != tree.sum || note.git != git.sum {
        return false;
    }
    if note.pending.is_empty() {
        return true;
    }
    if !all_intact(store.root(), &note.pending) {
        return false;
    }
    let settled_before = started.saturating_sub(SETTLE_NS);
    let still_racy: Vec<Pending> = note
        .pending
        .iter()
        .filter(|p| {
            fs::symlink_metadata(store.path(&p.rel)).map_or(true, |m| {
                ns(m.mtime(), m.mtime_nsec()).max(ns(m.ctime(), m.ctime_nsec())) >= settled_before
            })
        })
        .cloned()
        .collect();
    if still_racy.len() != note.pending.len() {
        Note {
            pending: still_racy,
            ..note
        }
        .write(&path);
    }
    true
}

/// True when every pending file holds exactly the bytes frontdesk wrote there.
fn all_intact(root: &Path, pending: &[Pending]) -> bool {
    pending.iter().all(|p| {
        fs::read(root.join(&p.rel)).is_ok_and(|b| b.len() as u64 == p.len && checksum(&b) == p.sum)
    })
}

/// Remembers what `git status`, started at `started` (ns), found: a clean answer only when
/// every stamp is older than two seconds before it, so no edit can hide in the same clock tick.
pub fn note_status(store: &Tree, clean: bool, started: i64, tree: &Print, git: &Print) {
    let path = path(store);
    let settled = tree.newest.max(git.newest) < started.saturating_sub(SETTLE_NS);
    if !(clean && settled) {
        let _ = fs::remove_file(&path);
        return;
    }
    Note {
        tree: tree.sum,
        git: git.sum,
        pending: Vec::new(),
    }
    .write(&path);
}

/// The stamps of what `git status` reads besides the tree: the index, HEAD and the branches,
/// (not the `.git` folder itself: every `git status` makes and removes `index.lock` there)
/// the repository's settings and ignore rules, and the user's and system's git settings. (An
/// ignore file named by `core.excludesFile` elsewhere is not watched: it could only hide
/// files, and a clean status is all that is remembered.)
pub fn git_print(root: &Path) -> Print {
    let git = root.join(".git");
    let mut paths: Vec<PathBuf> = [
        "index",
        "HEAD",
        "packed-refs",
        "config",
        "info/exclude",
        "refs/heads",
    ]
    .iter()
    .map(|p| git.join(p))
    .collect();
    if let Ok(head) = fs::read_to_string(git.join("HEAD"))
        && let Some(branch) = head.trim().strip_prefix("ref: ")
    {
        paths.push(git.join(branch));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    paths.extend(home.map(|h| h.join(".gitconfig")));
    paths.extend(
        xdg.iter()
            .flat_map(|x| [x.join("git/config"), x.join("git/ignore")]),
    );
    paths.push(PathBuf::from("/etc/gitconfig"));
    let mut print = Print::default();
    for p in paths {
        match fs::symlink_metadata(&p) {
            Ok(meta) => print.add(p.as_os_str().as_bytes(), &meta),
            // A file that appears later changes the sum too.
            Err(_) => print.sum = print.sum.wrapping_add(checksum_of_missing(&p)),
        }
    }
    print
}

fn checksum_of_missing(p: &Path) -> u64 {
    checksum(p.as_os_str().as_bytes()).rotate_left(7)
}

/// A transaction's part in keeping the note true: what it touched, with the hashes from
/// before it wrote. Only made when there is a note to keep.
pub struct Tracker {
    /// git's fingerprint when the transaction began, before anything was written.
    git_before: u64,
    /// Every path touched (the file and each folder up to the top), with its hash from before.
    before: HashMap<PathBuf, u64>,
    /// Files written, with the length and checksum of their last bytes.
    written: HashMap<PathBuf, (u64, u64)>,
}

impl Tracker {
    /// Starts tracking when a note exists (one `stat`; otherwise nothing is done).
    pub fn start(store: &Tree, is_git: bool) -> Option<Tracker> {
        if !is_git || !path(store).exists() {
            return None;
        }
        Some(Tracker {
            git_before: git_print(store.root()).sum,
            before: HashMap::new(),
            written: HashMap::new(),
        })
    }

    /// Takes the hashes of `rel` and every folder above it that this transaction has not
    /// touched yet, before `rel` is written.
    pub fn before_write(&mut self, store: &Tree, rel: &Path) {
        let mut at = Some(rel);
        while let Some(r) = at {
            if self.before.contains_key(r) {
                break;
            }
            self.before
                .insert(r.to_path_buf(), contribution_of(&full(store, r)));
            at = r.parent();
        }
    }

    /// Records the bytes just written at `rel`.
    pub fn wrote(&mut self, rel: &Path, bytes: &[u8]) {
        self.written
            .insert(rel.to_path_buf(), (bytes.len() as u64, checksum(bytes)));
    }

    /// After the transaction's commit succeeded: moves the note by what was touched, or
    /// drops it when git's files had changed before this transaction began.
    pub fn committed(self, store: &Tree) {
        let path = path(store);
        let Some(note) = Note::read(&path) else {
            return;
        };
        if note.git != self.git_before {
            let _ = fs::remove_file(&path);
            return;
        }
        let mut tree = note.tree;
        for (rel, old) in &self.before {
            tree = tree
                .wrapping_sub(*old)
                .wrapping_add(contribution_of(&full(store, rel)));
        }
        let mut pending: Vec<Pending> = note
            .pending
            .into_iter()
            .filter(|p| !self.written.contains_key(&p.rel))
            .collect();
        pending.extend(
            self.written
                .into_iter()
                .map(|(rel, (len, sum))| Pending { rel, len, sum }),
        );
        if pending.len() > MAX_PENDING {
            let _ = fs::remove_file(&path);
            return;
        }
        pending.sort_by(|a, b| a.rel.cmp(&b.rel));
        Note {
            tree,
            git: git_print(store.root()).sum,
            pending,
        }
        .write(&path);
    }
}

/// The path `check`'s walk gives `rel` (the top of the tree for the empty path).
fn full(store: &Tree, rel: &Path) -> PathBuf {
    if rel.as_os_str().is_empty() {
        store.root().to_path_buf()
    } else {
        store.path(rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_round_trips_and_refuses_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let note = Note {
            tree: 7,
            git: 9,
            pending: vec![Pending {
                rel: PathBuf::from("patients/7K/P7K3QX9M2.toml"),
                len: 120,
                sum: 42,
            }],
        };
        note.write(&path);
        assert_eq!(Note::read(&path), Some(note));
        let mut bytes = fs::read(&path).unwrap();
        for n in 0..bytes.len() {
            assert_eq!(Note::read_bytes(&bytes[..n]), None, "cut at {n}");
        }
        bytes[12] ^= 1;
        assert_eq!(Note::read_bytes(&bytes), None);
    }

    #[test]
    fn a_pending_file_must_hold_exactly_the_bytes_written() {
        let dir = tempfile::tempdir().unwrap();
        let written = b"id = \"P7K3QX9M2\"\n";
        fs::write(dir.path().join("a.toml"), written).unwrap();
        let pending = |bytes: &[u8]| Pending {
            rel: PathBuf::from("a.toml"),
            len: bytes.len() as u64,
            sum: checksum(bytes),
        };
        assert!(all_intact(dir.path(), &[pending(written)]));
        // Same length, one byte changed (an edit in the same clock tick keeps the stamp).
        assert!(!all_intact(dir.path(), &[pending(b"id = \"P7K3QX9M3\"\n")]));
        fs::remove_file(dir.path().join("a.toml")).unwrap();
        assert!(!all_intact(dir.path(), &[pending(written)]));
        assert!(all_intact(dir.path(), &[]));
    }
}
