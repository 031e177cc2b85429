use crate::harness::*;
use std::os::unix::fs::MetadataExt;

#[test]
fn add_prints_id_writes_private_file_and_one_clean_commit() {
    let c = Clinic::new();
    let before = c.commits();
    let id = c.add_jane();
    assert!(id.starts_with('P') && id.len() == 9, "{id}");
    let file = c.patient_file(&id);
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(file.parent().unwrap()).unwrap().mode() & 0o777,
        0o700
    );
    assert_eq!(c.commits(), before + 1);
    let msg = &c.commit_messages()[0];
    assert_eq!(msg, &format!("testclerk|Add patient {id}."));
    assert!(!msg.contains("Doe") && !msg.contains("1980"));
}

#[test]
fn find_by_name_date_and_phone() {
    let c = Clinic::new();
    let id = c.add_jane();
    c.ok("patient add --first John --last Smith --dob 1975-01-09 --sex M");
    for q in [
        "doe jan",
        "04/02/1980",
        "6175550101",
        "(617) 555-0101",
        &id.to_lowercase(),
    ] {
        let out = c.ok(format!("patient find {q}"));
        let first = out.lines().nth(1).unwrap_or("");
        assert!(first.contains(&id), "{q}: {out}");
    }
    assert_eq!(c.run("patient find nobody").status.code(), Some(1));
}

#[test]
fn impossible_birth_date_changes_nothing() {
    let c = Clinic::new();
    let (files, commits) = (c.files(), c.commits());
    let err = c.fails(
        "patient add --first Jane --last Doe --dob 1980-02-30 --sex F",
        2,
    );
    assert!(err.contains("not a date"), "{err}");
    assert!(
        !err.contains("Doe") && !err.contains("1980"),
        "PHI in error: {err}"
    );
    assert_eq!(c.files(), files);
    assert_eq!(c.commits(), commits);
}

#[test]
fn missing_required_fields_without_a_terminal_is_a_usage_error() {
    let c = Clinic::new();
    let err = c.fails("patient add --first Jane", 2);
    assert!(err.contains("missing --last, --dob, --sex"), "{err}");
    assert_eq!(
        c.files()
            .iter()
            .filter(|f| f.starts_with("patients/"))
            .count(),
        0
    );
}

#[test]
fn validation_errors_name_the_field_and_write_nothing() {
    let c = Clinic::new();
    let base = [
        "patient",
        "add",
        "--first",
        "Jane",
        "--last",
        "Doe",
        "--dob",
        "1980-04-02",
        "--sex",
        "F",
    ];
    let cases: &[(&[&str], &str)] = &[
        (&["--dob", "2099-01-01"], "in the future"),
        (&["--dob", "1880-01-01"], "more than 130 years"),
        (&["--phone", "555-0101"], "phone number has 7 digits"),
        (&["--email", "jane.example.org"], "email is not an address"),
        (
            &[
                "--state",
                "ZZ",
                "--address",
                "1 Main St",
                "--city",
                "Boston",
            ],
            "two-letter US state",
        ),
        (
            &[
                "--zip",
                "0213",
                "--address",
                "1 Main St",
                "--city",
                "Boston",
            ],
            "ZIP code",
        ),
        (&["--ssn", "12345"], "SSN is not 9 digits"),
        (&["--sex", "Q"], "sex is not one of"),
        (&["--middle", "A1"], "middle name has characters"),
        (&["--sms-ok", "home"], "no home phone"),
        (&["--email-ok"], "needs an email"),
        (
            &["--emergency-contact", "just a name"],
            "NAME, RELATION, PHONE",
        ),
    ];
    for (extra, want) in cases {
        // Later flags win for single-valued options, so append the bad one after the base.
        let mut args: Vec<&str> = base.to_vec();
        if extra[0] == "--dob" || extra[0] == "--sex" {
            let i = args.iter().position(|a| *a == extra[0]).unwrap();
            args.remove(i);
            args.remove(i);
        }
        args.extend_from_slice(extra);
        let err = c.fails(&args, 2);
        assert!(err.contains(want), "{extra:?}: {err}");
        assert!(!err.contains("Doe"), "PHI in error: {err}");
    }
    assert_eq!(
        c.files()
            .iter()
            .filter(|f| f.starts_with("patients/"))
            .count(),
        0
    );
    assert_eq!(c.commits(), 1);
}

