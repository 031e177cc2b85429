//! The records tree: where records live, how they are read, and the only code that writes them.
//!
//! Every write goes through a [`Txn`]: it holds the exclusive lock on `.frontdesk/lock` for the
//! whole read-modify-write, writes each file atomically, and ends with one git commit. Paths are
//! only ever built from checked IDs and keys, so nothing can escape the tree.

pub mod bulk;
pub mod comm;
pub mod import;
pub mod journal;
pub mod ledger;
pub mod letter;
pub mod resource;
pub mod schedule;
pub mod survey;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::derived::{self, clean_note, index, schedule_index};
use crate::history::git;

use crate::domain::id::Id;
use crate::domain::insurance::{Payer, check_payer_key};
use crate::domain::office::Office;
use crate::domain::patient::Patient;
use crate::error::{Error, Result};

// The write path's public API, reachable where it always was.
pub use crate::disk::atomic::{self, Mode};
pub use crate::disk::lock::{LockHolder, lock_timeout, lock_waiting, open_lock_file};
pub use crate::disk::{
    OFFICE_FILE, STATE_DIR, Tree, files_with_ext, is_record_file, read_each, read_toml,
};
pub use crate::text::{parse_toml, to_toml};

/// How a command wants its writes recorded.
#[derive(Debug, Clone)]
pub struct Options {
    /// Staff member named as the author of every commit.
    pub user: String,
    /// False with `--no-commit`: write files but leave git alone.
    pub commit: bool,
}

/// A records tree opened for reading and writing: the [`Tree`] (root, lock), the office, and
/// how this command records its writes. Dereferences to its `Tree`, which the caches read.
pub struct Store {
    tree: Tree,
    pub office: Office,
    pub options: Options,
    /// The paths this process is writing, for the next command to recover should it be killed.
    journal: std::sync::Mutex<journal::Journal>,
    /// Set once this process has repaired what killed commands left (see `journal`).
    recovered: AtomicBool,
    /// Whether writes are journaled and committed, asked of the disk once: every record
    /// written asks it.
    keeps_history: std::sync::OnceLock<bool>,
}

impl std::ops::Deref for Store {
    type Target = Tree;
    fn deref(&self) -> &Tree {
        &self.tree
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Ok(j) = self.journal.get_mut() {
            j.finish();
        }
    }
}

impl Store {
    /// Opens an existing records tree, or explains how to make one.
    pub fn open(root: &Path, options: Options) -> Result<Store> {
        let office_path = root.join(OFFICE_FILE);
        if !office_path.is_file() {
            let what = if root.is_dir() {
                "is not a records tree (no frontdesk.toml)"
            } else {
                "does not exist"
            };
            return Err(Error::user(format!("{} {what}", root.display()))
                .hint(format!("create one with `frontdesk init {}`, or point --records (or FRONTDESK_RECORDS) at an existing tree", root.display())));
        }
        let office: Office = read_toml(&office_path)?;
        office.tz().map_err(|e| e.at(office_path.display()))?;
        Ok(Store::new(root, office, options))
    }

    /// The one place a `Store` value is made (`open` and `init`).
    fn new(root: &Path, office: Office, options: Options) -> Store {
        Store {
            tree: Tree::new(root),
            office,
            options,
            journal: Default::default(),
            recovered: AtomicBool::new(false),
            keeps_history: std::sync::OnceLock::new(),
        }
    }

    /// Creates a new records tree at `root` (which must be empty or absent): the office file, a
    /// .gitignore for the state directory, and optionally a git repository with a first commit.
    pub fn init(root: &Path, office: Office, options: Options, use_git: bool) -> Result<Store> {
        atomic::create_dirs(root)?;
        if use_git {
            git::init(root, &options.user)?;
        }
        let store = Store::new(root, office, options);
        let mut txn = store.begin()?;
        txn.put(Path::new(OFFICE_FILE), &store.office, Mode::CreateNew)?;
        txn.put_bytes(
            Path::new(".gitignore"),
            b"# Locks, the search index and caches: derived, disposable, never committed.\n.frontdesk/\n# Temporary files of interrupted writes (`frontdesk check --fix` removes them).\n.fdtmp*\n",
            Mode::CreateNew,
        )?;
        txn.commit("Create records tree.")?;
        Ok(store)
    }

