//! The floor under a warm `patient find`: one `statx` of every patient file, by name relative
//! to its open shard folder, spread over the cores the way find spreads it, and nothing else
//! (no index, no search, no output). The index is validated per file, so find can never be
//! faster than this; `bench/compare.sh` runs it in the same run as find and ripgrep, so the
//! floor's own ratio to ripgrep shows how much of find's ratio is that validation.
//!
//!     cargo run --release --example stat_floor -- RECORDS/patients NAMES
//!
//! NAMES lists the files as `shard/name` lines, grouped by shard (`find` and `sort` make it):
//! find takes the names from its index, not from listing the folders, and so does this.

use std::ffi::CString;
use std::process::ExitCode;

use rayon::prelude::*;
use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags, open, openat, statx};

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let [patients, names] = &args[..] else {
        eprintln!("usage: stat_floor RECORDS/patients NAMES");
        return ExitCode::from(2);
    };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let (root, listing) = match (open(patients, flags, Mode::empty()), std::fs::read(names)) {
        (Ok(root), Ok(listing)) => (root, listing),
        (Err(e), _) => return fail(format!("cannot open the patients folder: {e}")),
        (_, Err(e)) => return fail(format!("cannot read the list of names: {e}")),
    };
    // Each shard's files, in the order listed.
    let mut shards: Vec<(CString, Vec<CString>)> = Vec::new();
    for line in listing.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Some(slash) = line.iter().position(|&b| b == b'/') else {
            return fail("a line of the list is not shard/name".into());
        };
        let (Ok(shard), Ok(name)) = (
            CString::new(&line[..slash]),
            CString::new(&line[slash + 1..]),
        ) else {
            return fail("a line of the list holds a NUL byte".into());
        };
        match shards.last_mut() {
            Some((last, files)) if *last == shard => files.push(name),
            _ => shards.push((shard, vec![name])),
        }
    }
    let mask = StatxFlags::TYPE | StatxFlags::SIZE | StatxFlags::MTIME | StatxFlags::CTIME;
    let (files, bytes) = shards
        .par_iter()
        .map(|(shard, names)| {
            let Ok(dir) = openat(&root, shard.as_c_str(), flags, Mode::empty()) else {
                return (0, 0);
            };
            let mut found = (0u64, 0u64);
            for name in names {
                if let Ok(st) = statx(&dir, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW, mask) {
                    found = (found.0 + 1, found.1 + st.stx_size);
                }
            }
            found
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!("{files} files, {bytes} bytes");
    ExitCode::SUCCESS
}

fn fail(why: String) -> ExitCode {
    eprintln!("stat_floor: {why}");
    ExitCode::from(2)
}
