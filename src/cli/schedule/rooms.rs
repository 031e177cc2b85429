use crate::cli::schedule::Sched;
use crate::cli::{Ctx, found};
use crate::error::Result;
use crate::render::{self, Cell, Format, Table};

/// List the rooms and equipment appointments can hold.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn cmd_rooms(ctx: &Ctx, _a: Args) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    if ctx.format == Format::Json {
        render::print_json(&sched.rooms)?;
        return Ok(found(!sched.rooms.is_empty()));
    }
    let mut t = Table::new(&["key", "name", "kind", "location", "hours"]);
    for r in &sched.rooms {
        t.push(vec![
            Cell::from(r.key.as_str()),
            Cell::from(r.name.as_str()),
            Cell::from(r.kind.as_str()),
            Cell::from(r.location.clone()),
            Cell::from(if r.hours.is_empty() {
                "office hours".to_string()
            } else {
                r.hours.join("; ")
            }),
        ]);
    }
    t.print(ctx.format)?;
    Ok(found(!t.is_empty()))
}
