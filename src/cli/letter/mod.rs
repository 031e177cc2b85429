//! `frontdesk letter …`: letters from templates, kept in the correspondence file, and the
//! nightly batches (reminders, recalls) with their outbox for a mail merge, an SMS gateway or
//! an email relay.
//!
//! Every letter goes the same way: the patient (and appointment) are read, the recipient and
//! channel decided by the domain rules (`domain::letter`), the template rendered in full (a
//! missing value fails here, before anything is written), then the letter and its record are
//! filed with one commit that names the letter and patient IDs only.

pub(crate) mod batch;
mod check;
mod list;
mod preview;
mod render;
mod sent;
mod show;

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use clap::Subcommand;
use serde_json::{Map, Value, json};

use crate::cli::Ctx;
use crate::domain::id::{Id, IdKind};
use crate::domain::ledger::balance;
use crate::domain::letter::{Channel, Letter, Party, Recipient, SCHEMA};
use crate::domain::office::Office;
use crate::domain::patient::Patient;
use crate::domain::recall::Due;
use crate::domain::schedule::{Appointment, AppointmentTypes};
use crate::error::Result;
use crate::render::letters::{Letters, Style};
use crate::store::{Store, Txn};

pub use check::check_problems;

#[derive(Debug, Subcommand)]
pub enum Command {
    Render(render::Args),
    Batch(batch::Args),
    List(list::Args),
    Preview(preview::Args),
    Check(check::Args),
    Sent(sent::Args),
    Show(show::Args),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Render(a) => render::cmd_render(ctx, a),
        Command::Batch(a) => batch::cmd_batch(ctx, a),
        Command::List(a) => list::cmd_list(ctx, a),
        Command::Preview(a) => preview::cmd_preview(ctx, a),
        Command::Check(a) => check::cmd_check(ctx, a),
        Command::Sent(a) => sent::cmd_sent(ctx, a),
        Command::Show(a) => show::cmd_show(ctx, a),
    }
}

/// Prints a kept file exactly as it is (a letter, a receipt); a closed pipe ends quietly.
pub fn print_bytes(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(crate::error::Error::internal(
            format!("cannot write to stdout: {e}"),
        )),
        _ => Ok(()),
    }
}

pub fn letter_id(s: &str) -> Result<Id> {
    Id::parse_kind(s, IdKind::Letter)
}

pub fn load_letters(store: &Store) -> Result<Letters> {
    Letters::load(store.root(), &Style::of(&store.office))
}

/// What every letter of one run needs besides its patient: provider names and visit types.
pub struct Book {
    pub providers: HashMap<String, String>,
    pub types: AppointmentTypes,
}

impl Book {
    pub fn load(store: &Store) -> Result<Book> {
        let providers = store
            .providers()?
            .into_iter()
            .map(|p| {
                let name = match &p.credentials {
                    Some(c) => format!("{}, {c}", p.name),
                    None => p.name.clone(),
                };
                (p.key, name)
            })
            .collect();
        Ok(Book {
            providers,
            types: store.appointment_types()?,
        })
    }

    fn type_name(&self, key: &str) -> String {
        self.types
            .types
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| key.to_string())
    }

    fn provider(&self, key: &str) -> String {
        self.providers
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }

    fn appointment(&self, a: &Appointment) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(a.id.to_string()));
        m.insert("date".into(), json!(a.date().to_string()));
        m.insert("start".into(), json!(a.start.to_rfc3339()));
        m.insert("end".into(), json!(a.end.to_rfc3339()));
        m.insert("minutes".into(), json!(a.minutes()));
        m.insert("provider".into(), json!(self.provider(&a.provider)));
        m.insert("provider_key".into(), json!(a.provider));
        m.insert("type".into(), json!(a.kind));
        m.insert("type_name".into(), json!(self.type_name(&a.kind)));
        m.insert("status".into(), json!(a.status.as_str()));
        let instructions = self
            .types
            .types
            .iter()
            .find(|t| t.key == a.kind)
            .and_then(|t| t.instructions.clone());
        put(&mut m, "instructions", instructions);
        put(&mut m, "room", a.room.clone());
        put(&mut m, "location", a.location.clone());
        Value::Object(m)
    }
}

