//! `frontdesk patient import FILE.csv --map MAP.toml`: the glue between the files and the
//! mapping rules in `domain::import`. Every row is checked (values, identity, duplicates)
//! before anything is written; the writes are one transaction and one commit.
//!
//! Memory stays flat however long the file (docs/performance.md): the first pass over the CSV
//! decides every row, holding only what the duplicate checks need and each new patient's ID;
//! the second builds the new patients again from their rows and writes them a batch at a time.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use csv::StringRecord;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::Ctx;
use crate::derived::index;
use crate::domain::duplicate::DuplicateGuard;
use crate::domain::id::{Id, IdKind};
use crate::domain::import::{
    Mapping, Outcome, Plan, RowContext, RowError, guard_cell, unguard_cell,
};
use crate::domain::patient::Patient;
use crate::domain::search::Searchable;
use crate::error::{Error, IoContext, Result, exit};
use crate::render::{self, Cell, Format};
use crate::store::{Store, import::write_rejects};

/// Import patients from another system's CSV export, as a mapping file says.
///
/// Every row is checked before anything is written. With bad rows, each is listed (row,
/// column, what is wrong, which mapping rule) and nothing is imported, unless
/// --skip-bad-rows. Rows already imported (same identity column value) are left alone, so
/// running the same import again adds nothing. The mapping format is in docs/import.md.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The CSV file: a header line, then one patient per row.
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// The mapping file: which column becomes which field, date formats, value maps, skip
    /// rules and the identity column.
    #[arg(long, value_name = "MAP.toml")]
    pub map: PathBuf,
    /// Show what would be imported, row by row, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the good rows and write the bad ones (with an error column) to a reject file.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Where --skip-bad-rows writes the bad rows [default: FILE.rejects.csv beside FILE.csv].
    #[arg(long, value_name = "PATH", requires = "skip_bad_rows")]
    pub reject_file: Option<PathBuf>,
}

/// What the import does with one row.
enum Action {
    /// A new patient with this ID, built from the row again when it is written.
    Add(Id),
    /// Already imported as this patient.
    Known(String),
    Skip(String),
    Bad(Vec<RowError>),
}

struct Row {
    /// 1-based data row (the header is not counted).
    n: usize,
    /// The physical line the row starts on.
    line: u64,
    /// The row as read, kept for bad rows only (the reject file); memory matters at 100,000.
    record: Option<StringRecord>,
    action: Action,
}

/// Who a new row might duplicate.
enum Who {
    Patient(String),
    Row(usize),
}

