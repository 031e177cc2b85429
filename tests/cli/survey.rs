//! `frontdesk survey …` and `report satisfaction`: filing responses (one per visit, unknown
//! appointments refused), the vendor CSV import (a bad row named by row and column, nothing
//! imported, then --skip-bad-rows), `survey send` through the letter outbox, and the report on
//! the sample clinic (the generated relation to wait time, well-formed HTML with SVG charts,
//! comments only when asked and de-identified), and `check` reading the responses.

use std::fs;
use std::path::Path;

use crate::harness::*;

/// The night the sample report runs (as in tests/cli/report.rs).
const NOW: &str = "2026-12-04T18:00:00-05:00";

/// The moment the booked visit of [`visited`] is checked out: Monday 2027-01-04 08:40.
const AFTER_VISIT: &str = "2027-01-04T08:40:00-05:00";

fn sample() -> Clinic {
    Clinic::sample().at(NOW)
}

fn examples_file(name: &str) -> String {
    examples().join(name).display().to_string()
}

/// A git clinic with Jane Doe's visit at 08:00 on 2027-01-04, checked in and checked out (the
/// clinic has no rooms): returns (clinic, patient, appointment).
fn visited() -> (Clinic, String, String) {
    let c = Clinic::new();
    schedule_setup(&c);
    c.ok("office set --phone 617-555-0100 --address '1 Main Street' --city Boston --state MA --zip 02118");
    let p = c.add_jane();
    let a = c.book(&p, 0);
    for (step, at) in [
        ("checkin", "2027-01-04T07:55:00-05:00"),
        ("checkout", AFTER_VISIT),
    ] {
        let args = ["schedule", step, a.as_str()];
        let out = c
            .cmd()
            .env("FRONTDESK_NOW", at)
            .args(args)
            .output()
            .unwrap();
        expect_ok(&args.map(String::from), out);
    }
    (c.at(AFTER_VISIT), p, a)
}

/// Runs a command that must fail with `code` and checks it changed no file and made no commit.
fn refused(c: &Clinic, args: impl IntoArgs, code: i32) -> String {
    let args = args.into_args();
    let (files, commits) = (snapshot(c), c.commits());
    let err = c.fails(args.as_slice(), code);
    assert!(snapshot(c) == files, "{args:?} changed files");
    assert_eq!(c.commits(), commits, "{args:?} committed");
    err
}

