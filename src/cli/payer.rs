//! `frontdesk payer …`: the insurance companies the office bills.

use clap::Subcommand;

use crate::cli::{Ctx, found};
use crate::domain::common::Address;
use crate::domain::insurance::{Payer, check_payer_key};
use crate::domain::phone;
use crate::error::{Error, Result, exit};
use crate::render::{self, Cell, Format, Table};
use crate::store::{Mode, Store};

#[derive(Debug, Subcommand)]
pub enum Command {
    Add(AddArgs),
    List(ListArgs),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Add(a) => cmd_add(ctx, a),
        Command::List(a) => cmd_list(ctx, a),
    }
}

/// Add an insurance payer.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Short key used in patient records, lowercase with hyphens (e.g. aetna-ppo).
    pub key: String,
    /// Full name (e.g. "Aetna PPO").
    #[arg(long)]
    pub name: String,
    /// Electronic payer ID for claims.
    #[arg(long)]
    pub payer_id: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    /// Provider portal address.
    #[arg(long)]
    pub portal: Option<String>,
    /// Claims mailing address, first line.
    #[arg(long)]
    pub claims_address: Option<String>,
    #[arg(long)]
    pub claims_city: Option<String>,
    #[arg(long)]
    pub claims_state: Option<String>,
    #[arg(long)]
    pub claims_zip: Option<String>,
}

fn cmd_add(ctx: &Ctx, a: AddArgs) -> Result<u8> {
    let store = ctx.open()?;
    check_payer_key(&a.key)?;
    if a.name.trim().is_empty() {
        return Err(Error::user("--name is required"));
    }
    let phone = a
        .phone
        .as_deref()
        .map(|p| phone::normalize(p, store.office.calling_code()))
        .transpose()?;
    let claims_address = a.claims_address.as_ref().map(|line1| Address {
        line1: line1.clone(),
        city: a.claims_city.clone().unwrap_or_default(),
        state: a.claims_state.clone(),
        postal_code: a.claims_zip.clone(),
        ..Default::default()
    });
    if let Some(addr) = &claims_address {
        crate::domain::validate::address(addr, &store.office.country)?;
    }
    let payer = Payer {
        schema: 1,
        key: a.key.clone(),
        name: a.name.trim().to_string(),
        payer_id: a.payer_id.clone(),
        phone,
        portal: a.portal.clone(),
        claims_address,
        extra: Default::default(),
    };
    let rel = Store::payer_rel(&payer.key)?;
    let mut txn = store.begin()?;
    if store.path(&rel).exists() {
        return Err(Error::user(format!("payer {} already exists", payer.key))
            .hint("choose another key, or edit the file in payers/"));
    }
    txn.put(&rel, &payer, Mode::CreateNew)?;
    txn.commit(&format!("Add payer {}.", payer.key))?;
    ctx.created("payer", &payer.key)?;
    Ok(exit::OK)
}

/// List payers.
#[derive(Debug, clap::Args)]
pub struct ListArgs {}

fn cmd_list(ctx: &Ctx, _a: ListArgs) -> Result<u8> {
    let store = ctx.open()?;
    let payers = store.payers()?;
    if ctx.format == Format::Json {
        render::print_json(&payers)?;
        return Ok(found(!payers.is_empty()));
    }
    let mut t = Table::new(&["key", "name", "payer id", "phone"]);
    for p in &payers {
        t.push(vec![
            Cell::from(p.key.as_str()),
            Cell::from(p.name.as_str()),
            Cell::code(p.payer_id.clone().unwrap_or_default()),
            match &p.phone {
                Some(ph) => Cell::phone(ph, store.office.calling_code()),
                None => Cell::from(""),
            },
        ]);
    }
    t.print(ctx.format)?;
    Ok(found(!t.is_empty()))
}
