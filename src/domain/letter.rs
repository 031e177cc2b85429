//! Letters and the correspondence file: what was sent to whom, through which channel, and the
//! rules that decide it (who may receive a patient's letter, which channel consent allows,
//! which language variant of a template to use). Pure: no disk.
//!
//! A letter is kept as two files in `correspondence/YYYY/MM/DD/` (the office-local day it was
//! written): the rendered letter exactly as sent (`L….html` or `L….txt`) and its record
//! (`L….toml`) with the file's SHA-1, so `letter show` can prove it reprints the same bytes.
//! A monthly statement run is one letter holding all its statements (`statement_run`).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::domain::common::Address;
use crate::domain::id::Id;
use crate::domain::patient::{Contact, ContactPreference, Patient, PhoneKind, Status};
use crate::error::{Error, Result};

pub const SCHEMA: u32 = 1;

/// The record of one letter as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Letter {
    pub schema: u32,
    pub id: Id,
    pub patient: Id,
    /// The template's name without language or extension (`reminder`).
    pub template: String,
    /// `html` or `txt`: the rendered file is `<id>.<format>` beside this record.
    pub format: String,
    /// The template's language variant when one was used (`es`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub channel: Channel,
    /// Who it was addressed to.
    pub to: Party,
    /// The recipient's name as printed.
    pub recipient: String,
    /// Where it went: a phone number (E.164), an email address or a postal address on one
    /// line; empty for a letter handed over or a call made by hand without a number.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub destination: String,
    /// The appointment it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<Id>,
    /// The ledger entry it concerns (a receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Id>,
    /// Set by `letter batch`: what selected the patient (`appointments 2026-12-05`), so a
    /// re-run can tell what it already sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// SHA-1 of the rendered file, hex.
    pub sha1: String,
    pub sent: DateTime<FixedOffset>,
    pub by: String,
    #[serde(flatten)]
    pub extra: toml::Table,
}

impl Letter {
    /// The rendered file's name, beside the record.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.id, self.format)
    }

    /// What a batch compares to decide "already sent": the template and the appointment the
    /// letter concerns, or the patient when it concerns none.
    pub fn dedup_key(&self) -> (String, String) {
        dedup_key(&self.template, &self.patient, self.appointment.as_ref())
    }
}

pub fn dedup_key(template: &str, patient: &Id, appointment: Option<&Id>) -> (String, String) {
    (
        template.to_string(),
        appointment.unwrap_or(patient).to_string(),
    )
}

/// How a letter reaches its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// A printed letter in the post (HTML, window envelope).
    Mail,
    Email,
    Sms,
    /// A script read onto the patient's voicemail.
    Voicemail,
    /// No channel the patient allows: the desk calls by hand, the text is the script.
    Call,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Mail => "mail",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Voicemail => "voicemail",
            Channel::Call => "call",
        }
    }

    /// Printed letters are HTML; everything read on a screen or aloud is plain text.
    pub fn format(self) -> &'static str {
        match self {
            Channel::Mail => "html",
            _ => "txt",
        }
    }
}

/// Who a letter is addressed to. Written in records as `patient`, `guarantor` or
/// `representative:N`, the way `--to` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    Patient,
    Guarantor,
    /// An authorised representative, by position in the patient's list (1 = first).
    Representative(u32),
}

impl Party {
    /// `patient`, `guarantor`, `representative` (the only or first one) or `representative:2`.
    pub fn parse(s: &str) -> Result<Party> {
        let s = s.trim().to_ascii_lowercase();
        let bad = || {
            Error::user("--to is not patient, guarantor or representative[:N]")
                .hint("e.g. --to guarantor, --to representative:2 (the second in the patient file)")
        };
        match s.as_str() {
            "patient" | "self" => Ok(Party::Patient),
            "guarantor" => Ok(Party::Guarantor),
            "representative" | "rep" => Ok(Party::Representative(1)),
            _ => {
                let n = s
                    .strip_prefix("representative:")
                    .or_else(|| s.strip_prefix("rep:"))
                    .ok_or_else(bad)?;
                match n.parse::<u32>() {
                    Ok(n) if n >= 1 => Ok(Party::Representative(n)),
                    _ => Err(bad()),
                }
            }
        }
    }

