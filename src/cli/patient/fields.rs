//! The demographic flags shared by `patient add` and `patient update`, and how they apply to
//! a patient record. Every value is checked here, so both commands refuse the same bad input
//! with the same message.

use chrono::NaiveDate;

use crate::domain::common::Address;
use crate::domain::dates::parse_date;
use crate::domain::patient::{Contact, ContactPreference, Patient, Phone, PhoneKind, Sex};
use crate::domain::phone;
use crate::domain::validate;
use crate::error::{Error, Result};

#[derive(Debug, Default, clap::Args)]
pub struct Fields {
    /// Legal given (first) name.
    #[arg(long, help_heading = "Name")]
    pub first: Option<String>,
    #[arg(long, help_heading = "Name")]
    pub middle: Option<String>,
    /// Legal family (last) name.
    #[arg(long, help_heading = "Name")]
    pub last: Option<String>,
    /// Jr, Sr, III, …
    #[arg(long, help_heading = "Name")]
    pub suffix: Option<String>,
    /// The name the patient goes by.
    #[arg(long, help_heading = "Name")]
    pub preferred: Option<String>,

    /// Date of birth: YYYY-MM-DD or MM/DD/YYYY.
    #[arg(long, help_heading = "Identity")]
    pub dob: Option<String>,
    /// Administrative sex: F, M, X (other) or U (unknown).
    #[arg(long, help_heading = "Identity")]
    pub sex: Option<String>,
    #[arg(long, help_heading = "Identity")]
    pub gender_identity: Option<String>,
    #[arg(long, help_heading = "Identity")]
    pub pronouns: Option<String>,
    /// single, married, partnered, separated, divorced or widowed ("" clears it).
    #[arg(long, help_heading = "Identity")]
    pub marital_status: Option<String>,
    /// SSN: only the last four digits are kept.
    #[arg(long, help_heading = "Identity")]
    pub ssn: Option<String>,
    /// An identifier in another system, as SYSTEM=VALUE (e.g. chart=10234).
    #[arg(
        long = "external-id",
        help_heading = "Identity",
        value_name = "SYSTEM=VALUE"
    )]
    pub external_ids: Vec<String>,

    /// Mobile phone.
    #[arg(long, alias = "mobile", help_heading = "Contact")]
    pub phone: Option<String>,
    #[arg(long, help_heading = "Contact")]
    pub home_phone: Option<String>,
    #[arg(long, help_heading = "Contact")]
    pub work_phone: Option<String>,
    /// Phones on which voice messages may be left (mobile, home, work).
    #[arg(long, value_enum, value_delimiter = ',', help_heading = "Contact")]
    pub voicemail_ok: Vec<PhoneKind>,
    /// Phones that may receive text messages.
    #[arg(long, value_enum, value_delimiter = ',', help_heading = "Contact")]
    pub sms_ok: Vec<PhoneKind>,
    #[arg(long, help_heading = "Contact")]
    pub email: Option<String>,
    /// The patient agreed to be emailed.
    #[arg(long, help_heading = "Contact")]
    pub email_ok: bool,
    /// How the patient prefers to be contacted.
    #[arg(long, value_enum, help_heading = "Contact")]
    pub contact_preference: Option<ContactPreference>,
    /// Preferred language (e.g. English, Spanish).
    #[arg(long, help_heading = "Contact")]
    pub language: Option<String>,
    /// An interpreter is needed at visits.
    #[arg(long, help_heading = "Contact")]
    pub interpreter: bool,

    /// Street address, first line.
    #[arg(long, help_heading = "Address")]
    pub address: Option<String>,
    #[arg(long, help_heading = "Address")]
    pub address2: Option<String>,
    #[arg(long, help_heading = "Address")]
    pub city: Option<String>,
    /// State (US: two letters), county or province.
    #[arg(long, help_heading = "Address")]
    pub state: Option<String>,
    #[arg(long, alias = "postal-code", help_heading = "Address")]
    pub zip: Option<String>,
    /// ISO 3166-1 alpha-2 country code (US, GB, CA), when not the office's.
    #[arg(long, help_heading = "Address")]
    pub country: Option<String>,

    /// Emergency contact as "NAME, RELATION, PHONE", the parts in any order; the relation or
    /// the phone may be left out (repeatable).
    #[arg(long = "emergency-contact", help_heading = "People")]
    pub emergency_contacts: Vec<String>,
    /// Guarantor (who pays) as "NAME, RELATION, PHONE", the parts in any order.
    #[arg(long, help_heading = "People")]
    pub guarantor: Option<String>,
    /// Authorised representative as "NAME, RELATION, PHONE[, RELEASE-DATE]", the parts in any
    /// order (repeatable).
    #[arg(long = "representative", help_heading = "People")]
    pub representatives: Vec<String>,

    /// A flag for the desk: wheelchair, needs-transport, hard-of-hearing, … (repeatable).
    #[arg(long = "flag", help_heading = "Desk")]
    pub flags: Vec<String>,
    #[arg(long, help_heading = "Desk")]
    pub notes: Option<String>,
    /// Mark demographics as verified with the patient today.
    #[arg(long, help_heading = "Desk")]
    pub verified: bool,
}