/// Inserts `value` under `key` only when there is one: a template that uses a value the
/// record lacks then fails, naming it, instead of printing a blank.
fn put(m: &mut Map<String, Value>, key: &str, value: Option<String>) {
    if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
        m.insert(key.into(), Value::String(v));
    }
}

/// The letter's own facts, as templates see them under `letter`.
pub struct Meta<'a> {
    pub id: &'a str,
    pub date: NaiveDate,
    pub template: &'a str,
    pub channel: Channel,
    pub language: Option<&'a str>,
}

/// The account and visits on a patient summary.
pub struct Summary {
    pub coverage: Vec<String>,
    pub upcoming: Vec<Appointment>,
    pub recent: Vec<Appointment>,
    pub entries: Vec<crate::domain::ledger::Entry>,
}

impl Summary {
    /// Coverage in force, upcoming visits and the last year's, and the ledger.
    pub fn load(store: &Store, p: &Patient, now: DateTime<FixedOffset>) -> Result<Summary> {
        let today = now.date_naive();
        let payers: HashMap<String, String> = store
            .payers()?
            .into_iter()
            .map(|p| (p.key, p.name))
            .collect();
        let mut coverage: Vec<_> = p.insurance.iter().filter(|c| c.active_on(today)).collect();
        coverage.sort_by_key(|c| c.rank);
        let coverage = coverage
            .iter()
            .map(|c| {
                let name = payers.get(&c.payer).unwrap_or(&c.payer);
                format!("{name}, member {} ({})", c.member_id, c.rank_name())
            })
            .collect();
        let visits = store.patient_appointments(&p.id)?;
        let year_ago = now - Duration::days(365);
        let upcoming = visits
            .iter()
            .filter(|a| a.start >= now && a.status.holds_time())
            .cloned()
            .collect();
        let mut recent: Vec<Appointment> = visits
            .iter()
            .filter(|a| a.start < now && a.start >= year_ago)
            .cloned()
            .collect();
        recent.reverse();
        Ok(Summary {
            coverage,
            upcoming,
            recent,
            entries: store.patient_ledger(&p.id)?,
        })
    }
}

/// Everything one letter's template may use. `docs/letters.md` lists each variable.
pub struct Subject<'a> {
    pub patient: &'a Patient,
    pub recipient: &'a Recipient,
    pub appointment: Option<&'a Appointment>,
    pub recall: Option<&'a Due>,
    pub summary: Option<&'a Summary>,
}

