//! Where each kind of record lives in the tree: the folder names, the path of a record from
//! its ID (and day), and listing the files and day folders of a kind. Paths are only ever built
//! from checked IDs and keys, so nothing can escape the tree.

use std::ffi::CStr;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use super::Tree;
use crate::domain::id::Id;
use crate::error::{Error, IoContext, Result};

pub const LEDGER_DIR: &str = "ledger";
pub const SERVICES_FILE: &str = "services.toml";
pub const APPOINTMENT_TYPES_FILE: &str = "appointment-types.toml";
pub const APPOINTMENTS_DIR: &str = "appointments";
pub const COMMUNICATIONS_DIR: &str = "communications";
pub const RESOURCES_DIR: &str = "resources";
/// Letters and statement runs as sent, each record beside the files it kept
/// (`correspondence/YYYY/MM/DD/L….toml`, docs/letters.md).
pub const CORRESPONDENCE_DIR: &str = "correspondence";
/// Each payment's receipt as printed (`receipts/YYYY/MM/DD/T….txt`): not a record, but kept.
pub const RECEIPTS_DIR: &str = "receipts";

/// `patients/7K/P7K3QX9M.toml`: sharded by the two characters after the type letter.
pub fn patient_rel(id: &Id) -> PathBuf {
    PathBuf::from("patients")
        .join(id.shard())
        .join(format!("{id}.toml"))
}

/// `DIR/YYYY/MM/DD`: the folder of one office-local day of a date-sharded kind.
pub fn day_folder(dir: &str, date: NaiveDate) -> PathBuf {
    let mut s = String::with_capacity(dir.len() + 11);
    s.push_str(dir);
    s.push('/');
    push_date_folders(&mut s, date);
    PathBuf::from(s)
}

/// Appends `YYYY/MM/DD`, a day's folders under its kind's folder. Spelt by hand, not by
/// three formats and joins: the day caches build one per day folder (3,100 a kind at ten
/// years) on every command, and `format!` was most of the work.
pub(crate) fn push_date_folders(s: &mut String, date: NaiveDate) {
    let year = date.year();
    match u32::try_from(year) {
        Ok(y @ 1000..=9999) => {
            s.push_str(two_digits(y / 100));
            s.push_str(two_digits(y % 100));
        }
        _ => s.push_str(&format!("{year:04}")),
    }
    s.push('/');
    s.push_str(two_digits(date.month()));
    s.push('/');
    s.push_str(two_digits(date.day()));
}

/// `00` to `99`, each NUL-ended: a month's or a day's folder name, joined into a path
/// ([`two_digits`]) or looked up in its parent folder ([`two_digits_c`]), without `format!`.
const DIGIT_NAMES: [[u8; 3]; 100] = {
    let mut names = [[0; 3]; 100];
    let mut n = 0;
    while n < 100 {
        names[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8, 0];
        n += 1;
    }
    names
};

/// `00` to `99`: a month's or a day's folder name (`n` taken modulo 100).
pub(crate) fn two_digits(n: u32) -> &'static str {
    let name = &DIGIT_NAMES[(n % 100) as usize];
    std::str::from_utf8(&name[..2]).expect("two ASCII digits")
}

/// [`two_digits`] NUL-ended, to look a folder up by name relative to its parent (`statx`).
pub(crate) fn two_digits_c(n: u32) -> &'static CStr {
    CStr::from_bytes_with_nul(&DIGIT_NAMES[(n % 100) as usize]).expect("two digits and a NUL")
}

/// `appointments/YYYY/MM/DD`: one directory per office-local day.
pub fn appointment_day_rel(date: NaiveDate) -> PathBuf {
    day_folder(APPOINTMENTS_DIR, date)
}

pub fn appointment_rel(date: NaiveDate, id: &Id) -> PathBuf {
    appointment_day_rel(date).join(format!("{id}.toml"))
}

/// `ledger/2026/12/01`: the directory of one business day.
pub fn ledger_day_rel(date: NaiveDate) -> PathBuf {
    day_folder(LEDGER_DIR, date)
}

pub fn ledger_rel(date: NaiveDate, id: &Id) -> PathBuf {
    ledger_day_rel(date).join(format!("{id}.toml"))
}

