//! The tool as a whole: init, records discovery, completions, man pages, exit codes.

use crate::harness::*;

#[test]
fn not_a_records_tree_suggests_init() {
    let dir = tempfile::tempdir().unwrap();
    let out = bare()
        .arg("--records")
        .arg(dir.path())
        .args(["patient", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not a records tree") && err.contains("frontdesk init"),
        "{err}"
    );
    let out = bare()
        .current_dir(dir.path())
        .args(["patient", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn records_from_environment() {
    let c = Clinic::new();
    c.add_jane();
    let out = bare()
        .env("FRONTDESK_RECORDS", &c.root)
        .args(["patient", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Doe, Jane"));
}

#[test]
fn init_makes_a_tree_with_git_and_refuses_to_overwrite() {
    let c = Clinic::new();
    let office = std::fs::read_to_string(c.path("frontdesk.toml")).unwrap();
    assert!(office.contains("timezone = \"America/New_York\"") && office.contains("schema = 1"));
    assert!(
        std::fs::read_to_string(c.path(".gitignore"))
            .unwrap()
            .contains(".frontdesk/")
    );
    assert_eq!(
        c.commit_messages(),
        vec!["testclerk|Create records tree.".to_string()]
    );
    let err = String::from_utf8_lossy(&bare().arg("init").arg(&c.root).output().unwrap().stderr)
        .into_owned();
    assert!(err.contains("already a records tree"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let out = bare()
        .arg("init")
        .arg(dir.path().join("x"))
        .args(["--timezone", "Mars/Olympus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("IANA time zone"));
    assert!(!dir.path().join("x/frontdesk.toml").exists());
}

#[test]
fn broken_record_file_is_reported_with_line_and_no_values() {
    let c = Clinic::new();
    let id = c.add_jane();
    let file = c.patient_file(&id);
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "birth_date = \"1980-04-02\"",
        "birth_date = \"Zanzibarqux\"",
    );
    std::fs::write(&file, text).unwrap();
    let err = c.fails(format!("patient show {id}"), 2);
    assert!(err.contains(&format!("{id}.toml:6")), "{err}");
    assert!(
        !err.contains("Zanzibarqux") && !err.contains("Doe"),
        "{err}"
    );
    // Search skips the broken file with a warning and still works.
    c.ok("patient add --first Al --last Bo --dob 1990-01-01 --sex M");
    let out = c.run("patient find bo");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped"));
}

#[test]
fn search_index_follows_hand_edits_and_deletion() {
    let c = Clinic::new();
    let id = c.add_jane();
    assert!(c.ok("patient find doe").contains(&id));
    let file = c.patient_file(&id);
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("family = \"Doe\"", "family = \"Dough\"");
    std::fs::write(&file, text).unwrap();
    assert!(c.ok("patient find dough").contains(&id));
    assert_eq!(
        c.run("patient find doe jane 1980-04-02").status.code(),
        Some(1)
    );
    std::fs::remove_dir_all(c.path(".frontdesk/index")).unwrap();
    assert!(c.ok("patient find dough").contains(&id));
    std::fs::write(c.path(".frontdesk/index/patients.jsonl"), "garbage\n").unwrap();
    assert!(c.ok("patient find dough").contains(&id));
    std::fs::remove_file(&file).unwrap();
    assert_eq!(c.run("patient find dough").status.code(), Some(1));
}

#[test]
fn completions_and_man_pages() {
    for shell in ["bash", "zsh", "fish"] {
        let out = bare().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("patient"),
            "{shell}"
        );
    }
    let out = bare().arg("man").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(".TH frontdesk"));
    let dir = tempfile::tempdir().unwrap();
    assert!(
        bare()
            .args(["man", "--out"])
            .arg(dir.path())
            .output()
            .unwrap()
            .status
            .success()
    );
    assert!(dir.path().join("frontdesk-patient-add.1").exists());
}

#[test]
fn broken_pipe_exits_quietly() {
    let c = Clinic::new();
    for i in 0..3 {
        c.ok(&[
            "patient",
            "add",
            "--first",
            "Al",
            "--last",
            &format!("Bo{}", ["a", "b", "c"][i]),
            "--dob",
            "1990-01-01",
            "--sex",
            "M",
        ]);
    }
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} --records {} patient list | head -c 1 >/dev/null; echo ${{PIPESTATUS[0]}}",
            assert_cmd::cargo::cargo_bin("frontdesk").display(),
            c.root.display()
        ))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn sample_records_work_after_a_clone() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("records");
    // Work on a copy: tests must not change the repository's sample.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("records");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(&sample)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let out = bare()
        .arg("--records")
        .arg(&copy)
        .args(["--format", "json", "patient", "list"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(list.as_array().unwrap().len() >= 30);
    let out = bare()
        .arg("--records")
        .arg(&copy)
        .args(["patient", "find", "smith", "john"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = bare()
        .arg("--records")
        .arg(&copy)
        .args(["payer", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("aetna-ppo"));
}

#[test]
fn a_float_typed_into_a_money_field_is_refused_not_rounded() {
    let c = Clinic::new();
    let id = c.add_jane();
    c.ok("payer add aetna-ppo --name 'Aetna PPO'");
    c.ok(format!(
        "patient insurance add {id} --payer aetna-ppo --member-id W1 --copay-office 25"
    ));
    let file = c.patient_file(&id);
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("copay_office = \"25.00\"", "copay_office = 25.10");
    std::fs::write(&file, text).unwrap();
    let err = c.fails(format!("patient show {id}"), 2);
    assert!(
        err.contains("a number with a decimal point") && err.contains("as strings"),
        "{err}"
    );
    let out = c.run("check");
    assert_ne!(out.status.code(), Some(0));
}