    pub fn is_git(&self) -> bool {
        git::is_repo(self.root())
    }

    /// Takes the exclusive write lock, waiting up to `FRONTDESK_LOCK_TIMEOUT` seconds (default
    /// 30) for another command to finish.
    pub fn begin(&self) -> Result<Txn<'_>> {
        self.begin_within(lock_timeout())
    }

    /// Takes the write lock, waiting at most `wait` (zero: fail at once if it is held).
    pub fn begin_within(&self, wait: Duration) -> Result<Txn<'_>> {
        let (file, path) = self.lock_file()?;
        if !lock_waiting(&file, &path, wait)? {
            return Err(
                Error::conflict("the records are locked by another frontdesk command")
                    .hint("wait for it to finish and try again"),
            );
        }
        LockHolder::write(&file);
        self.tree.set_holds_lock(true);
        self.recover_once();
        if let Err(e) = self.start_journal() {
            self.tree.set_holds_lock(false);
            return Err(e);
        }
        Ok(Txn {
            store: self,
            _lock: file,
            written: Vec::new(),
            created: Vec::new(),
            bulk: false,
            patient_keys: Vec::new(),
            clean_note: clean_note::Tracker::start(self, self.is_git()),
            dated_ids: DatedIds::default(),
        })
    }

    /// Folds git's small index when it has grown ([`git::tidy_index`]), holding the write
    /// lock so that no command commits meanwhile (they wait, as for any write). None when the
    /// tree keeps no history.
    pub fn tidy_history(&self) -> Result<Option<git::Tidied>> {
        if !self.keeps_history() {
            return Ok(None);
        }
        let _held = self.begin()?;
        git::tidy_index(self.root(), &self.options.user).map(Some)
    }

    /// True when writes are journaled and committed: a git tree without `--no-commit`.
    fn keeps_history(&self) -> bool {
        *self
            .keeps_history
            .get_or_init(|| self.options.commit && self.is_git())
    }

    /// Under the lock, once per process: commits what killed commands left uncommitted and
    /// removes their temp files and git's stale lock. A failure is a warning: this command's
    /// own commit then reports whether git works.
    fn recover_once(&self) {
        if !self.keeps_history() || self.recovered.swap(true, Ordering::SeqCst) {
            return;
        }
        match journal::recover(self.root(), &self.options.user) {
            Ok(r) if !r.committed.is_empty() => eprintln!(
                "frontdesk: note: committed {} left uncommitted by an interrupted command",
                journal::id_list(&r.committed)
            ),
            Ok(_) => {}
            Err(e) => {
                eprintln!(
                    "frontdesk: warning: could not recover what an interrupted command left: {}",
                    e.message
                );
                if let Some(h) = &e.hint {
                    eprintln!("  hint: {h}");
                }
            }
        }
    }

    /// Notes paths about to be written, when this tree keeps a history.
    pub(crate) fn journal(&self, rels: &[&Path]) -> Result<()> {
        self.with_journal(|j| j.note(self.root(), rels))
    }

    /// This process's journal exists from the moment it holds the write lock (see
    /// [`journal::Journal::start`]), so the next writer sweeps the temp files a kill left.
    fn start_journal(&self) -> Result<()> {
        self.with_journal(|j| j.start(self.root()))
    }

    /// `f` on this process's journal, in a tree that keeps one.
    fn with_journal(&self, f: impl FnOnce(&mut journal::Journal) -> Result<()>) -> Result<()> {
        if !self.keeps_history() {
            return Ok(());
        }
        let mut journal = self
            .journal
            .lock()
            .map_err(|_| Error::internal("the journal's lock was poisoned"))?;
        f(&mut journal)
    }

    // ---- paths ----

    pub fn patient_rel(id: &Id) -> PathBuf {
        crate::disk::layout::patient_rel(id)
    }

    pub fn payer_rel(key: &str) -> Result<PathBuf> {
        check_payer_key(key)?;
        Ok(PathBuf::from("payers").join(format!("{key}.toml")))
    }

    // ---- reads ----

    pub fn load_patient(&self, id: &Id) -> Result<Patient> {
        let path = self.path(&Self::patient_rel(id));
        if !path.is_file() {
            return Err(Error::not_found(format!("no patient {id}"))
                .hint("find the ID with `frontdesk patient find NAME`"));
        }
        let p: Patient = read_toml(&path)?;
        // Saving goes by the ID inside, so a file whose ID was changed by hand (or by a bad
        // merge) would be written to another path: refuse it.
        if p.id != *id {
            return Err(Error::user(format!(
                "{}: the id inside is {}, not {id}",
                path.display(),
                p.id
            ))
            .hint("put the file's own ID back in its id line (`git checkout` it), then run the command again"));
        }
        Ok(p)
    }

    pub fn load_payer(&self, key: &str) -> Result<Payer> {
        let path = self.path(&Self::payer_rel(key)?);
        if !path.is_file() {
            return Err(
                Error::user("no such payer").hint(crate::domain::suggest::hint(
                    key,
                    "payer",
                    &self.keys_in("payers"),
                    "frontdesk payer add",
                )),
            );
        }
        read_toml(&path)
    }

    /// The keys of the records in a folder of named records (`providers`, `rooms`, `payers`),
    /// from their file names, sorted: for "did you mean" hints.
    pub fn keys_in(&self, folder: &str) -> Vec<String> {
        let mut keys: Vec<String> = files_with_ext(&self.path(Path::new(folder)), "toml")
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        keys.sort();
        keys
    }

    pub fn payers(&self) -> Result<Vec<Payer>> {
        let mut out = Vec::new();
        for path in files_with_ext(&self.path(Path::new("payers")), "toml")? {
            out.push(read_toml::<Payer>(&path)?);
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Every patient file, in a stable order (sorted by path).
    pub fn patient_files(&self) -> Result<Vec<PathBuf>> {
        index::patient_files(self)
    }

    pub fn patients(&self) -> Result<Vec<Patient>> {
        self.patient_files()?.iter().map(|p| read_toml(p)).collect()
    }
}

/// A write transaction: holds the lock until dropped; `commit` records it in git.
pub struct Txn<'s> {
    store: &'s Store,
    _lock: File,
    written: Vec<PathBuf>,
    /// Those of `written` created by this transaction (no-clobber): the ones written through
    /// to the day-folder caches (see [`Txn::record`]).
    created: Vec<PathBuf>,
    /// Set by `put_bulk`: the batch is synced once, not file by file.
    bulk: bool,
    /// Duplicate-guard keys of the patients saved, added to the index when the lock is released.
    patient_keys: Vec<(u64, String)>,
    /// Moves `check`'s note of a clean tree along with this transaction's commit; None when
    /// there is no note, or a write went around it (the next `check` then asks git).
    clean_note: Option<clean_note::Tracker>,
    /// The dated IDs in use, read once per transaction (see [`Txn::refuse_dated_id_in_use`]).
    dated_ids: DatedIds,
}