pub fn cmd_import(ctx: &Ctx, args: Args) -> Result<u8> {
    let store = ctx.open()?;
    let mapping = Mapping::parse(&args.map, &read(&args.map)?)?;
    let name = args.file.display().to_string();
    let bytes = read(&args.file)?;
    let text = mapping.encoding.decode(&name, &bytes)?;
    let (plan, _) = records(&mapping, &name, &text)?;
    let rejects = args
        .reject_file
        .clone()
        .unwrap_or_else(|| args.file.with_extension("rejects.csv"));
    if args.skip_bad_rows {
        check_reject_path(&rejects, &[&args.file, &args.map])?;
    }
    let input = Input {
        name,
        plan,
        skip_bad_rows: args.skip_bad_rows,
    };
    let rctx = row_context(&store);
    if args.dry_run {
        // A dry run only reads: no lock, no files, no reject file. It lists every row, the
        // bad ones too (one line per problem), in every format, before refusing them.
        let rows = check_rows(ctx, &store, &input, &mapping, &text, &rctx)?;
        print_rows(ctx, &rows, false)?;
        if !ctx.quiet && ctx.format == Format::Table {
            render::print(&format!("{}\n", Counts::of(&rows).summary(true, &rejects)))?;
        }
        refuse_bad_rows(&input, &rows)?;
        return Ok(exit::OK);
    }
    // The lock is held from reading the existing patients to the commit, so another import
    // cannot add the same rows in between.
    let mut txn = store.begin()?;
    let rows = check_rows(ctx, &store, &input, &mapping, &text, &rctx)?;
    refuse_bad_rows(&input, &rows)?;
    let counts = Counts::of(&rows);
    if counts.bad > 0 {
        write_rejects(&rejects, &reject_csv(&input.plan, &rows)?)?;
    }
    let bar = progress(ctx, counts.add, "writing patients");
    let (_, mut again) = records(&mapping, &input.name, &text)?;
    let batches = NewPatients {
        plan: &input.plan,
        rows: &rows,
        records: &mut again,
        rctx: &rctx,
        next: 0,
        batch: batch_size(),
    };
    txn.create_patients(batches, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let new: Vec<&Id> = rows.iter().filter_map(Row::new_id).collect();
    txn.commit(&commit_message(&new))?;

    if ctx.quiet {
        let ids: String = new.iter().map(|id| format!("{id}\n")).collect();
        render::print(&ids)?;
    } else if ctx.format == Format::Table {
        render::print(&format!("{}\n", counts.summary(false, &rejects)))?;
    } else {
        print_rows(ctx, &rows, true)?;
    }
    Ok(exit::OK)
}

/// New patients written per batch: enough for the writer threads to share fsyncs, few enough
/// that a batch of patients is a few megabytes. `FRONTDESK_IMPORT_BATCH` overrides it (tests
/// cross batch boundaries with a handful of rows).
const BATCH: usize = 2_000;

fn batch_size() -> usize {
    std::env::var("FRONTDESK_IMPORT_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(BATCH)
}

/// The second pass: the new patients, built again from their rows, a batch at a time.
struct NewPatients<'a, 't> {
    plan: &'a Plan,
    rows: &'a [Row],
    records: &'a mut Records<'t>,
    rctx: &'a RowContext<'a>,
    /// The next row to look at.
    next: usize,
    batch: usize,
}

impl Iterator for NewPatients<'_, '_> {
    type Item = Result<Vec<Patient>>;

    fn next(&mut self) -> Option<Result<Vec<Patient>>> {
        let mut batch = Vec::new();
        while batch.len() < self.batch && self.next < self.rows.len() {
            let row = &self.rows[self.next];
            self.next += 1;
            let record = match self.records.next() {
                Some(Ok((record, _))) => record,
                Some(Err(e)) => return Some(Err(e)),
                None => return Some(Err(changed(row.n))),
            };
            if let Action::Add(id) = &row.action {
                match self.plan.row(&record, id.clone(), self.rctx) {
                    Outcome::Patient { patient, .. } => batch.push(*patient),
                    _ => return Some(Err(changed(row.n))),
                }
            }
        }
        (!batch.is_empty()).then_some(Ok(batch))
    }
}

/// The second pass met a row other than the first pass decided: the text is the same, so
/// this is a bug, and nothing is kept.
fn changed(n: usize) -> Error {
    Error::internal(format!(
        "row {n} read differently the second time; nothing was imported"
    ))
}

fn row_context(store: &Store) -> RowContext<'_> {
    let now = store.office.now().fixed_offset();
    RowContext {
        today: now.date_naive(),
        now,
        calling_code: store.office.calling_code(),
        country: &store.office.country,
    }
}

/// The CSV as the map reads it.
struct Input {
    /// The CSV file as the user named it, for messages.
    name: String,
    plan: Plan,
    skip_bad_rows: bool,
}

/// Decides every row and lists the bad ones on stderr.
fn check_rows(
    ctx: &Ctx,
    store: &Store,
    input: &Input,
    mapping: &Mapping,
    text: &str,
    rctx: &RowContext,
) -> Result<Vec<Row>> {
    let (_, records) = records(mapping, &input.name, text)?;
    // Rows are counted as they are read; lines stand in for them in the progress bar.
    let lines = text.bytes().filter(|&b| b == b'\n').count();
    let bar = progress(ctx, lines, "checking lines");
    let rows = classify(store, &input.plan, records, rctx, &bar)?;
    bar.finish_and_clear();
    let name = &input.name;
    for row in &rows {
        if let Action::Bad(errors) = &row.action {
            for e in errors {
                eprintln!("frontdesk: {name}:{}: row {}: {e}", row.line, row.n);
            }
        }
    }
    Ok(rows)
}

/// With bad rows, the whole file is refused (unless --skip-bad-rows).
fn refuse_bad_rows(input: &Input, rows: &[Row]) -> Result<()> {
    let name = &input.name;
    let bad = Counts::of(rows).bad;
    if bad > 0 && !input.skip_bad_rows {
        return Err(Error::user(format!(
            "{name}: {bad} of {} rows are bad; nothing was imported",
            rows.len()
        ))
        .hint("fix those rows (or the map) and run again, or add --skip-bad-rows to import the good rows and write the bad ones to a reject file"));
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).at_path(path, "read")
}

/// Opens the CSV text: the header binds the map; the data rows follow, read as they are asked
/// for (each time this is called, from the first).
fn records<'t>(mapping: &Mapping, name: &'t str, text: &'t str) -> Result<(Plan, Records<'t>)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(mapping.delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| csv_error(name, e))?.clone();
    if header.iter().all(|h| h.trim().is_empty()) {
        return Err(Error::user(format!("{name} has no header line"))
            .hint("the first line must name the columns the map refers to"));
    }
    let plan = mapping.bind(name, &header)?;
    let records = Records {
        reader,
        name,
        text: text.as_bytes(),
        offset: 0,
        line: 1,
    };
    Ok((plan, records))
}

