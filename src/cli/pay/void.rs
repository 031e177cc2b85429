use crate::cli::Ctx;
use crate::cli::pay::{Posting, entry_id, one_line};
use crate::domain::ledger::{Kind, check_voidable};
use crate::error::{Error, Result, exit};

/// Reverse one ledger entry with a voiding entry (entries are never edited or deleted).
///
/// A void cannot itself be voided, and an entry can be voided only once.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The entry to void (T…).
    pub entry: String,
    /// Why (kept in the entry; not in the commit message).
    #[arg(long)]
    pub reason: String,
}

pub fn cmd_void(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let id = entry_id(&a.entry)?;
    let reason = one_line("--reason", &a.reason, 200)?;
    let target = store.find_entry(&id)?;
    let posting = Posting::begin(&store, &target.patient)?;
    // Read again under the lock: the entry list is the truth, the first read only found it.
    let target = posting
        .entries
        .iter()
        .find(|e| e.id == id)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("no ledger entry {id}")))?;
    check_voidable(&posting.entries, &target)?;
    let mut e = posting.entry(Kind::Void, target.amount);
    e.voids = Some(target.id.clone());
    // The method lets a closeout take a voided payment out of the right drawer.
    e.method = target.method;
    e.reason = Some(reason);
    posting.post_and_report(ctx, &e)?;
    Ok(exit::OK)
}
