use crate::cli::schedule::{Sched, patient_label};
use crate::cli::{Ctx, found};
use crate::domain::schedule::Status;
use crate::error::Result;
use crate::render::{Cell, Table};

/// The desk's board: who has arrived and is waiting, since when, in arrival order.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also show patients already in a room.
    #[arg(long)]
    pub all: bool,
}

pub fn cmd_waiting(ctx: &Ctx, a: Args) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let day = sched.store.day_appointments(sched.today())?;
    let mut here: Vec<_> = day
        .iter()
        .filter(|ap| ap.status == Status::Arrived || (a.all && ap.status == Status::Roomed))
        .filter_map(|ap| ap.when(Status::Arrived).map(|t| (t, ap)))
        .collect();
    here.sort_by_key(|(t, _)| *t);
    let mut t = Table::new(&[
        "arrived",
        "waiting min",
        "appointment",
        "patient",
        "name",
        "provider",
        "scheduled",
        "status",
    ]);
    for (arrived, ap) in &here {
        t.push(vec![
            Cell::from(sched.hm(*arrived)),
            Cell::count((sched.now - *arrived).num_minutes().max(0)),
            Cell::from(ap.id.to_string()),
            Cell::from(ap.patient.to_string()),
            Cell::from(patient_label(&sched.store, &ap.patient)),
            Cell::from(ap.provider.as_str()),
            Cell::from(sched.hm(ap.start)),
            Cell::from(ap.status.as_str()),
        ]);
    }
    if here.is_empty() {
        ctx.say("nobody is waiting");
    }
    t.print(ctx.format)?;
    Ok(found(!here.is_empty()))
}
