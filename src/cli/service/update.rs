use crate::cli::Ctx;
use crate::cli::service::description;
use crate::domain::money::parse_money;
use crate::domain::service::parse_code;
use crate::error::{Error, Result, exit};

/// Change a service's fee or description. Charges already made keep the fee they were made at.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CPT or HCPCS code.
    pub code: String,
    #[arg(long)]
    pub description: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub fee: Option<String>,
}

pub fn cmd_update(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let code = parse_code(&a.code)?;
    if a.description.is_none() && a.fee.is_none() {
        return Err(Error::user("nothing to change").hint("give --fee and/or --description"));
    }
    let fee = a
        .fee
        .as_deref()
        .map(|f| parse_money("--fee", f))
        .transpose()?;
    let desc = a.description.as_deref().map(description).transpose()?;
    let mut txn = store.begin()?;
    let mut f = store.load_services()?;
    let Some(s) = f.services.iter_mut().find(|s| s.code == code) else {
        return Err(
            Error::user(format!("service {code} is not on the fee schedule")).hint(format!(
                "add it with `frontdesk service add {code} --description … --fee …`"
            )),
        );
    };
    let mut changed = Vec::new();
    if let Some(fee) = fee.filter(|f| *f != s.fee) {
        s.fee = fee;
        changed.push("fee");
    }
    if let Some(d) = desc.filter(|d| *d != s.description) {
        s.description = d;
        changed.push("description");
    }
    if changed.is_empty() {
        ctx.say(&format!("service {code} unchanged"));
        return Ok(exit::OK);
    }
    txn.save_services(&f)?;
    txn.commit(&format!("Update service {code}: {}.", changed.join(", ")))?;
    ctx.say(&format!("service {code} updated: {}", changed.join(", ")));
    Ok(exit::OK)
}
