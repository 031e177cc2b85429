//! `frontdesk type …`: the appointment types (duration, buffer, rooms, lead time, instructions,
//! recall interval) set up from the command line, validated and committed, instead of a hand
//! edit of `appointment-types.toml`.

use std::path::Path;

use clap::Subcommand;

use crate::cli::{Ctx, found};
use crate::domain::recall::Interval;
use crate::domain::schedule::apptype::{AppointmentType, AppointmentTypes, CopayKind, Need};
use crate::error::{Error, Result};
use crate::render::{Cell, Table};
use crate::store::schedule::APPOINTMENT_TYPES_FILE;

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

/// What a type's flags can set; `add` requires --name and --minutes.
#[derive(Debug, clap::Args)]
pub struct Fields {
    /// What the desk and the patient call it (e.g. "Follow-up visit").
    #[arg(long)]
    pub name: Option<String>,
    /// How long the visit is, 5 to 720 minutes.
    #[arg(long)]
    pub minutes: Option<u32>,
    /// Minutes the provider needs after it before the next visit.
    #[arg(long)]
    pub buffer_after: Option<u32>,
    /// Rooms it needs, by kind, repeatable: `exam`, or `procedure:60` for the first hour only.
    #[arg(long = "needs", value_name = "KIND[:MINUTES]")]
    pub needs: Vec<String>,
    /// How many hours ahead it must be booked.
    #[arg(long)]
    pub lead_hours: Option<u32>,
    /// What the patient is told (welcome letters and reminders print it).
    #[arg(long)]
    pub instructions: Option<String>,
    /// When the patient is due again after one: "12 months", "6 weeks" (recall letters, the
    /// recall report); `none` clears it.
    #[arg(long)]
    pub recall_after: Option<String>,
    /// Which co-pay of the patient's coverage applies.
    #[arg(long, value_enum)]
    pub copay: Option<Copay>,
    /// A first visit (billed as a new patient).
    #[arg(long)]
    pub new_patient: Option<bool>,
    /// Only these providers take it (comma-separated keys); `any` clears the list.
    #[arg(long)]
    pub providers: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Copay {
    Office,
    Specialist,
    Urgent,
    None,
}

impl Fields {
    fn apply(self, t: &mut AppointmentType) -> Result<()> {
        if let Some(v) = self.name {
            t.name = v.trim().to_string();
        }
        if let Some(v) = self.minutes {
            t.minutes = v;
        }
        if let Some(v) = self.buffer_after {
            t.buffer_after = v;
        }
        if !self.needs.is_empty() {
            t.needs = self
                .needs
                .iter()
                .map(|n| parse_need(n))
                .collect::<Result<_>>()?;
        }
        if let Some(v) = self.lead_hours {
            t.min_lead_hours = v;
        }
        if let Some(v) = self.instructions {
            let v = v.trim().to_string();
            if v.chars().count() > 2_000 {
                return Err(Error::user(
                    "--instructions is longer than 2,000 characters",
                ));
            }
            t.instructions = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = self.recall_after {
            t.recall_after = if v.trim() == "none" {
                None
            } else {
                Some(Interval::parse(&v).map_err(|e| e.at("--recall-after"))?)
            };
        }
        if let Some(c) = self.copay {
            t.copay = match c {
                Copay::Office => CopayKind::Office,
                Copay::Specialist => CopayKind::Specialist,
                Copay::Urgent => CopayKind::Urgent,
                Copay::None => CopayKind::None,
            };
        }
        if let Some(v) = self.new_patient {
            t.new_patient = v;
        }
        if let Some(v) = self.providers {
            t.providers = if v.trim() == "any" {
                Vec::new()
            } else {
                v.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            };
        }
        Ok(())
    }
}

/// `exam`, `procedure:60`.
fn parse_need(s: &str) -> Result<Need> {
    let (kind, minutes) = match s.split_once(':') {
        Some((k, m)) => (
            k,
            Some(m.trim().parse::<u32>().map_err(|_| {
                Error::user("--needs takes KIND or KIND:MINUTES").hint("e.g. exam, procedure:60")
            })?),
        ),
        None => (s, None),
    };
    Ok(Need {
        kind: kind.trim().to_lowercase(),
        minutes,
    })
}

/// Add an appointment type.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Short key, lowercase with hyphens (e.g. follow-up).
    pub key: String,
    #[command(flatten)]
    pub fields: Fields,
}

fn cmd_add(ctx: &Ctx, a: AddArgs) -> Result<u8> {
    if a.fields.name.is_none() || a.fields.minutes.is_none() {
        return Err(Error::user("a new type needs --name and --minutes")
            .hint("e.g. frontdesk type add follow-up --name \"Follow-up visit\" --minutes 20 --needs exam"));
    }
    let key = a.key.clone();
    let done = change(ctx, &format!("Add appointment type {key}."), |types| {
        if types.types.iter().any(|t| t.key == key) {
            return Err(
                Error::user(format!("appointment type {key} already exists"))
                    .hint("change it with `frontdesk type update`"),
            );
        }
        let mut t: AppointmentType =
            toml::from_str(&format!("key = \"{key}\"\nname = \"\"\nminutes = 0\n"))
                .map_err(|e| Error::internal(format!("a new appointment type: {e}")))?;
        a.fields.apply(&mut t)?;
        types.types.push(t);
        Ok(())
    })?;
    if ctx.format != crate::render::Format::Table {
        ctx.created("type", &a.key)?;
    }
    Ok(done)
}

/// Change an appointment type; visits already booked keep their times.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    pub key: String,
    #[command(flatten)]
    pub fields: Fields,
}

