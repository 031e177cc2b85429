//! Record IDs: a type letter plus random Crockford base32.
//!
//! `P7K3QX9M2` is short enough to read over the phone and carries 40 random bits, so two offline
//! desks adding records never collide in practice (`frontdesk check` proves it after a merge).
//! Crockford's alphabet leaves out I, L, O and U; on input those are read as 1, 1, 0 and V is
//! left alone, case is ignored, and anything else is refused, so an ID can never carry `../`,
//! a slash or a NUL into a path.

use std::fmt;
use std::sync::{Mutex, OnceLock};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random characters after the type letter: 8 × 5 = 40 bits.
const RANDOM_LEN: usize = 8;

/// What an ID names. The letter is the ID's first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Patient,
    Appointment,
    Series,
    Waitlist,
    Transaction,
    Communication,
    Letter,
    Survey,
}

impl IdKind {
    pub fn letter(self) -> char {
        match self {
            IdKind::Patient => 'P',
            IdKind::Appointment => 'A',
            IdKind::Series => 'R',
            IdKind::Waitlist => 'W',
            IdKind::Transaction => 'T',
            IdKind::Communication => 'C',
            IdKind::Letter => 'L',
            IdKind::Survey => 'S',
        }
    }
    pub fn noun(self) -> &'static str {
        match self {
            IdKind::Patient => "patient",
            IdKind::Appointment => "appointment",
            IdKind::Series => "series",
            IdKind::Waitlist => "waitlist entry",
            IdKind::Transaction => "ledger entry",
            IdKind::Communication => "communication",
            IdKind::Letter => "letter",
            IdKind::Survey => "survey",
        }
    }
    pub fn from_letter(c: char) -> Option<IdKind> {
        [
            IdKind::Patient,
            IdKind::Appointment,
            IdKind::Series,
            IdKind::Waitlist,
            IdKind::Transaction,
            IdKind::Communication,
            IdKind::Letter,
            IdKind::Survey,
        ]
        .into_iter()
        .find(|k| k.letter() == c)
    }
}

/// True when `b` is an ID exactly as [`Id::parse`] would return it: a kind letter, then 5 to
/// 9 characters of [`ALPHABET`].
fn is_canonical(b: &[u8]) -> bool {
    const IN_ALPHABET: [bool; 256] = {
        let mut t = [false; 256];
        let mut i = 0;
        while i < ALPHABET.len() {
            t[ALPHABET[i] as usize] = true;
            i += 1;
        }
        t
    };
    (6..=10).contains(&b.len())
        && IdKind::from_letter(b[0] as char).is_some()
        && b[1..].iter().all(|c| IN_ALPHABET[*c as usize])
}

/// A test seam, like `FRONTDESK_FAULT`: with `FRONTDESK_ID_SEED=N` every ID a process draws
/// comes from a generator seeded with N, so an end-to-end test can make a command draw an ID
/// that is already taken and see it refused. Never set it in an office: two runs with the same
/// seed draw the same IDs (which the store then refuses as taken). Unset, it costs one cached
/// lookup.
fn test_seed() -> Option<&'static Mutex<StdRng>> {
    static SEEDED: OnceLock<Option<Mutex<StdRng>>> = OnceLock::new();
    SEEDED
        .get_or_init(|| {
            let seed = std::env::var("FRONTDESK_ID_SEED").ok()?.parse().ok()?;
            Some(Mutex::new(StdRng::seed_from_u64(seed)))
        })
        .as_ref()
}

/// A checked record ID. Holding one means it is safe to build a path from it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(String);

impl Id {
    /// A fresh random ID of the given kind.
    pub fn generate(kind: IdKind) -> Id {
        if let Some(seeded) = test_seed() {
            let mut rng = seeded.lock().unwrap_or_else(|e| e.into_inner());
            return Id::generate_with(kind, &mut *rng);
        }
        Id::generate_with(kind, &mut rand::rng())
    }

    /// An ID drawn from the given random source (a seeded one makes the demo generator
    /// deterministic).
    pub fn generate_with(kind: IdKind, rng: &mut impl Rng) -> Id {
        let mut s = String::with_capacity(1 + RANDOM_LEN);
        s.push(kind.letter());
        for _ in 0..RANDOM_LEN {
            s.push(ALPHABET[rng.random_range(0..32)] as char);
        }
        Id(s)
    }

    /// The ID whose characters spell the low 40 bits of `bits` (the demo generator numbers
    /// dated records this way, so no two can share an ID).
    pub fn from_bits(kind: IdKind, bits: u64) -> Id {
        let mut s = String::with_capacity(1 + RANDOM_LEN);
        s.push(kind.letter());
        for i in (0..RANDOM_LEN).rev() {
            s.push(ALPHABET[(bits >> (5 * i)) as usize & 31] as char);
        }
        Id(s)
    }