fn csv_error(name: &str, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(1);
    // csv's own message may quote a cell; say only where.
    Error::user(format!("{name}:{line}: cannot read this CSV line"))
        .hint("check the quotes on that line, and the map's delimiter")
}

/// The data rows of the CSV, each with the physical line it starts on.
struct Records<'t> {
    reader: csv::Reader<&'t [u8]>,
    name: &'t str,
    text: &'t [u8],
    offset: usize,
    line: u64,
}

impl Iterator for Records<'_> {
    type Item = Result<(StringRecord, u64)>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut record = StringRecord::new();
        match self.reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => return Some(Err(csv_error(self.name, e))),
        }
        // csv counts lines outside quotes only; a row's physical line counts every newline
        // before it, so a quoted multi-line address does not shift the rows after it.
        // After a CRLF, csv's position is the LF; a row starts at its first byte after it.
        let bytes = self.text;
        let mut start = record.position().map_or(self.offset, |p| p.byte() as usize);
        while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let start = start.max(self.offset).min(bytes.len());
        self.line += bytes[self.offset..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        self.offset = start;
        Some(Ok((record, self.line)))
    }
}

/// The reject file must not overwrite the input, the map, or anything but a plain file (the
/// atomic rename would replace a device such as /dev/null).
fn check_reject_path(rejects: &Path, inputs: &[&Path]) -> Result<()> {
    if rejects.symlink_metadata().is_ok_and(|m| !m.is_file()) {
        return Err(Error::user(format!(
            "--reject-file {} is not a regular file",
            rejects.display()
        ))
        .hint("give the path of a new or existing .csv file"));
    }
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if inputs.iter().any(|i| same(rejects, i)) {
        return Err(Error::user(format!(
            "--reject-file {} is one of the input files",
            rejects.display()
        ))
        .hint("choose another path for the rejected rows"));
    }
    Ok(())
}

/// The existing patients an import is checked against, loaded once from the patient index.
struct Known {
    /// Identity value → patient ID, for the map's identity system.
    by_key: HashMap<String, String>,
    /// Identity value → the data row of this file that adds it.
    rows_by_key: HashMap<String, usize>,
    ids: HashSet<String>,
    guard: DuplicateGuard<Who>,
}

impl Known {
    fn load(store: &Store, system: &str) -> Result<Known> {
        // Read in place from the index: no owned copy of every existing patient.
        let mut index = index::open(store)?;
        if let Some(problem) = std::mem::take(&mut index.problems).into_iter().next() {
            // A patient file we cannot read might be the one this row duplicates.
            return Err(problem.hint("fix that patient file first, then run the import again"));
        }
        let mut known = Known {
            by_key: HashMap::with_capacity(index.len()),
            rows_by_key: HashMap::new(),
            ids: HashSet::with_capacity(index.len()),
            guard: DuplicateGuard::default(),
        };
        for i in 0..index.len() {
            let doc = index.doc(i).ok_or_else(index::malformed)?;
            let id = doc.patient_id();
            if let Some(key) = doc.external_id(system) {
                known.by_key.insert(key.to_string(), id.to_string());
            }
            known.ids.insert(id.to_string());
            let family = doc.family().ok_or_else(index::malformed)?;
            known.guard.insert(
                family.to_string(),
                doc.birth_date(),
                doc.names().map(str::to_string).collect(),
                Who::Patient(id.to_string()),
            );
        }
        Ok(known)
    }