/// What a transaction knows of the IDs dated records use: the records of each kind it has
/// added, and each kind's index, validated against the day folders when the transaction adds
/// its second record of that kind (it holds the lock, so only a hand edit could change the
/// folders after that, and none is expected mid-command).
#[derive(Default)]
struct DatedIds {
    seen: Vec<(&'static str, schedule_index::Snapshot)>,
    added: Vec<(&'static str, Id, chrono::NaiveDate)>,
}

impl DatedIds {
    /// The records of one kind this transaction has added, as (ID, day).
    fn added(&self, name: &'static str) -> impl Iterator<Item = (&Id, chrono::NaiveDate)> {
        self.added
            .iter()
            .filter(move |(n, ..)| *n == name)
            .map(|(_, id, day)| (id, *day))
    }

    /// The kind's snapshot, taken the first time it is asked for.
    fn snapshot(
        &mut self,
        store: &Store,
        shelf: &'static schedule_index::Shelf,
    ) -> Result<&schedule_index::Snapshot> {
        let at = match self.seen.iter().position(|(n, _)| *n == shelf.name()) {
            Some(at) => at,
            None => {
                let snapshot = schedule_index::Snapshot::take(store, shelf)?;
                self.seen.push((shelf.name(), snapshot));
                self.seen.len() - 1
            }
        };
        Ok(&self.seen[at].1)
    }
}

impl Drop for Txn<'_> {
    fn drop(&mut self) {
        index::note_patient_keys(self.store, &self.patient_keys);
        self.store.tree.set_holds_lock(false);
    }
}

impl Txn<'_> {
    pub fn store(&self) -> &Store {
        self.store
    }

