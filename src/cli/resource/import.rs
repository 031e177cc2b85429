//! `frontdesk resource import FILE.csv --map MAP.toml`: load a directory of services (a
//! county's, a 211's) from a CSV laid out like an HSDS export.
//!
//! The map has the shape of a patient import map (docs/import.md): `encoding`, `delimiter`,
//! and under `[fields]` each field is a column name or a table with `column` or `template`,
//! `map` (value → value, case ignored; mapping to "" drops a list item) and `default`. The
//! patient importer's engine is typed to patient fields, so the few resource fields are read
//! here, each checked by the same rules `resource add` applies to its flags. Every row is
//! checked before anything is written; one bad row and nothing is imported. A row whose slug
//! exists updates that resource, so importing the same file again changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Deserialize;

use crate::cli::Ctx;
use crate::cli::resource::Fields;
use crate::domain::import::Encoding;
use crate::domain::resource::Resource;
use crate::error::{Error, IoContext, Result, exit};
use crate::store::{Mode, Store};

/// Import services from a CSV file, as a mapping file says (see examples/hsds-services.map.toml).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    #[arg(long, value_name = "MAP.toml")]
    pub map: PathBuf,
    /// Check every row and say what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMap {
    encoding: Option<String>,
    delimiter: Option<String>,
    /// What separates several values in one cell (default `;`).
    list_separator: Option<String>,
    fields: BTreeMap<String, RawRule>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRule {
    Column(String),
    Table(RuleTable),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RuleTable {
    column: Option<String>,
    template: Option<String>,
    #[serde(default)]
    map: BTreeMap<String, String>,
    default: Option<String>,
}

/// The fields a map may fill, in the order they are applied.
const FIELDS: &[&str] = &[
    "slug",
    "organization",
    "name",
    "description",
    "needs",
    "area",
    "languages",
    "open_days",
    "hours",
    "phone",
    "website",
    "email",
    "eligibility",
    "fees",
    "application_process",
    "address_line1",
    "city",
    "state",
    "postal_code",
    "verified_on",
];
const LISTS: &[&str] = &["needs", "area", "languages", "open_days"];

struct Rule {
    field: &'static str,
    /// Column indexes and text pieces: a column rule is one column piece.
    pieces: Vec<Piece>,
    /// What the rule reads, for errors.
    source: String,
    map: HashMap<String, String>,
    default: Option<String>,
}

enum Piece {
    Text(String),
    Column(usize),
}

pub fn cmd_import(ctx: &Ctx, a: Args) -> Result<u8> {
    let map_name = a.map.display().to_string();
    let file_name = a.file.display().to_string();
    let raw: RawMap = crate::store::read_toml(&a.map)
        .map_err(|e| e.hint("fix the mapping file; docs/resources.md lists every key"))?;
    let encoding = match raw
        .encoding
        .as_deref()
        .map(|e| e.trim().to_ascii_lowercase())
    {
        None => Encoding::Utf8,
        Some(e) if e == "utf-8" || e == "utf8" => Encoding::Utf8,
        Some(e) if e == "windows-1252" || e == "cp1252" || e == "latin1" => Encoding::Windows1252,
        Some(_) => {
            return Err(Error::user(format!(
                "{map_name}: encoding is not utf-8 or windows-1252"
            )));
        }
    };
    let delimiter = match raw.delimiter.as_deref() {
        None => b',',
        Some("\\t") | Some("\t") => b'\t',
        Some(d) if d.len() == 1 => d.as_bytes()[0],
        Some(_) => {
            return Err(Error::user(format!(
                "{map_name}: delimiter is not one character"
            )));
        }
    };
    let separator = raw.list_separator.clone().unwrap_or_else(|| ";".into());
    let bytes = std::fs::read(&a.file).at_path(&a.file, "read")?;
    let text = encoding.decode(&file_name, &bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| {
            Error::user(format!(
                "{file_name}: cannot read the header line: {}",
                csv_reason(&e)
            ))
        })?
        .clone();
    let rules = bind(&raw, &header, &map_name, &file_name)?;
    let store = ctx.open()?;
    let today = store.office.today();
    let mut planned: Vec<crate::domain::resource::Resource> = Vec::new();
    let mut errors = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let row = n + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("{file_name}: row {row}: {}", csv_reason(&e)));
                continue;
            }
        };
        match build_row(&rules, &record, &separator, &store, today) {
            Ok(r) => {
                if planned.iter().any(|p| p.slug == r.slug) {
                    errors.push(format!(
                        "{file_name}: row {row}: slug repeats an earlier row"
                    ));
                } else {
                    planned.push(r);
                }
            }
            Err(e) => errors.push(format!("{file_name}: row {row}: {e}")),
        }
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("frontdesk: error: {e}");
        }
        return Err(Error::user(format!(
            "{} of the rows have errors; nothing was imported",
            errors.len()
        ))
        .hint("fix the rows (or the map) and run the import again"));
    }
    let mut txn = store.begin()?;
    let (mut added, mut updated, mut same) = (0, 0, 0);
    let mut writes = Vec::new();
    for mut r in planned {
        let rel = Store::resource_rel(&r.slug)?;
        if store.path(&rel).is_file() {
            let old = store.load_resource(&r.slug)?;
            // What the directory does not carry stays as the office set it.
            r.retired = old.retired;
            r.extra = old.extra.clone();
            if r.verified_on.is_none() {
                r.verified_on = old.verified_on;
                r.verified_by = old.verified_by.clone();
            }
            if r == old {
                same += 1;
                continue;
            }
            updated += 1;
            writes.push((rel, r, Mode::Replace));
        } else {
            added += 1;
            writes.push((rel, r, Mode::CreateNew));
        }
    }
    let summary = format!("{added} added, {updated} updated, {same} unchanged");
    if a.dry_run {
        for (_, r, mode) in &writes {
            let what = if *mode == Mode::CreateNew {
                "add"
            } else {
                "update"
            };
            println!("{what} {}", r.slug);
        }
        ctx.say(&format!(
            "dry run: {added} would be added, {updated} updated, {same} unchanged; nothing was written"
        ));
        return Ok(exit::OK);
    }
    for (rel, r, mode) in &writes {
        txn.put(rel, r, *mode)?;
    }
    txn.commit(&format!(
        "Import resources: {added} added, {updated} updated."
    ))?;
    ctx.say(&format!("imported: {summary}"));
    Ok(exit::OK)
}

