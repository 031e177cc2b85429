//! Batch import of patients from another system's CSV export.
//!
//! A declarative mapping file (in the spirit of hledger's CSV rules; the format is documented
//! in `docs/import.md`) says how to read the file (encoding, delimiter), which column or
//! template becomes which patient field, how to parse dates, which values to translate
//! (`Male` → `M`), defaults, which rows to skip, and which column identifies a row already
//! imported (kept on the patient as an external ID). Rules can also pad a value, extract part
//! of it with a regular expression, and apply only `when` another column is (not) empty;
//! line breaks and tabs in cells are folded to a space. Cells are read without the formula
//! guard a reject file puts on them ([`guard_cell`] / [`unguard_cell`]), so a fixed reject
//! file re-imports as it is. This module parses the mapping, binds it
//! to a CSV header, and turns one row into a validated [`Patient`] or a list of [`RowError`]s.
//! It never touches the disk; `cli/patient/import.rs` reads the files and writes the records.
//!
//! Row errors name the column, what was wrong and the mapping rule (with its line in the map)
//! that produced the value, never the value itself: it is protected health information.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, FixedOffset, NaiveDate};
use clap::ValueEnum;
use csv::StringRecord;
use regex::Regex;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use crate::domain::common::Address;
use crate::domain::dates::{check_birth_date, parse_date};
use crate::domain::id::Id;
use crate::domain::patient::{
    Contact, ContactPreference, Patient, Phone, PhoneKind, Sex, Status, marital_status,
};
use crate::domain::{phone, validate};
use crate::error::{Error, Result};

macro_rules! fields {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// A patient field a mapping rule can fill. Rules run in this order, so the country is
        /// known before the address and phones are checked, and the birth date before the
        /// date of death.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
        pub enum Field {
            $(#[serde(rename = $name)] $variant),*
        }
        impl Field {
            pub const ALL: &[Field] = &[$(Field::$variant),*];
            pub fn name(self) -> &'static str {
                match self { $(Field::$variant => $name),* }
            }
        }
    };
}

fields! {
    Given = "given",
    Middle = "middle",
    Family = "family",
    Suffix = "suffix",
    PreferredName = "preferred_name",
    BirthDate = "birth_date",
    Sex = "sex",
    GenderIdentity = "gender_identity",
    Pronouns = "pronouns",
    Ssn = "ssn",
    Status = "status",
    DeceasedDate = "deceased_date",
    Country = "country",
    AddressLine1 = "address_line1",
    AddressLine2 = "address_line2",
    City = "city",
    State = "state",
    PostalCode = "postal_code",
    MobilePhone = "mobile_phone",
    HomePhone = "home_phone",
    WorkPhone = "work_phone",
    Email = "email",
    EmailOk = "email_ok",
    SmsOk = "sms_ok",
    VoicemailOk = "voicemail_ok",
    Language = "language",
    InterpreterNeeded = "interpreter_needed",
    ContactPreference = "contact_preference",
    MaritalStatus = "marital_status",
    EmergencyContactName = "emergency_contact_name",
    EmergencyContactRelation = "emergency_contact_relation",
    EmergencyContactPhone = "emergency_contact_phone",
    Flags = "flags",
    Notes = "notes",
}

impl Field {
    fn is_date(self) -> bool {
        matches!(self, Field::BirthDate | Field::DeceasedDate)
    }

    /// A consent that applies to phones, with the phone it means when the rule names none.
    fn phone_consent(self) -> Option<PhoneKind> {
        matches!(self, Field::SmsOk | Field::VoicemailOk).then_some(PhoneKind::Mobile)
    }
}

/// How the CSV file's bytes are text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Utf8,
    /// What Excel on Windows writes as "CSV": Latin letters with accents, curly quotes, €.
    Windows1252,
}

impl Encoding {
    pub fn parse(s: &str) -> Option<Encoding> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "windows-1252" | "cp1252" | "latin1" | "iso-8859-1" => Some(Encoding::Windows1252),
            _ => None,
        }
    }

    /// Decodes the whole file. A UTF-8 byte-order mark is dropped (and, as browsers do, wins
    /// over windows-1252, so a UTF-8 reject file re-imports under either setting).
    pub fn decode<'a>(self, name: &str, bytes: &'a [u8]) -> Result<Cow<'a, str>> {
        match self {
            Encoding::Windows1252 => Ok(encoding_rs::WINDOWS_1252.decode(bytes).0),
            Encoding::Utf8 => {
                let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                std::str::from_utf8(body).map(Cow::Borrowed).map_err(|e| {
                    let line = line_of_offset(body, e.valid_up_to());
                    Error::user(format!("{name}:{line}: not valid UTF-8 text")).hint(
                        "if the file comes from Excel on Windows, set encoding = \"windows-1252\" in the map",
                    )
                })
            }
        }
    }
}

fn line_of_offset(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Where a rule puts its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Field(Field),
    /// `external_ids.SYSTEM`: an identifier in another system.
    ExternalId(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Field(field) => write!(f, "fields.{}", field.name()),
            Target::ExternalId(system) => write!(f, "external_ids.{system}"),
        }
    }
}

/// Where a rule's value comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Column(String),
    /// Text with `{COLUMN}` placeholders.
    Template(Vec<Piece>),
    /// No column: the `default` is the value of every row.
    Fixed,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Column(String),
}

/// One `fields.X` or `external_ids.X` rule, checked.
#[derive(Debug, Clone)]
struct Rule {
    target: Target,
    source: Source,
    /// Lowercased source value → value to use.
    map: HashMap<String, String>,
    default: Option<String>,
    /// chrono format strings, tried in order; empty means the forgiving `parse_date`.
    formats: Vec<String>,
    /// `extract`: the first capture group that takes part in the match is the value.
    extract: Option<Regex>,
    /// `pad`: left-pad a shorter value to this many characters with this one.
    pad: Option<(usize, char)>,
    /// `when`: the rule applies only when this column is empty (true) or not (false).
    when: Option<(String, bool)>,
    /// Line breaks and tabs become one space; `fold = false` keeps them.
    fold: bool,
    /// For `sms_ok` and `voicemail_ok`: the phones the consent is for.
    phones: Vec<PhoneKind>,
    line: usize,
}

#[derive(Debug, Clone)]
enum Condition {
    /// Any of these, ignoring case.
    Equals(Vec<String>),
    Contains(String),
    /// `*` any run of characters, `?` one character; ignoring case.
    Matches(String),
    Empty(bool),
}

#[derive(Debug, Clone)]
struct Skip {
    column: String,
    condition: Condition,
    line: usize,
}

/// A parsed and checked mapping file.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// How the map file is named in errors.
    pub name: String,
    pub encoding: Encoding,
    pub delimiter: u8,
    /// The external-ID system that identifies an imported row (`chart`, `synthea`).
    pub identity_system: String,
    identity_column: String,
    identity_line: usize,
    rules: Vec<Rule>,
    skips: Vec<Skip>,
}

// ---- the file format, as serde reads it ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMap {
    encoding: Option<Spanned<String>>,
    delimiter: Option<Spanned<String>>,
    date_format: Option<Spanned<OneOrMany>>,
    identity: Option<Spanned<RawIdentity>>,
    #[serde(default)]
    fields: BTreeMap<Field, Spanned<RawRule>>,
    #[serde(default)]
    external_ids: BTreeMap<String, Spanned<RawRule>>,
    #[serde(default)]
    skip: Vec<Spanned<RawSkip>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    system: String,
    column: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RuleTable {
    column: Option<String>,
    template: Option<String>,
    #[serde(default)]
    map: BTreeMap<String, String>,
    default: Option<String>,
    format: Option<OneOrMany>,
    extract: Option<String>,
    pad: Option<RawPad>,
    when: Option<RawWhen>,
    fold: Option<bool>,
    phone: Option<OneOrMany>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPad {
    width: i64,
    with: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    column: String,
    empty: Option<bool>,
    not_empty: Option<bool>,
}

/// A rule is a column name (`given = "FIRST"`) or a table (`sex = { column = "GENDER", … }`).
struct RawRule(RuleTable);

impl<'de> Deserialize<'de> for RawRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawRule;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a column name, or a table with column, template, map, default, format, extract, pad, when, fold, phone",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<RawRule, E> {
                Ok(RawRule(RuleTable {
                    column: Some(v.to_string()),
                    ..Default::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> std::result::Result<RawRule, A::Error> {
                RuleTable::deserialize(de::value::MapAccessDeserializer::new(m)).map(RawRule)
            }
        }
        d.deserialize_any(V)
    }
}

/// A string or a list of strings.
struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> std::result::Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = s.next_element::<String>()? {
                    out.push(v);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSkip {
    column: String,
    equals: Option<OneOrMany>,
    contains: Option<String>,
    matches: Option<String>,
    empty: Option<bool>,
}

/// Turns TOML byte offsets into line numbers for errors found after parsing.
struct Lines<'t>(&'t str);

impl Lines<'_> {
    fn of<T>(&self, s: &Spanned<T>) -> usize {
        line_of_offset(self.0.as_bytes(), s.span().start)
    }
}

