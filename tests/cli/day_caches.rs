//! The caches kept per day folder (derived/stamp.rs holds their racy rule): the appointment
//! index (`.frontdesk/index/appointments-YYYY.tsv`, behind `schedule list --patient`), the
//! ledger index (`.frontdesk/index/ledger-YYYY.*` and `ledger-patients/`, behind `pay ledger`)
//! and the open follow-ups' view
//! of the communications index (`.frontdesk/index/communications-open-YYYY.tsv`, behind
//! `comm due`). Each answers exactly as with
//! no cache at all after its files are cut short or have a byte changed, after a day folder
//! stamped within the racy window gets a file with its time put back, and after a file is
//! added by hand to a day folder it already lists.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::harness::*;
use crate::letter::grace_reminder;

const CACHE: &str = ".frontdesk/index";

/// One cache: how to ask the question it answers, and where its files are.
struct Case {
    c: Clinic,
    ask: Vec<String>,
    cache: &'static str,
    /// Only these files of the cache folder (the caches share it): their path in it begins so.
    prefix: &'static str,
    /// A record file of a day folder the cache lists.
    record: PathBuf,
    /// The records folder whose day folders the cache stamps (`ledger`, `appointments`).
    records: &'static str,
}

impl Case {
    fn answer(&self) -> String {
        let out = self
            .c
            .cmd()
            .env("FRONTDESK_NOW", SCHED_NOW)
            .args(&self.ask)
            .output()
            .unwrap();
        expect_ok(&self.ask, out)
    }

    /// The answer with the cache thrown away first: what every other answer must equal.
    fn truth(&self) -> String {
        for f in self.files() {
            fs::remove_file(f).unwrap();
        }
        self.answer()
    }

    /// Puts every day folder's time an hour back: outside the racy window, so the cache trusts
    /// what it kept of them and only a check of its own files can catch the damage.
    fn settle(&self) {
        let past = SystemTime::now() - Duration::from_secs(3600);
        for e in walkdir::WalkDir::new(self.c.path(self.records)) {
            let e = e.unwrap();
            if e.file_type().is_dir() {
                set_mtime(e.path(), past);
            }
        }
    }

    /// The cache's files as they are now (none before a command built them).
    fn files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = walkdir::WalkDir::new(self.c.path(self.cache))
            .into_iter()
            .filter_map(|e| e.ok())
            .map(|e| e.into_path())
            .filter(|p| {
                let rel = p.strip_prefix(self.c.path(self.cache)).unwrap();
                p.is_file() && rel.to_string_lossy().starts_with(self.prefix)
            })
            .collect();
        out.sort();
        out
    }

    /// A cache file of each kind cut in the middle and before its last byte, and with bytes
    /// changed through it: each time the answer is the one without a cache.
    fn survives_damage(&self) {
        self.settle();
        let truth = self.truth();
        assert_eq!(self.answer(), truth, "with the cache just built");
        // The fullest file of each folder (`days.tsv`, a day's list, Jane's bucket among 1,024
        // empty ones): files of a folder share their format, and each damage costs a command.
        let mut files = self.files();
        files.sort_by_key(|f| {
            (
                f.parent().map(Path::to_path_buf),
                std::cmp::Reverse(size(f)),
            )
        });
        files.dedup_by(|a, b| a.parent() == b.parent());
        assert!(!files.is_empty(), "no cache files under {}", self.cache);
        for f in files {
            let good = fs::read(&f).unwrap();
            for (what, bad) in damaged_copies(&good) {
                fs::write(&f, &bad).unwrap();
                assert_eq!(self.answer(), truth, "{} {what}", f.display());
            }
            fs::write(&f, &good).unwrap();
        }
    }

    /// A record taken out of its day folder and put back by hand (a restore, a pull), with the
    /// cache built in between: it is listed again.
    fn sees_a_file_put_back(&self, racy: bool) {
        let full = self.truth();
        let folder = self.record.parent().unwrap().to_path_buf();
        let kept_at = self.c.dir.path().join("away.toml");
        // A folder stamped after the scan that reads it began: the cache may not trust it.
        let future = SystemTime::now() + Duration::from_secs(3600);
        if racy {
            set_mtime(&folder, future);
        }
        fs::rename(&self.record, &kept_at).unwrap();
        if racy {
            set_mtime(&folder, future);
        }
        let without = self.answer();
        assert_ne!(without, full, "the record taken away is not listed");
        assert_eq!(self.truth(), without);
        fs::rename(&kept_at, &self.record).unwrap();
        if racy {
            // Its stamp is the one the cache holds: only the racy rule sends it back to look.
            set_mtime(&folder, future);
        }
        assert_eq!(self.answer(), full, "the record put back is listed again");
    }
}

