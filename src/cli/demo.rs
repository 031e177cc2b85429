//! `frontdesk demo generate DIR`: a deterministic synthetic clinic at any size, for demos and
//! for the benchmarks in `bench/compare.sh` (see docs/performance.md).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use clap::Subcommand;

use crate::cli::Ctx;
use crate::cli::init::check_new_dir;
use crate::domain::demo;
use crate::domain::office::Office;
use crate::error::{Error, Result, exit};
use crate::history::git;
use crate::store::ledger::SERVICES_FILE;
use crate::store::schedule::APPOINTMENT_TYPES_FILE;
use crate::store::{self, Mode, Options, Store, Txn, to_toml};

#[derive(Debug, Subcommand)]
pub enum Command {
    Generate(GenerateArgs),
}

/// Generate a synthetic clinic (fictional people only) in a new records tree.
///
/// The same --seed and --as-of always give the same records. Files are written atomically but
/// synced once at the end and committed in one git commit, so a large clinic takes minutes.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The new records tree (must not exist, or be empty).
    pub dir: PathBuf,
    /// How many patients.
    #[arg(long, default_value_t = 1000)]
    pub patients: u64,
    /// About this many appointments (some 20 per provider per working day, going back in time
    /// from a few weeks ahead; 5-10 % of past ones no-shows), with their ledgers and about 1.2
    /// logged communications each (reminders, no-show calls, billing questions).
    #[arg(long, default_value_t = 0)]
    pub appointments: u64,
    /// Providers seeing patients (each with an exam room).
    #[arg(long, default_value_t = 20)]
    pub providers: usize,
    /// Seed for the random choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The day the clinic is generated "as of" (default: today).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Do not make the tree a git repository.
    #[arg(long)]
    pub no_git: bool,
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Generate(a) => cmd_generate(ctx, a),
    }
}

fn cmd_generate(ctx: &Ctx, args: GenerateArgs) -> Result<u8> {
    check_new_dir(&args.dir)?;
    if args.patients == 0 {
        return Err(Error::user("--patients must be at least 1")
            .hint("a clinic needs patients for its appointments"));
    }
    if args.providers == 0 || args.providers > 500 {
        return Err(Error::user("--providers must be between 1 and 500"));
    }
    let mut office = Office::new("Riverside Family Medicine (demo)", "America/New_York")?;
    // What letters and statements print: a generated clinic can send them as it is.
    office.phone = Some("+16175550100".into());
    office.address = Some(crate::domain::common::Address {
        line1: "120 Riverside Ave".into(),
        city: "Cambridge".into(),
        state: Some("MA".into()),
        postal_code: Some("02139".into()),
        ..Default::default()
    });
    let today = match &args.as_of {
        Some(s) => crate::domain::dates::parse_date(s, office.today())?,
        None => office.today(),
    };
    let now = opening_time(&office, today)?;
    let user = store::staff_user(&args.dir);
    let use_git = !args.no_git && git::available();
    let options = Options {
        user,
        commit: !ctx.no_commit,
    };
    let store = Store::init(&args.dir, office, options, use_git)?;
    let started = Instant::now();
    let show = !ctx.quiet && std::io::stderr().is_terminal();
    let progress = |n: u64| {
        if show {
            eprint!("\r  {n} records written");
        }
    };

    let mut txn = store.begin()?;
    for payer in demo::PAYERS {
        txn.put(
            &Store::payer_rel(payer.key)?,
            &payer.record(),
            Mode::CreateNew,
        )?;
    }
    let seed = args.seed;
    let patients = txn.put_bulk(
        args.patients,
        |n| {
            let p = demo::patient(seed, n, now);
            Ok(vec![(Store::patient_rel(&p.id), to_toml(&p)?.into_bytes())])
        },
        &progress,
    )?;
    let made = if args.appointments > 0 {
        write_schedule(&mut txn, &args, now, &progress)?
    } else {
        Generated::default()
    };
    let Generated {
        appointments,
        ledger,
        communications,
    } = made;
    txn.commit(&format!(
        "Generate demo clinic: {patients} patients, {appointments} appointments, {ledger} ledger entries, {communications} communications."
    ))?;
    if show {
        eprintln!();
    }
    ctx.say(&format!(
        "Generated {patients} patients, {appointments} appointments, {ledger} ledger entries and {communications} communications in {} in {:.1} s",
        args.dir.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(exit::OK)
}

/// How many dated records of each kind `write_schedule` wrote.
#[derive(Default)]
struct Generated {
    appointments: u64,
    ledger: u64,
    communications: u64,
}

/// Providers, rooms, appointment types and the fee schedule, then the appointments with their
/// ledgers and the communications about them.
fn write_schedule(
    txn: &mut Txn,
    args: &GenerateArgs,
    now: DateTime<FixedOffset>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Generated> {
    for p in demo::providers(args.providers)? {
        txn.put(&Store::provider_rel(&p.key)?, &p, Mode::CreateNew)?;
    }
    for r in demo::rooms(args.providers) {
        txn.put(&Store::room_rel(&r.key)?, &r, Mode::CreateNew)?;
    }
    txn.put(
        Path::new(APPOINTMENT_TYPES_FILE),
        &demo::appointment_types(),
        Mode::CreateNew,
    )?;
    txn.put(
        Path::new(SERVICES_FILE),
        &demo::fee_schedule(),
        Mode::CreateNew,
    )?;
    let tz = txn.store().office.tz()?;
    let plan = demo::Schedule::new(args.seed, args.patients, args.providers, now, tz);
    let wanted = args.appointments;
    let ledger = AtomicU64::new(0);
    let contacts = AtomicU64::new(0);
    let written = txn.put_bulk(
        plan.units_for(wanted),
        |unit| {
            let cap = wanted.saturating_sub(unit * demo::VISITS_PER_DAY);
            let mut files = Vec::new();
            for v in plan.provider_day(unit, cap) {
                let a = &v.appointment;
                let rel = Store::appointment_rel(a.start.date_naive(), &a.id);
                files.push((rel, to_toml(a)?.into_bytes()));
                for e in &v.ledger {
                    files.push((Store::ledger_rel(e.date, &e.id), to_toml(e)?.into_bytes()));
                }
                ledger.fetch_add(v.ledger.len() as u64, Ordering::Relaxed);
                for c in &v.communications {
                    let rel = Store::communication_rel(c.date(), &c.id);
                    files.push((rel, to_toml(c)?.into_bytes()));
                }
                contacts.fetch_add(v.communications.len() as u64, Ordering::Relaxed);
            }
            Ok(files)
        },
        progress,
    )?;
    crate::cli::survey::demo::generated(txn, &plan, wanted, progress)?;
    let (ledger, contacts) = (ledger.into_inner(), contacts.into_inner());
    Ok(Generated {
        appointments: written - ledger - contacts,
        ledger,
        communications: contacts,
    })
}

/// 09:00 on `day` in the office's time zone: the "now" every generated record is stamped with.
fn opening_time(office: &Office, day: NaiveDate) -> Result<chrono::DateTime<chrono::FixedOffset>> {
    let local = day.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default());
    office
        .tz()?
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.fixed_offset())
        .ok_or_else(|| Error::user("--as-of falls in a time-zone gap").hint("pick another day"))
}
