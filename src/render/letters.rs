//! Letter templates: the built-ins in `templates/letters/` (embedded in the binary), each
//! replaced by a file of the same name in the office's `records/templates/letters/`, plus any
//! new templates and language variants (`reminder.es.html`) the office adds there.
//!
//! Every letter exists as printable HTML and as plain text. The HTML ones extend
//! `_base.html` (letterhead, window-envelope address block, print CSS for A4 and US Letter),
//! which an office may override too. Templates get raw values (ISO dates, E.164 phones,
//! decimal amounts as strings) and format them with the shared filters below, in the office's
//! style: `money`, `date`, `time`, `phone`.
//!
//! A value a template uses but the record does not have is an error naming the template's
//! file and line and the expression, raised while rendering, before anything is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};
use tera::{Context, Kwargs, State, Tera};

use crate::domain::letter::check_template_name;
use crate::domain::{money, phone};
use crate::error::{Error, Result};
use crate::render::templates::{template_error, trim_lines};

/// The built-in letters: every name in [`BUILTIN_NAMES`] as `.html` and `.txt`, and the base.
const BUILTIN: &[(&str, &str)] = &[
    (
        "_base.html",
        include_str!("../../templates/letters/_base.html"),
    ),
    (
        "reminder.html",
        include_str!("../../templates/letters/reminder.html"),
    ),
    (
        "reminder.txt",
        include_str!("../../templates/letters/reminder.txt"),
    ),
    (
        "confirmation.html",
        include_str!("../../templates/letters/confirmation.html"),
    ),
    (
        "confirmation.txt",
        include_str!("../../templates/letters/confirmation.txt"),
    ),
    (
        "no-show.html",
        include_str!("../../templates/letters/no-show.html"),
    ),
    (
        "no-show.txt",
        include_str!("../../templates/letters/no-show.txt"),
    ),
    (
        "cancellation.html",
        include_str!("../../templates/letters/cancellation.html"),
    ),
    (
        "cancellation.txt",
        include_str!("../../templates/letters/cancellation.txt"),
    ),
    (
        "welcome.html",
        include_str!("../../templates/letters/welcome.html"),
    ),
    (
        "welcome.txt",
        include_str!("../../templates/letters/welcome.txt"),
    ),
    (
        "recall.html",
        include_str!("../../templates/letters/recall.html"),
    ),
    (
        "recall.txt",
        include_str!("../../templates/letters/recall.txt"),
    ),
    (
        "release-cover.html",
        include_str!("../../templates/letters/release-cover.html"),
    ),
    (
        "release-cover.txt",
        include_str!("../../templates/letters/release-cover.txt"),
    ),
    (
        "summary.html",
        include_str!("../../templates/letters/summary.html"),
    ),
    (
        "summary.txt",
        include_str!("../../templates/letters/summary.txt"),
    ),
    (
        "survey.html",
        include_str!("../../templates/letters/survey.html"),
    ),
    (
        "survey.txt",
        include_str!("../../templates/letters/survey.txt"),
    ),
];

/// The built-in letter names, in the order `letter list` shows them.
pub const BUILTIN_NAMES: &[&str] = &[
    "reminder",
    "confirmation",
    "no-show",
    "cancellation",
    "welcome",
    "recall",
    "release-cover",
    "summary",
    "survey",
];

/// Where an office keeps its letters, relative to the records tree.
pub const OFFICE_DIR: &str = "templates/letters";

/// The office's style for the filters.
#[derive(Debug, Clone)]
pub struct Style {
    pub currency: String,
    pub calling_code: String,
    /// 12-hour clock with AM/PM (the US) or 24-hour.
    pub twelve_hour: bool,
}

impl Style {
    pub fn of(office: &crate::domain::office::Office) -> Style {
        Style {
            currency: office.currency.clone(),
            calling_code: office.calling_code().to_string(),
            twelve_hour: matches!(office.country.as_str(), "US" | "CA" | "AU" | "NZ" | "PH"),
        }
    }
}

/// Where a template came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    /// The office's file, which replaces a built-in of the same name when there is one.
    Office(PathBuf),
}

/// One template file: `reminder.es.html` is name `reminder`, language `es`, format `html`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFile {
    pub file: String,
    pub name: String,
    pub language: Option<String>,
    pub format: String,
    pub origin: Origin,
    /// True when an office file replaces a built-in of the same file name.
    pub overrides: bool,
}

