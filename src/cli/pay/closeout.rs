use std::collections::HashMap;

use serde::Serialize;

use crate::cli::Ctx;
use crate::cli::pay::view::OfficeView;
use crate::domain::closeout::{Closeout, closeout};
use crate::domain::dates::parse_day;
use crate::domain::ledger::{Entry, Kind};
use crate::domain::money;
use crate::error::{Result, exit};
use crate::render::{self, Cell, Format, Table, templates::Templates};
use crate::store::Store;

/// The end-of-day reconciliation: payments by method and by staff member, the number and total
/// of checks, the cash drawer total, and the day's voids and refunds.
///
/// Reads one day's directory. `--format csv|json|html` for the books; HTML uses the
/// `closeout.html` template.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The business day (default today): 2026-12-01, yesterday, mon, -1d.
    #[arg(allow_hyphen_values = true)]
    pub date: Option<String>,
}

pub fn cmd_closeout(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let today = store.office.today();
    let date = match &a.date {
        Some(d) => parse_day(d, today)?,
        None => today,
    };
    let day = store.ledger_day(date)?;
    let targets = void_targets(&store, &day)?;
    let c = closeout(date, &day, &targets);
    let uncharged = uncharged_visits(&store, date)?;
    let cur = store.office.currency.clone();
    match ctx.format {
        Format::Json => render::print_json(&Json {
            closeout: &c,
            uncharged_visits: &uncharged,
        })?,
        Format::Html => {
            let t = Templates::load(store.root())?;
            let mut view = View::new(&store, &c, &cur);
            view.uncharged = uncharged.clone();
            render::print(&t.render("closeout.html", &view)?)?;
        }
        Format::Csv | Format::Xlsx => table(&c, &cur, &uncharged).print(ctx.format)?,
        Format::Table => {
            table(&c, &cur, &uncharged).print(Format::Table)?;
            // Who and why, for people: on stderr, so stdout stays the table.
            for line in lists(&c, &cur).lines() {
                ctx.say(line);
            }
        }
    }
    Ok(exit::OK)
}

#[derive(Serialize)]
struct Json<'a> {
    #[serde(flatten)]
    closeout: &'a Closeout<'a>,
    uncharged_visits: &'a [Uncharged],
}

/// A visit checked out that day with no charge in effect naming it: work left for the desk
/// before the books close (the `report daily` of the next morning lists them too).
#[derive(Debug, Clone, Serialize)]
pub struct Uncharged {
    pub appointment: String,
    pub patient: String,
    pub provider: String,
    pub start: String,
}

/// The day's checked-out visits that no charge names. Reads the day's appointments and, for
/// each checked-out visit, its patient's ledger (a handful of files a day).
pub fn uncharged_visits(store: &Store, date: chrono::NaiveDate) -> Result<Vec<Uncharged>> {
    use crate::domain::schedule::appointment::Status;
    let tz = store.office.tz()?;
    let mut out = Vec::new();
    let mut checked_out = store.day_appointments(date)?;
    checked_out.retain(|ap| ap.status == Status::Fulfilled);
    // One look at the ledger index for the day's patients, not one per visit.
    let patients: Vec<_> = checked_out.iter().map(|ap| ap.patient.clone()).collect();
    for (ap, ledger) in checked_out.iter().zip(store.patient_ledgers(&patients)?) {
        if !crate::domain::ledger::is_charged(&ledger, &ap.id) {
            out.push(Uncharged {
                appointment: ap.id.to_string(),
                patient: ap.patient.to_string(),
                provider: ap.provider.clone(),
                start: crate::domain::schedule::localtime::wall(tz, ap.start)
                    .format("%H:%M")
                    .to_string(),
            });
        }
    }
    Ok(out)
}

/// The entries the day's voids reverse: from the day itself, or found by ID.
pub(crate) fn void_targets(
    store: &Store,
    day: &[Entry],
) -> Result<HashMap<crate::domain::id::Id, Entry>> {
    let mut out = HashMap::new();
    for v in day.iter().filter(|e| e.kind == Kind::Void) {
        let Some(id) = &v.voids else { continue };
        let t = match day.iter().find(|e| &e.id == id) {
            Some(t) => t.clone(),
            None => store.find_entry(id)?,
        };
        out.insert(id.clone(), t);
    }
    Ok(out)
}

