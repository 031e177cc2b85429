//! Every cache in the registry (`derived::CACHES`) is disposable: `index rebuild` renews each
//! one, building the indexes at once and deleting the rest for the next command, and nothing
//! a command prints changes for it.

use crate::harness::*;
use crate::parallel::generated;

const NOW: &str = "2026-11-27T08:00:00-05:00";

/// What the cached paths of the tool print: aging (the whole-shard ledger cache), a patient's
/// visits and communications (the appointments' and the communications' buckets), the daily
/// report (the per-patient one), a search (the patient index), a check (the check cache).
fn results(c: &Clinic) -> Vec<String> {
    let first_patient = walkdir::WalkDir::new(c.path("patients"))
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
        .find(|e| e.file_type().is_file())
        .map(|e| e.path().file_stem().unwrap().to_string_lossy().into_owned())
        .unwrap();
    let runs: [&[&str]; 6] = [
        &["--format", "json", "report", "aging"],
        &[
            "--format",
            "json",
            "schedule",
            "list",
            "--patient",
            &first_patient,
        ],
        &[
            "--format",
            "json",
            "comm",
            "list",
            "--patient",
            &first_patient,
        ],
        &["--format", "json", "report", "daily", "2026-11-24"],
        &["--format", "json", "patient", "find", "a"],
        &["check"],
    ];
    runs.iter()
        .map(|args| {
            let out = c
                .cmd()
                .env("FRONTDESK_NOW", NOW)
                .args(*args)
                .output()
                .unwrap();
            expect_ok(&[], out)
        })
        .collect()
}

#[test]
fn index_rebuild_renews_every_cache_in_the_registry_and_changes_no_result() {
    let c = generated();
    let first = results(&c);
    assert!(
        first[1].contains("\"A"),
        "the patient has visits: {}",
        first[1]
    );
    assert!(
        first[2].contains("\"C"),
        "the patient has communications: {}",
        first[2]
    );
    let built = [
        ".frontdesk/ledger-cache",
        ".frontdesk/patient-ledger",
        ".frontdesk/index/ledger-patients",
        ".frontdesk/index/appointments-patients",
        ".frontdesk/index/communications-patients",
        ".frontdesk/index/check",
        ".frontdesk/index/patients.bin",
        // Deleted first, then written again by the indexes' rebuild, which lists afresh.
        ".frontdesk/index/ledger-2026.folders",
    ];
    for path in built {
        assert!(c.path(path).exists(), "{path} is built by the commands");
    }
    let out = c.cmd().args(["index", "rebuild"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    expect_ok(&[], out);
    for what in [
        "communications",
        "letters",
        "appointments",
        "ledger entries",
        "patients",
    ] {
        assert!(said.contains(&format!(" {what}\n")), "{what}: {said}");
    }
    for deleted in &built[..6] {
        assert!(!c.path(deleted).exists(), "{deleted} is deleted");
    }
    assert!(
        c.path(built[6]).exists(),
        "the patient index is built at once"
    );
    assert_eq!(results(&c), first);
    for path in built {
        assert!(c.path(path).exists(), "{path} is built again when needed");
    }
}

/// An earlier version kept the ledger index in `.frontdesk/ledger-index/`, and a command of it
/// killed between renaming that folder away and deleting it left
/// `.frontdesk/ledger-index.removed-PID-NS`; `index rebuild` deletes the folder, and the
/// leftover once that process is gone, and leaves a live one's (it is deleting it itself).
#[test]
fn index_rebuild_clears_what_an_earlier_version_and_a_killed_remover_left() {
    let c = Clinic::new();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let left = c.path(&format!(".frontdesk/ledger-index.removed-{dead}-1"));
    let live = c.path(&format!(
        ".frontdesk/ledger-index.removed-{}-2",
        std::process::id()
    ));
    let earlier = c.path(".frontdesk/ledger-index");
    for d in [&left, &live, &earlier] {
        std::fs::create_dir_all(d.join("patient")).unwrap();
        std::fs::write(d.join("patient/AB.tsv"), "x\n").unwrap();
    }
    c.ok("index rebuild");
    assert!(!earlier.exists(), "the earlier version's folder is cleared");
    assert!(!left.exists(), "the dead remover's folder is cleared");
    assert!(live.exists(), "a live remover's folder is left to it");
}
