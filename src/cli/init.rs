use std::path::PathBuf;

use crate::domain::office::Office;
use crate::error::{Error, Result, exit};
use crate::store::{self, OFFICE_FILE, Options, Store, git};

/// Create a new records tree: office settings, a .gitignore, and a git repository.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to create it (default: the --records directory).
    pub dir: Option<PathBuf>,
    /// The office's name, for letterheads and statements.
    #[arg(long, default_value = "Our Practice")]
    pub name: String,
    /// IANA time zone of the office; every date and time in the records is local to it.
    #[arg(long, default_value = "America/New_York")]
    pub timezone: String,
    /// ISO 3166 country code: decides phone and postal-code rules.
    #[arg(long, default_value = "US")]
    pub country: String,
    /// ISO 4217 currency code.
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Site name, when several sites share one records history.
    #[arg(long, default_value = "main")]
    pub site: String,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// Do not make the tree a git repository (no audit trail).
    #[arg(long)]
    pub no_git: bool,
}

/// Refuses to make a records tree where one exists or where other files are.
pub fn check_new_dir(dir: &std::path::Path) -> Result<()> {
    if dir.join(OFFICE_FILE).exists() {
        return Err(
            Error::user(format!("{} is already a records tree", dir.display()))
                .hint("nothing was changed"),
        );
    }
    if dir.is_dir()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    {
        return Err(
            Error::user(format!("{} exists and is not empty", dir.display()))
                .hint("choose a new or empty directory"),
        );
    }
    Ok(())
}

pub fn cmd_init(ctx: &crate::cli::Ctx, args: Args) -> Result<u8> {
    let dir = args.dir.clone().unwrap_or_else(|| ctx.records.clone());
    check_new_dir(&dir)?;
    let mut office = Office::new(&args.name, &args.timezone)?;
    office.country = args.country.to_ascii_uppercase();
    office.currency = args.currency.to_ascii_uppercase();
    office.site = args.site.clone();
    if let Some(p) = &args.phone {
        office.phone = Some(crate::domain::phone::normalize(p, office.calling_code())?);
    }
    if let Some(e) = &args.email {
        crate::domain::validate::email_shape(e)?;
        office.email = Some(e.clone());
    }
    let user = store::staff_user(&dir);
    let use_git = !args.no_git && git::available();
    Store::init(
        &dir,
        office,
        Options {
            user,
            commit: !ctx.no_commit,
        },
        use_git,
    )?;
    if ctx.quiet {
        return Ok(exit::OK);
    }
    eprintln!(
        "Created records tree {}{}",
        dir.display(),
        if use_git { " (git repository)" } else { "" }
    );
    eprintln!(
        "  next: frontdesk --records {} patient add --first … --last … --dob YYYY-MM-DD --sex F",
        dir.display()
    );
    Ok(exit::OK)
}
