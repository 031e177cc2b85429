//! The command line: argument structs (their doc comments are the help text) and the thin glue
//! that calls the store and the domain. One file per command; a group is a folder.

mod apptype;
mod arg_errors;
mod check;
mod comm;
mod completions;
mod demo;
mod history;
mod index;
mod init;
mod letter;
mod office;
mod patient;
mod pay;
mod payer;
mod provider;
mod report;
mod resource;
mod room;
mod schedule;
mod service;
mod survey;
mod sync;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::{Result, exit};
use crate::render::Format;
use crate::store::{Options, Store, staff_user};

/// The front desk of a medical office, over plain files.
///
/// Records are TOML files, one per record, in a git-friendly tree (see `frontdesk init`).
#[derive(Debug, Parser)]
#[command(
    name = "frontdesk",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The records tree to work on.
    #[arg(
        long,
        global = true,
        env = "FRONTDESK_RECORDS",
        default_value = "records",
        value_name = "DIR"
    )]
    pub records: PathBuf,
    /// Output format for listings and records.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// CSV without the UTF-8 byte-order mark and with codes as they are: for scripts. The
    /// default is CSV for spreadsheets (see docs/output.md).
    #[arg(long, global = true, conflicts_with = "bom")]
    pub no_bom: bool,
    /// CSV for spreadsheets: a UTF-8 byte-order mark, codes kept as text (the default).
    #[arg(long, global = true)]
    pub bom: bool,
    /// Print only what scripts need (IDs), no summaries.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Write the files but make no git commit (for scripted batches that commit themselves).
    #[arg(long, global = true)]
    pub no_commit: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::Args),
    /// Patients: register, find, update, insurance, batch import.
    #[command(subcommand)]
    Patient(patient::Command),
    /// Insurance payers the office bills.
    #[command(subcommand)]
    Payer(payer::Command),
    /// Charges, payments, the patient ledger, statements and the daily closeout.
    #[command(subcommand)]
    Pay(pay::Command),
    /// Letters from templates, the correspondence file, and the nightly batches with their outbox.
    #[command(subcommand)]
    Letter(letter::Command),
    /// The fee schedule: CPT/HCPCS codes and fees.
    #[command(subcommand)]
    Service(service::Command),
    /// Providers: details, weekly hours with breaks, time off.
    #[command(subcommand)]
    Provider(provider::Command),
    /// The office's settings and holidays.
    #[command(subcommand)]
    Office(office::Command),
    /// Rooms and equipment that appointment types can need.
    #[command(subcommand)]
    Room(room::Command),
    /// Appointment types: duration, buffer, rooms, lead time, instructions, recall interval.
    #[command(subcommand)]
    Type(apptype::Command),
    /// Appointments and the visit flow: find, book, move, cancel, check in, day sheet, waitlist.
    #[command(subcommand)]
    Schedule(schedule::Command),
    /// The communications log: calls, messages and letters, with follow-ups that come due.
    #[command(subcommand)]
    Comm(comm::Command),
    /// Community services the desk refers patients to: add, find, match, verify, refer.
    #[command(subcommand)]
    Resource(resource::Command),
    /// The office's reports (daily, aging, no-shows, utilization, …) and the nightly run.
    #[command(subcommand)]
    Report(report::Command),
    /// Patient-satisfaction surveys (CG-CAHPS model): add, import, send, list, show.
    #[command(subcommand)]
    Survey(survey::Command),
    Check(check::Args),
    Sync(sync::Args),
    History(history::Args),
    /// The disposable search and lookup indexes under .frontdesk/.
    #[command(subcommand)]
    Index(index::Command),
    Completions(completions::Args),
    /// Generate a synthetic clinic of any size, for demos and benchmarks.
    #[command(subcommand)]
    Demo(demo::Command),
    Man(completions::ManArgs),
}

