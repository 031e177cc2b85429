//! Patient search as a front desk searches: `smi jo 1980`, `doe 04/02/1980`, `6175550101`,
//! a member ID or a patient ID; partial and out-of-order tokens, case- and accent-insensitive,
//! tolerant of one typo; best match first.
//!
//! Search runs over `SearchDoc`s, the few normalised fields search needs. The index under
//! `.frontdesk/` stores them so that a search does not parse 100,000 TOML files.

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::domain::patient::{Patient, Status};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchDoc {
    pub id: String,
    /// Normalised name tokens: given, middle, family, preferred, suffix.
    pub names: Vec<String>,
    pub birth_date: NaiveDate,
    /// Phone numbers as digits only, with and without the country code.
    pub phones: Vec<String>,
    /// Member IDs and external IDs, lowercased.
    pub other_ids: Vec<String>,
    pub active: bool,
}

impl SearchDoc {
    pub fn from_patient(p: &Patient) -> SearchDoc {
        let mut names = Vec::new();
        for part in [
            Some(&p.given),
            p.middle.as_ref(),
            Some(&p.family),
            p.preferred_name.as_ref(),
            p.suffix.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            names.extend(name_tokens(part));
        }
        names.dedup();
        let mut phones = Vec::new();
        for ph in &p.phones {
            let d = crate::domain::phone::digits(&ph.number);
            if let Some(national) = d.strip_prefix('1').filter(|n| n.len() == 10) {
                phones.push(national.to_string());
            }
            phones.push(d);
        }
        let mut other_ids: Vec<String> = p
            .insurance
            .iter()
            .map(|c| c.member_id.to_lowercase())
            .collect();
        other_ids.extend(p.external_ids.values().map(|v| v.to_lowercase()));
        SearchDoc {
            id: p.id.to_string(),
            names,
            birth_date: p.birth_date,
            phones,
            other_ids,
            active: p.status == Status::Active,
        }
    }
}

/// What scoring reads from a patient. The owned [`SearchDoc`] and the patient index's view of
/// its own bytes (`store::index::DocRef`, which scores 100,000 patients without building a
/// `String` for any of them) both provide it, so a search scores the same fields the same way
/// with or without the index.
pub trait Searchable {
    fn id(&self) -> &str;
    fn names(&self) -> impl Iterator<Item = &str>;
    fn phones(&self) -> impl Iterator<Item = &str>;
    fn other_ids(&self) -> impl Iterator<Item = &str>;
    fn birth_date(&self) -> NaiveDate;
    fn active(&self) -> bool;
}

impl Searchable for SearchDoc {
    fn id(&self) -> &str {
        &self.id
    }
    fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
    fn phones(&self) -> impl Iterator<Item = &str> {
        self.phones.iter().map(String::as_str)
    }
    fn other_ids(&self) -> impl Iterator<Item = &str> {
        self.other_ids.iter().map(String::as_str)
    }
    fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }
    fn active(&self) -> bool {
        self.active
    }
}

impl<T: Searchable> Searchable for &T {
    fn id(&self) -> &str {
        (*self).id()
    }
    fn names(&self) -> impl Iterator<Item = &str> {
        (*self).names()
    }
    fn phones(&self) -> impl Iterator<Item = &str> {
        (*self).phones()
    }
    fn other_ids(&self) -> impl Iterator<Item = &str> {
        (*self).other_ids()
    }
    fn birth_date(&self) -> NaiveDate {
        (*self).birth_date()
    }
    fn active(&self) -> bool {
        (*self).active()
    }
}

/// Lowercase, accents removed, apostrophes dropped, split on spaces and hyphens; a hyphenated
/// name also yields the joined form (`smith-jones` → `smith`, `jones`, `smithjones`).
pub fn name_tokens(s: &str) -> Vec<String> {
    let folded = fold(s);
    let mut out = Vec::new();
    for word in folded.split_whitespace() {
        let parts: Vec<&str> = word.split('-').filter(|p| !p.is_empty()).collect();
        if parts.len() > 1 {
            out.extend(parts.iter().map(|p| p.to_string()));
            out.push(parts.concat());
        } else if let Some(p) = parts.first() {
            out.push(p.to_string());
        }
    }
    out
}

/// Case and accent folding: "Zoë O'Brien" → "zoe obrien".
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .filter(|c| !matches!(c, '\'' | '’' | '.' | ','))
        .flat_map(char::to_lowercase)
        .collect()
}

/// One part of a parsed query.
#[derive(Debug, Clone, PartialEq)]
enum Term {
    Date(NaiveDate),
    Digits(String),
    Word(String),
}

impl Term {
    /// How much scoring one patient against this term costs, roughly: a word long enough to be
    /// matched with a typo is compared with every name letter by letter.
    fn cost(&self) -> u8 {
        match self {
            Term::Date(_) => 0,
            Term::Digits(_) => 1,
            Term::Word(w) if w.chars().count() < TYPO_MIN_CHARS => 1,
            Term::Word(_) => 2,
        }
    }
}

