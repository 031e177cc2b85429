//! Reading a survey vendor's CSV export with a mapping file (the shape of the import maps in
//! docs/import.md: `encoding`, `delimiter`, `date_format`, columns by header name, value maps):
//!
//! ```toml
//! date_format = "%m/%d/%Y"
//! [columns]
//! response_id = "Response ID"     # required: importing the same row again files nothing
//! appointment = "Appointment ID"  # the visit, or visit_date + provider below
//! visit_date = "Visit Date"
//! provider = "Provider"
//! channel = "Mode"                # optional; else [options] channel
//! comment = "Comments"            # optional
//! [options]
//! channel = "email"               # when the file has no channel column
//! not_answered = ["N/A"]          # cells that mean the question was skipped
//! [channels]                      # the vendor's mode names → paper, sms, email, kiosk, phone
//! "Web" = "email"
//! [providers]                     # the vendor's provider names → provider keys
//! "Adaeze Okafor, MD" = "okafor"
//! [answers]                       # question key = column
//! comm_listen = "Q5 Listened carefully"
//! ```
//!
//! Cells are read as the patient importer reads them (formula guard taken off, line breaks
//! folded: [`unguard_cell`], [`fold_controls`]), and the file decoded by its [`Encoding`].
//! A row's errors name the column and what was wrong, never the cell's value. Pure: the CLI
//! reads the files and resolves appointments.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::id::{Id, IdKind};
use crate::domain::import::{Encoding, fold_controls, unguard_cell};
use crate::domain::survey::Channel;
use crate::domain::survey::instrument::Instrument;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyMap {
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub date_format: Option<String>,
    pub columns: Columns,
    #[serde(default)]
    pub options: Options,
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
    #[serde(default)]
    pub providers: BTreeMap<String, String>,
    pub answers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub response_id: String,
    pub appointment: Option<String>,
    pub visit_date: Option<String>,
    pub provider: Option<String>,
    pub channel: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub channel: Option<String>,
    /// Cells that mean "not answered" (`N/A`, `Not applicable`), ignoring case.
    #[serde(default)]
    pub not_answered: Vec<String>,
}

/// A map checked against the instrument and bound to a CSV header.
#[derive(Debug, Clone)]
pub struct Layout {
    pub encoding: Encoding,
    pub delimiter: u8,
    date_format: Option<String>,
    response_id: Col,
    appointment: Option<Col>,
    visit_date: Option<Col>,
    provider: Option<Col>,
    channel: Option<Col>,
    comment: Option<Col>,
    default_channel: Option<Channel>,
    channels: BTreeMap<String, Channel>,
    providers: BTreeMap<String, String>,
    answers: Vec<(String, Col)>,
    not_answered: Vec<String>,
}

#[derive(Debug, Clone)]
struct Col {
    name: String,
    at: usize,
}

/// One row read: what the CLI needs to file a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub response_id: String,
    pub appointment: Option<Id>,
    pub visit_date: Option<NaiveDate>,
    pub provider: Option<String>,
    pub channel: Channel,
    pub answers: BTreeMap<String, u8>,
    pub comment: Option<String>,
}

/// One problem with one row, by column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub column: String,
    pub problem: String,
}

fn map_error(map: &str, m: String) -> Error {
    Error::user(format!("{map}: {m}"))
        .hint("fix the mapping file; docs/satisfaction.md shows its shape")
}

impl SurveyMap {
    /// Checks the map (every answer key is a question, channels and the date format are
    /// valid, a visit is found by appointment or by date and provider) and finds its columns
    /// in the header (exactly, else ignoring case).
    /// How to read the file: its encoding and delimiter.
    pub fn reading(&self, map: &str) -> Result<(Encoding, u8)> {
        let encoding = match &self.encoding {
            None => Encoding::Utf8,
            Some(e) => Encoding::parse(e)
                .ok_or_else(|| map_error(map, "encoding is not utf-8 or windows-1252".into()))?,
        };
        let delimiter = match self.delimiter.as_deref() {
            None => b',',
            Some("\\t") | Some("\t") => b'\t',
            Some(d) if d.len() == 1 => d.as_bytes()[0],
            Some(_) => return Err(map_error(map, "delimiter is not one character".into())),
        };
        Ok((encoding, delimiter))
    }

