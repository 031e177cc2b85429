//! The rules `frontdesk check` applies, as pure functions over what the store reader found:
//! one file's facts (its ID, where it lies, what it refers to, what it books) and the running
//! tally across files (duplicate IDs, dangling references, overlapping bookings).
//!
//! Messages name files, fields and IDs, never record values: a problem report is printed,
//! logged and pasted into tickets, so it must never carry protected health information.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use rayon::slice::ParallelSliceMut;
use serde::Serialize;

use crate::domain::id::Id;

/// One thing wrong in the records tree, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Path relative to the records tree.
    pub file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub what: String,
    /// The next step for a person.
    pub todo: String,
    /// Set when `check --fix` may repair it without judgement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// The file cannot be read at all (it does not parse, or holds conflict markers): every
    /// command that needs the record refuses until a person repairs it.
    #[serde(skip)]
    pub unreadable: bool,
}

/// A repair that loses nothing: it can be applied without asking anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fix {
    /// Delete a leftover temporary file of an interrupted write.
    RemoveTemp,
    /// Delete git's `index.lock` left by an interrupted git command.
    RemoveGitLock,
    /// Take group and other permissions away (files 0600, directories 0700).
    Tighten,
    /// Commit a sound record file left uncommitted by a command killed before its commit.
    Commit,
}

impl Problem {
    pub fn new(file: impl Into<PathBuf>, what: impl Into<String>, todo: impl Into<String>) -> Self {
        Problem {
            file: file.into(),
            line: None,
            what: what.into(),
            todo: todo.into(),
            fix: None,
            unreadable: false,
        }
    }
    pub fn line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }
    pub fn unreadable(mut self) -> Self {
        self.unreadable = true;
        self
    }
    pub fn fixable(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }
}

/// What other records a record names; each must exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Patient,
    Provider,
    Payer,
    Room,
    AppointmentType,
    /// A patient chart merged into another (`patient merge`): still on file, but nothing new
    /// should name it.
    MergedPatient,
    /// A file the correspondence keeps exactly as it was sent (a letter, a run's statements or
    /// their table), beside the record that names it: keyed `NAME:SHA1`, and looked for in
    /// the record's own day folder only (see [`Tally::end_day`]).
    KeptCopy,
}

impl Target {
    fn noun(self) -> &'static str {
        match self {
            Target::Patient | Target::MergedPatient => "patient",
            Target::Provider => "provider",
            Target::Payer => "payer",
            Target::Room => "room",
            Target::AppointmentType => "appointment type",
            Target::KeptCopy => "kept copy",
        }
    }
}

/// A time one provider is booked (cancelled and no-show appointments book nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub provider: String,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
}

/// What the checker needs from one parsed, validated record.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The record's ID, for records that have one (payers and providers have keys instead).
    pub id: Option<Id>,
    /// The keys other records use to name this one (`aetna-ppo`, `okafor`, or the ID).
    pub keys: Vec<(Target, String)>,
    /// Where the record must lie, relative to the tree, given its content.
    pub expected: Option<PathBuf>,
    /// (field, target, key) for every reference.
    pub refs: Vec<(&'static str, Target, String)>,
    pub booking: Option<Booking>,
}

/// Checks that a record lies where its ID (or key) and dates say it must.
pub fn location(rel: &Path, facts: &Facts) -> Option<Problem> {
    let expected = facts.expected.as_ref()?;
    if expected == rel {
        return None;
    }
    let what = if rel.file_name() != expected.file_name() {
        "the file name does not match the record's id".to_string()
    } else {
        "the record is in the wrong folder for its id or date".to_string()
    };
    Some(Problem::new(
        rel,
        what,
        format!(
            "move it to {} with `git mv` (or fix the id inside if the name is right)",
            expected.display()
        ),
    ))
}

