//! The full-history commands (`check`, `pay statement --all-due`) read files on all cores.
//! Their results must not depend on that: the same report and statements on one thread as on
//! many, in the same order, on a generated tree with files edited by hand behind the tool's
//! back, and the same answer as the one-patient (serial) path.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::harness::*;

const NOW: &str = "2026-11-27";

/// A generated clinic with a few weeks of visits and their ledger (two providers, so the
/// appointments and entries spread over many day folders).
pub(crate) fn generated() -> Clinic {
    Clinic::made_by("demo generate", |root| {
        bare()
            .args(["demo", "generate"])
            .arg(root)
            .args([
                "--patients",
                "60",
                "--appointments",
                "1500",
                "--providers",
                "2",
            ])
            .args(["--seed", "3", "--as-of", NOW])
            .output()
            .unwrap()
    })
}

/// Runs on `threads` worker threads (rayon's pool size) at a fixed office clock.
fn on_threads(c: &Clinic, threads: usize, args: &[&str]) -> Output {
    c.cmd()
        .env("RAYON_NUM_THREADS", threads.to_string())
        .env("FRONTDESK_NOW", NOW)
        .args(args)
        .output()
        .unwrap()
}

/// `pay statement --all-due` into `mail-THREADS/` on `threads` threads; returns that folder.
fn all_due(c: &Clinic, threads: usize, extra: &[&str]) -> (PathBuf, Output) {
    let dir = c.dir.path().join(format!("mail-{threads}"));
    let mut args = vec!["pay", "statement", "--all-due", "-o", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = on_threads(c, threads, &args);
    (dir, out)
}

/// Every ledger entry file, sorted by path (so by day, then ID).
pub(crate) fn entries(c: &Clinic) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walk(&c.path("ledger"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub(crate) fn patient_of(entry: &Path) -> String {
    let text = fs::read_to_string(entry).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("patient = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap()
        .to_string()
}

pub(crate) fn rel(c: &Clinic, p: &Path) -> String {
    p.strip_prefix(&c.root).unwrap().display().to_string()
}

/// Files of a directory by name, with their bytes.
pub(crate) fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn statements_for_everyone_match_one_patient_at_a_time_on_any_thread_count() {
    let c = generated();
    let all = entries(&c);
    // Behind the tool's back: one entry deleted, one rewritten by hand in another key order
    // with a comment (the index must fall back to a full parse for it).
    fs::remove_file(&all[10]).unwrap();
    let hand = &all[20];
    let text = fs::read_to_string(hand).unwrap();
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let services = lines
        .iter()
        .position(|l| l.starts_with("[["))
        .unwrap_or(lines.len());
    lines[..services].reverse();
    fs::write(hand, format!("# typed by hand\n{}\n", lines.join("\n"))).unwrap();

    let mut runs = Vec::new();
    for threads in [1, 4] {
        let (dir, out) = all_due(&c, threads, &["--as", "text"]);
        let stdout = expect_ok(&[], out);
        runs.push((dir, stdout));
    }
    let (one, many) = (&runs[0], &runs[1]);
    let listed: Vec<&str> = one.1.lines().collect();
    assert!(listed.len() >= 10, "{}", one.1);
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "statements are listed in patient ID order");
    assert_eq!(
        one.1.replace("mail-1", "mail-4"),
        many.1,
        "same listing on 1 and 4 threads"
    );
    assert_eq!(contents(&one.0), contents(&many.0));
    // Each statement is byte for byte what the one-patient command prints.
    for (name, bytes) in contents(&one.0) {
        let pid = name.strip_suffix(".txt").unwrap();
        let single = on_threads(&c, 1, &["pay", "statement", pid, "--as", "text"]);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            expect_ok(&[], single),
            "{pid}"
        );
    }
}

#[test]
fn a_bad_entry_stops_statements_with_the_same_file_and_line_on_any_thread_count() {
    let c = generated();
    let all = entries(&c);
    // Two broken entries of two different patients, far apart in the ledger.
    let (a, b) = (&all[5], &all[all.len() - 5]);
    assert_ne!(patient_of(a), patient_of(b));
    for f in [a, b] {
        let mut text = fs::read_to_string(f).unwrap();
        text.push_str("amount = oops\n");
        fs::write(f, text).unwrap();
    }
    // The first broken file in patient ID order is the one named.
    let first = if patient_of(a) < patient_of(b) { a } else { b };
    let line = fs::read_to_string(first).unwrap().lines().count();
    let want = format!("{}:{line}:", rel(&c, first));
    let mut errors = Vec::new();
    for threads in [1, 4] {
        let (_, out) = all_due(&c, threads, &[]);
        assert_eq!(out.status.code(), Some(2));
        // The second run first records what the failed first run had written (its note is
        // not part of the error).
        let err: String = String::from_utf8(out.stderr)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("frontdesk: note:"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(err.contains(&want), "{want} in {err}");
        errors.push(err);
    }
    assert_eq!(errors[0], errors[1]);
}

#[test]
fn check_finds_the_same_problems_in_the_same_order_on_any_thread_count() {
    let c = generated();
    let all = entries(&c);
    // Hand edits spread over many day folders.
    let broken: Vec<&PathBuf> = [3, all.len() / 2, all.len() - 3]
        .iter()
        .map(|i| &all[*i])
        .collect();
    for f in &broken {
        let mut text = fs::read_to_string(f).unwrap();
        text.push_str("this is not toml\n");
        fs::write(f, text).unwrap();
    }
    // A copy of an entry in another day: misplaced, and its ID used twice.
    let copied = &all[40];
    let elsewhere = all[all.len() - 40]
        .parent()
        .unwrap()
        .join(copied.file_name().unwrap());
    fs::copy(copied, &elsewhere).unwrap();
    // An entry whose patient does not exist.
    let orphan = &all[60];
    let text = fs::read_to_string(orphan).unwrap();
    let pid = patient_of(orphan);
    fs::write(orphan, text.replace(&pid, "PZZZZZZZZ")).unwrap();
    // A stray note at the wrong depth and a file others may read.
    let stray = c.path("ledger/2026/notes.txt");
    fs::write(&stray, "call back\n").unwrap();
    let open = &all[80];
    fs::set_permissions(open, fs::Permissions::from_mode(0o644)).unwrap();

    let mut outputs = Vec::new();
    for threads in [1, 4] {
        let out = on_threads(&c, threads, &["--format", "json", "check"]);
        assert_eq!(out.status.code(), Some(2));
        outputs.push(String::from_utf8(out.stdout).unwrap());
    }
    assert_eq!(outputs[0], outputs[1], "same report on 1 and 4 threads");
    let problems: serde_json::Value = serde_json::from_str(&outputs[0]).unwrap();
    let files: Vec<String> = problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["file"].as_str().unwrap().to_string())
        .collect();
    let has = |p: &Path| files.contains(&rel(&c, p));
    for f in &broken {
        assert!(has(f), "{f:?} in {files:?}");
    }
    assert!(
        has(&elsewhere) && has(orphan) && has(&stray) && has(open),
        "{files:?}"
    );
    // Unparsable records are reported in the order of the tree's paths.
    let unparsable: Vec<&String> = files
        .iter()
        .filter(|f| broken.iter().any(|b| rel(&c, b) == **f))
        .collect();
    let mut sorted = unparsable.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), broken.len());
    let firsts: Vec<&String> = {
        let mut seen = Vec::new();
        for f in &unparsable {
            if !seen.contains(f) {
                seen.push(*f);
            }
        }
        seen
    };
    assert_eq!(firsts, sorted, "{files:?}");
}

