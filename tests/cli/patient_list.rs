//! `patient list` streams its rows (it holds only the sort keys at 100,000 patients): its
//! output in every format, with every filter, is pinned byte for byte by a snapshot taken
//! from the listing that held every row as one table, and is the same with the index deleted.

use crate::harness::*;

/// Each command's stdout and exit code, as a transcript.
fn transcript(c: &Clinic, commands: &[&str]) -> String {
    let mut out = String::new();
    for args in commands {
        let argv: Vec<&str> = args.split_whitespace().collect();
        // The clock is pinned: an HTML page says when it was printed.
        let run = c
            .cmd()
            .env("FRONTDESK_NOW", "2026-11-27T09:00:00-05:00")
            .args(&argv)
            .output()
            .unwrap();
        out.push_str(&format!(
            "$ frontdesk {args}\n{}[exit {}]\n",
            String::from_utf8_lossy(&run.stdout),
            run.status.code().unwrap_or(-1)
        ));
    }
    out
}

const LISTINGS: &[&str] = &[
    "patient list --all",
    "patient list --limit 12",
    "--format csv patient list --all --limit 40",
    "--format json patient list --status inactive",
    "--format html patient list --limit 4",
    "patient list --all --flag wheelchair",
    "--format csv patient list --flag needs-transport",
    "--format json patient list --all --flag hearing-impaired --limit 2",
    "patient list --status deceased",
    "--format csv patient list --status deceased",
    "--format json patient list --status deceased",
    "--format html patient list --flag no-such-flag",
];

#[test]
fn listings_are_byte_for_byte_as_before_in_every_format() {
    let c = Clinic::demo(300);
    let text = transcript(&c, LISTINGS);
    insta::assert_snapshot!("patient_list_listings", text);
    // The same without the index (the first command rebuilds it).
    std::fs::remove_dir_all(c.path(".frontdesk/index")).unwrap();
    assert_eq!(transcript(&c, LISTINGS), text);
}

#[test]
fn a_flag_listing_stops_at_an_unreadable_record() {
    let c = Clinic::demo(40);
    let file = c
        .files()
        .into_iter()
        .find(|f| f.starts_with("patients/"))
        .unwrap();
    std::fs::write(c.path(&file), "given = \"Broken\nfamily = 3\n").unwrap();
    let err = c.fails(&["patient", "list", "--all", "--flag", "wheelchair"], 2);
    assert!(err.contains(&file), "{err}");
    assert!(
        !err.contains("Broken"),
        "no record value in the error: {err}"
    );
}
