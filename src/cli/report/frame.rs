//! What every report shares: its sections and declared columns, the output flags, the
//! reproducibility footer, de-identification, and writing it as text, CSV, JSON, HTML or Excel.
//!
//! A report is a title, the period it covers, and sections. Each section declares its columns
//! and what kind of protected health information each holds ([`Phi`]), so `--deidentify` knows
//! what to drop or transform without a report having to think about it, and `docs/reports.md`
//! can list it. Output formats:
//!
//! - text: a heading, each section's title and table, and the footer lines;
//! - CSV: each section as a block (a `[key]` line, the header row, the rows), blocks separated
//!   by an empty line;
//! - JSON: one object, `"meta"` first, then each section's rows as an array under its key;
//! - HTML: one self-contained page from `templates/reports/report.html`, with inline SVG charts;
//! - Excel: one worksheet per section and an `about` sheet holding the footer.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use crate::check::TreeState;
use crate::cli::Ctx;
use crate::cli::report::chart::Chart;
use crate::domain::report::deid::{self, Pseudonyms};
use crate::error::{Error, Result, exit};
use crate::render::{Cell, Format, Table, templates::Templates, xlsx};
use crate::store::Store;

/// The kind of protected health information a column holds (45 CFR 164.514(b)(2)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phi {
    /// Not about one person (counts, amounts, providers, staff, appointment types).
    None,
    /// A patient's name: removed.
    Name,
    /// A record ID (patient, appointment): replaced by a per-run pseudonym.
    Id,
    /// A date about a patient: only the year is kept.
    Date,
    /// A ZIP code: its first three digits, `000` for sparse areas. (No built-in report shows
    /// one yet; an office's own report may.)
    #[cfg_attr(not(test), allow(dead_code))]
    Zip,
    /// An age: over 89 becomes `90+`. (No built-in report shows one yet.)
    #[cfg_attr(not(test), allow(dead_code))]
    Age,
    /// A phone, email, street address or member ID: removed.
    Contact,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub phi: Phi,
}

/// A column with nothing identifying in it.
pub const fn col(name: &'static str) -> Column {
    Column {
        name,
        phi: Phi::None,
    }
}

/// A column holding identifying information of kind `phi`.
pub const fn phi(name: &'static str, phi: Phi) -> Column {
    Column { name, phi }
}

pub struct Section {
    /// The JSON key and worksheet name.
    pub key: &'static str,
    pub title: &'static str,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    pub chart: Option<Chart>,
}

impl Section {
    pub fn new(key: &'static str, title: &'static str, columns: &[Column]) -> Section {
        Section {
            key,
            title,
            columns: columns.to_vec(),
            rows: Vec::new(),
            chart: None,
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len(), "{}", self.key);
        self.rows.push(row);
    }

    pub fn with_chart(mut self, chart: Chart) -> Section {
        self.chart = Some(chart);
        self
    }

    pub fn table(&self) -> Table {
        Table {
            headers: self.columns.iter().map(|c| c.name).collect(),
            rows: self.rows.clone(),
        }
    }
}

/// The period a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covers {
    Day(NaiveDate),
    AsOf(NaiveDate),
    Range(NaiveDate, NaiveDate),
}

impl Covers {
    fn text(self, deidentified: bool) -> String {
        let d = |d: NaiveDate| {
            if deidentified {
                d.format("%Y").to_string()
            } else {
                d.to_string()
            }
        };
        match self {
            Covers::Day(x) => d(x),
            Covers::AsOf(x) => format!("as of {}", d(x)),
            Covers::Range(a, b) => format!("{} to {}", d(a), d(b)),
        }
    }
}

pub struct Report {
    pub name: &'static str,
    pub title: &'static str,
    pub covers: Covers,
    pub sections: Vec<Section>,
}

/// The output flags every report takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Output {
    /// Write to FILE (atomically) instead of stdout; the extension picks the format when
    /// --format is not given: .html, .csv, .json, .txt, .xlsx.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Remove what identifies a patient (HIPAA Safe Harbor): names, contact details and member
    /// IDs dropped, record IDs replaced by per-run pseudonyms, dates cut to the year.
    #[arg(long)]
    pub deidentify: bool,
}

