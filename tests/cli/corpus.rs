//! The bad-input corpus (tests/corpus/): broken record files and hostile command lines. Each
//! gets a clean error (exit 2, "frontdesk: error:" first), never a panic, and changes nothing.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::harness::*;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// A valid patient file with `extra` appended (for inputs too big to keep in the repository).
fn generated() -> Vec<(&'static str, Vec<u8>)> {
    let good = std::fs::read(corpus().join("records/ok-crlf.toml")).unwrap();
    let with = |extra: String| {
        let mut v = good.clone();
        v.extend_from_slice(extra.as_bytes());
        v
    };
    vec![
        (
            "huge-field",
            with(format!("pronouns = \"{}\"\n", "x".repeat(8 << 20))),
        ),
        ("ok-huge-comment-lines", with("# c\n".repeat(1_000_000))),
        (
            "deep-array",
            with(format!(
                "deep = {}{}\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            )),
        ),
        (
            "deep-inline-table",
            with(format!(
                "deep = {}1{}\n",
                "{a = ".repeat(50_000),
                "}".repeat(50_000)
            )),
        ),
        (
            "deep-dotted-key",
            with(format!("{} = 1\n", vec!["k"; 50_000].join("."))),
        ),
        (
            "deep-table-header",
            with(format!("[{}]\n", vec!["t"; 50_000].join("."))),
        ),
        (
            "binary-garbage",
            (0..=255u8).cycle().take(1 << 16).collect(),
        ),
    ]
}

/// What a broken patient file must do to the commands that read it.
fn assert_clean_refusal(c: &Clinic, name: &str, args: &[&str], valid: bool) {
    let out = c.run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{name} {args:?}: {err}"
    );
    let code = out.status.code();
    if valid {
        assert_eq!(code, Some(0), "{name} {args:?} refused a valid file: {err}");
    } else {
        assert_eq!(code, Some(2), "{name} {args:?}: {err}");
        let first = err.lines().next().unwrap_or("");
        assert!(
            first.starts_with("frontdesk: error: ") || args[0] == "check",
            "{name}: {err}"
        );
    }
}

#[test]
fn broken_record_files_are_refused_cleanly() {
    let c = Clinic::new();
    let id = "P7K3QX9M2";
    let file = c.patient_file(id);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus().join("records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read(p).unwrap(),
            )
        })
        .collect();
    cases.extend(generated().into_iter().map(|(n, b)| (n.to_string(), b)));
    cases.sort();
    assert!(cases.len() >= 35, "corpus went missing");
    for (name, bytes) in &cases {
        std::fs::write(&file, bytes).unwrap();
        let valid = name.starts_with("ok-");
        let before = snapshot(&c);
        let commits = c.commits();
        // Reading shows what parses (rule breaks are for `check` and writers to refuse).
        let show = c.run(&["patient", "show", id]);
        assert!(matches!(show.status.code(), Some(0 | 2)), "{name}: show");
        assert!(
            !String::from_utf8_lossy(&show.stderr).contains("panicked"),
            "{name}: show"
        );
        assert_clean_refusal(&c, name, &["patient", "update", id, "--notes", "x"], valid);
        let list = c.run(&["patient", "list"]);
        assert!(
            matches!(list.status.code(), Some(0 | 1)),
            "{name}: list failed"
        );
        assert!(
            !String::from_utf8_lossy(&list.stderr).contains("panicked"),
            "{name}"
        );
        assert_clean_refusal(&c, name, &["check"], false);
        if !valid {
            let report = c.ok_or(&["check"], 2);
            assert!(
                report.contains("P7K3QX9M2.toml:") || report.contains("P7K3QX9M2.toml: "),
                "{name}: check did not name the file:\n{report}"
            );
        }
        if !valid {
            assert_eq!(snapshot(&c), before, "{name}: something was written");
            assert_eq!(c.commits(), commits, "{name}: something was committed");
        }
        git_lines(&c.root, &["checkout", "--", "."]);
    }
}