/// The commands with an HTML form (`--format html`) and a workbook form (`--format xlsx`), and
/// the heading of their page. Any other command refuses both (exit 2) rather than print
/// something that is not a page or a workbook.
const PAGES: &[(&str, &str)] = &[
    ("check", "Records check"),
    ("comm due", "Follow-ups due"),
    ("comm list", "Communications"),
    ("history", "History"),
    ("letter list", "Letter templates"),
    ("letter sent", "Letters sent"),
    ("patient find", "Patient search"),
    ("patient import", "Patient import"),
    ("patient insurance list", "Insurance coverage"),
    ("patient list", "Patients"),
    ("patient show", "Patient"),
    ("pay balance", "Balance"),
    ("pay closeout", "Closeout"),
    ("pay import", "Payment import"),
    ("pay ledger", "Patient ledger"),
    ("pay statement", "Statement"),
    ("office holiday list", "Holidays"),
    ("office show", "Office"),
    ("payer list", "Payers"),
    ("provider list", "Providers"),
    ("provider show", "Provider"),
    ("resource find", "Community services"),
    ("resource list", "Community services"),
    ("resource match", "Community services for a patient"),
    ("room list", "Rooms"),
    ("type list", "Appointment types"),
    ("report aging", "Accounts receivable aging"),
    ("report closeout", "Closeout"),
    ("report daily", "Daily report"),
    ("report missing-info", "Missing information"),
    ("report noshows", "No-shows and late cancels"),
    ("report productivity", "Productivity"),
    ("report recall", "Recall"),
    ("report satisfaction", "Patient satisfaction"),
    ("report utilization", "Provider utilization"),
    ("report wait-times", "Wait times"),
    ("schedule day", "Day sheet"),
    ("schedule find", "Free appointment times"),
    ("schedule list", "Appointments"),
    ("schedule rooms", "Rooms"),
    ("schedule show", "Appointment"),
    ("schedule waiting", "Waiting room"),
    ("schedule waitlist list", "Waitlist"),
    ("schedule week", "Week"),
    ("service list", "Fee schedule"),
    ("survey list", "Survey responses"),
];

/// What every command gets: the global flags and a way to open the store.
pub struct Ctx {
    pub records: PathBuf,
    pub format: Format,
    pub quiet: bool,
    pub no_commit: bool,
}

impl Ctx {
    pub fn open(&self) -> Result<Store> {
        let options = Options {
            user: staff_user(&self.records),
            commit: !self.no_commit,
        };
        let store = Store::open(&self.records, options)?;
        let now = store.office.now();
        crate::render::page::set_office(
            &store.office.name,
            &now.format("%Y-%m-%d %H:%M %Z").to_string(),
        );
        Ok(store)
    }

    /// The one read-modify-write of a settings file (`office`, `room`, `type`): under the lock,
    /// `load` it, let `change` alter (and check) it, write it back, one commit.
    pub fn rewrite<T: serde::Serialize>(
        &self,
        rel: &std::path::Path,
        load: impl FnOnce(&Store) -> Result<T>,
        change: impl FnOnce(&mut T) -> Result<()>,
        message: &str,
        done: &str,
    ) -> Result<u8> {
        let store = self.open()?;
        let mut txn = store.begin()?;
        let mut value = load(&store)?;
        change(&mut value)?;
        txn.put(rel, &value, crate::store::Mode::Replace)?;
        txn.commit(message)?;
        self.say(done);
        Ok(exit::OK)
    }

    /// True when a person is at the keyboard, so prompting is allowed.
    pub fn interactive(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    /// Asks on the terminal and returns the answer line, trimmed. Call only when
    /// `interactive()`.
    pub fn ask(&self, prompt: &str) -> Result<String> {
        use std::io::{BufRead, Write};
        eprint!("{prompt} ");
        std::io::stderr().flush().ok();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| crate::error::Error::internal(format!("cannot read the answer: {e}")))?;
        Ok(line.trim().to_string())
    }

    /// A yes/no question on the terminal (default no).
    pub fn confirm(&self, question: &str) -> Result<bool> {
        Ok(self
            .ask(&format!("{question} [y/N]"))?
            .to_lowercase()
            .starts_with('y'))
    }

    /// Which of `n` numbered choices (1..=n), asked on the terminal.
    pub fn pick(&self, n: usize) -> Result<usize> {
        match self.ask(&format!("Which one (1-{n})?"))?.parse::<usize>() {
            Ok(k) if (1..=n).contains(&k) => Ok(k - 1),
            _ => Err(crate::error::Error::user(
                "no choice was made; nothing was changed",
            )),
        }
    }

