//! The reader behind `frontdesk check`: walks the records tree once, kind by kind, and feeds
//! what it finds to the pure rules in `domain::check`.
//!
//! Record kinds are a table ([`KINDS`]): a new kind implements [`Checked`] (parse, validate,
//! say where it must lie and what it names) and adds one line. Kinds that others refer to come
//! first, so references are checked as the walk goes and only IDs stay in memory; appointment
//! days are checked for double bookings one folder at a time. Files are read and parsed on all
//! cores a few thousand at a time and their results applied in walk order, so the report is
//! the same as a serial run's; the permission walk and `git status` run on all cores too.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rayon::prelude::*;
use rustix::fs::{Mode as FsMode, OFlags};

mod kinds;
mod tree_state;

use kinds::conflict_problem;
pub use kinds::{Checked, KINDS, Kind, Layout};
pub use tree_state::TreeState;

use crate::derived::check_cache::{self, CheckCache, Folder, Inspected, Print};
use crate::derived::clean_note;
use crate::derived::file_cache::folders::WalkedFile;
use crate::derived::stamp::now_ns;
use crate::disk::atomic::TEMP_PREFIX;
use crate::disk::{OFFICE_FILE, STATE_DIR};
use crate::domain::check::{Fix, Problem, Tally, conflict_marker, too_open};
use crate::error::{Error, Result};
use crate::history::{git, git_status};
use crate::store::Store;

/// The fingerprint of everything below each folder (the folder itself aside), by path
/// relative to the tree: the check cache trusts a folder's section whole while it is unchanged.
type FolderPrints = HashMap<Vec<u8>, Print>;

/// What the walk of a file or folder found: its problems in walk order, the fingerprint of
/// it and everything below it, and that of each folder below it (see [`FolderPrints`]).
#[derive(Default)]
struct Walked {
    problems: Vec<Problem>,
    print: Print,
    folders: Vec<(PathBuf, Print)>,
}

/// What `check_files` needs to judge one file or folder.
struct FileRules {
    record_dirs: Vec<&'static str>,
    now: SystemTime,
    locked: bool,
    idle: bool,
}

/// What the walk of a kind's folder found, in walk order: a problem seen at once, or one
/// folder's record files to read.
enum Step {
    Problem(Problem),
    Folder(Vec<PathBuf>),
}

/// What the walk of a kind's folder hands over, in walk order.
enum Found {
    Problem(Problem),
    /// A record file, and the number of the folder it lies in.
    Record(PathBuf, usize),
}

/// Files read in parallel per round: enough to keep every core busy, few enough that their
/// facts stay small in memory.
const CHUNK_FILES: usize = 4096;

/// What `check` found.
pub struct Report {
    pub problems: Vec<Problem>,
    pub records: usize,
}

/// A temp file younger than this, in the state folder, may belong to a running command.
const TEMP_GRACE: Duration = Duration::from_secs(60);

/// How long a failed `patient edit` keeps its working copy before `check` calls it a leftover.
const EDIT_GRACE: Duration = Duration::from_secs(24 * 60 * 60);
/// A write lock held longer than this is reported as stuck.
const LOCK_STUCK: Duration = Duration::from_secs(600);