pub struct Letters {
    tera: Tera,
    files: BTreeMap<String, TemplateFile>,
    sources: BTreeMap<String, String>,
}

/// Splits `reminder.es.html` into (name, language, format); None for other file names.
pub fn split_file_name(file: &str) -> Option<(&str, Option<&str>, &str)> {
    let (rest, format) = file.rsplit_once('.')?;
    if format != "html" && format != "txt" {
        return None;
    }
    let (name, lang) = match rest.split_once('.') {
        Some((name, lang)) if lang.len() == 2 && lang.bytes().all(|b| b.is_ascii_lowercase()) => {
            (name, Some(lang))
        }
        Some(_) => return None,
        None => (rest, None),
    };
    let partial = name.strip_prefix('_').unwrap_or(name);
    check_template_name(partial).ok()?;
    Some((name, lang, format))
}

impl Letters {
    /// The built-ins, with the office's files in `<records>/templates/letters/` laid over them.
    pub fn load(records: &Path, style: &Style) -> Result<Letters> {
        let mut files = BTreeMap::new();
        let mut sources: BTreeMap<String, String> = BTreeMap::new();
        for (file, text) in BUILTIN {
            let (name, language, format) = split_file_name(file).expect("built-in names are valid");
            files.insert(
                file.to_string(),
                TemplateFile {
                    file: file.to_string(),
                    name: name.to_string(),
                    language: language.map(str::to_string),
                    format: format.to_string(),
                    origin: Origin::Builtin,
                    overrides: false,
                },
            );
            sources.insert(file.to_string(), text.to_string());
        }
        let dir = records.join(OFFICE_DIR);
        if let Ok(rd) = std::fs::read_dir(&dir) {
            let mut names: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            names.sort();
            for path in names {
                let Some(file) = path
                    .file_name()
                    .and_then(|f| f.to_str())
                    .map(str::to_string)
                else {
                    continue;
                };
                let Some((name, language, format)) = split_file_name(&file) else {
                    continue; // not a letter template (a README, an image): left alone
                };
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Error::io(&path, "read", e).hint("save the template as UTF-8 text")
                })?;
                let overrides = files.contains_key(&file);
                files.insert(
                    file.clone(),
                    TemplateFile {
                        file: file.clone(),
                        name: name.to_string(),
                        language: language.map(str::to_string),
                        format: format.to_string(),
                        origin: Origin::Office(path.clone()),
                        overrides,
                    },
                );
                sources.insert(file, text);
            }
        }
        let mut tera = Tera::new();
        register_filters(&mut tera, style);
        if let Err(e) = tera.add_raw_templates(sources.iter()) {
            let (file, line, what) = locate(&e, &sources);
            let origin = file
                .as_ref()
                .and_then(|f| files.get(f))
                .map(origin_name)
                .unwrap_or_else(|| "a letter template".into());
            let place = match line {
                Some(l) => format!("{origin}:{l}"),
                None => origin,
            };
            return Err(Error::user(format!("{place}: {what}")).hint(
                "fix the template (see docs/letters.md), or delete it to use the built-in one",
            ));
        }
        Ok(Letters {
            tera,
            files,
            sources,
        })
    }

    /// Every template file, by file name (partials such as `_base.html` included).
    pub fn files(&self) -> impl Iterator<Item = &TemplateFile> {
        self.files.values()
    }

    /// The letters (no partials): name → its files.
    pub fn names(&self) -> BTreeMap<&str, Vec<&TemplateFile>> {
        let mut out: BTreeMap<&str, Vec<&TemplateFile>> = BTreeMap::new();
        for t in self.files.values().filter(|t| !t.name.starts_with('_')) {
            out.entry(t.name.as_str()).or_default().push(t);
        }
        out
    }

    /// The file to render for letter `name` in `format`: the `language` variant when there is
    /// one, else the plain one. Returns the file name and the language used.
    pub fn pick(
        &self,
        name: &str,
        language: Option<&str>,
        format: &str,
    ) -> Result<(String, Option<String>)> {
        check_template_name(name)?;
        if let Some(lang) = language {
            let file = format!("{name}.{lang}.{format}");
            if self.files.contains_key(&file) {
                return Ok((file, Some(lang.to_string())));
            }
        }
        let file = format!("{name}.{format}");
        if self.files.contains_key(&file) {
            return Ok((file, None));
        }
        // The name typed is not repeated (as everywhere: see docs/output.md); the templates
        // there are come from the binary and the office's folder.
        let names: Vec<&str> = self.names().into_keys().collect();
        let what = if names.contains(&name) {
            format!("that letter template has no {format} version")
        } else {
            "no such letter template".to_string()
        };
        Err(Error::user(what).hint(format!(
            "templates are: {}; an office adds its own as {OFFICE_DIR}/NAME.html and NAME.txt",
            names.join(", ")
        )))
    }

    /// Renders one template file. A template error names the file and line, never a value.
    pub fn render(&self, file: &str, data: &serde_json::Value) -> Result<String> {
        let context = Context::from_serialize(data)
            .map_err(|e| Error::internal(format!("letter data for {file}: {e}")))?;
        let text = self.tera.render(file, &context).map_err(|e| {
            let (at, line, what) = locate(&e, &self.sources);
            let at = at.unwrap_or_else(|| file.to_string());
            let origin = self
                .files
                .get(&at)
                .map(origin_name)
                .unwrap_or_else(|| at.clone());
            let place = match line {
                Some(l) => format!("{origin}:{l}"),
                None => origin,
            };
            Error::user(format!("{place}: {what}; nothing was written")).hint(
                "the letter uses a value this record does not have: add it to the record (a letter about a visit needs --appointment), or guard it in the template with {% if … is defined %} (see docs/letters.md)",
            )
        })?;
        Ok(if file.ends_with(".txt") {
            trim_lines(&text)
        } else {
            text
        })
    }

    /// The top-level variables a template file (and what it extends or includes) uses.
    pub fn variables(&self, file: &str) -> Result<Vec<String>> {
        let mut v: Vec<String> = self
            .tera
            .get_template_variables(file)
            .map_err(|e| Error::internal(format!("{file}: {e}")))?
            .into_iter()
            .map(str::to_string)
            .collect();
        v.sort();
        Ok(v)
    }
}

