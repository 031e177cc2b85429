//! Where scheduling records live and how they are read: providers, rooms, appointment types,
//! appointments (one directory per day), series and the waitlist.
//!
//! A day's appointments are read from that one day's directory, so `schedule day` costs the
//! same on a ten-year tree as on a new one. Finding an appointment by ID, or all of a patient's,
//! goes through the disposable index in [`crate::derived::schedule_index`].

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::derived::schedule_index;
use crate::disk::layout;
use crate::domain::id::Id;
use crate::domain::schedule::appointment::{Appointment, Series};
use crate::domain::schedule::apptype::{self, AppointmentTypes};
use crate::domain::schedule::waitlist::WaitlistEntry;
use crate::domain::schedule::{Provider, Room, check_key};
use crate::error::{Error, Result};
use crate::store::{Mode, Store, Txn, files_with_ext, read_each, read_toml};

pub use crate::disk::layout::{APPOINTMENT_TYPES_FILE, APPOINTMENTS_DIR, day_dirs_in, years_in};

impl Store {
    // ---- paths ----

    pub fn provider_rel(key: &str) -> Result<PathBuf> {
        check_key("provider", key)?;
        Ok(PathBuf::from("providers").join(format!("{key}.toml")))
    }

    pub fn room_rel(key: &str) -> Result<PathBuf> {
        check_key("room", key)?;
        Ok(PathBuf::from("rooms").join(format!("{key}.toml")))
    }

    /// `appointments/YYYY/MM/DD`: one directory per office-local day.
    pub fn day_rel(date: NaiveDate) -> PathBuf {
        layout::appointment_day_rel(date)
    }

    pub fn appointment_rel(date: NaiveDate, id: &Id) -> PathBuf {
        layout::appointment_rel(date, id)
    }

    pub fn series_rel(id: &Id) -> PathBuf {
        PathBuf::from("series").join(format!("{id}.toml"))
    }

    pub fn waitlist_rel(id: &Id) -> PathBuf {
        PathBuf::from("waitlist").join(format!("{id}.toml"))
    }

    // ---- providers and rooms ----

    pub fn load_provider(&self, key: &str) -> Result<Provider> {
        let path = self.path(&Self::provider_rel(key)?);
        if !path.is_file() {
            return Err(
                Error::user("no such provider").hint(crate::domain::suggest::hint(
                    key,
                    "provider",
                    &self.keys_in("providers"),
                    "frontdesk provider add",
                )),
            );
        }
        let p: Provider = read_toml(&path)?;
        p.validate().map_err(|e| e.at(path.display()))?;
        Ok(p)
    }

