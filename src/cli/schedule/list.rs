use crate::cli::schedule::{Sched, patient_arg};
use crate::cli::{Ctx, found};
use crate::error::{Error, Result};
use crate::render::{self, Cell, Format, Table};

/// Every appointment of one patient across all the years: "when is my next appointment?"
///
/// Uses the appointment index (rebuilt as needed), so it does not read every appointment file.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Patient ID (P…), or a search as `patient find` takes it (`doe jan 1980`) that finds
    /// one patient.
    #[arg(long)]
    pub patient: String,
    /// Only appointments that have started.
    #[arg(long, conflicts_with = "upcoming")]
    pub past: bool,
    /// Only appointments still to come that hold their time (not cancelled or moved).
    #[arg(long)]
    pub upcoming: bool,
}

pub fn cmd_list(ctx: &Ctx, a: Args) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let pid = patient_arg(ctx, &sched, &a.patient)?;
    if !sched
        .store
        .path(&crate::store::Store::patient_rel(&pid))
        .is_file()
    {
        return Err(Error::not_found(format!("no patient {pid}"))
            .hint("find the ID with `frontdesk patient find NAME`"));
    }
    let all = sched.store.patient_appointments(&pid)?;
    let rows: Vec<_> = all
        .into_iter()
        .filter(|ap| !a.past || ap.start <= sched.now)
        .filter(|ap| !a.upcoming || (ap.start > sched.now && ap.status.holds_time()))
        .collect();
    if ctx.format == Format::Json {
        render::print_json(&rows)?;
        return Ok(found(!rows.is_empty()));
    }
    let mut t = Table::new(&["id", "date", "start", "end", "provider", "type", "status"]);
    for ap in &rows {
        t.push(vec![
            Cell::from(ap.id.to_string()),
            Cell::day(crate::domain::schedule::localtime::wall(sched.tz, ap.start).date()),
            Cell::from(sched.hm(ap.start)),
            Cell::from(sched.hm(ap.end)),
            Cell::from(ap.provider.as_str()),
            Cell::from(ap.kind.as_str()),
            Cell::from(ap.status.as_str()),
        ]);
    }
    t.print(ctx.format)?;
    Ok(found(!rows.is_empty()))
}
