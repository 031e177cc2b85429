//! `frontdesk room …`: the rooms and equipment appointment types can need, set up from the
//! command line (validated, one commit each, files 0600) instead of by editing TOML.

use clap::Subcommand;

use crate::cli::{Ctx, found};
use crate::domain::schedule::room::{self, Room};
use crate::error::{Error, Result, exit};
use crate::render::{Cell, Table};
use crate::store::{Mode, Store};

#[derive(Debug, Subcommand)]
pub enum Command {
    Add(AddArgs),
    Update(UpdateArgs),
    List(ListArgs),
    Retire(RetireArgs),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Add(a) => cmd_add(ctx, a),
        Command::Update(a) => cmd_update(ctx, a),
        Command::List(a) => cmd_list(ctx, a),
        Command::Retire(a) => cmd_retire(ctx, a),
    }
}

/// Add a room (or a piece of equipment) that appointment types can need.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Short key, lowercase with hyphens (e.g. exam-3).
    pub key: String,
    /// What people call it (e.g. "Exam room 3").
    #[arg(long)]
    pub name: String,
    /// What appointment types ask for: exam, procedure, ultrasound, …
    #[arg(long)]
    pub kind: String,
    /// The site it is at, when the office has several.
    #[arg(long)]
    pub location: Option<String>,
    /// When it can be used, repeatable: "mon-fri 08:00-17:00" (default: whenever the office is
    /// open).
    #[arg(long)]
    pub hours: Vec<String>,
}

fn cmd_add(ctx: &Ctx, a: AddArgs) -> Result<u8> {
    let store = ctx.open()?;
    let r = Room {
        schema: room::SCHEMA,
        key: a.key.clone(),
        name: a.name.trim().to_string(),
        kind: a.kind.trim().to_lowercase(),
        location: a.location.map(|l| l.trim().to_string()),
        hours: a.hours,
        time_off: Vec::new(),
        retired: false,
        extra: Default::default(),
    };
    r.validate()?;
    let rel = Store::room_rel(&r.key)?;
    let mut txn = store.begin()?;
    if store.path(&rel).exists() {
        return Err(Error::user(format!("room {} already exists", r.key))
            .hint("change it with `frontdesk room update`"));
    }
    txn.put(&rel, &r, Mode::CreateNew)?;
    txn.commit(&format!("Add room {}.", r.key))?;
    ctx.created("room", &r.key)?;
    Ok(exit::OK)
}

/// Change a room's name, kind, location or hours.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Room key.
    pub key: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub kind: Option<String>,
    #[arg(long)]
    pub location: Option<String>,
    /// Replaces the hours, repeatable; `--hours always` clears them.
    #[arg(long)]
    pub hours: Vec<String>,
}

fn cmd_update(ctx: &Ctx, a: UpdateArgs) -> Result<u8> {
    change(ctx, &a.key.clone(), "Update", |r| {
        if let Some(n) = a.name {
            r.name = n.trim().to_string();
        }
        if let Some(k) = a.kind {
            r.kind = k.trim().to_lowercase();
        }
        if let Some(l) = a.location {
            r.location = Some(l.trim().to_string()).filter(|l| !l.is_empty());
        }
        if !a.hours.is_empty() {
            r.hours = a.hours.into_iter().filter(|h| h != "always").collect();
        }
        Ok(())
    })
}

/// Take a room out of use: it is never offered or held again, and stays on file for the visits
/// that used it (`room update KEY` does not bring it back; `room retire KEY --undo` does).
#[derive(Debug, clap::Args)]
pub struct RetireArgs {
    /// Room key.
    pub key: String,
    /// Bring a retired room back into use.
    #[arg(long)]
    pub undo: bool,
}

fn cmd_retire(ctx: &Ctx, a: RetireArgs) -> Result<u8> {
    let verb = if a.undo { "Bring back" } else { "Retire" };
    change(ctx, &a.key, verb, |r| {
        if r.retired != a.undo {
            return Err(Error::user(format!(
                "room {} is {}",
                r.key,
                if a.undo { "in use" } else { "already retired" }
            )));
        }
        r.retired = !a.undo;
        Ok(())
    })
}

/// The one read-modify-write of a room, under the lock, in one commit.
fn change(ctx: &Ctx, key: &str, verb: &str, f: impl FnOnce(&mut Room) -> Result<()>) -> Result<u8> {
    ctx.rewrite(
        &Store::room_rel(key)?,
        |store| store.load_room(key),
        |r| {
            f(r)?;
            r.validate()
        },
        &format!("{verb} room {key}."),
        &format!("room {key}: done"),
    )
}

/// List rooms, retired ones marked.
#[derive(Debug, clap::Args)]
pub struct ListArgs {}

fn cmd_list(ctx: &Ctx, _a: ListArgs) -> Result<u8> {
    let store = ctx.open()?;
    let rooms = store.rooms()?;
    if ctx.format == crate::render::Format::Json {
        crate::render::print_json(&rooms)?;
        return Ok(found(!rooms.is_empty()));
    }
    let mut t = Table::new(&["key", "name", "kind", "location", "hours", "status"]);
    for r in &rooms {
        t.push(vec![
            Cell::code(r.key.as_str()),
            Cell::from(r.name.as_str()),
            Cell::from(r.kind.as_str()),
            Cell::from(r.location.clone()),
            Cell::from(if r.hours.is_empty() {
                "office hours".to_string()
            } else {
                r.hours.join("; ")
            }),
            Cell::from(if r.retired { "retired" } else { "in use" }),
        ]);
    }
    t.print(ctx.format)?;
    Ok(found(!rooms.is_empty()))
}
