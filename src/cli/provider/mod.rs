//! `frontdesk provider …`: who sees patients, and when.

mod add;
mod hours;
mod list;
mod retire;
mod show;
mod timeoff;

use clap::Subcommand;

use crate::cli::Ctx;
use crate::domain::schedule::Provider;
use crate::error::Result;
use crate::store::{Mode, Store};

#[derive(Debug, Subcommand)]
pub enum Command {
    Add(add::Args),
    List(list::Args),
    Show(show::Args),
    Hours(hours::Args),
    Timeoff(timeoff::Args),
    Retire(retire::Args),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Add(a) => add::cmd_add(ctx, a),
        Command::List(a) => list::cmd_list(ctx, a),
        Command::Show(a) => show::cmd_show(ctx, a),
        Command::Hours(a) => hours::cmd_hours(ctx, a),
        Command::Timeoff(a) => timeoff::cmd_timeoff(ctx, a),
        Command::Retire(a) => retire::cmd_retire(ctx, a),
    }
}

/// One read-modify-write of a provider under the lock, validated, with one commit.
pub fn modify(
    ctx: &Ctx,
    key: &str,
    what: &str,
    change: impl FnOnce(&Store, &mut Provider) -> Result<()>,
) -> Result<Provider> {
    let store = ctx.open()?;
    let rel = Store::provider_rel(key)?;
    let mut txn = store.begin()?;
    let mut p = store.load_provider(key)?;
    change(&store, &mut p)?;
    p.validate()?;
    txn.put(&rel, &p, Mode::Replace)?;
    txn.commit(&format!("Update provider {key}: {what}."))?;
    Ok(p)
}
