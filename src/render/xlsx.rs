//! Excel workbooks from the same `Table`/`Cell` values every listing prints.
//!
//! Cells keep their type: IDs, ZIP codes, phone numbers (E.164) and other codes are text (so `02139` keeps its zero
//! and a long member ID is not shown as `1.2E+10`), money is a number in a currency format
//! (credits negative, so a column sums), dates are real dates, counts are numbers. The header
//! row is bold and frozen. Written through `rust_xlsxwriter`, so Excel and LibreOffice open the
//! file without an import dialog.
//!
//! An amount reaches the workbook as a binary floating-point number because that is what the
//! file format stores; the decimal is exact up to that last step, and two-decimal amounts up to
//! tens of billions survive the round trip unchanged.

use chrono::Datelike;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook, Worksheet, XlsxError};

use crate::error::{Error, Result};
use crate::render::{Cell, Table};

/// One worksheet: its tab name and its rows.
pub struct Sheet<'a> {
    pub name: &'a str,
    pub table: &'a Table,
}

/// A workbook of one sheet per table, then an optional "about" sheet of key/value lines (a
/// report's reproducibility footer).
pub fn workbook(sheets: &[Sheet], about: &[(&str, String)]) -> Result<Vec<u8>> {
    build(sheets, about).map_err(|e| Error::internal(format!("cannot write the workbook: {e}")))
}

/// A single listing as a workbook.
pub fn table(table: &Table, name: &str) -> Result<Vec<u8>> {
    workbook(&[Sheet { name, table }], &[])
}

/// Writes a listing as a workbook to stdout; refused on a terminal, where the bytes would be
/// noise.
pub fn print(t: &Table) -> Result<()> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        return Err(Error::user("--format xlsx writes a binary workbook")
            .hint("add -o FILE.xlsx, or redirect the output to a file"));
    }
    to_stdout(&table(t, "listing")?)
}

/// Writes bytes (a workbook, or a report already rendered) to stdout; a closed pipe ends the
/// program quietly, as for every other output.
pub fn to_stdout(bytes: &[u8]) -> Result<()> {
    super::write_out(&mut std::io::stdout().lock(), bytes)
}

fn build(sheets: &[Sheet], about: &[(&str, String)]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let styles = Styles::new();
    let mut used: Vec<String> = Vec::new();
    for s in sheets {
        let ws = book.add_worksheet();
        ws.set_name(unique_name(&mut used, s.name))?;
        write_table(ws, s.table, &styles)?;
    }
    if !about.is_empty() {
        let ws = book.add_worksheet();
        ws.set_name(unique_name(&mut used, "about"))?;
        for (i, (k, v)) in about.iter().enumerate() {
            let r = i as u32;
            ws.write_string_with_format(r, 0, *k, &styles.header)?;
            ws.write_string(r, 1, v)?;
        }
        ws.set_column_width(0, 14)?;
        ws.set_column_width(1, 60)?;
    }
    book.save_to_buffer()
}

struct Styles {
    header: XFormat,
    text: XFormat,
    date: XFormat,
}

impl Styles {
    fn new() -> Styles {
        Styles {
            header: XFormat::new().set_bold(),
            // "@": the cell is text even if someone retypes it.
            text: XFormat::new().set_num_format("@"),
            date: XFormat::new().set_num_format("yyyy-mm-dd"),
        }
    }
}

