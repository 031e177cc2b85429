use rust_decimal::Decimal;

use crate::cli::Ctx;
use crate::cli::pay::{Posting, patient_id};
use crate::domain::dates::parse_day;
use crate::domain::id::{Id, IdKind};
use crate::domain::ledger::{BillTo, CopayKind, Kind, ServiceLine, copay_due};
use crate::domain::money::{check_positive, parse_money_or_zero};
use crate::domain::schedule::Status;
use crate::error::{Error, Result, exit};
use crate::store::Store;

/// Charge a patient for services, at the fees on the fee schedule.
///
/// With --appointment the charge is for that visit: its patient, its day, and the co-pay its
/// type draws. The charge is billed to the patient's insurance when they have primary coverage
/// in force on the day of service (less the co-pay the coverage sets, which is the patient's
/// part), and to the patient otherwise; --bill-to decides it explicitly.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The appointment (A…) the services were given at.
    #[arg(long, required_unless_present = "patient")]
    pub appointment: Option<String>,
    /// The patient (P…), for a charge without an appointment.
    #[arg(long, conflicts_with = "appointment")]
    pub patient: Option<String>,
    /// A CPT or HCPCS code from the fee schedule; repeat for several services.
    #[arg(long = "service", value_name = "CODE", required = true)]
    pub services: Vec<String>,
    /// Day of service for a charge without an appointment (default today): 2026-12-01,
    /// yesterday, -3d.
    #[arg(long, allow_hyphen_values = true, conflicts_with = "appointment")]
    pub date: Option<String>,
    /// Who is expected to pay.
    #[arg(long, value_enum)]
    pub bill_to: Option<BillTo>,
    /// The patient's part of an insurance-billed charge (default: the office co-pay of their
    /// primary coverage).
    #[arg(long, value_name = "AMOUNT", allow_hyphen_values = true)]
    pub copay: Option<String>,
}

pub fn cmd_charge(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let visit = match &a.appointment {
        Some(id) => Some(visit(&store, &Id::parse_kind(id, IdKind::Appointment)?)?),
        None => None,
    };
    let (pid, date, copay_kind) = match &visit {
        Some(v) => (v.patient.clone(), v.date, v.copay),
        None => {
            let date = match &a.date {
                Some(d) => parse_day(d, store.office.today()).map_err(|e| e.at("--date"))?,
                None => store.office.today(),
            };
            (
                patient_id(a.patient.as_deref().unwrap_or_default())?,
                date,
                CopayKind::Office,
            )
        }
    };
    let schedule = store.load_services()?;
    let lines = a
        .services
        .iter()
        .map(|code| {
            let s = schedule.lookup(code)?;
            Ok(ServiceLine {
                code: s.code.clone(),
                description: s.description.clone(),
                fee: s.fee,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let copay = a
        .copay
        .as_deref()
        .map(|c| parse_money_or_zero("--copay", c))
        .transpose()?;
    let posting = Posting::begin(&store, &pid)?;
    let mut entry = build(&posting, lines, date, a.bill_to, copay, copay_kind)?;
    entry.appointment = visit.map(|v| v.id);
    posting.post_and_report(ctx, &entry)?;
    Ok(exit::OK)
}

/// What a charge takes from its appointment.
struct Visit {
    id: Id,
    patient: Id,
    date: chrono::NaiveDate,
    copay: CopayKind,
}

/// Reads the appointment: its patient, its office-local day and the co-pay its type draws.
/// A cancelled, rescheduled or mistaken appointment is not charged.
fn visit(store: &Store, id: &Id) -> Result<Visit> {
    let appt = store.load_appointment(id)?;
    if matches!(
        appt.status,
        Status::Cancelled | Status::Rescheduled | Status::EnteredInError
    ) {
        return Err(Error::user(format!(
            "appointment {id} is {}; it is not charged",
            appt.status.as_str()
        ))
        .hint("charge a late-cancel fee with --patient instead of --appointment"));
    }
    let copay = store
        .appointment_types()?
        .get(&appt.kind)
        .map(|t| t.copay)
        .unwrap_or_default();
    let tz = store.office.tz()?;
    Ok(Visit {
        id: appt.id.clone(),
        patient: appt.patient.clone(),
        date: crate::domain::schedule::localtime::wall(tz, appt.start).date(),
        copay,
    })
}

/// The charge entry: services, who pays, and the patient's part when insurance is billed.
pub fn build(
    posting: &Posting,
    lines: Vec<ServiceLine>,
    date: chrono::NaiveDate,
    bill_to: Option<BillTo>,
    copay: Option<Decimal>,
    copay_kind: CopayKind,
) -> Result<crate::domain::ledger::Entry> {
    let amount: Decimal = lines.iter().map(|l| l.fee).sum();
    check_positive("the charge", amount)?;
    let insured = posting.patient.coverage_on(1, date).is_some();
    let bill_to = bill_to.unwrap_or(if insured {
        BillTo::Insurance
    } else {
        BillTo::Patient
    });
    let mut e = posting.entry(Kind::Charge, amount);
    e.date = date;
    e.bill_to = Some(bill_to);
    if bill_to == BillTo::Insurance {
        let portion =
            copay.or_else(|| copay_due(&posting.patient, copay_kind, date).map(|c| c.amount));
        if portion.is_some_and(|p| p > amount) {
            return Err(Error::user("--copay is more than the charge")
                .hint("the patient's part cannot exceed what is charged"));
        }
        e.patient_portion = portion.filter(|p| !p.is_zero());
    } else if copay.is_some() {
        return Err(
            Error::user("--copay applies only to charges billed to insurance")
                .hint("add --bill-to insurance, or leave out --copay"),
        );
    }
    e.services = lines;
    Ok(e)
}
