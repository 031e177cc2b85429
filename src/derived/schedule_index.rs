//! The appointment index: which patient each appointment belongs to and on which day it lies,
//! so finding an appointment by ID or listing a patient's history never walks ten years of
//! files.
//!
//! Design (see docs/scheduling.md): one small text file per year under
//! `.frontdesk/index/appointments-YYYY.tsv` (ignored by git, disposable). Each line is one day
//! directory: its date, the directory's modification time, and the `ID:PATIENT` pairs in it.
//! Every write through the store replaces files by rename, which changes the day directory's
//! mtime, so validating a year costs one `stat` per day directory (about 3,650 for ten years),
//! not one per appointment. A day whose directory changed at or after the moment its line was
//! written is re-read (git's racy-timestamp rule). The file ends with `end N CHECKSUM` (its line
//! count and the checksum of the lines before it): a missing, cut short or changed file is
//! rebuilt.
//!
//! A lookup by ID first trusts the index without validating it (the file itself is then read and
//! its ID checked), and only on a miss validates and retries, so `schedule move ID` reads one
//! index file and one appointment.
//!
//! The same files, one per year, also index the ledger's entry IDs ([`LEDGER`]: names only, no
//! patient, so building it lists the day folders without opening a file): `history T…` and
//! `pay void` find an entry's day through it. Both kinds are keyed by the file's name, which is
//! what a new record's ID must not repeat on another day ([`Snapshot`], taken once per write
//! transaction, answers that for every record the transaction adds).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Deserialize;

use crate::derived::day_memory::{self, name_id};
use crate::derived::stamp::{SETTLE_NS, folder_unchanged, now_ns, stat_day_folders};
use crate::disk::codec::{checked_text, text_trailer};
use crate::disk::layout::{self, day_dirs_in, years_in};
use crate::disk::{STATE_DIR, Tree, atomic, files_with_ext};
use crate::domain::id::Id;
use crate::error::Result;
use crate::text::parse_toml;

/// One kind of date-sharded record (`DIR/YYYY/MM/DD/ID.toml`) and how its index reads a day.
pub struct Shelf {
    /// The records folder, and the index files' name: `.frontdesk/index/NAME-YYYY.tsv`.
    dir: &'static str,
    name: &'static str,
    magic: &'static str,
    /// True when each record is indexed as `ID:PATIENT`, false for the bare `ID`.
    pairs: bool,
    /// A record file's token in its day line, read from the file; None: the bare ID, which
    /// its name spells, so no file is opened.
    token: Option<fn(&Path, &Id) -> String>,
    /// `DIR/YYYY/MM/DD/ID.toml`, the path of a record of this kind.
    pub rel: fn(NaiveDate, &Id) -> PathBuf,
    /// A second, smaller file per year kept beside the index: the same day lines holding only
    /// the records this keeps (see [`View`]).
    view: Option<View>,
}

/// A view of an index: its day lines (date and folder time, every day) with only the records
/// `keep` takes, in `.frontdesk/index/NAME-YYYY.tsv`. Written whenever the index is, and
/// validated against the day folders the same way, so a question about a few records of ten
/// years (the open follow-ups among a million communications) reads a small file.
struct View {
    name: &'static str,
    magic: &'static str,
    keep: fn(&str) -> bool,
}

pub const APPOINTMENTS: Shelf = Shelf {
    dir: layout::APPOINTMENTS_DIR,
    name: "appointments",
    magic: "frontdesk-appointments 2",
    pairs: true,
    token: Some(appointment_token),
    rel: layout::appointment_rel,
    view: None,
};

pub const LEDGER: Shelf = Shelf {
    dir: layout::LEDGER_DIR,
    name: "ledger-ids",
    magic: "frontdesk-ledger-ids 2",
    pairs: false,
    token: None,
    rel: layout::ledger_rel,
    view: None,
};