#[test]
fn full_ssn_is_never_stored() {
    let c = Clinic::new();
    let id = c.ok("patient add --first Ann --last Lee --dob 1970-01-01 --sex F --ssn 123-45-6789");
    let text = std::fs::read_to_string(c.patient_file(id.trim())).unwrap();
    assert!(text.contains("ssn_last4 = \"6789\""), "{text}");
    assert!(!text.contains("12345") && !text.contains("123-45"));
}

#[test]
fn duplicate_guard_and_force() {
    let c = Clinic::new();
    let id = c.add_jane();
    let err = c.fails(
        "patient add --first Jan --last DOE --dob 04/02/1980 --sex F",
        2,
    );
    assert!(err.contains(&id) && err.contains("--force"), "{err}");
    c.ok("patient add --first Jan --last Doe --dob 1980-04-02 --sex F --force");
    // A different birth date is a different person.
    c.ok("patient add --first Jane --last Doe --dob 1981-04-02 --sex F");
}

#[test]
fn show_in_every_format() {
    let c = Clinic::new();
    let id = c.add_jane();
    let table = c.ok(format!("patient show {id}"));
    assert!(
        table.contains("Doe, Jane") && table.contains("(617) 555-0101"),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&c.ok(format!("--format json patient show {id}"))).unwrap();
    assert_eq!(json["family"], "Doe");
    assert_eq!(json["phones"][0]["number"], "+16175550101");
    let csv = c.ok(format!("--format csv patient show {id}"));
    assert!(csv.starts_with("\u{feff}id,family,given"), "{csv}");
    assert_eq!(c.run("patient show P0000ZZZZ").status.code(), Some(1));
    let err = c.fails("patient show ../etc/passwd", 2);
    assert!(err.contains("not a record ID"), "{err}");
    let err = c.fails("patient show A7K3QX9M2", 2);
    assert!(err.contains("appointment ID"), "{err}");
}

#[test]
fn list_find_json_and_csv_neutralise_formulas() {
    let c = Clinic::new();
    c.add_jane();
    let id = c.ok(&[
        "patient",
        "add",
        "--first",
        "Bob",
        "--last",
        "Ray",
        "--dob",
        "1950-01-01",
        "--sex",
        "M",
        "--preferred",
        "=cmd|' /C calc'!A0",
    ]);
    let _ = id;
    let json: serde_json::Value =
        serde_json::from_str(&c.ok("--format json patient list")).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[0]["name"], "Doe, Jane");
    let csv = c.ok("--format csv patient find ray");
    assert!(csv.lines().count() == 2, "{csv}");
    // Names cannot hold formula characters, but a clerk-typed note or preferred name can; JSON
    // keeps it verbatim, CSV neutralises it.
    let shown = c.ok("--format json patient find ray");
    assert!(shown.contains("Ray, Bob"));
}

#[test]
fn update_sets_fields_and_commits_field_names_only() {
    let c = Clinic::new();
    let id = c.add_jane();
    c.ok(format!("patient update {id} --home-phone '(617) 555-0199' --voicemail-ok home --email jane@example.org --flag wheelchair"));
    let p: serde_json::Value =
        serde_json::from_str(&c.ok(format!("--format json patient show {id}"))).unwrap();
    assert_eq!(p["email"], "jane@example.org");
    assert_eq!(p["flags"][0], "wheelchair");
    let phones = p["phones"].as_array().unwrap();
    assert_eq!(phones.len(), 2);
    assert!(
        phones
            .iter()
            .any(|ph| ph["kind"] == "home" && ph["voicemail_ok"] == true)
    );
    let msg = &c.commit_messages()[0];
    assert_eq!(
        msg,
        &format!("testclerk|Update patient {id}: email, flags, phones.")
    );
    // Nothing to change: no write, no commit.
    let n = c.commits();
    c.ok(format!("patient update {id} --email jane@example.org"));
    assert_eq!(c.commits(), n);
    // A bad value leaves the file untouched.
    let before = std::fs::read(c.patient_file(&id)).unwrap();
    c.fails(format!("patient update {id} --phone 12"), 2);
    assert_eq!(std::fs::read(c.patient_file(&id)).unwrap(), before);
    c.ok(format!("patient update {id} --remove-flag wheelchair"));
    assert!(
        !c.ok(format!("--format json patient show {id}"))
            .contains("wheelchair")
    );
}

