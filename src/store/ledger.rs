//! Ledger entries (`ledger/YYYY/MM/DD/T….toml`) and the fee schedule (`services.toml`).
//!
//! Entries are only ever created (no-clobber), never rewritten or deleted. A patient's ledger is
//! found through the disposable per-patient index in `store/ledger_index.rs`; a day's entries
//! (closeout) are one directory; statements for everyone read the whole ledger once.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::domain::id::{Id, IdKind};
use crate::domain::ledger::{Entry, sort_entries};
use crate::domain::service::FeeSchedule;
use crate::error::{Error, IoContext, Result};
use crate::store::{Mode, Store, Txn, ledger_index, parse_toml, read_toml, schedule_index};

pub const LEDGER_DIR: &str = "ledger";
pub const SERVICES_FILE: &str = "services.toml";

/// `ledger/2026/12/01`: the directory of one business day.
pub fn day_rel(date: NaiveDate) -> PathBuf {
    PathBuf::from(LEDGER_DIR).join(date.format("%Y/%m/%d").to_string())
}

impl Store {
    pub fn ledger_rel(date: NaiveDate, id: &Id) -> PathBuf {
        day_rel(date).join(format!("{id}.toml"))
    }

    /// `receipts/2026/12/01/T….txt`: the receipt as printed for a payment.
    pub fn receipt_rel(date: NaiveDate, id: &Id) -> PathBuf {
        PathBuf::from("receipts")
            .join(date.format("%Y/%m/%d").to_string())
            .join(format!("{id}.txt"))
    }

    /// The fee schedule; an office without one has an empty schedule.
    pub fn load_services(&self) -> Result<FeeSchedule> {
        let path = self.path(Path::new(SERVICES_FILE));
        if !path.is_file() {
            return Ok(FeeSchedule::default());
        }
        let f: FeeSchedule = read_toml(&path)?;
        f.validate().map_err(|e| e.at(path.display()))?;
        Ok(f)
    }

    /// Reads one entry and checks it belongs where it lies (its ID names the file, its date the
    /// directory), so a file copied to the wrong place is reported rather than miscounted.
    pub fn read_entry(&self, rel: &Path) -> Result<Entry> {
        let path = self.path(rel);
        let bytes = fs::read(&path).at_path(&path, "read")?;
        Store::entry_from(rel, &path, &bytes)
    }