impl Mapping {
    /// Parses a mapping file. `path` is only used to name the file in errors (`map.toml:12: …`).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Mapping> {
        const HINT: &str = "fix the mapping file; docs/import.md lists every key";
        let raw: RawMap = crate::text::parse_toml(path, bytes).map_err(|e| e.hint(HINT))?;
        // parse_toml accepted the bytes as UTF-8; its spans count from after a BOM.
        let text = std::str::from_utf8(bytes).unwrap_or("");
        let lines = Lines(text.strip_prefix('\u{feff}').unwrap_or(text));
        let name = path.display().to_string();
        Mapping::check(&raw, &lines, name.clone())
            .map_err(|(line, msg)| Error::user(format!("{name}:{line}: {msg}")).hint(HINT))
    }

    /// The checks serde cannot make; an error is (line in the map, message).
    fn check(raw: &RawMap, lines: &Lines, name: String) -> MapResult<Mapping> {
        let encoding = match &raw.encoding {
            None => Encoding::Utf8,
            Some(e) => Encoding::parse(e.get_ref()).ok_or_else(|| {
                (
                    lines.of(e),
                    "encoding must be \"utf-8\" or \"windows-1252\"".to_string(),
                )
            })?,
        };
        let delimiter = match &raw.delimiter {
            None => b',',
            Some(d) => parse_delimiter(d.get_ref()).ok_or_else(|| {
                (
                    lines.of(d),
                    "delimiter must be one character such as \",\", \";\", \"|\" or \"tab\""
                        .to_string(),
                )
            })?,
        };
        let default_formats = match &raw.date_format {
            None => Vec::new(),
            Some(f) => check_formats(&f.get_ref().0).map_err(|m| (lines.of(f), m))?,
        };
        let Some(identity) = &raw.identity else {
            return Err((
                1,
                "no [identity] table: say which column identifies a row already imported".into(),
            ));
        };
        let identity_line = lines.of(identity);
        let RawIdentity { system, column } = identity.get_ref();
        let identity_system = system.trim().to_ascii_lowercase();
        check_system(&identity_system)
            .map_err(|m| (identity_line, format!("identity.system {m}")))?;
        if column.trim().is_empty() {
            return Err((identity_line, "identity.column is empty".into()));
        }
        for required in [Field::Given, Field::Family, Field::BirthDate] {
            if !raw.fields.contains_key(&required) {
                return Err((
                    1,
                    format!(
                        "no rule for fields.{}: a patient needs a given name, a family name and a date of birth",
                        required.name()
                    ),
                ));
            }
        }
        let has = |f: Field| raw.fields.contains_key(&f);
        for part in [
            Field::EmergencyContactRelation,
            Field::EmergencyContactPhone,
        ] {
            if has(part) && !has(Field::EmergencyContactName) {
                return Err((
                    lines.of(&raw.fields[&part]),
                    format!(
                        "fields.{} needs a rule for fields.emergency_contact_name: a contact is kept with a name",
                        part.name()
                    ),
                ));
            }
        }
        Ok(Mapping {
            name,
            encoding,
            delimiter,
            rules: check_rules(raw, lines, &default_formats, &identity_system)?,
            skips: check_skips(raw, lines)?,
            identity_system,
            identity_column: column.trim().to_string(),
            identity_line,
        })
    }

    /// Resolves the map's column names against the CSV header. `csv_name` names the CSV in
    /// errors. Header cells are never quoted back: a file without a header row would have
    /// a patient's details there.
    pub fn bind(&self, csv_name: &str, header: &StringRecord) -> Result<Plan> {
        // A reject file's header went through the same formula guard as its cells.
        let headers: Vec<String> = header
            .iter()
            .map(|h| unguard_cell(h.trim()).trim().to_string())
            .collect();
        let find = |column: &str, line: usize, rule: &str| -> Result<usize> {
            find_column(&headers, column).ok_or_else(|| {
                Error::user(format!(
                    "{}:{line}: {rule}: column {column:?} is not in the header (first line) of {csv_name}",
                    self.name
                ))
                .hint("check the column name's spelling in the map against the CSV's first line (case is ignored)")
            })
        };
        let identity = find(&self.identity_column, self.identity_line, "identity.column")?;
        let mut rules = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            let label = rule.target.to_string();
            let source = match &rule.source {
                Source::Column(c) => Bound::Column(find(c, rule.line, &label)?),
                Source::Template(pieces) => Bound::Template(
                    pieces
                        .iter()
                        .map(|p| match p {
                            Piece::Text(t) => Ok(BoundPiece::Text(t.clone())),
                            Piece::Column(c) => find(c, rule.line, &label).map(BoundPiece::Column),
                        })
                        .collect::<Result<_>>()?,
                ),
                Source::Fixed => Bound::Fixed,
            };
            let columns = match &source {
                Bound::Column(i) => Some(headers[*i].clone()),
                Bound::Template(pieces) => Some(
                    pieces
                        .iter()
                        .filter_map(|p| match p {
                            BoundPiece::Column(i) => Some(headers[*i].as_str()),
                            BoundPiece::Text(_) => None,
                        })
                        .collect::<Vec<_>>()
                        .join("+"),
                ),
                Bound::Fixed => None,
            };
            let when = match &rule.when {
                Some((column, empty)) => Some((find(column, rule.line, &label)?, *empty)),
                None => None,
            };
            rules.push(BoundRule {
                rule: rule.clone(),
                source,
                when,
                columns,
                label: format!("{label}, {} line {}", self.name, rule.line),
            });
        }
        let mut skips = Vec::with_capacity(self.skips.len());
        for s in &self.skips {
            skips.push((find(&s.column, s.line, "skip.column")?, s.clone()));
        }
        Ok(Plan {
            map_name: self.name.clone(),
            identity_system: self.identity_system.clone(),
            identity,
            identity_label: format!("identity.column, {} line {}", self.name, self.identity_line),
            headers,
            rules,
            skips,
        })
    }
}

/// A mapping-file problem: the line it is on and what is wrong.
type MapResult<T> = std::result::Result<T, (usize, String)>;

fn parse_delimiter(d: &str) -> Option<u8> {
    match d {
        "tab" | "\t" => Some(b'\t'),
        s if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" => Some(s.as_bytes()[0]),
        _ => None,
    }
}

fn check_rules(
    raw: &RawMap,
    lines: &Lines,
    default_formats: &[String],
    identity_system: &str,
) -> MapResult<Vec<Rule>> {
    let mut rules = Vec::new();
    for (field, spec) in &raw.fields {
        let line = lines.of(spec);
        let target = Target::Field(*field);
        rules.push(
            build_rule(target, &spec.get_ref().0, default_formats, line).map_err(|m| (line, m))?,
        );
    }
    for (system, spec) in &raw.external_ids {
        let line = lines.of(spec);
        let system = system.trim().to_ascii_lowercase();
        check_system(&system).map_err(|m| (line, format!("external_ids key {m}")))?;
        if system == identity_system {
            return Err((
                line,
                format!(
                    "external_ids.{system} repeats the identity system; the identity column fills it"
                ),
            ));
        }
        let target = Target::ExternalId(system);
        rules.push(build_rule(target, &spec.get_ref().0, &[], line).map_err(|m| (line, m))?);
    }
    Ok(rules)
}

fn check_skips(raw: &RawMap, lines: &Lines) -> MapResult<Vec<Skip>> {
    raw.skip
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let line = lines.of(s);
            build_skip(s.get_ref(), line).map_err(|m| (line, format!("skip rule {}: {m}", n + 1)))
        })
        .collect()
}

/// Exact match first, then a unique case-insensitive one.
fn find_column(headers: &[String], name: &str) -> Option<usize> {
    let name = name.trim();
    headers.iter().position(|h| h == name).or_else(|| {
        let mut hits = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.eq_ignore_ascii_case(name));
        match (hits.next(), hits.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    })
}

fn check_system(s: &str) -> std::result::Result<(), String> {
    if s.is_empty()
        || s.len() > 40
        || !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err("must be a short name of letters, digits, - and _ (e.g. chart)".into());
    }
    Ok(())
}

