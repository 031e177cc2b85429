//! Where letters live: `correspondence/YYYY/MM/DD/L….toml` (the record) beside `L….html` or
//! `L….txt` (the letter exactly as sent), by the office-local day it was written; a statement
//! run the same way, with its statement table `L….csv` beside (`domain::statement_run`); and
//! the batch outbox files in `outbox/`.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use sha1::{Digest, Sha1};

use crate::derived::schedule_index;
use crate::domain::id::Id;
use crate::domain::letter::Letter;
use crate::domain::statement_run::{self, Kept, Line, Run};
use crate::error::{Error, IoContext, Result};
use crate::store::schedule::{day_dirs_in, years_in};
use crate::store::{Mode, Store, Txn, files_with_ext};

pub use crate::disk::layout::CORRESPONDENCE_DIR;
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
        crate::disk::layout::letter_rel(date, id)
    }

    /// `outbox/2026-12-04-reminder.csv`: what a batch sent today, for the mail merge, SMS
    /// gateway or email relay.
    pub fn outbox_rel(date: NaiveDate, template: &str, ext: &str) -> PathBuf {
        PathBuf::from(OUTBOX_DIR).join(format!("{date}-{template}.{ext}"))
    }

    /// One letter or statement run by ID: the day it was written and its record. Looks
    /// through the day folders, newest first (one directory listing per day, then one file).
    pub fn find_kept(&self, id: &Id) -> Result<(NaiveDate, Kept)> {
        let Some(date) = self.letter_day(id)? else {
            return Err(Error::not_found(format!("no letter {id}"))
                .hint("list letters with `frontdesk letter sent --patient ID`"));
        };
        let path = self.path(&Self::letter_rel(date, id));
        let kept = read_kept(&path)?;
        if kept.id() != id {
            return Err(Error::user(format!(
                "{}: the id inside is {}, not {id}",
                path.display(),
                kept.id()
            ))
            .hint("put the file's own ID back in its id line (`git checkout` it)"));
        }
        Ok((date, kept))
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
    /// first; only those days' folders are read. Statement runs are left out (see
    /// [`Store::kept_between`]).
    pub fn letters_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, Letter)>> {
        Ok(self
            .kept_between(from, to)?
            .into_iter()
            .filter_map(|(date, k)| match k {
                Kept::Letter(l) => Some((date, l)),
                Kept::Run(_) => None,
            })
            .collect())
    }

    /// Every letter to `patient` and every statement run written from `from` to `to`, in
    /// [`Store::kept_between`]'s order: the patient's letters through their bucket of the
    /// correspondence index, the runs through its view (a run is one record for many
    /// patients: the caller looks for the patient in its table). The file has the last word:
    /// a letter the bucket lists is kept only while its record names the patient.
    pub fn patient_kept(
        &self,
        patient: &Id,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, Kept)>> {
        let mut listed = schedule_index::letters_of(self, patient)?;
        listed.extend(schedule_index::runs(self)?);
        listed.retain(|(date, _)| (from..=to).contains(date));
        listed.sort();
        listed.dedup();
        let mut out = Vec::with_capacity(listed.len());
        for (date, id) in listed {
            let path = self.path(&Self::letter_rel(date, &id));
            // Gone since the index listed it (a hand edit the next look will see).
            if !path.exists() {
                continue;
            }
            match read_kept(&path)? {
                Kept::Letter(l) if &l.patient != patient => {}
                kept => out.push((date, kept)),
            }
        }
        sort_kept(&mut out);
        Ok(out)
    }

    /// Every letter and statement run written from `from` to `to`, oldest first.
    pub fn kept_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<(NaiveDate, Kept)>> {
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
                    out.push((date, read_kept(&path)?));
                }
            }
        }
        sort_kept(&mut out);
        Ok(out)
    }

    /// The row of `patient` in a statement run's table, found by a binary search of a few
    /// small reads (the table is not read whole); None when the run sent that patient none.
    /// A table whose size is not the one the record holds is refused.
    pub fn run_line(&self, date: NaiveDate, run: &Run, patient: &Id) -> Result<Option<Line>> {
        use std::os::unix::fs::FileExt;
        let rel = Self::correspondence_day_rel(date).join(run.table_name());
        let path = self.path(&rel);
        let file = std::fs::File::open(&path).at_path(&path, "read")?;
        let len = file.metadata().at_path(&path, "read")?.len();
        if len != run.statements.table_bytes {
            return Err(changed_after_sending(&path, &run.id, "statement table"));
        }
        let row = statement_run::find_line(
            len,
            |at, buf| file.read_at(buf, at).at_path(&path, "read"),
            patient,
        )?;
        row.map(|r| Line::parse(&r, &path.display().to_string()))
            .transpose()
    }

    /// Every row of a statement run's table, checked against the hash in its record.
    pub fn run_lines(&self, date: NaiveDate, run: &Run) -> Result<Vec<Line>> {
        let rel = Self::correspondence_day_rel(date).join(run.table_name());
        let path = self.path(&rel);
        let bytes = std::fs::read(&path).at_path(&path, "read")?;
        if sha1_hex(&bytes) != run.statements.table_sha1 {
            return Err(changed_after_sending(&path, &run.id, "statement table"));
        }
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| changed_after_sending(&path, &run.id, "statement table"))?;
        statement_run::parse_table(text, &path.display().to_string())
    }

    /// One statement of a run exactly as sent: its bytes read from the kept statements and
    /// checked against the hash in its row.
    pub fn run_statement(&self, date: NaiveDate, run: &Run, line: &Line) -> Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let rel = Self::correspondence_day_rel(date).join(run.file_name());
        let path = self.path(&rel);
        let file = std::fs::File::open(&path).at_path(&path, "read")?;
        let length = usize::try_from(line.length)
            .map_err(|_| changed_after_sending(&path, &run.id, "statements"))?;
        let mut bytes = vec![0u8; length];
        match file.read_exact_at(&mut bytes, line.offset) {
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(changed_after_sending(&path, &run.id, "statements"));
            }
            r => r.at_path(&path, "read")?,
        }
        if sha1_hex(&bytes) != line.sha1 {
            return Err(changed_after_sending(&path, &run.id, "statements"));
        }
        Ok(bytes)
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