/// One table for people and spreadsheets: section, name, count, amount.
pub(crate) fn table(c: &Closeout, cur: &str, uncharged: &[Uncharged]) -> Table {
    let mut t = Table::new(&["section", "name", "count", "amount"]);
    let n = |d| Cell::signed_money(d, cur);
    for (m, l) in &c.by_method {
        t.push(vec![
            "method".into(),
            m.as_str().into(),
            Cell::count(l.count),
            n(l.net),
        ]);
    }
    for (s, l) in &c.by_staff {
        t.push(vec![
            "staff".into(),
            s.as_str().into(),
            Cell::count(l.count),
            n(l.net),
        ]);
    }
    t.push(vec![
        "total".into(),
        "patient payments".into(),
        "".into(),
        n(c.total),
    ]);
    t.push(vec![
        "total".into(),
        "checks".into(),
        Cell::count(c.checks.count),
        n(c.checks.net),
    ]);
    t.push(vec![
        "total".into(),
        "cash drawer".into(),
        "".into(),
        n(c.cash_drawer),
    ]);
    t.push(vec![
        "total".into(),
        "insurance payments".into(),
        "".into(),
        n(c.insurance),
    ]);
    for v in &c.voids {
        let target = v.voids.as_ref().map(|x| x.to_string()).unwrap_or_default();
        t.push(vec![
            "void".into(),
            format!("{} of {target}", v.id).into(),
            "".into(),
            n(v.amount),
        ]);
    }
    for r in &c.refunds {
        t.push(vec![
            "refund".into(),
            r.id.to_string().into(),
            "".into(),
            n(r.amount),
        ]);
    }
    for u in uncharged {
        t.push(vec![
            "not charged".into(),
            format!(
                "{} {} ({}, {})",
                u.start, u.appointment, u.patient, u.provider
            )
            .into(),
            "".into(),
            "".into(),
        ]);
    }
    t
}

/// Who and why for the voids and refunds, under the table.
fn lists(c: &Closeout, cur: &str) -> String {
    let mut s = String::new();
    for v in &c.voids {
        s.push_str(&format!(
            "void {} of {} for patient {} by {}: {} ({})\n",
            v.id,
            v.voids.as_ref().map(|x| x.to_string()).unwrap_or_default(),
            v.patient,
            v.by,
            money::display(v.amount, cur),
            v.reason.as_deref().unwrap_or("")
        ));
    }
    for r in &c.refunds {
        s.push_str(&format!(
            "refund {} for patient {} by {}: {} ({})\n",
            r.id,
            r.patient,
            r.by,
            money::display(r.amount, cur),
            r.reason.as_deref().unwrap_or("")
        ));
    }
    s
}

#[derive(Serialize)]
struct Row {
    method: String,
    staff: String,
    count: i64,
    net: String,
}

#[derive(Serialize)]
struct Listed {
    id: String,
    voids: String,
    patient: String,
    method: String,
    amount: String,
    by: String,
    reason: String,
}

#[derive(Serialize)]
struct Checks {
    count: i64,
    total: String,
}

#[derive(Serialize)]
struct View {
    office: OfficeView,
    date: String,
    by_method: Vec<Row>,
    by_staff: Vec<Row>,
    total: String,
    checks: Checks,
    cash_drawer: String,
    insurance: String,
    voids: Vec<Listed>,
    refunds: Vec<Listed>,
    uncharged: Vec<Uncharged>,
}

impl View {
    fn new(store: &Store, c: &Closeout, cur: &str) -> View {
        let m = |d| money::display(d, cur);
        let listed = |e: &&Entry| Listed {
            id: e.id.to_string(),
            voids: e.voids.as_ref().map(|x| x.to_string()).unwrap_or_default(),
            patient: e.patient.to_string(),
            method: e.method.map(|x| x.as_str()).unwrap_or("").to_string(),
            amount: m(e.amount),
            by: e.by.clone(),
            reason: e.reason.clone().unwrap_or_default(),
        };
        View {
            office: OfficeView::new(&store.office),
            date: c.date.to_string(),
            by_method: c
                .by_method
                .iter()
                .map(|(k, l)| Row {
                    method: k.as_str().into(),
                    staff: String::new(),
                    count: l.count,
                    net: m(l.net),
                })
                .collect(),
            by_staff: c
                .by_staff
                .iter()
                .map(|(k, l)| Row {
                    method: String::new(),
                    staff: k.clone(),
                    count: l.count,
                    net: m(l.net),
                })
                .collect(),
            total: m(c.total),
            checks: Checks {
                count: c.checks.count,
                total: m(c.checks.net),
            },
            cash_drawer: m(c.cash_drawer),
            insurance: m(c.insurance),
            voids: c.voids.iter().map(listed).collect(),
            refunds: c.refunds.iter().map(listed).collect(),
            uncharged: Vec::new(),
        }
    }
}