/// Communications (docs/comms.md): each as `C…:P…`, with `:DUE` while its follow-up is open,
/// so `comm due` finds the open follow-ups without opening a closed communication.
pub const COMMUNICATIONS: Shelf = Shelf {
    dir: layout::COMMUNICATIONS_DIR,
    name: "communications",
    magic: "frontdesk-communications 2",
    pairs: true,
    token: Some(communication_token),
    rel: layout::communication_rel,
    view: Some(View {
        name: "communications-open",
        magic: "frontdesk-communications-open 1",
        keep: crate::domain::comm::is_open_token,
    }),
};

impl Shelf {
    pub fn name(&self) -> &'static str {
        self.name
    }

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

    /// True when no day of `year` can hold `id`: its index text is still exact for every day
    /// folder (each line's time matches its folder's, outside the racy window, and no folder
    /// lacks a line or a line its folder) and `id` occurs nowhere in it, not even inside a
    /// longer name or a damaged line. Every new record is checked this way, so it reads only
    /// each line's date and time, where a refresh parses and copies every record (most of a
    /// booking's time at full size). Anything else is for [`refresh_year`] to settle.
    fn surely_absent(&self, store: &Tree, year: i32, text: &YearText, id: &Id) -> Result<bool> {
        let needle = id.as_str().as_bytes();
        let found = |bytes: &[u8]| memchr::memmem::find(bytes, needle).is_some();
        if found(&text.base) || text.overlay.as_deref().is_some_and(found) {
            return Ok(false);
        }
        match text.times(self.magic) {
            Some(times) => days_exact(store, self.dir, year, &times),
            None => Ok(false),
        }
    }

    /// A day of `year` other than `except` whose folder holds a file named `id`, by looking.
    fn day_holding_in(
        &self,
        store: &Tree,
        id: &Id,
        except: NaiveDate,
        year: i32,
    ) -> Result<Option<NaiveDate>> {
        let name = format!("{id}.toml");
        for (date, dir) in day_dirs_in(store, self.dir, year)? {
            if date != except && dir.join(&name).exists() {
                return Ok(Some(date));
            }
        }
        Ok(None)
    }
}

/// One day directory as last seen.
#[derive(Debug, Clone)]
struct Day {
    mtime: i64,
    /// `APPOINTMENT:PATIENT` pairs separated by spaces, kept as text: most lookups only search
    /// it, so parsing a million IDs on every command would be wasted work.
    pairs: String,
    /// When the scan that recorded this line began: the line is trusted only for a folder
    /// time more than [`RACY_MARGIN`] before it.
    seen: i64,
    /// True for a line as the year's base file holds it; false for one re-read since (kept in
    /// the overlay until the next full write).
    base: bool,
}

impl Day {
    /// The same folder time and records (when each was seen aside).
    fn same_as(&self, other: &Day) -> bool {
        self.mtime == other.mtime && self.pairs == other.pairs
    }
}

#[derive(Debug, Default)]
struct YearIndex {
    /// When the scan that wrote (or checked) it began.
    scanned_at: i64,
    /// The base file's scan time, which its overlay names (None: no base file was read).
    base_at: Option<i64>,
    days: BTreeMap<NaiveDate, Day>,
}

/// A year's index files as read, not yet parsed: the base, and the overlay beside it.
///
/// A change to a day used to rewrite its year's whole file (2 MB at full size: 6 ms of every
/// booking). Days re-read since the base was written go to a small overlay instead
/// (`NAME-YYYY.recent.tsv`: a header naming the base's scan time, then day lines as in the
/// base), which replaces the base's lines for those days; once it holds more than
/// [`OVERLAY_DAYS`] days or [`OVERLAY_BYTES`], or a day folder is gone, the year is written
/// whole again and the overlay removed. An overlay that names another base (a crash between
/// the two writes, or two commands racing) is ignored: its days then no longer match their
/// folders' times and are read again.
struct YearText {
    base: Vec<u8>,
    overlay: Option<Vec<u8>>,
}

const OVERLAY_DAYS: usize = 32;
const OVERLAY_BYTES: usize = 256 * 1024;

