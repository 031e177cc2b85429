//! Every `--format html` output is one complete page: doctype, UTF-8, a title, the office, the
//! date or range it covers, print CSS and a footer, from `templates/page.html` through tera's
//! autoescape. Rows are escaped with [`escape_html`], the one escaper for record values that
//! do not pass through a template, so a streamed listing of 100,000 rows is the same page,
//! byte for byte, as the whole one.
//!
//! What a page is about is set by the command layer as it learns it: the title from the
//! command (`cli::run`), the office when the store opens, the date or range by the command
//! (`set_covers`). Without a range a page says when it was printed.

use std::sync::Mutex;

use serde::Serialize;
use tera::{Context, Tera};

use super::{Cell, escape_html};
use crate::error::{Error, Result};

const TEMPLATE: &str = include_str!("../../templates/page.html");
const ROWS: &str = "<!--rows-->\n";

#[derive(Debug, Clone, Default, Serialize)]
struct About {
    title: String,
    office: String,
    covers: Option<String>,
    printed: String,
}

static ABOUT: Mutex<Option<About>> = Mutex::new(None);

fn with_about(f: impl FnOnce(&mut About)) {
    if let Ok(mut guard) = ABOUT.lock() {
        f(guard.get_or_insert_with(About::default));
    }
}

/// The page's heading: what the output is ("Day sheet").
pub fn set_title(title: &str) {
    with_about(|a| a.title = title.to_string());
}

/// The office the page belongs to, and the office-local time it is printed at.
pub fn set_office(name: &str, printed: &str) {
    with_about(|a| {
        a.office = name.to_string();
        a.printed = printed.to_string();
    });
}

/// The date or range the output covers ("Mon 2026-11-30", "2026-11-01 to 2026-11-30").
pub fn set_covers(covers: impl Into<String>) {
    let covers = covers.into();
    with_about(|a| a.covers = Some(covers));
}

fn about() -> About {
    ABOUT
        .lock()
        .ok()
        .and_then(|g| g.clone())
        .unwrap_or_default()
}

#[derive(Serialize)]
struct Page<'a> {
    #[serde(flatten)]
    about: About,
    version: &'static str,
    record: bool,
    headers: &'a [&'a str],
    numeric: Vec<bool>,
    pairs: Vec<(&'a str, &'a str)>,
}

fn render(page: &Page) -> Result<String> {
    let mut tera = Tera::new();
    tera.add_raw_template("page.html", TEMPLATE)
        .map_err(|e| Error::internal(format!("built-in template page.html: {e}")))?;
    let context =
        Context::from_serialize(page).map_err(|e| Error::internal(format!("page data: {e}")))?;
    tera.render("page.html", &context)
        .map_err(|e| Error::internal(format!("built-in template page.html: {e}")))
}

/// True for cells aligned right (amounts, counts).
fn is_numeric(cell: &Cell) -> bool {
    matches!(cell, Cell::Money { .. } | Cell::Count(_) | Cell::Number(_))
}

/// A listing page cut where its rows go: (head, tail). `sample` is a row whose cells say
/// which columns are numbers (the first row, if any).
pub fn table_parts(headers: &[&str], sample: Option<&[Cell]>) -> Result<(String, String)> {
    let numeric = (0..headers.len())
        .map(|i| sample.and_then(|r| r.get(i)).is_some_and(is_numeric))
        .collect();
    let page = Page {
        about: about(),
        version: env!("CARGO_PKG_VERSION"),
        record: false,
        headers,
        numeric,
        pairs: Vec::new(),
    };
    let text = render(&page)?;
    let at = text
        .find(ROWS)
        .ok_or_else(|| Error::internal("built-in template page.html has no rows marker"))?;
    Ok((text[..at].to_string(), text[at + ROWS.len()..].to_string()))
}

/// One table row, every cell escaped.
pub fn row(cells: &[Cell]) -> String {
    let mut s = String::from("<tr>");
    for c in cells {
        let class = if is_numeric(c) { " class=\"num\"" } else { "" };
        s.push_str(&format!("<td{class}>{}</td>", escape_html(&c.text())));
    }
    s.push_str("</tr>\n");
    s
}

/// The row that stands in for an empty listing.
pub fn empty_row(columns: usize) -> String {
    format!(
        "<tr><td class=\"empty\" colspan=\"{}\">Nothing to list.</td></tr>\n",
        columns.max(1)
    )
}

/// One record as a page of labelled values (`patient show`, `schedule show`, …).
pub fn record(pairs: &[(&str, String)]) -> Result<String> {
    let page = Page {
        about: about(),
        version: env!("CARGO_PKG_VERSION"),
        record: true,
        headers: &[],
        numeric: Vec::new(),
        pairs: pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (*k, v.as_str()))
            .collect(),
    };
    render(&page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_page_escapes_every_value_and_says_whose_it_is() {
        set_title("Patient");
        set_office("Riverside <Family> Medicine", "2026-12-04 09:00");
        let html = record(&[
            ("Name", "<script>alert(1)</script>".into()),
            ("Address", "<img src=x onerror=alert(1)> & \"q\"".into()),
        ])
        .unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("Riverside &lt;Family&gt; Medicine"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
    }

    #[test]
    fn a_listing_page_is_cut_where_its_rows_go() {
        let cells = vec![Cell::from("<b>x</b>"), Cell::count(3)];
        let (head, tail) = table_parts(&["name", "count"], Some(&cells)).unwrap();
        assert!(head.contains("<th class=\"num\">count</th>"), "{head}");
        assert!(head.ends_with("<tbody>\n"), "{head}");
        assert!(tail.starts_with("</tbody>"), "{tail}");
        assert_eq!(
            row(&cells),
            "<tr><td>&lt;b&gt;x&lt;/b&gt;</td><td class=\"num\">3</td></tr>\n"
        );
    }
}
