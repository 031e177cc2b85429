//! End-to-end tests for `frontdesk pay …` and `frontdesk service …`: every command, every
//! refusal, receipts and statements as snapshots, closeout totals, imports and the ledger index.

use std::process::Output;

use crate::harness::*;

/// The office clock for these tests (FRONTDESK_NOW), so dates in snapshots never move.
const NOW: &str = "2026-12-01T10:00:00-05:00";

fn run_at(c: &Clinic, now: &str, args: impl IntoArgs) -> Output {
    c.cmd()
        .env("FRONTDESK_NOW", now)
        .args(args.into_args())
        .output()
        .unwrap()
}

fn ok(c: &Clinic, args: impl IntoArgs) -> String {
    ok_at(c, NOW, args)
}

fn ok_at(c: &Clinic, now: &str, args: impl IntoArgs) -> String {
    let args = args.into_args();
    let out = run_at(c, now, args.as_slice());
    expect_ok(&args, out)
}

/// Runs a command that must fail with `code`, and checks it changed no file and made no commit.
fn refused(c: &Clinic, args: impl IntoArgs, code: i32) -> String {
    let args = args.into_args();
    let (files, commits) = (c.files(), c.commits());
    let out = run_at(c, NOW, args.as_slice());
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: stdout {} stderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(c.files(), files, "{args:?} changed files");
    assert_eq!(c.commits(), commits, "{args:?} committed");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        !err.contains("Doe") && !err.contains("Jane"),
        "PHI in error: {err}"
    );
    err
}

/// A clinic with a payer, a fee schedule and Jane Doe insured (office co-pay 25.00).
fn clinic() -> (Clinic, String) {
    let c = Clinic::new();
    ok(&c, "payer add aetna --name 'Aetna PPO'");
    for (code, desc, fee) in [
        ("99213", "Office visit, established patient", "125.00"),
        ("99214", "Office visit, established, moderate", "185.50"),
        ("J1100", "Dexamethasone injection 1 mg", "12"),
    ] {
        // A slice, not a shell line: the descriptions hold spaces and commas.
        ok(
            &c,
            &["service", "add", code, "--description", desc, "--fee", fee],
        );
    }
    let p = c.add_jane();
    ok(
        &c,
        format!(
            "patient insurance add {p} --payer aetna --member-id W100 --copay-office 25 --effective 2025-01-01"
        ),
    );
    ok(
        &c,
        format!(
            "patient update {p} --address '12 Elm Street' --city Boston --state MA --zip 02118"
        ),
    );
    (c, p)
}

fn id_of(out: &str) -> String {
    let id = out.lines().last().unwrap_or("").trim().to_string();
    assert!(id.starts_with('T') && id.len() == 9, "{out}");
    id
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap()
}

fn balance(c: &Clinic, p: &str) -> serde_json::Value {
    json(&ok(c, &["--format", "json", "pay", "balance", p]))
}

// ---- fee schedule ----

#[test]
fn service_list_add_update_and_refusals() {
    let (c, _) = clinic();
    let list = ok(&c, "service list");
    assert!(
        list.contains("99214") && list.contains("185.50") && list.contains("J1100"),
        "{list}"
    );
    let before = c.commits();
    ok(&c, "service update 99213 --fee 130");
    assert_eq!(c.commits(), before + 1);
    assert_eq!(
        c.commit_messages()[0],
        "testclerk|Update service 99213: fee."
    );
    let j = json(&ok(&c, "--format json service list"));
    assert_eq!(j[0]["fee"], "130.00");
    let err = refused(&c, "service add 9921 --description x --fee 1", 2);
    assert!(err.contains("not a CPT or HCPCS code"), "{err}");
    let err = refused(&c, "service add 99213 --description x --fee 1", 2);
    assert!(err.contains("already on the fee schedule"), "{err}");
    let err = refused(&c, "service add 99215 --description x --fee 0", 2);
    assert!(err.contains("more than zero"), "{err}");
    let err = refused(&c, "service add 99215 --description x --fee 1.005", 2);
    assert!(err.contains("two decimals"), "{err}");
    let err = refused(&c, "service update 99999 --fee 1", 2);
    assert!(err.contains("not on the fee schedule"), "{err}");
    let err = refused(&c, "service update 99213", 2);
    assert!(err.contains("nothing to change"), "{err}");
}

// ---- charges ----

