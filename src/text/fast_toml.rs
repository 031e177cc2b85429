//! A fast reader for the plain TOML the tool itself writes, tried before the full parser.
//!
//! Full-history commands (`check`, `pay statement --all-due`) parse millions of small record
//! files, and the general TOML parser (spans, every syntax, then a float scan that may parse
//! again) was most of their CPU time. Record files written by `to_toml` use a tiny subset:
//! `key = value` lines whose values are basic strings without escapes, decimal integers,
//! booleans or one-line arrays of such strings, and `[table]` / `[[array]]` headers. This
//! module reads exactly that subset into a `toml::Table` and declines (returns None) at the
//! first thing outside it: an escape, a comment, a float, a quoted or dotted key, a redefined
//! key or table, CRLF line ends, unusual spacing. A declined file, and any file whose table
//! does not deserialize, goes through the full parser, which gives the file:line errors. So
//! every accepted file means exactly what the full parser would read from it (a test
//! compares both on generated trees), and no file is refused here that the full parser takes.

use toml::{Table, Value};

/// The table the full parser would build from `text`, when `text` is in the plain subset.
pub fn parse_plain(text: &str) -> Option<Table> {
    let mut root = Table::new();
    // Where key lines go: the path of headers, each step naming a table or the last element
    // of an array of tables.
    let mut current: Vec<String> = Vec::new();
    for line in text.split('\n') {
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            let path = header_path(name)?;
            let (last, parents) = path.split_last()?;
            let parent = table_at(&mut root, parents)?;
            match parent.get_mut(*last) {
                None => {
                    parent.insert(
                        last.to_string(),
                        Value::Array(vec![Value::Table(Table::new())]),
                    );
                }
                // Only arrays made by earlier `[[…]]` headers can grow: inline arrays here hold
                // strings, and an empty one cannot be told apart, so it is declined.
                Some(Value::Array(items))
                    if !items.is_empty() && items.iter().all(Value::is_table) =>
                {
                    items.push(Value::Table(Table::new()));
                }
                Some(_) => return None,
            }
            current = path.iter().map(|s| s.to_string()).collect();
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let path = header_path(name)?;
            let (last, parents) = path.split_last()?;
            let parent = table_at(&mut root, parents)?;
            if parent.contains_key(*last) {
                return None;
            }
            parent.insert(last.to_string(), Value::Table(Table::new()));
            current = path.iter().map(|s| s.to_string()).collect();
        } else {
            let (key, value) = line.split_once(" = ")?;
            if !is_bare_key(key) {
                return None;
            }
            let value = plain_value(value)?;
            let steps: Vec<&str> = current.iter().map(String::as_str).collect();
            let table = table_at(&mut root, &steps)?;
            if table.contains_key(key) {
                return None;
            }
            table.insert(key.to_string(), value);
        }
    }
    Some(root)
}

/// `insurance.verifications` → ["insurance", "verifications"]; bare keys only.
fn header_path(name: &str) -> Option<Vec<&str>> {
    let path: Vec<&str> = name.split('.').collect();
    path.iter().all(|k| is_bare_key(k)).then_some(path)
}

/// The table at `path`, stepping into the last element of arrays of tables. Every step must
/// exist already (the subset never defines a table implicitly).
fn table_at<'t>(root: &'t mut Table, path: &[&str]) -> Option<&'t mut Table> {
    let mut table = root;
    for step in path {
        table = match table.get_mut(*step)? {
            Value::Table(t) => t,
            Value::Array(items) => items.last_mut()?.as_table_mut()?,
            _ => return None,
        };
    }
    Some(table)
}

fn is_bare_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A string, integer, boolean or one-line array of strings, with nothing after it.
fn plain_value(v: &str) -> Option<Value> {
    match v {
        "true" => return Some(Value::Boolean(true)),
        "false" => return Some(Value::Boolean(false)),
        _ => {}
    }
    if let Some(inner) = v.strip_prefix('[') {
        let inner = inner.strip_suffix(']')?;
        if inner.is_empty() {
            return Some(Value::Array(Vec::new()));
        }
        let items: Option<Vec<Value>> = inner
            .split(", ")
            .map(|s| plain_string(s).map(Value::String))
            .collect();
        return items.map(Value::Array);
    }
    if v.starts_with('"') {
        return plain_string(v).map(Value::String);
    }
    plain_integer(v).map(Value::Integer)
}

/// `"text"` with no escapes, no quotes inside and no control characters but tab.
fn plain_string(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let plain = inner
        .chars()
        .all(|c| c != '"' && c != '\\' && (c == '\t' || !c.is_control()));
    plain.then(|| inner.to_string())
}

/// `0` or a decimal integer without sign, underscores or leading zeros, that fits an i64.
fn plain_integer(s: &str) -> Option<i64> {
    let digits = s.bytes().all(|b| b.is_ascii_digit());
    if !digits || s.is_empty() || (s.len() > 1 && s.starts_with('0')) || s.len() > 18 {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_full(text: &str) {
        let full: Table = toml::from_str(text).unwrap();
        assert_eq!(parse_plain(text), Some(full), "{text}");
    }

    #[test]
    fn reads_what_the_tool_writes_as_the_full_parser_does() {
        same_as_full("schema = 1\nid = \"T1\"\ncharges = [\"A\", \"B\"]\nnone = []\nok = true\n");
        same_as_full(
            "a = \"x\"\n\n[address]\nline1 = \"1 Main\"\n\n[[ins]]\nrank = 1\n\n[ins.sub]\nr = \"self\"\n\n[[ins.v]]\nat = \"t\"\n\n[[ins]]\nrank = 2\n\n[[ins.v]]\nat = \"u\"\n",
        );
        same_as_full("tab = \"a\tb\"\nuni = \"Zoë Ñ\"\nzero = 0\n");
    }

    #[test]
    fn declines_everything_outside_the_subset() {
        for text in [
            "a = 1.5\n",
            "a = 1e3\n",
            "a = -1\n",
            "a = 1_000\n",
            "a = 007\n",
            "a = \"x\\\"y\"\n",
            "a = 'lit'\n",
            "a = \"x\" # note\n",
            "# comment\na = 1\n",
            "a = \"x\"\r\n",
            "a=1\n",
            "\"q\" = 1\n",
            "a.b = 1\n",
            "a = 1\na = 2\n",
            "[t]\n[t]\n",
            "t = \"x\"\n[t]\n",
            "[a.b]\n",
            "x = []\n[[x]]\n",
            "x = [\"s\"]\n[[x]]\n",
            "[t]\n[[t]]\n",
            "a = [\"x\",\"y\"]\n",
            "a = [1, 2]\n",
            "a = \"\u{1}\"\n",
            "a = \"unterminated\n",
            "a = {b = 1}\n",
            "a = 1979-05-27\n",
            " a = 1\n",
        ] {
            assert_eq!(parse_plain(text), None, "{text:?}");
        }
    }
}
