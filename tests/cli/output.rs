//! The output contracts of docs/output.md, snapshotted per command and format on one small
//! clinic with the clock and the IDs pinned: tables for people; CSV with a byte-order mark,
//! plain signed amounts, codes kept as text and no guard on the tool's own numbers; JSON with
//! counts as numbers, money as decimal strings, E.164 phones and `[]` for nothing; HTML as
//! complete pages.

use std::process::Output;

use crate::harness::*;

const NOW: &str = "2027-01-04T12:00:00-05:00";

struct Pinned {
    c: Clinic,
    seed: std::cell::Cell<u64>,
}

impl Pinned {
    /// Runs at `now` drawing IDs from a fresh seed, so every run of the test makes the same IDs.
    fn run_at(&self, now: &str, args: &[&str]) -> Output {
        self.seed.set(self.seed.get() + 1);
        self.c
            .cmd()
            .env("FRONTDESK_NOW", now)
            .env("FRONTDESK_ID_SEED", self.seed.get().to_string())
            .args(args)
            .output()
            .unwrap()
    }

    fn ok_at(&self, now: &str, args: &[&str]) -> String {
        let out = self.run_at(now, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

/// Zoë Lefèvre (ZIP 02134, a payer whose ID has a leading zero, a co-pay) and Ann Lee, each
/// with a visit on Monday 2027-01-04; Zoë's visit charged, her co-pay and a credit collected.
fn clinic() -> (Pinned, String, String) {
    let p = Pinned {
        c: Clinic::new(),
        seed: std::cell::Cell::new(100),
    };
    schedule_setup(&p.c);
    let s = SCHED_NOW;
    p.ok_at(
        s,
        &[
            "payer",
            "add",
            "acme",
            "--name",
            "Acme Health",
            "--payer-id",
            "04271",
            "--phone",
            "800-555-0110",
        ],
    );
    p.ok_at(
        s,
        &[
            "service",
            "add",
            "99213",
            "--description",
            "Office visit",
            "--fee",
            "175",
        ],
    );
    let zoe = p.ok_at(
        s,
        &[
            "patient",
            "add",
            "--first",
            "Zoë",
            "--last",
            "Lefèvre",
            "--dob",
            "1985-03-09",
            "--sex",
            "F",
            "--phone",
            "617-555-0903",
            "--address",
            "12 Elm St",
            "--city",
            "Boston",
            "--state",
            "MA",
            "--zip",
            "02134",
        ],
    );
    let ann = p.ok_at(
        s,
        &[
            "patient",
            "add",
            "--first",
            "Ann",
            "--last",
            "Lee",
            "--dob",
            "1990-01-01",
            "--sex",
            "F",
        ],
    );
    p.ok_at(
        s,
        &[
            "patient",
            "insurance",
            "add",
            &zoe,
            "--payer",
            "acme",
            "--member-id",
            "0012345",
            "--copay-office",
            "25",
        ],
    );
    let visit = p.ok_at(
        s,
        &book_args(&zoe, 0)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let visit = visit.lines().next().unwrap().to_string();
    p.ok_at(
        s,
        &book_args(&ann, 1)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    p.ok_at(
        NOW,
        &[
            "pay",
            "charge",
            "--appointment",
            &visit,
            "--service",
            "99213",
        ],
    );
    p.ok_at(
        NOW,
        &[
            "pay",
            "collect",
            "--patient",
            &zoe,
            "--amount",
            "65",
            "--method",
            "cash",
            "--copay",
        ],
    );
    (p, zoe, ann)
}

/// Every format of one command, as one snapshot.
fn all_formats(p: &Pinned, args: &[&str]) -> String {
    let mut s = String::new();
    for format in ["table", "csv", "json", "html"] {
        let mut full = vec!["--format", format];
        full.extend_from_slice(args);
        let out = p.run_at(NOW, &full);
        s.push_str(&format!(
            "===== --format {format} (exit {}) =====\n{}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout)
        ));
        let err = String::from_utf8_lossy(&out.stderr);
        if !err.is_empty() {
            s.push_str(&format!("----- stderr -----\n{err}"));
        }
    }
    s
}

#[test]
fn every_listing_in_every_format() {
    let (p, zoe, ann) = clinic();
    let commands: Vec<(&str, Vec<&str>)> = vec![
        ("patient_list", vec!["patient", "list"]),
        ("patient_find", vec!["patient", "find", "lefevre"]),
        ("patient_find_nothing", vec!["patient", "find", "nobody"]),
        ("patient_show", vec!["patient", "show", &zoe]),
        ("insurance_list", vec!["patient", "insurance", "list", &zoe]),
        ("schedule_day", vec!["schedule", "day", "2027-01-04"]),
        ("schedule_week", vec!["schedule", "week", "2027-01-04"]),
        ("schedule_list", vec!["schedule", "list", "--patient", &ann]),
        ("pay_ledger", vec!["pay", "ledger", &zoe]),
        ("pay_balance", vec!["pay", "balance", &zoe]),
        ("pay_statement", vec!["pay", "statement", &zoe]),
        ("pay_closeout", vec!["pay", "closeout"]),
        ("payer_list", vec!["payer", "list"]),
        ("provider_list", vec!["provider", "list"]),
        ("service_list", vec!["service", "list"]),
    ];
    for (name, args) in commands {
        insta::assert_snapshot!(name, all_formats(&p, &args));
    }
}

#[test]
fn csv_for_scripts_has_no_byte_order_mark_and_codes_as_they_are() {
    let (p, zoe, _) = clinic();
    let spreadsheet = p.ok_at(NOW, &["--format", "csv", "pay", "ledger", &zoe]);
    assert!(spreadsheet.starts_with('\u{feff}'));
    let script = p.ok_at(NOW, &["--format", "csv", "--no-bom", "payer", "list"]);
    assert!(!script.starts_with('\u{feff}'));
    assert!(script.contains(",04271,"), "{script}");
    assert!(script.contains("+18005550110"), "{script}");
}

/// CSV exports open in LibreOffice with their accents, the payer ID's leading zero, the
/// phone's `+`, and amounts as numbers a spreadsheet can sum (skipped, saying so, without
/// LibreOffice). The import runs headless with the character set LibreOffice's import dialog
/// picks for a file that starts with a UTF-8 byte-order mark (the headless converter does not
/// look at the mark itself).
#[test]
fn a_csv_export_opens_right_in_libreoffice() {
    let Some(soffice) = ["/usr/bin/soffice", "/usr/bin/libreoffice"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!("skipped: LibreOffice is not installed (apt-get install libreoffice-calc-nogui)");
        return;
    };
    let (p, zoe, _) = clinic();
    let dir = tempfile::tempdir().unwrap();
    let mut pages = Vec::new();
    for (name, args) in [
        ("patients", vec!["--format", "csv", "patient", "list"]),
        ("payers", vec!["--format", "csv", "payer", "list"]),
        ("ledger", vec!["--format", "csv", "pay", "ledger", &zoe]),
    ] {
        let csv = p.ok_at(NOW, &args);
        assert!(csv.starts_with('\u{feff}'), "{name}: no byte-order mark");
        let file = dir.path().join(format!("{name}.csv"));
        std::fs::write(&file, csv + "\n").unwrap();
        let out = std::process::Command::new(soffice)
            .args(["--headless", "--norestore", "--infilter=CSV:44,34,76,1"])
            .args(["--convert-to", "html", "--outdir"])
            .arg(dir.path())
            .arg(&file)
            .env("HOME", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        pages.push(std::fs::read_to_string(dir.path().join(format!("{name}.html"))).unwrap());
    }
    assert!(
        pages[0].contains("Lef&egrave;vre") || pages[0].contains("Lefèvre"),
        "accents garbled: {}",
        pages[0]
    );
    assert!(
        pages[0].contains("+16175550903"),
        "the phone lost its +: {}",
        pages[0]
    );
    assert!(
        pages[1].contains(">04271<"),
        "the payer ID lost its zero: {}",
        pages[1]
    );
    // Amounts are numbers (LibreOffice writes a number's value in sdval).
    assert!(
        pages[2].contains("sdval=\"175\""),
        "the charge is not a number: {}",
        pages[2]
    );
    assert!(
        pages[2].contains("sdval=\"-65\""),
        "the payment is not a negative number: {}",
        pages[2]
    );
}
