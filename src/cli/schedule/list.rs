use crate::cli::schedule::{Sched, patient_id};
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
    /// Only appointments still to come.
    #[arg(long)]
    pub upcoming: bool,
}

/// The one patient a search finds (a pick list on a terminal when it finds several).
fn one_patient(ctx: &Ctx, sched: &Sched, input: &str) -> Result<crate::domain::id::Id> {
    let query = crate::domain::search::Query::parse(input, sched.store.office.today());
    if query.is_empty() {
        return Err(Error::user(
            "--patient needs a patient ID or a name to search for",
        ));
    }
    let index = crate::derived::index::open(&sched.store)?;
    let hits = index.search(&query, false)?;
    let ids: Vec<String> = hits
        .iter()
        .take(10)
        .map(|(_, d)| d.patient_id().to_string())
        .collect();
    match ids.as_slice() {
        [] => Err(Error::not_found("no patient matches --patient")
            .hint("try fewer words, or `frontdesk patient find`")),
        [one] => patient_id(one),
        several if ctx.interactive() => {
            for (i, id) in several.iter().enumerate() {
                eprintln!(
                    "  {}. {id} {}",
                    i + 1,
                    super::patient_label(&sched.store, &patient_id(id)?)
                );
            }
            patient_id(&several[ctx.pick(several.len())?])
        }
        several => Err(Error::user(format!(
            "{} patients match --patient: {}",
            several.len(),
            several.join(", ")
        ))
        .hint("give the patient ID, or more of the name or the birth date")),
    }
}

pub fn cmd_list(ctx: &Ctx, a: Args) -> Result<u8> {
    let sched = Sched::open(ctx)?;
    let pid = match patient_id(&a.patient) {
        Ok(pid) => pid,
        Err(_) => one_patient(ctx, &sched, &a.patient)?,
    };
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
        .filter(|ap| !a.upcoming || ap.start > sched.now)
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
