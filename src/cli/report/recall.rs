use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::cli::Ctx;
use crate::cli::report::day_arg;
use crate::cli::report::frame::{Column, Covers, Output, Phi, Report, Section, col, emit, phi};
use crate::cli::schedule::Sched;
use crate::domain::recall::due;
use crate::error::{Kind, Result};
use crate::render::Cell;
use crate::store::schedule::{day_dirs_in, years_in};

/// Patients due for a recall visit with nothing of that type booked: their last visit of a
/// type with `recall_after` (in appointment-types.toml) is at least that long ago.
///
/// Reads every appointment day directory (a patient's last visit may be years back).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Who is due on this day (default today).
    #[arg(long, allow_hyphen_values = true)]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub out: Output,
}

const PATIENTS: &[Column] = &[
    phi("patient", Phi::Id),
    phi("name", Phi::Name),
    phi("phone", Phi::Contact),
    col("type"),
    phi("last visit", Phi::Date),
    phi("due since", Phi::Date),
];

const TYPES: &[Column] = &[col("type"), col("patients due")];

pub fn cmd_recall(ctx: &Ctx, a: Args) -> Result<u8> {
    let s = Sched::open(ctx)?;
    let as_of = day_arg(&s, a.as_of.as_deref(), s.today(), "--as-of")?;
    let r = build(&s, as_of)?;
    emit(ctx, &s.store, r, &a.out)
}

pub fn build(s: &Sched, as_of: NaiveDate) -> Result<Report> {
    let mut all = Vec::new();
    if s.types.types.iter().any(|t| t.recall_after.is_some()) {
        for year in years_in(&s.store, "appointments")? {
            for (day, _) in day_dirs_in(&s.store, "appointments", year)? {
                all.extend(s.store.day_appointments(day)?);
            }
        }
    }
    let mut list = due(&s.types, &all, as_of);
    list.sort_by(|a, b| {
        (a.due_since, &a.patient, &a.kind).cmp(&(b.due_since, &b.patient, &b.kind))
    });
    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    let mut patients = Section::new("patients", "Patients due", PATIENTS);
    for d in &list {
        *by_type.entry(d.kind.as_str()).or_default() += 1;
        let p = match s.store.load_patient(&d.patient) {
            Ok(p) => Some(p),
            Err(e) if e.kind == Kind::NotFound => None,
            Err(e) => return Err(e),
        };
        patients.push(vec![
            Cell::code(d.patient.to_string()),
            Cell::from(p.as_ref().map(|p| p.list_name())),
            p.as_ref()
                .and_then(|p| p.primary_phone())
                .map_or(Cell::from(""), |ph| {
                    Cell::phone(&ph.number, s.store.office.calling_code())
                }),
            Cell::from(d.kind.as_str()),
            Cell::day(d.last_visit),
            Cell::day(d.due_since),
        ]);
    }
    let mut types = Section::new("types", "By appointment type", TYPES);
    for (k, n) in by_type {
        types.push(vec![Cell::from(k), Cell::count(n)]);
    }
    Ok(Report {
        name: "recall",
        title: "Recall",
        covers: Covers::AsOf(as_of),
        sections: vec![types, patients],
    })
}