    /// A patient ID no existing patient and no earlier row has.
    fn fresh_id(&mut self) -> Id {
        loop {
            let id = Id::generate(IdKind::Patient);
            if self.ids.insert(id.to_string()) {
                return id;
            }
        }
    }
}

fn classify(
    store: &Store,
    plan: &Plan,
    records: Records,
    rctx: &RowContext,
    bar: &ProgressBar,
) -> Result<Vec<Row>> {
    let mut known = Known::load(store, &plan.identity_system)?;
    let mut rows = Vec::new();
    for (i, record) in records.enumerate() {
        let (record, line) = record?;
        let n = i + 1;
        let action = known.decide(plan, &record, n, rctx);
        let record = matches!(action, Action::Bad(_)).then_some(record);
        rows.push(Row {
            n,
            line,
            record,
            action,
        });
        if n.is_multiple_of(1000) {
            bar.set_position(line);
        }
    }
    Ok(rows)
}

impl Row {
    /// The ID of the patient this row adds.
    fn new_id(&self) -> Option<&Id> {
        match &self.action {
            Action::Add(id) => Some(id),
            _ => None,
        }
    }
}

impl Known {
    /// What to do with data row `n`. A new patient is remembered, so later rows are checked
    /// against it as well as against the records.
    fn decide(
        &mut self,
        plan: &Plan,
        record: &StringRecord,
        n: usize,
        rctx: &RowContext,
    ) -> Action {
        // A row already imported is not checked again: nothing of it would be written.
        if let Some(id) = plan.identity_key(record).and_then(|k| self.by_key.get(k)) {
            return Action::Known(id.clone());
        }
        let (key, patient) = match plan.row(record, self.fresh_id(), rctx) {
            Outcome::Skip(why) => return Action::Skip(why),
            Outcome::Bad(errors) => return Action::Bad(errors),
            Outcome::Patient { key, patient } => (key, patient),
        };
        if let Some(first) = self.rows_by_key.get(&key) {
            return Action::Bad(vec![RowError {
                column: Some(plan.identity_column().to_string()),
                rule: Some("identity".into()),
                what: format!("the identity value repeats row {first}"),
            }]);
        }
        if let Some(who) = self.guard.find(&patient) {
            let whom = match who {
                Who::Patient(id) => format!("patient {id}"),
                Who::Row(r) => format!("row {r}"),
            };
            return Action::Bad(vec![RowError {
                column: None,
                rule: None,
                what: format!(
                    "looks like {whom}: same family name, date of birth and a similar given name"
                ),
            }]);
        }
        self.rows_by_key.insert(key, n);
        self.guard.insert_patient(&patient, Who::Row(n));
        // Only the ID is kept: the second pass builds the patient again from its row.
        Action::Add(patient.id)
    }
}

#[derive(Default)]
struct Counts {
    rows: usize,
    add: usize,
    known: usize,
    skip: usize,
    bad: usize,
}

impl Counts {
    fn of(rows: &[Row]) -> Counts {
        let mut c = Counts {
            rows: rows.len(),
            ..Default::default()
        };
        for r in rows {
            match r.action {
                Action::Add(_) => c.add += 1,
                Action::Known(_) => c.known += 1,
                Action::Skip(_) => c.skip += 1,
                Action::Bad(_) => c.bad += 1,
            }
        }
        c
    }

    fn summary(&self, dry_run: bool, rejects: &Path) -> String {
        let rejected = if self.bad == 0 {
            "0 rejected".to_string()
        } else if dry_run {
            format!("{} would be rejected to {}", self.bad, rejects.display())
        } else {
            format!("{} rejected to {}", self.bad, rejects.display())
        };
        let head = if dry_run {
            format!(
                "Dry run: would import {} of {}",
                self.add,
                crate::render::plural(self.rows, "row")
            )
        } else {
            format!(
                "Imported {} of {}",
                self.add,
                crate::render::plural(self.rows, "row")
            )
        };
        let tail = if dry_run { "; nothing was written" } else { "" };
        format!(
            "{head}: {} already imported, {} skipped, {rejected}{tail}.",
            self.known, self.skip
        )
    }
}

