use crate::cli::Ctx;
use crate::cli::provider::modify;
use crate::error::{Error, Result, exit};

/// Mark a provider inactive (left the practice, long leave): no free times are offered with
/// them and nothing new can be booked. The record and every past visit stay; `--undo` brings
/// the provider back. Visits already booked stay booked: move them with `schedule move`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Provider key.
    pub key: String,
    /// Make a retired provider active again.
    #[arg(long)]
    pub undo: bool,
}

pub fn cmd_retire(ctx: &Ctx, a: Args) -> Result<u8> {
    let what = if a.undo { "active again" } else { "retired" };
    modify(ctx, &a.key, what, |_, p| {
        if p.active != a.undo {
            p.active = a.undo;
            Ok(())
        } else {
            Err(Error::user(format!("provider {} is already {what}", p.key)))
        }
    })?;
    if !a.undo {
        eprintln!(
            "frontdesk: note: provider {} is retired; visits already booked with them stay booked (see `frontdesk schedule week --provider {}`)",
            a.key, a.key
        );
    }
    ctx.say(&format!("provider {} is {what}", a.key));
    Ok(exit::OK)
}
