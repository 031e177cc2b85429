//! `letter`: templates (built-in, office overrides, language variants), rendering and the
//! correspondence file, refusals that write nothing, the batch and its outbox, and printing.

use std::path::{Path, PathBuf};

use crate::harness::*;

/// The office clock for every test here: a Thursday afternoon, so "tomorrow" is Friday
/// 2026-12-04, a day the sample clinic has appointments.
pub(super) const NOW: &str = "2026-12-03 16:00";

/// A copy of the repository's sample clinic with its own git repository.
pub(super) fn sample() -> Clinic {
    let c = Clinic::made_by("copy of the sample clinic", |root| {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("records");
        std::process::Command::new("cp")
            .arg("-r")
            .arg(&sample)
            .arg(root)
            .output()
            .unwrap()
    });
    // Keep the repository's own sample letters and templates out: each test starts with
    // none, and the built-ins (see `the_sample_clinics_own_letters_work` for the sample's).
    let _ = std::fs::remove_dir_all(c.path("correspondence"));
    let _ = std::fs::remove_dir_all(c.path("outbox"));
    let _ = std::fs::remove_dir_all(c.path("templates/letters"));
    git(&c.root, &["init", "-q"]);
    git(&c.root, &["add", "-A"]);
    git(&c.root, &["commit", "-qm", "sample"]);
    c
}

/// The sample clinic as the repository ships it: its letter templates and letters sent.
fn sample_as_is() -> Clinic {
    Clinic::made_by("copy of the sample clinic", |root| {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("records");
        std::process::Command::new("cp")
            .arg("-r")
            .arg(&sample)
            .arg(root)
            .output()
            .unwrap()
    })
}

/// The monthly statement run into `mail`; its listing (one statement's path a line).
fn run_statements(c: &Clinic, mail: &Path) -> String {
    ok(
        c,
        &[
            "pay",
            "statement",
            "--all-due",
            "-o",
            mail.to_str().unwrap(),
        ],
    )
}

/// Runs with the clock pinned.
pub(super) fn at(c: &Clinic, args: &[&str]) -> std::process::Output {
    c.cmd()
        .env("FRONTDESK_NOW", NOW)
        .args(args)
        .output()
        .unwrap()
}