    /// [`Store::read_entry`], or None when the file is gone (one open, no separate stat).
    pub(crate) fn read_entry_if_present(&self, rel: &Path) -> Result<Option<Entry>> {
        let path = self.path(rel);
        match fs::read(&path) {
            Ok(bytes) => Store::entry_from(rel, &path, &bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, "read", e)),
        }
    }

    /// Parses and validates an entry read from `rel` (shown as `path` in errors).
    fn entry_from(rel: &Path, path: &Path, bytes: &[u8]) -> Result<Entry> {
        let e: Entry = parse_toml(path, bytes)?;
        e.validate().map_err(|err| err.at(path.display()))?;
        if Store::ledger_rel(e.date, &e.id) != rel {
            return Err(Error::user(format!(
                "{}: entry {} dated {} is not in its place ({})",
                path.display(),
                e.id,
                e.date,
                Store::ledger_rel(e.date, &e.id).display()
            ))
            .hint("move the file back where its ID and date say it belongs"));
        }
        Ok(e)
    }

    /// Every business day that has a ledger directory, oldest first.
    pub fn ledger_days(&self) -> Result<Vec<NaiveDate>> {
        let mut days = Vec::new();
        let root = self.path(Path::new(LEDGER_DIR));
        for y in numeric_dirs(&root)? {
            for m in numeric_dirs(&root.join(format!("{y:04}")))? {
                let month = root.join(format!("{y:04}/{m:02}"));
                for d in numeric_dirs(&month)? {
                    if let Some(date) = NaiveDate::from_ymd_opt(y as i32, m, d) {
                        days.push(date);
                    }
                }
            }
        }
        days.sort();
        Ok(days)
    }

    /// The IDs of the entries filed under one day.
    pub fn ledger_day_ids(&self, date: NaiveDate) -> Result<Vec<Id>> {
        let dir = self.path(&day_rel(date));
        let mut ids = Vec::new();
        let Ok(rd) = fs::read_dir(&dir) else {
            return Ok(ids);
        };
        for entry in rd {
            let entry = entry.at_path(&dir, "list")?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(stem) = name.strip_suffix(".toml")
                && !stem.starts_with('.')
                && let Ok(id) = Id::parse_kind(stem, IdKind::Transaction)
            {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// The entries of one business day (a closeout reads one directory).
    pub fn ledger_day(&self, date: NaiveDate) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for id in self.ledger_day_ids(date)? {
            out.push(self.read_entry(&Store::ledger_rel(date, &id))?);
        }
        sort_entries(&mut out);
        Ok(out)
    }

    /// Finds one entry by ID, through the index of entry IDs (see [`schedule_index::LEDGER`]).
    pub fn find_entry(&self, id: &Id) -> Result<Entry> {
        self.read_entry(&self.entry_rel(id)?)
    }

    /// Where the entry `id` is filed, found through the index of entry IDs: the index file is
    /// searched as it stands, and only on a miss checked against the day folders.
    pub fn entry_rel(&self, id: &Id) -> Result<PathBuf> {
        match schedule_index::date_in(self, &schedule_index::LEDGER, id)? {
            Some(day) => Ok(Store::ledger_rel(day, id)),
            None => Err(Error::not_found(format!("no ledger entry {id}"))
                .hint("see the patient's entries with `frontdesk pay ledger PATIENT`")),
        }
    }

    /// One patient's entries, in ledger order, found through the per-patient index.
    pub fn patient_ledger(&self, patient: &Id) -> Result<Vec<Entry>> {
        let mut entries =
            self.read_entries(patient, ledger_index::patient_entries(self, patient)?)?;
        // Entries are never edited, so a merged chart's stay under its old ID and follow the
        // merge here: the kept patient's ledger, balance and statements include them.
        let merged = match self.load_patient(patient) {
            Ok(p) => p.merged_from,
            Err(_) => Vec::new(),
        };
        for old in &merged {
            entries.extend(self.read_entries(old, ledger_index::patient_entries(self, old)?)?);
        }
        if !merged.is_empty() {
            sort_entries(&mut entries);
        }
        Ok(entries)
    }

    /// Several patients' ledgers, in the order given, with one refresh of the index.
    pub fn patient_ledgers(&self, patients: &[Id]) -> Result<Vec<Vec<Entry>>> {
        let lists = ledger_index::patients_entries(self, patients)?;
        patients
            .iter()
            .zip(lists)
            .map(|(p, list)| self.read_entries(p, list))
            .collect()
    }

    /// Reads the listed entries of `patient`, skipping files gone or no longer theirs (the
    /// index may lag a hand edit; the file has the last word).
    pub fn read_entries(&self, patient: &Id, list: Vec<(NaiveDate, Id)>) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for (day, id) in list {
            let rel = Store::ledger_rel(day, &id);
            if let Some(e) = self.read_entry_if_present(&rel)?
                && &e.patient == patient
            {
                out.push(e);
            }
        }
        sort_entries(&mut out);
        Ok(out)
    }
}

impl Txn<'_> {
    /// Files a new entry; an entry is never replaced.
    pub fn add_entry(&mut self, e: &Entry) -> Result<()> {
        e.validate()?;
        self.refuse_dated_id_in_use(&schedule_index::LEDGER, &e.id, e.date)?;
        self.put(&Store::ledger_rel(e.date, &e.id), e, Mode::CreateNew)
    }

    pub fn save_services(&mut self, f: &FeeSchedule) -> Result<()> {
        f.validate()?;
        self.put(Path::new(SERVICES_FILE), f, Mode::Replace)
    }
}

/// Subdirectories whose names are numbers (years, months, days), sorted; others are ignored.
fn numeric_dirs(dir: &Path) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(dir, "list", e)),
    };
    for entry in rd {
        let entry = entry.at_path(dir, "list")?;
        let name = entry.file_name();
        if let Ok(n) = name.to_string_lossy().parse::<u32>()
            && entry.file_type().is_ok_and(|t| t.is_dir())
        {
            out.push(n);
        }
    }
    out.sort();
    Ok(out)
}
