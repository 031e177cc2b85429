use crate::cli::Ctx;
use crate::domain::schedule::provider::hours_spec;
use crate::error::{Result, exit};
use crate::render::{self, Format};

/// Show a provider: details, weekly hours and time off to come.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Provider key.
    pub key: String,
}

pub fn cmd_show(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let p = store.load_provider(&a.key)?;
    if ctx.format == Format::Json {
        render::print_json(&p)?;
        return Ok(exit::OK);
    }
    let now = store.office.now().naive_local();
    let off = p
        .time_off
        .iter()
        .enumerate()
        .filter(|(_, t)| t.to > now)
        .map(|(i, t)| {
            format!(
                "{}. {} to {}{}",
                i + 1,
                t.from.format("%Y-%m-%d %H:%M"),
                t.to.format("%Y-%m-%d %H:%M"),
                t.reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    render::print_record(
        ctx.format,
        &[
            ("provider", p.key.clone()),
            ("name", p.display()),
            ("specialty", p.specialty.clone().unwrap_or_default()),
            ("NPI", p.npi.clone().unwrap_or_default()),
            (
                "status",
                if p.active {
                    "active".into()
                } else {
                    "inactive".into()
                },
            ),
            (
                "hours",
                p.hours
                    .iter()
                    .map(hours_spec)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            ("time off", off),
        ],
    )?;
    Ok(exit::OK)
}