#[test]
fn charge_bills_insurance_less_the_copay() {
    let (c, p) = clinic();
    let t = id_of(&ok(
        &c,
        format!("pay charge --patient {p} --service 99213 --service j1100"),
    ));
    let file = c.path(&format!("ledger/2026/12/01/{t}.toml"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("kind = \"charge\"") && text.contains("amount = \"137.00\""),
        "{text}"
    );
    assert!(
        text.contains("bill_to = \"insurance\"") && text.contains("patient_portion = \"25.00\"")
    );
    assert_eq!(
        c.commit_messages()[0],
        format!("testclerk|Record charge {t} for patient {p}.")
    );
    let b = balance(&c, &p);
    assert_eq!(
        (
            b["total"].as_str(),
            b["insurance"].as_str(),
            b["due_now"].as_str()
        ),
        (Some("137.00"), Some("112.00"), Some("25.00"))
    );
    ok(
        &c,
        format!("pay charge --patient {p} --service 99214 --bill-to patient --date -3d"),
    );
    assert_eq!(balance(&c, &p)["due_now"], "210.50");
    assert!(
        c.files()
            .iter()
            .any(|f| f.starts_with("ledger/2026/11/28/"))
    );
}

#[test]
fn charge_refusals() {
    let (c, p) = clinic();
    let err = refused(&c, format!("pay charge --patient {p} --service 99999"), 2);
    assert!(err.contains("not on the fee schedule"), "{err}");
    let err = refused(
        &c,
        format!("pay charge --patient {p} --service 99213 --copay 500"),
        2,
    );
    assert!(err.contains("more than the charge"), "{err}");
    let err = refused(
        &c,
        format!("pay charge --patient {p} --service 99213 --bill-to patient --copay 5"),
        2,
    );
    assert!(err.contains("only to charges billed to insurance"), "{err}");
    let err = refused(&c, "pay charge --patient PZZZZZZZZ --service 99213", 1);
    assert!(err.contains("no patient"), "{err}");
    let err = refused(
        &c,
        format!("pay charge --patient {p} --service 99213 --date 2026-02-30"),
        2,
    );
    assert!(err.contains("--date"), "{err}");
    refused(&c, format!("pay charge --patient {p}"), 2);
}

// ---- payments and receipts ----

#[test]
fn collect_prints_and_keeps_a_receipt_in_one_commit() {
    let (c, p) = clinic();
    ok(&c, format!("pay charge --patient {p} --service 99213"));
    let before = c.commits();
    let receipt = ok(
        &c,
        format!("pay collect --patient {p} --amount 25 --method card --ref 4242 --copay"),
    );
    let t = receipt
        .lines()
        .find_map(|l| l.strip_prefix("RECEIPT "))
        .unwrap()
        .to_string();
    assert_eq!(c.commits(), before + 1);
    assert_eq!(
        c.commit_messages()[0],
        format!("testclerk|Record payment {t} for patient {p}.")
    );
    let kept = std::fs::read_to_string(c.path(&format!("receipts/2026/12/01/{t}.txt"))).unwrap();
    assert_eq!(kept, receipt);
    insta::assert_snapshot!(
        "receipt",
        receipt.replace(&t, "T-RECEIPT").replace(&p, "P-JANE")
    );
}

#[test]
fn a_retried_collect_never_records_twice() {
    let (c, p) = clinic();
    let args = [
        "--quiet",
        "pay",
        "collect",
        "--patient",
        &p,
        "--amount",
        "40",
        "--method",
        "cash",
        "--idempotency-key",
        "desk1-0001",
    ];
    let first = ok(&c, &args);
    let (files, commits) = (c.files(), c.commits());
    let second = ok(&c, &args);
    assert_eq!(first, second);
    assert_eq!((c.files(), c.commits()), (files, commits));
    assert_eq!(balance(&c, &p)["credit"], "40.00");
    let err = refused(
        &c,
        format!("pay collect --patient {p} --amount 41 --method cash --idempotency-key desk1-0001"),
        3,
    );
    assert!(err.contains("already used"), "{err}");
}

#[test]
fn collect_refusals() {
    let (c, p) = clinic();
    for (amount, why) in [
        ("0", "more than zero"),
        ("-5", "negative"),
        ("1.234", "two decimals"),
        ("abc", "not an amount"),
        ("10000000", "more than"),
    ] {
        let err = refused(
            &c,
            format!("pay collect --patient {p} --amount {amount} --method cash"),
            2,
        );
        assert!(
            err.contains(why) && err.contains("--amount"),
            "{amount}: {err}"
        );
    }
    let err = refused(
        &c,
        format!("pay collect --patient {p} --amount 5 --method card --ref 4242424242424242"),
        2,
    );
    assert!(err.contains("last four digits"), "{err}");
    let err = refused(
        &c,
        format!("pay collect --patient {p} --amount 5 --method check"),
        2,
    );
    assert!(err.contains("check number"), "{err}");
    let err = refused(
        &c,
        format!("pay collect --patient {p} --amount 5 --method cash --charge T00000000"),
        2,
    );
    assert!(err.contains("not a charge"), "{err}");
    let err = refused(
        &c,
        format!("pay collect --patient {p} --amount 5 --method cash --idempotency-key 'a b'"),
        2,
    );
    assert!(err.contains("idempotency key"), "{err}");
    refused(
        &c,
        format!("pay collect --patient {p} --amount 5 --method bitcoin"),
        2,
    );
}

// ---- insurance, adjustments, refunds, voids ----

#[test]
fn insurance_payment_settles_charges_and_moves_the_rest_to_the_patient() {
    let (c, p) = clinic();
    let charge = id_of(&ok(&c, format!("pay charge --patient {p} --service 99213")));
    ok(
        &c,
        format!("pay collect --patient {p} --amount 25 --method cash --copay"),
    );
    assert_eq!(balance(&c, &p)["due_now"], "0.00");
    let t = id_of(&ok(
        &c,
        format!(
            "pay insurance --patient {p} --payer aetna --paid 70 --allowed 100 --patient-resp 30 --claim CLM-1 --charge {charge}"
        ),
    ));
    let text = std::fs::read_to_string(c.path(&format!("ledger/2026/12/01/{t}.toml"))).unwrap();
    assert!(
        text.contains("contractual = \"25.00\"") && text.contains(&charge),
        "{text}"
    );
    let b = balance(&c, &p);
    // 125 − 25 co-pay − 70 paid − 25 contractual = 5 left for the patient.
    assert_eq!(
        (
            b["total"].as_str(),
            b["insurance"].as_str(),
            b["due_now"].as_str()
        ),
        (Some("5.00"), Some("0.00"), Some("5.00"))
    );
    let err = refused(
        &c,
        format!("pay insurance --patient {p} --payer aetna --paid 10"),
        2,
    );
    assert!(err.contains("no charges are waiting"), "{err}");
    let err = refused(&c, format!("pay void {charge} --reason 'wrong code'"), 2);
    assert!(
        err.contains(&format!("settled by insurance payment {t}")),
        "{err}"
    );
}

#[test]
fn insurance_refusals() {
    let (c, p) = clinic();
    let charge = id_of(&ok(&c, format!("pay charge --patient {p} --service 99213")));
    let err = refused(
        &c,
        format!("pay insurance --patient {p} --payer nobody --paid 10"),
        2,
    );
    assert!(err.contains("no such payer"), "{err}");
    let err = refused(
        &c,
        format!(
            "pay insurance --patient {p} --payer aetna --paid 70 --allowed 100 --patient-resp 20"
        ),
        2,
    );
    assert!(err.contains("does not equal --allowed"), "{err}");
    let err = refused(
        &c,
        format!("pay insurance --patient {p} --payer aetna --paid 200"),
        2,
    );
    assert!(err.contains("more than the charges billed"), "{err}");
    let err = refused(
        &c,
        format!("pay insurance --patient {p} --payer aetna --paid 50 --allowed 900"),
        2,
    );
    assert!(err.contains("--allowed is more"), "{err}");
    let err = refused(
        &c,
        format!("pay insurance --patient {p} --payer aetna --paid 0 --charge {charge}"),
        2,
    );
    assert!(err.contains("--paid must be more than zero"), "{err}");
}

#[test]
fn adjust_and_its_refusals() {
    let (c, p) = clinic();
    ok(
        &c,
        format!("pay charge --patient {p} --service 99214 --bill-to patient"),
    );
    ok(
        &c,
        format!("pay adjust --patient {p} --amount 35.50 --kind hardship --reason 'sliding scale'"),
    );
    assert_eq!(balance(&c, &p)["due_now"], "150.00");
    let err = refused(
        &c,
        format!("pay adjust --patient {p} --amount 150.01 --kind write-off --reason x"),
        2,
    );
    assert!(err.contains("more than the patient's balance"), "{err}");
    let err = refused(
        &c,
        format!("pay adjust --patient {p} --amount 1 --kind discount --reason ' '"),
        2,
    );
    assert!(err.contains("--reason is empty"), "{err}");
    refused(
        &c,
        format!("pay adjust --patient {p} --amount 1 --kind gift --reason x"),
        2,
    );
}

#[test]
fn refund_never_more_than_paid() {
    let (c, p) = clinic();
    ok(
        &c,
        format!("pay collect --patient {p} --amount 60 --method check --ref 1042 --prepayment"),
    );
    let err = refused(
        &c,
        format!(
            "pay refund --patient {p} --amount 60.01 --method check --ref 9001 --reason 'visit cancelled'"
        ),
        2,
    );
    assert!(err.contains("more than the patient has paid"), "{err}");
    ok(
        &c,
        format!(
            "pay refund --patient {p} --amount 50 --method check --ref 9001 --reason 'visit cancelled'"
        ),
    );
    let err = refused(
        &c,
        format!("pay refund --patient {p} --amount 10.01 --method cash --reason rest"),
        2,
    );
    assert!(err.contains("more than the patient has paid"), "{err}");
    ok(
        &c,
        format!("pay refund --patient {p} --amount 10 --method cash --reason rest"),
    );
    assert_eq!(balance(&c, &p)["total"], "0.00");
}

#[test]
fn void_reverses_one_entry_once_and_a_void_is_final() {
    let (c, p) = clinic();
    ok(
        &c,
        format!("pay charge --patient {p} --service 99214 --bill-to patient"),
    );
    let pay = id_of(&ok(
        &c,
        format!("--quiet pay collect --patient {p} --amount 100 --method cash"),
    ));
    assert_eq!(balance(&c, &p)["due_now"], "85.50");
    let v = id_of(&ok(&c, format!("pay void {pay} --reason 'keyed twice'")));
    assert_eq!(
        c.commit_messages()[0],
        format!("testclerk|Record void {v} of entry {pay} for patient {p}.")
    );
    assert_eq!(balance(&c, &p)["due_now"], "185.50");
    let err = refused(&c, format!("pay void {pay} --reason again"), 2);
    assert!(err.contains("already voided"), "{err}");
    let err = refused(&c, format!("pay void {v} --reason undo"), 2);
    assert!(err.contains("cannot be voided"), "{err}");
    let err = refused(&c, "pay void T00000000 --reason x", 1);
    assert!(err.contains("no ledger entry"), "{err}");
    let err = refused(&c, format!("pay void {p} --reason x"), 2);
    assert!(err.contains("ledger entry ID is needed"), "{err}");
    // A payment with a refund against it cannot be voided until the refund is.
    let pay2 = id_of(&ok(
        &c,
        format!("--quiet pay collect --patient {p} --amount 20 --method cash"),
    ));
    ok(
        &c,
        format!("pay refund --patient {p} --amount 20 --method cash --reason x"),
    );
    let err = refused(&c, format!("pay void {pay2} --reason x"), 2);
    assert!(err.contains("more refunded than paid"), "{err}");
}

// ---- ledger, balance, statements ----

#[test]
fn ledger_shows_running_balances_credits_and_voids() {
    let (c, p) = clinic();
    let charge = id_of(&ok_at(
        &c,
        "2026-12-01T09:00:00-05:00",
        format!("pay charge --patient {p} --service J1100 --bill-to patient"),
    ));
    let pay = id_of(&ok_at(
        &c,
        "2026-12-01T09:05:00-05:00",
        format!("--quiet pay collect --patient {p} --amount 50 --method cash"),
    ));
    let v = id_of(&ok_at(
        &c,
        "2026-12-02T09:00:00-05:00",
        format!("pay void {charge} --reason 'wrong patient'"),
    ));
    let table = ok(&c, format!("pay ledger {p}"));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[1].contains(&charge) && lines[1].contains("$12.00"),
        "{table}"
    );
    assert!(lines[1].contains(&format!("voided by {v}")), "{table}");
    assert!(
        lines[2].contains(&pay) && lines[2].contains("$38.00 CR"),
        "{table}"
    );
    assert!(
        lines[3].contains(&v) && lines[3].contains("$50.00 CR"),
        "{table}"
    );
    let rows = json(&ok(&c, format!("--format json pay ledger {p}")));
    assert_eq!(rows.as_array().unwrap().len(), 3);
    assert_eq!(rows[2]["after"]["credit"], "50.00");
    let csv = ok(&c, format!("--format csv pay ledger {p}"));
    assert!(
        csv.starts_with("\u{feff}date,entry,description,amount,balance"),
        "{csv}"
    );
    // Plain signed numbers a spreadsheet sums: the payment and the void are credits.
    assert!(csv.contains(",-50.00,-38.00,"), "{csv}");
    let err = refused(&c, "pay ledger PZZZZZZZZ", 1);
    assert!(err.contains("no patient"), "{err}");
}

