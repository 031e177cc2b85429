use std::path::PathBuf;

use crate::cli::Ctx;
use crate::cli::letter::{Book, VARIABLES, load_letters, render_sample};
use crate::error::{Error, Result, exit};
use crate::render::letters::{Letters, OFFICE_DIR, Origin, origin_name};
use crate::store::Store;

/// Check the office's letter templates: each parses, uses only known variables, and renders
/// for the sample patient. Also run by `frontdesk check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn cmd_check(ctx: &Ctx, _a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let problems = check_office_templates(&store)?;
    for p in &problems {
        eprintln!("frontdesk: {}", p.message(&store));
    }
    if problems.is_empty() {
        let office = load_letters(&store)?
            .files()
            .filter(|f| matches!(f.origin, Origin::Office(_)))
            .count();
        ctx.say(&format!(
            "{office} office letter templates checked: no problems"
        ));
        Ok(exit::OK)
    } else {
        Err(Error::user(format!(
            "{} problems in the office's letter templates",
            problems.len()
        ))
        .hint("fix them (docs/letters.md lists every variable), or delete a template to use the built-in one"))
    }
}

/// A problem with one office template.
#[derive(Debug)]
pub struct TemplateProblem {
    /// Relative to the records tree: `templates/letters/reminder.html` (the folder itself when
    /// the templates could not be loaded).
    pub file: PathBuf,
    pub line: Option<usize>,
    pub what: String,
}

impl TemplateProblem {
    pub fn message(&self, store: &Store) -> String {
        match self.line {
            Some(l) => format!("{}:{l}: {}", store.display(&self.file), self.what),
            None => format!("{}: {}", store.display(&self.file), self.what),
        }
    }
}

/// The problems with the office's letter templates (none: all well). A template that does not
/// parse stops the loading of all of them, so it is then the only problem reported.
pub fn check_office_templates(store: &Store) -> Result<Vec<TemplateProblem>> {
    let letters = match load_letters(store) {
        Ok(l) => l,
        Err(e) if e.kind == crate::error::Kind::User => {
            return Ok(vec![TemplateProblem {
                file: PathBuf::from(OFFICE_DIR),
                line: None,
                what: e.message,
            }]);
        }
        Err(e) => return Err(e),
    };
    let book = Book::load(store)?;
    Ok(problems(store, &letters, &book))
}

/// For `frontdesk check`: the same, except that a broken provider or appointment-types file
/// (which the records check lists itself) skips the templates instead of stopping the check.
fn check_office_templates_quietly(store: &Store) -> Result<Vec<TemplateProblem>> {
    match check_office_templates(store) {
        Err(e) if e.kind == crate::error::Kind::User => Ok(Vec::new()),
        other => other,
    }
}

fn problems(store: &Store, letters: &Letters, book: &Book) -> Vec<TemplateProblem> {
    let mut out = Vec::new();
    for t in letters.files() {
        if !matches!(t.origin, Origin::Office(_)) {
            continue;
        }
        let file = PathBuf::from(OFFICE_DIR).join(&t.file);
        let unknown: Vec<String> = match letters.variables(&t.file) {
            Ok(vars) => vars
                .into_iter()
                .filter(|v| !VARIABLES.contains(&v.as_str()))
                .collect(),
            Err(e) => vec![e.message],
        };
        if !unknown.is_empty() {
            out.push(TemplateProblem {
                file,
                line: None,
                what: format!(
                    "unknown variable {} (templates know {})",
                    unknown.join(", "),
                    VARIABLES.join(", ")
                ),
            });
            continue;
        }
        if t.name.starts_with('_') {
            continue; // a base or partial renders only through the letters that use it
        }
        if let Err(e) = render_sample(store, letters, book, &t.file) {
            // "<origin>:<line>: what; nothing was written" → line and what.
            let rest = e
                .message
                .strip_prefix(&origin_name(t))
                .unwrap_or(&e.message)
                .trim_start_matches(':');
            let (line, what) = match rest.split_once(": ") {
                Some((l, w)) if l.parse::<usize>().is_ok() => (l.parse().ok(), w),
                _ => (None, rest.trim()),
            };
            out.push(TemplateProblem {
                file,
                line,
                what: what.trim_end_matches("; nothing was written").to_string(),
            });
        }
    }
    out
}

/// The template problems as `frontdesk check` lists problems.
pub fn check_problems(store: &Store) -> Result<Vec<crate::domain::check::Problem>> {
    Ok(check_office_templates_quietly(store)?
        .into_iter()
        .map(|p| crate::domain::check::Problem {
            file: p.file,
            line: p.line,
            what: format!("letter template: {}", p.what),
            todo: "fix the template (docs/letters.md lists every variable), or delete it to use the built-in one; `frontdesk letter check` checks again".into(),
            fix: None,
            unreadable: false,
        })
        .collect())
}
