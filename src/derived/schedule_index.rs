//! The day-folder caches declared over the engine in `day_index.rs`, and the questions asked of
//! them: which patient each appointment belongs to and on which day it lies, so finding an
//! appointment by ID or listing a patient's history never walks ten years of files; the
//! communications and their open follow-ups; and, asked of the ledger's kind (declared in
//! `ledger_index.rs`), which day holds an entry.
//!
//! Each kind is a [`Shelf`]: its folder, its index files' name, and what its line keeps of one
//! record file (`ID:PATIENT` for an appointment, `C…:P…[:DUE]` for a communication,
//! `T…:P…` for a ledger entry). The format, validation against the day folders, the racy
//! rule, re-reading, the overlay, the view, rebuild and removal are the engine's (design:
//! docs/scheduling.md).
//!
//! A lookup by ID first trusts the index without validating it (the file itself is then read and
//! its ID checked), and only on a miss validates and retries, so `schedule move ID` reads one
//! index file and one appointment.
//!
//! The ledger's files, one per year ([`LEDGER`], re-exported), serve `history T…` and `pay
//! void`, which find an entry's day through them. Every kind is keyed by the file's name, which
//! is what a new record's ID must not repeat on another day ([`Snapshot`], taken once per write
//! transaction, answers that for every record the transaction adds).

use std::fs;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::derived::by_patient::ByPatient;
#[cfg(test)]
use crate::derived::day_index::read_day;
use crate::derived::day_index::{
    Holding, View, YearIndex, YearText, index_path, pack, refresh_year, refresh_year_from,
};
pub use crate::derived::day_index::{Shelf, each_day, each_day_in_view, rebuild, remove};
use crate::derived::day_listing::day_dirs_in;
pub use crate::derived::ledger_index::LEDGER;
use crate::derived::stamp::first_holding;
use crate::disk::Tree;
use crate::disk::layout::{self, years_in};
use crate::domain::id::Id;
use crate::error::Result;
use crate::text::parse_toml;

pub static APPOINTMENTS: Shelf = Shelf {
    dir: layout::APPOINTMENTS_DIR,
    name: "appointments",
    // 3 since the lines are followed by the buckets (see `unfollowed_magic`).
    magic: "frontdesk-appointments 3",
    pairs: true,
    token: Some(appointment_token),
    rel: layout::appointment_rel,
    view: None,
    follower: Some(&VISITS),
    unfollowed_magic: Some("frontdesk-appointments 2"),
};

/// Each patient's visits by day, brought along with the appointments' day lines: a patient's
/// visits (`schedule list`, a new-patient booking's check) read one bucket instead of ten
/// years of day lines (20 MB at full size). A static, as the ledger's [`PATIENTS`].
pub(crate) static VISITS: ByPatient = ByPatient {
    shelf: &APPOINTMENTS,
    folder: "appointments-patients",
    years_format: "frontdesk-appointments-buckets 1",
};

/// Communications (docs/comms.md): each as `C…:P…`, with `:DUE` while its follow-up is open,
/// so `comm due` finds the open follow-ups without opening a closed communication.
pub static COMMUNICATIONS: Shelf = Shelf {
    dir: layout::COMMUNICATIONS_DIR,
    name: "communications",
    // 3 since the lines are followed by the buckets (see `unfollowed_magic`).
    magic: "frontdesk-communications 3",
    pairs: true,
    token: Some(communication_token),
    rel: layout::communication_rel,
    view: Some(View {
        name: "communications-open",
        magic: "frontdesk-communications-open 1",
        keep: crate::domain::comm::is_open_token,
    }),
    follower: Some(&PATIENT_COMMUNICATIONS),
    unfollowed_magic: Some("frontdesk-communications 2"),
};

/// Each patient's communications by day, brought along with the communications' day lines:
/// `comm list --patient` (and a merge) read one bucket instead of ten years of day lines
/// (23 MB at full size, a whole year of them parsed again after every call logged).
pub(crate) static PATIENT_COMMUNICATIONS: ByPatient = ByPatient {
    shelf: &COMMUNICATIONS,
    folder: "communications-patients",
    years_format: "frontdesk-communications-buckets 1",
};

