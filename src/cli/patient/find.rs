use crate::cli::{Ctx, found};
use crate::derived::index::{self, DocRef};
use crate::domain::search::Query;
use crate::domain::search::Searchable;
use crate::error::{Error, Result};
use crate::render::{Cell, Format, Table};

/// Find patients the way the desk asks: `smi jo 1980`, `doe 04/02/1980`, `617 555 0101`, a member ID or a patient ID.
///
/// Partial and out-of-order words, any date format, phone digits in any format; case, accents
/// and one typo forgiven. Best match first. Exits 1 when nothing matches.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to look for (several words are fine).
    #[arg(required = true, num_args = 1..)]
    pub query: Vec<String>,
    /// At most this many matches.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: usize,
    /// Include inactive and deceased patients.
    #[arg(long)]
    pub all: bool,
}

pub fn cmd_find(ctx: &Ctx, args: Args) -> Result<u8> {
    let store = ctx.open()?;
    let query = Query::parse(&args.query.join(" "), store.office.today());
    if query.is_empty() {
        return Err(Error::user("nothing to search for")
            .hint("give a name, a date of birth, a phone number or an ID"));
    }
    // A warm index is read a shard at a time, keeping only the matches; anything to refresh
    // or report takes the full path. Both rank with the same `search`.
    let index = match index::warm_matches(&store, &query) {
        Some(matches) => matches,
        None => index::open(&store)?,
    };
    warn_problems(&index.problems);
    // Scored straight from the index bytes; only the hits shown are decoded.
    let hits = index.search(&query, args.all)?;
    let mut t = Table::new(SUMMARY_HEADERS);
    for (_, doc) in hits.iter().take(args.limit) {
        let cells = summary_cells(doc, store.office.calling_code());
        t.push(cells.ok_or_else(index::malformed)?);
    }
    if t.is_empty() {
        ctx.say("no patient matches");
        // Scripts get an empty listing in their format (`[]`, a header line, a page).
        if ctx.format != Format::Table {
            t.print(ctx.format)?;
        }
    } else {
        t.print(ctx.format)?;
        if hits.len() > args.limit {
            ctx.say(&format!(
                "({} more; narrow the search or raise --limit)",
                hits.len() - args.limit
            ));
        }
    }
    Ok(found(!t.is_empty()))
}

pub const SUMMARY_HEADERS: &[&str] = &["id", "name", "born", "sex", "phone", "status"];

/// A patient's row in a listing; None only if its index entry is malformed.
pub fn summary_cells(doc: &DocRef, cc: &str) -> Option<Vec<Cell>> {
    let shown = doc.listing()?;
    Some(vec![
        Cell::from(doc.patient_id()),
        Cell::from(shown.name),
        Cell::from(doc.birth_date().to_string()),
        Cell::from(shown.sex),
        match shown.phone {
            Some(p) => Cell::phone(p, cc),
            None => Cell::from(""),
        },
        Cell::from(shown.status),
    ])
}

pub fn warn_problems(problems: &[Error]) {
    for p in problems.iter().take(5) {
        eprintln!("frontdesk: warning: skipped {}", p.message);
    }
    if problems.len() > 5 {
        eprintln!(
            "frontdesk: warning: … and {} more unreadable files; run `frontdesk check`",
            problems.len() - 5
        );
    }
}
