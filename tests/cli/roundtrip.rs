//! Property tests: a record written to TOML by the store and read back is the same record,
//! whatever its text fields hold (quotes, backslashes, newlines, emoji, right-to-left text,
//! lone control characters) and whatever its amounts and times are.

use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use frontdesk::domain::id::{Id, IdKind};
use frontdesk::domain::ledger::{Entry, Kind, Method};
use frontdesk::domain::patient::{Contact, Patient, Phone, PhoneKind, Sex, Status};
use frontdesk::domain::schedule::appointment::{Appointment, Status as ApptStatus};
use frontdesk::store::{parse_toml, to_toml};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn round_trip<T>(record: &T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let text = to_toml(record).expect("serialise");
    parse_toml(Path::new("r.toml"), text.as_bytes()).expect("a written record must parse")
}

/// Any text, including what TOML must escape.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "[\"'\\\\\n\r\t\u{0}\u{7f}\u{202e}#=\\[\\]{}]{0,12}",
        Just("=HYPERLINK(\"x\")".to_string()),
        Just("line one\nline two\r\n".to_string()),
    ]
}

fn when() -> impl Strategy<Value = DateTime<FixedOffset>> {
    (0i64..4_000_000_000, -12i32..14).prop_map(|(secs, h)| {
        FixedOffset::east_opt(h * 3600)
            .unwrap()
            .timestamp_opt(secs, 0)
            .unwrap()
    })
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (0i64..60_000)
        .prop_map(|d| NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(d))
}

fn money() -> impl Strategy<Value = Decimal> {
    (0i64..10_000_000_000).prop_map(|cents| Decimal::new(cents, 2))
}

fn patient() -> impl Strategy<Value = Patient> {
    (
        (text(), text(), proptest::option::of(text()), date(), when()),
        (
            proptest::option::of(text()),
            proptest::collection::vec(text(), 0..3),
            proptest::option::of("[0-9]{4}"),
        ),
        (
            proptest::collection::vec((text(), text()), 0..2),
            "\\+1[0-9]{10}",
        ),
    )
        .prop_map(
            |((given, family, middle, dob, at), (notes, flags, ssn), (contacts, phone))| Patient {
                schema: 1,
                id: Id::generate(IdKind::Patient),
                status: Status::Active,
                given,
                middle,
                family,
                suffix: None,
                preferred_name: None,
                birth_date: dob,
                sex: Sex::X,
                gender_identity: None,
                pronouns: None,
                ssn_last4: ssn,
                email: None,
                email_ok: false,
                language: None,
                interpreter_needed: false,
                contact_preference: None,
                flags,
                notes,
                deceased_date: None,
                created: at,
                updated: at,
                verified: None,
                address: None,
                external_ids: Default::default(),
                phones: vec![Phone {
                    kind: PhoneKind::Mobile,
                    number: phone,
                    voicemail_ok: true,
                    sms_ok: false,
                }],
                emergency_contacts: contacts
                    .into_iter()
                    .map(|(name, relation)| Contact {
                        name,
                        relation: Some(relation),
                        phone: None,
                        release_on_file: None,
                        address: None,
                    })
                    .collect(),
                guarantor: None,
                representatives: Vec::new(),
                insurance: Vec::new(),
                ..serde_default_rest()
            },
        )
}

/// The fields a newer patient record may have grown, at their defaults.
fn serde_default_rest() -> Patient {
    let text = "schema = 1\nid = \"P7K3QX9M2\"\nstatus = \"active\"\ngiven = \"A\"\nfamily = \"B\"\nbirth_date = \"1980-01-01\"\nsex = \"U\"\ncreated = \"2026-01-01T00:00:00-05:00\"\nupdated = \"2026-01-01T00:00:00-05:00\"\n";
    parse_toml(Path::new("base.toml"), text.as_bytes()).unwrap()
}

proptest! {
    #[test]
    fn patients_survive_toml(p in patient()) {
        prop_assert_eq!(round_trip(&p), p);
    }

    #[test]
    fn ledger_entries_survive_toml(amount in money(), at in when(), reference in proptest::option::of(text()), reason in proptest::option::of(text())) {
        let mut e = Entry::new(Kind::Payment, Id::generate(IdKind::Patient), amount, at, "clerk");
        e.method = Some(Method::Card);
        e.reference = reference;
        e.reason = reason;
        let back = round_trip(&e);
        prop_assert_eq!(back.amount.to_string(), e.amount.to_string(), "amount changed in transit");
        prop_assert_eq!(back, e);
    }

    #[test]
    fn appointments_survive_toml(start in when(), minutes in 5i64..480, reason in proptest::option::of(text()), notes in proptest::option::of(text())) {
        let a = Appointment {
            schema: 1,
            id: Id::generate(IdKind::Appointment),
            patient: Id::generate(IdKind::Patient),
            provider: "okafor".into(),
            kind: "follow-up".into(),
            start,
            end: start + chrono::Duration::minutes(minutes),
            status: ApptStatus::Booked,
            reason,
            notes,
            ..base_appointment()
        };
        prop_assert_eq!(round_trip(&a), a);
    }
}

fn base_appointment() -> Appointment {
    let text = "schema = 1\nid = \"A7K3QX9M2\"\npatient = \"P7K3QX9M2\"\nprovider = \"okafor\"\ntype = \"follow-up\"\nstart = \"2026-12-01T09:00:00-05:00\"\nend = \"2026-12-01T09:20:00-05:00\"\nstatus = \"booked\"\n";
    parse_toml(Path::new("base.toml"), text.as_bytes()).unwrap()
}
