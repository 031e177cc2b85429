use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::cli::Ctx;
use crate::cli::pay::patient_id;
use crate::cli::pay::view::{BalanceView, OfficeView, PatientView};
use crate::derived::ledger_cache;
use crate::domain::id::Id;
use crate::domain::ledger::{Aging, Entry, Kind, aging, balance, visits};
use crate::domain::money;
use crate::domain::office::Office;
use crate::domain::patient::Patient;
use crate::domain::statement_run;
use crate::error::{Error, Result, exit};
use crate::render::{self, Format, templates::Templates};
use crate::store::{Mode, Store, atomic, bulk, letter};

/// The flag that keeps a patient out of the monthly statement run.
pub const NO_STATEMENTS: &str = "no-statements";

/// A patient statement: one combined statement across visits, with the office letterhead, the
/// patient's address, each open visit's charges and payments, aging and the amount due now
/// (never counting what insurance is still expected to pay).
///
/// Settled visits are left out, with a line saying how many (`--all-visits` lists them).
///
/// Plain text by default; HTML for printing with `--as html`, `--format html` or `-o FILE.html`.
/// The templates are `statement.txt` and `statement.html` (the office's own in `templates/` win).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The patient (P…); leave out with --all-due.
    #[arg(required_unless_present = "all_due", conflicts_with = "all_due")]
    pub patient: Option<String>,
    /// Write to this file (with --all-due: this directory, one file per patient ID).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// One statement for every patient with an amount due now, for the monthly mail run,
    /// skipping patients flagged "no-statements".
    #[arg(long, requires = "output")]
    pub all_due: bool,
    /// text or html.
    #[arg(long = "as", value_enum)]
    pub kind: Option<Layout>,
    /// List every visit, settled ones too: the full history a patient may ask for. By default
    /// a statement lists only the visits with something left to pay (or a credit), and says how
    /// many settled ones it leaves out.
    #[arg(long)]
    pub all_visits: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    Text,
    Html,
}

impl Layout {
    fn template(self) -> &'static str {
        match self {
            Layout::Text => "statement.txt",
            Layout::Html => "statement.html",
        }
    }
    fn ext(self) -> &'static str {
        match self {
            Layout::Text => "txt",
            Layout::Html => "html",
        }
    }
}

pub fn cmd_statement(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let templates = Templates::load(store.root())?;
    if a.all_due {
        let dir = a.output.clone().unwrap_or_default();
        let kind = a.kind.unwrap_or(
            if ctx.format == Format::Table || ctx.format == Format::Html {
                Layout::Html
            } else {
                Layout::Text
            },
        );
        return all_due(ctx, &store, &templates, &dir, kind, a.all_visits);
    }
    let pid = patient_id(a.patient.as_deref().unwrap_or_default())?;
    let patient = store.load_patient(&pid)?;
    let entries = store.patient_ledger(&pid)?;
    let kind = a.kind.unwrap_or_else(|| {
        let html_file = a
            .output
            .as_ref()
            .and_then(|p| p.extension())
            .is_some_and(|e| e == "html" || e == "htm");
        if html_file || ctx.format == Format::Html {
            Layout::Html
        } else {
            Layout::Text
        }
    });
    if matches!(ctx.format, Format::Json | Format::Csv | Format::Xlsx) && a.kind.is_none() {
        let data = StatementData::new(&patient, &entries, store.office.today(), a.all_visits);
        if ctx.format == Format::Json {
            render::print_json(&data)?;
        } else {
            data.table(&store.office.currency).print(ctx.format)?;
        }
        return Ok(exit::OK);
    }
    let payers = payer_names(&store)?;
    let view = StatementView::new(
        &store.office,
        &patient,
        &entries,
        store.office.today(),
        &payers,
        a.all_visits,
    );
    let text = templates.render(kind.template(), &view)?;
    match &a.output {
        Some(path) => {
            // A statement written to a file is sent: keep it in the correspondence file.
            let mut txn = store.begin()?;
            let (mut letter, day) = crate::cli::letter::document_record(
                &store,
                &patient,
                "statement",
                kind.ext(),
                None,
            );
            txn.save_letter(&mut letter, day, text.as_bytes())?;
            txn.commit(&format!("Write statement {} for patient {pid}.", letter.id))?;
            render::write_file(path, &text)?;
            ctx.say(&format!(
                "statement for {pid} written to {} and kept as letter {}",
                path.display(),
                letter.id
            ));
        }
        None => render::print(&text)?,
    }
    Ok(exit::OK)
}

