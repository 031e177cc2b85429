//! `frontdesk survey demo`: synthetic (fictional) responses for the past visits of a records
//! tree, as the sample clinic's were made; and the responses `demo generate` adds to a
//! generated clinic ([`generated`]). The answers come from `src/domain/demo_survey.rs`, where
//! the odds of a top-box answer fall with the wait.

use crate::cli::Ctx;
use crate::domain::demo::{self, Schedule};
use crate::domain::demo_survey::{self, DEMO_SHARE_PERCENT};
use crate::domain::report::waits::stay;
use crate::domain::schedule::Status;
use crate::domain::survey::Month;
use crate::domain::survey::instrument::Instrument;
use crate::error::{Error, Result, exit};
use crate::store::schedule::{APPOINTMENTS_DIR, day_dirs_in, years_in};
use crate::store::{Mode, Store, Txn, to_toml};

/// Add synthetic survey responses (fictional) to the checked-out visits that have none, for
/// demos and the sample clinic. The same --seed on the same tree gives the same responses.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The share of visits that get a response, in percent.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub share: u64,
    /// Anonymous responses to add as well, spread over the providers and the six months up to
    /// the last month with visits, a little better month by month (a trend to show).
    #[arg(long, default_value_t = 0)]
    pub anonymous: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn cmd_demo(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let inst = store.survey_instrument()?;
    let tz = store.office.tz()?;
    let today = store.office.today();
    let txn = store.begin()?;
    let mut n = 0u64;
    let mut filed = Vec::new();
    let mut months = Vec::new();
    let mut years = years_in(&store, APPOINTMENTS_DIR)?;
    years.reverse();
    for year in years {
        for (day, _) in day_dirs_in(&store, APPOINTMENTS_DIR, year)? {
            if day >= today {
                continue;
            }
            for ap in store.day_appointments(day)? {
                if ap.status != Status::Fulfilled {
                    continue;
                }
                n += 1;
                if !months.contains(&Month::of(day)) {
                    months.push(Month::of(day));
                }
                if !demo_survey::chosen(a.seed, n, a.share)
                    || !store.surveys_of_appointment(&ap.id, day)?.is_empty()
                {
                    continue;
                }
                let wait = stay(&ap, tz).and_then(|s| s.wait);
                let s = demo_survey::for_visit(&inst, a.seed, n, &ap, day, wait);
                filed.push(s);
            }
        }
    }
    let providers = store.keys_in("providers");
    let Some(last) = months.iter().max().copied() else {
        return finish(ctx, txn, filed);
    };
    if a.anonymous > 0 && providers.is_empty() {
        return Err(Error::user("no providers to file anonymous responses for")
            .hint("add providers first (`frontdesk provider add`)"));
    }
    // The six months up to the last one with visits, oldest first.
    let mut spread = vec![last];
    while spread.len() < TREND_MONTHS {
        let m = spread[0];
        let prev = if m.month == 1 {
            Month {
                year: m.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: m.year,
                month: m.month - 1,
            }
        };
        spread.insert(0, prev);
    }
    for i in 0..a.anonymous {
        let p = &providers[(i % providers.len() as u64) as usize];
        let k = (i / providers.len() as u64 % TREND_MONTHS as u64) as usize;
        let odds = 0.5 + 0.06 * k as f64;
        let s = demo_survey::anonymous(&inst, a.seed, n + 1 + i, p, spread[k], odds);
        filed.push(s);
    }
    finish(ctx, txn, filed)
}

/// How many months anonymous responses are spread over.
const TREND_MONTHS: usize = 6;

/// Files the responses: every ID is checked free first, so a refusal writes nothing (a second
/// run with the same seed draws the same IDs).
fn finish(ctx: &Ctx, mut txn: Txn, filed: Vec<crate::domain::survey::Survey>) -> Result<u8> {
    let store = txn.store();
    if let Some(s) = filed
        .iter()
        .find(|s| store.path(&Store::survey_rel(s.month, &s.id)).exists())
    {
        return Err(Error::conflict(format!(
            "survey {} is already filed: this tree has had demo responses with this seed",
            s.id
        ))
        .hint("give another --seed; nothing was written"));
    }
    for s in &filed {
        txn.save_survey(s, Mode::CreateNew)?;
    }
    txn.commit(&format!("Generate {} demo survey responses.", filed.len()))?;
    ctx.say(&format!("{} demo survey responses filed", filed.len()));
    Ok(exit::OK)
}

/// For `demo generate`: a response for about 20 % of the generated schedule's checked-out
/// visits (the same visits `plan` made: it is deterministic), written in bulk. Returns how
/// many were written.
pub fn generated(
    txn: &mut Txn,
    plan: &Schedule,
    wanted: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<u64> {
    let inst = Instrument::builtin();
    let tz = plan.tz;
    txn.put_bulk(
        plan.units_for(wanted),
        |unit| {
            let cap = wanted.saturating_sub(unit * demo::VISITS_PER_DAY);
            let mut files = Vec::new();
            for (i, v) in plan.provider_day(unit, cap).iter().enumerate() {
                let a = &v.appointment;
                let n = unit * 64 + i as u64;
                if a.status != Status::Fulfilled
                    || !demo_survey::chosen(plan.seed, n, DEMO_SHARE_PERCENT)
                {
                    continue;
                }
                let wait = stay(a, tz).and_then(|s| s.wait);
                let s = demo_survey::for_visit(&inst, plan.seed, n, a, a.date(), wait);
                files.push((Store::survey_rel(s.month, &s.id), to_toml(&s)?.into_bytes()));
            }
            Ok(files)
        },
        progress,
    )
}
