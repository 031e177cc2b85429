//! The patient index: a disposable cache of what search and listings need from each patient
//! file, so `patient find` does not parse 100,000 TOML files.
//!
//! It lives in `.frontdesk/index/` (ignored by git) and is never the only copy of anything.
//! Each entry is validated against its file's path, size, modification time and change time
//! (the change time also moves when an edit puts the old modification time back). A file or
//! directory stamped at or after two seconds before the last scan began is looked at again
//! (git's racy-timestamp rule, with room for coarse file-system clocks), so an edit made just
//! after a rebuild is never missed. A missing, corrupt (checksum) or old-format index, or one
//! corrupt shard section, is rebuilt from the files.
//!
//! It is a declaration over the per-file cache engine (`file_cache.rs`, its many-section form
//! `file_cache/folders.rs`): [`Patients`] says which files are patients and what one gives (the
//! summary payload of `index_file`, [`encode_payload`]); the engine owns the file (a section
//! per shard folder), the stamps, the racy rule, rebuilding a damaged section, re-reading
//! stale files in parallel (an unreadable one is reported, never fatal to a search), and
//! writing only when something changed, only in a command that holds the records lock, so it
//! never races a writer. What stays here is the patient index's own logic: the queries over
//! the payload bytes (scored in place, [`DocRef`]), the warm search's test of a payload
//! ([`warm_matches`]: the engine visits an unchanged index a section at a time, reading the
//! few files changed since), and the duplicate guard's keys.
//!
//! Speed at 100,000 patients: docs/performance.md.
//!
//! Beside it, the duplicate guard's keys (`patient_keys.rs`): rewritten by a full refresh,
//! appended to for every patient the store saves.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::derived::file_cache::folders::{self, Folders, PerFolderFile};
use crate::derived::index_dir;
pub use crate::derived::index_file::{DocRef, PatientSummary};
use crate::derived::index_file::{MAGIC, encode_payload};
use crate::derived::patient_keys;
pub use crate::derived::patient_keys::key_hash;
use crate::disk::{Tree, is_record_file, read_toml};
use crate::domain::patient::Patient;
use crate::domain::search::{Query, Searchable, rank};
use crate::error::{Error, Result};

const FILE: &str = "patients.bin";
/// The JSON-lines index of earlier versions: removed when seen.
const OLD_FILE: &str = "patients.jsonl";

/// Result of bringing the index up to date, with every summary decoded.
pub struct Refreshed {
    /// One per readable patient file, in path order (the same with or without the index).
    pub summaries: Vec<PatientSummary>,
    /// Files that could not be read; reported, never fatal to a search.
    pub problems: Vec<Error>,
}

/// The patient index, up to date with the files: its bytes and where each readable patient's
/// entry lies in them. Search scores [`DocRef`]s borrowed from the bytes.
pub struct PatientIndex {
    bytes: Vec<u8>,
    /// Payloads of the readable patient files, in path order.
    payloads: Vec<Range<usize>>,
    /// Files that could not be read; reported, never fatal to a search.
    pub problems: Vec<Error>,
}

impl PatientIndex {
    /// Every readable patient, borrowed from the index bytes, in path order. None marks an
    /// entry that does not decode, which its checksum rules out (see [`malformed`]).
    pub fn docs(&self) -> impl IndexedParallelIterator<Item = Option<DocRef<'_>>> {
        self.payloads
            .par_iter()
            .map(|r| self.bytes.get(r.clone()).and_then(DocRef::parse))
    }

    pub fn len(&self) -> usize {
        self.payloads.len()
    }

    /// The `i`th readable patient in path order; None past the end or for an entry that
    /// does not decode (see [`malformed`]).
    pub fn doc(&self, i: usize) -> Option<DocRef<'_>> {
        let range = self.payloads.get(i)?.clone();
        self.bytes.get(range).and_then(DocRef::parse)
    }

    pub fn is_empty(&self) -> bool {
        self.payloads.is_empty()
    }

    /// Ranks the patients (active ones only, unless `all`) against a query, scoring the index
    /// bytes in place: best first, as [`rank`] orders them.
    pub fn search(&self, query: &Query, all: bool) -> Result<Vec<(u32, DocRef<'_>)>> {
        let bad = AtomicBool::new(false);
        let docs = self.docs().filter_map(|d| {
            if d.is_none() {
                bad.store(true, Ordering::Relaxed);
            }
            d.filter(|d| all || d.active())
        });
        let hits = rank(query, docs);
        if bad.load(Ordering::Relaxed) {
            return Err(malformed());
        }
        Ok(hits)
    }

    /// An index of these patients built in memory, without a disk: what benchmarks and tests
    /// of in-place scoring use.
    pub fn from_summaries(summaries: &[PatientSummary]) -> PatientIndex {
        PatientIndex::from_payloads(summaries.iter().map(encode_payload))
    }

    /// An index built in memory from encoded payloads ([`encode_payload`]), in this order.
    fn from_payloads(payloads: impl Iterator<Item = Vec<u8>>) -> PatientIndex {
        let (bytes, payloads) = folders::in_memory(MAGIC, payloads);
        PatientIndex {
            bytes,
            payloads,
            problems: Vec::new(),
        }
    }

    /// Every patient decoded into an owned summary, in path order.
    pub fn summaries(&self) -> Result<Vec<PatientSummary>> {
        self.docs()
            .map(|d| d.and_then(|d| d.summary()).ok_or_else(malformed))
            .collect()
    }
}