/// The correspondence (docs/letters.md): each letter as `L…:P…`, each statement run (and a
/// record that cannot be read) as `L…:`, for the runs hold no one patient. `letter sent
/// --patient` reads the patient's bucket and the runs' view instead of every record of every
/// year (1.5 s at 100,000 letters; a reminder a visit makes a million in ten years).
pub static CORRESPONDENCE: Shelf = Shelf {
    dir: layout::CORRESPONDENCE_DIR,
    name: "correspondence",
    magic: "frontdesk-correspondence 1",
    pairs: true,
    token: Some(letter_token),
    rel: layout::letter_rel,
    view: Some(View {
        name: "correspondence-runs",
        magic: "frontdesk-correspondence-runs 1",
        keep: |token| token.ends_with(':'),
    }),
    follower: Some(&PATIENT_LETTERS),
    unfollowed_magic: None,
};

/// Each patient's letters by day, brought along with the correspondence's day lines.
pub(crate) static PATIENT_LETTERS: ByPatient = ByPatient {
    shelf: &CORRESPONDENCE,
    folder: "correspondence-patients",
    years_format: "frontdesk-correspondence-buckets 1",
};

/// What the index needs from a letter's or a run's record.
#[derive(Deserialize)]
struct LetterHead {
    id: Id,
    #[serde(default)]
    patient: Option<Id>,
}

/// One correspondence record's token: `L…:P…` for a letter, `L…:` for a run or a record that
/// cannot be read (so the runs' view holds it, and reading it reports it). A letter's head is
/// read without a full TOML parse when it can be ([`quick_head`]): a batch writes hundreds of
/// letters, and the write-through reads each one's token.
fn letter_token(path: &Path, id: &Id) -> String {
    let patient = fs::read(path)
        .ok()
        .and_then(|bytes| match quick_head(&bytes) {
            Some((head_id, patient)) => (&head_id == id).then_some(patient),
            None => parse_toml::<LetterHead>(path, &bytes)
                .ok()
                .filter(|h| &h.id == id)
                .and_then(|h| h.patient),
        });
    format!(
        "{id}:{}",
        patient.map(|p| p.to_string()).unwrap_or_default()
    )
}

/// The (day, letter ID) of every letter to `patient` the index holds, brought up to date.
pub fn letters_of(store: &Tree, patient: &Id) -> Result<Vec<(NaiveDate, Id)>> {
    PATIENT_LETTERS.patient_records(store, patient)
}

/// The (day, record ID) of every statement run (and unreadable record) the runs' view holds.
pub fn runs(store: &Tree) -> Result<Vec<(NaiveDate, Id)>> {
    let mut out = Vec::new();
    each_day_in_view(store, &CORRESPONDENCE, |day, line| {
        let ids = line.split(' ').filter_map(|t| t.strip_suffix(':'));
        out.extend(ids.filter_map(|id| Some((day, Id::parse(id).ok()?))));
    })?;
    Ok(out)
}

