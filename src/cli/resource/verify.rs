use crate::cli::Ctx;
use crate::cli::resource::modify;
use crate::domain::comm::staff_key;
use crate::error::{Result, exit};

/// Stamp a re-check: the service still runs as the record says (call them, or check their
/// site). Clears the 12-month flag.
#[derive(Debug, clap::Args)]
pub struct Args {
    pub slug: String,
    /// Who checked (default: the staff user running the command).
    #[arg(long, value_name = "USER")]
    pub by: Option<String>,
}

pub fn cmd_verify(ctx: &Ctx, a: Args) -> Result<u8> {
    if let Some(by) = &a.by {
        staff_key("--by", by)?;
    }
    let r = modify(
        ctx,
        &a.slug,
        &format!("Verify resource {}.", a.slug),
        |r, store| {
            r.verified_on = Some(store.office.today());
            r.verified_by = Some(a.by.clone().unwrap_or_else(|| store.options.user.clone()));
            Ok(())
        },
    )?;
    ctx.say(&format!(
        "resource {} verified {}",
        r.slug,
        r.verified_on.map(|d| d.to_string()).unwrap_or_default()
    ));
    Ok(exit::OK)
}
