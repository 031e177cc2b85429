//! `frontdesk service …`: the fee schedule (`services.toml`), CPT/HCPCS codes and their fees.

mod add;
mod list;
mod update;

use clap::Subcommand;

use crate::cli::Ctx;
use crate::error::Result;

#[derive(Debug, Subcommand)]
pub enum Command {
    List(list::Args),
    Add(add::Args),
    Update(update::Args),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::List(a) => list::cmd_list(ctx, a),
        Command::Add(a) => add::cmd_add(ctx, a),
        Command::Update(a) => update::cmd_update(ctx, a),
    }
}

/// A description is one line of text on statements.
pub fn description(s: &str) -> Result<String> {
    crate::cli::pay::one_line("--description", s, 120)
}
