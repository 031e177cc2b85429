//! Git as the audit trail: one commit per mutating command, authored by the staff user.
//!
//! The records tree counts as a repository when it has its own `.git` (a records tree that
//! merely sits inside another repository, like the sample in the source tree, is not committed
//! to). Messages name actions and record IDs, never patient details.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::store::fault;

pub fn is_repo(root: &Path) -> bool {
    root.join(".git").exists()
}

pub fn available() -> bool {
    Command::new("git")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn git(root: &Path, user: &str) -> Command {
    let mut cmd = Command::new("git");
    let email = format!("{}@frontdesk.invalid", user.replace(' ', "."));
    cmd.current_dir(root)
        .env("GIT_AUTHOR_NAME", user)
        .env("GIT_AUTHOR_EMAIL", &email)
        .env("GIT_COMMITTER_NAME", user)
        .env("GIT_COMMITTER_EMAIL", &email)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null());
    cmd
}

fn run(mut cmd: Command, what: &str) -> Result<String> {
    let out = cmd.output().map_err(|e| {
        Error::internal(format!("cannot run git to {what}: {e}"))
            .hint("install git, or use --no-commit")
    })?;
    if !out.status.success() {
        // git's own message names paths and refs, not record contents.
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::internal(format!(
            "git could not {what}: {}",
            stderr.trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
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
        ("commit.gpgSign", "false"),
    ] {
        let mut cmd = git(root, user);
        cmd.args(["config", key, value]);
        run(cmd, "configure the repository")?;
    }
    Ok(())
}

/// Stages exactly `paths` (relative to `root`) and commits them with `message`.
/// Does nothing when the staged content did not change.
pub fn commit(root: &Path, user: &str, paths: &[PathBuf], message: &str) -> Result<()> {
    fault::check("git").map_err(|e| Error::internal(format!("git could not commit: {e}")))?;
    if paths.is_empty() {
        return Ok(());
    }
    let mut add = git(root, user);
    add.args(["add", "-A", "--"]).args(paths);
    run(add, "stage the change")?;
    let mut diff = git(root, user);
    diff.args(["diff", "--cached", "--quiet", "--"]).args(paths);
    if diff.status().is_ok_and(|s| s.success()) {
        return Ok(());
    }
    let mut cmd = git(root, user);
    cmd.args(["commit", "-q", "--no-verify", "-m", message, "--"])
        .args(paths);
    run(cmd, "commit")?;
    Ok(())
}

/// Stages every change in the tree and commits it: for bulk batches such as the generator.
pub fn commit_all(root: &Path, user: &str, message: &str) -> Result<()> {
    fault::check("git").map_err(|e| Error::internal(format!("git could not commit: {e}")))?;
    let mut add = git(root, user);
    add.args(["add", "-A"]);
    run(add, "stage the change")?;
    let mut cmd = git(root, user);
    cmd.args([
        "commit",
        "-q",
        "--no-verify",
        "--allow-empty",
        "-m",
        message,
    ]);
    run(cmd, "commit")?;
    Ok(())
}

/// One commit touching a record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogEntry {
    pub commit: String,
    pub date: String,
    pub author: String,
    pub message: String,
}

pub fn history(root: &Path, rel: &Path) -> Result<Vec<LogEntry>> {
    let mut cmd = git(root, "frontdesk");
    cmd.args(["log", "--follow", "--format=%h%x1f%aI%x1f%an%x1f%s", "--"])
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
