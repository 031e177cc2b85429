//! The direct commit: records committed without git ever loading the big index.
//!
//! At 2.8 million files git's index is 200 MB, and every `git update-index` or `git commit`
//! reads it whole (and the plain index is rewritten whole too): 5 s per booking. Here the new
//! commit is built by `git fast-import`, which reads only the trees along the changed paths
//! (root, `patients/`, one shard), and the index stays in step through the small half of
//! git's split index (`git_index`), so `git status` stays clean. An import goes the same way, as
//! one pack. Anything unusual (no split index, a merge in progress, a detached HEAD, odd path
//! names, a removed file) makes the caller take the porcelain way instead.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::git_index::{Delta, Entry, Unusable, blob_oid, hex};
use super::plumbing::{self, git, operation_in_progress, run};
use crate::error::{Error, Result};

/// Whether the direct way did the commit.
#[derive(Debug, PartialEq, Eq)]
pub enum Direct {
    /// Done the direct way; `committed` is false when the content was already committed.
    Done {
        committed: bool,
    },
    NotApplicable,
}

/// Entries the small index may hold before the porcelain way folds them into a new shared
/// index: about 2 MB, read and hashed on each commit. `FRONTDESK_GIT_DELTA_LIMIT` overrides it
/// (tests use a tiny limit to exercise the folding).
const DELTA_LIMIT: usize = 20_000;

fn delta_limit() -> usize {
    plumbing::limit("FRONTDESK_GIT_DELTA_LIMIT", DELTA_LIMIT)
}

pub fn commit_direct(root: &Path, user: &str, paths: &[PathBuf], message: &str) -> Result<Direct> {
    if !paths.iter().all(|p| plain_path(p)) || operation_in_progress(root).is_some() {
        return Ok(Direct::NotApplicable);
    }
    let git_dir = root.join(".git");
    if !git_dir.is_dir() {
        return Ok(Direct::NotApplicable);
    }
    let Some(head) = branch_head(root, user) else {
        return Ok(Direct::NotApplicable);
    };
    // A repository's first commit has no index yet: git's way, without starting fast-import.
    if !git_dir.join("index").is_file() {
        return Ok(Direct::NotApplicable);
    }
    let lock = IndexLock::take(&git_dir)?;
    // git takes a few milliseconds to start and read HEAD's trees: it does that while the
    // index is read and the files hashed here.
    let mut import = FastImport::start(root, user)?;
    let Ok(mut delta) = Delta::read(&git_dir.join("index")) else {
        import.abandon();
        return Ok(Direct::NotApplicable);
    };
    let Some(entries) = index_entries(root, paths)? else {
        import.abandon();
        return Ok(Direct::NotApplicable);
    };

    let mut changed = false;
    for entry in &entries {
        let committed = import.ls(&head.commit, &entry.name)?;
        // One difference is enough to know a commit is due (an import asks once, not 100,000
        // times).
        if committed != Some((mode_of(entry).to_string(), hex(&entry.oid))) {
            changed = true;
            break;
        }
    }
    delta.invalidate_tree(entries.iter().map(|e| e.name.as_slice()));
    // What the commit needs of each entry (its name is its path): the entries themselves go
    // to the index, rather than a copy of 100,000 of them after an import.
    let blobs: Vec<Blob> = entries
        .iter()
        .map(|e| Blob {
            mode: mode_of(e),
            oid: e.oid,
        })
        .collect();
    delta.upsert_all(entries);
    // Replacing entries count as much as added ones: a `git reset` once left 96,000 of them
    // (6.7 MB) for every commit to read and rewrite.
    let fold = delta.held() > delta_limit();
    // The index is written (its cache-tree alone is 300 KB at full size, then fsynced) while
    // the commit is sent, and is in place before the stream ends: fast-import moves the branch
    // only then. So, as before, should the commit fail the change is staged, as with `git add`,
    // and a commit never lands without its index.
    let (staged, sent) = std::thread::scope(|scope| {
        let staged = scope.spawn(move || lock.write(&delta.write()));
        let sent = if changed {
            import.commit(root, &head, user, message, paths, &blobs)
        } else {
            Ok(())
        };
        let staged = staged
            .join()
            .unwrap_or_else(|_| Err(Error::internal("writing git's index failed")));
        (staged, sent)
    });
    if let Err(e) = staged {
        // No commit without its index: fast-import is stopped before it moves the branch.
        import.stop();
        return Err(e);
    }
    sent?;
    import.finish()?;
    if fold {
        // Best effort: the commit is made; an unfolded index only makes the next commit slower.
        let _ = fold_index(root, user);
    }
    housekeep(root, user);
    Ok(Direct::Done { committed: changed })
}