/// Oldest first: by day, then the moment sent, then ID.
fn sort_kept(kept: &mut [(NaiveDate, Kept)]) {
    kept.sort_by(|a, b| (a.0, a.1.sent(), a.1.id()).cmp(&(b.0, b.1.sent(), b.1.id())));
}

/// A letter's or statement run's record.
fn read_kept(path: &Path) -> Result<Kept> {
    let bytes = std::fs::read(path).at_path(path, "read")?;
    if statement_run::is_run_record(&bytes) {
        crate::store::parse_toml(path, &bytes).map(Kept::Run)
    } else {
        crate::store::parse_toml(path, &bytes).map(Kept::Letter)
    }
}

/// A kept file whose bytes no longer match what its record says was sent.
fn changed_after_sending(path: &Path, id: &Id, what: &str) -> Error {
    Error::user(format!(
        "{}: the {what} of statement run {id} changed after they were sent (no longer what its record holds)",
        path.display()
    ))
    .hint("restore it with `git checkout`, or see what changed with `frontdesk history` and `git log`")
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
    /// Files a statement run: the statements as sent (in patient-ID order, each where its
    /// line says), the statement table, and the record last, written together (flushed, then
    /// renamed into place one after the other), so a record never points at a missing file.
    /// The record's hashes and sizes are set here.
    pub fn save_run(
        &mut self,
        run: &mut Run,
        date: NaiveDate,
        statements: &[u8],
        lines: &[Line],
    ) -> Result<()> {
        let table = statement_run::table_text(lines);
        run.sha1 = sha1_hex(statements);
        run.statements.table_sha1 = sha1_hex(table.as_bytes());
        run.statements.table_bytes = table.len() as u64;
        let record = crate::store::to_toml(run)?;
        let day = Store::correspondence_day_rel(date);
        let files: [(PathBuf, &[u8]); 3] = [
            (day.join(run.file_name()), statements),
            (day.join(run.table_name()), table.as_bytes()),
            (Store::letter_rel(date, &run.id), record.as_bytes()),
        ];
        let rels: Vec<&Path> = files.iter().map(|(rel, _)| rel.as_path()).collect();
        for rel in &rels {
            if let Some(t) = &mut self.clean_note {
                t.before_write(self.store, rel);
            }
        }
        self.store.journal(&rels)?;
        let abs: Vec<PathBuf> = rels.iter().map(|rel| self.store.path(rel)).collect();
        let together: Vec<(&Path, &[u8])> = abs
            .iter()
            .zip(&files)
            .map(|(path, (_, bytes))| (path.as_path(), *bytes))
            .collect();
        crate::disk::atomic::write_together(&together)?;
        for (rel, bytes) in &files {
            if let Some(t) = &mut self.clean_note {
                t.wrote(rel, bytes);
            }
            self.written.push(rel.clone());
        }
        Ok(())
    }

    /// Takes files written by [`write_letter_unsynced`] into this transaction: synced once and
    /// recorded by its commit.
    pub fn adopt_bulk(&mut self, written: impl IntoIterator<Item = PathBuf>) {
        self.written.extend(written);
        self.bulk = true;
        self.write_untracked();
    }
}
