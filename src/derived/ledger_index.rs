//! The per-patient ledger index: which entries belong to which patient, so `pay ledger`,
//! `pay balance` and `pay collect` read one patient's few files instead of the whole ledger.
//!
//! It is a declaration over the engine of the caches kept per day folder (`day_index.rs`):
//! - [`LEDGER`], the kind: each entry's token in its day line is `T…:P…`, its patient, read
//!   from the file's `patient = "P…"` line ([`entry_token`]). The same lines answer the new-ID
//!   check and `history T…` (`schedule_index.rs`), so one stat pass serves both.
//! - [`PATIENTS`], its follower: the pairs again, by patient (`by_patient.rs`), one bucket per
//!   two-character patient shard (`.frontdesk/index/ledger-patients/XY.tsv`: patient, day,
//!   entry).
//!
//! The engine owns the day lines; `by_patient.rs` owns the buckets and the write-through of a
//! payment (`derived::after_write`). What is left here is what belongs to the ledger: an
//! entry's token and the names the callers use. Design and limits: docs/ledger.md.

use std::fs;
use std::path::Path;

use chrono::NaiveDate;

use crate::derived::by_patient::ByPatient;
pub use crate::derived::by_patient::{BucketList, Listed};
use crate::derived::day_index::Shelf;
use crate::derived::stamp::FileStamp;
use crate::disk::layout;
use crate::disk::lock::alive;
use crate::disk::{STATE_DIR, Tree};
use crate::domain::id::{Id, IdKind};
use crate::domain::ledger::Entry;
use crate::error::Result;
use crate::text::parse_toml;

/// The ledger's entries, each kept as `ENTRY:PATIENT` (`ENTRY:` when the file names no
/// patient it can read: its ID still counts as taken), followed by the buckets.
pub static LEDGER: Shelf = Shelf {
    dir: layout::LEDGER_DIR,
    name: "ledger",
    magic: "frontdesk-ledger 3",
    pairs: true,
    token: Some(entry_token),
    rel: layout::ledger_rel,
    view: None,
    follower: Some(&PATIENTS),
    unfollowed_magic: None,
};

/// The by-patient buckets, brought along with the ledger's day lines: where they are kept,
/// and what they follow. A static, so the kind and its follower can name each other.
pub(crate) static PATIENTS: ByPatient = ByPatient {
    shelf: &LEDGER,
    folder: "ledger-patients",
    years_format: "frontdesk-ledger-buckets 1",
};

/// An entry file's token: `T…:P…` from the `patient = "P…"` line the tool writes, or, for a
/// file written some other way, a full parse; `T…:` when neither names a patient.
fn entry_token(path: &Path, id: &Id) -> String {
    let patient = fs::read(path).ok().and_then(|bytes| {
        let text = std::str::from_utf8(&bytes).ok()?;
        let quick = text.lines().find_map(|l| {
            let v = l.strip_prefix("patient = \"")?.strip_suffix('"')?;
            Id::parse_kind(v, IdKind::Patient).ok()
        });
        quick.or_else(|| parse_toml::<Entry>(path, &bytes).ok().map(|e| e.patient))
    });
    format!(
        "{id}:{}",
        patient.map(|p| p.to_string()).unwrap_or_default()
    )
}

/// The (day, entry ID) pairs the index holds for `patient`, after bringing it up to date.
pub fn patient_entries(store: &Tree, patient: &Id) -> Result<Vec<(NaiveDate, Id)>> {
    PATIENTS.patient_records(store, patient)
}

/// [`patient_entries`] of several patients, in the order given, bringing the index up to date
/// once (a refresh stats every day folder: an import of many rows pays for it once).
pub fn patients_entries(store: &Tree, patients: &[Id]) -> Result<Vec<Vec<(NaiveDate, Id)>>> {
    PATIENTS.patients_records(store, patients)
}

/// [`patients_entries`] for a handful of patients among many (a day's patients), a bucket
/// whose stamp `trusted` accepts not read at all: [`ByPatient::few_patients_records`].
pub fn few_patients_entries(
    store: &Tree,
    patients: &[Id],
    trusted: impl Fn(usize, &FileStamp) -> bool,
) -> Result<Vec<Listed>> {
    PATIENTS.few_patients_records(store, patients, trusted)
}