/// The shortest word matched with a typo: shorter ones would match too much.
const TYPO_MIN_CHARS: usize = 4;

#[derive(Debug, Clone)]
pub struct Query {
    terms: Vec<Term>,
}

impl Query {
    pub fn parse(input: &str, today: NaiveDate) -> Query {
        let mut terms = Vec::new();
        // A phone typed with spaces, "(617) 555 0101", is one number, not three.
        let trimmed = input.trim();
        let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
        if digits.len() >= 7
            && trimmed.contains(' ')
            && trimmed
                .chars()
                .all(|c| c.is_ascii_digit() || "()-. +".contains(c))
        {
            return Query {
                terms: vec![Term::Digits(digits)],
            };
        }
        for raw in input.split(|c: char| c.is_whitespace() || c == ',') {
            if raw.is_empty() {
                continue;
            }
            let looks_dated =
                raw.contains(['/', '-', '.']) && raw.chars().any(|c| c.is_ascii_digit());
            if looks_dated && let Ok(d) = crate::domain::dates::parse_date(raw, today) {
                terms.push(Term::Date(d));
                continue;
            }
            let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
            if !digits.is_empty()
                && raw
                    .chars()
                    .all(|c| c.is_ascii_digit() || "()-. +".contains(c))
            {
                if digits.len() == 8
                    && let Ok(d) = crate::domain::dates::parse_date(&digits, today)
                {
                    terms.push(Term::Date(d));
                    continue;
                }
                terms.push(Term::Digits(digits));
                continue;
            }
            for t in name_tokens(raw) {
                terms.push(Term::Word(t));
            }
        }
        // A patient must match every term and the score is their sum, so the order terms are
        // tried in changes only the speed: the cheap exact ones first turn most patients away
        // before any typo-tolerant comparison runs (`smith jo`: `jo` rules out ~95 %).
        terms.sort_by_key(Term::cost);
        Query { terms }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The score of a document, or None when some term matches nothing.
    pub fn score(&self, doc: &impl Searchable) -> Option<u32> {
        let mut total = 0;
        for term in &self.terms {
            total += term_score(term, doc)?;
        }
        // Active patients before inactive ones at equal relevance.
        Some(total * 2 + u32::from(doc.active()))
    }
}

fn term_score(term: &Term, doc: &impl Searchable) -> Option<u32> {
    let s = match term {
        Term::Date(d) => {
            if *d == doc.birth_date() {
                50
            } else {
                0
            }
        }
        Term::Digits(d) => {
            let mut best = 0;
            if d.len() == 4 && d.parse::<i32>().ok() == Some(doc.birth_date().year()) {
                best = 30;
            }
            if d.len() >= 4 {
                for p in doc.phones() {
                    if p == d.as_str() {
                        best = best.max(60);
                    } else if p.ends_with(d.as_str()) {
                        best = best.max(25);
                    } else if d.len() >= 7 && p.contains(d.as_str()) {
                        best = best.max(20);
                    }
                }
            }
            for other in doc.other_ids() {
                if other == d.as_str() {
                    best = best.max(60);
                } else if d.len() >= 4 && other.contains(d.as_str()) {
                    best = best.max(15);
                }
            }
            best
        }
        Term::Word(w) => {
            let mut best = 0;
            let w_chars = w.chars().count();
            if doc.id().eq_ignore_ascii_case(w) {
                best = 100;
            }
            for other in doc.other_ids() {
                if other == w.as_str() {
                    best = best.max(60);
                }
            }
            for name in doc.names() {
                let s = if name == w.as_str() {
                    30
                } else if name.starts_with(w.as_str()) {
                    20
                } else if w_chars >= TYPO_MIN_CHARS && within_one_edit(w, name) {
                    12
                } else if w_chars >= TYPO_MIN_CHARS
                    && name.chars().count() > w_chars
                    && within_one_edit(w, prefix_chars(name, w_chars))
                {
                    // A typo in a prefix: "smtih" for "smith…".
                    8
                } else {
                    0
                };
                best = best.max(s);
            }
            best
        }
    };
    (s > 0).then_some(s)
}

/// The first `n` characters of `s`.
fn prefix_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// True when `a` and `b` differ by at most one insertion, deletion, substitution or swap of
/// neighbouring letters (Damerau), the typos a clerk makes. Runs for every name of every patient
/// on each search, so ASCII names (nearly all, after folding) are compared as bytes without
/// allocating.
pub fn within_one_edit(a: &str, b: &str) -> bool {
    if a.len().abs_diff(b.len()) > 4 {
        // More than one character apart even at four bytes per character.
        return false;
    }
    if a.is_ascii() && b.is_ascii() {
        return one_edit(a.as_bytes(), b.as_bytes());
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    one_edit(&a, &b)
}

fn one_edit<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    if ra.is_empty() && rb.is_empty() {
        return true;
    }
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..]
                || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Less => ra == &rb[1..],
        std::cmp::Ordering::Greater => &ra[1..] == rb,
    }
}

