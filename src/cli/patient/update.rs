use crate::cli::Ctx;
use crate::cli::patient::fields::Fields;
use crate::cli::patient::{modify, patient_id};
use crate::domain::patient::{Patient, Status};
use crate::error::{Result, exit};
use crate::store::to_toml;

/// Change a patient's fields from flags (for scripts; people may prefer `patient edit`).
///
/// Only the fields given change. Lists (emergency contacts, representatives, flags) are added
/// to; use the --clear-… and --remove-flag options to take entries away.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Patient ID (P…).
    pub id: String,
    #[command(flatten)]
    pub fields: Fields,
    #[arg(long, value_enum, help_heading = "Desk")]
    pub status: Option<Status>,
    /// Remove a desk flag (repeatable).
    #[arg(long, help_heading = "Desk")]
    pub remove_flag: Vec<String>,
    #[arg(long, help_heading = "People")]
    pub clear_emergency_contacts: bool,
    #[arg(long, help_heading = "People")]
    pub clear_representatives: bool,
    #[arg(long, help_heading = "People")]
    pub clear_guarantor: bool,
}

pub fn cmd_update(ctx: &Ctx, args: Args) -> Result<u8> {
    let id = patient_id(&args.id)?;
    let fields = modify(ctx, &id, "Update", |p, rules| {
        args.fields.apply(p, rules)?;
        if let Some(s) = args.status {
            p.status = s;
        }
        p.flags.retain(|f| {
            !args
                .remove_flag
                .iter()
                .any(|r| r.trim().eq_ignore_ascii_case(f))
        });
        if args.clear_emergency_contacts {
            p.emergency_contacts.clear();
        }
        if args.clear_representatives {
            p.representatives.clear();
        }
        if args.clear_guarantor {
            p.guarantor = None;
        }
        Ok(())
    })?;
    if fields.is_empty() {
        ctx.say(&format!("{id}: nothing changed"));
    } else {
        ctx.say(&format!("{id}: updated {}", fields.join(", ")));
    }
    Ok(exit::OK)
}

/// The top-level fields that differ, for the commit message (names only, never values).
pub fn changed_fields(before: &Patient, after: &Patient) -> Result<Vec<String>> {
    let a: toml::Table = toml::from_str(&to_toml(before)?).unwrap_or_default();
    let b: toml::Table = toml::from_str(&to_toml(after)?).unwrap_or_default();
    let mut keys: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| *k != "updated" && a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    Ok(keys)
}
