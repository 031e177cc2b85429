//! The history: git. One commit per command, written straight into the object store when it
//! can be ([`git_fast`]) and through the git binary otherwise ([`git`]); git's index read and
//! written in place ([`git_index`]); a bounded `git status` ([`git_status`]); the direct
//! commit's packs kept few ([`packs`]); sync plumbing.
//!
//! Knows nothing of records, the write path or the caches: it is handed a root, paths and a
//! message.

pub mod git;
mod git_fast;
pub mod git_index;
pub mod git_status;
mod packs;
mod plumbing;