    /// Serialises `record` to TOML and writes it at `rel` atomically.
    pub fn put<T: Serialize>(&mut self, rel: &Path, record: &T, mode: Mode) -> Result<()> {
        let text = to_toml(record)?;
        self.put_bytes(rel, text.as_bytes(), mode)
    }

    pub fn put_bytes(&mut self, rel: &Path, bytes: &[u8], mode: Mode) -> Result<()> {
        debug_assert!(
            rel.is_relative()
                && !rel
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
        );
        if let Some(t) = &mut self.clean_note {
            t.before_write(self.store, rel);
        }
        self.store.journal(&[rel])?;
        atomic::write(&self.store.path(rel), bytes, mode)?;
        if let Some(t) = &mut self.clean_note {
            t.wrote(rel, bytes);
        }
        self.written.push(rel.to_path_buf());
        if mode == Mode::CreateNew {
            self.created.push(rel.to_path_buf());
        }
        Ok(())
    }

    /// Files are about to be written without [`Txn::put_bytes`]: `check`'s note of a clean
    /// tree is not moved along, so the next `check` asks git.
    fn write_untracked(&mut self) {
        self.clean_note = None;
    }

    pub fn save_patient(&mut self, p: &Patient, mode: Mode) -> Result<()> {
        self.put(&Store::patient_rel(&p.id), p, mode)?;
        self.note_patient(p);
        Ok(())
    }

    /// Remembers a saved patient's duplicate-guard key, added to the index when the
    /// transaction ends (one rewrite of the key file however many patients were saved).
    pub fn note_patient(&mut self, p: &Patient) {
        let key = index::key_hash(
            &crate::domain::search::fold(&p.family),
            &p.birth_date.to_string(),
        );
        self.patient_keys.push((key, p.id.to_string()));
    }

    pub fn written(&self) -> &[PathBuf] {
        &self.written
    }

