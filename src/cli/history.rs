use crate::domain::id::{Id, IdKind};
use crate::error::{Error, Result};
use crate::render::{Cell, Table};
use crate::store::Store;

/// List the commits that touched a record: who changed it, when, and how.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A record ID (patient P…, appointment A…, ledger entry T…).
    pub id: String,
}

pub fn cmd_history(ctx: &crate::cli::Ctx, args: Args) -> Result<u8> {
    let store = ctx.open()?;
    let id = Id::parse(&args.id)?;
    if !store.is_git() {
        return Err(Error::user(format!("{} is not a git repository, so there is no history", store.root().display()))
            .hint("run `git init` in the records tree (or create it with `frontdesk init`) to keep an audit trail"));
    }
    let rel = match id.kind() {
        IdKind::Patient => Store::patient_rel(&id),
        _ => store.find_record(&id)?,
    };
    let log = crate::store::git::history(store.root(), &rel)?;
    let mut t = Table::new(&["commit", "date", "author", "change"]);
    for e in &log {
        t.push(vec![
            Cell::from(e.commit.as_str()),
            Cell::from(e.date.as_str()),
            Cell::from(e.author.as_str()),
            Cell::from(e.message.as_str()),
        ]);
    }
    if log.is_empty() {
        return Err(Error::not_found(format!("no history for {id}")));
    }
    t.print(ctx.format)?;
    Ok(0)
}
