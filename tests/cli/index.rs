//! The patient index is a cache: every result is identical with it, without it, after it is
//! corrupted, and after record files are changed by hand behind the tool's back.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::harness::Clinic;

const QUERIES: &[&[&str]] = &[
    &["smith"],
    &["jo", "smi"],
    &["maria"],
    &["1980"],
    &["617", "555"],
    &["garcia", "--all"],
];

/// Every search and listing the index serves, as CSV.
fn answers(c: &Clinic) -> Vec<String> {
    let mut out: Vec<String> = QUERIES
        .iter()
        .map(|q| {
            let mut args = vec!["--format", "csv", "patient", "find", "-n", "1000"];
            args.extend_from_slice(q);
            String::from_utf8(c.run(&args).stdout).unwrap()
        })
        .collect();
    out.push(c.ok(&["--format", "csv", "patient", "list", "--all"]));
    out
}

fn index_dir(c: &Clinic) -> PathBuf {
    c.path(".frontdesk/index")
}

/// Answers computed from the files alone (index deleted first), leaving no index behind
/// that could influence the next comparison.
fn answers_without_index(c: &Clinic) -> Vec<String> {
    let _ = fs::remove_dir_all(index_dir(c));
    answers(c)
}

fn some_patient_files(c: &Clinic, n: usize) -> Vec<String> {
    c.files()
        .into_iter()
        .filter(|f| f.starts_with("patients/"))
        .take(n)
        .collect()
}

#[test]
fn same_results_with_without_and_after_rebuild() {
    let c = Clinic::demo(300);
    let cold = answers_without_index(&c);
    assert!(
        index_dir(&c).join("patients.bin").is_file(),
        "find built the index"
    );
    assert_eq!(answers(&c), cold, "warm index");
    c.ok(&["index", "rebuild"]);
    assert_eq!(answers(&c), cold, "after rebuild");
    assert!(cold[0].lines().count() > 2, "the queries find something");
}

#[test]
fn corrupt_or_truncated_index_is_rebuilt() {
    let c = Clinic::demo(200);
    let expected = answers_without_index(&c);
    let file = index_dir(&c).join("patients.bin");
    let mut bytes = fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    fs::write(&file, &bytes).unwrap();
    assert_eq!(answers(&c), expected, "flipped byte");
    fs::write(&file, &bytes[..100]).unwrap();
    assert_eq!(answers(&c), expected, "truncated");
    fs::write(&file, b"garbage").unwrap();
    assert_eq!(answers(&c), expected, "garbage");
}

