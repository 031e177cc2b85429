use crate::cli::resource::{phone_cell, stale_flag, verified_cell};
use crate::cli::{Ctx, found};
use crate::domain::needs;
use crate::domain::resource::{Hit, Query, day_entry, rank};
use crate::error::{Error, Result};
use crate::render::{Cell, Table};
use crate::store::Store;

/// Find services, best first: those serving the need, then by how well their area covers the
/// ZIP or city, then those serving the language, then the most recently verified. Services
/// nobody verified for 12 months are flagged; retired ones are left out.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The need to serve: transport, interpreter, food, housing, …
    #[arg(long)]
    pub need: Option<String>,
    /// The patient's ZIP code.
    #[arg(long)]
    pub zip: Option<String>,
    /// The patient's city.
    #[arg(long)]
    pub city: Option<String>,
    /// A language the patient speaks (ISO 639-1: es, pt, …).
    #[arg(long)]
    pub language: Option<String>,
    /// Open on this weekday (services whose days are unknown are kept).
    #[arg(long, value_name = "DAY")]
    pub open_on: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

pub fn cmd_find(ctx: &Ctx, a: Args) -> Result<u8> {
    let q = Query {
        need: a
            .need
            .as_deref()
            .map(|n| needs::category_word(n, "--need"))
            .transpose()?,
        zip: a.zip.as_deref().map(zip).transpose()?,
        city: a.city.clone(),
        language: a
            .language
            .as_deref()
            .map(|l| needs::language(l, "--language"))
            .transpose()?,
        open_on: a
            .open_on
            .as_deref()
            .map(|d| day_entry(d, "--open-on"))
            .transpose()?,
    };
    let store = ctx.open()?;
    let all = store.resources()?;
    let today = store.office.today();
    let hits = rank(&all, &q, today);
    let mut t = table();
    for (i, h) in hits.iter().take(a.limit).enumerate() {
        t.push(row(None, i + 1, h, &store, today));
    }
    t.print(ctx.format)?;
    Ok(found(!hits.is_empty()))
}

/// A ZIP code as typed: five digits, optionally with +4.
pub fn zip(input: &str) -> Result<String> {
    let z = input.trim();
    let ok = (z.len() == 5 || (z.len() == 10 && z.as_bytes()[5] == b'-'))
        && z.bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || i == 5);
    if !ok {
        return Err(Error::user("--zip is not a ZIP code like 02139"));
    }
    Ok(z[..5].to_string())
}

pub fn table() -> Table {
    Table::new(&[
        "need",
        "rank",
        "slug",
        "name",
        "area",
        "speaks",
        "languages",
        "phone",
        "verified",
        "flag",
    ])
}

/// One ranked service; `need` names the patient's need in `match`.
pub fn row(
    need: Option<&str>,
    rank: usize,
    h: &Hit,
    store: &Store,
    today: chrono::NaiveDate,
) -> Vec<Cell> {
    let r = h.resource;
    vec![
        Cell::from(need.unwrap_or_else(|| r.needs.first().map(String::as_str).unwrap_or(""))),
        Cell::count(rank),
        Cell::code(r.slug.as_str()),
        Cell::from(r.name.as_str()),
        Cell::from(h.area.as_str()),
        Cell::from(if h.speaks { "yes" } else { "" }),
        Cell::from(r.languages.join(", ")),
        phone_cell(r, store),
        verified_cell(r),
        Cell::from(stale_flag(r, today)),
    ]
}
