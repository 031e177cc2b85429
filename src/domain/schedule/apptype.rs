//! Appointment types (`appointment-types.toml`): what a visit needs and takes.
//!
//! ```toml
//! schema = 1
//! [[type]]
//! key = "new-patient"
//! name = "New patient visit"
//! minutes = 40
//! buffer_after = 10
//! new_patient = true
//! copay = "office"
//! min_lead_hours = 24
//! providers = []                 # empty: any provider
//! instructions = "Bring your insurance card, a photo ID and a list of your medicines."
//! needs = [{ kind = "exam" }]    # any free room of this kind, for the whole visit
//! recall_after = "12 months"     # due again a year after the last visit (`letter batch --recall-due`)
//!
//! [[type]]
//! key = "procedure"
//! minutes = 90
//! needs = [{ kind = "procedure", minutes = 60 }]   # the procedure room for the first hour
//! ```

use serde::{Deserialize, Serialize};

use crate::domain::schedule::check_key;
use crate::error::{Error, Result};

pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentTypes {
    pub schema: u32,
    #[serde(default, rename = "type")]
    pub types: Vec<AppointmentType>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentType {
    pub key: String,
    pub name: String,
    pub minutes: u32,
    /// Minutes the provider needs after the visit (notes, cleaning) before the next one.
    #[serde(default)]
    pub buffer_after: u32,
    #[serde(default)]
    pub new_patient: bool,
    /// Which co-pay on the patient's coverage applies to this kind of visit.
    #[serde(default)]
    pub copay: CopayKind,
    /// How far ahead it must be booked (e.g. to prepare a procedure).
    #[serde(default)]
    pub min_lead_hours: u32,
    /// Providers who take this type; empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<Need>,
    /// How long after a visit of this type the patient is due for the next one
    /// (`recall_after = "12 months"`); see [`crate::domain::recall`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall_after: Option<crate::domain::recall::Interval>,
    /// No longer booked (`type retire`); kept for the visits that had it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
}

/// A room or equipment the visit needs: any room of `kind`, for `minutes` from the start (the
/// whole visit when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Need {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
}

/// The co-pay field of a coverage that applies (`Coverage::copay_office` etc.).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopayKind {
    #[default]
    Office,
    Specialist,
    Urgent,
    /// No co-pay (e.g. a nurse visit or a preventive visit).
    None,
}

impl AppointmentType {
    pub fn allows(&self, provider: &str) -> bool {
        self.providers.is_empty() || self.providers.iter().any(|p| p == provider)
    }

    pub fn validate(&self) -> Result<()> {
        check_key("appointment type", &self.key)?;
        crate::domain::validate::required("appointment type name", &self.name)?;
        if !(5..=720).contains(&self.minutes) {
            return Err(Error::user(format!(
                "appointment type {}: minutes must be between 5 and 720",
                self.key
            )));
        }
        if self.buffer_after > 240 {
            return Err(Error::user(format!(
                "appointment type {}: buffer_after is more than 240 minutes",
                self.key
            )));
        }
        for n in &self.needs {
            check_key("room kind", &n.kind)?;
            if n.minutes.is_some_and(|m| m == 0 || m > self.minutes) {
                return Err(Error::user(format!(
                    "appointment type {}: a resource is needed for longer than the visit",
                    self.key
                )));
            }
        }
        Ok(())
    }
}

impl AppointmentTypes {
    pub fn get(&self, key: &str) -> Result<&AppointmentType> {
        self.types.iter().find(|t| t.key == key).ok_or_else(|| {
            // The key typed is not repeated (see docs/output.md); the office's own are listed.
            let keys: Vec<&str> = self.types.iter().map(|t| t.key.as_str()).collect();
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            Error::user("no such appointment type").hint(crate::domain::suggest::hint(
                key,
                "type",
                &keys,
                "a [[type]] in appointment-types.toml",
            ))
        })
    }

    pub fn validate(&self) -> Result<()> {
        for (i, t) in self.types.iter().enumerate() {
            t.validate()?;
            if self.types[..i].iter().any(|o| o.key == t.key) {
                return Err(Error::user(format!(
                    "appointment type {} is defined twice",
                    t.key
                )));
            }
        }
        Ok(())
    }
}