    /// A new dated record (appointment, ledger entry) is filed under its day, so no-clobber
    /// creation only guards that one day: an ID drawn twice (40 random bits: about one
    /// collision per million records) could land in another day's folder. Refused before
    /// writing; running the command again draws a new ID. The kind's index, validated against
    /// the day folders (one `stat` per folder, re-reading folders that changed, files put there
    /// by hand included), answers: for the transaction's first record of a kind by searching
    /// its text ([`schedule_index::Shelf::other_day_holding`]); from the second on, by a binary
    /// search of a snapshot of its IDs taken once, so a 52-week series or a 20-row payment
    /// import costs about what two records do.
    pub fn refuse_dated_id_in_use(
        &mut self,
        shelf: &'static schedule_index::Shelf,
        id: &Id,
        day: chrono::NaiveDate,
    ) -> Result<()> {
        let name = shelf.name();
        if self
            .dated_ids
            .added(name)
            .any(|(other, d)| other == id && d == day)
        {
            return Ok(()); // checked before writing, as a batch is (see `save_appointment`)
        }
        let in_use = if self.dated_ids.added(name).next().is_none() {
            shelf.other_day_holding(self.store, id, day)?
        } else {
            let added = self
                .dated_ids
                .added(name)
                .find(|(other, _)| *other == id)
                .map(|(_, d)| d);
            let snapshot = self.dated_ids.snapshot(self.store, shelf)?;
            snapshot.day_of(self.store, id, day)?.or(added)
        };
        if let Some(other) = in_use {
            return Err(Error::conflict(format!(
                "the new record's ID {id} is already used by {}",
                (shelf.rel)(other, id).display()
            ))
            .hint("run the command again: it draws a new ID"));
        }
        self.dated_ids.added.push((name, id.clone(), day));
        Ok(())
    }

    /// Ends the transaction with one commit (when the tree is a git repository and commits are
    /// on). The files are already safely written when git runs; if git fails, the command
    /// fails (exit 4) naming the records, which are safe on disk and stay in this process's
    /// journal, so the next command commits them (a retry would add them twice).
    pub fn commit(mut self, message: &str) -> Result<()> {
        self.record(message)
    }

    /// [`Txn::commit`], with `alongside` run on another thread meanwhile: read-only work the
    /// command does after its write (the check-in's ledger read), done while git records the
    /// commit instead of after it. It runs under the lock, which is released when both are
    /// done, so it reads the records as this transaction leaves them.
    pub fn commit_alongside<R: Send>(
        mut self,
        message: &str,
        alongside: impl FnOnce() -> R + Send,
    ) -> (Result<()>, R) {
        std::thread::scope(|s| {
            let other = s.spawn(alongside);
            let committed = self.record(message);
            let read = other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (committed, read)
        })
    }

    fn record(&mut self, message: &str) -> Result<()> {
        let store = self.store;
        if self.bulk {
            bulk::sync_tree(store.root())?;
        }
        // The ledger's and the appointments' indexes told of the records created
        // (write-through), while git records them: the command after this one then finds them
        // current. Only new records: one rewritten (a check-in, a cancellation) keeps its
        // token, so all the next command has left to do is re-read its one changed file, less
        // than the writer would pay for it while git runs on the other core. Not a batch (an
        // import, the demo generator): its days would not fit the indexes' overlays, so the
        // next command reads them as it would have.
        let through = !self.bulk && derived::writes_through(&self.created);
        let (written, created) = (&self.written, &self.created);
        let clean_note = &mut self.clean_note;
        std::thread::scope(|s| {
            if through {
                s.spawn(|| derived::after_write(store, created));
            }
            record_in_history(store, written, clean_note, message)
        })
    }
}

/// The commit of a transaction's `written` files, when the tree keeps a history; `clean_note`
/// moved along with it.
fn record_in_history(
    store: &Store,
    written: &[PathBuf],
    clean_note: &mut Option<clean_note::Tracker>,
    message: &str,
) -> Result<()> {
    if !store.keeps_history() {
        return Ok(());
    }
    let result = if written.is_empty() {
        Ok(false)
    } else {
        git::commit(store.root(), &store.options.user, written, message)
    };
    match result {
        Ok(_) => {
            if let Some(t) = clean_note.take() {
                t.committed(store);
            }
            if let Ok(mut j) = store.journal.lock() {
                j.committed();
            }
            Ok(())
        }
        Err(e) => Err(Error::internal(format!(
            "{} saved, but not recorded in the history: {}",
            journal::id_list(written),
            e.message
        ))
        .hint("nothing needs doing again: the next frontdesk command that changes records commits it (or run `frontdesk check --fix` now)")),
    }
}

