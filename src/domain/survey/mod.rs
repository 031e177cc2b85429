//! Patient-satisfaction survey responses (`surveys/YYYY/MM/S….toml`, by the month of the
//! visit): one response each, about one appointment (so provider, type, date, waits and desk
//! staff come from the appointment, not retyped) or anonymous (only a provider and a month).
//! The answers are kept by question key with the instrument version they were given under;
//! the free-text comment is kept but never printed in a report unless asked (`--comments`),
//! and then only through [`scrub_comment`]. See docs/satisfaction.md.

pub mod import;
pub mod instrument;
pub mod stats;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::id::Id;
use crate::error::{Error, Result};
use instrument::Instrument;

pub const SCHEMA: u32 = 1;

/// How the response came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Paper,
    Sms,
    Email,
    Kiosk,
    Phone,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Paper => "paper",
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Kiosk => "kiosk",
            Channel::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        [
            Channel::Paper,
            Channel::Sms,
            Channel::Email,
            Channel::Kiosk,
            Channel::Phone,
        ]
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// A calendar month, `2026-11`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn of(d: NaiveDate) -> Month {
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    pub fn parse(s: &str) -> Result<Month> {
        let bad = || Error::user("not a month").hint("write the month as YYYY-MM, e.g. 2026-11");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let (year, month) = (
            y.parse::<i32>().map_err(|_| bad())?,
            m.parse::<u32>().map_err(|_| bad())?,
        );
        if y.len() != 4 || m.len() != 2 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    pub fn first(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn last(self) -> NaiveDate {
        self.next().first().pred_opt().unwrap_or(NaiveDate::MAX)
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Every month from `from` to `to`, both included.
    pub fn range(from: Month, to: Month) -> impl Iterator<Item = Month> {
        std::iter::successors(Some(from), move |m| Some(m.next()).filter(|n| *n <= to))
            .take_while(move |m| *m <= to)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Month::parse(&s).map_err(|_| serde::de::Error::custom("month is not YYYY-MM"))
    }
}

/// One survey response as filed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    pub schema: u32,
    pub id: Id,
    /// The month of the visit: the response's folder.
    pub month: Month,
    /// The appointment the response is about; none for an anonymous response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<Id>,
    /// The visit's local date (with an appointment): the appointment's day folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<NaiveDate>,
    /// Provider key: the appointment's when there is one (copied when filed), else as given.
    pub provider: String,
    pub channel: Channel,
    /// The day the response was filed.
    pub received: NaiveDate,
    /// The instrument version the answers were given under.
    pub instrument: u32,
    /// The survey vendor's response ID, for an import to recognise a row already filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// Question key → answer.
    pub answers: BTreeMap<String, u8>,
    /// Free text as written: kept, never printed in a report unless asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

impl Survey {
    /// Checks the record on its own: an anonymous response names a provider and no visit day;
    /// one about an appointment has its visit day in its month.
    pub fn validate(&self) -> Result<()> {
        if self.schema != SCHEMA {
            return Err(
                Error::user(format!("schema {} is not {SCHEMA}", self.schema))
                    .hint("this frontdesk reads survey schema 1"),
            );
        }
        crate::domain::schedule::check_key("provider", &self.provider)?;
        match (&self.appointment, self.visit) {
            (Some(_), Some(d)) if Month::of(d) == self.month => {}
            (Some(_), _) => {
                return Err(
                    Error::user("visit is missing or not in the response's month")
                        .hint("a response about an appointment holds the visit's date"),
                );
            }
            (None, Some(_)) => {
                return Err(Error::user("an anonymous response has no visit date")
                    .hint("remove the visit line, or add the appointment"));
            }
            (None, None) => {}
        }
        for (k, v) in &self.answers {
            if !instrument::valid_key(k) || *v > 10 {
                return Err(Error::user("answers: a key or value is out of shape")
                    .hint("answers are question keys with whole numbers 0-10"));
            }
        }
        if let Some(r) = &self.response_id
            && (r.is_empty() || r.len() > 64 || r.chars().any(char::is_control))
        {
            return Err(Error::user(
                "response_id is empty, too long or has control characters",
            ));
        }
        Ok(())
    }
}

/// Reads `KEY=VAL,KEY=VAL` answers against the instrument. Errors name the item's position
/// and the question key (keys come from the instrument), never the value typed.
pub fn parse_answers(inst: &Instrument, text: &str) -> Result<BTreeMap<String, u8>> {
    let mut out = BTreeMap::new();
    for (i, item) in text
        .split(',')
        .enumerate()
        .filter(|(_, s)| !s.trim().is_empty())
    {
        let n = i + 1;
        let Some((k, v)) = item.split_once('=') else {
            return Err(Error::user(format!("--answers: item {n} is not KEY=VALUE"))
                .hint("e.g. --answers comm_listen=always,provider_rating=9,recommend=10"));
        };
        let k = k.trim().to_ascii_lowercase();
        let Some(q) = inst.question(&k) else {
            return Err(Error::user(format!(
                "--answers: item {n}: no question with that key in instrument version {}",
                inst.version
            ))
            .hint(format!(
                "the questions are: {}",
                inst.questions
                    .iter()
                    .map(|q| q.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let Some(v) = q.scale.read(v) else {
            return Err(
                Error::user(format!("--answers: {}: the answer is out of range", q.key))
                    .hint(format!("{} takes {}", q.key, q.scale.expected())),
            );
        };
        if out.insert(q.key.clone(), v).is_some() {
            return Err(Error::user(format!(
                "--answers: {} is answered twice",
                q.key
            )));
        }
    }
    if out.is_empty() {
        return Err(Error::user("--answers: no answers given")
            .hint("e.g. --answers comm_listen=always,provider_rating=9,recommend=10"));
    }
    Ok(out)
}

/// A comment fit for a report: every run of digits becomes `#` (phone numbers, dates, record
/// numbers) and every capitalised word that does not start a sentence becomes `[name]`, as
/// does any word of `names` (the patient's and provider's names, known to the caller). Crude
/// on purpose: it removes too much rather than too little. E-mail addresses and IDs go too.
pub fn scrub_comment(text: &str, names: &[String]) -> String {
    let lower_names: Vec<String> = names
        .iter()
        .flat_map(|n| n.split_whitespace())
        .filter(|w| w.chars().count() >= 2)
        .map(|w| w.to_lowercase())
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut sentence_start = true;
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let core: String = word.chars().filter(|c| c.is_alphanumeric()).collect();
        let trailing: String = word
            .chars()
            .rev()
            .take_while(|c| matches!(c, '.' | ',' | '!' | '?' | ';' | ':'))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let is_name = lower_names.contains(&core.to_lowercase())
            || (!sentence_start && core.chars().next().is_some_and(char::is_uppercase))
            || word.contains('@');
        if word.chars().any(|c| c.is_ascii_digit()) {
            out.push('#');
            out.push_str(&trailing);
        } else if is_name {
            out.push_str("[name]");
            out.push_str(&trailing);
        } else {
            out.push_str(word);
        }
        let title = matches!(word, "Dr." | "Mr." | "Mrs." | "Ms." | "Mx." | "Prof.");
        sentence_start = word.ends_with(['.', '!', '?']) && !title;
    }
    out
}

/// Minutes from arrival to rooming, in the bands `--against wait` reports.
pub const WAIT_BANDS: [&str; 4] = ["under 10 min", "10-20 min", "20-30 min", "over 30 min"];

pub fn wait_band(minutes: i64) -> usize {
    match minutes {
        ..10 => 0,
        10..20 => 1,
        20..30 => 2,
        _ => 3,
    }
}

/// How late the visit started (roomed, or arrival when never roomed) against its booked time.
pub const LATE_BANDS: [&str; 4] = [
    "on time or early",
    "1-10 min late",
    "10-20 min late",
    "over 20 min late",
];

pub fn late_band(minutes: i64) -> usize {
    match minutes {
        ..1 => 0,
        1..10 => 1,
        10..20 => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_and_refused_without_echoing_values() {
        let inst = Instrument::builtin();
        let a = parse_answers(&inst, "comm_listen=Always, provider_rating=9,recommend=10").unwrap();
        assert_eq!(a["comm_listen"], 4);
        assert_eq!(a["recommend"], 10);
        let e = parse_answers(&inst, "comm_listen=4,secret=5").unwrap_err();
        assert!(e.message.contains("item 2"), "{}", e.message);
        assert!(!e.message.contains("secret"));
        let e = parse_answers(&inst, "provider_rating=11").unwrap_err();
        assert!(e.message.contains("provider_rating") && !e.message.contains("11"));
        assert!(parse_answers(&inst, "recommend=9,recommend=8").is_err());
        assert!(parse_answers(&inst, "").is_err());
    }

    #[test]
    fn comments_lose_names_and_numbers() {
        let s = scrub_comment(
            "Dr. Okafor was great. Call me at 617-555-0101, ask for jane doe! Parking was bad",
            &["Jane Doe".into()],
        );
        assert_eq!(
            s,
            "Dr. [name] was great. Call me at #, ask for [name] [name]! Parking was bad"
        );
    }

    #[test]
    fn months_parse_and_step() {
        let m = Month::parse("2026-12").unwrap();
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.last().to_string(), "2026-12-31");
        assert!(Month::parse("2026-13").is_err());
        assert!(Month::parse("26-1").is_err());
        let r: Vec<String> = Month::range(
            Month::parse("2026-11").unwrap(),
            Month::parse("2027-01").unwrap(),
        )
        .map(|m| m.to_string())
        .collect();
        assert_eq!(r, ["2026-11", "2026-12", "2027-01"]);
    }

    #[test]
    fn bands() {
        assert_eq!(
            [0, 9, 10, 19, 20, 29, 30, 90].map(wait_band),
            [0, 0, 1, 1, 2, 2, 3, 3]
        );
        assert_eq!([-5, 0, 1, 9, 10, 20].map(late_band), [0, 0, 1, 1, 2, 3]);
    }
}