/// The 1-based line of the first git conflict marker, if any.
pub fn conflict_marker(bytes: &[u8]) -> Option<usize> {
    let mut line = 1;
    let mut at_start = true;
    for (i, b) in bytes.iter().enumerate() {
        if at_start {
            let rest = &bytes[i..];
            if rest.starts_with(b"<<<<<<<")
                || rest.starts_with(b">>>>>>>")
                || rest.starts_with(b"|||||||")
                || (rest.starts_with(b"=======")
                    && rest.get(7).is_none_or(|c| *c == b'\n' || *c == b'\r'))
            {
                return Some(line);
            }
        }
        at_start = *b == b'\n';
        if at_start {
            line += 1;
        }
    }
    None
}

/// Group or other permission bits on something that may hold patient data.
pub fn too_open(mode: u32) -> bool {
    mode & 0o077 != 0
}

/// The schema rule: a record written by a newer frontdesk must not be rewritten by this one.
pub fn schema(rel: &Path, found: u32, known: u32) -> Option<Problem> {
    if found == 0 || found > known {
        return Some(Problem::new(
            rel,
            format!("schema {found} is not one this version reads (it reads up to {known})"),
            "upgrade frontdesk on this machine, or restore the file from git",
        ));
    }
    None
}

/// An ID packed into 8 bytes, so a million of them fit in a few megabytes.
fn pack(id: &Id) -> u64 {
    pack_str(id.as_str()).expect("a checked ID packs")
}

/// A string of at most 10 characters from `0` to `Z` packed 6 bits a character; None for
/// anything else. Every character packs to at least 1, so [`unpack`] knows where it starts.
pub fn pack_str(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, b| {
        (b'0'..=b'Z')
            .contains(&b)
            .then(|| (acc << 6) | u64::from(b - b'0' + 1))
    })
}

