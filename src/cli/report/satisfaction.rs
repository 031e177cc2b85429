//! `report satisfaction`: survey responses joined to the visits they are about. Per group, the
//! responses, each composite's top-box share, the mean provider rating and the Net Promoter
//! Score, each with a 95 % interval (`src/domain/survey/stats.rs`); groups under 30 responses
//! are flagged, never hidden. `--against wait|late` gives each composite's top-box share by
//! wait band or lateness band; the HTML page has a chart per composite by month.
//!
//! Built to stream (docs/performance.md): each response file of the months in the period is
//! read once, without its comment, and the appointment it names is read from its day folder
//! (the response holds the visit's date); only counts are kept. Comments are read in a second
//! pass, and only with `--comments`.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::cli::Ctx;
use crate::cli::report::chart;
use crate::cli::report::frame::{Column, Covers, Output, Report, Section, col, emit};
use crate::cli::report::{Period, yes};
use crate::cli::schedule::Sched;
use crate::domain::report::waits::stay;
use crate::domain::schedule::{Appointment, Status};
use crate::domain::survey::instrument::Instrument;
use crate::domain::survey::stats::{Estimate, RELIABLE_AT, Tally, score};
use crate::domain::survey::{LATE_BANDS, Month, WAIT_BANDS, late_band, scrub_comment, wait_band};
use crate::error::Result;
use crate::render::Cell;
use crate::store::survey::SurveyHead;

/// Patient satisfaction from survey responses (CG-CAHPS model), joined to the visits: top-box
/// share of each composite, mean provider rating and Net Promoter Score with 95 % intervals,
/// per provider, month, appointment type or desk staff member; groups under 30 responses are
/// flagged "unreliable". Comments only with --comments, and then de-identified.
///
/// Counts the responses about visits in the period (default: the last 365 days up to today)
/// and the anonymous responses of the months it covers.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub period: Period,
    /// How to group the responses.
    #[arg(long, value_enum, default_value_t = By::Provider)]
    pub by: By,
    /// Also show each composite's top-box share by wait (arrival to roomed: under 10, 10-20,
    /// 20-30, over 30 minutes) or by how late the visit started against its booked time.
    #[arg(long, value_enum)]
    pub against: Option<Against>,
    /// Add the patients' comments, with names and numbers removed.
    #[arg(long)]
    pub comments: bool,
    #[command(flatten)]
    pub out: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    Provider,
    Month,
    Type,
    /// The staff member who checked the patient in.
    Staff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Against {
    /// Minutes from arrival to roomed.
    Wait,
    /// Minutes from the booked start to roomed.
    Late,
}

const MEASURES: &[Column] = &[
    col("group"),
    col("measure"),
    col("responses"),
    col("answers"),
    col("score"),
    col("ci95 low"),
    col("ci95 high"),
    col("reliable"),
];

const TREND: &[Column] = &[
    col("month"),
    col("answers"),
    col("top-box"),
    col("ci95 low"),
    col("ci95 high"),
];

const COMMENTS: &[Column] = &[col("month"), col("provider"), col("comment")];

/// A group label for responses with no appointment.
const ANONYMOUS: &str = "(anonymous)";

/// What the streaming pass keeps: counts only.
#[derive(Default)]
struct Totals {
    all: Tally,
    groups: BTreeMap<String, Tally>,
    bands: [Tally; 4],
    /// Responses about a visit whose wait (or lateness) is not on record.
    unbanded: u64,
    months: BTreeMap<Month, Tally>,
}

pub fn cmd_satisfaction(ctx: &Ctx, a: Args) -> Result<u8> {
    let s = Sched::open(ctx)?;
    let today = s.today();
    let (from, to) = a
        .period
        .resolve(today, (today - chrono::Duration::days(365), today))?;
    let inst = s.store.survey_instrument()?;
    let totals = tally(&s, &inst, from, to, a.by, a.against)?;
    let mut r = build(&inst, &totals, from, to, a.by, a.against);
    if a.comments {
        r.sections.push(comments(&s, from, to, a.out.deidentify)?);
    }
    emit(ctx, &s.store, r, &a.out)
}

/// Whether a response falls in the period: its visit day, or (anonymous) its month.
fn in_period(visit: Option<NaiveDate>, month: Month, from: NaiveDate, to: NaiveDate) -> bool {
    match visit {
        Some(d) => d >= from && d <= to,
        None => month >= Month::of(from) && month <= Month::of(to),
    }
}

impl Totals {
    fn merge(mut self, other: Totals) -> Totals {
        self.all.merge(&other.all);
        for (k, t) in other.groups {
            self.groups.entry(k).or_default().merge(&t);
        }
        for (a, b) in self.bands.iter_mut().zip(&other.bands) {
            a.merge(b);
        }
        self.unbanded += other.unbanded;
        for (m, t) in other.months {
            self.months.entry(m).or_default().merge(&t);
        }
        self
    }
}

