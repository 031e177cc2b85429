//! Git as the audit trail: one commit per mutating command, authored by the staff user.
//!
//! The records tree counts as a repository when it has its own `.git` (a records tree that
//! merely sits inside another repository, like the sample in the source tree, is not committed
//! to). Messages name actions and record IDs, never patient details.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::git_fast::{Direct, SPLIT_CONFIG, commit_direct, keep_index_split};
pub use super::git_fast::{Tidied, tidy_index};
use super::plumbing::{git, run, run_with_input};
pub use super::plumbing::{is_repo, operation_in_progress};
use crate::disk::fault;
use crate::error::{Error, Result};

pub fn available() -> bool {
    Command::new("git")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `git init` with the settings that keep commits cheap on a tree of a million files.
pub fn init(root: &Path, user: &str) -> Result<()> {
    let mut cmd = git(root, user);
    cmd.args(["init", "-q"]);
    run(cmd, "initialise the repository")?;
    for (key, value) in [
        ("feature.manyFiles", "true"),
        ("index.version", "4"),
        ("core.untrackedCache", "true"),
        // A commit then touches only the small half of the index (see git_fast.rs).
        SPLIT_CONFIG[0],
        SPLIT_CONFIG[1],
        ("commit.gpgSign", "false"),
        // Objects hold every version of every record: private to the office's account.
        ("core.sharedRepository", "0600"),
    ] {
        let mut cmd = git(root, user);
        cmd.args(["config", key, value]);
        run(cmd, "configure the repository")?;
    }
    let git_dir = root.join(".git");
    std::fs::set_permissions(
        &git_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .map_err(|e| Error::io(&git_dir, "set permissions on", e))?;
    Ok(())
}

/// Commits exactly `paths` (relative to `root`) with `message`. Does nothing when their
/// content did not change (returns false). Changes someone staged by hand are left staged, not
/// committed.
///
/// On a split index the commit goes the direct way (`commit_direct`), which reads neither the
/// big shared index nor the whole tree; anything unusual goes through git's porcelain.
pub fn commit(root: &Path, user: &str, paths: &[PathBuf], message: &str) -> Result<bool> {
    fault::check("git").map_err(|e| Error::internal(format!("git could not commit: {e}")))?;
    if paths.is_empty() {
        return Ok(false);
    }
    if let Direct::Done { committed } = commit_direct(root, user, paths, message)? {
        return Ok(committed);
    }
    let committed = commit_staged(root, user, paths, message)?;
    keep_index_split(root, user)?;
    Ok(committed)
}

/// The porcelain way, built to stay linear in the number of paths, since an import commits
/// 100,000 files at once: the paths go to git on stdin (they would overflow the command
/// line), they are staged with `update-index` (`git add` and `git commit -- paths` match every
/// path against every pathspec, which is quadratic), and the commit takes the whole index
/// unless someone has staged other changes by hand, which are then left staged as they were.
fn commit_staged(root: &Path, user: &str, paths: &[PathBuf], message: &str) -> Result<bool> {
    let mut list = Vec::with_capacity(paths.len() * 32);
    for p in paths {
        list.extend_from_slice(p.as_os_str().as_encoded_bytes());
        list.push(0);
    }
    let mut stage = git(root, user);
    stage.args(["update-index", "--add", "--remove", "-z", "--stdin"]);
    run_with_input(stage, Some(&list), "stage the change")?;

    let ours: HashSet<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let staged = staged_paths(root, user)?;
    if !staged.iter().any(|p| ours.contains(Path::new(p))) {
        return Ok(false);
    }
    let mut cmd = git(root, user);
    cmd.args(["commit", "-q", "--no-verify", "-m", message]);
    // During a merge or rebase a whole-index commit would conclude it; a pathspec commit
    // refuses, as it always has.
    let only_ours = staged.iter().all(|p| ours.contains(Path::new(p)));
    if only_ours && operation_in_progress(root).is_none() {
        run(cmd, "commit")?;
    } else {
        cmd.args(["--pathspec-from-file=-", "--pathspec-file-nul"]);
        run_with_input(cmd, Some(&list), "commit")?;
    }
    Ok(true)
}

/// Every path whose staged content differs from HEAD (all of them before the first commit).
fn staged_paths(root: &Path, user: &str) -> Result<Vec<String>> {
    let mut diff = git(root, user);
    if has_head(root, user) {
        diff.args(["diff", "--cached", "--name-only", "--no-renames", "-z"]);
    } else {
        diff.args(["ls-files", "-z"]);
    }
    let out = run(diff, "compare the change")?;
    Ok(out
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect())
}

fn has_head(root: &Path, user: &str) -> bool {
    let mut cmd = git(root, user);
    cmd.args(["rev-parse", "--verify", "--quiet", "HEAD"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.status().is_ok_and(|s| s.success())
}

/// One commit touching a record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogEntry {
    pub commit: String,
    pub date: String,
    pub author: String,
    pub message: String,
}

/// The commits that touched `rel`, newest first. Without `--follow`: a record's path is made
/// from its ID and never renamed, and following renames makes git diff whole trees (3-4 s on
/// a clinic generated in one 2.8-million-file commit, against 0.03 s for the path alone).
pub fn history(root: &Path, rel: &Path) -> Result<Vec<LogEntry>> {
    let mut cmd = git(root, "frontdesk");
    cmd.args(["log", "--format=%h%x1f%aI%x1f%an%x1f%s", "--"])
        .arg(rel);
    let out = run(cmd, "read the history")?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\x1f');
            Some(LogEntry {
                commit: f.next()?.into(),
                date: f.next()?.into(),
                author: f.next()?.into(),
                message: f.next()?.into(),
            })
        })
        .collect())
}

