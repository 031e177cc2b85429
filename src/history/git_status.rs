//! What `git status` would list, in bounded memory, for `check`.
//!
//! `git status` holds git's whole index in memory: 619 MB at 2.8 million files. check only
//! needs the paths that differ from the last commit, so this module works it out itself:
//! - the index is streamed, the shared half entry by entry with the small half merged in
//!   (`git_index::MergedIndex`);
//! - each entry is compared with its file's stat data as git's refresh does, and the file is
//!   hashed when its stamp moved or is racy (changed in or after the second the index was
//!   written);
//! - the index is compared with HEAD through the cache-tree: a directory whose node is valid
//!   and names HEAD's tree is equal as a whole; only the other directories' trees are read
//!   (`git cat-file --batch`), usually the few a recent commit touched;
//! - untracked files are found by walking the tree: a directory holding as many files as the
//!   index tracks there holds none other; elsewhere names are looked up in a sorted set of
//!   64-bit hashes of the tracked paths. `git check-ignore` is asked about the few found.
//!
//! Whatever it does not model exactly is handed to `git status` (which then sets the memory):
//! staged changes (git's report pairs renames), unmerged, assume-unchanged, skip-worktree or
//! intent-to-add entries, symlinks and submodules, attribute files, end-of-line conversion,
//! case folding, sparse checkouts, nested repositories, a missing HEAD, or an index it cannot
//! read.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs;
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use rayon::prelude::*;
use rustix::fs::{
    AtFlags, CWD, FileType, Mode as FsMode, OFlags, Statx, StatxFlags, openat, statx,
};
use rustix::io::Errno;
use std::sync::atomic::{AtomicBool, Ordering};

use super::git;
use super::plumbing::{self, git as git_cmd};
use crate::error::Result;
use crate::history::git_index::{
    CacheTree, Delta, Entry, MergedIndex, TreeExtension, Unusable, blob_oid, file_mode, hex, unhex,
};

/// Entries whose files are compared at once, spread over the cores.
const BATCH: usize = 16_384;

/// Paths (relative to `root`) that differ from the last commit, new files included, in the
/// order `git status --porcelain` lists them: tracked changes, then untracked files.
pub fn uncommitted(root: &Path, user: &str) -> Result<Vec<PathBuf>> {
    match streamed(root, user) {
        Some(paths) => Ok(paths),
        None => git::uncommitted(root, user),
    }
}

/// The status worked out here, or None when it must be git's.
fn streamed(root: &Path, user: &str) -> Option<Vec<PathBuf>> {
    let git_dir = root.join(".git");
    if !git_dir.is_dir() || !plain_settings(root, user, &git_dir) {
        return None;
    }
    let (mut index, tree, racy_from) = open_index(&git_dir)?;
    let mut head = HeadWalk::start(root, user, tree)?;
    let mut tracked = Tracked::new();
    let mut changed: Vec<Vec<u8>> = Vec::new();
    let mut batch: Vec<Entry> = Vec::with_capacity(BATCH);
    while let Some(entry) = index.next_entry().ok()? {
        // A staged change: git's report (with renames paired) is the one to give.
        if !modelled(&entry) || !head.matches(&entry) {
            return None;
        }
        tracked.add(&entry.name);
        batch.push(entry);
        if batch.len() == BATCH {
            changed.extend(worktree_changes(root, &batch, racy_from)?);
            batch.clear();
        }
    }
    changed.extend(worktree_changes(root, &batch, racy_from)?);
    for path in &changed {
        tracked.changed(path);
    }
    index.finish().ok()?;
    if !head.finish() {
        return None; // files in HEAD the index no longer has: staged deletions
    }
    let untracked = untracked(root, user, &tracked.seal())?;
    Some(
        changed
            .into_iter()
            .chain(untracked)
            .map(|p| PathBuf::from(OsStr::from_bytes(&p)))
            .collect(),
    )
}