/// Reads tests/corpus/args.txt: `CODE | arg | arg …`, `@P` standing for a patient's ID.
fn arg_cases(patient: &str) -> Vec<(i32, Vec<String>)> {
    let text = std::fs::read_to_string(corpus().join("args.txt")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut parts = l
                .split(" | ")
                .map(|p| p.replace("@P", patient).replace("\\n", "\n"));
            let code = parts.next().unwrap().trim().parse().unwrap();
            (code, parts.collect())
        })
        .collect()
}

#[test]
fn hostile_command_lines_are_refused_cleanly() {
    let c = Clinic::new();
    let jane = c.add_jane();
    c.ok(&["payer", "add", "acme-health", "--name", "Acme Health"]);
    let mut cases = arg_cases(&jane);
    assert!(cases.len() >= 30);
    let huge = "J".repeat(120_000);
    cases.push((
        2,
        [
            "patient",
            "add",
            "--first",
            &huge,
            "--last",
            "Doe",
            "--dob",
            "1980-01-01",
            "--sex",
            "F",
        ]
        .map(String::from)
        .to_vec(),
    ));
    cases.push((
        2,
        ["patient", "update", &jane, "--notes", &"n".repeat(120_000)]
            .map(String::from)
            .to_vec(),
    ));
    let before = snapshot(&c);
    let commits = c.commits();
    for (code, args) in &cases {
        let out = spawnable(&c).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let shown: Vec<&str> = args.iter().map(|a| &a[..a.len().min(40)]).collect();
        assert_eq!(out.status.code(), Some(*code), "{shown:?}: {err}");
        // Our errors, or clap's for what is not even a valid command line.
        let clean = err.starts_with("frontdesk: error: ") || err.starts_with("error: ");
        assert!(clean && !err.contains("panicked"), "{shown:?}: {err}");
        assert!(
            err.len() < 2000,
            "{shown:?}: the error echoes the input: {} bytes",
            err.len()
        );
    }
    assert_eq!(snapshot(&c), before, "a refused command wrote");
    assert_eq!(c.commits(), commits);
}

#[test]
fn invalid_utf8_arguments_are_refused_cleanly() {
    let c = Clinic::new();
    let bad = OsString::from_vec(b"Ja\xffne".to_vec());
    let out = spawnable(&c)
        .args([
            "patient",
            "add",
            "--last",
            "Doe",
            "--dob",
            "1980-01-01",
            "--sex",
            "F",
            "--first",
        ])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert_eq!(
        c.files()
            .iter()
            .filter(|f| f.starts_with("patients"))
            .count(),
        0
    );
}

/// CSV files for `patient import` (tests/corpus/import/): formula cells, impossible dates,
/// invalid UTF-8, broken quoting, a huge cell. `bad-*` are refused whole (exit 2, nothing
/// written); `ok-*` import.
#[test]
fn hostile_import_files_are_refused_whole() {
    let dir = corpus().join("import");
    let map = dir.join("map.toml");
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    let scratch = tempfile::tempdir().unwrap();
    let huge = scratch.path().join("bad-huge-cell.csv");
    std::fs::write(
        &huge,
        format!(
            "Chart,First,Last,DOB,Sex,Notes\nc1,Jane,Doe,04/02/1980,Female,{}\n",
            "x".repeat(4 << 20)
        ),
    )
    .unwrap();
    files.push(("bad-huge-cell".into(), huge));
    files.sort();
    assert!(files.len() >= 17);
    for (name, csv) in &files {
        let c = Clinic::new();
        let (before, commits) = (snapshot(&c), c.commits());
        let out = c.run(&[
            "patient",
            "import",
            csv.to_str().unwrap(),
            "--map",
            map.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{name}: {err}");
        if name.starts_with("ok-") {
            assert_eq!(out.status.code(), Some(0), "{name}: {err}");
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains("frontdesk: error: "), "{name}: {err}");
        assert!(err.len() < 4000, "{name}: the error echoes the input");
        assert_eq!(snapshot(&c), before, "{name}: something was written");
        assert_eq!(c.commits(), commits, "{name}: something was committed");
    }
}
