//! `frontdesk report …` on the sample clinic (a copy, with the clock pinned): every report in
//! every format, well-formed HTML with valid SVG, typed Excel cells, de-identification, the
//! nightly run (concurrent runs, a broken record) and the errors.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::harness::{Clinic, git};

/// The night the sample reports are computed: Friday 2026-12-04, 18:00 in New York, so the
/// default periods (last 30 days, this week, the next 7 days) all hold sample visits.
const NOW: &str = "2026-12-04T18:00:00-05:00";

/// The sample clinic at the pinned clock.
fn sample() -> Clinic {
    Clinic::sample().at(NOW)
}

/// Where a test writes its output files: beside the records tree, in the test's own folder.
fn out(c: &Clinic, name: &str) -> PathBuf {
    c.dir.path().join(name)
}

trait Identifiers {
    fn identifiers(&self) -> Vec<String>;
}

impl Identifiers for Clinic {
    /// Every patient file's names, IDs, phones and ZIP codes, and every record's dates.
    fn identifiers(&self) -> Vec<String> {
        let mut out = Vec::new();
        for e in walkdir::WalkDir::new(&self.root) {
            let e = e.unwrap();
            if !e.file_type().is_file() || e.path().extension().is_none_or(|x| x != "toml") {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap();
            let v: toml::Table = toml::from_str(&text).unwrap();
            let stem = e.path().file_stem().unwrap().to_string_lossy().to_string();
            if e.path().starts_with(self.root.join("patients")) {
                out.push(stem);
                for k in ["given", "family", "middle"] {
                    if let Some(s) = v.get(k).and_then(|x| x.as_str()) {
                        out.push(s.to_string());
                    }
                }
                for p in v
                    .get("phones")
                    .and_then(|x| x.as_array())
                    .into_iter()
                    .flatten()
                {
                    let n = p["number"].as_str().unwrap();
                    out.push(n.trim_start_matches("+1").to_string());
                }
                if let Some(z) = v
                    .get("address")
                    .and_then(|a| a.get("postal_code"))
                    .and_then(|z| z.as_str())
                {
                    out.push(z.to_string());
                }
            } else if e.path().starts_with(self.root.join("appointments"))
                || e.path().starts_with(self.root.join("ledger"))
            {
                out.push(stem);
            }
        }
        // One-letter middle initials ("J") would match any text.
        out.retain(|s| s.chars().count() >= 3);
        out.sort();
        out.dedup();
        out
    }
}

/// The reports and the arguments that make them cover sample data.
const REPORTS: &[(&str, &[&str])] = &[
    ("daily", &["daily", "2026-12-01"]),
    ("aging", &["aging"]),
    ("noshows", &["noshows"]),
    ("utilization", &["utilization"]),
    ("missing-info", &["missing-info"]),
    ("wait-times", &["wait-times"]),
    ("productivity", &["productivity"]),
    ("closeout", &["closeout", "2026-11-26"]),
    // The sample's annual physicals come due a year on.
    ("recall", &["recall", "--as-of", "2027-12-04"]),
    ("satisfaction", &["satisfaction", "--against", "wait"]),
];

fn report_args<'a>(args: &[&'a str], format: &'a str) -> Vec<&'a str> {
    let mut v = vec!["--format", format, "report"];
    v.extend_from_slice(args);
    v
}

#[test]
fn report_list_names_every_report() {
    let s = sample();
    let out = s.ok(&["report", "list"]);
    for (name, _) in REPORTS {
        assert!(out.contains(name), "{name} missing from:\n{out}");
    }
    assert!(out.contains("nightly"));
}

#[test]
fn every_report_in_every_format_on_the_sample_clinic() {
    let s = sample();
    for (name, args) in REPORTS {
        for format in ["table", "csv", "json", "html"] {
            let out = s.ok(&report_args(args, format));
            insta::assert_snapshot!(format!("{name}_{format}"), out);
        }
    }
}