impl Shelf {
    /// A day other than `except` with a file named `id`. Each year is answered by its index,
    /// validated against the day folders first (one `stat` per folder, re-reading those that
    /// changed), so files put there by hand or pulled from another site count. A year without
    /// an index file (a fresh clone) is answered by one existence check per day folder instead,
    /// rather than building a paired index in the middle of a booking (a names-only one is
    /// built: it needs no file opened). At ten years of history the
    /// index answers in about 30 ms where the per-folder checks took 0.2-1 s: each is a lookup
    /// of a name that is not there, which reads the folder's hash tree.
    pub fn other_day_holding(
        &self,
        store: &Tree,
        id: &Id,
        except: NaiveDate,
    ) -> Result<Option<NaiveDate>> {
        for year in years_in(store, self.dir)? {
            if self.absent_by_summary(store, year, id)? {
                continue;
            }
            let found = match YearText::read(&index_path(store, self, year)) {
                // A names-only index (ledger IDs) is built from folder listings alone, about
                // 0.3 s a year at full size, once; without it every payment paid ~30 ms a year
                // for its existence checks. A paired index opens every file, too long to build
                // in the middle of a booking.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !self.pairs => {
                    let idx = refresh_year_from(store, self, year, Default::default())?;
                    find_in_year(&idx, id, Some(except))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.day_holding_in(store, id, except, year)?
                }
                Ok(text) if self.surely_absent(store, year, &text, id)? => None,
                read => {
                    // A hit, a changed folder or a damaged file: refresh from the bytes read.
                    let old = read.ok().and_then(|text| text.parse(self));
                    let idx = refresh_year_from(store, self, year, old.unwrap_or_default())?;
                    find_in_year(&idx, id, Some(except))
                }
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// A day of `year` other than `except` whose folder holds a file named `id`, by looking
    /// (on both cores: a booking on a fresh clone of the big clinic looked 2,200 times).
    fn day_holding_in(
        &self,
        store: &Tree,
        id: &Id,
        except: NaiveDate,
        year: i32,
    ) -> Result<Option<NaiveDate>> {
        let name = format!("{id}.toml");
        let folders = day_dirs_in(store, self.dir, year)?;
        Ok(first_holding(&folders, name.as_ref(), except))
    }
}

/// Only what the index needs from a file; the rest is not even looked at by serde.
#[derive(Deserialize)]
struct Head {
    patient: Id,
}

/// `ID:PATIENT` for one appointment file. A file whose patient cannot be read (broken, or
/// written by hand) is still listed by its name, as `ID:`, so its ID counts as taken; the
/// command that reads it reports what is wrong with it.
fn appointment_token(path: &Path, id: &Id) -> String {
    let patient = fs::read(path).ok().and_then(|bytes| {
        quick_head(&bytes)
            .map(|(_, p)| p)
            .or_else(|| parse_toml::<Head>(path, &bytes).ok().map(|h| h.patient))
    });
    format!(
        "{id}:{}",
        patient.map(|p| p.to_string()).unwrap_or_default()
    )
}

/// What the index needs from a communication's file.
#[derive(Deserialize)]
struct CommunicationHead {
    id: Id,
    #[serde(default)]
    patient: Option<Id>,
    #[serde(default)]
    follow_up: Option<NaiveDate>,
    #[serde(default)]
    done: Option<toml::Value>,
}

/// One communication file's token (see [`Communication::index_token`]): `C…:P…`, with `:DUE`
/// while its follow-up is open. A file that cannot be read is listed by its name alone
/// (`C…:`), so its ID still counts as taken; `check` and the command that reads it report
/// what is wrong with it.
fn communication_token(path: &Path, id: &Id) -> String {
    let head = fs::read(path)
        .ok()
        .and_then(|bytes| parse_toml::<CommunicationHead>(path, &bytes).ok())
        .filter(|h| &h.id == id);
    match head {
        Some(h) => {
            let patient = h.patient.map(|p| p.to_string()).unwrap_or_default();
            match h.follow_up.filter(|_| h.done.is_none()) {
                Some(due) => format!("{id}:{patient}:{due}"),
                None => format!("{id}:{patient}"),
            }
        }
        None => format!("{id}:"),
    }
}

/// One communication day folder's line, as the index keeps it.
#[cfg(test)]
pub(crate) fn read_communication_day(dir: &Path) -> Result<String> {
    let tree = Tree::new(dir);
    read_day(&tree, &COMMUNICATIONS, NaiveDate::MIN, dir, false)
}

/// `id` and `patient` from the top of a file as the store writes it (`id = "A…"` lines before
/// any table), without a full TOML parse; `None` sends anything unusual to the real parser.
fn quick_head(bytes: &[u8]) -> Option<(Id, Id)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (mut id, mut patient) = (None, None);
    for line in text.lines() {
        if line.starts_with('[') {
            break;
        }
        let value = |key: &str| {
            line.strip_prefix(key)?
                .strip_prefix(" = \"")?
                .strip_suffix('"')
                .and_then(|v| Id::parse(v).ok())
        };
        if let Some(v) = value("id") {
            if id.is_some() {
                return None;
            }
            id = Some(v);
        } else if let Some(v) = value("patient") {
            if patient.is_some() {
                return None;
            }
            patient = Some(v);
        }
    }
    Some((id?, patient?))
}

/// The day an appointment is filed under, or `None` when no such appointment exists.
pub fn date_of(store: &Tree, id: &Id) -> Result<Option<NaiveDate>> {
    date_in(store, &APPOINTMENTS, id)
}

/// The day the record `id` of this kind is filed under, or `None` when there is no such file.
pub fn date_in(store: &Tree, shelf: &Shelf, id: &Id) -> Result<Option<NaiveDate>> {
    // Each year's index text as it stands (newest first, where most lookups land), and the
    // folders changed since, without parsing or refreshing it: the appointment checked in is
    // often the one booked a moment ago, in a folder the index has not seen since. A year
    // whose index is missing or damaged is refreshed.
    for y in years_in(store, shelf.dir)? {
        let holding = match YearText::read(&index_path(store, shelf, y)) {
            Ok(text) => shelf.day_holding(store, y, &text, id, |bytes| {
                find_in_text(std::str::from_utf8(bytes).ok()?, id)
            })?,
            Err(_) => Holding::Unknown,
        };
        match holding {
            Holding::At(date) => return Ok(Some(date)),
            Holding::Nowhere => {}
            Holding::Unknown => {
                let idx = refresh_year(store, shelf, y)?;
                if let Some(date) = find_in_year(&idx, id, None) {
                    return Ok(Some(date));
                }
            }
        }
    }
    Ok(None)
}

/// The IDs of every day of one kind of record, from its index validated against the day folders
/// once: a write transaction takes it before checking its second record of the kind, and then
/// asks it, for each new record, whether another day already has a file of that name. The IDs
/// are kept packed in a sorted vector (8 bytes each), so asking costs a binary search, not a
/// scan of a million IDs; years are read one at a time, so memory stays at one year's index.
pub struct Snapshot {
    shelf: &'static Shelf,
    packed: Vec<u64>,
}

impl Snapshot {
    pub fn take(store: &Tree, shelf: &'static Shelf) -> Result<Snapshot> {
        let mut packed = Vec::new();
        for y in years_in(store, shelf.dir)? {
            let idx = refresh_year(store, shelf, y)?;
            packed.extend(
                idx.days
                    .values()
                    .flat_map(|d| d.pairs.split(' '))
                    .filter_map(|p| pack(p.split_once(':').map_or(p, |(id, _)| id))),
            );
        }
        packed.sort_unstable();
        Ok(Snapshot { shelf, packed })
    }