/// What `git commit` would leave tidy. Each commit is a pack of its own (see
/// [`FastImport::start`]): past a few dozen they are rolled into one (`packs.rs`). And `git
/// commit` runs `git gc --auto`, which packs the loose objects (from the porcelain way) once
/// there are about 6,700 of them: git's own cheap estimate (the objects in `.git/objects/17`, a
/// 256th of them) says when to let git do that; `gc.auto` still rules.
fn housekeep(root: &Path, user: &str) {
    super::packs::roll_up_small_packs(root, user);
    let sample = fs::read_dir(root.join(".git/objects/17")).map_or(0, |d| d.count());
    if sample > 6_700_usize.div_ceil(256) {
        let mut cmd = git(root, user);
        cmd.args(["gc", "--auto", "--quiet"]);
        // Best effort, as with git commit: the commit is already made.
        let _ = run(cmd, "pack loose objects");
    }
}

/// The index entry of each path (stat data and blob name), read and hashed in parallel; None
/// when a path is not a regular file (removed, say): git's to stage then.
fn index_entries(root: &Path, paths: &[PathBuf]) -> Result<Option<Vec<Entry>>> {
    use rayon::prelude::*;
    let entries: Vec<Option<Entry>> = paths
        .par_iter()
        .map(|rel| {
            let abs = root.join(rel);
            match fs::symlink_metadata(&abs) {
                Ok(meta) if meta.is_file() => {
                    let content = fs::read(&abs).map_err(|e| Error::io(&abs, "read", e))?;
                    let name = rel.as_os_str().as_encoded_bytes();
                    Ok(Some(Entry::file(name, &meta, blob_oid(&content))))
                }
                _ => Ok(None),
            }
        })
        .collect::<Result<_>>()?;
    Ok(entries.into_iter().collect())
}

/// After a porcelain commit: split an unsplit index (unless someone set `core.splitIndex`
/// to false), and fold a grown small index (past half the desk's limit) into a new shared one,
/// so that the next commits can go the cheap way.
pub fn keep_index_split(root: &Path, user: &str) -> Result<()> {
    fold_from(root, user, delta_limit() / 2 + 1).map(drop)
}

/// What [`tidy_index`] found git's index holding, and whether it folded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tidied {
    /// The small index held this many entries and was folded into a new shared index.
    Folded { entries: usize },
    /// The index was not split (a fresh clone, say) and now is.
    Split,
    /// Left as it was: it held this many entries, fewer than are worth a fold.
    Kept { entries: usize },
    /// Not an index this code reads, or splitting is turned off: left to git.
    LeftToGit,
}

/// Entries from which the nightly tidy folds the small index: about a day of a busy office's
/// writes. Below it a fold would cost more than the commits it speeds up.
/// `FRONTDESK_GIT_TIDY_FROM` overrides it (tests).
const TIDY_FROM: usize = 2_000;

/// Folds git's small index into a new shared one once it holds [`TIDY_FROM`] entries, and
/// splits an unsplit index: for a nightly run, under the records' lock. Every commit reads
/// and rewrites the small index whole (about 0.65 ms per 1,000 entries on the bench machine),
/// and the commit that passes the desk's own limit pays for the fold (5 s at 2.8 million
/// files); folded at night, the day's commits carry only the day's entries and the desk's
/// limit is not reached.
pub fn tidy_index(root: &Path, user: &str) -> Result<Tidied> {
    fold_from(
        root,
        user,
        plumbing::limit("FRONTDESK_GIT_TIDY_FROM", TIDY_FROM),
    )
}

