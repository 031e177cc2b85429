//! Permissions under a permissive umask (022): every record file 0600, every folder 0700, and
//! git's history (which holds every version of every record) closed to other users too.

use std::os::unix::fs::PermissionsExt;

use crate::harness::*;

/// Runs the binary through `sh` with umask 022, as a login shell on most systems would.
fn run_022(c: &Clinic, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(assert_cmd::cargo::cargo_bin("frontdesk"))
        .arg("--records")
        .arg(&c.root)
        .args(args)
        .env("FRONTDESK_USER", "testclerk");
    cmd.output().unwrap()
}

#[test]
fn files_are_0600_and_folders_0700_under_umask_022() {
    let dir = tempfile::tempdir().unwrap();
    let c = Clinic {
        root: dir.path().join("records"),
        dir,
        now: None,
    };
    let init = run_022(&c, &["init"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let add = |args: &[&str]| {
        let out = run_022(&c, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let id = add(&[
        "patient",
        "add",
        "--first",
        "Jane",
        "--last",
        "Doe",
        "--dob",
        "1980-04-02",
        "--sex",
        "F",
    ]);
    add(&["patient", "update", &id, "--notes", "x"]);
    add(&["payer", "add", "acme-health", "--name", "Acme"]);
    add(&["patient", "find", "doe"]);
    let mut seen = 0;
    for entry in walkdir::WalkDir::new(&c.root) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(&c.root).unwrap().to_path_buf();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        let in_git = rel.starts_with(".git");
        if entry.file_type().is_dir() {
            if !in_git || rel == std::path::Path::new(".git") {
                assert_eq!(mode, 0o700, "{}", rel.display());
            }
        } else if !in_git {
            assert_eq!(mode, 0o600, "{}", rel.display());
            seen += 1;
        } else if rel.starts_with(".git/objects")
            && entry.metadata().unwrap().modified().unwrap()
                > std::fs::metadata(c.root.join("frontdesk.toml"))
                    .unwrap()
                    .modified()
                    .unwrap()
        {
            assert_eq!(
                mode & 0o077,
                0,
                "git object {} readable by others",
                rel.display()
            );
        }
    }
    assert!(seen >= 5, "only {seen} files checked");
    let check = run_022(&c, &["check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
