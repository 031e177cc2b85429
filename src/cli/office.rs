//! `frontdesk office …`: the office's settings and holidays from the command line, validated
//! and committed, instead of a hand edit of `frontdesk.toml`.

use std::path::Path;

use clap::Subcommand;

use crate::cli::{Ctx, found};
use crate::domain::common::Address;
use crate::domain::dates::parse_day;
use crate::domain::office::Office;
use crate::domain::{money, phone};
use crate::error::{Error, Result, exit};
use crate::render::{self, Cell, Table};
use crate::store::OFFICE_FILE;

#[derive(Debug, Subcommand)]
pub enum Command {
    Show(ShowArgs),
    Set(SetArgs),
    /// Days the office is closed: nothing is offered or booked on them.
    #[command(subcommand)]
    Holiday(HolidayCommand),
}

#[derive(Debug, Subcommand)]
pub enum HolidayCommand {
    Add(HolidayAddArgs),
    Remove(HolidayRemoveArgs),
    List(HolidayListArgs),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Show(_) => cmd_show(ctx),
        Command::Set(a) => cmd_set(ctx, a),
        Command::Holiday(HolidayCommand::Add(a)) => cmd_holiday_add(ctx, a),
        Command::Holiday(HolidayCommand::Remove(a)) => cmd_holiday_remove(ctx, a),
        Command::Holiday(HolidayCommand::List(a)) => cmd_holiday_list(ctx, a),
    }
}

/// Show the office's settings.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {}

fn cmd_show(ctx: &Ctx) -> Result<u8> {
    let store = ctx.open()?;
    let o = &store.office;
    if ctx.format == render::Format::Json {
        render::print_json(o)?;
        return Ok(exit::OK);
    }
    let cc = o.calling_code();
    let shown = |p: &Option<String>| {
        p.as_deref()
            .map(|p| phone::display(p, cc))
            .unwrap_or_default()
    };
    render::print_record(
        ctx.format,
        &[
            ("name", o.name.clone()),
            ("time zone", o.timezone.clone()),
            ("currency", o.currency.clone()),
            ("country", o.country.clone()),
            ("site", o.site.clone()),
            ("phone", shown(&o.phone)),
            ("fax", shown(&o.fax)),
            ("email", o.email.clone().unwrap_or_default()),
            (
                "address",
                o.address
                    .as_ref()
                    .map(|a| a.lines().join("\n"))
                    .unwrap_or_default(),
            ),
            ("max payment", money::display(o.max_payment(), &o.currency)),
            ("holidays", o.holidays.len().to_string()),
        ],
    )?;
    Ok(exit::OK)
}

/// Change the office's settings: name, contacts, address, time zone, payment limit.
#[derive(Debug, clap::Args)]
pub struct SetArgs {
    #[arg(long)]
    pub name: Option<String>,
    /// IANA time zone (America/New_York). Every stored time stays as it is: change it only to
    /// correct a wrong setting.
    #[arg(long)]
    pub timezone: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub fax: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub address: Option<String>,
    #[arg(long)]
    pub address2: Option<String>,
    #[arg(long)]
    pub city: Option<String>,
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long)]
    pub zip: Option<String>,
    /// The largest payment recorded without --force (see `pay collect`).
    #[arg(long, allow_hyphen_values = true)]
    pub max_payment: Option<String>,
}

fn bounded(field: &str, v: &str) -> Result<String> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > 200 || v.chars().any(char::is_control) {
        return Err(Error::user(format!(
            "{field} must be 1 to 200 characters of text"
        )));
    }
    Ok(v.to_string())
}