impl Store {
    /// Checks the whole tree. `locked` says the caller holds the write lock, so no write is in
    /// flight and any temp file in the records is a leftover.
    pub fn check(&self, locked: bool) -> Result<Report> {
        // With no command writing, every temp file in the records is a leftover.
        let idle = locked || self.lock_is_free();
        // The walk of every file comes first: its fingerprint says whether git must be asked.
        let (file_problems, tree_print, folders) = self.check_files(locked, idle)?;
        let git_print = self.is_git().then(|| clean_note::git_print(self.root()));
        let started = now_ns();
        let known_clean = git_print
            .as_ref()
            .is_some_and(|g| clean_note::known_clean(self, &tree_print, g, started));
        // git status reads every file too: let it run beside the record checks.
        let status = (self.is_git() && !known_clean).then(|| {
            let (root, user) = (self.root().to_path_buf(), self.options.user.clone());
            std::thread::spawn(move || git_status::uncommitted(&root, &user))
        });
        let mut tally = Tally::default();
        let mut records = 0;
        let cache = CacheRun::open(self, folders);
        for k in KINDS {
            records += self.check_kind(k, &mut tally, &cache)?;
            cache.cache.close_except(None);
            if let Some(t) = k.provides {
                tally.complete(t);
            }
        }
        cache.cache.sweep();
        let mut problems = tally.finish();
        problems.extend(file_problems);
        if !locked {
            problems.extend(self.check_lock());
        }
        if self.is_git() {
            let uncommitted = match status {
                Some(status) => {
                    let found = status
                        .join()
                        .unwrap_or_else(|_| Err(Error::internal("reading git's status failed")))?;
                    if let Some(g) = &git_print {
                        clean_note::note_status(self, found.is_empty(), started, &tree_print, g);
                    }
                    found
                }
                None => Vec::new(),
            };
            self.check_git(idle, uncommitted, &mut problems)?;
        }
        Ok(Report { problems, records })
    }

    fn check_kind(&self, k: &Kind, tally: &mut Tally, cache: &CacheRun) -> Result<usize> {
        let top = self.path(Path::new(k.path));
        if k.layout == Layout::File {
            if top.is_file() {
                let steps = vec![Step::Folder(vec![PathBuf::from(k.path)])];
                self.run_steps(k, steps, tally, cache);
                return Ok(1);
            }
            return Ok(0);
        }
        if !top.is_dir() {
            return Ok(0);
        }
        let mut count = 0;
        let mut steps: Vec<Step> = Vec::new();
        let mut queued = 0;
        let mut batch: Vec<PathBuf> = Vec::new();
        let mut batch_dir = usize::MAX;
        let mut folders = 0;
        self.walk_kind(
            k,
            &top,
            Path::new(k.path),
            1,
            &mut folders,
            &mut |found| match found {
                Found::Problem(p) => steps.push(Step::Problem(p)),
                Found::Record(rel, dir) => {
                    // Files kept as sent are checked, but are not records themselves.
                    if is_record_name(rel.as_os_str().as_bytes()) {
                        count += 1;
                    }
                    if dir != batch_dir {
                        if !batch.is_empty() {
                            queued += batch.len();
                            steps.push(Step::Folder(std::mem::take(&mut batch)));
                        }
                        batch_dir = dir;
                        if queued >= CHUNK_FILES {
                            self.run_steps(k, std::mem::take(&mut steps), tally, cache);
                            queued = 0;
                        }
                    }
                    batch.push(rel);
                }
            },
        )?;
        if !batch.is_empty() {
            steps.push(Step::Folder(batch));
        }
        self.run_steps(k, steps, tally, cache);
        Ok(count)
    }

    /// Walks a kind's folder below `dir` (at `depth`, 1 for the kind folder's own entries) in
    /// name order, depth first, as `walkdir` sorted by file name would, leaving temp files
    /// out: a folder or file where none belongs is a problem, a record file is handed over
    /// with the number of the folder it lies in (folders are numbered as they are read).
    fn walk_kind(
        &self,
        k: &Kind,
        dir: &Path,
        rel: &Path,
        depth: usize,
        folders: &mut usize,
        found: &mut impl FnMut(Found),
    ) -> Result<()> {
        let cannot = |e: std::io::Error| {
            let top = self.path(Path::new(k.path));
            Error::internal(format!(
                "cannot list {}: IO error for operation on {}: {e}",
                top.display(),
                dir.display()
            ))
        };
        let mut children: Vec<(std::ffi::OsString, bool)> = fs::read_dir(dir)
            .map_err(cannot)?
            .map(|e| {
                let e = e?;
                let is_dir = e.file_type()?.is_dir();
                Ok((e.file_name(), is_dir))
            })
            .filter(|e| e.as_ref().map_or(true, |(name, _)| !is_temp(name)))
            .collect::<std::io::Result<_>>()
            .map_err(cannot)?;
        children.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let this = *folders;
        *folders += 1;
        for (name, is_dir) in children {
            let child_rel = rel.join(&name);
            if is_dir {
                if depth >= k.layout.depth() {
                    found(Found::Problem(unexpected(&child_rel, k)));
                }
                self.walk_kind(k, &dir.join(&name), &child_rel, depth + 1, folders, found)?;
                continue;
            }
            let toml = is_record_name(name.as_bytes());
            if depth != k.layout.depth() || !(toml || k.other_files) {
                found(Found::Problem(unexpected(&child_rel, k)));
                continue;
            }
            found(Found::Record(child_rel, this));
        }
        Ok(())
    }

