//! Community resources end to end: the directory, ranking in find and match, verification and
//! the 12-month flag (also in check), referral with its follow-up, the HSDS-shaped import, and
//! refusals that write nothing.

use crate::comm::{NOW, json, ok, ok_at, refused, run_at};
use crate::harness::*;

fn slugs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].as_str().unwrap().to_string())
        .collect()
}

/// Five transport services that differ in one ranking key each, a food pantry, and Jane Doe
/// in Cambridge (02139) who needs a ride and a Spanish interpreter.
fn clinic() -> (Clinic, String) {
    let c = Clinic::new();
    let add = |now: &str, line: &str| ok_at(&c, now, format!("resource add {line}"));
    let base = "--organization 'Org' --name 'Service' --need transport";
    add(NOW, &format!("zip-en {base} --area 02139 --language en"));
    add(
        "2026-01-10T10:00:00-05:00",
        &format!("prefix-es {base} --area 021 --language es --open mon,wed"),
    );
    add(
        "2026-11-20T10:00:00-05:00",
        &format!("prefix-en-new {base} --area 021 --language en"),
    );
    add(
        "2026-02-01T10:00:00-05:00",
        &format!("prefix-en-old {base} --area 021 --language en"),
    );
    add(
        "2025-06-01T10:00:00-05:00",
        &format!("anywhere-es {base} --area any --language es"),
    );
    add(
        NOW,
        "pantry --organization 'Food Bank' --name 'Pantry' --need food --area city:Cambridge --language es --phone 617-555-0142",
    );
    add(
        NOW,
        "interp --organization 'Language Bridge' --name 'Phone interpreters' --need interpreter:es --area any --language es --language pt",
    );
    let jane = ok(
        &c,
        &[
            "patient",
            "add",
            "--first",
            "Jane",
            "--last",
            "Doe",
            "--dob",
            "1950-04-02",
            "--sex",
            "F",
            "--phone",
            "617-555-0101",
            "--address",
            "1 Main St",
            "--city",
            "Cambridge",
            "--state",
            "MA",
            "--zip",
            "02139",
        ],
    )
    .trim()
    .to_string();
    ok(
        &c,
        format!("patient needs {jane} --add transport --add interpreter:es"),
    );
    (c, jane)
}

#[test]
fn find_ranks_need_then_area_then_language_then_verified() {
    let (c, _) = clinic();
    let found = json(
        &c,
        "resource find --need transport --zip 02139 --language es",
    );
    assert_eq!(
        slugs(&found),
        [
            "zip-en",
            "prefix-es",
            "prefix-en-new",
            "prefix-en-old",
            "anywhere-es"
        ]
    );
    assert_eq!(found[0]["area"], "zip");
    assert_eq!(found[1]["speaks"], "yes");
    assert_eq!(found[0]["rank"], 1);
    // Verified more than 12 months ago: flagged.
    assert_eq!(found[4]["flag"], "unverified 12+ months");
    assert_eq!(found[0]["flag"], "");
    // --open-on keeps services open that day (or whose days are unknown).
    let tue = json(&c, "resource find --need transport --open-on tue");
    assert!(!slugs(&tue).contains(&"prefix-es".to_string()), "{tue}");
    let wed = json(&c, "resource find --need Transport --open-on Wednesday");
    assert!(slugs(&wed).contains(&"prefix-es".to_string()));
    // A need nobody serves: exit 1, an empty array.
    let none = run_at(&c, NOW, "--format json resource find --need housing");
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&none.stdout).trim(), "[]");
    // Verify clears the flag and moves it up among equals; check flags it until then.
    let check = run_at(&c, NOW, "check");
    assert_eq!(check.status.code(), Some(2));
    let text = String::from_utf8_lossy(&check.stdout).to_string()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(
        text.contains("resource anywhere-es was not verified in the last 12 months"),
        "{text}"
    );
    ok(&c, "resource verify anywhere-es --by maria");
    let shown = json(&c, "resource show anywhere-es");
    assert_eq!(shown["verified_by"], "maria");
    assert_eq!(shown["verified_on"], "2026-12-01");
    ok(&c, "check");
    // Retired: out of find, kept on file.
    ok(&c, "resource retire zip-en");
    let found = json(&c, "resource find --need transport --zip 02139");
    assert!(!slugs(&found).contains(&"zip-en".to_string()));
    assert!(c.path("resources/zip-en.toml").is_file());
    let messages = c.commit_messages().join("\n");
    assert!(
        messages.contains("Verify resource anywhere-es.")
            && messages.contains("Retire resource zip-en.")
    );
}

