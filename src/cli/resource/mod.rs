//! `frontdesk resource …`: the directory of community services the desk refers patients to
//! (docs/resources.md). One file per command; the flags add and update share, the listing
//! row and the one write path live here.

mod add;
mod find;
mod import;
pub mod list;
mod matches;
mod refer;
mod retire;
mod show;
mod update;
mod verify;

use chrono::NaiveDate;
use clap::Subcommand;

use crate::cli::Ctx;
use crate::domain::comm::{note_text, short_text};
use crate::domain::resource::{Resource, area_entry, day_entry};
use crate::domain::{needs, phone, validate};
use crate::error::{Error, Result};
use crate::render::{Cell, Format};
use crate::store::{Mode, Store};

#[derive(Debug, Subcommand)]
pub enum Command {
    Add(add::Args),
    Update(update::Args),
    List(list::Args),
    Show(show::Args),
    Find(find::Args),
    Verify(verify::Args),
    Retire(retire::Args),
    Match(matches::Args),
    Import(import::Args),
    Refer(refer::Args),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Add(a) => add::cmd_add(ctx, a),
        Command::Update(a) => update::cmd_update(ctx, a),
        Command::List(a) => list::cmd_list(ctx, a),
        Command::Show(a) => show::cmd_show(ctx, a),
        Command::Find(a) => find::cmd_find(ctx, a),
        Command::Verify(a) => verify::cmd_verify(ctx, a),
        Command::Retire(a) => retire::cmd_retire(ctx, a),
        Command::Match(a) => matches::cmd_match(ctx, a),
        Command::Import(a) => import::cmd_import(ctx, a),
        Command::Refer(a) => refer::cmd_refer(ctx, a),
    }
}

/// The HSDS-modelled fields, shared by `add` (which needs --organization, --name and a
/// --need) and `update` (where a list flag given replaces that list).
#[derive(Debug, Default, clap::Args)]
pub struct Fields {
    /// The organization that runs the service.
    #[arg(long)]
    pub organization: Option<String>,
    /// The service's name.
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// A need it serves, in the intake words (repeatable): transport, interpreter, food, …
    #[arg(long = "need", value_name = "NEED")]
    pub needs: Vec<String>,
    /// Where it serves (repeatable): a ZIP code, a ZIP prefix (021), city:NAME, or any.
    #[arg(long = "area", value_name = "AREA")]
    pub area: Vec<String>,
    /// A language it serves, ISO 639-1 (repeatable): en, es, pt, …
    #[arg(long = "language", value_name = "CODE")]
    pub languages: Vec<String>,
    /// A day it is open (repeatable, or comma-separated): mon, tue, …
    #[arg(long = "open", value_name = "DAY", value_delimiter = ',')]
    pub open_days: Vec<String>,
    /// Opening hours as people read them ("Mon-Fri 9-5").
    #[arg(long)]
    pub hours: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub website: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// Who may use it.
    #[arg(long)]
    pub eligibility: Option<String>,
    #[arg(long)]
    pub fees: Option<String>,
    /// How to apply or get a referral.
    #[arg(long = "apply", value_name = "HOW")]
    pub application_process: Option<String>,
    /// Street address, first line.
    #[arg(long)]
    pub address: Option<String>,
    #[arg(long)]
    pub city: Option<String>,
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long)]
    pub zip: Option<String>,
}

