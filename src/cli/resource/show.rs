use crate::cli::Ctx;
use crate::cli::resource::{stale_flag, wants_json};
use crate::domain::phone;
use crate::error::{Result, exit};
use crate::render::{self, key_values};

/// Show one resource.
#[derive(Debug, clap::Args)]
pub struct Args {
    pub slug: String,
}

pub fn cmd_show(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let r = store.load_resource(&a.slug)?;
    if wants_json(ctx) {
        render::print_json(&r)?;
        return Ok(exit::OK);
    }
    if ctx.format == crate::render::Format::Csv {
        let mut t = super::list::table();
        t.push(super::list::row(&r, &store, store.office.today()));
        t.print(ctx.format)?;
        return Ok(exit::OK);
    }
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let verified = match (r.verified_on, &r.verified_by) {
        (Some(d), Some(by)) => format!("{d} by {by}"),
        (Some(d), None) => d.to_string(),
        _ => "never".into(),
    };
    let flag = stale_flag(&r, store.office.today());
    let text = key_values(&[
        ("Resource", r.slug.clone()),
        ("Service", r.name.clone()),
        ("Organization", r.organization.clone()),
        ("Description", opt(&r.description)),
        ("Needs", r.needs.join(", ")),
        ("Area", r.area.join(", ")),
        ("Languages", r.languages.join(", ")),
        ("Open", r.open_days.join(", ")),
        ("Hours", opt(&r.hours)),
        (
            "Phone",
            r.phone
                .as_ref()
                .map(|p| phone::display(p, store.office.calling_code()))
                .unwrap_or_default(),
        ),
        ("Website", opt(&r.website)),
        ("Email", opt(&r.email)),
        (
            "Address",
            r.address
                .as_ref()
                .map(|a| a.lines().join("\n"))
                .unwrap_or_default(),
        ),
        ("Eligibility", opt(&r.eligibility)),
        ("Fees", opt(&r.fees)),
        ("How to apply", opt(&r.application_process)),
        (
            "Verified",
            if flag.is_empty() {
                verified
            } else {
                format!("{verified} ({flag})")
            },
        ),
        (
            "Retired",
            r.retired.map(|d| d.to_string()).unwrap_or_default(),
        ),
    ]);
    render::print(&text)?;
    Ok(exit::OK)
}
