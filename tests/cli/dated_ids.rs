//! Dated records (appointments, ledger entries) by ID: `history ID` goes straight to the
//! record's day through the index, and a new record may not reuse an ID that a file on another
//! day already has, even one put there by hand. `FRONTDESK_ID_SEED` makes a command draw the
//! same IDs as an earlier run, so a collision can be staged.

use std::process::Output;

use crate::harness::*;

/// The office clock for the payments here (FRONTDESK_NOW): Tuesday 2026-12-01.
const NOW: &str = "2026-12-01T10:00:00-05:00";
const NEXT_DAY: &str = "2026-12-02T10:00:00-05:00";

fn run(c: &Clinic, now: &str, seed: Option<u64>, args: &[&str]) -> Output {
    let mut cmd = c.cmd();
    cmd.env("FRONTDESK_NOW", now);
    if let Some(s) = seed {
        cmd.env("FRONTDESK_ID_SEED", s.to_string());
    }
    cmd.args(args).output().unwrap()
}

fn ok(c: &Clinic, now: &str, seed: Option<u64>, args: &[&str]) -> String {
    let out = run(c, now, seed, args);
    let strings: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    expect_ok(&strings, out)
}

/// A clinic with Jane, provider okafor and the `quick` visit type.
fn desk() -> (Clinic, String) {
    let c = Clinic::new();
    let jane = c.add_jane();
    schedule_setup(&c);
    (c, jane)
}

fn book(c: &Clinic, seed: Option<u64>, jane: &str, n: usize) -> Output {
    let args = book_args(jane, n);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut all = vec!["--quiet"];
    all.extend(args);
    run(c, NOW, seed, &all)
}

fn collect(c: &Clinic, now: &str, seed: Option<u64>, jane: &str) -> Output {
    run(
        c,
        now,
        seed,
        &[
            "--quiet",
            "pay",
            "collect",
            "--patient",
            jane,
            "--amount",
            "25",
            "--method",
            "cash",
        ],
    )
}

fn stdout_id(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_string()
}

/// Asserts the command was refused as a conflict naming the file that holds the ID, and that
/// it wrote nothing and made no commit.
fn assert_refused(c: &Clinic, before: (Vec<String>, usize), out: &Output, holder: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("is already used by") && err.contains(holder),
        "{holder}: {err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert_eq!((c.files(), c.commits()), before);
}

fn history(c: &Clinic, id: &str) -> String {
    ok(c, NOW, None, &["--format", "csv", "history", id])
}

#[test]
fn history_of_an_appointment_an_entry_and_a_series_with_or_without_the_indexes() {
    let (c, jane) = desk();
    let appt = stdout_id(&book(&c, None, &jane, 0));
    let entry = stdout_id(&collect(&c, NOW, None, &jane));
    let cancel = ["schedule", "cancel", &appt, "--reason", "patient called"];
    ok(&c, NOW, None, &cancel);
    let series_out = ok(
        &c,
        NOW,
        None,
        &[
            "--quiet",
            "schedule",
            "book",
            "--patient",
            &jane,
            "--provider",
            "okafor",
            "--type",
            "quick",
            "--at",
            &slot(30),
            "--repeat",
            "weekly",
            "--count",
            "3",
        ],
    );
    let series = c.commit_messages()[0]
        .split_whitespace()
        .find(|w| w.starts_with('R'))
        .unwrap()
        .to_string();
    assert!(!series_out.is_empty());

    let check = |c: &Clinic| {
        let a = history(c, &appt);
        assert_eq!(a.lines().count(), 3, "{a}");
        assert!(a.contains(&format!("Book appointment {appt} for patient {jane}.")));
        assert!(a.contains(&format!("Cancel appointment {appt}")), "{a}");
        let t = history(c, &entry);
        assert_eq!(t.lines().count(), 2, "{t}");
        assert!(t.contains(&format!("Record payment {entry} for patient {jane}.")));
        let r = history(c, &series);
        assert!(r.contains(&format!("Book series {series}")), "{r}");
    };
    check(&c);
    // The indexes are disposable: the same answers once they are gone…
    std::fs::remove_dir_all(c.path(".frontdesk/index")).unwrap();
    check(&c);
    // …and once they are garbage.
    for f in std::fs::read_dir(c.path(".frontdesk/index")).unwrap() {
        std::fs::write(f.unwrap().path(), "garbage").unwrap();
    }
    check(&c);
    // A record added after the index was written is found too (the index catches up).
    let later = stdout_id(&collect(&c, NEXT_DAY, None, &jane));
    let t = history(&c, &later);
    assert!(t.contains(&format!("Record payment {later}")), "{t}");
}