    /// Reads an ID typed by a person or found in a file: case-insensitive, I/L read as 1 and
    /// O as 0, hyphens and spaces ignored (`p7k3-qx9m2`). Refuses anything that is not an ID.
    pub fn parse(input: &str) -> Result<Id> {
        if is_canonical(input.as_bytes()) {
            // What the tool writes and its indexes hold: already what the rules below make.
            return Ok(Id(input.to_string()));
        }
        Id::parse_general(input)
    }

    /// [`Id::parse`] of any input, canonical or not.
    fn parse_general(input: &str) -> Result<Id> {
        let cleaned: String = input.chars().filter(|c| *c != '-' && *c != ' ').collect();
        let bad = || {
            // Not echoed: what was typed where an ID belongs is often a patient's name.
            Error::user("that is not a record ID")
                .hint("IDs look like P7K3QX9M2: a type letter and 8 letters or digits")
        };
        let mut chars = cleaned.chars();
        let first = chars.next().ok_or_else(bad)?.to_ascii_uppercase();
        IdKind::from_letter(first).ok_or_else(bad)?;
        let mut out = String::with_capacity(cleaned.len());
        out.push(first);
        for c in chars {
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
                _ => return Err(bad()),
            };
            out.push(c);
        }
        // Older or imported IDs may be shorter, but never shorter than 5 random characters,
        // and never longer than 10 characters in all.
        if out.len() < 6 || out.len() > 10 {
            return Err(bad());
        }
        Ok(Id(out))
    }

    /// Parses and checks the kind: `Id::parse_kind("A…", IdKind::Patient)` is an error that
    /// says an appointment ID was given where a patient ID was wanted.
    pub fn parse_kind(input: &str, kind: IdKind) -> Result<Id> {
        let id = Id::parse(input)?;
        if id.kind() != kind {
            return Err(Error::user(format!(
                "{id} is a {} ID, but a {} ID is needed here",
                id.kind().noun(),
                kind.noun()
            ))
            .hint(format!("{} IDs start with {}", kind.noun(), kind.letter())));
        }
        Ok(id)
    }

    /// True when `input` looks like an ID (used by search to try an exact lookup first).
    pub fn looks_like(input: &str) -> bool {
        Id::parse(input).is_ok()
    }

    pub fn kind(&self) -> IdKind {
        IdKind::from_letter(self.0.chars().next().unwrap_or('?')).expect("checked on construction")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two characters after the type letter: the shard directory for entity records.
    pub fn shard(&self) -> &str {
        &self.0[1..3]
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Id, D::Error> {
        let s = String::deserialize(d)?;
        Id::parse(&s).map_err(|_| serde::de::Error::custom("not a record ID (like P7K3QX9M2)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_ids_have_kind_and_length() {
        let id = Id::generate(IdKind::Patient);
        assert_eq!(id.as_str().len(), 9);
        assert_eq!(id.kind(), IdKind::Patient);
        assert_eq!(Id::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn input_is_forgiving() {
        assert_eq!(Id::parse("p7k3-qx9m2").unwrap().as_str(), "P7K3QX9M2");
        assert_eq!(Id::parse("P7K3OX9L2").unwrap().as_str(), "P7K30X912");
    }

    #[test]
    fn path_tricks_are_refused() {
        for bad in [
            "../x",
            "a/b",
            "/etc/passwd",
            "P7K3\0QX9",
            "P..",
            "",
            "P",
            "PABCDEFGHJKM",
            "P7K3QX9M/",
            "Pé7K3QX9",
        ] {
            assert!(Id::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn wrong_kind_is_named() {
        let err = Id::parse_kind("A7K3QX9M2", IdKind::Patient).unwrap_err();
        assert!(err.message.contains("appointment ID"), "{}", err.message);
    }

    proptest! {
        #[test]
        fn parsed_ids_are_path_safe(s in "\\PC{0,16}") {
            if let Ok(id) = Id::parse(&s) {
                prop_assert!(id.as_str().chars().all(|c| c.is_ascii_alphanumeric()));
                prop_assert!(id.as_str().len() <= 10);
            }
        }

        #[test]
        fn the_canonical_shortcut_parses_as_the_general_rules(s in "[A-Z0-9]{0,11}") {
            let general = Id::parse_general(&s).ok();
            prop_assert_eq!(Id::parse(&s).ok(), general.clone());
            if is_canonical(s.as_bytes()) {
                prop_assert_eq!(general.as_ref().map(Id::as_str), Some(s.as_str()));
            }
        }

        #[test]
        fn generated_ids_round_trip(_n in 0..100u8) {
            let id = Id::generate(IdKind::Transaction);
            prop_assert_eq!(Id::parse(&id.as_str().to_lowercase()).unwrap(), id);
        }
    }
}
