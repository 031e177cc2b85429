//! Shared helpers for the end-to-end tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

/// A temporary records tree made with `frontdesk init`.
pub struct Clinic {
    pub dir: TempDir,
    pub root: PathBuf,
    /// The office clock every command runs at (`FRONTDESK_NOW`), when pinned with [`Clinic::at`].
    pub now: Option<&'static str>,
}

impl Clinic {
    /// A new clinic in America/New_York with git on.
    pub fn new() -> Clinic {
        Clinic::with_args(&[])
    }

    pub fn without_git() -> Clinic {
        Clinic::with_args(&["--no-git"])
    }

    pub fn with_args(extra: &[&str]) -> Clinic {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("records");
        let out = bare()
            .arg("init")
            .arg(&root)
            .args(["--name", "Test Clinic", "--timezone", "America/New_York"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Clinic {
            dir,
            root,
            now: None,
        }
    }

    /// A generated demo clinic of `patients` patients (fixed seed and date), with git.
    pub fn demo(patients: u32) -> Clinic {
        Clinic::generated(patients, None)
    }

    /// A generated clinic with every kind of record (patients, payers, providers, rooms, and
    /// `appointments` appointments when given), fixed seed and date, with git.
    pub fn generated(patients: u32, appointments: Option<u32>) -> Clinic {
        Clinic::made_by("demo generate", |root| {
            let mut cmd = bare();
            cmd.args(["demo", "generate"])
                .arg(root)
                .args(["--patients", &patients.to_string()]);
            if let Some(n) = appointments {
                cmd.args(["--appointments", &n.to_string()]);
            }
            cmd.args(["--seed", "5", "--as-of", "2026-11-27"])
                .output()
                .unwrap()
        })
    }

    /// A private copy of the repository's sample clinic (`records/`): tests never change the
    /// sample itself.
    pub fn sample() -> Clinic {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("records");
        Clinic::made_by("copy the sample clinic", |root| {
            std::process::Command::new("cp")
                .arg("-r")
                .arg(&sample)
                .arg(root)
                .output()
                .unwrap()
        })
    }

    /// The same clinic with every command run at `now` (`FRONTDESK_NOW`).
    pub fn at(mut self, now: &'static str) -> Clinic {
        self.now = Some(now);
        self
    }

    /// A second site: a clone of `remote`, made private as docs/sync.md says.
    pub fn clone_of(remote: &Path) -> Clinic {
        let c = Clinic::made_by("clone", |root| {
            std::process::Command::new("git")
                .args(["clone", "-q", "--config", "core.sharedRepository=0600"])
                .arg(remote)
                .arg(root)
                .output()
                .unwrap()
        });
        c.ok(&["check", "--fix"]);
        c
    }

    /// A clinic whose records tree `make` creates at the path it is given.
    pub fn made_by(what: &str, make: impl FnOnce(&Path) -> Output) -> Clinic {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("records");
        let out = make(&root);
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Clinic {
            dir,
            root,
            now: None,
        }
    }

    /// The binary with --records pointing at this clinic and a fixed staff user.
    pub fn cmd(&self) -> Command {
        let mut c = bare();
        c.arg("--records").arg(&self.root);
        if let Some(now) = self.now {
            c.env("FRONTDESK_NOW", now);
        }
        c
    }

    /// Runs with the given arguments and returns the output.
    pub fn run(&self, args: impl IntoArgs) -> Output {
        self.cmd().args(args.into_args()).output().unwrap()
    }

    /// Runs, asserts success, and returns stdout.
    pub fn ok(&self, args: impl IntoArgs) -> String {
        let args = args.into_args();
        expect_ok(&args, self.run(args.as_slice()))
    }

    /// Runs, asserts the exit code, and returns stderr.
    pub fn fails(&self, args: impl IntoArgs, code: i32) -> String {
        let args = args.into_args();
        let out = self.run(args.as_slice());
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// Runs, asserts the exit code, and returns stdout.
    pub fn ok_or(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Books patient `p` into slot `n` (`book_args`) at the scheduling tests' clock and returns
    /// the new appointment's ID.
    pub fn book(&self, p: &str, n: usize) -> String {
        let args = book_args(p, n);
        let out = self
            .cmd()
            .env("FRONTDESK_NOW", SCHED_NOW)
            .args(&args)
            .output()
            .unwrap();
        let stdout = expect_ok(&args, out);
        stdout.lines().next().unwrap_or_default().trim().to_string()
    }

    /// Adds Jane Doe and returns her ID.
    pub fn add_jane(&self) -> String {
        self.ok("patient add --first Jane --last Doe --dob 1980-04-02 --sex F --phone 617-555-0101")
            .trim()
            .to_string()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Number of commits in the records repository.
    pub fn commits(&self) -> usize {
        git_lines(&self.root, &["log", "--format=%H"]).len()
    }

    /// Number of pack files in the records repository.
    pub fn packs(&self) -> usize {
        std::fs::read_dir(self.path(".git/objects/pack")).map_or(0, |d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".pack"))
            })
            .count()
        })
    }

