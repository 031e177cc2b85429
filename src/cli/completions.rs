use std::path::PathBuf;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{IoContext, Result, exit};

/// Print a shell completion script (`frontdesk completions bash > /etc/bash_completion.d/frontdesk`).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Write the man pages, one per command, generated from the same definitions as --help.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Directory for the pages (frontdesk.1, frontdesk-patient.1, …); without it, print frontdesk.1.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

pub fn cmd_completions(args: Args) -> Result<u8> {
    let mut cmd = Cli::command();
    // Into a buffer, then out through the one stdout writer: clap_complete writing to stdout
    // itself panicked on a closed pipe (`frontdesk completions zsh | head -2`).
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "frontdesk", &mut buf);
    crate::render::print(&String::from_utf8_lossy(&buf))?;
    Ok(exit::OK)
}

pub fn cmd_man(args: ManArgs) -> Result<u8> {
    let cmd = Cli::command();
    match args.out {
        Some(dir) => {
            std::fs::create_dir_all(&dir).at_path(&dir, "create")?;
            clap_mangen::generate_to(cmd, &dir).at_path(&dir, "write man pages to")?;
        }
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut buf)
                .map_err(|e| crate::error::Error::internal(e.to_string()))?;
            crate::render::print(&String::from_utf8_lossy(&buf))?;
        }
    }
    Ok(exit::OK)
}
