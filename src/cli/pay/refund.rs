use crate::cli::Ctx;
use crate::cli::pay::{PatientAmount, Posting, Tender, one_line};
use crate::domain::ledger::{Kind, refundable};
use crate::error::{Error, Result, exit};

/// Give money back to a patient; never more than they paid and were not yet refunded.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub money: PatientAmount,
    #[command(flatten)]
    pub tender: Tender,
    /// Why.
    #[arg(long)]
    pub reason: String,
}

pub fn cmd_refund(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let (pid, amount) = a.money.parse()?;
    let reference = a.tender.reference()?;
    let reason = one_line("--reason", &a.reason, 200)?;
    let posting = Posting::begin(&store, &pid)?;
    if amount > refundable(&posting.entries) {
        return Err(Error::user(
            "the refund is more than the patient has paid and not yet been refunded",
        )
        .hint("see what was paid with `frontdesk pay ledger PATIENT`"));
    }
    let mut e = posting.entry(Kind::Refund, amount);
    e.method = Some(a.tender.method);
    e.reference = reference;
    e.reason = Some(reason);
    posting.post_and_report(ctx, &e)?;
    Ok(exit::OK)
}
