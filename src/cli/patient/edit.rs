use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::Ctx;
use crate::cli::patient::patient_id;
use crate::cli::patient::update::changed_fields;
use crate::domain::patient::Patient;
use crate::domain::phone;
use crate::error::{Error, IoContext, Result, exit};
use crate::store::{Mode, STATE_DIR, Store, atomic, parse_toml};

/// Open a patient's record in $VISUAL or $EDITOR; it is checked when you save, and reopened
/// with the error if something is wrong (as `git commit` does).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Patient ID (P…).
    pub id: String,
}

pub fn cmd_edit(ctx: &Ctx, args: Args) -> Result<u8> {
    let store = ctx.open()?;
    let id = patient_id(&args.id)?;
    let rel = Store::patient_rel(&id);
    let before = store.load_patient(&id)?;
    let original = std::fs::read(store.path(&rel)).at_path(&store.path(&rel), "read")?;
    // The working copy sits in the ignored state directory, private, named by ID only.
    let work = store
        .path(Path::new(STATE_DIR))
        .join("edit")
        .join(format!("{id}.toml"));
    atomic::write(&work, &original, Mode::Replace)?;
    let today = store.office.today();
    let cc = store.office.calling_code();
    let edited = loop {
        run_editor(&work)?;
        let bytes = std::fs::read(&work).at_path(&work, "read")?;
        if bytes == original {
            let _ = std::fs::remove_file(&work);
            ctx.say(&format!("{id}: no changes"));
            return Ok(exit::OK);
        }
        match check(&work, &bytes, &before, today, cc, &store.office.country) {
            Ok(p) => break p,
            Err(e) if ctx.interactive() => {
                eprintln!("frontdesk: error: {}", e.message);
                // Default yes: the clerk was in the middle of an edit.
                if ctx
                    .ask("Edit again? [Y/n]")?
                    .to_lowercase()
                    .starts_with('n')
                {
                    return Err(Error::user("edit abandoned; the record was not changed")
                        .hint(format!("your text is kept in {}", work.display())));
                }
            }
            Err(e) => {
                return Err(e.hint(format!(
                    "nothing was saved; your text is kept in {}",
                    work.display()
                )));
            }
        }
    };
    let mut txn = store.begin()?;
    let now_bytes = std::fs::read(store.path(&rel)).at_path(&store.path(&rel), "read")?;
    if now_bytes != original {
        return Err(Error::conflict(format!("{id} was changed by someone else while you were editing"))
            .hint(format!("your text is kept in {}; run `frontdesk patient edit {id}` again and copy your changes in", work.display())));
    }
    let fields = changed_fields(&before, &edited)?;
    let mut p = edited;
    p.updated = store.office.now().fixed_offset();
    txn.save_patient(&p, Mode::Replace)?;
    txn.commit(&format!(
        "Edit patient {id}: {}.",
        if fields.is_empty() {
            "formatting".to_string()
        } else {
            fields.join(", ")
        }
    ))?;
    let _ = std::fs::remove_file(&work);
    ctx.say(&format!(
        "{id}: saved ({})",
        if fields.is_empty() {
            "formatting only".to_string()
        } else {
            fields.join(", ")
        }
    ));
    Ok(exit::OK)
}

fn check(
    work: &Path,
    bytes: &[u8],
    before: &Patient,
    today: chrono::NaiveDate,
    cc: &str,
    country: &str,
) -> Result<Patient> {
    let mut p: Patient = parse_toml(work, bytes)?;
    if p.id != before.id {
        return Err(Error::user(format!(
            "the id was changed to {}; a record's ID cannot change",
            p.id
        ))
        .hint(format!("put back id = \"{}\"", before.id)));
    }
    // People type phones as they say them; store them in E.164.
    for ph in &mut p.phones {
        ph.number = phone::normalize(&ph.number, cc).map_err(|e| e.at(work.display()))?;
    }
    p.created = before.created;
    p.validate(today, cc, country)
        .map_err(|e| e.at(work.display()))?;
    Ok(p)
}

fn run_editor(path: &PathBuf) -> Result<()> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    // Through the shell, so EDITOR may carry arguments ("code --wait").
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("frontdesk-editor")
        .arg(path)
        .status()
        .map_err(|e| Error::internal(format!("cannot start the editor: {e}")))?;
    if !status.success() {
        return Err(
            Error::user("the editor exited with an error; nothing was saved")
                .hint("set $EDITOR to an editor that works here"),
        );
    }
    Ok(())
}
