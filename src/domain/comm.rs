//! The communications log: one contact (a call, a voicemail, a letter, a visit at the desk) with
//! whom, how, which way, what was said, and a follow-up that may come due.
//!
//! Pure rules only: the record, its checks, who the party is, whether a summary is about care,
//! the due rule, and the one-token form a communication takes in the day index
//! (`store/comm.rs`), from which `comm due` finds the open follow-ups without reading a closed
//! communication again.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::id::{Id, IdKind};
use crate::domain::patient::{Contact, Patient};
use crate::error::{Error, Result};

pub const SCHEMA: u32 = 1;
/// Longest summary, in characters: a note of a call, not a document.
pub const SUMMARY_MAX: usize = 2_000;
/// Longest name of a party, reference number, staff key or closing note.
pub const SHORT_MAX: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Communication {
    pub schema: u32,
    pub id: Id,
    /// The patient the contact was about (none for office business with an agency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<Id>,
    /// When the contact happened, office-local with its offset; the file lies under its date.
    pub at: DateTime<FixedOffset>,
    /// The staff member who logged it.
    pub by: String,
    pub channel: Channel,
    pub direction: Direction,
    /// What kind of party the desk spoke with.
    pub party: PartyKind,
    /// The party's name or key (a contact's name, a provider or payer key, an agency's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
    /// A contact's relation to the patient, as the patient record gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    /// A payer's call reference number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub topic: Topic,
    pub summary: String,
    /// Records the contact was about (appointments A…, ledger entries T…, letters L…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub about: Vec<Id>,
    /// A community resource this contact referred the patient to (`resource refer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Warnings raised when it was logged (e.g. a contact without a release).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<NaiveDate>,
    /// Who should do the follow-up (a staff key); none: anyone at the desk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<String>,
    /// When the follow-up was done; set once, by `comm done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_note: Option<String>,
    /// Keys this version does not know survive rewrites.
    #[serde(flatten)]
    pub extra: toml::Table,
}

macro_rules! words {
    ($name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
        #[serde(rename_all = "kebab-case")]
        pub enum $name { $($variant),+ }
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }
    };
}

words!(Channel {
    Phone => "phone",
    Voicemail => "voicemail",
    Sms => "sms",
    Email => "email",
    Letter => "letter",
    Fax => "fax",
    Portal => "portal",
    InPerson => "in-person",
});

words!(Direction { In => "in", Out => "out" });

words!(PartyKind {
    Patient => "patient",
    Contact => "contact",
    Provider => "provider",
    Staff => "staff",
    Payer => "payer",
    Office => "office",
    Agency => "agency",
});

words!(Topic {
    Care => "care",
    Scheduling => "scheduling",
    Billing => "billing",
    Referral => "referral",
    Other => "other",
});

impl Communication {
    /// A contact with what every one has; the rest (party details, follow-up) is set after.
    pub fn new(
        id: Id,
        at: DateTime<FixedOffset>,
        by: &str,
        (channel, direction): (Channel, Direction),
        party: PartyKind,
        topic: Topic,
        summary: &str,
    ) -> Communication {
        Communication {
            schema: SCHEMA,
            id,
            patient: None,
            at,
            by: by.to_string(),
            channel,
            direction,
            party,
            with: None,
            relation: None,
            reference: None,
            topic,
            summary: summary.trim().to_string(),
            about: Vec::new(),
            resource: None,
            warnings: Vec::new(),
            follow_up: None,
            assign: None,
            done: None,
            done_by: None,
            done_note: None,
            extra: Default::default(),
        }
    }

    /// The follow-up is still to be done.
    pub fn is_open(&self) -> bool {
        self.follow_up.is_some() && self.done.is_none()
    }

    /// The due rule: an open follow-up whose date is on or before `on`.
    pub fn is_due(&self, on: NaiveDate) -> bool {
        self.done.is_none() && self.follow_up.is_some_and(|d| d <= on)
    }

    /// The office-local day the file is filed under.
    pub fn date(&self) -> NaiveDate {
        self.at.date_naive()
    }

    /// This communication's token in its day's index line: `C…:P…`, and `:DUE` while its
    /// follow-up is open. A closed one carries no date, so `comm due` never opens it again.
    pub fn index_token(&self) -> String {
        let patient = self.patient.as_ref().map(Id::as_str).unwrap_or("");
        match self.follow_up.filter(|_| self.done.is_none()) {
            Some(due) => format!("{}:{patient}:{due}", self.id),
            None => format!("{}:{patient}", self.id),
        }
    }