impl Case {
    /// A record put back by hand into a day folder in the same clock tick as the change the
    /// cache last listed (the folder's time is the one the cache kept, half a second before
    /// its scan: file systems stamp folders from a coarse clock): it is listed again.
    fn sees_a_file_added_in_the_same_tick(&self) {
        let full = self.truth();
        let folder = self.record.parent().unwrap().to_path_buf();
        let kept_at = self.c.dir.path().join("away.toml");
        fs::rename(&self.record, &kept_at).unwrap();
        let tick = SystemTime::now() - Duration::from_millis(500);
        set_mtime(&folder, tick);
        let without = self.answer();
        assert_ne!(without, full, "the record taken away is not listed");
        fs::rename(&kept_at, &self.record).unwrap();
        set_mtime(&folder, tick);
        assert_eq!(
            self.answer(),
            full,
            "the record put back in the same tick is listed"
        );
    }
}

fn size(f: &Path) -> u64 {
    fs::metadata(f).map_or(0, |m| m.len())
}

fn set_mtime(p: &Path, t: SystemTime) {
    fs::File::open(p).unwrap().set_modified(t).unwrap();
}

/// Runs a command at ten in the morning of `day`; it must succeed.
fn run_on(c: &Clinic, day: &str, args: &[&str]) {
    let out = c
        .cmd()
        .env("FRONTDESK_NOW", format!("{day}T10:00:00-05:00"))
        .args(args)
        .output()
        .unwrap();
    expect_ok(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>(), out);
}

/// A call to `patient` logged on `day`, with its follow-up date if any.
fn log_call(c: &Clinic, day: &str, patient: &str, follow_up: Option<&str>) {
    run_on(c, day, &call_args(patient, follow_up));
}

/// `comm log` of a phone call to `patient`, with its follow-up date if any.
pub(crate) fn call_args<'a>(patient: &'a str, follow_up: Option<&'a str>) -> Vec<&'a str> {
    let mut args = vec![
        "comm",
        "log",
        "--patient",
        patient,
        "--with",
        "patient",
        "--channel",
        "phone",
        "--direction",
        "out",
        "--summary",
        "Called",
    ];
    args.extend(follow_up.iter().flat_map(|date| ["--follow-up", *date]));
    args
}

/// The first record file under `folder` (relative to the tree).
fn first_file_in(c: &Clinic, folder: &str) -> String {
    c.files()
        .into_iter()
        .find(|f| f.starts_with(folder))
        .unwrap()
}

/// Jane with four payments over three days, asked for her ledger.
fn ledger_case() -> Case {
    let c = Clinic::without_git();
    let p = c.add_jane();
    for (i, day) in ["2026-11-02", "2026-11-03", "2026-11-03", "2026-11-04"]
        .iter()
        .enumerate()
    {
        let amount = (i + 5).to_string();
        let args = [
            "pay",
            "collect",
            "--patient",
            &p,
            "--amount",
            &amount,
            "--method",
            "cash",
        ];
        run_on(&c, day, &args);
    }
    Case {
        record: c.path(&first_file_in(&c, "ledger/2026/11/03/")),
        ask: ["--format", "json", "pay", "ledger", &p]
            .map(String::from)
            .to_vec(),
        cache: CACHE,
        prefix: "ledger-",
        records: "ledger",
        c,
    }
}