    /// What a command that creates a record keyed by the user (`payer add KEY`) prints: for
    /// people a line on stderr; for scripts the key in their format (a one-row listing in CSV,
    /// an object in JSON), so `--format` is honoured by every command.
    pub fn created(&self, kind: &str, key: &str) -> Result<()> {
        match self.format {
            Format::Json => crate::render::print_json(&serde_json::json!({ kind: key })),
            Format::Csv => {
                let mut t = crate::render::Table::new(&["kind", "key"]);
                t.push(vec![
                    crate::render::Cell::from(kind),
                    crate::render::Cell::code(key),
                ]);
                t.print(Format::Csv)
            }
            _ => {
                self.say(&format!("{kind} {key} added"));
                Ok(())
            }
        }
    }

    /// A one-line summary for people; suppressed by --quiet and for machine formats.
    pub fn say(&self, line: &str) {
        if !self.quiet && self.format == Format::Table {
            eprintln!("{line}");
        }
    }
}

pub fn run() -> Result<u8> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return argument_error(&e, &args),
    };
    crate::render::set_csv_for_spreadsheets(!cli.no_bom);
    crate::render::set_quiet(cli.quiet);
    if matches!(cli.format, Format::Html | Format::Xlsx) {
        let words: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let path = arg_errors::command_path(&words);
        match PAGES.iter().find(|(p, _)| *p == path) {
            Some((_, title)) => crate::render::page::set_title(title),
            None => {
                let form = if cli.format == Format::Html {
                    "HTML"
                } else {
                    "spreadsheet (xlsx)"
                };
                return Err(crate::error::Error::user(format!("`{path}` has no {form} form"))
                    .hint("use --format table, csv or json; HTML and xlsx are for listings, records, statements and reports"));
            }
        }
    }
    let ctx = Ctx {
        records: cli.records,
        format: cli.format,
        quiet: cli.quiet,
        no_commit: cli.no_commit,
    };
    match cli.command {
        Command::Init(args) => init::cmd_init(&ctx, args),
        Command::Patient(cmd) => patient::run(&ctx, cmd),
        Command::Payer(cmd) => payer::run(&ctx, cmd),
        Command::Pay(cmd) => pay::run(&ctx, cmd),
        Command::Letter(cmd) => letter::run(&ctx, cmd),
        Command::Service(cmd) => service::run(&ctx, cmd),
        Command::Provider(cmd) => provider::run(&ctx, cmd),
        Command::Schedule(cmd) => schedule::run(&ctx, cmd),
        Command::Office(cmd) => office::run(&ctx, cmd),
        Command::Room(cmd) => room::run(&ctx, cmd),
        Command::Type(cmd) => apptype::run(&ctx, cmd),
        Command::Comm(cmd) => comm::run(&ctx, cmd),
        Command::Resource(cmd) => resource::run(&ctx, cmd),
        Command::Report(cmd) => report::run(&ctx, cmd),
        Command::Survey(cmd) => survey::run(&ctx, cmd),
        Command::Check(args) => check::cmd_check(&ctx, args),
        Command::Sync(args) => sync::cmd_sync(&ctx, args),
        Command::History(args) => history::cmd_history(&ctx, args),
        Command::Index(cmd) => index::run(&ctx, cmd),
        Command::Completions(args) => completions::cmd_completions(args),
        Command::Demo(cmd) => demo::run(&ctx, cmd),
        Command::Man(args) => completions::cmd_man(args),
    }
}

/// Help and version go out as clap prints them; errors are rewritten so they never echo what
/// was typed (see `arg_errors`).
fn argument_error(e: &clap::Error, args: &[std::ffi::OsString]) -> Result<u8> {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // A closed pipe (`frontdesk --help | head -1`) is not an error.
            let _ = e.print();
            Ok(e.exit_code().clamp(0, 255) as u8)
        }
        _ => {
            let explained = arg_errors::explain(e, args);
            let err = crate::error::Error::user(explained.message);
            Err(match explained.hint {
                Some(h) => err.hint(h),
                None => err,
            })
        }
    }
}

/// Exit code for a search: 0 with results, 1 with none.
pub fn found(any: bool) -> u8 {
    if any { exit::OK } else { exit::NOT_FOUND }
}
