//! `patient import`: the Synthea sample, idempotent re-runs, bad rows, reject files, dry
//! runs, encodings, and no PHI in errors.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::harness::*;

/// A small map for the test CSVs below.
const MAP: &str = r#"
[identity]
system = "chart"
column = "Chart"

[fields]
given = "First"
family = "Last"
birth_date = { column = "DOB", format = "%m/%d/%Y" }
sex = { column = "Sex", map = { Male = "M", Female = "F" } }
notes = "Notes"

[[skip]]
column = "Last"
equals = "TEST"
"#;

const HEADER: &str = "Chart,First,Last,DOB,Sex,Notes\n";

/// Writes `name` beside the clinic (outside the records tree) and returns its path.
fn write(c: &Clinic, name: &str, bytes: &[u8]) -> PathBuf {
    let p = c.dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn import(c: &Clinic, csv: &Path, map: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "patient",
        "import",
        csv.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    c.run(&args)
}

/// Runs an import that must fail with a user error (exit 2) and returns stderr.
fn import_fails(c: &Clinic, csv: &Path, map: &Path, extra: &[&str]) -> String {
    let out = import(c, csv, map, extra);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    stderr(&out)
}

fn patient_files(c: &Clinic) -> Vec<String> {
    c.files()
        .into_iter()
        .filter(|f| f.starts_with("patients/"))
        .collect()
}

fn all_patient_text(c: &Clinic) -> String {
    patient_files(c)
        .iter()
        .map(|f| std::fs::read_to_string(c.path(f)).unwrap())
        .collect()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn synthea_sample_imports_1000_patients_once() {
    let c = Clinic::new();
    let csv = shared_data().join("synthea/patients.csv");
    let map = examples().join("synthea-patients.map.toml");
    let before = c.commits();
    let out = import(&c, &csv, &map, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Imported 1000 of 1000 rows"),
        "{}",
        stdout(&out)
    );
    // No progress bar when stderr is not a terminal (cron, pipes, this test).
    assert_eq!(stderr(&out), "");
    assert_eq!(patient_files(&c).len(), 1000);
    assert_eq!(c.commits(), before + 1);
    assert_eq!(c.commit_messages()[0], "testclerk|Import 1000 patients.");

    let text = all_patient_text(&c);
    assert_eq!(text.matches("synthea = \"").count(), 1000);
    assert!(text.contains("ssn_last4 = \"4831\""));
    assert!(!text.contains("999-14-4831"), "a full SSN was stored");
    assert!(text.contains("country = \"GB\""));

    let again = import(&c, &csv, &map, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("Imported 0 of 1000 rows: 1000 already imported"),
        "{}",
        stdout(&again)
    );
    assert_eq!(patient_files(&c).len(), 1000);
    assert_eq!(c.commits(), before + 1);
}

#[test]
fn one_bad_row_imports_nothing_and_names_row_and_column() {
    let c = Clinic::new();
    let map = write(&c, "map.toml", MAP.as_bytes());
    let csv = write(
        &c,
        "in.csv",
        format!("{HEADER}1,Jane,Doe,04/02/1980,Female,\n2,Ottoline,Quillfeather,02/30/1961,Female,\n3,John,Smith,01/09/1975,Male,\n").as_bytes(),
    );
    let (files, commits) = (c.files(), c.commits());
    let out = import(&c, &csv, &map, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("in.csv:3: row 2: column DOB:"), "{err}");
    assert!(err.contains("fields.birth_date"), "{err}");
    assert!(
        err.contains("1 of 3 rows are bad; nothing was imported"),
        "{err}"
    );
    for phi in ["Quillfeather", "Ottoline", "02/30", "1961"] {
        assert!(!err.contains(phi), "PHI {phi} in stderr: {err}");
    }
    assert_eq!(c.files(), files);
    assert_eq!(c.commits(), commits);
}

#[test]
fn skip_bad_rows_imports_the_rest_and_writes_private_rejects() {
    let c = Clinic::new();
    let map = write(&c, "map.toml", MAP.as_bytes());
    let csv = write(
        &c,
        "in.csv",
        format!("{HEADER}1,Jane,Doe,04/02/1980,Female,\n2,Ottoline,Quillfeather,13/45/1961,Female,\n3,John,Smith,01/09/1975,Male,\n4,Test,TEST,01/01/2000,Male,\n").as_bytes(),
    );
    let before = c.commits();
    let out = import(&c, &csv, &map, &["--skip-bad-rows"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Imported 2 of 4 rows: 0 already imported, 1 skipped, 1 rejected"),
        "{}",
        stdout(&out)
    );
    assert!(!stderr(&out).contains("Quillfeather"));
    assert_eq!(patient_files(&c).len(), 2);
    assert_eq!(c.commits(), before + 1);
    assert!(c.commit_messages()[0].starts_with("testclerk|Import 2 patients: P"));

    let rejects = c.dir.path().join("in.rejects.csv");
    assert_eq!(std::fs::metadata(&rejects).unwrap().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&rejects).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("Chart,First,Last,DOB,Sex,Notes,import_error")
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("2,Ottoline,Quillfeather,13/45/1961,Female,,"),
        "{row}"
    );
    assert!(row.contains("row 2 (line 3): column DOB"), "{row}");
    assert_eq!(lines.next(), None);

    // The fixed reject file imports with the same map; nothing is imported twice.
    let fixed = write(
        &c,
        "fixed.csv",
        text.replace("13/45/1961", "12/15/1961").as_bytes(),
    );
    let out = import(&c, &fixed, &map, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(patient_files(&c).len(), 3);
    let out = import(&c, &csv, &map, &["--skip-bad-rows"]);
    assert!(
        stdout(&out).contains("Imported 0 of 4 rows: 3 already imported, 1 skipped, 0 rejected"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn dry_run_writes_nothing() {
    let c = Clinic::new();
    let map = write(&c, "map.toml", MAP.as_bytes());
    let csv = write(
        &c,
        "in.csv",
        format!("{HEADER}1,Jane,Doe,04/02/1980,Female,\n2,Test,TEST,01/01/2000,Male,\n").as_bytes(),
    );
    let (files, commits) = (c.files(), c.commits());
    let out = import(&c, &csv, &map, &["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.contains("add"), "{shown}");
    assert!(shown.contains("skip rule at"), "{shown}");
    assert!(
        shown.contains("Dry run: would import 1 of 2 rows: 0 already imported, 1 skipped, 0 rejected; nothing was written."),
        "{shown}"
    );
    assert_eq!(c.files(), files);
    assert_eq!(c.commits(), commits);

    let json = c.ok(&[
        "--format",
        "json",
        "patient",
        "import",
        csv.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
        "--dry-run",
    ]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows[0]["action"], "add");
    assert_eq!(rows[1]["action"], "skip");
    assert_eq!(c.files(), files);
}

#[test]
fn bom_crlf_quoted_newlines_and_windows_1252() {
    let c = Clinic::new();
    let map = write(&c, "map.toml", MAP.as_bytes());
    let utf8 = "\u{feff}Chart,First,Last,DOB,Sex,Notes\r\n1,Zoë,O'Brien,06/30/1990,Female,\"Prefers mornings,\r\nuses a cane\"\r\n2,Bad,Row,99/99/1990,Female,\r\n";
    let csv = write(&c, "bom.csv", utf8.as_bytes());
    let out = import(&c, &csv, &map, &["--skip-bad-rows"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The bad row starts on physical line 4: the quoted newline makes row 1 two lines.
    assert!(
        stderr(&out).contains("bom.csv:4: row 2: column DOB"),
        "{}",
        stderr(&out)
    );
    let text = all_patient_text(&c);
    assert!(text.contains("given = \"Zoë\""), "{text}");
    assert!(text.contains("Prefers mornings,"), "{text}");

    let cp1252_map = write(
        &c,
        "cp.toml",
        format!("encoding = \"windows-1252\"\n{MAP}").as_bytes(),
    );
    let mut bytes = b"Chart,First,Last,DOB,Sex,Notes\r\n7,Ren".to_vec();
    bytes.push(0xE9); // é in windows-1252
    bytes.extend_from_slice(b"e,Fran");
    bytes.push(0xE7); // ç
    bytes.extend_from_slice(b"ois,01/02/1970,Female,\r\n");
    let csv = write(&c, "cp.csv", &bytes);
    let out = import(&c, &csv, &cp1252_map, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = all_patient_text(&c);
    assert!(
        text.contains("given = \"Renée\"") && text.contains("family = \"François\""),
        "{text}"
    );

    // The same bytes read as UTF-8 are refused with the line and what to do.
    let out = import(&c, &csv, &map, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cp.csv:2: not valid UTF-8") && err.contains("windows-1252"),
        "{err}"
    );
}

#[test]
fn chart_export_example_uses_value_maps_dates_and_skip_rules() {
    let c = Clinic::new();
    let out = import(
        &c,
        &examples().join("chart-export.csv"),
        &examples().join("chart-export.map.toml"),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Imported 4 of 5 rows: 0 already imported, 1 skipped"));
    let text = all_patient_text(&c);
    assert!(
        text.contains("status = \"deceased\"") && text.contains("deceased_date = \"2024-03-15\"")
    );
    assert!(text.contains("status = \"inactive\""));
    assert!(text.contains("birth_date = \"1990-06-30\""));
    assert!(text.contains("ssn_last4 = \"6789\"") && !text.contains("123-45"));
    assert!(text.contains("number = \"+16175550199\""));
    assert!(!text.contains("TEST"));
}

#[test]
fn duplicate_of_an_existing_patient_is_a_bad_row() {
    let c = Clinic::new();
    let jane = c.add_jane();
    let map = write(&c, "map.toml", MAP.as_bytes());
    let csv = write(
        &c,
        "in.csv",
        format!("{HEADER}1,Janet,Doe,04/02/1980,Female,\n2,Jan,Doe,04/02/1980,Female,\n")
            .as_bytes(),
    );
    let err = import_fails(&c, &csv, &map, &[]);
    assert!(
        err.contains(&format!("row 1: looks like patient {jane}")),
        "{err}"
    );
    assert!(err.contains("row 2: looks like patient"), "{err}");
}

#[test]
fn repeated_identity_in_one_file_is_a_bad_row() {
    let c = Clinic::new();
    let map = write(&c, "map.toml", MAP.as_bytes());
    let csv = write(
        &c,
        "in.csv",
        format!("{HEADER}1,Jane,Doe,04/02/1980,Female,\n1,John,Smith,01/09/1975,Male,\n")
            .as_bytes(),
    );
    let err = import_fails(&c, &csv, &map, &[]);
    assert!(
        err.contains("row 2: column Chart: the identity value repeats row 1"),
        "{err}"
    );
}

#[test]
fn map_errors_name_the_map_line() {
    let c = Clinic::new();
    let csv = write(
        &c,
        "in.csv",
        format!("{HEADER}1,Jane,Doe,04/02/1980,Female,\n").as_bytes(),
    );
    let map = write(
        &c,
        "map.toml",
        MAP.replace("\"DOB\"", "\"Birth\"").as_bytes(),
    );
    let err = import_fails(&c, &csv, &map, &[]);
    assert!(
        err.contains("map.toml:9: fields.birth_date: column \"Birth\" is not in the header"),
        "{err}"
    );
    let map = write(
        &c,
        "bad.toml",
        b"[identity]\nsystem = \"chart\"\ncolumn = \"Chart\"\n[fields]\ngiven = 3\n",
    );
    let err = import_fails(&c, &csv, &map, &[]);
    assert!(err.contains("bad.toml:5:"), "{err}");
}

#[test]
fn reject_file_never_overwrites_the_input() {
    let c = Clinic::new();
    let map = write(&c, "map.toml", MAP.as_bytes());
    let csv = write(
        &c,
        "in.csv",
        format!("{HEADER}1,Jane,Doe,04/02/1980,Female,\n").as_bytes(),
    );
    let p = csv.to_str().unwrap();
    let err = import_fails(&c, &csv, &map, &["--skip-bad-rows", "--reject-file", p]);
    assert!(err.contains("is one of the input files"), "{err}");
    // Not a device or a directory either: the atomic rename would replace it. (A directory
    // in the test's own temp dir stands in for /dev/null, which a bug here would clobber.)
    let dir = c.dir.path().to_str().unwrap();
    let err = import_fails(&c, &csv, &map, &["--skip-bad-rows", "--reject-file", dir]);
    assert!(err.contains("is not a regular file"), "{err}");
}

#[test]
fn commit_takes_only_the_import_and_leaves_hand_staged_work_staged() {
    let c = Clinic::new();
    let map = write(&c, "map.toml", MAP.as_bytes());
    let csv = write(
        &c,
        "in.csv",
        format!("{HEADER}1,Jane,Doe,04/02/1980,Female,\n").as_bytes(),
    );
    std::fs::write(c.path("notes.txt"), "staged by hand\n").unwrap();
    git_lines(&c.root, &["add", "notes.txt"]);
    let out = import(&c, &csv, &map, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let committed = git_lines(&c.root, &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(committed.len(), 1, "{committed:?}");
    assert!(committed[0].starts_with("patients/"), "{committed:?}");
    let staged = git_lines(&c.root, &["diff", "--cached", "--name-only"]);
    assert_eq!(staged, ["notes.txt"]);
}

#[test]
fn a_row_already_imported_is_not_checked_again() {
    let c = Clinic::new();
    let map = write(&c, "map.toml", MAP.as_bytes());
    let csv = write(
        &c,
        "in.csv",
        format!("{HEADER}1,Jane,Doe,04/02/1980,Female,\n").as_bytes(),
    );
    assert!(import(&c, &csv, &map, &[]).status.success());
    // The old system's copy went bad since; nothing of it would be written anyway.
    let later = write(
        &c,
        "later.csv",
        format!("{HEADER}1,Jane,Doe,not a date,Female,\n2,John,Smith,01/09/1975,Male,\n")
            .as_bytes(),
    );
    let out = import(&c, &later, &map, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Imported 1 of 2 rows: 1 already imported"),
        "{}",
        stdout(&out)
    );
}

// ---- batches: the rows are checked in one pass and written in batches in a second ----

/// `import` with `FRONTDESK_IMPORT_BATCH=3`, so a few rows cross batch boundaries.
fn import_in_threes(c: &Clinic, csv: &Path, map: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = c.cmd();
    cmd.env("FRONTDESK_IMPORT_BATCH", "3")
        .args(["patient", "import"])
        .arg(csv)
        .arg("--map")
        .arg(map)
        .args(extra);
    cmd.output().unwrap()
}

/// Rows 1..=n, each a different person.
fn good_rows(n: usize) -> String {
    let mut text = String::from(HEADER);
    for i in 1..=n {
        let family: String = [b'a' + (i % 26) as u8, b'a' + (i / 26) as u8]
            .iter()
            .map(|b| *b as char)
            .collect();
        text.push_str(&format!("{i},Ann,Fam{family},04/02/1980,Female,\n"));
    }
    text
}

/// Imports `text` in batches of 3, which must be refused whole (exit 2, no file, no
/// commit); returns stderr.
fn refused_in_threes(c: &Clinic, text: &str) -> String {
    let map = write(c, "map.toml", MAP.as_bytes());
    let csv = write(c, "in.csv", text.as_bytes());
    let (files, commits) = (c.files(), c.commits());
    let out = import_in_threes(c, &csv, &map, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(c.files(), files, "no batch was written");
    assert_eq!(c.commits(), commits);
    stderr(&out)
}

#[test]
fn a_bad_row_several_batches_in_imports_nothing() {
    let c = Clinic::new();
    let mut text = good_rows(16);
    text.push_str("17,Ottoline,Quillfeather,02/30/1961,Female,\n18,Ann,Last,04/02/1980,Female,\n");
    let err = refused_in_threes(&c, &text);
    assert!(err.contains("in.csv:18: row 17: column DOB:"), "{err}");
    assert!(
        err.contains("1 of 18 rows are bad; nothing was imported"),
        "{err}"
    );
}

#[test]
fn duplicates_are_found_across_batches() {
    let c = Clinic::new();
    let mut text = good_rows(10);
    // Row 11 is row 2's person (a prefix of her given name); row 12 repeats row 1's chart.
    text.push_str("11,An,Famca,04/02/1980,Female,\n1,Zed,Other,01/01/1990,Male,\n");
    let err = refused_in_threes(&c, &text);
    assert!(err.contains("row 11: looks like row 2"), "{err}");
    assert!(
        err.contains("row 12: column Chart: the identity value repeats row 1"),
        "{err}"
    );
}

#[test]
fn many_batches_import_whole_in_one_commit() {
    let c = Clinic::new();
    let map = write(&c, "map.toml", MAP.as_bytes());
    // 11 rows in batches of 3 (the last one short), a skipped row among them.
    let mut text = good_rows(10);
    text.push_str("99,Test,TEST,01/01/2000,Male,\n");
    let csv = write(&c, "in.csv", text.as_bytes());
    let commits = c.commits();
    let out = import_in_threes(&c, &csv, &map, &["--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 11);
    assert_eq!(rows[10]["action"], "skip");
    let ids: Vec<&str> = rows[..10]
        .iter()
        .map(|r| {
            assert_eq!(r["action"], "add");
            r["patient"].as_str().unwrap()
        })
        .collect();
    assert_eq!(c.commits(), commits + 1, "one commit for every batch");
    assert_eq!(c.commit_messages()[0], "testclerk|Import 10 patients.");
    let mut files = patient_files(&c);
    let mut want: Vec<String> = ids
        .iter()
        .map(|id| format!("patients/{}/{id}.toml", &id[1..3]))
        .collect();
    files.sort();
    want.sort();
    assert_eq!(
        files, want,
        "each row's patient, under the ID reported for it"
    );
    // Each file is its row's patient, built again in the second pass.
    for (i, id) in ids.iter().enumerate() {
        let shown = c.ok(&["--format", "json", "patient", "show", id]);
        let p: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(p["external_ids"]["chart"], (i + 1).to_string(), "{shown}");
    }
    let status = git_lines(&c.root, &["status", "--porcelain"]);
    assert!(status.is_empty(), "{status:?}");
    // Run again: everything is already imported, in any batch.
    let again = import_in_threes(&c, &csv, &map, &["--quiet"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), "");
    assert_eq!(c.commits(), commits + 1);
}

/// The patient file whose text contains `needle` (a fixture's family name).
fn patient_with(c: &Clinic, needle: &str) -> toml::Table {
    let text = patient_files(c)
        .iter()
        .map(|f| std::fs::read_to_string(c.path(f)).unwrap())
        .find(|t| t.contains(needle))
        .unwrap_or_else(|| panic!("no patient file has {needle}"));
    toml::from_str(&text).unwrap()
}

fn phone<'t>(p: &'t toml::Table, kind: &str) -> Option<&'t toml::Table> {
    p.get("phones")?
        .as_array()?
        .iter()
        .filter_map(|ph| ph.as_table())
        .find(|ph| ph["kind"].as_str() == Some(kind))
}

#[test]
fn openemr_export_imports_as_it_is() {
    let c = Clinic::new();
    let csv = examples().join("openemr-patients.csv");
    let map = examples().join("openemr-patients.map.toml");
    let before = c.commits();
    let out = import(&c, &csv, &map, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Imported 12 of 12 rows"),
        "{}",
        stdout(&out)
    );
    assert_eq!(c.commits(), before + 1);

    // pad: a ZIP that lost its leading zero; extract: the last four of a masked SSN; a line
    // break inside a quoted street folded to one space; USA mapped to the ISO code (the
    // office's own, so not stored).
    let p = patient_with(&c, "Okonkwo-Hale");
    let a = p["address"].as_table().unwrap();
    assert_eq!(a["postal_code"].as_str(), Some("02134"));
    assert_eq!(a["line1"].as_str(), Some("88 Fenwick St Apt 4B"));
    assert!(a.get("country").is_none());
    assert_eq!(p["ssn_last4"].as_str(), Some("0431"));
    // when: email consent YES without an email is not applied, and the row is not bad.
    assert!(p.get("email").is_none() && p.get("email_ok").is_none());
    assert_eq!(phone(&p, "mobile").unwrap()["sms_ok"].as_bool(), Some(true));
    assert_eq!(p["marital_status"].as_str(), Some("single"));
    let ec = &p["emergency_contacts"].as_array().unwrap()[0];
    assert_eq!(ec["name"].as_str(), Some("Grace Hale"));
    assert_eq!(ec["phone"].as_str(), Some("+16175550121"));

    let p = patient_with(&c, "Ferreira");
    assert_eq!(
        p["address"]["line1"].as_str(),
        Some("210 Dorchester Ave Unit 2"),
        "a tab folded"
    );
    assert_eq!(p["marital_status"].as_str(), Some("divorced"));
    assert_eq!(
        phone(&p, "home").unwrap()["voicemail_ok"].as_bool(),
        Some(true)
    );

    let p = patient_with(&c, "Pellworth");
    assert_eq!(p["email_ok"].as_bool(), Some(true));
    assert_eq!(p["ssn_last4"].as_str(), Some("2649"));
    assert_eq!(p["address"]["postal_code"].as_str(), Some("01604"));
    for kind in ["home", "mobile"] {
        assert_eq!(
            phone(&p, kind).unwrap()["voicemail_ok"].as_bool(),
            Some(true)
        );
    }
    assert_eq!(p["external_ids"]["pubpid"].as_str(), Some("EMR-0001"));

    // SMS consent where there is no mobile phone is not applied either.
    let p = patient_with(&c, "Lindqvist");
    assert!(phone(&p, "mobile").is_none());
    assert_eq!(phone(&p, "home").unwrap()["sms_ok"].as_bool(), Some(false));
    assert!(p.get("marital_status").is_none(), "empty is left out");

    assert_eq!(
        patient_with(&c, "Castellanos")["marital_status"].as_str(),
        Some("partnered")
    );
    // A formula cell is kept as the text it is.
    assert_eq!(
        patient_with(&c, "Marchetti")["notes"].as_str(),
        Some("=HYPERLINK(\"http://example.org/pay\",\"Pay now\")")
    );

    let again = import(&c, &csv, &map, &[]);
    assert!(
        stdout(&again).contains("Imported 0 of 12 rows: 12 already imported"),
        "{}",
        stdout(&again)
    );
    assert_eq!(c.commits(), before + 1);
}

/// Every cell of a CSV text (after a byte-order mark).
fn csv_cells(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn a_fixed_reject_file_reimports_with_its_formula_guard() {
    let c = Clinic::new();
    let map = write(&c, "map.toml", MAP.as_bytes());
    let formula = "=HYPERLINK(\"http://example.org\",\"x\")";
    let quoted = formula.replace('"', "\"\"");
    let csv = write(
        &c,
        "in.csv",
        format!(
            "{HEADER}1,Jane,Doe,04/02/1980,Female,\n-2,Ottoline,Quillfeather,02/30/1961,Female,\"{quoted}\"\n3,Amos,Rook,01/09/1975,Male,'=kept\n"
        )
        .as_bytes(),
    );
    let out = import(&c, &csv, &map, &["--skip-bad-rows"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rejects = std::fs::read_to_string(c.dir.path().join("in.rejects.csv")).unwrap();
    let cells = csv_cells(&rejects);
    assert_eq!(cells.len(), 2, "{rejects}");
    // No cell a spreadsheet would evaluate: the formula and the negative chart number are
    // guarded with one leading '.
    for cell in cells.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{cell}"
        );
    }
    assert_eq!(cells[1][0], "'-2");
    assert_eq!(cells[1][5], format!("'{formula}"));

    // The clerk fixes the date and saves; the guard is left in and taken away on import.
    let fixed = write(
        &c,
        "fixed.csv",
        rejects.replace("02/30/1961", "02/28/1961").as_bytes(),
    );
    let out = import(&c, &fixed, &map, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let p = patient_with(&c, "Quillfeather");
    assert_eq!(
        p["notes"].as_str(),
        Some(formula),
        "stays text, without the guard"
    );
    assert_eq!(p["external_ids"]["chart"].as_str(), Some("-2"));
    // A real leading ' before a formula character (here typed in the original file, as a
    // spreadsheet user does to keep text) is read as the guard too: one ' is removed.
    assert_eq!(patient_with(&c, "Rook")["notes"].as_str(), Some("=kept"));
    // Importing the original again: every row already there.
    let out = import(&c, &csv, &map, &["--skip-bad-rows"]);
    assert!(
        stdout(&out).contains("3 already imported"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn dry_run_lists_bad_rows_in_every_format() {
    let c = Clinic::new();
    let map = write(&c, "map.toml", MAP.as_bytes());
    let csv = write(
        &c,
        "in.csv",
        format!(
            "{HEADER}1,Jane,Doe,04/02/1980,Female,\n2,Ottoline,Quillfeather,02/30/1961,Femme,\n"
        )
        .as_bytes(),
    );
    let (files, commits) = (c.files(), c.commits());
    let run = |format: &str| {
        let out = c.run(&[
            "--format",
            format,
            "patient",
            "import",
            csv.to_str().unwrap(),
            "--map",
            map.to_str().unwrap(),
            "--dry-run",
        ]);
        assert_eq!(out.status.code(), Some(2), "{format}: {}", stderr(&out));
        for phi in ["Quillfeather", "Ottoline", "02/30", "1961", "Femme"] {
            assert!(!stdout(&out).contains(phi), "{format}: {}", stdout(&out));
            assert!(!stderr(&out).contains(phi), "{format}: {}", stderr(&out));
        }
        assert!(
            stderr(&out).contains("1 of 2 rows are bad"),
            "{}",
            stderr(&out)
        );
        stdout(&out)
    };

    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows[0]["action"], "add");
    let bad: Vec<_> = rows.iter().filter(|r| r["action"] == "reject").collect();
    assert_eq!(bad.len(), 2, "one entry per problem: {json}");
    assert!(bad.iter().all(|r| r["row"] == 2 && r["line"] == 3));
    assert_eq!(bad[0]["column"], "DOB");
    assert_eq!(bad[0]["field"], "birth_date");
    assert!(bad[0]["rule"].as_str().unwrap().contains("map.toml line"));
    assert!(bad[0]["detail"].as_str().unwrap().contains("not a date"));
    assert_eq!(bad[1]["column"], "Sex");
    assert_eq!(bad[1]["field"], "sex");

    let csv_out = csv_cells(&run("csv"));
    assert_eq!(
        csv_out[0],
        [
            "row", "line", "action", "patient", "column", "field", "rule", "detail"
        ]
    );
    let reject: Vec<_> = csv_out.iter().filter(|r| r[2] == "reject").collect();
    assert_eq!(reject.len(), 2);
    assert_eq!((reject[0][0].as_str(), reject[0][4].as_str()), ("2", "DOB"));

    let table = run("table");
    assert!(
        table.contains("reject") && table.contains("birth_date"),
        "{table}"
    );
    assert_eq!(c.files(), files);
    assert_eq!(c.commits(), commits);
}
