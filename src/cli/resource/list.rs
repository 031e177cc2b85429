use crate::cli::resource::{phone_cell, stale_flag, verified_cell, wants_json};
use crate::cli::{Ctx, found};
use chrono::NaiveDate;

use crate::domain::resource::Resource;
use crate::error::Result;
use crate::render::{self, Cell, Table};
use crate::store::Store;

/// List the directory by slug (retired services only with --all).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Retired services too.
    #[arg(long)]
    pub all: bool,
}

pub fn cmd_list(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let today = store.office.today();
    let mut list = store.resources()?;
    list.retain(|r| a.all || r.retired.is_none());
    if wants_json(ctx) {
        render::print_json(&list)?;
        return Ok(found(!list.is_empty()));
    }
    let mut t = table();
    for r in &list {
        t.push(row(r, &store, today));
    }
    t.print(ctx.format)?;
    Ok(found(!list.is_empty()))
}

pub fn table() -> Table {
    Table::new(&[
        "slug",
        "name",
        "organization",
        "needs",
        "area",
        "phone",
        "verified",
        "flag",
    ])
}

pub fn row(r: &Resource, store: &Store, today: NaiveDate) -> Vec<Cell> {
    vec![
        Cell::code(r.slug.as_str()),
        Cell::from(r.name.as_str()),
        Cell::from(r.organization.as_str()),
        Cell::from(r.needs.join(", ")),
        Cell::from(r.area.join(", ")),
        phone_cell(r, store),
        verified_cell(r),
        Cell::from(stale_flag(r, today)),
    ]
}
