use crate::cli::Ctx;
use crate::cli::pay::{Posting, one_line, patient_id};
use crate::domain::ledger::{Kind, Method, check_reference, refundable};
use crate::domain::money::parse_money;
use crate::error::{Error, Result, exit};

/// Give money back to a patient; never more than they paid and were not yet refunded.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The patient (P…).
    #[arg(long)]
    pub patient: String,
    #[arg(long, allow_hyphen_values = true)]
    pub amount: String,
    #[arg(long, value_enum)]
    pub method: Method,
    /// Check number, or the card's last four digits.
    #[arg(long = "ref", value_name = "REF")]
    pub reference: Option<String>,
    /// Why.
    #[arg(long)]
    pub reason: String,
}

pub fn cmd_refund(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let pid = patient_id(&a.patient)?;
    let amount = parse_money("--amount", &a.amount)?;
    let reference = check_reference(a.method, a.reference.as_deref())?;
    let reason = one_line("--reason", &a.reason, 200)?;
    let posting = Posting::begin(&store, &pid)?;
    if amount > refundable(&posting.entries) {
        return Err(Error::user(
            "the refund is more than the patient has paid and not yet been refunded",
        )
        .hint("see what was paid with `frontdesk pay ledger PATIENT`"));
    }
    let mut e = posting.entry(Kind::Refund, amount);
    e.method = Some(a.method);
    e.reference = reference;
    e.reason = Some(reason);
    posting.post_and_report(ctx, &e)?;
    Ok(exit::OK)
}