/// An entry that passed its checksum but does not decode: a bug, never bad input.
pub fn malformed() -> Error {
    Error::internal("the patient index holds an entry it cannot read")
        .hint("run `frontdesk index rebuild`")
}

/// Returns a summary of every patient (see [`open`]).
pub fn patient_summaries(store: &Tree) -> Result<Refreshed> {
    let index = open(store)?;
    Ok(Refreshed {
        summaries: index.summaries()?,
        problems: index.problems,
    })
}

/// Every patient file, in a stable order (sorted by path).
pub fn patient_files(tree: &Tree) -> Result<Vec<PathBuf>> {
    folders(tree).files()
}

/// The patients whose record carries desk flag `flag` (flags are not in the index), as an
/// index held in memory. Every record is read, in parallel; only the matches are kept, as
/// index entries rather than whole records. The first unreadable file (in path order) fails
/// the whole call, as reading every record one by one would.
pub fn flagged(store: &Tree, flag: &str) -> Result<PatientIndex> {
    let files = patient_files(store)?;
    let read: Vec<Result<Option<Vec<u8>>>> = files
        .par_iter()
        .map(|path| {
            let p: Patient = read_toml(path)?;
            let has = p.flags.iter().any(|f| f == flag);
            Ok(has.then(|| encode_payload(&PatientSummary::from_patient(&p))))
        })
        .collect();
    drop(files);
    let mut found = Vec::new();
    for r in read {
        found.extend(r?);
    }
    Ok(PatientIndex::from_payloads(found.into_iter()))
}

/// Brings the index up to date, reusing entries whose file is unchanged and re-reading the
/// rest. Saves the refreshed index when it changed and this process holds the write lock
/// (inside a `Txn`) or can take it right now; otherwise a writer is busy and the cache is left
/// for the next command.
pub fn open(store: &Tree) -> Result<PatientIndex> {
    if store.holds_lock() {
        return refresh(store, true);
    }
    let lock = store.try_lock()?;
    refresh(store, lock.is_some())
}

/// The declaration over the engine: the records are `patients/XY/P….toml`, each kept as the
/// summary payload search and listings read ([`encode_payload`]).
struct Patients;

impl PerFolderFile for Patients {
    fn magic(&self) -> &'static [u8; 8] {
        MAGIC
    }

    fn is_record(&self, name: &str) -> bool {
        is_record_file(Path::new(name), "toml")
    }

    fn extract(&self, path: &Path) -> Result<Vec<u8>> {
        read_toml::<Patient>(path).map(|p| encode_payload(&PatientSummary::from_patient(&p)))
    }
}

/// The patient index of `store` over the engine.
fn folders(store: &Tree) -> Folders<'static, Patients> {
    Folders {
        cache: &Patients,
        root: store.path(Path::new("patients")),
        file: index_dir(store).join(FILE),
    }
}

fn refresh(store: &Tree, may_save: bool) -> Result<PatientIndex> {
    let current = folders(store).refresh(may_save)?;
    let index = PatientIndex {
        bytes: current.bytes,
        payloads: current.payloads,
        problems: current.problems,
    };
    if current.saved {
        // A failure to write the keys only costs speed next time.
        let _ = save_keys(&index_dir(store), &index);
    }
    Ok(index)
}

