//! The survey instrument: its questions, grouped into composites as the CAHPS Clinician &
//! Group survey (CG-CAHPS 3.0) groups them, with the 0–10 provider rating and a Net Promoter
//! question. A built-in default ships in the binary; an office may replace it with
//! `records/survey-instrument.toml` (same shape, its own `version`), to add or reword
//! questions. Answers keep the question key and the instrument version they were given under.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// Never 1, Sometimes 2, Usually 3, Always 4 (CAHPS); the top box is "Always".
    Frequency,
    /// 0 to 10; the top box is 9 or 10.
    Rating,
}

impl Scale {
    pub fn range(self) -> (u8, u8) {
        match self {
            Scale::Frequency => (1, 4),
            Scale::Rating => (0, 10),
        }
    }

    /// The answer CAHPS counts as the best ("always", 9–10).
    pub fn is_top_box(self, v: u8) -> bool {
        match self {
            Scale::Frequency => v == 4,
            Scale::Rating => v >= 9,
        }
    }

    /// An answer as typed or as a vendor writes it: a number in range, or a frequency word.
    pub fn read(self, text: &str) -> Option<u8> {
        let t = text.trim();
        let v = match (self, t.to_ascii_lowercase().as_str()) {
            (Scale::Frequency, "never") => 1,
            (Scale::Frequency, "sometimes") => 2,
            (Scale::Frequency, "usually") => 3,
            (Scale::Frequency, "always") => 4,
            _ => t.parse::<u8>().ok()?,
        };
        let (lo, hi) = self.range();
        (lo..=hi).contains(&v).then_some(v)
    }

    pub fn expected(self) -> &'static str {
        match self {
            Scale::Frequency => "1-4 or never, sometimes, usually, always",
            Scale::Rating => "a whole number from 0 to 10",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Composite {
    pub key: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub key: String,
    pub text: String,
    pub scale: Scale,
    /// The composite the question counts towards, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    /// Raised whenever a question is added, removed or reworded.
    pub version: u32,
    pub name: String,
    /// The key of the 0–10 rating of the provider.
    pub rating: String,
    /// The key of the 0–10 "how likely to recommend" (Net Promoter) question.
    pub nps: String,
    /// Whether a visit may have more than one response (default no: CAHPS counts one
    /// response per visit, so a second is refused as a conflict).
    #[serde(default)]
    pub repeat_responses: bool,
    pub composites: Vec<Composite>,
    pub questions: Vec<Question>,
}

pub const FILE: &str = "survey-instrument.toml";

/// The built-in instrument (also in `docs/satisfaction.md`).
pub const DEFAULT: &str = include_str!("default-instrument.toml");

impl Instrument {
    pub fn builtin() -> Instrument {
        // Checked by a test; a broken built-in is a bug, not a user error.
        toml::from_str(DEFAULT).expect("the built-in survey instrument parses")
    }

    pub fn question(&self, key: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.key == key)
    }

    /// The questions of one composite, in order.
    pub fn items<'a>(&'a self, composite: &'a str) -> impl Iterator<Item = &'a Question> {
        self.questions
            .iter()
            .filter(move |q| q.composite.as_deref() == Some(composite))
    }

    /// Keys unique and well-formed, every composite named exists and has a question, the
    /// rating and NPS questions exist on the 0–10 scale.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| {
            Err(Error::user(m).hint("see docs/satisfaction.md for the instrument's shape"))
        };
        if self.version == 0 {
            return bad("version must be 1 or more".into());
        }
        let mut keys: Vec<&str> = Vec::new();
        for q in &self.questions {
            if !valid_key(&q.key) {
                return bad(format!(
                    "questions: a key is not lowercase letters, digits, - and _ (question {})",
                    keys.len() + 1
                ));
            }
            if keys.contains(&q.key.as_str()) {
                return bad(format!("questions: key {} appears twice", q.key));
            }
            keys.push(&q.key);
            if let Some(c) = &q.composite
                && !self.composites.iter().any(|x| &x.key == c)
            {
                return bad(format!(
                    "questions.{}: composite {c} is not in composites",
                    q.key
                ));
            }
        }
        for c in &self.composites {
            if !valid_key(&c.key) {
                return bad("composites: a key is not lowercase letters, digits, - and _".into());
            }
            if self.items(&c.key).next().is_none() {
                return bad(format!(
                    "composites.{}: no question counts towards it",
                    c.key
                ));
            }
        }
        for (what, key) in [("rating", &self.rating), ("nps", &self.nps)] {
            match self.question(key) {
                Some(q) if q.scale == Scale::Rating => {}
                Some(_) => return bad(format!("{what}: question {key} is not on the 0-10 scale")),
                None => return bad(format!("{what}: no question {key}")),
            }
        }
        Ok(())
    }
}

pub fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 40
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_instrument_is_valid_and_cahps_shaped() {
        let i = Instrument::builtin();
        i.validate().unwrap();
        assert_eq!(i.composites.len(), 3);
        for c in &i.composites {
            assert!(i.items(&c.key).count() >= 2, "{}", c.key);
        }
        assert_eq!(i.question(&i.rating).unwrap().scale, Scale::Rating);
        assert_eq!(i.question(&i.nps).unwrap().scale, Scale::Rating);
    }

    #[test]
    fn answers_are_read_in_range_or_by_word() {
        assert_eq!(Scale::Frequency.read("Always"), Some(4));
        assert_eq!(Scale::Frequency.read(" 2 "), Some(2));
        assert_eq!(Scale::Frequency.read("0"), None);
        assert_eq!(Scale::Frequency.read("5"), None);
        assert_eq!(Scale::Rating.read("10"), Some(10));
        assert_eq!(Scale::Rating.read("11"), None);
        assert_eq!(Scale::Rating.read("always"), None);
        assert_eq!(Scale::Rating.read("-1"), None);
        assert!(Scale::Rating.is_top_box(9) && !Scale::Rating.is_top_box(8));
        assert!(Scale::Frequency.is_top_box(4) && !Scale::Frequency.is_top_box(3));
    }

    #[test]
    fn an_instrument_naming_a_missing_composite_or_rating_is_refused() {
        let mut i = Instrument::builtin();
        i.questions[0].composite = Some("nope".into());
        assert!(i.validate().is_err());
        let mut i = Instrument::builtin();
        i.nps = "staff_helpful".into();
        assert!(i.validate().is_err());
        let mut i = Instrument::builtin();
        let q = i.questions[0].clone();
        i.questions.push(q);
        assert!(i.validate().is_err());
    }
}
