//! `frontdesk survey …`: patient-satisfaction survey responses (CG-CAHPS model): typed in from
//! a paper form (`add`), imported from a survey vendor's CSV (`import`), asked for after a
//! visit through the letter outbox (`send`), listed and shown; `report satisfaction` analyses
//! them. One file per command; the rules are in `src/domain/survey/`. See docs/satisfaction.md.

mod add;
pub mod demo;
mod import;
mod list;
mod send;
mod show;

use clap::Subcommand;

use crate::cli::Ctx;
use crate::domain::id::{Id, IdKind};
use crate::domain::schedule::{Appointment, Status};
use crate::domain::survey::instrument::Instrument;
use crate::error::{Error, Result};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum Command {
    Add(add::Args),
    List(list::Args),
    Show(show::Args),
    Import(import::Args),
    Send(send::Args),
    Demo(demo::Args),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Add(a) => add::cmd_add(ctx, a),
        Command::List(a) => list::cmd_list(ctx, a),
        Command::Show(a) => show::cmd_show(ctx, a),
        Command::Import(a) => import::cmd_import(ctx, a),
        Command::Send(a) => send::cmd_send(ctx, a),
        Command::Demo(a) => demo::cmd_demo(ctx, a),
    }
}

pub fn survey_id(s: &str) -> Result<Id> {
    Id::parse_kind(s, IdKind::Survey)
}

/// Why a visit cannot be surveyed (or has been already): the appointment must have been
/// checked out, and, unless the instrument allows repeats, have no response yet.
pub fn refuse_visit(store: &Store, inst: &Instrument, a: &Appointment) -> Result<()> {
    if a.status != Status::Fulfilled {
        return Err(Error::user(format!(
            "appointment {} was not checked out ({})",
            a.id,
            a.status.as_str()
        ))
        .hint("a survey is about a visit that took place; file an anonymous response with --provider and --month otherwise"));
    }
    if !inst.repeat_responses {
        let filed = store.surveys_of_appointment(&a.id, a.date())?;
        if let Some(first) = filed.first() {
            return Err(Error::conflict(format!(
                "appointment {} already has a response ({first})",
                a.id
            ))
            .hint("one response per visit is counted; correct that response's file instead, or set repeat_responses = true in survey-instrument.toml"));
        }
    }
    Ok(())
}