    pub fn providers(&self) -> Result<Vec<Provider>> {
        let mut out = Vec::new();
        for path in files_with_ext(&self.path(Path::new("providers")), "toml")? {
            let p: Provider = read_toml(&path)?;
            p.validate().map_err(|e| e.at(path.display()))?;
            out.push(p);
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    pub fn load_room(&self, key: &str) -> Result<Room> {
        let path = self.path(&Self::room_rel(key)?);
        if !path.is_file() {
            return Err(
                Error::user("no such room").hint(crate::domain::suggest::hint(
                    key,
                    "room",
                    &self.keys_in("rooms"),
                    "a file in rooms/ (see docs/scheduling.md)",
                )),
            );
        }
        let r: Room = read_toml(&path)?;
        r.validate().map_err(|e| e.at(path.display()))?;
        Ok(r)
    }

    pub fn rooms(&self) -> Result<Vec<Room>> {
        let mut out = Vec::new();
        for path in files_with_ext(&self.path(Path::new("rooms")), "toml")? {
            let r: Room = read_toml(&path)?;
            r.validate().map_err(|e| e.at(path.display()))?;
            out.push(r);
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// The office's appointment types; none when the file does not exist yet.
    pub fn appointment_types(&self) -> Result<AppointmentTypes> {
        let path = self.path(Path::new(APPOINTMENT_TYPES_FILE));
        if !path.is_file() {
            return Ok(AppointmentTypes {
                schema: apptype::SCHEMA,
                types: Vec::new(),
            });
        }
        let t: AppointmentTypes = read_toml(&path)?;
        t.validate().map_err(|e| e.at(path.display()))?;
        Ok(t)
    }

    // ---- appointments ----

    /// Every appointment on one office-local day: reads that day's directory and nothing else.
    pub fn day_appointments(&self, date: NaiveDate) -> Result<Vec<Appointment>> {
        let paths = files_with_ext(&self.path(&Self::day_rel(date)), "toml")?;
        // A full day of a large practice is 400-500 files (7 ms to open and parse on one core
        // at full size, most of a booking's plan). The first bad file in name order is the one
        // reported, as on one core.
        let read: Vec<Result<Appointment>> = read_each(&paths, |p| read_toml(p));
        let mut out = read.into_iter().collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| (a.start, &a.provider).cmp(&(b.start, &b.provider)));
        Ok(out)
    }

    /// One appointment by ID, found through the index (rebuilt as needed).
    pub fn load_appointment(&self, id: &Id) -> Result<Appointment> {
        let date = schedule_index::date_of(self, id)?.ok_or_else(|| {
            Error::not_found(format!("no appointment {id}"))
                .hint("find it with `frontdesk schedule list --patient ID` or `schedule day DATE`")
        })?;
        self.read_appointment(&self.path(&Self::appointment_rel(date, id)), id)
    }

    /// The appointment `id`, looked for first in `day`'s folder: the visit commands are about
    /// today's visits, and at ten years finding an ID through the index reads a year's index
    /// and stats the year's day folders when the visit was booked since (the index has not
    /// seen it yet), which one look in today's folder does not need.
    pub fn load_appointment_likely_on(&self, id: &Id, day: NaiveDate) -> Result<Appointment> {
        let path = self.path(&Self::appointment_rel(day, id));
        if path.is_file() {
            return self.read_appointment(&path, id);
        }
        self.load_appointment(id)
    }

    fn read_appointment(&self, path: &Path, id: &Id) -> Result<Appointment> {
        let a: Appointment = read_toml(path)?;
        if &a.id != id {
            return Err(Error::user(format!(
                "{}: the file's id does not match its name",
                path.display()
            ))
            .hint("fix the id line, or rename the file to match it"));
        }
        Ok(a)
    }

    /// Every appointment of one patient, oldest first, found through the index.
    pub fn patient_appointments(&self, patient: &Id) -> Result<Vec<Appointment>> {
        let mut out = Vec::new();
        for (date, id) in schedule_index::of_patient(self, patient)? {
            // The index can lag an edit made in place; the file itself has the last word.
            if let Some(a) = self.appointment_filed_on(date, &id)?
                && &a.patient == patient
            {
                out.push(a);
            }
        }
        out.sort_by_key(|a| a.start);
        Ok(out)
    }

    /// The appointment `id` as filed in `date`'s folder; None when it is not there (moved or
    /// removed since the index was read).
    pub fn appointment_filed_on(&self, date: NaiveDate, id: &Id) -> Result<Option<Appointment>> {
        match read_toml(&self.path(&Self::appointment_rel(date, id))) {
            Ok(a) => Ok(Some(a)),
            Err(e) if e.kind == crate::error::Kind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    // ---- series and waitlist ----

    pub fn load_series(&self, id: &Id) -> Result<Series> {
        let path = self.path(&Self::series_rel(id));
        if !path.is_file() {
            return Err(Error::not_found(format!("no series {id}")));
        }
        read_toml(&path)
    }

    pub fn load_waitlist_entry(&self, id: &Id) -> Result<WaitlistEntry> {
        let path = self.path(&Self::waitlist_rel(id));
        if !path.is_file() {
            return Err(Error::not_found(format!("no waitlist entry {id}"))
                .hint("list entries with `frontdesk schedule waitlist list`"));
        }
        read_toml(&path)
    }

    pub fn waitlist(&self) -> Result<Vec<WaitlistEntry>> {
        let mut out = Vec::new();
        for path in files_with_ext(&self.path(Path::new("waitlist")), "toml")? {
            out.push(read_toml::<WaitlistEntry>(&path)?);
        }
        out.sort_by_key(|w| w.created);
        Ok(out)
    }
}

impl Txn<'_> {
    pub fn save_appointment(&mut self, a: &Appointment, mode: Mode) -> Result<()> {
        a.validate()?;
        if mode == Mode::CreateNew {
            self.refuse_dated_id_in_use(&schedule_index::APPOINTMENTS, &a.id, a.date())?;
        }
        self.put(&Store::appointment_rel(a.date(), &a.id), a, mode)
    }
}
