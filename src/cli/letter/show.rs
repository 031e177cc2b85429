use chrono::NaiveDate;
use serde_json::json;

use crate::cli::Ctx;
use crate::cli::letter::letter_id;
use crate::cli::patient::patient_id;
use crate::domain::id::Id;
use crate::domain::statement_run::{Kept, Run};
use crate::error::{Error, Result, exit};
use crate::render::{self, Cell, Format, Table};
use crate::store::Store;

/// Print a letter exactly as it was sent, byte for byte (checked against its recorded hash).
///
/// A statement run (`pay statement --all-due`) is one letter holding every statement of the
/// run: `letter show L…/P…` (or `L… --patient P…`) prints that patient's statement as mailed,
/// and `letter show L…` lists the run's statements. `--format json` prints the record instead.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The letter (L…), or one patient's statement in a statement run (L…/P…).
    pub letter: String,
    /// In a statement run: the patient whose statement to print (the same as L…/P…).
    #[arg(long)]
    pub patient: Option<String>,
}

pub fn cmd_show(ctx: &Ctx, a: Args) -> Result<u8> {
    let (id, patient) = address(&a.letter, a.patient.as_deref())?;
    let store = ctx.open()?;
    let (date, kept) = store.find_kept(&id)?;
    match kept {
        Kept::Letter(letter) => {
            if let Some(p) = patient.filter(|p| *p != letter.patient) {
                return Err(Error::not_found(format!(
                    "letter {id} was sent about patient {}, not {p}",
                    letter.patient
                ))
                .hint(format!(
                    "`frontdesk letter show {id}` prints it; `frontdesk letter sent --patient {p}` lists that patient's letters"
                )));
            }
            if ctx.format == Format::Json {
                render::print_json(&letter)?;
                return Ok(exit::OK);
            }
            let bytes = store.letter_bytes(date, &letter)?;
            crate::cli::letter::print_bytes(&bytes)?;
        }
        Kept::Run(run) => match patient {
            Some(p) => show_statement(ctx, &store, date, &run, &p)?,
            None if ctx.format == Format::Json => render::print_json(&run)?,
            None => list_run(ctx, &store, date, &run)?,
        },
    }
    Ok(exit::OK)
}

/// `L…/P…` or `L…` with `--patient P…`: the letter and, for a statement in a run, the patient.
fn address(letter: &str, patient: Option<&str>) -> Result<(Id, Option<Id>)> {
    let (l, p) = match letter.split_once('/') {
        Some((l, p)) => (l, Some(p)),
        None => (letter, None),
    };
    let id = letter_id(l)?;
    let in_address = p.map(patient_id).transpose()?;
    let flag = patient.map(patient_id).transpose()?;
    match (in_address, flag) {
        (Some(a), Some(b)) if a != b => Err(Error::user(
            "two different patients: one after the / and one after --patient",
        )
        .hint(format!(
            "name the patient once: `frontdesk letter show {id}/P…`"
        ))),
        (a, b) => Ok((id, a.or(b))),
    }
}

/// One patient's statement in a run, exactly as mailed (or its row, with `--format json`).
fn show_statement(ctx: &Ctx, store: &Store, date: NaiveDate, run: &Run, p: &Id) -> Result<()> {
    let Some(line) = store.run_line(date, run, p)? else {
        return Err(Error::not_found(format!(
            "statement run {} ({} statements) holds no statement for patient {p}",
            run.id, run.statements.count
        ))
        .hint(format!(
            "`frontdesk letter sent --patient {p}` lists what was sent to that patient; `frontdesk letter show {}` lists the run",
            run.id
        )));
    };
    if ctx.format == Format::Json {
        return render::print_json(&json!({
            "letter": format!("{}/{p}", run.id),
            "run": run.id.to_string(),
            "patient": p.to_string(),
            "template": run.template,
            "format": run.format,
            "channel": run.channel.as_str(),
            "batch": run.batch,
            "due": line.due.to_string(),
            "sha1": line.sha1,
            "offset": line.offset,
            "length": line.length,
            "sent": run.sent,
            "by": run.by,
        }));
    }
    let bytes = store.run_statement(date, run, &line)?;
    crate::cli::letter::print_bytes(&bytes)
}

/// The run's statements: each one's address for `letter show`, its patient and amount due.
fn list_run(ctx: &Ctx, store: &Store, date: NaiveDate, run: &Run) -> Result<()> {
    let currency = &store.office.currency;
    let mut t = Table::new(&["letter", "patient", "due"]);
    for line in store.run_lines(date, run)? {
        t.push(vec![
            Cell::code(format!("{}/{}", run.id, line.patient)),
            Cell::code(line.patient.to_string()),
            Cell::money(line.due, currency),
        ]);
    }
    t.print(ctx.format)
}
