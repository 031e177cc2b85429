//! Crash safety: writers are killed (SIGKILL at random moments, and aborted at each step of a
//! write through the FRONTDESK_FAULT=crash:STEP seam). Afterwards every file parses, every
//! record is wholly old or wholly new, nothing acknowledged is lost, and `check --fix` cleans
//! what was left. The next command that changes records repairs what a crash left (no
//! `check --fix`). Rounds: 200 in `cargo test`, 1,000 with FRONTDESK_SOAK=1.

use std::collections::HashMap;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::harness::*;

/// The writers under test. Each knows its arguments for round `n` and what it may leave.
#[derive(Clone, Copy, Debug)]
enum Writer {
    AddPatient,
    EditPatient,
    AddPayer,
    Book,
    Import,
    Collect,
}

const WRITERS: [Writer; 6] = [
    Writer::Collect,
    Writer::AddPatient,
    Writer::EditPatient,
    Writer::AddPayer,
    Writer::Book,
    Writer::Import,
];

/// Rows per import round.
const IMPORT_ROWS: usize = 10;

const MAP: &str = r#"
[identity]
system = "chart"
column = "Chart"

[fields]
given = "First"
family = "Last"
birth_date = { column = "DOB", format = "%m/%d/%Y" }
sex = { column = "Sex", map = { Male = "M", Female = "F" } }
"#;

/// A name made of letters only (names refuse digits), unique per round.
fn letters(mut n: usize) -> String {
    let mut s = String::from("Q");
    for _ in 0..5 {
        s.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
    }
    s
}

struct World {
    c: Clinic,
    jane: String,
    /// The notes value Jane's file holds now (the last one that reached the disk).
    notes: String,
    /// IDs and payer keys acknowledged (exit 0): they must survive.
    acknowledged: Vec<String>,
    /// Rounds by outcome, for the figures in docs/reliability.md.
    outcomes: HashMap<&'static str, usize>,
}

impl World {
    fn new() -> World {
        let c = Clinic::new();
        let jane = c.add_jane();
        schedule_setup(&c);
        std::fs::write(c.dir.path().join("map.toml"), MAP).unwrap();
        c.ok(&["patient", "update", &jane, "--notes", "n0"]);
        World {
            c,
            jane,
            notes: "n0".into(),
            acknowledged: Vec::new(),
            outcomes: HashMap::new(),
        }
    }

