//! Intake needs: what the patient needs from the desk to get care (a ride, an interpreter,
//! help with costs), recorded from the intake interview. The same words name what a community
//! resource serves (`resource find --need`), so a need can be matched to a service.
//!
//! A need is never a diagnosis: the vocabulary is closed, and the free-text note is bounded.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The needs the desk records, as typed and stored. `interpreter` takes a language:
/// `interpreter:es`.
pub const NEEDS: &[(&str, &str)] = &[
    ("transport", "a ride to and from visits"),
    (
        "interpreter",
        "an interpreter (interpreter:LANG, an ISO 639-1 code)",
    ),
    ("financial", "help with costs, insurance or bills"),
    ("food", "food assistance"),
    ("housing", "housing help"),
    ("utilities", "help with heat, power or water"),
    ("mobility", "wheelchair access or help moving"),
    ("hearing", "hearing assistance"),
    ("vision", "large print or reading help"),
    ("childcare", "childcare during visits"),
    ("caregiver", "support for a caregiver"),
    ("legal", "legal aid"),
    (
        "digital",
        "phone or internet access for the portal and video visits",
    ),
    ("literacy", "help reading and filling in forms"),
];

/// ISO 639-1 language codes.
const LANGUAGES: &str = "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";

/// A language code as typed (`ES`, ` es `), checked against ISO 639-1 and lower-cased.
pub fn language(input: &str, field: &str) -> Result<String> {
    let code = input.trim().to_ascii_lowercase();
    if code.len() == 2 && LANGUAGES.split(' ').any(|c| c == code) {
        return Ok(code);
    }
    Err(Error::user(format!("{field} is not an ISO 639-1 language code"))
        .hint("use a two-letter code such as es (Spanish), pt (Portuguese), zh (Chinese), vi (Vietnamese)"))
}

/// A need as typed or stored: one of [`NEEDS`], `interpreter:LANG` with a known language.
/// Returns its canonical form (`interpreter:es`).
pub fn need(input: &str, field: &str) -> Result<String> {
    let text = input.trim().to_ascii_lowercase();
    let (word, lang) = match text.split_once(':') {
        Some((w, l)) => (w.trim(), Some(l)),
        None => (text.as_str(), None),
    };
    if !NEEDS.iter().any(|(n, _)| *n == word) {
        return Err(
            Error::user(format!("{field} is not a need the desk records")).hint(format!(
                "use one of: {}",
                NEEDS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )),
        );
    }
    match (word, lang) {
        ("interpreter", Some(l)) => Ok(format!("interpreter:{}", language(l, field)?)),
        ("interpreter", None) => Err(
            Error::user(format!("{field}: interpreter needs a language"))
                .hint("write interpreter:LANG, e.g. interpreter:es"),
        ),
        (_, Some(_)) => Err(Error::user(format!(
            "{field}: only interpreter takes a :LANG"
        ))),
        (w, None) => Ok(w.to_string()),
    }
}

/// A need category as a resource serves it: a need word, `interpreter` with or without a
/// language (a resource's languages say which).
pub fn category_word(input: &str, field: &str) -> Result<String> {
    let text = input.trim().to_ascii_lowercase();
    let word = text.split(':').next().unwrap_or("").trim();
    if word == "interpreter" {
        return Ok(word.to_string());
    }
    need(word, field)
}

/// The category of a need (`interpreter:es` → `interpreter`): what a resource serves.
pub fn category(need: &str) -> &str {
    need.split(':').next().unwrap_or(need)
}

/// The language of an interpreter need.
pub fn need_language(need: &str) -> Option<&str> {
    need.strip_prefix("interpreter:")
}

/// One need on a patient's record: what, who noted it and when, and an optional note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Need {
    pub need: String,
    pub noted_by: String,
    pub noted_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Longest note on a need.
pub const NOTE_MAX: usize = 500;

impl Need {
    pub fn validate(&self) -> Result<()> {
        let canonical = need(&self.need, "needs")?;
        if canonical != self.need {
            return Err(Error::user("needs: a need is not in its stored form")
                .hint("write it lower-case, e.g. interpreter:es"));
        }
        if let Some(n) = &self.note {
            if n.chars().count() > NOTE_MAX {
                return Err(Error::user(format!(
                    "needs note is longer than {NOTE_MAX} characters"
                )));
            }
            if n.chars().any(char::is_control) {
                return Err(Error::user("needs note has control characters"));
            }
        }
        Ok(())
    }
}

/// Needs as the desk reads them on one line: `transport, interpreter:es`.
pub fn summary(needs: &[Need]) -> String {
    needs
        .iter()
        .map(|n| n.need.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_are_read_and_refused_by_name() {
        assert_eq!(need(" Transport ", "--add").unwrap(), "transport");
        assert_eq!(need("interpreter:ES", "--add").unwrap(), "interpreter:es");
        for bad in ["diabetes", "interpreter", "interpreter:xx", "food:es", ""] {
            let e = need(bad, "--add").unwrap_err();
            assert!(e.message.starts_with("--add"), "{bad}: {}", e.message);
            assert!(
                !e.message.contains("diabetes") && !e.message.contains("xx"),
                "{}",
                e.message
            );
        }
        assert_eq!(category("interpreter:es"), "interpreter");
        assert_eq!(need_language("interpreter:es"), Some("es"));
        assert!(language("zz", "--language").is_err());
        assert_eq!(language("PT", "--language").unwrap(), "pt");
    }
}
