use rayon::prelude::*;

use crate::cli::patient::find::{SUMMARY_HEADERS, summary_cells, warn_problems};
use crate::cli::{Ctx, found};
use crate::derived::index::{self, PatientIndex};
use crate::domain::patient::Status;
use crate::error::Result;
use crate::render;

/// List patients, sorted by name.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only patients with this status (default: active).
    #[arg(long, value_enum)]
    pub status: Option<Status>,
    /// Every patient, whatever the status.
    #[arg(long, conflicts_with = "status")]
    pub all: bool,
    /// Only patients with this desk flag (e.g. wheelchair).
    #[arg(long)]
    pub flag: Option<String>,
    /// At most this many.
    #[arg(long, short = 'n')]
    pub limit: Option<usize>,
}

/// The rows are read from the index bytes as they are printed: at 100,000 patients only the
/// sort keys are held besides the index (docs/performance.md).
pub fn cmd_list(ctx: &Ctx, args: Args) -> Result<u8> {
    let store = ctx.open()?;
    let want = format!("{:?}", args.status.unwrap_or(Status::Active)).to_lowercase();
    let index = match &args.flag {
        // Flags are not in the index: read the records themselves.
        Some(flag) => index::flagged(&store, &flag.to_lowercase())?,
        None => {
            let index = index::open(&store)?;
            warn_problems(&index.problems);
            index
        }
    };
    let mut order = sorted(&index, |status| args.all || status == want)?;
    order.truncate(args.limit.unwrap_or(usize::MAX));
    let cc = store.office.calling_code();
    // Every entry listed was read whole by `sorted`, so none is dropped here.
    let rows = || {
        order
            .iter()
            .filter_map(|&(_, _, i)| summary_cells(&index.doc(i)?, cc))
    };
    let any = render::print_rows(SUMMARY_HEADERS, ctx.format, rows)?;
    Ok(found(any))
}

/// The positions of the patients whose status `keep` accepts, by name (case aside), then ID,
/// then path; with the sort key and ID each is sorted by.
fn sorted(
    index: &PatientIndex,
    keep: impl Fn(&str) -> bool + Sync,
) -> Result<Vec<(String, &str, usize)>> {
    let keys: Vec<Option<(String, &str, usize)>> = (0..index.len())
        .into_par_iter()
        .map(|i| {
            let doc = index.doc(i).ok_or_else(index::malformed)?;
            let shown = doc.listing().ok_or_else(index::malformed)?;
            Ok(keep(shown.status).then(|| (shown.name.to_lowercase(), doc.patient_id(), i)))
        })
        .collect::<Result<_>>()?;
    let mut keys: Vec<_> = keys.into_iter().flatten().collect();
    // Stable: patients with the same name and ID (a copied file) stay in path order.
    keys.par_sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    Ok(keys)
}
