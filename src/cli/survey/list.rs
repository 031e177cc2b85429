use crate::cli::Ctx;
use crate::cli::report::yes;
use crate::domain::survey::{Month, Survey};
use crate::error::{Result, exit};
use crate::render::{Cell, Table};

/// List survey responses, oldest month first (comments are not shown: `survey show` has it).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// First month (YYYY-MM; default the first with responses).
    #[arg(long)]
    pub from: Option<String>,
    /// Last month (YYYY-MM; default the last with responses).
    #[arg(long)]
    pub to: Option<String>,
    /// Only responses about this provider.
    #[arg(long)]
    pub provider: Option<String>,
}

/// The months `--from`/`--to` name, each end defaulting to the first or last month on file.
pub fn months(
    store: &crate::store::Store,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Month, Month)> {
    let on_file = store.survey_months()?;
    let today = Month::of(store.office.today());
    let from = match from {
        Some(s) => Month::parse(s).map_err(|e| e.at("--from"))?,
        None => on_file.first().copied().unwrap_or(today),
    };
    let to = match to {
        Some(s) => Month::parse(s).map_err(|e| e.at("--to"))?,
        None => on_file.last().copied().unwrap_or(today),
    };
    Ok((from, to))
}

pub fn table() -> Table {
    Table::new(&[
        "survey",
        "month",
        "visit",
        "appointment",
        "provider",
        "channel",
        "received",
        "answers",
        "comment",
    ])
}

pub fn row(s: &Survey) -> Vec<Cell> {
    vec![
        Cell::code(s.id.to_string()),
        Cell::code(s.month.to_string()),
        s.visit.map_or(Cell::from(""), Cell::day),
        Cell::code(
            s.appointment
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default(),
        ),
        Cell::from(s.provider.as_str()),
        Cell::from(s.channel.as_str()),
        Cell::day(s.received),
        Cell::count(s.answers.len() as i64),
        yes(s.comment.is_some()),
    ]
}

pub fn cmd_list(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let (from, to) = months(&store, a.from.as_deref(), a.to.as_deref())?;
    let mut t = table();
    for s in store.surveys(from, to)? {
        if a.provider.as_ref().is_none_or(|p| &s.provider == p) {
            t.push(row(&s));
        }
    }
    let any = !t.is_empty();
    t.print(ctx.format)?;
    Ok(if any {
        exit::OK
    } else {
        crate::cli::found(false)
    })
}
