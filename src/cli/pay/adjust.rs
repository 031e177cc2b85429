use crate::cli::Ctx;
use crate::cli::pay::{PatientAmount, Posting, one_line};
use crate::domain::ledger::{AdjustmentKind, Kind, balance};
use crate::error::{Error, Result, exit};

/// Adjust a patient's balance down: a write-off, a discount or financial hardship.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub money: PatientAmount,
    #[arg(long, value_enum)]
    pub kind: AdjustmentKind,
    /// Why (kept in the entry; not in the commit message).
    #[arg(long)]
    pub reason: String,
}

pub fn cmd_adjust(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let (pid, amount) = a.money.parse()?;
    let reason = one_line("--reason", &a.reason, 200)?;
    let posting = Posting::begin(&store, &pid)?;
    if amount > balance(&posting.entries).total {
        return Err(
            Error::user("the adjustment is more than the patient's balance")
                .hint("an adjustment cannot create a credit; see `frontdesk pay balance PATIENT`"),
        );
    }
    let mut e = posting.entry(Kind::Adjustment, amount);
    e.adjustment = Some(a.kind);
    e.reason = Some(reason);
    posting.post_and_report(ctx, &e)?;
    Ok(exit::OK)
}
