use crate::cli::Ctx;
use crate::cli::letter::load_letters;
use crate::error::{Result, exit};
use crate::render::letters::Origin;
use crate::render::{Cell, Table};

/// List the letter templates: built-in or the office's own, their formats and languages.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn cmd_list(ctx: &Ctx, _a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let letters = load_letters(&store)?;
    let mut t = Table::new(&["template", "formats", "languages", "source"]);
    for (name, files) in letters.names() {
        let mut formats: Vec<&str> = files.iter().map(|f| f.format.as_str()).collect();
        formats.sort();
        formats.dedup();
        let mut langs: Vec<&str> = files.iter().filter_map(|f| f.language.as_deref()).collect();
        langs.sort();
        langs.dedup();
        let office = files.iter().any(|f| matches!(f.origin, Origin::Office(_)));
        let overrides = files.iter().any(|f| f.overrides);
        let builtin = crate::render::letters::BUILTIN_NAMES.contains(&name);
        let source = match (builtin, overrides, office) {
            (true, true, _) => "office (overrides built-in)",
            (true, false, true) => "built-in, office variants",
            (true, false, false) => "built-in",
            (false, ..) => "office",
        };
        t.push(vec![
            Cell::code(name),
            Cell::from(formats.join(", ")),
            Cell::from(langs.join(", ")),
            Cell::from(source),
        ]);
    }
    t.print(ctx.format)?;
    Ok(exit::OK)
}