    /// Checks every rule a stored communication meets (the party is checked when it is logged,
    /// against the records it names).
    pub fn validate(&self) -> Result<()> {
        if self.id.kind() != IdKind::Communication {
            return Err(Error::user("id is not a communication ID (C…)"));
        }
        summary(&self.summary)?;
        for (field, value) in [
            ("with", &self.with),
            ("relation", &self.relation),
            ("reference", &self.reference),
            ("assign", &self.assign),
            ("resource", &self.resource),
        ] {
            if let Some(v) = value {
                short_text(field, v)?;
            }
        }
        if let Some(note) = &self.done_note {
            note_text("done_note", note)?;
        }
        if self.assign.is_some() && self.follow_up.is_none() {
            return Err(Error::user("assign is set without a follow_up")
                .hint("a follow-up date says when the assigned person should act"));
        }
        for a in &self.about {
            if !matches!(
                a.kind(),
                IdKind::Appointment | IdKind::Transaction | IdKind::Letter
            ) {
                return Err(Error::user(format!(
                    "about: {a} is not an appointment, ledger entry or letter ID"
                )));
            }
        }
        Ok(())
    }
}

/// An entry of a day's index line with a due date (`C…:P…:DUE`): a follow-up still open.
pub fn is_open_token(token: &str) -> bool {
    token.bytes().filter(|b| *b == b':').count() == 2
}

/// One entry of a day's index line, read back: ID, patient, and the due date while open.
pub fn parse_index_token(token: &str) -> Option<(Id, Option<Id>, Option<NaiveDate>)> {
    let mut parts = token.split(':');
    let id = Id::parse(parts.next()?).ok()?;
    let patient = match parts.next()? {
        "" => None,
        p => Some(Id::parse(p).ok()?),
    };
    let due = match parts.next() {
        Some(d) => Some(d.parse().ok()?),
        None => None,
    };
    Some((id, patient, due))
}

/// The open follow-ups of one day's index line that are due on or before `on`. Nearly every
/// token is a closed or plain contact (`C…:P…`, one colon): those are passed over without
/// being parsed, so a million of them cost one scan of the text.
pub fn due_in_line(line: &str, on: NaiveDate) -> impl Iterator<Item = (Id, NaiveDate)> + '_ {
    line.split(' ')
        .filter(|token| is_open_token(token))
        .filter_map(parse_index_token)
        .filter_map(move |(id, _, due)| due.filter(|d| *d <= on).map(|d| (id, d)))
}

/// Oldest follow-up first, then the earliest contact: the desk's morning to-do list.
pub fn sort_due(list: &mut [Communication]) {
    list.sort_by(|a, b| (a.follow_up, a.at, &a.id).cmp(&(b.follow_up, b.at, &b.id)));
}

/// A summary: required, at most [`SUMMARY_MAX`] characters, no control characters but line
/// breaks and tabs. Messages name the field, never the text.
pub fn summary(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(
            Error::user("--summary is empty").hint("say in a sentence what was said or agreed")
        );
    }
    if text.chars().count() > SUMMARY_MAX {
        return Err(
            Error::user(format!("--summary is longer than {SUMMARY_MAX} characters"))
                .hint("keep the note of the contact short; a long document belongs in a letter"),
        );
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::user("--summary has control characters")
            .hint("type plain text; paste without terminal escapes"));
    }
    Ok(())
}

/// A closing note: optional, bounded like a summary.
pub fn note_text(field: &str, text: &str) -> Result<()> {
    if text.chars().count() > SUMMARY_MAX {
        return Err(Error::user(format!(
            "{field} is longer than {SUMMARY_MAX} characters"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::user(format!("{field} has control characters")));
    }
    Ok(())
}

/// A short one-line value: not blank, at most [`SHORT_MAX`] characters, no control characters.
pub fn short_text(field: &str, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::user(format!("{field} is empty")));
    }
    if text.chars().count() > SHORT_MAX {
        return Err(Error::user(format!(
            "{field} is longer than {SHORT_MAX} characters"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::user(format!("{field} has control characters")));
    }
    Ok(())
}

/// A staff key for `--assign`: letters, digits, `.`, `_`, `-`, `@`; at most 64 characters.
pub fn staff_key(field: &str, text: &str) -> Result<()> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if !ok {
        return Err(Error::user(format!("{field} is not a staff user name"))
            .hint("use the short name the staff member works under, e.g. maria"));
    }
    Ok(())
}

/// Words that make a summary about care (results, medicines, symptoms, treatment): telling
/// such things to someone without a release is what the warning is for. Scheduling, billing
/// and transport talk is not care. A clerk who knows better says `--topic`.
const CARE_WORDS: &[&str] = &[
    "result",
    "lab",
    "test",
    "medic",
    "prescri",
    "refill",
    "dose",
    "diagnos",
    "symptom",
    "treat",
    "therapy",
    "surgery",
    "biopsy",
    "x-ray",
    "xray",
    "mri",
    "scan",
    "pain",
    "condition",
    "care",
    "blood",
    "pressure",
    "insulin",
    "vaccin",
    "injection",
    "side effect",
    "allerg",
    "doctor said",
];
const SCHEDULING_WORDS: &[&str] = &[
    "appointment",
    "resched",
    "confirm",
    "cancel",
    "book",
    "time",
    "ride",
];
const BILLING_WORDS: &[&str] = &[
    "bill",
    "balance",
    "payment",
    "claim",
    "insurance",
    "copay",
    "co-pay",
    "invoice",
];

/// The topic a summary is about when the clerk did not say: care words win, because a missed
/// warning costs more than a needless one.
pub fn infer_topic(summary: &str) -> Topic {
    let text = summary.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(CARE_WORDS) {
        Topic::Care
    } else if has(BILLING_WORDS) {
        Topic::Billing
    } else if has(SCHEDULING_WORDS) {
        Topic::Scheduling
    } else {
        Topic::Other
    }
}

/// The party as typed after `--with`: `patient`, `contact:NAME` (also `family:` and `rep:`;
/// NAME may be the contact's name or relation), `provider:KEY`, `staff:USER`, `payer:KEY`,
/// `office:NAME`, `agency:NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyArg {
    pub kind: PartyKind,
    pub name: Option<String>,
}

