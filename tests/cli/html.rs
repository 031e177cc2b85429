//! Every `--format html` output is a complete page, and no element or attribute in it comes
//! from record data: a patient and a visit whose free-text fields hold markup are rendered by
//! every command that has an HTML form, and each page is parsed by an HTML5 parser. Commands
//! without an HTML form refuse it (exit 2).

use scraper::Html;

use crate::harness::*;

const HOSTILE: &str =
    "<script>alert(1)</script><img src=x onerror=alert(2)> & \"q\" 'a' </td></tr><b>";

/// The elements the page template itself uses; anything else came from data.
const TEMPLATE_ELEMENTS: &[&str] = &[
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "main",
    "table", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd", "footer", "div", "span", "br",
    "strong", "section", "address", "small",
];

/// Parses `html` and checks it is a whole page with nothing injected. Returns its text.
fn assert_safe_page(what: &str, html: &str) -> String {
    assert!(
        html.starts_with("<!DOCTYPE html>"),
        "{what}: not a complete page: {}",
        &html[..html.len().min(200)]
    );
    assert!(
        html.contains("<meta charset=\"utf-8\">"),
        "{what}: no charset"
    );
    let doc = Html::parse_document(html);
    assert!(
        doc.errors.is_empty() || !doc.errors.iter().any(|e| e.contains("Unexpected token")),
        "{what}: {:?}",
        doc.errors
    );
    for node in doc.tree.nodes() {
        if let Some(el) = node.value().as_element() {
            assert!(
                TEMPLATE_ELEMENTS.contains(&el.name()),
                "{what}: element <{}> came from record data",
                el.name()
            );
            for (name, _) in el.attrs() {
                assert!(
                    !name.starts_with("on") && name != "src" && name != "href",
                    "{what}: attribute {name} came from record data"
                );
            }
        }
    }
    let title = doc
        .select(&scraper::Selector::parse("title").unwrap())
        .next()
        .map(|t| t.text().collect::<String>())
        .unwrap_or_default();
    assert!(
        title.contains("Test Clinic"),
        "{what}: title {title:?} names no office"
    );
    doc.root_element().text().collect()
}

#[test]
fn no_html_output_carries_markup_from_record_data() {
    let c = Clinic::new();
    schedule_setup(&c);
    c.ok(&["payer", "add", "acme", "--name", HOSTILE]);
    let id = c.ok(&[
        "patient",
        "add",
        "--first",
        "Jane",
        "--last",
        "Doe",
        "--dob",
        "1980-04-02",
        "--sex",
        "F",
        "--address",
        "1 Main St",
        "--address2",
        HOSTILE,
        "--city",
        "Boston",
        "--state",
        "MA",
        "--zip",
        "02134",
        "--notes",
        HOSTILE,
        "--flag",
        HOSTILE,
    ]);
    let id = id.trim();
    c.ok(&[
        "patient",
        "insurance",
        "add",
        id,
        "--payer",
        "acme",
        "--member-id",
        "M123",
    ]);
    let mut book = book_args(id, 1);
    book.extend([
        "--reason".into(),
        HOSTILE.into(),
        "--notes".into(),
        HOSTILE.into(),
    ]);
    let appt = c.ok(&book.iter().map(String::as_str).collect::<Vec<_>>());
    let appt = appt.lines().next().unwrap().trim().to_string();
    c.ok(&[
        "pay",
        "collect",
        "--patient",
        id,
        "--amount",
        "25",
        "--method",
        "check",
        "--ref",
        "1042",
    ]);
    let day = "2027-01-04";
    let pages: Vec<Vec<&str>> = vec![
        vec!["patient", "show", id],
        vec!["patient", "list"],
        vec!["patient", "find", "doe"],
        vec!["patient", "insurance", "list", id],
        vec!["schedule", "day", day],
        vec!["schedule", "week", day],
        vec!["schedule", "list", "--patient", id],
        vec!["schedule", "show", &appt],
        vec!["schedule", "waiting"],
        vec!["pay", "ledger", id],
        vec!["pay", "balance", id],
        vec!["pay", "statement", id],
        vec!["pay", "closeout"],
        vec!["provider", "list"],
        vec!["provider", "show", "okafor"],
        vec!["payer", "list"],
        vec!["history", id],
        vec!["check"],
    ];
    for args in &pages {
        let mut full = vec!["--format", "html"];
        full.extend(args.iter().copied());
        let out = c
            .cmd()
            .env("FRONTDESK_NOW", SCHED_NOW)
            .args(&full)
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let html = String::from_utf8(out.stdout).unwrap();
        let text = assert_safe_page(&format!("{args:?}"), &html);
        // Where the hostile value is shown, it is shown as text.
        if html.contains("onerror") {
            assert!(
                text.contains("<img src=x onerror=alert(2)>"),
                "{args:?}: {text}"
            );
        }
    }
    // The day sheet says which day it is.
    let day_page = c.ok(&["--format", "html", "schedule", "day", day]);
    assert!(day_page.contains("Monday 2027-01-04"), "{day_page}");
}

#[test]
fn commands_without_an_html_form_refuse_it() {
    let c = Clinic::new();
    for args in [
        vec![
            "--format",
            "html",
            "patient",
            "add",
            "--first",
            "A",
            "--last",
            "B",
            "--dob",
            "1980-01-01",
            "--sex",
            "F",
        ],
        vec!["--format", "html", "payer", "add", "acme", "--name", "Acme"],
        vec!["--format", "html", "index", "rebuild"],
    ] {
        let err = c.fails(&args, 2);
        assert!(err.contains("has no HTML form"), "{args:?}: {err}");
    }
    assert!(
        c.files()
            .iter()
            .all(|f| !f.starts_with("patients/") && !f.starts_with("payers/"))
    );
}
