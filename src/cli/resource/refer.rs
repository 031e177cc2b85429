use chrono::Duration;

use crate::cli::Ctx;
use crate::cli::comm::{LogRequest, log_communication};
use crate::domain::comm::{Channel, Direction, PartyArg, PartyKind, Topic, note_text, staff_key};
use crate::domain::needs;
use crate::error::{Result, exit};

/// Refer a patient to a service: logs the referral as a communication with a follow-up in two
/// weeks ("did the ride happen?"), which then comes due in `comm due`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Patient ID (P…).
    pub patient: String,
    /// The resource's slug.
    pub slug: String,
    /// Anything to add (kept in the communication, never in the commit message).
    #[arg(long)]
    pub note: Option<String>,
    /// How the referral was made.
    #[arg(long, value_enum, default_value_t = Channel::InPerson)]
    pub channel: Channel,
    /// Who should follow up (a staff user name).
    #[arg(long, value_name = "USER")]
    pub assign: Option<String>,
}

/// Days until a referral's follow-up.
pub const FOLLOW_UP_DAYS: i64 = 14;

pub fn cmd_refer(ctx: &Ctx, a: Args) -> Result<u8> {
    let patient = crate::cli::patient::patient_id(&a.patient)?;
    if let Some(n) = &a.note {
        note_text("--note", n)?;
    }
    if let Some(u) = &a.assign {
        staff_key("--assign", u)?;
    }
    let store = ctx.open()?;
    let r = store.load_resource(&a.slug)?;
    if r.retired.is_some() {
        return Err(
            crate::error::Error::user(format!("resource {} is retired", r.slug))
                .hint("find another with `frontdesk resource match PATIENT`"),
        );
    }
    let p = store.load_patient(&patient)?;
    let mut summary = format!("Referred to {} ({})", r.name, r.organization);
    if let Some(n) = a.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        summary.push_str(": ");
        summary.push_str(n);
    }
    let c = log_communication(
        &store,
        LogRequest {
            patient: Some(patient.clone()),
            party: PartyArg {
                kind: PartyKind::Agency,
                name: Some(r.organization.clone()),
            },
            channel: a.channel,
            direction: Direction::Out,
            summary,
            topic: Some(Topic::Referral),
            follow_up: Some(store.office.today() + Duration::days(FOLLOW_UP_DAYS)),
            assign: a.assign,
            about: Vec::new(),
            reference: None,
            resource: Some(r.slug.clone()),
        },
    )?;
    if !p
        .needs
        .iter()
        .any(|n| r.needs.iter().any(|s| s == needs::category(&n.need)))
    {
        eprintln!(
            "frontdesk: warning: resource {} serves none of the needs recorded for patient {patient}",
            r.slug
        );
    }
    if r.is_stale(store.office.today()) {
        eprintln!(
            "frontdesk: warning: resource {} was not verified in the last 12 months: check it still runs",
            r.slug
        );
    }
    println!("{}", c.id);
    if let Some(d) = c.follow_up {
        ctx.say(&format!("follow-up due {}", d.format("%a %Y-%m-%d")));
    }
    Ok(exit::OK)
}