    pub fn as_text(&self) -> String {
        match self {
            Party::Patient => "patient".into(),
            Party::Guarantor => "guarantor".into(),
            Party::Representative(n) => format!("representative:{n}"),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Party::Patient => "patient".into(),
            Party::Guarantor => "guarantor".into(),
            Party::Representative(n) => format!("representative {n}"),
        }
    }
}

impl Serialize for Party {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_text())
    }
}

impl<'de> Deserialize<'de> for Party {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Party::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// The person a letter goes to: their name, relation and postal address.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    pub party: Party,
    pub name: String,
    pub relation: Option<String>,
    pub address: Option<Address>,
}

/// Who `party` is for this patient. A representative needs a signed release on file; the
/// message names the party and the field, never the person.
pub fn recipient(p: &Patient, party: &Party) -> Result<Recipient> {
    let contact = |c: &Contact| Recipient {
        party: party.clone(),
        name: c.name.clone(),
        relation: c.relation.clone(),
        // A contact without an address of their own lives with the patient.
        address: c.address.clone().or_else(|| p.address.clone()),
    };
    match party {
        Party::Patient => Ok(Recipient {
            party: Party::Patient,
            name: p.display_name(),
            relation: None,
            address: p.address.clone(),
        }),
        Party::Guarantor => p.guarantor.as_ref().map(contact).ok_or_else(|| {
            Error::user(format!("patient {} has no guarantor on file", p.id))
                .hint("add one with `frontdesk patient edit`, or send to the patient")
        }),
        Party::Representative(n) => {
            let rep = p
                .representatives
                .get(*n as usize - 1)
                .ok_or_else(|| {
                    Error::user(format!(
                        "patient {} has {} authorised representative(s), not {n}",
                        p.id,
                        p.representatives.len()
                    ))
                    .hint("representatives are listed in the patient file in order; see `frontdesk patient show`")
                })?;
            if rep.release_on_file.is_none() {
                return Err(Error::user(format!(
                    "representative {n} of patient {} has no release on file; nothing was written",
                    p.id
                ))
                .hint("file the patient's signed release (release_on_file = DATE for that representative in the patient file), or send to the patient"));
            }
            Ok(contact(rep))
        }
    }
}

/// Letters go to active patients; a deceased or deactivated one needs `--force` (a records
/// release to the estate, say).
pub fn may_write_to(p: &Patient, force: bool) -> Result<()> {
    let why = match p.status {
        Status::Active if p.deceased_date.is_none() => return Ok(()),
        Status::Inactive => "deactivated",
        _ => "deceased",
    };
    if force {
        return Ok(());
    }
    Err(
        Error::user(format!("patient {} is {why}; nothing was written", p.id))
            .hint("check the patient file; add --force if this letter must go anyway"),
    )
}

/// The channel a batch letter goes through, and where to: the patient's preferred channel if
/// consent allows it, else the first allowed of SMS, email, voicemail and a printed letter,
/// else a call by hand. Consent: SMS only to a mobile number marked `sms_ok`; email only with
/// `email_ok` and an address; voicemail only to a number marked `voicemail_ok`; a printed
/// letter only to a postal address. A channel the patient did not allow is never chosen.
pub fn choose_channel(p: &Patient) -> (Channel, String) {
    let preferred = match p.contact_preference {
        Some(ContactPreference::Sms) => Some(Channel::Sms),
        Some(ContactPreference::Email) | Some(ContactPreference::Portal) => Some(Channel::Email),
        Some(ContactPreference::Phone) => Some(Channel::Voicemail),
        Some(ContactPreference::Mail) => Some(Channel::Mail),
        None => None,
    };
    let order = preferred.into_iter().chain([
        Channel::Sms,
        Channel::Email,
        Channel::Voicemail,
        Channel::Mail,
    ]);
    for c in order {
        if let Some(to) = allowed(p, c) {
            return (c, to);
        }
    }
    let phone = p
        .primary_phone()
        .map(|ph| ph.number.clone())
        .unwrap_or_default();
    (Channel::Call, phone)
}

