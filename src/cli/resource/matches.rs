use crate::cli::resource::find::{row, table};
use crate::cli::{Ctx, found};
use crate::domain::needs;
use crate::domain::resource::{Query, rank};
use crate::error::{Error, Result};

/// Suggest services for a patient's recorded needs (`patient needs`), ranked as `find` ranks
/// them for the patient's ZIP code, city and language (an interpreter need's language, for
/// every need, else the patient's language when it is an ISO 639-1 code).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Patient ID (P…).
    pub patient: String,
    /// Services per need.
    #[arg(long, default_value_t = 3)]
    pub per_need: usize,
}

pub fn cmd_match(ctx: &Ctx, a: Args) -> Result<u8> {
    let id = crate::cli::patient::patient_id(&a.patient)?;
    let store = ctx.open()?;
    let p = store.load_patient(&id)?;
    if p.needs.is_empty() {
        return Err(
            Error::not_found(format!("patient {id} has no needs recorded"))
                .hint("record them with `frontdesk patient needs ID --add NEED`"),
        );
    }
    let all = store.resources()?;
    let today = store.office.today();
    // Someone who needs a Spanish interpreter is best served in Spanish everywhere.
    let spoken = p
        .needs
        .iter()
        .find_map(|n| needs::need_language(&n.need))
        .map(str::to_string)
        .or_else(|| {
            p.language
                .as_deref()
                .and_then(|l| needs::language(l, "language").ok())
        });
    let mut t = table();
    let mut any = false;
    for n in &p.needs {
        let q = Query {
            need: Some(needs::category(&n.need).to_string()),
            zip: p
                .address
                .as_ref()
                .and_then(|a| a.postal_code.as_deref())
                .map(|z| z.chars().take(5).collect()),
            city: p
                .address
                .as_ref()
                .map(|a| a.city.clone())
                .filter(|c| !c.is_empty()),
            language: needs::need_language(&n.need)
                .map(str::to_string)
                .or(spoken.clone()),
            open_on: None,
        };
        for (i, h) in rank(&all, &q, today).iter().take(a.per_need).enumerate() {
            any = true;
            t.push(row(Some(&n.need), i + 1, h, &store, today));
        }
    }
    t.print(ctx.format)?;
    Ok(found(any))
}