/// The template data: raw values (ISO dates, E.164 phones, decimal strings) that the
/// templates format with the `date`, `time`, `phone` and `money` filters.
pub fn context(office: &Office, book: &Book, s: &Subject, meta: &Meta) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(office.name));
    if let Some(a) = &office.address {
        o.insert("address".into(), json!(a.lines()));
    }
    put(&mut o, "phone", office.phone.clone());
    put(&mut o, "fax", office.fax.clone());
    put(&mut o, "email", office.email.clone());
    for key in ["directions", "website", "hours"] {
        put(
            &mut o,
            key,
            office
                .extra
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_string),
        );
    }

    let p = s.patient;
    let mut pm = Map::new();
    pm.insert("id".into(), json!(p.id.to_string()));
    pm.insert("name".into(), json!(p.display_name()));
    pm.insert("given".into(), json!(p.given));
    pm.insert("family".into(), json!(p.family));
    pm.insert("birth_date".into(), json!(p.birth_date.to_string()));
    pm.insert(
        "address".into(),
        json!(p.address.as_ref().map(|a| a.lines()).unwrap_or_default()),
    );
    put(&mut pm, "preferred_name", p.preferred_name.clone());
    put(
        &mut pm,
        "phone",
        p.primary_phone().map(|ph| ph.number.clone()),
    );
    put(&mut pm, "email", p.email.clone());
    put(&mut pm, "language", p.language.clone());

    let r = s.recipient;
    let mut rm = Map::new();
    rm.insert("name".into(), json!(r.name));
    rm.insert(
        "party".into(),
        json!(match r.party {
            Party::Patient => "patient",
            Party::Guarantor => "guarantor",
            Party::Representative(_) => "representative",
        }),
    );
    rm.insert(
        "address".into(),
        json!(r.address.as_ref().map(|a| a.lines()).unwrap_or_default()),
    );
    put(&mut rm, "relation", r.relation.clone());

    let mut lm = Map::new();
    lm.insert("id".into(), json!(meta.id));
    lm.insert("date".into(), json!(meta.date.to_string()));
    lm.insert("template".into(), json!(meta.template));
    lm.insert("channel".into(), json!(meta.channel.as_str()));
    put(&mut lm, "language", meta.language.map(str::to_string));

    let mut root = Map::new();
    root.insert("office".into(), Value::Object(o));
    root.insert("patient".into(), Value::Object(pm));
    root.insert("recipient".into(), Value::Object(rm));
    root.insert("letter".into(), Value::Object(lm));
    if let Some(a) = s.appointment {
        root.insert("appointment".into(), book.appointment(a));
    }
    if let Some(d) = s.recall {
        let interval = book
            .types
            .types
            .iter()
            .find(|t| t.key == d.kind)
            .and_then(|t| t.recall_after)
            .map(|i| i.to_string())
            .unwrap_or_default();
        root.insert(
            "recall".into(),
            json!({
                "type": d.kind,
                "type_name": book.type_name(&d.kind),
                "interval": interval,
                "last_visit": d.last_visit.to_string(),
                "due_since": d.due_since.to_string(),
            }),
        );
    }
    if let Some(sum) = s.summary {
        let visit = |a: &Appointment| {
            json!({
                "id": a.id.to_string(),
                "start": a.start.to_rfc3339(),
                "type_name": book.type_name(&a.kind),
                "provider": book.provider(&a.provider),
                "status": a.status.as_str(),
            })
        };
        let b = balance(&sum.entries);
        root.insert(
            "summary".into(),
            json!({
                "coverage": sum.coverage,
                "upcoming": sum.upcoming.iter().map(visit).collect::<Vec<_>>(),
                "recent": sum.recent.iter().map(visit).collect::<Vec<_>>(),
                "balance": {
                    "total": b.total.to_string(),
                    "insurance": b.insurance.to_string(),
                    "due_now": b.due_now.to_string(),
                },
                // Open follow-ups come from the communications log (`comm`), which this
                // version does not read yet: always empty.
                "follow_ups": [],
            }),
        );
    }
    Value::Object(root)
}

/// The top-level variables templates may use.
pub const VARIABLES: &[&str] = &[
    "office",
    "patient",
    "recipient",
    "letter",
    "appointment",
    "recall",
    "summary",
];

/// A letter rendered and ready to file.
pub struct Rendered {
    pub letter: Letter,
    pub date: NaiveDate,
    pub text: String,
}

/// Renders one letter in full (nothing is written yet; a template error stops here).
#[allow(clippy::too_many_arguments)]
pub fn compose(
    store: &Store,
    letters: &Letters,
    book: &Book,
    subject: &Subject,
    template: &str,
    channel: Channel,
    format: &str,
    destination: String,
    batch: Option<String>,
) -> Result<Rendered> {
    let now = store.office.now().fixed_offset();
    let date = now.date_naive();
    let lang = subject
        .patient
        .language
        .as_deref()
        .and_then(crate::domain::letter::language_code)
        .filter(|l| Some(l.as_str()) != office_language(&store.office).as_deref());
    let (file, language) = letters.pick(template, lang.as_deref(), format)?;
    office_settings(&store.office, letters, &file)?;
    let id = Id::generate(IdKind::Letter);
    let id_text = id.to_string();
    let meta = Meta {
        id: &id_text,
        date,
        template,
        channel,
        language: language.as_deref(),
    };
    let data = context(&store.office, book, subject, &meta);
    let text = letters.render(&file, &data)?;
    let mut letter = new_record(
        store,
        now,
        id,
        subject.patient,
        template,
        format,
        channel,
        batch,
    );
    letter.language = language;
    letter.to = subject.recipient.party.clone();
    letter.recipient = subject.recipient.name.clone();
    letter.destination = destination;
    letter.appointment = subject.appointment.map(|a| a.id.clone());
    Ok(Rendered { letter, date, text })
}

