use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::cli::Ctx;
use crate::cli::report::frame::{Column, Covers, Output, Phi, Report, Section, col, emit, phi};
use crate::cli::report::{Period, appointments};
use crate::cli::schedule::Sched;
use crate::domain::id::Id;
use crate::domain::patient::Patient;
use crate::domain::report::missing::{is_active, missing};
use crate::error::{Kind, Result};
use crate::render::Cell;

/// Active patients whose file is missing something the desk needs: an address, a phone, an
/// emergency contact, coverage in force, or insurance verified in the 30 days before their
/// next visit.
///
/// By default, the patients with a visit in the period (default: today and the next 7 days),
/// reading those days' directories and those patients' files; with --all, every active patient.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub period: Period,
    /// Every active patient, with or without a visit in the period.
    #[arg(long)]
    pub all: bool,
    /// Only patients with a visit with this provider in the period.
    #[arg(long, conflicts_with = "all")]
    pub provider: Option<String>,
    #[command(flatten)]
    pub out: Output,
}

const PATIENTS: &[Column] = &[
    phi("patient", Phi::Id),
    phi("name", Phi::Name),
    phi("next visit", Phi::Date),
    col("provider"),
    col("missing"),
];

const COUNTS: &[Column] = &[col("missing"), col("patients")];

pub fn cmd_missing_info(ctx: &Ctx, a: Args) -> Result<u8> {
    let s = Sched::open(ctx)?;
    let today = s.today();
    let (from, to) = a
        .period
        .resolve(today, (today, today + chrono::Duration::days(7)))?;
    if let Some(p) = &a.provider {
        s.store.load_provider(p)?;
    }
    let r = build(&s, from, to, a.all, a.provider.as_deref())?;
    emit(ctx, &s.store, r, &a.out)
}

/// A patient, their first visit in the period (day and provider), and what is missing.
type Listed<'a> = (
    &'a Patient,
    Option<&'a (NaiveDate, String)>,
    Vec<&'static str>,
);

pub fn build(
    s: &Sched,
    from: NaiveDate,
    to: NaiveDate,
    all: bool,
    provider: Option<&str>,
) -> Result<Report> {
    // Each patient's first visit in the period.
    let mut next: HashMap<Id, (NaiveDate, String)> = HashMap::new();
    let mut visits = appointments(s, from, to, provider)?;
    visits.retain(|a| a.status.holds_time());
    visits.sort_by_key(|a| a.start);
    for a in &visits {
        next.entry(a.patient.clone())
            .or_insert_with(|| (a.date(), a.provider.clone()));
    }
    let patients: Vec<Patient> = if all {
        s.store.patients()?
    } else {
        let mut ids: Vec<&Id> = next.keys().collect();
        ids.sort();
        let mut out = Vec::new();
        for id in ids {
            match s.store.load_patient(id) {
                Ok(p) => out.push(p),
                Err(e) if e.kind == Kind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        out
    };
    let mut rows = Section::new("patients", "Patients with missing information", PATIENTS);
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut listed: Vec<Listed> = patients
        .iter()
        .filter(|p| is_active(p))
        .map(|p| {
            let n = next.get(&p.id);
            (p, n, missing(p, n.map(|x| x.0), s.today()))
        })
        .filter(|(_, _, m)| !m.is_empty())
        .collect();
    listed.sort_by(|a, b| (a.1.map(|x| x.0), &a.0.id).cmp(&(b.1.map(|x| x.0), &b.0.id)));
    for (p, n, m) in listed {
        for what in &m {
            *counts.entry(what).or_default() += 1;
        }
        rows.push(vec![
            Cell::code(p.id.to_string()),
            Cell::from(p.list_name()),
            n.map_or(Cell::from(""), |x| Cell::day(x.0)),
            Cell::from(n.map(|x| x.1.clone())),
            Cell::from(m.join("; ")),
        ]);
    }
    let mut summary = Section::new("summary", "What is missing", COUNTS);
    for (what, n) in counts {
        summary.push(vec![Cell::from(what), Cell::count(n)]);
    }
    Ok(Report {
        name: "missing-info",
        title: "Missing information",
        covers: Covers::Range(from, to),
        sections: vec![summary, rows],
    })
}
