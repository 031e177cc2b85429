use crate::cli::Ctx;
use crate::cli::patient::patient_id;
use crate::domain::patient::Status;
use crate::error::{Error, Result, exit};
use crate::store::{Mode, Store};

/// Merge a duplicate chart into the one to keep, in one commit: every appointment of DROP
/// and communication moves to KEEP, its coverages, phones, contacts, other IDs, flags and notes join KEEP's, and
/// its ledger entries (never edited) count as KEEP's. DROP stays as a tombstone pointing to
/// KEEP, so old references and `history` still resolve. `git revert` of that one commit undoes
/// it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The chart to keep (P…).
    pub keep: String,
    /// The duplicate chart to fold into it (P…).
    pub drop: String,
    /// Merge even though the two disagree on birth date or sex.
    #[arg(long)]
    pub force: bool,
}

pub fn cmd_merge(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let keep_id = patient_id(&a.keep)?;
    let drop_id = patient_id(&a.drop)?;
    if keep_id == drop_id {
        return Err(Error::user("KEEP and DROP are the same patient"));
    }
    let today = store.office.today();
    let now = store.office.now().fixed_offset();
    let mut txn = store.begin()?;
    let mut keep = store.load_patient(&keep_id)?;
    let mut drop = store.load_patient(&drop_id)?;
    for (p, role) in [(&keep, "KEEP"), (&drop, "DROP")] {
        if let Some(into) = &p.merged_into {
            return Err(
                Error::user(format!("{role} {} was already merged into {into}", p.id))
                    .hint("merge into the chart it was merged into"),
            );
        }
    }
    if !a.force && (keep.birth_date != drop.birth_date || keep.sex != drop.sex) {
        return Err(Error::user(format!(
            "{keep_id} and {drop_id} disagree on birth date or sex; they may be different people"
        ))
        .hint("compare them with `frontdesk patient show`; if they are one person, run again with --force"));
    }
    keep.absorb(&drop, today);
    keep.updated = now;
    keep.validate(today, store.office.calling_code(), &store.office.country)?;
    drop.merged_into = Some(keep_id.clone());
    drop.status = Status::Inactive;
    drop.updated = now;
    let line = format!("{today}: merged into {keep_id}");
    drop.notes = Some(match drop.notes.take() {
        Some(n) => format!("{n}\n{line}"),
        None => line,
    });
    let appointments = store.patient_appointments(&drop_id)?;
    for mut ap in appointments.iter().cloned() {
        ap.patient = keep_id.clone();
        txn.put(
            &Store::appointment_rel(ap.date(), &ap.id),
            &ap,
            Mode::Replace,
        )?;
    }
    // The communications log follows too, so `comm list --patient KEEP` is the whole story.
    let comms = store.patient_communications(&drop_id)?;
    for mut c in comms.iter().cloned() {
        c.patient = Some(keep_id.clone());
        txn.save_communication(&c, Mode::Replace)?;
    }
    txn.save_patient(&keep, Mode::Replace)?;
    txn.save_patient(&drop, Mode::Replace)?;
    txn.commit(&format!(
        "Merge patient {drop_id} into {keep_id} ({} appointments, {} communications moved).",
        appointments.len(),
        comms.len()
    ))?;
    ctx.say(&format!(
        "{drop_id} merged into {keep_id}: {} moved; {drop_id} now points to {keep_id}",
        crate::render::plural(appointments.len(), "appointment")
    ));
    Ok(exit::OK)
}