    /// A day other than `except` that holds a file named `id`. The snapshot keeps IDs without
    /// their days, and a taken ID is nearly always taken on `except` itself (the record being
    /// rewritten), so a hit is settled by [`Shelf::other_day_holding`], which finds its day.
    pub fn day_of(&self, store: &Tree, id: &Id, except: NaiveDate) -> Result<Option<NaiveDate>> {
        match pack(id.as_str()) {
            Some(key) if self.packed.binary_search(&key).is_ok() => {
                self.shelf.other_day_holding(store, id, except)
            }
            _ => Ok(None),
        }
    }
}

/// The first day of a year (other than `except`) whose line holds `id` as a whole record.
fn find_in_year(idx: &YearIndex, id: &Id, except: Option<NaiveDate>) -> Option<NaiveDate> {
    idx.days
        .iter()
        .filter(|(date, _)| Some(**date) != except)
        .find(|(_, d)| holds(&d.pairs, id))
        .map(|(date, _)| *date)
}

/// True when `id` is one of the records of a day line (`ID:PATIENT` or bare `ID`, separated
/// by spaces).
fn holds(pairs: &str, id: &Id) -> bool {
    whole_id_at(pairs, id).is_some()
}

/// The date of the line that holds `id` as a whole record, searching the raw index text.
fn find_in_text(text: &str, id: &Id) -> Option<NaiveDate> {
    let at = whole_id_at(text, id)?;
    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    text[line_start..].get(..10)?.parse().ok()
}

/// Where `id` stands as a whole record in index text: after the start, a space or a tab, and
/// before the end, a `:`, a space or a newline. A substring search first (memchr's vectorised
/// `memmem`: std's `str::find` was the largest cost of a booking's ID check at full size), so
/// most day lines cost one scan.
fn whole_id_at(text: &str, id: &Id) -> Option<usize> {
    let needle = id.as_str().as_bytes();
    let bytes = text.as_bytes();
    memchr::memmem::find_iter(bytes, needle).find(|&at| {
        let end = at + needle.len();
        let starts = at == 0 || matches!(bytes[at - 1], b' ' | b'\t');
        let ends = matches!(bytes.get(end), None | Some(b':' | b' ' | b'\n'));
        starts && ends
    })
}

/// Every (day, appointment) of one patient, oldest first: their bucket, with the appointments'
/// day lines brought up to date first (one stat per day folder, re-reading those changed).
pub fn of_patient(store: &Tree, patient: &Id) -> Result<Vec<(NaiveDate, Id)>> {
    VISITS.patient_records(store, patient)
}

/// Every (day, communication) about one patient, oldest first: their bucket, as [`of_patient`].
pub fn communications_of(store: &Tree, patient: &Id) -> Result<Vec<(NaiveDate, Id)>> {
    PATIENT_COMMUNICATIONS.patient_records(store, patient)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derived::by_patient::pairs;
    use crate::derived::day_index::{parse, well_formed};
    use crate::derived::stamp::settle_folder;
    use crate::disk::codec::text_trailer;

    /// An index file's text as `save` ends it.
    fn sealed(text: &str) -> String {
        format!(
            "{text}{}",
            text_trailer(text.as_bytes(), text.lines().count())
        )
    }

    #[test]
    fn a_record_is_found_by_its_id_wherever_a_hand_or_a_moment_ago_put_it() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let id = |s: &str| Id::parse(s).unwrap();
        let put = |day: &str, t: &str| {
            let path = tree.path(&layout::ledger_rel(d(day), &id(t)));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "").unwrap();
            path
        };
        let first = put("2026-11-02", "T11111111");
        put("2026-11-03", "T22222222");
        put("2025-06-30", "T33333333");
        let settle_all = || {
            for day in ["2026-11-02", "2026-11-03", "2025-06-30"] {
                settle_folder(&tree.path(&layout::ledger_day_rel(d(day))));
            }
        };
        settle_all();
        let found = |t: &str| date_in(&tree, &LEDGER, &id(t)).unwrap();
        // No index yet: built, then read.
        assert_eq!(found("T11111111"), Some(d("2026-11-02")));
        assert_eq!(found("T33333333"), Some(d("2025-06-30")));
        assert_eq!(found("T44444444"), None);
        // Moved by hand to a day the index has never seen: its folder is new, so looked into.
        let moved = tree.path(&layout::ledger_rel(d("2026-12-01"), &id("T11111111")));
        fs::create_dir_all(moved.parent().unwrap()).unwrap();
        fs::rename(&first, &moved).unwrap();
        assert_eq!(found("T11111111"), Some(d("2026-12-01")));
        // Gone: its line still names it, but its folder changed.
        fs::remove_file(&moved).unwrap();
        assert_eq!(found("T11111111"), None);
        // Added by hand to a folder the index lists and trusts: the folder's time moves.
        settle_all();
        assert_eq!(found("T22222222"), Some(d("2026-11-03")));
        put("2026-11-03", "T55555555");
        assert_eq!(found("T55555555"), Some(d("2026-11-03")));
        // A damaged index is rebuilt from the folders.
        let index = index_path(&tree, &LEDGER, 2026);
        let bytes = fs::read(&index).unwrap();
        fs::write(&index, &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(found("T22222222"), Some(d("2026-11-03")));
        assert_eq!(found("T55555555"), Some(d("2026-11-03")));
    }