pub(super) fn ok(c: &Clinic, args: &[&str]) -> String {
    let out = at(c, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(super) fn fails(c: &Clinic, args: &[&str], code: i32) -> String {
    let out = at(c, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// `letter render reminder` for Grace Kim's visit tomorrow, with `extra` flags.
pub(super) fn grace_reminder<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "letter",
        "render",
        "reminder",
        "--patient",
        "PYN05M78T",
        "--appointment",
        "A8CTRDRJ2",
    ];
    args.extend_from_slice(extra);
    args
}

/// Replaces `from` with `to` in a record file (a hand edit).
fn edit(c: &Clinic, rel: &str, from: &str, to: &str) {
    let path = c.path(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} has no {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn patient_rel(id: &str) -> String {
    format!("patients/{}/{id}.toml", &id[1..3])
}

/// Checks that HTML is well-formed: a doctype, and every tag closed in order (void elements
/// excepted). Comments and the CSS are skipped.
fn assert_well_formed(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "no doctype");
    assert!(html.contains("<meta charset=\"utf-8\">"));
    const VOID: &[&str] = &["meta", "br", "hr", "img", "link", "input"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if rest.starts_with("!--") {
            rest = &rest[rest.find("-->").expect("closed comment") + 3..];
            continue;
        }
        let end = rest.find('>').expect("tag closed with >");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        if let Some(closing) = tag.strip_prefix('/') {
            let _ = closing;
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.as_str()),
                "stray </{name}>"
            );
        } else if !VOID.contains(&name.as_str()) && !tag.ends_with('/') {
            if name == "style" {
                rest = &rest[rest.find("</style>").expect("closed style") + 8..];
                continue;
            }
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

const BUILTINS: &[&str] = &[
    "reminder",
    "confirmation",
    "no-show",
    "cancellation",
    "welcome",
    "recall",
    "release-cover",
    "summary",
    "survey",
];

#[test]
fn every_builtin_previews_in_html_and_text() {
    let c = sample();
    let list = ok(&c, &["--format", "csv", "letter", "list"]);
    for name in BUILTINS {
        assert!(
            list.contains(&format!("{name},\"html, txt\",,built-in")),
            "{list}"
        );
    }
    for name in BUILTINS {
        let html = ok(&c, &["letter", "preview", name]);
        assert_well_formed(&html);
        assert!(html.contains("<title>") && html.contains("Riverside Family Medicine"));
        insta::assert_snapshot!(format!("letter_{name}_html"), html);
        let txt = ok(&c, &["letter", "preview", name, "--as", "txt"]);
        assert!(!txt.contains('<'), "{name}.txt has markup: {txt}");
        insta::assert_snapshot!(format!("letter_{name}_txt"), txt);
    }
    // A preview keeps nothing.
    assert!(!c.path("correspondence").exists());
}

#[test]
fn render_keeps_the_letter_and_show_reprints_it_byte_for_byte() {
    let c = sample();
    let before = c.commits();
    let out = c.dir.path().join("print.html");
    let id = ok(&c, &grace_reminder(&["-o", out.to_str().unwrap()]));
    let id = id.trim();
    assert!(id.starts_with('L') && id.len() == 9, "{id}");
    assert_eq!(c.commits(), before + 1);
    assert_eq!(
        c.commit_messages()[0],
        format!("testclerk|Write letter {id} for patient PYN05M78T.")
    );
    let printed = std::fs::read(&out).unwrap();
    let kept = c.path(&format!("correspondence/2026/12/03/{id}.html"));
    assert_eq!(std::fs::read(&kept).unwrap(), printed);
    let record =
        std::fs::read_to_string(c.path(&format!("correspondence/2026/12/03/{id}.toml"))).unwrap();
    for line in [
        "patient = \"PYN05M78T\"",
        "template = \"reminder\"",
        "channel = \"mail\"",
        "to = \"patient\"",
        "appointment = \"A8CTRDRJ2\"",
        "by = \"testclerk\"",
    ] {
        assert!(record.contains(line), "{line} not in {record}");
    }
    // Its history is the commit that wrote it.
    let history = ok(&c, &["history", id]);
    assert!(
        history.contains(&format!("Write letter {id} for patient PYN05M78T.")),
        "{history}"
    );
    // Reprinted exactly.
    let shown = at(&c, &["letter", "show", id]);
    assert!(shown.status.success());
    assert_eq!(shown.stdout, printed);
    // It is listed.
    let sent = ok(
        &c,
        &[
            "--format",
            "csv",
            "letter",
            "sent",
            "--patient",
            "PYN05M78T",
        ],
    );
    assert!(
        sent.contains(&format!(
            "{id},2026-12-03,PYN05M78T,reminder,mail,patient,A8CTRDRJ2,testclerk"
        )),
        "{sent}"
    );
    // A kept copy changed by hand is not passed off as what was sent.
    let mut changed = printed.clone();
    changed.extend_from_slice(b"<!-- edited -->");
    std::fs::write(&kept, changed).unwrap();
    let err = fails(&c, &["letter", "show", id], 2);
    assert!(err.contains("changed after it was sent"), "{err}");
    // Files are private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(c.path(&format!("correspondence/2026/12/03/{id}.toml")))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn record_values_are_escaped_in_html() {
    let c = sample();
    edit(
        &c,
        &patient_rel("PYN05M78T"),
        "given = \"Grace\"",
        "given = \"<script>alert(1)</script>\"",
    );
    let html = ok(&c, &grace_reminder(&[]));
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert_well_formed(&html);
}

#[test]
fn a_missing_value_names_the_variable_and_line_and_writes_nothing() {
    let c = sample();
    let before = snapshot(&c);
    // A reminder needs an appointment.
    let err = fails(
        &c,
        &["letter", "render", "reminder", "--patient", "PYN05M78T"],
        2,
    );
    assert!(err.contains("letters/reminder.html:8:"), "{err}");
    assert!(err.contains("`appointment`"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!err.contains("Grace") && !err.contains("Kim"), "{err}");
    assert_eq!(snapshot(&c), before, "a refused letter changed the records");
    // An office template using a field this patient lacks.
    std::fs::create_dir_all(c.path("templates/letters")).unwrap();
    std::fs::write(
        c.path("templates/letters/flu-shot.txt"),
        "Hello {{ patient.name }},\nFlu shots are in. Reply to {{ patient.email }}.\n",
    )
    .unwrap();
    // (PYN05M78T has no email on file.)
    let before = snapshot(&c);
    let err = fails(
        &c,
        &[
            "letter",
            "render",
            "flu-shot",
            "--as",
            "txt",
            "--patient",
            "PYN05M78T",
        ],
        2,
    );
    assert!(err.contains("templates/letters/flu-shot.txt:2:"), "{err}");
    assert!(err.contains("email"), "{err}");
    assert_eq!(snapshot(&c), before, "a refused letter changed the records");
    assert!(!c.path("correspondence").exists());
}

#[test]
fn office_templates_override_builtins_and_spanish_speakers_get_spanish() {
    let c = sample();
    std::fs::create_dir_all(c.path("templates/letters")).unwrap();
    std::fs::write(
        c.path("templates/letters/reminder.txt"),
        "{{ office.name }} (office version): {{ appointment.start | date(style=\"short\") }} {{ appointment.start | time }}.\n",
    )
    .unwrap();
    std::fs::write(
        c.path("templates/letters/reminder.es.txt"),
        "{{ office.name }}: su cita es el {{ appointment.start | date(lang=\"es\") }} a las {{ appointment.start | time(lang=\"es\") }}.\n",
    )
    .unwrap();
    let list = ok(&c, &["--format", "csv", "letter", "list"]);
    assert!(
        list.contains("reminder,\"html, txt\",es,office (overrides built-in)"),
        "{list}"
    );
    let txt = ok(&c, &grace_reminder(&["--as", "txt"]));
    assert_eq!(
        txt,
        "Riverside Family Medicine (office version): Dec 4, 2026 8:15 AM.\n"
    );
    // A Spanish speaker gets the Spanish variant, and the record says so.
    edit(
        &c,
        &patient_rel("PYN05M78T"),
        "language = \"English\"",
        "language = \"Spanish\"",
    );
    let txt = ok(&c, &grace_reminder(&["--as", "txt"]));
    assert_eq!(
        txt,
        "Riverside Family Medicine: su cita es el viernes, 4 de diciembre de 2026 a las 08:15.\n"
    );
    let sent = ok(&c, &["--format", "json", "letter", "sent"]);
    let rows: serde_json::Value = serde_json::from_str(&sent).unwrap();
    let languages: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            ok(
                &c,
                &[
                    "--format",
                    "json",
                    "letter",
                    "show",
                    r["letter"].as_str().unwrap(),
                ],
            )
        })
        .map(|record| {
            serde_json::from_str::<serde_json::Value>(&record).unwrap()["language"].to_string()
        })
        .collect();
    assert_eq!(languages.len(), 2);
    assert!(
        languages.contains(&"\"es\"".to_string()) && languages.contains(&"null".to_string()),
        "{languages:?}"
    );
    // letter check and frontdesk check are happy with both.
    ok(&c, &["letter", "check"]);
}

#[test]
fn a_bad_office_template_is_caught_by_letter_check_and_frontdesk_check() {
    let c = sample();
    std::fs::create_dir_all(c.path("templates/letters")).unwrap();
    std::fs::write(
        c.path("templates/letters/recall.txt"),
        "Due: {{ recal.type_name }}\n",
    )
    .unwrap();
    let err = fails(&c, &["letter", "check"], 2);
    assert!(
        err.contains("templates/letters/recall.txt: unknown variable recal"),
        "{err}"
    );
    let out = at(&c, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("templates/letters/recall.txt: letter template: unknown variable recal"),
        "{text}"
    );
    // A field that is not there renders nowhere: named with its line.
    std::fs::write(
        c.path("templates/letters/recall.txt"),
        "Due:\n{{ recall.kind_name }}\n",
    )
    .unwrap();
    let err = fails(&c, &["letter", "check"], 2);
    assert!(err.contains("templates/letters/recall.txt:2:"), "{err}");
    // A template that does not parse stops every letter, naming the file and line.
    std::fs::write(c.path("templates/letters/recall.txt"), "Due:\n{% if %}\n").unwrap();
    let err = fails(&c, &grace_reminder(&[]), 2);
    assert!(err.contains("templates/letters/recall.txt:2"), "{err}");
}

/// A records release for James Okafor, addressed to his daughter (his representative).
const RELEASE_TO_REPRESENTATIVE: &[&str] = &[
    "letter",
    "render",
    "release-cover",
    "--patient",
    "PB415PQ5P",
    "--to",
    "representative",
];

#[test]
fn representatives_need_a_release_and_deceased_patients_need_force() {
    let c = sample();
    // PB415PQ5P's representative has a release on file: allowed.
    let html = ok(&c, RELEASE_TO_REPRESENTATIVE);
    assert!(
        html.contains("Ngozi Okafor") && html.contains("daughter"),
        "{html}"
    );
    // Without the release: refused, naming no one.
    edit(
        &c,
        &patient_rel("PB415PQ5P"),
        "release_on_file = \"2025-06-01\"\n",
        "",
    );
    let snap = snapshot(&c);
    let err = fails(&c, RELEASE_TO_REPRESENTATIVE, 2);
    assert!(
        err.contains("representative 1 of patient PB415PQ5P has no release on file"),
        "{err}"
    );
    assert!(!err.contains("Ngozi"), "{err}");
    assert_eq!(snapshot(&c), snap);
    // A deceased patient: refused unless --force.
    edit(
        &c,
        &patient_rel("PYN05M78T"),
        "status = \"active\"",
        "status = \"deceased\"",
    );
    let snap = snapshot(&c);
    let err = fails(
        &c,
        &["letter", "render", "summary", "--patient", "PYN05M78T"],
        2,
    );
    assert!(
        err.contains("patient PYN05M78T is deceased; nothing was written"),
        "{err}"
    );
    assert_eq!(snapshot(&c), snap);
    ok(
        &c,
        &[
            "letter",
            "render",
            "summary",
            "--patient",
            "PYN05M78T",
            "--force",
        ],
    );
    // An unknown patient: not found.
    let err = fails(
        &c,
        &["letter", "render", "summary", "--patient", "P00000001"],
        1,
    );
    assert!(err.contains("no patient P00000001"), "{err}");
}

/// The outbox rows, as maps from column to value.
fn outbox(c: &Clinic, name: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(c.path(name)).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|row| {
            headers
                .iter()
                .zip(row.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn tomorrows_reminder_batch_respects_consent_and_a_second_run_adds_nothing() {
    let c = sample();
    // Vary the consents of three of tomorrow's patients: one allows nothing (a call by hand),
    // one prefers letters, one is deceased (skipped).
    let none = patient_rel("PHGZYMA96");
    let text = std::fs::read_to_string(c.path(&none)).unwrap();
    std::fs::write(
        c.path(&none),
        text.replace("voicemail_ok = true", "voicemail_ok = false")
            .replace("sms_ok = true", "sms_ok = false")
            .replace("email_ok = true", "email_ok = false")
            .replace("[address]", "[old_address]"),
    )
    .unwrap();
    edit(
        &c,
        &patient_rel("PR3T7EMN2"),
        "contact_preference = \"sms\"",
        "contact_preference = \"mail\"",
    );
    edit(
        &c,
        &patient_rel("PM6AF970Z"),
        "status = \"active\"",
        "status = \"deceased\"",
    );
    git(&c.root, &["commit", "-qam", "consents"]);

    let dry = ok(
        &c,
        &[
            "--format",
            "csv",
            "letter",
            "batch",
            "reminder",
            "--appointments",
            "tomorrow",
            "--dry-run",
        ],
    );
    assert!(
        dry.contains("PM6AF970Z,A3CB34228,,,,skipped: patient is deceased"),
        "{dry}"
    );
    assert!(!c.path("outbox").exists() && !c.path("correspondence").exists());

    let before = c.commits();
    let first = ok(
        &c,
        &[
            "--format",
            "csv",
            "letter",
            "batch",
            "reminder",
            "--appointments",
            "tomorrow",
        ],
    );
    assert_eq!(c.commits(), before + 1);
    let rows = outbox(&c, "outbox/2026-12-03-reminder.csv");
    assert_eq!(rows.len(), 8, "{first}");
    for row in &rows {
        let patient = std::fs::read_to_string(c.path(&patient_rel(&row["patient"]))).unwrap();
        let p: toml::Table = toml::from_str(&patient).unwrap();
        let phones = p
            .get("phones")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
        let phone_with = |flag: &str, mobile_only: bool| {
            phones.iter().any(|ph| {
                ph["number"].as_str() == Some(row["phone"].as_str())
                    && ph.get(flag).and_then(|f| f.as_bool()) == Some(true)
                    && (!mobile_only || ph["kind"].as_str() == Some("mobile"))
            })
        };
        match row["channel"].as_str() {
            "sms" => assert!(phone_with("sms_ok", true), "{row:?}"),
            "voicemail" => assert!(phone_with("voicemail_ok", false), "{row:?}"),
            "email" => {
                assert_eq!(
                    p.get("email_ok").and_then(|v| v.as_bool()),
                    Some(true),
                    "{row:?}"
                );
                assert_eq!(p["email"].as_str(), Some(row["email"].as_str()));
            }
            "mail" => assert!(
                p.contains_key("address") && !row["address"].is_empty(),
                "{row:?}"
            ),
            "call" => assert_eq!(row["patient"], "PHGZYMA96"),
            other => panic!("channel {other}"),
        }
        // The letter is there, in the format its channel needs.
        let file = c.path(&row["file"]);
        let ext = if row["channel"] == "mail" {
            "html"
        } else {
            "txt"
        };
        assert!(file.is_file() && row["file"].ends_with(ext), "{row:?}");
    }
    let channel = |p: &str| rows.iter().find(|r| r["patient"] == p).unwrap()["channel"].clone();
    assert_eq!(channel("PHGZYMA96"), "call");
    assert_eq!(channel("PR3T7EMN2"), "mail");
    assert!(first.contains("call by hand"), "{first}");
    // Phone numbers reach the gateway as E.164.
    assert!(rows.iter().any(|r| r["phone"].starts_with("+1")));

    // Again: nothing is sent twice, no commit, the outbox is byte for byte the same.
    let outbox_bytes = std::fs::read(c.path("outbox/2026-12-03-reminder.csv")).unwrap();
    let files = snapshot(&c);
    let second = ok(
        &c,
        &[
            "--format",
            "csv",
            "letter",
            "batch",
            "reminder",
            "--appointments",
            "tomorrow",
        ],
    );
    assert_eq!(
        second.matches("skipped: already sent").count(),
        8,
        "{second}"
    );
    assert_eq!(c.commits(), before + 1);
    assert_eq!(
        std::fs::read(c.path("outbox/2026-12-03-reminder.csv")).unwrap(),
        outbox_bytes
    );
    assert_eq!(snapshot(&c), files);
    // The commit names letters and patients, never a name or a number.
    assert_eq!(
        c.commit_messages()[0],
        "testclerk|Write 8 letters in a batch."
    );
    let body = git(&c.root, &["log", "-1", "--format=%b"]);
    assert_eq!(
        body.lines().filter(|l| l.starts_with("Letter L")).count(),
        8,
        "{body}"
    );
    assert!(!body.contains("+1617") && !body.contains('@'), "{body}");
}

#[test]
fn a_batch_killed_half_way_loses_nothing_and_sends_nothing_twice() {
    let c = sample();
    // The process ends on the spot (abort, as kill -9) before the fourth letter: three are
    // filed, nothing is committed and there is no outbox yet.
    let out = c
        .cmd()
        .env("FRONTDESK_NOW", NOW)
        .env("FRONTDESK_FAULT", "crash:letter#4")
        .args(["letter", "batch", "reminder", "--appointments", "tomorrow"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the batch was not killed");
    let records = |c: &Clinic| {
        c.files()
            .into_iter()
            .filter(|f| f.starts_with("correspondence/") && f.ends_with(".toml"))
            .count()
    };
    let filed = records(&c);
    assert!(
        (1..9).contains(&filed),
        "{filed} letters filed before the kill"
    );
    // Every record filed has its letter beside it.
    for f in c
        .files()
        .iter()
        .filter(|f| f.starts_with("correspondence/") && f.ends_with(".toml"))
    {
        assert!(
            c.path(&f.replace(".toml", ".txt")).is_file(),
            "{f} without its letter"
        );
    }
    // Run again: the filed ones are skipped, the rest sent, the outbox lists all nine once.
    let again = ok(
        &c,
        &[
            "--format",
            "csv",
            "letter",
            "batch",
            "reminder",
            "--appointments",
            "tomorrow",
        ],
    );
    assert_eq!(
        again.matches("skipped: already sent").count(),
        filed,
        "{again}"
    );
    assert_eq!(records(&c), 9);
    // Cron's --quiet prints only the IDs of letters written: none now.
    let quiet = ok(
        &c,
        &[
            "--quiet",
            "letter",
            "batch",
            "reminder",
            "--appointments",
            "tomorrow",
        ],
    );
    assert_eq!(quiet, "");
    let rows = outbox(&c, "outbox/2026-12-03-reminder.csv");
    let mut patients: Vec<&String> = rows.iter().map(|r| &r["patient"]).collect();
    patients.sort();
    patients.dedup();
    assert_eq!((rows.len(), patients.len()), (9, 9));
    // What the killed run filed was committed by the next command, as recovered: nothing is
    // left for `check --fix`.
    let authors = git_lines(&c.root, &["log", "--format=%an"]);
    assert!(authors.iter().any(|a| a == "recovery"), "{authors:?}");
    let status = git_lines(&c.root, &["status", "--porcelain", "--", "correspondence"]);
    assert!(status.is_empty(), "{status:?}");
    // (The sample's copy has loose permissions; --fix tightens them.)
    ok(&c, &["check", "--fix"]);
    ok(&c, &["check"]);
}

#[test]
fn recall_noshow_and_welcome_batches_select_their_patients() {
    let c = sample();
    // Recall: nobody in the sample is due on the sample's dates; a year on, those who had an
    // annual physical and have none booked are.
    let out = at(
        &c,
        &[
            "--format",
            "csv",
            "letter",
            "batch",
            "recall",
            "--recall-due",
            "--as-of",
            "2027-12-20",
            "--dry-run",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().skip(1).count() >= 1, "{text}");
    assert!(
        text.lines().skip(1).all(|l| l.ends_with("would send")),
        "{text}"
    );
    // On the sample's own day nobody is due yet.
    let out = at(
        &c,
        &[
            "--format",
            "csv",
            "letter",
            "batch",
            "recall",
            "--recall-due",
            "--dry-run",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    // No-shows of a day and welcome letters for new patients run the same way.
    let out = at(
        &c,
        &[
            "letter",
            "batch",
            "no-show",
            "--noshows",
            "2026-11-30",
            "--dry-run",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = at(
        &c,
        &[
            "letter",
            "batch",
            "welcome",
            "--new-patients",
            "2026-12-01..2026-12-18",
            "--dry-run",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Exactly one selection is required.
    let err = fails(&c, &["letter", "batch", "reminder"], 2);
    assert!(err.contains("--appointments"), "{err}");
}

#[test]
fn a_clinic_without_an_address_cannot_print_letters() {
    let c = Clinic::new();
    let p = c.add_jane();
    let err = c.fails(&["letter", "render", "summary", "--patient", p.trim()], 2);
    assert!(
        err.contains("frontdesk.toml: the office has no phone"),
        "{err}"
    );
    // A batch says so once, before choosing anyone.
    let err = c.fails(
        &["letter", "batch", "reminder", "--appointments", "tomorrow"],
        2,
    );
    assert_eq!(err.matches("the office has no phone").count(), 1, "{err}");
    let office = c.path("frontdesk.toml");
    let text = std::fs::read_to_string(&office).unwrap();
    std::fs::write(
        &office,
        text.replacen("timezone =", "phone = \"+16175550100\"\ntimezone =", 1),
    )
    .unwrap();
    let err = c.fails(&["letter", "render", "summary", "--patient", p.trim()], 2);
    assert!(
        err.contains("frontdesk.toml: the office has no address"),
        "{err}"
    );
    assert!(err.contains("[address]"), "{err}");
    assert!(!c.path("correspondence").exists());
}

fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// Pages in a PDF as Chromium writes it (its page tree's /Count).
fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.match_indices("/Count ")
        .filter_map(|(i, _)| {
            text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
                .parse()
                .ok()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn printed_letters_fit_on_one_page_in_a_real_browser() {
    let Some(chromium) = chromium() else {
        eprintln!("skipped: no Chromium at /usr/bin/chromium; install it to count printed pages");
        return;
    };
    let c = sample();
    for name in ["welcome", "summary", "release-cover"] {
        let html = ok(&c, &["letter", "preview", name]);
        let file = c.dir.path().join(format!("{name}.html"));
        std::fs::write(&file, html).unwrap();
        let pdf = c.dir.path().join(format!("{name}.pdf"));
        let profile = c.dir.path().join(format!("chromium-{name}"));
        let out = std::process::Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--no-pdf-header-footer",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            pdf.is_file(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            pdf_pages(&std::fs::read(&pdf).unwrap()),
            1,
            "{name} printed on more than one page"
        );
    }
}

#[test]
fn the_sample_clinics_own_letters_work() {
    let c = sample_as_is();
    // Its templates (a Spanish reminder, an office no-show text) pass the check.
    ok(&c, &["letter", "check"]);
    let list = ok(&c, &["--format", "csv", "letter", "list"]);
    assert!(
        list.contains("reminder,\"html, txt\",es,\"built-in, office variants\""),
        "{list}"
    );
    assert!(
        list.contains("no-show,\"html, txt\",,office (overrides built-in)"),
        "{list}"
    );
    // Every letter it has sent reprints exactly (the hash in each record still matches).
    let sent = ok(
        &c,
        &["--format", "json", "letter", "sent", "--from", "2026-11-01"],
    );
    let rows: serde_json::Value = serde_json::from_str(&sent).unwrap();
    let rows = rows.as_array().unwrap();
    assert!(rows.len() >= 10, "{sent}");
    for r in rows {
        ok(&c, &["letter", "show", r["letter"].as_str().unwrap()]);
    }
    // Carlos Mendoza speaks Spanish: his reminder went out in Spanish.
    let carlos = rows
        .iter()
        .find(|r| r["patient"] == "PBJBEJHWK" && r["template"] == "reminder")
        .unwrap();
    let text = ok(&c, &["letter", "show", carlos["letter"].as_str().unwrap()]);
    assert!(text.contains("le recordamos su cita"), "{text}");
    // Tomorrow's reminders were sent already: a cron retry sends nothing.
    let again = ok(
        &c,
        &[
            "--format",
            "csv",
            "letter",
            "batch",
            "reminder",
            "--appointments",
            "tomorrow",
        ],
    );
    assert_eq!(again.matches("skipped: already sent").count(), 9, "{again}");
}

#[test]
fn statements_sent_are_kept_as_letters_and_receipts_reprint() {
    let c = sample();
    let before = c.commits();
    let mail = c.dir.path().join("mail");
    let listing = run_statements(&c, &mail);
    let written: Vec<&str> = listing.lines().collect();
    assert!(!written.is_empty(), "{listing}");
    // One commit keeps the run as one letter; each statement reprints byte for byte as
    // mailed (the run's own tests are in statement_run.rs).
    assert_eq!(c.commits(), before + 1);
    let message = &c.commit_messages()[0];
    assert!(
        message.starts_with("testclerk|Write statement run L")
            && message.ends_with(&format!(
                ": {} statements, kept as one letter.",
                written.len()
            )),
        "{message}"
    );
    let sent = ok(
        &c,
        &[
            "--format",
            "json",
            "letter",
            "sent",
            "--template",
            "statement",
        ],
    );
    let rows: serde_json::Value = serde_json::from_str(&sent).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{sent}");
    assert_eq!(rows[0]["to"], format!("{} patients", written.len()));
    let run = rows[0]["letter"].as_str().unwrap().to_string();
    let mut patients = Vec::new();
    for path in &written {
        let patient = Path::new(path).file_stem().unwrap().to_str().unwrap();
        let mailed = std::fs::read(mail.join(format!("{patient}.html"))).unwrap();
        let kept = at(&c, &["letter", "show", &format!("{run}/{patient}")]);
        assert_eq!(kept.stdout, mailed, "{patient}");
        patients.push(patient.to_string());
    }
    // One statement to a file is kept too, as a letter of its own; printed to the screen it
    // is not.
    let p = patients[0].as_str();
    ok(&c, &["pay", "statement", p]);
    assert_eq!(c.commits(), before + 1);
    let one = c.dir.path().join("one.txt");
    ok(&c, &["pay", "statement", p, "-o", one.to_str().unwrap()]);
    assert_eq!(c.commits(), before + 2);
    let record = ok(
        &c,
        &[
            "--format",
            "json",
            "letter",
            "sent",
            "--patient",
            p,
            "--template",
            "statement",
        ],
    );
    assert_eq!(record.matches("\"letter\"").count(), 2, "{record}");
    // A stored receipt prints exactly as it was printed.
    let receipt = std::fs::read(c.path("receipts/2026/11/16/T0Q3J9FX7.txt")).unwrap();
    assert_eq!(at(&c, &["pay", "receipt", "T0Q3J9FX7"]).stdout, receipt);
    let err = fails(&c, &["pay", "receipt", "T00000000"], 1);
    assert!(err.contains("no ledger entry T00000000"), "{err}");
}

#[test]
fn a_channel_the_patient_did_not_allow_is_refused() {
    let c = sample();
    let snap = snapshot(&c);
    // Grace Kim has no email on file.
    let err = fails(
        &c,
        &grace_reminder(&["--as", "txt", "--channel", "email"]),
        2,
    );
    assert!(
        err.contains("patient PYN05M78T has not agreed to email (no consent on file)"),
        "{err}"
    );
    // A representative's consent to texts is not recorded.
    let err = fails(
        &c,
        &[
            "letter",
            "render",
            "release-cover",
            "--patient",
            "PB415PQ5P",
            "--to",
            "representative",
            "--as",
            "txt",
            "--channel",
            "sms",
        ],
        2,
    );
    assert!(
        err.contains("only the patient's own consent to sms is on file"),
        "{err}"
    );
    assert_eq!(snapshot(&c), snap);
    // Without --channel, text goes the way she allows: SMS to her mobile.
    ok(&c, &grace_reminder(&["--as", "txt"]));
    let sent = ok(&c, &["--format", "csv", "letter", "sent"]);
    assert!(
        sent.contains(",PYN05M78T,reminder,sms,patient,A8CTRDRJ2,"),
        "{sent}"
    );
}

#[test]
fn a_guarantor_gets_the_letter_at_the_patients_address() {
    let c = sample();
    let html = ok(
        &c,
        &[
            "letter",
            "render",
            "summary",
            "--patient",
            "P98DJCXGG",
            "--to",
            "guarantor",
        ],
    );
    assert_well_formed(&html);
    let window = &html[html.find("<div class=\"window\">").unwrap()..];
    let window = &window[..window.find("</div>").unwrap()];
    assert!(window.contains("Parent Rossi"), "{window}");
    let record = ok(
        &c,
        &[
            "--format",
            "json",
            "letter",
            "sent",
            "--patient",
            "P98DJCXGG",
        ],
    );
    assert!(record.contains("\"to\": \"guarantor\""), "{record}");
    // A patient without a guarantor: refused, nothing written.
    let snap = snapshot(&c);
    let err = fails(
        &c,
        &[
            "letter",
            "render",
            "summary",
            "--patient",
            "PYN05M78T",
            "--to",
            "guarantor",
        ],
        2,
    );
    assert!(
        err.contains("patient PYN05M78T has no guarantor on file"),
        "{err}"
    );
    assert_eq!(snapshot(&c), snap);
}

#[test]
fn frontdesk_check_lists_a_broken_types_file_without_stopping_at_the_letters() {
    let c = sample();
    std::fs::create_dir_all(c.path("templates/letters")).unwrap();
    std::fs::write(
        c.path("templates/letters/flu-shot.txt"),
        "Flu shots, {{ patient.name }}\n",
    )
    .unwrap();
    std::fs::write(
        c.path("appointment-types.toml"),
        "schema = 1\n[[type]]\nkey = \n",
    )
    .unwrap();
    let out = at(&c, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("appointment-types.toml:3"), "{text}");
    // letter check itself says what stops it.
    let err = fails(&c, &["letter", "check"], 2);
    assert!(err.contains("appointment-types.toml"), "{err}");
}

#[test]
fn no_letter_path_leaks_a_name_into_errors_commits_or_file_names() {
    let c = sample();
    let canaries = ["Zyqxwv", "Canarymoth"];
    let rel = patient_rel("PYN05M78T");
    edit(&c, &rel, "given = \"Grace\"", "given = \"Zyqxwvette\"");
    edit(&c, &rel, "family = \"Kim\"", "family = \"Canarymothe\"");
    let check = |what: &str, text: &str| {
        for k in canaries {
            assert!(!text.contains(k), "{k} leaked in {what}: {text}");
        }
    };
    std::fs::create_dir_all(c.path("templates/letters")).unwrap();
    std::fs::write(
        c.path("templates/letters/canary.txt"),
        "{{ patient.name }} {{ patient.name | money }}\n",
    )
    .unwrap();
    let failing: &[&[&str]] = &[
        &["letter", "render", "reminder", "--patient", "PYN05M78T"],
        &[
            "letter",
            "render",
            "summary",
            "--patient",
            "PYN05M78T",
            "--to",
            "guarantor",
        ],
        &[
            "letter",
            "render",
            "summary",
            "--patient",
            "PYN05M78T",
            "--to",
            "rep:1",
        ],
        &[
            "letter",
            "render",
            "summary",
            "--patient",
            "PYN05M78T",
            "--as",
            "txt",
            "--channel",
            "email",
        ],
        &[
            "letter",
            "render",
            "canary",
            "--patient",
            "PYN05M78T",
            "--as",
            "txt",
        ],
        &["letter", "batch", "canary", "--appointments", "tomorrow"],
    ];
    for args in failing {
        let out = at(&c, args);
        assert!(!out.status.success(), "{args:?}");
        check(
            &format!("stderr of {args:?}"),
            &String::from_utf8_lossy(&out.stderr),
        );
        check(
            &format!("stdout of {args:?}"),
            &String::from_utf8_lossy(&out.stdout),
        );
    }
    std::fs::remove_file(c.path("templates/letters/canary.txt")).unwrap();
    // Deceased: refused without the name.
    edit(&c, &rel, "status = \"active\"", "status = \"deceased\"");
    let out = at(
        &c,
        &["letter", "render", "summary", "--patient", "PYN05M78T"],
    );
    check(
        "stderr of a refused letter",
        &String::from_utf8_lossy(&out.stderr),
    );
    edit(&c, &rel, "status = \"deceased\"", "status = \"active\"");
    git(&c.root, &["commit", "-qam", "canary"]);
    // Letters that go out: commit messages and file names carry IDs only.
    ok(&c, &grace_reminder(&[]));
    ok(
        &c,
        &["letter", "batch", "reminder", "--appointments", "tomorrow"],
    );
    let log = git(&c.root, &["log", "--format=%B", "-n", "2"]);
    check("commit messages", &log);
    for f in c.files() {
        check("file names", &f);
    }
}

/// `check` reads the correspondence: each letter's and statement run's record, and each file
/// kept as sent against the SHA-1 its record holds, its cache warm from the clean run before.
/// A copy changed, a copy gone, a file that is not the correspondence's and a record that does
/// not parse are each named once, in their own file; put back, the tree is clean again.
#[test]
fn check_holds_each_kept_copy_to_the_sha1_its_record_holds() {
    let c = sample_as_is();
    let mail = c.dir.path().join("mail");
    run_statements(&c, &mail);
    // The copy's permissions are the test's, not the clinic's.
    at(&c, &["check", "--fix"]);
    let problems = || -> Vec<(String, String)> {
        let out = at(&c, &["--format", "json", "check"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let found: Vec<(String, String)> = (v.as_array().unwrap().iter())
            .map(|p| {
                (
                    p["file"].as_str().unwrap().into(),
                    p["what"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(out.status.code() == Some(0), found.is_empty(), "{found:?}");
        found
    };
    assert_eq!(problems(), []);
    let kept = |ext: &str| -> String {
        let files = c.files();
        let f = files
            .iter()
            .find(|f| f.starts_with("correspondence/") && f.ends_with(ext));
        f.unwrap_or_else(|| panic!("no kept .{ext}")).clone()
    };
    let (letter, statements, table) = (kept(".txt"), kept(".html"), kept(".csv"));
    let record = letter.replace(".txt", ".toml");
    let original: Vec<(String, Vec<u8>)> = [&letter, &statements, &table, &record]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(c.path(f)).unwrap()))
        .collect();
    let put_back = || {
        use std::os::unix::fs::PermissionsExt;
        for (f, bytes) in &original {
            std::fs::write(c.path(f), bytes).unwrap();
            let private = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(c.path(f), private).unwrap();
        }
    };
    let append = |f: &str, more: &str| {
        let mut text = std::fs::read(c.path(f)).unwrap();
        text.extend_from_slice(more.as_bytes());
        std::fs::write(c.path(f), text).unwrap();
    };
    let changed = "changed after it was sent";
    for (f, what) in [
        (&letter, changed),
        (&statements, changed),
        (&table, changed),
    ] {
        append(f, "\n");
        let found = problems();
        assert_eq!(found.len(), 1, "{f}: {found:?}");
        assert!(found[0].0 == *f && found[0].1.contains(what), "{found:?}");
        put_back();
    }
    std::fs::remove_file(c.path(&letter)).unwrap();
    let found = problems();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].0 == record && found[0].1.contains("is missing"),
        "{found:?}"
    );
    put_back();
    // A file of another name is not the correspondence's. (A kept file without its record is
    // what a run killed between its renames leaves: the next command commits it as
    // recovered, and `check` leaves it alone.)
    let stray = Path::new(&letter).with_file_name("notes.docx");
    std::fs::write(c.path(stray.to_str().unwrap()), "who wrote this?").unwrap();
    let found = problems();
    assert_eq!(found.len(), 2, "named, and its permissions: {found:?}");
    assert!(found[0].1.contains("unexpected here"), "{found:?}");
    std::fs::remove_file(c.path(stray.to_str().unwrap())).unwrap();
    // A record that does not parse is its own problem.
    append(&record, "garbage = [\n");
    let found = problems();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, record);
    put_back();
    assert_eq!(problems(), []);
}