    /// Subject lines of the commits, newest first.
    pub fn commit_messages(&self) -> Vec<String> {
        git_lines(&self.root, &["log", "--format=%an|%s"])
    }

    /// Every file under the tree (not .git, not .frontdesk), relative, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut out = Vec::new();
        for e in walkdir::WalkDir::new(&self.root)
            .into_iter()
            .filter_entry(|e| {
                let n = e.file_name().to_string_lossy();
                n != ".git" && n != ".frontdesk"
            })
        {
            let e = e.unwrap();
            if e.file_type().is_file() {
                out.push(
                    e.path()
                        .strip_prefix(&self.root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
        out.sort();
        out
    }

    /// Path of the one patient file for `id`.
    pub fn patient_file(&self, id: &str) -> PathBuf {
        self.root
            .join("patients")
            .join(&id[1..3])
            .join(format!("{id}.toml"))
    }
}

/// Arguments as a slice (`&["patient", "show", &id]`) or as one line written the way it is
/// typed at a shell (`"patient find 'doe jan'"`), so tests read like a terminal transcript.
pub trait IntoArgs {
    fn into_args(self) -> Vec<String>;
}

impl IntoArgs for &str {
    fn into_args(self) -> Vec<String> {
        shlex::split(self).unwrap_or_else(|| panic!("unbalanced quotes in {self:?}"))
    }
}

impl IntoArgs for &String {
    fn into_args(self) -> Vec<String> {
        self.as_str().into_args()
    }
}

impl IntoArgs for String {
    fn into_args(self) -> Vec<String> {
        self.as_str().into_args()
    }
}

impl<S: AsRef<str>> IntoArgs for &[S] {
    fn into_args(self) -> Vec<String> {
        self.iter().map(|s| s.as_ref().to_string()).collect()
    }
}

impl<S: AsRef<str>, const N: usize> IntoArgs for &[S; N] {
    fn into_args(self) -> Vec<String> {
        self.iter().map(|s| s.as_ref().to_string()).collect()
    }
}

impl<S: AsRef<str>> IntoArgs for &Vec<S> {
    fn into_args(self) -> Vec<String> {
        self.iter().map(|s| s.as_ref().to_string()).collect()
    }
}

/// Asserts that a run of `args` succeeded and returns its stdout.
pub fn expect_ok(args: &[String], out: Output) -> String {
    assert!(
        out.status.success(),
        "{args:?} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The binary with no --records and a clean, predictable environment.
pub fn bare() -> Command {
    let mut c = Command::cargo_bin("frontdesk").unwrap();
    c.env_remove("FRONTDESK_RECORDS")
        .env("FRONTDESK_USER", "testclerk")
        .env("NO_COLOR", "1")
        .env_remove("EDITOR")
        .env_remove("VISUAL");
    c
}

/// Runs git in `dir` as a test identity, asserts it succeeded and returns its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@x")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@x")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn git_lines(root: &Path, args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The repository's shared data folder (`../shared/data`), present on CI beside the checkout.
/// The shared sample data beside the repository (`../shared/data`), or where
/// `FRONTDESK_SHARED_DATA` says when the checkout lives elsewhere (a git worktree).
pub fn shared_data() -> PathBuf {
    match std::env::var_os("FRONTDESK_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    }
}

/// The repository's `examples/` folder (sample maps and CSV files).
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// A count for a test: `short` in `cargo test`, `soak` with FRONTDESK_SOAK=1, or exactly
/// FRONTDESK_SCALE when that is set.
pub fn scaled(short: usize, soak: usize) -> usize {
    if let Some(n) = std::env::var("FRONTDESK_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return n;
    }
    if std::env::var("FRONTDESK_SOAK").is_ok_and(|v| v == "1") {
        soak
    } else {
        short
    }
}

/// A plain `std::process::Command` for the binary on this clinic, for tests that spawn,
/// kill or run many processes at once.
pub fn spawnable(c: &Clinic) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("frontdesk"));
    cmd.env_remove("FRONTDESK_RECORDS")
        .env_remove("FRONTDESK_FAULT")
        .env("FRONTDESK_USER", "testclerk")
        .env("NO_COLOR", "1")
        .env_remove("EDITOR")
        .env_remove("VISUAL")
        .arg("--records")
        .arg(&c.root)
        .stdin(std::process::Stdio::null());
    cmd
}

/// Everything under the tree except .git: relative path and bytes, to prove nothing changed.
pub fn snapshot(c: &Clinic) -> Vec<(String, Vec<u8>)> {
    c.files()
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(c.root.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

/// The clock scheduling tests run at: Friday 2026-11-27, 09:00 in New York.
pub const SCHED_NOW: &str = "2026-11-27T09:00:00-05:00";

/// Adds provider `okafor` (weekdays 08:00-17:00) and a 20-minute `quick` visit type.
pub fn schedule_setup(c: &Clinic) {
    c.ok(&[
        "provider",
        "add",
        "okafor",
        "--name",
        "Adaeze Okafor",
        "--hours",
        "mon-fri 08:00-17:00",
    ]);
    std::fs::write(
        c.path("appointment-types.toml"),
        "schema = 1\n\n[[type]]\nkey = \"quick\"\nname = \"Quick check\"\nminutes = 20\n",
    )
    .unwrap();
    std::fs::set_permissions(
        c.path("appointment-types.toml"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    git_lines(&c.root, &["add", "appointment-types.toml"]);
    git_lines(&c.root, &["commit", "-qm", "Add appointment types."]);
}

/// The `n`th distinct 20-minute weekday slot from Monday 2027-01-04 08:00, as `--at` takes it.
pub fn slot(n: usize) -> String {
    let per_day = 27; // 08:00 to 16:40
    let day = n / per_day;
    let date = chrono::NaiveDate::from_ymd_opt(2027, 1, 4).unwrap()
        + chrono::Duration::days((day / 5 * 7 + day % 5) as i64);
    let minutes = 8 * 60 + (n % per_day) * 20;
    format!("{date} {:02}:{:02}", minutes / 60, minutes % 60)
}

/// `schedule book` arguments for patient `p` at slot `n`.
pub fn book_args(p: &str, n: usize) -> Vec<String> {
    [
        "schedule",
        "book",
        "--patient",
        p,
        "--provider",
        "okafor",
        "--type",
        "quick",
        "--at",
        &slot(n),
    ]
    .map(String::from)
    .to_vec()
}

/// `patient add` for Ann Lee, a second patient many tests need.
pub const ADD_ANN: [&str; 10] = [
    "patient",
    "add",
    "--first",
    "Ann",
    "--last",
    "Lee",
    "--dob",
    "1990-01-01",
    "--sex",
    "F",
];

/// Starts every command at once, as clerks pressing enter together, waits for all of them, and
/// checks that exactly one succeeded and every other was refused as a conflict (exit 3).
/// Returns the refused commands' outputs for further checks.
pub fn race_one_winner(
    commands: impl IntoIterator<Item = std::process::Command>,
    context: &str,
) -> Vec<Output> {
    let children: Vec<_> = commands
        .into_iter()
        .map(|mut cmd| {
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|ch| ch.wait_with_output().unwrap())
        .collect();
    let wins = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(wins, 1, "{context}: {wins} winners");
    let losers: Vec<Output> = outs.into_iter().filter(|o| !o.status.success()).collect();
    for o in &losers {
        assert_eq!(
            o.status.code(),
            Some(3),
            "{context}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    losers
}