    /// A tree of appointment files put there as by hand, for a patient's visits.
    struct Visits {
        _tmp: tempfile::TempDir,
        tree: Tree,
    }

    impl Visits {
        fn new() -> Visits {
            let tmp = tempfile::tempdir().unwrap();
            let tree = Tree::new(tmp.path());
            Visits { _tmp: tmp, tree }
        }

        fn patient(n: u64) -> Id {
            Id::from_bits(crate::domain::id::IdKind::Patient, n)
        }

        fn visit(n: u64) -> Id {
            Id::from_bits(crate::domain::id::IdKind::Appointment, n)
        }

        /// Visit `n` of `patient` on `day`, its folder's time then put an hour back (outside
        /// the racy window); the file's path.
        fn put(&self, day: &str, n: u64, patient: &Id) -> std::path::PathBuf {
            let path = self.put_fresh(day, n, patient);
            settle_folder(path.parent().unwrap());
            path
        }

        /// [`Visits::put`] as a command writes it (renamed into place): its folder's time is
        /// now, in the racy window.
        fn put_fresh(&self, day: &str, n: u64, patient: &Id) -> std::path::PathBuf {
            let id = Visits::visit(n);
            let path = (self.tree).path(&layout::appointment_rel(day.parse().unwrap(), &id));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            let temp = path.with_extension("tmp");
            fs::write(&temp, format!("id = \"{id}\"\npatient = \"{patient}\"\n")).unwrap();
            fs::rename(&temp, &path).unwrap();
            path
        }