#[test]
fn a_response_about_a_visit_is_filed_once_and_its_commit_names_ids_only() {
    let (c, _p, a) = visited();
    let out = c.ok(&[
        "survey",
        "add",
        "--appointment",
        &a,
        "--channel",
        "paper",
        "--answers",
        "comm_listen=always,staff_courtesy=usually,provider_rating=9,recommend=10",
        "--comment",
        "Secretcomment about Jane at 617-555-0101",
    ]);
    let id = out.trim().to_string();
    assert!(id.starts_with('S'), "{out}");
    let file = c.path(&format!("surveys/2027/01/{id}.toml"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&format!("appointment = \"{a}\"")), "{text}");
    assert!(text.contains("comm_listen = 4"), "{text}");
    assert!(text.contains("instrument = 1"), "{text}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let log = git(&c.root, &["log", "-1", "--format=%B"]);
    assert_eq!(
        log.trim(),
        format!("Add survey {id} about appointment {a}.")
    );
    // A second response for the same visit is a conflict; nothing changes.
    let err = refused(
        &c,
        format!("survey add --appointment {a} --channel sms --answers recommend=3"),
        3,
    );
    assert!(err.contains(&id), "{err}");
    // `survey show` has the comment (it is the record); `survey list` does not.
    assert!(c.ok(&["survey", "show", &id]).contains("Secretcomment"));
    assert!(!c.ok(&["survey", "list"]).contains("Secretcomment"));
}

#[test]
fn unknown_appointments_keys_and_answers_out_of_range_are_refused() {
    let (c, p, a) = visited();
    let add = |appt: &str, answers: &str| {
        format!("survey add --appointment {appt} --channel kiosk --answers {answers}")
    };
    let err = refused(&c, add("A00000000", "recommend=9"), 1);
    assert!(err.contains("no appointment A00000000"), "{err}");
    let err = refused(&c, add(&a, "recommend=9,mystery_question=4"), 2);
    assert!(err.contains("item 2") && !err.contains("mystery"), "{err}");
    let err = refused(&c, add(&a, "provider_rating=47"), 2);
    assert!(
        err.contains("provider_rating") && !err.contains("47"),
        "{err}"
    );
    // A booked visit that has not happened cannot be surveyed.
    let later = c.book(&p, 5);
    let err = refused(&c, add(&later, "recommend=9"), 2);
    assert!(err.contains("was not checked out"), "{err}");
    // Anonymous: a provider and a month, the provider must exist.
    let anonymous = |provider: &str| {
        format!(
            "survey add --provider {provider} --month 2026-12 --channel paper --answers staff_helpful=never"
        )
    };
    c.ok(anonymous("okafor"));
    let err = refused(&c, anonymous("nobody"), 2);
    assert!(err.contains("--provider"), "{err}");
}

#[test]
fn a_vendor_csv_with_one_bad_row_imports_nothing_until_bad_rows_are_skipped() {
    let c = sample();
    let map = examples_file("survey-vendor.map.toml");
    let good = std::fs::read_to_string(examples().join("survey-vendor.csv")).unwrap();
    // Row 3 (line 4): a provider rating of 12.
    let bad = good.replacen("Usually,7,6,", "Usually,12,6,", 1);
    assert_ne!(bad, good);
    let csv = c.dir.path().join("export.csv");
    std::fs::write(&csv, &bad).unwrap();
    let csv = csv.display().to_string();
    let before = c.files();
    let err = c.fails(&["survey", "import", &csv, "--map", &map], 2);
    assert!(
        err.contains("export.csv:4: row 3: column Q10 Provider rating 0-10: out of range"),
        "{err}"
    );
    assert!(
        err.contains("1 of 8 rows are bad; nothing was imported"),
        "{err}"
    );
    assert!(!err.contains("12"), "the value is not echoed: {err}");
    assert_eq!(c.files(), before, "nothing imported");
    // The dry run lists each row's fate in JSON for scripts.
    let v: serde_json::Value = serde_json::from_str(&c.ok_or(
        &[
            "--format",
            "json",
            "survey",
            "import",
            &csv,
            "--map",
            &map,
            "--dry-run",
            "--skip-bad-rows",
        ],
        0,
    ))
    .unwrap();
    let actions = column(&v, "action");
    assert_eq!(actions.iter().filter(|a| **a == "add").count(), 7);
    assert_eq!(v[2]["column"], "Q10 Provider rating 0-10");
    assert_eq!(c.files(), before, "a dry run writes nothing");
    c.ok(&["survey", "import", &csv, "--map", &map, "--skip-bad-rows"]);
    let added: Vec<String> = c
        .files()
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    assert_eq!(added.len(), 7, "{added:?}");
    assert!(added.iter().all(|f| f.starts_with("surveys/2026/11/")));
    // Importing again files nothing; the fixed row then comes in alone.
    c.ok(&["survey", "import", &csv, "--map", &map, "--skip-bad-rows"]);
    assert_eq!(c.files().len(), before.len() + 7);
    std::fs::write(c.dir.path().join("export.csv"), &good).unwrap();
    c.ok(&["survey", "import", &csv, "--map", &map]);
    assert_eq!(c.files().len(), before.len() + 8);
    // A row about a visit that already has a response is bad, named by its column.
    let again = good.replace("VR-104481", "VR-999999");
    std::fs::write(c.dir.path().join("export.csv"), again).unwrap();
    let err = c.fails(&["survey", "import", &csv, "--map", &map], 2);
    assert!(
        err.contains("row 1: column Survey Reference: the visit already has a response"),
        "{err}"
    );
}

/// The satisfaction report's JSON on the sample clinic, from June (the sample's responses).
fn report_json(c: &Clinic, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "--format",
        "json",
        "report",
        "satisfaction",
        "--from",
        "2026-06-01",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&c.ok(&args)).unwrap()
}

