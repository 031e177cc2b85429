//! `frontdesk patient …`: demographics, contacts and insurance.

mod add;
mod deactivate;
mod edit;
mod fields;
mod find;
mod import;
mod insurance;
mod list;
mod merge;
mod needs;
mod show;
mod update;

use clap::Subcommand;

pub use find::warn_problems;

use crate::cli::Ctx;
use crate::cli::patient::fields::Rules;
use crate::domain::id::{Id, IdKind};
use crate::domain::patient::Patient;
use crate::error::Result;
use crate::store::Mode;

#[derive(Debug, Subcommand)]
pub enum Command {
    Add(add::Args),
    Show(show::Args),
    Edit(edit::Args),
    Update(update::Args),
    Find(find::Args),
    List(list::Args),
    Import(import::Args),
    Deactivate(deactivate::Args),
    Merge(merge::Args),
    Needs(needs::Args),
    /// A patient's coverages and eligibility checks.
    #[command(subcommand)]
    Insurance(insurance::Command),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Add(a) => add::cmd_add(ctx, a),
        Command::Show(a) => show::cmd_show(ctx, a),
        Command::Edit(a) => edit::cmd_edit(ctx, a),
        Command::Update(a) => update::cmd_update(ctx, a),
        Command::Find(a) => find::cmd_find(ctx, a),
        Command::List(a) => list::cmd_list(ctx, a),
        Command::Import(a) => import::cmd_import(ctx, a),
        Command::Deactivate(a) => deactivate::cmd_deactivate(ctx, a),
        Command::Merge(a) => merge::cmd_merge(ctx, a),
        Command::Needs(a) => needs::cmd_needs(ctx, a),
        Command::Insurance(c) => insurance::run(ctx, c),
    }
}

pub fn patient_id(s: &str) -> Result<Id> {
    Id::parse_kind(s, IdKind::Patient)
}

/// The one read-modify-write of a patient: under the write lock, load the record, let `change`
/// alter it, validate the result, and save it with one commit ("Update patient P…: phones.")
/// that names the changed fields but no values. Returns the changed field names (none: nothing
/// was written).
pub fn modify(
    ctx: &Ctx,
    id: &Id,
    verb: &str,
    change: impl FnOnce(&mut Patient, &Rules) -> Result<()>,
) -> Result<Vec<String>> {
    let store = ctx.open()?;
    let now = store.office.now().fixed_offset();
    let rules = Rules {
        today: now.date_naive(),
        calling_code: store.office.calling_code(),
        country: &store.office.country,
    };
    let mut txn = store.begin()?;
    let before = store.load_patient(id)?;
    let mut p = before.clone();
    change(&mut p, &rules)?;
    p.validate(rules.today, rules.calling_code, rules.country)?;
    let fields = update::changed_fields(&before, &p)?;
    if fields.is_empty() {
        return Ok(fields);
    }
    p.updated = now;
    txn.save_patient(&p, Mode::Replace)?;
    txn.commit(&format!("{verb} patient {id}: {}.", fields.join(", ")))?;
    Ok(fields)
}