        /// (day, visit) pairs.
        fn of(want: &[(&str, u64)]) -> Vec<(NaiveDate, Id)> {
            let pair = |(day, n): &(&str, u64)| (day.parse().unwrap(), Visits::visit(*n));
            want.iter().map(pair).collect()
        }
    }

    /// Lines an earlier build wrote (it kept the appointments' lines without buckets, under
    /// the magic before): read and kept as they are, not read again from the files, the
    /// buckets rebuilt from them (they were not told what that build changed), and the year
    /// written anew under today's magic.
    #[test]
    fn lines_an_earlier_build_wrote_are_kept_and_the_buckets_start_over_from_them() {
        let v = Visits::new();
        let tree = &v.tree;
        let (p1, p2) = (Visits::patient(1), Visits::patient(2));
        v.put("2026-11-02", 1, &p1);
        let first = Visits::of(&[("2026-11-02", 1)]);
        assert_eq!(of_patient(tree, &p1).unwrap(), first);
        // The earlier build saw a visit of the second patient added and kept it in its lines,
        // under its magic; its line names the first patient, so an answer from the lines
        // differs from one read from the file.
        let added = v.put("2026-11-02", 2, &p2);
        let folder_time = fs::metadata(added.parent().unwrap()).unwrap().modified();
        let since_epoch = folder_time.unwrap().duration_since(std::time::UNIX_EPOCH);
        let mtime = since_epoch.unwrap().as_nanos();
        let index = index_path(tree, &APPOINTMENTS, 2026);
        let earlier = APPOINTMENTS.unfollowed_magic.unwrap();
        let (a1, a2) = (Visits::visit(1), Visits::visit(2));
        let scanned = crate::derived::stamp::now_ns();
        let text = format!("{earlier} {scanned}\n2026-11-02\t{mtime}\t{a1}:{p1} {a2}:{p1}\n");
        fs::write(&index, sealed(&text)).unwrap();
        let _ = fs::remove_file(crate::derived::day_index::overlay_path(&index));
        assert_eq!(
            of_patient(tree, &p1).unwrap(),
            Visits::of(&[("2026-11-02", 1), ("2026-11-02", 2)]),
            "the earlier build's lines, kept; the buckets rebuilt from them"
        );
        let written = fs::read_to_string(&index).unwrap();
        assert!(
            written.starts_with(&format!("{} ", APPOINTMENTS.magic)),
            "{written}"
        );
        assert_eq!(of_patient(tree, &p2).unwrap(), []);
    }

    /// A patient's visits answer as the folders do: with no index, with one, with a visit put
    /// in or taken out by hand, and with a bucket, the list of years or a year's lines damaged.
    #[test]
    fn a_patients_visits_from_their_bucket_are_what_the_folders_hold() {
        let v = Visits::new();
        let tree = &v.tree;
        let (p1, p2) = (Visits::patient(1), Visits::patient(2));
        let visits = Visits::of;
        v.put("2025-06-30", 1, &p1);
        v.put("2026-11-02", 2, &p1);
        v.put("2026-11-02", 3, &p2);
        let gone = v.put("2026-11-03", 4, &p1);
        let all = visits(&[("2025-06-30", 1), ("2026-11-02", 2), ("2026-11-03", 4)]);
        assert_eq!(of_patient(tree, &p1).unwrap(), all, "no index yet: built");
        let bucket = VISITS.dir(tree).join(format!("{}.tsv", p1.shard()));
        assert!(bucket.exists(), "the buckets are built");
        assert_eq!(of_patient(tree, &p1).unwrap(), all);
        assert_eq!(of_patient(tree, &p2).unwrap(), visits(&[("2026-11-02", 3)]));
        // Put in by hand, into a day the index trusted: its folder's time moved, so the day is
        // read again and the bucket told.
        v.put("2026-11-02", 5, &p1);
        let with_hand = visits(&[
            ("2025-06-30", 1),
            ("2026-11-02", 2),
            ("2026-11-02", 5),
            ("2026-11-03", 4),
        ]);
        assert_eq!(of_patient(tree, &p1).unwrap(), with_hand);
        // Taken out by hand: the same.
        fs::remove_file(&gone).unwrap();
        settle_folder(gone.parent().unwrap());
        let now = visits(&[("2025-06-30", 1), ("2026-11-02", 2), ("2026-11-02", 5)]);
        assert_eq!(of_patient(tree, &p1).unwrap(), now);
        // A damaged bucket, a damaged list of years, a damaged year's lines: each time the
        // answer is the folders'.
        let index = index_path(tree, &APPOINTMENTS, 2026);
        for damaged in [bucket.clone(), VISITS.years_path(tree), index] {
            let bytes = fs::read(&damaged).unwrap();
            fs::write(&damaged, &bytes[..bytes.len() - 3]).unwrap();
            assert_eq!(of_patient(tree, &p1).unwrap(), now, "{}", damaged.display());
        }
        assert_eq!(of_patient(tree, &p2).unwrap(), visits(&[("2026-11-02", 3)]));
    }

