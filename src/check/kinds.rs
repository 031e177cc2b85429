//! The record kinds `check` knows: a table ([`KINDS`]) of where each kind lies and how one
//! of its files is read, parsed, validated and placed ([`Checked`]). A new kind implements
//! `Checked` here and adds one line to the table.

use std::path::Path;

use chrono::NaiveDate;

use serde::de::DeserializeOwned;

use crate::derived::check_cache::Inspected;
use crate::disk::OFFICE_FILE;
use crate::disk::layout::{
    APPOINTMENT_TYPES_FILE, APPOINTMENTS_DIR, COMMUNICATIONS_DIR, LEDGER_DIR, RECEIPTS_DIR,
    RESOURCES_DIR, SERVICES_FILE,
};
use crate::domain::check::schema as schema_rule;
use crate::domain::check::{Booking, Facts, Problem, Target, conflict_marker, location};
use crate::domain::comm::{self, Communication};
use crate::domain::id::{Id, IdKind};
use crate::domain::insurance::Payer;
use crate::domain::ledger::{self, Entry};
use crate::domain::letter::{self, Letter};
use crate::domain::office::Office;
use crate::domain::patient::{self, Patient};
use crate::domain::resource::{self, Resource, STALE_MONTHS};
use crate::domain::schedule::appointment::{self, Appointment, Series};
use crate::domain::schedule::apptype::{self, AppointmentTypes};
use crate::domain::schedule::waitlist::{self, WaitlistEntry};
use crate::domain::schedule::{Provider, Room, provider, room};
use crate::domain::service::{self, FeeSchedule};
use crate::domain::statement_run::{self, Run, is_run_record};
use crate::domain::survey::{self, Survey};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::letter::{CORRESPONDENCE_DIR, sha1_hex};
use crate::store::survey::SURVEYS_DIR;
use crate::text::parse_toml;

/// A record kind as `check` sees it.
pub trait Checked: DeserializeOwned {
    /// The newest schema version this build reads.
    const SCHEMA: u32;
    fn schema(&self) -> u32;
    /// Validates the record and says where it must lie and what it refers to.
    fn facts(&self, office: &Office) -> Result<Facts>;
}

/// How a kind's files are laid out below its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `payers/aetna-ppo.toml`
    Flat,
    /// `patients/7K/P7K3QX9M2.toml`
    Sharded,
    /// `appointments/2026/12/01/A….toml`: one folder per day.
    Dated,
    /// `surveys/2026/12/S….toml`: one folder per month.
    Monthly,
    /// One file at the top of the tree (`frontdesk.toml`).
    File,
}

impl Layout {
    pub(super) fn depth(self) -> usize {
        match self {
            Layout::Flat | Layout::File => 1,
            Layout::Sharded => 2,
            Layout::Monthly => 3,
            Layout::Dated => 4,
        }
    }
}

pub struct Kind {
    /// The folder (or, for `Layout::File`, the file) relative to the tree.
    pub path: &'static str,
    pub layout: Layout,
    /// The reference target this kind provides, if others refer to it.
    pub provides: Option<Target>,
    pub inspect: fn(&Path, &[u8], &Office) -> Inspected,
    /// Files other than `.toml` records lie here too (what the correspondence kept as sent;
    /// the receipts, which are all such files), and are handed to `inspect` like records, so
    /// the check cache spares a warm run reading them.
    pub other_files: bool,
}

const fn kind<T: Checked>(path: &'static str, layout: Layout, provides: Option<Target>) -> Kind {
    Kind {
        path,
        layout,
        provides,
        inspect: inspect::<T>,
        other_files: false,
    }
}

