use chrono::NaiveDate;

use crate::cli::Ctx;
use crate::derived::schedule_index;
use crate::domain::comm::{
    self, Channel, Communication, Direction, PartyArg, PartyKind, Topic, release_warning,
};
use crate::domain::dates::parse_day;
use crate::domain::id::{Id, IdKind};
use crate::error::{Error, Result, exit};
use crate::store::{Mode, Store};

/// Log one contact: a call, a voicemail, a message, a letter, a visit at the desk.
///
/// Prints the new communication's ID. The summary goes into the record only, never into the
/// commit message or an error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The patient the contact was about (P…); leave out for office business with an agency.
    #[arg(long)]
    pub patient: Option<String>,
    /// Who: patient, contact:NAME (family:, rep:; a name or relation on the patient's record),
    /// provider:KEY, staff:USER, payer:KEY (with --ref), office:NAME, agency:NAME.
    #[arg(long, value_name = "PARTY")]
    pub with: String,
    #[arg(long, value_enum)]
    pub channel: Channel,
    #[arg(long, value_enum)]
    pub direction: Direction,
    /// What was said or agreed, in a sentence or two.
    #[arg(long)]
    pub summary: String,
    /// What it was about; left out, care words in the summary (results, medication, …) make
    /// it care, which matters for contacts without a release.
    #[arg(long, value_enum)]
    pub topic: Option<Topic>,
    /// A follow-up due on this day: a date, tomorrow, a weekday, +2d, +1w.
    #[arg(long, value_name = "DATE")]
    pub follow_up: Option<String>,
    /// Who should do the follow-up (a staff user name); needs --follow-up.
    #[arg(long, value_name = "USER")]
    pub assign: Option<String>,
    /// Records the contact was about: appointments A…, ledger entries T…, letters L….
    #[arg(long, value_name = "ID", num_args = 1..)]
    pub about: Vec<String>,
    /// A payer's call reference number (required with --with payer:KEY).
    #[arg(long = "ref", value_name = "NUMBER")]
    pub reference: Option<String>,
}

pub fn cmd_log(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let today = store.office.today();
    let follow_up = a
        .follow_up
        .as_deref()
        .map(|s| follow_up_day(s, today))
        .transpose()?;
    let req = LogRequest {
        patient: a
            .patient
            .as_deref()
            .map(crate::cli::patient::patient_id)
            .transpose()?,
        party: PartyArg::parse(&a.with)?,
        channel: a.channel,
        direction: a.direction,
        summary: a.summary,
        topic: a.topic,
        follow_up,
        assign: a.assign,
        about: a
            .about
            .iter()
            .map(|s| {
                Id::parse(s).map_err(|e| {
                    e.hint("--about takes appointment (A…), ledger entry (T…) or letter (L…) IDs")
                })
            })
            .collect::<Result<_>>()?,
        reference: a.reference,
        resource: None,
    };
    let c = log_communication(&store, req)?;
    for w in &c.warnings {
        eprintln!("frontdesk: warning: {w}");
    }
    println!("{}", c.id);
    if let Some(d) = c.follow_up {
        ctx.say(&format!("follow-up due {}", d.format("%a %Y-%m-%d")));
    }
    Ok(exit::OK)
}

/// A follow-up day as typed: today or later.
pub fn follow_up_day(input: &str, today: NaiveDate) -> Result<NaiveDate> {
    let day = parse_day(input, today).map_err(|e| {
        Error::user(format!("--follow-up: {}", e.message))
            .hint("give a day: a date, tomorrow, a weekday, +2d or +1w")
    })?;
    if day < today {
        return Err(Error::user("--follow-up is in the past")
            .hint("a follow-up is due today or later, e.g. +2d"));
    }
    Ok(day)
}

/// Everything a new communication needs, from `comm log` or another command that logs one
/// (`resource refer`).
pub struct LogRequest {
    pub patient: Option<Id>,
    pub party: PartyArg,
    pub channel: Channel,
    pub direction: Direction,
    pub summary: String,
    pub topic: Option<Topic>,
    pub follow_up: Option<NaiveDate>,
    pub assign: Option<String>,
    pub about: Vec<Id>,
    pub reference: Option<String>,
    pub resource: Option<String>,
}