#[test]
fn hand_edits_behind_the_tools_back_are_seen() {
    let c = Clinic::demo(200);
    answers(&c); // warm the index
    let files = some_patient_files(&c, 3);

    // Same size, edited right after the index was written: only the racy rule catches it.
    let p = c.path(&files[0]);
    let text = fs::read_to_string(&p).unwrap();
    let family = text
        .lines()
        .find_map(|l| l.strip_prefix("family = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    let replacement: String = "Q".repeat(family.chars().count());
    fs::write(
        &p,
        text.replace(
            &format!("family = \"{family}\""),
            &format!("family = \"{replacement}\""),
        ),
    )
    .unwrap();
    let found = c.ok(&["patient", "find", &replacement.to_lowercase()]);
    assert!(found.contains(&replacement), "same-size edit seen: {found}");

    // Different size with the old modification time put back: the size gives it away.
    let p = c.path(&files[1]);
    let old_mtime = fs::metadata(&p).unwrap().modified().unwrap();
    let text = fs::read_to_string(&p).unwrap();
    let renamed = text.replacen("given = \"", "given = \"Xavierre", 1);
    fs::write(&p, renamed).unwrap();
    set_mtime(&p, old_mtime);
    assert!(c.ok(&["patient", "find", "xavierre"]).contains("Xavierre"));

    // Deleted by hand: gone from results. Copied in by hand under a new ID: found.
    let gone = files[2]
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".toml")
        .to_string();
    let gone_text = fs::read_to_string(c.path(&files[2])).unwrap();
    fs::remove_file(c.path(&files[2])).unwrap();
    assert!(
        !c.ok(&["--format", "csv", "patient", "list", "--all"])
            .contains(&gone)
    );
    let new_id = "PZZZZZZZZ";
    let copy = gone_text
        .replacen(&gone, new_id, 1)
        .replacen("given = \"", "given = \"Yolanda", 1);
    fs::create_dir_all(c.path("patients/ZZ")).unwrap();
    fs::write(c.path("patients/ZZ/PZZZZZZZZ.toml"), copy).unwrap();
    assert!(c.ok(&["patient", "find", "yolanda"]).contains(new_id));

    // And after all of that, the index agrees with the files exactly.
    let warm = answers(&c);
    assert_eq!(warm, answers_without_index(&c));
}

#[test]
fn unreadable_file_is_reported_with_and_without_index() {
    let c = Clinic::demo(50);
    answers(&c);
    let f = &some_patient_files(&c, 1)[0];
    fs::write(c.path(f), "schema = 1\nid = [broken\n").unwrap();
    let warm = c.run(&["patient", "list", "--all"]);
    let stderr = String::from_utf8_lossy(&warm.stderr).to_string();
    assert!(
        stderr.contains(f.as_str()) && stderr.contains(":2"),
        "{stderr}"
    );
    let _ = fs::remove_dir_all(index_dir(&c));
    let cold = c.run(&["patient", "list", "--all"]);
    assert_eq!(warm.stdout, cold.stdout);
    assert_eq!(String::from_utf8_lossy(&cold.stderr), stderr);
}

fn set_mtime(p: &std::path::Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn a_file_with_a_future_timestamp_is_always_reread() {
    let c = Clinic::demo(30);
    answers(&c);
    let p = c.path(&some_patient_files(&c, 1)[0]);
    let future = SystemTime::now() + Duration::from_secs(3600);
    let text = fs::read_to_string(&p).unwrap();
    fs::write(&p, text.replacen("given = \"", "given = \"Zebulon", 1)).unwrap();
    set_mtime(&p, future);
    assert!(c.ok(&["patient", "find", "zebulon"]).contains("Zebulon"));
    let text = fs::read_to_string(&p).unwrap();
    fs::write(&p, text.replacen("Zebulon", "Zachary", 1)).unwrap();
    set_mtime(&p, future);
    assert!(c.ok(&["patient", "find", "zachary"]).contains("Zachary"));
}

/// `patient add` for a woman born 1980-04-02, the duplicate guard's shared birth date.
fn add_1980<'a>(first: &'a str, last: &'a str) -> [&'a str; 10] {
    [
        "patient",
        "add",
        "--first",
        first,
        "--last",
        last,
        "--dob",
        "1980-04-02",
        "--sex",
        "F",
    ]
}

#[test]
fn duplicate_guard_with_and_without_index() {
    let c = Clinic::new();
    let jane = c.add_jane();
    let dup = add_1980("Janet", "DOE");
    // With the keys written by the first add.
    assert!(c.fails(&dup, 2).contains(&jane));
    // With the index deleted: the guard rebuilds what it needs.
    fs::remove_dir_all(index_dir(&c)).ok();
    assert!(c.fails(&dup, 2).contains(&jane));
    // A family name changed through the tool is seen at once under its new key.
    c.ok(&["patient", "update", &jane, "--last", "Roe"]);
    c.ok(&dup);
    assert!(c.fails(&add_1980("Jane", "Roe"), 2).contains(&jane));
    // A stale key (the old name) never blocks anyone: candidates are checked against the file.
    let out = c.fails(&add_1980("Jan", "Doe"), 2);
    assert!(!out.contains(&jane), "Jane is a Roe now: {out}");
}

/// The value of `key = "value"` in a record file.
fn field(text: &str, key: &str) -> String {
    let prefix = format!("{key} = \"");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key}"))
        .trim_end_matches('"')
        .to_string()
}

/// Queries of every kind search handles, made from real patients so each finds someone: a
/// typo in a family name, birth dates in three formats, a birth year with a name, a phone
/// typed with spaces, its last four digits, a member ID, a patient ID, and names shared by
/// many patients (ties broken by ID).
fn queries_from(c: &Clinic, files: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![vec!["smith".into()], vec!["jo".into(), "smi".into()]];
    for f in files {
        let text = fs::read_to_string(c.path(f)).unwrap();
        let family = field(&text, "family").to_lowercase();
        let dob = field(&text, "birth_date");
        let (y, md) = dob.split_at(4);
        let phone = field(&text, "number");
        let national = &phone[phone.len() - 10..];
        let mut typo: Vec<char> = family.chars().collect();
        typo.swap(1, 2);
        out.push(vec![typo.into_iter().collect()]);
        out.push(vec![format!("{}/{}/{y}", &md[1..3], &md[4..6])]); // 04/02/1980 from 1980-04-02
        out.push(vec![family.clone(), dob.clone()]);
        out.push(vec![dob.replace('-', "")]);
        out.push(vec![field(&text, "given").to_lowercase(), y.to_string()]);
        out.push(vec![format!(
            "({}) {} {}",
            &national[..3],
            &national[3..6],
            &national[6..]
        )]);
        out.push(vec![national[6..].to_string()]);
        out.push(vec![field(&text, "member_id")]);
        out.push(vec![field(&text, "id")]);
    }
    out
}