    /// Write-through for the appointments: what a booking's writer leaves (the day's line and
    /// the bucket) is what the next command would make, so that command rewrites no bucket,
    /// on a day the lines held, on a new day, and for a visit written again (its status
    /// changed); a visit put in by hand beside the writer's is still found; a written path no
    /// longer there (moved since) is left to the next command.
    #[test]
    fn a_booking_leaves_the_visits_as_the_next_command_would_make_them() {
        use std::os::unix::fs::MetadataExt;
        let v = Visits::new();
        let tree = &v.tree;
        let p = Visits::patient(1);
        let bucket = VISITS.dir(tree).join(format!("{}.tsv", p.shard()));
        let bucket_file = || {
            let inode = fs::metadata(&bucket).unwrap().ino();
            (fs::read(&bucket).unwrap(), inode)
        };
        // A visit as a command writes it, as a path in the tree.
        let fresh = |day: &str, n: u64| {
            v.put_fresh(day, n, &p);
            layout::appointment_rel(day.parse().unwrap(), &Visits::visit(n))
        };
        v.put("2026-11-02", 1, &p);
        let mut want = vec![("2026-11-02", 1)];
        assert_eq!(of_patient(tree, &p).unwrap(), Visits::of(&want));
        for (day, n) in [("2026-11-02", 2), ("2026-12-07", 3), ("2026-11-02", 2)] {
            let written = fresh(day, n);
            crate::derived::after_write(tree, &[written]);
            let left = bucket_file();
            if !want.contains(&(day, n)) {
                want.push((day, n));
                want.sort();
            }
            assert_eq!(of_patient(tree, &p).unwrap(), Visits::of(&want));
            assert_eq!(bucket_file(), left, "the next command rewrote the bucket");
        }
        // One put in by hand, then the writer's own, told alone.
        fresh("2026-12-07", 4);
        let written = fresh("2026-12-07", 5);
        crate::derived::after_write(tree, &[written]);
        want.extend([("2026-12-07", 4), ("2026-12-07", 5)]);
        assert_eq!(of_patient(tree, &p).unwrap(), Visits::of(&want));
        // Written, then gone before the writer told the index.
        let gone = fresh("2026-12-07", 6);
        fs::remove_file(tree.path(&gone)).unwrap();
        crate::derived::after_write(tree, &[gone]);
        assert_eq!(of_patient(tree, &p).unwrap(), Visits::of(&want));
        // The buckets are what a rebuild from the lines makes.
        let held = crate::derived::day_index::lock(tree, &APPOINTMENTS).unwrap();
        let kept = bucket_file().0;
        VISITS.rebuild(tree, &held).unwrap();
        assert_eq!(bucket_file().0, kept);
    }