impl YearText {
    fn read(path: &Path) -> std::io::Result<YearText> {
        let base = fs::read(path)?;
        let overlay = fs::read(overlay_path(path)).ok();
        Ok(YearText { base, overlay })
    }

    fn parse(&self, shelf: &Shelf) -> Option<YearIndex> {
        let mut idx = parse(shelf, std::str::from_utf8(&self.base).ok()?)?;
        idx.base_at = Some(idx.scanned_at);
        let overlay = self
            .overlay
            .as_deref()
            .and_then(|o| std::str::from_utf8(o).ok());
        if let Some(recent) = overlay.and_then(|text| {
            let magic = overlay_magic(shelf.magic, idx.scanned_at);
            parse_lines(&magic, text, |pairs| well_formed(pairs, shelf.pairs))
        }) {
            for (date, day) in recent.days {
                idx.days.insert(date, Day { base: false, ..day });
            }
        }
        Some(idx)
    }

    /// Each day line's date, folder time and scan time, the overlay's replacing the base's,
    /// without copying any record; None when the base is damaged or malformed.
    fn times(&self, magic: &str) -> Option<BTreeMap<NaiveDate, (i64, i64)>> {
        let (base_at, mut times) = line_times(magic, &self.base)?;
        let overlay_magic = overlay_magic(magic, base_at);
        if let Some((_, recent)) = self
            .overlay
            .as_deref()
            .and_then(|o| line_times(&overlay_magic, o))
        {
            times.extend(recent);
        }
        Some(times)
    }
}

/// A file's scan time and each line's (date, (folder time, scan time)).
fn line_times(magic: &str, bytes: &[u8]) -> Option<(i64, BTreeMap<NaiveDate, (i64, i64)>)> {
    let (text, _) = std::str::from_utf8(bytes).ok().and_then(checked_text)?;
    let mut lines = text.lines();
    let at = scanned_at(magic, lines.next()?)?;
    let mut times = BTreeMap::new();
    for line in lines {
        let (date, mtime, _) = day_line(line)?;
        times.insert(date, (mtime, at));
    }
    Some((at, times))
}

/// `appointments-2026.recent.tsv` beside `appointments-2026.tsv`.
fn overlay_path(index: &Path) -> PathBuf {
    index.with_extension("recent.tsv")
}

/// The overlay's first line names the kind and the base it lies over.
fn overlay_magic(magic: &str, base_at: i64) -> String {
    format!("{magic} recent {base_at}")
}

fn index_path(store: &Tree, shelf: &Shelf, year: i32) -> PathBuf {
    store
        .path(Path::new(STATE_DIR))
        .join("index")
        .join(format!("{}-{year:04}.tsv", shelf.name))
}

/// The moment the scan that wrote an index file began, from its first line.
fn scanned_at(magic: &str, first_line: &str) -> Option<i64> {
    first_line.strip_prefix(magic)?.trim().parse().ok()
}

/// A day line's date, its folder's modification time when read, and its records' text.
fn day_line(line: &str) -> Option<(NaiveDate, i64, &str)> {
    let mut f = line.splitn(3, '\t');
    let date = f.next()?.parse().ok()?;
    let mtime = f.next()?.parse().ok()?;
    Some((date, mtime, f.next().unwrap_or("")))
}

/// A day line may be trusted while its folder's time is still the one it was read at and lies
/// more than this margin before the scan that read it began: git's racy-timestamp rule, with
/// the margin every cache uses. (It was none, on the grounds that every write renames into
/// the folder; but a folder's time comes from the kernel's coarse clock, so a file added in
/// the same tick as the change a scan just listed kept the time the scan recorded.)
const RACY_MARGIN: i64 = SETTLE_NS;

fn parse(shelf: &Shelf, text: &str) -> Option<YearIndex> {
    // Only the shape is checked here; IDs are parsed when a line is actually used.
    parse_lines(shelf.magic, text, |pairs| well_formed(pairs, shelf.pairs))
}