/// The built-in letters print the office's phone, and its address in the letterhead and on
/// the envelope: say which setting is missing rather than which template line needs it.
pub fn office_settings(office: &Office, letters: &Letters, file: &str) -> Result<()> {
    use crate::render::letters::Origin;
    let builtin = |f: &str| {
        letters
            .files()
            .any(|t| t.file == f && t.origin == Origin::Builtin)
    };
    let html_base = file.ends_with(".html") && builtin("_base.html");
    let missing = if office.phone.is_none() && (builtin(file) || html_base) {
        Some(("phone", "phone = \"+16175550100\""))
    } else if office.address.is_none() && html_base {
        Some((
            "address",
            "an [address] table with line1, city, state and postal_code",
        ))
    } else {
        None
    };
    match missing {
        Some((field, example)) => Err(crate::error::Error::user(format!(
            "{}: the office has no {field}, which the letters print; nothing was written",
            crate::store::OFFICE_FILE
        ))
        .hint(format!(
            "add {example} to {} (see docs/records.md)",
            crate::store::OFFICE_FILE
        ))),
        None => Ok(()),
    }
}

/// Files a rendered letter in the transaction; returns the rendered file's path.
pub fn file(txn: &mut Txn, r: &mut Rendered) -> Result<std::path::PathBuf> {
    txn.save_letter(&mut r.letter, r.date, r.text.as_bytes())
}

/// The office's own language (`language = "en"` in frontdesk.toml; English when absent): a
/// patient who speaks it gets the plain template.
pub fn office_language(office: &Office) -> Option<String> {
    office
        .extra
        .get("language")
        .and_then(|v| v.as_str())
        .and_then(crate::domain::letter::language_code)
        .or_else(|| Some("en".into()))
}

/// A fictional patient and visit for `letter preview` and `letter check`: every variable a
/// template may use is set, so an unknown one stands out.
pub mod sample {
    use super::*;
    use crate::domain::common::Address;
    use crate::domain::patient::{Contact, Phone, PhoneKind};

    pub fn patient(now: DateTime<FixedOffset>) -> Patient {
        let mut p = Patient::new(Id::parse("P00000000").expect("valid"), now);
        p.given = "Jane".into();
        p.family = "Sample".into();
        p.preferred_name = Some("Jane".into());
        p.birth_date = NaiveDate::from_ymd_opt(1980, 4, 2).expect("valid");
        p.email = Some("jane.sample@example.org".into());
        p.email_ok = true;
        p.language = Some("English".into());
        p.address = Some(Address {
            line1: "12 Example Street".into(),
            line2: Some("Apt 3".into()),
            city: "Springfield".into(),
            state: Some("MA".into()),
            postal_code: Some("01101".into()),
            country: None,
        });
        p.phones = vec![Phone {
            kind: PhoneKind::Mobile,
            number: "+16175550123".into(),
            voicemail_ok: true,
            sms_ok: true,
        }];
        p.representatives = vec![Contact {
            name: "John Sample".into(),
            relation: Some("spouse".into()),
            phone: None,
            release_on_file: NaiveDate::from_ymd_opt(2026, 1, 5),
            address: None,
        }];
        p
    }

    /// A visit tomorrow at 9:30 of the office's first type (with instructions when it has
    /// them) and its first provider.
    pub fn appointment(store: &Store, book: &Book, p: &Patient) -> Appointment {
        let now = store.office.now().fixed_offset();
        let day = now.date_naive() + Duration::days(1);
        let start = store
            .office
            .tz()
            .ok()
            .and_then(|tz| {
                day.and_hms_opt(9, 30, 0)
                    .and_then(|t| t.and_local_timezone(tz).earliest())
            })
            .map(|t| t.fixed_offset())
            .unwrap_or(now);
        let ty = book
            .types
            .types
            .iter()
            .find(|t| t.instructions.is_some())
            .or(book.types.types.first());
        let (kind, minutes) = ty.map_or(("follow-up".to_string(), 20), |t| {
            (t.key.clone(), t.minutes)
        });
        let mut providers: Vec<&String> = book.providers.keys().collect();
        providers.sort();
        let provider = providers
            .first()
            .map_or("provider".to_string(), |k| k.to_string());
        let mut a = Appointment::booked(
            Id::parse("A00000000").expect("valid"),
            p.id.clone(),
            &provider,
            &kind,
            start,
            start + Duration::minutes(minutes.into()),
        );
        a.location = Some("Main office".into());
        a
    }

    /// Due for the first type with a recall interval (the visit's own type when none has).
    pub fn recall(book: &Book, p: &Patient, a: &Appointment) -> Due {
        let last = a.date() - Duration::days(400);
        let kind = book
            .types
            .types
            .iter()
            .find(|t| t.recall_after.is_some())
            .map_or(a.kind.clone(), |t| t.key.clone());
        Due {
            patient: p.id.clone(),
            kind,
            last_appointment: a.id.clone(),
            last_visit: last,
            due_since: last + Duration::days(365),
        }
    }

