//! Built-in templates (receipts, statements, the closeout) embedded in the binary, which an
//! office overrides by putting a file of the same name in its records tree's `templates/`.
//!
//! Templates get values already formatted (money as `$125.00`, dates as text), so no number
//! ever reaches a template as a float. Templates whose name ends in `.html` escape every
//! value (tera's autoescape), so a name like `<script>` prints as text.

use std::path::Path;

use serde::Serialize;
use tera::{Context, Kwargs, State, Tera};

use crate::error::{Error, Result};

/// The built-in templates, by file name.
const BUILTIN: &[(&str, &str)] = &[
    ("receipt.txt", include_str!("../../templates/receipt.txt")),
    (
        "statement.txt",
        include_str!("../../templates/statement.txt"),
    ),
    (
        "statement.html",
        include_str!("../../templates/statement.html"),
    ),
    (
        "closeout.html",
        include_str!("../../templates/closeout.html"),
    ),
    (
        "reports/report.html",
        include_str!("../../templates/reports/report.html"),
    ),
];

/// Where an office keeps its own versions, relative to the records tree.
pub const OFFICE_DIR: &str = "templates";

pub struct Templates {
    tera: Tera,
}

impl Templates {
    /// The built-in templates, each replaced by `<records>/templates/<name>` when that exists.
    pub fn load(records: &Path) -> Result<Templates> {
        let mut tera = Tera::new();
        tera.register_filter("ljust", ljust);
        tera.register_filter("rjust", rjust);
        for (name, builtin) in BUILTIN {
            let custom = records.join(OFFICE_DIR).join(name);
            let (source, origin) = if custom.is_file() {
                let text = std::fs::read_to_string(&custom).map_err(|e| {
                    Error::io(&custom, "read", e).hint("save the template as UTF-8 text")
                })?;
                (text, custom.display().to_string())
            } else {
                (builtin.to_string(), format!("built-in template {name}"))
            };
            tera.add_raw_template(name, &source).map_err(|e| {
                Error::user(format!("{origin}: {}", template_error(&e)))
                    .hint("fix the template, or delete it to use the built-in one")
            })?;
        }
        Ok(Templates { tera })
    }

    /// Renders template `name` with `data` (a struct whose fields become template variables).
    pub fn render<T: Serialize>(&self, name: &str, data: &T) -> Result<String> {
        let context = Context::from_serialize(data)
            .map_err(|e| Error::internal(format!("template data for {name}: {e}")))?;
        let text = self.tera.render(name, &context).map_err(|e| {
            Error::user(format!("template {name}: {}", template_error(&e)))
                .hint(format!("check {OFFICE_DIR}/{name} in the records tree, or remove it to use the built-in one"))
        })?;
        Ok(if name.ends_with(".txt") {
            trim_lines(&text)
        } else {
            text
        })
    }
}

/// Tera's message and its causes on one line.
pub(crate) fn template_error(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text output without the trailing spaces column padding leaves.
pub(crate) fn trim_lines(text: &str) -> String {
    let mut out: String = text
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn width(kwargs: &Kwargs) -> usize {
    kwargs
        .get::<usize>("width")
        .ok()
        .flatten()
        .unwrap_or(0)
        .min(200)
}

/// `{{ x | ljust(width=20) }}`: pads on the right to a column width (text templates).
fn ljust(value: &str, kwargs: Kwargs, _: &State) -> String {
    let w = width(&kwargs);
    format!("{value:<w$}")
}

/// `{{ amount | rjust(width=10) }}`: pads on the left, for amounts in text columns.
fn rjust(value: &str, kwargs: Kwargs, _: &State) -> String {
    let w = width(&kwargs);
    format!("{value:>w$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_filters() {
        let ctx = Context::new();
        let state = State::new(&ctx);
        let kw = || Kwargs::from([("width", 6usize.into())]);
        assert_eq!(ljust("ab", kw(), &state), "ab    ");
        assert_eq!(rjust("1.00", kw(), &state), "  1.00");
        assert_eq!(rjust("longer than six", kw(), &state), "longer than six");
    }

    #[test]
    fn office_template_overrides_and_html_is_escaped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(OFFICE_DIR)).unwrap();
        std::fs::write(
            dir.path().join(OFFICE_DIR).join("statement.html"),
            "<p>{{ office.name }}</p>",
        )
        .unwrap();
        let t = Templates::load(dir.path()).unwrap();
        let data = serde_json::json!({"office": {"name": "<b>A&B</b>"}});
        assert_eq!(
            t.render("statement.html", &data).unwrap(),
            "<p>&lt;b&gt;A&amp;B&lt;/b&gt;</p>"
        );
    }

    #[test]
    fn a_broken_office_template_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(OFFICE_DIR)).unwrap();
        std::fs::write(dir.path().join(OFFICE_DIR).join("receipt.txt"), "{% if %}").unwrap();
        let err = Templates::load(dir.path()).err().unwrap();
        assert!(err.message.contains("receipt.txt"), "{}", err.message);
    }
}
