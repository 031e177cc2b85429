//! PHI canary: a unique fake name and SSN fragment are put through every error path we can
//! reach (bad flags, broken record files, malformed TOML whose parser errors quote the line, a
//! bad edit, `check`), and must never appear in stderr, panic output, commit messages, file
//! names, or the output of a failing command.

use std::os::unix::fs::PermissionsExt;

use crate::harness::*;

const GIVEN: &str = "Zyqxwvette";
const FAMILY: &str = "Canarymothe";
const SSN: &str = "219-09-7319";
const CANARIES: [&str; 5] = ["Zyqxwv", "zyqxwv", "Canarymoth", "7319", "219-09"];

fn assert_no_canary(what: &str, text: &str) {
    for c in CANARIES {
        assert!(
            !text.contains(c),
            "PHI canary {c:?} leaked in {what}:\n{text}"
        );
    }
}

/// Runs a command that is expected to fail and checks everything it printed.
fn failing(c: &Clinic, args: &[&str]) {
    let out = spawnable(c)
        .env("RUST_BACKTRACE", "1")
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert_no_canary(&format!("stderr of {:?}", &args[..2.min(args.len())]), &err);
    assert_no_canary(
        &format!("stdout of {:?}", &args[..2.min(args.len())]),
        &String::from_utf8_lossy(&out.stdout),
    );
}

/// A reader: stderr never carries the canary; when it fails, neither does stdout.
fn quiet_on_failure(c: &Clinic, args: &[&str]) {
    let out = spawnable(c)
        .env("RUST_BACKTRACE", "1")
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert_no_canary(&format!("stderr of {args:?}"), &err);
    if !out.status.success() {
        assert_no_canary(
            &format!("stdout of {args:?}"),
            &String::from_utf8_lossy(&out.stdout),
        );
    }
}

fn canary_patient(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "patient",
        "add",
        "--first",
        GIVEN,
        "--last",
        FAMILY,
        "--dob",
        "1980-04-02",
        "--sex",
        "F",
    ]
    .map(String::from)
    .to_vec();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[test]
