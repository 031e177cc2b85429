//! `frontdesk patient insurance …`: a patient's coverages and eligibility checks.

use clap::Subcommand;

use crate::cli::patient::{modify, patient_id};
use crate::cli::{Ctx, found};
use crate::domain::dates::parse_date;
use crate::domain::insurance::{
    Coverage, Relationship, Subscriber, Verification, VerifyMethod, VerifyResult, parse_amount,
    parse_rank, rank_name,
};
use crate::error::{Error, Result, exit};
use crate::render::{self, Cell, Format, Table};

#[derive(Debug, Subcommand)]
pub enum Command {
    Add(AddArgs),
    List(ListArgs),
    Update(UpdateArgs),
    End(EndArgs),
    Verify(VerifyArgs),
}

pub fn run(ctx: &Ctx, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Add(a) => cmd_add(ctx, a),
        Command::List(a) => cmd_list(ctx, a),
        Command::Update(a) => cmd_update(ctx, a),
        Command::End(a) => cmd_end(ctx, a),
        Command::Verify(a) => cmd_verify(ctx, a),
    }
}

/// Terms of a coverage that `add` sets and `update` changes.
#[derive(Debug, clap::Args)]
pub struct Terms {
    #[arg(long)]
    pub plan: Option<String>,
    #[arg(long)]
    pub group: Option<String>,
    /// Co-pay for an office visit (e.g. 25.00).
    #[arg(long)]
    pub copay_office: Option<String>,
    #[arg(long)]
    pub copay_specialist: Option<String>,
    #[arg(long)]
    pub copay_urgent: Option<String>,
    /// Annual deductible.
    #[arg(long)]
    pub deductible: Option<String>,
}

impl Terms {
    fn apply(&self, c: &mut Coverage) -> Result<()> {
        if let Some(v) = &self.plan {
            c.plan = Some(v.trim().to_string()).filter(|s| !s.is_empty());
        }
        if let Some(v) = &self.group {
            c.group = Some(v.trim().to_string()).filter(|s| !s.is_empty());
        }
        for (flag, value, slot) in [
            ("--copay-office", &self.copay_office, &mut c.copay_office),
            (
                "--copay-specialist",
                &self.copay_specialist,
                &mut c.copay_specialist,
            ),
            ("--copay-urgent", &self.copay_urgent, &mut c.copay_urgent),
            ("--deductible", &self.deductible, &mut c.deductible),
        ] {
            if let Some(v) = value {
                *slot = Some(parse_amount(flag, v)?);
            }
        }
        Ok(())
    }
}

/// Add a coverage (primary, secondary or tertiary) to a patient.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Patient ID (P…).
    pub id: String,
    /// Payer key (see `frontdesk payer list`).
    #[arg(long)]
    pub payer: String,
    #[arg(long)]
    pub member_id: String,
    /// primary, secondary or tertiary.
    #[arg(long, default_value = "primary")]
    pub rank: String,
    /// First day of coverage (default: today).
    #[arg(long)]
    pub effective: Option<String>,
    /// Last day of coverage, if known.
    #[arg(long)]
    pub end: Option<String>,
    #[command(flatten)]
    pub terms: Terms,
    /// Who holds the policy.
    #[arg(long, value_enum, default_value = "self")]
    pub subscriber: Relationship,
    /// The subscriber's name, when not the patient.
    #[arg(long)]
    pub subscriber_name: Option<String>,
    #[arg(long)]
    pub subscriber_dob: Option<String>,
}

fn cmd_add(ctx: &Ctx, a: AddArgs) -> Result<u8> {
    let id = patient_id(&a.id)?;
    let store = ctx.open()?;
    store.load_payer(&a.payer)?;
    let rank = parse_rank(&a.rank)?;
    modify(ctx, &id, "Add insurance to", |p, rules| {
        let effective = match &a.effective {
            Some(d) => parse_date(d, rules.today).map_err(|e| e.at("--effective"))?,
            None => rules.today,
        };
        let end = a
            .end
            .as_deref()
            .map(|d| parse_date(d, rules.today).map_err(|e| e.at("--end")))
            .transpose()?;
        if p.insurance
            .iter()
            .any(|c| c.rank == rank && c.end.is_none_or(|e| e >= effective))
        {
            return Err(Error::user(format!("{id} already has {} coverage in force", rank_name(rank)))
                .hint(format!("end it first with `frontdesk patient insurance end {id} --rank {}`, or add this one as another rank", rank_name(rank))));
        }
        let subscriber_dob = a
            .subscriber_dob
            .as_deref()
            .map(|d| parse_date(d, rules.today).map_err(|e| e.at("--subscriber-dob")))
            .transpose()?;
        let mut c = Coverage {
            rank,
            payer: a.payer.clone(),
            plan: None,
            member_id: a.member_id.trim().to_string(),
            group: None,
            effective,
            end,
            copay_office: None,
            copay_specialist: None,
            copay_urgent: None,
            deductible: None,
            subscriber: Subscriber {
                relationship: a.subscriber,
                name: a.subscriber_name.clone(),
                birth_date: subscriber_dob,
            },
            verifications: Vec::new(),
        };
        a.terms.apply(&mut c)?;
        p.insurance.push(c);
        p.insurance.sort_by_key(|c| (c.end.is_some(), c.rank));
        Ok(())
    })?;
    ctx.say(&format!(
        "{id}: {} coverage with {} added",
        rank_name(rank),
        a.payer
    ));
    Ok(exit::OK)
}

/// List a patient's coverages, those in force first.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Patient ID (P…).
    pub id: String,
}