/// A text cache file `good` damaged every way its tests try: cut in the middle and before its
/// last byte, and changed at the second byte of every field (IDs, dates, times), a digit to a
/// digit and a letter to a letter, which still parses. Each with what was done to it.
fn damaged_copies(good: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = [good.len() / 2, good.len() - 1]
        .into_iter()
        .map(|cut| (format!("cut at {cut}"), good[..cut].to_vec()))
        .collect();
    let places = (0..good.len())
        .filter(|&i| i == 0 || matches!(good[i - 1], b'\t' | b'\n' | b' ' | b':'))
        .map(|i| i + 1)
        .filter(|&at| at < good.len());
    for at in places {
        let mut bad = good.to_vec();
        bad[at] = match bad[at] {
            b'0'..=b'8' | b'A'..=b'Y' | b'a'..=b'y' => bad[at] + 1,
            b'9' => b'0',
            _ => b'Z',
        };
        out.push((format!("changed at byte {at}"), bad));
    }
    out
}

/// Jane with four visits over two days in 2027, asked for her appointments.
fn appointment_case() -> Case {
    let c = Clinic::without_git();
    schedule_setup(&c);
    let p = c.add_jane();
    for n in [0, 1, 30, 31] {
        c.book(&p, n);
    }
    Case {
        record: c.path(&first_file_in(&c, "appointments/2027/01/05/")),
        ask: ["--format", "json", "schedule", "list", "--patient", &p]
            .map(String::from)
            .to_vec(),
        cache: CACHE,
        prefix: "appointments-",
        records: "appointments",
        c,
    }
}

/// Jane with five calls over three days, four with a follow-up (one of them since done), asked
/// for the follow-ups due.
fn open_follow_up_case() -> Case {
    calls_case(&["comm", "due"], "communications-open-")
}

/// The same calls, and one about another patient on the same day, asked for Jane's
/// communications (the communications' day lines and their buckets by patient).
fn patient_communications_case() -> Case {
    let case = calls_case(
        &["comm", "list", "--patient", JANE_ASKED],
        "communications-",
    );
    let john = (case.c)
        .ok("patient add --first John --last Roe --dob 1975-06-07 --sex M")
        .trim()
        .to_string();
    log_call(&case.c, "2026-11-03", &john, None);
    case
}

/// The sample clinic's letters, and four more reminders to one patient over three days of
/// November, asked for that patient's letters on 27 November (the correspondence's day lines and their
/// buckets by patient; the runs' view, empty here, is asked too).
fn letters_case() -> Case {
    let c = Clinic::sample();
    // Grace Kim's reminder of her visit on 4 December (`letter::grace_reminder`).
    let patient = "PYN05M78T";
    for day in ["2026-11-02", "2026-11-03", "2026-11-03", "2026-11-04"] {
        run_on(&c, day, &grace_reminder(&[]));
    }
    let record = (c.files().into_iter())
        .find(|f| f.starts_with("correspondence/2026/11/03/") && f.ends_with(".toml"))
        .unwrap();
    Case {
        record: c.path(&record),
        ask: ["--format", "json", "letter", "sent", "--patient", patient]
            .map(String::from)
            .to_vec(),
        cache: CACHE,
        prefix: "correspondence-",
        records: "correspondence",
        c,
    }
}

#[test]
fn a_patient_s_letters_answer_as_without_a_cache_after_any_damage() {
    let case = letters_case();
    let listed = case.truth();
    // The sample's own reminder to the patient is dated after the day asked on.
    assert_eq!(listed.matches("\"letter\"").count(), 4, "{listed}");
    case.survives_damage();
}

#[test]
fn a_patient_s_letters_see_files_put_back_by_hand_racy_or_not() {
    let case = letters_case();
    case.sees_a_file_put_back(false);
    case.sees_a_file_put_back(true);
}

/// The correspondence's day lines, its runs' view and the buckets of each patient's letters
/// (`correspondence-patients/`) following them.
#[test]
fn the_correspondence_index_answers_as_without_it_after_damage_to_each_of_its_files() {
    letters_case().answers_as_without_it_after_damage_to_each_file(
        "correspondence-2026",
        "correspondence-patients",
    );
}

/// The same for a letter written and the patient's letters (`letter sent --patient`).
#[test]
fn the_command_after_a_letter_finds_the_correspondence_index_current() {
    let case = letters_case();
    let reminder = grace_reminder(&[]);
    let after = case.finds_its_buckets_current_after(&reminder, "correspondence-patients");
    assert_eq!(after.matches("\"letter\"").count(), 5, "{after}");
}

