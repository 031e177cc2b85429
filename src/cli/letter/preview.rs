use crate::cli::Ctx;
use crate::cli::letter::{Book, load_letters, render_sample};
use crate::error::{Result, exit};
use crate::render;

/// Show a template rendered for a fictional sample patient; nothing is kept.
///
/// The sample patient (Jane Sample, P00000000) has every field a template may use, a visit
/// tomorrow at 9:30, a recall due and a summary, so a preview shows the whole letter.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The template (see `letter list`).
    pub template: String,
    /// html or txt.
    #[arg(long = "as", value_enum, default_value_t = super::render::Kind::Html)]
    pub kind: super::render::Kind,
    /// A language variant the office provides (e.g. es for reminder.es.html).
    #[arg(long)]
    pub language: Option<String>,
}

pub fn cmd_preview(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let letters = load_letters(&store)?;
    let book = Book::load(&store)?;
    let format = match a.kind {
        super::render::Kind::Html => "html",
        super::render::Kind::Txt => "txt",
    };
    let (file, _) = letters.pick(&a.template, a.language.as_deref(), format)?;
    let text = render_sample(&store, &letters, &book, &file)?;
    render::print(&text)?;
    ctx.say(&format!(
        "preview of {file} for the sample patient; nothing was kept"
    ));
    Ok(exit::OK)
}