/// Every query as `patient find` answers it, active patients only and with `--all`, as CSV.
fn find_answers(c: &Clinic, queries: &[Vec<String>]) -> Vec<String> {
    let mut out = Vec::new();
    for q in queries {
        for all in [false, true] {
            let mut args: Vec<&str> = vec!["--format", "csv", "patient", "find", "-n", "1000"];
            if all {
                args.push("--all");
            }
            args.extend(q.iter().map(String::as_str));
            out.push(String::from_utf8(c.run(&args).stdout).unwrap());
        }
    }
    out
}

#[test]
fn every_kind_of_query_answers_the_same_from_the_index_bytes_and_from_the_files() {
    let c = Clinic::demo(300);
    let files = some_patient_files(&c, 40);
    let picked: Vec<String> = files.iter().step_by(8).cloned().collect();
    // Deactivated patients: found with --all only, whichever path answers.
    let id_of = |f: &String| {
        f.rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".toml")
            .to_string()
    };
    c.ok(&["patient", "deactivate", &id_of(&picked[0])]);
    c.ok(&["patient", "deactivate", &id_of(&picked[1]), "--deceased"]);
    let queries = queries_from(&c, &picked);
    let cold = {
        let _ = fs::remove_dir_all(index_dir(&c));
        find_answers(&c, &queries)
    };
    for (q, answer) in queries.iter().zip(cold.iter().skip(1).step_by(2)) {
        assert!(answer.lines().count() >= 2, "{q:?} finds someone");
    }
    assert_eq!(find_answers(&c, &queries), cold, "warm index");
    for gone in [id_of(&picked[0]), id_of(&picked[1])] {
        let at = queries
            .iter()
            .position(|q| q == std::slice::from_ref(&gone))
            .unwrap();
        assert!(!cold[2 * at].contains(&gone), "inactive: not without --all");
        assert!(
            cold[2 * at + 1].contains(&gone),
            "inactive: found with --all"
        );
    }
    c.ok(&["index", "rebuild"]);
    assert_eq!(find_answers(&c, &queries), cold, "after rebuild");
}

#[test]
fn files_added_to_an_existing_shard_or_edited_with_their_times_put_back_are_seen() {
    let c = Clinic::demo(100);
    answers(&c); // warm the index
    let f = &some_patient_files(&c, 1)[0];
    let (shard, name) = f.rsplit_once('/').unwrap();
    let id = name.trim_end_matches(".toml");

    // A copy under a new ID in the same shard directory: the directory's stamp changed.
    let new_id = format!("{}ZZZZZZ", &id[..3]);
    let text = fs::read_to_string(c.path(f)).unwrap();
    let copy = text
        .replacen(id, &new_id, 1)
        .replacen("given = \"", "given = \"Wilhelmina", 1);
    fs::write(c.path(&format!("{shard}/{new_id}.toml")), copy).unwrap();
    assert!(c.ok(&["patient", "find", "wilhelmina"]).contains(&new_id));

    // Same size and the old modification time put back: the change time (which nobody can
    // set) gives it away.
    let p = c.path(f);
    let old_mtime = fs::metadata(&p).unwrap().modified().unwrap();
    let given = field(&text, "given");
    let swapped: String = given.chars().rev().collect();
    fs::write(
        &p,
        text.replacen(
            &format!("given = \"{given}\""),
            &format!("given = \"{swapped}\""),
            1,
        ),
    )
    .unwrap();
    set_mtime(&p, old_mtime);
    let found = c.ok(&[
        "--format",
        "csv",
        "patient",
        "find",
        &swapped.to_lowercase(),
    ]);
    assert!(found.contains(id), "{found}");
    assert_eq!(answers(&c), answers_without_index(&c));
}

