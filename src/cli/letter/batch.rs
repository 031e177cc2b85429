use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate};

use crate::cli::Ctx;
use crate::cli::letter::{Book, Rendered, Subject, compose, load_letters};
use crate::domain::dates::parse_day;
use crate::domain::id::Id;
use crate::domain::letter::{
    Channel, Party, check_template_name, choose_channel, may_write_to, recipient,
};
use crate::domain::recall::{self, Due};
use crate::domain::schedule::{Appointment, Status};
use crate::error::{Error, Result, exit};
use crate::render::{Cell, Format, Table, neutralise_formula};
use crate::store::schedule::{APPOINTMENTS_DIR, day_dirs_in, years_in};
use crate::store::{Store, bulk, letter};

/// How far back a batch looks for letters it already sent: a re-run within this many days
/// sends nothing twice.
pub const DEDUP_DAYS: i64 = 90;

/// Write one letter per matching patient, each through the channel their consent allows, and
/// an outbox file for the mail merge, SMS gateway or email relay. Safe to re-run (cron).
///
/// Channels: the patient's preferred one if allowed, else SMS (a mobile number marked sms_ok),
/// email (email_ok), voicemail (a number marked voicemail_ok), a printed letter (a postal
/// address), else "call": the desk calls by hand, reading the text letter. Deceased and
/// deactivated patients are skipped. A letter already sent in the last 90 days for the same
/// template and appointment (or patient, when there is none) is not sent again.
///
/// The outbox is `outbox/YYYY-MM-DD-TEMPLATE.csv` (`.json` with --format json): every letter of
/// the template sent by a batch today, one row each with the letter ID, so a gateway that
/// remembers IDs never sends one twice.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["appointments", "noshows", "recall_due", "new_patients", "seen"])))]
pub struct Args {
    /// The template (see `letter list`).
    pub template: String,
    /// Patients booked on this day or range: tomorrow, 2026-12-05, 2026-12-01..2026-12-05.
    #[arg(long, value_name = "WHEN")]
    pub appointments: Option<String>,
    /// Patients who did not come on this day.
    #[arg(long, value_name = "DATE")]
    pub noshows: Option<String>,
    /// Patients due for recall (appointment types with recall_after).
    #[arg(long)]
    pub recall_due: bool,
    /// The day recall is reckoned on (default today).
    #[arg(long, value_name = "DATE", requires = "recall_due")]
    pub as_of: Option<String>,
    /// Patients booked for a new-patient visit in this range (welcome letters).
    #[arg(long, value_name = "RANGE")]
    pub new_patients: Option<String>,
    /// Patients whose visit on this day was checked out (the `survey` letter; a visit with a
    /// survey response on file is skipped).
    #[arg(long, value_name = "DATE")]
    pub seen: Option<String>,
    /// Only this provider's appointments.
    #[arg(long)]
    pub provider: Option<String>,
    /// Only appointments (or recalls) of this type.
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// List who would get what, through which channel, and who is skipped and why; write
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// One patient the batch selected.
struct Target {
    patient: Id,
    appointment: Option<Appointment>,
    recall: Option<Due>,
}

/// What became of one target.
enum Outcome {
    Send {
        rendered: Box<Rendered>,
        destination: String,
    },
    Skip(String),
}

/// `DATE` or `FROM..TO` (days as `parse_day` reads them), at most a year long.
fn parse_range(flag: &str, s: &str, today: NaiveDate) -> Result<(NaiveDate, NaiveDate)> {
    let (a, b) = s.split_once("..").unwrap_or((s, s));
    let from = parse_day(a, today).map_err(|e| e.at(flag))?;
    let to = parse_day(b, today).map_err(|e| e.at(flag))?;
    if to < from || to - from > Duration::days(366) {
        return Err(Error::user(format!(
            "{flag}: the range ends before it starts or is longer than a year"
        ))
        .hint("e.g. tomorrow, 2026-12-05, or 2026-12-01..2026-12-07"));
    }
    Ok((from, to))
}

fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

/// The patients the flags select, and the batch's label for the records.
fn select(store: &Store, book: &Book, a: &Args) -> Result<(Vec<Target>, String)> {
    let today = store.office.today();
    let wanted = |ap: &Appointment| {
        a.provider.as_ref().is_none_or(|p| &ap.provider == p)
            && a.kind.as_ref().is_none_or(|k| &ap.kind == k)
    };
    if let Some(k) = &a.kind {
        book.types.get(k)?;
    }
    if let Some(p) = &a.provider {
        store.load_provider(p)?;
    }
    let visits = |from, to, keep: &dyn Fn(&Appointment) -> bool| -> Result<Vec<Target>> {
        let mut out = Vec::new();
        for d in days(from, to) {
            for ap in store.day_appointments(d)? {
                if wanted(&ap) && keep(&ap) {
                    out.push(Target {
                        patient: ap.patient.clone(),
                        appointment: Some(ap),
                        recall: None,
                    });
                }
            }
        }
        Ok(out)
    };
    let booked = |ap: &Appointment| matches!(ap.status, Status::Booked | Status::Confirmed);
    if let Some(w) = &a.appointments {
        let (from, to) = parse_range("--appointments", w, today)?;
        return Ok((visits(from, to, &booked)?, label("appointments", from, to)));
    }
    if let Some(d) = &a.noshows {
        let day = parse_day(d, today).map_err(|e| e.at("--noshows"))?;
        let t = visits(day, day, &|ap| ap.status == Status::Noshow)?;
        return Ok((t, label("noshows", day, day)));
    }
    if let Some(d) = &a.seen {
        let day = parse_day(d, today).map_err(|e| e.at("--seen"))?;
        let t = visits(day, day, &|ap| ap.status == Status::Fulfilled)?;
        return Ok((t, label("seen", day, day)));
    }
    if let Some(w) = &a.new_patients {
        let (from, to) = parse_range("--new-patients", w, today)?;
        let new_types: HashSet<&str> = book
            .types
            .types
            .iter()
            .filter(|t| t.new_patient)
            .map(|t| t.key.as_str())
            .collect();
        let t = visits(from, to, &|ap| {
            booked(ap) && new_types.contains(ap.kind.as_str())
        })?;
        return Ok((t, label("new-patients", from, to)));
    }
    // Recall: every appointment of the types with a recall interval.
    let as_of = match &a.as_of {
        Some(s) => parse_day(s, today).map_err(|e| e.at("--as-of"))?,
        None => today,
    };
    if !book.types.types.iter().any(|t| t.recall_after.is_some()) {
        return Err(Error::user("no appointment type has recall_after")
            .hint("add e.g. recall_after = \"12 months\" to a type in appointment-types.toml"));
    }
    let mut all = Vec::new();
    for year in years_in(store, APPOINTMENTS_DIR)? {
        for (d, _) in day_dirs_in(store, APPOINTMENTS_DIR, year)? {
            all.extend(
                store
                    .day_appointments(d)?
                    .into_iter()
                    .filter(|ap| wanted(ap)),
            );
        }
    }
    let due = recall::due(&book.types, &all, as_of);
    let by_id: HashMap<&Id, &Appointment> = all.iter().map(|ap| (&ap.id, ap)).collect();
    let targets = due
        .into_iter()
        .map(|d| Target {
            patient: d.patient.clone(),
            appointment: by_id.get(&d.last_appointment).map(|ap| (*ap).clone()),
            recall: Some(d),
        })
        .collect();
    Ok((targets, label("recall-due", as_of, as_of)))
}

fn label(what: &str, from: NaiveDate, to: NaiveDate) -> String {
    if from == to {
        format!("{what} {from}")
    } else {
        format!("{what} {from}..{to}")
    }
}

pub fn cmd_batch(ctx: &Ctx, a: Args) -> Result<u8> {
    check_template_name(&a.template)?;
    let store = ctx.open()?;
    let letters = load_letters(&store)?;
    let book = Book::load(&store)?;
    // Both formats must exist before anything is chosen: a batch mixes printed and text.
    // And the office settings they print: said once, not once per patient.
    for format in ["html", "txt"] {
        let (file, _) = letters.pick(&a.template, None, format)?;
        super::office_settings(&store.office, &letters, &file)?;
    }
    // Under the lock from the look at what was sent to the commit: two runs at once cannot
    // both send a letter.
    let mut txn = store.begin()?;
    let (targets, batch) = select(&store, &book, &a)?;
    let today = store.office.today();
    let mut sent: HashMap<(String, String), Id> = HashMap::new();
    for (_, l) in store.letters_between(today - Duration::days(DEDUP_DAYS), today)? {
        sent.insert(l.dedup_key(), l.id.clone());
    }
    let mut outcomes = Vec::with_capacity(targets.len());
    let mut failures = Vec::new();
    let mut seen = HashSet::new();
    for t in &targets {
        let key = crate::domain::letter::dedup_key(
            &a.template,
            &t.patient,
            t.appointment.as_ref().map(|ap| &ap.id),
        );
        if let Some(id) = sent.get(&key) {
            outcomes.push((t, Outcome::Skip(format!("already sent ({id})"))));
            continue;
        }
        if !seen.insert(key) {
            continue; // the same patient twice in one selection (two recall types): one letter
        }
        if a.seen.is_some()
            && let Some(ap) = &t.appointment
            && let Some(s) = store.surveys_of_appointment(&ap.id, ap.date())?.first()
        {
            outcomes.push((t, Outcome::Skip(format!("survey already answered ({s})"))));
            continue;
        }
        let patient = match store.load_patient(&t.patient) {
            Ok(p) => p,
            Err(e) if e.kind == crate::error::Kind::NotFound => {
                outcomes.push((t, Outcome::Skip("no patient file".into())));
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Err(e) = may_write_to(&patient, false) {
            let why = if e.message.contains("deceased") {
                "deceased"
            } else {
                "deactivated"
            };
            outcomes.push((t, Outcome::Skip(format!("patient is {why}"))));
            continue;
        }
        let (channel, destination) = choose_channel(&patient);
        let to = recipient(&patient, &Party::Patient)?;
        let subject = Subject {
            patient: &patient,
            recipient: &to,
            appointment: t.appointment.as_ref(),
            recall: t.recall.as_ref(),
            summary: None,
        };
        match compose(
            &store,
            &letters,
            &book,
            &subject,
            &a.template,
            channel,
            channel.format(),
            destination.clone(),
            Some(batch.clone()),
        ) {
            Ok(r) => outcomes.push((
                t,
                Outcome::Send {
                    rendered: Box::new(r),
                    destination,
                },
            )),
            Err(e) => failures.push(format!("patient {}: {}", t.patient, e.message)),
        }
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("frontdesk: {f}");
        }
        return Err(Error::user(format!(
            "{} of {} letters could not be written; nothing was written",
            failures.len(),
            targets.len()
        ))
        .hint("fix the template or the records named above, then run the batch again"));
    }
    let mut table = Table::new(&["patient", "appointment", "channel", "to", "letter", "note"]);
    let mut written = Vec::new();
    let mut kept = Vec::new();
    let mut skipped = 0usize;
    for (t, o) in &mut outcomes {
        let appt = Cell::code(
            t.appointment
                .as_ref()
                .map(|ap| ap.id.to_string())
                .unwrap_or_default(),
        );
        match o {
            Outcome::Skip(why) => {
                skipped += 1;
                table.push(vec![
                    Cell::code(t.patient.to_string()),
                    appt,
                    Cell::from(""),
                    Cell::from(""),
                    Cell::from(""),
                    Cell::from(format!("skipped: {why}")),
                ]);
            }
            Outcome::Send {
                rendered,
                destination,
            } => {
                let note = if a.dry_run {
                    "would send".to_string()
                } else {
                    let r = &mut **rendered;
                    kept.extend(letter::write_letter_unsynced(
                        &store,
                        &mut r.letter,
                        r.date,
                        r.text.as_bytes(),
                    )?);
                    written.push((rendered.letter.id.clone(), t.patient.clone()));
                    if rendered.letter.channel == Channel::Call {
                        "call by hand".to_string()
                    } else {
                        "sent".to_string()
                    }
                };
                table.push(vec![
                    Cell::code(t.patient.to_string()),
                    appt,
                    Cell::from(rendered.letter.channel.as_str()),
                    Cell::code(destination.clone()),
                    Cell::code(if a.dry_run {
                        String::new()
                    } else {
                        rendered.letter.id.to_string()
                    }),
                    Cell::from(note),
                ]);
            }
        }
    }
    let json = ctx.format == Format::Json;
    let outbox = Store::outbox_rel(today, &a.template, if json { "json" } else { "csv" });
    if !a.dry_run {
        // The letters were written whole but unsynced (a day's batch is hundreds): one sync of
        // the tree makes them durable before the outbox names them.
        if !kept.is_empty() {
            bulk::sync_tree(store.root())?;
            txn.adopt_bulk(kept);
        }
        // The outbox lists every letter of this template that a batch sent today, read back
        // from the records: a run killed half way loses none of its letters, and a re-run that
        // sends nothing leaves the file as it was.
        let (text, rows) = outbox_text(&store, today, &a.template, json)?;
        let old = std::fs::read(store.path(&outbox)).ok();
        // No letters today and no outbox yet: nothing for a gateway, no file.
        let changed = old.as_deref() != Some(text.as_bytes()) && (rows > 0 || old.is_some());
        if changed {
            txn.put_outbox(&outbox, &text)?;
        }
        if !written.is_empty() {
            let mut msg = format!("Write {} letters in a batch.\n\n", written.len());
            for (l, p) in &written {
                msg.push_str(&format!("Letter {l} for patient {p}.\n"));
            }
            txn.commit(&msg)?;
        } else {
            txn.commit("Update letter outbox.")?;
        }
    }
    if ctx.quiet {
        // Only what scripts need, and no phone numbers or addresses in a cron log.
        let ids: String = written.iter().map(|(l, _)| format!("{l}\n")).collect();
        crate::render::print(&ids)?;
    } else {
        table.print(ctx.format)?;
    }
    let sends = outcomes.len() - skipped;
    if a.dry_run {
        ctx.say(&format!(
            "dry run ({batch}): {} would be sent, {skipped} skipped; nothing was written",
            crate::render::plural(sends, "letter")
        ));
    } else if store.path(&outbox).is_file() {
        ctx.say(&format!(
            "{batch}: {} written, {skipped} skipped; outbox {}",
            crate::render::plural(written.len(), "letter"),
            store.display(&outbox)
        ));
    } else {
        ctx.say(&format!(
            "{batch}: no letters to send, {skipped} skipped; no outbox written"
        ));
    }
    Ok(exit::OK)
}

/// One outbox row: what a mail merge, an SMS gateway or an email relay needs.
#[derive(Debug, serde::Serialize)]
struct OutboxRow {
    letter: String,
    patient: String,
    appointment: String,
    channel: &'static str,
    /// E.164, for sms, voicemail and call.
    phone: String,
    email: String,
    /// The postal address on one line, for mail.
    address: String,
    recipient: String,
    /// The letter's file, relative to the records tree.
    file: String,
    batch: String,
}

/// A phone number exactly as the tool stores it (`+` and 7 to 15 digits) goes to a gateway as
/// it is; anything else is treated as text a spreadsheet might run as a formula.
fn outbox_phone(s: &str) -> String {
    let digits = s.strip_prefix('+').unwrap_or("");
    if (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        s.to_string()
    } else {
        neutralise_formula(s)
    }
}

/// The outbox: every letter of `template` a batch sent on `day`, oldest first. Not a listing
/// but a feed for other programs, so its CSV is written here: every text field (names,
/// addresses, emails come from records) has a formula's first character neutralised as in
/// every CSV the tool writes, but a stored E.164 number keeps its `+`, which an SMS gateway
/// needs. JSON is an array of the same rows.
fn outbox_text(
    store: &Store,
    day: NaiveDate,
    template: &str,
    json: bool,
) -> Result<(String, usize)> {
    let rows: Vec<OutboxRow> = store
        .letters_between(day, day)?
        .into_iter()
        .filter(|(_, l)| l.template == template && l.batch.is_some())
        .map(|(date, l)| {
            let dest = |c: bool| {
                if c {
                    l.destination.clone()
                } else {
                    String::new()
                }
            };
            let phone = matches!(l.channel, Channel::Sms | Channel::Voicemail | Channel::Call);
            OutboxRow {
                letter: l.id.to_string(),
                patient: l.patient.to_string(),
                appointment: l
                    .appointment
                    .as_ref()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                channel: l.channel.as_str(),
                phone: dest(phone),
                email: dest(l.channel == Channel::Email),
                address: dest(l.channel == Channel::Mail),
                recipient: l.recipient.clone(),
                file: Store::correspondence_day_rel(date)
                    .join(l.file_name())
                    .display()
                    .to_string(),
                batch: l.batch.clone().unwrap_or_default(),
            }
        })
        .collect();
    if json {
        let mut text = serde_json::to_string_pretty(&rows)
            .map_err(|e| Error::internal(format!("cannot write the outbox as JSON: {e}")))?;
        text.push('\n');
        return Ok((text, rows.len()));
    }
    let count = rows.len();
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::internal(format!("cannot write the outbox: {e}"));
    w.write_record([
        "letter",
        "patient",
        "appointment",
        "channel",
        "phone",
        "email",
        "address",
        "recipient",
        "file",
        "batch",
    ])
    .map_err(err)?;
    for r in rows {
        w.write_record([
            r.letter,
            r.patient,
            r.appointment,
            r.channel.to_string(),
            outbox_phone(&r.phone),
            neutralise_formula(&r.email),
            neutralise_formula(&r.address),
            neutralise_formula(&r.recipient),
            r.file,
            neutralise_formula(&r.batch),
        ])
        .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::internal(format!("cannot write the outbox: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| Error::internal(e.to_string()))?;
    Ok((text, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_phones_keep_their_plus_but_nothing_else_runs() {
        assert_eq!(outbox_phone("+16175550101"), "+16175550101");
        assert_eq!(outbox_phone("+1=HYPERLINK(1)"), "'+1=HYPERLINK(1)");
        assert_eq!(outbox_phone(""), "");
    }

    #[test]
    fn ranges_read_days_and_refuse_backwards_or_long_ones() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            parse_range("--appointments", "tomorrow", today).unwrap(),
            (d("2026-12-04"), d("2026-12-04"))
        );
        assert_eq!(
            parse_range("--appointments", "2026-12-01..2026-12-05", today).unwrap(),
            (d("2026-12-01"), d("2026-12-05"))
        );
        assert!(parse_range("--appointments", "2026-12-05..2026-12-01", today).is_err());
        assert!(parse_range("--appointments", "2026-01-01..2027-06-01", today).is_err());
    }
}
