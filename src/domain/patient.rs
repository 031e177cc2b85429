//! A patient: demographics, contacts, insurance and the desk's notes.
//!
//! Fields are ordered as they appear in the file, plain values first (TOML needs them before
//! tables), so diffs stay small and a person reading the file finds the name at the top.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::common::Address;
use crate::domain::id::Id;
use crate::domain::insurance::Coverage;
use crate::error::{Error, Result};

pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    pub schema: u32,
    pub id: Id,
    pub status: Status,
    pub given: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle: Option<String>,
    pub family: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_name: Option<String>,
    pub birth_date: NaiveDate,
    /// Administrative sex as the payer knows it.
    pub sex: Sex,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender_identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pronouns: Option<String>,
    /// The last four digits only: a full SSN is never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssn_last4: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub email_ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interpreter_needed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_preference: Option<ContactPreference>,
    /// One of [`MARITAL_STATUSES`]; absent when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marital_status: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deceased_date: Option<NaiveDate>,
    pub created: DateTime<FixedOffset>,
    pub updated: DateTime<FixedOffset>,
    /// When the desk last confirmed demographics with the patient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Identifiers in other systems (`chart = "10234"`, `synthea = "…"`); imports match on them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external_ids: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Phone>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emergency_contacts: Vec<Contact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guarantor: Option<Contact>,
    /// People the patient allows the office to share information with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub representatives: Vec<Contact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insurance: Vec<Coverage>,
    /// Needs recorded at intake (`patient needs`): a ride, an interpreter; never a diagnosis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<crate::domain::needs::Need>,
    /// Standing scheduling preferences, so the desk does not ask twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<crate::domain::schedule::prefs::SchedulingPrefs>,
    /// A duplicate chart merged into another (`patient merge`): this record is a tombstone that
    /// points to the one kept, so old references and `history` still resolve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<Id>,
    /// The charts merged into this one: their ledger entries (never edited) count as this
    /// patient's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<Id>,
    /// Keys this version does not know (added by hand or by a newer version) survive rewrites.
    #[serde(flatten)]
    pub extra: toml::Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Inactive,
    Deceased,
}

/// Administrative sex (HL7 v2 table 0001 subset): F, M, X (non-binary / other), U (unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    F,
    M,
    X,
    U,
}