#[test]
fn json_is_one_object_with_meta_and_sections_as_arrays() {
    let s = sample();
    for (name, args) in REPORTS {
        let text = s.ok(&report_args(args, "json"));
        assert!(
            text.starts_with("{\n  \"meta\": {"),
            "{name}: meta is not first"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj["meta"]["report"], *name);
        assert_eq!(obj["meta"]["ran_at"], NOW);
        assert_eq!(obj["meta"]["records_commit"], "none (not a git repository)");
        assert!(
            obj["meta"]["tool"]
                .as_str()
                .unwrap()
                .starts_with("frontdesk ")
        );
        assert!(obj.len() > 1);
        for (k, rows) in obj.iter().filter(|(k, _)| *k != "meta") {
            assert!(rows.is_array(), "{name}.{k} is not an array");
        }
    }
    // Amounts are decimal strings, counts numbers.
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["--format", "json", "report", "aging"])).unwrap();
    let total = &v["buckets"][4];
    assert_eq!(total["bucket"], "total");
    assert_eq!(total["total"], "3130.00");
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["--format", "json", "report", "noshows"])).unwrap();
    assert!(v["providers"][0]["due"].is_u64());
}

/// Every HTML report parses as XML (so it is well-formed), is a complete page (doctype,
/// charset, title, the office and period), and its SVG charts are in the SVG namespace with a
/// viewBox and bars inside it.
#[test]
fn html_reports_are_complete_pages_with_valid_svg() {
    let s = sample();
    let mut charts = 0;
    for (name, args) in REPORTS {
        let html = s.ok(&report_args(args, "html"));
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
        assert!(!html.contains("<script"), "{name}: no JavaScript");
        let doc = roxmltree::Document::parse_with_options(
            &html,
            roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name}: not well-formed: {e}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "html");
        let meta = doc
            .descendants()
            .find(|n| n.has_tag_name("meta") && n.attribute("charset").is_some())
            .unwrap();
        assert_eq!(meta.attribute("charset"), Some("utf-8"));
        let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
        assert!(title.text().unwrap().contains("Riverside Family Medicine"));
        assert!(html.contains("@media print"));
        assert!(html.contains("Computed from records commit"));
        for svg in doc.descendants().filter(|n| n.tag_name().name() == "svg") {
            charts += 1;
            assert_eq!(
                svg.tag_name().namespace(),
                Some("http://www.w3.org/2000/svg")
            );
            let vb: Vec<u32> = svg
                .attribute("viewBox")
                .unwrap()
                .split(' ')
                .map(|x| x.parse().unwrap())
                .collect();
            for rect in svg.descendants().filter(|n| n.has_tag_name("rect")) {
                let num = |a| rect.attribute(a).unwrap().parse::<u32>().unwrap();
                assert!(
                    num("x") + num("width") <= vb[2],
                    "{name}: bar outside the chart"
                );
                assert!(
                    num("y") + num("height") <= vb[3],
                    "{name}: bar outside the chart"
                );
            }
        }
    }
    assert!(charts >= 5, "{charts} charts");
}

/// `-o FILE.xlsx` writes a real workbook: IDs as text, money as numbers in a currency format,
/// dates as dates, a frozen header.
#[test]
fn excel_workbooks_have_typed_cells_and_a_frozen_header() {
    let s = sample();
    let file = out(&s, "aging.xlsx");
    s.ok(&["report", "aging", "-o", file.to_str().unwrap()]);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&file).unwrap()).unwrap();
    let mut read = |name: &str| {
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    };
    let workbook = read("xl/workbook.xml");
    for sheet in ["buckets", "payers", "largest", "about"] {
        assert!(
            workbook.contains(&format!("name=\"{sheet}\"")),
            "{workbook}"
        );
    }
    let styles = read("xl/styles.xml");
    assert!(styles.contains("#,##0.00"), "no currency format: {styles}");
    let largest = read("xl/worksheets/sheet3.xml");
    assert!(largest.contains("<pane ySplit=\"1\""), "header not frozen");
    // The first patient ID is a shared string (text); the balance a number.
    assert!(largest.contains("t=\"s\""));
    assert!(largest.contains("<v>340</v>"), "{largest}");
    let shared = read("xl/sharedStrings.xml");
    assert!(shared.contains("PD8EHKB22"));
    // Dates are numbers with a date format.
    let util = out(&s, "u.xlsx");
    s.ok(&["report", "utilization", "-o", util.to_str().unwrap()]);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&util).unwrap()).unwrap();
    let mut days = String::new();
    zip.by_name("xl/worksheets/sheet3.xml")
        .unwrap()
        .read_to_string(&mut days)
        .unwrap();
    // 2026-11-30 is Excel serial day 46356.
    assert!(days.contains("<v>46356</v>"), "{days}");
    let mut styles = String::new();
    zip.by_name("xl/styles.xml")
        .unwrap()
        .read_to_string(&mut styles)
        .unwrap();
    assert!(styles.contains("yyyy-mm-dd"));
}

