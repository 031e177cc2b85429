//! Survey responses (`surveys/YYYY/MM/S….toml`, by the month of the visit) and the office's
//! instrument (`survey-instrument.toml`, else the built-in one).
//!
//! A report streams: [`Store::each_survey`] reads each response file of the months asked for
//! once, without its comment, and hands it on; the appointment it is about is read straight
//! from its day folder (`appointments/YYYY/MM/DD/A….toml`: the response holds the visit's date
//! and the appointment ID), so nothing is searched and nothing is held.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::id::Id;
use crate::domain::schedule::Appointment;
use crate::domain::survey::instrument::{self, Instrument};
use crate::domain::survey::{Month, Survey};
use crate::error::{Error, Result};
use crate::store::{Mode, Store, Txn, files_with_ext, read_toml};

pub const SURVEYS_DIR: &str = "surveys";

/// What a report needs of a response: no comment, no channel.
#[derive(Debug, Clone, Deserialize)]
pub struct SurveyHead {
    pub id: Id,
    pub month: Month,
    #[serde(default)]
    pub appointment: Option<Id>,
    #[serde(default)]
    pub visit: Option<NaiveDate>,
    pub provider: String,
    #[serde(default)]
    pub response_id: Option<String>,
    pub answers: std::collections::BTreeMap<String, u8>,
}

/// What a report needs of the appointment a response is about: read without the fields (and
/// the catch-all table of unknown keys) a full [`Appointment`] carries, since a report reads
/// one per response.
#[derive(Debug, Clone, Deserialize)]
struct VisitHead {
    id: Id,
    patient: Id,
    provider: String,
    #[serde(rename = "type")]
    kind: String,
    start: chrono::DateTime<chrono::FixedOffset>,
    end: chrono::DateTime<chrono::FixedOffset>,
    status: crate::domain::schedule::Status,
    #[serde(default)]
    history: Vec<crate::domain::schedule::appointment::Change>,
}

impl VisitHead {
    fn into_appointment(self) -> Appointment {
        let mut a = Appointment::booked(
            self.id,
            self.patient,
            &self.provider,
            &self.kind,
            self.start,
            self.end,
        );
        a.status = self.status;
        a.history = self.history;
        a
    }
}

impl Store {
    /// `surveys/2026/11`: one month's responses.
    pub fn survey_month_rel(m: Month) -> PathBuf {
        PathBuf::from(SURVEYS_DIR).join(format!("{:04}/{:02}", m.year, m.month))
    }

    pub fn survey_rel(m: Month, id: &Id) -> PathBuf {
        Self::survey_month_rel(m).join(format!("{id}.toml"))
    }

    /// The office's instrument, or the built-in one when the file is absent.
    pub fn survey_instrument(&self) -> Result<Instrument> {
        let path = self.path(Path::new(instrument::FILE));
        if !path.is_file() {
            return Ok(Instrument::builtin());
        }
        let i: Instrument = read_toml(&path)?;
        i.validate().map_err(|e| e.at(path.display()))?;
        Ok(i)
    }

    /// The months that have a response folder, oldest first.
    pub fn survey_months(&self) -> Result<Vec<Month>> {
        let mut out = Vec::new();
        let mut years = crate::store::schedule::years_in(self, SURVEYS_DIR)?;
        years.reverse();
        for year in years {
            for m in 1..=12 {
                let month = Month { year, month: m };
                if self.path(&Self::survey_month_rel(month)).is_dir() {
                    out.push(month);
                }
            }
        }
        Ok(out)
    }