/// A statement for scripts (`--format json`, and `csv` one row per entry): the same visits and
/// totals as the printed statement, as raw values (ISO dates, amounts as decimal strings, a
/// credit negative).
#[derive(Debug, Serialize)]
struct StatementData {
    patient_id: String,
    statement_date: NaiveDate,
    visits: Vec<VisitData>,
    settled_visits: usize,
    on_account: Vec<EntryData>,
    total: Decimal,
    insurance: Decimal,
    patient_owes: Decimal,
    due_now: Decimal,
    credit: Decimal,
    aging: Aging,
}

#[derive(Debug, Serialize)]
struct VisitData {
    date: NaiveDate,
    appointment: Option<String>,
    balance: Decimal,
    entries: Vec<EntryData>,
}

#[derive(Debug, Serialize)]
struct EntryData {
    id: String,
    date: NaiveDate,
    description: String,
    /// What the entry does to the balance: a charge positive, a payment negative.
    amount: Decimal,
}

impl EntryData {
    fn new(e: &Entry) -> EntryData {
        EntryData {
            id: e.id.to_string(),
            date: e.date,
            description: e.describe(),
            amount: money::cents(e.effect()),
        }
    }
}

impl StatementData {
    fn new(patient: &Patient, entries: &[Entry], today: NaiveDate, all_visits: bool) -> Self {
        let (vs, account) = visits(entries);
        let mut settled_visits = 0;
        let visits = vs
            .iter()
            .filter_map(|v| {
                let balance: Decimal = v.entries.iter().map(|e| e.effect()).sum();
                if !all_visits && balance.is_zero() {
                    settled_visits += 1;
                    return None;
                }
                Some(VisitData {
                    date: v.date,
                    appointment: v.appointment.map(|a| a.to_string()),
                    balance: money::cents(balance),
                    entries: v.entries.iter().map(|e| EntryData::new(e)).collect(),
                })
            })
            .collect();
        let b = balance(entries);
        StatementData {
            patient_id: patient.id.to_string(),
            statement_date: today,
            visits,
            settled_visits,
            on_account: account.iter().map(|e| EntryData::new(e)).collect(),
            total: b.total,
            insurance: b.insurance,
            patient_owes: b.patient,
            due_now: b.due_now,
            credit: b.credit,
            aging: aging(entries, today),
        }
    }

    /// One row per entry, visit by visit, then what is on account.
    fn table(&self, cur: &str) -> render::Table {
        use render::Cell;
        let mut t = render::Table::new(&[
            "visit date",
            "appointment",
            "entry",
            "date",
            "description",
            "amount",
        ]);
        let row = |visit: Option<&VisitData>, e: &EntryData| {
            vec![
                Cell::from(visit.map(|v| v.date.to_string())),
                Cell::code(
                    visit
                        .and_then(|v| v.appointment.clone())
                        .unwrap_or_default(),
                ),
                Cell::code(e.id.clone()),
                Cell::from(e.date.to_string()),
                Cell::from(e.description.as_str()),
                Cell::signed_money(e.amount, cur),
            ]
        };
        for v in &self.visits {
            for e in &v.entries {
                t.push(row(Some(v), e));
            }
        }
        for e in &self.on_account {
            t.push(row(None, e));
        }
        t
    }
}

/// Who a statement run's ledger belongs to once merged charts are followed, and that
/// patient's combined entries (None: the entries given are the whole ledger). A merged chart
/// (a tombstone) owing money stands in for the kept patient only when the kept patient's own
/// entries do not already bring them into the run and no earlier merged chart of theirs
/// does, so each patient gets one statement. None: nothing to send for this ID.
fn merged_statement(
    store: &Store,
    patient: Patient,
) -> Result<Option<(Patient, Option<Vec<Entry>>)>> {
    let own_due = |id: &crate::domain::id::Id| -> Result<bool> {
        let list = crate::derived::ledger_index::patient_entries(store, id)?;
        Ok(balance(&store.read_entries(id, list)?).due_now > Decimal::ZERO)
    };
    match patient.merged_into.clone() {
        None if patient.merged_from.is_empty() => Ok(Some((patient, None))),
        None => {
            let all = store.patient_ledger(&patient.id)?;
            Ok(Some((patient, Some(all))))
        }
        Some(keep_id) => {
            let keep = store.load_patient(&keep_id)?;
            if own_due(&keep_id)? {
                return Ok(None);
            }
            // The first of the kept patient's merged charts that owes money sends it.
            for other in &keep.merged_from {
                if own_due(other)? {
                    if *other != patient.id {
                        return Ok(None);
                    }
                    break;
                }
            }
            let all = store.patient_ledger(&keep_id)?;
            Ok(Some((keep, Some(all))))
        }
    }
}

