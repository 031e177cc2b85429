//! `frontdesk sync`: several desks or sites share one records history through a git remote.
//!
//! The whole sync runs under the write lock, so no command writes while git merges. It refuses
//! to start with changes not yet committed or a merge already in progress, so it never commits
//! anything half-done. One file per record means two sites' work almost always merges cleanly;
//! when one record was edited at both sites git cannot choose, and sync undoes the merge (or,
//! with --keep-conflicts, leaves it marked) and says exactly what to do. After a merge it runs
//! `check` and reports what the merge brought that needs a person, such as one provider booked
//! at two sites for the same time.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::Ctx;
use crate::cli::check::print_problems;
use crate::domain::check::Problem;
use crate::error::{Error, Result, exit};
use crate::history::git::{self, Integrated, Pushed};
use crate::history::git_status;
use crate::store::{Store, atomic::TEMP_PREFIX};

/// Pull the other sites' changes, check them, and push this site's (git remote).
///
/// Exits 0 when synced cleanly, 2 when synced but `check` found problems the merge brought
/// (listed, with what to do), 3 when the records are busy or one record was changed at both
/// sites (nothing is changed unless --keep-conflicts).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The git remote to sync with (default: origin).
    pub remote: Option<String>,
    /// Replay this site's new commits on top of the remote's instead of merging.
    #[arg(long)]
    pub rebase: bool,
    /// When a record was changed at both sites, leave the merge in progress with conflict
    /// markers in those files, to resolve by hand, instead of undoing it.
    #[arg(long)]
    pub keep_conflicts: bool,
    /// Pull and check, but do not push.
    #[arg(long)]
    pub no_push: bool,
}

/// Pushes that found the remote moved on are retried this many times.
const PUSH_TRIES: usize = 3;

pub fn cmd_sync(ctx: &Ctx, args: Args) -> Result<u8> {
    let store = ctx.open()?;
    let root = store.root().to_path_buf();
    let user = store.options.user.clone();
    if !store.is_git() {
        return Err(Error::user(format!(
            "{} is not a git repository, so it cannot sync",
            root.display()
        ))
        .hint(
            "create the tree with `frontdesk init` (which makes it a repository); see docs/sync.md",
        ));
    }
    let _txn = store.begin_within(Duration::ZERO).map_err(|_| {
        Error::conflict("another frontdesk command is writing to the records; nothing was synced")
            .hint("run sync again when it has finished")
    })?;
    refuse_unfinished(&root, &user)?;
    let remote = pick_remote(&root, &user, args.remote.as_deref())?;
    let branch = git::current_branch(&root, &user)?;
    let upstream = format!("{remote}/{branch}");
    let mut received = HashSet::new();
    let mut new_problems = Vec::new();
    for attempt in 1..=PUSH_TRIES {
        git::fetch(&root, &user, &remote)?;
        if git::resolve(&root, &user, &upstream).is_some() {
            let before = git::resolve(&root, &user, "HEAD").unwrap_or_default();
            let changed = pull(&store, &upstream, &args)?;
            received.extend(changed.iter().cloned());
            new_problems = problems_brought(&store, &received)?;
            refuse_unreadable(
                &store,
                &before,
                &changed,
                &new_problems,
                args.keep_conflicts,
            )?;
        }
        if args.no_push {
            break;
        }
        let ahead = match git::resolve(&root, &user, &upstream) {
            Some(_) => git::count_commits(&root, &user, &format!("{upstream}..HEAD"))?,
            None => 1,
        };
        if ahead == 0 {
            break;
        }
        match git::push(&root, &user, &remote, &branch)? {
            Pushed::Done => {
                ctx.say(&format!("sent {ahead} commit(s) to {upstream}"));
                break;
            }
            Pushed::Behind if attempt < PUSH_TRIES => continue,
            Pushed::Behind => {
                return Err(Error::conflict(format!(
                    "{upstream} kept moving while this site pushed"
                ))
                .hint("the other sites are busy syncing: run `frontdesk sync` again in a moment"));
            }
        }
    }
    ctx.say(&format!(
        "synced with {upstream}: {} file(s) received",
        received.len()
    ));
    if new_problems.is_empty() {
        return Ok(exit::OK);
    }
    let shown: Vec<&Problem> = new_problems.iter().collect();
    print_problems(&store, ctx.format, &shown)?;
    eprintln!(
        "frontdesk: the sync brought {} problem(s) that need a person (both sites' records are kept); fix them as listed, then run `frontdesk sync` again",
        new_problems.len()
    );
    Ok(exit::USER)
}

/// Refuses to sync over work that is not committed or a merge left from before.
fn refuse_unfinished(root: &Path, user: &str) -> Result<()> {
    if let Some(op) = git::operation_in_progress(root) {
        return Err(Error::conflict(format!("a {op} is already in progress in {}; nothing was synced", root.display()))
            .hint(format!("finish it (`frontdesk check` lists the files to fix, then `git -C {0} add` them and `git -C {0} commit`) or undo it with `git -C {0} {op} --abort`", root.display())));
    }
    let pending: Vec<PathBuf> = git_status::uncommitted(root, user)?
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_none_or(|n| !n.to_string_lossy().starts_with(TEMP_PREFIX))
        })
        .collect();
    if !pending.is_empty() {
        let list: Vec<String> = pending
            .iter()
            .take(10)
            .map(|p| p.display().to_string())
            .collect();
        let more = pending.len().saturating_sub(list.len());
        return Err(Error::user(format!(
            "{} file(s) are changed but not committed: {}{}; nothing was synced",
            pending.len(),
            list.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        ))
        .hint("run `frontdesk check` (`--fix` commits sound records left by an interrupted command), or commit or undo them with git, then sync again"));
    }
    Ok(())
}