/// "records/templates/letters/reminder.html" or "built-in template letters/reminder.html".
pub fn origin_name(t: &TemplateFile) -> String {
    match &t.origin {
        Origin::Builtin => format!("built-in template letters/{}", t.file),
        Origin::Office(p) => p.display().to_string(),
    }
}

/// The template file, line and a one-line message of a tera error. The message quotes the
/// template's own text at the error (an expression such as `appointment.start`), never a
/// value from a record.
fn locate(
    e: &tera::Error,
    sources: &BTreeMap<String, String>,
) -> (Option<String>, Option<usize>, String) {
    use tera::ErrorKind;
    match e.kind() {
        ErrorKind::SyntaxError(r) | ErrorKind::RenderingError(r) => {
            let span = r.span();
            let snippet = sources
                .get(r.filename())
                .and_then(|s| s.get(span.range.clone()))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty() && s.len() <= 80 && !s.contains('\n'));
            let mut what = r.message().to_string();
            if let Some(s) = snippet
                && !what.contains(s)
            {
                what = format!("{what} (in `{s}`)");
            }
            let file = (!r.filename().is_empty()).then(|| r.filename().to_string());
            (file, Some(span.start_line), what)
        }
        _ => (None, None, template_error(e)),
    }
}

// ---- filters ----

fn register_filters(tera: &mut Tera, style: &Style) {
    let s = style.clone();
    tera.register_filter("money", move |v: &str, _: Kwargs, _: &State| {
        money_filter(v, &s.currency)
    });
    let s = style.clone();
    tera.register_filter("phone", move |v: &str, _: Kwargs, _: &State| {
        phone::display(v, &s.calling_code)
    });
    tera.register_filter("date", |v: &str, kw: Kwargs, _: &State| {
        let style = kw.get::<&str>("style").ok().flatten().unwrap_or("long");
        let lang = kw.get::<&str>("lang").ok().flatten().unwrap_or("en");
        date_filter(v, style, lang)
    });
    let s = style.clone();
    tera.register_filter("time", move |v: &str, kw: Kwargs, _: &State| {
        let lang = kw.get::<&str>("lang").ok().flatten().unwrap_or("en");
        time_filter(v, s.twelve_hour && lang == "en")
    });
}

/// `{{ balance | money }}`: a decimal string as the office writes money (`$1,025.50`).
pub fn money_filter(v: &str, currency: &str) -> tera::TeraResult<String> {
    let amount: rust_decimal::Decimal = v
        .trim()
        .parse()
        .map_err(|_| tera::Error::message("filter money: the value is not an amount"))?;
    Ok(money::display(amount, currency))
}