fn cmd_update(ctx: &Ctx, a: UpdateArgs) -> Result<u8> {
    let key = a.key.clone();
    change(ctx, &format!("Update appointment type {key}."), |types| {
        let t = find(types, &key)?;
        a.fields.apply(t)
    })
}

/// Stop booking a type: it stays on file for the visits that had it.
#[derive(Debug, clap::Args)]
pub struct RetireArgs {
    pub key: String,
    /// Bookable again.
    #[arg(long)]
    pub undo: bool,
}

fn cmd_retire(ctx: &Ctx, a: RetireArgs) -> Result<u8> {
    let key = a.key.clone();
    let verb = if a.undo { "Bring back" } else { "Retire" };
    change(ctx, &format!("{verb} appointment type {key}."), |types| {
        let t = find(types, &key)?;
        if t.retired != a.undo {
            return Err(Error::user(format!(
                "appointment type {key} is {}",
                if a.undo {
                    "bookable"
                } else {
                    "already retired"
                }
            )));
        }
        t.retired = !a.undo;
        Ok(())
    })
}

/// The type to change; an unknown key gets the usual "did you mean" refusal.
fn find<'t>(types: &'t mut AppointmentTypes, key: &str) -> Result<&'t mut AppointmentType> {
    match types.types.iter().position(|t| t.key == key) {
        Some(i) => Ok(&mut types.types[i]),
        None => Err(types
            .get(key)
            .err()
            .unwrap_or_else(|| Error::user("no such appointment type"))),
    }
}

/// The appointment types.
#[derive(Debug, clap::Args)]
pub struct ListArgs {}

fn cmd_list(ctx: &Ctx, _a: ListArgs) -> Result<u8> {
    let store = ctx.open()?;
    let types = store.appointment_types()?;
    if ctx.format == crate::render::Format::Json {
        crate::render::print_json(&types.types)?;
        return Ok(found(!types.types.is_empty()));
    }
    let mut t = Table::new(&[
        "key",
        "name",
        "minutes",
        "buffer",
        "needs",
        "lead hours",
        "recall",
        "providers",
        "status",
    ]);
    for ty in &types.types {
        t.push(vec![
            Cell::code(ty.key.as_str()),
            Cell::from(ty.name.as_str()),
            Cell::count(ty.minutes),
            Cell::count(ty.buffer_after),
            Cell::from(
                ty.needs
                    .iter()
                    .map(|n| match n.minutes {
                        Some(m) => format!("{}:{m}", n.kind),
                        None => n.kind.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Cell::count(ty.min_lead_hours),
            Cell::from(ty.recall_after.map(|r| r.to_string())),
            Cell::from(if ty.providers.is_empty() {
                "any".to_string()
            } else {
                ty.providers.join(", ")
            }),
            Cell::from(if ty.retired { "retired" } else { "bookable" }),
        ]);
    }
    t.print(ctx.format)?;
    Ok(found(!t.is_empty()))
}

/// The one read-modify-write of `appointment-types.toml`, validated, in one commit.
fn change(
    ctx: &Ctx,
    message: &str,
    f: impl FnOnce(&mut AppointmentTypes) -> Result<()>,
) -> Result<u8> {
    ctx.rewrite(
        Path::new(APPOINTMENT_TYPES_FILE),
        |store| store.appointment_types(),
        |types| {
            f(types)?;
            types.validate()
        },
        message,
        "appointment types saved",
    )
}
