//! Running git: the command with the staff user as author and committer, its output, and
//! what the `.git` folder says without running it. Shared by the slow path (`git`), the fast
//! one (`git_fast`) and `git_status`, so neither of those imports the other for it.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

pub fn is_repo(root: &Path) -> bool {
    root.join(".git").exists()
}

/// The address git records for a staff user (who has no e-mail in the records).
pub(super) fn email(user: &str) -> String {
    format!("{}@frontdesk.invalid", user.replace(' ', "."))
}

pub(super) fn git(root: &Path, user: &str) -> Command {
    let mut cmd = Command::new("git");
    let email = email(user);
    cmd.current_dir(root)
        .env("GIT_AUTHOR_NAME", user)
        .env("GIT_AUTHOR_EMAIL", &email)
        .env("GIT_COMMITTER_NAME", user)
        .env("GIT_COMMITTER_EMAIL", &email)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null());
    // git's automatic housekeeping must finish while frontdesk holds the write lock: run in
    // the background it locks refs and the next command's commit fails.
    cmd.args([
        "-c",
        "gc.autoDetach=false",
        "-c",
        "maintenance.autoDetach=false",
    ]);
    cmd
}

/// A limit tests lower through the environment (`FRONTDESK_GIT_…`) to exercise a rare way;
/// `default` otherwise.
pub(super) fn limit(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub(super) fn run(cmd: Command, what: &str) -> Result<String> {
    run_with_input(cmd, None, what)
}

/// Runs git, feeding `input` on stdin from a thread (so a chatty git cannot deadlock), and
/// returns its stdout. Paths on stdin are literal, never patterns.
pub(super) fn run_with_input(cmd: Command, input: Option<&[u8]>, what: &str) -> Result<String> {
    run_bytes(cmd, input, what).map(|out| String::from_utf8_lossy(&out).into_owned())
}

/// [`run_with_input`], returning stdout as git printed it (for `-z` listings of names that
/// need not be UTF-8).
pub(super) fn run_bytes(mut cmd: Command, input: Option<&[u8]>, what: &str) -> Result<Vec<u8>> {
    if input.is_some() {
        cmd.env("GIT_LITERAL_PATHSPECS", "1");
    }
    let out = output_with_input(cmd, input).map_err(|e| {
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
    Ok(out.stdout)
}

/// Runs a command to its end, feeding `input` on stdin from a thread (so a chatty command
/// cannot deadlock), and returns what it printed and how it exited.
pub(super) fn output_with_input(
    mut cmd: Command,
    input: Option<&[u8]>,
) -> std::io::Result<std::process::Output> {
    use std::io::Write;
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let stdin = child.stdin.take();
    std::thread::scope(|s| {
        if let (Some(mut stdin), Some(input)) = (stdin, input) {
            // A write error shows up as the command's own failure.
            s.spawn(move || stdin.write_all(input));
        }
        child.wait_with_output()
    })
}

/// The git operation left half-done in the tree, if any: "merge", "rebase", "cherry-pick".
pub fn operation_in_progress(root: &Path) -> Option<&'static str> {
    let git_dir = root.join(".git");
    if git_dir.join("MERGE_HEAD").exists() {
        Some("merge")
    } else if git_dir.join("rebase-merge").exists() || git_dir.join("rebase-apply").exists() {
        Some("rebase")
    } else if git_dir.join("CHERRY_PICK_HEAD").exists() {
        Some("cherry-pick")
    } else {
        None
    }
}