/// One text column of a JSON section.
fn column<'a>(section: &'a serde_json::Value, key: &str) -> Vec<&'a str> {
    section
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_str().unwrap())
        .collect()
}

fn num(v: &serde_json::Value) -> f64 {
    v.as_str().unwrap().parse().unwrap()
}

#[test]
fn against_wait_shows_the_sample_clinics_relation_with_intervals() {
    let c = sample();
    let v = report_json(&c, &["--against", "wait"]);
    let rows = v["wait"].as_array().unwrap();
    assert_eq!(rows.len(), 4 * 3, "four bands by three composites");
    let share = |band: &str, composite: &str| -> (f64, f64, f64) {
        let r = rows
            .iter()
            .find(|r| r["group"] == band && r["measure"].as_str().unwrap().starts_with(composite))
            .unwrap();
        (num(&r["score"]), num(&r["ci95_low"]), num(&r["ci95_high"]))
    };
    for composite in ["Getting timely", "How well providers", "Helpful, courteous"] {
        let short = share("under 10 min", composite);
        let long = share("over 30 min", composite);
        // The generator's odds fall from about 0.8 to under 0.3: the intervals do not meet.
        assert!(
            short.0 - long.0 > 35.0,
            "{composite}: {short:?} vs {long:?}"
        );
        assert!(short.1 > long.2, "{composite}: {short:?} vs {long:?}");
        for x in [short, long] {
            assert!(x.1 <= x.0 && x.0 <= x.2, "{x:?}");
        }
    }
    // Small bands are flagged, not hidden.
    assert!(
        rows.iter()
            .all(|r| r["reliable"].as_str().unwrap().starts_with("unreliable"))
    );
    // The whole office: every response counted once, per provider adding up to the total.
    let all = v["overall"].as_array().unwrap();
    let total = all[0]["responses"].as_u64().unwrap();
    assert!(total >= 250, "{total}");
    let by_provider: u64 = v["providers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["measure"].as_str().unwrap().starts_with("Net Promoter"))
        .map(|r| r["responses"].as_u64().unwrap())
        .sum();
    assert_eq!(by_provider, total);
    let nps = all
        .iter()
        .find(|r| r["measure"].as_str().unwrap().starts_with("Net"))
        .unwrap();
    assert!(num(&nps["ci95_low"]) <= num(&nps["score"]));
}

#[test]
fn report_satisfaction_is_listed_and_groups_by_month_type_and_staff() {
    let c = sample();
    assert!(c.ok(&["report", "list"]).contains("satisfaction"));
    let v = report_json(&c, &["--by", "month", "--against", "late"]);
    let months = column(&v["months"], "group");
    assert!(
        months.contains(&"2026-06") && months.contains(&"2026-11"),
        "{months:?}"
    );
    assert_eq!(v["late"].as_array().unwrap().len(), 12);
    let v = report_json(&c, &["--by", "staff"]);
    let staff = column(&v["staff"], "group");
    assert!(
        staff.contains(&"sample") && staff.contains(&"(anonymous)"),
        "{staff:?}"
    );
    let v = report_json(&c, &["--by", "type"]);
    assert!(
        v["types"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["group"] == "follow-up")
    );
    // CSV blocks and an Excel workbook come from the same report.
    let csv = c.ok(&[
        "--format",
        "csv",
        "report",
        "satisfaction",
        "--from",
        "2026-06-01",
    ]);
    assert!(
        csv.contains("[overall]") && csv.contains("[trend-staff]"),
        "{csv}"
    );
    let xlsx = c.dir.path().join("s.xlsx");
    c.ok(&[
        "report",
        "satisfaction",
        "--from",
        "2026-06-01",
        "-o",
        &xlsx.display().to_string(),
    ]);
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));
}