/// The format: `--format` when given (anything but the default), else the output file's
/// extension, else a table for people.
pub fn format_for(asked: Format, output: Option<&Path>) -> Result<Format> {
    let Some(path) = output else {
        return Ok(asked);
    };
    if asked != Format::Table {
        return Ok(asked);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => Ok(Format::Html),
        "csv" => Ok(Format::Csv),
        "json" => Ok(Format::Json),
        "xlsx" => Ok(Format::Xlsx),
        "txt" | "" => Ok(Format::Table),
        _ => Err(Error::user(format!(
            "-o {}: no report format for the extension .{ext}",
            path.display()
        ))
        .hint("name the file .html, .csv, .json, .txt or .xlsx, or give --format")),
    }
}

/// Where and when a report was computed, for its footer or `"meta"`.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    pub report: String,
    pub title: String,
    pub office: String,
    pub covers: String,
    /// The records tree's git commit (or why there is none).
    pub records_commit: String,
    /// Whether the tree held changes not in that commit when the report ran (then running it
    /// again at the commit may give other bytes); null when not looked for or not a git tree.
    pub uncommitted_changes: Option<bool>,
    pub tool: String,
    pub ran_at: String,
    pub deidentified: bool,
}

impl Meta {
    /// The report's metadata; `tree` says whether the records held uncommitted changes
    /// ([`Store::tree_state`], asked once per run).
    pub fn new(store: &Store, r: &Report, deidentified: bool, tree: TreeState) -> Meta {
        let commit = if store.is_git() {
            crate::history::git::resolve(store.root(), &store.options.user, "HEAD")
                .unwrap_or_else(|| "none (no commit yet)".to_string())
        } else {
            "none (not a git repository)".to_string()
        };
        let now = store.office.now();
        Meta {
            report: r.name.to_string(),
            title: r.title.to_string(),
            office: store.office.name.clone(),
            covers: r.covers.text(deidentified),
            records_commit: commit,
            uncommitted_changes: match tree {
                TreeState::Clean => Some(false),
                TreeState::Uncommitted => Some(true),
                TreeState::NoHistory | TreeState::NotChecked => None,
            },
            tool: format!("frontdesk {}", env!("CARGO_PKG_VERSION")),
            ran_at: if deidentified {
                now.format("%Y").to_string()
            } else {
                now.to_rfc3339()
            },
            deidentified,
        }
    }

    fn lines(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("report", self.report.clone()),
            ("covers", self.covers.clone()),
            ("records commit", self.records_commit.clone()),
            (
                "uncommitted changes",
                match self.uncommitted_changes {
                    Some(true) => "yes: the report may differ at that commit",
                    Some(false) => "none",
                    None => "not looked for",
                }
                .to_string(),
            ),
            ("tool", self.tool.clone()),
            ("ran at", self.ran_at.clone()),
        ];
        if self.deidentified {
            out.push(("de-identified", "HIPAA Safe Harbor".to_string()));
        }
        out
    }

    /// What the footer adds to the commit: a tree with uncommitted changes is not that commit,
    /// and a large tree is not looked at outside `report nightly` (seconds at full size).
    fn commit_caveat(&self) -> &'static str {
        match self.uncommitted_changes {
            Some(true) => " plus uncommitted changes",
            Some(false) => "",
            None if self.records_commit.starts_with("none") => "",
            None => " (not checked for uncommitted changes)",
        }
    }

    fn footer(&self) -> String {
        let mut s = format!(
            "Computed from records commit {}{} by {} at {}",
            self.records_commit,
            self.commit_caveat(),
            self.tool,
            self.ran_at
        );
        if self.deidentified {
            s.push_str("; de-identified (HIPAA Safe Harbor)");
        }
        s.push('.');
        s
    }
}

/// Drops and transforms what identifies a patient, by each column's declared kind.
pub fn deidentify(r: &mut Report) {
    let mut names = Pseudonyms::default();
    for s in &mut r.sections {
        let keep: Vec<usize> = (0..s.columns.len())
            .filter(|&i| !matches!(s.columns[i].phi, Phi::Name | Phi::Contact))
            .collect();
        let columns: Vec<Column> = keep.iter().map(|&i| s.columns[i]).collect();
        let rows = std::mem::take(&mut s.rows);
        s.rows = rows
            .into_iter()
            .map(|row| {
                keep.iter()
                    .map(|&i| safe_cell(&row[i], s.columns[i].phi, &mut names))
                    .collect()
            })
            .collect();
        s.columns = columns;
    }
}

