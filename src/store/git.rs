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

fn run(cmd: Command, what: &str) -> Result<String> {
    run_with_input(cmd, None, what)
}

/// Runs git, feeding `input` on stdin from a thread (so a chatty git cannot deadlock), and
/// returns its stdout. Paths on stdin are literal, never patterns.
fn run_with_input(mut cmd: Command, input: Option<&[u8]>, what: &str) -> Result<String> {
    use std::io::Write;
    if input.is_some() {
        cmd.env("GIT_LITERAL_PATHSPECS", "1").stdin(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| {
        Error::internal(format!("cannot run git to {what}: {e}"))
            .hint("install git, or use --no-commit")
    })?;
    let stdin = child.stdin.take();
    let out = std::thread::scope(|s| {
        if let (Some(mut stdin), Some(input)) = (stdin, input) {
            // A write error shows up as git's own failure below.
            s.spawn(move || stdin.write_all(input));
        }
        child.wait_with_output()
    })
    .map_err(|e| Error::internal(format!("git could not {what}: {e}")))?;
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
///
/// The paths go to git on stdin, not as arguments: an import of 100,000 patients would
/// overflow the command line.
pub fn commit(root: &Path, user: &str, paths: &[PathBuf], message: &str) -> Result<()> {
    fault::check("git").map_err(|e| Error::internal(format!("git could not commit: {e}")))?;
    if paths.is_empty() {
        return Ok(());
    }
    let mut list = Vec::with_capacity(paths.len() * 32);
    for p in paths {
        list.extend_from_slice(p.as_os_str().as_encoded_bytes());
        list.push(0);
    }
    let from_stdin = ["--pathspec-from-file=-", "--pathspec-file-nul"];
    let mut add = git(root, user);
    add.args(["add", "-A"]).args(from_stdin);
    run_with_input(add, Some(&list), "stage the change")?;
    if !staged_any(root, user, paths)? {
        return Ok(());
    }
    let mut cmd = git(root, user);
    cmd.args(["commit", "-q", "--no-verify", "-m", message])
        .args(from_stdin);
    run_with_input(cmd, Some(&list), "commit")?;
    Ok(())
}

/// True when any of `paths` differs between the index and HEAD.
fn staged_any(root: &Path, user: &str, paths: &[PathBuf]) -> Result<bool> {
    let mut diff = git(root, user);
    diff.args(["diff", "--cached", "--name-only", "--no-renames", "-z"]);
    let staged = run(diff, "compare the change")?;
    let ours: std::collections::HashSet<&Path> = paths.iter().map(PathBuf::as_path).collect();
    Ok(staged
        .split('\0')
        .any(|p| !p.is_empty() && ours.contains(Path::new(p))))
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