/// Where `channel` reaches the patient, if their consent allows it: SMS only to a mobile
/// number marked `sms_ok`, email only with `email_ok` and an address, voicemail only to a
/// number marked `voicemail_ok`, a printed letter only to a postal address. None for a call.
pub fn allowed(p: &Patient, channel: Channel) -> Option<String> {
    match channel {
        Channel::Sms => p
            .phones
            .iter()
            .find(|ph| ph.kind == PhoneKind::Mobile && ph.sms_ok)
            .map(|ph| ph.number.clone()),
        Channel::Email => p
            .email
            .clone()
            .filter(|e| p.email_ok && !e.trim().is_empty()),
        Channel::Voicemail => p
            .phones
            .iter()
            .find(|ph| ph.voicemail_ok)
            .map(|ph| ph.number.clone()),
        Channel::Mail => p
            .address
            .as_ref()
            .map(|a| a.lines().join(", "))
            .filter(|a| !a.is_empty()),
        Channel::Call => None,
    }
}

/// A language as patients' files and the office write it ("Spanish", "español", "es",
/// "es-MX") as a short lowercase code ("es"), or None when it is not one we recognise.
pub fn language_code(s: &str) -> Option<String> {
    let t = s.trim().to_lowercase();
    let names: &[(&str, &[&str])] = &[
        ("en", &["english", "inglés", "ingles"]),
        ("es", &["spanish", "español", "espanol", "castellano"]),
        ("pt", &["portuguese", "português", "portugues"]),
        ("fr", &["french", "français", "francais"]),
        ("ht", &["haitian creole", "kreyòl", "kreyol", "creole"]),
        ("zh", &["chinese", "mandarin", "cantonese", "中文"]),
        ("vi", &["vietnamese", "tiếng việt"]),
        ("ru", &["russian", "русский"]),
        ("ar", &["arabic", "العربية"]),
    ];
    if let Some((code, _)) = names.iter().find(|(_, ns)| ns.contains(&t.as_str())) {
        return Some(code.to_string());
    }
    let head = t.split(['-', '_']).next().unwrap_or("");
    (head.len() == 2 && head.bytes().all(|b| b.is_ascii_lowercase())).then(|| head.to_string())
}

