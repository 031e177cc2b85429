//! `frontdesk comm …`: the communications log (docs/comms.md). One file per command; the
//! listing columns and small shared checks live here.

mod done;
mod due;
mod list;
mod log;
mod show;

use clap::Subcommand;

pub use log::{LogRequest, log_communication};

use crate::cli::Ctx;
use crate::domain::comm::Communication;
use crate::domain::id::{Id, IdKind};
use crate::error::Result;
use crate::render::{Cell, Table};

#[derive(Debug, Subcommand)]
pub enum Command {
    Log(log::Args),
    List(list::Args),
    Due(due::Args),
    Done(done::Args),
    Show(show::Args),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Log(a) => log::cmd_log(ctx, a),
        Command::List(a) => list::cmd_list(ctx, a),
        Command::Due(a) => due::cmd_due(ctx, a),
        Command::Done(a) => done::cmd_done(ctx, a),
        Command::Show(a) => show::cmd_show(ctx, a),
    }
}

pub fn comm_id(s: &str) -> Result<Id> {
    Id::parse_kind(s, IdKind::Communication)
}

/// "contact Ana Lopez (daughter)", "payer aetna ref 12345", "patient".
pub fn party_text(c: &Communication) -> String {
    let mut s = c.party.as_str().to_string();
    if let Some(w) = &c.with {
        s.push(' ');
        s.push_str(w);
    }
    if let Some(r) = &c.relation {
        s.push_str(&format!(" ({r})"));
    }
    if let Some(r) = &c.reference {
        s.push_str(&format!(" ref {r}"));
    }
    s
}

/// open, done, or nothing (no follow-up).
pub fn state(c: &Communication) -> &'static str {
    match (c.follow_up, c.done) {
        (None, _) => "",
        (Some(_), None) => "open",
        (Some(_), Some(_)) => "done",
    }
}

pub fn day_cell(d: Option<chrono::NaiveDate>) -> Cell {
    d.map(Cell::day).unwrap_or_else(|| Cell::from(""))
}

/// The listing of `comm list` and `patient show`'s open follow-ups.
pub fn table() -> Table {
    Table::new(&[
        "id",
        "at",
        "patient",
        "with",
        "channel",
        "direction",
        "summary",
        "follow_up",
        "assign",
        "state",
    ])
}

pub fn row(c: &Communication) -> Vec<Cell> {
    vec![
        Cell::code(c.id.to_string()),
        Cell::from(c.at.format("%Y-%m-%d %H:%M").to_string()),
        Cell::code(c.patient.as_ref().map(Id::to_string).unwrap_or_default()),
        Cell::from(party_text(c)),
        Cell::from(c.channel.as_str()),
        Cell::from(c.direction.as_str()),
        Cell::from(c.summary.as_str()),
        day_cell(c.follow_up),
        Cell::from(c.assign.clone()),
        Cell::from(state(c)),
    ]
}