    /// Inspects the files of `steps` on all cores, a folder at a time (reusing the cache's
    /// entry of each unchanged file), then hands the results to the tally in walk order (each
    /// folder ends a day for dated kinds), so the report is the same as a serial run's
    /// whatever the thread timing, and the same with or without the cache.
    fn run_steps(&self, k: &Kind, steps: Vec<Step>, tally: &mut Tally, cache: &CacheRun) {
        let folders: Vec<&[PathBuf]> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Folder(files) => Some(files.as_slice()),
                Step::Problem(_) => None,
            })
            .collect();
        let groups: Vec<Option<&str>> = folders
            .iter()
            .map(|files| group_of(k, folder_of(files)))
            .collect();
        let cache_files = cache.cache.files_of(&groups);
        let results: Vec<Vec<Inspected>> = folders
            .par_iter()
            .zip(&cache_files)
            .map(|(files, file)| self.inspect_folder(k, files, file.as_deref(), cache))
            .collect();
        drop(cache_files);
        // The walk goes a group at a time: every group but the last one met is done with.
        cache
            .cache
            .close_except(groups.iter().rev().flatten().next().copied());
        let mut results = results.into_iter();
        for step in steps {
            match step {
                Step::Problem(p) => tally.problems.push(p),
                Step::Folder(files) => {
                    let Some(inspected) = results.next() else {
                        continue;
                    };
                    for (rel, result) in files.iter().zip(inspected) {
                        match result {
                            Ok((facts, misplaced)) => {
                                tally.add(rel, facts);
                                tally.problems.extend(misplaced);
                            }
                            Err(p) => tally.problems.push(p),
                        }
                    }
                    if k.layout == Layout::Dated {
                        tally.end_day();
                    }
                }
            }
        }
    }

    /// Inspects the files of one folder through its section of its group's cache file
    /// (`file`; None: without the cache): a file is read only when the section holds no entry
    /// for its exact stamp (taken by name relative to the open folder; a folder unchanged
    /// since its section was written is trusted without that stat: the tree walk stat'ed every
    /// file already).
    fn inspect_folder(
        &self,
        k: &Kind,
        files: &[PathBuf],
        file: Option<&WalkedFile>,
        cache: &CacheRun,
    ) -> Vec<Inspected> {
        let rel = folder_of(files);
        let path = self.path(rel);
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let (Some(file), Some(name), Ok(fd)) = (
            file,
            rel.to_str(),
            rustix::fs::open(&path, flags, FsMode::empty()),
        ) else {
            return files.iter().map(|rel| self.inspect_file(k, rel)).collect();
        };
        // A kind kept as one file at the top of the tree lies in the tree's own folder, whose
        // fingerprint moves with every change anywhere: its file is stat'ed instead, so its
        // section is not written again after every change.
        let print = match k.layout {
            Layout::File => None,
            _ => cache.folders.get(name.as_bytes()),
        };
        let folder = Folder {
            rel: name,
            path: &path,
            fd: &fd,
            print,
        };
        let inspect = |rel: &Path, read: std::io::Result<Vec<u8>>| match read {
            Ok(bytes) => (k.inspect)(rel, &bytes, &self.office),
            Err(e) => Err(cannot_read(&self.path(rel), rel, e)),
        };
        cache.cache.inspect_folder(file, &folder, files, &inspect)
    }

    fn inspect_file(&self, k: &Kind, rel: &Path) -> Inspected {
        let path = self.path(rel);
        let bytes = fs::read(&path).map_err(|e| cannot_read(&path, rel, e))?;
        (k.inspect)(rel, &bytes, &self.office)
    }

    fn rel(&self, path: &Path) -> PathBuf {
        path.strip_prefix(self.root()).unwrap_or(path).to_path_buf()
    }

    /// Every file and folder: leftover temp files, permissions, conflict markers in files that
    /// are not records (`.gitignore`, settings).
    /// `locked`: this process holds the write lock; `idle`: no command holds it. Search-index
    /// writes in the state folder take no lock, so a young temp file there is left alone
    /// unless `check --fix` holds the lock (a removed index write only costs speed).
    /// Also returns the fingerprint of every file's stat data (the state folder aside).
    fn check_files(&self, locked: bool, idle: bool) -> Result<(Vec<Problem>, Print, FolderPrints)> {
        let rules = FileRules {
            record_dirs: KINDS.iter().map(|k| k.path).collect(),
            now: SystemTime::now(),
            locked,
            idle,
        };
        let meta = fs::symlink_metadata(self.root()).ok();
        let walked = self.walk_below(self.root(), meta, 0, true, &rules);
        let (mut problems, print) = (walked.problems, walked.print);
        let folders = walked
            .folders
            .into_iter()
            .map(|(path, print)| (self.rel(&path).into_os_string().into_vec(), print))
            .collect();
        let git_dir = self.path(Path::new(".git"));
        if let Ok(meta) = fs::metadata(&git_dir)
            && meta.is_dir()
            && too_open(meta.permissions().mode())
        {
            problems.push(
                Problem::new(".git", format!("permissions {:04o} let other users read the history, which holds every record", meta.permissions().mode() & 0o777), "`frontdesk check --fix` sets 0700")
                    .fixable(Fix::Tighten),
            );
        }
        Ok((problems, print, folders))
    }

    /// The problems of `path` and everything below it (`.git` aside), in the order a walk of
    /// the tree meets them (each folder in listing order, depth first), from its `lstat`
    /// (`meta`): children are stat'ed relative to their open folder (`DirEntry::metadata`), one
    /// path component each; folders are read on all cores and their results joined in that
    /// order.
    fn walk_below(
        &self,
        path: &Path,
        meta: Option<fs::Metadata>,
        depth: usize,
        is_dir: bool,
        rules: &FileRules,
    ) -> Walked {
        let mut out = Walked::default();
        if let Some(meta) = meta {
            let name = path.file_name().unwrap_or(path.as_os_str());
            self.file_rules(path, name, &meta, rules, &mut out.problems);
            out.print.add(path.as_os_str().as_bytes(), &meta);
        }
        if !is_dir {
            return out;
        }
        let Ok(listing) = fs::read_dir(path) else {
            return out;
        };
        let children: Vec<(fs::DirEntry, bool)> = listing
            .filter_map(|e| e.ok())
            .filter(|e| depth != 0 || e.file_name() != ".git")
            .map(|e| {
                let dir = e.file_type().is_ok_and(|t| t.is_dir());
                (e, dir)
            })
            .collect();
        let below: Vec<Walked> = children
            .par_iter()
            .map(|(entry, dir)| {
                let child = entry.path();
                let mut walked =
                    self.walk_below(&child, entry.metadata().ok(), depth + 1, *dir, rules);
                // The state folder changes on every run and git ignores it.
                if depth == 0 && child.file_name() == Some(OsStr::new(STATE_DIR)) {
                    walked.print = Print::default();
                }
                walked
            })
            .collect();
        let mut inside = Print::default();
        for walked in below {
            out.problems.extend(walked.problems);
            inside = inside.join(walked.print);
            out.folders.extend(walked.folders);
        }
        out.print = out.print.join(inside);
        out.folders.push((path.to_path_buf(), inside));
        out
    }

    /// Leftover temp files, permissions that are too open, and conflict markers in files that
    /// are not records, for one file or folder.
    fn file_rules(
        &self,
        path: &Path,
        name: &std::ffi::OsStr,
        meta: &fs::Metadata,
        rules: &FileRules,
        problems: &mut Vec<Problem>,
    ) {
        let rel = self.rel(path);
        let in_state = rel.starts_with(STATE_DIR);
        // A `patient edit` that failed keeps the clerk's text for a while; after a day it is
        // a leftover (a live edit is never that old).
        if rel.starts_with(Path::new(STATE_DIR).join("edit")) && meta.is_file() {
            let now = rules.now;
            let age = now
                .duration_since(meta.modified().unwrap_or(now))
                .unwrap_or_default();
            if age > EDIT_GRACE {
                problems.push(
                    Problem::new(
                        &rel,
                        "the working copy of an abandoned `patient edit`",
                        "copy what you need from it; `frontdesk check --fix` removes it",
                    )
                    .fixable(Fix::RemoveTemp),
                );
            }
            return;
        }
        if is_temp(name) {
            let now = rules.now;
            let age = now
                .duration_since(meta.modified().unwrap_or(now))
                .unwrap_or_default();
            if rules.locked || (rules.idle && !in_state) || age > TEMP_GRACE {
                problems.push(
                    Problem::new(
                        &rel,
                        "leftover temporary file of an interrupted write",
                        "remove it with `frontdesk check --fix` (the record itself is intact)",
                    )
                    .fixable(Fix::RemoveTemp),
                );
            }
            return;
        }
        let mode = meta.permissions().mode() & 0o777;
        if !meta.file_type().is_symlink() && too_open(mode) {
            let want = if meta.is_dir() { "0700" } else { "0600" };
            problems.push(
                Problem::new(
                    &rel,
                    format!("permissions {mode:04o} let other users read patient data"),
                    format!("`frontdesk check --fix` sets {want}"),
                )
                .fixable(Fix::Tighten),
            );
        }
        let top = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        let is_record = top
            .as_deref()
            .is_some_and(|t| rules.record_dirs.contains(&t));
        if meta.is_file() && !is_record && !in_state && meta.len() < 16 << 20 {
            let mut bytes = Vec::new();
            if fs::File::open(path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .is_ok()
                && let Some(line) = conflict_marker(&bytes)
            {
                problems.push(conflict_problem(&rel, line));
            }
        }
    }

    fn lock_is_free(&self) -> bool {
        let path = self.path(Path::new(STATE_DIR)).join("lock");
        match fs::File::options().write(true).open(&path) {
            Ok(f) => f.try_lock().is_ok(),
            Err(_) => true,
        }
    }

    /// A write lock held far too long, or by a process that is gone.
    fn check_lock(&self) -> Option<Problem> {
        let path = self.path(Path::new(STATE_DIR)).join("lock");
        let file = fs::File::options()
            .read(true)
            .write(true)
            .open(&path)
            .ok()?;
        match file.try_lock() {
            Ok(()) => None,
            Err(fs::TryLockError::WouldBlock) => {
                let text = fs::read_to_string(&path).unwrap_or_default();
                let holder = crate::store::LockHolder::parse(&text)?;
                let rel = PathBuf::from(STATE_DIR).join("lock");
                if !Path::new(&format!("/proc/{}", holder.pid)).exists()
                    && Path::new("/proc/self").exists()
                {
                    return Some(Problem::new(
                        rel,
                        format!(
                            "the write lock is held, but its process {} is gone (another machine on a network share?)",
                            holder.pid
                        ),
                        "make sure no frontdesk command runs anywhere on this tree, then remove .frontdesk/lock",
                    ));
                }
                let held = SystemTime::now()
                    .duration_since(holder.since)
                    .unwrap_or_default();
                (held > LOCK_STUCK).then(|| {
                    Problem::new(
                        rel,
                        format!(
                            "the write lock has been held by process {} for {} minutes",
                            holder.pid,
                            held.as_secs() / 60
                        ),
                        format!(
                            "see what it is doing (`ps -p {}`); end it if it is stuck",
                            holder.pid
                        ),
                    )
                })
            }
            Err(_) => None,
        }
    }

    /// Git's view: a half-done merge, a lock left by a killed git, uncommitted changes.
    fn check_git(
        &self,
        idle: bool,
        uncommitted: Vec<PathBuf>,
        problems: &mut Vec<Problem>,
    ) -> Result<()> {
        let root = self.root();
        if let Some(state) = git::operation_in_progress(root) {
            problems.push(Problem::new(".git", format!("a {state} is in progress"), format!(
                "finish it: fix the files `frontdesk check` lists, `git -C {0} add` them and `git -C {0} commit` (or undo it with `git -C {0} {state} --abort`)",
                root.display()
            )));
        }
        if idle && self.path(Path::new(".git/index.lock")).exists() {
            problems.push(
                Problem::new(
                    ".git/index.lock",
                    "git's lock file was left by an interrupted git command",
                    "`frontdesk check --fix` removes it (no frontdesk command is running)",
                )
                .fixable(Fix::RemoveGitLock),
            );
        }
        let broken: std::collections::HashSet<PathBuf> =
            problems.iter().map(|p| p.file.clone()).collect();
        // Temp files are reported above, as leftovers.
        for rel in uncommitted
            .into_iter()
            .filter(|r| r.file_name().is_none_or(|n| !is_temp(n)))
        {
            // A sound record left by a command killed before its commit: committing it loses
            // nothing. Anything else (a deletion, a broken file) needs a person.
            let sound = self.path(&rel).is_file() && !broken.contains(&rel);
            let p = Problem::new(
                &rel,
                "changed but not committed, so it is not in the audit trail",
                format!(
                    "if the change is right, `frontdesk check --fix` (or `git -C {0} add` and `git -C {0} commit`) records it; otherwise `git -C {0} checkout` it (or remove it if new)",
                    root.display()
                ),
            );
            problems.push(if sound && !locked_op(root) {
                p.fixable(Fix::Commit)
            } else {
                p
            });
        }
        Ok(())
    }

    /// Makes files that git wrote (a merge, a checkout) private: git creates them with the
    /// umask's mode, often 0644. Their folders, up to the tree, become 0700.
    pub fn make_private(&self, rels: &[PathBuf]) -> Result<()> {
        for rel in rels {
            let path = self.path(rel);
            if !path.is_file() {
                continue;
            }
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io(&path, "set permissions on", e))?;
            for dir in rel
                .ancestors()
                .skip(1)
                .filter(|d| !d.as_os_str().is_empty())
            {
                let dir = self.path(dir);
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                    .map_err(|e| Error::io(&dir, "set permissions on", e))?;
            }
        }
        Ok(())
    }

    /// Applies the safe fixes; returns what was fixed. Call with the write lock held.
    pub fn apply_fixes(&self, problems: &[Problem]) -> Result<Vec<Problem>> {
        let mut fixed = Vec::new();
        for p in problems {
            let Some(fix) = p.fix else { continue };
            let path = self.path(&p.file);
            let done = match fix {
                Fix::Commit => continue,
                Fix::RemoveTemp | Fix::RemoveGitLock => match fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                },
                Fix::Tighten => {
                    let mode = if path.is_dir() { 0o700 } else { 0o600 };
                    fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                }
            };
            done.map_err(|e| Error::io(&path, "fix", e))?;
            fixed.push(p.clone());
        }
        let commits: Vec<&Problem> = problems
            .iter()
            .filter(|p| p.fix == Some(Fix::Commit))
            .collect();
        if !commits.is_empty() {
            let paths: Vec<PathBuf> = commits.iter().map(|p| p.file.clone()).collect();
            git::commit(
                self.root(),
                &self.options.user,
                &paths,
                &commit_message(&paths),
            )?;
            fixed.extend(commits.into_iter().cloned());
        }
        Ok(fixed)
    }
}

