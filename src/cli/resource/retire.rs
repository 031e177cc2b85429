use crate::cli::Ctx;
use crate::cli::resource::modify;
use crate::error::{Error, Result, exit};

/// Stop referring to a service (it closed, or the office no longer uses it). The file stays,
/// so past referrals still name it; `find` and `match` leave it out.
#[derive(Debug, clap::Args)]
pub struct Args {
    pub slug: String,
}

pub fn cmd_retire(ctx: &Ctx, a: Args) -> Result<u8> {
    modify(
        ctx,
        &a.slug,
        &format!("Retire resource {}.", a.slug),
        |r, store| {
            if r.retired.is_some() {
                return Err(Error::user(format!(
                    "resource {} is already retired",
                    r.slug
                )));
            }
            r.retired = Some(store.office.today());
            Ok(())
        },
    )?;
    ctx.say(&format!("resource {} retired", a.slug));
    Ok(exit::OK)
}
