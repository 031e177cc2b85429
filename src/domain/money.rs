//! Money: exact decimals in the office currency, never floats.
//!
//! Amounts are typed by people (`25`, `25.00`, `$1,025.50`) and written in records as strings
//! (`"25.00"`). Every amount the ledger stores is positive, has at most two decimals and stays
//! below a ceiling, so sums over a million entries cannot overflow a `Decimal`.

use rust_decimal::Decimal;

use crate::domain::insurance::parse_amount;
use crate::error::{Error, Result};

/// The largest single amount the ledger accepts (a typo guard as much as an overflow guard).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(999_999_999, 0, 0, false, 2);

/// A positive amount of money as typed: refuses zero, negative amounts, more than two decimals
/// and amounts above [`MAX_AMOUNT`], naming the field (never the value).
pub fn parse_money(field: &str, input: &str) -> Result<Decimal> {
    let trimmed = input.trim();
    if trimmed.starts_with('-') {
        return Err(
            Error::user(format!("{field} must be more than zero, not negative")).hint(
                if field.contains("fee") {
                    "a fee is what the service costs, e.g. --fee 125.00"
                } else {
                    "record money going back to the patient with `frontdesk pay refund`"
                },
            ),
        );
    }
    if let Some((_, cents)) = trimmed.split_once('.')
        && cents.len() > 2
    {
        return Err(Error::user(format!("{field} has more than two decimals"))
            .hint("amounts are in whole cents, like 25.00"));
    }
    let amount = parse_amount(field, trimmed)?;
    check_positive(field, amount)?;
    Ok(amount)
}

/// Like [`parse_money`] but allows zero (an EOB's allowed amount or patient share can be 0).
pub fn parse_money_or_zero(field: &str, input: &str) -> Result<Decimal> {
    if input.trim().trim_start_matches('$').parse::<Decimal>().ok() == Some(Decimal::ZERO) {
        return Ok(cents(Decimal::ZERO));
    }
    parse_money(field, input)
}

/// The rules every stored amount meets; used on input and when a record file is read.
pub fn check_positive(field: &str, amount: Decimal) -> Result<()> {
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(Error::user(format!(
            "{field} must be more than zero, not negative"
        )));
    }
    if amount.is_zero() {
        return Err(Error::user(format!("{field} must be more than zero")));
    }
    check_cents(field, amount)
}

/// At most two decimals and at most [`MAX_AMOUNT`]; zero allowed.
pub fn check_cents(field: &str, amount: Decimal) -> Result<()> {
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(Error::user(format!("{field} must not be negative")));
    }
    if amount.normalize().scale() > 2 {
        return Err(Error::user(format!("{field} has more than two decimals")));
    }
    if amount > MAX_AMOUNT {
        return Err(Error::user(format!("{field} is more than {MAX_AMOUNT}"))
            .hint("split a larger amount into several entries"));
    }
    Ok(())
}

/// The amount with exactly two decimals, as records and screens show it (never `-0.00`).
pub fn cents(mut amount: Decimal) -> Decimal {
    if amount.is_zero() {
        amount = Decimal::ZERO;
    }
    amount.rescale(2);
    amount
}

/// `125.00`, `-25.00`: plain, for tables and CSV.
pub fn plain(amount: Decimal) -> String {
    cents(amount).to_string()
}

/// `$1,025.50`, `-$25.00`, `25.00 EUR`: for statements and receipts.
pub fn display(amount: Decimal, currency: &str) -> String {
    let a = cents(amount);
    let digits = group_thousands(&cents(a.abs()).to_string());
    let sign = if a.is_sign_negative() && !a.is_zero() {
        "-"
    } else {
        ""
    };
    match symbol(currency) {
        Some(sym) => format!("{sign}{sym}{digits}"),
        None => format!("{sign}{digits} {currency}"),
    }
}

/// Credits are shown as credits, not as negative numbers: `25.00 CR`.
pub fn with_credit(amount: Decimal, currency: &str) -> String {
    if amount.is_sign_negative() && !amount.is_zero() {
        format!("{} CR", display(-amount, currency))
    } else {
        display(amount, currency)
    }
}

fn symbol(currency: &str) -> Option<&'static str> {
    match currency {
        "USD" | "CAD" | "AUD" | "NZD" => Some("$"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        _ => None,
    }
}

fn group_thousands(s: &str) -> String {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn typed_amounts() {
        assert_eq!(parse_money("amount", "25").unwrap().to_string(), "25.00");
        assert_eq!(
            parse_money("amount", "$1,025.5").unwrap().to_string(),
            "1025.50"
        );
        for bad in ["0", "0.00", "-5", "25.005", "25.000", "abc", "", "10000000"] {
            assert!(parse_money("amount", bad).is_err(), "{bad}");
        }
        assert!(
            parse_money("amount", "-5")
                .unwrap_err()
                .message
                .contains("negative")
        );
        assert!(
            parse_money("amount", "1.234")
                .unwrap_err()
                .message
                .contains("two decimals")
        );
        assert!(
            parse_money("amount", "0")
                .unwrap_err()
                .message
                .contains("more than zero")
        );
        assert_eq!(
            parse_money_or_zero("allowed", "0").unwrap().to_string(),
            "0.00"
        );
    }

    #[test]
    fn shown_with_symbol_grouping_and_credit() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(display(d("1025.5"), "USD"), "$1,025.50");
        assert_eq!(display(d("-25"), "USD"), "-$25.00");
        assert_eq!(display(d("1234567.89"), "EUR"), "€1,234,567.89");
        assert_eq!(display(d("5"), "CHF"), "5.00 CHF");
        assert_eq!(with_credit(d("-25"), "USD"), "$25.00 CR");
        assert_eq!(display(d("999"), "USD"), "$999.00");
    }

    proptest! {
        #[test]
        fn cents_round_trip_exactly(c in 1i64..999_999_999) {
            let typed = format!("{}.{:02}", c / 100, c % 100);
            let amount = parse_money("amount", &typed).unwrap();
            prop_assert_eq!(amount, Decimal::new(c, 2));
            prop_assert_eq!(plain(amount), typed);
        }
    }
}