/// Every record kind, referred-to kinds first, then the receipts. Add a kind with one line.
pub const KINDS: &[Kind] = &[
    kind::<Office>(OFFICE_FILE, Layout::File, None),
    kind::<AppointmentTypes>(
        APPOINTMENT_TYPES_FILE,
        Layout::File,
        Some(Target::AppointmentType),
    ),
    kind::<Payer>("payers", Layout::Flat, Some(Target::Payer)),
    kind::<Provider>("providers", Layout::Flat, Some(Target::Provider)),
    kind::<Room>("rooms", Layout::Flat, Some(Target::Room)),
    kind::<Patient>("patients", Layout::Sharded, Some(Target::Patient)),
    kind::<Series>("series", Layout::Flat, None),
    kind::<WaitlistEntry>("waitlist", Layout::Flat, None),
    kind::<Appointment>(APPOINTMENTS_DIR, Layout::Dated, None),
    kind::<FeeSchedule>(SERVICES_FILE, Layout::File, None),
    kind::<Entry>(LEDGER_DIR, Layout::Dated, None),
    kind::<Communication>(COMMUNICATIONS_DIR, Layout::Dated, None),
    kind::<Resource>(RESOURCES_DIR, Layout::Flat, None),
    kind::<Survey>(SURVEYS_DIR, Layout::Monthly, None),
    Kind {
        path: CORRESPONDENCE_DIR,
        layout: Layout::Dated,
        provides: None,
        inspect: inspect_correspondence,
        other_files: true,
    },
    Kind {
        path: RECEIPTS_DIR,
        layout: Layout::Dated,
        provides: None,
        inspect: inspect_receipt,
        other_files: true,
    },
];

/// One receipt (`T….txt`, as `pay collect` printed it): not a record, read only for conflict
/// markers as every file outside the records is, but through the check cache like a record, so
/// a warm `check` does not read it again (one receipt a payment: ~500,000 at ten years of the
/// full-size clinic; 100,000 of them cost a warm check of the 1,000-patient clinic 0.57 s read
/// every time, 0.30 s through the cache, docs/performance.md).
fn inspect_receipt(rel: &Path, bytes: &[u8], _: &Office) -> Inspected {
    let name = rel.file_name().and_then(|n| n.to_str());
    let receipt = name
        .and_then(|n| n.strip_suffix(".txt"))
        .is_some_and(|id| Id::parse_kind(id, IdKind::Transaction).is_ok());
    if !receipt {
        return Err(Problem::new(
            rel,
            "unexpected here: receipts holds only the receipts of payments (T….txt)",
            "move it out of the records tree, or to where it belongs",
        ));
    }
    match conflict_marker(bytes) {
        Some(line) => Err(conflict_problem(rel, line)),
        None => Ok((Facts::default(), None)),
    }
}

/// One file of the correspondence (docs/letters.md): a letter's or a statement run's record,
/// or a file kept exactly as sent beside it, which is known by its name and SHA-1 (the
/// day's records and copies are matched when the walk leaves the folder: `Tally::end_day`).
fn inspect_correspondence(rel: &Path, bytes: &[u8], office: &Office) -> Inspected {
    let name = rel.file_name().and_then(|n| n.to_str());
    let record = name.is_some_and(|n| super::is_record_name(n.as_bytes()));
    match name {
        Some(_) if record && is_run_record(bytes) => inspect::<Run>(rel, bytes, office),
        Some(_) if record => inspect::<Letter>(rel, bytes, office),
        Some(n) if is_kept_copy_name(n) => Ok((
            Facts {
                keys: vec![(Target::KeptCopy, format!("{n}:{}", sha1_hex(bytes)))],
                ..Facts::default()
            },
            None,
        )),
        _ => Err(Problem::new(
            rel,
            "unexpected here: correspondence holds only letters' records (L….toml) and the \
             files they kept as sent (L….html, L….txt, a run's L….csv)",
            "move it out of the records tree, or to where it belongs",
        )),
    }
}

/// `L….html`, `L….txt` or `L….csv`: a name the correspondence keeps a sent file under.
fn is_kept_copy_name(name: &str) -> bool {
    name.split_once('.').is_some_and(|(id, ext)| {
        matches!(ext, "html" | "txt" | "csv") && Id::parse_kind(id, IdKind::Letter).is_ok()
    })
}