#[test]
fn history_of_an_unknown_id_is_not_found_with_a_hint() {
    let (c, jane) = desk();
    stdout_id(&book(&c, None, &jane, 0));
    stdout_id(&collect(&c, NOW, None, &jane));
    for id in [
        "A00000000",
        "T00000000",
        "R00000000",
        "W00000000",
        "C00000000",
    ] {
        let out = run(&c, NOW, None, &["history", id]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{id}: {err}");
        assert!(err.contains(id) && err.contains("hint:"), "{id}: {err}");
    }
}

#[test]
fn a_new_appointment_may_not_take_an_id_another_day_has() {
    let (c, jane) = desk();
    // The same seed draws the same appointment ID: on another day it is refused.
    let first = stdout_id(&book(&c, Some(7), &jane, 0));
    let before = (c.files(), c.commits());
    let again = book(&c, Some(7), &jane, 27);
    assert_refused(
        &c,
        before,
        &again,
        &format!("appointments/2027/01/04/{first}.toml"),
    );
    // Without the seed the same booking goes through.
    stdout_id(&book(&c, None, &jane, 27));
}

/// `schedule book` of a weekly series of three from slot 0, with the given ID seed.
fn book_series(c: &Clinic, seed: u64, jane: &str) -> Output {
    let at = slot(0);
    let args = [
        "--quiet",
        "schedule",
        "book",
        "--patient",
        jane,
        "--provider",
        "okafor",
        "--type",
        "quick",
        "--at",
        &at,
        "--repeat",
        "weekly",
        "--count",
        "3",
    ];
    run(c, NOW, Some(seed), &args)
}

#[test]
fn a_file_put_by_hand_on_another_day_holds_its_appointment_id() {
    let (c, jane) = desk();
    // Learn which IDs seed 8 draws for a series, in a clinic of its own.
    let (other, other_jane) = desk();
    let drawn = book_series(&other, 8, &other_jane);
    assert!(drawn.status.success());
    let third = String::from_utf8_lossy(&drawn.stdout)
        .lines()
        .nth(2)
        .unwrap()
        .trim()
        .to_string();
    // Here the index is warm, then an unreadable file named as the third occurrence is put in
    // a day folder made by hand: the series is refused whole (the check of a transaction's
    // later records goes through the index, which must see the new folder and file).
    stdout_id(&book(&c, None, &jane, 1));
    ok(&c, NOW, None, &["schedule", "list", "--patient", &jane]);
    let by_hand = format!("appointments/2027/03/01/{third}.toml");
    std::fs::create_dir_all(c.path("appointments/2027/03/01")).unwrap();
    std::fs::write(c.path(&by_hand), "not a record\n").unwrap();
    let before = (c.files(), c.commits());
    let out = book_series(&c, 8, &jane);
    assert_refused(&c, before, &out, &by_hand);
}

#[test]
fn a_new_ledger_entry_may_not_take_an_id_another_day_has() {
    let (c, jane) = desk();
    let first = stdout_id(&collect(&c, NOW, Some(9), &jane));
    let before = (c.files(), c.commits());
    let again = collect(&c, NEXT_DAY, Some(9), &jane);
    assert_refused(
        &c,
        before,
        &again,
        &format!("ledger/2026/12/01/{first}.toml"),
    );
    stdout_id(&collect(&c, NEXT_DAY, None, &jane));
}

/// A card terminal export of two cash payments from `patient`, and the import's arguments.
fn import_args(c: &Clinic, patient: &str) -> Vec<String> {
    let csv = c.dir.path().join("terminal.csv");
    std::fs::write(
        &csv,
        format!(
            "Date,Transaction ID,Customer Ref,Amount,Tender,Last 4,Status\n\
             12/01/2026,1,{patient},10.00,CASH,,APPROVED\n\
             12/01/2026,2,{patient},20.00,CASH,,APPROVED\n"
        ),
    )
    .unwrap();
    let map = examples().join("card-terminal.map.toml");
    [
        "pay",
        "import",
        csv.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn a_file_put_by_hand_holds_its_entry_id_against_a_later_row_of_an_import() {
    let (c, jane) = desk();
    // Learn the ID seed 10 draws for an import's second row, in a clinic of its own.
    let (other, other_jane) = desk();
    let args = import_args(&other, &other_jane);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&other, NOW, Some(10), &args);
    let body = git(&other.root, &["log", "-1", "--format=%b"]);
    let second = body
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with('T'))
        .nth(1)
        .unwrap()
        .to_string();
    // Warm indexes here, then an unreadable file of that name in a day folder made by hand.
    let warm = stdout_id(&collect(&c, NOW, None, &jane));
    ok(&c, NOW, None, &["history", &warm]);
    let by_hand = format!("ledger/2026/11/15/{second}.toml");
    std::fs::create_dir_all(c.path("ledger/2026/11/15")).unwrap();
    std::fs::write(c.path(&by_hand), "not a record\n").unwrap();
    let before = (c.files(), c.commits());
    let commits = before.1;
    let args = import_args(&c, &jane);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&c, NOW, Some(10), &args);
    // The whole import is refused: nothing recorded, not even the first row.
    assert_refused(&c, before, &out, &by_hand);
    // With fresh IDs both rows are recorded in one commit.
    let done = ok(&c, NOW, None, &args);
    assert_eq!(done.matches("recorded").count(), 2, "{done}");
    assert_eq!(c.commits(), commits + 1);
}

