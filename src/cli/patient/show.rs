use crate::cli::Ctx;
use crate::cli::patient::patient_id;
use crate::domain::dates::age;
use crate::domain::insurance::rank_name;
use crate::domain::patient::{Patient, phone_kind_name};
use crate::domain::phone::display as phone_display;
use crate::error::{Result, exit};
use crate::render::{self, Cell, Format, Table};

/// Show one patient's record.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Patient ID (P…).
    pub id: String,
}

pub fn cmd_show(ctx: &Ctx, args: Args) -> Result<u8> {
    let store = ctx.open()?;
    let p = store.load_patient(&patient_id(&args.id)?)?;
    if let Some(into) = &p.merged_into {
        eprintln!(
            "frontdesk: note: {} was merged into {into}; this is the old chart (see `frontdesk patient show {into}`)",
            p.id
        );
    }
    // A record edited by hand may parse yet break a field rule: it is shown, and flagged.
    if let Err(e) = p.validate(
        store.office.today(),
        store.office.calling_code(),
        &store.office.country,
    ) {
        eprintln!(
            "frontdesk: warning: {}: {} (fix it with `frontdesk patient edit {}`)",
            store.display(&crate::store::Store::patient_rel(&p.id)),
            e.message,
            p.id
        );
    }
    match ctx.format {
        Format::Json => render::print_json(&p)?,
        Format::Csv | Format::Xlsx => {
            let mut t = Table::new(&[
                "id",
                "family",
                "given",
                "middle",
                "birth_date",
                "sex",
                "phone",
                "email",
                "address",
                "status",
            ]);
            t.push(vec![
                Cell::from(p.id.to_string()),
                Cell::from(p.family.as_str()),
                Cell::from(p.given.as_str()),
                Cell::from(p.middle.clone()),
                Cell::from(p.birth_date.to_string()),
                Cell::from(p.sex.as_str()),
                Cell::from(p.primary_phone().map(|ph| ph.number.clone())),
                Cell::from(p.email.clone()),
                Cell::from(p.address.as_ref().map(|a| a.lines().join(", "))),
                Cell::from(format!("{:?}", p.status).to_lowercase()),
            ]);
            t.print(ctx.format)?;
        }
        Format::Table | Format::Html => {
            let mut pairs = fields(&p, store.office.today(), store.office.calling_code());
            pairs.push(("Follow-ups", follow_ups(&store, &p)?));
            render::print_record(ctx.format, &pairs)?
        }
    }
    Ok(exit::OK)
}