    /// The response files of `from` to `to`, month by month, each month's in name order.
    pub fn survey_files(&self, from: Month, to: Month) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for m in self.survey_months()? {
            if m >= from && m <= to {
                out.extend(files_with_ext(
                    &self.path(&Self::survey_month_rel(m)),
                    "toml",
                )?);
            }
        }
        Ok(out)
    }

    /// Reads one response and checks it lies where its ID and month say.
    pub fn read_survey(&self, path: &Path) -> Result<Survey> {
        let s: Survey = read_toml(path)?;
        s.validate().map_err(|e| e.at(path.display()))?;
        if self.path(&Self::survey_rel(s.month, &s.id)) != path {
            return Err(Error::user(format!(
                "{}: survey {} is not in its place ({})",
                path.display(),
                s.id,
                Self::survey_rel(s.month, &s.id).display()
            ))
            .hint("move the file back where its ID and month say it belongs"));
        }
        Ok(s)
    }

    /// Every response of `from` to `to` in full (comments too), oldest month first.
    pub fn surveys(&self, from: Month, to: Month) -> Result<Vec<Survey>> {
        self.survey_files(from, to)?
            .iter()
            .map(|p| self.read_survey(p))
            .collect()
    }

    /// Calls `f` with each response of `from` to `to` without its comment: one read per file.
    pub fn each_survey(
        &self,
        from: Month,
        to: Month,
        mut f: impl FnMut(SurveyHead) -> Result<()>,
    ) -> Result<()> {
        for path in self.survey_files(from, to)? {
            let s: SurveyHead = read_toml(&path)?;
            f(s)?;
        }
        Ok(())
    }

    /// Folds every response of `from` to `to` (without its comment) into a `T`, the files
    /// spread over the cores: each thread folds its share into its own `T` from `init`, and
    /// the parts are merged. Each file is read once; nothing but the `T`s is held.
    pub fn fold_surveys<T: Send>(
        &self,
        from: Month,
        to: Month,
        init: impl Fn() -> T + Sync + Send,
        add: impl Fn(&mut T, SurveyHead) -> Result<()> + Sync + Send,
        merge: impl Fn(T, T) -> T + Sync + Send,
    ) -> Result<T> {
        use rayon::prelude::*;
        self.survey_files(from, to)?
            .par_iter()
            .try_fold(&init, |mut t, path| {
                add(&mut t, read_toml(path)?)?;
                Ok::<T, Error>(t)
            })
            .try_reduce(&init, |a, b| Ok(merge(a, b)))
    }

    /// The month folder holding the response with this ID (every month folder is looked in,
    /// newest first: one `stat` each).
    pub fn survey_month_of(&self, id: &Id) -> Result<Option<Month>> {
        Ok(self
            .survey_months()?
            .into_iter()
            .rev()
            .find(|m| self.path(&Self::survey_rel(*m, id)).is_file()))
    }

    /// The response with this ID.
    pub fn load_survey(&self, id: &Id) -> Result<Survey> {
        match self.survey_month_of(id)? {
            Some(m) => self.read_survey(&self.path(&Self::survey_rel(m, id))),
            None => Err(Error::not_found(format!("no survey {id}"))
                .hint("list them with `frontdesk survey list`")),
        }
    }

    /// The responses already filed about one appointment (its visit month's folder only).
    pub fn surveys_of_appointment(&self, a: &Id, visit: NaiveDate) -> Result<Vec<Id>> {
        let m = Month::of(visit);
        let mut out = Vec::new();
        for path in files_with_ext(&self.path(&Self::survey_month_rel(m)), "toml")? {
            let s: SurveyHead = read_toml(&path)?;
            if s.appointment.as_ref() == Some(a) {
                out.push(s.id);
            }
        }
        Ok(out)
    }

    /// The appointment a response is about, read from its day folder, with its provider,
    /// type, times, status and history only; None when the file is gone (moved by hand, or
    /// the response names a visit that was never filed).
    pub fn survey_visit(&self, id: &Id, day: NaiveDate) -> Result<Option<Appointment>> {
        let path = self.path(&Store::appointment_rel(day, id));
        match std::fs::read(&path) {
            Ok(bytes) => {
                let v: VisitHead = crate::store::parse_toml(&path, &bytes)?;
                Ok(Some(v.into_appointment()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, "read", e)),
        }
    }
}

impl Txn<'_> {
    pub fn save_survey(&mut self, s: &Survey, mode: Mode) -> Result<()> {
        s.validate()?;
        self.put(&Store::survey_rel(s.month, &s.id), s, mode)
    }
}