/// The claim a record makes on a file it kept as sent: its name and the SHA-1 it had.
fn kept_copy(name: String, sha1: &str) -> (&'static str, Target, String) {
    ("kept copy", Target::KeptCopy, format!("{name}:{sha1}"))
}

/// A correspondence record's facts: filed under the day it was sent, naming `refs`.
fn kept_facts(id: &Id, sent: NaiveDate, refs: Vec<(&'static str, Target, String)>) -> Facts {
    Facts {
        id: Some(id.clone()),
        expected: Some(Store::letter_rel(sent, id)),
        refs,
        ..Facts::default()
    }
}

impl Checked for Letter {
    const SCHEMA: u32 = letter::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        let patient = ("patient", Target::Patient, self.patient.to_string());
        let copy = kept_copy(self.file_name(), &self.sha1);
        Ok(kept_facts(
            &self.id,
            self.sent.date_naive(),
            vec![patient, copy],
        ))
    }
}

impl Checked for Run {
    const SCHEMA: u32 = statement_run::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        let statements = kept_copy(self.file_name(), &self.sha1);
        let table = kept_copy(self.table_name(), &self.statements.table_sha1);
        Ok(kept_facts(
            &self.id,
            self.sent.date_naive(),
            vec![statements, table],
        ))
    }
}

impl Checked for Office {
    const SCHEMA: u32 = 1;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        self.tz()?;
        Ok(Facts::default())
    }
}

impl Checked for Payer {
    const SCHEMA: u32 = 1;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        Ok(Facts {
            expected: Some(Store::payer_rel(&self.key)?),
            keys: vec![(Target::Payer, self.key.clone())],
            ..Facts::default()
        })
    }
}

impl Checked for Patient {
    const SCHEMA: u32 = patient::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, office: &Office) -> Result<Facts> {
        self.validate(office.today(), office.calling_code(), &office.country)?;
        Ok(Facts {
            id: Some(self.id.clone()),
            // A merged chart still resolves (history, old ledger entries), but `check` flags
            // anything that names it (see `Tally::check_ref`).
            keys: vec![(
                if self.merged_into.is_some() {
                    Target::MergedPatient
                } else {
                    Target::Patient
                },
                self.id.to_string(),
            )],
            expected: Some(Store::patient_rel(&self.id)),
            refs: self
                .insurance
                .iter()
                .map(|c| ("insurance payer", Target::Payer, c.payer.clone()))
                .collect(),
            booking: None,
        })
    }
}

impl Checked for AppointmentTypes {
    const SCHEMA: u32 = apptype::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        self.validate()?;
        Ok(Facts {
            keys: self
                .types
                .iter()
                .map(|t| (Target::AppointmentType, t.key.clone()))
                .collect(),
            refs: self
                .types
                .iter()
                .flat_map(|t| t.providers.iter())
                .map(|p| ("providers", Target::Provider, p.clone()))
                .collect(),
            ..Facts::default()
        })
    }
}

impl Checked for Provider {
    const SCHEMA: u32 = provider::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        self.validate()?;
        Ok(Facts {
            expected: Some(Store::provider_rel(&self.key)?),
            keys: vec![(Target::Provider, self.key.clone())],
            ..Facts::default()
        })
    }
}

impl Checked for Room {
    const SCHEMA: u32 = room::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        self.validate()?;
        Ok(Facts {
            expected: Some(Store::room_rel(&self.key)?),
            keys: vec![(Target::Room, self.key.clone())],
            ..Facts::default()
        })
    }
}