/// One line per row: what happened (or would) and why; the new patients' IDs once written.
/// A bad row has one line per problem, naming the column, the field and the mapping rule
/// (never the value), so a script reading CSV or JSON sees each problem on its own.
fn print_rows(ctx: &Ctx, rows: &[Row], written: bool) -> Result<()> {
    let line = |r: &Row, action: &str, patient: String, e: Option<&RowError>, detail: String| {
        vec![
            Cell::count(r.n),
            Cell::count(r.line),
            action.into(),
            Cell::code(patient),
            e.and_then(|e| e.column.clone()).unwrap_or_default().into(),
            e.and_then(RowError::field).unwrap_or_default().into(),
            e.and_then(|e| e.rule.clone()).unwrap_or_default().into(),
            detail.into(),
        ]
    };
    let lines = |r: &Row| -> Vec<Vec<Cell>> {
        match &r.action {
            Action::Add(id) if written => vec![line(r, "add", id.to_string(), None, String::new())],
            Action::Add(_) => vec![line(r, "add", String::new(), None, String::new())],
            Action::Known(id) => vec![line(r, "already imported", id.clone(), None, String::new())],
            Action::Skip(why) => vec![line(r, "skip", String::new(), None, why.clone())],
            Action::Bad(errors) => errors
                .iter()
                .map(|e| line(r, "reject", String::new(), Some(e), e.what.clone()))
                .collect(),
        }
    };
    let headers = &[
        "row", "line", "action", "patient", "column", "field", "rule", "detail",
    ];
    render::print_rows(headers, ctx.format, || rows.iter().flat_map(lines))?;
    Ok(())
}

fn join_errors(errors: &[RowError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The rejected rows as they were, plus an `import_error` column, in UTF-8 with a BOM (so
/// Excel reads it, and it re-imports under either encoding setting).
fn reject_csv(plan: &Plan, rows: &[Row]) -> Result<Vec<u8>> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(&mut out);
        let fail = |e: csv::Error| Error::internal(format!("cannot write the reject file: {e}"));
        // Every cell is formula-guarded (docs/import.md), as the importer read it: a
        // spreadsheet shows `=HYPERLINK(…)` as text, and the re-import takes the guard away.
        let guard = |v: &str| guard_cell(unguard_cell(v)).into_owned();
        // The header is kept as the map bound it (already without a guard).
        let mut header: Vec<String> = plan
            .headers()
            .iter()
            .map(|h| guard_cell(h).into_owned())
            .collect();
        header.push("import_error".into());
        w.write_record(&header).map_err(fail)?;
        for r in rows {
            if let (Action::Bad(errors), Some(record)) = (&r.action, &r.record) {
                let mut fields: Vec<String> = record.iter().map(guard).collect();
                let why = format!("row {} (line {}): {}", r.n, r.line, join_errors(errors));
                fields.push(guard(&why));
                w.write_record(&fields).map_err(fail)?;
            }
        }
        w.flush()
            .map_err(|e| Error::internal(format!("cannot write the reject file: {e}")))?;
    }
    Ok(out)
}

/// "Import 2 patients: P…, P…." — IDs only while the list is short; never a name or a file
/// name (staff name files after patients).
fn commit_message(new: &[&Id]) -> String {
    let noun = if new.len() == 1 {
        "patient"
    } else {
        "patients"
    };
    if new.len() <= 5 {
        let ids: Vec<String> = new.iter().map(|id| id.to_string()).collect();
        format!("Import {} {noun}: {}.", new.len(), ids.join(", "))
    } else {
        format!("Import {} {noun}.", new.len())
    }
}

/// A progress bar on a terminal for large files; nothing under cron or in a pipe.
fn progress(ctx: &Ctx, len: usize, what: &'static str) -> ProgressBar {
    if ctx.quiet || len < 500 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64).with_message(what);
    if let Ok(style) = ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} ({eta})") {
        bar.set_style(style);
    }
    bar
}
