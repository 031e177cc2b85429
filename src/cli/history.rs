use std::path::PathBuf;

use crate::derived::schedule_index;
use crate::domain::id::{Id, IdKind};
use crate::error::{Error, Result};
use crate::render::{Cell, Table};
use crate::store::Store;

/// List the commits that touched a record: who changed it, when, and how.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A record ID (patient P…, appointment A…, ledger entry T…, communication C…).
    pub id: String,
}

pub fn cmd_history(ctx: &crate::cli::Ctx, args: Args) -> Result<u8> {
    let store = ctx.open()?;
    let id = Id::parse(&args.id)?;
    if !store.is_git() {
        return Err(Error::user(format!("{} is not a git repository, so there is no history", store.root().display()))
            .hint("run `git init` in the records tree (or create it with `frontdesk init`) to keep an audit trail"));
    }
    let rel = record_rel(&store, &id)?;
    let log = crate::history::git::history(store.root(), &rel)?;
    let mut t = Table::new(&["commit", "date", "author", "change"]);
    let tz = store.office.tz()?;
    for e in &log {
        // git keeps each commit's own offset (UTC for the tool's commits); the desk reads
        // office time, as everywhere else.
        let when = chrono::DateTime::parse_from_rfc3339(&e.date)
            .map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string())
            .unwrap_or_else(|_| e.date.clone());
        t.push(vec![
            Cell::code(e.commit.as_str()),
            Cell::from(when),
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

/// Where the record lives, going straight to its kind's place: an appointment's or a ledger
/// entry's day through its index, an entity by its ID. Never a walk of the tree.
fn record_rel(store: &Store, id: &Id) -> Result<PathBuf> {
    let rel = match id.kind() {
        IdKind::Patient => Some(Store::patient_rel(id)),
        IdKind::Series => Some(Store::series_rel(id)),
        IdKind::Waitlist => Some(Store::waitlist_rel(id)),
        IdKind::Appointment => {
            schedule_index::date_of(store, id)?.map(|day| Store::appointment_rel(day, id))
        }
        IdKind::Transaction => schedule_index::date_in(store, &schedule_index::LEDGER, id)?
            .map(|day| Store::ledger_rel(day, id)),
        IdKind::Communication => {
            schedule_index::date_in(store, &schedule_index::COMMUNICATIONS, id)?
                .map(|day| Store::communication_rel(day, id))
        }
        IdKind::Letter => store.letter_day(id)?.map(|day| Store::letter_rel(day, id)),
        IdKind::Survey => store.survey_month_of(id)?.map(|m| Store::survey_rel(m, id)),
    };
    rel.filter(|rel| store.path(rel).is_file())
        .ok_or_else(|| {
            Error::not_found(format!("no {} {id}", id.kind().noun()))
                .hint("check the ID: `frontdesk patient find NAME`, `schedule list --patient ID` and `pay ledger ID` show the IDs in use")
        })
}