#[test]
fn the_html_page_is_well_formed_with_a_trend_chart_per_composite() {
    let c = sample();
    let html = c.ok(&[
        "--format",
        "html",
        "report",
        "satisfaction",
        "--from",
        "2026-06-01",
        "--against",
        "wait",
    ]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("not well-formed: {e}"));
    let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
    assert!(title.text().unwrap().contains("Riverside Family Medicine"));
    assert!(title.text().unwrap().contains("2026-06-01 to 2026-12-04"));
    assert!(html.contains("<meta charset=\"utf-8\"/>") && html.contains("@media print"));
    let svgs: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "svg")
        .collect();
    // One per composite by month, one for the wait bands.
    assert_eq!(svgs.len(), 4);
    for svg in svgs {
        assert_eq!(
            svg.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert!(svg.descendants().any(|n| n.has_tag_name("rect")));
    }
    for month in ["2026-06", "2026-11"] {
        assert!(html.contains(&format!(">{month}</text>")), "{month}");
    }
    // The scraper reads it as a browser does: the same number of charts.
    let page = scraper::Html::parse_document(&html);
    let svg = scraper::Selector::parse("svg").unwrap();
    assert_eq!(page.select(&svg).count(), 4);
}

#[test]
fn comments_only_with_comments_and_then_without_names_or_numbers() {
    let c = sample();
    let plain = c.ok(&["report", "satisfaction", "--from", "2026-06-01"]);
    assert!(
        !plain.contains("Parking") && !plain.contains("Comments"),
        "{plain}"
    );
    let with = report_json(&c, &["--comments"]);
    let text = column(&with["comments"], "comment");
    assert!(!text.is_empty());
    assert!(text.iter().any(|t| t.contains("Parking")), "{text:?}");
    assert!(
        text.iter()
            .all(|t| !t.chars().any(|ch| ch.is_ascii_digit())),
        "{text:?}"
    );
    // Fictional names in the generated comments are gone.
    assert!(
        text.iter()
            .all(|t| !t.contains("Rivera") && !t.contains("Maria")),
        "{text:?}"
    );
    // De-identified: the month is cut to the year and no patient identifier appears.
    let v = report_json(&c, &["--comments", "--deidentify"]);
    let deid = v.to_string();
    assert_eq!(v["meta"]["deidentified"], true);
    assert!(
        v["comments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["month"] == "2026")
    );
    for name in patient_names(&c) {
        assert!(!deid.contains(&name), "{name} in the de-identified report");
    }
}

/// Every sample patient's given and family name.
fn patient_names(c: &Clinic) -> Vec<String> {
    let mut out = Vec::new();
    for f in c.files() {
        if !f.starts_with("patients/") {
            continue;
        }
        let v: toml::Table = toml::from_str(&std::fs::read_to_string(c.path(&f)).unwrap()).unwrap();
        for k in ["given", "family"] {
            if let Some(s) = v.get(k).and_then(|x| x.as_str()) {
                out.push(s.to_string());
            }
        }
    }
    assert!(out.len() > 10);
    out
}

#[test]
fn survey_send_asks_each_visit_once_through_the_letter_outbox() {
    let (c, p, a) = visited();
    let out = c.ok(&["survey", "send", "--visits", "today"]);
    assert!(out.contains(&a) && out.contains(&p), "{out}");
    let outbox = c.path("outbox/2027-01-04-survey.csv");
    let first = std::fs::read_to_string(&outbox).unwrap();
    assert!(first.contains(&a), "{first}");
    let log = git(&c.root, &["log", "-1", "--format=%B"]);
    assert!(log.starts_with("Write 1 letters in a batch."), "{log}");
    assert!(!log.contains("Jane") && !log.contains("Doe"), "{log}");
    // Asked once: a second run skips the visit and leaves the outbox as it was.
    let again = c.ok(&["survey", "send", "--visits", "today"]);
    assert!(again.contains("already sent"), "{again}");
    assert_eq!(std::fs::read_to_string(&outbox).unwrap(), first);
    // Visits in the future or long ago are not asked about.
    let err = c.fails(&["survey", "send", "--visits", "tomorrow"], 2);
    assert!(err.contains("future"), "{err}");
    let err = c.fails(&["survey", "send", "--visits", "2026-11-01"], 2);
    assert!(err.contains("30 days"), "{err}");
}

#[test]
fn survey_send_skips_a_visit_already_answered() {
    let (c, _p, a) = visited();
    c.ok(format!(
        "survey add --appointment {a} --channel paper --answers recommend=10"
    ));
    let out = c.ok(&["survey", "send", "--visits", "today", "--dry-run"]);
    assert!(out.contains("survey already answered"), "{out}");
}

#[test]
fn an_office_instrument_replaces_the_builtin_and_answers_keep_its_version() {
    let (c, _p, a) = visited();
    let builtin = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/domain/survey/default-instrument.toml"),
    )
    .unwrap();
    let office = builtin.replace("version = 1", "version = 2")
        + "\n[[questions]]\nkey = \"parking\"\ntext = \"How often was parking easy?\"\nscale = \"frequency\"\ncomposite = \"access\"\n";
    std::fs::write(c.path("survey-instrument.toml"), &office).unwrap();
    let id = c
        .ok(format!(
            "survey add --appointment {a} --channel paper --answers parking=never,recommend=9"
        ))
        .trim()
        .to_string();
    let text = std::fs::read_to_string(c.path(&format!("surveys/2027/01/{id}.toml"))).unwrap();
    assert!(
        text.contains("instrument = 2") && text.contains("parking = 1"),
        "{text}"
    );
    assert!(
        c.ok("survey show --questions")
            .contains("How often was parking easy?")
    );
    // A broken instrument is named with its problem, and nothing is filed.
    std::fs::write(
        c.path("survey-instrument.toml"),
        office.replace("nps = \"recommend\"", "nps = \"nothing\""),
    )
    .unwrap();
    let err = refused(
        &c,
        "survey add --provider okafor --month 2026-12 --channel paper --answers recommend=9",
        2,
    );
    assert!(
        err.contains("survey-instrument.toml: nps: no question nothing"),
        "{err}"
    );
}