/// Every bucket of the index, on all cores, in patient ID order: [`ByPatient::map_buckets`].
pub fn map_buckets<R, F>(store: &Tree, visit: F) -> Result<Vec<R>>
where
    R: Send,
    F: Fn(&str, BucketList) -> Result<Vec<R>> + Sync,
{
    PATIENTS.map_buckets(store, visit)
}

/// Deletes the buckets (under the ledger kind's lock, so a command reading them never sees
/// them vanish midway; the next command rebuilds them from the day lines), and what an
/// earlier version kept in `.frontdesk/ledger-index/`.
pub fn remove(store: &Tree) -> Result<()> {
    PATIENTS.remove(store)?;
    sweep_old_layout(store)
}

/// Deletes the folder an earlier version kept the index in (`.frontdesk/ledger-index/`, its
/// own lock inside), and what a remover of that version killed between its rename and its
/// delete left beside it (`ledger-index.removed-PID-NS`) once that process is gone. A live
/// remover's folder is its own to delete.
fn sweep_old_layout(store: &Tree) -> Result<()> {
    let state = store.path(Path::new(STATE_DIR));
    let Ok(entries) = fs::read_dir(&state) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let sweep = match name.strip_prefix("ledger-index") {
            Some("") => true,
            Some(rest) => rest
                .strip_prefix(".removed-")
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| pid != std::process::id() && !alive(pid)),
            None => false,
        };
        if sweep {
            super::remove_folder(&e.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::os::unix::fs::MetadataExt;

    use std::path::PathBuf;

    use super::*;
    use crate::derived::by_patient::{read_body, write_lines};
    use crate::derived::day_index::{self, Change, Follower};

    /// Some process waits for the flock on the file of inode `ino` (per `/proc/locks`; without
    /// it, taken to be so).
    fn lock_waited_for(ino: u64) -> bool {
        let Ok(locks) = fs::read_to_string("/proc/locks") else {
            return true;
        };
        let file = format!(":{ino}");
        locks
            .lines()
            .any(|l| l.contains("-> FLOCK") && l.split_whitespace().any(|f| f.ends_with(&file)))
    }

    #[test]
    fn remove_waits_for_the_command_holding_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        PATIENTS
            .write_years(&tree, &BTreeSet::from([2026]))
            .unwrap();
        let held = day_index::lock(&tree, &LEDGER).unwrap();
        let lock_file = crate::derived::index_dir(&tree).join("ledger.lock");
        let ino = fs::metadata(&lock_file).unwrap().ino();
        std::thread::scope(|s| {
            let removing = s.spawn(|| remove(&tree));
            while !removing.is_finished() && !lock_waited_for(ino) {
                std::thread::yield_now();
            }
            assert!(
                PATIENTS.years_path(&tree).exists(),
                "not removed under a reader"
            );
            drop(held);
            removing.join().unwrap().unwrap();
        });
        assert!(!PATIENTS.dir(&tree).exists());
        assert!(
            lock_file.exists(),
            "the lock file stays: everyone locks the same file"
        );
    }

    fn bucket_of(tree: &Tree, patient: &str) -> Vec<String> {
        let path = PATIENTS.dir(tree).join(format!("{}.tsv", &patient[1..3]));
        read_body(&path)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_buckets_follow_a_day_idempotently_and_a_lost_year_they_hold_marks_them() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        let day: NaiveDate = "2026-11-03".parse().unwrap();
        let (t1, t2, t3) = ("T1111111", "T2222222", "T3333333");
        let p = "PAB22222";
        // No years.tsv: nothing to keep, nothing written.
        let first = format!("{t1}:{p} {t2}:{p}");
        let change = |old: &'static str, new: String| (old, new);
        PATIENTS.follow(&tree, 2026, &[], true).unwrap();
        assert!(!PATIENTS.dir(&tree).exists());
        // Built from a ledger of no year: every bucket there, empty.
        PATIENTS
            .rebuild(&tree, &day_index::lock(&tree, &LEDGER).unwrap())
            .unwrap();
        assert_eq!(PATIENTS.read_years(&tree), Some(BTreeSet::new()));
        let (old, new) = change("", first.clone());
        let c = Change {
            date: day,
            old,
            new: &new,
        };
        PATIENTS.follow(&tree, 2026, &[c], true).unwrap();
        assert_eq!(PATIENTS.read_years(&tree), Some(BTreeSet::from([2026])));
        assert_eq!(
            bucket_of(&tree, p),
            [format!("{p}\t{day}\t{t1}"), format!("{p}\t{day}\t{t2}")]
        );
        // T2 gone, T3 new (and a token without a patient, skipped): told twice, as a crash
        // between the buckets and the day lines would have it.
        let now = format!("{t1}:{p} {t3}: {t3}:{p}");
        for _ in 0..2 {
            let c = Change {
                date: day,
                old: &first,
                new: &now,
            };
            PATIENTS.follow(&tree, 2026, &[c], false).unwrap();
        }
        assert_eq!(
            bucket_of(&tree, p),
            [format!("{p}\t{day}\t{t1}"), format!("{p}\t{day}\t{t3}")]
        );
        // The lines of a year the buckets hold were lost: they cannot be taken out.
        PATIENTS.follow(&tree, 2026, &[], true).unwrap();
        assert_eq!(PATIENTS.read_years(&tree), None, "marked for rebuilding");
        // A damaged bucket marks them too.
        PATIENTS
            .write_years(&tree, &BTreeSet::from([2026]))
            .unwrap();
        let bucket = PATIENTS.dir(&tree).join("AB.tsv");
        let good = fs::read(&bucket).unwrap();
        fs::write(&bucket, &good[..good.len() - 1]).unwrap();
        let c = Change {
            date: day,
            old: "",
            new: &now,
        };
        PATIENTS.follow(&tree, 2026, &[c], false).unwrap();
        assert_eq!(PATIENTS.read_years(&tree), None);
        // So does one whose lines are out of order (each move is a binary search in them).
        PATIENTS
            .write_years(&tree, &BTreeSet::from([2026]))
            .unwrap();
        let lines = [format!("{p}\t{day}\t{t3}"), format!("{p}\t{day}\t{t1}")];
        write_lines(&bucket, lines.iter()).unwrap();
        PATIENTS.follow(&tree, 2026, &[c], false).unwrap();
        assert_eq!(PATIENTS.read_years(&tree), None);
    }

    /// An entry file of `patient` on `date`, its day folder's time put `secs` seconds after an
    /// hour ago (outside the racy window, and moved by each call).
    fn entry(tree: &Tree, date: &str, n: u64, patient: &str, secs: u64) -> Id {
        let t = fresh_entry(tree, date, n, patient);
        let path = tree.path(&layout::ledger_rel(date.parse().unwrap(), &t));
        let when = std::time::SystemTime::now() - std::time::Duration::from_secs(3600 - secs);
        fs::File::open(path.parent().unwrap())
            .unwrap()
            .set_modified(when)
            .unwrap();
        t
    }

    /// The day lines' files (not the buckets) as they are now.
    fn lines_files(tree: &Tree) -> Vec<(PathBuf, Vec<u8>)> {
        let index = crate::derived::index_dir(tree);
        let mut out: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(&index)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && !p.ends_with("ledger.lock"))
            .map(|p| (p.clone(), fs::read(&p).unwrap()))
            .collect();
        out.sort();
        out
    }

    /// A crash after the buckets were told of a changed day but before its new line was
    /// written leaves the old lines: the day is read and told again, and the buckets hold each
    /// entry once, whether the day was one the lines held, a new one (both written to the
    /// overlay) or one gone (the year written whole).
    #[test]
    fn a_crash_between_the_buckets_and_the_lines_repeats_the_update_harmlessly() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        let p = Id::parse("PAB22222").unwrap();
        let first = entry(&tree, "2026-11-02", 1, p.as_str(), 1);
        entry(&tree, "2026-11-02", 2, "PCD33333", 2);
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            patient_entries(&tree, &p).unwrap(),
            [(d("2026-11-02"), first.clone())]
        );
        // Once to a day the lines hold (the overlay), once to a day they do not (a new day);
        // each time the lines as they were before are put back, as a crash would leave them.
        for (n, day) in [(3, "2026-11-02"), (4, "2026-11-09")] {
            let before = lines_files(&tree);
            let added = entry(&tree, day, n, p.as_str(), n);
            let want = patient_entries(&tree, &p).unwrap();
            assert!(want.contains(&(d(day), added)), "{want:?}");
            crash_and_ask_again(&tree, &p, &before, &want);
        }
        assert_eq!(patient_entries(&tree, &p).unwrap().len(), 3);
        let before = lines_files(&tree);
        fs::remove_dir_all(tree.path(&layout::ledger_day_rel(d("2026-11-09")))).unwrap();
        let want = patient_entries(&tree, &p).unwrap();
        assert_eq!(want.len(), 2);
        assert_ne!(lines_files(&tree)[0], before[0], "the year written whole");
        crash_and_ask_again(&tree, &p, &before, &want);
    }

    /// Puts the day lines' files back as they were `before` (as a crash before they were
    /// written leaves them), then asks for `patient` again: the answer is still `want`, and
    /// the buckets were not rebuilt.
    fn crash_and_ask_again(
        tree: &Tree,
        patient: &Id,
        before: &[(PathBuf, Vec<u8>)],
        want: &[(NaiveDate, Id)],
    ) {
        for (path, _) in lines_files(tree) {
            if !before.iter().any(|(b, _)| *b == path) {
                fs::remove_file(path).unwrap();
            }
        }
        for (path, bytes) in before {
            fs::write(path, bytes).unwrap();
        }
        assert_eq!(patient_entries(tree, patient).unwrap(), want, "told again");
        assert_eq!(
            PATIENTS.read_years(tree),
            Some(BTreeSet::from([2026])),
            "not rebuilt"
        );
    }

    /// An entry file of `patient` on `date` as a command writes it: its day folder's time is
    /// now, in the racy window.
    fn fresh_entry(tree: &Tree, date: &str, n: u64, patient: &str) -> Id {
        let date: NaiveDate = date.parse().unwrap();
        let t = Id::from_bits(IdKind::Transaction, n);
        let path = tree.path(&layout::ledger_rel(date, &t));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("patient = \"{patient}\"\n")).unwrap();
        t
    }

    /// A bucket's bytes and inode: a rewrite by rename changes the inode even when it writes
    /// the same bytes.
    fn bucket_file(tree: &Tree, patient: &Id) -> (Vec<u8>, u64) {
        let path = PATIENTS.dir(tree).join(format!("{}.tsv", patient.shard()));
        (fs::read(&path).unwrap(), fs::metadata(&path).unwrap().ino())
    }

    /// Write-through: what the writer leaves (the written days' lines and the buckets) is what
    /// the next command would make, so that command rewrites no bucket, on a day the lines
    /// held and on a new one; and a file the writer was not told of, put in by hand beside its
    /// own, is still found, the written day's time lying in the racy window.
    #[test]
    fn a_writer_leaves_what_the_next_command_would_make_and_hand_edits_are_still_found() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path());
        let p = Id::parse("PAB22222").unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let first = entry(&tree, "2026-11-02", 1, p.as_str(), 1);
        entry(&tree, "2026-11-02", 2, "PCD33333", 2);
        let mut want = vec![(d("2026-11-02"), first)];
        assert_eq!(patient_entries(&tree, &p).unwrap(), want);
        for (n, day) in [(3, "2026-11-02"), (4, "2026-11-09")] {
            let written = fresh_entry(&tree, day, n, p.as_str());
            PATIENTS.after_write(&tree, &[layout::ledger_rel(d(day), &written)]);
            let left = bucket_file(&tree, &p);
            want.push((d(day), written));
            assert_eq!(patient_entries(&tree, &p).unwrap(), want);
            assert_eq!(
                bucket_file(&tree, &p),
                left,
                "the next command rewrote the bucket"
            );
        }
        // One put in by hand, then the writer's own, told alone.
        let by_hand = fresh_entry(&tree, "2026-11-09", 5, p.as_str());
        let written = fresh_entry(&tree, "2026-11-09", 6, p.as_str());
        PATIENTS.after_write(&tree, &[layout::ledger_rel(d("2026-11-09"), &written)]);
        want.extend([(d("2026-11-09"), by_hand), (d("2026-11-09"), written)]);
        assert_eq!(patient_entries(&tree, &p).unwrap(), want);
        // The buckets are what a rebuild from the lines makes.
        let held = day_index::lock(&tree, &LEDGER).unwrap();
        let kept = bucket_file(&tree, &p).0;
        PATIENTS.rebuild(&tree, &held).unwrap();
        assert_eq!(bucket_file(&tree, &p).0, kept);
    }
}