/// Folds the small index once it holds `from` entries or more, and splits an unsplit one
/// (unless `core.splitIndex` is false); what it found, and whether it folded. An index this
/// code does not read is left to git.
fn fold_from(root: &Path, user: &str, from: usize) -> Result<Tidied> {
    let tidied = match Delta::read(&root.join(".git/index")) {
        Ok(delta) if delta.held() >= from => Tidied::Folded {
            entries: delta.held(),
        },
        Ok(delta) => {
            return Ok(Tidied::Kept {
                entries: delta.held(),
            });
        }
        Err(Unusable::NotSplit | Unusable::TooBig) if !split_turned_off(root, user) => {
            Tidied::Split
        }
        Err(_) => return Ok(Tidied::LeftToGit),
    };
    fold_index(root, user)?;
    Ok(tidied)
}

/// Writes a new shared index holding everything (splitting an unsplit index first). The
/// shared indexes it leaves behind (300 MB each at full size) go once a day old, rather than
/// after git's two weeks: nothing but an index file written before the fold names them.
fn fold_index(root: &Path, user: &str) -> Result<()> {
    for (key, value) in SPLIT_CONFIG {
        let mut cmd = git(root, user);
        cmd.args(["config", key, value]);
        run(cmd, "configure the repository")?;
    }
    let mut cmd = git(root, user);
    cmd.args([
        "-c",
        "splitIndex.sharedIndexExpire=1.day.ago",
        "update-index",
        "--split-index",
    ]);
    run(cmd, "split the index").map(drop)
}

fn split_turned_off(root: &Path, user: &str) -> bool {
    let mut cmd = git(root, user);
    cmd.args(["config", "--type=bool", "--get", "core.splitIndex"]);
    run(cmd, "read the configuration").is_ok_and(|v| v.trim() == "false")
}

/// What a split index needs: git 2.47 names a shared index written with index.skipHash by the
/// null hash and then loses entries, so the checksum stays on.
pub const SPLIT_CONFIG: [(&str, &str); 2] =
    [("core.splitIndex", "true"), ("index.skipHash", "false")];

/// Paths fast-import takes unquoted and this code can compare byte for byte.
fn plain_path(p: &Path) -> bool {
    let bytes = p.as_os_str().as_encoded_bytes();
    !bytes.is_empty()
        && bytes[0] != b'/'
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'))
        && !bytes
            .split(|b| *b == b'/')
            .any(|c| c.is_empty() || c == b"." || c == b"..")
}

/// A file's mode and blob name, as a commit records them.
struct Blob {
    mode: &'static str,
    oid: [u8; 20],
}

fn mode_of(entry: &Entry) -> &'static str {
    if entry.stat[6] == 0o100755 {
        "100755"
    } else {
        "100644"
    }
}

struct Head {
    commit: String,
    branch: String,
}

/// The commit HEAD points at and its branch, or None when HEAD is detached or unborn.
/// Read from the files when they are the plain kind (saves starting a git), else asked of git.
fn branch_head(root: &Path, user: &str) -> Option<Head> {
    if let Some(head) = branch_head_from_files(&root.join(".git")) {
        return Some(head);
    }
    let mut cmd = git(root, user);
    cmd.args(["rev-parse", "HEAD", "--symbolic-full-name", "HEAD"]);
    let out = run(cmd, "read HEAD").ok()?;
    let mut lines = out.lines();
    let commit = lines.next()?.trim().to_string();
    let branch = lines.next()?.trim().to_string();
    (is_oid(&commit) && branch.starts_with("refs/heads/")).then_some(Head { commit, branch })
}