fn check_formats(formats: &[String]) -> std::result::Result<Vec<String>, String> {
    if formats.is_empty() {
        return Err("format is an empty list".into());
    }
    for f in formats {
        if f.trim().is_empty() || StrftimeItems::new(f).any(|i| matches!(i, Item::Error)) {
            return Err(format!(
                "date format {f:?} is not a chrono format string such as \"%m/%d/%Y\""
            ));
        }
    }
    Ok(formats.to_vec())
}

fn build_rule(
    target: Target,
    t: &RuleTable,
    default_formats: &[String],
    line: usize,
) -> std::result::Result<Rule, String> {
    let source = match (&t.column, &t.template) {
        (Some(_), Some(_)) => return Err(format!("{target}: give column or template, not both")),
        (Some(c), None) if c.trim().is_empty() => return Err(format!("{target}: column is empty")),
        (Some(c), None) => Source::Column(c.trim().to_string()),
        (None, Some(tpl)) => {
            Source::Template(parse_template(tpl).map_err(|m| format!("{target}: {m}"))?)
        }
        (None, None) if t.default.is_some() => Source::Fixed,
        (None, None) => {
            return Err(format!(
                "{target}: give a column, a template, or a default (a fixed value)"
            ));
        }
    };
    let is_date = matches!(target, Target::Field(f) if f.is_date());
    let formats = match &t.format {
        Some(_) if !is_date => {
            return Err(format!(
                "{target}: format is only for birth_date and deceased_date"
            ));
        }
        Some(f) => check_formats(&f.0).map_err(|m| format!("{target}: {m}"))?,
        None if is_date => default_formats.to_vec(),
        None => Vec::new(),
    };
    let extract = match &t.extract {
        None => None,
        Some(re) => Some(check_extract(re).map_err(|m| format!("{target}: {m}"))?),
    };
    let pad = match &t.pad {
        None => None,
        Some(p) => Some(check_pad(p).map_err(|m| format!("{target}: {m}"))?),
    };
    let when = match &t.when {
        None => None,
        Some(w) => Some(check_when(w).map_err(|m| format!("{target}: {m}"))?),
    };
    let consent = match &target {
        Target::Field(f) => f.phone_consent(),
        Target::ExternalId(_) => None,
    };
    let phones = match (&t.phone, consent) {
        (Some(_), None) => {
            return Err(format!(
                "{target}: phone is only for sms_ok and voicemail_ok"
            ));
        }
        (Some(kinds), Some(_)) => check_phones(&kinds.0).map_err(|m| format!("{target}: {m}"))?,
        (None, Some(kind)) => vec![kind],
        (None, None) => Vec::new(),
    };
    Ok(Rule {
        target,
        source,
        map: t
            .map
            .iter()
            .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
            .collect(),
        default: t.default.as_ref().map(|d| d.trim().to_string()),
        formats,
        extract,
        pad,
        when,
        fold: t.fold.unwrap_or(true),
        phones,
        line,
    })
}

/// An `extract` pattern: a regular expression with at least one capture group.
fn check_extract(pattern: &str) -> std::result::Result<Regex, String> {
    // The pattern comes from the map, not from patient data, so regex's message may quote it.
    let re =
        Regex::new(pattern).map_err(|e| format!("extract is not a regular expression: {e}"))?;
    if re.captures_len() < 2 {
        return Err(
            "extract has no capture group: put the part to keep in parentheses, e.g. \"(\\\\d{4})$\""
                .into(),
        );
    }
    Ok(re)
}

/// `pad = { width = 5, with = "0" }`: a width of 1 to 100 and one printable character.
fn check_pad(p: &RawPad) -> std::result::Result<(usize, char), String> {
    let width = usize::try_from(p.width)
        .ok()
        .filter(|w| (1..=100).contains(w))
        .ok_or("pad.width must be a number from 1 to 100")?;
    let with = p.with.as_deref().unwrap_or("0");
    let mut chars = with.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_control() => Ok((width, c)),
        _ => Err("pad.with must be one character, such as \"0\"".into()),
    }
}

/// `when = { column = "Email", not_empty = true }`: a column and exactly one condition.
fn check_when(w: &RawWhen) -> std::result::Result<(String, bool), String> {
    if w.column.trim().is_empty() {
        return Err("when.column is empty".into());
    }
    let empty = match (w.empty, w.not_empty) {
        (Some(e), None) => e,
        (None, Some(n)) => !n,
        _ => return Err("when needs exactly one of empty = true or not_empty = true".into()),
    };
    Ok((w.column.trim().to_string(), empty))
}

/// `phone = "mobile"` or `phone = ["home", "mobile"]`.
fn check_phones(kinds: &[String]) -> std::result::Result<Vec<PhoneKind>, String> {
    let mut out = Vec::new();
    for k in kinds {
        let kind = PhoneKind::from_str(k.trim(), true)
            .map_err(|_| "phone must be mobile, home or work (or a list of them)".to_string())?;
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    if out.is_empty() {
        return Err("phone is an empty list".into());
    }
    Ok(out)
}

/// `"{ADDRESS} {UNIT}"` → text and column pieces. `{{` and `}}` are literal braces.
fn parse_template(tpl: &str) -> std::result::Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = tpl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                if name.trim().is_empty() || name.contains('{') {
                    return Err("template has an empty or unclosed {COLUMN}".into());
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Column(name.trim().to_string()));
            }
            '}' => return Err("template has a } without a {".into()),
            c => text.push(c),
        }
    }
    if tpl.matches('{').count() > tpl.matches('}').count() {
        return Err("template has an empty or unclosed {COLUMN}".into());
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    if !pieces.iter().any(|p| matches!(p, Piece::Column(_))) {
        return Err("template names no {COLUMN}; use default for a fixed value".into());
    }
    Ok(pieces)
}

fn build_skip(s: &RawSkip, line: usize) -> std::result::Result<Skip, String> {
    if s.column.trim().is_empty() {
        return Err("column is empty".into());
    }
    let mut conditions = Vec::new();
    if let Some(e) = &s.equals {
        conditions.push(Condition::Equals(
            e.0.iter().map(|v| v.trim().to_lowercase()).collect(),
        ));
    }
    if let Some(c) = &s.contains {
        conditions.push(Condition::Contains(c.to_lowercase()));
    }
    if let Some(m) = &s.matches {
        conditions.push(Condition::Matches(m.trim().to_lowercase()));
    }
    if let Some(e) = s.empty {
        conditions.push(Condition::Empty(e));
    }
    if conditions.len() != 1 {
        return Err("give exactly one of equals, contains, matches or empty".into());
    }
    Ok(Skip {
        column: s.column.trim().to_string(),
        condition: conditions.remove(0),
        line,
    })
}

/// `*` matches any run of characters, `?` exactly one; everything else itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

// ---- a mapping bound to one CSV header ----

#[derive(Debug, Clone)]
enum Bound {
    Column(usize),
    Template(Vec<BoundPiece>),
    Fixed,
}

#[derive(Debug, Clone)]
enum BoundPiece {
    Text(String),
    Column(usize),
}

#[derive(Debug, Clone)]
struct BoundRule {
    rule: Rule,
    source: Bound,
    /// `when`: the column that decides whether the rule applies, and whether it must be empty.
    when: Option<(usize, bool)>,
    /// The column(s) the value came from, as the header names them.
    columns: Option<String>,
    /// `fields.sex, map.toml line 12`.
    label: String,
}

/// A mapping whose column names are resolved to positions in one CSV file.
#[derive(Debug, Clone)]
pub struct Plan {
    map_name: String,
    pub identity_system: String,
    identity: usize,
    identity_label: String,
    headers: Vec<String>,
    rules: Vec<BoundRule>,
    skips: Vec<(usize, Skip)>,
}

/// What one row needs from the office: today's date, the current time for `created`, and the
/// default country and its calling code.
pub struct RowContext<'a> {
    pub today: NaiveDate,
    pub now: DateTime<FixedOffset>,
    pub calling_code: &'a str,
    pub country: &'a str,
}

/// What was wrong with one value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The CSV column(s) the value came from, as named in the header.
    pub column: Option<String>,
    /// The mapping rule that produced the value, with its line in the map.
    pub rule: Option<String>,
    /// What was wrong, never the value.
    pub what: String,
}

