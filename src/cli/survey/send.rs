use crate::cli::Ctx;
use crate::cli::letter::batch;
use crate::domain::dates::parse_day;
use crate::error::{Error, Result};

/// Ask the patients seen on a day to answer the survey: one `survey` letter per checked-out
/// visit, written to the outbox of `letter batch` for the SMS gateway, email relay or mail.
///
/// This is `letter batch survey --seen DATE`: the channel follows each patient's consent
/// (SMS only to a mobile marked sms_ok, email only with email_ok, …), deceased and deactivated
/// patients are skipped, and each visit is asked at most once: a visit already asked (a
/// `survey` letter about it is on file) or already answered (a response about it is filed) is
/// skipped. Only visits of the last 30 days are asked about.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The day of the visits: yesterday, today or a date in the last 30 days.
    #[arg(long, value_name = "DAY")]
    pub visits: String,
    /// Only this provider's visits.
    #[arg(long)]
    pub provider: Option<String>,
    /// List who would be asked, through which channel, and who is skipped; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// How far back a visit is still asked about (well inside the letter batch's 90 days of
/// "already sent", so a visit is never asked twice).
pub const ASK_WITHIN_DAYS: i64 = 30;

pub fn cmd_send(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let today = store.office.today();
    let day = parse_day(&a.visits, today).map_err(|e| e.at("--visits"))?;
    if day > today {
        return Err(Error::user("--visits is in the future")
            .hint("surveys ask about visits that took place: --visits yesterday"));
    }
    if (today - day).num_days() > ASK_WITHIN_DAYS {
        return Err(
            Error::user(format!("--visits is more than {ASK_WITHIN_DAYS} days ago"))
                .hint("a survey asked long after the visit is not comparable; ask within a month"),
        );
    }
    drop(store);
    batch::cmd_batch(
        ctx,
        batch::Args {
            template: "survey".into(),
            appointments: None,
            noshows: None,
            recall_due: false,
            as_of: None,
            new_patients: None,
            seen: Some(day.to_string()),
            provider: a.provider,
            kind: None,
            dry_run: a.dry_run,
        },
    )
}