/// Everything `patient find` prints, in every format, for queries that find many (more than
/// the limit, so the "(N more …)" line shows), some inactive patients, and nobody.
fn find_transcripts(c: &Clinic) -> Vec<(Option<i32>, String, String)> {
    let queries: &[&[&str]] = &[&["smith"], &["jo"], &["a", "--all"], &["maria"], &["zzqx"]];
    let mut out = Vec::new();
    for q in queries {
        for format in ["table", "csv", "json"] {
            let mut args = vec!["--format", format, "patient", "find", "-n", "3"];
            args.extend_from_slice(q);
            let o = c.run(&args);
            let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
            out.push((o.status.code(), text(o.stdout), text(o.stderr)));
        }
    }
    out
}

/// Waits until the files are older than the index's racy window, then lets one search
/// refresh the index, so the next search may take the warm path.
fn settle(clinics: &[Clinic]) {
    std::thread::sleep(Duration::from_millis(2300));
    for c in clinics {
        c.ok(&["patient", "find", "smith"]);
    }
}

fn patient_id_of(file: &str) -> &str {
    file.rsplit('/').next().unwrap().trim_end_matches(".toml")
}

/// One way of changing the records or the index behind the tool's back.
type Change = fn(&Clinic);

#[test]
fn after_any_change_behind_its_back_a_warm_find_prints_what_a_rebuilt_index_prints() {
    let changes: &[(&str, Change)] = &[
        ("nothing changed", |_| {}),
        ("same size, modification time put back", |c| {
            let f = c.path(&some_patient_files(c, 1)[0]);
            let old = fs::metadata(&f).unwrap().modified().unwrap();
            let text = fs::read_to_string(&f).unwrap();
            let given = field(&text, "given");
            let smith = "Smith"[..given.len().min(5)].to_string() + &given[given.len().min(5)..];
            fs::write(&f, text.replacen(&given, &smith, 1)).unwrap();
            set_mtime(&f, old);
        }),
        ("file added to a shard", |c| {
            let f = &some_patient_files(c, 1)[0];
            let id = patient_id_of(f);
            let new_id = format!("{}ZZZZZZ", &id[..3]);
            let text = fs::read_to_string(c.path(f)).unwrap();
            let copy = text
                .replacen(id, &new_id, 1)
                .replacen("family = \"", "family = \"Smith", 1);
            fs::write(c.path(&f.replace(id, &new_id)), copy).unwrap();
        }),
        ("file removed", |c| {
            let smiths = c.ok(&["--format", "csv", "patient", "find", "smith"]);
            let id = smiths.lines().nth(1).unwrap().split(',').next().unwrap();
            fs::remove_file(c.patient_file(id)).unwrap();
        }),
        ("shard directory added", |c| {
            let f = &some_patient_files(c, 1)[0];
            let text = fs::read_to_string(c.path(f)).unwrap();
            let copy = text.replacen(patient_id_of(f), "PZZZZZZZZ", 1);
            fs::create_dir(c.path("patients/ZZ")).unwrap();
            fs::write(c.path("patients/ZZ/PZZZZZZZZ.toml"), copy).unwrap();
        }),
        ("index deleted", |c| {
            fs::remove_file(index_dir(c).join("patients.bin")).unwrap();
        }),
        ("index corrupted", |c| {
            let file = index_dir(c).join("patients.bin");
            let mut bytes = fs::read(&file).unwrap();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x5a;
            fs::write(&file, bytes).unwrap();
        }),
        ("index truncated", |c| {
            let file = index_dir(c).join("patients.bin");
            let bytes = fs::read(&file).unwrap();
            fs::write(&file, &bytes[..bytes.len() - 10]).unwrap();
        }),
    ];
    let clinics: Vec<Clinic> = changes.iter().map(|_| Clinic::demo(120)).collect();
    // A file that does not parse, already in the index as such: still reported every time.
    let broken = Clinic::demo(120);
    let f = some_patient_files(&broken, 1)[0].clone();
    fs::write(broken.path(&f), "schema = 1\nid = [broken\n").unwrap();
    let mut all = clinics;
    all.push(broken);
    settle(&all);
    for (i, c) in all.iter().enumerate() {
        let what = changes.get(i).map_or("unreadable file", |(what, _)| what);
        if let Some((_, change)) = changes.get(i) {
            change(c);
        }
        let warm = find_transcripts(c);
        c.ok(&["index", "rebuild"]);
        assert_eq!(warm, find_transcripts(c), "{what}");
        assert!(
            warm[3].2.contains("more;"),
            "{what}: `jo` finds more than 3"
        );
    }
    let broken_warm = find_transcripts(all.last().unwrap());
    assert!(
        broken_warm[0].2.contains(&f),
        "reported: {:?}",
        broken_warm[0].2
    );
}
