//! The engine of the day-folder caches: what every cache kept per day folder of a date-sharded
//! kind (`DIR/YYYY/MM/DD/ID.toml`) shares, whatever it takes from each file. A kind declares
//! itself as a [`Shelf`] (its folder, its files' name, and the token it takes from one record
//! file, or none when the file's name is enough); `schedule_index.rs` declares appointments and
//! communications and asks them, `ledger_index.rs` declares the ledger (each entry's patient)
//! with its by-patient buckets as the kind's follower.
//!
//! The engine alone owns:
//! - the format: one text file per year, `.frontdesk/index/NAME-YYYY.tsv`, a line per day
//!   folder (date, the folder's modification time, the day's tokens), ending `end N CHECKSUM`;
//!   a file cut short, changed or malformed is rebuilt. Days re-read since the year was written
//!   go to its overlay ([`YearText`]) instead of a rewrite of the whole year.
//! - validation: one `stat` per day folder, by name in its month folder; a line is trusted
//!   while its folder's time is the one kept and lies more than [`RACY_MARGIN`] before the scan
//!   that kept it (git's racy-timestamp rule, `stamp::SETTLE_NS` as for every cache).
//! - re-reading a changed day through `day_memory.rs` (only its changed files are opened), in
//!   parallel, and writing only when something changed;
//! - a view: a second per-year file with only the tokens a kind keeps (the open follow-ups);
//! - a follower ([`Follower`]): a cache told each changed day's old and new tokens before the
//!   new lines are written, under the kind's lock, with a map of each year's lines
//!   ([`Places`]) so that a refresh reads the year's times and its changed days' lines, not the
//!   year (`bring_along`), and a rebuild that hands it the lines (`each_year_held`);
//! - `rebuild` and `remove`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;

use crate::derived::day_listing::day_dirs_in;
use crate::derived::day_memory::{self, name_id};
use crate::derived::day_summary::{Summary, SummaryFile};
use crate::derived::stamp::{
    DayFolder, DayFolders, SETTLE_NS, folder_in_racy_window, now_ns, stat_day_folders,
};
use crate::disk::codec::{
    Reader, Writer, checked_text, checksum, iso_day, seal, text_trailer, unseal,
};
use crate::disk::layout::years_in;
use crate::disk::{Tree, atomic, files_with_ext};
use crate::domain::id::Id;
use crate::error::Result;

/// One kind of date-sharded record (`DIR/YYYY/MM/DD/ID.toml`) and how its index reads a day.
pub struct Shelf {
    /// The records folder, and the index files' name: `.frontdesk/index/NAME-YYYY.tsv`.
    pub(crate) dir: &'static str,
    pub(crate) name: &'static str,
    pub(crate) magic: &'static str,
    /// True when each record is indexed as `ID:PATIENT`, false for the bare `ID`.
    pub(crate) pairs: bool,
    /// A record file's token in its day line, read from the file; None: the bare ID, which
    /// its name spells, so no file is opened.
    pub(crate) token: Option<fn(&Path, &Id) -> String>,
    /// `DIR/YYYY/MM/DD/ID.toml`, the path of a record of this kind.
    pub rel: fn(NaiveDate, &Id) -> PathBuf,
    /// A second, smaller file per year kept beside the index: the same day lines holding only
    /// the records this keeps (see [`View`]).
    pub(crate) view: Option<View>,
    /// A cache kept beside the day lines and told each change of them (see [`Follower`]).
    pub(crate) follower: Option<&'static dyn Follower>,
    /// For a followed kind, the first-line magic its lines had when they were written without
    /// telling a follower (by a build of before the kind was followed): such lines are read and
    /// kept, the follower starts over from them, and the year is written anew under `magic`.
    /// A build that does not follow the lines takes today's for damaged, so a tree used by
    /// both never has a follower that missed a change.
    pub(crate) unfollowed_magic: Option<&'static str>,
}

/// A view of an index: its day lines (date and folder time, every day) with only the records
/// `keep` takes, in `.frontdesk/index/NAME-YYYY.tsv`. Written whenever the index is, and
/// validated against the day folders the same way, so a question about a few records of ten
/// years (the open follow-ups among a million communications) reads a small file.
pub(crate) struct View {
    pub(crate) name: &'static str,
    pub(crate) magic: &'static str,
    pub(crate) keep: fn(&str) -> bool,
}

impl Shelf {
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// True when no day of `year` can hold `id`: `id` occurs nowhere in the year's index text
    /// (not even inside a longer name or a damaged line), and every day folder whose line
    /// cannot be trusted (changed, in the racy window, or new) has no file of that name. Every
    /// new dated record is checked this way, so it reads only each line's date and time and
    /// looks into the few folders changed since, where a refresh parses and copies every
    /// record and writes the year again (most of a booking's time at full size, since the
    /// folder the previous booking wrote to is always one of them). A hit or a damaged file
    /// is for [`refresh_year`] to settle.
    pub(crate) fn surely_absent(
        &self,
        store: &Tree,
        year: i32,
        text: &YearText,
        id: &Id,
    ) -> Result<bool> {
        let needle = id.as_str().as_bytes();
        let found = |bytes: &[u8]| memchr::memmem::find(bytes, needle).is_some();
        if found(&text.base) || text.overlay.as_deref().is_some_and(found) {
            return Ok(false);
        }
        match text.times(self.magic) {
            Some(times) => self.absent_from_folders(store, year, &times, id),
            None => Ok(false),
        }
    }

    /// [`Shelf::surely_absent`] without reading the year's base file: its summary (the day
    /// lines' times and a Bloom filter of its IDs, of which this reads the blocks `id`'s bits
    /// fall in: a few KB against a base of 2-4 MB at full size; see
    /// [`crate::derived::day_summary`]) says the base cannot hold `id`, and the overlay (read
    /// whole: it is small) does not. False when the summary is missing, damaged, written for
    /// another base, or says "maybe": the base is then read.
    pub(crate) fn absent_by_summary(&self, store: &Tree, year: i32, id: &Id) -> Result<bool> {
        let path = index_path(store, self, year);
        let Some(key) = pack(id.as_str()) else {
            return Ok(false);
        };
        let Some(summary) = self.current_summary(&path) else {
            return Ok(false);
        };
        if summary.may_hold(key) != Some(false) {
            return Ok(false);
        }
        let overlay = fs::read(overlay_path(&path)).ok();
        if let Some(overlay) = &overlay
            && memchr::memmem::find(overlay, id.as_str().as_bytes()).is_some()
        {
            return Ok(false);
        }
        // Checked already under this transaction: only the days it could not trust are looked
        // into (a kind with a follower, whose refresh came first, or a booking's look ahead).
        if let Some(untrusted) = checked_in_this_txn(store, self, year) {
            return Ok(self.first_holding(store, untrusted, id) == Holding::Nowhere);
        }
        let times = self.summary_times(&summary, overlay.as_deref());
        self.absent_from_folders(store, year, &times, id)
    }

    /// The summary of the year index at `path` when it was written for the base file there
    /// now.
    fn current_summary(&self, path: &Path) -> Option<SummaryFile> {
        let summary = SummaryFile::open(&summary_path(path))?;
        (base_scanned_at(path, self.magic) == Some(summary.base_at)).then_some(summary)
    }

    /// Each day line's folder time and scan time, from the summary and the overlay over it.
    fn summary_times(&self, summary: &SummaryFile, overlay: Option<&[u8]>) -> LineTimes {
        let mut times: LineTimes = summary
            .days
            .iter()
            .map(|(date, mtime)| (*date, (*mtime, summary.base_at)))
            .collect();
        if let Some(overlay) = overlay {
            add_overlay_times(self.magic, summary.base_at, overlay, &mut times);
        }
        times
    }

    /// Under a write transaction, the stat pass of every year's new-ID check made ahead of it:
    /// each year's day folders stat'ed against its summary's times and the days that cannot be
    /// trusted noted for this transaction (see [`Checked`]), so that [`Shelf::absent_by_summary`]
    /// then looks only into those. A booking runs this while it reads its day. Best effort: a
    /// year without a current summary, or with a folder that cannot be stat'ed, is left to the
    /// check itself, which is then as without it.
    pub(crate) fn check_years_ahead(&self, store: &Tree) {
        if store.lock_epoch().is_none() {
            return;
        }
        // Every year at once: each year's 310 stats are too few to keep both cores busy.
        let _ = in_every_year(store, self, |year| {
            let path = index_path(store, self, year);
            if let Some(summary) = self.current_summary(&path) {
                let overlay = fs::read(overlay_path(&path)).ok();
                let times = self.summary_times(&summary, overlay.as_deref());
                if let Ok(Some(untrusted)) = self.untrusted_days(store, year, &times) {
                    note_checked(store, self, year, untrusted);
                }
            }
            Ok(())
        });
    }