impl RowError {
    /// The field the rule fills, as the map names it (`birth_date`, `external_ids.mrn`,
    /// `identity`); None for a problem with the whole row.
    pub fn field(&self) -> Option<&str> {
        let rule = self.rule.as_deref()?;
        let target = rule.split(", ").next().unwrap_or(rule);
        if let Some(f) = target.strip_prefix("fields.") {
            Some(f)
        } else if target.starts_with("identity") {
            Some("identity")
        } else if target.starts_with("external_ids.") {
            Some(target)
        } else {
            None
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = &self.column {
            write!(f, "column {c}: ")?;
        }
        f.write_str(&self.what)?;
        if let Some(r) = &self.rule {
            write!(f, " (rule {r})")?;
        }
        Ok(())
    }
}

/// What a row becomes.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Not a patient to import; the reason names the skip rule.
    Skip(String),
    /// A valid patient and the value of its identity column.
    Patient {
        key: String,
        patient: Box<Patient>,
    },
    Bad(Vec<RowError>),
}

impl Plan {
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The identity column's name, for messages about repeated keys.
    pub fn identity_column(&self) -> &str {
        &self.headers[self.identity]
    }

    /// The row's identity value, trimmed; None when empty or missing.
    pub fn identity_key<'r>(&self, record: &'r StringRecord) -> Option<&'r str> {
        Some(cell(record, self.identity)).filter(|k| !k.is_empty())
    }

    /// Turns one data row into a patient with ID `id`, or says why not.
    pub fn row(&self, record: &StringRecord, id: Id, ctx: &RowContext) -> Outcome {
        if record.iter().all(|v| v.trim().is_empty()) {
            return Outcome::Skip("blank row".into());
        }
        if record.len() != self.headers.len() {
            return Outcome::Bad(vec![RowError {
                column: None,
                rule: None,
                what: format!(
                    "row has {} fields, the header has {}",
                    record.len(),
                    self.headers.len()
                ),
            }]);
        }
        if let Some(reason) = self.skip_reason(record) {
            return Outcome::Skip(reason);
        }
        let mut b = Builder {
            p: Patient::new(id, ctx.now),
            address: Address::default(),
            status_given: false,
            contact: EmergencyContact::default(),
            errors: Vec::new(),
        };
        let key = cell(record, self.identity).to_string();
        if key.is_empty() {
            b.errors.push(RowError {
                column: Some(self.identity_column().to_string()),
                rule: Some(self.identity_label.clone()),
                what: "the identity column is empty".into(),
            });
        } else {
            b.p.external_ids
                .insert(self.identity_system.clone(), key.clone());
        }
        for rule in &self.rules {
            let applied = match self.value(rule, record) {
                Ok(Some(value)) => b.apply(&rule.rule, &value, ctx),
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = applied {
                b.errors.push(RowError {
                    column: rule.columns.clone(),
                    rule: Some(rule.label.clone()),
                    what: e.message,
                });
            }
        }
        self.finish(b, key, ctx)
    }

    fn finish(&self, mut b: Builder, key: String, ctx: &RowContext) -> Outcome {
        let rule_of = |f: Field| {
            self.rules
                .iter()
                .find(|r| r.rule.target == Target::Field(f))
        };
        let missing = |f: Field, what: &str, b: &mut Builder| {
            let r = rule_of(f);
            b.errors.push(RowError {
                column: r.and_then(|r| r.columns.clone()),
                rule: r.map(|r| r.label.clone()),
                what: format!("{what} is empty"),
            });
        };
        let failed = |f: Field, b: &Builder| {
            rule_of(f).is_some_and(|r| b.errors.iter().any(|e| e.rule.as_ref() == Some(&r.label)))
        };
        if b.p.given.is_empty() && !failed(Field::Given, &b) {
            missing(Field::Given, "given name", &mut b);
        }
        if b.p.family.is_empty() && !failed(Field::Family, &b) {
            missing(Field::Family, "family name", &mut b);
        }
        if b.p.birth_date == NaiveDate::MIN && !failed(Field::BirthDate, &b) {
            missing(Field::BirthDate, "date of birth", &mut b);
        }
        if let Some(d) = b.p.deceased_date {
            let problem = if d > ctx.today {
                Some("date of death is in the future")
            } else if b.p.birth_date != NaiveDate::MIN && d < b.p.birth_date {
                Some("date of death is before the date of birth")
            } else {
                None
            };
            if let Some(what) = problem {
                let r = rule_of(Field::DeceasedDate);
                b.errors.push(RowError {
                    column: r.and_then(|r| r.columns.clone()),
                    rule: r.map(|r| r.label.clone()),
                    what: what.into(),
                });
            }
            if !b.status_given {
                b.p.status = Status::Deceased;
            }
        }
        if b.p.email_ok && b.p.email.is_none() {
            let r = rule_of(Field::EmailOk);
            b.errors.push(RowError {
                column: r.and_then(|r| r.columns.clone()),
                rule: r.map(|r| r.label.clone()),
                what: "email consent is yes but there is no email address".into(),
            });
        }
        let contact = std::mem::take(&mut b.contact);
        match contact.name {
            Some(name) => b.p.emergency_contacts.push(Contact {
                name,
                relation: contact.relation,
                phone: contact.phone,
                release_on_file: None,
                address: None,
            }),
            None if (contact.relation.is_some() || contact.phone.is_some())
                && !failed(Field::EmergencyContactName, &b) =>
            {
                missing(
                    Field::EmergencyContactName,
                    "emergency contact name (the row has the contact's relation or phone)",
                    &mut b,
                );
            }
            None => {}
        }
        if b.address != Address::default() {
            b.p.address = Some(std::mem::take(&mut b.address));
        }
        if b.errors.is_empty()
            && let Err(e) = b.p.validate(ctx.today, ctx.calling_code, ctx.country)
        {
            // A backstop: every rule above checks its own field, so this names no column.
            b.errors.push(RowError {
                column: None,
                rule: Some(format!("the patient record rules ({})", self.map_name)),
                what: e.message,
            });
        }
        if b.errors.is_empty() {
            Outcome::Patient {
                key,
                patient: Box::new(b.p),
            }
        } else {
            Outcome::Bad(b.errors)
        }
    }

    fn skip_reason(&self, record: &StringRecord) -> Option<String> {
        self.skips.iter().find_map(|(col, s)| {
            let v = cell(record, *col);
            let hit = match &s.condition {
                Condition::Empty(want) => v.is_empty() == *want,
                Condition::Equals(list) => {
                    let v = v.to_lowercase();
                    list.contains(&v)
                }
                Condition::Contains(part) => v.to_lowercase().contains(part.as_str()),
                Condition::Matches(pattern) => glob_match(pattern, &v.to_lowercase()),
            };
            hit.then(|| format!("skip rule at {} line {}", self.map_name, s.line))
        })
    }

    /// The rule's value for this row, or None when its `when` condition does not hold: the
    /// column or template (line breaks and tabs folded), then `extract`, the value map, the
    /// default when the result is empty, and `pad`.
    fn value(&self, r: &BoundRule, record: &StringRecord) -> Result<Option<String>> {
        if let Some((col, empty)) = r.when
            && cell(record, col).is_empty() != empty
        {
            return Ok(None);
        }
        let rule = &r.rule;
        let read = |i: usize| {
            let v = cell(record, i);
            if rule.fold {
                fold_controls(v)
            } else {
                Cow::Borrowed(v)
            }
        };
        let raw = match &r.source {
            Bound::Column(i) => read(*i).trim().to_string(),
            Bound::Template(pieces) => {
                let any = pieces
                    .iter()
                    .any(|p| matches!(p, BoundPiece::Column(i) if !cell(record, *i).is_empty()));
                if any {
                    let mut s = String::new();
                    for p in pieces {
                        match p {
                            BoundPiece::Text(t) => s.push_str(t),
                            BoundPiece::Column(i) => s.push_str(&read(*i)),
                        }
                    }
                    s.split_whitespace().collect::<Vec<_>>().join(" ")
                } else {
                    String::new()
                }
            }
            Bound::Fixed => String::new(),
        };
        let raw = match &rule.extract {
            Some(re) if !raw.is_empty() => extract(re, &raw)?,
            _ => raw,
        };
        let mapped = match rule.map.get(&raw.to_lowercase()) {
            Some(v) => v.clone(),
            None => raw,
        };
        let value = if mapped.is_empty() {
            rule.default.clone().unwrap_or_default()
        } else {
            mapped
        };
        Ok(Some(match rule.pad {
            Some((width, with)) if !value.is_empty() => pad(&value, width, with),
            _ => value,
        }))
    }
}

/// A cell as the rules read it: trimmed, and without the one `'` a reject file's formula
/// guard put in front of it.
fn cell(record: &StringRecord, i: usize) -> &str {
    unguard_cell(record.get(i).unwrap_or("").trim())
}

/// A control character that lays text out: a line break, a tab, a form feed.
fn is_layout(c: char) -> bool {
    c.is_control() && c.is_whitespace()
}

