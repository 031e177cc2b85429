//! Output: tables for people, CSV and JSON for scripts.
//!
//! One `Table` value serves every listing; its cells know whether they are numbers the tool
//! itself produced, so CSV export can neutralise formula-looking text (`=HYPERLINK(…)`) without
//! mangling a negative balance.

pub mod letters;
pub mod page;
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
    /// A phone number: people see `(617) 555-0101`, CSV and JSON get E.164 (`+16175550101`).
    Phone {
        shown: String,
        e164: String,
    },
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

    /// A stored (E.164) phone number, shown in the office's style.
    pub fn phone(e164: &str, calling_code: &str) -> Cell {
        Cell::Phone {
            shown: crate::domain::phone::display(e164, calling_code),
            e164: e164.to_string(),
        }
    }

    /// What people see (terminal tables, HTML).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Cell::Text(s) | Cell::Number(s) | Cell::Code(s) => s.into(),
            Cell::Day { shown, .. } | Cell::Money { shown, .. } | Cell::Phone { shown, .. } => {
                shown.into()
            }
            Cell::Count(n) => n.to_string().into(),
        }
    }

    /// What people see, taken out of the cell.
    fn into_text(self) -> String {
        match self {
            Cell::Text(s) | Cell::Number(s) | Cell::Code(s) => s,
            Cell::Day { shown, .. } | Cell::Money { shown, .. } | Cell::Phone { shown, .. } => {
                shown
            }
            Cell::Count(n) => n.to_string(),
        }
    }

    /// What scripts get (CSV, JSON), as text.
    fn data(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Cell::Day { date, .. } => date.into(),
            Cell::Money { amount, .. } => amount.to_string().into(),
            Cell::Phone { e164, .. } => e164.into(),
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
    /// the tool computed as they are, and (for spreadsheets) codes and phone numbers written
    /// so a spreadsheet keeps them as text.
    fn csv_field(&self, spreadsheet: bool) -> String {
        match self {
            Cell::Text(s) => neutralise_formula(s),
            Cell::Code(s) if spreadsheet && loses_in_a_spreadsheet(s) => as_text_formula(s),
            Cell::Phone { e164, .. } if spreadsheet && loses_in_a_spreadsheet(e164) => {
                as_text_formula(e164)
            }
            Cell::Code(s) => neutralise_formula(s),
            computed => computed.data().into_owned(),
        }
    }
}

/// A value a spreadsheet would read as a number and so change: a leading zero (`04271`), a
/// leading `+` (`+16175550101`), or more digits than a spreadsheet number keeps (member IDs).
fn loses_in_a_spreadsheet(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (s.starts_with('+') || s.starts_with('0') || digits.len() > 15)
}