/// Stands for Jane's ID in the question [`calls_case`] is given.
const JANE_ASKED: &str = "JANE";

/// Jane's calls (see [`open_follow_up_case`]), asked `ask` (Jane's ID for [`JANE_ASKED`]), the
/// cache being the index files that begin with `prefix`.
fn calls_case(ask: &[&str], prefix: &'static str) -> Case {
    let c = Clinic::without_git();
    let p = c.add_jane();
    for (day, follow_up) in [
        ("2026-11-02", Some("2026-11-09")),
        ("2026-11-03", Some("2026-11-10")),
        ("2026-11-03", Some("2026-11-11")),
        ("2026-11-03", None),
        ("2026-11-04", Some("2026-11-12")),
    ] {
        log_call(&c, day, &p, follow_up);
    }
    let first = first_file_in(&c, "communications/2026/11/02/");
    let id = Path::new(&first).file_stem().unwrap().to_string_lossy();
    run_on(&c, "2026-11-09", &["comm", "done", &id]);
    let ask = ["--format", "json"].iter().chain(ask);
    Case {
        record: c.path(&first_file_in(&c, "communications/2026/11/04/")),
        ask: ask
            .map(|a| {
                if *a == JANE_ASKED {
                    p.clone()
                } else {
                    a.to_string()
                }
            })
            .collect(),
        cache: CACHE,
        prefix,
        records: "communications",
        c,
    }
}

#[test]
fn a_patient_s_communications_answer_as_without_a_cache_after_any_damage() {
    let case = patient_communications_case();
    let listed = case.truth();
    assert_eq!(
        listed.matches("\"id\"").count(),
        5,
        "Jane's calls only: {listed}"
    );
    case.survives_damage();
}

#[test]
fn a_patient_s_communications_see_files_put_back_by_hand_racy_or_not() {
    let case = patient_communications_case();
    case.sees_a_file_put_back(false);
    case.sees_a_file_put_back(true);
}

/// The communications' day lines and the buckets of each patient's communications
/// (`communications-patients/`) following them: see
/// [`Case::answers_as_without_it_after_damage_to_each_file`].
#[test]
fn the_communications_index_answers_as_without_it_after_damage_to_each_of_its_files() {
    patient_communications_case().answers_as_without_it_after_damage_to_each_file(
        "communications-2026",
        "communications-patients",
    );
}

#[test]
fn the_open_follow_ups_view_answers_as_without_it_after_any_damage() {
    let case = open_follow_up_case();
    let due = case.truth();
    assert_eq!(due.matches("\"follow_up\"").count(), 3, "{due}");
    case.survives_damage();
}

#[test]
fn the_open_follow_ups_view_sees_files_put_back_by_hand_racy_or_not() {
    let case = open_follow_up_case();
    case.sees_a_file_put_back(false);
    case.sees_a_file_put_back(true);
}

/// A call logged into a day the view holds, and one logged into a new day: the next question
/// re-reads those days into the view alone, and leaves the year's index (its base, overlay,
/// summary: 2 MB and more a year at full size) as the write left it (the list of the year's day
/// folders aside); the answer is the one
/// without a cache, and a call put in by hand beside them is found too.
#[test]
fn a_call_logged_is_read_into_the_view_without_reading_the_year_s_index() {
    let case = open_follow_up_case();
    case.settle();
    let before = case.truth();
    let p = (case.c)
        .ok("patient add --first Ann --last Lee --dob 1970-03-04 --sex F")
        .trim()
        .to_string();
    let index_files = || -> Vec<(PathBuf, Vec<u8>, u64)> {
        use std::os::unix::fs::MetadataExt;
        let dir = case.c.path(CACHE);
        let mut out: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|f| {
                let name = f.file_name().unwrap().to_string_lossy().to_string();
                // Not the list of the year's day folders (its own small cache: a new day
                // folder moves its month's stamp).
                name.starts_with("communications-2026") && !name.ends_with(".folders")
            })
            .map(|f| {
                let ino = fs::metadata(&f).unwrap().ino();
                (f.clone(), fs::read(&f).unwrap(), ino)
            })
            .collect();
        out.sort();
        out
    };
    for day in ["2026-11-04", "2026-11-05"] {
        log_call(&case.c, day, &p, Some("2026-11-20"));
        let left = index_files();
        assert!(!left.is_empty(), "the year's index is there");
        let due = case.answer();
        assert_eq!(index_files(), left, "the question rewrote the year's index");
        assert_ne!(due, before, "the new follow-up is listed");
        // Again after a racy window's worth of time: the same (nothing re-read differs).
        assert_eq!(case.answer(), due);
        assert_eq!(case.truth(), due, "the answer without a cache");
    }
    // A call put in by hand beside the tool's, in a folder the view holds.
    case.settle();
    let due = case.answer();
    let id = case
        .record
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let other = format!(
        "{}{}",
        &id[..id.len() - 1],
        if id.ends_with('A') { 'B' } else { 'A' }
    );
    let text = fs::read_to_string(&case.record).unwrap();
    let by_hand = case.record.with_file_name(format!("{other}.toml"));
    fs::write(&by_hand, text.replace(&id, &other)).unwrap();
    let with_hand = case.answer();
    assert_ne!(with_hand, due, "the call put in by hand is listed");
    assert_eq!(case.truth(), with_hand);
}