/// A history across two visits: an insurance-billed visit settled by the payer, a self-pay
/// visit, a co-pay, a payment on account and a voided payment.
fn history(c: &Clinic, p: &str) {
    ok_at(
        c,
        "2026-08-20T09:00:00-04:00",
        &[
            "pay",
            "charge",
            "--patient",
            p,
            "--service",
            "99213",
            "--service",
            "J1100",
        ],
    );
    ok_at(
        c,
        "2026-08-20T09:30:00-04:00",
        &[
            "pay",
            "collect",
            "--patient",
            p,
            "--amount",
            "25",
            "--method",
            "card",
            "--ref",
            "4242",
            "--copay",
        ],
    );
    ok_at(
        c,
        "2026-09-15T11:00:00-04:00",
        &[
            "pay",
            "insurance",
            "--patient",
            p,
            "--payer",
            "aetna",
            "--paid",
            "80",
            "--allowed",
            "100",
            "--patient-resp",
            "20",
            "--claim",
            "CLM-77",
        ],
    );
    ok_at(
        c,
        "2026-10-25T10:00:00-04:00",
        &[
            "pay",
            "charge",
            "--patient",
            p,
            "--service",
            "99214",
            "--bill-to",
            "patient",
        ],
    );
    let wrong = id_of(&ok_at(
        c,
        "2026-11-02T10:00:00-05:00",
        &[
            "--quiet",
            "pay",
            "collect",
            "--patient",
            p,
            "--amount",
            "100",
            "--method",
            "cash",
        ],
    ));
    ok_at(
        c,
        "2026-11-02T10:05:00-05:00",
        &[
            "pay",
            "void",
            &wrong,
            "--reason",
            "keyed on the wrong account",
        ],
    );
    ok_at(
        c,
        "2026-11-03T10:00:00-05:00",
        &[
            "pay",
            "collect",
            "--patient",
            p,
            "--amount",
            "50",
            "--method",
            "check",
            "--ref",
            "311",
        ],
    );
}