/// The one pass over the responses: each file read once, its visit read from its day folder.
fn tally(
    s: &Sched,
    inst: &Instrument,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
    against: Option<Against>,
) -> Result<Totals> {
    s.store.fold_surveys(
        Month::of(from),
        Month::of(to),
        Totals::default,
        |t, h| {
            if !in_period(h.visit, h.month, from, to) {
                return Ok(());
            }
            let visit = match (&h.appointment, h.visit) {
                (Some(id), Some(day)) => s.store.survey_visit(id, day)?,
                _ => None,
            };
            let scored = score(inst, h.answers.iter().map(|(k, v)| (k.as_str(), *v)));
            t.all.add(&scored);
            t.months.entry(h.month).or_default().add(&scored);
            t.groups
                .entry(group_of(by, &h, visit.as_ref()))
                .or_default()
                .add(&scored);
            if let Some(x) = against {
                match visit.as_ref().and_then(|v| band(x, v, s.tz)) {
                    Some(b) => t.bands[b].add(&scored),
                    None => t.unbanded += 1,
                }
            }
            Ok(())
        },
        Totals::merge,
    )
}

fn group_of(by: By, h: &SurveyHead, visit: Option<&Appointment>) -> String {
    match (by, visit) {
        (By::Provider, Some(v)) => v.provider.clone(),
        (By::Provider, None) => h.provider.clone(),
        (By::Month, _) => h.month.to_string(),
        (By::Type, Some(v)) => v.kind.clone(),
        (By::Staff, Some(v)) => v
            .history
            .iter()
            .rev()
            .find(|c| c.status == Status::Arrived)
            .map_or_else(|| "(not checked in)".to_string(), |c| c.by.clone()),
        (By::Type | By::Staff, None) => ANONYMOUS.to_string(),
    }
}

/// The band of a visit: wait from arrival to roomed, or lateness from the booked start to
/// roomed. None when the visit was never roomed.
fn band(x: Against, v: &Appointment, tz: chrono_tz::Tz) -> Option<usize> {
    match x {
        Against::Wait => stay(v, tz).and_then(|s| s.wait).map(wait_band),
        Against::Late => {
            if v.status != Status::Fulfilled {
                return None;
            }
            let roomed = v.when(Status::Roomed)?;
            Some(late_band((roomed - v.start).num_minutes()))
        }
    }
}

fn number(x: f64, places: usize) -> Cell {
    Cell::Number(format!("{x:.places$}"))
}

fn blank() -> Cell {
    Cell::from("")
}

/// Score, low and high cells of an estimate (percent for shares), or blanks.
fn estimate_cells(e: Option<Estimate>, scale: f64, places: usize) -> [Cell; 3] {
    match e {
        Some(e) => [
            number(e.value * scale, places),
            number(e.lo * scale, places),
            number(e.hi * scale, places),
        ],
        None => [blank(), blank(), blank()],
    }
}

/// One group's rows: each composite's top-box share, the mean rating, the NPS.
fn measure_rows(inst: &Instrument, group: &str, t: &Tally) -> Vec<Vec<Cell>> {
    let reliable = if t.reliable() {
        Cell::from("yes")
    } else {
        Cell::from(format!("unreliable (under {RELIABLE_AT})"))
    };
    let mut rows = Vec::new();
    let mut push = |measure: String, answers: u64, cells: [Cell; 3]| {
        let [v, lo, hi] = cells;
        rows.push(vec![
            Cell::from(group),
            Cell::from(measure),
            Cell::count(t.responses as i64),
            Cell::count(answers as i64),
            v,
            lo,
            hi,
            reliable.clone(),
        ]);
    };
    for (i, c) in inst.composites.iter().enumerate() {
        let n = t.composites.get(i).map_or(0, |s| s.n);
        push(
            format!("{} (% top box)", c.title),
            n,
            estimate_cells(t.top_box(i), 100.0, 1),
        );
    }
    push(
        "Provider rating (mean, 0-10)".into(),
        t.ratings.n,
        estimate_cells(t.ratings.mean(), 1.0, 2),
    );
    push(
        "Net Promoter Score (-100 to 100)".into(),
        t.nps.n(),
        estimate_cells(t.nps.nps(), 1.0, 1),
    );
    rows
}

/// A report runs once per process; the few section titles and keys made from the instrument
/// (one per composite) live until it ends.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn build(
    inst: &Instrument,
    t: &Totals,
    from: NaiveDate,
    to: NaiveDate,
    by: By,
    against: Option<Against>,
) -> Report {
    let mut overall = Section::new("overall", "All responses", MEASURES);
    for row in measure_rows(inst, "all", &t.all) {
        overall.push(row);
    }
    let (key, title) = match by {
        By::Provider => ("providers", "By provider"),
        By::Month => ("months", "By month"),
        By::Type => ("types", "By appointment type"),
        By::Staff => ("staff", "By staff member who checked the patient in"),
    };
    let mut groups = Section::new(key, title, MEASURES);
    for (g, tally) in &t.groups {
        for row in measure_rows(inst, g, tally) {
            groups.push(row);
        }
    }
    let mut sections = vec![overall, groups];
    if let Some(x) = against {
        sections.push(against_section(inst, t, x));
    }
    for (i, c) in inst.composites.iter().enumerate() {
        sections.push(trend_section(c.key.as_str(), &c.title, i, &t.months));
    }
    Report {
        name: "satisfaction",
        title: "Patient satisfaction",
        covers: Covers::Range(from, to),
        sections,
    }
}