/// The record as a person reads it at the desk, label by label.
pub fn fields(p: &Patient, today: chrono::NaiveDate, cc: &str) -> Vec<(&'static str, String)> {
    let mut name = p.list_name();
    if let Some(pref) = &p.preferred_name {
        name.push_str(&format!(" (goes by {pref})"));
    }
    let phones = p
        .phones
        .iter()
        .map(|ph| {
            let mut consent = Vec::new();
            if ph.voicemail_ok {
                consent.push("voicemail ok");
            }
            if ph.sms_ok {
                consent.push("text ok");
            }
            let consent = if consent.is_empty() {
                String::new()
            } else {
                format!(" ({})", consent.join(", "))
            };
            format!(
                "{:<6} {}{consent}",
                phone_kind_name(ph.kind),
                phone_display(&ph.number, cc)
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let contact = |c: &crate::domain::patient::Contact| {
        let mut s = c.name.clone();
        if let Some(r) = &c.relation {
            s.push_str(&format!(" ({r})"));
        }
        if let Some(ph) = &c.phone {
            s.push_str(&format!(" {}", phone_display(ph, cc)));
        }
        if let Some(d) = c.release_on_file {
            s.push_str(&format!(", release on file {d}"));
        }
        s
    };
    let insurance = p
        .insurance
        .iter()
        .map(|c| {
            let state = if c.active_on(today) {
                ""
            } else {
                " [not in force]"
            };
            let verified = c
                .last_verified()
                .map(|v| {
                    format!(", verified {} ({:?})", v.at.date_naive(), v.result).to_lowercase()
                })
                .unwrap_or_default();
            format!(
                "{:<9} {} member {}{}{verified}{state}",
                rank_name(c.rank),
                c.payer,
                c.member_id,
                c.group
                    .as_ref()
                    .map(|g| format!(" group {g}"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let pairs = vec![
        ("ID", p.id.to_string()),
        ("Name", name),
        (
            "Born",
            format!("{} (age {})", p.birth_date, age(p.birth_date, today)),
        ),
        ("Sex", p.sex.as_str().to_string()),
        ("Gender", p.gender_identity.clone().unwrap_or_default()),
        ("Pronouns", p.pronouns.clone().unwrap_or_default()),
        (
            "Status",
            match &p.merged_into {
                Some(into) => format!("merged into {into}"),
                None => format!("{:?}", p.status).to_lowercase(),
            },
        ),
        (
            "Merged from",
            p.merged_from
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "Marital status",
            p.marital_status.clone().unwrap_or_default(),
        ),
        ("Phones", phones),
        (
            "Email",
            p.email
                .as_ref()
                .map(|e| format!("{e}{}", if p.email_ok { " (email ok)" } else { "" }))
                .unwrap_or_default(),
        ),
        (
            "Prefers",
            p.contact_preference
                .map(|c| format!("{c:?}").to_lowercase())
                .unwrap_or_default(),
        ),
        (
            "Language",
            p.language
                .as_ref()
                .map(|l| {
                    format!(
                        "{l}{}",
                        if p.interpreter_needed {
                            ", interpreter needed"
                        } else {
                            ""
                        }
                    )
                })
                .unwrap_or_default(),
        ),
        (
            "Address",
            p.address
                .as_ref()
                .map(|a| a.lines().join("\n"))
                .unwrap_or_default(),
        ),
        (
            "SSN",
            p.ssn_last4
                .as_ref()
                .map(|s| format!("***-**-{s}"))
                .unwrap_or_default(),
        ),
        (
            "Emergency",
            p.emergency_contacts
                .iter()
                .map(contact)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        (
            "Guarantor",
            p.guarantor.as_ref().map(contact).unwrap_or_default(),
        ),
        (
            "May receive info",
            p.representatives
                .iter()
                .map(contact)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        ("Insurance", insurance),
        (
            "Needs",
            p.needs
                .iter()
                .map(|n| {
                    let mut s = format!("{} (noted {} by {})", n.need, n.noted_on, n.noted_by);
                    if let Some(note) = &n.note {
                        s.push_str(&format!(": {note}"));
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        ("Flags", p.flags.join(", ")),
        ("Notes", p.notes.clone().unwrap_or_default()),
        (
            "Other IDs",
            p.external_ids
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        (
            // The patient's own details, not the insurance (whose checks are listed above).
            "Details confirmed",
            p.verified.map(|d| d.to_string()).unwrap_or_else(|| {
                "not yet (confirm address, phone and contacts, then `patient update ID --verified`)"
                    .into()
            }),
        ),
        ("Updated", p.updated.format("%Y-%m-%d %H:%M").to_string()),
    ];
    pairs
}

/// The patient's open follow-ups from the communications log, one a line.
fn follow_ups(store: &crate::store::Store, p: &Patient) -> Result<String> {
    let open: Vec<String> = store
        .patient_open_communications(&p.id)?
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {}: {}{}",
                c.follow_up
                    .map(|d| d.format("%a %Y-%m-%d").to_string())
                    .unwrap_or_default(),
                c.id,
                c.channel.as_str(),
                crate::cli::comm::party_text(c),
                c.summary.lines().next().unwrap_or(""),
                c.assign
                    .as_ref()
                    .map(|a| format!(" [{a}]"))
                    .unwrap_or_default()
            )
        })
        .collect();
    Ok(open.join("\n"))
}
