use std::path::PathBuf;

use crate::cli::Ctx;
use crate::cli::letter::{Book, Subject, Summary, compose, file, load_letters};
use crate::cli::patient::patient_id;
use crate::domain::id::{Id, IdKind};
use crate::domain::letter::{
    Channel, Party, Recipient, allowed, choose_channel, may_write_to, recipient,
};
use crate::domain::patient::Patient;
use crate::error::{Error, Result, exit};
use crate::render::{self, Format};

/// Write one letter and keep it in the correspondence file.
///
/// Renders TEMPLATE (see `letter list`) for a patient, optionally about one appointment, and
/// files the letter exactly as rendered beside its record in `correspondence/YYYY/MM/DD/`, in
/// one commit. Prints the letter (or writes it to -o FILE) and its ID on stderr. A template
/// that uses a value the record does not have fails before anything is written.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The template: reminder, confirmation, no-show, cancellation, welcome, recall,
    /// release-cover, summary, or one of the office's own.
    pub template: String,
    /// The patient (P…).
    #[arg(long)]
    pub patient: String,
    /// The appointment the letter is about (A…); reminders and the like need one.
    #[arg(long)]
    pub appointment: Option<String>,
    /// Who the letter is addressed to: patient, guarantor, or representative[:N] (the Nth
    /// authorised representative; one needs a release on file).
    #[arg(long, default_value = "patient", value_name = "PARTY")]
    pub to: String,
    /// html (a printed letter) or txt (the text of an email, SMS or phone call).
    #[arg(long = "as", value_enum, default_value_t = Kind::Html)]
    pub kind: Kind,
    /// How it is sent: mail, email, sms, voicemail or call. Email, SMS and voicemail need the
    /// patient's consent on file. Default: mail for HTML; for text, the channel a batch would
    /// choose (preferred and allowed), else call.
    #[arg(long, value_enum)]
    pub channel: Option<Channel>,
    /// Also write the letter to this file.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write to a deceased or deactivated patient (a records release to the estate, say).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Html,
    Txt,
}

pub fn cmd_render(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let pid = patient_id(&a.patient)?;
    let party = Party::parse(&a.to)?;
    let appointment_id = a
        .appointment
        .as_deref()
        .map(|s| Id::parse_kind(s, IdKind::Appointment))
        .transpose()?;
    let letters = load_letters(&store)?;
    let book = Book::load(&store)?;
    let format = match a.kind {
        Kind::Html => "html",
        Kind::Txt => "txt",
    };
    // Read and decide under the lock, so the letter matches the record it was written from.
    let mut txn = store.begin()?;
    let patient = store.load_patient(&pid)?;
    may_write_to(&patient, a.force)?;
    let to = recipient(&patient, &party)?;
    // Text goes the way consent allows, as in a batch; a call when none allows text.
    let channel = a.channel.unwrap_or(match a.kind {
        Kind::Html => Channel::Mail,
        Kind::Txt if to.party == Party::Patient => match choose_channel(&patient).0 {
            Channel::Mail => Channel::Call,
            c => c,
        },
        Kind::Txt => Channel::Call,
    });
    let appointment = match &appointment_id {
        Some(id) => {
            let appt = store.load_appointment(id)?;
            if appt.patient != pid {
                return Err(
                    Error::user(format!("appointment {id} is not patient {pid}'s"))
                        .hint("check the IDs with `frontdesk schedule list --patient ID`"),
                );
            }
            Some(appt)
        }
        None => None,
    };
    let summary = if a.template == "summary" {
        Some(Summary::load(
            &store,
            &patient,
            store.office.now().fixed_offset(),
        )?)
    } else {
        None
    };
    let destination = destination(&patient, &to, channel)?;
    let subject = Subject {
        patient: &patient,
        recipient: &to,
        appointment: appointment.as_ref(),
        recall: None,
        summary: summary.as_ref(),
    };
    let mut r = compose(
        &store,
        &letters,
        &book,
        &subject,
        &a.template,
        channel,
        format,
        destination,
        None,
    )?;
    let kept = file(&mut txn, &mut r)?;
    txn.commit(&format!(
        "Write letter {} for patient {}.",
        r.letter.id, r.letter.patient
    ))?;
    // The copy for the printer comes after the letter is kept: a failure here loses nothing
    // (`letter show` prints it again).
    if let Some(path) = &a.output {
        render::write_file(path, &r.text)?;
    }
    if ctx.format == Format::Json {
        render::print_json(&r.letter)?;
        return Ok(exit::OK);
    }
    match &a.output {
        Some(path) => {
            render::print(&format!("{}\n", r.letter.id))?;
            ctx.say(&format!(
                "letter {} written to {} and kept as {}",
                r.letter.id,
                path.display(),
                store.display(&kept)
            ));
        }
        None if ctx.quiet => render::print(&format!("{}\n", r.letter.id))?,
        None => {
            render::print(&r.text)?;
            ctx.say(&format!(
                "letter {} kept as {}",
                r.letter.id,
                store.display(&kept)
            ));
        }
    }
    Ok(exit::OK)
}

/// Where the letter goes through `channel`: an email, text or voicemail only with the
/// patient's consent on file (and only to the patient: a contact's consent is not recorded);
/// a printed letter to the recipient's address, or handed over when there is none.
fn destination(patient: &Patient, to: &Recipient, channel: Channel) -> Result<String> {
    match channel {
        Channel::Mail => Ok(to
            .address
            .as_ref()
            .map(|a| a.lines().join(", "))
            .unwrap_or_default()),
        Channel::Call => Ok(if to.party == Party::Patient {
            patient
                .primary_phone()
                .map(|p| p.number.clone())
                .unwrap_or_default()
        } else {
            String::new()
        }),
        _ if to.party != Party::Patient => Err(Error::user(format!(
            "only the patient's own consent to {} is on file, not the {}'s; nothing was written",
            channel.as_str(),
            to.party.describe()
        ))
        .hint("send it by mail (--channel mail), or call (--channel call)")),
        _ => allowed(patient, channel).ok_or_else(|| {
            Error::user(format!(
                "patient {} has not agreed to {} (no consent on file); nothing was written",
                patient.id,
                channel.as_str()
            ))
            .hint("send it another way (--channel mail), or record the consent with `frontdesk patient update` (--sms-ok, --email-ok, --voicemail-ok)")
        }),
    }
}