/// `.git/HEAD` naming a branch whose loose ref file holds a commit. Anything else (a packed
/// or reftable ref, a detached HEAD) is left to git.
fn branch_head_from_files(git_dir: &Path) -> Option<Head> {
    let head = fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let branch = head.strip_prefix("ref: ")?.trim_end().to_string();
    if !branch.starts_with("refs/heads/") || !plain_path(Path::new(&branch)) {
        return None;
    }
    let commit = fs::read_to_string(git_dir.join(&branch))
        .ok()?
        .trim_end()
        .to_string();
    is_oid(&commit).then_some(Head { commit, branch })
}

fn is_oid(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// git's own `index.lock`: whoever holds it may rewrite the index. Released (removed) on drop
/// unless `write` renamed it into place.
struct IndexLock {
    lock: PathBuf,
    index: PathBuf,
    file: Option<fs::File>,
}

impl IndexLock {
    fn take(git_dir: &Path) -> Result<IndexLock> {
        use std::os::unix::fs::OpenOptionsExt;
        let lock = git_dir.join("index.lock");
        // A git command run by hand holds it for a moment; wait a little, as git's callers do.
        for attempt in 0.. {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&lock)
            {
                Ok(file) => {
                    return Ok(IndexLock {
                        lock,
                        index: git_dir.join("index"),
                        file: Some(file),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 40 => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => {
                    return Err(Error::conflict(format!(
                        "git's index is locked ({}): {e}",
                        lock.display()
                    ))
                    .hint("another git command is running; if none is, `frontdesk check --fix` removes the stale lock"));
                }
            }
        }
        unreachable!("the loop returns")
    }

    fn write(mut self, bytes: &[u8]) -> Result<()> {
        let mut file = self.file.take().expect("written once");
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(&self.lock, "write", e))?;
        drop(file);
        fs::rename(&self.lock, &self.index).map_err(|e| Error::io(&self.index, "replace", e))?;
        self.lock = PathBuf::new();
        Ok(())
    }
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        if !self.lock.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.lock);
        }
    }
}

/// A file this large is streamed to fast-import as it is, not copied into the send buffer.
/// `FRONTDESK_GIT_LARGE` overrides it (tests use a tiny limit to exercise this way).
const LARGE_FILE: usize = 16 << 20;

fn large_file() -> usize {
    plumbing::limit("FRONTDESK_GIT_LARGE", LARGE_FILE)
}

/// A running `git fast-import`: asked what HEAD holds at a path, then given the commit.
struct FastImport {
    /// Files larger than this are sent as read, not copied into the send buffer.
    large_file: usize,
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: BufReader<std::process::ChildStdout>,
}

impl FastImport {
    /// fast-import keeps its pack as written (`fastimport.unpackLimit=1`) instead of unpacking
    /// a commit of few objects into loose ones: that took another git process and a new file
    /// per object, whose inodes ext4 is slow to hand out in a tree of millions of files (14 ms
    /// of a 35 ms `patient add` at full size), and compressed a large file a second time (1.5 s
    /// for a statement run's 235 MB). [`housekeep`] has the small packs rolled up.
    fn start(root: &Path, user: &str) -> Result<FastImport> {
        let large_file = large_file();
        let mut cmd: Command = git(root, user);
        cmd.args(["-c", "fastimport.unpackLimit=1"]);
        cmd.args(["fast-import", "--quiet", "--date-format=now"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            Error::internal(format!("cannot run git to commit: {e}"))
                .hint("install git, or use --no-commit")
        })?;
        let input = child.stdin.take().expect("piped");
        let output = BufReader::new(child.stdout.take().expect("piped"));
        Ok(FastImport {
            large_file,
            child,
            input,
            output,
        })
    }

