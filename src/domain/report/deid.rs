//! De-identification by the HIPAA Safe Harbor method (45 CFR 164.514(b)(2)): the value rules.
//! Which columns a report drops or transforms is declared by the report (see
//! `src/cli/report/frame.rs` and docs/reports.md); these functions say what a kept value becomes.

use std::collections::HashMap;

use rand::Rng;

/// The three-digit ZIP areas with 20,000 people or fewer (2000 Census, as HHS lists them):
/// their first three digits become `000`.
pub const SPARSE_ZIP3: [&str; 17] = [
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878",
    "879", "884", "890", "893",
];

/// A ZIP code cut to its first three digits, `000` for a sparse area, empty when it is not a
/// ZIP code at all (a foreign postal code is removed rather than guessed at).
pub fn zip3(zip: &str) -> String {
    let digits: String = zip.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.len() < 5 {
        return String::new();
    }
    let head = &digits[..3];
    if SPARSE_ZIP3.contains(&head) {
        "000".to_string()
    } else {
        head.to_string()
    }
}

/// An age, with every age over 89 folded into `90+`.
pub fn age(years: i64) -> String {
    if years > 89 {
        "90+".to_string()
    } else {
        years.to_string()
    }
}

/// The year of an ISO date (`2026-11-30` → `2026`); anything else is removed.
pub fn year(date: &str) -> String {
    match date.get(..4) {
        Some(y) if y.chars().all(|c| c.is_ascii_digit()) && date.len() >= 10 => y.to_string(),
        _ => String::new(),
    }
}

const PSEUDONYM_LETTERS: &[u8] = b"BCDFGHJKMNPQRSTVWXZ";

/// Per-run pseudonyms for record IDs: random, unrelated to the ID, the same ID getting the
/// same pseudonym within one run only (Safe Harbor allows a code not derived from the
/// individual's information).
#[derive(Debug, Default)]
pub struct Pseudonyms {
    given: HashMap<String, String>,
}

impl Pseudonyms {
    pub fn of(&mut self, id: &str) -> String {
        if id.is_empty() {
            return String::new();
        }
        if let Some(p) = self.given.get(id) {
            return p.clone();
        }
        let mut rng = rand::rng();
        loop {
            // Letters only, no vowels and no digits: a pseudonym can never spell a name or
            // contain a ZIP code, phone number or date by chance.
            let p: String = std::iter::once('R')
                .chain((0..6).map(|_| {
                    let i = rng.random_range(0..PSEUDONYM_LETTERS.len());
                    PSEUDONYM_LETTERS[i] as char
                }))
                .collect();
            if !self.given.values().any(|v| v == &p) {
                self.given.insert(id.to_string(), p.clone());
                return p;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_are_cut_to_three_digits_and_sparse_areas_to_000() {
        assert_eq!(zip3("02139"), "021");
        assert_eq!(zip3("02139-4307"), "021");
        assert_eq!(zip3("03601"), "000");
        assert_eq!(zip3("89012"), "000");
        assert_eq!(zip3("SW1A 1AA"), "");
        assert_eq!(zip3("021"), "");
    }

    #[test]
    fn ages_over_89_and_dates() {
        assert_eq!(age(89), "89");
        assert_eq!(age(90), "90+");
        assert_eq!(age(104), "90+");
        assert_eq!(year("2026-11-30"), "2026");
        assert_eq!(year("nope"), "");
    }

    #[test]
    fn pseudonyms_are_stable_within_a_run_and_unrelated_to_the_id() {
        let mut p = Pseudonyms::default();
        let a = p.of("P55BY8Q09");
        assert_eq!(p.of("P55BY8Q09"), a);
        assert_ne!(p.of("P2QNPQD8E"), a);
        assert!(!a.contains("55BY8Q09"));
        assert_eq!(p.of(""), "");
        assert!(a.len() == 7 && a.starts_with('R'));
        assert!(
            a.chars()
                .skip(1)
                .all(|c| PSEUDONYM_LETTERS.contains(&(c as u8)))
        );
    }
}
