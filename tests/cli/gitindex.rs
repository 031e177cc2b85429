//! The cheap commit (src/history/git_fast.rs): a few records are committed through
//! `git fast-import` and the small half of git's split index, never loading the big index.
//! These tests hold git itself to account: after every command, `git status` is clean, the
//! index names the blob of each file, and `git fsck` finds nothing wrong.

use frontdesk::history::git_index::Delta;

use super::harness::{Clinic, git as git_ok, git_lines};

/// Runs `args` with git tracing on and returns the git commands frontdesk ran.
fn traced(c: &Clinic, args: &str, extra_env: &[(&str, &str)]) -> Vec<String> {
    let trace = c.dir.path().join("git-trace.log");
    let _ = std::fs::remove_file(&trace);
    let mut cmd = c.cmd();
    cmd.env("GIT_TRACE", &trace);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.args(shlex::split(args).unwrap()).output().unwrap();
    assert!(
        out.status.success(),
        "{args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&trace)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.split_once("trace: built-in: git ")
                .map(|(_, cmd)| cmd.to_string())
        })
        .collect()
}

/// git agrees that the tree, the index and HEAD are the same, and that the repository is sound.
fn assert_git_in_step(c: &Clinic) {
    assert_eq!(
        git_ok(&c.root, &["status", "--porcelain"]),
        "",
        "git status is clean"
    );
    assert_eq!(git_ok(&c.root, &["diff", "--cached", "--name-only"]), "");
    git_ok(&c.root, &["fsck", "--no-dangling", "--no-progress"]);
    // Every record file is in the index with the blob git would make of it.
    let listed = git_ok(&c.root, &["ls-files", "-s"]);
    let staged: std::collections::HashMap<&str, &str> = listed
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(meta, path)| (path, meta)))
        .collect();
    let files = c.files();
    for (file, blob) in files.iter().zip(blobs_of(&c.root, &files)) {
        let line = staged
            .get(file.as_str())
            .unwrap_or_else(|| panic!("{file} is not in the index"));
        assert!(line.contains(&blob), "{file}: index {line}, file {blob}");
    }
}

/// The blob git would make of each of `files` (relative to `root`), in order: one git for
/// them all (one each was most of this file's time on a generated clinic's thousands).
fn blobs_of(root: &std::path::Path, files: &[String]) -> Vec<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut git = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["hash-object", "--stdin-paths"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = git.stdin.take().unwrap();
    let paths: String = files.iter().map(|f| format!("{f}\n")).collect();
    let feeder = std::thread::spawn(move || stdin.write_all(paths.as_bytes()).unwrap());
    let out = git.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(out.status.success(), "git hash-object --stdin-paths");
    let blobs: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(blobs.len(), files.len(), "a blob for every file");
    blobs
}

/// A distinct family-name suffix per number (names are letters only).
fn letters(n: usize) -> String {
    format!("{}", (b'a' + (n % 26) as u8) as char)
}

fn add_patient(c: &Clinic, n: usize) -> (String, Vec<String>) {
    let args = format!(
        "patient add --first Ann --last Lee{} --dob 1980-01-{:02} --sex F",
        letters(n),
        n % 28 + 1
    );
    let git = traced(c, &args, &[]);
    let id = git_lines(&c.root, &["log", "-1", "--format=%s"])[0]
        .trim_start_matches("Add patient ")
        .trim_end_matches('.')
        .to_string();
    (id, git)
}

