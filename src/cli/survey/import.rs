//! `frontdesk survey import FILE.csv --map MAP.toml`: responses from a survey vendor's export
//! (the map's shape is in `src/domain/survey/import.rs` and docs/satisfaction.md; an example
//! is `examples/survey-vendor.map.toml`).

use std::collections::HashSet;
use std::path::PathBuf;

use crate::cli::Ctx;
use crate::cli::pay::import::csv_reason;
use crate::domain::id::{Id, IdKind};
use crate::domain::survey::import::{Row, SurveyMap};
use crate::domain::survey::{Month, SCHEMA, Survey};
use crate::error::{Error, IoContext, Result, exit};
use crate::render::{Cell, Table};
use crate::store::{Mode, Store, read_toml};

/// Import survey responses from a vendor's CSV export through a mapping file.
///
/// Every row is checked first (answers in range, the appointment exists and was checked out,
/// one response per visit); with any bad row nothing is imported and each is named by row and
/// column (never by its value), unless --skip-bad-rows. A row whose response ID was imported
/// before is left out, so importing the same file again files nothing new. One commit.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    #[arg(long, value_name = "MAP.toml")]
    pub map: PathBuf,
    /// List what each row would do; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the good rows and leave the bad ones out (each still named on stderr).
    #[arg(long)]
    pub skip_bad_rows: bool,
}

/// What becomes of one row.
enum Action {
    Add(Box<Survey>),
    Already,
    Reject(Vec<(String, String)>),
}

struct Line {
    row: usize,
    line: u64,
    action: Action,
}

