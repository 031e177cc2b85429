//! The text of records: TOML in and out. Pure (bytes in, records out, no disk), so the domain
//! can parse what it is handed (a mapping file) and every room above reads records one way.
//!
//! Money is exact (no record field is a float), and errors name the file and line but never
//! quote the file's content.

pub mod fast_toml;

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result, scrub_quoted};

pub fn parse_toml<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        Error::user(format!("{}:{line}: not valid UTF-8 text", path.display()))
            .hint("save the file as UTF-8")
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Files as the tool writes them skip the full parser (and hold no floats by construction);
    // anything else, including a plain file that does not fit the record, is parsed in full.
    if let Some(table) = fast_toml::parse_plain(text)
        && let Ok(record) = toml::Value::Table(table).try_into()
    {
        return Ok(record);
    }
    refuse_floats(path, text)?;
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let place = match line {
            Some(l) => format!("{}:{l}", path.display()),
            None => path.display().to_string(),
        };
        Error::user(format!("{place}: {}", scrub_quoted(e.message())))
            .hint("fix the file by hand (or `git checkout` it), then run the command again")
    })
}

/// Money is exact: `copay_office = 25.10` typed by hand would be read as a binary float and
/// rounded. No record field is a float, so any bare number with a fraction or exponent is
/// refused, naming the line. A cheap scan of the text comes first; only a file with a line that
/// may hold a float is parsed a second time to be sure (strings and dates never count).
fn refuse_floats(path: &Path, text: &str) -> Result<()> {
    let suspects: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| line_may_hold_float(line))
        .map(|(i, _)| i + 1)
        .collect();
    if suspects.is_empty() {
        return Ok(());
    }
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(()); // the real parse reports the syntax error with its line
    };
    if !has_float(&toml::Value::Table(table)) {
        return Ok(());
    }
    let line = suspects[0];
    Err(Error::user(format!(
        "{}:{line}: a number with a decimal point or exponent; amounts are written as strings",
        path.display()
    ))
    .hint(
        "write money in quotes with two decimals, e.g. copay_office = \"25.10\", so it stays exact",
    ))
}

fn line_may_hold_float(line: &str) -> bool {
    let Some((_, value)) = line.split_once('=') else {
        return false;
    };
    let value = value.trim_start();
    let starts_numeric = value
        .starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-' || c == '[')
        || value.starts_with("inf")
        || value.starts_with("nan");
    starts_numeric && !value.starts_with('"') && value.contains(['.', 'e', 'E', 'i', 'n'])
}

fn has_float(value: &toml::Value) -> bool {
    match value {
        toml::Value::Float(_) => true,
        toml::Value::Array(items) => items.iter().any(has_float),
        toml::Value::Table(t) => t.values().any(has_float),
        _ => false,
    }
}

pub fn to_toml<T: Serialize>(record: &T) -> Result<String> {
    toml::to_string(record).map_err(|e| {
        Error::internal(format!(
            "cannot write record as TOML: {}",
            scrub_quoted(&e.to_string())
        ))
    })
}

#[cfg(test)]
mod float_tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Fee {
        #[allow(dead_code)]
        fee: rust_decimal::Decimal,
    }

    #[test]
    fn floats_are_refused_with_their_line() {
        let p = Path::new("services.toml");
        let err = parse_toml::<Fee>(p, b"# fee schedule\nfee = 25.10\n").unwrap_err();
        assert!(
            err.message
                .starts_with("services.toml:2: a number with a decimal point"),
            "{}",
            err.message
        );
        assert!(parse_toml::<Fee>(p, b"fee = 2.5e1\n").is_err());
        assert!(parse_toml::<Fee>(p, b"fee = \"25.10\"\n").is_ok());
    }

    #[test]
    fn strings_dates_and_integers_are_not_floats() {
        let text = "a = \"x.y@example.org\"\nb = 1980-04-02\nc = 2026-11-27T10:30:00.5-05:00\nd = 42\ne = -7\nf = [\"n.e\"]\n";
        let t: toml::Table = parse_toml(Path::new("x.toml"), text.as_bytes()).unwrap();
        assert_eq!(t.len(), 6);
    }
}
