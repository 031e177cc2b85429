//! Ledger entries (`ledger/YYYY/MM/DD/T….toml`) and the fee schedule (`services.toml`).
//!
//! Entries are only ever created (no-clobber), never rewritten or deleted. A patient's ledger is
//! found through the disposable per-patient index in `derived/ledger_index.rs`; a day's entries
//! (closeout) are one directory; statements for everyone read the whole ledger once.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::derived::{patient_ledger_cache, schedule_index};
use crate::disk::layout;
use crate::domain::id::Id;
use crate::domain::ledger::{Entry, sort_entries};
use crate::domain::service::FeeSchedule;
use crate::error::{Error, Result};
use crate::store::{Mode, Store, Txn, read_toml};

pub use crate::disk::layout::{LEDGER_DIR, RECEIPTS_DIR, SERVICES_FILE, ledger_day_rel as day_rel};

impl Store {
    pub fn ledger_rel(date: NaiveDate, id: &Id) -> PathBuf {
        layout::ledger_rel(date, id)
    }

    /// `receipts/2026/12/01/T….txt`: the receipt as printed for a payment.
    pub fn receipt_rel(date: NaiveDate, id: &Id) -> PathBuf {
        layout::day_folder(RECEIPTS_DIR, date).join(format!("{id}.txt"))
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

    /// One patient's entries, in ledger order, found through the per-patient index and read
    /// through the per-patient entry cache (an unchanged entry costs a `stat`, not a read and
    /// a parse: 570 entry files at ten years). Entries are never edited, so a merged chart's
    /// stay under its old ID and follow the merge here: the kept patient's ledger, balance and
    /// statements include them.
    pub fn patient_ledger(&self, patient: &Id) -> Result<Vec<Entry>> {
        Ok(self
            .patient_ledgers(std::slice::from_ref(patient))?
            .pop()
            .unwrap_or_default())
    }

    /// Several patients' ledgers, in the order given, with one refresh of the index (asked one
    /// patient at a time, each look re-validates the index: seconds for a day's 400 patients
    /// at full size), through the per-patient entry cache. Merged charts are followed as in
    /// [`Store::patient_ledger`] (a patient file that cannot be read has none).
    pub fn patient_ledgers(&self, patients: &[Id]) -> Result<Vec<Vec<Entry>>> {
        let asked: Vec<(Id, Vec<Id>)> = patients
            .iter()
            .map(|p| {
                let merged = self
                    .load_patient(p)
                    .map(|r| r.merged_from)
                    .unwrap_or_default();
                (p.clone(), merged)
            })
            .collect();
        self.few_patient_ledgers(&asked)
    }

    /// A few patients' ledgers, in the order given, each with the entries of the charts merged
    /// into it (`merged_from` on the patient's file, which the caller has read): the same
    /// entries as [`Store::patient_ledgers`], through the per-patient entry cache
    /// (`derived/patient_ledger_cache.rs`), so an unchanged entry costs a `stat` instead of
    /// reading and parsing its file. For a day's patients (`report daily`).
    pub fn few_patient_ledgers(&self, patients: &[(Id, Vec<Id>)]) -> Result<Vec<Vec<Entry>>> {
        let ids: Vec<Id> = patients
            .iter()
            .flat_map(|(p, merged)| std::iter::once(p).chain(merged))
            .cloned()
            .collect();
        let mut lists = patient_ledger_cache::patients_entries(self, &ids)?.into_iter();
        Ok(patients
            .iter()
            .map(|(_, merged)| {
                let mut entries = lists.next().unwrap_or_default();
                for _ in merged {
                    entries.extend(lists.next().unwrap_or_default());
                }
                if !merged.is_empty() {
                    sort_entries(&mut entries);
                }
                entries
            })
            .collect())
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
