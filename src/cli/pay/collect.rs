use crate::cli::Ctx;
use crate::cli::pay::view::{BalanceView, EntryView, OfficeView, PatientView};
use crate::cli::pay::{PatientAmount, Posting, Tender, entry_id, report, summary};
use crate::domain::id::{Id, IdKind};
use crate::domain::ledger::{
    AppliesTo, Entry, Kind, Method, balance, check_idempotency_key, effective, find_by_key,
    same_payment,
};
use crate::error::{Error, Result, exit};
use crate::render::{self, templates::Templates};
use crate::store::Store;

/// Record a payment from a patient, and print and keep its receipt.
///
/// The receipt is rendered from the `receipt.txt` template (the office's own in
/// `templates/receipt.txt` wins over the built-in one) and kept in `receipts/`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub money: PatientAmount,
    #[command(flatten)]
    pub tender: Tender,
    /// The appointment it pays for (A…).
    #[arg(long)]
    pub appointment: Option<String>,
    /// It is the co-pay collected at check-in.
    #[arg(long, conflicts_with = "prepayment")]
    pub copay: bool,
    /// Paid ahead of a visit: kept as a credit until charges arrive.
    #[arg(long)]
    pub prepayment: bool,
    /// The charges it pays (T…); repeat for several.
    #[arg(long = "charge", value_name = "ENTRY")]
    pub charges: Vec<String>,
    /// A token naming this request: running the command again with the same key (a retry after
    /// a timeout) records nothing new and prints the first receipt.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Record it even though it repeats a payment of today (same amount, method and reference)
    /// or is above the office's `max_payment`.
    #[arg(long)]
    pub force: bool,
}

pub fn cmd_collect(ctx: &Ctx, a: Args) -> Result<u8> {
    let store = ctx.open()?;
    let (pid, amount) = a.money.parse()?;
    let reference = a.tender.reference()?;
    let appointment = a
        .appointment
        .as_deref()
        .map(|s| Id::parse_kind(s, IdKind::Appointment))
        .transpose()?;
    let charges = a
        .charges
        .iter()
        .map(|c| entry_id(c))
        .collect::<Result<Vec<_>>>()?;
    let key = a
        .idempotency_key
        .as_deref()
        .map(check_idempotency_key)
        .transpose()?;
    let templates = Templates::load(store.root())?;
    let posting = Posting::begin(&store, &pid)?;
    if let Some(k) = &key
        && let Some(done) = find_by_key(&posting.entries, k)
    {
        return replay(ctx, &store, done, amount, a.tender.method);
    }
    check_charges(&posting.entries, &charges)?;
    if !a.force {
        guard(
            ctx,
            &store,
            &posting.entries,
            &pid,
            amount,
            a.tender.method,
            reference.as_deref(),
        )?;
    }
    if let Some(id) = &appointment {
        check_appointment(&store, id, &pid)?;
    }
    let mut e = posting.entry(Kind::Payment, amount);
    e.method = Some(a.tender.method);
    e.reference = reference;
    e.appointment = appointment;
    e.applies_to = Some(applies_to(&a, &e));
    e.charges = charges;
    e.idempotency_key = key;
    let receipt = receipt(&store, &templates, &posting, &e)?;
    let receipt_rel = Store::receipt_rel(e.date, &e.id);
    let currency = store.office.currency.clone();
    let after = posting.post(&e, &[(receipt_rel, receipt.clone())])?;
    if ctx.format == crate::render::Format::Table && !ctx.quiet {
        render::print(&receipt)?;
        summary(ctx, &currency, &e, &after);
    } else {
        report(ctx, &currency, &e, &after)?;
    }
    Ok(exit::OK)
}

