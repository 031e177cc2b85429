use crate::cli::Ctx;
use crate::cli::survey::survey_id;
use crate::error::{Result, exit};
use crate::render::{self, Cell, Format, Table, key_values};

/// Show one survey response with its answers (and comment), or the instrument's questions.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["id", "questions"])))]
pub struct Args {
    /// Survey ID (S…).
    pub id: Option<String>,
    /// List the instrument's questions: key, composite, scale and text.
    #[arg(long)]
    pub questions: bool,
}

pub fn cmd_show(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let inst = store.survey_instrument()?;
    let Some(id) = a.id else {
        let mut t = Table::new(&["key", "composite", "scale", "question"]);
        for q in &inst.questions {
            let (lo, hi) = q.scale.range();
            t.push(vec![
                Cell::code(q.key.clone()),
                Cell::from(q.composite.clone().unwrap_or_default()),
                Cell::from(format!("{lo}-{hi}")),
                Cell::from(q.text.as_str()),
            ]);
        }
        t.print(ctx.format)?;
        return Ok(exit::OK);
    };
    let s = store.load_survey(&survey_id(&id)?)?;
    if ctx.format == Format::Json {
        render::print_json(&s)?;
        return Ok(exit::OK);
    }
    if ctx.format == Format::Csv {
        let mut t = super::list::table();
        t.push(super::list::row(&s));
        t.print(Format::Csv)?;
        return Ok(exit::OK);
    }
    let answers: Vec<String> = s
        .answers
        .iter()
        .map(|(k, v)| match inst.question(k) {
            Some(q) => format!("{k} = {v}  ({})", q.text),
            None => format!("{k} = {v}  (not in instrument version {})", inst.version),
        })
        .collect();
    let pairs = vec![
        ("ID", s.id.to_string()),
        ("Month", s.month.to_string()),
        (
            "Appointment",
            s.appointment
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_else(|| "anonymous".into()),
        ),
        ("Visit", s.visit.map(|d| d.to_string()).unwrap_or_default()),
        ("Provider", s.provider.clone()),
        ("Channel", s.channel.as_str().to_string()),
        ("Received", s.received.to_string()),
        ("Instrument", format!("version {}", s.instrument)),
        ("Response ID", s.response_id.clone().unwrap_or_default()),
        ("Answers", answers.join("\n")),
        ("Comment", s.comment.clone().unwrap_or_default()),
    ];
    render::print(&key_values(&pairs))?;
    Ok(exit::OK)
}
