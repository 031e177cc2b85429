//! `frontdesk index rebuild`: throw the disposable search index away and build it again.

use clap::Subcommand;

use crate::cli::Ctx;
use crate::cli::patient::warn_problems;
use crate::derived::{index, ledger_cache, patient_ledger_cache, schedule_index};
use crate::error::{Result, exit};

#[derive(Debug, Subcommand)]
pub enum Command {
    Rebuild(RebuildArgs),
}

/// Rebuild the patient and appointment indexes under .frontdesk/ from the record files.
///
/// Never needed for correctness (every command checks the index against the files and
/// refreshes what changed), but handy after restoring a backup or to time a cold start.
#[derive(Debug, clap::Args)]
pub struct RebuildArgs {}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Rebuild(_) => {
            let store = ctx.open()?;
            let txn = store.begin()?;
            let patients = index::rebuild(txn.store())?;
            // The ledger cache is rebuilt by the next statement run.
            ledger_cache::remove(&store)?;
            patient_ledger_cache::remove(&store)?;
            // So is the check cache, by the next `check`.
            store.remove_check_cache()?;
            warn_problems(&patients.problems);
            let appointments = schedule_index::rebuild(&store, &schedule_index::APPOINTMENTS)?;
            let entries = schedule_index::rebuild(&store, &schedule_index::LEDGER)?;
            let comms = schedule_index::rebuild(&store, &schedule_index::COMMUNICATIONS)?;
            ctx.say(&format!("Indexed {comms} communications"));
            ctx.say(&format!("Indexed {appointments} appointments"));
            ctx.say(&format!("Indexed {entries} ledger entries"));
            ctx.say(&format!(
                "Indexed {} patients{}",
                patients.len(),
                match patients.problems.len() {
                    0 => String::new(),
                    n => format!(" ({n} unreadable files skipped)"),
                }
            ));
            Ok(exit::OK)
        }
    }
}
