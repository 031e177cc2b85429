//! Scheduling: providers, rooms, appointment types, appointments, series and the waitlist, and
//! the pure rules over them (conflicts, free slots, preferences). Nothing here touches the disk.
//!
//! Times of day in provider and room files are office-local wall-clock times (`"08:00"`).
//! Appointment start and end are stored as office-local times *with* their UTC offset
//! (`2026-11-01T01:30:00-04:00`), which reads as a local time yet stays unambiguous in the
//! repeated hour of a DST change.

pub mod appointment;
pub mod apptype;
pub mod clock;
pub mod ics;
pub mod localtime;
pub mod prefs;

pub mod provider;
pub mod recur;
pub mod room;
pub mod slots;

pub mod waitlist;

pub use appointment::{Appointment, Status};
pub use apptype::{AppointmentType, AppointmentTypes, CopayKind};
pub use clock::Clock;
pub use provider::Provider;
pub use room::Room;

use crate::error::{Error, Result};

/// Provider and room keys are also file names, so they are held to a strict alphabet.
pub fn check_key(what: &str, key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 40
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !key.starts_with('-');
    if !ok {
        return Err(Error::user(format!(
            "{what} key must be lowercase letters, digits and hyphens (at most 40)"
        ))
        .hint("e.g. okafor, exam-1"));
    }
    Ok(())
}