#[test]
fn small_commits_skip_the_big_index_and_keep_git_clean() {
    let c = Clinic::new();
    assert!(
        std::fs::read_dir(c.path(".git")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("sharedindex.")),
        "init makes a split index"
    );
    let before = c.commits();
    for n in 0..3 {
        let (_, git) = add_patient(&c, n);
        assert!(
            git.iter().any(|g| g.starts_with("fast-import")),
            "committed through fast-import: {git:?}"
        );
        // Neither command loads the whole index.
        assert!(
            !git.iter()
                .any(|g| g.starts_with("update-index") || g.starts_with("commit")),
            "{git:?}"
        );
        assert_git_in_step(&c);
    }
    assert_eq!(c.commits(), before + 3);
    let messages = c.commit_messages();
    assert!(
        messages[0].starts_with("testclerk|Add patient P"),
        "{messages:?}"
    );
    // A change to a record git already holds in its shared index.
    let (id, _) = add_patient(&c, 9);
    git_ok(&c.root, &["update-index", "--split-index"]);
    let git = traced(
        &c,
        &format!("patient update {id} --phone 617-555-0199"),
        &[],
    );
    assert!(git.iter().any(|g| g.starts_with("fast-import")), "{git:?}");
    assert_git_in_step(&c);
    let changed = git_ok(&c.root, &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(changed.trim(), format!("patients/{}/{id}.toml", &id[1..3]));
}

#[test]
fn changes_staged_by_hand_stay_staged_and_out_of_the_commit() {
    let c = Clinic::new();
    std::fs::write(c.path("notes.txt"), "front desk notes\n").unwrap();
    git_ok(&c.root, &["add", "notes.txt"]);
    git_ok(&c.root, &["commit", "-qm", "notes"]);
    git_ok(&c.root, &["update-index", "--split-index"]);
    // A staged change to a file of the shared index: git writes it as a replacing entry.
    std::fs::write(c.path("notes.txt"), "changed notes\n").unwrap();
    git_ok(&c.root, &["add", "notes.txt"]);
    let delta = Delta::parse(&std::fs::read(c.path(".git/index")).unwrap()).unwrap();
    assert!(delta.replacing() >= 1, "git wrote a replacing entry");

    let (id, git) = add_patient(&c, 1);
    assert!(git.iter().any(|g| g.starts_with("fast-import")), "{git:?}");
    let committed = git_ok(&c.root, &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(
        committed.trim(),
        format!("patients/{}/{id}.toml", &id[1..3])
    );
    assert_eq!(
        git_ok(&c.root, &["status", "--porcelain"]),
        "M  notes.txt\n"
    );
    assert_eq!(
        git_ok(&c.root, &["diff", "--cached"])
            .lines()
            .rfind(|l| l.starts_with('+')),
        Some("+changed notes")
    );
}

#[test]
fn git_by_hand_and_cheap_commits_take_turns() {
    let c = Clinic::new();
    add_patient(&c, 1);
    std::fs::write(c.path("notes.txt"), "a\n").unwrap();
    git_ok(&c.root, &["add", "notes.txt"]);
    git_ok(&c.root, &["commit", "-qm", "notes"]);
    add_patient(&c, 2);
    git_ok(&c.root, &["update-index", "--split-index"]);
    add_patient(&c, 3);
    git_ok(&c.root, &["gc", "--quiet"]);
    add_patient(&c, 4);
    assert_git_in_step(&c);
    assert_eq!(git_lines(&c.root, &["ls-files", "patients"]).len(), 4);
}

#[test]
fn a_grown_small_index_is_folded_into_a_new_shared_one() {
    let c = Clinic::new();
    // Keep git's own commands from folding it first (they do at 20 % in a tiny tree).
    git_ok(&c.root, &["config", "splitIndex.maxPercentChange", "100"]);
    let mut folded = false;
    for n in 0..8 {
        let args = format!(
            "patient add --first Bo --last Kim{} --dob 1990-02-0{} --sex M",
            letters(n),
            n + 1
        );
        let git = traced(&c, &args, &[("FRONTDESK_GIT_DELTA_LIMIT", "4")]);
        folded |= git
            .iter()
            .any(|g| g.starts_with("update-index --split-index"));
        assert_git_in_step(&c);
    }
    assert!(folded, "the porcelain way folded the small index");
    assert_eq!(git_lines(&c.root, &["ls-files", "patients"]).len(), 8);
}

#[test]
fn a_small_index_grown_by_replaced_entries_is_folded_too() {
    // Edits of files the shared index already holds add entries that replace shared ones (a
    // `git reset` once left 96,000 of them): they cost every commit as much as added entries.
    let c = Clinic::new();
    git_ok(&c.root, &["config", "splitIndex.maxPercentChange", "100"]);
    let ids: Vec<String> = (0..6).map(|n| add_patient(&c, n).0).collect();
    git_ok(&c.root, &["update-index", "--split-index"]);
    let mut folded = false;
    for id in &ids {
        let git = traced(
            &c,
            &format!("patient update {id} --email ann@example.org"),
            &[("FRONTDESK_GIT_DELTA_LIMIT", "4")],
        );
        folded |= git
            .iter()
            .any(|g| g.starts_with("update-index --split-index"));
        assert_git_in_step(&c);
    }
    assert!(folded, "five replaced entries passed the limit of four");
}

#[test]
fn an_unsplit_repository_is_committed_the_porcelain_way() {
    let c = Clinic::new();
    git_ok(&c.root, &["config", "core.splitIndex", "false"]);
    git_ok(&c.root, &["update-index", "--no-split-index"]);
    let (_, git) = add_patient(&c, 1);
    assert!(git.iter().any(|g| g.starts_with("commit")), "{git:?}");
    assert_git_in_step(&c);
}

#[test]
fn a_stale_index_lock_is_removed_and_the_record_committed() {
    let c = Clinic::new();
    let before = c.commits();
    std::fs::write(c.path(".git/index.lock"), "").unwrap();
    let out = c.run("patient add --first Cy --last Lee --dob 1982-01-02 --sex M");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(c.commits(), before + 1);
    assert!(!c.path(".git/index.lock").exists());
    assert!(git_lines(&c.root, &["status", "--porcelain"]).is_empty());
}

/// A lock that a live git process may hold (one working in the tree) is not taken away: the
/// command exits 4 with the record saved, and the next command commits it once git is done.
#[test]
fn a_lock_held_by_a_running_git_leaves_the_record_saved_and_says_so() {
    let c = Clinic::new();
    let before = c.commits();
    std::fs::write(c.path(".git/index.lock"), "").unwrap();
    // A process named git, working in the tree, as a git run by hand would be.
    let fake = c.dir.path().join("git");
    std::fs::copy("/bin/sleep", &fake).unwrap();
    // A parallel test's fork can hold the copy's write handle until its exec: the kernel
    // then refuses to run the file ("text file busy") for a moment. Try again.
    let mut git_by_hand = (0..50)
        .find_map(|_| {
            match std::process::Command::new(&fake)
                .arg("30")
                .current_dir(&c.root)
                .spawn()
            {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                }
                other => Some(other.unwrap()),
            }
        })
        .expect("the copy of sleep runs within a second");
    let out = c.run("patient add --first Cy --last Lee --dob 1982-01-02 --sex M");
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not recorded in the history"), "{err}");
    assert!(err.contains("index is locked"), "{err}");
    assert_eq!(c.commits(), before);
    assert!(
        c.path(".git/index.lock").exists(),
        "a live git's lock is left alone"
    );
    let _ = git_by_hand.kill();
    let _ = git_by_hand.wait();
    // The hand-run git is gone without cleaning up: the next command repairs and records.
    c.ok(&["payer", "add", "acme", "--name", "Acme"]);
    assert_eq!(c.commits(), before + 2);
    assert!(git_lines(&c.root, &["status", "--porcelain"]).is_empty());
}

#[test]
fn an_import_is_committed_as_one_pack_and_the_index_folded() {
    use super::harness::{examples, shared_data};
    let c = Clinic::new();
    let csv = shared_data().join("synthea/patients.csv");
    let map = examples().join("synthea-patients.map.toml");
    let args = format!(
        "patient import {} --map {} --quiet",
        csv.display(),
        map.display()
    );
    // A limit below the import's size: the small index is folded right after the commit.
    let git = traced(&c, &args, &[("FRONTDESK_GIT_DELTA_LIMIT", "500")]);
    assert!(git.iter().any(|g| g.starts_with("fast-import")), "{git:?}");
    assert!(
        git.iter()
            .any(|g| g.starts_with("update-index --split-index")),
        "{git:?}"
    );
    assert!(!git.iter().any(|g| g.starts_with("commit")), "{git:?}");
    assert_eq!(git_lines(&c.root, &["ls-files", "patients"]).len(), 1000);
    let delta = Delta::parse(&std::fs::read(c.path(".git/index")).unwrap()).unwrap();
    assert!(
        delta.added() < 500,
        "folded: {} entries left",
        delta.added()
    );
    // One pack, not a thousand loose objects for git's housekeeping to repack.
    let loose = walkdir::WalkDir::new(c.path(".git/objects"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() && !e.path().to_string_lossy().contains("pack"))
        .count();
    assert!(loose < 50, "{loose} loose objects");
    assert_git_in_step(&c);
}

/// Patient `n` added (a name of its own), the small packs rolled up past three; the git
/// commands it ran.
fn add_with_three_small_packs(c: &Clinic, n: usize) -> Vec<String> {
    let args = format!(
        "patient add --first Ann --last Lee{} --dob 1980-01-{:02} --sex F",
        letters(n),
        n % 28 + 1
    );
    traced(c, &args, &[("FRONTDESK_GIT_PACK_LIMIT", "3")])
}

/// Each direct commit is fast-import's pack as written, no loose objects; past the limit the
/// small packs are rolled into one (not by `git repack`, which walks the whole history), every
/// commit still there and git in step. `gc.auto=0` leaves the packs to whoever set it.
#[test]
fn each_commit_is_a_pack_and_small_packs_are_rolled_into_one() {
    let c = Clinic::new();
    add_patient(&c, 0); // the porcelain way, which turns the split index on
    let limit = 3;
    let add = add_with_three_small_packs;
    let before = c.packs();
    let loose = |c: &Clinic| git_ok(&c.root, &["count-objects"]);
    let loose_before = loose(&c);
    let git = add(&c, 1);
    assert!(git.iter().any(|g| g.starts_with("fast-import")), "{git:?}");
    assert_eq!(c.packs(), before + 1, "the commit is one pack");
    assert_eq!(loose(&c), loose_before, "and no loose objects");
    let mut most = 0;
    for n in 2..12 {
        let git = add(&c, n);
        assert!(!git.iter().any(|g| g.starts_with("repack")), "{git:?}");
        most = most.max(c.packs());
    }
    assert!(
        most <= limit + 1,
        "at most {limit} small packs and the new one: {most}"
    );
    assert_eq!(
        git_lines(&c.root, &["log", "--format=%s"]).len(),
        c.commits()
    );
    assert_eq!(git_lines(&c.root, &["ls-files", "patients"]).len(), 12);
    assert_git_in_step(&c);

    git_ok(&c.root, &["config", "gc.auto", "0"]);
    let before = c.packs();
    for n in 12..17 {
        add(&c, n);
    }
    assert_eq!(c.packs(), before + 5, "gc.auto=0: no roll-up");
    assert_git_in_step(&c);
}

/// A gc running beside frontdesk (its `.git/gc.pid`, as git leaves it) repacks those packs
/// itself: the roll-up waits, as a second `git gc` would, and a `gc.pid` older than twelve
/// hours is a dead gc's, as git takes it.
#[test]
fn small_packs_wait_while_a_gc_runs() {
    let c = Clinic::new();
    add_patient(&c, 0);
    let add = add_with_three_small_packs;
    let pid = c.path(".git/gc.pid");
    std::fs::write(&pid, "12345 another-host").unwrap();
    let before = c.packs();
    for n in 1..7 {
        add(&c, n);
    }
    assert_eq!(c.packs(), before + 6, "no roll-up while a gc runs");
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(13 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&pid)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    add(&c, 7);
    assert!(
        c.packs() <= 4,
        "a day-old gc.pid holds nothing: {}",
        c.packs()
    );
    assert_eq!(git_lines(&c.root, &["ls-files", "patients"]).len(), 8);
    assert_git_in_step(&c);
}

#[test]
fn loose_objects_are_packed_as_git_commit_would() {
    let c = Clinic::new();
    // A long stretch of small commits, in effect: more loose objects than gc.auto's 6,700.
    let scratch = c.dir.path().join("blobs");
    std::fs::create_dir(&scratch).unwrap();
    let mut list = String::new();
    for n in 0..10_000 {
        let path = scratch.join(n.to_string());
        std::fs::write(&path, format!("blob {n}\n")).unwrap();
        list.push_str(&format!("{}\n", path.display()));
    }
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(&c.root)
        .args(["hash-object", "-w", "--stdin-paths"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(list.as_bytes())?;
            child.wait()
        })
        .unwrap();
    assert!(out.success());
    let loose = |c: &Clinic| -> u32 {
        let counts = git_ok(&c.root, &["count-objects"]);
        counts.split_whitespace().next().unwrap().parse().unwrap()
    };
    let sample = std::fs::read_dir(c.path(".git/objects/17"))
        .unwrap()
        .count();
    assert!(loose(&c) >= 10_000 && sample > 27, "{sample} in objects/17");
    let (_, git) = add_patient(&c, 1);
    assert!(git.iter().any(|g| g.starts_with("gc --auto")), "{git:?}");
    // The records' own objects are packed: the first commit's by git, the new one's as
    // fast-import wrote it (the stray blobs are unreachable: git prunes those only after two
    // weeks).
    let counts = git_ok(&c.root, &["count-objects", "-v"]);
    assert!(counts.contains("packs: 2"), "{counts}");
    assert_eq!(loose(&c), 10_000, "only the strays are loose");
    assert_git_in_step(&c);
}

#[test]
fn a_crowded_folder_is_committed_whole_and_git_stays_in_step() {
    // A letter batch files its letters in one day's correspondence folder; past
    // FRONTDESK_GIT_CROWDED new files the folder's tree is built by `git mktree`, not by
    // fast-import's linear search (which took minutes at 145,000 files, when a statement run
    // still kept each statement as a letter).
    let c = Clinic::made_by("demo generate", |root| {
        super::harness::bare()
            .args(["demo", "generate"])
            .arg(root)
            .args([
                "--patients",
                "60",
                "--appointments",
                "1500",
                "--providers",
                "2",
            ])
            .args(["--seed", "3", "--as-of", "2026-11-27"])
            .output()
            .unwrap()
    })
    .at("2026-11-27T12:00:00-05:00");
    let kept = |c: &Clinic| {
        git_lines(
            &c.root,
            &["ls-tree", "-r", "--name-only", "HEAD", "correspondence"],
        )
        .len()
    };
    for day in ["2026-11-30", "2026-12-01"] {
        let git = traced(
            &c,
            &format!("letter batch reminder --appointments {day}"),
            &[("FRONTDESK_GIT_CROWDED", "5")],
        );
        assert!(git.iter().any(|g| g.starts_with("mktree")), "{git:?}");
        assert_git_in_step(&c);
        let on_disk = walkdir::WalkDir::new(c.path("correspondence"))
            .into_iter()
            .filter(|e| e.as_ref().unwrap().file_type().is_file())
            .count();
        // The second batch adds to the folder the first filled: both batches' letters are
        // kept (about 40 a day, two files each).
        let floor = if day == "2026-11-30" { 40 } else { 100 };
        assert!(on_disk > floor, "{on_disk} files");
        assert_eq!(kept(&c), on_disk);
    }
}

/// `report nightly` on `c` with the tidy's limit at `from` entries: its log.
fn nightly_log(c: &Clinic, from: usize) -> String {
    let run = c
        .cmd()
        .env("FRONTDESK_GIT_TIDY_FROM", from.to_string())
        .args(["report", "nightly", "--out"])
        .arg(c.dir.path().join("reports"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8(run.stdout).unwrap()
}

#[test]
fn the_nightly_run_folds_a_grown_small_index_so_the_next_day_starts_empty() {
    let c = Clinic::new();
    git_ok(&c.root, &["config", "splitIndex.maxPercentChange", "100"]);
    let small = || Delta::read(&c.root.join(".git/index")).unwrap();
    let before = small().added();
    for n in 0..3 {
        add_patient(&c, n);
    }
    let grown = small();
    assert_eq!(
        grown.added(),
        before + 3,
        "each new patient is added to the small index"
    );
    let held = grown.held();
    // Under the limit the index is left as it is, and the log says how much it holds.
    let log = nightly_log(&c, held + 1);
    let kept = format!(" history: ok: git's small index holds {held} entries");
    assert!(log.lines().any(|l| l.ends_with(&kept)), "{log}");
    assert_eq!(small().held(), held);
    // At the limit it is folded into a new shared index, which then holds every entry. (Files
    // written in the same clock tick as the index stay in the small one as replacing entries,
    // git's racy-file rule, whoever folds.)
    let shared_before = shared_index_files(&c);
    let log = nightly_log(&c, held);
    let folded = format!(" history: ok: folded git's small index ({held} entries)");
    assert!(log.lines().any(|l| l.contains(&folded)), "{log}");
    assert_eq!(small().added(), 0);
    assert_ne!(
        shared_index_files(&c),
        shared_before,
        "a new shared index was written"
    );
    assert_git_in_step(&c);
    // The desk's next commit goes the cheap way on the new shared index, and adds one entry.
    let (_, git) = add_patient(&c, 5);
    assert!(
        !git.iter()
            .any(|g| g.starts_with("commit") || g.starts_with("update-index")),
        "{git:?}"
    );
    assert_eq!(small().added(), 1);
    assert_git_in_step(&c);
}

/// The names of the shared index files in `c`'s repository.
fn shared_index_files(c: &Clinic) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(c.root.join(".git"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sharedindex."))
        .collect();
    names.sort();
    names
}

#[test]
fn a_nightly_run_on_a_tree_without_history_has_nothing_to_tidy() {
    let c = Clinic::without_git();
    let log = nightly_log(&c, 0);
    assert!(!log.contains("history:"), "{log}");
    assert!(log.lines().all(|l| l.contains(" report ")), "{log}");
}