fn the_canary_never_leaks_through_an_error() {
    let c = Clinic::new();
    // Bad flags next to the canary, and the canary itself as a bad value.
    for extra in [
        vec!["--dob", "1980-02-30"],
        vec!["--phone", "7319"],
        vec!["--email", "zyqxwvette@"],
        vec![
            "--zip",
            "7319",
            "--address",
            "1 Canarymothe Way",
            "--city",
            "Zyqxwvette",
        ],
        vec![
            "--state",
            "Zyqxwvette",
            "--address",
            "1 Main",
            "--city",
            "Boston",
        ],
        vec!["--ssn", "219-09-731"],
        vec!["--ssn", "Zyqxwvette"],
        vec!["--sex", "Zyqxwvette"],
        vec!["--external-id", "Zyqxwvette7319"],
        vec!["--emergency-contact", "Zyqxwvette"],
    ] {
        let args = canary_patient(&extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        failing(&c, &args);
    }
    failing(
        &c,
        &[
            "patient",
            "add",
            "--first",
            "Zyqxwvette7319",
            "--last",
            FAMILY,
            "--dob",
            "1980-04-02",
            "--sex",
            "F",
        ],
    );
    failing(&c, &["patient", "show", "Zyqxwvette"]);
    failing(&c, &["patient", "find", "Zyqxwvette Canarymothe"]);
    failing(&c, &["payer", "add", "Zyqxwvette", "--name", "Canarymothe"]);

    // The canary as a real patient, then the duplicate check and bad updates.
    let args = canary_patient(&[
        "--ssn",
        SSN,
        "--phone",
        "617-555-0101",
        "--email",
        "zyqxwvette@example.org",
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let id = c.ok(&args).trim().to_string();
    let dup = canary_patient(&[]);
    failing(&c, &dup.iter().map(String::as_str).collect::<Vec<_>>());
    failing(&c, &["patient", "update", &id, "--dob", "2099-01-01"]);
    failing(&c, &["patient", "update", &id, "--last", "Canarymothe7319"]);
    failing(
        &c,
        &[
            "patient",
            "insurance",
            "add",
            &id,
            "--payer",
            "no-such-payer",
            "--member-id",
            "Zyqxwvette7319",
        ],
    );

    // Malformed TOML in the record: every parser error must come out scrubbed.
    let file = c.patient_file(&id);
    let good = std::fs::read_to_string(&file).unwrap();
    let broken = [
        good.replace(&format!("\"{FAMILY}\""), &format!("\"{FAMILY}")),
        good.replace(&format!("given = \"{GIVEN}\""), &format!("given = {GIVEN}")),
        good.replace(
            &format!("given = \"{GIVEN}\""),
            &format!("given = \"{GIVEN}\\q\""),
        ),
        good.replace(
            "birth_date = \"1980-04-02\"",
            &format!("birth_date = \"{GIVEN}\""),
        ),
        good.replace("sex = \"F\"", &format!("sex = \"{GIVEN}\"")),
        good.replace("ssn_last4 = \"7319\"", "ssn_last4 = 7319"),
        good.replace("ssn_last4 = \"7319\"", "ssn_last4 = \"2190973190\""),
        good.replace("schema = 1", &format!("schema = \"{FAMILY}\"")),
        format!("family = \"{FAMILY}\"\n{good}"),
        format!("{good}{GIVEN} {FAMILY} 219-09-7319\n"),
        format!("{good}[[phones]]\nkind = \"{GIVEN}\"\nnumber = \"7319\"\n"),
        good.replace(
            "status = \"active\"",
            &format!("status = [\"{GIVEN}\", 7319]"),
        ),
        format!("<<<<<<< HEAD\n{good}=======\n{good}>>>>>>> {FAMILY}\n"),
        good.replace(GIVEN, &format!("{GIVEN}\u{0}")),
    ];
    for (i, text) in broken.iter().enumerate() {
        assert_ne!(text, &good, "broken variant {i} is not broken");
        std::fs::write(&file, text).unwrap();
        eprintln!("phi: broken variant {i}");
        // Readers show what parses (to staff, on stdout); when they fail they must be clean.
        quiet_on_failure(&c, &["patient", "show", &id]);
        quiet_on_failure(&c, &["patient", "insurance", "list", &id]);
        failing(&c, &["patient", "update", &id, "--notes", "x"]);
        failing(&c, &["history", "PZZZZZZZZ"]);
        failing(&c, &["check"]);
        let list = c.run(&["patient", "list"]);
        assert_no_canary(
            "patient list warnings",
            &String::from_utf8_lossy(&list.stderr),
        );
        let find = c.run(&["patient", "find", "Zyqx"]);
        assert_no_canary(
            "patient find warnings",
            &String::from_utf8_lossy(&find.stderr),
        );
    }
    std::fs::write(&file, &good).unwrap();

    // An edit that saves broken TOML: refused, and the editor's text is not echoed.
    let script = c.dir.path().join("bad-editor.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf 'given = \"{GIVEN}\\nfamily = 7319\\n' > \"$1\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = spawnable(&c)
        .env("EDITOR", &script)
        .args(["patient", "edit", &id])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_no_canary("patient edit", &String::from_utf8_lossy(&out.stderr));

    // An import whose rows carry the canary in every column, each row wrong somewhere.
    let map = c.dir.path().join("map.toml");
    std::fs::write(&map, "[identity]\nsystem = \"chart\"\ncolumn = \"Chart\"\n\n[fields]\ngiven = \"First\"\nfamily = \"Last\"\nbirth_date = \"DOB\"\nsex = \"Sex\"\nssn = \"SSN\"\n").unwrap();
    let csv = c.dir.path().join("canary.csv");
    std::fs::write(
        &csv,
        format!(
            "Chart,First,Last,DOB,Sex,SSN\n\
             {GIVEN},{GIVEN},{FAMILY},{GIVEN},F,{SSN}\n\
             c2,{GIVEN}7319,{FAMILY},1980-04-02,F,{SSN}\n\
             c3,{GIVEN},{FAMILY},1980-04-02,{GIVEN},{SSN}\n\
             c4,{GIVEN},{FAMILY},1980-04-02,F,{GIVEN}\n\
             c5,\"{GIVEN}\n{FAMILY}\",{FAMILY},2999-01-01,F,219-09-73190\n\
             c6,{GIVEN},{FAMILY},1980-02-30,F,{SSN}\n"
        ),
    )
    .unwrap();
    let csv = csv.display().to_string();
    let map = map.display().to_string();
    failing(&c, &["patient", "import", &csv, "--map", &map]);
    failing(&c, &["patient", "import", &csv, "--map", &map, "--dry-run"]);

    // Nothing the tree names, and no commit, carries the canary.
    let log = git_lines(&c.root, &["log", "--format=%an%n%ae%n%s%n%b"]).join("\n");
    assert_no_canary("commit messages", &log);
    for entry in walkdir::WalkDir::new(&c.root) {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert_no_canary("file names", &name);
    }
}

/// Argument errors name the flag or the word's position, never the word: a name typed in the
/// wrong place, a birth date after a flag that takes none, the canary as a command, a flag
/// value, a type, a time preference or a weekday list.
#[test]
fn the_canary_never_leaks_through_an_argument_error() {
    let c = Clinic::new();
    schedule_setup(&c);
    let jane = c.add_jane();
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "patient",
            "add",
            "--first",
            "Ann",
            FAMILY,
            "--dob",
            "1980-04-02",
        ],
        vec!["patient", "add", "--first", GIVEN, FAMILY, "--last", "Lee"],
        vec![
            "patient",
            "deactivate",
            "P0000000",
            "--deceased",
            "219-09-7319",
        ],
        vec![GIVEN],
        vec!["patient", GIVEN],
        vec!["schedule", "day", "--format", GIVEN],
        vec!["schedule", "day", "--Zyqxwvette"],
        vec!["schedule", "day", "--date=Zyqxwvette"],
        vec!["pay", "closeout", "--date", "219-09-7319"],
        vec!["schedule", "find", "--patient", "P0000000", "--type", GIVEN],
        vec!["schedule", "find", "--patient", &jane, "--type", GIVEN],
        vec![
            "schedule",
            "find",
            "--patient",
            &jane,
            "--type",
            "follow-up",
            "--prefer",
            GIVEN,
        ],
        vec![
            "schedule",
            "find",
            "--patient",
            &jane,
            "--type",
            "follow-up",
            "--prefer",
            "Zyqxwvette after 15:00",
        ],
        vec![
            "schedule",
            "find",
            "--patient",
            &jane,
            "--type",
            "follow-up",
            "--prefer",
            "tue after Zyqxwvette",
        ],
    ];
    for args in &cases {
        failing(&c, args);
    }
}