    fn args(&self, w: Writer, n: usize) -> Vec<String> {
        let v: Vec<String> = match w {
            Writer::AddPatient => vec![
                "patient",
                "add",
                "--first",
                &letters(n),
                "--last",
                "Crash",
                "--dob",
                "1970-01-01",
                "--sex",
                "U",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            Writer::EditPatient => vec![
                "patient".into(),
                "update".into(),
                self.jane.clone(),
                "--notes".into(),
                format!("n{n}"),
            ],
            Writer::AddPayer => vec![
                "payer".into(),
                "add".into(),
                format!("payer-{n}"),
                "--name".into(),
                "Crash Payer".into(),
            ],
            Writer::Book => book_args(&self.jane, n),
            Writer::Collect => [
                "pay",
                "collect",
                "--patient",
                &self.jane,
                "--amount",
                "10",
                "--method",
                "cash",
            ]
            .map(String::from)
            .to_vec(),
            Writer::Import => {
                let csv = self.c.dir.path().join(format!("import-{n}.csv"));
                let mut text = String::from("Chart,First,Last,DOB,Sex\n");
                for k in 0..IMPORT_ROWS {
                    text.push_str(&format!(
                        "c{n}x{k},Imp,{},01/02/1970,Female\n",
                        letters(n * IMPORT_ROWS + k)
                    ));
                }
                std::fs::write(&csv, text).unwrap();
                let map = self.c.dir.path().join("map.toml");
                vec![
                    "patient".into(),
                    "import".into(),
                    csv.display().to_string(),
                    "--map".into(),
                    map.display().to_string(),
                ]
            }
        };
        v
    }

    fn spawn(&self, w: Writer, n: usize, fault: Option<&str>) -> Child {
        let mut cmd = spawnable(&self.c);
        cmd.args(self.args(w, n))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if let Some(f) = fault {
            cmd.env("FRONTDESK_FAULT", f);
        }
        cmd.spawn().unwrap()
    }

    /// Checks the invariants after round `n` of writer `w` ended with `out`.
    fn settle(&mut self, w: Writer, n: usize, out: Output) {
        let done = out.status.success();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        *self
            .outcomes
            .entry(if done { "completed" } else { "killed" })
            .or_default() += 1;
        match w {
            Writer::AddPatient => {
                if done {
                    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
                    self.acknowledged.push(id);
                }
            }
            Writer::EditPatient => {
                let text = std::fs::read_to_string(self.c.patient_file(&self.jane)).unwrap();
                let t: toml::Table =
                    toml::from_str(&text).expect("Jane's file does not parse after a crash");
                let now = t["notes"].as_str().unwrap().to_string();
                let new = format!("n{n}");
                assert!(
                    now == self.notes || now == new,
                    "notes {now:?} is neither old {:?} nor new {new:?}",
                    self.notes
                );
                if done {
                    assert_eq!(now, new, "an acknowledged edit was lost");
                }
                self.notes = now;
            }
            Writer::Book | Writer::Collect => {
                if done {
                    let text = String::from_utf8(out.stdout).unwrap();
                    // The ID on a line of its own, or on a receipt's heading.
                    let id = text
                        .split_whitespace()
                        .find(|w| {
                            w.len() == 9
                                && (w.starts_with('A') || w.starts_with('T'))
                                && w.chars()
                                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                        })
                        .unwrap_or_else(|| panic!("no ID printed: {text}"))
                        .to_string();
                    self.acknowledged.push(id);
                }
            }
            Writer::Import => {
                if done {
                    let found = imported(&self.c, n);
                    assert_eq!(found, IMPORT_ROWS, "an acknowledged import is missing rows");
                }
            }
            Writer::AddPayer => {
                let path = self.c.path(&format!("payers/payer-{n}.toml"));
                if path.exists() {
                    let t: toml::Table =
                        toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                    assert_eq!(t["key"].as_str(), Some(format!("payer-{n}").as_str()));
                }
                if done {
                    assert!(path.exists(), "an acknowledged payer was lost");
                    self.acknowledged.push(format!("payer-{n}"));
                }
            }
        }
    }

    /// `check` may find only what a crash may leave: temp files, git's lock, uncommitted records.
    fn only_leftovers(&self) {
        let out = self.c.run(&["--format", "json", "check"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for p in v.as_array().unwrap() {
            assert!(
                p.get("fix").is_some(),
                "a crash left a problem --fix cannot repair: {p}"
            );
        }
    }

    /// One more command that changes records repairs whatever the crashes left: afterwards
    /// git's status is clean, no temp file is left, everything acknowledged is committed and
    /// `check` passes, with no `check --fix`.
    fn finish(&self) {
        let out = self
            .c
            .run(&["payer", "add", "after-crashes", "--name", "After"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status = git_lines(
            &self.c.root,
            &["status", "--porcelain", "--untracked-files=all"],
        );
        assert!(status.is_empty(), "left uncommitted: {status:?}");
        assert!(!self.c.path(".git/index.lock").exists());
        let (code, report) = (
            self.c.run(&["check"]).status.code(),
            self.c.run(&["check"]).stdout,
        );
        assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&report));
        let tracked = git_lines(&self.c.root, &["ls-files"]).join("\n");
        for id in &self.acknowledged {
            assert!(
                tracked.contains(id.as_str()),
                "{id} acknowledged but not in git"
            );
        }
        let leftovers: Vec<String> = walkdir::WalkDir::new(&self.c.root)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".fdtmp"))
            .map(|e| e.path().display().to_string())
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

/// How long one run of each writer takes here, so kills land across the whole run.
fn calibrate(world: &mut World, base: usize) -> HashMap<&'static str, Duration> {
    let mut times = HashMap::new();
    for (i, w) in WRITERS.into_iter().enumerate() {
        let start = Instant::now();
        let out = world.spawn(w, base + i, None).wait_with_output().unwrap();
        times.insert(name(w), start.elapsed());
        world.settle(w, base + i, out);
    }
    times
}

fn name(w: Writer) -> &'static str {
    match w {
        Writer::AddPatient => "add",
        Writer::EditPatient => "edit",
        Writer::AddPayer => "payer",
        Writer::Book => "book",
        Writer::Collect => "collect",
        Writer::Import => "import",
    }
}

/// How many patients of import round `n` are on disk.
fn imported(c: &Clinic, n: usize) -> usize {
    let needle = format!("chart = \"c{n}x");
    walkdir::WalkDir::new(c.path("patients"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(&needle)))
        .count()
}

#[test]
fn killed_at_random_moments_nothing_is_torn_or_lost() {
    let rounds = scaled(200, 1000);
    let mut world = World::new();
    let times = calibrate(&mut world, 1_000_000);
    let mut rng = rand::rng();
    let started = Instant::now();
    for n in 0..rounds {
        let w = WRITERS[n % WRITERS.len()];
        let budget = times[name(w)].mul_f64(1.3);
        let mut child = world.spawn(w, n, None);
        std::thread::sleep(budget.mul_f64(rng.random::<f64>()));
        let _ = child.kill(); // SIGKILL
        let out = child.wait_with_output().unwrap();
        world.settle(w, n, out);
        if n % 25 == 24 {
            world.only_leftovers();
        }
    }
    world.only_leftovers();
    world.finish();
    eprintln!(
        "crash: {rounds} SIGKILL rounds in {:.1} s: {:?}",
        started.elapsed().as_secs_f64(),
        world.outcomes
    );
    assert!(
        world.outcomes.get("killed").copied().unwrap_or(0) > rounds / 10,
        "too few rounds were really killed: {:?}",
        world.outcomes
    );
}

#[test]
fn aborted_at_every_step_of_a_write_nothing_is_torn_or_lost() {
    let mut world = World::new();
    let mut n = 0;
    for step in ["write", "fsync", "rename", "dirsync", "git"] {
        for nth in 1..=2 {
            for w in WRITERS {
                n += 1;
                let fault = format!("crash:{step}#{nth}");
                let out = world.spawn(w, n, Some(&fault)).wait_with_output().unwrap();
                world.settle(w, n, out);
                world.only_leftovers();
            }
        }
    }
    // Some steps are reached only once (a payer is one write), so not every spec fires.
    assert!(world.outcomes["killed"] >= 15, "{:?}", world.outcomes);
    world.finish();
}