    /// The folders of `year`'s days whose kept line (`times`) cannot be trusted (changed, racy
    /// or new), by one stat per folder; None when a folder listed could not be stat'ed.
    fn untrusted_days(
        &self,
        store: &Tree,
        year: i32,
        times: &LineTimes,
    ) -> Result<Option<Vec<NaiveDate>>> {
        let folders = day_dirs_in(store, self.dir, year)?;
        let listed = folders.dates.len();
        let stats = stat_day_folders(&folders, |d| times.get(&d).copied(), RACY_MARGIN);
        Ok((stats.len() == listed).then(|| {
            stats
                .iter()
                .filter(|f| !f.trusted)
                .map(|f| f.date)
                .collect()
        }))
    }

    /// True when, of `year`'s day folders, those whose kept line (`times`) can be trusted are
    /// taken to hold no `id` (the caller searched their lines) and the others (changed, racy
    /// or new) have no file of that name: one stat per folder, one lookup per untrusted one.
    fn absent_from_folders(
        &self,
        store: &Tree,
        year: i32,
        times: &LineTimes,
        id: &Id,
    ) -> Result<bool> {
        Ok(matches!(
            self.untrusted_holding(store, year, times, id)?,
            Holding::Nowhere
        ))
    }

    /// Which of `year`'s day folders whose kept line (`times`) cannot be trusted (changed,
    /// racy or new) has a file named `id`: one stat per folder, one lookup per untrusted one.
    fn untrusted_holding(
        &self,
        store: &Tree,
        year: i32,
        times: &LineTimes,
        id: &Id,
    ) -> Result<Holding> {
        // A folder listed but not stat'ed is one nothing can be said of: refresh.
        let Some(untrusted) = self.untrusted_days(store, year, times)? else {
            return Ok(Holding::Unknown);
        };
        Ok(self.first_holding(store, untrusted, id))
    }

    /// The first of `days` whose folder has a file named `id`: one lookup a day.
    fn first_holding(&self, store: &Tree, days: Vec<NaiveDate>, id: &Id) -> Holding {
        days.into_iter()
            .find(|date| fs::symlink_metadata(store.path(&(self.rel)(*date, id))).is_ok())
            .map_or(Holding::Nowhere, Holding::At)
    }

    /// The day of `year` whose folder holds the record `id`, found through the year's index
    /// text (`text`) without parsing it: a line holding `id` whose file is there, or else a
    /// folder changed since its line was kept that has the file (the record a moment-ago
    /// booking wrote, say). [`Holding::Unknown`] when the index is damaged: refresh it.
    pub(crate) fn day_holding(
        &self,
        store: &Tree,
        year: i32,
        text: &YearText,
        id: &Id,
        find_in: impl Fn(&[u8]) -> Option<NaiveDate>,
    ) -> Result<Holding> {
        // The overlay first: its lines are the newer.
        for bytes in text.overlay.iter().chain([&text.base]) {
            if let Some(date) = find_in(bytes)
                && store.path(&(self.rel)(date, id)).is_file()
            {
                return Ok(Holding::At(date));
            }
        }
        match text.times(self.magic) {
            Some(times) => self.untrusted_holding(store, year, &times, id),
            None => Ok(Holding::Unknown),
        }
    }
}

/// Where a year's day folders hold a record, as far as its index and one look at its
/// changed folders tell.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Holding {
    At(NaiveDate),
    Nowhere,
    /// The index is missing or damaged, or a folder could not be looked at.
    Unknown,
}

/// The summary of a year's index about to be written whole (see [`crate::derived::day_summary`]); None when
/// one of its records has no packed form (then the base is read, as without a summary).
fn summary_of(idx: &YearIndex) -> Option<Summary> {
    let keys: Vec<u64> = idx
        .days
        .values()
        .flat_map(|d| d.pairs.split(' ').filter(|r| !r.is_empty()))
        .map(|r| pack(token_id(r)))
        .collect::<Option<_>>()?;
    let days = idx.days.iter().map(|(date, d)| (*date, d.mtime)).collect();
    Some(Summary::of(idx.scanned_at, days, keys.into_iter()))
}

/// `appointments-2026.ids` beside `appointments-2026.tsv`.
fn summary_path(index: &Path) -> PathBuf {
    index.with_extension("ids")
}

/// The places of the lines of the base at `path` are kept for that base (see [`Places`]).
fn has_places(shelf: &Shelf, path: &Path) -> bool {
    let places = fs::read(places_path(path)).ok();
    let places = places.as_deref().and_then(Places::decode);
    places.is_some_and(|p| base_scanned_at(path, shelf.magic) == Some(p.base_at))
}

/// The scan time on a base file's first line, reading only its start.
fn base_scanned_at(path: &Path, magic: &str) -> Option<i64> {
    use std::io::Read;
    let mut start = [0u8; 128];
    let n = fs::File::open(path).ok()?.read(&mut start).ok()?;
    let text = std::str::from_utf8(&start[..n]).ok()?;
    scanned_at(
        magic,
        text.split('\n').next().filter(|_| text.contains('\n'))?,
    )
}