#[test]
fn unknown_keys_survive_a_rewrite() {
    let c = Clinic::new();
    let id = c.add_jane();
    let file = c.patient_file(&id);
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text.replacen(
        "status = \"active\"\n",
        "status = \"active\"\nlocker_number = 42\n",
        1,
    ) + "\n[legacy]\nchart_color = \"blue\"\n";
    std::fs::write(&file, text).unwrap();
    c.ok(format!("patient update {id} --email jane@example.org"));
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(after.contains("locker_number = 42"), "{after}");
    assert!(after.contains("chart_color = \"blue\""), "{after}");
}

#[test]
fn deactivate_and_deceased() {
    let c = Clinic::new();
    let id = c.add_jane();
    c.ok(format!("patient deactivate {id} --reason 'moved away'"));
    assert_eq!(
        c.run("patient find doe").status.code(),
        Some(1),
        "inactive patients are hidden by default"
    );
    assert!(c.ok("patient find doe --all").contains(&id));
    assert!(c.ok("patient list --status inactive").contains(&id));
    c.ok(format!(
        "patient deactivate {id} --deceased --date 2026-01-05"
    ));
    let p: serde_json::Value =
        serde_json::from_str(&c.ok(format!("--format json patient show {id}"))).unwrap();
    assert_eq!(p["status"], "deceased");
    assert_eq!(p["deceased_date"], "2026-01-05");
    assert!(p["notes"].as_str().unwrap().contains("moved away"));
    c.fails(
        format!("patient deactivate {id} --deceased --date 1970-01-01"),
        2,
    );
}

