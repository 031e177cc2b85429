use crate::cli::Ctx;
use crate::cli::comm::{comm_id, party_text, state};
use crate::error::{Result, exit};
use crate::render::{self, Format, key_values};

/// Show one communication.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Communication ID (C…).
    pub id: String,
}

pub fn cmd_show(ctx: &Ctx, a: Args) -> Result<u8> {
    let id = comm_id(&a.id)?;
    let store = ctx.open()?;
    let c = store.load_communication(&id)?;
    if ctx.format == Format::Json {
        render::print_json(&c)?;
        return Ok(exit::OK);
    }
    if ctx.format == Format::Csv {
        let mut t = crate::cli::comm::table();
        t.push(crate::cli::comm::row(&c));
        t.print(Format::Csv)?;
        return Ok(exit::OK);
    }
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let pairs = vec![
        ("ID", c.id.to_string()),
        ("At", c.at.format("%a %Y-%m-%d %H:%M").to_string()),
        ("Logged by", c.by.clone()),
        (
            "Patient",
            c.patient
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
        ),
        ("With", party_text(&c)),
        ("Channel", c.channel.as_str().to_string()),
        ("Direction", c.direction.as_str().to_string()),
        ("Topic", c.topic.as_str().to_string()),
        ("Summary", c.summary.clone()),
        (
            "About",
            c.about
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("Resource", opt(&c.resource)),
        ("Warnings", c.warnings.join("\n")),
        (
            "Follow-up",
            c.follow_up
                .map(|d| format!("{} ({})", d.format("%a %Y-%m-%d"), state(&c)))
                .unwrap_or_default(),
        ),
        ("Assigned", opt(&c.assign)),
        (
            "Done",
            c.done
                .map(|d| {
                    format!(
                        "{} by {}",
                        d.format("%Y-%m-%d %H:%M"),
                        c.done_by.clone().unwrap_or_default()
                    )
                })
                .unwrap_or_default(),
        ),
        ("Outcome", opt(&c.done_note)),
    ];
    render::print(&key_values(&pairs))?;
    Ok(exit::OK)
}