#[test]
fn match_suggests_services_for_the_patient_s_needs_and_refer_sets_a_follow_up() {
    let (c, jane) = clinic();
    let m = json(&c, &format!("resource match {jane}"));
    let rows: Vec<(String, String)> = m
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["need"].as_str().unwrap().into(),
                r["slug"].as_str().unwrap().into(),
            )
        })
        .collect();
    // Three per need, ranked as find ranks them for her ZIP and the interpreter's language.
    assert_eq!(
        rows,
        [
            ("transport".into(), "zip-en".into()),
            ("transport".into(), "prefix-es".into()),
            ("transport".into(), "prefix-en-new".into()),
            ("interpreter:es".into(), "interp".into()),
        ]
    );
    // The referral: a communication about the patient, with its follow-up in two weeks.
    let out = run_at(
        &c,
        NOW,
        format!("resource refer {jane} prefix-es --note 'Van with a ramp'"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(id.starts_with('C'), "{id}");
    let comm = json(&c, &format!("comm show {id}"));
    assert_eq!(comm["follow_up"], "2026-12-15");
    assert_eq!(comm["resource"], "prefix-es");
    assert_eq!(comm["topic"], "referral");
    assert_eq!(comm["patient"], jane.as_str());
    assert!(
        comm["summary"]
            .as_str()
            .unwrap()
            .contains("Van with a ramp")
    );
    assert_eq!(
        run_at(&c, "2026-12-14T09:00:00-05:00", "comm due")
            .status
            .code(),
        Some(1)
    );
    let due = ok_at(&c, "2026-12-15T09:00:00-05:00", "--format csv comm due");
    assert!(due.contains(&id), "{due}");
    assert_eq!(
        c.commit_messages()[0],
        format!("testclerk|Log in-person communication {id} for patient {jane}.")
    );
    // A service for none of her needs is referred with a warning.
    let out = run_at(&c, NOW, format!("resource refer {jane} pantry"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("serves none of the needs"));
    // A patient without needs: nothing to match.
    let john = ok(
        &c,
        "patient add --first John --last Roe --dob 1960-01-01 --sex M",
    )
    .trim()
    .to_string();
    refused(&c, format!("resource match {john}"), 1);
}

#[test]
fn import_reads_an_hsds_shaped_csv_once() {
    let c = Clinic::new();
    let root = env!("CARGO_MANIFEST_DIR");
    let csv = format!("{root}/examples/hsds-services.csv");
    let map = format!("{root}/examples/hsds-services.map.toml");
    let dry = ok(
        &c,
        &["resource", "import", &csv, "--map", &map, "--dry-run"],
    );
    assert_eq!(dry.lines().count(), 3, "{dry}");
    assert_eq!(c.commits(), 1);
    ok(&c, &["resource", "import", &csv, "--map", &map]);
    assert_eq!(c.commits(), 2);
    assert_eq!(
        c.commit_messages()[0],
        "testclerk|Import resources: 3 added, 0 updated."
    );
    let ride = json(
        &c,
        "resource show cambridge-council-on-aging-senior-ride-program",
    );
    assert_eq!(ride["needs"], serde_json::json!(["transport"]));
    assert_eq!(
        ride["open_days"],
        serde_json::json!(["mon", "tue", "wed", "thu", "fri"])
    );
    assert_eq!(ride["phone"], "+16175550141");
    assert_eq!(ride["verified_on"], "2026-10-15");
    // Again: nothing changes, no commit.
    ok(&c, &["resource", "import", &csv, "--map", &map]);
    assert_eq!(c.commits(), 2);
    // A bad row: every problem named by row, column and field, nothing imported.
    let bad = c.dir.path().join("bad.csv");
    let text = std::fs::read_to_string(&csv)
        .unwrap()
        .replace("Transportation;Older Adults", "SECRET")
        .replace("en;es;ht", "en;xx");
    std::fs::write(&bad, text).unwrap();
    let fresh = Clinic::new();
    let e = refused(
        &fresh,
        &["resource", "import", bad.to_str().unwrap(), "--map", &map],
        2,
    );
    assert!(
        e.contains("row 1: column \"taxonomy_terms\" (fields.needs): --need is not a need"),
        "{e}"
    );
    assert!(
        e.contains("row 2: column \"languages\" (fields.languages)"),
        "{e}"
    );
    assert!(
        e.contains("2 of the rows have errors; nothing was imported"),
        "{e}"
    );
    // A map naming a column the file lacks.
    let bad_map = c.dir.path().join("bad.map.toml");
    std::fs::write(
        &bad_map,
        std::fs::read_to_string(&map)
            .unwrap()
            .replace("\"url\"", "\"homepage\""),
    )
    .unwrap();
    let e = refused(
        &fresh,
        &[
            "resource",
            "import",
            &csv,
            "--map",
            bad_map.to_str().unwrap(),
        ],
        2,
    );
    assert!(
        e.contains("fields.website") && e.contains("no column"),
        "{e}"
    );
}

#[test]
fn bad_input_names_the_field_and_writes_nothing() {
    let (c, jane) = clinic();
    let long = "x".repeat(10_000);
    for (args, field, code) in [
        (
            "resource add new --name N --need food".to_string(),
            "--organization",
            2,
        ),
        (
            "resource add new --organization O --name N --need diabetes".into(),
            "--need",
            2,
        ),
        (
            "resource add new --organization O --name N --need food --language xx".into(),
            "--language",
            2,
        ),
        (
            "resource add new --organization O --name N --need food --area 0213x".into(),
            "--area",
            2,
        ),
        (
            "resource add new --organization O --name N --need food --open someday".into(),
            "--open",
            2,
        ),
        (
            "resource add 'Bad Slug' --organization O --name N --need food".into(),
            "slug",
            2,
        ),
        (
            "resource add pantry --organization O --name N --need food".into(),
            "already exists",
            2,
        ),
        ("resource find --need SECRET".into(), "--need", 2),
        ("resource find --zip SECRET".into(), "--zip", 2),
        ("resource find --language SECRET".into(), "--language", 2),
        ("resource show nothing-here".into(), "no resource", 1),
        ("resource verify nothing-here".into(), "no resource", 1),
        (
            format!("resource refer {jane} nothing-here"),
            "no resource",
            1,
        ),
        ("resource refer P00000000 pantry".into(), "no patient", 1),
        (
            "resource verify pantry --by 'SECRET person'".into(),
            "--by",
            2,
        ),
        ("--format html resource list".into(), "HTML", 2),
    ] {
        let e = refused(&c, &args, code);
        assert!(e.contains(field), "{args}: {e}");
    }
    let e = refused(
        &c,
        &["resource", "update", "pantry", "--description", &long],
        2,
    );
    assert!(e.contains("--description is longer than"), "{e}");
    let e = refused(
        &c,
        &["resource", "update", "pantry", "--name", "SECRET\u{1b}[2J"],
        2,
    );
    assert!(e.contains("--name has control characters"), "{e}");
    let e = refused(
        &c,
        &["resource", "refer", &jane, "pantry", "--note", &long],
        2,
    );
    assert!(e.contains("--note is longer than"), "{e}");
    ok(&c, "resource retire pantry");
    refused(&c, format!("resource refer {jane} pantry"), 2);
    refused(&c, "resource retire pantry", 2);
}
