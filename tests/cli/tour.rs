//! The README's short tour is a test: every `sh` block of its "A short tour" section is run,
//! in order, by bash (`set -euo pipefail`) on a fresh home folder, with the clock pinned to a
//! Monday morning and `frontdesk` on the PATH. A command that fails, or a block that no longer
//! parses, fails the test, so the tour cannot go stale.

use std::path::Path;

use crate::harness::*;

/// The `sh` blocks of the README section headed `## A short tour`.
fn tour_blocks(readme: &str) -> Vec<String> {
    let start = readme
        .find("## A short tour")
        .expect("the README has a short tour");
    let rest = &readme[start + 3..];
    let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn the_readme_tour_runs_on_a_fresh_tree() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let blocks = tour_blocks(&readme);
    assert!(blocks.len() >= 5, "the tour lost its blocks: {blocks:?}");
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(
        assert_cmd::cargo::cargo_bin("frontdesk"),
        bin.join("frontdesk"),
    )
    .unwrap();
    // The tour's paths are relative to a clone; here they point into this one.
    let script = blocks
        .join("\n")
        .replace("../shared/data/", &format!("{}/", shared_data().display()))
        .replace("examples/", &format!("{}/", examples().display()));
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\nset -x\n{script}"))
        .current_dir(home.path())
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .env("FRONTDESK_NOW", "2026-12-07T09:00:00-05:00")
        .env("EDITOR", "true")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the tour stopped (exit {:?}); its trace:\n{}",
        out.status.code(),
        err.lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(!err.contains("panicked"), "{err}");
    // What the tour promises it leaves: a statement, the month's mail run, a clean history.
    assert!(home.path().join("jane.html").is_file());
    assert!(home.path().join("okafor.ics").is_file());
    let log = git_lines(&home.path().join("clinic"), &["log", "--format=%s"]);
    assert!(
        log.iter().any(|l| l.starts_with("Book appointment")),
        "{log:?}"
    );
    assert!(git_lines(&home.path().join("clinic"), &["status", "--porcelain"]).is_empty());
}