#[test]
fn the_output_file_extension_picks_the_format_and_the_file_is_private() {
    let s = sample();
    for (ext, check) in [
        ("json", "\"meta\""),
        ("csv", "\u{feff}[buckets]\nbucket,insurance,patient,total\n"),
        ("html", "<!DOCTYPE html>"),
        ("txt", "Balances by age"),
    ] {
        let file = out(&s, &format!("aging.{ext}"));
        let stdout = s.ok(&["report", "aging", "-o", file.to_str().unwrap()]);
        assert!(stdout.is_empty());
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(check), "{ext}: {text}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{ext}");
    }
    let err = s.fails(&["report", "aging", "-o", "x.pdf"], 2);
    assert!(err.contains(".pdf") && err.contains(".xlsx"), "{err}");
}

/// Same records commit, same clock: the same bytes. The footer names the commit.
#[test]
fn a_report_is_reproducible_at_a_commit() {
    let s = sample();
    git(&s.root, &["init", "-q"]);
    git(&s.root, &["add", "-A"]);
    git(&s.root, &["commit", "-qm", "sample"]);
    let head = git(&s.root, &["rev-parse", "HEAD"]).trim().to_string();
    for (name, args) in REPORTS {
        for format in ["table", "json", "html", "csv"] {
            let a = s.ok(&report_args(args, format));
            let b = s.ok(&report_args(args, format));
            assert_eq!(a, b, "{name} {format}");
            if format != "csv" {
                assert!(a.contains(&head), "{name} {format} does not name {head}");
            }
        }
    }
}

#[test]
fn a_deidentified_report_holds_no_names_ids_phones_zips_or_full_dates() {
    let s = sample();
    let ids = s.identifiers();
    assert!(ids.len() > 100, "{}", ids.len());
    let full_date = |t: &str| {
        t.as_bytes().windows(10).any(|w| {
            w.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                _ => c.is_ascii_digit(),
            })
        })
    };
    for (name, args) in REPORTS {
        for format in ["table", "json", "html", "csv"] {
            let mut a = report_args(args, format);
            a.push("--deidentify");
            let out = s.ok(&a);
            for id in &ids {
                assert!(
                    !out.contains(id.as_str()),
                    "{name} {format} --deidentify shows a sample identifier"
                );
            }
            assert!(
                !full_date(&out),
                "{name} {format} shows a full date:\n{out}"
            );
        }
    }
    // What is left still says something: pseudonyms in place of IDs.
    let out = s.ok(&["--format", "json", "report", "aging", "--deidentify"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let first = v["largest"][0].as_object().unwrap();
    assert!(!first.contains_key("name"));
    assert!(first["patient"].as_str().unwrap().starts_with('R'));
    assert_eq!(v["meta"]["deidentified"], true);
}

#[test]
fn bad_periods_and_unknown_providers_are_refused() {
    let s = sample();
    let err = s.fails(
        &[
            "report",
            "noshows",
            "--from",
            "2026-12-01",
            "--to",
            "2026-11-01",
        ],
        2,
    );
    assert!(err.contains("--to is before --from"), "{err}");
    let err = s.fails(&["report", "noshows", "--from", "2026-02-30"], 2);
    assert!(err.contains("--from"), "{err}");
    s.fails(&["report", "utilization", "--provider", "nobody"], 2);
}

// ---- nightly ----

fn nightly(s: &Clinic, out: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("frontdesk"));
    cmd.env_remove("FRONTDESK_RECORDS")
        .env("FRONTDESK_USER", "cron")
        .env("FRONTDESK_NOW", "2026-12-04T02:00:00-05:00")
        .arg("--records")
        .arg(&s.root)
        .args(["report", "nightly", "--out"])
        .arg(out)
        .stdin(std::process::Stdio::null());
    cmd
}

