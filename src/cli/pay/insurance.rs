use rust_decimal::Decimal;

use crate::cli::Ctx;
use crate::cli::pay::{Posting, entry_id, one_line, patient_id};
use crate::domain::id::{Id, IdKind};
use crate::domain::ledger::{Entry, Kind, pending_charges};
use crate::domain::money::{parse_money, parse_money_or_zero};
use crate::error::{Error, Result, exit};

/// Record a payment from an insurance payer (from its EOB or remittance).
///
/// It settles the charges it names (or all of an appointment's charges waiting for insurance,
/// or all of the patient's): from then on, what remains of them is the patient's to pay.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The patient (P…).
    #[arg(long)]
    pub patient: String,
    /// The payer's key (see `frontdesk payer list`).
    #[arg(long)]
    pub payer: String,
    /// What the payer paid.
    #[arg(long, allow_hyphen_values = true)]
    pub paid: String,
    /// The payer's claim number.
    #[arg(long)]
    pub claim: Option<String>,
    /// The EOB or remittance number.
    #[arg(long = "ref", value_name = "REF")]
    pub reference: Option<String>,
    /// The amount the payer allows for the services.
    #[arg(long, allow_hyphen_values = true)]
    pub allowed: Option<String>,
    /// Contractual adjustment written off under the payer's contract (default: billed − allowed
    /// when --allowed is given, else 0).
    #[arg(long, allow_hyphen_values = true)]
    pub contractual: Option<String>,
    /// What the EOB says the patient owes (deductible, co-insurance, co-pay).
    #[arg(
        long = "patient-resp",
        value_name = "AMOUNT",
        allow_hyphen_values = true
    )]
    pub patient_resp: Option<String>,
    /// The charges it settles (T…); repeat for several.
    #[arg(long = "charge", value_name = "ENTRY")]
    pub charges: Vec<String>,
    /// Settle the charges of this appointment (A…).
    #[arg(long, conflicts_with = "charges")]
    pub appointment: Option<String>,
}

pub fn cmd_insurance(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let pid = patient_id(&a.patient)?;
    store.load_payer(&a.payer)?;
    let paid = parse_money("--paid", &a.paid)?;
    let amount = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| parse_money_or_zero(flag, s))
            .transpose()
    };
    let allowed = amount("--allowed", &a.allowed)?;
    let contractual = amount("--contractual", &a.contractual)?;
    let patient_resp = amount("--patient-resp", &a.patient_resp)?;
    let named = a
        .charges
        .iter()
        .map(|c| entry_id(c))
        .collect::<Result<Vec<_>>>()?;
    let appointment = a
        .appointment
        .as_deref()
        .map(|s| Id::parse_kind(s, IdKind::Appointment))
        .transpose()?;
    if let Some(id) = &appointment {
        crate::cli::pay::collect::check_appointment(&store, id, &pid)?;
    }
    let posting = Posting::begin(&store, &pid)?;
    let settled = settled_charges(&posting.entries, &named, appointment.as_ref())?;
    let billed: Decimal = settled.iter().map(|c| c.amount).sum();
    let contractual = contractual_for(billed, paid, allowed, contractual, patient_resp)?;
    let mut e = posting.entry(Kind::InsurancePayment, paid);
    e.payer = Some(a.payer.clone());
    e.claim = a
        .claim
        .as_deref()
        .map(|c| one_line("--claim", c, 40))
        .transpose()?;
    e.reference = a
        .reference
        .as_deref()
        .map(|r| one_line("--ref", r, 40))
        .transpose()?;
    e.allowed = allowed;
    e.contractual = (!contractual.is_zero()).then_some(contractual);
    e.patient_responsibility = patient_resp;
    e.appointment = appointment;
    e.charges = settled.iter().map(|c| c.id.clone()).collect();
    posting.post_and_report(ctx, &e)?;
    Ok(exit::OK)
}

/// The charges this payment settles: the named ones, else the appointment's, else every
/// charge of the patient still waiting for insurance. Each must be waiting.
fn settled_charges<'a>(
    entries: &'a [Entry],
    named: &[Id],
    appt: Option<&Id>,
) -> Result<Vec<&'a Entry>> {
    let pending = pending_charges(entries);
    let chosen: Vec<&Entry> = if !named.is_empty() {
        named
            .iter()
            .map(|id| {
                pending.iter().copied().find(|c| &c.id == id).ok_or_else(|| {
                    Error::user(format!("{id} is not a charge waiting for insurance on this patient's ledger"))
                        .hint("it may be billed to the patient, voided, or settled already; see `frontdesk pay ledger PATIENT`")
                })
            })
            .collect::<Result<_>>()?
    } else {
        pending
            .into_iter()
            .filter(|c| appt.is_none() || c.appointment.as_ref() == appt)
            .collect()
    };
    if chosen.is_empty() {
        return Err(Error::user("no charges are waiting for insurance here")
            .hint("charge the visit first with `frontdesk pay charge`, or name the charges with --charge"));
    }
    Ok(chosen)
}

/// Works out the contractual adjustment and checks the EOB adds up: allowed = paid + patient
/// responsibility, and paid + contractual never more than was billed.
fn contractual_for(
    billed: Decimal,
    paid: Decimal,
    allowed: Option<Decimal>,
    contractual: Option<Decimal>,
    patient_resp: Option<Decimal>,
) -> Result<Decimal> {
    if let Some(al) = allowed {
        if al > billed {
            return Err(Error::user("--allowed is more than the charges billed"));
        }
        if let Some(pr) = patient_resp
            && paid + pr != al
        {
            return Err(
                Error::user("--paid plus --patient-resp does not equal --allowed")
                    .hint("check the figures on the EOB"),
            );
        }
    }
    let c = contractual.unwrap_or_else(|| allowed.map_or(Decimal::ZERO, |al| billed - al));
    if paid + c > billed {
        return Err(Error::user(
            "--paid plus the contractual adjustment is more than the charges billed",
        )
        .hint("check the figures on the EOB, and which charges it covers"));
    }
    Ok(c)
}
