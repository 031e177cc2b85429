//! Many writers at once: 8 processes each creating patients while 8 others edit one patient.
//! Every create lands in its own new file and no edit is lost, because every read-modify-write
//! holds the tree's write lock. Counts per process: 25 in `cargo test`, 200 with FRONTDESK_SOAK=1
//! (or FRONTDESK_SCALE=N).

use std::time::Instant;

use crate::harness::*;

/// A family name of letters only, unique per (worker, round).
fn family(worker: usize, round: usize) -> String {
    let mut n = worker * 100_000 + round;
    let mut s = String::from("Conc");
    for _ in 0..5 {
        s.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
    }
    s
}

#[test]
fn eight_creators_and_eight_editors_lose_nothing() {
    let per = scaled(25, 200);
    let workers = 8;
    let c = Clinic::new();
    let jane = c.add_jane();
    let before = c.files().len();
    let commits = c.commits();
    let started = Instant::now();
    std::thread::scope(|s| {
        for w in 0..workers {
            let c = &c;
            s.spawn(move || {
                for i in 0..per {
                    let out = spawnable(c)
                        .env("FRONTDESK_LOCK_TIMEOUT", "300")
                        .args([
                            "patient",
                            "add",
                            "--first",
                            "Ann",
                            "--last",
                            &family(w, i),
                            "--dob",
                            "1990-01-01",
                            "--sex",
                            "F",
                        ])
                        .output()
                        .unwrap();
                    assert_clean(&out, "create");
                }
            });
            let jane = jane.clone();
            s.spawn(move || {
                for i in 0..per {
                    let out = spawnable(c)
                        .env("FRONTDESK_LOCK_TIMEOUT", "300")
                        .args(["patient", "update", &jane, "--flag", &format!("w{w}-e{i}")])
                        .output()
                        .unwrap();
                    assert_clean(&out, "edit");
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let created = c.files().len() - before;
    assert_eq!(created, workers * per, "creates lost or doubled");
    let text = std::fs::read_to_string(c.patient_file(&jane)).unwrap();
    let t: toml::Table = toml::from_str(&text).unwrap();
    let flags = t["flags"].as_array().unwrap();
    assert_eq!(flags.len(), workers * per, "edits lost");
    assert_eq!(
        c.commits(),
        commits + 2 * workers * per,
        "one commit per command"
    );
    let out = c.run(&["check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    eprintln!(
        "concurrency: {} creates + {} edits by {} processes in {secs:.1} s ({:.0} commands/s)",
        workers * per,
        workers * per,
        2 * workers,
        (2 * workers * per) as f64 / secs
    );
}

/// Succeeded, and committed (no "saved but not committed" warning).
fn assert_clean(out: &std::process::Output, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !err.contains("warning"),
        "{what}: {err}"
    );
}

/// Eight clerks book one provider's same slot at once, round after round: exactly one wins
/// each round, the others are told it is taken (exit 3), and one file exists per slot.
#[test]
fn eight_clerks_racing_for_one_slot_exactly_one_wins() {
    let rounds = scaled(4, 50);
    let c = Clinic::new();
    schedule_setup(&c);
    let patients: Vec<String> = (0..8)
        .map(|w| {
            c.ok(&[
                "patient",
                "add",
                "--first",
                "Racer",
                "--last",
                &family(w, 0),
                "--dob",
                "1990-01-01",
                "--sex",
                "X",
            ])
            .trim()
            .to_string()
        })
        .collect();
    for round in 0..rounds {
        race_one_winner(
            patients.iter().map(|p| {
                let mut cmd = spawnable(&c);
                cmd.env("FRONTDESK_LOCK_TIMEOUT", "120")
                    .args(book_args(p, round));
                cmd
            }),
            &format!("round {round}"),
        );
    }
    let booked = c
        .files()
        .iter()
        .filter(|f| f.starts_with("appointments/"))
        .count();
    assert_eq!(booked, rounds);
    assert!(c.run(&["check"]).status.success());
}