impl Sex {
    pub fn parse(s: &str) -> Result<Sex> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f" | "female" | "woman" => Ok(Sex::F),
            "m" | "male" | "man" => Ok(Sex::M),
            "x" | "o" | "other" | "nonbinary" | "non-binary" => Ok(Sex::X),
            "u" | "unknown" | "" => Ok(Sex::U),
            _ => Err(Error::user("sex is not one of F, M, X, U")
                .hint("use F, M, X (other) or U (unknown)")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::F => "F",
            Sex::M => "M",
            Sex::X => "X",
            Sex::U => "U",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ContactPreference {
    Phone,
    Sms,
    Email,
    Mail,
    Portal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PhoneKind {
    Mobile,
    Home,
    Work,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phone {
    pub kind: PhoneKind,
    /// E.164, e.g. +16175550101.
    pub number: String,
    /// The patient agreed to voice messages on this number.
    #[serde(default)]
    pub voicemail_ok: bool,
    /// The patient agreed to text messages on this number.
    #[serde(default)]
    pub sms_ok: bool,
}

/// An emergency contact, guarantor or authorised representative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// For representatives: when the patient's signed release was filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_on_file: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

impl Patient {
    /// Folds duplicate chart `drop` into this one (`patient merge`): coverages, phones, contacts,
    /// intake needs and other IDs this chart lacks are added, flags joined, notes kept with a line saying
    /// where they came from, and `drop` (with whatever was merged into it) recorded in
    /// `merged_from`. What this chart already holds wins.
    pub fn absorb(&mut self, drop: &Patient, today: NaiveDate) {
        for c in &drop.insurance {
            if !self
                .insurance
                .iter()
                .any(|k| k.payer == c.payer && k.member_id == c.member_id)
            {
                self.insurance.push(c.clone());
            }
        }
        for ph in &drop.phones {
            if !self.phones.iter().any(|k| k.number == ph.number) {
                self.phones.push(ph.clone());
            }
        }
        for (list, from) in [
            (&mut self.emergency_contacts, &drop.emergency_contacts),
            (&mut self.representatives, &drop.representatives),
        ] {
            for c in from {
                if !list.iter().any(|k| k.name == c.name) {
                    list.push(c.clone());
                }
            }
        }
        if self.guarantor.is_none() {
            self.guarantor = drop.guarantor.clone();
        }
        for (k, v) in &drop.external_ids {
            self.external_ids
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        for n in &drop.needs {
            if !self.needs.iter().any(|k| k.need == n.need) {
                self.needs.push(n.clone());
            }
        }
        for f in &drop.flags {
            if !self.flags.contains(f) {
                self.flags.push(f.clone());
            }
        }
        if self.email.is_none() {
            self.email = drop.email.clone();
            self.email_ok = drop.email_ok;
        }
        if self.address.is_none() {
            self.address = drop.address.clone();
        }
        let line = format!("{today}: merged from {}", drop.id);
        let mut notes: Vec<String> = self.notes.take().into_iter().collect();
        notes.push(line);
        if let Some(n) = &drop.notes {
            notes.push(n.clone());
        }
        self.notes = Some(notes.join("\n"));
        for id in std::iter::once(&drop.id).chain(&drop.merged_from) {
            if !self.merged_from.contains(id) {
                self.merged_from.push(id.clone());
            }
        }
    }

    /// A patient with only the required fields, to be filled in from flags or an import row.
    pub fn new(id: Id, now: DateTime<FixedOffset>) -> Patient {
        Patient {
            schema: SCHEMA,
            id,
            status: Status::Active,
            given: String::new(),
            middle: None,
            family: String::new(),
            suffix: None,
            preferred_name: None,
            birth_date: NaiveDate::MIN,
            sex: Sex::U,
            gender_identity: None,
            pronouns: None,
            ssn_last4: None,
            email: None,
            email_ok: false,
            language: None,
            interpreter_needed: false,
            contact_preference: None,
            marital_status: None,
            flags: Vec::new(),
            notes: None,
            deceased_date: None,
            created: now,
            updated: now,
            verified: None,
            address: None,
            external_ids: Default::default(),
            merged_into: None,
            merged_from: Vec::new(),
            phones: Vec::new(),
            emergency_contacts: Vec::new(),
            guarantor: None,
            representatives: Vec::new(),
            insurance: Vec::new(),
            needs: Vec::new(),
            scheduling: None,
            extra: Default::default(),
        }
    }

    /// "Doe, Jane A." as a desk lists patients.
    pub fn list_name(&self) -> String {
        let mut s = format!("{}, {}", self.family, self.given);
        if let Some(m) = self.middle.as_deref().and_then(|m| m.chars().next()) {
            s.push(' ');
            s.push(m);
            s.push('.');
        }
        if let Some(sfx) = &self.suffix {
            s.push(' ');
            s.push_str(sfx);
        }
        s
    }

    /// "Jane Doe" (or the preferred name) as a letter addresses them.
    pub fn display_name(&self) -> String {
        let given = self.preferred_name.as_deref().unwrap_or(&self.given);
        format!("{given} {}", self.family)
    }

    pub fn primary_phone(&self) -> Option<&Phone> {
        self.phones
            .iter()
            .find(|p| p.kind == PhoneKind::Mobile)
            .or_else(|| self.phones.first())
    }

    /// The coverage in force on `on` at the given rank (1 = primary).
    pub fn coverage_on(&self, rank: u8, on: NaiveDate) -> Option<&Coverage> {
        self.insurance
            .iter()
            .find(|c| c.rank == rank && c.active_on(on))
    }

    /// Checks the rules every stored patient must meet. `today` decides birth-date bounds.
    pub fn validate(&self, today: NaiveDate, calling_code: &str, country: &str) -> Result<()> {
        use crate::domain::validate::*;
        required("given name", &self.given)?;
        required("family name", &self.family)?;
        for (field, value) in [("given name", &self.given), ("family name", &self.family)] {
            name_chars(field, value)?;
        }
        if let Some(middle) = &self.middle {
            name_chars("middle name", middle)?;
        }
        crate::domain::dates::check_birth_date(self.birth_date, today)?;
        self.check_text_sizes()?;
        if let Some(ssn) = &self.ssn_last4 {
            ssn_last4(ssn)?;
        }
        if let Some(email) = &self.email {
            email_shape(email)?;
        }
        if let Some(m) = &self.marital_status
            && !MARITAL_STATUSES.contains(&m.as_str())
        {
            return Err(Error::user(format!(
                "marital_status is not one of {}",
                MARITAL_STATUSES.join(", ")
            )));
        }
        for p in &self.phones {
            let normal = crate::domain::phone::normalize(&p.number, calling_code)?;
            if normal != p.number {
                return Err(Error::user(format!(
                    "{} phone is not stored in E.164 form",
                    phone_kind_name(p.kind)
                ))
                .hint("write it as +16175550101, or set it with `patient update --phone`"));
            }
        }
        if let Some(addr) = &self.address {
            address(addr, country)?;
        }
        if self.status == Status::Deceased && self.deceased_date.is_none() {
            // Allowed: the date may be unknown. Nothing to check.
        }
        for c in &self.insurance {
            c.validate()?;
        }
        for n in &self.needs {
            n.validate()?;
        }
        if let Some(prefs) = &self.scheduling {
            prefs.validate()?;
        }
        Ok(())
    }
}

impl Patient {
    /// Free text is bounded, so one runaway paste cannot make a record that every listing
    /// and every sync has to carry.
    fn check_text_sizes(&self) -> Result<()> {
        use crate::domain::validate::max_chars;
        max_chars("notes", self.notes.as_deref(), NOTES_MAX)?;
        for (field, value) in [
            ("middle name", &self.middle),
            ("suffix", &self.suffix),
            ("preferred name", &self.preferred_name),
            ("gender identity", &self.gender_identity),
            ("pronouns", &self.pronouns),
            ("language", &self.language),
        ] {
            max_chars(field, value.as_deref(), SHORT_MAX)?;
        }
        for f in &self.flags {
            max_chars("flag", Some(f), SHORT_MAX)?;
        }
        Ok(())
    }
}

/// Longest notes field, in characters.
pub const NOTES_MAX: usize = 10_000;
/// Longest short free-text field (pronouns, language, a flag), in characters.
pub const SHORT_MAX: usize = 200;

/// The marital statuses a record holds (a plain word, so a file edited by hand stays readable).
pub const MARITAL_STATUSES: &[&str] = &[
    "single",
    "married",
    "partnered",
    "separated",
    "divorced",
    "widowed",
];

/// Reads a marital status as other systems write it: the words above, HL7 table 0002's
/// letters (S, M, P, A, E, D, W; U and T for unknown) and common spellings ("domestic partner",
/// "never married"). Unknown is `None`; anything else is refused, without the value.
pub fn marital_status(v: &str) -> Result<Option<&'static str>> {
    let v = v.trim().to_lowercase().replace(['_', '-'], " ");
    Ok(Some(match v.as_str() {
        "" | "u" | "t" | "unknown" | "unreported" | "not reported" => return Ok(None),
        "s" | "single" | "never married" | "unmarried" | "b" => "single",
        "m" | "married" => "married",
        "p"
        | "r"
        | "c"
        | "g"
        | "partnered"
        | "partner"
        | "domestic partner"
        | "registered domestic partner"
        | "civil union"
        | "civil partnership"
        | "common law"
        | "living together"
        | "life partner" => "partnered",
        "a" | "e" | "separated" | "legally separated" => "separated",
        "d" | "divorced" => "divorced",
        "w" | "widowed" | "widow" | "widower" => "widowed",
        _ => {
            return Err(Error::user(format!(
                "marital status is not one of {}",
                MARITAL_STATUSES.join(", ")
            ))
            .hint(
                "map the old system's words to these (HL7 letters S, M, P, A, D, W are read too)",
            ));
        }
    }))
}

pub fn phone_kind_name(k: PhoneKind) -> &'static str {
    match k {
        PhoneKind::Mobile => "mobile",
        PhoneKind::Home => "home",
        PhoneKind::Work => "work",
    }
}