/// "Commit changes left uncommitted: P7K3QX9M2, P…." (IDs from file names, never content).
fn commit_message(paths: &[PathBuf]) -> String {
    format!(
        "Commit changes left uncommitted: {}.",
        crate::store::journal::id_list(paths)
    )
}

/// A record file's name: `<something>.toml`.
pub(super) fn is_record_name(name: &[u8]) -> bool {
    name.len() > 5 && name.ends_with(b".toml")
}

/// True while a merge or rebase is under way: its files are the user's to commit.
fn locked_op(root: &Path) -> bool {
    git::operation_in_progress(root).is_some()
}

fn unexpected(rel: &Path, k: &Kind) -> Problem {
    Problem::new(
        rel,
        format!(
            "unexpected here: {} holds only record files laid out like {}",
            k.path,
            example(k.layout)
        ),
        "move it out of the records tree, or to where it belongs",
    )
}

fn example(layout: Layout) -> &'static str {
    match layout {
        Layout::Flat => "payers/aetna-ppo.toml",
        Layout::Sharded => "patients/7K/P7K3QX9M2.toml",
        Layout::Dated => "appointments/2026/12/01/A7K3QX9M2.toml",
        Layout::Monthly => "surveys/2026/12/S7K3QX9M2.toml",
        Layout::File => "frontdesk.toml",
    }
}