const NIGHTLY_FILES: &[&str] = &[
    "aging-2026-12-04",
    "closeout-2026-12-03",
    "daily-2026-12-05",
    "missing-info-2026-12-04-to-2026-12-11",
    "noshows-2026-11-04-to-2026-12-03",
    "recall-2026-12-04",
];

/// Each file is complete: JSON parses, HTML ends its page.
fn assert_complete(dir: &Path, stems: &[&str]) {
    for stem in stems {
        let json = std::fs::read_to_string(dir.join(format!("{stem}.json"))).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(v["meta"].is_object(), "{stem}");
        let html = std::fs::read_to_string(dir.join(format!("{stem}.html"))).unwrap();
        assert!(html.trim_end().ends_with("</html>"), "{stem}");
    }
}

#[test]
fn nightly_writes_the_standard_set_with_a_log_line_each_and_a_rerun_replaces_it() {
    let s = sample();
    let out = out(&s, "nightly");
    let run = nightly(&s, &out).output().unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let log = String::from_utf8(run.stdout).unwrap();
    assert_eq!(log.lines().count(), NIGHTLY_FILES.len(), "{log}");
    assert!(
        log.lines()
            .all(|l| l.starts_with("2026-12-04 report ") && l.contains(": ok: "))
    );
    let dir = out.join("2026-12-04");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = NIGHTLY_FILES
        .iter()
        .flat_map(|s| [format!("{s}.html"), format!("{s}.json")])
        .collect();
    expected.sort();
    assert_eq!(files, expected);
    assert_complete(&dir, NIGHTLY_FILES);
    // A re-run for the same date replaces the files (nothing else appears).
    let before = std::fs::read(dir.join("aging-2026-12-04.json")).unwrap();
    let again = nightly(&s, &out).output().unwrap();
    assert!(again.status.success());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), expected.len());
    assert_eq!(
        std::fs::read(dir.join("aging-2026-12-04.json")).unwrap(),
        before
    );
}

#[test]
fn two_concurrent_nightly_runs_leave_complete_files() {
    let s = sample();
    let out = out(&s, "nightly");
    let children: Vec<_> = (0..2)
        .map(|_| {
            nightly(&s, &out)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let dir = out.join("2026-12-04");
    assert_complete(&dir, NIGHTLY_FILES);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".fdtmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_nightly_run_finding_another_one_working_waits_then_exits_3() {
    let s = sample();
    let out = out(&s, "nightly");
    std::fs::create_dir_all(&out).unwrap();
    let held = std::fs::File::create(out.join(".nightly.lock")).unwrap();
    held.lock().unwrap();
    let run = nightly(&s, &out)
        .env("FRONTDESK_LOCK_TIMEOUT", "0.3")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&run.stderr).contains("another `report nightly`"));
    assert!(!out.join("2026-12-04").exists());
}

#[test]
fn a_broken_record_is_named_and_the_other_reports_are_still_written() {
    let s = sample();
    let day = s.root.join("appointments/2026/11/30");
    let victim = std::fs::read_dir(&day)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&victim, "schema = 1\nid = \"unterminated\n").unwrap();
    let out = out(&s, "nightly");
    let run = nightly(&s, &out).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    let log = String::from_utf8(run.stdout).unwrap();
    // The two reports that read that day (the last 30 days' no-shows, and recall, which reads
    // every day) fail and name the file; the others are written.
    let failed: Vec<&str> = log.lines().filter(|l| l.contains("FAILED")).collect();
    assert_eq!(failed.len(), 2, "{log}");
    assert!(failed[0].contains("report noshows"), "{log}");
    assert!(failed[1].contains("report recall"), "{log}");
    let name = victim.file_name().unwrap().to_string_lossy();
    for f in &failed {
        assert!(f.contains(name.as_ref()), "the file is not named: {log}");
    }
    let written: Vec<&str> = NIGHTLY_FILES
        .iter()
        .copied()
        .filter(|f| !f.starts_with("noshows") && !f.starts_with("recall"))
        .collect();
    assert_complete(&out.join("2026-12-04"), &written);
    // The same report run on its own names the file too.
    let err = s.fails(&["report", "noshows"], 2);
    assert!(err.contains(name.as_ref()), "{err}");
}
