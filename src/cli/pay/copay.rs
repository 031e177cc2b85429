//! The co-pay line `schedule checkin` shows: what is still to collect for this appointment
//! from the patient's primary coverage, for the co-pay kind the appointment type draws.

use crate::domain::ledger::{Entry, copay_outstanding};
use crate::domain::money;
use crate::domain::patient::Patient;
use crate::domain::schedule::Appointment;
use crate::domain::schedule::localtime::wall;
use crate::error::Result;
use crate::store::Store;

/// "co-pay due: $25.00 (aetna-ppo); collect with `frontdesk pay collect …`", or None when no
/// co-pay is left to collect. Names IDs and the payer key only.
pub fn checkin_line(
    store: &Store,
    appt: &Appointment,
    patient: &Patient,
    entries: &[Entry],
) -> Result<Option<String>> {
    let kind = store
        .appointment_types()?
        .get(&appt.kind)
        .map(|t| t.copay)
        .unwrap_or_default();
    let day = wall(store.office.tz()?, appt.start).date();
    Ok(
        copay_outstanding(patient, kind, day, &appt.id, entries).map(|due| {
            format!(
                "co-pay due: {} ({}); collect with `frontdesk pay collect --patient {} --amount {} --method card --ref LAST4 --copay --appointment {}`",
                money::display(due.amount, &store.office.currency),
                due.payer,
                appt.patient,
                money::plain(due.amount),
                appt.id
            )
        }),
    )
}