/// The merged index, its cache-tree and the second from which an entry's file counts as racy.
fn open_index(git_dir: &Path) -> Option<(MergedIndex, Option<CacheTree>, u32)> {
    let path = git_dir.join("index");
    let written = fs::metadata(&path).ok()?;
    match Delta::read(&path) {
        Ok(delta) => {
            let tree = delta.tree.as_ref().and_then(TreeExtension::nodes);
            let index = MergedIndex::split(git_dir, delta).ok()?;
            // An entry is racy against the older of the two halves: stricter than git, which
            // only costs a hash.
            let shared_written = index.shared_written()?;
            Some((
                index,
                tree,
                racy_second(written.mtime().min(shared_written)),
            ))
        }
        Err(Unusable::NotSplit | Unusable::TooBig) => {
            // The cache-tree follows the entries: read through once to reach it.
            let mut first = MergedIndex::unsplit(&path).ok()?;
            while first.next_entry().ok()?.is_some() {}
            let tail = first.finish().ok()?;
            if tail.link.iter().any(|b| *b != 0) {
                return None; // a split index whose small half grew past what `Delta` reads
            }
            let tree = tail.tree.as_ref().and_then(TreeExtension::nodes);
            let again = fs::metadata(&path).ok()?;
            if (again.ino(), again.mtime_nsec(), again.size())
                != (written.ino(), written.mtime_nsec(), written.size())
            {
                return None; // rewritten meanwhile
            }
            let index = MergedIndex::unsplit(&path).ok()?;
            Some((index, tree, racy_second(written.mtime())))
        }
        Err(Unusable::Unknown(_)) => None,
    }
}

/// git keeps the low 32 bits of a time's seconds.
fn racy_second(mtime: i64) -> u32 {
    mtime as u32
}

/// Settings and files that change what git compares or reports, which this module does not
/// model: any of them hands the work to git.
fn plain_settings(root: &Path, user: &str, git_dir: &Path) -> bool {
    if git_dir.join("info/attributes").exists() || root.join(".gitattributes").exists() {
        return false;
    }
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")));
    if xdg.is_some_and(|x| x.join("git/attributes").exists()) {
        return false;
    }
    let mut cmd = git_cmd(root, user);
    cmd.args(["config", "--list", "-z"]);
    let Ok(out) = plumbing::run(cmd, "read git's settings") else {
        return false;
    };
    out.split('\0').filter(|e| !e.is_empty()).all(|entry| {
        let (key, value) = entry.split_once('\n').unwrap_or((entry, "true"));
        let on = matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "yes" | "on" | "1"
        );
        match key {
            "core.autocrlf" => value.eq_ignore_ascii_case("false"),
            "core.filemode" | "core.symlinks" => on,
            "core.ignorecase" | "core.precomposeunicode" | "core.sparsecheckout" => !on,
            "core.bare" | "index.sparse" => !on,
            "core.worktree" | "core.attributesfile" => false,
            "extensions.objectformat" => value.eq_ignore_ascii_case("sha1"),
            _ => true,
        }
    })
}

/// An entry this module can compare: a plain or executable file at stage 0, with none of
/// the flags that change how git treats it.
fn modelled(e: &Entry) -> bool {
    const ASSUME_VALID: u16 = 0x8000;
    const SKIP_WORKTREE_OR_INTENT: u16 = 0x6000;
    e.stage() == 0
        && e.flags & ASSUME_VALID == 0
        && e.flags2.is_none_or(|f| f & SKIP_WORKTREE_OR_INTENT == 0)
        && matches!(e.stat[6], 0o100644 | 0o100755)
}

