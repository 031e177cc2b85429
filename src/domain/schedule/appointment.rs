//! An appointment (`appointments/YYYY/MM/DD/<ID>.toml`, by its local start date) and its status
//! history, and the series that links recurring occurrences.
//!
//! Status names follow FHIR `Appointment.status` where one exists (`booked`, `arrived`,
//! `fulfilled`, `cancelled`, `noshow`, `entered-in-error`); the desk's finer steps that FHIR
//! lacks (`confirmed`, `roomed`, `left`, `rescheduled`) map onto the nearest FHIR code with
//! [`Status::fhir`].

use std::fmt;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::id::Id;
use crate::error::{Error, Result};

pub const SCHEMA: u32 = 1;

/// Cancelling closer than this to the start is a late cancel.
pub const LATE_CANCEL_HOURS: i64 = 24;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appointment {
    pub schema: u32,
    pub id: Id,
    pub patient: Id,
    /// Provider key.
    pub provider: String,
    /// Appointment type key.
    #[serde(rename = "type")]
    pub kind: String,
    /// Office-local start with its UTC offset.
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    pub status: Status,
    /// Room held for the whole visit (booked with --room, or chosen at rooming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The recurring series this occurrence belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Id>,
    /// Booked on purpose over another appointment (`--force`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub double_booked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late_cancel: bool,
    /// Set when this appointment was moved: the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescheduled_to: Option<Id>,
    /// Set on the new appointment of a move: the old one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescheduled_from: Option<Id>,
    /// Rooms or equipment held for part of the visit, as the type requires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Hold>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Change>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// A room held from `start` to `end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub room: String,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
}