impl Fields {
    /// Puts the given fields on `r`, checking each (errors name the flag, never the value).
    pub fn apply(&self, r: &mut Resource, store: &Store) -> Result<()> {
        let line = |flag: &str, v: &Option<String>| -> Result<Option<String>> {
            v.as_deref()
                .map(|s| short_text(flag, s).map(|_| s.trim().to_string()))
                .transpose()
        };
        let text = |flag: &str, v: &Option<String>| -> Result<Option<String>> {
            v.as_deref()
                .map(|s| note_text(flag, s).map(|_| s.trim().to_string()))
                .transpose()
        };
        if let Some(v) = line("--organization", &self.organization)? {
            r.organization = v;
        }
        if let Some(v) = line("--name", &self.name)? {
            r.name = v;
        }
        if let Some(v) = text("--description", &self.description)? {
            r.description = Some(v);
        }
        if !self.needs.is_empty() {
            let mut list = Vec::new();
            for n in &self.needs {
                let n = needs::category_word(n, "--need")?;
                if !list.contains(&n) {
                    list.push(n);
                }
            }
            r.needs = list;
        }
        if !self.area.is_empty() {
            r.area = self
                .area
                .iter()
                .map(|a| area_entry(a))
                .collect::<Result<_>>()?;
        }
        if !self.languages.is_empty() {
            r.languages = self
                .languages
                .iter()
                .map(|l| needs::language(l, "--language"))
                .collect::<Result<_>>()?;
        }
        if !self.open_days.is_empty() {
            r.open_days = self
                .open_days
                .iter()
                .map(|d| day_entry(d, "--open"))
                .collect::<Result<_>>()?;
        }
        if let Some(v) = line("--hours", &self.hours)? {
            r.hours = Some(v);
        }
        if let Some(p) = &self.phone {
            r.phone = Some(
                phone::normalize(p, store.office.calling_code())
                    .map_err(|e| Error::user(format!("--phone: {}", e.message)))?,
            );
        }
        if let Some(v) = line("--website", &self.website)? {
            r.website = Some(v);
        }
        if let Some(v) = line("--email", &self.email)? {
            validate::email_shape(&v).map_err(|e| Error::user(format!("--{}", e.message)))?;
            r.email = Some(v);
        }
        if let Some(v) = text("--eligibility", &self.eligibility)? {
            r.eligibility = Some(v);
        }
        if let Some(v) = text("--fees", &self.fees)? {
            r.fees = Some(v);
        }
        if let Some(v) = text("--apply", &self.application_process)? {
            r.application_process = Some(v);
        }
        if self.address.is_some()
            || self.city.is_some()
            || self.state.is_some()
            || self.zip.is_some()
        {
            let mut a = r.address.clone().unwrap_or_default();
            if let Some(v) = &self.address {
                a.line1 = v.trim().to_string();
            }
            if let Some(v) = &self.city {
                a.city = v.trim().to_string();
            }
            if let Some(v) = &self.state {
                a.state = Some(v.trim().to_ascii_uppercase());
            }
            if let Some(v) = &self.zip {
                a.postal_code = Some(v.trim().to_string());
            }
            validate::address(&a, &store.office.country)?;
            r.address = Some(a);
        }
        Ok(())
    }
}

/// The one read-modify-write of a resource: under the lock, load it, change it, validate,
/// write and commit ("Verify resource SLUG."). Returns the resource as saved.
pub fn modify(
    ctx: &Ctx,
    slug: &str,
    message: &str,
    change: impl FnOnce(&mut Resource, &Store) -> Result<()>,
) -> Result<Resource> {
    let store = ctx.open()?;
    let rel = Store::resource_rel(slug)?;
    let txn = store.begin()?;
    let mut r = store.load_resource(slug)?;
    let before = r.clone();
    change(&mut r, &store)?;
    r.validate()?;
    if r == before {
        ctx.say("nothing changed");
        return Ok(r);
    }
    let mut txn = txn;
    txn.put(&rel, &r, Mode::Replace)?;
    txn.commit(message)?;
    Ok(r)
}

pub fn verified_cell(r: &Resource) -> Cell {
    crate::cli::comm::day_cell(r.verified_on)
}

/// The flag shown beside a resource nobody verified for 12 months.
pub fn stale_flag(r: &Resource, today: NaiveDate) -> &'static str {
    if r.retired.is_some() {
        "retired"
    } else if r.is_stale(today) {
        "unverified 12+ months"
    } else {
        ""
    }
}

pub fn phone_cell(r: &Resource, store: &Store) -> Cell {
    match &r.phone {
        Some(p) => Cell::phone(p, store.office.calling_code()),
        None => Cell::from(""),
    }
}

/// Machine formats take the record as stored.
pub fn wants_json(ctx: &Ctx) -> bool {
    ctx.format == Format::Json
}