/// Every run of spaces that holds a line break or tab becomes one space; other text is left
/// as it is. Other control characters (NUL, escape) are kept, so the field's own check
/// refuses them: they mean a damaged file, not a street typed on two lines.
pub fn fold_controls(v: &str) -> Cow<'_, str> {
    if !v.chars().any(is_layout) {
        return Cow::Borrowed(v);
    }
    let mut out = String::with_capacity(v.len());
    let mut gap = String::new();
    let mut control = false;
    for c in v.chars() {
        if is_layout(c) {
            control = true;
        } else if c.is_whitespace() {
            gap.push(c);
        } else {
            if control {
                out.push(' ');
            } else {
                out.push_str(&gap);
            }
            gap.clear();
            control = false;
            out.push(c);
        }
    }
    if !control {
        out.push_str(&gap);
    }
    Cow::Owned(out)
}

/// The first capture group that takes part in the match; no match is an error that names
/// the rule, not the value.
fn extract(re: &Regex, v: &str) -> Result<String> {
    let caps = re
        .captures(v)
        .ok_or_else(|| Error::user("does not match the extract pattern"))?;
    Ok(caps
        .iter()
        .skip(1)
        .flatten()
        .next()
        .map(|m| m.as_str().trim().to_string())
        .unwrap_or_default())
}

/// Left-pads `v` to `width` characters with `with`; a value as long or longer is kept.
fn pad(v: &str, width: usize, with: char) -> String {
    let n = v.chars().count();
    let mut out: String = std::iter::repeat_n(with, width.saturating_sub(n)).collect();
    out.push_str(v);
    out
}

/// What starts a spreadsheet formula (the set `render::neutralise_formula` guards).
const FORMULA_START: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\n'];

/// Guards a cell written to a reject file, so a spreadsheet shows it as text: a cell that
/// starts with a formula character, or with `'`s and then one, gets one more `'` in front.
/// [`unguard_cell`] takes exactly that `'` away again, so every cell round-trips.
pub fn guard_cell(v: &str) -> Cow<'_, str> {
    if v.trim_start_matches('\'').starts_with(FORMULA_START) {
        Cow::Owned(format!("'{v}"))
    } else {
        Cow::Borrowed(v)
    }
}

/// Takes away the `'` that [`guard_cell`] added: one `'`, only when `'`s and then a formula
/// character start the cell. No other value is changed.
pub fn unguard_cell(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.trim_start_matches('\'').starts_with(FORMULA_START) => rest,
        _ => v,
    }
}

/// A patient being filled in from one row.
struct Builder {
    p: Patient,
    address: Address,
    /// The map gave a status, so a date of death does not imply one.
    status_given: bool,
    /// The emergency contact's name, relation and phone, from their own columns.
    contact: EmergencyContact,
    errors: Vec<RowError>,
}

#[derive(Default)]
struct EmergencyContact {
    name: Option<String>,
    relation: Option<String>,
    phone: Option<String>,
}

fn opt(v: &str) -> Option<String> {
    let t = v.trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl Builder {
    /// Puts one value into the patient, checking it with the same rules as `patient add`.
    /// An empty value leaves the field unset.
    fn apply(&mut self, rule: &Rule, value: &str, ctx: &RowContext) -> Result<()> {
        let v = value.trim();
        let field = match &rule.target {
            Target::ExternalId(system) => {
                if !v.is_empty() {
                    self.p.external_ids.insert(system.clone(), v.to_string());
                }
                return Ok(());
            }
            Target::Field(f) => *f,
        };
        if v.is_empty() {
            return Ok(());
        }
        let p = &mut self.p;
        match field {
            Field::Given => {
                validate::name_chars("given name", v)?;
                p.given = v.to_string();
            }
            Field::Family => {
                validate::name_chars("family name", v)?;
                p.family = v.to_string();
            }
            Field::Middle => p.middle = Some(short_text("middle name", v)?),
            Field::Suffix => p.suffix = Some(short_text("suffix", v)?),
            Field::PreferredName => p.preferred_name = Some(short_text("preferred name", v)?),
            Field::BirthDate => {
                let d = parse_with(&rule.formats, v, ctx.today)?;
                check_birth_date(d, ctx.today)?;
                p.birth_date = d;
            }
            Field::DeceasedDate => p.deceased_date = Some(parse_with(&rule.formats, v, ctx.today)?),
            Field::Sex => p.sex = Sex::parse(v)?,
            Field::GenderIdentity => p.gender_identity = Some(short_text("gender identity", v)?),
            Field::Pronouns => p.pronouns = Some(short_text("pronouns", v)?),
            Field::Ssn => p.ssn_last4 = Some(validate::ssn_to_last4(v)?),
            Field::Status => {
                p.status = Status::from_str(v, true)
                    .map_err(|_| Error::user("status is not one of active, inactive, deceased"))?;
                self.status_given = true;
            }
            Field::Country => {
                let c = validate::country_code(v)?;
                self.address.country = (c != ctx.country).then_some(c);
            }
            Field::AddressLine1 => {
                self.check_address_part(ctx, |a| a.line1 = v.into())?;
                self.address.line1 = v.into();
            }
            Field::AddressLine2 => {
                self.check_address_part(ctx, |a| a.line1 = v.into())?;
                self.address.line2 = Some(v.into());
            }
            Field::City => {
                self.check_address_part(ctx, |a| a.city = v.into())?;
                self.address.city = v.into();
            }
            Field::State => {
                // US states are codes; counties and provinces keep their spelling.
                let s = if v.len() == 2 {
                    v.to_ascii_uppercase()
                } else {
                    v.to_string()
                };
                self.check_address_part(ctx, |a| a.state = Some(s.clone()))?;
                self.address.state = Some(s);
            }
            Field::PostalCode => {
                let s = v.to_ascii_uppercase();
                self.check_address_part(ctx, |a| a.postal_code = Some(s.clone()))?;
                self.address.postal_code = Some(s);
            }
            Field::MobilePhone => self.phone(PhoneKind::Mobile, v, ctx)?,
            Field::HomePhone => self.phone(PhoneKind::Home, v, ctx)?,
            Field::WorkPhone => self.phone(PhoneKind::Work, v, ctx)?,
            Field::Email => {
                validate::email_shape(v)?;
                p.email = Some(v.to_string());
            }
            Field::EmailOk => p.email_ok = yes_no("email consent", v)?,
            Field::SmsOk => {
                self.phone_consent(&rule.phones, "SMS consent", v, |ph| ph.sms_ok = true)?
            }
            Field::VoicemailOk => {
                self.phone_consent(&rule.phones, "voicemail consent", v, |ph| {
                    ph.voicemail_ok = true
                })?
            }
            Field::Language => p.language = Some(short_text("language", v)?),
            Field::InterpreterNeeded => p.interpreter_needed = yes_no("interpreter needed", v)?,
            Field::ContactPreference => {
                p.contact_preference = Some(ContactPreference::from_str(v, true).map_err(|_| {
                    Error::user("contact preference is not one of phone, sms, email, mail, portal")
                })?)
            }
            Field::MaritalStatus => p.marital_status = marital_status(v)?.map(str::to_string),
            Field::EmergencyContactName => {
                validate::name_chars("emergency contact name", v)?;
                self.contact.name = Some(v.to_string());
            }
            Field::EmergencyContactRelation => {
                let r = short_text("emergency contact relation", v)?;
                // A known relation in its listed spelling ("Wife" → "wife"); others as written.
                self.contact.relation =
                    Some(crate::domain::contact::relation(&r).map_or(r, str::to_string));
            }
            Field::EmergencyContactPhone => {
                self.contact.phone = Some(phone::normalize(v, self.calling_code(ctx))?)
            }
            Field::Flags => {
                for f in v.split([',', ';']) {
                    let f = f.trim().to_lowercase().replace(' ', "-");
                    if !f.is_empty() && !p.flags.contains(&f) {
                        p.flags.push(f);
                    }
                }
            }
            Field::Notes => p.notes = opt(v),
        }
        Ok(())
    }

    /// Checks one address part on its own (in the row's country), so an error names the
    /// column it came from.
    fn check_address_part(&self, ctx: &RowContext, set: impl FnOnce(&mut Address)) -> Result<()> {
        let mut a = Address {
            country: self.address.country.clone(),
            ..Default::default()
        };
        set(&mut a);
        validate::address(&a, ctx.country)
    }

    /// A number without +CC belongs to the row's country, not necessarily the office's.
    fn calling_code<'c>(&self, ctx: &RowContext<'c>) -> &'c str {
        self.address
            .country
            .as_deref()
            .and_then(phone::calling_code)
            .unwrap_or(ctx.calling_code)
    }

    /// `sms_ok` / `voicemail_ok`: yes sets `consent` on each of the rule's phones the row
    /// has; yes with none of them is an error (the consent would be lost), no does nothing.
    fn phone_consent(
        &mut self,
        kinds: &[PhoneKind],
        what: &str,
        v: &str,
        consent: impl Fn(&mut Phone),
    ) -> Result<()> {
        if !yes_no(what, v)? {
            return Ok(());
        }
        let mut any = false;
        for ph in self
            .p
            .phones
            .iter_mut()
            .filter(|ph| kinds.contains(&ph.kind))
        {
            consent(ph);
            any = true;
        }
        if !any {
            let names: Vec<&str> = kinds
                .iter()
                .map(|k| crate::domain::patient::phone_kind_name(*k))
                .collect();
            return Err(Error::user(format!(
                "{what} is yes but the row has no {} phone",
                names.join(" or ")
            )));
        }
        Ok(())
    }

    fn phone(&mut self, kind: PhoneKind, v: &str, ctx: &RowContext) -> Result<()> {
        let number = phone::normalize(v, self.calling_code(ctx))?;
        self.p.phones.retain(|ph| ph.kind != kind);
        self.p.phones.push(Phone {
            kind,
            number,
            voicemail_ok: false,
            sms_ok: false,
        });
        self.p.phones.sort_by_key(|ph| ph.kind as u8);
        Ok(())
    }
}

