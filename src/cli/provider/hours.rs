use crate::cli::Ctx;
use crate::cli::provider::modify;
use crate::domain::schedule::provider::{hours_spec, parse_hours_spec};
use crate::error::{Error, Result, exit};
use crate::render;

/// Show or replace a provider's weekly hours.
///
/// With --set (repeatable) the weekly hours are replaced by exactly the given lines. Existing
/// appointments are not moved; `schedule day` shows any that now fall outside the hours.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Provider key.
    pub key: String,
    /// "mon-fri 08:00-17:00 break 12:00-13:00 [at LOCATION]"; repeat for more sessions.
    #[arg(long)]
    pub set: Vec<String>,
    /// Remove all weekly hours (the provider takes no new bookings).
    #[arg(long, conflicts_with = "set")]
    pub clear: bool,
}

pub fn cmd_hours(ctx: &Ctx, a: Args) -> Result<u8> {
    if a.set.is_empty() && !a.clear {
        let p = ctx.open()?.load_provider(&a.key)?;
        let lines: Vec<String> = p.hours.iter().map(hours_spec).collect();
        if lines.is_empty() {
            return Err(
                Error::not_found(format!("provider {} has no weekly hours", a.key))
                    .hint("set them with --set \"mon-fri 08:00-17:00\""),
            );
        }
        render::print(&format!("{}\n", lines.join("\n")))?;
        return Ok(exit::OK);
    }
    let hours = a
        .set
        .iter()
        .map(|h| parse_hours_spec(h).map_err(|e| e.at("--set")))
        .collect::<Result<Vec<_>>>()?;
    modify(ctx, &a.key, "weekly hours", |_, p| {
        p.hours = hours;
        Ok(())
    })?;
    ctx.say(&format!("hours of {} updated", a.key));
    Ok(exit::OK)
}