// ---- state of the working tree (for `frontdesk check`) ----

/// Paths (relative to `root`) that differ from the last commit, new files included.
pub fn uncommitted(root: &Path, user: &str) -> Result<Vec<PathBuf>> {
    let mut cmd = git(root, user);
    // A status is a read: without this, git rewrites its index after every status (212 MB at
    // full size), which moves the index's stamp, so `check` could never remember a clean tree.
    cmd.args([
        "--no-optional-locks",
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
    ]);
    let out = run(cmd, "read the working tree's status")?;
    let mut paths = Vec::new();
    let mut fields = out.split('\0').filter(|f| !f.is_empty());
    while let Some(entry) = fields.next() {
        let (status, path) = entry.split_at(entry.len().min(3));
        paths.push(PathBuf::from(path));
        // A rename is followed by its old path, which is not a separate change.
        if status.starts_with('R') || status.starts_with('C') {
            fields.next();
        }
    }
    Ok(paths)
}

// ---- sync with a remote ----

/// The branch checked out, or an error when HEAD is detached.
pub fn current_branch(root: &Path, user: &str) -> Result<String> {
    let mut cmd = git(root, user);
    cmd.args(["symbolic-ref", "--quiet", "--short", "HEAD"]);
    run(cmd, "find the current branch")
        .map(|s| s.trim().to_string())
        .map_err(|e| e.hint("check out a branch (e.g. `git checkout main`) before syncing"))
}

pub fn remotes(root: &Path, user: &str) -> Result<Vec<String>> {
    let mut cmd = git(root, user);
    cmd.arg("remote");
    Ok(run(cmd, "list remotes")?
        .lines()
        .map(str::to_string)
        .collect())
}

/// The commit `spec` names, or None when it does not exist.
pub fn resolve(root: &Path, user: &str, spec: &str) -> Option<String> {
    let mut cmd = git(root, user);
    cmd.args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{spec}^{{commit}}"));
    run(cmd, "resolve a revision")
        .ok()
        .map(|s| s.trim().to_string())
}

pub fn fetch(root: &Path, user: &str, remote: &str) -> Result<()> {
    let mut cmd = git(root, user);
    cmd.args(["fetch", "--quiet", remote]);
    run(cmd, &format!("fetch from {remote}"))
        .map(drop)
        .map_err(|e| {
            e.hint(format!(
                "check that the remote {remote} is reachable (`git -C {} remote -v`)",
                root.display()
            ))
        })
}