/// `="04271"`: the one way a CSV cell stays text in Excel and LibreOffice's default import.
/// Only ever applied to digits (and a leading `+`), never to free text.
fn as_text_formula(s: &str) -> String {
    format!("=\"{s}\"")
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
        if format == Format::Table
            && let Some(col) = id_column(&self.headers)
        {
            return print_ids(col, self.rows.iter().cloned()).map(|_| ());
        }
        let mut out = io::stdout().lock();
        let text = match format {
            // An empty listing for a person is silence (the exit code says "nothing found");
            // CSV keeps its header so scripts see the columns.
            Format::Table if self.rows.is_empty() => String::new(),
            Format::Table => self.to_text(),
            Format::Csv => self.to_csv()?,
            Format::Html => self.to_html()?,
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

    /// A complete HTML page holding the table (see `page`), every cell escaped.
    pub fn to_html(&self) -> Result<String> {
        let (head, tail) = page::table_parts(&self.headers, self.rows.first().map(Vec::as_slice))?;
        let mut s = head;
        for r in &self.rows {
            s.push_str(&page::row(r));
        }
        if self.rows.is_empty() {
            s.push_str(&page::empty_row(self.headers.len()));
        }
        s.push_str(&tail);
        Ok(s)
    }

    pub fn to_csv(&self) -> Result<String> {
        let spreadsheet = csv_for_spreadsheets();
        let mut w = csv::Writer::from_writer(csv_start(spreadsheet));
        w.write_record(&self.headers).map_err(csv_err)?;
        for r in &self.rows {
            w.write_record(r.iter().map(|c| c.csv_field(spreadsheet)))
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

static CSV_FOR_SPREADSHEETS: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(true);

/// `--no-bom`: CSV for scripts (no byte-order mark, codes as they are). The default is CSV for
/// spreadsheets: a UTF-8 byte-order mark (so LibreOffice's and Excel's default import read
/// accents right) and codes kept as text (`="04271"`). See docs/output.md.
pub fn set_csv_for_spreadsheets(on: bool) {
    CSV_FOR_SPREADSHEETS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// What a CSV output starts with: the UTF-8 byte-order mark, for spreadsheets.
fn csv_start(spreadsheet: bool) -> Vec<u8> {
    if spreadsheet {
        "\u{feff}".as_bytes().to_vec()
    } else {
        Vec::new()
    }
}

pub fn csv_for_spreadsheets() -> bool {
    CSV_FOR_SPREADSHEETS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Spreadsheets run cells that start with `= + - @`, tab or CR/LF as formulas; a leading `'`
/// makes them text (OWASP's advice for CSV injection). A plain signed number (`-25.00`,
/// `+3`) is not a formula and is left alone.
pub fn neutralise_formula(s: &str) -> String {
    let signed_number = s.len() > 1 && s.starts_with(['+', '-']) && is_plain_number(&s[1..]);
    if s.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']) && !signed_number {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// `125`, `125.00`: digits with at most one decimal point inside.
fn is_plain_number(s: &str) -> bool {
    let mut parts = s.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
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
    crate::disk::atomic::write(path, text.as_bytes(), crate::disk::atomic::Mode::Replace)
}

/// Prints a record as JSON.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let mut s = serde_json::to_string_pretty(value).map_err(|e| Error::internal(e.to_string()))?;
    s.push('\n');
    write_out(&mut io::stdout().lock(), s.as_bytes())
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--quiet`: a listing for people prints only its records' IDs, one a line.
pub fn set_quiet(on: bool) {
    QUIET.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// The column `--quiet` prints: the first whose header names a record's ID.
fn id_column(headers: &[&str]) -> Option<usize> {
    if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    ["id", "appointment", "entry", "key", "patient"]
        .iter()
        .find_map(|want| headers.iter().position(|h| h == want))
}

/// The IDs in column `col` of each row (blank ones skipped), one a line. Returns whether there
/// was any row.
fn print_ids(col: usize, rows: impl Iterator<Item = Vec<Cell>>) -> Result<bool> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut any = false;
    for r in rows {
        any = true;
        if let Some(c) = r.get(col).filter(|c| !c.text().is_empty()) {
            io_result(writeln!(out, "{}", c.text()))?;
        }
    }
    io_result(out.flush())?;
    Ok(any)
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

/// One record for a person: aligned key/value lines, a complete HTML page, or for CSV a
/// `field,value` table (JSON is each record's own serialisation).
pub fn print_record(format: Format, pairs: &[(&str, String)]) -> Result<()> {
    match format {
        Format::Html => print(&page::record(pairs)?),
        Format::Csv | Format::Xlsx => {
            let mut t = Table::new(&["field", "value"]);
            for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
                t.push(vec![Cell::from(*k), Cell::from(v.as_str())]);
            }
            t.print(format)
        }
        _ => print(&key_values(pairs)),
    }
}

/// "1 appointment", "3 appointments": counts in messages read as English.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else if noun.ends_with('y') && !noun.ends_with("ay") {
        format!("{n} {}ies", &noun[..noun.len() - 1])
    } else {
        format!("{n} {noun}s")
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
        t.push(vec![Cell::from("+1 617 555"), Cell::from("-2.50")]);
        let csv = t.to_csv().unwrap();
        assert!(csv.contains("'-x,3"), "{csv}");
        assert!(
            csv.contains("'@SUM(A1),+1"),
            "a signed number is no formula: {csv}"
        );
        assert!(csv.contains("'+1 617 555,-2.50"), "{csv}");
        assert!(csv.contains("HYPERLINK"), "{csv}");
        assert!(csv.contains("\"'=HYPERLINK("), "{csv}");
    }

    #[test]
    fn a_day_shows_its_weekday_to_people_and_a_plain_date_to_scripts() {
        let mut t = Table::new(&["date", "slots"]);
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        t.push(vec![Cell::day(day), Cell::Number("4".into())]);
        assert!(t.text_for(false).contains("Mon 2026-11-30"));
        assert!(t.to_html().unwrap().contains("<td>Mon 2026-11-30</td>"));
        assert_eq!(t.to_csv().unwrap(), "\u{feff}date,slots\n2026-11-30,4\n");
        assert_eq!(
            t.to_json().unwrap().split_whitespace().collect::<String>(),
            r#"[{"date":"2026-11-30","slots":4}]"#
        );
    }

    #[test]
    fn money_codes_and_phones_keep_their_value_in_a_spreadsheet_and_for_scripts() {
        let mut t = Table::new(&["zip", "phone", "amount", "note"]);
        let credit = rust_decimal::Decimal::new(-4000, 2);
        t.push(vec![
            Cell::code("04271"),
            Cell::phone("+16175550903", "1"),
            Cell::money(credit, "USD"),
            Cell::from("+16175550903"),
        ]);
        assert_eq!(t.rows[0][2].text(), "$40.00 CR");
        let csv = t.to_csv().unwrap();
        assert!(
            csv.ends_with("\"=\"\"04271\"\"\",\"=\"\"+16175550903\"\"\",-40.00,+16175550903\n"),
            "{csv}"
        );
        set_csv_for_spreadsheets(false);
        let plain = t.to_csv().unwrap();
        set_csv_for_spreadsheets(true);
        assert_eq!(
            plain,
            "zip,phone,amount,note\n04271,+16175550903,-40.00,+16175550903\n"
        );
        let json = t.to_json().unwrap();
        assert!(json.contains("\"amount\": \"-40.00\""), "{json}");
        assert!(json.contains("\"phone\": \"+16175550903\""), "{json}");
    }

    #[test]
    fn tab_and_newline_starts_are_neutralised() {
        assert_eq!(neutralise_formula("\tx"), "'\tx");
        assert_eq!(neutralise_formula("\r\nx"), "'\r\nx");
        assert_eq!(neutralise_formula("Smith"), "Smith");
    }
}