/// Each composite's top-box share by band, with a chart of all composites' answers pooled.
fn against_section(inst: &Instrument, t: &Totals, x: Against) -> Section {
    let (key, title, labels, what) = match x {
        Against::Wait => (
            "wait",
            "By wait, arrival to roomed (association, not cause)",
            WAIT_BANDS,
            "wait",
        ),
        Against::Late => (
            "late",
            "By how late the visit started (association, not cause)",
            LATE_BANDS,
            "lateness",
        ),
    };
    let mut s = Section::new(key, title, MEASURES);
    let mut bars = Vec::new();
    for (b, label) in labels.iter().enumerate() {
        let tally = &t.bands[b];
        for (i, c) in inst.composites.iter().enumerate() {
            let n = tally.composites.get(i).map_or(0, |s| s.n);
            let [v, lo, hi] = estimate_cells(tally.top_box(i), 100.0, 1);
            s.push(vec![
                Cell::from(*label),
                Cell::from(format!("{} (% top box)", c.title)),
                Cell::count(tally.responses as i64),
                Cell::count(n as i64),
                v,
                lo,
                hi,
                if tally.reliable() {
                    yes(true)
                } else {
                    Cell::from(format!("unreliable (under {RELIABLE_AT})"))
                },
            ]);
        }
        let (k, n) = tally
            .composites
            .iter()
            .fold((0, 0), |(k, n), s| (k + s.k, n + s.n));
        let share = crate::domain::survey::stats::wilson(k, n, crate::domain::survey::stats::Z95);
        bars.push((
            label.to_string(),
            share.map_or(0, |e| (e.value * 1000.0).round() as i64),
            share.map_or("no answers".into(), |e| {
                format!("{:.0}% ({} responses)", e.value * 100.0, tally.responses)
            }),
            share.map(|e| (e.hi * 1000.0).round() as i64),
        ));
    }
    let title = format!(
        "Top-box % of all composites by {what} ({} responses with no {what} on record left out; white box: upper end of the 95% interval)",
        t.unbanded
    );
    s.with_chart(chart::bars(&title, bars))
}

/// One composite's top-box share by month, with its trend chart.
fn trend_section(key: &str, title: &str, i: usize, months: &BTreeMap<Month, Tally>) -> Section {
    let mut s = Section::new(
        leak(format!("trend-{key}")),
        leak(format!("Trend by month: {title}")),
        TREND,
    );
    let mut bars = Vec::new();
    for (m, t) in months {
        let n = t.composites.get(i).map_or(0, |s| s.n);
        let e = t.top_box(i);
        let [v, lo, hi] = estimate_cells(e, 100.0, 1);
        s.push(vec![
            Cell::code(m.to_string()),
            Cell::count(n as i64),
            v,
            lo,
            hi,
        ]);
        bars.push((
            m.to_string(),
            e.map_or(0, |e| (e.value * 1000.0).round() as i64),
            e.map_or("no answers".into(), |e| {
                format!("{:.0}% ({n} answers)", e.value * 100.0)
            }),
            e.map(|e| (e.hi * 1000.0).round() as i64),
        ));
    }
    s.with_chart(chart::bars(
        "Top-box % by month (white box: upper end of the 95% interval)",
        bars,
    ))
}

/// The comments of the period, with names and numbers removed (the patient's, the
/// provider's and the staff's names, and every capitalised word inside a sentence).
fn comments(s: &Sched, from: NaiveDate, to: NaiveDate, deidentified: bool) -> Result<Section> {
    let mut sec = Section::new("comments", "Comments (names and numbers removed)", COMMENTS);
    let providers = s.store.providers()?;
    for r in s.store.surveys(Month::of(from), Month::of(to))? {
        let Some(text) = &r.comment else {
            continue;
        };
        if !in_period(r.visit, r.month, from, to) {
            continue;
        }
        let mut names: Vec<String> = providers.iter().map(|p| p.name.clone()).collect();
        if let (Some(id), Some(day)) = (&r.appointment, r.visit)
            && let Some(v) = s.store.survey_visit(id, day)?
        {
            names.extend(v.history.iter().map(|c| c.by.clone()));
            if let Ok(p) = s.store.load_patient(&v.patient) {
                names.push(p.display_name());
                names.push(p.given.clone());
                names.push(p.family.clone());
            }
        }
        let month = if deidentified {
            r.month.year.to_string()
        } else {
            r.month.to_string()
        };
        sec.push(vec![
            Cell::code(month),
            Cell::from(r.provider.as_str()),
            Cell::from(scrub_comment(text, &names)),
        ]);
    }
    Ok(sec)
}