/// A date or a date-time (RFC 3339, as appointments store their office-local start).
fn parse_day(v: &str) -> Option<NaiveDate> {
    let v = v.trim();
    v.parse::<NaiveDate>()
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(v).ok().map(|t| t.date_naive()))
}

/// `{{ d | date }}` "Saturday, December 5, 2026"; `style="short"` "Dec 5, 2026";
/// `style="numeric"` "12/05/2026"; `lang="es"` "sábado, 5 de diciembre de 2026".
pub fn date_filter(v: &str, style: &str, lang: &str) -> tera::TeraResult<String> {
    let d =
        parse_day(v).ok_or_else(|| tera::Error::message("filter date: the value is not a date"))?;
    const EN_DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    const ES_DAYS: [&str; 7] = [
        "lunes",
        "martes",
        "miércoles",
        "jueves",
        "viernes",
        "sábado",
        "domingo",
    ];
    const ES_MONTHS: [&str; 12] = [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ];
    let wd = d.weekday().num_days_from_monday() as usize;
    let m = d.month();
    let month_en = crate::domain::dates::month_name(m);
    Ok(match (style, lang) {
        ("numeric", "en") => d.format("%m/%d/%Y").to_string(),
        ("numeric", _) => d.format("%d/%m/%Y").to_string(),
        ("short", "es") => format!(
            "{} {} {}",
            d.day(),
            &ES_MONTHS[m as usize - 1][..3],
            d.year()
        ),
        ("short", _) => format!("{} {}, {}", &month_en[..3], d.day(), d.year()),
        (_, "es") => format!(
            "{}, {} de {} de {}",
            ES_DAYS[wd],
            d.day(),
            ES_MONTHS[m as usize - 1],
            d.year()
        ),
        _ => format!("{}, {month_en} {}, {}", EN_DAYS[wd], d.day(), d.year()),
    })
}

