//! The waitlist (`waitlist/<ID>.toml`): patients who want an earlier or a particular time.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::id::Id;

pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitlistEntry {
    pub schema: u32,
    pub id: Id,
    pub patient: Id,
    /// Provider key; absent means any provider who takes the type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    /// Earliest and latest dates that suit (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
    /// Times that suit, in the preference language (`"mornings"`, `"tue,thu after 15:00"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefer: Option<String>,
    pub status: WaitStatus,
    pub created: DateTime<FixedOffset>,
    pub by: String,
    /// The appointment that took the patient off the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booked: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaitStatus {
    Waiting,
    Booked,
    Removed,
}
