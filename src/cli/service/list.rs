use crate::cli::{Ctx, found};
use crate::error::Result;
use crate::render::{self, Cell, Format, Table};

/// List the fee schedule.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn cmd_list(ctx: &Ctx, _a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let f = store.load_services()?;
    if ctx.format == Format::Json {
        render::print_json(&f.services)?;
        return Ok(found(!f.services.is_empty()));
    }
    let mut t = Table::new(&["code", "description", "fee"]);
    for s in &f.services {
        t.push(vec![
            Cell::from(s.code.as_str()),
            Cell::from(s.description.as_str()),
            Cell::money(s.fee, &store.office.currency),
        ]);
    }
    t.print(ctx.format)?;
    Ok(found(!t.is_empty()))
}
