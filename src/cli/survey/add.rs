use crate::cli::Ctx;
use crate::cli::schedule::appointment_id;
use crate::domain::id::{Id, IdKind};
use crate::domain::survey::{Channel, Month, SCHEMA, Survey, parse_answers};
use crate::error::{Error, Result, exit};
use crate::store::Mode;

/// File one survey response, e.g. a paper form typed in at the desk.
///
/// About a visit: --appointment A… (provider, type, date, waits and desk staff then come from
/// the appointment). Anonymous: --provider KEY --month YYYY-MM. A visit has at most one
/// response (unless the instrument says repeat_responses = true). Prints the new survey's ID;
/// the comment goes into the record only, never into the commit message or an error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The visit the response is about (A…).
    #[arg(long, conflicts_with_all = ["provider", "month"], required_unless_present = "provider")]
    pub appointment: Option<String>,
    /// For an anonymous response: the provider it is about.
    #[arg(long, requires = "month")]
    pub provider: Option<String>,
    /// For an anonymous response: the month of the visit (YYYY-MM).
    #[arg(long, requires = "provider")]
    pub month: Option<String>,
    /// How the response came in.
    #[arg(long, value_enum)]
    pub channel: Channel,
    /// KEY=VALUE,… by question key: always/usually/sometimes/never or 1-4 for the CAHPS items,
    /// 0-10 for provider_rating and recommend (`survey show --questions` lists the keys).
    #[arg(long)]
    pub answers: String,
    /// The patient's free-text comment.
    #[arg(long)]
    pub comment: Option<String>,
    /// The day the response came in (default today).
    #[arg(long, value_name = "DATE")]
    pub received: Option<String>,
}

/// A comment as kept: trimmed, at most 2,000 characters, no control characters but line
/// breaks.
pub fn check_comment(c: Option<&str>) -> Result<Option<String>> {
    let Some(c) = c.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    if c.chars().count() > 2000 || c.chars().any(|ch| ch.is_control() && ch != '\n') {
        return Err(Error::user(
            "--comment is longer than 2,000 characters or holds control characters",
        )
        .hint("shorten it; line breaks are allowed"));
    }
    Ok(Some(c.to_string()))
}

pub fn cmd_add(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let inst = store.survey_instrument()?;
    let answers = parse_answers(&inst, &a.answers)?;
    let comment = check_comment(a.comment.as_deref())?;
    let today = store.office.today();
    let received = match &a.received {
        Some(s) => crate::domain::dates::parse_day(s, today).map_err(|e| e.at("--received"))?,
        None => today,
    };
    let appointment = a.appointment.as_deref().map(appointment_id).transpose()?;
    let mut txn = store.begin()?;
    let (month, visit, provider) = match &appointment {
        Some(id) => {
            let ap = store.load_appointment(id)?;
            super::refuse_visit(&store, &inst, &ap)?;
            (Month::of(ap.date()), Some(ap.date()), ap.provider.clone())
        }
        None => {
            let p = a.provider.clone().unwrap_or_default();
            store.load_provider(&p).map_err(|e| e.at("--provider"))?;
            let m = Month::parse(a.month.as_deref().unwrap_or_default())
                .map_err(|e| e.at("--month"))?;
            if m > Month::of(today) {
                return Err(Error::user("--month is in the future")
                    .hint("give the month of the visit the response is about"));
            }
            (m, None, p)
        }
    };
    if visit.is_some_and(|v| received < v) {
        return Err(
            Error::user("--received is before the visit").hint("give the day the response came in")
        );
    }
    let s = Survey {
        schema: SCHEMA,
        id: Id::generate(IdKind::Survey),
        month,
        appointment: appointment.clone(),
        visit,
        provider,
        channel: a.channel,
        received,
        instrument: inst.version,
        response_id: None,
        answers,
        comment,
        extra: toml::Table::new(),
    };
    txn.save_survey(&s, Mode::CreateNew)?;
    let msg = match &appointment {
        Some(ap) => format!("Add survey {} about appointment {ap}.", s.id),
        None => format!("Add anonymous survey {} for provider {}.", s.id, s.provider),
    };
    txn.commit(&msg)?;
    crate::render::print(&format!("{}\n", s.id))?;
    ctx.say(&format!(
        "survey {} filed ({} answers{})",
        s.id,
        s.answers.len(),
        if s.comment.is_some() {
            ", a comment"
        } else {
            ""
        }
    ));
    Ok(exit::OK)
}