/// The counter's two mistakes: an amount far above what an office takes (`200000` for
/// `200.00`), and the same payment keyed twice. The first needs `--force`; the second is asked
/// about on a terminal and refused in a script, where no one can answer.
fn guard(
    ctx: &Ctx,
    store: &Store,
    entries: &[Entry],
    pid: &Id,
    amount: rust_decimal::Decimal,
    method: Method,
    reference: Option<&str>,
) -> Result<()> {
    let limit = store.office.max_payment();
    if amount > limit {
        return Err(Error::user(format!(
            "the amount is above the office's limit of {} for one payment",
            crate::domain::money::display(limit, &store.office.currency)
        ))
        .hint("check the amount; if it is right, run again with --force (the limit is max_payment in frontdesk.toml)"));
    }
    let today = store.office.today();
    if let Some(dup) = same_payment(entries, today, amount, method, reference) {
        let what = format!(
            "payment {} for {pid} today has the same amount, method and reference",
            dup.id
        );
        if ctx.interactive() && ctx.confirm(&format!("{what}. Record another one?"))? {
            return Ok(());
        }
        return Err(Error::conflict(format!("{what}; nothing was recorded"))
            .hint("if it really is a second payment, run again with --force"));
    }
    Ok(())
}

fn applies_to(a: &Args, e: &Entry) -> AppliesTo {
    if a.copay {
        AppliesTo::Copay
    } else if a.prepayment {
        AppliesTo::Prepayment
    } else if !a.charges.is_empty() {
        AppliesTo::Charges
    } else if e.appointment.is_some() {
        AppliesTo::Appointment
    } else {
        AppliesTo::Account
    }
}

/// A named appointment must exist and be this patient's.
pub fn check_appointment(store: &Store, id: &Id, patient: &Id) -> Result<()> {
    let appt = store.load_appointment(id)?;
    if &appt.patient != patient {
        return Err(
            Error::user(format!("appointment {id} is not patient {patient}'s"))
                .hint("check the IDs with `frontdesk schedule list --patient ID`"),
        );
    }
    Ok(())
}

/// Named charges must be this patient's charges, in effect (not voided).
fn check_charges(entries: &[Entry], charges: &[Id]) -> Result<()> {
    let live = effective(entries);
    for c in charges {
        if !live.iter().any(|e| &e.id == c && e.kind == Kind::Charge) {
            return Err(
                Error::user(format!("{c} is not a charge on this patient's ledger"))
                    .hint("see the charges with `frontdesk pay ledger PATIENT`"),
            );
        }
    }
    Ok(())
}

/// A retry with a key already used: the same payment prints its first receipt again; a
/// different payment under the same key is refused.
fn replay(
    ctx: &Ctx,
    store: &Store,
    done: &Entry,
    amount: rust_decimal::Decimal,
    method: Method,
) -> Result<u8> {
    if done.amount != amount || done.method != Some(method) {
        return Err(Error::conflict(format!(
            "idempotency key was already used for payment {} with a different amount or method",
            done.id
        ))
        .hint("use a new key for a new payment"));
    }
    ctx.say(&format!(
        "payment {} was already recorded with this key; nothing new was recorded",
        done.id
    ));
    if ctx.quiet || ctx.format != crate::render::Format::Table {
        render::print(&format!("{}\n", done.id))?;
        return Ok(exit::OK);
    }
    let path = store.path(&Store::receipt_rel(done.date, &done.id));
    match std::fs::read_to_string(&path) {
        Ok(text) => render::print(&text)?,
        Err(_) => render::print(&format!("{}\n", done.id))?,
    }
    Ok(exit::OK)
}

#[derive(serde::Serialize)]
struct ReceiptView {
    office: OfficeView,
    patient: PatientView,
    entry: EntryView,
    balance: BalanceView,
}

fn receipt(store: &Store, templates: &Templates, posting: &Posting, e: &Entry) -> Result<String> {
    let cur = &store.office.currency;
    let mut all = posting.entries.clone();
    all.push(e.clone());
    let view = ReceiptView {
        office: OfficeView::new(&store.office),
        patient: PatientView::new(&posting.patient),
        entry: EntryView::new(e, cur),
        balance: BalanceView::new(&balance(&all), cur),
    };
    templates.render("receipt.txt", &view)
}