/// How bringing in the other side's commits went.
#[derive(Debug)]
pub enum Integrated {
    Done,
    /// These files were changed on both sides; the merge or rebase is still in progress.
    Conflicts(Vec<PathBuf>),
}

/// Merges `upstream` into the current branch (or rebases onto it).
pub fn integrate(root: &Path, user: &str, upstream: &str, rebase: bool) -> Result<Integrated> {
    fault::check("git").map_err(|e| Error::internal(format!("git could not merge: {e}")))?;
    let mut cmd = git(root, user);
    if rebase {
        cmd.args(["rebase", "--quiet", upstream]);
    } else {
        cmd.args(["merge", "--quiet", "--no-edit", "-m"])
            .arg(format!("Sync: merge {upstream}."))
            .arg(upstream);
    }
    let what = if rebase { "rebase" } else { "merge" };
    match run(cmd, what) {
        Ok(_) => Ok(Integrated::Done),
        Err(e) => {
            let conflicts = conflicted(root, user)?;
            if conflicts.is_empty() && operation_in_progress(root).is_none() {
                Err(e)
            } else {
                Ok(Integrated::Conflicts(conflicts))
            }
        }
    }
}

/// Files with unresolved conflicts.
pub fn conflicted(root: &Path, user: &str) -> Result<Vec<PathBuf>> {
    let mut cmd = git(root, user);
    cmd.args(["diff", "--name-only", "-z", "--diff-filter=U"]);
    Ok(run(cmd, "list conflicts")?
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect())
}

/// Undoes a merge or rebase in progress, restoring the tree as it was before.
pub fn abort(root: &Path, user: &str) -> Result<()> {
    let Some(op) = operation_in_progress(root) else {
        return Ok(());
    };
    let mut cmd = git(root, user);
    cmd.args([op, "--abort"]);
    run(cmd, &format!("undo the {op}")).map(drop)
}

/// Files that differ between two commits.
pub fn changed_between(root: &Path, user: &str, from: &str, to: &str) -> Result<Vec<PathBuf>> {
    let mut cmd = git(root, user);
    cmd.args(["diff", "--name-only", "-z", "--no-renames", from, to]);
    Ok(run(cmd, "list changed files")?
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect())
}

/// How a push went.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    Done,
    /// The remote has commits this side has not merged yet (someone pushed meanwhile).
    Behind,
}

pub fn push(root: &Path, user: &str, remote: &str, branch: &str) -> Result<Pushed> {
    let mut cmd = git(root, user);
    cmd.args(["push", "--quiet", "--porcelain", remote])
        .arg(format!("HEAD:refs/heads/{branch}"));
    let out = cmd
        .output()
        .map_err(|e| Error::internal(format!("cannot run git to push: {e}")))?;
    if out.status.success() {
        return Ok(Pushed::Done);
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if text.contains("[rejected]")
        || text.contains("non-fast-forward")
        || text.contains("fetch first")
    {
        return Ok(Pushed::Behind);
    }
    Err(
        Error::internal(format!("git could not push to {remote}: {}", text.trim())).hint(format!(
            "check the remote (`git -C {} remote -v`) and try again",
            root.display()
        )),
    )
}

/// How many commits `range` (`a..b`) holds.
pub fn count_commits(root: &Path, user: &str, range: &str) -> Result<usize> {
    let mut cmd = git(root, user);
    cmd.args(["rev-list", "--count", range]);
    Ok(run(cmd, "count commits")?.trim().parse().unwrap_or(0))
}

/// Puts the branch, index and files back to commit `rev` (after a merge that must not stay).
pub fn reset_hard(root: &Path, user: &str, rev: &str) -> Result<()> {
    let mut cmd = git(root, user);
    cmd.args(["reset", "--quiet", "--hard", rev]);
    run(cmd, "undo the merge").map(drop)
}