fn cmd_list(ctx: &Ctx, a: ListArgs) -> Result<u8> {
    let store = ctx.open()?;
    let p = store.load_patient(&patient_id(&a.id)?)?;
    if ctx.format == Format::Json {
        render::print_json(&p.insurance)?;
        return Ok(found(!p.insurance.is_empty()));
    }
    let today = store.office.today();
    let mut t = Table::new(&[
        "rank",
        "payer",
        "plan",
        "member id",
        "group",
        "effective",
        "end",
        "copay",
        "verified",
        "in force",
    ]);
    for c in &p.insurance {
        t.push(vec![
            Cell::from(rank_name(c.rank)),
            Cell::from(c.payer.as_str()),
            Cell::from(c.plan.clone()),
            Cell::code(c.member_id.as_str()),
            Cell::code(c.group.clone().unwrap_or_default()),
            Cell::from(c.effective.to_string()),
            Cell::from(c.end.map(|d| d.to_string())),
            match c.copay_office {
                Some(d) => Cell::money(d, &store.office.currency),
                None => Cell::from(""),
            },
            Cell::from(
                c.last_verified()
                    .map(|v| format!("{} {:?}", v.at.date_naive(), v.result).to_lowercase()),
            ),
            Cell::from(if c.active_on(today) { "yes" } else { "no" }),
        ]);
    }
    t.print(ctx.format)?;
    Ok(found(!t.is_empty()))
}

/// Which coverage: by rank, the one in force (or the latest) of that rank.
#[derive(Debug, clap::Args)]
pub struct Which {
    /// Patient ID (P…).
    pub id: String,
    /// primary, secondary or tertiary.
    #[arg(long, default_value = "primary")]
    pub rank: String,
}

fn pick(
    p: &mut crate::domain::patient::Patient,
    rank: u8,
    today: chrono::NaiveDate,
) -> Result<&mut Coverage> {
    let id = p.id.clone();
    let idx = p
        .insurance
        .iter()
        .position(|c| c.rank == rank && c.active_on(today))
        .or_else(|| {
            p.insurance
                .iter()
                .enumerate()
                .filter(|(_, c)| c.rank == rank)
                .max_by_key(|(_, c)| c.effective)
                .map(|(i, _)| i)
        })
        .ok_or_else(|| {
            Error::user(format!("{id} has no {} coverage", rank_name(rank)))
                .hint(format!("see `frontdesk patient insurance list {id}`"))
        })?;
    Ok(&mut p.insurance[idx])
}

/// Change a coverage's member ID, plan, group, co-pays or deductible.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub which: Which,
    #[arg(long)]
    pub member_id: Option<String>,
    #[command(flatten)]
    pub terms: Terms,
}

fn cmd_update(ctx: &Ctx, a: UpdateArgs) -> Result<u8> {
    let id = patient_id(&a.which.id)?;
    let rank = parse_rank(&a.which.rank)?;
    let fields = modify(ctx, &id, "Update insurance of", |p, rules| {
        let c = pick(p, rank, rules.today)?;
        if let Some(m) = &a.member_id {
            c.member_id = m.trim().to_string();
        }
        a.terms.apply(c)
    })?;
    ctx.say(&format!(
        "{id}: {}",
        if fields.is_empty() {
            "nothing changed"
        } else {
            "coverage updated"
        }
    ));
    Ok(exit::OK)
}

/// End a coverage (the patient changed plans or lost coverage). It stays on record.
#[derive(Debug, clap::Args)]
pub struct EndArgs {
    #[command(flatten)]
    pub which: Which,
    /// Last day of coverage (default: today).
    #[arg(long)]
    pub on: Option<String>,
}

fn cmd_end(ctx: &Ctx, a: EndArgs) -> Result<u8> {
    let id = patient_id(&a.which.id)?;
    let rank = parse_rank(&a.which.rank)?;
    modify(ctx, &id, "End insurance of", |p, rules| {
        let on =
            a.on.as_deref()
                .map(|d| parse_date(d, rules.today).map_err(|e| e.at("--on")))
                .transpose()?
                .unwrap_or(rules.today);
        let c = pick(p, rank, rules.today)?;
        if c.end.is_some_and(|e| e <= on) {
            return Err(Error::user(format!(
                "that {} coverage already ended",
                rank_name(rank)
            )));
        }
        c.end = Some(on);
        Ok(())
    })?;
    ctx.say(&format!("{id}: {} coverage ended", rank_name(rank)));
    Ok(exit::OK)
}

/// Record an eligibility check: when, by whom, how, and what the payer said.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub which: Which,
    /// How eligibility was checked.
    #[arg(long, value_enum, default_value = "portal")]
    pub via: VerifyMethod,
    /// What the payer said.
    #[arg(long, value_enum, default_value = "active")]
    pub result: VerifyResult,
    /// Call reference or transaction number.
    #[arg(long)]
    pub reference: Option<String>,
    #[arg(long)]
    pub note: Option<String>,
}

fn cmd_verify(ctx: &Ctx, a: VerifyArgs) -> Result<u8> {
    let id = patient_id(&a.which.id)?;
    let rank = parse_rank(&a.which.rank)?;
    let store = ctx.open()?;
    let by = store.options.user.clone();
    let at = store.office.now().fixed_offset();
    modify(ctx, &id, "Verify insurance of", |p, rules| {
        let c = pick(p, rank, rules.today)?;
        c.verifications.push(Verification {
            at,
            by,
            via: a.via,
            result: a.result,
            reference: a.reference.clone(),
            note: a.note.clone(),
        });
        Ok(())
    })?;
    let warn = if a.result == VerifyResult::Active {
        ""
    } else {
        " — not active: tell the patient before the visit"
    };
    let result = format!("{:?}", a.result).to_lowercase();
    ctx.say(&format!(
        "{id}: {} coverage verified ({result}){warn}",
        rank_name(rank)
    ));
    Ok(exit::OK)
}