/// Context the rules need: today (in the office time zone), and the office's country.
pub struct Rules<'a> {
    pub today: NaiveDate,
    pub calling_code: &'a str,
    pub country: &'a str,
}

fn clean(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl Fields {
    /// Applies every given flag to `p`, checking each value.
    pub fn apply(&self, p: &mut Patient, rules: &Rules) -> Result<()> {
        if let Some(v) = &self.first {
            validate::required("given name", v)?;
            p.given = v.trim().to_string();
        }
        if let Some(v) = &self.last {
            validate::required("family name", v)?;
            p.family = v.trim().to_string();
        }
        if let Some(v) = &self.middle {
            p.middle = clean(v);
        }
        if let Some(v) = &self.suffix {
            p.suffix = clean(v);
        }
        if let Some(v) = &self.preferred {
            p.preferred_name = clean(v);
        }
        if let Some(v) = &self.dob {
            p.birth_date = parse_date(v, rules.today).map_err(|e| e.at("--dob"))?;
        }
        if let Some(v) = &self.sex {
            p.sex = Sex::parse(v)?;
        }
        if let Some(v) = &self.gender_identity {
            p.gender_identity = clean(v);
        }
        if let Some(v) = &self.pronouns {
            p.pronouns = clean(v);
        }
        if let Some(v) = &self.marital_status {
            p.marital_status = crate::domain::patient::marital_status(v)
                .map_err(|e| e.at("--marital-status"))?
                .map(str::to_string);
        }
        if let Some(v) = &self.ssn {
            p.ssn_last4 = Some(validate::ssn_to_last4(v)?);
        }
        for pair in &self.external_ids {
            let (k, v) = pair
                .split_once('=')
                .filter(|(k, v)| !k.trim().is_empty() && !v.trim().is_empty())
                .ok_or_else(|| {
                    Error::user("--external-id must be SYSTEM=VALUE")
                        .hint("e.g. --external-id chart=10234")
                })?;
            p.external_ids
                .insert(k.trim().to_lowercase(), v.trim().to_string());
        }
        for (kind, number) in [
            (PhoneKind::Mobile, &self.phone),
            (PhoneKind::Home, &self.home_phone),
            (PhoneKind::Work, &self.work_phone),
        ] {
            if let Some(n) = number {
                p.phones.retain(|ph| ph.kind != kind);
                if let Some(n) = clean(n) {
                    let number = phone::normalize(&n, rules.calling_code)?;
                    p.phones.push(Phone {
                        kind,
                        number,
                        voicemail_ok: false,
                        sms_ok: false,
                    });
                }
            }
        }
        p.phones.sort_by_key(|ph| ph.kind as u8);
        for kind in &self.voicemail_ok {
            phone_of(p, *kind, "--voicemail-ok")?.voicemail_ok = true;
        }
        for kind in &self.sms_ok {
            phone_of(p, *kind, "--sms-ok")?.sms_ok = true;
        }
        if let Some(v) = &self.email {
            p.email = clean(v);
            if let Some(e) = &p.email {
                validate::email_shape(e)?;
            }
        }
        if self.email_ok {
            if p.email.is_none() {
                return Err(Error::user("--email-ok needs an email address").hint("add --email"));
            }
            p.email_ok = true;
        }
        if let Some(v) = self.contact_preference {
            p.contact_preference = Some(v);
        }
        if let Some(v) = &self.language {
            p.language = clean(v);
        }
        if self.interpreter {
            p.interpreter_needed = true;
        }
        self.apply_address(p, rules)?;
        for c in &self.emergency_contacts {
            p.emergency_contacts
                .push(parse_contact(c, "--emergency-contact", rules)?);
        }
        if let Some(g) = &self.guarantor {
            p.guarantor = Some(parse_contact(g, "--guarantor", rules)?);
        }
        for r in &self.representatives {
            p.representatives
                .push(parse_contact(r, "--representative", rules)?);
        }
        for f in &self.flags {
            let f = f.trim().to_lowercase().replace(' ', "-");
            if !f.is_empty() && !p.flags.contains(&f) {
                p.flags.push(f);
            }
        }
        if let Some(n) = &self.notes {
            p.notes = clean(n);
        }
        if self.verified {
            p.verified = Some(rules.today);
        }
        Ok(())
    }

    fn apply_address(&self, p: &mut Patient, rules: &Rules) -> Result<()> {
        let any = [
            &self.address,
            &self.address2,
            &self.city,
            &self.state,
            &self.zip,
            &self.country,
        ]
        .iter()
        .any(|f| f.is_some());
        if !any {
            return Ok(());
        }
        let mut a = p.address.clone().unwrap_or_default();
        if let Some(v) = &self.address {
            a.line1 = v.trim().to_string();
        }
        if let Some(v) = &self.address2 {
            a.line2 = clean(v);
        }
        if let Some(v) = &self.city {
            a.city = v.trim().to_string();
        }
        if let Some(v) = &self.state {
            a.state = clean(v).map(|s| {
                if s.len() == 2 {
                    s.to_ascii_uppercase()
                } else {
                    s
                }
            });
        }
        if let Some(v) = &self.zip {
            a.postal_code = clean(v).map(|s| s.to_ascii_uppercase());
        }
        if let Some(v) = &self.country {
            a.country = clean(v)
                .map(|c| validate::country_code(&c).map_err(|e| e.at("--country")))
                .transpose()?
                .filter(|c| c != rules.country);
        }
        validate::address(&a, rules.country)?;
        p.address = if a == Address::default() {
            None
        } else {
            Some(a)
        };
        Ok(())
    }
}

fn phone_of<'p>(p: &'p mut Patient, kind: PhoneKind, flag: &str) -> Result<&'p mut Phone> {
    p.phones
        .iter_mut()
        .find(|ph| ph.kind == kind)
        .ok_or_else(|| {
            let name = crate::domain::patient::phone_kind_name(kind);
            Error::user(format!("{flag} {name}: the patient has no {name} phone")).hint(format!(
                "add the number with --{}",
                if kind == PhoneKind::Mobile {
                    "phone".into()
                } else {
                    format!("{name}-phone")
                }
            ))
        })
}

/// "Name, relation, phone[, release date]", the parts in any order (`domain::contact`).
fn parse_contact(s: &str, flag: &str, rules: &Rules) -> Result<Contact> {
    crate::domain::contact::parse(s, rules.calling_code, rules.today).map_err(|e| {
        let hint = e.hint.clone().unwrap_or_else(|| {
            format!("e.g. {flag} \"Sam Lee, spouse, 617-555-0199\" (the parts in any order)")
        });
        e.at(flag).hint(hint)
    })
}