/// The entries of `batch` whose files differ from them, in order. Entries come sorted, so
/// a directory's files are together: each run is stat'ed relative to its open directory, one
/// path walk per folder rather than per file.
fn worktree_changes(root: &Path, batch: &[Entry], racy_from: u32) -> Option<Vec<Vec<u8>>> {
    let runs: Vec<&[Entry]> = batch
        .chunk_by(|a, b| a.name[..dir_len(&a.name)] == b.name[..dir_len(&b.name)])
        .collect();
    // A stat that fails for another reason than a missing file (statx refused by an old
    // kernel or a sandbox, no permission) is git's to judge.
    let unsure = AtomicBool::new(false);
    let gone = |e: Errno| {
        if e != Errno::NOENT && e != Errno::NOTDIR {
            unsure.store(true, Ordering::Relaxed);
        }
    };
    let changed = runs
        .par_iter()
        .flat_map_iter(|run| {
            let dir = &run[0].name[..dir_len(&run[0].name)];
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let dfd = openat(
                CWD,
                root.join(OsStr::from_bytes(dir)),
                flags,
                FsMode::empty(),
            )
            .map_err(gone)
            .ok();
            run.iter()
                .filter(move |e| {
                    let stat = dfd.as_ref().and_then(|d| {
                        let name = &e.name[dir.len()..];
                        statx(d, name, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::BASIC_STATS)
                            .map_err(gone)
                            .ok()
                    });
                    differs(root, e, stat, racy_from)
                })
                .map(|e| e.name.clone())
        })
        .collect();
    (!unsure.load(Ordering::Relaxed)).then_some(changed)
}

/// git's refresh of one entry (read-cache.c, `ie_match_stat`), given its file's `lstat` (None
/// when it is gone): a file whose type, mode or size moved has changed; one whose stamp moved,
/// or that is racy, has changed when its content hashes to another blob.
fn differs(root: &Path, e: &Entry, stat: Option<Statx>, racy_from: u32) -> bool {
    let Some(x) = stat else {
        return true;
    };
    if FileType::from_raw_mode(x.stx_mode.into()) != FileType::RegularFile {
        return true;
    }
    let mode = file_mode(x.stx_mode.into());
    // A size of 0 in the index is git's mark of a racily clean entry: compare contents.
    let size = x.stx_size as u32;
    if mode != e.stat[6] || (e.stat[9] != 0 && size != e.stat[9]) {
        return true;
    }
    let stamp = [
        x.stx_ctime.tv_sec as u32,
        x.stx_ctime.tv_nsec,
        x.stx_mtime.tv_sec as u32,
        x.stx_mtime.tv_nsec,
    ];
    let same = stamp == e.stat[..4]
        && x.stx_ino as u32 == e.stat[5]
        && (x.stx_uid, x.stx_gid) == (e.stat[7], e.stat[8])
        && size == e.stat[9];
    if same && e.stat[2] < racy_from {
        return false;
    }
    fs::read(root.join(OsStr::from_bytes(&e.name))).map_or(true, |bytes| blob_oid(&bytes) != e.oid)
}

/// HEAD's files in index order, read tree by tree (`git cat-file --batch`) as the index
/// stream reaches them. A directory whose cache-tree node is valid and names HEAD's tree for
/// it comes out as one `Covered` item: its index entries are HEAD's exactly, unread. Only
/// the trees along the current path are held.
struct HeadWalk {
    cat: CatFile,
    stack: Vec<Frame>,
    peeked: Option<Head>,
}

struct Frame {
    /// "" for the top, else "a/b/".
    dir: Vec<u8>,
    /// The tree's entries (name, mode, id) in tree order, which is index order.
    entries: std::vec::IntoIter<TreeEntry>,
    node: Option<CacheTree>,
}

#[derive(Debug)]
enum Head {
    File {
        path: Vec<u8>,
        mode: u32,
        oid: [u8; 20],
    },
    Covered {
        dir: Vec<u8>,
    },
}

