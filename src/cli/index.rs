//! `frontdesk index rebuild`: throw every disposable cache away (the registry,
//! [`crate::derived::CACHES`]), building the indexes again at once.

use clap::Subcommand;

use crate::cli::Ctx;
use crate::cli::patient::warn_problems;
use crate::derived::{CACHES, Rebuild};
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
            for cache in CACHES {
                match &cache.rebuild {
                    Rebuild::Later(remove) => remove(txn.store())?,
                    Rebuild::Now { what, build } => {
                        let built = build(txn.store())?;
                        warn_problems(&built.problems);
                        ctx.say(&format!(
                            "Indexed {} {what}{}",
                            built.count,
                            match built.problems.len() {
                                0 => String::new(),
                                n => format!(" ({n} unreadable files skipped)"),
                            }
                        ));
                    }
                }
            }
            Ok(exit::OK)
        }
    }
}
