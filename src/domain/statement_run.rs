//! A statement run kept as one letter: the monthly `pay statement --all-due` mails tens of
//! thousands of statements, and keeping each as two files (record + letter) put 145,000 files
//! into one day's correspondence folder per month: a commit of minutes, and 8.6 million files
//! after ten years. A run is instead three files beside each other in
//! `correspondence/YYYY/MM/DD/`:
//!
//! - `L….toml`: the run's record ([`Run`]): template `statement`, channel, who ran it, when,
//!   and a `[statements]` table (how many, the total due, the output folder's name, the
//!   statement table's hash and size). Never a patient's name.
//! - `L….html` (or `.txt`): every statement exactly as mailed, concatenated in patient-ID
//!   order; the record holds its SHA-1.
//! - `L….csv`: the statement table, one row per statement, sorted by patient ID:
//!   `patient,due,sha1,offset,length` ([`Line`]): where that patient's statement lies in the
//!   kept bytes and its own SHA-1. Sorted rows let one patient's row be found by a binary
//!   search of a few reads ([`find_line`]), so "did we send her a statement in March?" reads
//!   a few blocks of each run, not the run's 72,000 rows.
//!
//! A statement in a run is addressed as `L…/P…` (the run and the patient). Pure: no disk.

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::id::Id;
use crate::domain::letter::Channel;
use crate::error::{Error, Result};

pub const SCHEMA: u32 = 1;

/// The statement table's header line.
pub const TABLE_HEADER: &str = "patient,due,sha1,offset,length";

/// The record of one statement run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub schema: u32,
    pub id: Id,
    /// `statement`.
    pub template: String,
    /// `html` or `txt`: the kept statements are `<id>.<format>` beside this record.
    pub format: String,
    pub channel: Channel,
    /// What selected the patients (`statements 2026-12-07`), as a letter batch says it.
    pub batch: String,
    /// SHA-1 of the kept statements file, hex.
    pub sha1: String,
    pub sent: DateTime<FixedOffset>,
    pub by: String,
    pub statements: Statements,
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// The `[statements]` table of a run's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statements {
    pub count: u64,
    /// The sum of the amounts due now on the statements.
    pub total_due: Decimal,
    /// The name of the folder the statements were written to (`mail`), not its whole path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    /// SHA-1 of the statement table (`<id>.csv`), hex, and its size in bytes: a table whose
    /// size moved is refused before it is searched.
    pub table_sha1: String,
    pub table_bytes: u64,
}

impl Run {
    /// The kept statements' file name, beside the record.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.id, self.format)
    }

    /// The statement table's file name, beside the record.
    pub fn table_name(&self) -> String {
        format!("{}.csv", self.id)
    }
}

/// What one record in the correspondence file is: one letter, or a statement run.
#[derive(Debug, Clone, PartialEq)]
pub enum Kept {
    Letter(crate::domain::letter::Letter),
    Run(Run),
}

impl Kept {
    pub fn id(&self) -> &Id {
        match self {
            Kept::Letter(l) => &l.id,
            Kept::Run(r) => &r.id,
        }
    }

    pub fn sent(&self) -> DateTime<FixedOffset> {
        match self {
            Kept::Letter(l) => l.sent,
            Kept::Run(r) => r.sent,
        }
    }
}

/// A run's record is told from a letter's by its `[statements]` table.
pub fn is_run_record(text: &[u8]) -> bool {
    text.split(|b| *b == b'\n')
        .any(|line| line.trim_ascii() == b"[statements]")
}

/// One row of the statement table: one patient's statement in the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub patient: Id,
    pub due: Decimal,
    /// SHA-1 of this statement's bytes, hex.
    pub sha1: String,
    /// Where the statement lies in the kept statements file.
    pub offset: u64,
    pub length: u64,
}

impl Line {
    /// `PA5NN9TM5,5.00,<sha1>,0,3187`
    pub fn to_row(&self) -> String {
        format!(
            "{},{},{},{},{}",
            self.patient, self.due, self.sha1, self.offset, self.length
        )
    }

