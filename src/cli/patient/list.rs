use crate::cli::patient::find::{push_summary, summary_table, warn_problems};
use crate::cli::{Ctx, found};
use crate::domain::patient::Status;
use crate::error::Result;
use crate::store::index;

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

pub fn cmd_list(ctx: &Ctx, args: Args) -> Result<u8> {
    let store = ctx.open()?;
    let want = format!("{:?}", args.status.unwrap_or(Status::Active)).to_lowercase();
    let mut summaries = if let Some(flag) = &args.flag {
        // Flags are not in the index: read the records themselves.
        let flag = flag.to_lowercase();
        store
            .patients()?
            .into_iter()
            .filter(|p| p.flags.contains(&flag))
            .map(|p| index::PatientSummary::from_patient(&p))
            .collect()
    } else {
        let refreshed = index::patient_summaries(&store)?;
        warn_problems(&refreshed.problems);
        refreshed.summaries
    };
    summaries.retain(|s| args.all || s.status == want);
    summaries.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut t = summary_table();
    for s in summaries.iter().take(args.limit.unwrap_or(usize::MAX)) {
        push_summary(&mut t, s, store.office.calling_code());
    }
    t.print(ctx.format)?;
    Ok(found(!t.is_empty()))
}