fn cannot_read(path: &Path, rel: &Path, e: std::io::Error) -> Problem {
    Problem::new(
        rel,
        format!("cannot read: {}", Error::io(path, "read", e).message),
        "check the file's owner and permissions",
    )
}

/// The check cache during one run, and what the tree walk saw in each folder.
struct CacheRun {
    cache: CheckCache,
    folders: FolderPrints,
}

impl CacheRun {
    fn open(store: &Store, folders: FolderPrints) -> CacheRun {
        let office = fs::read(store.path(Path::new(OFFICE_FILE))).unwrap_or_default();
        let key = check_cache::key(&office, &store.office.today().to_string());
        CacheRun {
            cache: CheckCache::new(store, key, now_ns()),
            folders,
        }
    }
}

/// The folder that holds a folder's record files (relative to the tree; empty for a kind kept
/// as one file at the top of the tree).
fn folder_of(files: &[PathBuf]) -> &Path {
    files
        .first()
        .and_then(|f| f.parent())
        .unwrap_or(Path::new(""))
}

/// The check cache's engine file that holds a record folder's section: one per year of a
/// dated kind (`appointments/2026`: a section per day folder, so a year's file is written once
/// and a warm run reads it a section at a time), one per kind for the rest (`patients`: a
/// section per shard folder; `payers`; `frontdesk.toml`). None for a folder whose path is not
/// UTF-8 (a section is named by its path as text): its files are inspected every time.
fn group_of<'p>(k: &'p Kind, folder: &'p Path) -> Option<&'p str> {
    let rel = folder.to_str()?;
    Some(match k.layout {
        Layout::Dated | Layout::Monthly => rel
            .match_indices('/')
            .nth(1)
            .map_or(rel, |(i, _)| &rel[..i]),
        Layout::Flat | Layout::Sharded | Layout::File => k.path,
    })
}

fn is_temp(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with(TEMP_PREFIX)
}