/// Every record file the generator writes takes the plain-TOML fast path, and means exactly
/// what the full parser reads from it: the same table, and the same record once typed.
#[test]
fn the_fast_reader_takes_every_generated_record_and_reads_it_as_the_full_parser() {
    use frontdesk::domain::{ledger::Entry, patient::Patient, schedule::Appointment};
    use frontdesk::text::fast_toml::parse_plain;
    let c = generated();
    let mut seen = 0;
    for path in walk(&c.root) {
        let r = rel(&c, &path);
        if r.starts_with(".git") || path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let full: toml::Table = toml::from_str(&text).unwrap();
        let fast = parse_plain(&text).unwrap_or_else(|| panic!("{r} declined"));
        assert_eq!(fast, full, "{r}");
        let (typed, from_text) = if r.starts_with("ledger/") {
            both::<Entry>(&text, fast)
        } else if r.starts_with("patients/") {
            both::<Patient>(&text, fast)
        } else if r.starts_with("appointments/") {
            both::<Appointment>(&text, fast)
        } else {
            (String::new(), String::new())
        };
        assert_eq!(typed, from_text, "{r}");
        seen += 1;
    }
    assert!(seen > 3000, "{seen}");
}

/// A record typed from the fast reader's table and from the full parser, for comparison.
fn both<T: serde::de::DeserializeOwned + std::fmt::Debug>(
    text: &str,
    fast: toml::Table,
) -> (String, String) {
    let typed: T = toml::Value::Table(fast).try_into().unwrap();
    let full: T = toml::from_str(text).unwrap();
    (format!("{typed:?}"), format!("{full:?}"))
}