/// The staff member to name as author: `FRONTDESK_USER`, else `user` in `.frontdesk/config.toml`
/// (per workstation, not committed), else the OS user.
pub fn staff_user(root: &Path) -> String {
    let from_env = std::env::var("FRONTDESK_USER")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let from_config = || {
        let text = fs::read_to_string(root.join(STATE_DIR).join("config.toml")).ok()?;
        let table: toml::Table = toml::from_str(&text).ok()?;
        table.get("user")?.as_str().map(str::to_string)
    };
    let from_os = || {
        std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
    };
    let user = from_env
        .or_else(from_config)
        .or_else(from_os)
        .unwrap_or_else(|| "frontdesk".into());
    // A name goes into git headers: keep it to one printable line without angle brackets.
    let clean: String = user
        .chars()
        .filter(|c| !c.is_control() && *c != '<' && *c != '>')
        .take(64)
        .collect();
    if clean.trim().is_empty() {
        "frontdesk".into()
    } else {
        clean.trim().to_string()
    }
}

#[cfg(test)]
mod dated_id_tests {
    use super::*;
    use crate::domain::id::IdKind;
    use crate::domain::schedule::Appointment;

    /// A fresh records tree in `dir`, committing nothing.
    fn test_store(dir: &Path) -> Store {
        let office = Office::new("Test Clinic", "America/New_York").unwrap();
        let options = Options {
            user: "t".into(),
            commit: false,
        };
        Store::init(&dir.join("r"), office, options, false).unwrap()
    }