impl HeadWalk {
    fn start(root: &Path, user: &str, tree: Option<CacheTree>) -> Option<HeadWalk> {
        let mut cat = CatFile::start(root, user)?;
        let (oid, data) = cat.tree(b"HEAD^{tree}")?;
        let mut walk = HeadWalk {
            cat,
            stack: Vec::new(),
            peeked: None,
        };
        if tree.as_ref().is_some_and(|t| proves(t, &oid)) {
            walk.peeked = Some(Head::Covered { dir: Vec::new() });
        } else {
            walk.stack.push(Frame {
                dir: Vec::new(),
                entries: parse_tree(&data)?.into_iter(),
                node: tree,
            });
        }
        Some(walk)
    }

    fn peek(&mut self) -> Option<&Head> {
        if self.peeked.is_none() {
            self.peeked = self.advance();
        }
        self.peeked.as_ref()
    }

    /// The next file or covered directory; None at the end, or when a tree cannot be read
    /// (the caller then finds the index does not match and asks git).
    fn advance(&mut self) -> Option<Head> {
        loop {
            let frame = self.stack.last_mut()?;
            let Some((name, mode, oid)) = frame.entries.next() else {
                self.stack.pop();
                continue;
            };
            let mut path = frame.dir.clone();
            path.extend_from_slice(&name);
            if mode != 0o40000 {
                return Some(Head::File { path, mode, oid });
            }
            path.push(b'/');
            let node = frame.node.as_mut().and_then(|n| {
                let at = n.children.iter().position(|c| c.name == name)?;
                Some(n.children.swap_remove(at))
            });
            if node.as_ref().is_some_and(|n| proves(n, &oid)) {
                return Some(Head::Covered { dir: path });
            }
            if self.stack.len() > 256 {
                return None;
            }
            let (_, data) = self.cat.tree(hex(&oid).as_bytes())?;
            self.stack.push(Frame {
                dir: path,
                entries: parse_tree(&data)?.into_iter(),
                node,
            });
        }
    }

    /// Whether index entry `e` is HEAD's file at its path. HEAD's files that sort before it
    /// are missing from the index: staged deletions, so false.
    fn matches(&mut self, e: &Entry) -> bool {
        loop {
            match self.peek() {
                None => return false,
                Some(Head::Covered { dir }) => {
                    if e.name.starts_with(dir) {
                        return true;
                    }
                    if e.name[..] < dir[..] {
                        return false;
                    }
                    self.peeked = None; // past the covered directory
                }
                Some(Head::File { path, mode, oid }) => {
                    let same = path[..] == e.name[..] && *mode == e.stat[6] && *oid == e.oid;
                    self.peeked = None;
                    return same;
                }
            }
        }
    }

    /// After the index's last entry: HEAD has no file left over.
    fn finish(mut self) -> bool {
        let rest = loop {
            match self.peek() {
                Some(Head::Covered { .. }) => self.peeked = None,
                other => break other.is_none(),
            }
        };
        self.cat.finish();
        rest
    }
}

/// A valid cache-tree node naming this tree: the index holds exactly its files.
fn proves(node: &CacheTree, oid: &[u8; 20]) -> bool {
    node.entries >= 0 && node.oid.as_ref() == Some(oid)
}

/// One entry of a tree object: name, mode, object id.
type TreeEntry = (Vec<u8>, u32, [u8; 20]);

/// Parses a tree object, entries of `<octal mode> <name>\0<20-byte id>`, in its order.
fn parse_tree(data: &[u8]) -> Option<Vec<TreeEntry>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest.iter().position(|b| *b == b' ')?;
        let mode = u32::from_str_radix(std::str::from_utf8(&rest[..space]).ok()?, 8).ok()?;
        let nul = space + rest[space..].iter().position(|b| *b == 0)?;
        let oid: [u8; 20] = rest.get(nul + 1..nul + 21)?.try_into().ok()?;
        out.push((rest[space + 1..nul].to_vec(), mode, oid));
        rest = &rest[nul + 21..];
    }
    Some(out)
}