fn write_table(ws: &mut Worksheet, t: &Table, st: &Styles) -> Result<(), XlsxError> {
    let mut widths: Vec<usize> = t.headers.iter().map(|h| h.len()).collect();
    for (c, h) in t.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &st.header)?;
    }
    // One currency format per column, from the first amount people would see in it.
    let money: Vec<Option<XFormat>> = (0..t.headers.len())
        .map(|c| {
            t.rows.iter().find_map(|r| match r.get(c) {
                Some(Cell::Money { shown, .. }) => Some(money_format(shown)),
                _ => None,
            })
        })
        .collect();
    for (i, row) in t.rows.iter().enumerate() {
        let r = i as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let col = c as u16;
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(cell.text().chars().count());
            }
            match cell {
                Cell::Money { amount, .. } => {
                    let f = money[c].as_ref().unwrap_or(&st.text);
                    ws.write_number_with_format(r, col, amount.to_f64().unwrap_or(0.0), f)?;
                }
                Cell::Count(n) => {
                    ws.write_number(r, col, *n as f64)?;
                }
                Cell::Number(s) => match s.parse::<f64>() {
                    Ok(n) if s.parse::<i64>().is_ok() => {
                        ws.write_number(r, col, n)?;
                    }
                    _ => {
                        ws.write_string(r, col, s)?;
                    }
                },
                Cell::Day { date, .. } => match excel_date(date) {
                    Some(d) => {
                        ws.write_datetime_with_format(r, col, &d, &st.date)?;
                    }
                    None => {
                        ws.write_string(r, col, date)?;
                    }
                },
                Cell::Code(s) | Cell::Phone { e164: s, .. } => {
                    ws.write_string_with_format(r, col, s, &st.text)?;
                }
                // Text is written as a string cell: Excel never evaluates a string cell as a
                // formula, so no neutralising is needed here (unlike CSV).
                Cell::Text(s) => {
                    if !s.is_empty() {
                        ws.write_string(r, col, s)?;
                    }
                }
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w as u32 + 2).min(60))?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn excel_date(iso: &str) -> Option<ExcelDateTime> {
    let d = chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d").ok()?;
    ExcelDateTime::from_ymd(
        u16::try_from(d.year()).ok()?,
        d.month() as u8,
        d.day() as u8,
    )
    .ok()
}

/// The number format for amounts shown like `shown` (`$1,025.50`, `40.00 EUR`, `$40.00 CR`):
/// the same symbol before or after, two decimals, thousands grouped, credits negative.
fn money_format(shown: &str) -> XFormat {
    let (prefix, suffix) = money_affixes(shown);
    let quote = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            format!("\"{}\"", s.replace('"', ""))
        }
    };
    let positive = format!("{}#,##0.00{}", quote(&prefix), quote(&suffix));
    XFormat::new().set_num_format(format!("{positive};-{positive}"))
}

/// What stands before and after the digits of an amount shown to people.
fn money_affixes(shown: &str) -> (String, String) {
    let s = shown.trim().trim_end_matches(" CR");
    let first = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
    let last = s
        .rfind(|c: char| c.is_ascii_digit())
        .map_or(s.len(), |i| i + 1);
    let prefix = s[..first].trim_start_matches('-').to_string();
    let suffix = s[last.max(first)..].to_string();
    (prefix, suffix)
}

/// A worksheet name Excel accepts (at most 31 characters, none of `[]:*?/\`), unique in the
/// workbook.
fn unique_name(used: &mut Vec<String>, want: &str) -> String {
    let clean: String = want
        .chars()
        .map(|c| if "[]:*?/\\'".contains(c) { '-' } else { c })
        .take(28)
        .collect();
    let clean = if clean.is_empty() {
        "sheet".to_string()
    } else {
        clean
    };
    let mut name = clean.clone();
    let mut n = 2;
    while used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
        name = format!("{clean}-{n}");
        n += 1;
    }
    used.push(name.clone());
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn money_affixes_come_from_what_people_see() {
        assert_eq!(money_affixes("$1,025.50"), ("$".into(), "".into()));
        assert_eq!(money_affixes("$40.00 CR"), ("$".into(), "".into()));
        assert_eq!(money_affixes("-$25.00"), ("$".into(), "".into()));
        assert_eq!(money_affixes("40.00 EUR"), ("".into(), " EUR".into()));
    }

    #[test]
    fn sheet_names_are_legal_and_unique() {
        let mut used = Vec::new();
        assert_eq!(unique_name(&mut used, "a/b"), "a-b");
        assert_eq!(unique_name(&mut used, "A-B"), "A-B-2");
        assert_eq!(unique_name(&mut used, ""), "sheet");
    }

    #[test]
    fn a_workbook_is_a_zip_with_typed_cells() {
        let mut t = Table::new(&["id", "zip", "owed", "on", "visits"]);
        t.push(vec![
            Cell::code("P123"),
            Cell::code("02139"),
            Cell::money(Decimal::new(-4000, 2), "USD"),
            Cell::day(chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()),
            Cell::count(3),
        ]);
        let bytes = table(&t, "patients").unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
