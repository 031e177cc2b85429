use crate::cli::Ctx;
use crate::cli::letter::letter_id;
use crate::error::{Result, exit};
use crate::render::{self, Format};

/// Print a letter exactly as it was sent, byte for byte (checked against its recorded hash).
///
/// `--format json` prints the letter's record instead.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The letter (L…).
    pub letter: String,
}

pub fn cmd_show(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let id = letter_id(&a.letter)?;
    let (date, letter) = store.find_letter(&id)?;
    if ctx.format == Format::Json {
        render::print_json(&letter)?;
        return Ok(exit::OK);
    }
    let bytes = store.letter_bytes(date, &letter)?;
    crate::cli::letter::print_bytes(&bytes)?;
    Ok(exit::OK)
}