/// The patients some part of `query` matches, read a shard section at a time from an index
/// that [`open`] would return as it is: the warm search without loading the whole file (whose
/// fresh pages cost more than the reading). None when anything calls for a refresh (no index,
/// a bad header or section, shards added or removed, a file unreadable, too many changed):
/// the caller then takes [`open`], which rebuilds what it must and reports unreadable files.
pub fn warm_matches(store: &Tree, query: &Query) -> Option<PatientIndex> {
    // Scored in place: only the hits are copied.
    let hits = folders(store).visit_warm(WARM_REREAD_LIMIT, |payload| {
        let hit = query.score(&DocRef::parse(payload)?).is_some();
        Some(hit.then(|| payload.to_vec()))
    })?;
    Some(PatientIndex::from_payloads(hits.into_iter()))
}

/// How many files the warm search reads itself before leaving the refresh to [`open`] (which
/// saves what it read, so edits made since the index was last saved do not pile up).
const WARM_REREAD_LIMIT: usize = 64;

/// The duplicate guard's keys of every patient in a freshly saved index; the JSON-lines index
/// of earlier versions goes.
fn save_keys(dir: &Path, index: &PatientIndex) -> Result<()> {
    let keys: Vec<(u64, String)> = index
        .docs()
        .filter_map(|d| {
            let d = d?;
            let key = key_hash(d.family()?, &d.birth_date().to_string());
            Some((key, d.id().to_string()))
        })
        .collect();
    patient_keys::save(dir, &keys)?;
    let _ = fs::remove_file(dir.join(OLD_FILE));
    Ok(())
}

/// Deletes the index; the next command rebuilds it.
pub fn remove(store: &Tree) -> Result<()> {
    let dir = index_dir(store);
    for name in [FILE, OLD_FILE].into_iter().chain(patient_keys::FILES) {
        super::remove_file(&dir.join(name))?;
    }
    Ok(())
}

/// Rebuilds the index from the files, under the write lock, and returns it (its length is
/// how many patients it holds; nothing is decoded, so memory does not grow with summaries).
pub fn rebuild(tree: &Tree) -> Result<PatientIndex> {
    debug_assert!(
        tree.holds_lock(),
        "the index is rebuilt inside a transaction"
    );
    remove(tree)?;
    open(tree)
}

// ---- the duplicate guard's keys ----

/// IDs of patients that may share this folded family name and birth date. Without a keys file
/// this refreshes the whole index once (which writes one). Callers confirm each candidate
/// against its record file.
pub fn duplicate_candidates(
    tree: &Tree,
    family_folded: &str,
    birth_date: &str,
) -> Result<Vec<String>> {
    debug_assert!(
        tree.holds_lock(),
        "duplicates are looked for inside a transaction"
    );
    let want = key_hash(family_folded, birth_date);
    if let Some(ids) = patient_keys::lookup(&index_dir(tree), want) {
        return Ok(ids);
    }
    Ok(patient_summaries(tree)?
        .summaries
        .into_iter()
        .filter(|s| s.family == family_folded && s.birth_date == birth_date)
        .map(|s| s.id)
        .collect())
}