    #[test]
    fn text_search_finds_whole_pairs_only() {
        let magic = APPOINTMENTS.magic;
        let text = format!(
            "{magic} 5\n2026-12-01\t1\tA1111111:P2222222 A3333333:P4444444\n2026-12-02\t1\tA5555555:P1111111\n"
        );
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let id = |s: &str| Id::parse(s).unwrap();
        assert_eq!(find_in_text(&text, &id("A3333333")), Some(d("2026-12-01")));
        assert_eq!(find_in_text(&text, &id("A5555555")), Some(d("2026-12-02")));
        assert_eq!(find_in_text(&text, &id("A9999999")), None);
        let idx = parse(&APPOINTMENTS, &sealed(&text)).unwrap();
        assert_eq!(idx.days.len(), 2);
        assert_eq!(pairs(&idx.days[&d("2026-12-01")].pairs).count(), 2);
        assert_eq!(
            find_in_year(&idx, &id("A3333333"), None),
            Some(d("2026-12-01"))
        );
        assert_eq!(
            find_in_year(&idx, &id("A3333333"), Some(d("2026-12-01"))),
            None
        );
        assert!(parse(&APPOINTMENTS, "garbage").is_none());
        assert!(parse(&APPOINTMENTS, &text).is_none(), "no trailer");
        let changed = sealed(&text).replacen("P2222222", "P2222223", 1);
        assert!(parse(&APPOINTMENTS, &changed).is_none(), "a byte changed");
        let file =
            b"schema = 1\nid = \"A1111111\"\npatient = \"P2222222\"\n[[history]]\nid = \"x\"\n";
        let (a, p) = quick_head(file).unwrap();
        assert_eq!((a.as_str(), p.as_str()), ("A1111111", "P2222222"));
        assert!(quick_head(b"id = 'A1111111'\npatient = \"P2222222\"\n").is_none());
        assert!(
            quick_head(b"id = \"A1111111\"\nid = \"A2222222\"\npatient = \"P2222222\"\n").is_none()
        );
        assert!(
            parse(
                &APPOINTMENTS,
                &format!("{magic} 5\n2026-12-01\t1\tnonsense\n")
            )
            .is_none()
        );
    }

    #[test]
    fn ledger_lines_hold_pairs_and_match_whole_ids_only() {
        let magic = LEDGER.magic;
        let text =
            format!("{magic} 5\n2026-12-01\t1\tT11111111:PAB22222 T3333333:\n2026-12-02\t1\t\n");
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let id = |s: &str| Id::parse(s).unwrap();
        let idx = parse(&LEDGER, &sealed(&text)).unwrap();
        assert_eq!(
            find_in_year(&idx, &id("T3333333"), None),
            Some(d("2026-12-01"))
        );
        assert_eq!(find_in_text(&text, &id("T3333333")), Some(d("2026-12-01")));
        // A shorter ID that is the start of a longer one is not that one.
        assert_eq!(find_in_year(&idx, &id("T1111111"), None), None);
        assert_eq!(find_in_text(&text, &id("T1111111")), None);
        assert_eq!(find_in_text(&text, &id("T11111111")), Some(d("2026-12-01")));
        // Lines of bare IDs (the shape of an earlier version) are not the kind's.
        let bare = format!("{magic} 5\n2026-12-01\t1\tT11111111 T3333333\n");
        assert!(parse(&LEDGER, &sealed(&bare)).is_none());
        assert!(!holds("A1:P2 A3:", &id("A333333")));
        assert_ne!(pack("A1"), pack("A01"));
        assert_eq!(pack("ZZZZZZZZZZZZ").map(|n| n > 0), Some(true));
        assert_eq!(pack("a1"), None);
        assert!(holds("A1111111:P2 A3333333:", &id("A3333333")));
    }

    #[test]
    fn a_day_line_is_well_formed_exactly_when_each_record_has_its_kind_s_shape() {
        let by_split = |pairs: &str, with_patient: bool| {
            pairs
                .split(' ')
                .filter(|p| !p.is_empty())
                .all(|p| p.contains(':') == with_patient)
        };
        for line in [
            "",
            " ",
            "A1:P2",
            "A1:P2 A3:P4",
            "A1:P2  A3:",
            "A1:P2 A3",
            "A1 A3",
            "A1",
            ":",
            "A1:",
            " A1:P2 ",
            "A1:P2 nonsense",
            "T1 T2:",
            "A1:P2:P3 A4",
        ] {
            for with_patient in [true, false] {
                assert_eq!(
                    well_formed(line, with_patient),
                    by_split(line, with_patient),
                    "{line:?} {with_patient}"
                );
            }
        }
    }
}
