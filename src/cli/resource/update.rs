use crate::cli::Ctx;
use crate::cli::resource::{Fields, modify};
use crate::error::{Result, exit};

/// Change a resource's details. Only the flags given change; a list flag (--need, --area,
/// --language, --open) given replaces that list.
#[derive(Debug, clap::Args)]
pub struct Args {
    pub slug: String,
    #[command(flatten)]
    pub fields: Fields,
}

pub fn cmd_update(ctx: &Ctx, a: Args) -> Result<u8> {
    let r = modify(
        ctx,
        &a.slug,
        &format!("Update resource {}.", a.slug),
        |r, store| a.fields.apply(r, store),
    )?;
    ctx.say(&format!("resource {} saved", r.slug));
    Ok(exit::OK)
}