/// The day and record ID of a dated kind's file from its path inside the kind's folder
/// (`2026/11/27/T….toml`, as [`ledger_rel`] files it, less `ledger/`); None for any other path.
pub fn filed_at(inner: &str) -> Option<(NaiveDate, &str)> {
    // `YYYY/MM/DD/`, read digit by digit: a statement run asks this of every entry twice.
    let fast = || {
        let [y0, y1, y2, y3, b'/', m0, m1, b'/', d0, d1, b'/', ..] = *inner.as_bytes() else {
            return None;
        };
        let n = |ds: &[u8]| -> Option<u32> {
            ds.iter().try_fold(0, |acc, d| {
                d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
            })
        };
        let year = n(&[y0, y1, y2, y3])? as i32;
        let day = NaiveDate::from_ymd_opt(year, n(&[m0, m1])?, n(&[d0, d1])?)?;
        Some((day, inner.get(11..)?))
    };
    if let Some((day, file)) = fast() {
        return Some((day, file.strip_suffix(".toml")?)).filter(|(_, id)| !id.contains('/'));
    }
    let mut parts = inner.rsplitn(4, '/');
    let (file, d, m, y) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let day = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    Some((day, file.strip_suffix(".toml")?))
}

/// `correspondence/2026/12/03/L….toml`: a letter's (or a statement run's) record.
pub fn letter_rel(date: NaiveDate, id: &Id) -> PathBuf {
    day_folder(CORRESPONDENCE_DIR, date).join(format!("{id}.toml"))
}

/// `communications/2026/12/01`: the folder of one day's contacts.
pub fn communication_day_rel(date: NaiveDate) -> PathBuf {
    day_folder(COMMUNICATIONS_DIR, date)
}

pub fn communication_rel(date: NaiveDate, id: &Id) -> PathBuf {
    communication_day_rel(date).join(format!("{id}.toml"))
}

pub fn is_record_file(path: &Path, ext: &str) -> bool {
    path.extension().is_some_and(|e| e == ext)
        && !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

pub fn files_with_ext(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(files);
    };
    for entry in rd {
        let entry = entry.at_path(dir, "list")?;
        if is_record_file(&entry.path(), ext) {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Day directories `DIR/YYYY/MM/DD` of one year of a date-sharded folder, in order.
pub fn day_dirs_in(tree: &Tree, dir: &str, year: i32) -> Result<Vec<(NaiveDate, PathBuf)>> {
    let ydir = tree.path(Path::new(dir)).join(format!("{year:04}"));
    let mut out = Vec::new();
    for month in sorted_numeric_dirs(&ydir)?.into_iter().filter(|m| *m <= 12) {
        let mdir = ydir.join(two_digits(month));
        for day in sorted_numeric_dirs(&mdir)? {
            if let Some(d) = NaiveDate::from_ymd_opt(year, month, day) {
                out.push((d, mdir.join(two_digits(day))));
            }
        }
    }
    Ok(out)
}

/// Years of a date-sharded folder (`appointments`, `ledger`), newest first.
pub fn years_in(tree: &Tree, dir: &str) -> Result<Vec<i32>> {
    let dir = tree.path(Path::new(dir));
    let mut ys: Vec<i32> = sorted_numeric_dirs(&dir)?
        .into_iter()
        .map(|y| y as i32)
        .collect();
    ys.reverse();
    Ok(ys)
}

/// Day and month folders (numbers of at most four digits), sorted; unreadable: none.
pub(crate) fn sorted_numeric_dirs(dir: &Path) -> Result<Vec<u32>> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.at_path(dir, "list")?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.bytes().all(|b| b.is_ascii_digit())
            && !name.is_empty()
            && name.len() <= 4
            && e.file_type().is_ok_and(|t| t.is_dir())
            && let Ok(n) = name.parse()
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Subdirectories whose names are numbers (years, months, days), sorted; others are ignored.
pub(crate) fn numeric_dirs(dir: &Path) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(dir, "list", e)),
    };
    for entry in rd {
        let entry = entry.at_path(dir, "list")?;
        let name = entry.file_name();
        if let Ok(n) = name.to_string_lossy().parse::<u32>()
            && entry.file_type().is_ok_and(|t| t.is_dir())
        {
            out.push(n);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_folder_is_spelt_as_format_spells_it() {
        for (y, m, d) in [
            (2026, 12, 5),
            (2024, 2, 29),
            (999, 1, 1),
            (0, 7, 4),
            (-5, 3, 9),
            (12345, 11, 30),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let expected = PathBuf::from(LEDGER_DIR)
                .join(format!("{:04}", date.year()))
                .join(format!("{:02}", date.month()))
                .join(format!("{:02}", date.day()));
            assert_eq!(day_folder(LEDGER_DIR, date), expected, "{date}");
        }
        for n in 0..100 {
            assert_eq!(two_digits(n), format!("{n:02}"));
            assert_eq!(two_digits_c(n).to_bytes(), format!("{n:02}").as_bytes());
        }
    }
}
