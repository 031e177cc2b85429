use std::io::{BufRead, Write};

use crate::cli::Ctx;
use crate::cli::patient::fields::{Fields, Rules};
use crate::domain::duplicate::similar_given;
use crate::domain::id::{Id, IdKind};
use crate::domain::patient::Patient;
use crate::domain::search::fold;
use crate::error::{Error, Result, exit};
use crate::render::{self, Format};
use crate::store::{Mode, Store, index};

/// Register a new patient and print the new ID.
///
/// Required: --first, --last, --dob and --sex. At a terminal, missing ones are asked for;
/// in a script they are a usage error.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub fields: Fields,
    /// Add even when a patient with the same family name, birth date and a similar given name exists.
    #[arg(long)]
    pub force: bool,
}

pub fn cmd_add(ctx: &Ctx, mut args: Args) -> Result<u8> {
    let store = ctx.open()?;
    if ctx.interactive() {
        prompt_missing(&mut args.fields)?;
    }
    let missing: Vec<&str> = [
        ("--first", &args.fields.first),
        ("--last", &args.fields.last),
        ("--dob", &args.fields.dob),
        ("--sex", &args.fields.sex),
    ]
    .into_iter()
    .filter(|(_, v)| v.as_deref().is_none_or(|s| s.trim().is_empty()))
    .map(|(f, _)| f)
    .collect();
    if !missing.is_empty() {
        return Err(Error::user(format!("missing {}", missing.join(", ")))
            .hint("a new patient needs --first, --last, --dob and --sex"));
    }
    let now = store.office.now().fixed_offset();
    let rules = Rules {
        today: now.date_naive(),
        calling_code: store.office.calling_code(),
        country: &store.office.country,
    };
    let mut p = Patient::new(Id::generate(IdKind::Patient), now);
    args.fields.apply(&mut p, &rules)?;
    p.validate(rules.today, rules.calling_code, rules.country)?;

    let mut txn = store.begin()?;
    if !args.force
        && let Some(existing) = find_duplicate(&store, &p)?
    {
        return Err(Error::user(format!("patient {existing} has the same family name, date of birth and a similar given name")).hint(format!(
                "check with `frontdesk patient show {existing}`; add --force if this really is a different person"
            )));
    }
    txn.save_patient(&p, Mode::CreateNew)?;
    txn.commit(&format!("Add patient {}.", p.id))?;
    match ctx.format {
        Format::Json => render::print_json(&serde_json::json!({ "id": p.id }))?,
        _ => render::print(&format!("{}\n", p.id))?,
    }
    Ok(exit::OK)
}

/// The first existing patient `p` is probably a duplicate of (see `domain::duplicate`).
pub fn find_duplicate(store: &Store, p: &Patient) -> Result<Option<String>> {
    let family = fold(&p.family);
    let given = fold(&p.given);
    let all = index::patient_summaries(store)?;
    Ok(all
        .summaries
        .into_iter()
        .find(|s| {
            s.family == family
                && s.search.birth_date == p.birth_date
                && s.id != p.id.as_str()
                && similar_given(&s.search.names, &given)
        })
        .map(|s| s.id))
}

fn prompt_missing(f: &mut Fields) -> Result<()> {
    let stdin = std::io::stdin();
    let ask = |label: &str, slot: &mut Option<String>| -> Result<()> {
        while slot.as_deref().is_none_or(|s| s.trim().is_empty()) {
            eprint!("{label}: ");
            std::io::stderr().flush().ok();
            let mut line = String::new();
            if stdin
                .lock()
                .read_line(&mut line)
                .map_err(|e| Error::internal(e.to_string()))?
                == 0
            {
                return Err(Error::user(
                    "input ended before all required fields were given",
                ));
            }
            *slot = Some(line.trim().to_string());
        }
        Ok(())
    };
    ask("Given (first) name", &mut f.first)?;
    ask("Family (last) name", &mut f.last)?;
    ask("Date of birth (YYYY-MM-DD or MM/DD/YYYY)", &mut f.dob)?;
    ask("Sex (F, M, X, U)", &mut f.sex)?;
    Ok(())
}