    /// Reads a row of the table; an error names the row and the field, never a value.
    pub fn parse(row: &str, at: &str) -> Result<Line> {
        let fields: Vec<&str> = row.trim_end_matches('\r').split(',').collect();
        let bad = |field: &str| {
            Error::user(format!("{at}: the {field} field is not valid")).hint(
                "restore the statement table with `git checkout`: it is written once, by the run",
            )
        };
        if fields.len() != 5 {
            return Err(Error::user(format!(
                "{at}: {} fields where the statement table has 5 ({TABLE_HEADER})",
                fields.len()
            ))
            .hint(
                "restore the statement table with `git checkout`: it is written once, by the run",
            ));
        }
        let patient = Id::parse(fields[0]).map_err(|_| bad("patient"))?;
        let due = fields[1].parse::<Decimal>().map_err(|_| bad("due"))?;
        let sha1 = fields[2];
        if sha1.len() != 40 || !sha1.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("sha1"));
        }
        let offset = fields[3].parse().map_err(|_| bad("offset"))?;
        let length = fields[4].parse().map_err(|_| bad("length"))?;
        Ok(Line {
            patient,
            due,
            sha1: sha1.to_ascii_lowercase(),
            offset,
            length,
        })
    }
}

/// The statement table's text: the header, then one row per statement in patient-ID order
/// (the lines must be given in that order, as a run makes them).
pub fn table_text(lines: &[Line]) -> String {
    debug_assert!(lines.windows(2).all(|w| w[0].patient < w[1].patient));
    let mut out = String::with_capacity(TABLE_HEADER.len() + 1 + lines.len() * 80);
    out.push_str(TABLE_HEADER);
    out.push('\n');
    for l in lines {
        out.push_str(&l.to_row());
        out.push('\n');
    }
    out
}

/// Every row of a table read whole, checked to be in patient-ID order; `name` names the file
/// in errors.
pub fn parse_table(text: &str, name: &str) -> Result<Vec<Line>> {
    let mut rows = text.lines().enumerate();
    match rows.next() {
        Some((_, h)) if h.trim_end_matches('\r') == TABLE_HEADER => {}
        _ => {
            return Err(Error::user(format!(
                "{name}:1: the statement table does not start with its header ({TABLE_HEADER})"
            ))
            .hint(
                "restore the statement table with `git checkout`: it is written once, by the run",
            ));
        }
    }
    let mut out: Vec<Line> = Vec::new();
    for (i, row) in rows {
        let at = format!("{name}:{}", i + 1);
        let line = Line::parse(row, &at)?;
        if out.last().is_some_and(|last| last.patient >= line.patient) {
            return Err(Error::user(format!(
                "{at}: the rows are not in patient-ID order"
            ))
            .hint("restore the statement table with `git checkout`: it is written once, by the run"));
        }
        out.push(line);
    }
    Ok(out)
}

/// How many bytes one probe of [`find_line`] reads; a row is about 80.
const PROBE: usize = 512;

/// Finds the row of `patient` in a statement table of `len` bytes without reading it whole:
/// a binary search over byte positions (as `look(1)` does), each probe reading the first
/// whole row after a position. `read_at(offset, buf)` fills `buf` from `offset` and returns how
/// many bytes it read (0 at the end). About 2·log2(rows) small reads: 35 for 72,000 rows.
pub fn find_line<R>(len: u64, mut read_at: R, patient: &Id) -> Result<Option<String>>
where
    R: FnMut(u64, &mut [u8]) -> Result<usize>,
{
    let key = patient.as_str().as_bytes();
    // The first row starts after the header.
    let Some((mut lo, _)) = row_after(&mut read_at, len, 0)? else {
        return Ok(None);
    };
    let mut hi = len;
    // Invariant: the patient's row, if there is one, starts in lo..=hi (lo a row's start).
    while hi - lo > PROBE as u64 {
        let mid = lo + (hi - lo) / 2;
        let Some((start, row)) = row_after(&mut read_at, len, mid)? else {
            hi = mid;
            continue;
        };
        if start >= hi {
            break; // one row spans the rest: read it below
        }
        if row_key(&row) < key {
            lo = start + row.len() as u64 + 1;
        } else {
            hi = start;
        }
    }
    // Read from lo to the end of the row starting at hi, and look at each row.
    let mut pos = lo;
    while pos < len && pos <= hi {
        let Some(row) = row_at(&mut read_at, len, pos)? else {
            break;
        };
        match row_key(&row).cmp(key) {
            std::cmp::Ordering::Equal => {
                return Ok(Some(String::from_utf8_lossy(&row).into_owned()));
            }
            std::cmp::Ordering::Greater => break,
            std::cmp::Ordering::Less => pos += row.len() as u64 + 1,
        }
    }
    Ok(None)
}