fn short_text(field: &str, v: &str) -> Result<String> {
    if v.chars().count() > 200 || v.chars().any(char::is_control) {
        return Err(Error::user(format!(
            "{field} is too long or has control characters"
        )));
    }
    Ok(v.to_string())
}

fn yes_no(field: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "1" | "x" => Ok(true),
        "n" | "no" | "false" | "0" => Ok(false),
        _ => Err(Error::user(format!("{field} is not yes or no"))),
    }
}

/// With formats: the first that parses. Without: the forgiving `parse_date`.
fn parse_with(formats: &[String], v: &str, today: NaiveDate) -> Result<NaiveDate> {
    if formats.is_empty() {
        return parse_date(v, today).map_err(|e| Error::user(e.message));
    }
    formats
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(v, f).ok())
        .ok_or_else(|| Error::user(format!("not a date in the format {}", formats.join(" or "))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ctx() -> RowContext<'static> {
        RowContext {
            today: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            now: DateTime::parse_from_rfc3339("2026-11-27T09:00:00-05:00").unwrap(),
            calling_code: "1",
            country: "US",
        }
    }

    fn id() -> Id {
        Id::parse("P00000001").unwrap()
    }

    const MAP: &str = r#"
encoding = "utf-8"

[identity]
system = "chart"
column = "Chart"

[fields]
given = "First"
family = "Last"
birth_date = { column = "DOB", format = ["%m/%d/%Y", "%Y-%m-%d"] }
sex = { column = "Gender", map = { Male = "M", Female = "F", "Not given" = "" }, default = "U" }
ssn = "SSN"
mobile_phone = "Cell"
address_line1 = { template = "{Street} {Apt}" }
state = "State"
postal_code = "Zip"
deceased_date = { column = "Died", format = "%m/%d/%Y" }
language = { default = "English" }

[external_ids]
mrn = "MRN"

[[skip]]
column = "Last"
matches = "test*"

[[skip]]
column = "Status"
equals = ["void", "merged"]
"#;

    const HEADER: &[&str] = &[
        "Chart", "First", "Last", "DOB", "Gender", "SSN", "Cell", "Street", "Apt", "State", "Zip",
        "Died", "MRN", "Status",
    ];

    fn plan() -> Plan {
        Mapping::parse(Path::new("m.toml"), MAP.as_bytes())
            .unwrap()
            .bind("x.csv", &StringRecord::from(HEADER.to_vec()))
            .unwrap()
    }

    fn row(cells: &[&str]) -> Outcome {
        plan().row(&StringRecord::from(cells.to_vec()), id(), &ctx())
    }

    fn good() -> Vec<&'static str> {
        vec![
            "10234",
            "Jane",
            "Doe",
            "04/02/1980",
            "Female",
            "123-45-6789",
            "617-555-0101",
            "1 Main St",
            "Apt 2",
            "ma",
            "02110",
            "",
            "M-77",
            "",
        ]
    }

    fn patient(o: Outcome) -> (String, Patient) {
        match o {
            Outcome::Patient { key, patient } => (key, *patient),
            other => panic!("expected a patient, got {other:?}"),
        }
    }

    fn errors(o: Outcome) -> Vec<RowError> {
        match o {
            Outcome::Bad(e) => e,
            other => panic!("expected errors, got {other:?}"),
        }
    }

    fn map_error(text: &str) -> String {
        Mapping::parse(Path::new("m.toml"), text.as_bytes())
            .unwrap_err()
            .message
    }

    #[test]
    fn a_good_row_becomes_a_patient() {
        let (key, p) = patient(row(&good()));
        assert_eq!(key, "10234");
        assert_eq!((p.given.as_str(), p.family.as_str()), ("Jane", "Doe"));
        assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(1980, 4, 2).unwrap());
        assert_eq!(p.sex, Sex::F);
        assert_eq!(p.ssn_last4.as_deref(), Some("6789"));
        assert_eq!(p.phones[0].number, "+16175550101");
        let a = p.address.unwrap();
        assert_eq!(a.line1, "1 Main St Apt 2");
        assert_eq!(a.state.as_deref(), Some("MA"));
        assert_eq!(p.external_ids["chart"], "10234");
        assert_eq!(p.external_ids["mrn"], "M-77");
        assert_eq!(p.language.as_deref(), Some("English"));
        assert_eq!(p.status, Status::Active);
    }

    #[test]
    fn value_maps_defaults_and_templates() {
        let mut r = good();
        r[4] = "Not given";
        r[8] = "";
        let (_, p) = patient(row(&r));
        assert_eq!(p.sex, Sex::U, "mapped to empty, then the default");
        assert_eq!(p.address.unwrap().line1, "1 Main St", "no stray space");
        r[4] = "MALE";
        assert_eq!(patient(row(&r)).1.sex, Sex::M, "map keys ignore case");
    }

    #[test]
    fn date_formats_in_order() {
        let mut r = good();
        r[3] = "1980-04-02";
        assert_eq!(patient(row(&r)).1.birth_date.to_string(), "1980-04-02");
        r[3] = "02.04.1980";
        let e = errors(row(&r));
        assert_eq!(e[0].column.as_deref(), Some("DOB"));
        assert!(e[0].what.contains("%m/%d/%Y or %Y-%m-%d"), "{}", e[0].what);
        assert!(
            e[0].rule
                .as_deref()
                .unwrap()
                .starts_with("fields.birth_date, m.toml line 11")
        );
    }

    #[test]
    fn date_of_death_makes_the_patient_deceased() {
        let mut r = good();
        r[11] = "01/05/2020";
        let (_, p) = patient(row(&r));
        assert_eq!(p.status, Status::Deceased);
        assert_eq!(p.deceased_date.unwrap().to_string(), "2020-01-05");
        r[11] = "01/05/1970";
        assert!(errors(row(&r))[0].what.contains("before the date of birth"));
    }

    #[test]
    fn skip_rules() {
        let mut r = good();
        r[2] = "TEST PATIENT";
        match row(&r) {
            Outcome::Skip(why) => assert_eq!(why, "skip rule at m.toml line 24"),
            o => panic!("{o:?}"),
        }
        let mut r = good();
        r[13] = "Void";
        assert!(matches!(row(&r), Outcome::Skip(_)));
        let blank = vec![""; HEADER.len()];
        assert!(matches!(row(&blank), Outcome::Skip(w) if w == "blank row"));
    }

    #[test]
    fn every_bad_value_is_reported_without_the_value() {
        let mut r = good();
        r[1] = "J4ne";
        r[3] = "13/45/1980";
        r[5] = "98765";
        r[6] = "555-0101";
        r[10] = "ABCDE";
        let e = errors(row(&r));
        let cols: Vec<_> = e.iter().map(|e| e.column.clone().unwrap()).collect();
        assert_eq!(
            cols,
            ["First", "DOB", "SSN", "Zip", "Cell"],
            "in field order"
        );
        for err in &e {
            let shown = err.to_string();
            for value in ["J4ne", "13/45", "98765", "555-0101", "ABCDE"] {
                assert!(!shown.contains(value), "{shown}");
            }
        }
    }

    #[test]
    fn missing_required_values_and_identity() {
        let mut r = good();
        r[0] = " ";
        r[2] = "";
        let e = errors(row(&r));
        assert!(e.iter().any(|e| e.what == "the identity column is empty"));
        assert!(
            e.iter()
                .any(|e| e.what == "family name is empty" && e.column.as_deref() == Some("Last"))
        );
    }

    #[test]
    fn short_rows_are_reported() {
        let e = errors(row(&["1", "Jane"]));
        assert_eq!(e[0].what, "row has 2 fields, the header has 14");
    }

    #[test]
    fn map_errors_name_the_line() {
        assert!(map_error("[identity]\nsystem = \"c\"\ncolumn = \"C\"\n[fields]\ngiven = \"A\"\nfamily = \"B\"\n")
            .contains("no rule for fields.birth_date"));
        let base =
            "[identity]\nsystem = \"c\"\ncolumn = \"C\"\n[fields]\ngiven = \"A\"\nfamily = \"B\"\n";
        let e = map_error(&format!(
            "{base}birth_date = {{ column = \"D\", format = \"%Q\" }}\n"
        ));
        assert!(
            e.starts_with("m.toml:7:") && e.contains("not a chrono format"),
            "{e}"
        );
        let e = map_error(&format!(
            "{base}birth_date = \"D\"\nsex = {{ column = \"G\", format = \"%Y\" }}\n"
        ));
        assert!(
            e.starts_with("m.toml:8:") && e.contains("only for birth_date"),
            "{e}"
        );
        let e = map_error(&format!("{base}birth_date = \"D\"\nshoe_size = \"S\"\n"));
        assert!(
            e.starts_with("m.toml:8:") && e.contains("expected one of"),
            "{e}"
        );
        let e = map_error(&format!(
            "{base}birth_date = \"D\"\n[[skip]]\ncolumn = \"X\"\n"
        ));
        assert!(e.contains("skip rule 1: give exactly one"), "{e}");
        let e = map_error(&format!("{base}birth_date = {{ template = \"{{D\" }}\n"));
        assert!(e.contains("unclosed"), "{e}");
        let e = map_error("encoding = \"ebcdic\"\n");
        assert!(e.starts_with("m.toml:1: encoding must be"), "{e}");
        assert!(map_error("[fields]\ngiven = \"A\"\n").contains("no [identity]"));
        assert!(map_error("[identity\n").starts_with("m.toml:1:"));
    }

    #[test]
    fn unknown_columns_are_named_at_bind_time() {
        let m = Mapping::parse(Path::new("m.toml"), MAP.as_bytes()).unwrap();
        let mut h = HEADER.to_vec();
        h.retain(|c| *c != "Zip");
        let e = m.bind("x.csv", &StringRecord::from(h)).unwrap_err().message;
        assert!(
            e.starts_with("m.toml:") && e.contains("fields.postal_code: column \"Zip\""),
            "{e}"
        );
        let lower: Vec<String> = HEADER.iter().map(|h| h.to_lowercase()).collect();
        assert!(
            m.bind("x.csv", &StringRecord::from(lower)).is_ok(),
            "case is ignored"
        );
    }

    #[test]
    fn encodings() {
        assert_eq!(
            Encoding::Utf8.decode("f", b"\xEF\xBB\xBFa,b").unwrap(),
            "a,b"
        );
        let e = Encoding::Utf8.decode("f.csv", b"a\nb\xE9\n").unwrap_err();
        assert!(
            e.message.starts_with("f.csv:2: not valid UTF-8"),
            "{}",
            e.message
        );
        assert_eq!(
            Encoding::Windows1252.decode("f", b"Ren\xE9e").unwrap(),
            "Renée"
        );
        assert_eq!(
            Encoding::Windows1252
                .decode("f", "\u{feff}Zoë".as_bytes())
                .unwrap(),
            "Zoë"
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("test*", "test patient"));
        assert!(glob_match("*x*", "abxcd"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("test*", "a test"));
        assert!(glob_match("*", ""));
    }

    /// A map shaped like an OpenEMR `patient_data` export, using every newer rule.
    const MAP2: &str = r#"
[identity]
system = "openemr"
column = "pid"

[fields]
given = "fname"
family = "lname"
birth_date = "DOB"
postal_code = { column = "postal_code", pad = { width = 5, with = "0" } }
address_line1 = "street"
ssn = { column = "ss", extract = "(\\d{4})$" }
mobile_phone = "phone_cell"
home_phone = "phone_home"
email = "email"
email_ok = { column = "hipaa_allowemail", when = { column = "email", not_empty = true } }
sms_ok = "hipaa_allowsms"
voicemail_ok = { column = "hipaa_voice", phone = ["home", "mobile"] }
marital_status = "status"
emergency_contact_name = "contact_name"
emergency_contact_relation = "contact_relationship"
emergency_contact_phone = "phone_contact"
notes = { column = "notes", fold = false }
language = { column = "language", when = { column = "interpreter", empty = true } }
"#;

    const HEADER2: &[&str] = &[
        "pid",
        "fname",
        "lname",
        "DOB",
        "postal_code",
        "street",
        "ss",
        "phone_cell",
        "phone_home",
        "email",
        "hipaa_allowemail",
        "hipaa_allowsms",
        "hipaa_voice",
        "status",
        "contact_name",
        "contact_relationship",
        "phone_contact",
        "notes",
        "language",
        "interpreter",
    ];

    fn good2() -> Vec<&'static str> {
        vec![
            "7",
            "Ada",
            "Quint",
            "1970-05-06",
            "2134",
            "12 Elm St\n\tApt 3",
            "***-**-2649",
            "617-555-0101",
            "617-555-0102",
            "ada@example.org",
            "YES",
            "YES",
            "YES",
            "married",
            "Bo Quint",
            "Husband",
            "617-555-0103",
            "Line one\nline two",
            "Spanish",
            "",
        ]
    }

    fn row2(cells: &[&str]) -> Outcome {
        Mapping::parse(Path::new("m2.toml"), MAP2.as_bytes())
            .unwrap()
            .bind("e.csv", &StringRecord::from(HEADER2.to_vec()))
            .unwrap()
            .row(&StringRecord::from(cells.to_vec()), id(), &ctx())
    }

    #[test]
    fn pad_extract_fold_and_the_new_fields() {
        let (key, p) = patient(row2(&good2()));
        assert_eq!(key, "7");
        let a = p.address.clone().unwrap();
        assert_eq!(a.postal_code.as_deref(), Some("02134"), "left-padded");
        assert_eq!(a.line1, "12 Elm St Apt 3", "line break and tab folded");
        assert_eq!(p.ssn_last4.as_deref(), Some("2649"), "extracted");
        assert_eq!(
            p.notes.as_deref(),
            Some("Line one\nline two"),
            "fold = false"
        );
        assert!(p.email_ok);
        let phone = |k: PhoneKind| p.phones.iter().find(|ph| ph.kind == k).unwrap();
        assert!(phone(PhoneKind::Mobile).sms_ok && !phone(PhoneKind::Home).sms_ok);
        assert!(phone(PhoneKind::Mobile).voicemail_ok && phone(PhoneKind::Home).voicemail_ok);
        assert_eq!(p.marital_status.as_deref(), Some("married"));
        let c = &p.emergency_contacts[0];
        assert_eq!(
            (c.name.as_str(), c.relation.as_deref(), c.phone.as_deref()),
            ("Bo Quint", Some("husband"), Some("+16175550103"))
        );
        assert_eq!(p.language.as_deref(), Some("Spanish"));
    }

    #[test]
    fn pad_keeps_a_value_as_long_or_longer() {
        assert_eq!(pad("2134", 5, '0'), "02134");
        assert_eq!(pad("02134", 5, '0'), "02134");
        assert_eq!(pad("02134-1234", 5, '0'), "02134-1234");
        assert_eq!(pad("é", 3, '·'), "··é");
        let mut r = good2();
        r[4] = "";
        assert_eq!(
            patient(row2(&r)).1.address.unwrap().postal_code,
            None,
            "empty stays empty"
        );
    }

    #[test]
    fn extract_without_a_match_names_the_column_and_rule_not_the_value() {
        let mut r = good2();
        r[6] = "unknown-xyz";
        let e = errors(row2(&r));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].column.as_deref(), Some("ss"));
        assert_eq!(e[0].field(), Some("ssn"));
        assert!(
            e[0].to_string()
                .contains("does not match the extract pattern"),
            "{}",
            e[0]
        );
        assert!(
            e[0].rule
                .as_deref()
                .unwrap()
                .starts_with("fields.ssn, m2.toml line 12")
        );
        assert!(!e[0].to_string().contains("xyz"));
        let re = Regex::new(r"^(\d+)-|(\d{4})$").unwrap();
        assert_eq!(
            extract(&re, "ab 1234").unwrap(),
            "1234",
            "first group that took part"
        );
    }

    #[test]
    fn when_applies_a_rule_only_if_the_other_column_is_set_or_empty() {
        let mut r = good2();
        r[9] = "";
        let (_, p) = patient(row2(&r));
        assert!(
            !p.email_ok,
            "consent without an email is not applied, and not an error"
        );
        let mut r = good2();
        r[19] = "yes";
        assert_eq!(patient(row2(&r)).1.language, None, "when empty = true");
    }

    #[test]
    fn consent_for_a_phone_the_row_lacks_is_an_error() {
        let mut r = good2();
        r[7] = "";
        let e = errors(row2(&r));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            e[0].what,
            "SMS consent is yes but the row has no mobile phone"
        );
        assert_eq!(e[0].field(), Some("sms_ok"));
        r[11] = "no";
        let (_, p) = patient(row2(&r));
        assert!(
            p.phones[0].voicemail_ok,
            "voicemail on the home phone it has"
        );
        r[8] = "";
        let e = errors(row2(&r));
        assert_eq!(
            e[0].what,
            "voicemail consent is yes but the row has no home or mobile phone"
        );
    }

    #[test]
    fn emergency_contact_and_marital_status() {
        let mut r = good2();
        r[14] = "";
        let e = errors(row2(&r));
        assert!(e[0].what.starts_with("emergency contact name"), "{e:?}");
        assert_eq!(e[0].column.as_deref(), Some("contact_name"));
        r[15] = "";
        r[16] = "";
        assert!(patient(row2(&r)).1.emergency_contacts.is_empty());
        let mut r = good2();
        r[15] = "Godparent";
        let (_, p) = patient(row2(&r));
        assert_eq!(
            p.emergency_contacts[0].relation.as_deref(),
            Some("Godparent")
        );
        for (v, want) in [
            ("S", Some("single")),
            ("domestic partner", Some("partnered")),
            ("U", None),
        ] {
            let mut r = good2();
            r[13] = v;
            assert_eq!(patient(row2(&r)).1.marital_status.as_deref(), want, "{v}");
        }
        let mut r = good2();
        r[13] = "complicated";
        let e = errors(row2(&r));
        assert!(
            e[0].what.starts_with("marital status is not one of"),
            "{e:?}"
        );
        assert!(!e[0].to_string().contains("complicated"));
    }

    #[test]
    fn control_characters_fold_to_one_space() {
        assert_eq!(fold_controls("a\r\nb"), "a b");
        assert_eq!(fold_controls("a \n  b"), "a b");
        assert_eq!(fold_controls("a  b"), "a  b", "plain spaces are left alone");
        assert_eq!(
            fold_controls("a\u{0}b\n"),
            "a\u{0}b",
            "a NUL is left for the field to refuse"
        );
        assert_eq!(fold_controls("a\u{b}\u{c}b"), "a b");
        assert!(matches!(fold_controls("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_formula_guard_and_its_removal() {
        assert_eq!(guard_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(guard_cell("+16175550101"), "'+16175550101");
        assert_eq!(
            guard_cell("'=x"),
            "''=x",
            "a real leading ' survives the round trip"
        );
        assert_eq!(guard_cell("O'Brien"), "O'Brien");
        assert_eq!(guard_cell("'quoted'"), "'quoted'");
        assert_eq!(unguard_cell("'=x"), "=x");
        assert_eq!(unguard_cell("''=x"), "'=x");
        assert_eq!(
            unguard_cell("'02134"),
            "'02134",
            "only before a formula character"
        );
        assert_eq!(unguard_cell("'"), "'");
    }

    #[test]
    fn new_rule_errors_name_the_map_line() {
        let base = "[identity]\nsystem = \"c\"\ncolumn = \"C\"\n[fields]\ngiven = \"A\"\nfamily = \"B\"\nbirth_date = \"D\"\n";
        for (rule, says) in [
            (
                "ssn = { column = \"S\", extract = \"\\\\d{4}\" }",
                "no capture group",
            ),
            (
                "ssn = { column = \"S\", extract = \"(\" }",
                "not a regular expression",
            ),
            (
                "postal_code = { column = \"Z\", pad = { width = 0 } }",
                "pad.width must be",
            ),
            (
                "postal_code = { column = \"Z\", pad = { width = 5, with = \"00\" } }",
                "pad.with must be",
            ),
            (
                "email_ok = { column = \"E\", when = { column = \"M\" } }",
                "exactly one of empty",
            ),
            (
                "email_ok = { column = \"E\", phone = \"mobile\" }",
                "only for sms_ok",
            ),
            (
                "sms_ok = { column = \"E\", phone = \"pager\" }",
                "mobile, home or work",
            ),
            (
                "emergency_contact_phone = \"P\"",
                "needs a rule for fields.emergency_contact_name",
            ),
        ] {
            let e = map_error(&format!("{base}{rule}\n"));
            assert!(
                e.starts_with("m.toml:8:") && e.contains(says),
                "{rule}: {e}"
            );
        }
        let m = Mapping::parse(
            Path::new("m.toml"),
            format!("{base}email_ok = {{ column = \"E\", when = {{ column = \"Nope\", empty = true }} }}\n").as_bytes(),
        )
        .unwrap();
        let e = m
            .bind("x.csv", &StringRecord::from(vec!["C", "A", "B", "D", "E"]))
            .unwrap_err()
            .message;
        assert!(
            e.contains("m.toml:8: fields.email_ok: column \"Nope\""),
            "{e}"
        );
    }

    #[test]
    fn a_reject_files_cells_read_without_their_guard() {
        let h: Vec<String> = HEADER2.iter().map(|s| guard_cell(s).into_owned()).collect();
        let mut r: Vec<String> = good2().iter().map(|s| guard_cell(s).into_owned()).collect();
        r[0] = guard_cell("-7").into_owned();
        let plan = Mapping::parse(Path::new("m2.toml"), MAP2.as_bytes())
            .unwrap()
            .bind("e.csv", &StringRecord::from(h))
            .unwrap();
        let rec = StringRecord::from(r);
        assert_eq!(plan.identity_key(&rec), Some("-7"));
        let (key, _) = patient(plan.row(&rec, id(), &ctx()));
        assert_eq!(key, "-7");
    }

    proptest! {
        #[test]
        fn rows_never_panic(cells in proptest::collection::vec("\\PC{0,12}", 0..16)) {
            let p = plan();
            let o = p.row(&StringRecord::from(cells.clone()), id(), &ctx());
            if let Outcome::Bad(errs) = o {
                for e in errs {
                    let shown = e.to_string();
                    for c in cells.iter().filter(|c| c.trim().chars().count() >= 5) {
                        prop_assert!(!shown.contains(c.trim()), "value in error: {}", shown);
                    }
                }
            }
        }

        #[test]
        fn the_guard_round_trips_every_cell(v in "[''=+@ \t\r\n-]{0,3}\\PC{0,8}") {
            let guarded = guard_cell(&v);
            prop_assert!(!guarded.starts_with(FORMULA_START));
            prop_assert_eq!(unguard_cell(&guarded), v.as_str());
        }

        #[test]
        fn rows_with_the_newer_rules_never_panic_or_echo(
            cells in proptest::collection::vec("['=\\-]?\\PC{0,12}", 20..21)
        ) {
            if let Outcome::Bad(errs) = row2(&cells.iter().map(String::as_str).collect::<Vec<_>>()) {
                for e in errs {
                    let shown = e.to_string();
                    for c in cells.iter().filter(|c| c.trim().chars().count() >= 5) {
                        prop_assert!(!shown.contains(c.trim()), "value in error: {}", shown);
                    }
                }
            }
        }

        #[test]
        fn map_parsing_never_panics(text in "\\PC{0,200}") {
            let _ = Mapping::parse(Path::new("m.toml"), text.as_bytes());
        }

        #[test]
        fn globs_never_panic(p in "[a*?]{0,8}", t in "[ab]{0,12}") {
            let _ = glob_match(&p, &t);
        }

        #[test]
        fn value_maps_ignore_case(v in "[mM][aA][lL][eE]") {
            let mut r = good();
            r[4] = &v;
            let o = plan().row(&StringRecord::from(r), id(), &ctx());
            let is_male = matches!(o, Outcome::Patient { ref patient, .. } if patient.sex == Sex::M);
            prop_assert!(is_male);
        }
    }
}