/// An index or view file's text: its scan time, and its day lines, each of whose records
/// `records_ok` accepts; None when it is cut short, changed or malformed.
fn parse_lines(magic: &str, text: &str, records_ok: impl Fn(&str) -> bool) -> Option<YearIndex> {
    let (text, _) = checked_text(text)?;
    let mut lines = text.lines();
    let scanned_at = scanned_at(magic, lines.next()?)?;
    let mut days = BTreeMap::new();
    for line in lines {
        let (date, mtime, pairs) = day_line(line)?;
        if !records_ok(pairs) {
            return None;
        }
        days.insert(
            date,
            Day {
                mtime,
                pairs: pairs.to_string(),
                seen: scanned_at,
                base: true,
            },
        );
    }
    Some(YearIndex {
        scanned_at,
        base_at: None,
        days,
    })
}

/// True when every record of a day line has its kind's shape: `ID:PATIENT` (a colon in each
/// space-separated record) or a bare `ID` (no colon at all). One pass over the bytes: every
/// booking validates ten years of lines (20 MB at full size), and splitting each line into
/// records to search each for a colon was a fifth of its time.
fn well_formed(pairs: &str, with_patient: bool) -> bool {
    let bytes = pairs.as_bytes();
    if !with_patient {
        return memchr::memchr(b':', bytes).is_none();
    }
    let (mut in_record, mut colon) = (false, false);
    for &b in bytes {
        match b {
            b' ' => {
                if in_record && !colon {
                    return false;
                }
                (in_record, colon) = (false, false);
            }
            b':' => (in_record, colon) = (true, true),
            _ => in_record = true,
        }
    }
    !in_record || colon
}

fn load(shelf: &Shelf, path: &Path) -> Option<YearIndex> {
    YearText::read(path).ok()?.parse(shelf)
}

/// Writes a year's index, then its view (when the kind has one): only the overlay of the days
/// re-read since the base was written while it stays small and no day folder is gone
/// (`over_base`: the base file those days lie over), else the whole year, removing the
/// overlay. Without fsync: a cache whose trailer catches a torn file, and a view left behind
/// by a crash between the two no longer matches its day folders, so the next look rebuilds it
/// from the index.
fn save(shelf: &Shelf, path: &Path, idx: &YearIndex, over_base: Option<i64>) -> Result<()> {
    let recent: BTreeMap<NaiveDate, Day> = idx
        .days
        .iter()
        .filter(|(_, d)| !d.base)
        .map(|(date, d)| (*date, d.clone()))
        .collect();
    let bytes: usize = recent.values().map(|d| d.pairs.len() + 32).sum();
    match over_base {
        Some(base_at) if recent.len() <= OVERLAY_DAYS && bytes <= OVERLAY_BYTES => {
            let overlay = YearIndex {
                scanned_at: idx.scanned_at,
                base_at: None,
                days: recent,
            };
            write_lines(
                &overlay_path(path),
                &overlay_magic(shelf.magic, base_at),
                &overlay,
            )?;
        }
        _ => {
            write_lines(path, shelf.magic, idx)?;
            match fs::remove_file(overlay_path(path)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(crate::error::Error::io(&overlay_path(path), "remove", e));
                }
                _ => {}
            }
        }
    }
    if let Some(view) = &shelf.view {
        write_lines(&view_path(view, path), view.magic, &view.of(idx))?;
    }
    Ok(())
}

fn write_lines(path: &Path, magic: &str, idx: &YearIndex) -> Result<()> {
    let mut s = format!("{magic} {}\n", idx.scanned_at);
    for (date, day) in &idx.days {
        s.push_str(&format!("{date}\t{}\t{}\n", day.mtime, day.pairs));
    }
    s += &text_trailer(s.as_bytes(), idx.days.len() + 1);
    if let Some(dir) = path.parent() {
        atomic::create_dirs(dir)?;
    }
    atomic::write_unsynced(path, s.as_bytes(), atomic::Mode::Replace)
}