/// The patient field of a row.
fn row_key(row: &[u8]) -> &[u8] {
    row.split(|b| *b == b',').next().unwrap_or(row)
}

/// The first whole row that starts after position `pos` (the row holding byte `pos` is
/// skipped: from 0, the header): its start and its bytes without the newline. None past the
/// last row.
fn row_after<R>(read_at: &mut R, len: u64, pos: u64) -> Result<Option<(u64, Vec<u8>)>>
where
    R: FnMut(u64, &mut [u8]) -> Result<usize>,
{
    // The row holding pos ends at the first newline at or after pos.
    let mut at = pos;
    let mut buf = vec![0u8; PROBE];
    loop {
        if at >= len {
            return Ok(None);
        }
        let n = read_at(at, &mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(nl) = buf[..n].iter().position(|b| *b == b'\n') {
            let start = at + nl as u64 + 1;
            if start >= len {
                return Ok(None);
            }
            return Ok(row_at(read_at, len, start)?.map(|row| (start, row)));
        }
        at += n as u64;
    }
}

/// The row starting at `start`, without its newline; None at the end.
fn row_at<R>(read_at: &mut R, len: u64, start: u64) -> Result<Option<Vec<u8>>>
where
    R: FnMut(u64, &mut [u8]) -> Result<usize>,
{
    let mut row = Vec::new();
    let mut buf = vec![0u8; PROBE];
    let mut at = start;
    while at < len {
        let n = read_at(at, &mut buf)?;
        if n == 0 {
            break;
        }
        match buf[..n].iter().position(|b| *b == b'\n') {
            Some(nl) => {
                row.extend_from_slice(&buf[..nl]);
                return Ok(Some(row));
            }
            None => row.extend_from_slice(&buf[..n]),
        }
        at += n as u64;
    }
    Ok((!row.is_empty()).then_some(row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::id::IdKind;
    use rand::{Rng, SeedableRng};

    fn lines(n: usize, seed: u64) -> Vec<Line> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut ids: Vec<Id> = (0..n)
            .map(|_| Id::generate_with(IdKind::Patient, &mut rng))
            .collect();
        ids.sort();
        ids.dedup();
        let mut offset = 0;
        ids.into_iter()
            .map(|patient| {
                let length = rng.random_range(100..5000);
                let l = Line {
                    patient,
                    due: Decimal::new(rng.random_range(1..100_000), 2),
                    sha1: format!("{:040x}", rng.random::<u128>()),
                    offset,
                    length,
                };
                offset += length;
                l
            })
            .collect()
    }

    fn search(text: &str, id: &Id) -> Option<String> {
        let bytes = text.as_bytes();
        let mut reads = 0;
        let found = find_line(
            bytes.len() as u64,
            |at, buf| {
                reads += 1;
                let at = at as usize;
                let n = buf.len().min(bytes.len() - at);
                buf[..n].copy_from_slice(&bytes[at..at + n]);
                Ok(n)
            },
            id,
        )
        .unwrap();
        assert!(reads < 80, "{reads} reads");
        found
    }

    #[test]
    fn every_row_is_found_and_no_other() {
        for n in [0, 1, 2, 3, 7, 50, 1000] {
            let ls = lines(n, n as u64);
            let text = table_text(&ls);
            for l in &ls {
                assert_eq!(search(&text, &l.patient), Some(l.to_row()), "{n} rows");
            }
            let mut rng = rand::rngs::StdRng::seed_from_u64(99);
            for _ in 0..200 {
                let other = Id::generate_with(IdKind::Patient, &mut rng);
                let expected = ls.iter().find(|l| l.patient == other).map(|l| l.to_row());
                assert_eq!(search(&text, &other), expected);
            }
        }
    }

    #[test]
    fn ids_before_the_first_and_after_the_last_are_not_found() {
        let ls = lines(500, 5);
        let text = table_text(&ls);
        for probe in ["P00000000", "PZZZZZZZZ", "P00000", "PZZZZZZZZZ"] {
            let id = Id::parse(probe).unwrap();
            assert_eq!(search(&text, &id), None, "{probe}");
        }
    }

    #[test]
    fn rows_round_trip_and_the_table_parses_back() {
        let ls = lines(300, 7);
        let text = table_text(&ls);
        assert_eq!(parse_table(&text, "t.csv").unwrap(), ls);
        for l in &ls {
            assert_eq!(&Line::parse(&l.to_row(), "t.csv:2").unwrap(), l);
        }
    }

    #[test]
    fn a_damaged_table_names_the_row_and_field_and_no_value() {
        let ls = lines(3, 8);
        let mut text = table_text(&ls);
        let err = parse_table("patient,due\n", "t.csv").unwrap_err();
        assert!(err.message.contains("t.csv:1"), "{}", err.message);
        text = text.replacen(&ls[1].due.to_string(), "12x", 1);
        let err = parse_table(&text, "t.csv").unwrap_err();
        assert!(
            err.message.contains("t.csv:3: the due field"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("12x"));
        // Rows out of order are refused: a binary search could not find them.
        let mut swapped = ls.clone();
        swapped.swap(0, 2);
        let unsorted = format!(
            "{TABLE_HEADER}\n{}\n",
            swapped
                .iter()
                .map(Line::to_row)
                .collect::<Vec<_>>()
                .join("\n")
        );
        let err = parse_table(&unsorted, "t.csv").unwrap_err();
        assert!(err.message.contains("patient-ID order"), "{}", err.message);
    }

    #[test]
    fn a_run_record_round_trips_and_names_no_patient() {
        let run = Run {
            schema: SCHEMA,
            id: Id::parse("L16HH0CY8").unwrap(),
            template: "statement".into(),
            format: "html".into(),
            channel: Channel::Mail,
            batch: "statements 2026-12-07".into(),
            sha1: "a".repeat(40),
            sent: DateTime::parse_from_rfc3339("2026-12-07T09:00:00-05:00").unwrap(),
            by: "maria".into(),
            statements: Statements {
                count: 6,
                total_due: Decimal::new(13000, 2),
                output: "mail".into(),
                table_sha1: "b".repeat(40),
                table_bytes: 432,
            },
            extra: Default::default(),
        };
        let text = crate::text::to_toml(&run).unwrap();
        assert!(is_run_record(text.as_bytes()), "{text}");
        assert!(text.contains("total_due = \"130.00\""), "{text}");
        let back: Run =
            crate::text::parse_toml(std::path::Path::new("L16HH0CY8.toml"), text.as_bytes())
                .unwrap();
        assert_eq!(back, run);
        assert_eq!(run.file_name(), "L16HH0CY8.html");
        assert_eq!(run.table_name(), "L16HH0CY8.csv");
    }

    #[test]
    fn a_run_record_is_told_from_a_letter() {
        assert!(is_run_record(b"id = \"L1\"\n\n[statements]\ncount = 2\n"));
        assert!(!is_run_record(
            b"id = \"L1\"\nbatch = \"statements 2026-12-01\"\n"
        ));
    }
}