/// An ID as a number, one to one: base 37 over `0-9A-Z`, so up to 12 characters fit (IDs have
/// at most 10). None for anything else, which no ID the store builds a path from can equal.
pub(crate) fn pack(id: &str) -> Option<u64> {
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

/// One day directory as last seen.
#[derive(Debug, Clone)]
pub(crate) struct Day {
    pub(crate) mtime: i64,
    /// `APPOINTMENT:PATIENT` pairs separated by spaces, kept as text: most lookups only search
    /// it, so parsing a million IDs on every command would be wasted work.
    pub(crate) pairs: String,
    /// When the scan that recorded this line began: the line is trusted only for a folder
    /// time more than [`RACY_MARGIN`] before it.
    pub(crate) seen: i64,
    /// True for a line as the year's base file holds it; false for one re-read since (kept in
    /// the overlay until the next full write).
    pub(crate) base: bool,
}

impl Day {
    /// The same folder time and records (when each was seen aside).
    fn same_as(&self, other: &Day) -> bool {
        self.mtime == other.mtime && self.pairs == other.pairs
    }
}

#[derive(Debug, Default)]
pub(crate) struct YearIndex {
    /// When the scan that wrote (or checked) it began.
    pub(crate) scanned_at: i64,
    /// The base file's scan time, which its overlay names (None: no base file was read).
    pub(crate) base_at: Option<i64>,
    pub(crate) days: BTreeMap<NaiveDate, Day>,
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
pub(crate) struct YearText {
    base: Vec<u8>,
    overlay: Option<Vec<u8>>,
}

const OVERLAY_DAYS: usize = 32;
const OVERLAY_BYTES: usize = 256 * 1024;

impl YearText {
    pub(crate) fn read(path: &Path) -> std::io::Result<YearText> {
        let base = fs::read(path)?;
        let overlay = fs::read(overlay_path(path)).ok();
        Ok(YearText { base, overlay })
    }

    pub(crate) fn parse(&self, shelf: &Shelf) -> Option<YearIndex> {
        self.parse_as(shelf, shelf.magic)
    }

    /// [`YearText::parse`] of files whose first lines name the kind by `magic`.
    fn parse_as(&self, shelf: &Shelf, magic: &str) -> Option<YearIndex> {
        let text = std::str::from_utf8(&self.base).ok()?;
        let mut idx = parse_lines(magic, text, |pairs| well_formed(pairs, shelf.pairs))?;
        idx.base_at = Some(idx.scanned_at);
        let overlay = self
            .overlay
            .as_deref()
            .and_then(|o| std::str::from_utf8(o).ok());
        if let Some(recent) = overlay.and_then(|text| {
            let magic = overlay_magic(magic, idx.scanned_at);
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
    fn times(&self, magic: &str) -> Option<LineTimes> {
        let (base_at, mut times) = line_times(magic, &self.base)?;
        if let Some(overlay) = &self.overlay {
            add_overlay_times(magic, base_at, overlay, &mut times);
        }
        Some(times)
    }
}

/// Each day line's folder time and the scan time of the file that holds it, by date.
type LineTimes = BTreeMap<NaiveDate, (i64, i64)>;

/// A file's scan time and its lines' times.
fn line_times(magic: &str, bytes: &[u8]) -> Option<(i64, LineTimes)> {
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

/// The overlay's line times over the base's (`times`), when it is whole and lies over the
/// base of scan time `base_at`; else the base's stand, and their folders tell what changed.
fn add_overlay_times(magic: &str, base_at: i64, overlay: &[u8], times: &mut LineTimes) {
    if let Some((_, recent)) = line_times(&overlay_magic(magic, base_at), overlay) {
        times.extend(recent);
    }
}

/// `appointments-2026.recent.tsv` beside `appointments-2026.tsv`.
pub(crate) fn overlay_path(index: &Path) -> PathBuf {
    index.with_extension("recent.tsv")
}

/// The overlay's first line names the kind and the base it lies over.
fn overlay_magic(magic: &str, base_at: i64) -> String {
    format!("{magic} recent {base_at}")
}

pub(crate) fn index_path(store: &Tree, shelf: &Shelf, year: i32) -> PathBuf {
    super::index_dir(store).join(format!("{}-{year:04}.tsv", shelf.name))
}

/// The moment the scan that wrote an index file began, from its first line.
fn scanned_at(magic: &str, first_line: &str) -> Option<i64> {
    first_line.strip_prefix(magic)?.trim().parse().ok()
}

/// A day line's date, its folder's modification time when read, and its records' text.
fn day_line(line: &str) -> Option<(NaiveDate, i64, &str)> {
    let mut f = line.splitn(3, '\t');
    let date = iso_day(f.next()?)?;
    let mtime = f.next()?.parse().ok()?;
    Some((date, mtime, f.next().unwrap_or("")))
}

/// A day line may be trusted while its folder's time is still the one it was read at and lies
/// more than this margin before the scan that read it began: git's racy-timestamp rule, with
/// the margin every cache uses. (It was none, on the grounds that every write renames into
/// the folder; but a folder's time comes from the kernel's coarse clock, so a file added in
/// the same tick as the change a scan just listed kept the time the scan recorded.)
const RACY_MARGIN: i64 = SETTLE_NS;

#[cfg(test)]
pub(crate) fn parse(shelf: &Shelf, text: &str) -> Option<YearIndex> {
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
pub(crate) fn well_formed(pairs: &str, with_patient: bool) -> bool {
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

pub(crate) fn load(shelf: &Shelf, path: &Path) -> Option<YearIndex> {
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
            let places = write_lines(path, shelf.magic, idx)?;
            if shelf.follower.is_some() {
                // Like the summary: one missing, or written for another base, costs speed.
                let places = Places {
                    base_at: idx.scanned_at,
                    days: places,
                };
                let _ = atomic::write_unsynced(
                    &places_path(path),
                    &places.encode(),
                    atomic::Mode::Replace,
                );
            }
            // A summary that cannot be written (or an old one left) only costs speed: one
            // written for another base is not used.
            match summary_of(idx) {
                Some(summary) => {
                    let _ = atomic::write_unsynced(
                        &summary_path(path),
                        &summary.encode(),
                        atomic::Mode::Replace,
                    );
                }
                None => {
                    let _ = fs::remove_file(summary_path(path));
                }
            }
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

/// Writes a year's (or an overlay's, or a view's) day lines; returns where each line lies in
/// the file (see [`Places`]).
fn write_lines(path: &Path, magic: &str, idx: &YearIndex) -> Result<Vec<Place>> {
    let mut s = format!("{magic} {}\n", idx.scanned_at);
    let mut places = Vec::with_capacity(idx.days.len());
    for (date, day) in &idx.days {
        let at = s.len();
        s.push_str(&format!("{date}\t{}\t{}", day.mtime, day.pairs));
        places.push(Place {
            date: *date,
            mtime: day.mtime,
            at: at as u64,
            len: (s.len() - at) as u32,
            sum: checksum(&s.as_bytes()[at..]),
        });
        s.push('\n');
    }
    s += &text_trailer(s.as_bytes(), idx.days.len() + 1);
    if let Some(dir) = path.parent() {
        atomic::create_dirs(dir)?;
    }
    atomic::write_unsynced(path, s.as_bytes(), atomic::Mode::Replace)?;
    Ok(places)
}

impl View {
    /// The view of a year's index: every day line, with only the records it keeps.
    fn of(&self, idx: &YearIndex) -> YearIndex {
        let days = idx.days.iter().map(|(date, day)| {
            (
                *date,
                Day {
                    pairs: self.keep_of(&day.pairs),
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

    /// A day's records as the view keeps them.
    fn keep_of(&self, pairs: &str) -> String {
        let kept: Vec<&str> = pairs.split(' ').filter(|r| (self.keep)(r)).collect();
        kept.join(" ")
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
/// year validated against its day folders first. A year whose view is out of date in a few
/// days has those days re-read into it ([`view_brought_along`]); one whose view is missing,
/// damaged or further out of date is answered from its index (brought up to date as
/// [`each_day`] does) and its view written again.
pub fn each_day_in_view(
    store: &Tree,
    shelf: &Shelf,
    mut visit: impl FnMut(NaiveDate, &str),
) -> Result<()> {
    let Some(view) = &shelf.view else {
        return each_day(store, shelf, visit);
    };
    // Every year at once (each year's own files), then visited in order: one year's 350
    // stats are too few to keep both cores busy, ten years' are most of `patient show`.
    let views = in_every_year(store, shelf, |y| {
        let view_file = view_path(view, &index_path(store, shelf, y));
        let Ok(text) = fs::read_to_string(&view_file) else {
            return Ok((y, view_file, None));
        };
        // A view not as this build writes it (damaged, out of order) is refreshed whole.
        let brought = ViewDays::read(view, text)
            .and_then(|days| view_brought_along(store, shelf, view, y, days));
        if let Some(YearView::Brought(v)) = &brought
            && v.changed
        {
            // A view that cannot be written only costs speed next time.
            let _ = write_lines(&view_file, view.magic, &v.lines);
        }
        Ok((y, view_file, brought))
    })?;
    for (y, view_file, brought) in views {
        // A year whose view could not be brought along is answered from its index, one year
        // at a time, outside the parallel pass: a followed kind's refresh takes the kind's
        // lock, and a pool thread waiting inside one refresh could take up another's work and
        // wait for the lock it holds itself.
        let v = match brought {
            Some(YearView::AsKept(days)) => {
                for (date, pairs) in days.lines() {
                    visit(date, pairs);
                }
                continue;
            }
            Some(YearView::Brought(v)) => v.lines,
            None => {
                let v = view.of(&refresh_year(store, shelf, y)?);
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

/// A year's view ready to visit: as its file holds it (every day folder found unchanged,
/// the common case), or brought along (and to be written again if that changed it).
enum YearView {
    AsKept(ViewDays),
    Brought(BroughtAlong),
}

/// A view file's day lines read in place: its scan time and each day's date, folder time and
/// where its records lie in the text, in date order. Ten years of a view are 3,500 lines and
/// nearly all of them are only stat'ed against their folders and visited, so no map or string
/// is built per line: building them was a third of `patient show`'s work beyond the stats on
/// the full-size clinic (1.8 ms of CPU of ten years' views).
struct ViewDays {
    text: String,
    scanned_at: i64,
    days: Vec<ViewDay>,
}

/// One day of a [`ViewDays`]: its date, its folder's time, and where its records lie.
type ViewDay = (NaiveDate, i64, std::ops::Range<usize>);

impl ViewDays {
    /// The view in `text`; None when its lines are not sound and in date order, as the
    /// writer leaves them.
    fn read(view: &View, text: String) -> Option<ViewDays> {
        let (scanned_at, days) = Self::lines_of(view, &text)?;
        Some(ViewDays {
            text,
            scanned_at,
            days,
        })
    }

    fn lines_of(view: &View, text: &str) -> Option<(i64, Vec<ViewDay>)> {
        let (body, count) = checked_text(text)?;
        let mut lines = body.lines();
        let scanned_at = scanned_at(view.magic, lines.next()?)?;
        let mut days: Vec<ViewDay> = Vec::with_capacity(count.saturating_sub(1));
        for line in lines {
            let (date, mtime, pairs) = day_line(line)?;
            let in_order = days.last().is_none_or(|(last, _, _)| *last < date);
            if !in_order || !pairs.split(' ').all(|r| r.is_empty() || (view.keep)(r)) {
                return None;
            }
            let start = pairs.as_ptr() as usize - text.as_ptr() as usize;
            days.push((date, mtime, start..start + pairs.len()));
        }
        Some((scanned_at, days))
    }

    /// The folder time a day's line was read at, and when that scan began.
    fn kept(&self, date: NaiveDate) -> Option<(i64, i64)> {
        let at = self.days.binary_search_by_key(&date, |d| d.0).ok()?;
        Some((self.days[at].1, self.scanned_at))
    }

    fn lines(&self) -> impl Iterator<Item = (NaiveDate, &str)> {
        (self.days.iter()).map(|(date, _, at)| (*date, &self.text[at.clone()]))
    }
}

/// A year's view as [`view_brought_along`] left it, and whether it is to be written again.
struct BroughtAlong {
    lines: YearIndex,
    changed: bool,
}

/// At most this many changed days of a year are re-read into its view by the view itself;
/// more, and the year is refreshed whole.
const VIEW_DAYS: usize = 16;

/// A year's view (`days`, as its file holds it) checked against the day folders, one stat
/// each: as kept when none changed, else brought up to date by itself when a few days changed
/// (a communication just logged, or a day in the racy window): those days re-read (only their
/// changed files, through the days' memory) and their kept records put in. The year's index is left as it is: its lines are
/// checked against the folders on their own when a question needs them, so the view no
/// longer costs a read of the whole year's index (2 MB at full size) after every write. None
/// when that cannot be done (a day folder gone or not stat'ed, more than [`VIEW_DAYS`] days
/// changed, a day that cannot be read): the year is then refreshed whole.
///
/// The view's lines then all carry this scan's start as the moment they were seen. That is
/// sound for the lines not re-read: each was just found trusted, its folder's time more than
/// the racy margin before an earlier scan, so before this one too.
fn view_brought_along(
    store: &Tree,
    shelf: &Shelf,
    view: &View,
    year: i32,
    days: ViewDays,
) -> Option<YearView> {
    let scan_start = now_ns();
    let (folders, stats) =
        stat_year(store, shelf, year, |d| days.kept(d), days.days.len()).ok()??;
    if stats.iter().all(|f| f.trusted) {
        return Some(YearView::AsKept(days));
    }
    // A day changed: the lines into a map, to put the re-read days in.
    let v = view.parse(&days.text)?;
    let brought = bring_view_along(store, shelf, view, v, (folders, stats), scan_start)?;
    Some(YearView::Brought(brought))
}

/// The changed days of [`view_brought_along`] re-read into the year's lines `v`, from the
/// year's stat pass (begun at `scan_start`).
fn bring_view_along(
    store: &Tree,
    shelf: &Shelf,
    view: &View,
    mut v: YearIndex,
    (folders, stats): (DayFolders, Vec<DayFolder>),
    scan_start: i64,
) -> Option<BroughtAlong> {
    let stale: Vec<_> = stats.into_iter().filter(|f| !f.trusted).collect();
    if stale.len() > VIEW_DAYS {
        return None;
    }
    let stale = stale.into_iter().map(|f| {
        let known = v.days.contains_key(&f.date);
        (f.date, folders.path_of(f.date), f.mtime, known)
    });
    let mut changed = false;
    for (date, mtime, pairs) in read_days(store, shelf, stale.collect()) {
        let pairs = view.keep_of(&pairs.ok()?);
        let same = v
            .days
            .get(&date)
            .is_some_and(|d| d.mtime == mtime && d.pairs == pairs);
        // As a whole refresh: a day re-read only for lying in the racy window, found as it
        // was, would be re-read next time all the same, so nothing is written for it.
        changed |= !same || !folder_in_racy_window(mtime, scan_start);
        let day = Day {
            mtime,
            pairs,
            seen: scan_start,
            base: true,
        };
        v.days.insert(date, day);
    }
    if changed {
        v.scanned_at = scan_start;
    }
    Some(BroughtAlong { lines: v, changed })
}

/// One stat of each of `year`'s day folders against the kept lines' `times` (the rule of
/// [`RACY_MARGIN`]): the folders listed and their stats, in date order. None when a folder
/// listed could not be stat'ed or a kept line has no folder any more (a day gone): the caller
/// then reads the year whole.
fn stat_year(
    store: &Tree,
    shelf: &Shelf,
    year: i32,
    kept: impl Fn(NaiveDate) -> Option<(i64, i64)> + Sync,
    kept_days: usize,
) -> Result<Option<(DayFolders, Vec<DayFolder>)>> {
    let folders = day_dirs_in(store, shelf.dir, year)?;
    let stats = stat_day_folders(&folders, &kept, RACY_MARGIN);
    let found = stats.iter().filter(|f| kept(f.date).is_some()).count();
    let whole = stats.len() == folders.dates.len() && found == kept_days;
    Ok(whole.then_some((folders, stats)))
}

/// `work` done for every year of a kind at once, on every core, the results in the years'
/// order (newest first); the first error in that order is returned. For work on each year's
/// own files only: a kind's index, view and memory are kept per year, but its follower is
/// not (see [`bring_along`]).
pub(crate) fn in_every_year<T: Send>(
    store: &Tree,
    shelf: &Shelf,
    work: impl Fn(i32) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let years = years_in(store, shelf.dir)?;
    let done: Vec<Result<T>> = years.into_par_iter().map(&work).collect();
    done.into_iter().collect()
}

/// One day folder's line: the token of each file whose name is an ID, in name order (for a
/// kind without tokens, the bare IDs: no file is opened). A day the index already held is
/// read through its memory (`day_memory.rs`), so only its changed files are opened.
pub(crate) fn read_day(
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

/// Re-reads changed days (date, folder, folder time, whether the index held the day before):
/// each day's folder time and line. All of them on a first run, the slow part, spread over
/// every core; the one or two days a desk command finds changed are read on its own thread
/// (starting the pool cost more than reading them). A day the index held before is read
/// through its memory; a first build is not kept there.
fn read_days(
    store: &Tree,
    shelf: &Shelf,
    stale: Vec<(NaiveDate, PathBuf, i64, bool)>,
) -> Vec<(NaiveDate, i64, Result<String>)> {
    let read = |(date, dir, mtime, known): (NaiveDate, PathBuf, i64, bool)| {
        (date, mtime, read_day(store, shelf, date, &dir, known))
    };
    match stale.len() {
        0..=2 => stale.into_iter().map(read).collect(),
        _ => stale.into_par_iter().map(read).collect(),
    }
}

/// `.frontdesk/index/days/NAME/`: the kind's memory of the days it re-read.
fn memory_dir(store: &Tree, shelf: &Shelf) -> PathBuf {
    super::index_dir(store).join("days").join(shelf.name)
}

/// Brings one year's index up to date with the day directories on disk.
pub(crate) fn refresh_year(store: &Tree, shelf: &Shelf, year: i32) -> Result<YearIndex> {
    let old = match shelf.follower {
        None => load(shelf, &index_path(store, shelf, year)).unwrap_or_default(),
        Some(_) => YearIndex::default(), // read under the lock (`refresh_year_from`)
    };
    refresh_year_from(store, shelf, year, old)
}

/// [`refresh_year`] from the index as already read (`old`, empty when there was none or it was
/// damaged). A kind with a [`Follower`] reads its index again under the kind's lock instead:
/// what the follower was told must be what the lines it replaces said.
pub(crate) fn refresh_year_from(
    store: &Tree,
    shelf: &Shelf,
    year: i32,
    old: YearIndex,
) -> Result<YearIndex> {
    match shelf.follower {
        None => refresh_lines(store, shelf, year, old, None),
        Some(_) => {
            let held = lock(store, shelf)?;
            refresh_followed(store, shelf, year, &held)
        }
    }
}

/// One year of a followed kind brought up to date under its lock (`_held`), from its files as
/// they are now, the follower told each changed day.
fn refresh_followed(store: &Tree, shelf: &Shelf, year: i32, _held: &Held) -> Result<YearIndex> {
    let (old, lines) = load_whole(shelf, &index_path(store, shelf, year));
    if let (Lines::Unfollowed, Some(follower)) = (lines, shelf.follower) {
        // Written without telling the follower: it cannot know what was changed so, and
        // starts over from the lines (the next look rebuilds it from them, not from the files).
        follower.remove_held(store)?;
    }
    let lost = lines == Lines::Lost;
    refresh_lines(
        store,
        shelf,
        year,
        old,
        Some(Following { lost, tell: true }),
    )
}

/// How a refresh of a followed kind's year goes: whether the old lines were lost, and whether
/// the follower is told (not while it is being rebuilt from the lines themselves).
#[derive(Clone, Copy)]
struct Following {
    lost: bool,
    tell: bool,
}

/// What a year's files said, as [`load_whole`] read them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    Kept,
    /// The base file missing or damaged, or an overlay beside it that cannot be read over it:
    /// the lines are read again from the folders, and the follower cannot be told what they
    /// were.
    Lost,
    /// Lines under the kind's [`Shelf::unfollowed_magic`]: whole, but written without telling
    /// the follower.
    Unfollowed,
}

/// A year's index as its files hold it, and what they were ([`Lines`]).
fn load_whole(shelf: &Shelf, path: &Path) -> (YearIndex, Lines) {
    let Ok(text) = YearText::read(path) else {
        return (YearIndex::default(), Lines::Lost);
    };
    if let Some(idx) = text.parse(shelf) {
        let overlay_lost = text.overlay.as_deref().is_some_and(|o| {
            let magic = overlay_magic(shelf.magic, idx.scanned_at);
            let parsed = std::str::from_utf8(o)
                .ok()
                .and_then(|t| parse_lines(&magic, t, |p| well_formed(p, shelf.pairs)));
            parsed.is_none()
        });
        return (
            idx,
            if overlay_lost {
                Lines::Lost
            } else {
                Lines::Kept
            },
        );
    }
    match (shelf.unfollowed_magic).and_then(|magic| text.parse_as(shelf, magic)) {
        Some(idx) => (idx, Lines::Unfollowed),
        None => (YearIndex::default(), Lines::Lost),
    }
}

/// The work of [`refresh_year_from`]: `follow` is None for a kind without a follower.
fn refresh_lines(
    store: &Tree,
    shelf: &Shelf,
    year: i32,
    old: YearIndex,
    follow: Option<Following>,
) -> Result<YearIndex> {
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
    let folders = day_dirs_in(store, shelf.dir, year)?;
    let stats = stat_day_folders(
        &folders,
        |date| old_days.get(&date).map(|d| (d.mtime, d.seen)),
        RACY_MARGIN,
    );
    // The lines of days re-read only for being in the racy window, to tell whether they moved.
    let mut old_racy = BTreeMap::new();
    for f in stats {
        let dir = folders.path_of(f.date);
        match old_days.remove(&f.date) {
            Some(d) if f.trusted => {
                fresh.days.insert(f.date, d);
            }
            Some(d) => {
                stale.push((f.date, dir, f.mtime, true));
                old_racy.insert(f.date, d);
            }
            None => stale.push((f.date, dir, f.mtime, false)),
        }
    }
    let read = read_days(store, shelf, stale);
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
        let still_racy = folder_in_racy_window(mtime, scan_start);
        changed |= !still_racy || !old_racy.get(&date).is_some_and(|d| d.same_as(&day));
        fresh.days.insert(date, day);
    }
    // The follower is told every day whose records moved (a day gone: all of them), before
    // anything is written: a crash after it leaves the old lines, so the day is read again and
    // told again (a follower's update of a day is idempotent).
    if let (Some(follower), Some(Following { lost, tell })) = (shelf.follower, follow) {
        let mut changes: Vec<Change> = fresh
            .days
            .iter()
            .filter(|(_, d)| d.seen == scan_start)
            .map(|(date, d)| Change {
                date: *date,
                old: old_racy.get(date).map_or("", |o: &Day| o.pairs.as_str()),
                new: d.pairs.as_str(),
            })
            .filter(|c| c.old != c.new)
            .collect();
        changes.extend(old_days.iter().map(|(date, d)| Change {
            date: *date,
            old: d.pairs.as_str(),
            new: "",
        }));
        if tell && (lost || !changes.is_empty()) {
            follower.follow(store, year, &changes, lost)?;
        }
        // A lost year is written even when it has no day: the follower now counts on its file.
        changed |= lost;
    }
    // A followed kind brings a year along by the places of its base's lines (`.lines`),
    // written with the base: a base without them (written before the kind was followed, or
    // its places lost) is written whole once, or every command would parse the year whole.
    let unplaced = follow.is_some() && !has_places(shelf, &path);
    // A day folder gone takes its line out of the base: the year is written whole.
    let over_base = old.base_at.filter(|_| old_days.is_empty() && !unplaced);
    if changed || unplaced || fresh.days.len() != old_len {
        // A cache that cannot be written only costs speed next time.
        let _ = save(shelf, &path, &fresh, over_base);
    }
    Ok(fresh)
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
    let _held = match shelf.follower {
        Some(follower) => {
            let held = lock(store, shelf)?;
            follower.remove_held(store)?;
            Some(held)
        }
        None => None,
    };
    super::remove_folder(&memory_dir(store, shelf))?;
    let dir = super::index_dir(store);
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

/// A cache kept beside a kind's day lines and brought along with them (a kind's by-patient
/// buckets, `by_patient.rs`): the engine tells it each day whose records changed
/// (the old and the new tokens) before it writes the new lines, under the kind's lock
/// ([`lock`]), so what it holds is always what the written lines say. A crash between the two
/// leaves the old lines, so the day is read and told again: a follower's update must be
/// idempotent (take the old tokens out, put the new in). A year whose lines were lost (its
/// files missing or damaged) is told with `lost` and no old tokens: the follower then starts
/// over unless it holds nothing of that year.
pub(crate) trait Follower: Sync {
    /// The news of one year's changed days (`lost`: the year's old lines were lost).
    fn follow(&self, store: &Tree, year: i32, changes: &[Change], lost: bool) -> Result<()>;
    /// Deletes it, when the kind's index is (the engine holds the lock).
    fn remove_held(&self, store: &Tree) -> Result<()>;
}

/// One day's records as the kind's line held them and as its folder holds them now (a day
/// gone: none; a day new: none before).
#[derive(Clone, Copy)]
pub(crate) struct Change<'a> {
    pub(crate) date: NaiveDate,
    pub(crate) old: &'a str,
    pub(crate) new: &'a str,
}

/// A followed kind's lock, `.frontdesk/index/NAME.lock`, held while its lines and its follower
/// are read or changed together. The file is never deleted by the tool.
pub(crate) struct Held {
    _file: fs::File,
}

/// Takes a followed kind's lock, waiting for it. A lock taken on a file that is no longer at
/// that path (the folder was deleted by hand meanwhile) is let go and taken again on the file
/// now there: everyone locks the same file.
pub(crate) fn lock(store: &Tree, shelf: &Shelf) -> Result<Held> {
    take_lock(store, shelf, true)?
        .ok_or_else(|| crate::error::Error::internal("the index lock was not taken"))
}

/// [`lock`] when no one holds it; None when someone does (a write-through does not wait for
/// a reader: the next command does its work instead).
pub(crate) fn lock_if_free(store: &Tree, shelf: &Shelf) -> Result<Option<Held>> {
    take_lock(store, shelf, false)
}

fn take_lock(store: &Tree, shelf: &Shelf, wait: bool) -> Result<Option<Held>> {
    use std::os::unix::fs::OpenOptionsExt;

    use crate::error::IoContext;
    let dir = super::index_dir(store);
    let path = dir.join(format!("{}.lock", shelf.name));
    loop {
        atomic::create_dirs(&dir)?;
        let opened = fs::File::options()
            .create(true)
            .mode(0o600)
            .truncate(false)
            .write(true)
            .open(&path);
        let file = match opened {
            // The folder went between making it and opening the file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            other => other.at_path(&path, "open the index lock")?,
        };
        match wait {
            true => file.lock().at_path(&path, "lock")?,
            false => match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => return Ok(None),
                Err(fs::TryLockError::Error(e)) => Err(e).at_path(&path, "lock")?,
            },
        }
        if still_at(&file, &path) {
            return Ok(Some(Held { _file: file }));
        }
    }
}

/// The open `file` is the one at `path`. When either cannot be stat'ed for another reason
/// than the path being gone, it is taken to be.
fn still_at(file: &fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        (_, Err(e)) if e.kind() == std::io::ErrorKind::NotFound => false,
        _ => true,
    }
}

/// Where one day line lies in its year's base file: its date and folder time, its offset and
/// length, and its checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    date: NaiveDate,
    mtime: i64,
    at: u64,
    len: u32,
    sum: u64,
}

/// A followed kind's map of a year's base file (`NAME-YYYY.lines`, sealed under
/// [`PLACES_MAGIC`]): the base's scan time, which the base's first line must still show, and
/// each day line's [`Place`]. With it a refresh reads neither the base (2–4 MB a year at full
/// size) nor the summary's Bloom filter (300 KB a year for the ledger): each day's time is
/// here, and a changed day's old line is read at its place and checked against its checksum.
/// Written with every whole write of the base.
struct Places {
    base_at: i64,
    days: Vec<Place>,
}

const PLACES_MAGIC: &[u8; 8] = b"FDDLIN01";

impl Places {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(16 + 32 * self.days.len());
        w.i64(self.base_at);
        w.u32(self.days.len() as u32);
        for p in &self.days {
            w.i32(p.date.num_days_from_ce());
            w.i64(p.mtime);
            w.u64(p.at);
            w.u32(p.len);
            w.u64(p.sum);
        }
        seal(PLACES_MAGIC, &w.buf)
    }

    fn decode(bytes: &[u8]) -> Option<Places> {
        let mut r = Reader::new(unseal(PLACES_MAGIC, bytes)?);
        let base_at = r.i64()?;
        let n = r.u32()? as usize;
        let mut days = Vec::with_capacity(n.min(366));
        for _ in 0..n {
            days.push(Place {
                date: NaiveDate::from_num_days_from_ce_opt(r.i32()?)?,
                mtime: r.i64()?,
                at: r.u64()?,
                len: r.u32()?,
                sum: r.u64()?,
            });
        }
        r.at_end().then_some(Places { base_at, days })
    }

    /// The records of the day line at `place` in the open base file, when it is there as it
    /// was written.
    fn read_line(base: &fs::File, place: &Place) -> Option<String> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0; place.len as usize];
        base.read_exact_at(&mut buf, place.at).ok()?;
        if checksum(&buf) != place.sum {
            return None;
        }
        let (date, mtime, pairs) = day_line(std::str::from_utf8(&buf).ok()?)?;
        (date == place.date && mtime == place.mtime).then(|| pairs.to_string())
    }
}

/// `ledger-2026.lines` beside `ledger-2026.tsv`.
fn places_path(index: &Path) -> PathBuf {
    index.with_extension("lines")
}

/// Brings every year of a followed kind up to date under its lock (`held`), its follower told
/// each changed day; returns the years. A year is refreshed from its times alone (its
/// [`Places`] and its overlay: a few KB) when it can be, else as [`refresh_year`] does.
pub(crate) fn bring_along(store: &Tree, shelf: &Shelf, held: &Held) -> Result<Vec<i32>> {
    let years = years_in(store, shelf.dir)?;
    // Every year's stat pass at once, then each year brought along in turn: the passes only
    // read (a year's files and folders), what follows tells the follower, which years share.
    // Ten years' passes one after the other were 6 of the 9 ms `pay collect` took to bring the
    // ledger along on the big clinic, each year's 310 stats too few to keep both cores busy.
    let looks: Vec<_> = years
        .par_iter()
        .map(|&y| look_at_year(store, shelf, y))
        .collect();
    for (&y, look) in years.iter().zip(looks) {
        let by_times = match look? {
            Some(look) => refresh_by_times(store, shelf, y, look)?,
            None => None,
        };
        let untrusted = match by_times {
            Some(untrusted) => untrusted,
            None => {
                let idx = refresh_followed(store, shelf, y, held)?;
                let read = idx.days.iter().filter(|(_, d)| d.seen == idx.scanned_at);
                read.map(|(date, _)| *date).collect()
            }
        };
        note_checked(store, shelf, y, untrusted);
    }
    Ok(years)
}

/// What a refresh of a followed kind's year under a write transaction found: the days whose
/// folders it could not trust when its stat pass began (it read them), every other day's line
/// being then what its folder held. The new-ID check of the same transaction
/// ([`Shelf::absent_by_summary`]) takes that for a stat pass of its own (`pay collect` read the
/// patient's ledger a moment before): the transaction holds the write lock, so only its own
/// writes change the folders, and it checks a new record's ID before writing it.
struct Checked {
    root: PathBuf,
    epoch: u64,
    name: &'static str,
    year: i32,
    untrusted: Vec<NaiveDate>,
}

static CHECKED: std::sync::Mutex<Vec<Checked>> = std::sync::Mutex::new(Vec::new());

fn note_checked(store: &Tree, shelf: &Shelf, year: i32, untrusted: Vec<NaiveDate>) {
    let Some(epoch) = store.lock_epoch() else {
        return;
    };
    let mut memo = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
    memo.retain(|c| {
        !(c.root == store.root() && c.name == shelf.name && c.year == year) && c.epoch + 64 > epoch
    });
    memo.push(Checked {
        root: store.root().to_path_buf(),
        epoch,
        name: shelf.name,
        year,
        untrusted,
    });
}

/// The days of `year` a refresh under this same write transaction could not trust (see
/// [`Checked`]); None when no such refresh was made.
fn checked_in_this_txn(store: &Tree, shelf: &Shelf, year: i32) -> Option<Vec<NaiveDate>> {
    let epoch = store.lock_epoch()?;
    let memo = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
    memo.iter()
        .find(|c| {
            c.epoch == epoch && c.name == shelf.name && c.year == year && c.root == store.root()
        })
        .map(|c| c.untrusted.clone())
}

/// The first, read-only half of [`refresh_by_times`]: a followed year's small files and one
/// stat of each of its day folders, taken at `scan_start`. [`look_at_year`] answers None when
/// the year cannot be brought along so (the places missing, damaged or of another base, an
/// overlay that cannot be read: see [`followed_year`]; or a day folder gone, or not stat'ed):
/// the year is then written whole.
struct YearLook {
    followed: FollowedYear,
    scan_start: i64,
    folders: DayFolders,
    stats: Vec<DayFolder>,
}

fn look_at_year(store: &Tree, shelf: &Shelf, year: i32) -> Result<Option<YearLook>> {
    // A kind's view is not written here: it brings itself along (see `view_brought_along`).
    if shelf.follower.is_none() {
        return Ok(None);
    }
    let Some(followed) = followed_year(store, shelf, year) else {
        return Ok(None);
    };
    let scan_start = now_ns();
    let times = &followed.times;
    let kept = |d| times.get(&d).copied();
    let Some((folders, stats)) = stat_year(store, shelf, year, kept, times.len())? else {
        return Ok(None);
    };
    Ok(Some(YearLook {
        followed,
        scan_start,
        folders,
        stats,
    }))
}

/// One year of a followed kind brought up to date without reading its base file, from its
/// [`YearLook`] (one stat per day folder against the times its [`Places`] and overlay keep):
/// a changed day's old line read from the overlay or at its place in the base; the follower
/// told; the re-read days added to the overlay. None, having written nothing, when that cannot
/// be done (a line not as written, or an overlay grown too large; [`look_at_year`] answers
/// None for the rest): the caller then refreshes the year whole. Held under the kind's lock.
fn refresh_by_times(
    store: &Tree,
    shelf: &Shelf,
    year: i32,
    look: YearLook,
) -> Result<Option<Vec<NaiveDate>>> {
    let YearLook {
        followed:
            FollowedYear {
                path,
                places,
                overlay,
                times,
            },
        scan_start,
        folders,
        stats,
    } = look;
    let stale: Vec<_> = stats.into_iter().filter(|f| !f.trusted).collect();
    let untrusted: Vec<NaiveDate> = stale.iter().map(|f| f.date).collect();
    if stale.is_empty() {
        return Ok(Some(untrusted));
    }
    // The old line of each changed day the index held.
    let Some(old) = old_lines(
        shelf,
        &path,
        &places,
        &overlay,
        stale.iter().map(|f| f.date),
    ) else {
        return Ok(None);
    };
    let stale = stale.into_iter().map(|f| {
        let known = times.contains_key(&f.date);
        (f.date, folders.path_of(f.date), f.mtime, known)
    });
    let read = read_days(store, shelf, stale.collect());
    let mut recent = overlay.days;
    let mut changed = false;
    let mut now: Vec<(NaiveDate, String)> = Vec::with_capacity(read.len());
    for (date, mtime, pairs) in read {
        let pairs = pairs?;
        let same = times.get(&date).map(|t| t.0) == Some(mtime)
            && old.get(&date).map(String::as_str) == Some(pairs.as_str());
        changed |= !same || !folder_in_racy_window(mtime, scan_start);
        recent.insert(
            date,
            Day {
                mtime,
                pairs: pairs.clone(),
                seen: scan_start,
                base: false,
            },
        );
        now.push((date, pairs));
    }
    // As a whole refresh: days re-read only for lying in the racy window, found as they were,
    // would be re-read next time all the same, so nothing is written.
    if !changed {
        return Ok(Some(untrusted));
    }
    let at = (year, path.as_path(), places.base_at);
    if !tell_and_overlay(store, shelf, at, &old, &now, recent, scan_start)? {
        return Ok(None);
    }
    Ok(Some(untrusted))
}

/// The end of an update of a followed year from its small files (a refresh by times, or a
/// write-through): the days it read or wrote (`now`, each against its `old` line) told to the
/// follower, then the overlay (`recent`: those days among the others kept since the base, at
/// `path` over the base scanned at `base_at`) written. False, having written nothing, when
/// the overlay would grow past its bounds.
fn tell_and_overlay(
    store: &Tree,
    shelf: &Shelf,
    (year, path, base_at): (i32, &Path, i64),
    old: &BTreeMap<NaiveDate, String>,
    now: &[(NaiveDate, String)],
    recent: BTreeMap<NaiveDate, Day>,
    scan_start: i64,
) -> Result<bool> {
    let bytes: usize = recent.values().map(|d| d.pairs.len() + 32).sum();
    if recent.len() > OVERLAY_DAYS || bytes > OVERLAY_BYTES {
        return Ok(false);
    }
    let changes: Vec<Change> = now
        .iter()
        .map(|(date, new)| Change {
            date: *date,
            old: old.get(date).map_or("", String::as_str),
            new,
        })
        .filter(|c| c.old != c.new)
        .collect();
    if let Some(follower) = shelf.follower
        && !changes.is_empty()
    {
        follower.follow(store, year, &changes, false)?;
    }
    let overlay = YearIndex {
        scanned_at: scan_start,
        base_at: None,
        days: recent,
    };
    // A cache that cannot be written only costs speed next time.
    let _ = write_lines(
        &overlay_path(path),
        &overlay_magic(shelf.magic, base_at),
        &overlay,
    );
    Ok(true)
}

/// A followed kind's year as its small files keep it: the map of its base's lines, the overlay
/// of the days re-read since, and each day's kept folder time and scan time.
struct FollowedYear {
    path: PathBuf,
    places: Places,
    overlay: YearIndex,
    times: LineTimes,
}

/// The year's [`FollowedYear`]; None when its files cannot be used so (the places missing,
/// damaged or of another base, an overlay that cannot be read): the year is then read whole.
fn followed_year(store: &Tree, shelf: &Shelf, year: i32) -> Option<FollowedYear> {
    let path = index_path(store, shelf, year);
    let places = fs::read(places_path(&path)).ok();
    let places = places.as_deref().and_then(Places::decode)?;
    if base_scanned_at(&path, shelf.magic) != Some(places.base_at) {
        return None;
    }
    let overlay = match fs::read(overlay_path(&path)) {
        Ok(bytes) => {
            let magic = overlay_magic(shelf.magic, places.base_at);
            std::str::from_utf8(&bytes)
                .ok()
                .and_then(|t| parse_lines(&magic, t, |p| well_formed(p, shelf.pairs)))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => YearIndex::default(),
        Err(_) => return None,
    };
    let mut times: LineTimes = places
        .days
        .iter()
        .map(|p| (p.date, (p.mtime, places.base_at)))
        .collect();
    times.extend(
        overlay
            .days
            .iter()
            .map(|(d, day)| (*d, (day.mtime, day.seen))),
    );
    Some(FollowedYear {
        path,
        places,
        overlay,
        times,
    })
}

/// The line each of `days` has in the year (the overlay's, else the base's, read at its
/// place); a day with no line has none here. None when a base line is not as written.
fn old_lines(
    shelf: &Shelf,
    path: &Path,
    places: &Places,
    overlay: &YearIndex,
    days: impl Iterator<Item = NaiveDate>,
) -> Option<BTreeMap<NaiveDate, String>> {
    let mut base = None;
    let mut old = BTreeMap::new();
    for date in days {
        if let Some(day) = overlay.days.get(&date) {
            old.insert(date, day.pairs.clone());
        } else if let Ok(at) = places.days.binary_search_by_key(&date, |p| p.date) {
            if base.is_none() {
                base = fs::File::open(path).ok();
            }
            let line = base
                .as_ref()
                .and_then(|b| Places::read_line(b, &places.days[at]))
                .filter(|pairs| well_formed(pairs, shelf.pairs))?;
            old.insert(date, line);
        }
    }
    Some(old)
}

/// The record ID a day line's token begins with (`T…:P…`, or the bare `T…`).
fn token_id(token: &str) -> &str {
    token.split_once(':').map_or(token, |(id, _)| id)
}

/// Write-through for a followed kind: the records a transaction has just written into days of
/// `year` (`written`: each day and the IDs written there) put into those days' lines and told
/// to the follower by the writer, under the kind's lock (`_held`), so that the next command
/// finds the lines as it would make them and writes nothing. Each new line is the old one
/// with the written records' tokens (read from the files just written) in name order, and
/// the folder's time after the write; that time lies in the racy window, so the next command
/// still lists the day and compares (a hand edit since the line was last read, or in the
/// same clock tick, is found there as it would be without this). False, having written
/// nothing, when the year's small files cannot be used, a folder's time is not in the racy
/// window, or the overlay would grow too large: the next command then does the work.
pub(crate) fn note_written(
    store: &Tree,
    shelf: &Shelf,
    year: i32,
    written: &[(NaiveDate, Vec<Id>)],
    _held: &Held,
) -> Result<bool> {
    // A kind's view is not written here: it brings itself along (see `view_brought_along`).
    if shelf.follower.is_none() {
        return Ok(false);
    }
    // A batch (an import) is left to the next command: the overlay could not hold it.
    if written.len() > OVERLAY_DAYS {
        return Ok(false);
    }
    let Some(year_files) = followed_year(store, shelf, year) else {
        return Ok(false);
    };
    let FollowedYear {
        path,
        places,
        overlay,
        ..
    } = year_files;
    let Some(old) = old_lines(shelf, &path, &places, &overlay, written.iter().map(|w| w.0)) else {
        return Ok(false);
    };
    let scan_start = now_ns();
    let mut recent = overlay.days;
    let mut new_lines = Vec::with_capacity(written.len());
    for (date, ids) in written {
        let dir = store.path(&crate::disk::layout::day_folder(shelf.dir, *date));
        let Ok(meta) = fs::metadata(&dir) else {
            return Ok(false);
        };
        let mtime = crate::derived::stamp::mtime_ns(&meta);
        if !folder_in_racy_window(mtime, scan_start) {
            return Ok(false);
        }
        let mut tokens: Vec<String> = old
            .get(date)
            .map(|l| {
                l.split(' ')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        for id in ids {
            let file = store.path(&(shelf.rel)(*date, id));
            // Not there (moved or removed since): the next command reads the day.
            if fs::symlink_metadata(&file).is_err() {
                return Ok(false);
            }
            let token = match shelf.token {
                Some(token_of) => token_of(&file, id),
                None => id.to_string(),
            };
            tokens.retain(|t| token_id(t) != id.as_str());
            let at = tokens.partition_point(|t| token_id(t) < id.as_str());
            tokens.insert(at, token);
        }
        let pairs = tokens.join(" ");
        recent.insert(
            *date,
            Day {
                mtime,
                pairs: pairs.clone(),
                seen: scan_start,
                base: false,
            },
        );
        new_lines.push((*date, pairs));
    }
    let at = (year, path.as_path(), places.base_at);
    tell_and_overlay(store, shelf, at, &old, &new_lines, recent, scan_start)
}

/// Each year of a followed kind as its files hold it, handed to `visit`, under the kind's lock
/// (`_held`), for a follower rebuilding itself from the lines: a year whose lines were lost
/// is read again from its folders first (the follower not told). Returns the years.
pub(crate) fn each_year_held(
    store: &Tree,
    shelf: &Shelf,
    _held: &Held,
    mut visit: impl FnMut(i32, &YearIndex) -> Result<()>,
) -> Result<Vec<i32>> {
    let years = years_in(store, shelf.dir)?;
    for &y in &years {
        let (old, lines) = load_whole(shelf, &index_path(store, shelf, y));
        let idx = match lines {
            Lines::Kept => old,
            // Lost lines are read again; unfollowed ones are written anew, under the kind's
            // magic (else every look would find them unfollowed again).
            _ => {
                let quiet = Following {
                    lost: lines == Lines::Lost,
                    tell: false,
                };
                refresh_lines(store, shelf, y, old, Some(quiet))?
            }
        };
        visit(y, &idx)?;
    }
    Ok(years)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derived::ledger_index::LEDGER;
    use crate::derived::stamp::settle_folder;

    fn year_of(ids: &[String]) -> YearIndex {
        let mut days = BTreeMap::new();
        for (n, chunk) in ids.chunks(50).enumerate() {
            let date = NaiveDate::from_yo_opt(2026, n as u32 + 1).unwrap();
            let day = Day {
                mtime: 1_000 + n as i64,
                pairs: chunk.join(" "),
                seen: 5_000,
                base: true,
            };
            days.insert(date, day);
        }
        YearIndex {
            scanned_at: 5_000,
            base_at: Some(5_000),
            days,
        }
    }

    fn id(n: u64) -> String {
        crate::domain::id::Id::from_bits(crate::domain::id::IdKind::Appointment, n).to_string()
    }

    /// A view read in place gives the days, folder times and records the usual reading
    /// gives, and the scan time as every day's; a view whose lines are out of order or
    /// damaged is refused (its year is then refreshed whole).
    #[test]
    fn a_view_read_in_place_holds_what_the_usual_reading_holds() {
        let view = View {
            name: "test-open",
            magic: "frontdesk-test-open 1",
            keep: |r| r.ends_with(":DUE"),
        };
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("test-open-2026.tsv");
        let mut v = year_of(&[]);
        for (n, pairs) in ["", "C1:P1:DUE", "C2:P2:DUE C3:P1:DUE", ""]
            .iter()
            .enumerate()
        {
            let date = NaiveDate::from_ymd_opt(2026, 3, n as u32 + 1).unwrap();
            let day = Day {
                mtime: 7_000 + n as i64,
                pairs: pairs.to_string(),
                seen: v.scanned_at,
                base: true,
            };
            v.days.insert(date, day);
        }
        write_lines(&path, view.magic, &v).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let usual = view.parse(&text).unwrap();
        let days = ViewDays::read(&view, text.clone()).unwrap();
        let in_place: Vec<(NaiveDate, &str)> = days.lines().collect();
        let read: Vec<(NaiveDate, &str)> = (usual.days.iter())
            .map(|(d, day)| (*d, day.pairs.as_str()))
            .collect();
        assert_eq!(in_place, read);
        for (date, day) in &usual.days {
            assert_eq!(days.kept(*date), Some((day.mtime, day.seen)));
        }
        assert_eq!(
            days.kept(NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()),
            None
        );
        // Two lines swapped (checksum made good again), a record the view does not keep, and
        // a byte changed: each refused.
        let body = text
            .lines()
            .take(text.lines().count() - 1)
            .collect::<Vec<_>>();
        let mut swapped = body.clone();
        swapped.swap(1, 2);
        let resealed = |lines: &[&str]| {
            let mut t = lines.join("\n");
            t.push('\n');
            let trailer = text_trailer(t.as_bytes(), lines.len());
            t + &trailer
        };
        let not_kept = body.join("\n").replace("C1:P1:DUE", "C1:P1");
        let not_kept: Vec<&str> = not_kept.lines().collect();
        for bad in [
            resealed(&swapped),
            resealed(&not_kept),
            text.replace("C2:P2", "C9:P2"),
        ] {
            assert!(ViewDays::read(&view, bad).is_none());
        }
        assert!(ViewDays::read(&view, resealed(&body)).is_some());
    }

    /// The patient of the ledger entries [`ledger_day`] writes.
    fn patient() -> Id {
        Id::from_bits(crate::domain::id::IdKind::Patient, 7)
    }

    /// A ledger of one day folder, settled an hour back, with a file of `n` in it.
    fn ledger_day(tree: &Tree, date: NaiveDate, n: u64) -> PathBuf {
        let t = crate::domain::id::Id::from_bits(crate::domain::id::IdKind::Transaction, n);
        let path = tree.path(&crate::disk::layout::ledger_rel(date, &t));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("patient = \"{}\"\n", patient())).unwrap();
        settle_folder(path.parent().unwrap());
        path
    }

    /// Two settled ledger days of November 2026 with a file each, indexed (summary and all),
    /// and the ledger's index lock, still held.
    fn two_indexed_ledger_days(tree: &Tree) -> (NaiveDate, NaiveDate, Held) {
        let (d1, d2) = (
            NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 3).unwrap(),
        );
        ledger_day(tree, d1, 1);
        ledger_day(tree, d2, 2);
        let held = lock(tree, &LEDGER).unwrap();
        bring_along(tree, &LEDGER, &held).unwrap();
        (d1, d2, held)
    }

    /// Under a write transaction, the new-ID check takes the ledger's refresh of a moment ago
    /// for its own stat pass, looking only into the days it could not trust; another
    /// transaction (or none) makes its own.
    #[test]
    fn a_new_id_check_trusts_the_refresh_of_its_own_transaction_only() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        let (d1, d2, held) = two_indexed_ledger_days(&tree);
        tree.set_holds_lock(true);
        bring_along(&tree, &LEDGER, &held).unwrap();
        assert_eq!(checked_in_this_txn(&tree, &LEDGER, 2026), Some(vec![]));
        // A file put by hand into a trusted folder in the middle of the transaction (not
        // expected: the write lock is held) is not looked for: no stat pass was made.
        let by_hand = ledger_day(&tree, d1, 3);
        let id = name_id(&by_hand).unwrap();
        assert!(LEDGER.absent_by_summary(&tree, 2026, &id).unwrap());
        // The next transaction stats the folders again and finds it.
        tree.set_holds_lock(false);
        tree.set_holds_lock(true);
        assert_eq!(checked_in_this_txn(&tree, &LEDGER, 2026), None);
        assert!(!LEDGER.absent_by_summary(&tree, 2026, &id).unwrap());
        tree.set_holds_lock(false);
        assert!(!LEDGER.absent_by_summary(&tree, 2026, &id).unwrap());
        // A day the refresh could not trust (changed since) is looked into.
        tree.set_holds_lock(true);
        let moved = ledger_day(&tree, d2, 4);
        fs::File::open(moved.parent().unwrap())
            .unwrap()
            .set_modified(std::time::SystemTime::now())
            .unwrap();
        bring_along(&tree, &LEDGER, &held).unwrap();
        // (The first day changed too, by the file put there by hand.)
        assert_eq!(
            checked_in_this_txn(&tree, &LEDGER, 2026),
            Some(vec![d1, d2])
        );
        let late = ledger_day(&tree, d2, 5);
        let id = name_id(&late).unwrap();
        assert!(!LEDGER.absent_by_summary(&tree, 2026, &id).unwrap());
        tree.set_holds_lock(false);
    }

    /// A booking's look ahead: under a write transaction, each year's day folders are stat'ed
    /// once against the summary, and the new-ID check then looks only into the days that could
    /// not be trusted, where a file put there by hand is still found. Without the lock it
    /// leaves nothing behind.
    #[test]
    fn a_look_ahead_notes_the_days_a_new_id_check_must_look_into() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        let (_, d2, held) = two_indexed_ledger_days(&tree);
        drop(held);
        let by_hand = ledger_day(&tree, d2, 3);
        let id = name_id(&by_hand).unwrap();
        LEDGER.check_years_ahead(&tree);
        assert_eq!(checked_in_this_txn(&tree, &LEDGER, 2026), None);
        tree.set_holds_lock(true);
        LEDGER.check_years_ahead(&tree);
        assert_eq!(checked_in_this_txn(&tree, &LEDGER, 2026), Some(vec![d2]));
        assert!(!LEDGER.absent_by_summary(&tree, 2026, &id).unwrap());
        let unused = Id::from_bits(crate::domain::id::IdKind::Transaction, 9);
        assert!(LEDGER.absent_by_summary(&tree, 2026, &unused).unwrap());
        tree.set_holds_lock(false);
    }

    /// A ledger day with a file in each of three years (a leap day among them), oldest first.
    fn three_ledger_years(tree: &Tree) -> [NaiveDate; 3] {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let days = [day(2024, 2, 29), day(2025, 6, 2), day(2026, 11, 2)];
        for (n, d) in days.iter().enumerate() {
            ledger_day(tree, *d, n as u64 + 1);
        }
        days
    }

    /// The look-ahead, every year at once: each year's days that cannot be trusted are noted
    /// for that year, and only those.
    #[test]
    fn a_look_ahead_notes_each_years_own_untrusted_days() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        let days = three_ledger_years(&tree);
        let held = lock(&tree, &LEDGER).unwrap();
        bring_along(&tree, &LEDGER, &held).unwrap();
        drop(held);
        ledger_day(&tree, days[0], 10);
        ledger_day(&tree, days[2], 11);
        tree.set_holds_lock(true);
        LEDGER.check_years_ahead(&tree);
        let untrusted = |y| checked_in_this_txn(&tree, &LEDGER, y);
        assert_eq!(untrusted(2024), Some(vec![days[0]]));
        assert_eq!(untrusted(2025), Some(vec![]));
        assert_eq!(untrusted(2026), Some(vec![days[2]]));
        tree.set_holds_lock(false);
    }

    /// Bringing three years along: what was put by hand into two of them is found in each,
    /// the follower told, and no other day taken for changed.
    #[test]
    fn bringing_years_along_finds_each_years_hand_edits() {
        use crate::derived::ledger_index::{LEDGER, patient_entries};
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        let days = three_ledger_years(&tree);
        let patient = patient();
        assert_eq!(patient_entries(&tree, &patient).unwrap().len(), 3);
        ledger_day(&tree, days[0], 10);
        ledger_day(&tree, days[2], 11);
        let held = lock(&tree, &LEDGER).unwrap();
        tree.set_holds_lock(true);
        assert_eq!(
            bring_along(&tree, &LEDGER, &held).unwrap(),
            [2026, 2025, 2024]
        );
        let untrusted = |y| checked_in_this_txn(&tree, &LEDGER, y);
        assert_eq!(untrusted(2024), Some(vec![days[0]]));
        assert_eq!(untrusted(2025), Some(vec![]));
        assert_eq!(untrusted(2026), Some(vec![days[2]]));
        tree.set_holds_lock(false);
        drop(held);
        let found: Vec<NaiveDate> = patient_entries(&tree, &patient)
            .unwrap()
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        assert_eq!(
            found,
            [days[0], days[0], days[1], days[2], days[2]],
            "every entry, the two put by hand among them"
        );
    }

    /// Work done for every year at once comes back in the years' order, newest first, and of
    /// two years that fail, the newer one's error is the one returned, every time.
    #[test]
    fn every_years_work_comes_back_in_order_with_the_newest_years_error() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        for y in 2017..=2026 {
            ledger_day(&tree, NaiveDate::from_ymd_opt(y, 3, 1).unwrap(), y as u64);
        }
        let all = in_every_year(&tree, &LEDGER, Ok).unwrap();
        assert_eq!(all, (2017..=2026).rev().collect::<Vec<_>>());
        for _ in 0..20 {
            let failed = in_every_year(&tree, &LEDGER, |y| match y {
                2019 | 2022 => Err(crate::error::Error::user(format!("year {y}"))),
                _ => Ok(y),
            });
            assert_eq!(failed.unwrap_err().message, "year 2022");
        }
    }

    #[test]
    fn a_year_holding_a_record_without_a_packed_form_has_no_summary() {
        let held = vec![id(1), "not-an-id".to_string()];
        assert!(summary_of(&year_of(&held)).is_none());
    }
}
