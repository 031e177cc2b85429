//! Self-healing history: what a killed command left behind is repaired by the next command that
//! takes the write lock, so the audit trail never silently stops.
//!
//! Each writing process keeps a journal, `.frontdesk/journal/<pid>`, created when it takes the
//! write lock (the caches it refreshes under the lock write temp files before its first
//! record) and removed when it ends cleanly. Before a record is written its path is appended (one
//! `write`, no fsync: a `kill -9` keeps what was written to the page cache); a successful commit
//! empties the journal. So a journal whose process is gone names exactly the records that may
//! be on disk without a commit, and its existence says the process died mid-command.
//!
//! Under the lock, the next writer ([`recover`]):
//! - removes temp files (`.fdtmp<pid>-…`) of dead processes in the folders the dead journals
//!   name and under `.frontdesk/`;
//! - removes git's `.git/index.lock` when no live git process works in the tree (a killed
//!   frontdesk or git left it; a git run by hand is waited for instead);
//! - commits the journaled records that exist, authored by `recovery`, with a message naming
//!   their IDs and saying they were recovered.
//!
//! Power loss is not covered by the journal (it is not fsynced, to keep a booking one fsync
//! cheaper): after a power cut `frontdesk check --fix` finds the same leftovers by walking.
//! Only trees that are git repositories with commits on keep journals.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::disk::STATE_DIR;
use crate::disk::atomic::{self, TEMP_PREFIX};
use crate::disk::lock::alive;
use crate::error::{Error, Result};
use crate::history::git;

const DIR: &str = "journal";

/// The author of commits that record what an interrupted command left.
pub const RECOVERY_AUTHOR: &str = "recovery";

/// This process's journal, once it has written.
#[derive(Default)]
pub struct Journal {
    file: Option<(File, PathBuf)>,
    /// Paths written since the last commit: the journal must outlive the process.
    pending: bool,
}

impl Journal {
    /// Starts the journal, empty: the process holds the write lock, and the caches it
    /// refreshes under it write temp files of their own (in `.frontdesk/`), which a kill
    /// would leave behind with no journal to say the process died mid-command.
    pub fn start(&mut self, root: &Path) -> Result<()> {
        if self.file.is_none() {
            self.file = Some(open(root)?);
        }
        Ok(())
    }

    /// Notes that `rels` are about to be written.
    pub fn note(&mut self, root: &Path, rels: &[&Path]) -> Result<()> {
        self.start(root)?;
        let (file, path) = self.file.as_mut().expect("opened above");
        let mut line = Vec::with_capacity(rels.len() * 40);
        for rel in rels {
            line.extend_from_slice(rel.as_os_str().as_encoded_bytes());
            line.push(b'\n');
        }
        file.write_all(&line)
            .map_err(|e| Error::io(path, "write the journal", e))?;
        self.pending = true;
        Ok(())
    }

    /// Everything noted is committed: a crash from here on leaves nothing to recover.
    pub fn committed(&mut self) {
        if let Some((file, _)) = &self.file {
            // A journal that could not be emptied only costs the next writer a no-op commit.
            if file.set_len(0).is_ok() {
                self.pending = false;
            }
        }
    }

    /// The process ends cleanly: the journal goes unless records are left uncommitted (a
    /// failed commit), which the next writer then commits.
    pub fn finish(&mut self) {
        if let Some((_, path)) = self.file.take()
            && !self.pending
        {
            let _ = fs::remove_file(path);
        }
    }
}

fn journal_dir(root: &Path) -> PathBuf {
    root.join(STATE_DIR).join(DIR)
}

fn open(root: &Path) -> Result<(File, PathBuf)> {
    let dir = journal_dir(root);
    atomic::create_dirs(&dir)?;
    let path = dir.join(std::process::id().to_string());
    let file = File::options()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io(&path, "open the journal", e))?;
    // A journal of a dead process that had our PID was recovered before we got here.
    file.set_len(0)
        .map_err(|e| Error::io(&path, "empty the journal", e))?;
    Ok((file, path))
}

/// The PID a temp file's name carries (`.fdtmp123-x`, `.fdtmpold-123-x`), if any.
pub fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let rest = rest.strip_prefix("old-").unwrap_or(rest);
    let (digits, _) = rest.split_once('-')?;
    digits.parse().ok()
}

/// What [`recover`] repaired, for the note it prints.
#[derive(Debug, Default)]
pub struct Recovered {
    pub committed: Vec<PathBuf>,
    pub temp_files: usize,
    pub git_lock: bool,
}

impl Recovered {
    pub fn is_empty(&self) -> bool {
        self.committed.is_empty() && self.temp_files == 0 && !self.git_lock
    }
}

