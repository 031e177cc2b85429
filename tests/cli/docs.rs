//! The documentation is a test. Every ```` ```console ```` block of the README and of
//! `docs/*.md` is run, block after block, in one shell per file (so `P=$(…)` carries over), on a
//! fresh tree with the clock pinned, and each command's output (stdout and stderr, as a user
//! sees them) must match what the page shows. A page goes stale the day the tool changes.
//!
//! The block format, kept close to what a terminal shows:
//!
//! - `$ COMMAND` runs a command; a line ending in `\` continues it on the next line.
//! - The lines after it, up to the next `$`, are its output. In them `[..]` matches any text
//!   within a line (a commit hash, a time of day) and a line `...` matches any number of lines
//!   (output the page leaves out). A command with no lines after it must print nothing.
//! - A last line `[exit N]` says the command exits with N (otherwise 0 is expected).
//!
//! Where a page runs: by default in a folder holding a copy of the sample clinic as `records/`
//! (a git repository, so `history` works), with `FRONTDESK_RECORDS=records`; a page with
//! `<!-- doc-test: fresh -->` starts from an empty folder instead (the README tour). The clock
//! is Monday 2026-12-07 09:00 in New York unless `<!-- doc-test: now=… -->` says otherwise.
//! Each command draws its new IDs from its own seed, so the IDs a page shows are the IDs a run
//! prints.
//!
//! `sh` blocks are procedures around the tool (a git remote, cargo fuzz, the benchmarks): they
//! are not run here, but their frontdesk command lines are parsed by the argument parser
//! (`every_documented_command_line_is_one_the_tool_accepts` in `src/cli/arg_errors.rs`).
//!
//! `FRONTDESK_DOCS_BLESS=1 cargo test --test cli docs::` writes the actual output into every
//! command whose output no longer matches (matching ones are left as written, wildcards and
//! all): read the diff before committing it.

use std::path::{Path, PathBuf};

use crate::harness::*;

/// One command of a console block and what the page says it prints.
#[derive(Debug)]
struct Step {
    /// 1-based line of the `$` in the page.
    line: usize,
    command: String,
    expected: Vec<String>,
    exit: i32,
    /// 0-based lines of the page holding the expected output (for blessing): [start, end).
    output_lines: (usize, usize),
}

fn steps(page: &str) -> Vec<Step> {
    let lines: Vec<&str> = page.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut in_block = false;
    while i < lines.len() {
        let line = lines[i];
        if !in_block {
            in_block = line.trim_end() == "```console";
            i += 1;
            continue;
        }
        if line.trim_end() == "```" {
            in_block = false;
            i += 1;
            continue;
        }
        let Some(first) = line.strip_prefix("$ ") else {
            panic!(
                "line {}: a console block's output must follow a `$ ` command",
                i + 1
            );
        };
        let at = i;
        let mut command = first.to_string();
        while command.ends_with('\\') && i + 1 < lines.len() {
            i += 1;
            command.push('\n');
            command.push_str(lines[i]);
        }
        i += 1;
        let start = i;
        while i < lines.len() && !lines[i].starts_with("$ ") && lines[i].trim_end() != "```" {
            i += 1;
        }
        let mut expected: Vec<String> = lines[start..i].iter().map(|l| l.to_string()).collect();
        let mut exit = 0;
        if let Some(code) = expected
            .last()
            .and_then(|l| l.strip_prefix("[exit "))
            .and_then(|l| l.strip_suffix(']'))
        {
            exit = code.parse().expect("[exit N] holds a number");
            expected.pop();
        }
        out.push(Step {
            line: at + 1,
            command,
            expected,
            exit,
            output_lines: (start, i),
        });
    }
    out
}