    pub fn bind(&self, map: &str, inst: &Instrument, header: &[String]) -> Result<Layout> {
        let (encoding, delimiter) = self.reading(map)?;
        if let Some(f) = &self.date_format
            && chrono::format::StrftimeItems::new(f)
                .any(|i| matches!(i, chrono::format::Item::Error))
        {
            return Err(map_error(
                map,
                "date_format is not a strftime format".into(),
            ));
        }
        let c = &self.columns;
        if c.appointment.is_none() && (c.visit_date.is_none() || c.provider.is_none()) {
            return Err(map_error(
                map,
                "columns: give appointment, or visit_date and provider".into(),
            ));
        }
        let find = |name: &String| -> Result<Col> {
            let at = header
                .iter()
                .position(|h| h == name)
                .or_else(|| {
                    let hits: Vec<usize> = (0..header.len())
                        .filter(|i| header[*i].eq_ignore_ascii_case(name))
                        .collect();
                    (hits.len() == 1).then(|| hits[0])
                })
                .ok_or_else(|| map_error(map, format!("the CSV has no column {name}")))?;
            Ok(Col {
                name: name.clone(),
                at,
            })
        };
        let opt = |n: &Option<String>| n.as_ref().map(find).transpose();
        let channel_of = |what: &str, v: &str| {
            Channel::parse(v).ok_or_else(|| {
                map_error(
                    map,
                    format!("{what}: not one of paper, sms, email, kiosk, phone"),
                )
            })
        };
        let mut channels = BTreeMap::new();
        for (k, v) in &self.channels {
            channels.insert(k.trim().to_lowercase(), channel_of("channels", v)?);
        }
        let mut providers = BTreeMap::new();
        for (k, v) in &self.providers {
            crate::domain::schedule::check_key("provider", v).map_err(|e| e.at(map))?;
            providers.insert(k.trim().to_lowercase(), v.clone());
        }
        let mut answers = Vec::new();
        for (k, col) in &self.answers {
            if inst.question(k).is_none() {
                return Err(map_error(
                    map,
                    format!(
                        "answers.{k}: no such question in instrument version {}",
                        inst.version
                    ),
                ));
            }
            answers.push((k.clone(), find(col)?));
        }
        if answers.is_empty() {
            return Err(map_error(map, "answers: map at least one question".into()));
        }
        Ok(Layout {
            encoding,
            delimiter,
            date_format: self.date_format.clone(),
            response_id: find(&c.response_id)?,
            appointment: opt(&c.appointment)?,
            visit_date: opt(&c.visit_date)?,
            provider: opt(&c.provider)?,
            channel: opt(&c.channel)?,
            comment: opt(&c.comment)?,
            default_channel: self
                .options
                .channel
                .as_deref()
                .map(|v| channel_of("options.channel", v))
                .transpose()?,
            channels,
            providers,
            answers,
            not_answered: self
                .options
                .not_answered
                .iter()
                .map(|s| s.trim().to_lowercase())
                .collect(),
        })
    }
}

