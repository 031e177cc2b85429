use crate::cli::Ctx;
use crate::cli::pay::entry_id;
use crate::error::{Error, Result, exit};
use crate::store::Store;

/// Print a payment's receipt again, exactly as it was printed when the payment was taken.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The payment (T…).
    pub entry: String,
}

pub fn cmd_receipt(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let id = entry_id(&a.entry)?;
    let entry = store.find_entry(&id)?;
    let path = store.path(&Store::receipt_rel(entry.date, &id));
    let bytes = std::fs::read(&path).map_err(|_| {
        Error::not_found(format!("ledger entry {id} has no kept receipt"))
            .hint("receipts are kept for payments taken with `frontdesk pay collect`")
    })?;
    crate::cli::letter::print_bytes(&bytes)?;
    Ok(exit::OK)
}