impl Checked for Series {
    const SCHEMA: u32 = appointment::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        Ok(Facts {
            id: Some(self.id.clone()),
            expected: Some(Store::series_rel(&self.id)),
            refs: vec![
                ("patient", Target::Patient, self.patient.to_string()),
                ("provider", Target::Provider, self.provider.clone()),
                ("type", Target::AppointmentType, self.kind.clone()),
            ],
            ..Facts::default()
        })
    }
}

impl Checked for WaitlistEntry {
    const SCHEMA: u32 = waitlist::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        let mut refs = vec![
            ("patient", Target::Patient, self.patient.to_string()),
            ("type", Target::AppointmentType, self.kind.clone()),
        ];
        refs.extend(
            self.provider
                .iter()
                .map(|p| ("provider", Target::Provider, p.clone())),
        );
        Ok(Facts {
            id: Some(self.id.clone()),
            expected: Some(Store::waitlist_rel(&self.id)),
            refs,
            ..Facts::default()
        })
    }
}

impl Checked for Appointment {
    const SCHEMA: u32 = appointment::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        self.validate()?;
        let mut refs = vec![
            ("patient", Target::Patient, self.patient.to_string()),
            ("provider", Target::Provider, self.provider.clone()),
            ("type", Target::AppointmentType, self.kind.clone()),
        ];
        refs.extend(self.room.iter().map(|r| ("room", Target::Room, r.clone())));
        refs.extend(
            self.resources
                .iter()
                .map(|h| ("resources room", Target::Room, h.room.clone())),
        );
        // A booking made over another on purpose (`--force`) is not a conflict.
        let booking = (self.status.holds_time() && !self.double_booked).then(|| Booking {
            provider: self.provider.clone(),
            start: self.start,
            end: self.end,
        });
        Ok(Facts {
            id: Some(self.id.clone()),
            expected: Some(Store::appointment_rel(self.date(), &self.id)),
            refs,
            booking,
            ..Facts::default()
        })
    }
}

impl Checked for FeeSchedule {
    const SCHEMA: u32 = service::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        self.validate()?;
        Ok(Facts::default())
    }
}

impl Checked for Entry {
    const SCHEMA: u32 = ledger::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        self.validate()?;
        let mut refs = vec![("patient", Target::Patient, self.patient.to_string())];
        refs.extend(
            self.payer
                .iter()
                .map(|p| ("payer", Target::Payer, p.clone())),
        );
        Ok(Facts {
            id: Some(self.id.clone()),
            expected: Some(Store::ledger_rel(self.date, &self.id)),
            refs,
            ..Facts::default()
        })
    }
}

/// Parses, checks the schema and validates one file of kind `T`.
fn inspect<T: Checked>(rel: &Path, bytes: &[u8], office: &Office) -> Inspected {
    if let Some(line) = conflict_marker(bytes) {
        return Err(conflict_problem(rel, line).unreadable());
    }
    let record: T = parse_toml(rel, bytes).map_err(|e| from_error(rel, e).unreadable())?;
    if let Some(p) = schema_rule(rel, record.schema(), T::SCHEMA) {
        return Err(p);
    }
    let facts = record.facts(office).map_err(|e| {
        from_error(rel, e).with_todo("correct the field by hand (or `git checkout` the file)")
    })?;
    // A misplaced record still counts: its ID and references are checked too.
    let misplaced = location(rel, &facts);
    Ok((facts, misplaced))
}

pub(super) fn conflict_problem(rel: &Path, line: usize) -> Problem {
    Problem::new(
        rel,
        "git conflict markers: the record was changed at two sites",
        "keep one version between <<<<<<< and >>>>>>> (delete the other and the marker lines), then `frontdesk check` and `git commit -a`",
    )
    .line(Some(line))
}