/// Checks the request against the records it names, writes the communication under the lock
/// and commits it ("Log phone communication C… for patient P…."). Nothing is written when any
/// check fails.
pub fn log_communication(store: &Store, r: LogRequest) -> Result<Communication> {
    let now = store.office.now().fixed_offset();
    let today = now.date_naive();
    comm::summary(&r.summary)?;
    if let Some(day) = r.follow_up
        && day < today
    {
        return Err(Error::user("--follow-up is in the past"));
    }
    if let Some(user) = &r.assign {
        comm::staff_key("--assign", user)?;
        if r.follow_up.is_none() {
            return Err(Error::user("--assign needs --follow-up")
                .hint("say when the follow-up is due, e.g. --follow-up +2d"));
        }
    }
    if let Some(reference) = &r.reference {
        comm::short_text("--ref", reference)?;
    }
    let topic = r.topic.unwrap_or_else(|| comm::infer_topic(&r.summary));
    let mut txn = store.begin()?;
    let patient = r
        .patient
        .as_ref()
        .map(|id| store.load_patient(id))
        .transpose()?;
    let mut c = Communication::new(
        Id::generate(IdKind::Communication),
        now,
        &store.options.user,
        (r.channel, r.direction),
        r.party.kind,
        topic,
        &r.summary,
    );
    c.patient = r.patient.clone();
    c.reference = r.reference.clone();
    c.resource = r.resource;
    c.follow_up = r.follow_up;
    c.assign = r.assign;
    let needs_patient = || {
        Error::user("--with names the patient's contact, so --patient is required")
            .hint("give --patient ID")
    };
    match (r.party.kind, r.party.name.as_deref()) {
        (PartyKind::Patient, _) => {
            if patient.is_none() {
                return Err(Error::user("--with patient needs --patient ID"));
            }
        }
        (PartyKind::Contact, Some(name)) => {
            let p = patient.as_ref().ok_or_else(needs_patient)?;
            let who = comm::find_contact(p, name)?;
            c.with = Some(who.name.clone());
            c.relation = who.relation.clone();
            if topic == Topic::Care && !comm::has_release(p, who, today) {
                c.warnings.push(release_warning(&p.id));
            }
        }
        (PartyKind::Provider, Some(key)) => {
            store.load_provider(key).map_err(|_| {
                Error::user("--with: no such provider")
                    .hint("list providers with `frontdesk provider list`")
            })?;
            c.with = Some(key.to_string());
        }
        (PartyKind::Payer, Some(key)) => {
            store.load_payer(key).map_err(|_| {
                Error::user("--with: no such payer").hint("list payers with `frontdesk payer list`")
            })?;
            if c.reference.is_none() {
                return Err(Error::user("--ref is required when the party is a payer")
                    .hint("give the call reference number the payer read out"));
            }
            c.with = Some(key.to_string());
        }
        (PartyKind::Staff, Some(user)) => {
            comm::staff_key("--with staff", user)?;
            c.with = Some(user.to_string());
        }
        (_, name) => c.with = name.map(str::to_string),
    }
    for id in &r.about {
        let exists = match id.kind() {
            IdKind::Appointment => schedule_index::date_of(store, id)?.is_some(),
            IdKind::Transaction => {
                schedule_index::date_in(store, &schedule_index::LEDGER, id)?.is_some()
            }
            // Letters are not kept yet (issue: letters); the ID is taken as given.
            IdKind::Letter => true,
            _ => {
                return Err(Error::user(format!(
                    "--about: {id} is not an appointment, ledger entry or letter ID"
                )));
            }
        };
        if !exists {
            return Err(Error::user(format!(
                "--about: no {} {id}",
                id.kind().noun()
            )));
        }
        c.about.push(id.clone());
    }
    txn.save_communication(&c, Mode::CreateNew)?;
    let about = match &c.patient {
        Some(p) => format!(" for patient {p}"),
        None => String::new(),
    };
    txn.commit(&format!(
        "Log {} communication {}{about}.",
        c.channel.as_str(),
        c.id
    ))?;
    Ok(c)
}