#[test]
fn edit_with_editor_validates_and_commits() {
    let c = Clinic::new();
    let id = c.add_jane();
    let script = c.dir.path().join("ed.sh");
    // An "editor" that changes the phone to a typed form and the email.
    std::fs::write(&script, "#!/bin/sh\nsed -i 's/+16175550101/617 555 0123/; s/^sex = \"F\"/sex = \"F\"\\nemail = \"j@example.org\"/' \"$1\"\n").unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&script).unwrap().permissions(),
        0o755,
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = c
        .cmd()
        .env("EDITOR", &script)
        .args(["patient", "edit", &id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(c.patient_file(&id)).unwrap();
    assert!(
        text.contains("+16175550123") && text.contains("j@example.org"),
        "{text}"
    );
    assert_eq!(
        c.commit_messages()[0],
        format!("testclerk|Edit patient {id}: email, phones.")
    );

    // An edit that breaks the record is refused and nothing changes.
    let bad = c.dir.path().join("bad.sh");
    std::fs::write(
        &bad,
        "#!/bin/sh\nsed -i 's/^birth_date = .*/birth_date = \"1980-02-30\"/' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&bad, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let before = std::fs::read(c.patient_file(&id)).unwrap();
    let out = c
        .cmd()
        .env("EDITOR", &bad)
        .args(["patient", "edit", &id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":6:") || err.contains("birth_date") || err.contains("date"),
        "{err}"
    );
    assert!(!err.contains("Doe"), "{err}");
    assert_eq!(std::fs::read(c.patient_file(&id)).unwrap(), before);
}

#[test]
fn insurance_lifecycle() {
    let c = Clinic::new();
    let id = c.add_jane();
    c.ok("payer add aetna-ppo --name 'Aetna PPO' --payer-id 60054 --phone 800-555-0110");
    assert!(c.ok("payer list").contains("Aetna PPO"));
    c.fails("payer add aetna-ppo --name Again", 2);
    c.fails("payer add ../evil --name x", 2);
    let err = c.fails(
        format!("patient insurance add {id} --payer nobody --member-id X1"),
        2,
    );
    assert!(err.contains("no such payer"), "{err}");
    c.ok(format!("patient insurance add {id} --payer aetna-ppo --member-id W123456789 --group G77 --copay-office 25 --effective 2026-01-01"));
    let err = c.fails(
        format!("patient insurance add {id} --payer aetna-ppo --member-id W2"),
        2,
    );
    assert!(err.contains("already has primary coverage"), "{err}");
    c.fails(
        format!("patient insurance update {id} --copay-office 25.005"),
        2,
    );
    c.ok(format!("patient insurance update {id} --copay-office 30"));
    c.ok(format!(
        "patient insurance verify {id} --via phone --result active --reference CALL-1"
    ));
    let list: serde_json::Value =
        serde_json::from_str(&c.ok(format!("--format json patient insurance list {id}"))).unwrap();
    assert_eq!(list[0]["copay_office"], "30.00");
    assert_eq!(list[0]["verifications"][0]["by"], "testclerk");
    assert_eq!(list[0]["verifications"][0]["via"], "phone");
    // Member ID search.
    assert!(c.ok("patient find W123456789").contains(&id));
    c.ok(format!("patient insurance end {id} --on 2026-06-30"));
    assert!(
        c.ok(format!("patient insurance list {id}"))
            .contains("2026-06-30")
    );
    // A dependent's coverage needs the subscriber's name.
    let err = c.fails(
        format!("patient insurance add {id} --payer aetna-ppo --member-id W9 --subscriber spouse"),
        2,
    );
    assert!(err.contains("subscriber"), "{err}");
}

#[test]
fn history_lists_commits_for_a_record() {
    let c = Clinic::new();
    let id = c.add_jane();
    c.ok(format!("patient update {id} --email jane@example.org"));
    let out = c.ok(format!("history {id}"));
    assert!(
        out.contains(&format!("Update patient {id}: email.")),
        "{out}"
    );
    assert!(
        out.contains(&format!("Add patient {id}.")) && out.contains("testclerk"),
        "{out}"
    );
    let plain = Clinic::without_git();
    let id = plain.add_jane();
    assert!(
        plain
            .fails(format!("history {id}"), 2)
            .contains("not a git repository")
    );
}

#[test]
fn no_commit_and_no_git_still_write() {
    let c = Clinic::new();
    let n = c.commits();
    let out = c
        .cmd()
        .args([
            "--no-commit",
            "patient",
            "add",
            "--first",
            "Al",
            "--last",
            "Bo",
            "--dob",
            "1990-01-01",
            "--sex",
            "M",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(c.commits(), n);
    let plain = Clinic::without_git();
    let id = plain.add_jane();
    assert!(plain.patient_file(&id).exists());
    assert!(!plain.root.join(".git").exists());
}

#[test]
fn add_at_a_terminal_asks_for_missing_fields() {
    // `script` gives the command a pseudo-terminal, as a clerk's shell would.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` command");
        return;
    }
    let c = Clinic::new();
    let bin = assert_cmd::cargo::cargo_bin("frontdesk");
    let line = format!(
        "{} --records {} patient add --phone 6175550101",
        bin.display(),
        c.root.display()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("(sleep 0.3; printf 'Jane\\rDoe\\r04/02/1980\\rF\\r'; sleep 2) | script -qec '{line}' /dev/null"))
        .env("FRONTDESK_USER", "testclerk")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Family (last) name:") && text.contains("Sex (F, M, X, U):"),
        "{text}"
    );
    let found = c.ok("--format json patient find 'doe jane 1980-04-02'");
    assert!(found.contains("Doe, Jane"), "{found}");
}

/// `patient merge KEEP DROP`: one commit moves DROP's appointments and coverage to KEEP, KEEP's
/// ledger and balance include DROP's entries, DROP points to KEEP, two charts that disagree on
/// birth date or sex are refused without --force, and `git revert` of the commit undoes it.
#[test]
fn merge_folds_a_duplicate_chart_into_the_kept_one() {
    let c = Clinic::new();
    schedule_setup(&c);
    c.ok(&["payer", "add", "acme", "--name", "Acme"]);
    let keep = c.add_jane();
    let drop = c.ok(&[
        "patient",
        "add",
        "--first",
        "Jane",
        "--last",
        "Doe",
        "--dob",
        "1980-04-02",
        "--sex",
        "F",
        "--force",
        "--notes",
        "prefers mornings",
    ]);
    let drop = drop.trim().to_string();
    c.ok(&[
        "patient",
        "insurance",
        "add",
        &drop,
        "--payer",
        "acme",
        "--member-id",
        "M9",
    ]);
    let a = c.book(&drop, 0);
    c.ok(&[
        "pay",
        "collect",
        "--patient",
        &drop,
        "--amount",
        "30",
        "--method",
        "cash",
    ]);
    let other = c.ok(&[
        "patient",
        "add",
        "--first",
        "Jane",
        "--last",
        "Doe",
        "--dob",
        "1981-04-02",
        "--sex",
        "F",
        "--force",
    ]);
    let err = c.fails(&["patient", "merge", &keep, other.trim()], 2);
    assert!(err.contains("disagree on birth date or sex"), "{err}");

    let call = c.ok(&[
        "comm",
        "log",
        "--patient",
        &drop,
        "--with",
        "patient",
        "--channel",
        "phone",
        "--direction",
        "in",
        "--summary",
        "asked about her bill",
    ]);
    let commits = c.commits();
    c.ok(&["patient", "merge", &keep, &drop]);
    let comms = c.ok(&["-q", "comm", "list", "--patient", &keep]);
    assert!(
        comms.contains(call.trim()),
        "the call follows the merge: {comms}"
    );
    assert_eq!(c.commits(), commits + 1);
    let appt: toml::Table = toml::from_str(
        &std::fs::read_to_string(
            c.files()
                .iter()
                .find(|f| f.contains(&a))
                .map(|f| c.path(f))
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(appt["patient"].as_str(), Some(keep.as_str()));
    let kept: serde_json::Value =
        serde_json::from_str(&c.ok(&["--format", "json", "patient", "show", &keep])).unwrap();
    assert_eq!(kept["insurance"][0]["member_id"], "M9");
    assert_eq!(kept["merged_from"][0], drop.as_str());
    let balance: serde_json::Value =
        serde_json::from_str(&c.ok(&["--format", "json", "pay", "balance", &keep])).unwrap();
    assert_eq!(
        balance["credit"], "30.00",
        "the merged chart's payment follows: {balance}"
    );
    let shown = c.run(&["patient", "show", &drop]);
    assert!(String::from_utf8_lossy(&shown.stderr).contains(&format!("merged into {keep}")));
    let err = c.fails(&["patient", "merge", &keep, &drop], 2);
    assert!(err.contains("already merged"), "{err}");

    git(&c.root, &["revert", "--no-edit", "HEAD"]);
    let undone: serde_json::Value =
        serde_json::from_str(&c.ok(&["--format", "json", "patient", "show", &drop])).unwrap();
    assert!(undone.get("merged_into").is_none(), "{undone}");
}

#[test]
fn country_and_marital_status_take_known_codes_and_never_echo_the_value() {
    let c = Clinic::new();
    let id = c.add_jane();
    for bad in ["Narnia", "UK", "USA"] {
        let err = c.fails(&["patient", "update", &id, "--country", bad], 2);
        assert!(
            err.contains("--country") && err.contains("ISO 3166-1 alpha-2"),
            "{err}"
        );
        assert!(!err.contains(bad), "{err}");
    }
    c.ok(&[
        "patient",
        "update",
        &id,
        "--country",
        "gb",
        "--zip",
        "sw1a 1aa",
    ]);
    let shown = c.ok(&["--format", "json", "patient", "show", &id]);
    assert!(shown.contains("\"GB\""), "{shown}");
    c.ok(&[
        "patient",
        "update",
        &id,
        "--marital-status",
        "Domestic Partner",
    ]);
    let err = c.fails(
        &["patient", "update", &id, "--marital-status", "Quixotic"],
        2,
    );
    assert!(
        err.contains("--marital-status: marital status is not one of") && !err.contains("Quixotic"),
        "{err}"
    );
    let text = std::fs::read_to_string(c.patient_file(&id)).unwrap();
    assert!(text.contains("marital_status = \"partnered\""), "{text}");
    let shown = c.ok(&["patient", "show", &id]);
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("Marital status") && l.trim_end().ends_with(" partnered")),
        "{shown}"
    );
    // A hand edit to a word the record does not know is found by `check`.
    std::fs::write(
        c.patient_file(&id),
        text.replace("\"partnered\"", "\"engaged\""),
    )
    .unwrap();
    let out = c.run(&["check"]);
    assert_ne!(out.status.code(), Some(0));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("marital_status is not one of"), "{said}");
}

#[test]
fn emergency_contact_parts_in_any_order_or_a_clear_refusal() {
    let c = Clinic::new();
    let id = c.add_jane();
    c.ok(&[
        "patient",
        "update",
        &id,
        "--emergency-contact",
        "Ann Smith, 617-555-0177",
    ]);
    c.ok(&[
        "patient",
        "update",
        &id,
        "--emergency-contact",
        "617-555-0178, Neighbour, Bo Ray",
    ]);
    let text = std::fs::read_to_string(c.patient_file(&id)).unwrap();
    let p: toml::Table = toml::from_str(&text).unwrap();
    let ec = p["emergency_contacts"].as_array().unwrap();
    assert_eq!(ec[0]["name"].as_str(), Some("Ann Smith"));
    assert_eq!(ec[0]["phone"].as_str(), Some("+16175550177"));
    assert!(
        ec[0].get("relation").is_none(),
        "the phone is not the relation"
    );
    assert_eq!(ec[1]["relation"].as_str(), Some("neighbour"));
    assert_eq!(ec[1]["name"].as_str(), Some("Bo Ray"));

    let files = c.files();
    for (bad, says) in [
        ("Kit Vane, Lou Vane", "name is unclear"),
        ("spouse, 617-555-0166", "has no name"),
        ("Kit Vane, 617-555-0166, 617-555-0155", "two phone numbers"),
    ] {
        let err = c.fails(&["patient", "update", &id, "--emergency-contact", bad], 2);
        assert!(
            err.contains("--emergency-contact") && err.contains(says),
            "{err}"
        );
        for part in ["Kit", "Vane", "0166", "0155"] {
            assert!(!err.contains(part), "{err}");
        }
    }
    assert_eq!(c.files(), files);
}

/// After a merge, a record that still names the merged chart (here an appointment a sync
/// brought in from another desk) is reported by `check`; the ledger's old entries are not.
#[test]
fn check_reports_records_that_name_a_merged_chart() {
    let c = Clinic::new();
    schedule_setup(&c);
    let keep = c.add_jane();
    let drop = c.ok(&[
        "patient",
        "add",
        "--first",
        "Jane",
        "--last",
        "Doe",
        "--dob",
        "1980-04-02",
        "--sex",
        "F",
        "--force",
    ]);
    let drop = drop.trim().to_string();
    c.ok(&[
        "pay",
        "collect",
        "--patient",
        &drop,
        "--amount",
        "10",
        "--method",
        "cash",
    ]);
    let a = c.book(&drop, 0);
    let file = c.files().into_iter().find(|f| f.contains(&a)).unwrap();
    let before = std::fs::read_to_string(c.path(&file)).unwrap();
    c.ok(&["patient", "merge", &keep, &drop]);
    assert_eq!(
        c.run(&["check"]).status.code(),
        Some(0),
        "the ledger keeps the old ID by design"
    );
    // Another desk's copy of the appointment, from before the merge, arrives by sync.
    std::fs::write(c.path(&file), &before).unwrap();
    let out = c.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("merged into another") && report.contains(&a),
        "{report}"
    );
}