#[test]
fn the_ledger_index_answers_as_without_it_after_any_damage() {
    ledger_case().survives_damage();
}

#[test]
fn the_ledger_index_sees_files_put_back_by_hand_racy_or_not() {
    let case = ledger_case();
    case.sees_a_file_put_back(false);
    case.sees_a_file_put_back(true);
}

/// The ledger index is the engine's day lines (`ledger-YYYY.tsv`, its summary `.ids`, its map
/// of line places `.lines`, its overlay `.recent.tsv`) and the buckets following them
/// (`ledger-patients/`): see [`Case::answers_as_without_it_after_damage_to_each_file`].
#[test]
fn the_ledger_index_answers_as_without_it_after_damage_to_each_of_its_files() {
    ledger_case().answers_as_without_it_after_damage_to_each_file("ledger-2026", "ledger-patients");
}

/// The appointment index, with the buckets of each patient's visits (`appointments-patients/`)
/// following its day lines, the same way.
#[test]
fn the_appointment_index_answers_as_without_it_after_damage_to_each_of_its_files() {
    appointment_case().answers_as_without_it_after_damage_to_each_file(
        "appointments-2027",
        "appointments-patients",
    );
}

impl Case {
    /// A followed kind's year (`year`: `ledger-2026`) and its buckets (`buckets`): each of its
    /// files in turn cut short or with a byte changed, then a day changed behind the index's
    /// back (a record taken away, then put back): every answer is the one without any cache.
    fn answers_as_without_it_after_damage_to_each_file(&self, year: &str, buckets: &str) {
        self.settle();
        let full = self.truth();
        let folder = self.record.parent().unwrap().to_path_buf();
        let kept_at = self.c.dir.path().join("away.toml");
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let mut moves = 0;
        // Each move sets the folder's time an hour back and a second on (not racy: only the
        // changed time sends the index to the folder).
        let mut move_record = |away: bool| {
            moves += 1;
            match away {
                true => fs::rename(&self.record, &kept_at).unwrap(),
                false => fs::rename(&kept_at, &self.record).unwrap(),
            }
            set_mtime(&folder, hour_ago + Duration::from_secs(moves));
        };
        // An overlay: a day re-read since the year's file was written.
        move_record(true);
        let without = self.answer();
        assert_ne!(without, full);
        move_record(false);
        assert_eq!(self.answer(), full);
        let index = self.c.path(".frontdesk/index");
        let names = [
            format!("{year}.tsv"),
            format!("{year}.ids"),
            format!("{year}.lines"),
            format!("{year}.recent.tsv"),
            format!("{buckets}/years.tsv"),
        ];
        let jane_bucket = self
            .files()
            .into_iter()
            .filter(|f| f.starts_with(index.join(buckets)))
            .max_by_key(|f| size(f))
            .unwrap();
        for f in names.iter().map(|n| index.join(n)).chain([jane_bucket]) {
            let Ok(good) = fs::read(&f) else {
                panic!("{} is written", f.display())
            };
            let mut flipped = good.clone();
            flipped[good.len() / 2] ^= 0x01;
            for bad in [good[..good.len() / 2].to_vec(), flipped] {
                fs::write(&f, &bad).unwrap();
                move_record(true);
                assert_eq!(self.answer(), without, "{} damaged, away", f.display());
                move_record(false);
                assert_eq!(self.answer(), full, "{} damaged, back", f.display());
            }
        }
    }
}