/// Ranks documents: best score first, then by ID for a stable order. Takes owned
/// `SearchDoc`s (`&docs`) or the patient index's borrowed views alike.
pub fn rank<D, I>(query: &Query, docs: I) -> Vec<(u32, D)>
where
    I: IntoParallelIterator<Item = D>,
    D: Searchable + Send,
{
    // Scoring is independent per document: spread 100,000 of them over the cores.
    let mut hits: Vec<(u32, D)> = docs
        .into_par_iter()
        .filter_map(|d| query.score(&d).map(|s| (s, d)))
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id().cmp(b.1.id())));
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    fn doc(id: &str, given: &str, family: &str, dob: (i32, u32, u32), phone: &str) -> SearchDoc {
        let mut names = name_tokens(given);
        names.extend(name_tokens(family));
        SearchDoc {
            id: id.into(),
            names,
            birth_date: NaiveDate::from_ymd_opt(dob.0, dob.1, dob.2).unwrap(),
            phones: vec![phone.into(), format!("1{phone}")],
            other_ids: vec!["xyz123456".into()],
            active: true,
        }
    }

    fn docs() -> Vec<SearchDoc> {
        vec![
            doc("P00000001", "John", "Smith", (1980, 4, 2), "6175550101"),
            doc("P00000002", "Jane", "Doe", (1980, 4, 2), "6175550102"),
            doc("P00000003", "Joan", "Smithers", (1975, 1, 9), "6175550103"),
            doc("P00000004", "Zoë", "O'Brien", (1990, 6, 30), "6175550104"),
            doc("P00000005", "Jonah", "Dole", (1980, 4, 2), "6175550105"),
        ]
    }

    fn first(q: &str) -> Option<String> {
        let docs = docs();
        rank(&Query::parse(q, today()), &docs)
            .first()
            .map(|(_, d)| d.id.clone())
    }

    #[test]
    fn partial_out_of_order_tokens() {
        assert_eq!(first("smi jo 1980").as_deref(), Some("P00000001"));
        assert_eq!(first("jo smi 1980").as_deref(), Some("P00000001"));
        assert_eq!(first("doe jan").as_deref(), Some("P00000002"));
        assert_eq!(first("Doe, Jane").as_deref(), Some("P00000002"));
    }

    #[test]
    fn dates_phones_ids() {
        assert_eq!(first("doe 04/02/1980").as_deref(), Some("P00000002"));
        assert_eq!(first("(617) 555-0103").as_deref(), Some("P00000003"));
        assert_eq!(first("617-555-0102").as_deref(), Some("P00000002"));
        assert_eq!(first("p00000004").as_deref(), Some("P00000004"));
    }

    #[test]
    fn accents_and_typos() {
        assert_eq!(first("zoe obrien").as_deref(), Some("P00000004"));
        assert_eq!(first("ZOË O'BRIEN").as_deref(), Some("P00000004"));
        assert_eq!(first("smtih john").as_deref(), Some("P00000001"));
        assert_eq!(first("jnae doe").as_deref(), Some("P00000002"));
    }

    #[test]
    fn exact_beats_prefix_beats_typo() {
        let docs = docs();
        let hits = rank(&Query::parse("smith", today()), &docs);
        assert_eq!(hits[0].1.id, "P00000001");
        assert_eq!(hits[1].1.id, "P00000003");
    }

    #[test]
    fn every_term_must_match() {
        assert_eq!(first("smith 1999"), None);
        assert_eq!(first("nobody"), None);
    }

    #[test]
    fn edit_distance() {
        assert!(within_one_edit("smith", "smith"));
        assert!(within_one_edit("smtih", "smith"));
        assert!(within_one_edit("smth", "smith"));
        assert!(within_one_edit("smiths", "smith"));
        assert!(within_one_edit("smyth", "smith"));
        assert!(within_one_edit("smoth", "smith"));
        assert!(!within_one_edit("jones", "smith"));
    }

    proptest! {
        #[test]
        fn exact_name_query_always_finds_its_patient(given in "[A-Za-z]{2,10}", family in "[A-Za-z]{2,12}") {
            let mut all = docs();
            all.push(doc("P0000000Z", &given, &family, (1970, 1, 1), "6175559999"));
            let q = Query::parse(&format!("{family} {given}"), today());
            let hits = rank(&q, &all);
            prop_assert!(hits.iter().any(|(_, d)| d.id == "P0000000Z"));
            let top = hits[0].0;
            let ours = hits.iter().find(|(_, d)| d.id == "P0000000Z").unwrap().0;
            prop_assert_eq!(top, ours, "an exact match is never outranked");
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let q = Query::parse(&s, today());
            for d in docs() { let _ = q.score(&d); }
        }
    }
}