fn safe_cell(c: &Cell, kind: Phi, names: &mut Pseudonyms) -> Cell {
    match kind {
        Phi::None => c.clone(),
        Phi::Id => Cell::code(names.of(&c.text())),
        Phi::Date => match c {
            Cell::Day { date, .. } => Cell::code(deid::year(date)),
            other => Cell::code(deid::year(&other.text())),
        },
        Phi::Zip => Cell::code(deid::zip3(&c.text())),
        Phi::Age => match c.text().parse::<i64>() {
            Ok(n) => Cell::code(deid::age(n)),
            Err(_) => Cell::code(""),
        },
        Phi::Name | Phi::Contact => Cell::from(""),
    }
}

/// Writes the report as the user asked (file or stdout) and returns the exit code.
pub fn emit(ctx: &Ctx, store: &Store, mut r: Report, out: &Output) -> Result<u8> {
    let format = format_for(ctx.format, out.output.as_deref())?;
    if out.deidentify {
        deidentify(&mut r);
    }
    let meta = Meta::new(store, &r, out.deidentify, store.tree_state(false));
    let bytes = render(&r, &meta, format, store.root())?;
    match &out.output {
        Some(path) => write_atomic(path, &bytes)?,
        None => {
            if format == Format::Xlsx {
                use std::io::IsTerminal;
                if std::io::stdout().is_terminal() {
                    return Err(Error::user("--format xlsx writes a binary workbook")
                        .hint("add -o FILE.xlsx, or redirect the output to a file"));
                }
            }
            xlsx::to_stdout(&bytes)?;
        }
    }
    Ok(exit::OK)
}

/// Writes a report file atomically (temp file, fsync, rename), private to the office.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::disk::atomic::write(path, bytes, crate::store::Mode::Replace)
}

/// The report in one format.
pub fn render(r: &Report, meta: &Meta, format: Format, records: &Path) -> Result<Vec<u8>> {
    Ok(match format {
        Format::Table => text(r, meta).into_bytes(),
        Format::Csv => csv(r)?.into_bytes(),
        Format::Json => json(r, meta)?.into_bytes(),
        Format::Html => html(r, meta, records)?.into_bytes(),
        Format::Xlsx => {
            let tables: Vec<Table> = r.sections.iter().map(Section::table).collect();
            let sheets: Vec<xlsx::Sheet> = r
                .sections
                .iter()
                .zip(&tables)
                .map(|(s, t)| xlsx::Sheet {
                    name: s.key,
                    table: t,
                })
                .collect();
            xlsx::workbook(&sheets, &meta.lines())?
        }
    })
}

fn text(r: &Report, meta: &Meta) -> String {
    let mut s = format!("{}: {}, {}\n", meta.office, r.title, meta.covers);
    for sec in &r.sections {
        s.push_str(&format!("\n{}\n", sec.title));
        if sec.rows.is_empty() {
            s.push_str("(none)\n");
        } else {
            s.push_str(&sec.table().to_text());
        }
    }
    s.push_str(&format!("\n{}\n", meta.footer()));
    s
}

fn csv(r: &Report) -> Result<String> {
    const BOM: char = '\u{feff}';
    let mut blocks = Vec::new();
    let mut bom = false;
    for sec in &r.sections {
        let table = sec.table().to_csv()?;
        // The byte-order mark spreadsheets want belongs at the start of the file only.
        let table = match table.strip_prefix(BOM) {
            Some(rest) => {
                bom = true;
                rest.to_string()
            }
            None => table,
        };
        blocks.push(format!("[{}]\n{table}", sec.key));
    }
    let body = blocks.join("\n");
    Ok(if bom { format!("{BOM}{body}") } else { body })
}

fn json(r: &Report, meta: &Meta) -> Result<String> {
    let err = |e: serde_json::Error| Error::internal(e.to_string());
    let mut fields = vec![("meta", serde_json::to_value(meta).map_err(err)?)];
    for sec in &r.sections {
        fields.push((
            sec.key,
            serde_json::from_str(&sec.table().to_json()?).map_err(err)?,
        ));
    }
    let mut s = serde_json::to_string_pretty(&Ordered(fields)).map_err(err)?;
    s.push('\n');
    Ok(s)
}

