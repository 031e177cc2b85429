//! Output: tables for people, CSV and JSON for scripts.
//!
//! One `Table` value serves every listing; its cells know whether they are numbers the tool
//! itself produced, so CSV export can neutralise formula-looking text (`=HYPERLINK(…)`) without
//! mangling a negative balance.

mod stream;
pub mod templates;
pub mod xlsx;

pub use stream::print_rows;

use std::io::{self, IsTerminal, Write};

use comfy_table::{ContentArrangement, presets};
use serde::Serialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// Comma-separated values, formula cells neutralised.
    Csv,
    /// JSON for scripts.
    Json,
    /// An HTML page for printing (reports and statements; listings print an HTML table).
    Html,
    /// An Excel workbook (typed cells, frozen header): with `-o FILE.xlsx`, or into a pipe.
    Xlsx,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A value the tool computed (amount, count): safe to leave as is in CSV.
    Number(String),
    /// A date: shown to people with its weekday ("Mon 2026-11-30"), written to CSV and JSON as
    /// the plain date ("2026-11-30") that spreadsheets and scripts read, and that a command such
    /// as `schedule book --at` takes back.
    Day {
        shown: String,
        date: String,
    },
    /// Money: people see `$175.00` or `$40.00 CR`; CSV writes the plain number (`-40.00` for a
    /// credit) that a spreadsheet sums, and JSON the decimal string (`"-40.00"`), never a float.
    Money {
        shown: String,
        amount: rust_decimal::Decimal,
    },
    /// A count the tool computed: a JSON number, a plain CSV number.
    Count(i64),
    /// A code that only looks like a number (IDs, ZIP codes, payer IDs, member IDs): always
    /// text, so `04271` keeps its zero (see `docs/output.md`).
    Code(String),
}

impl Cell {
    pub fn day(date: chrono::NaiveDate) -> Cell {
        Cell::Day {
            shown: date.format("%a %Y-%m-%d").to_string(),
            date: date.to_string(),
        }
    }

    /// An amount in the office's currency, credits shown as `CR` to people.
    pub fn money(amount: rust_decimal::Decimal, currency: &str) -> Cell {
        Cell::Money {
            shown: crate::domain::money::with_credit(amount, currency),
            amount: crate::domain::money::cents(amount),
        }
    }

    /// An amount shown signed (`-$25.00`), for columns where a sign reads better than CR.
    pub fn signed_money(amount: rust_decimal::Decimal, currency: &str) -> Cell {
        Cell::Money {
            shown: crate::domain::money::display(amount, currency),
            amount: crate::domain::money::cents(amount),
        }
    }

    pub fn count(n: impl TryInto<i64>) -> Cell {
        Cell::Count(n.try_into().unwrap_or(i64::MAX))
    }

    pub fn code(s: impl Into<String>) -> Cell {
        Cell::Code(s.into())
    }

    /// What people see (terminal tables, HTML).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Cell::Text(s) | Cell::Number(s) | Cell::Code(s) => s.into(),
            Cell::Day { shown, .. } | Cell::Money { shown, .. } => shown.into(),
            Cell::Count(n) => n.to_string().into(),
        }
    }

    /// What people see, taken out of the cell.
    fn into_text(self) -> String {
        match self {
            Cell::Text(s) | Cell::Number(s) | Cell::Code(s) => s,
            Cell::Day { shown, .. } | Cell::Money { shown, .. } => shown,
            Cell::Count(n) => n.to_string(),
        }
    }

    /// What scripts get (CSV, JSON), as text.
    fn data(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Cell::Day { date, .. } => date.into(),
            Cell::Money { amount, .. } => amount.to_string().into(),
            other => other.text(),
        }
    }

    /// The JSON value: counts as numbers, money as decimal strings, the rest as strings.
    fn json(&self) -> serde_json::Value {
        match self {
            Cell::Count(n) => serde_json::Value::from(*n),
            Cell::Number(s) => match s.parse::<i64>() {
                Ok(n) => serde_json::Value::from(n),
                Err(_) => serde_json::Value::String(s.clone()),
            },
            other => serde_json::Value::String(other.data().into_owned()),
        }
    }

    /// The CSV field: record values with a formula's leading character neutralised, values
    /// the tool computed as they are.
    fn csv_field(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Code(s) => neutralise_formula(s),
            computed => computed.data().into_owned(),
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}
impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Cell {
        Cell::Text(s.unwrap_or_default())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.headers.len());
        self.rows.push(row);
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn print(&self, format: Format) -> Result<()> {
        let mut out = io::stdout().lock();
        let text = match format {
            // An empty listing for a person is silence (the exit code says "nothing found");
            // CSV keeps its header so scripts see the columns.
            Format::Table if self.rows.is_empty() => String::new(),
            Format::Table => self.to_text(),
            Format::Csv => self.to_csv()?,
            Format::Html => self.to_html(),
            Format::Json => self.to_json()?,
            Format::Xlsx => return xlsx::print(self),
        };
        write_out(&mut out, text.as_bytes())
    }

    pub fn to_text(&self) -> String {
        self.text_for(io::stdout().is_terminal())
    }

    /// The table laid out for a terminal (wrapped to its width) or for a pipe or file.
    fn text_for(&self, terminal: bool) -> String {
        let mut t = comfy_table::Table::new();
        t.load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Dynamic);
        if !terminal {
            t.force_no_tty();
        }
        if let Some((w, _)) = terminal_width() {
            t.set_width(w);
        }
        t.set_header(self.headers.iter().map(|h| h.to_uppercase()));
        for r in &self.rows {
            t.add_row(r.iter().map(|c| c.text().into_owned()));
        }
        let mut s = t.to_string();
        // comfy-table pads each line; trailing spaces only make diffs noisy.
        s = s
            .lines()
            .map(|l| l.trim_end())
            .collect::<Vec<_>>()
            .join("\n");
        s.push('\n');
        s
    }

    /// A JSON array of objects, one per row, keyed by the headers.
    pub fn to_json(&self) -> Result<String> {
        let keys: Vec<String> = self.headers.iter().map(|h| json_key(h)).collect();
        let rows: Vec<serde_json::Map<String, serde_json::Value>> =
            self.rows.iter().map(|r| json_row(&keys, r)).collect();
        let mut s =
            serde_json::to_string_pretty(&rows).map_err(|e| Error::internal(e.to_string()))?;
        s.push('\n');
        Ok(s)
    }

    /// A bare HTML table, every cell escaped.
    pub fn to_html(&self) -> String {
        let mut s = String::from("<table>\n<tr>");
        for h in &self.headers {
            s.push_str(&format!("<th>{}</th>", escape_html(h)));
        }
        s.push_str("</tr>\n");
        for r in &self.rows {
            s.push_str("<tr>");
            for c in r {
                s.push_str(&format!("<td>{}</td>", escape_html(&c.text())));
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</table>\n");
        s
    }

    pub fn to_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.headers).map_err(csv_err)?;
        for r in &self.rows {
            w.write_record(r.iter().map(Cell::csv_field))
                .map_err(csv_err)?;
        }
        let bytes = w.into_inner().map_err(|e| Error::internal(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| Error::internal(e.to_string()))
    }
}