    pub fn summary(a: &Appointment) -> Summary {
        let mut past = a.clone();
        past.start -= Duration::days(90);
        past.end -= Duration::days(90);
        past.status = crate::domain::schedule::Status::Fulfilled;
        Summary {
            coverage: vec!["Sample Health Plan, member XSM123456789 (primary)".into()],
            upcoming: vec![a.clone()],
            recent: vec![past],
            entries: Vec::new(),
        }
    }
}

/// Renders `file` against the sample patient (for preview and check).
pub fn render_sample(store: &Store, letters: &Letters, book: &Book, file: &str) -> Result<String> {
    let now = store.office.now().fixed_offset();
    let p = sample::patient(now);
    let a = sample::appointment(store, book, &p);
    let due = sample::recall(book, &p, &a);
    let summary = sample::summary(&a);
    let recipient = crate::domain::letter::recipient(&p, &Party::Patient)?;
    let (name, language, format) =
        crate::render::letters::split_file_name(file).unwrap_or((file, None, "html"));
    let subject = Subject {
        patient: &p,
        recipient: &recipient,
        appointment: Some(&a),
        recall: Some(&due),
        summary: Some(&summary),
    };
    let meta = Meta {
        id: "L00000000",
        date: now.date_naive(),
        template: name,
        channel: if format == "html" {
            Channel::Mail
        } else {
            Channel::Sms
        },
        language,
    };
    letters.render(file, &context(&store.office, book, &subject, &meta))
}

/// A letter's record as sent now by the staff member: to the patient, at their postal
/// address; the caller changes what differs. The hash is set when it is filed.
#[allow(clippy::too_many_arguments)]
fn new_record(
    store: &Store,
    now: DateTime<FixedOffset>,
    id: Id,
    patient: &Patient,
    template: &str,
    format: &str,
    channel: Channel,
    batch: Option<String>,
) -> Letter {
    Letter {
        schema: SCHEMA,
        id,
        patient: patient.id.clone(),
        template: template.to_string(),
        format: format.to_string(),
        language: None,
        channel,
        to: Party::Patient,
        recipient: patient.display_name(),
        destination: patient
            .address
            .as_ref()
            .map(|a| a.lines().join(", "))
            .unwrap_or_default(),
        appointment: None,
        entry: None,
        batch,
        sha1: String::new(),
        sent: now,
        by: store.options.user.clone(),
        extra: Default::default(),
    }
}

/// The record of a document the tool wrote by other means (a statement), mailed to the
/// patient today.
pub fn document_record(
    store: &Store,
    patient: &Patient,
    template: &str,
    format: &str,
    batch: Option<String>,
) -> (Letter, NaiveDate) {
    let now = store.office.now().fixed_offset();
    let id = Id::generate(IdKind::Letter);
    let letter = new_record(
        store,
        now,
        id,
        patient,
        template,
        format,
        Channel::Mail,
        batch,
    );
    (letter, now.date_naive())
}

/// The record of a statement run written into `output` today by the staff member; the
/// `[statements]` table's figures and the hashes are set as it is filed.
pub fn run_record(
    store: &Store,
    output: &std::path::Path,
    format: &str,
) -> (crate::domain::statement_run::Run, NaiveDate) {
    use crate::domain::statement_run::{Run, SCHEMA, Statements};
    let now = store.office.now().fixed_offset();
    let today = now.date_naive();
    // The folder's own name only: its path may hold a person's name (a home folder).
    let output = output
        .canonicalize()
        .ok()
        .as_deref()
        .or(Some(output))
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let run = Run {
        schema: SCHEMA,
        id: Id::generate(IdKind::Letter),
        template: "statement".into(),
        format: format.to_string(),
        channel: Channel::Mail,
        batch: format!("statements {today}"),
        sha1: String::new(),
        sent: now,
        by: store.options.user.clone(),
        statements: Statements {
            count: 0,
            total_due: rust_decimal::Decimal::ZERO,
            output,
            table_sha1: String::new(),
            table_bytes: 0,
        },
        extra: Default::default(),
    };
    (run, today)
}