    /// The mode and object name at `path` in `commit`, or None when it has none.
    fn ls(&mut self, commit: &str, path: &[u8]) -> Result<Option<(String, String)>> {
        let mut query = format!("ls {commit} ").into_bytes();
        query.extend_from_slice(path);
        query.push(b'\n');
        self.send(&query)?;
        let mut line = String::new();
        self.output
            .read_line(&mut line)
            .map_err(|e| self.failed(e.to_string()))?;
        if line.is_empty() {
            return Err(self.failed("fast-import stopped".into()));
        }
        if line.starts_with("missing ") {
            return Ok(None);
        }
        // "<mode> SP <type> SP <oid> HT <path>"
        let mut fields = line.split(['\t', ' ']);
        match (fields.next(), fields.next(), fields.next()) {
            (Some(mode), Some(_), Some(oid)) => Ok(Some((mode.to_string(), oid.to_string()))),
            _ => Err(self.failed("unexpected answer from fast-import".into())),
        }
    }

    fn commit(
        &mut self,
        root: &Path,
        head: &Head,
        user: &str,
        message: &str,
        paths: &[PathBuf],
        blobs: &[Blob],
    ) -> Result<()> {
        // A folder that gets thousands of new files (a statement run keeps 145,000 letters in
        // one day's correspondence) is set whole from a tree `git mktree` builds: fast-import
        // finds each entry of a tree by a linear search, which made that commit take minutes.
        let crowded = crowded_folders(paths);
        let mut trees = Vec::new();
        for (folder, members) in &crowded {
            for &i in members {
                let content = self.checked_content(root, &paths[i], &blobs[i])?;
                let mut buf = format!("blob\ndata {}\n", content.len()).into_bytes();
                buf.extend_from_slice(&content);
                buf.push(b'\n');
                self.send(&buf)?;
            }
            let entries = members.iter().map(|&i| (&paths[i], &blobs[i]));
            let at_parent = self
                .ls(&head.commit, folder.as_os_str().as_bytes())?
                .map(|_| head.commit.as_str());
            trees.push((folder, folder_tree(root, user, at_parent, folder, entries)?));
        }
        let email = plumbing::email(user);
        let who = format!("{} <{email}> now", user.replace(['<', '>', '\n'], ""));
        let text = format!("{message}\n");
        let header = format!(
            "commit {branch}\nauthor {who}\ncommitter {who}\ndata {len}\n{text}from {parent}\n",
            branch = head.branch,
            len = text.len(),
            parent = head.commit,
        );
        self.send(header.as_bytes())?;
        for (folder, tree) in &trees {
            let mut line = format!("M 040000 {tree} ").into_bytes();
            line.extend_from_slice(folder.as_os_str().as_bytes());
            line.push(b'\n');
            self.send(&line)?;
        }
        let in_crowded: std::collections::HashSet<usize> = crowded
            .iter()
            .flat_map(|(_, m)| m.iter().copied())
            .collect();
        // Contents are read again here rather than held: an import can be 100,000 files.
        let mut buf = Vec::new();
        for (i, (rel, blob)) in paths.iter().zip(blobs).enumerate() {
            if in_crowded.contains(&i) {
                continue;
            }
            let content = self.checked_content(root, rel, blob)?;
            buf.clear();
            buf.extend_from_slice(format!("M {} inline ", blob.mode).as_bytes());
            buf.extend_from_slice(rel.as_os_str().as_bytes());
            buf.extend_from_slice(format!("\ndata {}\n", content.len()).as_bytes());
            if content.len() > self.large_file {
                // A statement run's one file of every statement (hundreds of MB): sent as it
                // was read, not copied into the buffer first.
                self.send(&buf)?;
                self.send(&content)?;
                self.send(b"\n")?;
                continue;
            }
            buf.extend_from_slice(&content);
            buf.push(b'\n');
            self.send(&buf)?;
        }
        self.send(b"\n")
    }