/// Does one line match its pattern (`[..]` matches any text)?
fn line_matches(pattern: &str, actual: &str) -> bool {
    let (pattern, actual) = (pattern.trim_end(), actual.trim_end());
    let mut parts = pattern.split("[..]");
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (k, part) in parts.iter().enumerate() {
        if k + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// Do the lines match the pattern lines (`...` matches any number of lines)?
fn lines_match(pattern: &[String], actual: &[&str]) -> bool {
    match pattern.split_first() {
        None => actual.is_empty(),
        Some((p, rest)) if p.trim() == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((p, rest)) => {
            !actual.is_empty() && line_matches(p, actual[0]) && lines_match(rest, &actual[1..])
        }
    }
}

/// What running a page's commands printed: per command, its output lines and exit code.
fn run_page(page: &str, steps: &[Step]) -> Vec<(Vec<String>, i32)> {
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(
        assert_cmd::cargo::cargo_bin("frontdesk"),
        bin.join("frontdesk"),
    )
    .unwrap();
    let work = home.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let fresh = page.contains("<!-- doc-test: fresh -->");
    let now = page
        .split("<!-- doc-test: now=")
        .nth(1)
        .and_then(|rest| rest.split(" -->").next())
        .unwrap_or("2026-12-07T09:00:00-05:00");
    if !fresh {
        copy_sample_with_history(&work.join("records"));
    }
    // Each command is fenced by markers, its output merged as a terminal shows it.
    let mut script = String::new();
    for (k, step) in steps.iter().enumerate() {
        let command = step
            .command
            .replace("../shared/data/", &format!("{}/", shared_data().display()))
            .replace("examples/", &format!("{}/", examples().display()));
        script.push_str(&format!(
            "printf '\\n@@doc-step {k}\\n'\nexport FRONTDESK_ID_SEED={}\n{{ {command}\n}} 2>&1\necho \"@@doc-exit $?\"\n",
            1000 + k
        ));
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = std::process::Command::new("bash");
    cmd.arg("-c")
        .arg(script)
        .current_dir(&work)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .env("FRONTDESK_NOW", now)
        .env("FRONTDESK_USER", "maria")
        .env("COLUMNS", "100")
        .env("EDITOR", "true")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("LANG", "C.UTF-8");
    if !fresh {
        cmd.env("FRONTDESK_RECORDS", "records");
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut results = vec![(Vec::new(), -1); steps.len()];
    for chunk in text.split("\n@@doc-step ").skip(1) {
        let (k, body) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let k: usize = k.trim().parse().unwrap();
        let (body, code) = body
            .rsplit_once("@@doc-exit ")
            .expect("every step reports its exit code");
        let lines = body.lines().map(str::to_string).collect();
        results[k] = (lines, code.trim().parse().unwrap_or(-1));
    }
    results
}

/// The sample clinic, copied and made a git repository with one commit.
fn copy_sample_with_history(to: &Path) {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("records");
    let ok = |c: &mut std::process::Command| assert!(c.status().unwrap().success(), "{c:?}");
    ok(std::process::Command::new("cp")
        .arg("-r")
        .arg(&sample)
        .arg(to));
    let _ = std::fs::remove_dir_all(to.join(".frontdesk"));
    let git = |args: &[&str]| {
        let mut c = std::process::Command::new("git");
        c.arg("-C").arg(to).args(args);
        c.env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "sample")
            .env("GIT_AUTHOR_EMAIL", "sample@frontdesk")
            .env("GIT_COMMITTER_NAME", "sample")
            .env("GIT_COMMITTER_EMAIL", "sample@frontdesk");
        c
    };
    ok(&mut git(&["init", "-q"]));
    ok(&mut git(&["add", "-A"]));
    ok(&mut git(&["commit", "-q", "-m", "The sample clinic."]));
}

fn pages() -> Vec<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![repo.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn check_page(path: &Path) -> Result<usize, String> {
    let page = std::fs::read_to_string(path).unwrap();
    let steps = steps(&page);
    if steps.is_empty() {
        return Ok(0);
    }
    let results = run_page(&page, &steps);
    let bless = std::env::var_os("FRONTDESK_DOCS_BLESS").is_some();
    let mut lines: Vec<String> = page.lines().map(str::to_string).collect();
    let mut failures = Vec::new();
    // From the last step up, so blessing one keeps the line numbers of those before it.
    for (step, (actual, code)) in steps.iter().zip(&results).rev() {
        let actual_refs: Vec<&str> = actual.iter().map(String::as_str).collect();
        if lines_match(&step.expected, &actual_refs) && *code == step.exit {
            continue;
        }
        if bless {
            let mut new: Vec<String> = actual.iter().map(|l| l.trim_end().to_string()).collect();
            if *code != 0 {
                new.push(format!("[exit {code}]"));
            }
            lines.splice(step.output_lines.0..step.output_lines.1, new);
        }
        failures.push(format!(
            "{}:{}: `{}`\n  expected (exit {}):\n{}\n  got (exit {code}):\n{}",
            path.display(),
            step.line,
            step.command,
            step.exit,
            indent(&step.expected),
            indent(actual)
        ));
    }
    if bless && !failures.is_empty() {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }
    if failures.is_empty() {
        Ok(steps.len())
    } else {
        failures.reverse();
        Err(failures.join("\n\n"))
    }
}

fn indent(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("    | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_console_block_of_the_readme_and_docs_runs_as_shown() {
    let mut failures = Vec::new();
    let mut total = 0;
    for page in pages() {
        match check_page(&page) {
            Ok(n) => total += n,
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(total >= 60, "only {total} documented commands were run");
}

#[test]
fn the_block_format_matches_as_documented() {
    let page = "text\n```console\n$ a \\\n  b\none [..] three\n...\nlast\n[exit 2]\n$ quiet\n```\n";
    let s = steps(page);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].command, "a \\\n  b");
    assert_eq!(s[0].exit, 2);
    assert_eq!(s[0].line, 3);
    assert!(s[1].expected.is_empty());
    let got = ["one two three", "x", "y", "last"];
    assert!(lines_match(&s[0].expected, &got));
    assert!(lines_match(&s[0].expected, &["one 2 three", "last"]));
    assert!(!lines_match(&s[0].expected, &["one two four", "last"]));
    assert!(!lines_match(&s[0].expected, &["one two three"]));
    assert!(lines_match(&s[1].expected, &[]));
    assert!(!lines_match(&s[1].expected, &["unexpected"]));
    assert!(line_matches("[..]", "anything"));
    assert!(line_matches("a[..]", "a"));
    assert!(!line_matches("ab[..]ba", "aba"));
}