/// Adds the keys of patients a transaction saved (called by the store under the lock, once
/// per commit).
pub(crate) fn note_patient_keys(store: &Tree, new: &[(u64, String)]) {
    patient_keys::note(&index_dir(store), new);
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate};

    use super::*;
    use crate::derived::file_cache::format::HEAD_START;
    use crate::derived::stamp::SETTLE_NS;
    use crate::domain::demo;
    use crate::domain::patient::Status;
    use crate::domain::search::SearchDoc;
    use crate::store::Store;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    /// `n` generated patients, every seventh inactive and every eleventh deceased.
    fn patients(n: u64) -> Vec<Patient> {
        let now = DateTime::parse_from_rfc3339("2026-11-27T09:00:00-05:00").unwrap();
        (0..n)
            .map(|n| {
                let mut p = demo::patient(7, n, now);
                if n % 7 == 0 {
                    p.status = Status::Inactive;
                } else if n % 11 == 0 {
                    p.status = Status::Deceased;
                }
                p
            })
            .collect()
    }

    /// 3,000 of them, as the index summarises them.
    fn summaries() -> Vec<PatientSummary> {
        patients(3000)
            .iter()
            .map(PatientSummary::from_patient)
            .collect()
    }

    /// Queries of every kind, made from the data so that each one finds someone: names (many
    /// ties), typos, birth dates in three formats, a birth year, phones, member and patient IDs.
    fn queries(all: &[PatientSummary]) -> Vec<String> {
        let mut q: Vec<String> = ["smith", "jo smi", "maria"].map(String::from).to_vec();
        for s in all.iter().step_by(379) {
            let family = &s.search.names[s.search.names.len() - 1];
            let mut typo: Vec<char> = family.chars().collect();
            if typo.len() >= 4 {
                typo.swap(1, 2);
                q.push(typo.iter().collect());
                q.push(typo[..typo.len() - 1].iter().collect());
            }
            let d = s.search.birth_date;
            q.push(d.format("%m/%d/%Y").to_string());
            q.push(format!("{family} {}", d.format("%Y-%m-%d")));
            q.push(d.format("%Y%m%d").to_string());
            q.push(format!("{} {}", s.search.names[0], d.format("%Y")));
            if let Some(phone) = s.search.phones.first() {
                q.push(phone.clone());
                q.push(phone[phone.len() - 4..].to_string());
            }
            q.extend(s.search.other_ids.first().cloned());
            q.push(s.id.to_lowercase());
        }
        q
    }

    #[test]
    fn scoring_the_index_bytes_ranks_exactly_as_the_owned_documents() {
        let all = summaries();
        let index = PatientIndex::from_summaries(&all);
        assert_eq!(index.summaries().unwrap(), all, "every entry decodes back");
        for text in queries(&all) {
            let query = Query::parse(&text, today());
            for everyone in [false, true] {
                let owned: Vec<&SearchDoc> = all
                    .iter()
                    .filter(|s| everyone || s.status == "active")
                    .map(|s| &s.search)
                    .collect();
                let want: Vec<(u32, &str)> = rank(&query, owned)
                    .into_iter()
                    .map(|(score, d)| (score, d.id.as_str()))
                    .collect();
                let hits = index.search(&query, everyone).unwrap();
                let got: Vec<(u32, &str)> = hits.iter().map(|(s, d)| (*s, d.id())).collect();
                assert!(!everyone || !want.is_empty(), "{text:?} finds someone");
                assert_eq!(got, want, "{text:?} (all: {everyone})");
            }
        }
    }

    /// A records tree (no git) holding these patients, and its store.
    fn store_of(patients: &[Patient]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let office = crate::domain::office::Office::new("Test", "America/New_York").unwrap();
        let options = crate::store::Options {
            user: "t".into(),
            commit: false,
        };
        let store = Store::init(&dir.path().join("r"), office, options, false).unwrap();
        let mut txn = store.begin().unwrap();
        let files = |n: u64| {
            let p = &patients[n as usize];
            let toml = crate::store::to_toml(p)?;
            Ok(vec![(Store::patient_rel(&p.id), toml.into_bytes())])
        };
        txn.put_bulk(patients.len() as u64, files, &|_| {}).unwrap();
        txn.commit("Add test patients.").unwrap();
        (dir, store)
    }

    /// Waits out the racy window of every file written so far, then refreshes each index, so
    /// that it is one a warm search may use.
    fn settle<'a>(stores: impl IntoIterator<Item = &'a Store>) {
        std::thread::sleep(std::time::Duration::from_millis(
            SETTLE_NS as u64 / 1_000_000 + 300,
        ));
        for store in stores {
            open(store).unwrap();
        }
    }

    #[test]
    fn the_warm_search_finds_what_the_full_refresh_finds_in_the_same_order() {
        let all = patients(1000);
        let (_dir, store) = store_of(&all);
        settle([&store]);
        let full = open(&store).unwrap();
        let summaries: Vec<PatientSummary> = all.iter().map(PatientSummary::from_patient).collect();
        let mut hits_seen = 0;
        for text in queries(&summaries) {
            let query = Query::parse(&text, today());
            let warm = warm_matches(&store, &query).expect("a settled index is searched warm");
            for everyone in [false, true] {
                let ids = |hits: Vec<(u32, DocRef)>| -> Vec<(u32, String)> {
                    hits.iter().map(|(s, d)| (*s, d.id().to_string())).collect()
                };
                let want = ids(full.search(&query, everyone).unwrap());
                hits_seen += want.len();
                assert_eq!(
                    ids(warm.search(&query, everyone).unwrap()),
                    want,
                    "{text:?}"
                );
            }
        }
        assert!(
            hits_seen > 200,
            "the queries find many patients: {hits_seen}"
        );
    }

    /// One way of changing the records or the index behind the tool's back.
    type Change = fn(&Store);

    fn first_file(store: &Store) -> PathBuf {
        store.patient_files().unwrap().remove(0)
    }

    fn edit_same_size_times_put_back(store: &Store) {
        let path = first_file(store);
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        let text = fs::read_to_string(&path).unwrap();
        fs::write(
            &path,
            text.replacen("given = \"", "given = \"Q", 1)
                .replacen("\n\n", "\n", 1),
        )
        .unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), text.len() as u64);
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(mtime).unwrap();
    }

    fn add_file_to_a_shard(store: &Store) {
        let path = first_file(store);
        fs::copy(&path, path.with_file_name("PZZZZZZZZ.toml")).unwrap();
    }

    fn remove_file(store: &Store) {
        fs::remove_file(first_file(store)).unwrap();
    }

    fn add_shard(store: &Store) {
        fs::create_dir(store.path(Path::new("patients/ZZ"))).unwrap();
    }

    fn remove_shard(store: &Store) {
        fs::remove_dir_all(first_file(store).parent().unwrap()).unwrap();
    }

    fn index_file(store: &Store) -> PathBuf {
        index_dir(store).join(FILE)
    }

    fn delete_index(store: &Store) {
        fs::remove_file(index_file(store)).unwrap();
    }

    fn flip_last_section_byte(store: &Store) {
        let mut bytes = fs::read(index_file(store)).unwrap();
        *bytes.last_mut().unwrap() ^= 0x20;
        fs::write(index_file(store), bytes).unwrap();
    }

    fn flip_header_byte(store: &Store) {
        let mut bytes = fs::read(index_file(store)).unwrap();
        bytes[HEAD_START + 9] ^= 0x20;
        fs::write(index_file(store), bytes).unwrap();
    }

    fn truncate_index(store: &Store) {
        let bytes = fs::read(index_file(store)).unwrap();
        fs::write(index_file(store), &bytes[..bytes.len() - 1]).unwrap();
    }

    /// Edited right before the index was saved: its stamps match, only the racy rule tells.
    fn edit_then_refresh_at_once(store: &Store) {
        let path = first_file(store);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replacen("given = \"", "given = \"Q", 1)).unwrap();
        open(store).unwrap();
    }

    /// The IDs a search finds, sorted.
    fn ids_found(index: &PatientIndex, query: &Query) -> Vec<String> {
        let mut ids: Vec<String> = index
            .search(query, true)
            .unwrap()
            .iter()
            .map(|(_, d)| d.id().to_string())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn any_change_behind_the_tools_back_is_seen_by_the_warm_search() {
        let changes: [(&str, Change); 10] = [
            ("same size, times put back", edit_same_size_times_put_back),
            ("file added to a shard", add_file_to_a_shard),
            ("file removed", remove_file),
            ("shard directory added", add_shard),
            ("shard directory removed", remove_shard),
            ("index deleted", delete_index),
            ("index section corrupted", flip_last_section_byte),
            ("index header corrupted", flip_header_byte),
            ("index truncated", truncate_index),
            (
                "edited right before the index was saved",
                edit_then_refresh_at_once,
            ),
        ];
        let all = patients(40);
        let stores: Vec<_> = (0..=changes.len()).map(|_| store_of(&all)).collect();
        // An unreadable file, indexed as such: every search must read it again and report it.
        let (_, unreadable) = &stores[changes.len()];
        fs::write(first_file(unreadable), "schema = 1\nid = [broken\n").unwrap();
        settle(stores.iter().map(|(_, s)| s));
        let query = Query::parse("a", today());
        for (_, store) in &stores[..changes.len()] {
            let warm = warm_matches(store, &query).expect("settled: searched warm");
            assert_eq!(
                warm.len(),
                open(store).unwrap().search(&query, true).unwrap().len()
            );
        }
        assert!(
            warm_matches(unreadable, &query).is_none(),
            "unreadable file"
        );
        // A changed file or shard is read by the warm search itself (what it finds is what a
        // refresh finds); a damaged or missing index turns it away to `open`.
        let index_damage = [
            "index deleted",
            "index section corrupted",
            "index header corrupted",
            "index truncated",
            "shard directory added",
            "shard directory removed",
        ];
        for ((what, change), (_, store)) in changes.iter().zip(&stores) {
            change(store);
            match warm_matches(store, &query) {
                Some(warm) => {
                    assert!(!index_damage.contains(what), "{what}: searched warm");
                    assert_eq!(
                        ids_found(&warm, &query),
                        ids_found(&open(store).unwrap(), &query),
                        "{what}"
                    );
                }
                None => assert!(index_damage.contains(what), "{what}: turned away"),
            }
        }
    }
}