#[test]
fn a_file_put_by_hand_holds_its_id_against_a_single_booking_whatever_the_index_holds() {
    // Learn the appointment ID seed 11 draws, in a clinic of its own.
    let (other, other_jane) = desk();
    let drawn = stdout_id(&book(&other, Some(11), &other_jane, 0));
    // A booking's one record is checked through the appointment index when a year has one
    // (validated first, so it sees a folder made by hand, or a file added by hand to a folder
    // it knows), and by looking in each day folder when the index is gone; a garbage index is
    // rebuilt. Each way refuses it.
    let index = |c: &Clinic, how: &str| match how {
        "deleted" => std::fs::remove_dir_all(c.path(".frontdesk/index")).unwrap(),
        "garbage" => {
            // Every file (the buckets' folder, `appointments-patients/`, aside).
            for f in std::fs::read_dir(c.path(".frontdesk/index")).unwrap() {
                let path = f.unwrap().path();
                if path.is_file() {
                    std::fs::write(path, "garbage").unwrap();
                }
            }
        }
        _ => {}
    };
    for (how, day) in [
        ("warm", "2027/03/01"),
        ("warm", "2027/01/05"),
        ("deleted", "2027/03/01"),
        ("garbage", "2027/03/01"),
    ] {
        let (c, jane) = desk();
        // Two booked days (2027-01-04 and -05) and a warm index that lists both.
        stdout_id(&book(&c, None, &jane, 1));
        stdout_id(&book(&c, None, &jane, 27));
        ok(&c, NOW, None, &["schedule", "list", "--patient", &jane]);
        assert!(
            c.path(".frontdesk/index/appointments-2027.tsv").is_file(),
            "{how}"
        );
        let by_hand = format!("appointments/{day}/{drawn}.toml");
        std::fs::create_dir_all(c.path(&format!("appointments/{day}"))).unwrap();
        std::fs::write(c.path(&by_hand), "not a record\n").unwrap();
        index(&c, how);
        let before = (c.files(), c.commits());
        let out = book(&c, Some(11), &jane, 0);
        assert_refused(&c, before, &out, &by_hand);
        stdout_id(&book(&c, None, &jane, 0));
    }
}

#[test]
fn a_file_put_by_hand_into_a_known_ledger_day_holds_its_id_against_a_payment() {
    // Learn the entry ID seed 12 draws, in a clinic of its own.
    let (other, other_jane) = desk();
    let drawn = stdout_id(&collect(&other, NOW, Some(12), &other_jane));
    // Here a payment the day before, then `history` warms the ledger-ID index, which lists that
    // day; a file of the drawn ID is then added to that day's folder by hand.
    let (c, jane) = desk();
    let earlier = "2026-11-30T10:00:00-05:00";
    let warm = stdout_id(&collect(&c, earlier, None, &jane));
    ok(&c, NOW, None, &["history", &warm]);
    assert!(c.path(".frontdesk/index/ledger-2026.tsv").is_file());
    let by_hand = format!("ledger/2026/11/30/{drawn}.toml");
    std::fs::write(c.path(&by_hand), "not a record\n").unwrap();
    let before = (c.files(), c.commits());
    let out = collect(&c, NOW, Some(12), &jane);
    assert_refused(&c, before, &out, &by_hand);
}

/// Each year's index keeps a summary beside its base file (`appointments-YYYY.ids`: the days'
/// folder times and a Bloom filter of the base's IDs), so the check of a new ID need not read
/// the base. It must never let an ID through that the base holds: whole, damaged, or written
/// for an earlier base (one from before the ID was booked, put back).
#[test]
fn the_year_summary_never_lets_a_taken_appointment_id_through() {
    let (c, jane) = desk();
    let index = c.path(".frontdesk/index");
    // Always the same time, long past: a folder changed since keeps it, so only the summary
    // can tell the two bases apart.
    let settle_and_reindex = |c: &Clinic| {
        let long_ago = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_750_000_000);
        for e in walkdir::WalkDir::new(c.path("appointments")) {
            let e = e.unwrap();
            if e.file_type().is_dir() {
                std::fs::File::open(e.path())
                    .unwrap()
                    .set_modified(long_ago)
                    .unwrap();
            }
        }
        let _ = std::fs::remove_dir_all(&index);
        ok(c, NOW, None, &["schedule", "list", "--patient", &jane]);
    };
    stdout_id(&book(&c, None, &jane, 3));
    settle_and_reindex(&c);
    let summary = index.join("appointments-2027.ids");
    let before_the_id = std::fs::read(&summary).expect("a summary beside the year's index");
    let first = stdout_id(&book(&c, Some(7), &jane, 0));
    settle_and_reindex(&c);
    let holder = format!("appointments/2027/01/04/{first}.toml");
    let refused = |c: &Clinic| {
        let before = (c.files(), c.commits());
        assert_refused(c, before, &book(c, Some(7), &jane, 27), &holder);
    };
    refused(&c);
    let good = std::fs::read(&summary).unwrap();
    for at in (8..good.len()).step_by(11) {
        let mut bad = good.clone();
        bad[at] ^= 0x04;
        std::fs::write(&summary, &bad).unwrap();
        refused(&c);
    }
    // Written for the base before the ID was booked: not this base, not used.
    std::fs::write(&summary, &before_the_id).unwrap();
    refused(&c);
}
