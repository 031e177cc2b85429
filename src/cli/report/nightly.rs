use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::check::TreeState;
use crate::cli::Ctx;
use crate::cli::report::frame::{Meta, Report, render, write_atomic};
use crate::cli::report::{
    aging, closeout, daily, day_arg, last_days, missing_info, noshows, recall,
};
use crate::cli::schedule::Sched;
use crate::error::{Error, Result, exit};
use crate::history::git::Tidied;
use crate::render::{Format, plural};
use crate::store::{atomic, lock_timeout, lock_waiting, open_lock_file};

/// For cron: the standard set of reports into DIR/YYYY-MM-DD/, as HTML for people and JSON for
/// scripts: tomorrow's daily, yesterday's closeout, aging, the last 30 days' no-shows and
/// missing information for the next 7 days, and who is due for a recall.
///
/// Each file is written atomically, and a re-run for the same date replaces them. One log line
/// per report on stdout; no prompts, no colour. A report that fails (a broken record file, say)
/// is logged with the reason and the others are still written; the exit code is then that
/// report's (2 for a broken record). A second run on the same DIR waits for the first (up to
/// FRONTDESK_LOCK_TIMEOUT seconds, then exits 3): two runs never interleave.
///
/// In a tree kept in git it then folds git's small index once it holds 2,000 entries, under
/// the records' lock, so the next day's commits stay cheap; one more log line says so.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder the dated folder is written in.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The night's date (default today): the folder's name and what "tomorrow" and
    /// "yesterday" mean.
    #[arg(long, allow_hyphen_values = true)]
    pub as_of: Option<String>,
}

/// The formats each report is written in.
const FORMATS: &[(Format, &str)] = &[(Format::Html, "html"), (Format::Json, "json")];

type Build<'a> = Box<dyn Fn() -> Result<Report> + 'a>;

pub fn cmd_nightly(ctx: &Ctx, a: Args) -> Result<u8> {
    let s = Sched::open(ctx)?;
    let date = day_arg(&s, a.as_of.as_deref(), s.today(), "--as-of")?;
    atomic::create_dirs(&a.out)?;
    let _lock = lock(&a.out)?;
    let dir = folder(&a.out, date);
    atomic::create_dirs(&dir)?;
    let day = chrono::Duration::days(1);
    let (tomorrow, yesterday) = (date + day, date - day);
    let (ns_from, ns_to) = last_days(date, 30);
    let week = date + chrono::Duration::days(7);
    let s = &s;
    let jobs: Vec<(&str, String, Build)> = vec![
        (
            "daily",
            format!("daily-{tomorrow}"),
            Box::new(move || daily::build(s, tomorrow, None)),
        ),
        (
            "closeout",
            format!("closeout-{yesterday}"),
            Box::new(move || closeout::build(s, yesterday)),
        ),
        (
            "aging",
            format!("aging-{date}"),
            Box::new(move || aging::build(s, date, 20)),
        ),
        (
            "noshows",
            format!("noshows-{ns_from}-to-{ns_to}"),
            Box::new(move || noshows::build(s, ns_from, ns_to, None, 2)),
        ),
        (
            "missing-info",
            format!("missing-info-{date}-to-{week}"),
            Box::new(move || missing_info::build(s, date, week, false, None)),
        ),
        (
            "recall",
            format!("recall-{date}"),
            Box::new(move || recall::build(s, date)),
        ),
    ];
    // One look for uncommitted changes serves every report of the run (at full size it is the
    // walk `check` makes: seconds, where each report alone would pay it again).
    let tree = s.store.tree_state(true);
    let mut code = exit::OK;
    for (name, stem, build) in jobs {
        match build().and_then(|r| write_all(s, &r, &dir, &stem, tree)) {
            Ok(files) => println!("{date} report {name}: ok: {}", files.join(" ")),
            Err(e) => {
                println!("{date} report {name}: FAILED: {}", e.message);
                if code == exit::OK {
                    code = e.exit_code();
                }
            }
        }
    }
    // Housekeeping while the desk is closed: the day's commits each rewrote git's small index
    // whole; folded now, tomorrow's carry only tomorrow's entries. A failure costs speed, not
    // records (the desk folds it itself at its own limit), so it is logged, not an exit code.
    match s.store.tidy_history() {
        Ok(Some(tidied)) => println!("{date} history: {}", tidied_line(tidied)),
        Ok(None) => {}
        Err(e) => println!("{date} history: FAILED: {}", e.message),
    }
    Ok(code)
}

fn tidied_line(tidied: Tidied) -> String {
    match tidied {
        Tidied::Folded { entries } => format!(
            "ok: folded git's small index ({}) into a new shared index",
            plural(entries, "entry")
        ),
        Tidied::Split => "ok: split git's index into a shared index and a small one".to_string(),
        Tidied::Kept { entries } => {
            format!("ok: git's small index holds {}", plural(entries, "entry"))
        }
        Tidied::LeftToGit => "ok: git's index left to git (not split by frontdesk)".to_string(),
    }
}

/// Writes one report in every nightly format; returns the files written.
fn write_all(
    s: &Sched,
    r: &Report,
    dir: &Path,
    stem: &str,
    tree: TreeState,
) -> Result<Vec<String>> {
    let meta = Meta::new(&s.store, r, false, tree);
    let mut out = Vec::new();
    for (format, ext) in FORMATS {
        let bytes = render(r, &meta, *format, s.store.root())?;
        let path = dir.join(format!("{stem}.{ext}"));
        write_atomic(&path, &bytes)?;
        out.push(path.display().to_string());
    }
    Ok(out)
}

/// The run's lock on DIR: waits for another run up to FRONTDESK_LOCK_TIMEOUT seconds (default
/// 30); released when the process ends, however it ends.
fn lock(out: &Path) -> Result<File> {
    let path = out.join(".nightly.lock");
    let file = open_lock_file(&path)?;
    if !lock_waiting(&file, &path, lock_timeout())? {
        return Err(Error::conflict(format!(
            "{}: another `report nightly` is writing there",
            out.display()
        ))
        .hint("wait for it to finish, or raise FRONTDESK_LOCK_TIMEOUT"));
    }
    Ok(file)
}

/// The date folders a nightly run writes into are named like this.
pub fn folder(out: &Path, date: NaiveDate) -> PathBuf {
    out.join(date.to_string())
}