fn csv_err(e: csv::Error) -> Error {
    Error::internal(format!("cannot write CSV: {e}"))
}

fn json_key(h: &str) -> String {
    h.to_lowercase().replace([' ', '-'], "_")
}

/// One row as a JSON object: header keys, every cell a string.
fn json_row(keys: &[String], row: &[Cell]) -> serde_json::Map<String, serde_json::Value> {
    keys.iter()
        .cloned()
        .zip(row.iter().map(Cell::json))
        .collect()
}

fn terminal_width() -> Option<(u16, u16)> {
    if !io::stdout().is_terminal() {
        return None;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .map(|w| (w, 0))
}

/// Spreadsheets run cells that start with `= + - @`, tab or CR/LF as formulas; a leading `'`
/// makes them text (OWASP's advice for CSV injection).
pub fn neutralise_formula(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes an output file the user asked for (`-o FILE`) atomically, private to the office
/// (0600), replacing what was there.
pub fn write_file(path: &std::path::Path, text: &str) -> Result<()> {
    crate::store::atomic::write(path, text.as_bytes(), crate::store::Mode::Replace)
}

/// Prints a record as JSON.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let mut s = serde_json::to_string_pretty(value).map_err(|e| Error::internal(e.to_string()))?;
    s.push('\n');
    write_out(&mut io::stdout().lock(), s.as_bytes())
}

/// Prints plain text to stdout.
pub fn print(text: &str) -> Result<()> {
    write_out(&mut io::stdout().lock(), text.as_bytes())
}

/// Writes to stdout; a closed pipe (`frontdesk … | head`) ends the program quietly.
fn write_out(out: &mut impl Write, bytes: &[u8]) -> Result<()> {
    io_result(out.write_all(bytes).and_then(|_| out.flush()))
}

/// The result of a write to stdout: a closed pipe ends the program quietly.
fn io_result(r: io::Result<()>) -> Result<()> {
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Error::internal(format!("cannot write output: {e}"))),
    }
}

/// Key/value lines for showing one record to a person.
pub fn key_values(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut s = String::new();
    for (k, v) in pairs {
        if v.is_empty() {
            continue;
        }
        let mut lines = v.lines();
        s.push_str(&format!("{k:<width$}  {}\n", lines.next().unwrap_or("")));
        for more in lines {
            s.push_str(&format!("{:<width$}  {more}\n", ""));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_but_numbers_are_not() {
        let mut t = Table::new(&["name", "balance"]);
        t.push(vec![
            Cell::from("=HYPERLINK(\"x\")"),
            Cell::Number("-25.00".into()),
        ]);
        t.push(vec![Cell::from("-x"), Cell::Number("3".into())]);
        t.push(vec![Cell::from("@SUM(A1)"), Cell::from("+1")]);
        let csv = t.to_csv().unwrap();
        assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\",-25.00"), "{csv}");
        assert!(csv.contains("'-x,3"));
        assert!(csv.contains("'@SUM(A1),'+1"));
    }

    #[test]
    fn a_day_shows_its_weekday_to_people_and_a_plain_date_to_scripts() {
        let mut t = Table::new(&["date", "slots"]);
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        t.push(vec![Cell::day(day), Cell::Number("4".into())]);
        assert!(t.text_for(false).contains("Mon 2026-11-30"));
        assert!(t.to_html().contains("<td>Mon 2026-11-30</td>"));
        assert_eq!(t.to_csv().unwrap(), "date,slots\n2026-11-30,4\n");
        assert_eq!(
            t.to_json().unwrap().split_whitespace().collect::<String>(),
            r#"[{"date":"2026-11-30","slots":4}]"#
        );
    }

    #[test]
    fn tab_and_newline_starts_are_neutralised() {
        assert_eq!(neutralise_formula("\tx"), "'\tx");
        assert_eq!(neutralise_formula("\r\nx"), "'\r\nx");
        assert_eq!(neutralise_formula("Smith"), "Smith");
    }
}
