//! Keeping the direct commit's packs few. Each commit the direct way is a pack of its own
//! (fast-import's, kept as written: see `git_fast`), a few objects each; past [`SMALL_PACKS`] of
//! the small ones they are rolled into one, the way `git repack --geometric` would: their
//! objects, listed from their indexes, packed again by `git pack-objects`, then the small packs
//! deleted. `git repack --geometric=2` itself does the same in 2.3 s on a full-size clinic,
//! nearly all of it enumerating objects it was not asked to move; this takes 55 ms.
//!
//! Best effort throughout: the commit is already made, and more packs only make git a little
//! slower. A crash between writing the new pack and deleting the old ones leaves objects in
//! two packs, which git reads as it would any duplicate.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::git_index::hex;
use super::plumbing::{self, git, run, run_with_input};

/// Small packs past which they are rolled into one. Below git's own `gc.autoPackLimit` (50),
/// past which `git gc --auto`, run by a `git commit` by hand, would repack everything (the
/// 1.3 GB pack of a full-size clinic included). `FRONTDESK_GIT_PACK_LIMIT` overrides it (tests
/// use a tiny limit to exercise the roll-up).
const SMALL_PACKS: usize = 24;

/// A pack below this size is small: a roll-up's own pack is rolled up again until it grows
/// past it (some thousands of commits), then left as it is.
const SMALL_PACK_BYTES: u64 = 8 << 20;

fn pack_limit() -> usize {
    plumbing::limit("FRONTDESK_GIT_PACK_LIMIT", SMALL_PACKS)
}

/// Rolls the small packs into one once there are more than [`SMALL_PACKS`] of them, unless
/// `gc.auto` or `gc.autoPackLimit` is 0 (whoever keeps this repository does its housekeeping).
pub(super) fn roll_up_small_packs(root: &Path, user: &str) {
    let dir = root.join(".git/objects/pack");
    let small = small_packs(&dir);
    if small.len() <= pack_limit() || gc_running(root) || auto_gc_turned_off(root, user) {
        return;
    }
    let mut ids = String::new();
    for pack in &small {
        match fs::read(pack.with_extension("idx"))
            .ok()
            .as_deref()
            .and_then(object_ids)
        {
            Some(names) => {
                for name in names {
                    ids.push_str(&hex(name));
                    ids.push('\n');
                }
            }
            // An index this code does not read: leave the packs to git.
            None => return,
        }
    }
    let mut cmd = git(root, user);
    cmd.args(["pack-objects", "-q", "--window=0"])
        .arg(dir.join("pack"));
    let Ok(made) = run_with_input(cmd, Some(ids.as_bytes()), "roll up small packs") else {
        return;
    };
    let made = format!("pack-{}.pack", made.trim());
    for pack in small {
        if pack
            .file_name()
            .is_some_and(|n| n.as_bytes() == made.as_bytes())
        {
            continue;
        }
        // The pack first, as git removes one: a reader never finds a pack without its index.
        for ext in ["pack", "idx", "rev", "bitmap", "mtimes"] {
            let _ = fs::remove_file(pack.with_extension(ext));
        }
    }
}

/// The packs under `SMALL_PACK_BYTES` that git may repack (no `.keep`, no `.promisor`).
fn small_packs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name().as_bytes().ends_with(b".pack")
                && e.metadata().is_ok_and(|m| m.len() < SMALL_PACK_BYTES)
        })
        .map(|e| e.path())
        .filter(|p| {
            !p.with_extension("keep").exists()
                && !p.with_extension("promisor").exists()
                && p.with_extension("idx").exists()
        })
        .collect();
    out.sort();
    out
}

/// The object names a version 2 pack index of SHA-1 objects lists; None for anything else.
fn object_ids(idx: &[u8]) -> Option<impl Iterator<Item = &[u8; 20]>> {
    const HEAD: usize = 8 + 256 * 4;
    if idx.get(..8)? != b"\xfftOc\x00\x00\x00\x02" {
        return None;
    }
    let count = u32::from_be_bytes(idx.get(HEAD - 4..HEAD)?.try_into().ok()?) as usize;
    // Names, CRCs and offsets, then the pack's and the index's checksums; large offsets after.
    let least = HEAD + count * (20 + 4 + 4) + 2 * 20;
    if idx.len() < least || !(idx.len() - least).is_multiple_of(8) {
        return None;
    }
    let names = idx.get(HEAD..HEAD + count * 20)?;
    Some(
        names
            .chunks_exact(20)
            .map(|c| <&[u8; 20]>::try_from(c).expect("chunks of 20")),
    )
}

/// A `git gc` holds `.git/gc.pid` while it repacks, and deletes the packs it started from when
/// it is done: rolling them up meanwhile is a second repack of the same packs, which git lets
/// one process do at a time. The roll-up waits for a later commit, as a second `git gc` would.
/// Like git, a `gc.pid` older than twelve hours is taken for a gc that died.
fn gc_running(root: &Path) -> bool {
    const STALE: std::time::Duration = std::time::Duration::from_secs(12 * 3600);
    fs::metadata(root.join(".git/gc.pid"))
        .and_then(|m| m.modified())
        .is_ok_and(|at| at.elapsed().map_or(true, |age| age < STALE))
}

/// `gc.auto` or `gc.autoPackLimit` set to 0.
fn auto_gc_turned_off(root: &Path, user: &str) -> bool {
    let mut cmd = git(root, user);
    cmd.args(["config", "--get-regexp", r"^gc\.(auto|autopacklimit)$"]);
    // git exits 1 when neither is set.
    let set = run(cmd, "read the configuration").unwrap_or_default();
    set.lines()
        .any(|l| l.split_whitespace().nth(1).is_some_and(|v| v == "0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pack_index_s_names_are_read_and_anything_else_is_not() {
        let names: [[u8; 20]; 2] = [[1; 20], [2; 20]];
        let mut idx = b"\xfftOc\x00\x00\x00\x02".to_vec();
        for bucket in 0..256u32 {
            let n: u32 = match bucket {
                0 => 0,
                1 => 1,
                _ => 2,
            };
            idx.extend_from_slice(&n.to_be_bytes());
        }
        for n in &names {
            idx.extend_from_slice(n);
        }
        idx.extend_from_slice(&[0; 2 * 8]); // CRCs and offsets
        idx.extend_from_slice(&[0; 40]); // checksums
        let read: Vec<&[u8; 20]> = object_ids(&idx).unwrap().collect();
        assert_eq!(read, [&names[0], &names[1]]);
        // A large offset's eight bytes more are fine; anything else is not read.
        let mut large = idx.clone();
        large.extend_from_slice(&[0; 8]);
        assert_eq!(object_ids(&large).unwrap().count(), 2);
        assert!(object_ids(&idx[..idx.len() - 1]).is_none());
        let mut v1 = idx.clone();
        v1[7] = 1;
        assert!(object_ids(&v1).is_none());
        assert!(object_ids(b"").is_none());
    }
}
