use crate::cli::Ctx;
use crate::cli::comm::comm_id;
use crate::domain::comm;
use crate::error::{Error, Result, exit};
use crate::store::Mode;

/// Mark a follow-up done.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Communication IDs (C…).
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// What came of it (kept in the record, never in the commit message).
    #[arg(long)]
    pub note: Option<String>,
}

pub fn cmd_done(ctx: &Ctx, a: Args) -> Result<u8> {
    let mut ids = a
        .ids
        .iter()
        .map(|s| comm_id(s))
        .collect::<Result<Vec<_>>>()?;
    ids.sort();
    ids.dedup();
    if let Some(note) = &a.note {
        comm::note_text("--note", note)?;
    }
    let store = ctx.open()?;
    let now = store.office.now().fixed_offset();
    let mut txn = store.begin()?;
    let mut closed = Vec::new();
    for id in &ids {
        let c = store.load_communication(id)?;
        if c.follow_up.is_none() {
            return Err(Error::user(format!("communication {id} has no follow-up"))
                .hint("only a communication logged with --follow-up can be done"));
        }
        if c.done.is_some() {
            return Err(Error::user(format!(
                "the follow-up of {id} is already done"
            )));
        }
        closed.push(c);
    }
    for c in &mut closed {
        c.done = Some(now);
        c.done_by = Some(store.options.user.clone());
        c.done_note = a
            .note
            .as_ref()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        txn.save_communication(c, Mode::Replace)?;
    }
    let list = closed.iter().map(|c| c.id.to_string()).collect::<Vec<_>>();
    txn.commit(&format!(
        "Close follow-up of communication {}.",
        list.join(", ")
    ))?;
    for c in &closed {
        ctx.say(&format!("{} done", c.id));
    }
    Ok(exit::OK)
}
