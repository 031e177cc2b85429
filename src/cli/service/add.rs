use crate::cli::Ctx;
use crate::cli::service::description;
use crate::domain::money::parse_money;
use crate::domain::service::{Service, parse_code};
use crate::error::{Error, Result, exit};

/// Add a service to the fee schedule.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CPT or HCPCS code, e.g. 99213 or J1100.
    pub code: String,
    #[arg(long)]
    pub description: String,
    /// The fee, e.g. 125.00.
    #[arg(long, allow_hyphen_values = true)]
    pub fee: String,
}

pub fn cmd_add(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let code = parse_code(&a.code)?;
    let service = Service {
        code: code.clone(),
        description: description(&a.description)?,
        fee: parse_money("--fee", &a.fee)?,
        extra: Default::default(),
    };
    let mut txn = store.begin()?;
    let mut f = store.load_services()?;
    if f.find(&code).is_some() {
        return Err(
            Error::user(format!("service {code} is already on the fee schedule")).hint(format!(
                "change it with `frontdesk service update {code} --fee …`"
            )),
        );
    }
    f.services.push(service);
    f.sort();
    txn.save_services(&f)?;
    txn.commit(&format!("Add service {code} to the fee schedule."))?;
    ctx.created("service", &code)?;
    Ok(exit::OK)
}