/// Replaces every entry ID in `text` with a stable placeholder, in order of appearance.
fn redact(text: &str, p: &str) -> String {
    let mut out = text.replace(p, "P-JANE");
    let mut n = 0;
    while let Some(i) = find_entry_id(&out) {
        n += 1;
        let id = out[i..i + 9].to_string();
        out = out.replace(&id, &format!("T-{n:02}----"));
    }
    out
}

fn find_entry_id(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(8)).find(|&i| {
        b[i] == b'T'
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b[i + 1..i + 9]
                .iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            && b.get(i + 9).is_none_or(|c| !c.is_ascii_alphanumeric())
            && b[i + 1..i + 9].iter().any(|c| c.is_ascii_digit())
    })
}

#[test]
fn statement_combines_visits_and_excludes_pending_insurance() {
    let (c, p) = clinic();
    history(&c, &p);
    // A new insurance-billed visit: its pending part must not be asked of the patient.
    ok_at(
        &c,
        "2026-11-30T09:00:00-05:00",
        format!("pay charge --patient {p} --service 99213"),
    );
    let b = balance(&c, &p);
    assert_eq!(
        (
            b["total"].as_str(),
            b["insurance"].as_str(),
            b["due_now"].as_str()
        ),
        (Some("255.50"), Some("100.00"), Some("155.50"))
    );
    let text = ok(&c, format!("pay statement {p}"));
    for want in [
        "Test Clinic",
        "Jane Doe",
        "12 Elm Street",
        "Boston, MA 02118",
        "Visit 2026-08-20",
        "Visit 2026-10-25",
        "AMOUNT DUE NOW",
        "$155.50",
        "Expected from insurance",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    assert!(!text.contains("$100.00 CR"), "{text}");
    insta::assert_snapshot!("statement_text", redact(&text, &p));
    let out = c.dir.path().join("jane.html");
    ok(&c, &["pay", "statement", &p, "-o", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("Boston, MA 02118"),
        "{html}"
    );
    insta::assert_snapshot!("statement_html", redact(&html, &p));
}

#[test]
fn statement_leaves_out_settled_visits_unless_asked_and_still_adds_up() {
    let (c, p) = clinic();
    history(&c, &p);
    // A visit paid in full at the desk: nothing left to pay, so not on the monthly statement.
    let charge = id_of(&ok_at(
        &c,
        "2026-11-10T09:00:00-05:00",
        &[
            "--quiet",
            "pay",
            "charge",
            "--patient",
            &p,
            "--service",
            "J1100",
            "--bill-to",
            "patient",
        ],
    ));
    ok_at(
        &c,
        "2026-11-10T09:05:00-05:00",
        &[
            "pay",
            "collect",
            "--patient",
            &p,
            "--amount",
            "12",
            "--method",
            "cash",
            "--charge",
            &charge,
        ],
    );
    let text = ok(&c, format!("pay statement {p}"));
    assert!(!text.contains("Visit 2026-11-10"), "{text}");
    assert!(
        text.contains("1 visit settled in full is not listed"),
        "{text}"
    );
    // The listed visit balances and the account lines still add up to the account balance.
    for want in [
        "Visit 2026-08-20",
        "Visit 2026-10-25",
        "Account balance                                                        $130.50",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    // The full history on request: every visit, and no note of any left out.
    let all = ok(&c, format!("pay statement {p} --all-visits"));
    assert!(all.contains("Visit 2026-11-10"), "{all}");
    assert!(
        all.contains("J1100") && !all.contains("not listed"),
        "{all}"
    );
    // The same in HTML and in the monthly run.
    let html = ok(&c, format!("pay statement {p} --as html"));
    assert!(
        !html.contains("Visit 2026-11-10")
            && html.contains("1 visit settled in full is not listed")
    );
    let dir = c.dir.path().join("mail");
    let d = dir.to_str().unwrap();
    ok(
        &c,
        &["pay", "statement", "--all-due", "-o", d, "--as", "text"],
    );
    let mailed = std::fs::read_to_string(dir.join(format!("{p}.txt"))).unwrap();
    assert_eq!(mailed, text);
    ok(
        &c,
        &[
            "pay",
            "statement",
            "--all-due",
            "--all-visits",
            "-o",
            d,
            "--as",
            "text",
        ],
    );
    let mailed = std::fs::read_to_string(dir.join(format!("{p}.txt"))).unwrap();
    assert_eq!(mailed, all);
}

#[test]
fn statement_escapes_record_values_in_html() {
    let (c, p) = clinic();
    ok(
        &c,
        format!("patient update {p} --address '<script>alert(1)</script> & Co'"),
    );
    ok(
        &c,
        format!("pay charge --patient {p} --service 99213 --bill-to patient"),
    );
    let html = ok(&c, format!("--format html pay statement {p}"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
}

#[test]
fn office_templates_override_the_built_in_ones() {
    let (c, p) = clinic();
    std::fs::create_dir_all(c.path("templates")).unwrap();
    std::fs::write(
        c.path("templates/statement.txt"),
        "Owed by {{ patient.id }}: {{ balance.due_now }}\n",
    )
    .unwrap();
    ok(
        &c,
        format!("pay charge --patient {p} --service 99213 --bill-to patient"),
    );
    assert_eq!(
        ok(&c, format!("pay statement {p}")),
        format!("Owed by {p}: $125.00\n")
    );
    std::fs::write(c.path("templates/statement.txt"), "{% for %}").unwrap();
    let err = refused(&c, format!("pay statement {p}"), 2);
    assert!(err.contains("templates/statement.txt"), "{err}");
}

#[test]
fn all_due_writes_one_statement_per_owing_patient_by_id_only() {
    let (c, p) = clinic();
    ok(
        &c,
        format!("pay charge --patient {p} --service 99213 --bill-to patient"),
    );
    let q = ok(
        &c,
        "patient add --first John --last Roe --dob 1970-01-09 --sex M --flag no-statements",
    )
    .trim()
    .to_string();
    ok(
        &c,
        format!("pay charge --patient {q} --service 99213 --bill-to patient"),
    );
    let r = ok(
        &c,
        "patient add --first Ann --last Poe --dob 1990-05-05 --sex F",
    )
    .trim()
    .to_string();
    ok(
        &c,
        format!("pay charge --patient {r} --service 99213 --bill-to patient"),
    );
    ok(
        &c,
        format!("pay collect --patient {r} --amount 125 --method cash"),
    );
    let dir = c.dir.path().join("mail");
    ok(
        &c,
        &["pay", "statement", "--all-due", "-o", dir.to_str().unwrap()],
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec![format!("{p}.html")]);
    refused(&c, "pay statement --all-due", 2);
    // An entry whose patient file is gone: the others still get statements, and the run fails.
    std::fs::remove_file(c.patient_file(&p)).unwrap();
    let out = run_at(
        &c,
        NOW,
        &[
            "pay",
            "statement",
            "--all-due",
            "--as",
            "text",
            "-o",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no readable patient file"));
}

// ---- closeout ----

#[test]
fn closeout_totals_equal_the_days_entries_by_method() {
    let (c, p) = clinic();
    let collect = |amount: &str, method: &str, reference: Option<&str>, user: &str| {
        let mut cmd = c.cmd();
        cmd.env("FRONTDESK_NOW", NOW).env("FRONTDESK_USER", user);
        cmd.args([
            "--quiet",
            "pay",
            "collect",
            "--patient",
            &p,
            "--amount",
            amount,
            "--method",
            method,
        ]);
        if let Some(r) = reference {
            cmd.args(["--ref", r]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    collect("20", "cash", None, "ann");
    let wrong = collect("15", "cash", None, "ann");
    collect("100", "check", Some("1001"), "bob");
    collect("45.50", "check", Some("1002"), "bob");
    collect("25", "card", Some("4242"), "ann");
    // Another day's payment must not count.
    ok_at(
        &c,
        "2026-11-30T10:00:00-05:00",
        format!("pay collect --patient {p} --amount 999 --method cash"),
    );
    ok(&c, format!("pay void {wrong} --reason duplicate"));
    ok(
        &c,
        format!("pay refund --patient {p} --amount 5 --method cash --reason change"),
    );
    let j = json(&ok(&c, "--format json pay closeout 2026-12-01"));
    assert_eq!(j["by_method"]["cash"]["net"], "15.00");
    assert_eq!(j["by_method"]["check"]["net"], "145.50");
    assert_eq!(j["by_method"]["card"]["net"], "25.00");
    assert_eq!(
        j["checks"],
        serde_json::json!({"count": 2, "net": "145.50"})
    );
    assert_eq!(j["cash_drawer"], "15.00");
    assert_eq!(j["total"], "185.50");
    // The void is counted against the clerk who voided it.
    assert_eq!(j["by_staff"]["ann"]["net"], "60.00");
    assert_eq!(j["by_staff"]["bob"]["net"], "145.50");
    assert_eq!(j["by_staff"]["testclerk"]["net"], "-20.00");
    assert_eq!(
        (
            j["voids"].as_array().unwrap().len(),
            j["refunds"].as_array().unwrap().len()
        ),
        (1, 1)
    );
    // Independently: the signed sum of the day's entry files by method.
    let mut by_method = std::collections::BTreeMap::<String, i64>::new();
    for f in c
        .files()
        .iter()
        .filter(|f| f.starts_with("ledger/2026/12/01/"))
    {
        let e: toml::Table = toml::from_str(&std::fs::read_to_string(c.path(f)).unwrap()).unwrap();
        let cents = |v: &toml::Value| {
            (v.as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
                * rust_decimal::Decimal::from(100))
            .try_into()
            .unwrap_or(0i64)
        };
        let amount: i64 = cents(&e["amount"]);
        let method = e
            .get("method")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_string();
        let sign = match e["kind"].as_str().unwrap() {
            "payment" => 1,
            "refund" | "void" => -1,
            _ => 0,
        };
        *by_method.entry(method).or_default() += sign * amount;
    }
    assert_eq!(by_method["cash"], 1500);
    assert_eq!(by_method["check"], 14550);
    assert_eq!(by_method["card"], 2500);
    let out = run_at(&c, NOW, "pay closeout 2026-12-01");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("cash drawer"), "{table}");
    // Who voided what and why: for people, on stderr, so stdout stays the table.
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("duplicate"),
        "{out:?}"
    );
    let csv = ok(&c, "--format csv pay closeout 2026-12-01");
    assert!(csv.contains("total,checks,2,145.50"), "{csv}");
    let html = ok(&c, "--format html pay closeout 2026-12-01");
    assert!(
        html.contains("Cash drawer: $15.00") && html.contains("Checks: 2 totalling $145.50"),
        "{html}"
    );
    let empty = json(&ok(&c, "--format json pay closeout 2026-01-01"));
    assert_eq!(empty["total"], "0.00");
    refused(&c, "pay closeout 2026-13-01", 2);
}

// ---- import ----

const MAP: &str = r#"
[columns]
patient = "Customer Ref"
amount = "Amount"
key = "Transaction ID"
date = "Date"
method = "Tender"
reference = "Last 4"

[options]
date_format = "%m/%d/%Y"
key_prefix = "term-"

[methods]
VISA = "card"
MC = "card"

[skip]
column = "Status"
values = ["DECLINED"]
"#;

fn write_import(c: &Clinic, rows: &[String]) -> (String, String) {
    let csv = c.dir.path().join("terminal.csv");
    let map = c.dir.path().join("map.toml");
    let mut text =
        String::from("\u{feff}Date,Transaction ID,Customer Ref,Amount,Tender,Last 4,Status\r\n");
    for r in rows {
        text.push_str(r);
        text.push_str("\r\n");
    }
    std::fs::write(&csv, text).unwrap();
    std::fs::write(&map, MAP).unwrap();
    (
        csv.to_string_lossy().into_owned(),
        map.to_string_lossy().into_owned(),
    )
}

#[test]
fn import_validates_everything_dry_runs_and_is_idempotent() {
    let (c, p) = clinic();
    let rows = vec![
        format!("11/30/2026,0001,{p},25.00,VISA,4242,APPROVED"),
        format!("11/30/2026,0002,{p},\"1,010.00\",MC,5555,APPROVED"),
        format!("11/30/2026,0003,{p},99.00,VISA,4242,DECLINED"),
    ];
    let (csv, map) = write_import(&c, &rows);
    let dry = ok(&c, format!("pay import {csv} --map {map} --dry-run"));
    assert!(
        dry.contains("would record") && dry.contains("$1,010.00"),
        "{dry}"
    );
    assert!(!dry.contains("99.00"), "{dry}");
    assert!(!c.files().iter().any(|f| f.starts_with("ledger/")));
    let before = c.commits();
    ok(&c, format!("pay import {csv} --map {map}"));
    assert_eq!(c.commits(), before + 1);
    assert_eq!(
        c.files()
            .iter()
            .filter(|f| f.starts_with("ledger/2026/11/30/"))
            .count(),
        2
    );
    assert_eq!(balance(&c, &p)["credit"], "1035.00");
    let (files, commits) = (c.files(), c.commits());
    let again = ok(&c, format!("pay import {csv} --map {map}"));
    assert!(again.contains("already imported"), "{again}");
    assert_eq!((c.files(), c.commits()), (files, commits));
}

#[test]
fn import_with_a_bad_row_imports_nothing_and_names_the_row() {
    let (c, p) = clinic();
    let rows = vec![
        format!("11/30/2026,0001,{p},25.00,VISA,4242,APPROVED"),
        format!("11/31/2026,0002,{p},10.00,VISA,4242,APPROVED"),
        format!("11/30/2026,0003,{p},-3.00,VISA,4242,APPROVED"),
        "11/30/2026,0004,PZZZZZZZZ,3.00,BITCOIN,,APPROVED".to_string(),
        format!("12/30/2026,0005,{p},3.00,VISA,4242,APPROVED"),
    ];
    let (csv, map) = write_import(&c, &rows);
    let err = refused(&c, format!("pay import {csv} --map {map}"), 2);
    assert!(err.contains("row 3") && err.contains("\"Date\""), "{err}");
    assert!(err.contains("row 4") && err.contains("negative"), "{err}");
    assert!(err.contains("row 5") && err.contains("Tender"), "{err}");
    assert!(
        err.contains("row 6") && err.contains("after today"),
        "{err}"
    );
    assert!(err.contains("4 bad rows; nothing was imported"), "{err}");
    let (csv, map) = write_import(
        &c,
        &["11/30/2026,0009,PZZZZZZZZ,3.00,VISA,,APPROVED".to_string()],
    );
    let err = refused(&c, format!("pay import {csv} --map {map}"), 2);
    assert!(err.contains("row 2: no patient"), "{err}");
    std::fs::write(
        &map,
        "[columns]\npatient = \"Nope\"\namount = \"Amount\"\nkey = \"Transaction ID\"\n",
    )
    .unwrap();
    let err = refused(&c, format!("pay import {csv} --map {map}"), 2);
    assert!(err.contains("no column \"Nope\""), "{err}");
}

// ---- the ledger index ----

#[test]
fn ledger_is_the_same_with_the_index_deleted_or_files_added_behind_its_back() {
    let (c, p) = clinic();
    history(&c, &p);
    let with_index = ok(&c, format!("--format json pay ledger {p}"));
    std::fs::remove_dir_all(c.path(".frontdesk/index")).unwrap();
    assert_eq!(ok(&c, format!("--format json pay ledger {p}")), with_index);
    // A file that arrives without the tool (a git pull, a restore) is found.
    let c2 = Clinic::new();
    let q = c2.add_jane();
    ok(
        &c2,
        &[
            "pay",
            "collect",
            "--patient",
            &q,
            "--amount",
            "7",
            "--method",
            "cash",
        ],
    );
    let f = c2
        .files()
        .into_iter()
        .find(|f| f.starts_with("ledger/"))
        .unwrap();
    let text = std::fs::read_to_string(c2.path(&f))
        .unwrap()
        .replace(&q, &p);
    std::fs::create_dir_all(c.path(&f).parent().unwrap()).unwrap();
    std::fs::write(c.path(&f), text).unwrap();
    let rows = json(&ok(&c, format!("--format json pay ledger {p}")));
    assert_eq!(
        rows.as_array().unwrap().len(),
        json(&with_index).as_array().unwrap().len() + 1
    );
    // A truncated index file is noticed and rebuilt.
    let bucket = c.path(&format!(
        ".frontdesk/index/ledger-patients/{}.tsv",
        &p[1..3]
    ));
    std::fs::write(&bucket, "garbage").unwrap();
    assert_eq!(json(&ok(&c, format!("--format json pay ledger {p}"))), rows);
}

// ---- money hygiene ----

#[test]
fn no_floating_point_on_any_money_path() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![
        root.join("domain/ledger.rs"),
        root.join("domain/money.rs"),
        root.join("domain/closeout.rs"),
        root.join("domain/service.rs"),
        root.join("domain/pay_import.rs"),
        root.join("store/ledger.rs"),
    ];
    for dir in ["cli/pay", "cli/service"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    let float = ["f3", "2"].concat();
    let double = ["f6", "4"].concat();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains(&float) && !line.contains(&double) && !line.contains("as_f"),
                "{}:{}: floating point on a money path",
                f.display(),
                n + 1
            );
        }
    }
}

// ---- appointments ----

const TYPES: &str = r#"schema = 1

[[type]]
key = "consult"
name = "Specialist consult"
minutes = 30
copay = "specialist"

[[type]]
key = "nurse"
name = "Nurse visit"
minutes = 15
copay = "none"
"#;

/// Books Jane (specialist co-pay 40.00) with a provider for 2026-12-02 09:00; returns the
/// appointment ID.
fn book(c: &Clinic, p: &str, kind: &str, at: &str) -> String {
    std::fs::write(c.path("appointment-types.toml"), TYPES).unwrap();
    if !c.path("providers/okafor.toml").exists() {
        ok(
            c,
            &[
                "provider",
                "add",
                "okafor",
                "--name",
                "Adaeze Okafor",
                "--hours",
                "mon-fri 08:00-17:00",
            ],
        );
    }
    ok(
        c,
        &[
            "schedule",
            "book",
            "--patient",
            p,
            "--provider",
            "okafor",
            "--type",
            kind,
            "--at",
            at,
        ],
    )
    .trim()
    .to_string()
}

#[test]
fn charge_for_an_appointment_takes_its_day_and_its_types_copay() {
    let (c, p) = clinic();
    ok(
        &c,
        format!("patient insurance update {p} --copay-specialist 40"),
    );
    let a = book(&c, &p, "consult", "2026-12-02 09:00");
    let day = "2026-12-02T08:55:00-05:00";
    let t = id_of(&ok_at(
        &c,
        day,
        format!("pay charge --appointment {a} --service 99214"),
    ));
    let text = std::fs::read_to_string(c.path(&format!("ledger/2026/12/02/{t}.toml"))).unwrap();
    assert!(
        text.contains(&format!("appointment = \"{a}\""))
            && text.contains("patient_portion = \"40.00\""),
        "{text}"
    );
    // Check-in warns about what the patient owes now (the co-pay), not what insurance owes.
    let out = run_at(&c, day, format!("schedule checkin {a}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("owes a balance of 40.00"), "{err}");
    assert!(err.contains(&format!("co-pay due: $40.00 (aetna); collect with `frontdesk pay collect --patient {p} --amount 40.00")), "{err}");
    ok_at(
        &c,
        day,
        format!("pay collect --patient {p} --amount 40 --method cash --copay --appointment {a}"),
    );
    let n = book(&c, &p, "nurse", "2026-12-03 09:00");
    let t = id_of(&ok_at(
        &c,
        "2026-12-03T09:00:00-05:00",
        format!("pay charge --appointment {n} --service J1100"),
    ));
    let text = std::fs::read_to_string(c.path(&format!("ledger/2026/12/03/{t}.toml"))).unwrap();
    assert!(!text.contains("patient_portion"), "{text}");
    let q = ok(
        &c,
        "patient add --first John --last Roe --dob 1970-01-09 --sex M",
    )
    .trim()
    .to_string();
    let err = refused(
        &c,
        format!("pay collect --patient {q} --amount 5 --method cash --appointment {a}"),
        2,
    );
    assert!(err.contains("is not patient"), "{err}");
    let err = refused(&c, "pay charge --appointment A00000000 --service 99214", 1);
    assert!(err.contains("no appointment"), "{err}");
    let cancelled = book(&c, &p, "consult", "2026-12-04 09:00");
    ok(
        &c,
        format!("schedule cancel {cancelled} --reason 'patient called'"),
    );
    let err = refused(
        &c,
        format!("pay charge --appointment {cancelled} --service 99214"),
        2,
    );
    assert!(err.contains("cancelled"), "{err}");
}

// ---- the sample clinic ----

#[test]
fn sample_clinic_ledger_adds_up() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("records");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("records");
    assert!(
        std::process::Command::new("cp")
            .arg("-r")
            .arg(&sample)
            .arg(&copy)
            .status()
            .unwrap()
            .success()
    );
    let run = |args: &[&str]| {
        let out = bare()
            .arg("--records")
            .arg(&copy)
            .env("FRONTDESK_NOW", "2026-11-27T17:30:00-05:00")
            .args(args)
            .output()
            .unwrap();
        expect_ok(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>(), out)
    };
    assert!(
        json(&run(&["--format", "json", "service", "list"]))
            .as_array()
            .unwrap()
            .len()
            >= 10
    );
    let day = json(&run(&["--format", "json", "pay", "closeout", "2026-11-26"]));
    assert_eq!(day["voids"].as_array().unwrap().len(), 1);
    assert_ne!(day["insurance"], "0.00");
    let mail = dir.path().join("mail");
    let written = run(&[
        "pay",
        "statement",
        "--all-due",
        "-o",
        mail.to_str().unwrap(),
    ]);
    assert!(written.lines().count() >= 3, "{written}");
    let map = examples().join("card-terminal.map.toml");
    let csv = examples().join("card-terminal.csv");
    let dry = run(&[
        "pay",
        "import",
        csv.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(
        dry.contains("would record") && !dry.contains("40.00"),
        "{dry}"
    );
}

// ---- concurrency ----

/// Starts `n` copies of one command at once and returns their exit codes.
fn race(c: &Clinic, n: usize, args: &[&str]) -> Vec<i32> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            spawnable(c)
                .env("FRONTDESK_NOW", NOW)
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|mut ch| ch.wait().unwrap().code().unwrap_or(-1))
        .collect()
}

#[test]
fn concurrent_retries_with_one_key_record_one_payment() {
    let (c, p) = clinic();
    let codes = race(
        &c,
        6,
        &[
            "pay",
            "collect",
            "--patient",
            &p,
            "--amount",
            "30",
            "--method",
            "cash",
            "--idempotency-key",
            "desk2-0007",
        ],
    );
    assert!(codes.iter().all(|c| *c == 0), "{codes:?}");
    let ledger = c
        .files()
        .into_iter()
        .filter(|f| f.starts_with("ledger/"))
        .count();
    assert_eq!(ledger, 1);
    assert_eq!(balance(&c, &p)["credit"], "30.00");
}

#[test]
fn concurrent_refunds_never_exceed_what_was_paid() {
    let (c, p) = clinic();
    ok(
        &c,
        format!("pay collect --patient {p} --amount 100 --method cash"),
    );
    // Four clerks each refund 40.00 of the 100.00 at the same instant: two can succeed.
    let codes = race(
        &c,
        4,
        &[
            "pay",
            "refund",
            "--patient",
            &p,
            "--amount",
            "40",
            "--method",
            "cash",
            "--reason",
            "overpaid",
        ],
    );
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 2, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 2).count(), 2, "{codes:?}");
    assert_eq!(balance(&c, &p)["credit"], "20.00");
}

/// The same payment keyed twice on one day (amount, method, reference) is refused in a script
/// and goes through with --force; a different reference is a different payment; an amount above
/// the office's max_payment needs --force, and the office can set its own limit.
#[test]
fn collect_guards_against_a_repeat_and_a_slip_of_the_keyboard() {
    let (c, p) = clinic();
    let args = format!("pay collect --patient {p} --amount 40 --method check --ref 1042");
    ok(&c, &args);
    let err = refused(&c, &args, 3);
    assert!(err.contains("same amount, method and reference"), "{err}");
    assert!(err.contains("--force"), "{err}");
    ok(
        &c,
        format!("pay collect --patient {p} --amount 40 --method check --ref 1043"),
    );
    ok(&c, format!("{args} --force"));
    // The next day the same check is a new payment.
    ok_at(&c, "2026-12-02T10:00:00-05:00", &args);

    let err = refused(
        &c,
        format!("pay collect --patient {p} --amount 200000 --method cash"),
        2,
    );
    assert!(err.contains("$10,000.00"), "{err}");
    ok(
        &c,
        format!("pay collect --patient {p} --amount 200000 --method cash --force"),
    );
    let office = c.path("frontdesk.toml");
    let text = std::fs::read_to_string(&office).unwrap();
    std::fs::write(
        &office,
        text.replacen("currency", "max_payment = \"500.00\"\ncurrency", 1),
    )
    .unwrap();
    let err = refused(
        &c,
        format!("pay collect --patient {p} --amount 600 --method card"),
        2,
    );
    assert!(err.contains("$500.00"), "{err}");
}

/// A visit checked out but never charged is listed by the closeout, in every format, until a
/// charge names it.
#[test]
fn closeout_lists_visits_checked_out_without_a_charge() {
    let (c, p) = clinic();
    schedule_setup(&c);
    let a = c.book(&p, 0);
    let visit = "2027-01-04T08:05:00-05:00";
    ok_at(&c, visit, format!("schedule checkin {a}"));
    ok_at(
        &c,
        "2027-01-04T08:30:00-05:00",
        format!("schedule checkout {a}"),
    );
    let late = "2027-01-04T18:00:00-05:00";
    let table = ok_at(&c, late, "pay closeout");
    assert!(
        table.contains("not charged") && table.contains(&a),
        "{table}"
    );
    let json = json(&ok_at(&c, late, "--format json pay closeout"));
    assert_eq!(json["uncharged_visits"][0]["appointment"], a.as_str());
    assert!(ok_at(&c, late, "--format html pay closeout").contains(&a));
    ok_at(
        &c,
        late,
        format!("pay charge --appointment {a} --service 99213"),
    );
    let table = ok_at(&c, late, "pay closeout");
    assert!(!table.contains("not charged"), "{table}");
}

/// The monthly run after a merge: one statement, for the kept patient, holding the merged
/// chart's charge; none for the merged chart.
#[test]
fn the_monthly_run_sends_a_merged_chart_s_balance_on_the_kept_patient_s_statement() {
    let (c, keep) = clinic();
    schedule_setup(&c);
    let drop = ok(
        &c,
        "patient add --first Jane --last Doe --dob 1980-04-02 --sex F --force",
    );
    let drop = drop.trim().to_string();
    let a = c.book(&drop, 0);
    ok_at(
        &c,
        "2027-01-04T10:00:00-05:00",
        format!("pay charge --appointment {a} --service 99213"),
    );
    ok(&c, format!("patient merge {keep} {drop}"));
    let late = "2027-02-01T10:00:00-05:00";
    let mail = c.dir.path().join("mail");
    ok_at(
        &c,
        late,
        &[
            "pay",
            "statement",
            "--all-due",
            "-o",
            mail.to_str().unwrap(),
        ],
    );
    let sent: Vec<String> = std::fs::read_dir(&mail)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(sent.iter().any(|f| f.starts_with(&keep)), "{sent:?}");
    assert!(!sent.iter().any(|f| f.starts_with(&drop)), "{sent:?}");
    let text =
        std::fs::read_to_string(mail.join(sent.iter().find(|f| f.starts_with(&keep)).unwrap()))
            .unwrap();
    assert!(
        text.contains("99213"),
        "the merged chart's charge is on the statement"
    );
}