impl PartyArg {
    pub fn parse(input: &str) -> Result<PartyArg> {
        let bad = || {
            Error::user("--with is not a party the log knows").hint(
                "use patient, contact:NAME (or family:, rep:), provider:KEY, staff:USER, payer:KEY, office:NAME or agency:NAME",
            )
        };
        let input = input.trim();
        if input.eq_ignore_ascii_case("patient") || input.eq_ignore_ascii_case("self") {
            return Ok(PartyArg {
                kind: PartyKind::Patient,
                name: None,
            });
        }
        let (kind, name) = input.split_once(':').ok_or_else(bad)?;
        let kind = match kind.trim().to_ascii_lowercase().as_str() {
            "contact" | "family" | "rep" | "representative" => PartyKind::Contact,
            "provider" => PartyKind::Provider,
            "staff" => PartyKind::Staff,
            "payer" => PartyKind::Payer,
            "office" => PartyKind::Office,
            "agency" => PartyKind::Agency,
            _ => return Err(bad()),
        };
        let name = name.trim();
        short_text("--with", name)?;
        Ok(PartyArg {
            kind,
            name: Some(name.to_string()),
        })
    }
}

/// A person on the patient's record the desk may speak with: emergency contacts, the
/// guarantor and authorised representatives.
pub fn contacts(p: &Patient) -> impl Iterator<Item = &Contact> {
    p.representatives
        .iter()
        .chain(p.emergency_contacts.iter())
        .chain(p.guarantor.iter())
}

/// The contact `name` means: the one whose name or relation matches (case and spacing
/// ignored), or whose name starts with it. Two matches are refused as ambiguous.
pub fn find_contact<'p>(p: &'p Patient, name: &str) -> Result<&'p Contact> {
    let fold = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let want = fold(name);
    let exact: Vec<&Contact> = contacts(p)
        .filter(|c| fold(&c.name) == want || c.relation.as_deref().map(fold) == Some(want.clone()))
        .collect();
    let found: Vec<&Contact> = if exact.is_empty() {
        contacts(p)
            .filter(|c| fold(&c.name).starts_with(&want))
            .collect()
    } else {
        exact
    };
    // The same person may be listed twice (a representative who is also the emergency
    // contact): that is one person.
    let mut people: Vec<&Contact> = Vec::new();
    for c in found {
        if !people.iter().any(|o| fold(&o.name) == fold(&c.name)) {
            people.push(c);
        }
    }
    match people.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::user(format!(
            "--with: no contact on patient {}'s record matches",
            p.id
        ))
        .hint("add the person with `patient update ID --representative \"NAME, RELATION, PHONE[, RELEASE-DATE]\"`, or check `patient show ID`")),
        _ => Err(Error::user(format!(
            "--with: more than one contact on patient {}'s record matches",
            p.id
        ))
        .hint("give the contact's full name")),
    }
}

/// True when the patient filed a release for this person on or before `today`: the same
/// person listed twice counts once, with any release on file.
pub fn has_release(p: &Patient, who: &Contact, today: NaiveDate) -> bool {
    let same = |c: &&Contact| c.name.trim().eq_ignore_ascii_case(who.name.trim());
    contacts(p)
        .filter(same)
        .any(|c| c.release_on_file.is_some_and(|d| d <= today))
}