/// What the statement run did for one patient owing money.
enum Outcome {
    /// The statement's path, and what the run's record keeps of it.
    Written(PathBuf, Sent),
    Skipped,
    /// The patient file could not be read (the message names the file, never a value).
    NoPatient(String),
}

/// One statement written by the run: its patient, the amount due now, and its bytes' hash and
/// length (the bytes themselves are read back in patient-ID order to be kept).
struct Sent {
    patient: Id,
    due: Decimal,
    sha1: String,
    length: u64,
}

/// Writes `DIR/<patient ID>.html` for every patient owing money now. File names carry the ID
/// only, never a name. Patients are read one at a time (through the ledger index and the
/// ledger cache, on all cores), so memory does not grow with the ledger; the paths are printed
/// in patient ID order. The run is kept as one letter (`domain::statement_run`): its record,
/// its statement table and every statement as mailed, in one commit.
fn all_due(
    ctx: &Ctx,
    store: &Store,
    templates: &Templates,
    dir: &Path,
    layout: Layout,
    all_visits: bool,
) -> Result<u8> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::user(format!("{} is not a directory", dir.display()))
            .hint("--all-due writes one file per patient into a directory"));
    }
    let today = store.office.today();
    let payers = payer_names(store)?;
    // The run is kept in the correspondence file, under the lock, in one commit.
    let mut txn = store.begin()?;
    let outcomes = ledger_cache::map_patient_ledgers(store, |pid, entries| {
        if balance(entries).due_now <= Decimal::ZERO {
            return Ok(None);
        }
        let patient = match store.load_patient(pid) {
            Ok(p) => p,
            Err(e) => return Ok(Some(Outcome::NoPatient(e.message))),
        };
        // Merged charts: the kept patient gets one statement of every entry (never edited,
        // so the merged chart's stay under its ID); see `merged_statement`.
        let Some((patient, combined)) = merged_statement(store, patient)? else {
            return Ok(None);
        };
        let entries = combined.as_deref().unwrap_or(entries);
        let due = balance(entries).due_now;
        if due <= Decimal::ZERO {
            return Ok(None);
        }
        let pid = &patient.id;
        if patient
            .flags
            .iter()
            .any(|f| f.eq_ignore_ascii_case(NO_STATEMENTS))
        {
            return Ok(Some(Outcome::Skipped));
        }
        let view = StatementView::new(&store.office, &patient, entries, today, &payers, all_visits);
        let path = dir.join(format!("{pid}.{}", layout.ext()));
        let text = templates.render(layout.template(), &view)?;
        // The reliability tests end the process here (FRONTDESK_FAULT=crash:statement#N:
        // before the Nth statement), as kill -9 would in the middle of a run.
        crate::disk::fault::check("statement").map_err(|e| Error::internal(e.to_string()))?;
        // Whole files by link or rename, flushed to disk together below: a per-file fsync is
        // what made a 100,000-statement run take minutes.
        atomic::create_dirs(dir)?;
        atomic::write_unsynced_linked(&path, text.as_bytes(), Mode::Replace)?;
        let sent = Sent {
            patient: pid.clone(),
            due: money::cents(due),
            sha1: letter::sha1_hex(text.as_bytes()),
            length: text.len() as u64,
        };
        Ok(Some(Outcome::Written(path, sent)))
    });
    // Flush what was written even when a later patient failed.
    let synced = if dir.is_dir() {
        bulk::sync_tree(dir)
    } else {
        Ok(())
    };
    let outcomes = outcomes?;
    synced?;
    let mut written: Vec<(&PathBuf, &Sent)> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Written(path, sent) => Some((path, sent)),
            _ => None,
        })
        .collect();
    // In patient-ID order, which the table's binary search needs: a merged chart's
    // statement goes out under the kept patient's ID, not in the merged chart's place.
    written.sort_by(|a, b| a.1.patient.cmp(&b.1.patient));
    written.dedup_by(|a, b| a.1.patient == b.1.patient);
    if !written.is_empty() {
        let (mut run, day) = crate::cli::letter::run_record(store, dir, layout.ext());
        let (bytes, lines) = kept_statements(&written)?;
        run.statements.count = lines.len() as u64;
        run.statements.total_due = lines.iter().map(|l| l.due).sum();
        txn.save_run(&mut run, day, &bytes, &lines)?;
        drop(bytes);
        txn.commit(&format!(
            "Write statement run {}: {} statements, kept as one letter.",
            run.id,
            lines.len()
        ))?;
    }
    report_all_due(ctx, dir, &outcomes)
}

