use crate::cli::patient::{modify, patient_id};
use crate::cli::{Ctx, found};
use crate::domain::needs::{self, NEEDS, Need};
use crate::error::{Error, Result, exit};
use crate::render::{Cell, Format, Table};

/// Record what the patient needs to get care, from the intake interview: transport,
/// interpreter:LANG, financial, food, housing, utilities, mobility, hearing, vision, childcare,
/// caregiver, legal, digital, literacy. Never a diagnosis.
///
/// Without --add or --remove, lists the patient's needs. The needs show at check-in, on the day
/// sheet and in `schedule show`; `resource match` suggests services for them.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Patient ID (P…).
    pub id: String,
    /// A need to record (repeatable); recording one again replaces its note.
    #[arg(long, value_name = "NEED")]
    pub add: Vec<String>,
    /// A need that no longer applies (repeatable).
    #[arg(long, value_name = "NEED")]
    pub remove: Vec<String>,
    /// A short note on the needs added (e.g. "wheelchair van"); never a diagnosis.
    #[arg(long)]
    pub note: Option<String>,
}

pub fn cmd_needs(ctx: &Ctx, a: Args) -> Result<u8> {
    let id = patient_id(&a.id)?;
    if a.note.is_some() && a.add.is_empty() {
        return Err(Error::user("--note goes with --add")
            .hint("e.g. --add transport --note \"wheelchair van\""));
    }
    if a.add.is_empty() && a.remove.is_empty() {
        return list(ctx, &id);
    }
    let add = a
        .add
        .iter()
        .map(|n| needs::need(n, "--add"))
        .collect::<Result<Vec<_>>>()?;
    let remove = a
        .remove
        .iter()
        .map(|n| needs::need(n, "--remove"))
        .collect::<Result<Vec<_>>>()?;
    let note = a
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let user = ctx.open()?.options.user.clone();
    let fields = modify(ctx, &id, "Update needs of", |p, rules| {
        for r in &remove {
            let before = p.needs.len();
            p.needs.retain(|n| &n.need != r);
            if p.needs.len() == before {
                return Err(
                    Error::user(format!("--remove: patient {} has no such need", p.id))
                        .hint("list the patient's needs with `frontdesk patient needs ID`"),
                );
            }
        }
        for n in &add {
            let entry = Need {
                need: n.clone(),
                noted_by: user.clone(),
                noted_on: rules.today,
                note: note.clone(),
            };
            match p.needs.iter_mut().find(|e| &e.need == n) {
                Some(e) => *e = entry,
                None => p.needs.push(entry),
            }
        }
        Ok(())
    })?;
    if fields.is_empty() {
        ctx.say("nothing changed");
    } else {
        ctx.say(&format!("needs of {id} updated"));
    }
    Ok(exit::OK)
}

fn list(ctx: &Ctx, id: &crate::domain::id::Id) -> Result<u8> {
    let store = ctx.open()?;
    let p = store.load_patient(id)?;
    if ctx.format == Format::Json {
        // One shape per record kind: the needs as the patient record stores them.
        crate::render::print_json(&p.needs)?;
        return Ok(found(!p.needs.is_empty()));
    }
    let mut t = Table::new(&["need", "what", "noted_on", "noted_by", "note"]);
    for n in &p.needs {
        let what = NEEDS
            .iter()
            .find(|(w, _)| *w == needs::category(&n.need))
            .map(|(_, d)| *d)
            .unwrap_or("");
        t.push(vec![
            Cell::code(n.need.as_str()),
            Cell::from(what),
            Cell::day(n.noted_on),
            Cell::from(n.noted_by.as_str()),
            Cell::from(n.note.clone()),
        ]);
    }
    t.print(ctx.format)?;
    Ok(found(!p.needs.is_empty()))
}
