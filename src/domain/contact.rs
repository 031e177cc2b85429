//! People around a patient (emergency contacts, the guarantor, representatives) as the desk
//! types them: "NAME, RELATION, PHONE[, RELEASE-DATE]" in any order. Each part is recognised
//! by its shape: a phone by its digits, a date as a date, a relation from [`RELATIONS`], and
//! the one part left is the name. Errors say which part is missing or ambiguous, never what
//! was typed: a contact's name and phone are protected health information.

use chrono::NaiveDate;

use crate::domain::dates::parse_date;
use crate::domain::patient::Contact;
use crate::domain::{phone, validate};
use crate::error::{Error, Result};

/// The relations a contact part is recognised as (lowercase; `-` and spaces are equal).
pub const RELATIONS: &[&str] = &[
    "spouse",
    "husband",
    "wife",
    "partner",
    "domestic partner",
    "parent",
    "mother",
    "father",
    "stepmother",
    "stepfather",
    "child",
    "son",
    "daughter",
    "stepson",
    "stepdaughter",
    "sibling",
    "brother",
    "sister",
    "grandparent",
    "grandmother",
    "grandfather",
    "grandchild",
    "grandson",
    "granddaughter",
    "aunt",
    "uncle",
    "niece",
    "nephew",
    "cousin",
    "in-law",
    "mother-in-law",
    "father-in-law",
    "son-in-law",
    "daughter-in-law",
    "friend",
    "neighbour",
    "neighbor",
    "guardian",
    "legal guardian",
    "caregiver",
    "carer",
    "self",
    "employer",
    "other",
];

/// The relation `word` names, in its listed spelling; None when it is not a known relation.
pub fn relation(word: &str) -> Option<&'static str> {
    let key = |s: &str| {
        s.trim()
            .to_lowercase()
            .replace(['-', '_'], " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let w = key(word);
    RELATIONS.iter().copied().find(|r| key(r) == w)
}

/// A part that is only digits and phone punctuation, with enough digits to dial.
fn looks_like_phone(part: &str) -> bool {
    let main = part.split(['x', 'X', '#']).next().unwrap_or("");
    let digits = main.chars().filter(char::is_ascii_digit).count();
    digits >= 7
        && main
            .chars()
            .all(|c| c.is_ascii_digit() || " +()-.".contains(c))
}

/// A part that reads as a date: digits with `-` or `/` between them (a phone never has `/`,
/// and a dashed phone has more than eight digits).
fn looks_like_date(part: &str, today: NaiveDate) -> Option<NaiveDate> {
    let digits = part.chars().filter(char::is_ascii_digit).count();
    let shaped = digits <= 8 && part.chars().all(|c| c.is_ascii_digit() || "-/".contains(c));
    shaped.then(|| parse_date(part, today).ok()).flatten()
}

/// Parses "NAME, RELATION, PHONE[, RELEASE-DATE]" with the parts in any order; relation,
/// phone and date are optional, the name is not. `calling_code` reads a phone without `+`.
pub fn parse(text: &str, calling_code: &str, today: NaiveDate) -> Result<Contact> {
    let usage = || {
        Error::user(
            "give NAME, RELATION, PHONE separated by commas (any order; relation and phone may be left out)",
        )
    };
    let parts: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() || parts.len() > 4 {
        return Err(usage());
    }
    let (mut name, mut rel, mut tel, mut date) = (None, None, None, None);
    let twice = |what: &str| Error::user(format!("has two {what}s; give one of each"));
    for part in parts {
        if let Some(r) = relation(part) {
            if rel.replace(r).is_some() {
                return Err(twice("relation"));
            }
        } else if let Some(d) = looks_like_date(part, today) {
            if date.replace(d).is_some() {
                return Err(twice("date"));
            }
        } else if looks_like_phone(part) {
            if tel.replace(part).is_some() {
                return Err(twice("phone number"));
            }
        } else if name.replace(part).is_some() {
            return Err(Error::user(
                "has two parts that are neither a phone nor a known relation, so the name is unclear",
            )
            .hint(format!(
                "relations are: {}",
                RELATIONS.join(", ")
            )));
        }
    }
    let name = name
        .ok_or_else(|| Error::user("has no name").hint("e.g. \"Sam Lee, spouse, 617-555-0199\""))?;
    if rel.is_none() && tel.is_none() {
        return Err(Error::user(
            "has only a name: give NAME, RELATION, PHONE (any order; a relation or a phone at least)",
        ));
    }
    validate::name_chars("contact name", name)?;
    let phone = tel.map(|t| phone::normalize(t, calling_code)).transpose()?;
    Ok(Contact {
        name: name.to_string(),
        relation: rel.map(str::to_string),
        phone,
        release_on_file: date,
        address: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    fn p(s: &str) -> Result<Contact> {
        parse(s, "1", today())
    }

    #[test]
    fn parts_in_any_order() {
        for text in [
            "Sam Lee, spouse, 617-555-0199",
            "spouse, Sam Lee, (617) 555-0199",
            "617.555.0199, Spouse, Sam Lee",
            "+1 617 555 0199,Sam Lee,SPOUSE",
        ] {
            let c = p(text).unwrap();
            assert_eq!(c.name, "Sam Lee", "{text}");
            assert_eq!(c.relation.as_deref(), Some("spouse"), "{text}");
            assert_eq!(c.phone.as_deref(), Some("+16175550199"), "{text}");
        }
    }

    #[test]
    fn the_phone_is_never_taken_for_the_relation() {
        let c = p("Ann Smith, 617-555-0177").unwrap();
        assert_eq!(c.relation, None);
        assert_eq!(c.phone.as_deref(), Some("+16175550177"));
        let c = p("Neighbor, Ann Smith").unwrap();
        assert_eq!(
            (c.name.as_str(), c.relation.as_deref()),
            ("Ann Smith", Some("neighbor"))
        );
        assert_eq!(
            p("mother in law, Jo Ray").unwrap().relation.as_deref(),
            Some("mother-in-law")
        );
    }

    #[test]
    fn a_release_date_is_a_date_not_a_phone() {
        let c = p("Jo Ray, guardian, 617-555-0100, 2026-01-15").unwrap();
        assert_eq!(c.release_on_file.unwrap().to_string(), "2026-01-15");
        let c = p("01/15/2026, Jo Ray, 6175550100").unwrap();
        assert_eq!(c.release_on_file.unwrap().to_string(), "2026-01-15");
        assert_eq!(c.phone.as_deref(), Some("+16175550100"));
    }

    #[test]
    fn refusals_never_echo_the_value() {
        for (text, says) in [
            ("Kim Orr, Pat Orr", "name is unclear"),
            ("spouse, 617-555-0144", "has no name"),
            ("Kim Orr, spouse, wife", "two relations"),
            ("Kim Orr, 617-555-0144, 617-555-0100", "two phone numbers"),
            ("", "give NAME, RELATION, PHONE"),
            ("a, b, c, d, e", "give NAME, RELATION, PHONE"),
            ("Kim Orr", "has only a name"),
            ("K1m 0rr, spouse", "contact name has characters"),
            ("Kim Orr, spouse, 555-01999", "phone number"),
        ] {
            let e = p(text).unwrap_err();
            let shown = format!("{} {}", e.message, e.hint.clone().unwrap_or_default());
            assert!(e.message.contains(says), "{text}: {shown}");
            for part in text.split(',').map(str::trim).filter(|s| s.len() > 3) {
                if relation(part).is_none() {
                    assert!(!shown.contains(part), "{text}: {shown}");
                }
            }
        }
    }
}