/// The run's statements as kept: each file the run wrote, read back in patient-ID order and
/// checked against the hash taken when it was rendered, concatenated; and the table saying
/// where each lies. The files were just written, so they are read from memory, on all cores,
/// each straight into its place in the one buffer.
fn kept_statements(written: &[(&PathBuf, &Sent)]) -> Result<(Vec<u8>, Vec<statement_run::Line>)> {
    use rayon::prelude::*;
    let mut lines = Vec::with_capacity(written.len());
    let mut offset = 0u64;
    for (_, sent) in written {
        lines.push(statement_run::Line {
            patient: sent.patient.clone(),
            due: sent.due,
            sha1: sent.sha1.clone(),
            offset,
            length: sent.length,
        });
        offset += sent.length;
    }
    let total = usize::try_from(offset)
        .map_err(|_| Error::internal("the statements are too large to keep in one file"))?;
    let mut bytes = vec![0u8; total];
    // Each statement's own slice of the buffer, so the reads can run side by side.
    let mut slices = Vec::with_capacity(written.len());
    let mut rest = bytes.as_mut_slice();
    for (_, sent) in written {
        let (mine, after) = rest.split_at_mut(sent.length as usize);
        slices.push(mine);
        rest = after;
    }
    slices
        .into_par_iter()
        .zip(written.par_iter())
        .try_for_each(|(slot, (path, sent))| {
            let changed = || {
                Error::conflict(format!(
                    "{} changed while the statement run was writing; nothing was kept",
                    path.display()
                ))
                .hint(
                    "make sure nothing else writes into that folder, then run the statements again",
                )
            };
            let text = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
            if text.len() != slot.len() {
                return Err(changed());
            }
            slot.copy_from_slice(&text);
            if letter::sha1_hex(slot) != sent.sha1 {
                return Err(changed());
            }
            Ok(())
        })?;
    Ok((bytes, lines))
}

/// Prints the statements written (in patient ID order) and the totals; fails when a patient
/// owing money had no readable patient file.
fn report_all_due(ctx: &Ctx, dir: &Path, outcomes: &[Outcome]) -> Result<u8> {
    let (mut written, mut skipped) = (0usize, 0usize);
    let mut listing = String::new();
    let mut problems = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Written(path, _) => {
                written += 1;
                listing.push_str(&format!("{}\n", path.display()));
            }
            Outcome::Skipped => skipped += 1,
            Outcome::NoPatient(message) => problems.push(message),
        }
    }
    if !ctx.quiet {
        render::print(&listing)?;
    }
    ctx.say(&format!(
        "{} written to {}; {} skipped (flagged {NO_STATEMENTS})",
        render::plural(written, "statement"),
        dir.display(),
        render::plural(skipped, "patient"),
    ));
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("frontdesk: {p}");
        }
        return Err(Error::user(format!(
            "{} owing money have no readable patient file; no statement was made for them",
            render::plural(problems.len(), "patient")
        ))
        .hint("run `frontdesk check` to find ledger entries whose patient is missing"));
    }
    Ok(exit::OK)
}

/// Payer keys to names, for the insurance lines on a statement.
fn payer_names(store: &Store) -> Result<HashMap<String, String>> {
    Ok(store
        .payers()?
        .into_iter()
        .map(|p| (p.key, p.name))
        .collect())
}

