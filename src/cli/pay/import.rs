use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use crate::cli::Ctx;
use crate::derived::schedule_index;
use crate::domain::id::Id;
use crate::domain::ledger::{AppliesTo, Entry, Kind, find_by_key};
use crate::domain::money;
use crate::domain::pay_import::{PayMap, PayRow};
use crate::error::{Error, IoContext, Result, exit};
use crate::render::{Cell, Format, Table};
use crate::store::{Store, read_toml};

/// Import payments from a CSV file (a card terminal's daily export) through a mapping file.
///
/// Every row is checked before anything is written; with any bad row nothing is imported and
/// each bad row is named. Rows whose key was imported before are left out, so running the same
/// file again records nothing new. One commit for the whole import.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The CSV file.
    pub file: PathBuf,
    /// The mapping file (see examples/card-terminal-map.toml).
    #[arg(long)]
    pub map: PathBuf,
    /// Show what would be recorded, and record nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn cmd_import(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let map: PayMap = read_toml(&a.map)?;
    let rows = read_rows(&a, &map, store.office.today())?;
    let mut txn = store.begin()?;
    let plan = plan(&store, &rows)?;
    if a.dry_run || plan.new.is_empty() {
        show(ctx, &plan, &store.office.currency, a.dry_run)?;
        return Ok(exit::OK);
    }
    let now = store.office.now().fixed_offset();
    let mut entries = Vec::new();
    for r in &plan.new {
        let mut e = Entry::new(
            Kind::Payment,
            r.patient.clone(),
            r.amount,
            now,
            &store.options.user,
        );
        e.date = r.date;
        e.method = Some(r.method);
        e.reference = r.reference.clone();
        e.applies_to = Some(AppliesTo::Account);
        e.idempotency_key = Some(r.key.clone());
        // Every new ID is checked before the first file is written, so a refusal writes nothing.
        txn.refuse_dated_id_in_use(&schedule_index::LEDGER, &e.id, e.date)?;
        entries.push(e);
    }
    let mut body = Vec::new();
    for e in &entries {
        txn.add_entry(e)?;
        body.push(format!("{} for patient {}", e.id, e.patient));
    }
    txn.commit(&format!(
        "Import {} payments.\n\n{}",
        plan.new.len(),
        body.join("\n")
    ))?;
    show(ctx, &plan, &store.office.currency, false)?;
    Ok(exit::OK)
}

/// Reads and checks every row; all bad rows are reported together.
fn read_rows(a: &Args, map: &PayMap, today: chrono::NaiveDate) -> Result<Vec<PayRow>> {
    let bytes = std::fs::read(&a.file).at_path(&a.file, "read")?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Error::user(format!("{}: not UTF-8 text", a.file.display()))
            .hint("save the export as UTF-8 CSV")
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let place = |e: Error| e.at(a.file.display());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| {
            place(Error::user(format!(
                "cannot read the header row: {}",
                csv_reason(&e)
            )))
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let layout = map.layout(&header).map_err(place)?;
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let row = i + 2;
        let rec: Vec<String> = match rec {
            Ok(r) => r.iter().map(str::to_string).collect(),
            Err(e) => {
                problems.push(format!("row {row}: {}", csv_reason(&e)));
                continue;
            }
        };
        if map.skips(&layout, &rec) {
            continue;
        }
        match map.row(&layout, row, &rec, today) {
            Ok(r) => rows.push(r),
            Err(e) => problems.push(e.message),
        }
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{}: {p}", a.file.display());
        }
        return Err(Error::user(format!(
            "{}: {} bad rows; nothing was imported",
            a.file.display(),
            problems.len()
        ))
        .hint("fix the rows (or the mapping) and run the import again"));
    }
    Ok(rows)
}

/// The csv crate's reason without the record's content.
pub(crate) fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        _ => "not valid CSV".into(),
    }
}

struct Plan {
    new: Vec<PayRow>,
    done: Vec<(PayRow, Id)>,
    repeated: usize,
}

/// Sorts rows into new ones and ones already recorded (by key, in the patient's ledger).
/// Every patient must exist.
fn plan(store: &Store, rows: &[PayRow]) -> Result<Plan> {
    let mut patients: Vec<Id> = rows.iter().map(|r| r.patient.clone()).collect();
    patients.sort();
    patients.dedup();
    patients.retain(|p| store.load_patient(p).is_ok());
    // One refresh of the ledger index for the whole file, not one per row.
    let ledgers: BTreeMap<Id, Vec<Entry>> = patients
        .iter()
        .cloned()
        .zip(store.patient_ledgers(&patients)?)
        .collect();
    let mut seen = HashSet::new();
    let mut plan = Plan {
        new: Vec::new(),
        done: Vec::new(),
        repeated: 0,
    };
    let mut missing = Vec::new();
    for r in rows {
        let Some(ledger) = ledgers.get(&r.patient) else {
            missing.push(format!("row {}: no patient {}", r.row, r.patient));
            continue;
        };
        if !seen.insert(r.key.clone()) {
            plan.repeated += 1;
            continue;
        }
        match find_by_key(ledger, &r.key) {
            Some(e) => plan.done.push((r.clone(), e.id.clone())),
            None => plan.new.push(r.clone()),
        }
    }
    if !missing.is_empty() {
        for m in &missing {
            eprintln!("{m}");
        }
        return Err(Error::user(format!(
            "{} rows name patients that do not exist; nothing was imported",
            missing.len()
        ))
        .hint("check the patient IDs with `frontdesk patient find`"));
    }
    Ok(plan)
}

fn show(ctx: &Ctx, plan: &Plan, cur: &str, dry_run: bool) -> Result<()> {
    let mut t = Table::new(&[
        "row", "patient", "date", "amount", "method", "key", "status",
    ]);
    let line = |r: &PayRow, status: String| {
        vec![
            Cell::count(r.row),
            Cell::from(r.patient.to_string()),
            Cell::from(r.date.to_string()),
            Cell::signed_money(r.amount, cur),
            Cell::from(r.method.as_str()),
            Cell::from(r.key.as_str()),
            Cell::from(status),
        ]
    };
    let verb = if dry_run { "would record" } else { "recorded" };
    for r in &plan.new {
        t.push(line(r, verb.to_string()));
    }
    for (r, id) in &plan.done {
        t.push(line(r, format!("already imported as {id}")));
    }
    if ctx.format != Format::Table || !ctx.quiet {
        t.print(ctx.format)?;
    }
    let total: rust_decimal::Decimal = plan.new.iter().map(|r| r.amount).sum();
    ctx.say(&format!(
        "{}: {} new payments totalling {}, {} already imported, {} repeated in the file",
        if dry_run { "dry run" } else { "imported" },
        plan.new.len(),
        money::display(total, cur),
        plan.done.len(),
        plan.repeated
    ));
    Ok(())
}
