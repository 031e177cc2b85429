use crate::cli::Ctx;
use crate::domain::schedule::provider::{self, Provider, parse_hours_spec};
use crate::error::{Error, Result, exit};
use crate::store::{Mode, Store};

/// Add a provider, optionally with weekly hours.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Short key used on the command line, lowercase with hyphens (e.g. okafor).
    pub key: String,
    /// Full name (e.g. "Adaeze Okafor").
    #[arg(long)]
    pub name: String,
    /// e.g. MD, DO, NP, PA-C.
    #[arg(long)]
    pub credentials: Option<String>,
    /// e.g. "family medicine".
    #[arg(long)]
    pub specialty: Option<String>,
    /// National Provider Identifier (10 digits).
    #[arg(long)]
    pub npi: Option<String>,
    /// Weekly hours, repeatable: "mon-fri 08:00-17:00 break 12:00-13:00 [at LOCATION]".
    #[arg(long)]
    pub hours: Vec<String>,
}

pub fn cmd_add(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let p = Provider {
        schema: provider::SCHEMA,
        key: a.key.clone(),
        name: a.name.trim().to_string(),
        credentials: a.credentials.clone(),
        specialty: a.specialty.as_ref().map(|s| s.trim().to_lowercase()),
        npi: a.npi.as_ref().map(|n| n.trim().to_string()),
        active: true,
        hours: a
            .hours
            .iter()
            .map(|h| parse_hours_spec(h).map_err(|e| e.at("--hours")))
            .collect::<Result<_>>()?,
        time_off: Vec::new(),
        extra: Default::default(),
    };
    p.validate()?;
    let rel = Store::provider_rel(&p.key)?;
    let mut txn = store.begin()?;
    if store.path(&rel).exists() {
        return Err(Error::user(format!("provider {} already exists", p.key))
            .hint("choose another key, or change hours with `provider hours`"));
    }
    txn.put(&rel, &p, Mode::CreateNew)?;
    txn.commit(&format!("Add provider {}.", p.key))?;
    ctx.created("provider", &p.key)?;
    Ok(exit::OK)
}