#[test]
fn the_appointment_index_answers_as_without_it_after_any_damage() {
    appointment_case().survives_damage();
}

#[test]
fn the_appointment_index_sees_files_put_back_by_hand_racy_or_not() {
    let case = appointment_case();
    case.sees_a_file_put_back(false);
    case.sees_a_file_put_back(true);
}

/// The appointment index's memory of a day it re-read (`.frontdesk/index/days/`, which lets a
/// changed day open only its changed files): cut short or with a byte changed, and with a file
/// of the day edited by hand keeping its size and modification time (only its change time
/// moves), the next change of the day answers as without any cache.
#[test]
fn the_appointment_index_memory_of_a_day_answers_as_without_it() {
    let case = appointment_case();
    let john = case
        .c
        .ok("patient add --first John --last Roe --dob 1975-06-07 --sex M --phone 617-555-0102");
    let jane_file = fs::read_to_string(&case.record).unwrap();
    let jane = jane_file
        .lines()
        .find_map(|l| l.strip_prefix("patient = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    case.settle();
    let folder = case.record.parent().unwrap().to_path_buf();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    // Each call changes the day folder's time (not racy): the index re-reads that day.
    let mut moves = 0;
    let mut change_the_day = || {
        moves += 1;
        set_mtime(&folder, hour_ago + Duration::from_secs(moves));
    };
    let truth = case.truth();
    // Files stamped within two seconds of the listing that remembers them are read again
    // anyway: let the record files' change times settle first.
    std::thread::sleep(Duration::from_millis(2100));
    change_the_day();
    assert_eq!(case.answer(), truth);
    let memory = case
        .c
        .path(".frontdesk/index/days/appointments/2027-01-05.bin");
    let good = fs::read(&memory).expect("the re-read day is remembered");
    let mut damaged = vec![
        good[..good.len() / 2].to_vec(),
        good[..good.len() - 1].to_vec(),
    ];
    for at in (0..good.len()).step_by(7) {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        damaged.push(bad);
    }
    for bad in damaged {
        fs::write(&memory, &bad).unwrap();
        change_the_day();
        assert_eq!(case.answer(), truth);
    }
    fs::write(&memory, &good).unwrap();
    // Jane's visit becomes John's by hand: same size, modification time put back.
    let mtime = fs::metadata(&case.record).unwrap().modified().unwrap();
    fs::write(&case.record, jane_file.replace(&jane, john.trim())).unwrap();
    set_mtime(&case.record, mtime);
    change_the_day();
    // Asked for John: a list from a stale line would not have the visit (asked for Jane, the
    // command reads each visit and would drop it whatever the index said).
    let ask_john = [
        "--format",
        "json",
        "schedule",
        "list",
        "--patient",
        john.trim(),
    ];
    let johns = case.c.ok(ask_john.as_slice());
    assert_eq!(johns.matches("\"id\"").count(), 1, "{johns}");
    change_the_day();
    assert_ne!(case.answer(), truth, "the edited visit is no longer Jane's");
    for f in case.files() {
        fs::remove_file(f).unwrap();
    }
    assert_eq!(case.c.ok(ask_john.as_slice()), johns);
}

/// Every day-folder cache, one racy rule (`stamp::SETTLE_NS`): a file added in the clock tick
/// of the change a cache last listed is seen.
#[test]
fn every_day_folder_cache_sees_a_file_added_in_the_same_tick() {
    for case in [
        appointment_case(),
        ledger_case(),
        open_follow_up_case(),
        patient_communications_case(),
        letters_case(),
    ] {
        case.sees_a_file_added_in_the_same_tick();
    }
}

/// Write-through: a payment leaves the ledger index as the command after it would make it, so
/// `pay ledger` right after the payment rewrites no bucket and answers as it would without any
/// cache.
#[test]
fn the_command_after_a_payment_finds_the_ledger_index_current() {
    let case = ledger_case();
    let jane = case.ask.last().unwrap().clone();
    let pay = [
        "pay",
        "collect",
        "--patient",
        &jane,
        "--amount",
        "9",
        "--method",
        "cash",
    ];
    let after = case.finds_its_buckets_current_after(&pay, "ledger-patients");
    assert!(after.contains("\"9.00\""), "the payment is listed: {after}");
}

/// The same for a call logged and the patient's communications (`comm list --patient`).
#[test]
fn the_command_after_a_call_finds_the_communications_index_current() {
    let case = patient_communications_case();
    let jane = case.ask.last().unwrap().clone();
    let call = call_args(&jane, None);
    let after = case.finds_its_buckets_current_after(&call, "communications-patients");
    assert_eq!(
        after.matches("\"id\"").count(),
        6,
        "the call is listed: {after}"
    );
}

impl Case {
    /// The answer right after `write` (made on 2026-11-04, the question asked once before),
    /// checked to have rewritten none of the kind's buckets (`buckets`: a rewrite by rename
    /// changes a file's inode even when it writes the same bytes) and to equal the answer
    /// without any cache.
    fn finds_its_buckets_current_after(&self, write: &[&str], buckets: &str) -> String {
        use std::os::unix::fs::MetadataExt;
        self.answer();
        run_on(&self.c, "2026-11-04", write);
        let bucket_files = || -> Vec<(PathBuf, u64, Vec<u8>)> {
            let mut out: Vec<_> = (self.files().into_iter())
                .filter(|f| f.parent().is_some_and(|d| d.ends_with(buckets)))
                .map(|f| {
                    let ino = fs::metadata(&f).unwrap().ino();
                    (f.clone(), ino, fs::read(&f).unwrap())
                })
                .collect();
            out.sort();
            out
        };
        let left = bucket_files();
        assert!(!left.is_empty(), "no buckets under {CACHE}/{buckets}");
        let after = self.answer();
        assert!(
            bucket_files() == left,
            "the command after the write rewrote a bucket"
        );
        assert_eq!(after, self.truth());
        after
    }
}

/// A day re-read since its year's file was written goes to the year's overlay
/// (`appointments-YYYY.recent.tsv`) instead of a rewrite of the whole year. Cut short, with a
/// byte changed, or left over from another base (a crash between the two writes), the overlay
/// is not trusted and the answer is the one without any cache; a day folder gone folds it into
/// the base.
#[test]
fn the_appointment_index_overlay_answers_as_without_it() {
    let case = appointment_case();
    case.settle();
    let before = case.truth();
    let jane = case.ask.last().unwrap().clone();
    case.c.book(&jane, 2);
    let overlay = case.c.path(".frontdesk/index/appointments-2027.recent.tsv");
    let base = case.c.path(".frontdesk/index/appointments-2027.tsv");
    let base_bytes = fs::read(&base).unwrap();
    let full = case.answer();
    assert_ne!(full, before, "the new visit is listed");
    let good = fs::read(&overlay).expect("the re-read day went to the overlay");
    assert_eq!(
        fs::read(&base).unwrap(),
        base_bytes,
        "the base was not rewritten"
    );
    assert!(
        String::from_utf8_lossy(&good).contains("2027-01-0"),
        "a day line"
    );
    for (what, bad) in damaged_copies(&good) {
        fs::write(&overlay, &bad).unwrap();
        assert_eq!(case.answer(), full, "the overlay {what}");
    }
    // An overlay over another base (the year written whole since, by a rebuild, and the old
    // overlay put back, as a crash between the two writes would leave it) is not read.
    fs::write(&overlay, &good).unwrap();
    case.c.ok("index rebuild");
    assert!(!overlay.exists(), "a whole write removes the overlay");
    fs::write(&overlay, &good).unwrap();
    case.settle();
    assert_eq!(case.answer(), full);
    // A day folder gone: the year is written whole and the overlay goes.
    let gone = case.record.parent().unwrap().to_path_buf();
    let away = case.c.dir.path().join("away");
    fs::rename(&gone, &away).unwrap();
    let without = case.answer();
    assert_ne!(without, full);
    assert!(!overlay.exists(), "folded into the base");
    assert_eq!(case.truth(), without);
}
