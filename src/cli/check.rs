use std::time::Instant;

use crate::cli::Ctx;
use crate::domain::check::Problem;
use crate::error::{Result, exit};
use crate::render::{self, Cell, Format, Table};
use crate::store::Store;

/// Check every record file and the tree around them; list each problem with what to do.
///
/// Finds files that do not parse or break a field rule, records in the wrong place or with a
/// newer schema, duplicate IDs, references to records that do not exist, double bookings, git
/// conflict markers, leftover temporary files, permissions that let others read patient data,
/// a stuck write lock, and changes not yet committed. Exits 0 when all is well, 2 otherwise.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repair what is safe to repair without judgement: remove leftover temporary files and
    /// git lock files, and tighten permissions (files 0600, folders 0700).
    #[arg(long)]
    pub fix: bool,
}

pub fn cmd_check(ctx: &Ctx, args: Args) -> Result<u8> {
    let store = ctx.open()?;
    let started = Instant::now();
    let (mut report, fixed) = if args.fix {
        // Under the write lock no command is writing, so every temp file is a leftover.
        let _txn = store.begin()?;
        let report = store.check(true)?;
        let fixed = store.apply_fixes(&report.problems)?;
        (report, fixed)
    } else {
        (store.check(false)?, Vec::new())
    };
    report
        .problems
        .extend(crate::cli::letter::check_problems(&store)?);
    let remaining: Vec<&Problem> = report
        .problems
        .iter()
        .filter(|p| !fixed.contains(p))
        .collect();
    print_problems(&store, ctx.format, &remaining)?;
    for p in &fixed {
        ctx.say(&format!("fixed: {}: {}", store.display(&p.file), p.what));
    }
    let fixable = remaining.iter().filter(|p| p.fix.is_some()).count();
    ctx.say(&format!(
        "checked {} record{} in {:.1} s: {}{}",
        report.records,
        if report.records == 1 { "" } else { "s" },
        started.elapsed().as_secs_f64(),
        match remaining.len() {
            0 => "no problems".to_string(),
            1 => "1 problem".to_string(),
            n => format!("{n} problems"),
        },
        if fixable > 0 {
            format!(" ({fixable} fixable with --fix)")
        } else {
            String::new()
        }
    ));
    Ok(if remaining.is_empty() {
        exit::OK
    } else {
        exit::USER
    })
}

/// Prints problems as `file:line: what` with the next step below, or as a table for scripts.
pub fn print_problems(store: &Store, format: Format, problems: &[&Problem]) -> Result<()> {
    if format == Format::Table {
        let mut text = String::new();
        for p in problems {
            let place = match p.line {
                Some(l) => format!("{}:{l}", store.display(&p.file)),
                None => store.display(&p.file),
            };
            text.push_str(&format!("{place}: {}\n  next: {}\n", p.what, p.todo));
        }
        return render::print(&text);
    }
    if format == Format::Json {
        return render::print_json(&problems);
    }
    let mut t = Table::new(&["file", "line", "problem", "next", "fix"]);
    for p in problems {
        t.push(vec![
            Cell::from(p.file.display().to_string()),
            match p.line {
                Some(l) => Cell::count(l),
                None => Cell::from(""),
            },
            Cell::from(p.what.as_str()),
            Cell::from(p.todo.as_str()),
            Cell::from(
                p.fix
                    .map(|f| format!("{f:?}").to_lowercase())
                    .unwrap_or_default(),
            ),
        ]);
    }
    t.print(format)
}
