//! Communications (`communications/YYYY/MM/DD/C….toml`, by the local date of the contact).
//!
//! They are found through the dated-record index ([`schedule_index::COMMUNICATIONS`]): one line
//! per day folder, validated by the folder's modification time, holding each communication as
//! `C…:P…` and, while its follow-up is open, `C…:P…:DUE`. So `comm due` reads the index (its
//! view of the open follow-ups) and opens only the open follow-ups that are due; a closed
//! communication is never read again unless its day folder changes; a patient's
//! communications are one bucket of the index's buckets by patient (docs/comms.md).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::derived::schedule_index;
use crate::domain::comm::{Communication, due_in_line, parse_index_token};
use crate::domain::id::Id;
use crate::error::{Error, Result};
use crate::store::{Mode, Store, Txn, files_with_ext};

pub use crate::disk::layout::{COMMUNICATIONS_DIR, communication_day_rel as day_rel};

impl Store {
    pub fn communication_rel(date: NaiveDate, id: &Id) -> PathBuf {
        crate::disk::layout::communication_rel(date, id)
    }

    /// The communication with this ID, found through the index.
    pub fn load_communication(&self, id: &Id) -> Result<Communication> {
        let Some(day) = schedule_index::date_in(self, &schedule_index::COMMUNICATIONS, id)? else {
            return Err(Error::not_found(format!("no communication {id}"))
                .hint("list them with `frontdesk comm list --patient ID` or `comm due`"));
        };
        self.read_communication(&Store::communication_rel(day, id))
    }

    /// Reads one communication and checks it lies where its ID and date say.
    pub fn read_communication(&self, rel: &Path) -> Result<Communication> {
        let path = self.path(rel);
        let c: Communication = crate::store::read_toml(&path)?;
        c.validate().map_err(|e| e.at(path.display()))?;
        if Store::communication_rel(c.date(), &c.id) != rel {
            return Err(Error::user(format!(
                "{}: communication {} is not in its place ({})",
                path.display(),
                c.id,
                Store::communication_rel(c.date(), &c.id).display()
            ))
            .hint("move the file back where its ID and date say it belongs"));
        }
        Ok(c)
    }

    /// The open follow-ups due on or before `on`, oldest first. Only those files are read.
    pub fn due_communications(&self, on: NaiveDate) -> Result<Vec<Communication>> {
        let mut wanted = Vec::new();
        // The open follow-ups' view: a few thousand records instead of ten years' million.
        schedule_index::each_day_in_view(self, &schedule_index::COMMUNICATIONS, |day, line| {
            wanted.extend(due_in_line(line, on).map(|(id, _)| (day, id)));
        })?;
        let mut out = Vec::with_capacity(wanted.len());
        for (day, id) in wanted {
            let rel = Store::communication_rel(day, &id);
            // The file is the truth: the index only says which files may be due.
            if self.path(&rel).is_file() {
                let c = self.read_communication(&rel)?;
                if c.is_due(on) {
                    out.push(c);
                }
            }
        }
        crate::domain::comm::sort_due(&mut out);
        Ok(out)
    }

    /// Every open follow-up, whatever its date (the callback queue, `comm list --open`).
    pub fn open_communications(&self) -> Result<Vec<Communication>> {
        let mut out = self.due_communications(NaiveDate::MAX)?;
        out.retain(Communication::is_open);
        Ok(out)
    }

    /// One patient's open follow-ups, oldest first: only those files are read.
    pub fn patient_open_communications(&self, patient: &Id) -> Result<Vec<Communication>> {
        let needle = format!(":{patient}");
        let mut wanted = Vec::new();
        // The open follow-ups' view: a few thousand records, and no bucket to bring along.
        schedule_index::each_day_in_view(self, &schedule_index::COMMUNICATIONS, |day, line| {
            if !line.contains(&needle) {
                return;
            }
            wanted.extend(
                line.split(' ')
                    .filter_map(parse_index_token)
                    .filter(|(_, p, due)| p.as_ref() == Some(patient) && due.is_some())
                    .map(|(id, _, _)| (day, id)),
            );
        })?;
        let mut out = self.read_listed(wanted)?;
        out.retain(|c| c.is_open() && c.patient.as_ref() == Some(patient));
        crate::domain::comm::sort_due(&mut out);
        Ok(out)
    }