fn cmd_set(ctx: &Ctx, a: SetArgs) -> Result<u8> {
    change(ctx, "Update office settings.", |o| {
        let cc = o.calling_code().to_string();
        if let Some(v) = &a.name {
            o.name = bounded("--name", v)?;
        }
        if let Some(v) = &a.timezone {
            o.timezone = v.trim().to_string();
            o.tz().map_err(|e| e.at("--timezone"))?;
        }
        if let Some(v) = &a.phone {
            o.phone = Some(phone::normalize(v, &cc).map_err(|e| e.at("--phone"))?);
        }
        if let Some(v) = &a.fax {
            o.fax = Some(phone::normalize(v, &cc).map_err(|e| e.at("--fax"))?);
        }
        if let Some(v) = &a.email {
            let v = bounded("--email", v)?;
            if !v.contains('@') || v.contains(' ') {
                return Err(Error::user("--email is not an email address")
                    .hint("e.g. frontdesk@clinic.example"));
            }
            o.email = Some(v);
        }
        if a.address.is_some()
            || a.address2.is_some()
            || a.city.is_some()
            || a.state.is_some()
            || a.zip.is_some()
        {
            let mut addr = o.address.clone().unwrap_or_else(Address::default);
            if let Some(v) = &a.address {
                addr.line1 = bounded("--address", v)?;
            }
            if let Some(v) = &a.address2 {
                addr.line2 = Some(bounded("--address2", v)?);
            }
            if let Some(v) = &a.city {
                addr.city = bounded("--city", v)?;
            }
            if let Some(v) = &a.state {
                addr.state = Some(bounded("--state", v)?);
            }
            if let Some(v) = &a.zip {
                addr.postal_code = Some(bounded("--zip", v)?);
            }
            o.address = Some(addr);
        }
        if let Some(v) = &a.max_payment {
            o.max_payment = Some(money::parse_money("--max-payment", v)?);
        }
        Ok(())
    })
}

/// Close the office on a day.
#[derive(Debug, clap::Args)]
pub struct HolidayAddArgs {
    /// The day: 2026-12-25, or a word the desk uses (tomorrow, fri, +3d).
    pub date: String,
    /// What it is (e.g. "Christmas Day").
    #[arg(long)]
    pub name: String,
}

fn cmd_holiday_add(ctx: &Ctx, a: HolidayAddArgs) -> Result<u8> {
    let mut added = None;
    change(ctx, "Add office holiday.", |o| {
        let day = parse_day(&a.date, o.today()).map_err(|e| e.at("DATE"))?;
        if o.holidays.contains_key(&day) {
            return Err(Error::user(format!("{day} is already a holiday")));
        }
        o.holidays.insert(day, bounded("--name", &a.name)?);
        added = Some(day);
        Ok(())
    })?;
    if let Some(day) = added {
        // Visits already booked that day are the desk's to move.
        eprintln!(
            "frontdesk: note: the office is closed on {day}; see `frontdesk schedule day {day}` for visits to move"
        );
    }
    Ok(exit::OK)
}

/// Open the office again on a day that was a holiday.
#[derive(Debug, clap::Args)]
pub struct HolidayRemoveArgs {
    pub date: String,
}

fn cmd_holiday_remove(ctx: &Ctx, a: HolidayRemoveArgs) -> Result<u8> {
    change(ctx, "Remove office holiday.", |o| {
        let day = parse_day(&a.date, o.today()).map_err(|e| e.at("DATE"))?;
        o.holidays
            .remove(&day)
            .map(|_| ())
            .ok_or_else(|| Error::user(format!("{day} is not a holiday")))
    })
}

/// The office's holidays, from today on (`--all` for past ones too).
#[derive(Debug, clap::Args)]
pub struct HolidayListArgs {
    #[arg(long)]
    pub all: bool,
}

fn cmd_holiday_list(ctx: &Ctx, a: HolidayListArgs) -> Result<u8> {
    let store = ctx.open()?;
    let today = store.office.today();
    let mut t = Table::new(&["date", "name"]);
    for (d, n) in store
        .office
        .holidays
        .iter()
        .filter(|(d, _)| a.all || **d >= today)
    {
        t.push(vec![Cell::day(*d), Cell::from(n.as_str())]);
    }
    t.print(ctx.format)?;
    Ok(found(!t.is_empty()))
}

/// The one read-modify-write of the office file, under the lock, in one commit.
fn change(ctx: &Ctx, message: &str, f: impl FnOnce(&mut Office) -> Result<()>) -> Result<u8> {
    ctx.rewrite(
        Path::new(OFFICE_FILE),
        |store| crate::store::read_toml::<Office>(&store.path(Path::new(OFFICE_FILE))),
        f,
        message,
        "office settings saved",
    )
}
