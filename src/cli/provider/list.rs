use crate::cli::{Ctx, found};
use crate::domain::schedule::provider::hours_spec;
use crate::error::Result;
use crate::render::{self, Cell, Format, Table};

/// List providers with their specialty and weekly hours.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Include providers who have left.
    #[arg(long)]
    pub all: bool,
}

pub fn cmd_list(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let providers: Vec<_> = store
        .providers()?
        .into_iter()
        .filter(|p| a.all || p.active)
        .collect();
    if ctx.format == Format::Json {
        render::print_json(&providers)?;
        return Ok(found(!providers.is_empty()));
    }
    let mut t = Table::new(&["key", "name", "specialty", "npi", "hours"]);
    for p in &providers {
        t.push(vec![
            Cell::from(p.key.as_str()),
            Cell::from(p.display()),
            Cell::from(p.specialty.clone()),
            Cell::from(p.npi.clone()),
            Cell::from(
                p.hours
                    .iter()
                    .map(hours_spec)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ]);
    }
    t.print(ctx.format)?;
    Ok(found(!t.is_empty()))
}