/// The string [`pack_str`] packed.
pub fn unpack(mut v: u64) -> String {
    let mut out = Vec::with_capacity(10);
    while v != 0 {
        out.push((v & 63) as u8 + b'0' - 1);
        v >>= 6;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A quick hash for the keys records name (millions of lookups per `check`; the keys come
/// from the office's own files, so SipHash's flooding defence buys nothing here).
#[derive(Default, Clone, Copy)]
pub struct FastHash(u64);

impl Hasher for FastHash {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FastSet<T> = HashSet<T, BuildHasherDefault<FastHash>>;

/// The running state across files: what has been seen, what is still owed.
#[derive(Default)]
pub struct Tally {
    /// Every ID seen, packed, in walk order (8 bytes each: 2.8 million fit in 22 MB, where a
    /// map took 60-100 MB); duplicates are found by sorting a copy at the end.
    ids: Vec<u64>,
    /// The folder of each run of `ids`: (index of its first ID, folder).
    dirs: Vec<(u32, PathBuf)>,
    /// IDs whose file is not named `<ID>.toml`: (index, path).
    odd_names: Vec<(u32, PathBuf)>,
    /// (index of an ID, `problems.len()` when it was seen), whenever that count moved: where
    /// a duplicate found at the end goes in the report, so it reads as if found at once.
    marks: Vec<(u32, u32)>,
    keys: HashMap<Target, FastSet<String>>,
    /// References to kinds not yet read, checked at the end.
    deferred: Vec<(PathBuf, &'static str, Target, String)>,
    /// Targets whose every record has been read: references to them are checked at once.
    complete: HashSet<Target>,
    day: Vec<(PathBuf, Booking)>,
    /// The day's kept copies (name → path, SHA-1) and the records' claims on them (record,
    /// name, SHA-1 it was sent with), matched when the day ends.
    day_copies: HashMap<String, (PathBuf, String)>,
    day_claims: Vec<(PathBuf, String, String)>,
    pub problems: Vec<Problem>,
}

impl Tally {
    /// Notes that every record of `target` kind has now been read.
    pub fn complete(&mut self, target: Target) {
        self.complete.insert(target);
    }

    /// Adds one record's facts, reporting a duplicate ID or a dangling reference at once.
    pub fn add(&mut self, rel: &Path, facts: Facts) {
        if let Some(id) = &facts.id {
            self.note_id(rel, id);
        }
        for (target, key) in facts.keys {
            if target == Target::KeptCopy {
                if let Some((name, sha1)) = key.rsplit_once(':') {
                    let copy = (rel.to_path_buf(), sha1.to_string());
                    self.day_copies.insert(name.to_string(), copy);
                }
                continue;
            }
            self.keys.entry(target).or_default().insert(key);
        }
        for (field, target, key) in facts.refs {
            if target == Target::KeptCopy {
                if let Some((name, sha1)) = key.rsplit_once(':') {
                    let claim = (rel.to_path_buf(), name.to_string(), sha1.to_string());
                    self.day_claims.push(claim);
                }
            } else if self.complete.contains(&target) {
                self.check_ref(rel, field, target, &key);
            } else {
                self.deferred.push((rel.to_path_buf(), field, target, key));
            }
        }
        if let Some(b) = facts.booking {
            self.day.push((rel.to_path_buf(), b));
        }
    }

    fn note_id(&mut self, rel: &Path, id: &Id) {
        let index = self.ids.len() as u32;
        let dir = rel.parent().unwrap_or(Path::new(""));
        // Compared as bytes: comparing paths parses them into components, once per record.
        let same_dir = self
            .dirs
            .last()
            .is_some_and(|(_, last)| last.as_os_str().as_bytes() == dir.as_os_str().as_bytes());
        if !same_dir {
            self.dirs.push((index, dir.to_path_buf()));
        }
        let named = rel.file_name().is_some_and(|n| {
            let n = n.as_bytes();
            n.len() == id.as_str().len() + 5
                && n.starts_with(id.as_str().as_bytes())
                && n.ends_with(b".toml")
        });
        if !named {
            self.odd_names.push((index, rel.to_path_buf()));
        }
        let seen = self.problems.len() as u32;
        if self.marks.last().map_or(0, |m| m.1) != seen {
            self.marks.push((index, seen));
        }
        self.ids.push(pack(id));
    }

    /// The file of the `i`th ID.
    fn file_of(&self, i: u32) -> PathBuf {
        match self.odd_names.binary_search_by_key(&i, |o| o.0) {
            Ok(at) => self.odd_names[at].1.clone(),
            Err(_) => self.named_file(i),
        }
    }

    /// Where the `i`th ID's file would be if named for it: `<its folder>/<ID>.toml`.
    fn named_file(&self, i: u32) -> PathBuf {
        let dir = self.dirs.partition_point(|d| d.0 <= i).saturating_sub(1);
        let id = unpack(self.ids[i as usize]);
        self.dirs
            .get(dir)
            .map_or_else(PathBuf::new, |d| d.1.clone())
            .join(format!("{id}.toml"))
    }

    /// Reports every ID held by more than one file, at the later file, naming the one before
    /// it, in the place of the report where it was seen.
    fn duplicate_ids(&mut self) {
        let mut sorted = self.ids.clone();
        sorted.par_sort_unstable();
        let mut twice: HashSet<u64> = sorted
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        drop(sorted);
        if twice.is_empty() {
            return;
        }
        let mut last: HashMap<u64, u32> = HashMap::new();
        let mut found = Vec::new();
        for (i, packed) in self.ids.iter().enumerate() {
            if !twice.contains(packed) {
                continue;
            }
            if let Some(before) = last.insert(*packed, i as u32) {
                found.push((i as u32, before));
            }
        }
        twice.clear();
        let found: Vec<(usize, Problem)> = found
            .into_iter()
            .map(|(i, before)| {
                let id = unpack(self.ids[i as usize]);
                let at = self.marks.partition_point(|m| m.0 <= i);
                let at = at.checked_sub(1).map_or(0, |m| self.marks[m].1) as usize;
                let p = Problem::new(
                    self.file_of(i),
                    format!("id {id} is also used by {}", self.named_file(before).display()),
                    "two files hold one record (often the same record moved at two sites): keep the right one and `git rm` the other",
                );
                (at, p)
            })
            .collect();
        let mut found = found.into_iter().peekable();
        let mut out = Vec::with_capacity(self.problems.len() + found.len());
        for (at, p) in std::mem::take(&mut self.problems).into_iter().enumerate() {
            while let Some((_, dup)) = found.next_if(|f| f.0 <= at) {
                out.push(dup);
            }
            out.push(p);
        }
        out.extend(found.map(|f| f.1));
        self.problems = out;
    }

    fn check_ref(&mut self, rel: &Path, field: &str, target: Target, key: &str) {
        let known = self.keys.get(&target).is_some_and(|k| k.contains(key));
        if known {
            return;
        }
        let merged_chart = target == Target::Patient
            && self
                .keys
                .get(&Target::MergedPatient)
                .is_some_and(|k| k.contains(key));
        // `patient merge` moves appointments, communications and waitlist entries; ledger
        // entries and letters already sent keep the old chart's ID by design.
        let movable = ["appointments", "communications", "waitlist"]
            .iter()
            .any(|top| rel.starts_with(top));
        if merged_chart && movable {
            self.problems.push(Problem::new(
                rel,
                format!("{field} names patient {key}, whose chart was merged into another"),
                format!("point it at the kept chart (`frontdesk patient show {key}` names it)"),
            ));
        } else if !merged_chart {
            let noun = target.noun();
            self.problems.push(Problem::new(
                rel,
                format!("{field} names {noun} {key}, which does not exist"),
                format!("add the {noun}, or correct {field} (a merge may have brought this record before its {noun})"),
            ));
        }
    }

    /// Ends a group of files that share a day (one day folder): reports every pair of
    /// bookings of one provider that overlap and every kept copy that is not as its record
    /// says it was sent, then forgets the day.
    pub fn end_day(&mut self) {
        self.match_kept_copies();
        let mut day = std::mem::take(&mut self.day);
        day.sort_by(|a, b| (&a.1.provider, a.1.start).cmp(&(&b.1.provider, b.1.start)));
        for (i, (rel, b)) in day.iter().enumerate() {
            for (other_rel, o) in &day[i + 1..] {
                if o.provider != b.provider || o.start >= b.end {
                    break;
                }
                self.problems.push(Problem::new(
                    rel,
                    format!(
                        "provider {} is double-booked {} to {} with {}",
                        b.provider,
                        o.start.format("%Y-%m-%d %H:%M"),
                        b.end.min(o.end).format("%H:%M"),
                        other_rel.display()
                    ),
                    "move or cancel one of the two appointments with `frontdesk schedule`",
                ));
            }
        }
    }

    /// Each record's kept copy must be in its day folder with the SHA-1 the record holds: a
    /// sent letter is evidence of what was sent. A copy no record names is left alone: a run
    /// killed between its renames leaves its statements so, and the next command commits
    /// them as recovered (docs/letters.md).
    fn match_kept_copies(&mut self) {
        let mut copies = std::mem::take(&mut self.day_copies);
        for (rel, name, sha1) in std::mem::take(&mut self.day_claims) {
            match copies.remove(&name) {
                None => self.problems.push(Problem::new(
                    &rel,
                    format!("the copy it kept as sent, {name}, is missing"),
                    "restore it with `git checkout` (it is evidence of what was sent)",
                )),
                Some((copy, found)) if found != sha1 => self.problems.push(Problem::new(
                    &copy,
                    format!(
                        "changed after it was sent: its SHA-1 no longer matches the one in {}",
                        rel.display()
                    ),
                    "restore it with `git checkout`, or see what changed with `frontdesk history` and `git log`",
                )),
                Some(_) => {}
            }
        }
    }

    /// Finishes the run: checks the references that waited for their targets.
    pub fn finish(mut self) -> Vec<Problem> {
        self.end_day();
        self.duplicate_ids();
        for (rel, field, target, key) in std::mem::take(&mut self.deferred) {
            self.check_ref(&rel, field, target, &key);
        }
        self.problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::id::IdKind;
    use chrono::{NaiveDate, TimeZone};

    fn at(h: u32, m: u32) -> DateTime<FixedOffset> {
        let local = NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap();
        FixedOffset::west_opt(5 * 3600)
            .unwrap()
            .from_local_datetime(&local)
            .unwrap()
    }

    fn booking(p: &str, start: DateTime<FixedOffset>, mins: i64) -> Facts {
        Facts {
            booking: Some(Booking {
                provider: p.into(),
                start,
                end: start + chrono::Duration::minutes(mins),
            }),
            ..Facts::default()
        }
    }

    #[test]
    fn conflict_markers_found_at_line_start_only() {
        assert_eq!(conflict_marker(b"a = 1\n<<<<<<< HEAD\n"), Some(2));
        assert_eq!(conflict_marker(b"a = 1\n=======\nb"), Some(2));
        assert_eq!(conflict_marker(b">>>>>>> theirs"), Some(1));
        assert_eq!(conflict_marker(b"note = \"<<<<<<< not at start\"\n"), None);
        assert_eq!(conflict_marker(b"a = \"========== heading\"\n"), None);
        assert_eq!(conflict_marker(b""), None);
    }

    #[test]
    fn duplicate_ids_name_both_files() {
        let id = Id::generate(IdKind::Appointment);
        let mut t = Tally::default();
        let facts = || Facts {
            id: Some(id.clone()),
            ..Facts::default()
        };
        t.add(
            Path::new(&format!("appointments/2026/12/01/{id}.toml")),
            facts(),
        );
        t.add(
            Path::new(&format!("appointments/2026/12/02/{id}.toml")),
            facts(),
        );
        let p = t.finish();
        assert_eq!(p.len(), 1);
        assert!(p[0].what.contains("2026/12/01"), "{}", p[0].what);
    }

    #[test]
    fn every_duplicate_is_reported_in_walk_order_naming_the_one_before() {
        let id = Id::parse("A7K3QX9M2").unwrap();
        let other = Id::parse("A7K3QX9M3").unwrap();
        let mut t = Tally::default();
        let facts = |id: &Id| Facts {
            id: Some(id.clone()),
            ..Facts::default()
        };
        t.add(Path::new("x/1/A7K3QX9M2.toml"), facts(&id));
        t.add(Path::new("x/1/A7K3QX9M3.toml"), facts(&other));
        t.problems.push(Problem::new("before", "a", "b"));
        t.add(Path::new("x/2/A7K3QX9M2.toml"), facts(&id));
        t.problems.push(Problem::new("between", "a", "b"));
        t.add(Path::new("x/3/odd.toml"), facts(&id));
        t.add(Path::new("x/3/A7K3QX9M3.toml"), facts(&other));
        let p = t.finish();
        let files: Vec<&str> = p.iter().map(|p| p.file.to_str().unwrap()).collect();
        assert_eq!(
            files,
            [
                "before",
                "x/2/A7K3QX9M2.toml",
                "between",
                "x/3/odd.toml",
                "x/3/A7K3QX9M3.toml"
            ]
        );
        assert!(p[1].what.ends_with("also used by x/1/A7K3QX9M2.toml"));
        assert!(p[3].what.ends_with("also used by x/2/A7K3QX9M2.toml"));
        assert!(p[4].what.ends_with("also used by x/1/A7K3QX9M3.toml"));
    }

    #[test]
    fn packed_strings_unpack() {
        for s in ["P7K3QX9M2", "A0000000000", "Z", "0"] {
            match pack_str(s) {
                Some(v) => assert_eq!(unpack(v), s),
                None => assert!(s.len() > 10),
            }
        }
        assert_eq!(pack_str("a-b"), None);
        assert_eq!(pack_str(""), None);
    }

    #[test]
    fn packed_ids_are_distinct() {
        let a = Id::parse("P7K3QX9M2").unwrap();
        let b = Id::parse("P7K3QX9M3").unwrap();
        let c = Id::parse("A7K3QX9M2").unwrap();
        assert_ne!(pack(&a), pack(&b));
        assert_ne!(pack(&a), pack(&c));
    }

    #[test]
    fn references_checked_now_or_at_the_end() {
        let mut t = Tally::default();
        let reffing = |key: &str| Facts {
            refs: vec![("patient", Target::Patient, key.into())],
            ..Facts::default()
        };
        // Read before the patients: deferred, then resolved.
        t.add(Path::new("ledger/a.toml"), reffing("P1111111"));
        t.add(
            Path::new("patients/11/P1111111.toml"),
            Facts {
                keys: vec![(Target::Patient, "P1111111".into())],
                ..Facts::default()
            },
        );
        t.complete(Target::Patient);
        t.add(Path::new("ledger/b.toml"), reffing("P2222222"));
        let p = t.finish();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].file, Path::new("ledger/b.toml"));
        assert!(p[0].what.contains("patient P2222222"));
    }

    #[test]
    fn overlapping_bookings_of_one_provider() {
        let mut t = Tally::default();
        t.add(Path::new("a1"), booking("okafor", at(9, 0), 30));
        t.add(Path::new("a2"), booking("okafor", at(9, 20), 20));
        t.add(Path::new("a3"), booking("okafor", at(9, 40), 20)); // touches a2's end: fine
        t.add(Path::new("a4"), booking("lee", at(9, 0), 60)); // another provider
        let p = t.finish();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].file, Path::new("a1"));
        assert!(p[0].what.contains("a2"));
    }

    #[test]
    fn location_and_schema_rules() {
        let facts = Facts {
            expected: Some(PathBuf::from("patients/7K/P7K3QX9M2.toml")),
            ..Facts::default()
        };
        assert!(location(Path::new("patients/7K/P7K3QX9M2.toml"), &facts).is_none());
        let p = location(Path::new("patients/7K/P7K3QX9M3.toml"), &facts).unwrap();
        assert!(p.what.contains("file name"));
        let p = location(Path::new("patients/AB/P7K3QX9M2.toml"), &facts).unwrap();
        assert!(p.what.contains("wrong folder"));
        assert!(schema(Path::new("x"), 1, 1).is_none());
        assert!(schema(Path::new("x"), 2, 1).is_some());
        assert!(too_open(0o644) && !too_open(0o600) && !too_open(0o700));
    }

    /// Each record's kept copy is matched in its own day: as sent, changed, gone; a copy no
    /// record names is left alone, and nothing carries over to the next day.
    #[test]
    fn kept_copies_are_matched_to_their_records_day_by_day() {
        let day = |d: &str, f: &str| PathBuf::from(format!("correspondence/2026/12/{d}/{f}"));
        let copy = |name: &str, sha1: &str| Facts {
            keys: vec![(Target::KeptCopy, format!("{name}:{sha1}"))],
            ..Facts::default()
        };
        let record = |name: &str, sha1: &str| Facts {
            refs: vec![("kept copy", Target::KeptCopy, format!("{name}:{sha1}"))],
            ..Facts::default()
        };
        let mut t = Tally::default();
        t.add(&day("01", "L1.toml"), record("L1.txt", "aa"));
        t.add(&day("01", "L1.txt"), copy("L1.txt", "aa"));
        t.add(&day("01", "L2.toml"), record("L2.html", "bb"));
        t.add(&day("01", "L2.html"), copy("L2.html", "cc"));
        t.add(&day("01", "L3.toml"), record("L3.txt", "dd"));
        t.add(&day("01", "L4.csv"), copy("L4.csv", "ee"));
        t.end_day();
        // The next day's record does not find the first day's copy.
        t.add(&day("02", "L4.toml"), record("L4.csv", "ee"));
        let found: Vec<(PathBuf, String)> =
            t.finish().into_iter().map(|p| (p.file, p.what)).collect();
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0].0, day("01", "L2.html"));
        assert!(found[0].1.contains("changed after it was sent"));
        assert_eq!(found[1].0, day("01", "L3.toml"));
        assert!(found[1].1.contains("L3.txt, is missing"));
        assert_eq!(found[2].0, day("02", "L4.toml"));
    }
}