    #[test]
    fn a_new_appointment_whose_id_another_day_holds_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path());
        let (id, patient) = new_visit_ids();
        let visit = |day: u32| visit_on(&id, &patient, day);
        let mut txn = store.begin().unwrap();
        txn.save_appointment(&visit(1), Mode::CreateNew).unwrap();
        let err = txn
            .save_appointment(&visit(2), Mode::CreateNew)
            .unwrap_err();
        assert!(
            err.message.contains("is already used by"),
            "{}",
            err.message
        );
        assert!(
            !store
                .path(&Store::appointment_rel(visit(2).date(), &id))
                .exists()
        );
        // Rewriting the record on its own day is not a new record.
        txn.save_appointment(&visit(1), Mode::Replace).unwrap();
    }

    /// A year no command has indexed yet (a fresh clone) is looked through folder by folder:
    /// a file of the ID there, put by hand, holds the ID all the same.
    #[test]
    fn an_id_held_in_a_year_without_an_index_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path());
        let (id, patient) = new_visit_ids();
        for day in ["2024/02/29", "2025/03/04"] {
            let folder = store.path(Path::new(&format!("appointments/{day}")));
            fs::create_dir_all(&folder).unwrap();
            fs::write(folder.join("A0000000B.toml"), "").unwrap();
        }
        let held = store.path(Path::new(&format!("appointments/2025/03/04/{id}.toml")));
        fs::write(&held, "").unwrap();
        let visit = visit_on(&id, &patient, 1);
        let mut txn = store.begin().unwrap();
        let err = txn.save_appointment(&visit, Mode::CreateNew).unwrap_err();
        assert!(
            err.message.contains("appointments/2025/03/04/"),
            "{}",
            err.message
        );
        assert!(
            !store
                .path(&Store::appointment_rel(visit.date(), &id))
                .exists()
        );
        assert!(
            !store
                .path(Path::new(".frontdesk/index/appointments-2025.tsv"))
                .exists()
        );
    }

    /// A new appointment ID and a new patient ID.
    fn new_visit_ids() -> (Id, Id) {
        (
            Id::generate(IdKind::Appointment),
            Id::generate(IdKind::Patient),
        )
    }

    /// A visit with `id` at nine on `day` of December 2026.
    fn visit_on(id: &Id, patient: &Id, day: u32) -> Appointment {
        let start =
            chrono::DateTime::parse_from_rfc3339(&format!("2026-12-{day:02}T09:00:00-05:00"))
                .unwrap();
        let end = start + chrono::Duration::minutes(15);
        Appointment::booked(id.clone(), patient.clone(), "dr-a", "follow-up", start, end)
    }

    /// A fresh records tree in `dir` with one visit booked on December 1st: (store, visit,
    /// patient).
    fn with_a_visit(dir: &Path) -> (Store, Id, Id) {
        let store = test_store(dir);
        let (id, patient) = new_visit_ids();
        let mut txn = store.begin().unwrap();
        txn.save_appointment(&visit_on(&id, &patient, 1), Mode::CreateNew)
            .unwrap();
        txn.commit("Book.").unwrap();
        (store, id, patient)
    }

    #[test]
    fn an_appointment_is_looked_for_first_on_its_likely_day() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, patient) = with_a_visit(dir.path());
        // A copy filed by hand under the 3rd (which `check` reports): the index finds the 1st,
        // the look at the likely day the 3rd.
        let mut txn = store.begin().unwrap();
        let copy = visit_on(&id, &patient, 3);
        txn.put(
            &Store::appointment_rel(copy.date(), &id),
            &copy,
            Mode::CreateNew,
        )
        .unwrap();
        drop(txn);
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        assert_eq!(store.load_appointment(&id).unwrap().date(), day(1));
        let likely = |d| {
            store
                .load_appointment_likely_on(&id, day(d))
                .unwrap()
                .date()
        };
        assert_eq!(likely(3), day(3));
        // Not there: the index finds it, as without a likely day.
        assert_eq!(likely(2), day(1));
        // The file on the likely day must still be the record its name says.
        let other = visit_on(&Id::generate(IdKind::Appointment), &patient, 3);
        let misnamed = store.path(&Store::appointment_rel(day(3), &other.id));
        fs::copy(store.path(&Store::appointment_rel(day(3), &id)), &misnamed).unwrap();
        let err = store
            .load_appointment_likely_on(&other.id, day(3))
            .unwrap_err();
        assert!(
            err.message.contains("does not match its name"),
            "{}",
            err.message
        );
    }

    /// A writer killed after it took the lock and before its first record (refreshing a cache,
    /// say) must leave a journal, or the next writer would not sweep the temp files it left.
    #[test]
    fn a_writer_is_journaled_from_the_moment_it_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let office = Office::new("Test Clinic", "America/New_York").unwrap();
        let options = Options {
            user: "t".into(),
            commit: true,
        };
        let root = dir.path().join("r");
        let journal = root.join(format!(".frontdesk/journal/{}", std::process::id()));
        let store = Store::init(&root, office, options.clone(), true).unwrap();
        drop(store);
        assert!(!journal.exists(), "a clean end leaves no journal");
        let store = Store::open(&root, options).unwrap();
        let txn = store.begin().unwrap();
        assert!(journal.exists());
        drop(txn);
        drop(store);
        assert!(!journal.exists(), "a clean end leaves no journal");
    }

    #[test]
    fn work_alongside_a_commit_runs_under_the_lock_and_sees_the_write() {
        let dir = tempfile::tempdir().unwrap();
        let (store, first, patient) = with_a_visit(dir.path());
        let second = Id::generate(IdKind::Appointment);
        let mut txn = store.begin().unwrap();
        txn.save_appointment(&visit_on(&second, &patient, 2), Mode::CreateNew)
            .unwrap();
        let (committed, (held, read)) = txn.commit_alongside("Book.", || {
            let read = |id| store.load_appointment(id).map(|a| a.id);
            (store.holds_lock(), [read(&first), read(&second)])
        });
        committed.unwrap();
        assert!(held, "the work alongside ran without the lock");
        assert_eq!(read.map(Result::unwrap), [first, second]);
        // Both done, the lock is free again.
        assert!(!store.holds_lock());
        assert!(store.try_lock().unwrap().is_some());
    }
}