    /// Every communication about one patient, oldest first: the patient's bucket of the
    /// communications by patient, so only their files are read.
    pub fn patient_communications(&self, patient: &Id) -> Result<Vec<Communication>> {
        let mut out = self.read_listed(schedule_index::communications_of(self, patient)?)?;
        // The file is the truth: the index only says which files may be the patient's.
        out.retain(|c| c.patient.as_ref() == Some(patient));
        Ok(out)
    }

    /// Every communication logged from `from` to `to` (inclusive), oldest first: one day folder
    /// per day.
    pub fn communications_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Communication>> {
        let mut out = Vec::new();
        let mut day = from;
        while day <= to {
            let dir = self.path(&day_rel(day));
            for path in files_with_ext(&dir, "toml")? {
                let rel = path
                    .strip_prefix(self.root())
                    .unwrap_or(&path)
                    .to_path_buf();
                out.push(self.read_communication(&rel)?);
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        out.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(out)
    }

    fn read_listed(&self, wanted: Vec<(NaiveDate, Id)>) -> Result<Vec<Communication>> {
        let mut out = Vec::with_capacity(wanted.len());
        for (day, id) in wanted {
            let rel = Store::communication_rel(day, &id);
            if self.path(&rel).is_file() {
                out.push(self.read_communication(&rel)?);
            }
        }
        out.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(out)
    }
}

impl Txn<'_> {
    pub fn save_communication(&mut self, c: &Communication, mode: Mode) -> Result<()> {
        c.validate()?;
        if mode == Mode::CreateNew {
            self.refuse_dated_id_in_use(&schedule_index::COMMUNICATIONS, &c.id, c.date())?;
        }
        self.put(&Store::communication_rel(c.date(), &c.id), c, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::comm::{Channel, Direction, PartyKind, Topic};
    use crate::domain::id::IdKind;
    use crate::store::{parse_toml, to_toml};

    fn comm(n: u64) -> Communication {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00-05:00").unwrap();
        let mut c = Communication::new(
            Id::from_bits(IdKind::Communication, n),
            at,
            "maria",
            (Channel::Voicemail, Direction::In),
            PartyKind::Contact,
            Topic::Care,
            "Call back\nabout the \"ride\"",
        );
        c.patient = Some(Id::from_bits(IdKind::Patient, 9));
        c.with = Some("Ana Doe".into());
        c.warnings = vec!["w".into()];
        c
    }

    #[test]
    fn a_communication_writes_and_reads_back_the_same() {
        let mut c = comm(1);
        c.follow_up = Some("2026-12-03".parse().unwrap());
        c.assign = Some("maria".into());
        c.extra
            .insert("kept".into(), toml::Value::String("by hand".into()));
        let text = to_toml(&c).unwrap();
        let back: Communication = parse_toml(Path::new("c.toml"), text.as_bytes()).unwrap();
        assert_eq!(back, c);
        back.validate().unwrap();
    }

    #[test]
    fn a_day_line_holds_the_due_date_of_open_follow_ups_only() {
        let dir = tempfile::tempdir().unwrap();
        let (open, closed, plain) = (comm(1), comm(2), comm(3));
        let mut open = open;
        open.follow_up = Some("2026-12-03".parse().unwrap());
        let mut closed = closed;
        closed.follow_up = Some("2026-12-02".parse().unwrap());
        closed.done = Some(closed.at);
        for c in [&open, &closed, &plain] {
            std::fs::write(
                dir.path().join(format!("{}.toml", c.id)),
                to_toml(c).unwrap(),
            )
            .unwrap();
        }
        // A broken file still holds its ID (as taken), with no patient and no date.
        let broken = Id::from_bits(IdKind::Communication, 4);
        std::fs::write(dir.path().join(format!("{broken}.toml")), "not toml [").unwrap();
        let line = schedule_index::read_communication_day(dir.path()).unwrap();
        let p = Id::from_bits(IdKind::Patient, 9);
        let mut tokens: Vec<&str> = line.split(' ').collect();
        tokens.sort();
        let mut want = vec![
            format!("{}:{p}:2026-12-03", open.id),
            format!("{}:{p}", closed.id),
            format!("{}:{p}", plain.id),
            format!("{broken}:"),
        ];
        want.sort();
        assert_eq!(tokens, want);
        let on = "2026-12-31".parse().unwrap();
        let due: Vec<Id> = due_in_line(&line, on).map(|(id, _)| id).collect();
        assert_eq!(due, vec![open.id.clone()]);
    }
}
