use std::io::{BufRead, Write};

use crate::cli::Ctx;
use crate::cli::patient::fields::{Fields, Rules};
use crate::derived::index;
use crate::domain::duplicate::similar_given;
use crate::domain::id::{Id, IdKind};
use crate::domain::patient::Patient;
use crate::domain::search::{SearchDoc, fold};
use crate::error::{Error, Result, exit};
use crate::render::{self, Format};
use crate::store::{Mode, Txn};

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
        && let Some(existing) = find_duplicate(&txn, &p)?
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

/// Same family name and birth date and a given name that is equal, a prefix of the other
/// (Jon / Jonathan) or one typo away. Candidates come from the index's family + birth-date keys
/// (no scan of every patient) and are confirmed against their record files.
pub fn find_duplicate(txn: &Txn, p: &Patient) -> Result<Option<String>> {
    let family = fold(&p.family);
    let given = fold(&p.given);
    let dob = p.birth_date.to_string();
    for id in index::duplicate_candidates(txn.store(), &family, &dob)? {
        let Ok(id) = Id::parse(&id) else { continue };
        if id == p.id {
            continue;
        }
        // A candidate whose file is gone or unreadable is not a duplicate of anything.
        let Ok(other) = txn.store().load_patient(&id) else {
            continue;
        };
        let similar = similar_given(&SearchDoc::from_patient(&other).names, &given);
        if fold(&other.family) == family && other.birth_date == p.birth_date && similar {
            return Ok(Some(id.to_string()));
        }
    }
    Ok(None)
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
