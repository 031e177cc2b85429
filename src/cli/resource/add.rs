use crate::cli::Ctx;
use crate::cli::resource::Fields;
use crate::domain::resource::Resource;
use crate::error::{Error, Result, exit};
use crate::store::{Mode, Store};

/// Add a community service to the directory. Adding it counts as verifying it today.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Short name for the file, lowercase with hyphens (e.g. ride-share-medical).
    pub slug: String,
    #[command(flatten)]
    pub fields: Fields,
}

pub fn cmd_add(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let rel = Store::resource_rel(&a.slug)?;
    for (flag, given) in [
        ("--organization", a.fields.organization.is_some()),
        ("--name", a.fields.name.is_some()),
        ("--need", !a.fields.needs.is_empty()),
    ] {
        if !given {
            return Err(Error::user(format!("{flag} is required")));
        }
    }
    let mut r = Resource::new(&a.slug);
    a.fields.apply(&mut r, &store)?;
    r.verified_on = Some(store.office.today());
    r.verified_by = Some(store.options.user.clone());
    r.validate()?;
    let mut txn = store.begin()?;
    if store.path(&rel).exists() {
        return Err(Error::user(format!("resource {} already exists", a.slug))
            .hint("change it with `frontdesk resource update`, or choose another slug"));
    }
    txn.put(&rel, &r, Mode::CreateNew)?;
    txn.commit(&format!("Add resource {}.", r.slug))?;
    ctx.say(&format!("resource {} added", r.slug));
    Ok(exit::OK)
}