impl View {
    /// The view of a year's index: every day line, with only the records it keeps.
    fn of(&self, idx: &YearIndex) -> YearIndex {
        let days = idx.days.iter().map(|(date, day)| {
            let kept: Vec<&str> = day.pairs.split(' ').filter(|r| (self.keep)(r)).collect();
            let pairs = kept.join(" ");
            (
                *date,
                Day {
                    pairs,
                    ..day.clone()
                },
            )
        });
        YearIndex {
            scanned_at: idx.scanned_at,
            base_at: None,
            days: days.collect(),
        }
    }

    fn parse(&self, text: &str) -> Option<YearIndex> {
        parse_lines(self.magic, text, |records| {
            records.split(' ').all(|r| r.is_empty() || (self.keep)(r))
        })
    }
}

/// `communications-open-2026.tsv` beside `communications-2026.tsv`.
fn view_path(view: &View, index: &Path) -> PathBuf {
    let year = index
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.rsplit_once('-'))
        .map_or("", |(_, y)| y);
    index.with_file_name(format!("{}-{year}.tsv", view.name))
}

/// Hands each day line of one kind's view to `visit` (day, the records the view keeps), every
/// year validated against its day folders first. A year whose view is missing, damaged or out
/// of date is answered from its index (brought up to date as [`each_day`] does) and its view
/// written again.
pub fn each_day_in_view(
    store: &Tree,
    shelf: &Shelf,
    mut visit: impl FnMut(NaiveDate, &str),
) -> Result<()> {
    let Some(view) = &shelf.view else {
        return each_day(store, shelf, visit);
    };
    for y in years_in(store, shelf.dir)? {
        let path = index_path(store, shelf, y);
        let view_file = view_path(view, &path);
        let valid = fs::read_to_string(&view_file)
            .ok()
            .and_then(|text| view.parse(&text))
            .filter(|v| {
                let times = v.days.iter().map(|(d, day)| (*d, (day.mtime, day.seen)));
                matches!(days_exact(store, shelf.dir, y, &times.collect()), Ok(true))
            });
        let v = match valid {
            Some(v) => v,
            None => {
                let v = view.of(&refresh_year(store, shelf, y)?);
                // A view that cannot be written only costs speed next time.
                let _ = write_lines(&view_file, view.magic, &v);
                v
            }
        };
        for (date, day) in &v.days {
            visit(*date, &day.pairs);
        }
    }
    Ok(())
}

/// True when the kept day lines (date → folder time and the scan time of the line) are
/// exactly the day folders of `year`, one line each, every folder's time still the one kept
/// (the rule of [`RACY_MARGIN`]). One stat per folder, by name in its month folder.
fn days_exact(
    store: &Tree,
    dir: &str,
    year: i32,
    times: &BTreeMap<NaiveDate, (i64, i64)>,
) -> Result<bool> {
    let folders = day_dirs_in(store, dir, year)?;
    if folders.len() != times.len() {
        return Ok(false);
    }
    // Every folder trusted means every folder has its line; as many lines as folders then
    // leaves no line without a folder.
    let stats = stat_day_folders(folders, |d| times.get(&d).copied(), RACY_MARGIN);
    Ok(stats.len() == times.len() && stats.iter().all(|f| f.trusted))
}

/// The (appointment, patient) pairs of a day line; malformed pairs are skipped.
fn pairs(text: &str) -> impl Iterator<Item = (Id, Id)> + '_ {
    text.split(' ').filter_map(|p| {
        let (a, b) = p.split_once(':')?;
        Some((Id::parse(a).ok()?, Id::parse(b).ok()?))
    })
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

/// One day folder's line: the token of each file whose name is an ID, in name order (for a
/// kind without tokens, the bare IDs: no file is opened). A day the index already held is
/// read through its memory (`day_memory.rs`), so only its changed files are opened.
fn read_day(
    store: &Tree,
    shelf: &Shelf,
    date: NaiveDate,
    dir: &Path,
    known: bool,
) -> Result<String> {
    match shelf.token {
        Some(token_of) => {
            day_memory::read_day(&memory_dir(store, shelf), date, dir, token_of, known)
        }
        None => {
            let ids: Vec<String> = files_with_ext(dir, "toml")?
                .iter()
                .filter_map(|p| name_id(p))
                .map(|id| id.to_string())
                .collect();
            Ok(ids.join(" "))
        }
    }
}