pub fn cmd_import(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let inst = store.survey_instrument()?;
    let map_name = a.map.display().to_string();
    let file_name = a.file.display().to_string();
    let map: SurveyMap = read_toml(&a.map)
        .map_err(|e| e.hint("fix the mapping file; docs/satisfaction.md shows its shape"))?;
    let (encoding, delimiter) = map.reading(&map_name)?;
    let bytes = std::fs::read(&a.file).at_path(&a.file, "read")?;
    let text = encoding.decode(&file_name, &bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| {
            Error::user(format!(
                "{file_name}: cannot read the header row: {}",
                csv_reason(&e)
            ))
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let layout = map.bind(&map_name, &inst, &header)?;
    let today = store.office.today();
    // Under the lock from the look at what is filed to the commit.
    let mut txn = store.begin()?;
    let mut known: HashSet<String> = HashSet::new();
    let months = store.survey_months()?;
    if let (Some(first), Some(last)) = (months.first(), months.last()) {
        store.each_survey(*first, *last, |s| {
            known.extend(s.response_id);
            Ok(())
        })?;
    }
    let mut visits_in_file: HashSet<Id> = HashSet::new();
    let mut lines = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let row = i + 1;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                lines.push(Line {
                    row,
                    line,
                    action: Action::Reject(vec![(String::new(), csv_reason(&e))]),
                });
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        let cells: Vec<String> = rec.iter().map(str::to_string).collect();
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let action = match layout.row(&inst, &cells, today) {
            Err(errors) => {
                Action::Reject(errors.into_iter().map(|e| (e.column, e.problem)).collect())
            }
            Ok(r) if known.contains(&r.response_id) => Action::Already,
            Ok(r) => {
                let appointment_col = map.columns.appointment.clone().unwrap_or_default();
                match resolve(&store, &inst, &r, &mut visits_in_file, today) {
                    Ok(s) => {
                        known.insert(r.response_id.clone());
                        Action::Add(Box::new(s))
                    }
                    Err((col, why)) => Action::Reject(vec![(
                        if col {
                            appointment_col
                        } else {
                            map.columns.provider.clone().unwrap_or_default()
                        },
                        why,
                    )]),
                }
            }
        };
        lines.push(Line { row, line, action });
    }
    let bad: Vec<&Line> = lines
        .iter()
        .filter(|l| matches!(l.action, Action::Reject(_)))
        .collect();
    for l in &bad {
        if let Action::Reject(errs) = &l.action {
            for (col, why) in errs {
                let col = if col.is_empty() {
                    String::new()
                } else {
                    format!("column {col}: ")
                };
                eprintln!(
                    "frontdesk: {file_name}:{}: row {}: {col}{why}",
                    l.line, l.row
                );
            }
        }
    }
    let adds: Vec<&Survey> = lines
        .iter()
        .filter_map(|l| match &l.action {
            Action::Add(s) => Some(&**s),
            _ => None,
        })
        .collect();
    let refuse = !bad.is_empty() && !a.skip_bad_rows;
    if a.dry_run || refuse {
        show(ctx, &lines, a.dry_run || refuse)?;
    }
    if refuse {
        return Err(Error::user(format!(
            "{file_name}: {} of {} rows are bad; nothing was imported",
            bad.len(),
            lines.len()
        ))
        .hint("fix the rows named above (or the map) and import again, or add --skip-bad-rows"));
    }
    if a.dry_run {
        ctx.say(&format!(
            "dry run: {} responses would be filed, {} already imported, {} bad rows; nothing was written",
            adds.len(),
            lines.iter().filter(|l| matches!(l.action, Action::Already)).count(),
            bad.len()
        ));
        return Ok(exit::OK);
    }
    for s in &adds {
        txn.save_survey(s, Mode::CreateNew)?;
    }
    if !adds.is_empty() {
        let mut msg = format!("Import {} survey responses.\n\n", adds.len());
        for s in &adds {
            match &s.appointment {
                Some(ap) => msg.push_str(&format!("Survey {} about appointment {ap}.\n", s.id)),
                None => msg.push_str(&format!("Survey {} for provider {}.\n", s.id, s.provider)),
            }
        }
        txn.commit(&msg)?;
    }
    show(ctx, &lines, false)?;
    ctx.say(&format!(
        "imported {} responses, {} already imported, {} bad rows left out",
        adds.len(),
        lines
            .iter()
            .filter(|l| matches!(l.action, Action::Already))
            .count(),
        bad.len()
    ));
    Ok(exit::OK)
}

/// The response a good row files, after the checks that need the records: the appointment
/// exists, was checked out and has no response yet (in the records or earlier in the file);
/// an anonymous row's provider exists. The error says whether it is about the appointment
/// (true) or the provider column.
fn resolve(
    store: &Store,
    inst: &crate::domain::survey::instrument::Instrument,
    r: &Row,
    in_file: &mut HashSet<Id>,
    today: chrono::NaiveDate,
) -> std::result::Result<Survey, (bool, String)> {
    let (month, visit, provider) = match &r.appointment {
        Some(id) => {
            let ap = store
                .load_appointment(id)
                .map_err(|_| (true, "no such appointment".to_string()))?;
            super::refuse_visit(store, inst, &ap).map_err(|e| {
                let why = if e.kind == crate::error::Kind::Conflict {
                    "the visit already has a response"
                } else {
                    "the visit was not checked out"
                };
                (true, why.to_string())
            })?;
            if !inst.repeat_responses && !in_file.insert(id.clone()) {
                return Err((
                    true,
                    "a second response for the same visit in this file".into(),
                ));
            }
            (Month::of(ap.date()), Some(ap.date()), ap.provider.clone())
        }
        None => {
            let p = r.provider.clone().unwrap_or_default();
            if store.load_provider(&p).is_err() {
                return Err((false, "no such provider".into()));
            }
            let d = r.visit_date.unwrap_or(today);
            (Month::of(d), None, p)
        }
    };
    Ok(Survey {
        schema: SCHEMA,
        id: Id::generate(IdKind::Survey),
        month,
        appointment: r.appointment.clone(),
        visit,
        provider,
        channel: r.channel,
        received: today,
        instrument: inst.version,
        response_id: Some(r.response_id.clone()),
        answers: r.answers.clone(),
        comment: r.comment.clone(),
        extra: toml::Table::new(),
    })
}

fn show(ctx: &Ctx, lines: &[Line], planned: bool) -> Result<()> {
    let mut t = Table::new(&["row", "line", "action", "survey", "column", "detail"]);
    for l in lines {
        let base = |action: &str, survey: String, column: &str, detail: &str| {
            vec![
                Cell::count(l.row as i64),
                Cell::count(l.line as i64),
                Cell::from(action),
                Cell::code(survey),
                Cell::from(column),
                Cell::from(detail),
            ]
        };
        match &l.action {
            Action::Add(s) => t.push(base(
                "add",
                if planned {
                    String::new()
                } else {
                    s.id.to_string()
                },
                "",
                "",
            )),
            Action::Already => t.push(base("already imported", String::new(), "", "")),
            Action::Reject(errs) => {
                for (col, why) in errs {
                    t.push(base("reject", String::new(), col, why));
                }
            }
        }
    }
    if !ctx.quiet {
        t.print(ctx.format)?;
    }
    Ok(())
}
