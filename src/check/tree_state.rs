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

/// Git's index (both halves of a split one) under this size is cheap enough to compare with
/// the tree on every report: 1 MB is some 10,000 files, which the walk and, on a tree with
/// changes, the status go through in a few tens of milliseconds. At 40,000 files (the
/// 1,000-patient benchmark clinic) a tree with changes costs 0.12 s, four times `report daily`
/// itself.
pub const LOOK_BELOW: u64 = 1 << 20;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_s_size_decides_whether_a_single_report_looks() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path();
        assert_eq!(index_bytes(git), 0, "no index yet: nothing to compare");
        // An unsplit index (or anything git would read as one) counts by its own size.
        fs::write(git.join("index"), vec![0u8; 2 << 20]).unwrap();
        assert!(index_bytes(git) >= LOOK_BELOW);
        fs::write(git.join("index"), b"DIRC").unwrap();
        assert!(index_bytes(git) < LOOK_BELOW);
    }
}