/// The warning recorded when care is discussed with someone the patient has not released
/// information to. Names no one: it goes to stderr and into the record.
pub fn release_warning(patient: &Id) -> String {
    format!(
        "care was discussed with a contact of patient {patient} who has no release on file: get a signed release before sharing more"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn comm(n: u64, follow_up: Option<NaiveDate>, done: bool) -> Communication {
        let at = DateTime::parse_from_rfc3339("2026-12-01T10:00:00-05:00").unwrap()
            + chrono::Duration::minutes(n as i64);
        let mut c = Communication::new(
            Id::from_bits(IdKind::Communication, n),
            at,
            "maria",
            (Channel::Phone, Direction::Out),
            PartyKind::Patient,
            Topic::Other,
            "called",
        );
        c.patient = Some(Id::from_bits(IdKind::Patient, n % 3));
        c.follow_up = follow_up;
        c.done = done.then_some(at);
        c
    }

    fn day(offset: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap() + chrono::Duration::days(offset)
    }

    proptest! {
        /// `comm due` lists exactly the open follow-ups due on or before the date asked,
        /// whether it reads the records or the index tokens they leave behind, however they
        /// were created (with or without a follow-up, without a patient) and closed.
        #[test]
        fn due_lists_exactly_the_open_follow_ups_due_by_the_date(
            spec in proptest::collection::vec((any::<bool>(), -40i64..40, any::<bool>(), any::<bool>()), 0..40),
            on in -45i64..45,
        ) {
            let on = day(on);
            let comms: Vec<Communication> = spec
                .iter()
                .enumerate()
                .map(|(n, (has, off, done, no_patient))| {
                    let mut c = comm(n as u64, has.then(|| day(*off)), *done);
                    if *no_patient { c.patient = None; }
                    c
                })
                .collect();
            let expected: std::collections::BTreeSet<Id> = comms
                .iter()
                .filter(|c| c.done.is_none() && c.follow_up.is_some_and(|d| d <= on))
                .map(|c| c.id.clone())
                .collect();
            let by_rule: std::collections::BTreeSet<Id> =
                comms.iter().filter(|c| c.is_due(on)).map(|c| c.id.clone()).collect();
            prop_assert_eq!(&by_rule, &expected);
            let line = comms.iter().map(Communication::index_token).collect::<Vec<_>>().join(" ");
            let by_index: std::collections::BTreeSet<Id> =
                due_in_line(&line, on).map(|(id, _)| id).collect();
            prop_assert_eq!(&by_index, &expected);
            let mut due: Vec<Communication> = comms.into_iter().filter(|c| c.is_due(on)).collect();
            sort_due(&mut due);
            prop_assert!(due.windows(2).all(|w| w[0].follow_up <= w[1].follow_up));
        }
    }

    #[test]
    fn tokens_round_trip() {
        let c = comm(7, Some(day(3)), false);
        let (id, patient, due) = parse_index_token(&c.index_token()).unwrap();
        assert_eq!(
            (id, patient, due),
            (c.id.clone(), c.patient.clone(), Some(day(3)))
        );
        let closed = comm(7, Some(day(3)), true);
        assert_eq!(parse_index_token(&closed.index_token()).unwrap().2, None);
        assert!(parse_index_token("nonsense").is_none());
    }

    #[test]
    fn summaries_are_checked_without_echoing_them() {
        assert!(summary("Called about the ride").is_ok());
        assert!(summary("line one\nline two").is_ok());
        for bad in ["", "   ", "a\u{1b}[31mred", &"x".repeat(10_000)] {
            let e = summary(bad).unwrap_err();
            assert!(e.message.starts_with("--summary"), "{}", e.message);
            assert!(!e.message.contains("red") && !e.message.contains("xxx"));
        }
    }

    #[test]
    fn parties_parse() {
        assert_eq!(PartyArg::parse("patient").unwrap().kind, PartyKind::Patient);
        let p = PartyArg::parse("family: Ana Lopez").unwrap();
        assert_eq!(
            (p.kind, p.name.as_deref()),
            (PartyKind::Contact, Some("Ana Lopez"))
        );
        assert_eq!(
            PartyArg::parse("payer:aetna").unwrap().kind,
            PartyKind::Payer
        );
        for bad in ["neighbour", "friend:Bob", "agency:", "agency:\u{7}"] {
            assert!(PartyArg::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn care_words_win() {
        assert_eq!(infer_topic("Discussed lab results"), Topic::Care);
        assert_eq!(
            infer_topic("Confirmed the appointment time"),
            Topic::Scheduling
        );
        assert_eq!(infer_topic("Balance question on the bill"), Topic::Billing);
        assert_eq!(infer_topic("Said hello"), Topic::Other);
        assert_eq!(
            infer_topic("Refill of the medication, and the bill"),
            Topic::Care
        );
    }
}
