//! The duplicate guard: a new patient with the same family name and date of birth as someone
//! already known, and a given name that is equal, a prefix of the other (Jon / Jonathan) or
//! one typo away, is probably the same person.
//!
//! Candidates are bucketed by (folded family name, birth date), so a check is one hash lookup
//! plus a handful of name comparisons: `patient add` checks one patient, an import checks
//! 100,000 rows against 100,000 patients without an O(n²) scan.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::domain::patient::Patient;
use crate::domain::search::{SearchDoc, fold, within_one_edit};

/// Folded family name and birth date: people who might be the same share a bucket.
type Bucket = (String, NaiveDate);

/// Someone known: their folded name tokens and their tag. A boxed slice, sized exactly: an
/// import holds one per row (100,000).
type Person<T> = (Box<[String]>, T);

/// Known people, each tagged with what to report when a newcomer matches (an ID, a row).
pub struct DuplicateGuard<T> {
    /// The people of each bucket (nearly always one).
    buckets: HashMap<Bucket, Vec<Person<T>>>,
}

impl<T> Default for DuplicateGuard<T> {
    fn default() -> Self {
        DuplicateGuard {
            buckets: HashMap::new(),
        }
    }
}

impl<T> DuplicateGuard<T> {
    /// Adds someone known by their folded family name, birth date and folded name tokens
    /// (what the patient index keeps).
    pub fn insert(&mut self, family: String, birth_date: NaiveDate, names: Vec<String>, tag: T) {
        let people = self
            .buckets
            .entry((family, birth_date))
            .or_insert_with(|| Vec::with_capacity(1));
        people.push((names.into_boxed_slice(), tag));
    }

    pub fn insert_patient(&mut self, p: &Patient, tag: T) {
        // The same name tokens the patient index keeps, so both sides compare alike.
        let names = SearchDoc::from_patient(p).names;
        self.insert(fold(&p.family), p.birth_date, names, tag);
    }

    /// The first known person `p` is probably a duplicate of.
    pub fn find(&self, p: &Patient) -> Option<&T> {
        let given = fold(&p.given);
        self.buckets
            .get(&(fold(&p.family), p.birth_date))?
            .iter()
            .find(|(names, _)| similar_given(names, &given))
            .map(|(_, tag)| tag)
    }
}

/// True when `given` (folded) is equal to, a prefix of, an extension of, or one typo away
/// from one of `names` (folded tokens).
pub fn similar_given(names: &[String], given: &str) -> bool {
    names.iter().any(|n| {
        n == given
            || n.starts_with(given)
            || given.starts_with(n.as_str())
            || within_one_edit(n, given)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::id::{Id, IdKind};

    fn patient(given: &str, family: &str, dob: (i32, u32, u32)) -> Patient {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-27T09:00:00-05:00").unwrap();
        let mut p = Patient::new(Id::generate(IdKind::Patient), now);
        p.given = given.into();
        p.family = family.into();
        p.birth_date = NaiveDate::from_ymd_opt(dob.0, dob.1, dob.2).unwrap();
        p
    }

    #[test]
    fn same_family_dob_and_similar_given() {
        let mut g = DuplicateGuard::default();
        g.insert_patient(&patient("Jonathan", "Smith", (1980, 4, 2)), "A");
        g.insert_patient(&patient("Mary", "Smith", (1980, 4, 2)), "B");
        assert_eq!(g.find(&patient("Jon", "SMITH", (1980, 4, 2))), Some(&"A"));
        assert_eq!(
            g.find(&patient("Jonathon", "Smith", (1980, 4, 2))),
            Some(&"A")
        );
        assert_eq!(g.find(&patient("Mari", "Smith", (1980, 4, 2))), Some(&"B"));
        assert_eq!(g.find(&patient("Zoe", "Smith", (1980, 4, 2))), None);
        assert_eq!(g.find(&patient("Jon", "Smith", (1980, 4, 3))), None);
        assert_eq!(g.find(&patient("Jon", "Smyth", (1980, 4, 2))), None);
    }

    #[test]
    fn accents_and_case_fold() {
        let mut g = DuplicateGuard::default();
        g.insert_patient(&patient("Zoë", "O'Brien", (1990, 6, 30)), 1);
        assert_eq!(g.find(&patient("zoe", "OBrien", (1990, 6, 30))), Some(&1));
    }
}
