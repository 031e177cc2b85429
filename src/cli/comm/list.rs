use chrono::Duration;

use crate::cli::comm::{row, table};
use crate::cli::{Ctx, found};
use crate::domain::comm::{Channel, Communication, Direction, PartyKind, Topic};
use crate::domain::dates::parse_day;
use crate::domain::id::Id;
use crate::domain::schedule::Status;
use crate::error::{Error, Result};
use crate::render::Format;
use crate::store::Store;

/// List logged communications, newest last.
///
/// With --patient: the patient's whole log, and the confirmations `schedule confirm` recorded
/// on their appointments (shown with the appointment's ID, not entered twice). With --open: the
/// follow-ups still to do (`--channel voicemail --direction in --open` is the callback queue).
/// Otherwise the last 30 days, or --from/--to.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    pub patient: Option<String>,
    /// A party kind (patient, contact, provider, staff, payer, office, agency), or KIND:NAME to
    /// match a name too.
    #[arg(long, value_name = "PARTY")]
    pub with: Option<String>,
    #[arg(long, value_enum)]
    pub channel: Option<Channel>,
    #[arg(long, value_enum)]
    pub direction: Option<Direction>,
    /// Only follow-ups still to do.
    #[arg(long)]
    pub open: bool,
    /// First day (default: 30 days ago, or the beginning with --patient or --open).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last day (default: today).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
}

pub fn cmd_list(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let today = store.office.today();
    let day = |flag: &str, s: &Option<String>| {
        s.as_deref()
            .map(|s| {
                parse_day(s, today).map_err(|e| {
                    Error::user(format!("{flag}: {}", e.message))
                        .hint("give a day: a date, today, a weekday, -7d")
                })
            })
            .transpose()
    };
    let (from, to) = (day("--from", &a.from)?, day("--to", &a.to)?);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(Error::user("--from is after --to"));
    }
    let with = a.with.as_deref().map(party_filter).transpose()?;
    let patient = a
        .patient
        .as_deref()
        .map(crate::cli::patient::patient_id)
        .transpose()?;
    let mut list = if a.open {
        let mut open = store.open_communications()?;
        if let Some(p) = &patient {
            store.load_patient(p)?;
            open.retain(|c| c.patient.as_ref() == Some(p));
        }
        open
    } else if let Some(p) = &patient {
        store.load_patient(p)?;
        let mut all = store.patient_communications(p)?;
        all.extend(confirmations(&store, p)?);
        all
    } else {
        let to = to.unwrap_or(today);
        let from = from.unwrap_or(to - Duration::days(30));
        store.communications_between(from, to)?
    };
    list.retain(|c| {
        from.is_none_or(|f| c.date() >= f)
            && to.is_none_or(|t| c.date() <= t)
            && a.channel.is_none_or(|ch| c.channel == ch)
            && a.direction.is_none_or(|d| c.direction == d)
            && with.as_ref().is_none_or(|(kind, name)| {
                c.party == *kind
                    && name.as_ref().is_none_or(|n| {
                        c.with
                            .as_deref()
                            .is_some_and(|w| w.to_lowercase().contains(n.as_str()))
                    })
            })
    });
    list.sort_by(|x, y| (x.at, &x.id).cmp(&(y.at, &y.id)));
    if ctx.format == Format::Json {
        // One shape per record kind: communications as stored (a confirmation has the
        // appointment's ID and `about`).
        crate::render::print_json(&list)?;
        return Ok(found(!list.is_empty()));
    }
    let mut t = table();
    for c in &list {
        t.push(row(c));
    }
    t.print(ctx.format)?;
    Ok(found(!list.is_empty()))
}

/// `--with` as a filter: a party kind, and a lower-cased name to look for.
fn party_filter(input: &str) -> Result<(PartyKind, Option<String>)> {
    let (kind, name) = match input.split_once(':') {
        Some((k, n)) => (k, Some(n.trim().to_lowercase())),
        None => (input, None),
    };
    let kind = match kind.trim().to_ascii_lowercase().as_str() {
        "patient" | "self" => PartyKind::Patient,
        "contact" | "family" | "rep" | "representative" => PartyKind::Contact,
        "provider" => PartyKind::Provider,
        "staff" => PartyKind::Staff,
        "payer" => PartyKind::Payer,
        "office" => PartyKind::Office,
        "agency" => PartyKind::Agency,
        _ => {
            return Err(Error::user("--with is not a party kind").hint(
                "use patient, contact, provider, staff, payer, office or agency (or KIND:NAME)",
            ));
        }
    };
    Ok((kind, name.filter(|n| !n.is_empty())))
}

/// The confirmations recorded on the patient's appointments, as read-only entries of the log
/// (their ID is the appointment's): what `schedule confirm` recorded is not entered twice.
fn confirmations(store: &Store, patient: &Id) -> Result<Vec<Communication>> {
    let mut out = Vec::new();
    for appt in store.patient_appointments(patient)? {
        for change in appt
            .history
            .iter()
            .filter(|c| c.status == Status::Confirmed)
        {
            let channel = match change.via.as_deref() {
                Some("sms") => Channel::Sms,
                Some("email") => Channel::Email,
                Some("letter") => Channel::Letter,
                Some("portal") => Channel::Portal,
                Some("in-person") => Channel::InPerson,
                _ => Channel::Phone,
            };
            let summary = format!(
                "confirmed appointment {} on {}",
                appt.id,
                appt.start.format("%a %Y-%m-%d %H:%M")
            );
            let mut c = Communication::new(
                appt.id.clone(),
                change.at,
                &change.by,
                (channel, Direction::Out),
                PartyKind::Patient,
                Topic::Scheduling,
                &summary,
            );
            c.patient = Some(patient.clone());
            c.about = vec![appt.id.clone()];
            out.push(c);
        }
    }
    Ok(out)
}
