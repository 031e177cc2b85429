//! Whether the records tree holds changes not committed, for the footer of a report: a report
//! names the commit it was computed from, promising the same bytes when run again there, and
//! a hand edit or a file left behind breaks that promise.
//!
//! It is `check`'s own answer, reached the way `check` reaches it: a walk of the tree's stat
//! data (the fingerprint `check` compares), then `check`'s note of a clean tree
//! (`derived/clean_note.rs`, kept true across frontdesk's own commits), and only when the note
//! does not hold, the status worked out from git's index (`history/git_status.rs`), whose clean
//! answer is noted for the next report. At full size the walk alone stats four million files
//! (seconds), so a single report looks only when git's index is small (below [`LOOK_BELOW`]);
//! `report nightly` always looks, once for all its reports.

use std::fs;
use std::path::Path;

use crate::derived::clean_note;
use crate::derived::stamp::now_ns;
use crate::history::git_index::{Delta, Unusable, hex};
use crate::history::git_status;
use crate::store::Store;

/// What a report knows of changes not committed in the records tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeState {
    /// Not a git repository: there is no commit to be faithful to.
    NoHistory,
    /// Nothing uncommitted: the commit is what the report read.
    Clean,
    /// Files changed, added or deleted since the commit.
    Uncommitted,
    /// Not looked for (a large tree, outside `report nightly`), or git could not say.
    NotChecked,
}

/// Git's index (both halves of a split one) up to this size is cheap to compare with the tree
/// on every report: 8 MB is some 80,000 files.
pub const LOOK_BELOW: u64 = 8 << 20;

impl Store {
    /// Whether the tree holds uncommitted changes; on a large tree only when `always`.
    pub fn tree_state(&self, always: bool) -> TreeState {
        if !self.is_git() {
            return TreeState::NoHistory;
        }
        if !always && index_bytes(&self.path(Path::new(".git"))) >= LOOK_BELOW {
            return TreeState::NotChecked;
        }
        let Ok((_, tree, _)) = self.check_files(false, self.lock_is_free()) else {
            return TreeState::NotChecked;
        };
        let git = clean_note::git_print(self.root());
        let started = now_ns();
        if clean_note::known_clean(self, &tree, &git, started) {
            return TreeState::Clean;
        }
        match git_status::uncommitted(self.root(), &self.options.user) {
            Ok(found) => {
                clean_note::note_status(self, found.is_empty(), started, &tree, &git);
                if found.is_empty() {
                    TreeState::Clean
                } else {
                    TreeState::Uncommitted
                }
            }
            Err(_) => TreeState::NotChecked,
        }
    }
}

/// The bytes of git's index: `.git/index`, and for a split index the shared half it names.
fn index_bytes(git_dir: &Path) -> u64 {
    let index = git_dir.join("index");
    let own = fs::metadata(&index).map_or(0, |m| m.len());
    match Delta::read(&index) {
        Ok(delta) if delta.link.len() >= 20 => {
            let shared = git_dir.join(format!("sharedindex.{}", hex(&delta.link[..20])));
            // A shared half that cannot be found is not known to be small.
            own.saturating_add(fs::metadata(shared).map_or(u64::MAX / 2, |m| m.len()))
        }
        Ok(_) | Err(Unusable::TooBig) => u64::MAX,
        Err(_) => own,
    }
}