fn pick_remote(root: &Path, user: &str, asked: Option<&str>) -> Result<String> {
    let remotes = git::remotes(root, user)?;
    let name = asked.unwrap_or("origin");
    if remotes.iter().any(|r| r == name) {
        return Ok(name.to_string());
    }
    let known = if remotes.is_empty() {
        "this tree has no remotes".to_string()
    } else {
        format!("its remotes are {}", remotes.join(", "))
    };
    Err(
        Error::user(format!("no git remote named {name}: {known}")).hint(format!(
            "add the shared repository with `git -C {} remote add origin URL` (see docs/sync.md)",
            root.display()
        )),
    )
}

/// Merges (or rebases onto) `upstream`; returns the files that changed here.
fn pull(store: &Store, upstream: &str, args: &Args) -> Result<Vec<PathBuf>> {
    let root = store.root();
    let user = &store.options.user;
    let before = git::resolve(root, user, "HEAD").unwrap_or_default();
    match git::integrate(root, user, upstream, args.rebase)? {
        Integrated::Done => {}
        Integrated::Conflicts(files) => return Err(conflict(store, &files, args.keep_conflicts)?),
    }
    let after = git::resolve(root, user, "HEAD").unwrap_or_default();
    if before == after {
        return Ok(Vec::new());
    }
    let changed = git::changed_between(root, user, &before, &after)?;
    store.make_private(&changed)?;
    Ok(changed)
}

/// Explains records changed at both sites; undoes the merge unless asked to keep it.
fn conflict(store: &Store, files: &[PathBuf], keep: bool) -> Result<Error> {
    let root = store.root();
    let list: Vec<String> = files.iter().map(|f| store.display(f)).collect();
    let what = format!(
        "{} record file(s) were changed both here and at another site: {}",
        files.len(),
        list.join(", ")
    );
    if keep {
        store.make_private(files)?;
        return Ok(Error::conflict(format!("{what}; the merge is left in progress with conflict markers in those files"))
            .hint(format!("in each file keep the right lines between <<<<<<< and >>>>>>> and delete the marker lines; then `frontdesk check`, `git -C {0} commit -a`, and `frontdesk sync` again (or give up with `git -C {0} merge --abort`)", root.display())));
    }
    git::abort(root, &store.options.user)?;
    // Undoing rewrites those files with the umask's mode.
    store.make_private(files)?;
    Ok(Error::conflict(format!("{what}; the merge was undone, nothing here changed"))
        .hint("decide which version is right with the other site, then run `frontdesk sync --keep-conflicts` and fix the marked files, or change the record at one site only and sync both again"))
}

/// A merge git made without a conflict can still leave a record unreadable: both sites added
/// the same table (`[address]`) in different places, and the file now says it twice. Such a
/// merge is undone like a conflict (or, with --keep-conflicts, kept and not pushed), so a
/// broken record never spreads to the other sites.
fn refuse_unreadable(
    store: &Store,
    before: &str,
    changed: &[PathBuf],
    brought: &[Problem],
    keep: bool,
) -> Result<()> {
    let broken: Vec<PathBuf> = brought
        .iter()
        .filter(|p| p.unreadable)
        .map(|p| p.file.clone())
        .collect();
    if broken.is_empty() {
        return Ok(());
    }
    let root = store.root();
    let list: Vec<String> = broken.iter().map(|f| store.display(f)).collect();
    let what = format!(
        "{} record file(s) were changed both here and at another site, and git's merge of them does not parse: {}",
        broken.len(),
        list.join(", ")
    );
    if keep {
        print_problems(
            store,
            crate::render::Format::Table,
            &brought.iter().filter(|p| p.unreadable).collect::<Vec<_>>(),
        )?;
        return Err(Error::conflict(format!("{what}; the merge is kept here and was not pushed"))
            .hint(format!("fix each file as `frontdesk check` says, then `git -C {0} commit -a` and `frontdesk sync` (or undo it with `git -C {0} reset --hard {before}`)", root.display())));
    }
    git::reset_hard(root, &store.options.user, before)?;
    // The reset rewrote those files with the umask's mode.
    store.make_private(changed)?;
    Err(Error::conflict(format!("{what}; the merge was undone, nothing here changed"))
        .hint("decide which version is right with the other site, then run `frontdesk sync --keep-conflicts` and fix the listed files, or change the record at one site only and sync both again"))
}

/// Problems `check` finds that involve a file the sync brought in.
fn problems_brought(store: &Store, changed: &HashSet<PathBuf>) -> Result<Vec<Problem>> {
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let report = store.check(true)?;
    Ok(report
        .problems
        .into_iter()
        .filter(|p| {
            changed.contains(&p.file)
                || changed
                    .iter()
                    .any(|c| p.what.contains(&*c.to_string_lossy()))
        })
        .collect())
}