/// `.frontdesk/index/days/NAME/`: the kind's memory of the days it re-read.
fn memory_dir(store: &Tree, shelf: &Shelf) -> PathBuf {
    store
        .path(Path::new(STATE_DIR))
        .join("index")
        .join("days")
        .join(shelf.name)
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

/// Brings one year's index up to date with the day directories on disk.
fn refresh_year(store: &Tree, shelf: &Shelf, year: i32) -> Result<YearIndex> {
    let old = load(shelf, &index_path(store, shelf, year)).unwrap_or_default();
    refresh_year_from(store, shelf, year, old)
}

/// [`refresh_year`] from the index as already read (`old`, empty when there was none or it was
/// damaged).
fn refresh_year_from(store: &Tree, shelf: &Shelf, year: i32, old: YearIndex) -> Result<YearIndex> {
    let path = index_path(store, shelf, year);
    let scan_start = now_ns();
    let mut fresh = YearIndex {
        scanned_at: scan_start,
        base_at: None,
        days: BTreeMap::new(),
    };
    let old_len = old.days.len();
    let mut old_days = old.days;
    let mut stale = Vec::new();
    let folders = stat_day_folders(
        day_dirs_in(store, shelf.dir, year)?,
        |date| old_days.get(&date).map(|d| (d.mtime, d.seen)),
        RACY_MARGIN,
    );
    // The lines of days re-read only for being in the racy window, to tell whether they moved.
    let mut old_racy = BTreeMap::new();
    for f in folders {
        match old_days.remove(&f.date) {
            Some(d) if f.trusted => {
                fresh.days.insert(f.date, d);
            }
            Some(d) => {
                stale.push((f.date, f.dir, f.mtime, true));
                old_racy.insert(f.date, d);
            }
            None => stale.push((f.date, f.dir, f.mtime, false)),
        }
    }
    // Re-reading changed days (all of them on a first run) is the slow part: spread it out.
    // A day the index held before is read through its memory; a first build is not kept there.
    let read: Vec<(NaiveDate, i64, Result<String>)> = stale
        .into_par_iter()
        .map(|(date, dir, mtime, known)| (date, mtime, read_day(store, shelf, date, &dir, known)))
        .collect();
    // Written again unless every day re-read is as its line was and still in the racy window
    // (written now, it would be re-read next time all the same): a day written a moment ago
    // is listed by each command for two seconds, without a 2 MB year file written each time.
    let mut changed = false;
    for (date, mtime, pairs) in read {
        let day = Day {
            mtime,
            pairs: pairs?,
            seen: scan_start,
            base: false,
        };
        let still_racy = !folder_unchanged(mtime, mtime, scan_start, RACY_MARGIN);
        changed |= !still_racy || !old_racy.get(&date).is_some_and(|d| d.same_as(&day));
        fresh.days.insert(date, day);
    }
    // A day folder gone takes its line out of the base: the year is written whole.
    let over_base = old.base_at.filter(|_| old_days.is_empty());
    if changed || fresh.days.len() != old_len {
        // A cache that cannot be written only costs speed next time.
        let _ = save(shelf, &path, &fresh, over_base);
    }
    Ok(fresh)
}

/// The day an appointment is filed under, or `None` when no such appointment exists.
pub fn date_of(store: &Tree, id: &Id) -> Result<Option<NaiveDate>> {
    date_in(store, &APPOINTMENTS, id)
}

/// The day the record `id` of this kind is filed under, or `None` when there is no such file.
pub fn date_in(store: &Tree, shelf: &Shelf, id: &Id) -> Result<Option<NaiveDate>> {
    let all = years_in(store, shelf.dir)?;
    // Fast path: search each year's index text as it stands (newest first, where most lookups
    // land), then confirm that the file is really there.
    for &y in &all {
        let path = index_path(store, shelf, y);
        // The overlay first: its lines are the newer.
        for file in [overlay_path(&path), path] {
            let Ok(text) = fs::read_to_string(file) else {
                continue;
            };
            if let Some(date) = find_in_text(&text, id)
                && store.path(&(shelf.rel)(date, id)).is_file()
            {
                return Ok(Some(date));
            }
        }
    }
    for &y in &all {
        let idx = refresh_year(store, shelf, y)?;
        if let Some(date) = find_in_year(&idx, id, None) {
            return Ok(Some(date));
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

/// An ID as a number, one to one: base 37 over `0-9A-Z`, so up to 12 characters fit (IDs have
/// at most 10). None for anything else, which no ID the store builds a path from can equal.
fn pack(id: &str) -> Option<u64> {
    if id.is_empty() || id.len() > 12 {
        return None;
    }
    id.bytes().try_fold(0u64, |n, b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0' + 1,
            b'A'..=b'Z' => b - b'A' + 11,
            _ => return None,
        };
        Some(n * 37 + u64::from(digit))
    })
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

/// Hands each day line of one kind to `visit` (day, records text), every year validated
/// against its day folders first (re-reading only the folders that changed).
pub fn each_day(store: &Tree, shelf: &Shelf, mut visit: impl FnMut(NaiveDate, &str)) -> Result<()> {
    for y in years_in(store, shelf.dir)? {
        let idx = refresh_year(store, shelf, y)?;
        for (date, day) in &idx.days {
            visit(*date, &day.pairs);
        }
    }
    Ok(())
}

/// Every (day, appointment) of one patient, validated against the day directories.
pub fn of_patient(store: &Tree, patient: &Id) -> Result<Vec<(NaiveDate, Id)>> {
    let needle = format!(":{patient}");
    let mut out = Vec::new();
    for y in years_in(store, APPOINTMENTS.dir)? {
        let idx = refresh_year(store, &APPOINTMENTS, y)?;
        for (date, day) in &idx.days {
            // A cheap text test first: most days do not mention the patient at all.
            if !day.pairs.contains(&needle) {
                continue;
            }
            out.extend(
                pairs(&day.pairs)
                    .filter(|(_, p)| p == patient)
                    .map(|(a, _)| (*date, a)),
            );
        }
    }
    out.sort();
    Ok(out)
}

/// Throws one kind's index away and builds it again from the day directories; returns how
/// many records it holds.
pub fn rebuild(store: &Tree, shelf: &Shelf) -> Result<usize> {
    remove(store, shelf)?;
    let mut n = 0;
    for y in years_in(store, shelf.dir)? {
        let idx = refresh_year(store, shelf, y)?;
        n += idx
            .days
            .values()
            .map(|d| d.pairs.split(' ').filter(|p| !p.is_empty()).count())
            .sum::<usize>();
    }
    Ok(n)
}

/// Deletes every index file of one kind, and its memory of days; the next lookup rebuilds
/// what it needs.
pub fn remove(store: &Tree, shelf: &Shelf) -> Result<()> {
    super::remove_folder(&memory_dir(store, shelf))?;
    let dir = store.path(Path::new(STATE_DIR)).join("index");
    let Ok(rd) = fs::read_dir(&dir) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("{}-", shelf.name)) {
            let _ = fs::remove_file(e.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index file's text as `save` ends it.
    fn sealed(text: &str) -> String {
        format!(
            "{text}{}",
            text_trailer(text.as_bytes(), text.lines().count())
        )
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
    fn ledger_lines_hold_bare_ids_and_match_whole_ids_only() {
        let magic = LEDGER.magic;
        let text = format!("{magic} 5\n2026-12-01\t1\tT11111111 T3333333\n2026-12-02\t1\t\n");
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
        // Each kind's lines keep their own shape.
        assert!(
            parse(
                &APPOINTMENTS,
                &sealed(&text.replace(LEDGER.magic, APPOINTMENTS.magic))
            )
            .is_none()
        );
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