/// `git cat-file --batch`: one git answering object requests one at a time.
struct CatFile {
    child: Child,
    input: Option<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl CatFile {
    fn start(root: &Path, user: &str) -> Option<CatFile> {
        let mut cmd = git_cmd(root, user);
        // Small pack windows: reading every tree of a big HEAD stays near 80 MB instead of
        // mapping the whole pack (150 MB and more).
        cmd.args([
            "-c",
            "core.packedGitWindowSize=1m",
            "-c",
            "core.packedGitLimit=16m",
            "-c",
            "core.deltaBaseCacheLimit=8m",
            "cat-file",
            "--batch",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        let mut child = cmd.spawn().ok()?;
        let input = child.stdin.take();
        let output = BufReader::new(child.stdout.take()?);
        Some(CatFile {
            child,
            input,
            output,
        })
    }

    /// The tree `name` names (a hex id or a revision like `HEAD^{tree}`): its id and bytes.
    fn tree(&mut self, name: &[u8]) -> Option<([u8; 20], Vec<u8>)> {
        let input = self.input.as_mut()?;
        input.write_all(name).ok()?;
        input.write_all(b"\n").ok()?;
        input.flush().ok()?;
        let mut header = String::new();
        self.output.read_line(&mut header).ok()?;
        let mut fields = header.split_whitespace();
        let (id, kind, size) = (fields.next()?, fields.next()?, fields.next()?);
        let size: usize = size.parse().ok()?;
        let mut data = vec![0; size + 1];
        self.output.read_exact(&mut data).ok()?;
        data.pop();
        let oid = unhex(id)?;
        (kind == "tree").then_some((oid, data))
    }

    fn finish(mut self) {
        drop(self.input.take());
        let _ = self.child.wait();
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        if self.input.take().is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What the untracked walk needs to know of the index: how many files each directory
/// ("" or "a/b/") tracks, every ancestor included, and 64-bit hashes (keyed per process) of
/// every tracked path, sorted: 23 MB at 2.8 million files, where a set of the paths would take
/// ten times that. The hashes are only looked at in a directory whose count does not match
/// its listing, or that holds a changed file. Two paths share a hash with odds of about one
/// in 10^13 per file looked up.
struct Tracked {
    keys: RandomState,
    hashes: Vec<u64>,
    files_in: HashMap<Vec<u8>, u32>,
    /// Directories holding a tracked file that changed (maybe gone): their count proves
    /// nothing.
    suspect: HashSet<Vec<u8>>,
}

impl Tracked {
    fn new() -> Tracked {
        Tracked {
            keys: RandomState::new(),
            hashes: Vec::new(),
            files_in: HashMap::new(),
            suspect: HashSet::new(),
        }
    }

    fn add(&mut self, path: &[u8]) {
        self.hashes.push(self.keys.hash_one(path));
        let dir = &path[..dir_len(path)];
        if let Some(n) = self.files_in.get_mut(dir) {
            *n += 1;
            return;
        }
        for (i, _) in dir.iter().enumerate().filter(|(_, b)| **b == b'/') {
            self.files_in.entry(dir[..=i].to_vec()).or_insert(0);
        }
        self.files_in.entry(Vec::new()).or_insert(0);
        *self.files_in.entry(dir.to_vec()).or_insert(0) += 1;
    }

    fn changed(&mut self, path: &[u8]) {
        self.suspect.insert(path[..dir_len(path)].to_vec());
    }

    fn seal(mut self) -> Tracked {
        self.hashes.par_sort_unstable();
        self.hashes.dedup();
        self
    }

    fn contains(&self, path: &[u8]) -> bool {
        self.hashes.binary_search(&self.keys.hash_one(path)).is_ok()
    }
}

/// The length of a path's directory part, its last `/` included (0 at the top).
fn dir_len(path: &[u8]) -> usize {
    path.iter().rposition(|b| *b == b'/').map_or(0, |i| i + 1)
}

/// A file or directory found that the index does not track.
struct Found {
    path: Vec<u8>,
    dir: bool,
}

/// Untracked files, sorted, as `--untracked-files=all` lists them: those not ignored, and
/// every file inside a directory that is neither tracked nor ignored.
fn untracked(root: &Path, user: &str, tracked: &Tracked) -> Option<Vec<Vec<u8>>> {
    let mut found = walk(root, Vec::new(), Some(tracked))?;
    let mut files = Vec::new();
    while !found.is_empty() {
        let ignored = ignored(root, user, &found)?;
        let mut inside = Vec::new();
        for f in found.into_iter().filter(|f| !ignored.contains(&f.path)) {
            if f.dir {
                let mut dir = f.path;
                dir.push(b'/');
                inside.extend(walk(root, dir, None)?);
            } else {
                files.push(f.path);
            }
        }
        found = inside;
    }
    files.sort_unstable();
    Some(files)
}

/// Lists directory `dir` ("" or "a/b/"): with `tracked`, descends into tracked directories
/// and returns what is not tracked; without, returns everything in it. While a directory
/// holds as many files as the index tracks there, none of them changed and so all are
/// there, no file in it is untracked and none is looked up. None for what git would treat
/// specially: a nested repository, attribute or submodule files.
fn walk(root: &Path, dir: Vec<u8>, tracked: Option<&Tracked>) -> Option<Vec<Found>> {
    let mut files = Vec::new();
    let mut found = Vec::new();
    let mut subdirs = Vec::new();
    for entry in fs::read_dir(root.join(OsStr::from_bytes(&dir))).ok()? {
        let entry = entry.ok()?;
        let name = entry.file_name();
        let name = name.as_bytes();
        if dir.is_empty() && name == b".git" {
            continue;
        }
        if matches!(name, b".git" | b".gitattributes" | b".gitmodules") {
            return None;
        }
        let is_dir = entry.file_type().ok()?.is_dir();
        let mut path = Vec::with_capacity(dir.len() + name.len() + 1);
        path.extend_from_slice(&dir);
        path.extend_from_slice(name);
        match tracked {
            Some(t) if is_dir => {
                path.push(b'/');
                if t.files_in.contains_key(&path) {
                    subdirs.push(path);
                } else {
                    path.pop();
                    found.push(Found { path, dir: true });
                }
            }
            Some(_) => files.push(path),
            None => found.push(Found { path, dir: is_dir }),
        }
    }
    if let Some(t) = tracked {
        let expected = t.files_in.get(&dir).copied().unwrap_or(0) as usize;
        if files.len() != expected || t.suspect.contains(&dir) {
            found.extend(
                files
                    .into_iter()
                    .filter(|p| !t.contains(p))
                    .map(|path| Found { path, dir: false }),
            );
        }
    }
    let below: Vec<Vec<Found>> = subdirs
        .into_par_iter()
        .map(|d| walk(root, d, tracked))
        .collect::<Option<_>>()?;
    found.extend(below.into_iter().flatten());
    Some(found)
}

/// Which of these paths git's ignore rules (every `.gitignore`, `info/exclude`, the user's
/// excludes file) exclude, asked of `git check-ignore`.
fn ignored(root: &Path, user: &str, found: &[Found]) -> Option<HashSet<Vec<u8>>> {
    let mut input = Vec::new();
    for f in found {
        input.extend_from_slice(&f.path);
        input.push(0);
    }
    let mut cmd = git_cmd(root, user);
    // (git refuses GIT_LITERAL_PATHSPECS here; a name it cannot take fails the run, and
    // git status is asked instead.)
    cmd.args(["check-ignore", "--no-index", "-z", "--stdin"]);
    let out = plumbing::output_with_input(cmd, Some(&input)).ok()?;
    // 1 means nothing matched; anything else but 0 is a failure.
    if !matches!(out.status.code(), Some(0 | 1)) {
        return None;
    }
    Some(
        out.stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
    )
}