/// Repairs what killed commands left. Call with the write lock held, in a git tree with
/// commits on. Cheap when nothing was left: one `readdir` and one `stat`.
pub fn recover(root: &Path, user: &str) -> Result<Recovered> {
    let mut done = Recovered::default();
    let mut dead: Vec<PathBuf> = Vec::new();
    let mut paths: Vec<PathBuf> = Vec::new();
    if let Ok(entries) = fs::read_dir(journal_dir(root)) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if pid != std::process::id() && alive(pid) {
                continue;
            }
            let text = fs::read(entry.path()).unwrap_or_default();
            paths.extend(
                text.split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .filter_map(|l| std::str::from_utf8(l).ok())
                    .map(PathBuf::from)
                    .filter(|p| is_plain_rel(p)),
            );
            dead.push(entry.path());
        }
    }
    if !dead.is_empty() {
        let mut folders: Vec<PathBuf> = paths
            .iter()
            .map(|p| root.join(p.parent().unwrap_or(Path::new(""))))
            .collect();
        folders.sort();
        folders.dedup();
        for folder in &folders {
            done.temp_files += sweep(folder, false);
        }
        done.temp_files += sweep(&root.join(STATE_DIR), true);
    }
    done.git_lock = remove_stale_git_lock(root)?;
    paths.sort();
    paths.dedup();
    paths.retain(|p| root.join(p).is_file());
    if !paths.is_empty()
        && git::commit(
            root,
            RECOVERY_AUTHOR,
            &paths,
            &recovery_message(&paths, user),
        )?
    {
        done.committed = paths;
    }
    for journal in dead {
        let _ = fs::remove_file(journal);
    }
    Ok(done)
}

/// A journaled path is relative and stays inside the tree.
fn is_plain_rel(p: &Path) -> bool {
    p.is_relative()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// Removes the temp files of dead processes in `dir` (and below it, if `deep`).
fn sweep(dir: &Path, deep: bool) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(pid) = temp_owner(&name) {
            if !alive(pid) && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        } else if deep && entry.file_type().is_ok_and(|t| t.is_dir()) {
            removed += sweep(&entry.path(), true);
        }
    }
    removed
}

/// Removes `.git/index.lock` when no git process is working in the tree. A live one (someone
/// ran git by hand) is given a few seconds to finish, then left alone: the commit that follows
/// waits for it too, and says so if it must give up.
fn remove_stale_git_lock(root: &Path) -> Result<bool> {
    let lock = root.join(".git").join("index.lock");
    if !lock.exists() {
        return Ok(false);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while git_running_in(root) {
        if Instant::now() > deadline || !lock.exists() {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    match fs::remove_file(&lock) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(&lock, "remove git's stale lock", e)),
    }
}

/// True when a process named `git…` has its working folder in the tree (Linux's /proc; where
/// there is none, every lock counts as held, as before).
fn git_running_in(root: &Path) -> bool {
    let Ok(procs) = fs::read_dir("/proc") else {
        return true;
    };
    let root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    procs.flatten().any(|p| {
        let dir = p.path();
        let is_pid = p
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit());
        is_pid
            && fs::read_to_string(dir.join("comm")).is_ok_and(|c| c.trim_end().starts_with("git"))
            && fs::read_link(dir.join("cwd")).is_ok_and(|cwd| cwd.starts_with(&root))
    })
}

/// "Recover changes an interrupted command left uncommitted: P7K3QX9M2, A…. (by maria)":
/// IDs from file names, never content.
pub fn recovery_message(paths: &[PathBuf], user: &str) -> String {
    format!(
        "Recover changes an interrupted command left uncommitted: {} (repaired by {user}).",
        id_list(paths)
    )
}

/// Up to ten record IDs (file stems, each once: a letter is its record and its rendered file)
/// and how many more.
pub fn id_list(paths: &[PathBuf]) -> String {
    let mut all: Vec<String> = paths
        .iter()
        .map(|p| {
            p.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    all.dedup();
    let names: Vec<String> = all.iter().take(10).cloned().collect();
    let more = all.len().saturating_sub(names.len());
    if more > 0 {
        format!("{} and {more} more", names.join(", "))
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_carry_their_writer() {
        assert_eq!(temp_owner(".fdtmp123-abC9"), Some(123));
        assert_eq!(temp_owner(".fdtmpold-77-123456"), Some(77));
        assert_eq!(temp_owner(".fdtmpXYZ"), None);
        assert_eq!(temp_owner("P7K3QX9M2.toml"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_free_pid_is_not() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
    }

    #[test]
    fn journaled_paths_cannot_leave_the_tree() {
        assert!(is_plain_rel(Path::new("patients/7K/P7K.toml")));
        assert!(!is_plain_rel(Path::new("../etc/passwd")));
        assert!(!is_plain_rel(Path::new("/etc/passwd")));
    }
}