/// One status change: to what, when, by whom, and anything said about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub status: Status,
    pub at: DateTime<FixedOffset>,
    pub by: String,
    /// How a confirmation was made (phone, sms, email, letter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Booked,
    Confirmed,
    Arrived,
    Roomed,
    Fulfilled,
    Cancelled,
    Noshow,
    /// Left without being seen.
    Left,
    Rescheduled,
    EnteredInError,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Booked => "booked",
            Status::Confirmed => "confirmed",
            Status::Arrived => "arrived",
            Status::Roomed => "roomed",
            Status::Fulfilled => "fulfilled",
            Status::Cancelled => "cancelled",
            Status::Noshow => "noshow",
            Status::Left => "left",
            Status::Rescheduled => "rescheduled",
            Status::EnteredInError => "entered-in-error",
        }
    }

    /// The FHIR R4/R5 `Appointment.status` code for exports.
    pub fn fhir(self) -> &'static str {
        match self {
            Status::Booked | Status::Confirmed => "booked",
            Status::Arrived => "arrived",
            Status::Roomed => "checked-in",
            Status::Fulfilled => "fulfilled",
            Status::Cancelled | Status::Rescheduled | Status::Left => "cancelled",
            Status::Noshow => "noshow",
            Status::EnteredInError => "entered-in-error",
        }
    }

    /// Still holds its time: the provider, patient and rooms are taken.
    pub fn holds_time(self) -> bool {
        matches!(
            self,
            Status::Booked
                | Status::Confirmed
                | Status::Arrived
                | Status::Roomed
                | Status::Fulfilled
        )
    }

    /// Ended one way or another: no further visit-flow steps apply.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Fulfilled
                | Status::Cancelled
                | Status::Noshow
                | Status::Left
                | Status::Rescheduled
                | Status::EnteredInError
        )
    }

    /// Whether the visit flow may go from `self` to `to`.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        match to {
            Confirmed => matches!(self, Booked | Confirmed),
            Arrived => matches!(self, Booked | Confirmed),
            Roomed => matches!(self, Arrived | Roomed),
            Fulfilled => matches!(self, Arrived | Roomed),
            Left => matches!(self, Arrived | Roomed),
            Cancelled | Rescheduled | Noshow => matches!(self, Booked | Confirmed),
            EnteredInError => !matches!(self, EnteredInError),
            Booked => false,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Appointment {
    /// A booked appointment with nothing else set yet (no room, notes, series or history);
    /// the caller fills in what its booking knows.
    pub fn booked(
        id: Id,
        patient: Id,
        provider: &str,
        kind: &str,
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
    ) -> Appointment {
        Appointment {
            schema: SCHEMA,
            id,
            patient,
            provider: provider.to_string(),
            kind: kind.to_string(),
            start,
            end,
            status: Status::Booked,
            room: None,
            location: None,
            reason: None,
            referral: None,
            notes: None,
            series: None,
            double_booked: false,
            cancel_reason: None,
            late_cancel: false,
            rescheduled_to: None,
            rescheduled_from: None,
            resources: Vec::new(),
            history: Vec::new(),
            extra: Default::default(),
        }
    }

    /// The office-local date the file is stored under.
    pub fn date(&self) -> NaiveDate {
        self.start.date_naive()
    }

    pub fn minutes(&self) -> i64 {
        (self.end - self.start).num_minutes()
    }

    /// Moves the visit flow on, recording who and when; refuses steps that make no sense.
    pub fn set_status(
        &mut self,
        to: Status,
        at: DateTime<FixedOffset>,
        by: &str,
        via: Option<String>,
        note: Option<String>,
    ) -> Result<()> {
        if self.status == to {
            return Err(
                Error::user(format!("appointment {} is already {to}", self.id))
                    .hint(status_hint(self.status)),
            );
        }
        if !self.status.can_become(to) {
            return Err(Error::user(format!(
                "appointment {} is {}; it cannot become {to}",
                self.id, self.status
            ))
            .hint(status_hint(self.status)));
        }
        self.status = to;
        self.history.push(Change {
            status: to,
            at,
            by: by.to_string(),
            via,
            note,
        });
        Ok(())
    }

    /// When the status last changed to `s`.
    pub fn when(&self, s: Status) -> Option<DateTime<FixedOffset>> {
        self.history
            .iter()
            .rev()
            .find(|c| c.status == s)
            .map(|c| c.at)
    }

    /// A cancel less than 24 hours before the start is late (many offices charge a fee).
    pub fn is_late_cancel(&self, now: DateTime<FixedOffset>) -> bool {
        self.start - now < Duration::hours(LATE_CANCEL_HOURS)
    }

    pub fn validate(&self) -> Result<()> {
        if self.end <= self.start {
            return Err(Error::user(format!(
                "appointment {} ends before it starts",
                self.id
            )));
        }
        Ok(())
    }
}

fn status_hint(s: Status) -> &'static str {
    match s {
        Status::Booked | Status::Confirmed => "check the patient in first with `schedule checkin`",
        Status::Arrived | Status::Roomed => "the patient is here: room, check out or mark left",
        _ => "the appointment is closed; book a new one with `schedule book`",
    }
}

/// A recurring series (`series/<ID>.toml`): the rule it was booked with and its occurrences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub schema: u32,
    pub id: Id,
    pub patient: Id,
    pub provider: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The rule as an RFC 5545 RRULE (`FREQ=WEEKLY;COUNT=8`).
    pub rule: String,
    pub created: DateTime<FixedOffset>,
    pub by: String,
    /// Every occurrence ever booked in this series, in order.
    pub occurrences: Vec<Id>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_transitions() {
        use Status::*;
        assert!(Booked.can_become(Arrived));
        assert!(Arrived.can_become(Roomed));
        assert!(Roomed.can_become(Fulfilled));
        assert!(!Booked.can_become(Fulfilled));
        assert!(!Cancelled.can_become(Arrived));
        assert!(!Fulfilled.can_become(Cancelled));
        assert_eq!(Roomed.fhir(), "checked-in");
        assert_eq!(Noshow.fhir(), "noshow");
    }

    #[test]
    fn status_names_round_trip() {
        for s in [Status::EnteredInError, Status::Noshow, Status::Left] {
            let v = serde_json::to_value(s).unwrap();
            assert_eq!(v.as_str().unwrap(), s.as_str());
        }
    }
}