/// `{{ appointment.start | time }}`: "9:30 AM" (12-hour offices) or "09:30".
pub fn time_filter(v: &str, twelve_hour: bool) -> tera::TeraResult<String> {
    let t: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(v.trim())
        .map_err(|_| tera::Error::message("filter time: the value is not a date and time"))?;
    Ok(if twelve_hour {
        let (pm, h) = t.hour12();
        format!("{h}:{:02} {}", t.minute(), if pm { "PM" } else { "AM" })
    } else {
        format!("{:02}:{:02}", t.hour(), t.minute())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style() -> Style {
        Style {
            currency: "USD".into(),
            calling_code: "1".into(),
            twelve_hour: true,
        }
    }

    #[test]
    fn filters_format_in_the_office_style() {
        assert_eq!(money_filter("1025.5", "USD").unwrap(), "$1,025.50");
        assert_eq!(money_filter("-25", "EUR").unwrap(), "-€25.00");
        let err = money_filter("lots", "USD").unwrap_err().to_string();
        assert!(err.contains("money") && !err.contains("lots"), "{err}");
        assert_eq!(
            date_filter("2026-12-05", "long", "en").unwrap(),
            "Saturday, December 5, 2026"
        );
        assert_eq!(
            date_filter("2026-12-05T09:30:00-05:00", "short", "en").unwrap(),
            "Dec 5, 2026"
        );
        assert_eq!(
            date_filter("2026-12-05", "numeric", "en").unwrap(),
            "12/05/2026"
        );
        assert_eq!(
            date_filter("2026-12-05", "long", "es").unwrap(),
            "sábado, 5 de diciembre de 2026"
        );
        assert!(date_filter("soon", "long", "en").is_err());
        assert_eq!(
            time_filter("2026-12-05T09:05:00-05:00", true).unwrap(),
            "9:05 AM"
        );
        assert_eq!(
            time_filter("2026-12-05T13:30:00-05:00", true).unwrap(),
            "1:30 PM"
        );
        assert_eq!(
            time_filter("2026-12-05T00:15:00-05:00", true).unwrap(),
            "12:15 AM"
        );
        assert_eq!(
            time_filter("2026-12-05T13:30:00-05:00", false).unwrap(),
            "13:30"
        );
        assert!(time_filter("2026-12-05", true).is_err());
    }

    #[test]
    fn file_names_split_into_name_language_and_format() {
        assert_eq!(
            split_file_name("reminder.es.html"),
            Some(("reminder", Some("es"), "html"))
        );
        assert_eq!(
            split_file_name("no-show.txt"),
            Some(("no-show", None, "txt"))
        );
        assert_eq!(split_file_name("_base.html"), Some(("_base", None, "html")));
        for other in [
            "README.md",
            "x.spanish.html",
            "Reminder.html",
            "logo.png",
            ".html",
        ] {
            assert_eq!(split_file_name(other), None, "{other}");
        }
    }

    fn office_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join(OFFICE_DIR);
        std::fs::create_dir_all(&d).unwrap();
        for (name, text) in files {
            std::fs::write(d.join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn office_files_override_add_and_translate() {
        let dir = office_dir(&[
            ("reminder.html", "<p>{{ patient.name }} office</p>"),
            ("reminder.es.txt", "Hola {{ patient.name }}"),
            ("flu-shot.txt", "Flu shots are here, {{ patient.name }}."),
            ("notes.md", "not a template"),
        ]);
        let l = Letters::load(dir.path(), &style()).unwrap();
        let data = serde_json::json!({"patient": {"name": "<b>Ana</b>"}});
        // The override wins, and escapes.
        let (file, lang) = l.pick("reminder", None, "html").unwrap();
        assert_eq!((file.as_str(), lang), ("reminder.html", None));
        assert_eq!(
            l.render(&file, &data).unwrap(),
            "<p>&lt;b&gt;Ana&lt;/b&gt; office</p>"
        );
        // The Spanish text variant for a Spanish speaker; the plain one when there is none.
        assert_eq!(
            l.pick("reminder", Some("es"), "txt").unwrap(),
            ("reminder.es.txt".to_string(), Some("es".to_string()))
        );
        assert_eq!(
            l.pick("reminder", Some("es"), "html").unwrap().0,
            "reminder.html"
        );
        assert_eq!(
            l.pick("reminder", Some("pt"), "txt").unwrap().0,
            "reminder.txt"
        );
        // Text is not escaped.
        assert_eq!(
            l.render("flu-shot.txt", &data).unwrap(),
            "Flu shots are here, <b>Ana</b>."
        );
        let err = l.pick("flu-shot", None, "html").unwrap_err();
        assert_eq!(err.message, "that letter template has no html version");
        let err = l.pick("nothing", None, "html").unwrap_err();
        assert_eq!(err.message, "no such letter template");
        assert!(err.hint.unwrap().contains("flu-shot, no-show"));
        let names = l.names();
        assert!(names.contains_key("flu-shot") && !names.contains_key("_base"));
        assert!(names["reminder"].iter().any(|t| t.overrides));
    }

    #[test]
    fn a_missing_value_names_the_file_line_and_expression() {
        let dir = office_dir(&[(
            "reminder.txt",
            "Dear {{ patient.name }},\n\nSee you at {{ appointment.start | time }}.\n",
        )]);
        let l = Letters::load(dir.path(), &style()).unwrap();
        let data = serde_json::json!({"patient": {"name": "Secret Name"}});
        let err = l.render("reminder.txt", &data).unwrap_err();
        assert!(err.message.contains("reminder.txt:3:"), "{}", err.message);
        assert!(err.message.contains("appointment"), "{}", err.message);
        assert!(!err.message.contains("Secret"), "{}", err.message);
        // A field the record lacks, inside a defined object.
        let dir = office_dir(&[("reminder.txt", "Hi\n{{ patient.email }}\n")]);
        let l = Letters::load(dir.path(), &style()).unwrap();
        let err = l.render("reminder.txt", &data).unwrap_err();
        assert!(err.message.contains("reminder.txt:2:"), "{}", err.message);
        assert!(err.message.contains("email"), "{}", err.message);
    }

    #[test]
    fn a_broken_office_template_is_named_with_its_line() {
        let dir = office_dir(&[("recall.html", "<p>\n{% if %}\n</p>")]);
        let err = Letters::load(dir.path(), &style()).err().unwrap();
        assert!(err.message.contains("recall.html:2"), "{}", err.message);
    }

    #[test]
    fn every_builtin_exists_in_both_formats() {
        let dir = tempfile::tempdir().unwrap();
        let l = Letters::load(dir.path(), &style()).unwrap();
        for name in BUILTIN_NAMES {
            for format in ["html", "txt"] {
                assert!(l.pick(name, None, format).is_ok(), "{name}.{format}");
            }
        }
    }
}