/// Template names are file names: lowercase letters, digits and hyphens.
pub fn check_template_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && !name.starts_with(['-', '_'])
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::user(
            "a template name is lowercase letters, digits and hyphens (e.g. reminder, no-show)",
        )
        .hint("list the templates with `frontdesk letter list`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::id::IdKind;
    use crate::domain::patient::Phone;

    fn patient() -> Patient {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-04T09:00:00-05:00").unwrap();
        let mut p = Patient::new(Id::generate(IdKind::Patient), now);
        p.given = "Jane".into();
        p.family = "Doe".into();
        p
    }

    fn phone(kind: PhoneKind, number: &str, sms: bool, voicemail: bool) -> Phone {
        Phone {
            kind,
            number: number.into(),
            sms_ok: sms,
            voicemail_ok: voicemail,
        }
    }

    fn address() -> Address {
        toml::from_str("line1 = \"1 Main St\"\ncity = \"Cambridge\"\nstate = \"MA\"\npostal_code = \"02139\"\n").unwrap()
    }

    #[test]
    fn parties_are_written_as_typed() {
        for p in [Party::Patient, Party::Guarantor, Party::Representative(2)] {
            let v = toml::Value::try_from(&p).unwrap();
            assert_eq!(v.as_str().unwrap(), p.as_text());
            assert_eq!(Party::parse(v.as_str().unwrap()).unwrap(), p);
        }
    }

    #[test]
    fn parties_parse() {
        assert_eq!(Party::parse("Patient").unwrap(), Party::Patient);
        assert_eq!(Party::parse("guarantor").unwrap(), Party::Guarantor);
        assert_eq!(
            Party::parse("representative").unwrap(),
            Party::Representative(1)
        );
        assert_eq!(Party::parse("rep:2").unwrap(), Party::Representative(2));
        for bad in ["", "representative:0", "representative:x", "mom"] {
            assert!(Party::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_representative_needs_a_release_and_the_refusal_names_no_one() {
        let mut p = patient();
        p.address = Some(address());
        let rep = |release: Option<&str>| Contact {
            name: "Robert Doe".into(),
            relation: Some("son".into()),
            phone: None,
            release_on_file: release.map(|d| d.parse().unwrap()),
            address: None,
        };
        p.representatives = vec![rep(None), rep(Some("2026-01-05"))];
        let err = recipient(&p, &Party::Representative(1)).unwrap_err();
        assert!(
            err.message.contains("no release on file"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("Robert") && !err.message.contains("Doe"));
        let ok = recipient(&p, &Party::Representative(2)).unwrap();
        assert_eq!(ok.name, "Robert Doe");
        // Without an address of their own, the representative's letter goes to the patient's.
        assert_eq!(ok.address, p.address);
        assert!(recipient(&p, &Party::Representative(3)).is_err());
        assert!(recipient(&p, &Party::Guarantor).is_err());
        assert_eq!(recipient(&p, &Party::Patient).unwrap().name, "Jane Doe");
    }

    #[test]
    fn deceased_and_inactive_patients_need_force() {
        let mut p = patient();
        assert!(may_write_to(&p, false).is_ok());
        p.status = Status::Inactive;
        assert!(may_write_to(&p, false).is_err());
        assert!(may_write_to(&p, true).is_ok());
        p.status = Status::Deceased;
        let err = may_write_to(&p, false).unwrap_err();
        assert!(err.message.contains("deceased"));
        p.status = Status::Active;
        p.deceased_date = Some("2026-11-01".parse().unwrap());
        assert!(may_write_to(&p, false).is_err());
    }

    #[test]
    fn channels_follow_preference_within_consent() {
        let mut p = patient();
        // Nothing allowed: a call by hand (no number to call either).
        assert_eq!(choose_channel(&p), (Channel::Call, String::new()));
        // A mobile without SMS consent is never texted; a home phone without voicemail
        // consent gets no message.
        p.phones = vec![
            phone(PhoneKind::Mobile, "+16175550101", false, false),
            phone(PhoneKind::Home, "+16175550102", false, false),
        ];
        p.contact_preference = Some(ContactPreference::Sms);
        assert_eq!(choose_channel(&p), (Channel::Call, "+16175550101".into()));
        // An email without consent is not used either.
        p.email = Some("jane@example.org".into());
        assert_eq!(choose_channel(&p).0, Channel::Call);
        // A postal address: a printed letter.
        p.address = Some(address());
        assert_eq!(
            choose_channel(&p),
            (Channel::Mail, "1 Main St, Cambridge, MA 02139".into())
        );
        // Voicemail allowed on the home phone comes before the letter.
        p.phones[1].voicemail_ok = true;
        assert_eq!(
            choose_channel(&p),
            (Channel::Voicemail, "+16175550102".into())
        );
        p.email_ok = true;
        assert_eq!(
            choose_channel(&p),
            (Channel::Email, "jane@example.org".into())
        );
        // SMS consent on the mobile: the preferred channel wins.
        p.phones[0].sms_ok = true;
        assert_eq!(choose_channel(&p), (Channel::Sms, "+16175550101".into()));
        // Preferring mail: mail, though SMS is allowed.
        p.contact_preference = Some(ContactPreference::Mail);
        assert_eq!(choose_channel(&p).0, Channel::Mail);
        // SMS consent on a home line is not SMS consent on a mobile.
        p.contact_preference = Some(ContactPreference::Sms);
        p.phones = vec![phone(PhoneKind::Home, "+16175550102", true, false)];
        assert_eq!(choose_channel(&p).0, Channel::Email);
    }

    #[test]
    fn languages_read_as_codes() {
        assert_eq!(language_code("Spanish").as_deref(), Some("es"));
        assert_eq!(language_code(" Español ").as_deref(), Some("es"));
        assert_eq!(language_code("es-MX").as_deref(), Some("es"));
        assert_eq!(language_code("English").as_deref(), Some("en"));
        assert_eq!(language_code("Klingon"), None);
    }

    #[test]
    fn template_names_are_file_names() {
        for ok in ["reminder", "no-show", "flu-2026"] {
            assert!(check_template_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../x", "Reminder", "a.b", "_base", "-x"] {
            assert!(check_template_name(bad).is_err(), "{bad}");
        }
    }
}
