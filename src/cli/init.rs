use std::path::PathBuf;

use crate::domain::office::Office;
use crate::error::{Error, Result, exit};
use crate::history::git;
use crate::store::{self, OFFICE_FILE, Options, Store};

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
    /// Start from the sample clinic's setup: its providers and their hours, rooms,
    /// appointment types, payers and fee schedule (no patients), to try the tool at once.
    #[arg(long)]
    pub sample: bool,
}

/// The sample clinic's setup files (`records/` in the source tree), for `init --sample`.
const SAMPLE_SETUP: &[(&str, &str)] = &[
    (
        "providers/lindqvist.toml",
        include_str!("../../records/providers/lindqvist.toml"),
    ),
    (
        "providers/okafor.toml",
        include_str!("../../records/providers/okafor.toml"),
    ),
    (
        "providers/patel.toml",
        include_str!("../../records/providers/patel.toml"),
    ),
    (
        "rooms/exam-1.toml",
        include_str!("../../records/rooms/exam-1.toml"),
    ),
    (
        "rooms/exam-2.toml",
        include_str!("../../records/rooms/exam-2.toml"),
    ),
    (
        "rooms/exam-3.toml",
        include_str!("../../records/rooms/exam-3.toml"),
    ),
    (
        "rooms/north-exam.toml",
        include_str!("../../records/rooms/north-exam.toml"),
    ),
    (
        "rooms/procedure-1.toml",
        include_str!("../../records/rooms/procedure-1.toml"),
    ),
    (
        "rooms/ultrasound.toml",
        include_str!("../../records/rooms/ultrasound.toml"),
    ),
    (
        "payers/aetna-ppo.toml",
        include_str!("../../records/payers/aetna-ppo.toml"),
    ),
    (
        "payers/bcbs-ma.toml",
        include_str!("../../records/payers/bcbs-ma.toml"),
    ),
    (
        "payers/masshealth.toml",
        include_str!("../../records/payers/masshealth.toml"),
    ),
    (
        "payers/medicare-b.toml",
        include_str!("../../records/payers/medicare-b.toml"),
    ),
    (
        "payers/tufts-hp.toml",
        include_str!("../../records/payers/tufts-hp.toml"),
    ),
    (
        "appointment-types.toml",
        include_str!("../../records/appointment-types.toml"),
    ),
    ("services.toml", include_str!("../../records/services.toml")),
];

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
    let store = Store::init(
        &dir,
        office,
        Options {
            user,
            commit: !ctx.no_commit,
        },
        use_git,
    )?;
    if args.sample {
        let mut txn = store.begin()?;
        for (rel, text) in SAMPLE_SETUP {
            txn.put_bytes(
                std::path::Path::new(rel),
                text.as_bytes(),
                store::Mode::CreateNew,
            )?;
        }
        txn.commit(
            "Add the sample clinic's providers, rooms, appointment types, payers and fee schedule.",
        )?;
    }
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
