use crate::cli::Ctx;
use crate::cli::patient::{modify, patient_id};
use crate::domain::dates::parse_date;
use crate::domain::patient::Status;
use crate::error::{Result, exit};

/// Mark a patient inactive (moved away, transferred care) or deceased. Nothing is deleted:
/// the record stays, and `patient update --status active` brings it back.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Patient ID (P…).
    pub id: String,
    /// The patient has died.
    #[arg(long)]
    pub deceased: bool,
    /// Date of death (with --deceased), if known.
    #[arg(long, requires = "deceased")]
    pub date: Option<String>,
    /// Why, for the desk's notes (e.g. "moved out of state").
    #[arg(long)]
    pub reason: Option<String>,
}

pub fn cmd_deactivate(ctx: &Ctx, args: Args) -> Result<u8> {
    let id = patient_id(&args.id)?;
    let fields = modify(ctx, &id, "Deactivate", |p, rules| {
        if args.deceased {
            p.status = Status::Deceased;
            if let Some(d) = &args.date {
                let d = parse_date(d, rules.today).map_err(|e| e.at("--date"))?;
                if d > rules.today || d < p.birth_date {
                    return Err(crate::error::Error::user(
                        "date of death must be between the birth date and today",
                    ));
                }
                p.deceased_date = Some(d);
            }
        } else {
            p.status = Status::Inactive;
        }
        if let Some(r) = &args.reason {
            let line = format!("{}: deactivated: {}", rules.today, r.trim());
            p.notes = Some(match p.notes.take() {
                Some(n) => format!("{n}\n{line}"),
                None => line,
            });
        }
        Ok(())
    })?;
    let state = if args.deceased {
        "deceased"
    } else {
        "inactive"
    };
    if fields.is_empty() {
        ctx.say(&format!("{id} was already {state}"));
    } else {
        ctx.say(&format!("{id} is now {state}"));
    }
    Ok(exit::OK)
}
