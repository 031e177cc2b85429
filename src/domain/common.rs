//! Small value types shared by several records.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default)]
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(default)]
    pub city: String,
    /// State, county or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166 code; absent means the office's country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    /// The address as lines for a letter or a table cell.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.line1.clone()];
        if let Some(l2) = &self.line2 {
            lines.push(l2.clone());
        }
        let mut last = self.city.clone();
        if let Some(st) = &self.state {
            last = if last.is_empty() {
                st.clone()
            } else {
                format!("{last}, {st}")
            };
        }
        if let Some(pc) = &self.postal_code {
            last = format!("{last} {pc}");
        }
        lines.push(last.trim().to_string());
        if let Some(c) = &self.country {
            lines.push(c.clone());
        }
        lines.retain(|l| !l.is_empty());
        lines
    }
}