/// "Aetna PPO, member W123456789" for each coverage in force on `on`, primary first.
fn coverages(patient: &Patient, on: NaiveDate, payers: &HashMap<String, String>) -> Vec<String> {
    let mut active: Vec<_> = patient
        .insurance
        .iter()
        .filter(|c| c.active_on(on))
        .collect();
    active.sort_by_key(|c| c.rank);
    active
        .iter()
        .map(|c| {
            let name = payers.get(&c.payer).unwrap_or(&c.payer);
            format!("{name}, member {} ({})", c.member_id, c.rank_name())
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct Line {
    pub date: String,
    pub description: String,
    pub charge: String,
    pub credit: String,
}

#[derive(Debug, Serialize)]
pub struct VisitView {
    pub date: String,
    pub appointment: String,
    pub lines: Vec<Line>,
    pub balance: String,
}

#[derive(Debug, Serialize)]
pub struct AgingView {
    pub current: String,
    pub days_31_60: String,
    pub days_61_90: String,
    pub over_90: String,
}

#[derive(Debug, Serialize)]
pub struct StatementView {
    pub office: OfficeView,
    pub patient: PatientView,
    /// The patient's coverages in force, for the patient to check.
    pub insurance: Vec<String>,
    pub statement_date: String,
    /// The visits listed: those with something left to pay or a credit (every visit with
    /// `--all-visits`), oldest first.
    pub visits: Vec<VisitView>,
    /// How many settled visits (balance zero) were left out. They add nothing to the balance,
    /// so the listed visits and the account lines still add up to it.
    pub settled_visits: usize,
    pub account: Vec<Line>,
    pub balance: BalanceView,
    pub aging: AgingView,
}

impl StatementView {
    pub fn new(
        office: &Office,
        patient: &Patient,
        entries: &[Entry],
        today: NaiveDate,
        payers: &HashMap<String, String>,
        all_visits: bool,
    ) -> StatementView {
        let cur = &office.currency;
        let (vs, account) = visits(entries);
        let a: Aging = aging(entries, today);
        let m = |d| money::with_credit(d, cur);
        let (listed, settled): (Vec<_>, Vec<_>) = vs
            .iter()
            .map(|v| (v, v.entries.iter().map(|e| e.effect()).sum::<Decimal>()))
            .partition(|(_, balance)| all_visits || !balance.is_zero());
        StatementView {
            office: OfficeView::new(office),
            patient: PatientView::new(patient),
            insurance: coverages(patient, today, payers),
            statement_date: today.to_string(),
            visits: listed
                .into_iter()
                .map(|(v, balance)| VisitView {
                    date: v.date.to_string(),
                    appointment: v.appointment.map(|a| a.to_string()).unwrap_or_default(),
                    lines: v.entries.iter().flat_map(|e| lines(e, cur)).collect(),
                    balance: m(balance),
                })
                .collect(),
            settled_visits: settled.len(),
            account: account.iter().flat_map(|e| lines(e, cur)).collect(),
            balance: BalanceView::new(&balance(entries), cur),
            aging: AgingView {
                current: m(a.current),
                days_31_60: m(a.days_31_60),
                days_61_90: m(a.days_61_90),
                over_90: m(a.over_90),
            },
        }
    }
}

/// The statement lines for one entry: a charge shows each service, an insurance payment shows
/// the payment and its contractual adjustment apart.
fn lines(e: &Entry, cur: &str) -> Vec<Line> {
    let line = |description: String, amount: Decimal, debit: bool| Line {
        date: e.date.to_string(),
        description,
        charge: if debit {
            money::display(amount, cur)
        } else {
            String::new()
        },
        credit: if debit {
            String::new()
        } else {
            money::display(amount, cur)
        },
    };
    match e.kind {
        Kind::Charge => e
            .services
            .iter()
            .map(|s| line(format!("{} {}", s.code, s.description), s.fee, true))
            .collect(),
        Kind::InsurancePayment => {
            let mut out = vec![line(e.describe(), e.amount, false)];
            if let Some(c) = e.contractual.filter(|c| !c.is_zero()) {
                out.push(line("Insurance contractual adjustment".into(), c, false));
            }
            out
        }
        Kind::Refund => vec![line(e.describe(), e.amount, true)],
        _ => vec![line(e.describe(), e.amount, false)],
    }
}
