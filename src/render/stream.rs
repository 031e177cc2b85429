//! Listings too large to hold whole (100,000 patients): rows are made on demand and written as
//! they come, byte for byte what [`Table::print`] prints for the same rows.
//!
//! CSV, JSON and HTML take one pass. A table needs its column widths before its first line, so
//! it takes two: the widths, measured by comfy-table itself a piece at a time, then the lines,
//! each piece laid out by comfy-table with those widths fixed. A table for a terminal is left
//! to comfy-table whole, as before: it wraps columns to the terminal's width, which depends on
//! every cell.

use std::cell::RefCell;
use std::io::{self, BufWriter, IsTerminal, Write};

use comfy_table::{ColumnConstraint, Width, presets};
use serde::{Serialize, Serializer};

use super::{Cell, Format, Table, csv_err, io_result, json_key, json_row, page};
use crate::error::{Error, Result};

/// Rows laid out (or measured) per comfy-table: memory stays small, the widths stay exact.
const PIECE: usize = 1024;

/// Prints the rows `rows()` yields, as `Table::print` would print a table holding them all.
/// `rows` is called once per pass (twice for a table). Returns whether there was any row.
pub fn print_rows<I>(headers: &[&'static str], format: Format, rows: impl Fn() -> I) -> Result<bool>
where
    I: Iterator<Item = Vec<Cell>>,
{
    if format == Format::Table
        && let Some(col) = super::id_column(headers)
    {
        return super::print_ids(col, rows());
    }
    if format == Format::Table && io::stdout().is_terminal() {
        let mut t = Table::new(headers);
        rows().for_each(|r| t.push(r));
        t.print(format)?;
        return Ok(!t.is_empty());
    }
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let any = match format {
        Format::Table => write_table(&mut out, headers, &rows)?,
        Format::Csv => write_csv(&mut out, headers, rows())?,
        Format::Json => write_json(&mut out, headers, rows())?,
        Format::Html => write_html(&mut out, headers, rows())?,
        // A workbook is written whole.
        Format::Xlsx => {
            let mut t = Table::new(headers);
            rows().for_each(|r| t.push(r));
            t.print(format)?;
            !t.is_empty()
        }
    };
    io_result(out.flush())?;
    Ok(any)
}

/// The next `PIECE` rows; empty at the end.
fn piece(rows: &mut impl Iterator<Item = Vec<Cell>>) -> Vec<Vec<Cell>> {
    rows.by_ref().take(PIECE).collect()
}

/// A comfy-table as `Table::to_text` sets it up, holding these rows.
fn comfy(headers: Option<&[&'static str]>, rows: Vec<Vec<Cell>>) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(presets::NOTHING);
    if let Some(headers) = headers {
        t.set_header(headers.iter().map(|h| h.to_uppercase()));
    }
    for r in rows {
        t.add_row(r.into_iter().map(Cell::into_text));
    }
    t
}

fn write_table<I>(
    out: &mut impl Write,
    headers: &[&'static str],
    rows: &impl Fn() -> I,
) -> Result<bool>
where
    I: Iterator<Item = Vec<Cell>>,
{
    // Pass 1: each column's widest content, header included, as comfy-table measures it.
    let mut widths: Option<Vec<u16>> = None;
    let mut it = rows();
    loop {
        let p = piece(&mut it);
        if p.is_empty() {
            break;
        }
        let w = comfy(Some(headers), p).column_max_content_widths();
        widths = Some(match widths {
            None => w,
            Some(old) => old.into_iter().zip(w).map(|(a, b)| a.max(b)).collect(),
        });
    }
    // An empty listing for a person is silence, as `Table::print` has it.
    let Some(widths) = widths else {
        return Ok(false);
    };
    // Pass 2: every piece at those widths (plus comfy-table's padding of one space a side).
    let fixed: Vec<ColumnConstraint> = widths
        .iter()
        .map(|w| ColumnConstraint::Absolute(Width::Fixed(w.saturating_add(2))))
        .collect();
    let mut it = rows();
    let mut first = true;
    loop {
        let p = piece(&mut it);
        if p.is_empty() {
            break;
        }
        let mut t = comfy(first.then_some(headers), p);
        t.set_constraints(fixed.clone());
        first = false;
        let mut text = String::new();
        // comfy-table pads each line; trailing spaces only make diffs noisy.
        for line in t.to_string().lines() {
            text.push_str(line.trim_end());
            text.push('\n');
        }
        io_result(out.write_all(text.as_bytes()))?;
    }
    Ok(true)
}

fn write_csv(
    out: &mut impl Write,
    headers: &[&'static str],
    rows: impl Iterator<Item = Vec<Cell>>,
) -> Result<bool> {
    let spreadsheet = super::csv_for_spreadsheets();
    io_result(out.write_all(&super::csv_start(spreadsheet)))?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(headers).map_err(csv_failed)?;
    let mut any = false;
    for r in rows {
        any = true;
        w.write_record(r.iter().map(|c| c.csv_field(spreadsheet)))
            .map_err(csv_failed)?;
    }
    io_result(w.flush())?;
    Ok(any)
}

/// A CSV write that failed: a closed pipe ends the program quietly, as any write to stdout.
fn csv_failed(e: csv::Error) -> Error {
    if let csv::ErrorKind::Io(io) = e.kind()
        && let Err(e) = io_result(Err(io::Error::new(io.kind(), e.to_string())))
    {
        return e;
    }
    csv_err(e)
}

/// The rows as a JSON array serde_json lays out itself, one row at a time.
struct JsonRows<'h, I> {
    headers: &'h [&'static str],
    rows: RefCell<Option<I>>,
    any: std::cell::Cell<bool>,
}

impl<I: Iterator<Item = Vec<Cell>>> Serialize for JsonRows<'_, I> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let keys: Vec<String> = self.headers.iter().map(|h| json_key(h)).collect();
        let rows = self.rows.borrow_mut().take().into_iter().flatten();
        s.collect_seq(rows.map(|r| {
            self.any.set(true);
            json_row(&keys, &r)
        }))
    }
}

fn write_json(
    out: &mut impl Write,
    headers: &[&'static str],
    rows: impl Iterator<Item = Vec<Cell>>,
) -> Result<bool> {
    let all = JsonRows {
        headers,
        rows: RefCell::new(Some(rows)),
        any: std::cell::Cell::new(false),
    };
    match serde_json::to_writer_pretty(&mut *out, &all) {
        Ok(()) => {}
        Err(e) if e.io_error_kind().is_some() => {
            let kind = e.io_error_kind().unwrap_or(io::ErrorKind::Other);
            io_result(Err(io::Error::new(kind, e)))?;
        }
        Err(e) => return Err(Error::internal(e.to_string())),
    }
    io_result(out.write_all(b"\n"))?;
    Ok(all.any.get())
}

fn write_html(
    out: &mut impl Write,
    headers: &[&'static str],
    mut rows: impl Iterator<Item = Vec<Cell>>,
) -> Result<bool> {
    // The first row says which columns are numbers, as for a whole table.
    let first = rows.next();
    let (head, tail) = page::table_parts(headers, first.as_deref())?;
    let mut s = head;
    let any = first.is_some();
    for r in first.into_iter().chain(rows) {
        s.push_str(&page::row(&r));
        if s.len() > 1 << 16 {
            io_result(out.write_all(s.as_bytes()))?;
            s.clear();
        }
    }
    if !any {
        s.push_str(&page::empty_row(headers.len()));
    }
    s.push_str(&tail);
    io_result(out.write_all(s.as_bytes()))?;
    Ok(any)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows with what trips a layout: wide and narrow characters, a line break inside a cell,
    /// formula-looking text, an empty cell, and more rows than one piece.
    fn rows(n: usize) -> Vec<Vec<Cell>> {
        (0..n)
            .map(|i| {
                vec![
                    Cell::Number(i.to_string()),
                    Cell::from(match i % 5 {
                        0 => "Zoë O'Brien".to_string(),
                        1 => "=HYPERLINK(\"x\")".to_string(),
                        2 => "李小龍".to_string(),
                        3 => "two\nlines".to_string(),
                        _ => "x".repeat(i % 37),
                    }),
                    Cell::from(if i % 7 == 0 { "" } else { "-5" }),
                ]
            })
            .collect()
    }

    fn streamed(format: Format, rows: &[Vec<Cell>]) -> (String, bool) {
        let mut out = Vec::new();
        let headers = &["id", "full name", "balance"];
        let any = match format {
            Format::Table => write_table(&mut out, headers, &|| rows.iter().cloned()),
            Format::Csv => write_csv(&mut out, headers, rows.iter().cloned()),
            Format::Json => write_json(&mut out, headers, rows.iter().cloned()),
            Format::Html => write_html(&mut out, headers, rows.iter().cloned()),
            Format::Xlsx => unreachable!("workbooks are not streamed"),
        }
        .unwrap();
        (String::from_utf8(out).unwrap(), any)
    }

    fn whole(format: Format, rows: &[Vec<Cell>]) -> String {
        let mut t = Table::new(&["id", "full name", "balance"]);
        rows.iter().cloned().for_each(|r| t.push(r));
        match format {
            Format::Table if t.is_empty() => String::new(),
            Format::Table => t.text_for(false),
            Format::Csv => t.to_csv().unwrap(),
            Format::Html => t.to_html().unwrap(),
            Format::Json => t.to_json().unwrap(),
            Format::Xlsx => unreachable!("workbooks are not streamed"),
        }
    }

    #[test]
    fn streamed_output_is_byte_for_byte_the_whole_tables() {
        for n in [0, 1, 4, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE + 17] {
            let rows = rows(n);
            for format in [Format::Table, Format::Csv, Format::Json, Format::Html] {
                let (got, any) = streamed(format, &rows);
                assert_eq!(any, n > 0, "{format:?} with {n} rows");
                assert_eq!(got, whole(format, &rows), "{format:?} with {n} rows");
            }
        }
    }

    #[test]
    fn a_wide_cell_in_a_later_piece_widens_the_first_pieces_columns() {
        let mut rows = rows(2 * PIECE);
        rows[2 * PIECE - 1][1] = Cell::from("w".repeat(200));
        let (got, _) = streamed(Format::Table, &rows);
        assert_eq!(got, whole(Format::Table, &rows));
        // Row 1 (its last cell is not empty, so its padding is not trimmed).
        let early = got.lines().nth(2).unwrap();
        assert!(
            early.len() > 200,
            "an early row is padded to the widest name"
        );
    }
}
