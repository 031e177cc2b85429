use crate::cli::Ctx;
use crate::cli::schedule::{Sched, appointment_id, patient_label};
use crate::error::{Result, exit};
use crate::render::{self, Format};

/// Show one appointment with its status history.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Appointment ID (A…).
    pub id: String,
}

pub fn cmd_show(ctx: &Ctx, a: Args) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let appt = sched.store.load_appointment(&appointment_id(&a.id)?)?;
    if ctx.format == Format::Json {
        render::print_json(&appt)?;
        return Ok(exit::OK);
    }
    let history = appt
        .history
        .iter()
        .map(|c| {
            let mut s = format!("{} {} by {}", sched.when(c.at), c.status, c.by);
            if let Some(v) = &c.via {
                s.push_str(&format!(" via {v}"));
            }
            if let Some(n) = &c.note {
                s.push_str(&format!(" ({n})"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n");
    // The room the patient was shown to is listed once: as its hold when the booking holds it.
    let rooms = appt
        .room
        .iter()
        .filter(|r| !appt.resources.iter().any(|h| &h.room == *r))
        .cloned()
        .chain(
            appt.resources
                .iter()
                .map(|h| format!("{} {}-{}", h.room, sched.hm(h.start), sched.hm(h.end))),
        )
        .collect::<Vec<_>>()
        .join(", ");
    render::print_record(
        ctx.format,
        &[
            ("appointment", appt.id.to_string()),
            (
                "patient",
                format!(
                    "{} {}",
                    appt.patient,
                    patient_label(&sched.store, &appt.patient)
                ),
            ),
            (
                "needs",
                sched
                    .store
                    .load_patient(&appt.patient)
                    .map(|p| crate::domain::needs::summary(&p.needs))
                    .unwrap_or_default(),
            ),
            ("provider", appt.provider.clone()),
            ("type", appt.kind.clone()),
            (
                "when",
                format!("{}-{}", sched.when(appt.start), sched.hm(appt.end)),
            ),
            (
                "status",
                format!("{} (FHIR {})", appt.status, appt.status.fhir()),
            ),
            ("rooms", rooms),
            ("location", appt.location.clone().unwrap_or_default()),
            ("reason", appt.reason.clone().unwrap_or_default()),
            ("referral", appt.referral.clone().unwrap_or_default()),
            ("notes", appt.notes.clone().unwrap_or_default()),
            (
                "series",
                appt.series
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            (
                "double-booked",
                if appt.double_booked {
                    "yes".into()
                } else {
                    String::new()
                },
            ),
            (
                "cancel reason",
                appt.cancel_reason.clone().unwrap_or_default(),
            ),
            (
                "late cancel",
                if appt.late_cancel {
                    "yes".into()
                } else {
                    String::new()
                },
            ),
            (
                "moved to",
                appt.rescheduled_to
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            (
                "moved from",
                appt.rescheduled_from
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            ("history", history),
        ],
    )?;
    Ok(exit::OK)
}