#[test]
fn history_of_a_survey_is_its_commits() {
    let (c, _p, a) = visited();
    let id = c
        .ok(format!(
            "survey add --appointment {a} --channel email --answers recommend=10"
        ))
        .trim()
        .to_string();
    let out = c.ok(&["history", &id]);
    assert!(
        out.contains(&format!("Add survey {id} about appointment {a}.")),
        "{out}"
    );
    c.fails(&["history", "S00000000"], 1);
}

#[test]
fn check_reads_survey_responses_and_names_a_broken_one_with_file_and_line() {
    let (c, _p, a) = visited();
    let id = c
        .ok(format!(
            "survey add --appointment {a} --channel paper --answers recommend=9"
        ))
        .trim()
        .to_string();
    let out = c.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let file = c
        .files()
        .into_iter()
        .find(|f| f.starts_with("surveys/") && f.ends_with(&format!("{id}.toml")))
        .expect("the response's file");
    let path = c.path(&file);
    let good = fs::read_to_string(&path).unwrap();

    // A value that does not parse: the file and its line.
    let broken = format!("{good}received = soon\n");
    fs::write(&path, &broken).unwrap();
    let out = c.run(&["check"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_ne!(out.status.code(), Some(0), "{stdout}");
    let at = format!("{file}:{}", broken.lines().count());
    assert!(stdout.contains(&at), "{at} in {stdout}");
    assert!(
        !stdout.contains("soon"),
        "the value is not echoed: {stdout}"
    );

    // A response filed under another month's folder: where it belongs.
    fs::write(&path, &good).unwrap();
    let month = Path::new(&file).parent().unwrap();
    let elsewhere = format!("surveys/2020/01/{id}.toml");
    fs::create_dir_all(c.path("surveys/2020/01")).unwrap();
    fs::rename(&path, c.path(&elsewhere)).unwrap();
    let stdout = String::from_utf8(c.run(&["check"]).stdout).unwrap();
    assert!(
        stdout.contains(&elsewhere) && stdout.contains(&month.display().to_string()),
        "{stdout}"
    );
}