impl Layout {
    /// Reads one row; every problem in it, by column. `today` reads forgiving dates.
    pub fn row(
        &self,
        inst: &Instrument,
        record: &[String],
        today: NaiveDate,
    ) -> std::result::Result<Row, Vec<RowError>> {
        let mut errors = Vec::new();
        let cell = |c: &Col| -> String {
            fold_controls(unguard_cell(record.get(c.at).map_or("", |s| s.trim()))).into_owned()
        };
        fn bad_in(errors: &mut Vec<RowError>, c: &Col, problem: &str) {
            errors.push(RowError {
                column: c.name.clone(),
                problem: problem.to_string(),
            })
        }
        macro_rules! bad {
            ($c:expr, $p:expr) => {
                bad_in(&mut errors, $c, $p)
            };
        }
        let response_id = cell(&self.response_id);
        if response_id.is_empty()
            || response_id.len() > 64
            || response_id.chars().any(char::is_control)
        {
            bad!(
                &self.response_id,
                "the response ID is empty or longer than 64 characters"
            );
        }
        let mut appointment = None;
        if let Some(c) = &self.appointment {
            let v = cell(c);
            if !v.is_empty() {
                match Id::parse_kind(&v, IdKind::Appointment) {
                    Ok(id) => appointment = Some(id),
                    Err(_) => bad!(c, "not an appointment ID (A…)"),
                }
            }
        }
        let mut visit_date = None;
        if let Some(c) = &self.visit_date {
            let v = cell(c);
            if !v.is_empty() {
                let d = match &self.date_format {
                    Some(f) => NaiveDate::parse_from_str(&v, f).ok(),
                    None => crate::domain::dates::parse_date(&v, today).ok(),
                };
                match d {
                    Some(d) => visit_date = Some(d),
                    None => bad!(c, "not a date in the map's date format"),
                }
            }
        }
        let mut provider = None;
        if let Some(c) = &self.provider {
            let v = cell(c);
            if !v.is_empty() {
                match self.providers.get(&v.to_lowercase()) {
                    Some(k) => provider = Some(k.clone()),
                    None if crate::domain::schedule::check_key("provider", &v).is_ok() => {
                        provider = Some(v)
                    }
                    None => bad!(c, "not a provider key and not in the map's [providers]"),
                }
            }
        }
        if appointment.is_none() && (visit_date.is_none() || provider.is_none()) {
            let col = self
                .appointment
                .as_ref()
                .or(self.visit_date.as_ref())
                .unwrap_or(&self.response_id);
            if !errors.iter().any(|e| e.column == col.name) {
                bad!(col, "no appointment, and no visit date with a provider");
            }
        }
        let mut channel = self.default_channel;
        if let Some(c) = &self.channel {
            let v = cell(c);
            if !v.is_empty() {
                match self
                    .channels
                    .get(&v.to_lowercase())
                    .copied()
                    .or_else(|| Channel::parse(&v))
                {
                    Some(ch) => channel = Some(ch),
                    None => bad!(c, "not a channel the map knows"),
                }
            }
        }
        let channel = match channel {
            Some(c) => c,
            None => {
                let col = self.channel.as_ref().unwrap_or(&self.response_id);
                if !errors.iter().any(|e| e.column == col.name) {
                    bad!(col, "no channel (give options.channel in the map)");
                }
                Channel::Paper
            }
        };
        let mut answers = BTreeMap::new();
        for (key, c) in &self.answers {
            let v = cell(c);
            if v.is_empty() || self.not_answered.contains(&v.to_lowercase()) {
                continue; // a question left unanswered
            }
            let Some(q) = inst.question(key) else {
                continue;
            };
            match q.scale.read(&v) {
                Some(x) => {
                    answers.insert(key.clone(), x);
                }
                None => bad!(
                    c,
                    &format!("out of range for {key} ({})", q.scale.expected())
                ),
            }
        }
        if answers.is_empty() && errors.is_empty() {
            bad!(&self.response_id, "no question answered");
        }
        let comment = self.comment.as_ref().map(cell).filter(|s| !s.is_empty());
        if errors.is_empty() {
            Ok(Row {
                response_id,
                appointment,
                visit_date,
                provider,
                channel,
                answers,
                comment,
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = r#"
date_format = "%m/%d/%Y"
[columns]
response_id = "Response ID"
appointment = "Appointment"
visit_date = "Visit Date"
provider = "Provider"
channel = "Mode"
comment = "Comments"
[channels]
"Web" = "email"
[providers]
"Dr. Okafor" = "okafor"
[answers]
comm_listen = "Listened"
recommend = "Recommend"
"#;

    fn header() -> Vec<String> {
        [
            "Response ID",
            "Appointment",
            "Visit Date",
            "Provider",
            "Mode",
            "Listened",
            "Recommend",
            "Comments",
        ]
        .map(String::from)
        .to_vec()
    }

    fn row(cells: [&str; 8]) -> Vec<String> {
        cells.map(String::from).to_vec()
    }

    #[test]
    fn rows_read_by_appointment_or_by_date_and_provider() {
        let inst = Instrument::builtin();
        let map: SurveyMap = toml::from_str(MAP).unwrap();
        let l = map.bind("m.toml", &inst, &header()).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let r = l
            .row(
                &inst,
                &row([
                    "R1",
                    "",
                    "11/23/2026",
                    "Dr. Okafor",
                    "Web",
                    "Always",
                    "9",
                    "ok",
                ]),
                today,
            )
            .unwrap();
        assert_eq!(r.provider.as_deref(), Some("okafor"));
        assert_eq!(r.channel, Channel::Email);
        assert_eq!(r.answers["comm_listen"], 4);
        let e = l
            .row(
                &inst,
                &row([
                    "R2",
                    "",
                    "11/23/2026",
                    "Dr. Okafor",
                    "Web",
                    "Always",
                    "12",
                    "",
                ]),
                today,
            )
            .unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].column, "Recommend");
        assert!(!e[0].problem.contains("12"));
        let e = l
            .row(
                &inst,
                &row(["R3", "", "", "", "Fax", "Always", "9", ""]),
                today,
            )
            .unwrap_err();
        let cols: Vec<&str> = e.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(cols, ["Appointment", "Mode"]);
    }

    #[test]
    fn a_map_naming_an_unknown_question_or_column_is_refused() {
        let inst = Instrument::builtin();
        let map: SurveyMap = toml::from_str(&MAP.replace("comm_listen", "comm_lisen")).unwrap();
        assert!(map.bind("m.toml", &inst, &header()).is_err());
        let map: SurveyMap = toml::from_str(&MAP.replace("\"Listened\"", "\"Heard\"")).unwrap();
        let e = map.bind("m.toml", &inst, &header()).unwrap_err();
        assert!(e.message.contains("no column Heard"), "{}", e.message);
    }

    proptest::proptest! {
        /// Any cells: a row is read or refused, never a panic, and a refusal never quotes a
        /// cell (each cell carries a marker no message holds).
        #[test]
        fn rows_never_panic_and_errors_never_quote_cells(cells in proptest::collection::vec("[ -~]{0,12}", 0..10)) {
            let inst = Instrument::builtin();
            let map: SurveyMap = toml::from_str(MAP).unwrap();
            let l = map.bind("m.toml", &inst, &header()).unwrap();
            let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
            let marked: Vec<String> = cells.iter().map(|c| format!("QZX{c}")).collect();
            if let Err(errors) = l.row(&inst, &marked, today) {
                for e in errors {
                    proptest::prop_assert!(!e.problem.contains("QZX"), "{}", e.problem);
                }
            }
        }
    }
}