fn csv_reason(e: &csv::Error) -> String {
    // The csv crate's message can quote the field; keep only what kind of error it was.
    match e.kind() {
        csv::ErrorKind::UnequalLengths { .. } => {
            "the row has a different number of fields than the header".into()
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        _ => "not readable CSV".into(),
    }
}

/// Checks the map against the header: every field known, every column present.
fn bind(
    raw: &RawMap,
    header: &csv::StringRecord,
    map_name: &str,
    file_name: &str,
) -> Result<Vec<Rule>> {
    let column = |name: &str, field: &str| {
        header
            .iter()
            .position(|h| h.trim() == name.trim())
            .ok_or_else(|| {
                Error::user(format!(
                    "{map_name}: fields.{field}: {file_name} has no column {name:?}"
                ))
                .hint("the column names must match the CSV header exactly")
            })
    };
    for key in raw.fields.keys() {
        if !FIELDS.contains(&key.as_str()) {
            return Err(
                Error::user(format!("{map_name}: fields.{key} is not a resource field"))
                    .hint(format!("fields are: {}", FIELDS.join(", "))),
            );
        }
    }
    for required in ["slug", "organization", "name", "needs"] {
        if !raw.fields.contains_key(required) {
            return Err(Error::user(format!(
                "{map_name}: fields.{required} is required"
            )));
        }
    }
    let mut rules = Vec::new();
    for field in FIELDS {
        let Some(rule) = raw.fields.get(*field) else {
            continue;
        };
        let table = match rule {
            RawRule::Column(c) => RuleTable {
                column: Some(c.clone()),
                ..Default::default()
            },
            RawRule::Table(t) => RuleTable {
                column: t.column.clone(),
                template: t.template.clone(),
                map: t.map.clone(),
                default: t.default.clone(),
            },
        };
        let (pieces, source) = match (&table.column, &table.template) {
            (Some(c), None) => (
                vec![Piece::Column(column(c, field)?)],
                format!("column {c:?}"),
            ),
            (None, Some(t)) => (
                template(t, field, &column)?,
                format!("template of fields.{field}"),
            ),
            (None, None) if table.default.is_some() => {
                (Vec::new(), format!("default of fields.{field}"))
            }
            _ => {
                return Err(Error::user(format!(
                    "{map_name}: fields.{field} needs one of column, template or default"
                )));
            }
        };
        rules.push(Rule {
            field,
            pieces,
            source,
            map: table
                .map
                .iter()
                .map(|(k, v)| (k.trim().to_lowercase(), v.clone()))
                .collect(),
            default: table.default.clone(),
        });
    }
    Ok(rules)
}

fn template(
    t: &str,
    field: &str,
    column: &impl Fn(&str, &str) -> Result<usize>,
) -> Result<Vec<Piece>> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        out.push(Piece::Text(rest[..open].to_string()));
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| Error::user(format!("fields.{field}: template has a {{ without }}")))?;
        out.push(Piece::Column(column(&rest[open + 1..open + close], field)?));
        rest = &rest[open + close + 1..];
    }
    out.push(Piece::Text(rest.to_string()));
    Ok(out)
}

