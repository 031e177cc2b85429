//! Where letters live: `correspondence/YYYY/MM/DD/L….toml` (the record) beside `L….html` or
//! `L….txt` (the letter exactly as sent), by the office-local day it was written; and the
//! batch outbox files in `outbox/`.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use sha1::{Digest, Sha1};

use crate::domain::id::Id;
use crate::domain::letter::Letter;
use crate::error::{Error, IoContext, Result};
use crate::store::schedule::{day_dirs_in, years_in};
use crate::store::{Mode, Store, Txn, files_with_ext, read_toml};

pub const CORRESPONDENCE_DIR: &str = "correspondence";
pub const OUTBOX_DIR: &str = "outbox";

/// SHA-1 of a rendered letter, hex.
pub fn sha1_hex(bytes: &[u8]) -> String {
    crate::history::git_index::hex(Sha1::digest(bytes).as_slice())
}

impl Store {
    pub fn correspondence_day_rel(date: NaiveDate) -> PathBuf {
        crate::disk::layout::day_folder(CORRESPONDENCE_DIR, date)
    }

    /// The letter's record.
    pub fn letter_rel(date: NaiveDate, id: &Id) -> PathBuf {
        Self::correspondence_day_rel(date).join(format!("{id}.toml"))
    }

    /// `outbox/2026-12-04-reminder.csv`: what a batch sent today, for the mail merge, SMS
    /// gateway or email relay.
    pub fn outbox_rel(date: NaiveDate, template: &str, ext: &str) -> PathBuf {
        PathBuf::from(OUTBOX_DIR).join(format!("{date}-{template}.{ext}"))
    }

    /// One letter by ID: the day it was written and its record. Looks through the day folders,
    /// newest first (one directory listing per day, then one file).
    pub fn find_letter(&self, id: &Id) -> Result<(NaiveDate, Letter)> {
        let Some(date) = self.letter_day(id)? else {
            return Err(Error::not_found(format!("no letter {id}"))
                .hint("list letters with `frontdesk letter sent --patient ID`"));
        };
        let path = self.path(&Self::letter_rel(date, id));
        let letter: Letter = read_toml(&path)?;
        if &letter.id != id {
            return Err(Error::user(format!(
                "{}: the id inside is {}, not {id}",
                path.display(),
                letter.id
            ))
            .hint("put the file's own ID back in its id line (`git checkout` it)"));
        }
        Ok((date, letter))
    }

    /// The day folder holding letter `id`'s record, newest first: one `stat` per day folder,
    /// no file read.
    pub fn letter_day(&self, id: &Id) -> Result<Option<NaiveDate>> {
        for year in years_in(self, CORRESPONDENCE_DIR)? {
            for (date, dir) in day_dirs_in(self, CORRESPONDENCE_DIR, year)?
                .into_iter()
                .rev()
            {
                if dir.join(format!("{id}.toml")).is_file() {
                    return Ok(Some(date));
                }
            }
        }
        Ok(None)
    }

    /// Every letter written from `from` to `to` (office-local days, both included), oldest
    /// first; only those days' folders are read.
    pub fn letters_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, Letter)>> {
        let mut out = Vec::new();
        let mut years = years_in(self, CORRESPONDENCE_DIR)?;
        years.reverse();
        for year in years
            .into_iter()
            .filter(|y| (from.year()..=to.year()).contains(y))
        {
            for (date, dir) in day_dirs_in(self, CORRESPONDENCE_DIR, year)? {
                if date < from || date > to {
                    continue;
                }
                for path in files_with_ext(&dir, "toml")? {
                    out.push((date, read_toml::<Letter>(&path)?));
                }
            }
        }
        out.sort_by(|a, b| (a.0, a.1.sent, &a.1.id).cmp(&(b.0, b.1.sent, &b.1.id)));
        Ok(out)
    }

    /// The letter exactly as sent, checked against the hash in its record.
    pub fn letter_bytes(&self, date: NaiveDate, letter: &Letter) -> Result<Vec<u8>> {
        let rel = Self::correspondence_day_rel(date).join(letter.file_name());
        let path = self.path(&rel);
        let bytes = std::fs::read(&path).at_path(&path, "read")?;
        if sha1_hex(&bytes) != letter.sha1 {
            return Err(Error::user(format!(
                "{}: the kept copy of letter {} changed after it was sent (its SHA-1 no longer matches the record)",
                path.display(),
                letter.id
            ))
            .hint("restore it with `git checkout`, or see what changed with `frontdesk history` and `git log`"));
        }
        Ok(bytes)
    }
}

impl Txn<'_> {
    /// Files a letter: the rendered file first, then its record, so a record never points to a
    /// letter that is not there. The record's hash is set from the bytes.
    pub fn save_letter(
        &mut self,
        letter: &mut Letter,
        date: NaiveDate,
        rendered: &[u8],
    ) -> Result<PathBuf> {
        letter.sha1 = sha1_hex(rendered);
        let day = Store::correspondence_day_rel(date);
        let file = day.join(letter.file_name());
        self.put_bytes(&file, rendered, Mode::CreateNew)?;
        self.put(
            &Store::letter_rel(date, &letter.id),
            letter,
            Mode::CreateNew,
        )?;
        Ok(file)
    }

    /// Writes (or rewrites) an outbox file.
    pub fn put_outbox(&mut self, rel: &Path, text: &str) -> Result<()> {
        self.put_bytes(rel, text.as_bytes(), Mode::Replace)
    }
}

/// Files a letter in bulk, for runs of thousands (the monthly statement run): each file is
/// written whole (temp file, no-clobber link) without a per-file fsync; the caller hands the
/// returned paths to [`Txn::adopt_bulk`], whose commit syncs the tree once. Safe to call from
/// many threads while the transaction holds the lock.
pub fn write_letter_unsynced(
    store: &Store,
    letter: &mut Letter,
    date: NaiveDate,
    rendered: &[u8],
) -> Result<Vec<PathBuf>> {
    // The reliability tests end the process here (FRONTDESK_FAULT=crash:letter#N: before the
    // Nth letter), as kill -9 would between two letters of a batch.
    crate::disk::fault::check("letter").map_err(|e| Error::internal(e.to_string()))?;
    letter.sha1 = sha1_hex(rendered);
    let day = Store::correspondence_day_rel(date);
    crate::disk::atomic::create_dirs(&store.path(&day))?;
    let file = day.join(letter.file_name());
    let record = Store::letter_rel(date, &letter.id);
    // Journaled first: a batch killed between letters leaves them for the next command to
    // commit (see `store::journal`).
    store.journal(&[file.as_path(), record.as_path()])?;
    crate::disk::atomic::write_unsynced_linked(&store.path(&file), rendered, Mode::CreateNew)?;
    let text = crate::store::to_toml(letter)?;
    crate::disk::atomic::write_unsynced_linked(
        &store.path(&record),
        text.as_bytes(),
        Mode::CreateNew,
    )?;
    Ok(vec![file, record])
}

impl Txn<'_> {
    /// Takes files written by [`write_letter_unsynced`] into this transaction: synced once and
    /// recorded by its commit.
    pub fn adopt_bulk(&mut self, written: impl IntoIterator<Item = PathBuf>) {
        self.written.extend(written);
        self.bulk = true;
        self.write_untracked();
    }
}
