//! `frontdesk … | head -0`: every command that prints, in every format, into a pipe already
//! closed. None may panic; each ends quietly with the exit code it would have had.

use std::process::Stdio;

use crate::harness::*;

/// The binary as a plain `std` command, whose output can be piped and then closed.
fn spawnable_bare() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("frontdesk"));
    cmd.env_remove("FRONTDESK_RECORDS")
        .env("FRONTDESK_USER", "testclerk")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    cmd
}

/// A copy of the sample clinic (the repository's `records/`), so the commands have real data.
fn sample() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("records");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("records");
    let out = std::process::Command::new("cp")
        .arg("-r")
        .arg(&src)
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success());
    let _ = std::fs::remove_dir_all(root.join(".frontdesk"));
    (dir, root)
}

/// The first record ID in a folder of the tree (the sample's files are named by ID).
fn first_id(root: &std::path::Path, folder: &str) -> String {
    walkdir::WalkDir::new(root.join(folder))
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
        .find(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| e.path().file_stem().unwrap().to_string_lossy().into_owned())
        .unwrap()
}

#[test]
fn no_command_panics_on_a_closed_pipe() {
    let (_dir, root) = sample();
    let patient = first_id(&root, "patients");
    let appointment = first_id(&root, "appointments");
    let commands: Vec<Vec<&str>> = vec![
        vec!["patient", "list"],
        vec!["patient", "find", "smi"],
        vec!["patient", "show", &patient],
        vec!["patient", "insurance", "list", &patient],
        vec!["schedule", "day", "2026-11-30"],
        vec!["schedule", "week", "2026-11-30"],
        vec!["schedule", "list", "--patient", &patient],
        vec!["schedule", "show", &appointment],
        vec!["schedule", "waiting"],
        vec!["schedule", "rooms"],
        vec!["schedule", "waitlist", "list"],
        vec![
            "schedule",
            "export",
            "--from",
            "2026-11-30",
            "--to",
            "2026-12-04",
        ],
        vec!["pay", "ledger", &patient],
        vec!["pay", "balance", &patient],
        vec!["pay", "statement", &patient],
        vec!["pay", "closeout", "2026-11-30"],
        vec!["provider", "list"],
        vec!["payer", "list"],
        vec!["service", "list"],
        vec!["check"],
    ];
    let mut runs = 0;
    for args in &commands {
        for format in ["table", "csv", "json", "html"] {
            let mut full = vec!["--records", root.to_str().unwrap(), "--format", format];
            full.extend(args.iter().copied());
            let open = bare()
                .args(&full)
                .env("FRONTDESK_NOW", "2026-11-30T10:00:00-05:00")
                .output()
                .unwrap();
            let mut child = spawnable_bare()
                .args(&full)
                .env("FRONTDESK_NOW", "2026-11-30T10:00:00-05:00")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            drop(child.stdout.take()); // the reader is gone before the first byte
            let closed = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&closed.stderr);
            assert!(!err.contains("panicked"), "{full:?}: {err}");
            assert!(closed.status.code().is_some(), "{full:?} died of a signal");
            if open.status.success() {
                assert!(closed.status.success(), "{full:?}: {err}");
            }
            runs += 1;
        }
    }
    for args in [
        vec!["completions", "zsh"],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["--help"],
        vec!["schedule", "--help"],
    ] {
        let mut child = spawnable_bare()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        runs += 1;
    }
    eprintln!("pipes: {runs} commands into a closed pipe");
}