/// A slug from any text: lowercase letters and digits, other runs become one hyphen.
fn slugify(text: &str) -> String {
    let mut s = String::new();
    for c in text.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    s.trim_end_matches('-').chars().take(60).collect()
}

/// One row as a resource, every field checked by `resource add`'s rules. An error names the
/// row's column (or template) and the field, never the value.
fn build_row(
    rules: &[Rule],
    record: &csv::StringRecord,
    separator: &str,
    store: &Store,
    today: chrono::NaiveDate,
) -> Result<crate::domain::resource::Resource> {
    let mut slug = None;
    let mut verified_on = None;
    let mut r = Resource::new("x");
    for rule in rules {
        let raw: String = rule
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.as_str(),
                Piece::Column(i) => record.get(*i).unwrap_or(""),
            })
            .collect();
        let raw = raw.trim();
        let value = if raw.is_empty() {
            rule.default.clone().unwrap_or_default()
        } else {
            raw.to_string()
        };
        let at = |e: Error| {
            Error::user(format!(
                "{} (fields.{}): {}",
                rule.source, rule.field, e.message
            ))
        };
        let translate = |v: &str| -> String {
            rule.map
                .get(&v.trim().to_lowercase())
                .cloned()
                .unwrap_or_else(|| v.trim().to_string())
        };
        if LISTS.contains(&rule.field) {
            let items: Vec<String> = value
                .split(separator)
                .map(translate)
                .filter(|v| !v.is_empty())
                .collect();
            let mut one = Fields::default();
            match rule.field {
                "needs" => one.needs = items,
                "area" => one.area = items,
                "languages" => one.languages = items,
                _ => one.open_days = items,
            }
            one.apply(&mut r, store).map_err(at)?;
            continue;
        }
        let value = translate(&value);
        if value.is_empty() {
            continue;
        }
        let mut one = Fields::default();
        let slot = match rule.field {
            "slug" => {
                let s = slugify(&value);
                crate::domain::resource::check_slug(&s).map_err(at)?;
                slug = Some(s);
                continue;
            }
            "verified_on" => {
                let d = crate::domain::dates::parse_date(&value, today).map_err(at)?;
                if d > today {
                    return Err(at(Error::user("the date is in the future")));
                }
                verified_on = Some(d);
                continue;
            }
            "organization" => &mut one.organization,
            "name" => &mut one.name,
            "description" => &mut one.description,
            "hours" => &mut one.hours,
            "phone" => &mut one.phone,
            "website" => &mut one.website,
            "email" => &mut one.email,
            "eligibility" => &mut one.eligibility,
            "fees" => &mut one.fees,
            "application_process" => &mut one.application_process,
            "address_line1" => &mut one.address,
            "city" => &mut one.city,
            "state" => &mut one.state,
            _ => &mut one.zip,
        };
        *slot = Some(value);
        one.apply(&mut r, store).map_err(at)?;
    }
    let slug = slug.ok_or_else(|| Error::user("(fields.slug): empty"))?;
    r.slug = slug;
    r.verified_on = verified_on;
    if verified_on.is_some() {
        r.verified_by = Some("import".into());
    }
    r.validate()?;
    Ok(r)
}