/// Turns a store error into a problem, moving a leading `path:line: ` into the fields.
fn from_error(rel: &Path, e: Error) -> Problem {
    let prefix = format!("{}:", rel.display());
    let (line, what) = match e.message.strip_prefix(&prefix) {
        Some(rest) => match rest.split_once(": ") {
            Some((n, msg)) if n.parse::<usize>().is_ok() => (n.parse().ok(), msg.to_string()),
            _ => (None, rest.trim_start().to_string()),
        },
        None => (None, e.message.clone()),
    };
    let todo = e
        .hint
        .unwrap_or_else(|| "fix the file by hand (or `git checkout` it)".into());
    Problem::new(rel, what, todo).line(line)
}

trait WithTodo {
    fn with_todo(self, todo: &str) -> Self;
}

impl WithTodo for Problem {
    fn with_todo(mut self, todo: &str) -> Self {
        if self.todo.starts_with("fix the file by hand") {
            self.todo = todo.to_string();
        }
        self
    }
}

impl Checked for Communication {
    const SCHEMA: u32 = comm::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    fn facts(&self, _: &Office) -> Result<Facts> {
        self.validate()?;
        let mut refs = Vec::new();
        if let Some(p) = &self.patient {
            refs.push(("patient", Target::Patient, p.to_string()));
        }
        Ok(Facts {
            id: Some(self.id.clone()),
            expected: Some(Store::communication_rel(self.date(), &self.id)),
            refs,
            ..Facts::default()
        })
    }
}

impl Checked for Survey {
    const SCHEMA: u32 = survey::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    /// The provider is not checked against `providers/`: an anonymous response keeps the
    /// provider as the survey named it, and a provider may leave while their answers stay.
    fn facts(&self, _: &Office) -> Result<Facts> {
        self.validate()?;
        Ok(Facts {
            id: Some(self.id.clone()),
            expected: Some(Store::survey_rel(self.month, &self.id)),
            ..Facts::default()
        })
    }
}

impl Checked for Resource {
    const SCHEMA: u32 = resource::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    /// A resource in use (not retired) that nobody verified for 12 months is a problem: the
    /// desk would be sending patients to a service that may have closed or moved.
    fn facts(&self, office: &Office) -> Result<Facts> {
        self.validate()?;
        if self.retired.is_none() && self.is_stale(office.today()) {
            return Err(Error::user(format!(
                "resource {} was not verified in the last {STALE_MONTHS} months",
                self.slug
            ))
            .hint(format!(
                "call the service to re-check it, then `frontdesk resource verify {}` (or `resource retire {}`)",
                self.slug, self.slug
            )));
        }
        Ok(Facts {
            expected: Some(Store::resource_rel(&self.slug)?),
            ..Facts::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::text::to_toml;

    #[test]
    fn a_resource_writes_and_reads_back_the_same_and_is_flagged_when_stale() {
        let mut r = Resource::new("food-for-free");
        r.organization = "Food For Free".into();
        r.name = "Pantry".into();
        r.needs = vec!["food".into()];
        r.area = vec!["021".into(), "city:Cambridge".into()];
        r.languages = vec!["es".into()];
        r.verified_on = Some("2025-11-30".parse().unwrap());
        r.address = Some(crate::domain::common::Address {
            line1: "1 Fawcett St".into(),
            city: "Cambridge".into(),
            ..Default::default()
        });
        let text = to_toml(&r).unwrap();
        let back: Resource = parse_toml(Path::new("r.toml"), text.as_bytes()).unwrap();
        assert_eq!(back, r);
        let office = Office::new("T", "America/New_York").unwrap();
        // FRONTDESK_NOW is not set in unit tests: today is after 2026-11-30, so stale.
        let e = r.facts(&office).unwrap_err();
        assert!(
            e.message.contains("not verified in the last 12 months"),
            "{}",
            e.message
        );
        r.verified_on = Some(office.today());
        assert_eq!(
            r.facts(&office).unwrap().expected,
            Some(PathBuf::from("resources/food-for-free.toml"))
        );
        r.verified_on = None;
        r.retired = Some(office.today());
        assert!(
            r.facts(&office).is_ok(),
            "a retired resource is not flagged"
        );
    }
}