/// A JSON object whose keys stay in the order given (`"meta"` first, then the sections in the
/// report's order), where `serde_json::Map` would sort them.
struct Ordered<'a>(Vec<(&'a str, serde_json::Value)>);

impl Serialize for Ordered<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct Page<'a> {
    office: &'a str,
    title: &'a str,
    covers: &'a str,
    sections: Vec<SectionView<'a>>,
    footer: String,
}

#[derive(Serialize)]
struct SectionView<'a> {
    key: &'a str,
    title: &'a str,
    headers: Vec<CellView>,
    rows: Vec<Vec<CellView>>,
    chart: Option<&'a Chart>,
}

#[derive(Serialize)]
struct CellView {
    text: String,
    /// Right-aligned (amounts, counts).
    num: bool,
}

fn is_num(c: &Cell) -> bool {
    matches!(c, Cell::Money { .. } | Cell::Count(_) | Cell::Number(_))
}

fn html(r: &Report, meta: &Meta, records: &Path) -> Result<String> {
    let sections = r
        .sections
        .iter()
        .map(|s| SectionView {
            key: s.key,
            title: s.title,
            headers: s
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| CellView {
                    text: c.name.to_string(),
                    num: s.rows.iter().any(|r| is_num(&r[i])),
                })
                .collect(),
            rows: s
                .rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|c| CellView {
                            text: c.text().into_owned(),
                            num: is_num(c),
                        })
                        .collect()
                })
                .collect(),
            chart: s.chart.as_ref(),
        })
        .collect();
    let page = Page {
        office: &meta.office,
        title: r.title,
        covers: &meta.covers,
        sections,
        footer: meta.footer(),
    };
    Templates::load(records)?.render(TEMPLATE, &page)
}

/// The built-in page every HTML report is rendered with (an office may override it in
/// `templates/reports/report.html` of its records tree).
pub const TEMPLATE: &str = "reports/report.html";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_picks_the_format_unless_format_is_given() {
        let f = |a, p: &str| format_for(a, Some(Path::new(p)));
        assert_eq!(f(Format::Table, "a.html").unwrap(), Format::Html);
        assert_eq!(f(Format::Table, "a.XLSX").unwrap(), Format::Xlsx);
        assert_eq!(f(Format::Table, "a.txt").unwrap(), Format::Table);
        assert_eq!(f(Format::Json, "a.html").unwrap(), Format::Json);
        assert!(f(Format::Table, "a.pdf").is_err());
        assert_eq!(format_for(Format::Csv, None).unwrap(), Format::Csv);
    }

    #[test]
    fn deidentify_drops_names_and_contacts_and_transforms_the_rest() {
        let mut s = Section::new(
            "rows",
            "Rows",
            &[
                phi("patient", Phi::Id),
                phi("name", Phi::Name),
                phi("phone", Phi::Contact),
                phi("visit", Phi::Date),
                phi("zip", Phi::Zip),
                phi("age", Phi::Age),
                col("owed"),
            ],
        );
        let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        for id in ["P55BY8Q09", "P55BY8Q09"] {
            s.push(vec![
                Cell::code(id),
                Cell::from("Jane Doe"),
                Cell::from("+16175550101"),
                Cell::day(day),
                Cell::code("02139"),
                Cell::count(93),
                Cell::count(5),
            ]);
        }
        let mut r = Report {
            name: "t",
            title: "T",
            covers: Covers::Day(day),
            sections: vec![s],
        };
        deidentify(&mut r);
        let s = &r.sections[0];
        let names: Vec<&str> = s.columns.iter().map(|c| c.name).collect();
        assert_eq!(names, ["patient", "visit", "zip", "age", "owed"]);
        let row: Vec<String> = s.rows[0].iter().map(|c| c.text().into_owned()).collect();
        assert_ne!(row[0], "P55BY8Q09");
        assert_eq!(row[1..], ["2026", "021", "90+", "5"]);
        assert_eq!(s.rows[1][0], s.rows[0][0], "same ID, same pseudonym");
        assert_eq!(Covers::Day(day).text(true), "2026");
    }
}