    /// A file's content, read again and checked against the blob the index got.
    fn checked_content(&mut self, root: &Path, rel: &Path, blob: &Blob) -> Result<Vec<u8>> {
        let content = fs::read(root.join(rel)).map_err(|e| Error::io(rel, "read", e))?;
        if blob_oid(&content) != blob.oid {
            // Nothing else writes under frontdesk's lock; if someone did, say so.
            return Err(self.failed(format!("{} changed while being committed", rel.display())));
        }
        Ok(content)
    }

    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.input
            .write_all(bytes)
            .and_then(|()| self.input.flush())
            .map_err(|e| self.failed(e.to_string()))
    }

    /// Ends the stream and waits for fast-import to write the objects and move the branch.
    fn finish(self) -> Result<()> {
        let FastImport {
            child,
            input,
            output,
            ..
        } = self;
        drop(input);
        drop(output);
        let out = child
            .wait_with_output()
            .map_err(|e| Error::internal(format!("git could not commit: {e}")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::internal(format!(
                "git could not commit: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Ends a stream that sent nothing (the porcelain way takes over): git exits without
    /// writing anything, and is waited for so that no two git processes overlap.
    fn abandon(self) {
        let _ = self.finish();
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
    }

    fn failed(&mut self, what: String) -> Error {
        self.stop();
        Error::internal(format!("git could not commit: {what}"))
    }
}

/// More new files than this in one folder, and the folder's tree is built by `git mktree`.
/// Below it fast-import's linear search costs less than the two extra git processes.
/// `FRONTDESK_GIT_CROWDED` overrides it (tests use a tiny limit to exercise this way).
const CROWDED: usize = 2_000;

fn crowded_limit() -> usize {
    plumbing::limit("FRONTDESK_GIT_CROWDED", CROWDED)
}

/// The folders getting more than [`CROWDED`] of the paths as direct children, with the
/// indexes of those paths.
fn crowded_folders(paths: &[PathBuf]) -> Vec<(PathBuf, Vec<usize>)> {
    let limit = crowded_limit();
    let mut by_folder: std::collections::BTreeMap<&Path, Vec<usize>> = Default::default();
    for (i, p) in paths.iter().enumerate() {
        if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            by_folder.entry(parent).or_default().push(i);
        }
    }
    by_folder
        .into_iter()
        .filter(|(_, members)| members.len() > limit)
        .map(|(folder, members)| (folder.to_path_buf(), members))
        .collect()
}

/// The tree of `folder` as the parent commit has it (`at_parent`: None when the folder is new)
/// with `new` files added or replaced, written by `git mktree` (which sorts its input). Its
/// blobs reach the repository through fast-import in the same run, hence `--missing`.
fn folder_tree<'a>(
    root: &Path,
    user: &str,
    at_parent: Option<&str>,
    folder: &Path,
    new: impl Iterator<Item = (&'a PathBuf, &'a Blob)>,
) -> Result<String> {
    let mut entries: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = Default::default();
    if let Some(commit) = at_parent {
        // The folder is in the parent commit: a listing that fails must fail the commit, or
        // the new tree would drop the folder's other files.
        let mut cmd = git(root, user);
        let mut spec = format!("{commit}:").into_bytes();
        spec.extend_from_slice(folder.as_os_str().as_bytes());
        cmd.args(["ls-tree", "-z"])
            .arg(std::ffi::OsStr::from_bytes(&spec));
        let listing = plumbing::run_bytes(cmd, None, "list a folder of the last commit")?;
        for record in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            if let Some(tab) = record.iter().position(|b| *b == b'\t') {
                entries.insert(record[tab + 1..].to_vec(), record.to_vec());
            }
        }
    }
    for (rel, blob) in new {
        let name = rel.file_name().map(|n| n.as_bytes()).unwrap_or_default();
        let mut record = format!("{} blob {}\t", blob.mode, hex(&blob.oid)).into_bytes();
        record.extend_from_slice(name);
        entries.insert(name.to_vec(), record);
    }
    let mut input = Vec::new();
    for record in entries.values() {
        input.extend_from_slice(record);
        input.push(0);
    }
    let mut cmd = git(root, user);
    cmd.args(["mktree", "-z", "--missing"]);
    let tree = plumbing::run_with_input(cmd, Some(&input), "build a folder's tree")?;
    Ok(tree.trim().to_string())
}
