//! Mapping a payment export (a card terminal's daily file, a lockbox report) onto payments.
//!
//! The mapping file says which column holds what, how dates are written, how the file's
//! tender names map to methods, and which rows to skip:
//!
//! ```toml
//! [columns]
//! patient = "Customer Ref"     # the patient ID (P…)
//! amount = "Amount"
//! key = "Transaction ID"       # identifies the row: importing it again records nothing
//! date = "Date"                # optional; default today
//! method = "Tender"            # optional; else [options] method
//! reference = "Last 4"         # optional
//!
//! [options]
//! date_format = "%m/%d/%Y"     # default %Y-%m-%d
//! method = "card"
//! key_prefix = "term-"         # keeps keys from different sources apart
//!
//! [methods]                    # the file's tender names, case-insensitive
//! VISA = "card"
//!
//! [skip]                       # rows whose column holds one of these values are left out
//! column = "Status"
//! values = ["DECLINED", "VOIDED"]
//! ```

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::domain::id::{Id, IdKind};
use crate::domain::ledger::{Method, check_idempotency_key, check_reference};
use crate::domain::money::parse_money;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayMap {
    pub columns: Columns,
    #[serde(default)]
    pub options: Options,
    #[serde(default)]
    pub methods: BTreeMap<String, Method>,
    #[serde(default)]
    pub skip: Option<Skip>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub patient: String,
    pub amount: String,
    pub key: String,
    pub date: Option<String>,
    pub method: Option<String>,
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub date_format: Option<String>,
    pub method: Option<Method>,
    pub key_prefix: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skip {
    pub column: String,
    pub values: Vec<String>,
}

/// One payment read from one row.
#[derive(Debug, Clone, PartialEq)]
pub struct PayRow {
    /// 1-based line of the row in the file (the header is row 1).
    pub row: usize,
    pub patient: Id,
    pub amount: Decimal,
    pub method: Method,
    pub reference: Option<String>,
    pub date: NaiveDate,
    pub key: String,
}

/// The column positions the map needs, found in the header.
pub struct Layout {
    idx: BTreeMap<&'static str, usize>,
    skip: Option<usize>,
}

impl PayMap {
    /// Finds every mapped column in the header; the error names each missing one.
    pub fn layout(&self, header: &[String]) -> Result<Layout> {
        let find = |name: &str| header.iter().position(|h| h.trim() == name.trim());
        let mut idx = BTreeMap::new();
        let mut missing = Vec::new();
        let c = &self.columns;
        for (field, col) in [
            ("patient", Some(&c.patient)),
            ("amount", Some(&c.amount)),
            ("key", Some(&c.key)),
            ("date", c.date.as_ref()),
            ("method", c.method.as_ref()),
            ("reference", c.reference.as_ref()),
        ] {
            let Some(col) = col else { continue };
            match find(col) {
                Some(i) => {
                    idx.insert(field, i);
                }
                None => missing.push(format!("{col:?} (columns.{field})")),
            }
        }
        let skip = match &self.skip {
            Some(s) => match find(&s.column) {
                Some(i) => Some(i),
                None => {
                    missing.push(format!("{:?} (skip.column)", s.column));
                    None
                }
            },
            None => None,
        };
        if !missing.is_empty() {
            return Err(
                Error::user(format!("the file has no column {}", missing.join(", ")))
                    .hint("the mapping names columns exactly as the file's header row does"),
            );
        }
        if self.columns.method.is_none() && self.options.method.is_none() {
            return Err(Error::user(
                "the mapping sets neither columns.method nor options.method",
            ));
        }
        Ok(Layout { idx, skip })
    }

    /// True when the row is one the mapping says to leave out.
    pub fn skips(&self, layout: &Layout, record: &[String]) -> bool {
        match (&self.skip, layout.skip) {
            (Some(s), Some(i)) => {
                let v = record.get(i).map(|v| v.trim()).unwrap_or("");
                s.values.iter().any(|x| x.eq_ignore_ascii_case(v))
            }
            _ => false,
        }
    }

    /// Reads one row; errors name the column and the mapping rule, never the value.
    pub fn row(
        &self,
        layout: &Layout,
        row: usize,
        record: &[String],
        today: NaiveDate,
    ) -> Result<PayRow> {
        let get = |field: &str| -> Option<&str> {
            layout
                .idx
                .get(field)
                .and_then(|i| record.get(*i))
                .map(|v| v.trim())
        };
        let at = |field: &str, e: Error| {
            let col = match field {
                "patient" => &self.columns.patient,
                "amount" => &self.columns.amount,
                "key" => &self.columns.key,
                "date" => self.columns.date.as_ref().unwrap_or(&self.columns.key),
                "method" => self.columns.method.as_ref().unwrap_or(&self.columns.key),
                _ => self.columns.reference.as_ref().unwrap_or(&self.columns.key),
            };
            Error {
                message: format!("row {row}, column {col:?} (columns.{field}): {}", e.message),
                ..e
            }
        };
        // The parser's message quotes the value; a mis-mapped column could hold a name.
        let patient =
            Id::parse_kind(get("patient").unwrap_or(""), IdKind::Patient).map_err(|_| {
                at(
                    "patient",
                    Error::user("is not a patient ID (like P7K3QX9M2)")
                        .hint("columns.patient must name the column that holds patient IDs"),
                )
            })?;
        let amount =
            parse_money("amount", get("amount").unwrap_or("")).map_err(|e| at("amount", e))?;
        let method = self.method(get("method")).map_err(|e| at("method", e))?;
        let reference = check_reference(method, get("reference").filter(|r| !r.is_empty()))
            .map_err(|e| at("reference", e))?;
        let date = match get("date") {
            Some(d) => {
                let f = self.options.date_format.as_deref().unwrap_or("%Y-%m-%d");
                NaiveDate::parse_from_str(d, f).map_err(|_| {
                    at(
                        "date",
                        Error::user(format!("not a date in the form {f} (options.date_format)")),
                    )
                })?
            }
            None => today,
        };
        if date > today {
            return Err(at(
                "date",
                Error::user("is after today")
                    .hint("check options.date_format (month and day swapped?)"),
            ));
        }
        let raw_key = get("key").unwrap_or("");
        let key = check_idempotency_key(&format!(
            "{}{raw_key}",
            self.options.key_prefix.as_deref().unwrap_or("")
        ))
        .map_err(|e| at("key", e))?;
        Ok(PayRow {
            row,
            patient,
            amount,
            method,
            reference,
            date,
            key,
        })
    }

    fn method(&self, value: Option<&str>) -> Result<Method> {
        match value.filter(|v| !v.is_empty()) {
            None => self
                .options
                .method
                .ok_or_else(|| Error::user("no method, and options.method gives none")),
            Some(v) => {
                if let Some(m) = self.methods.iter().find(|(k, _)| k.eq_ignore_ascii_case(v)) {
                    return Ok(*m.1);
                }
                Method::ALL
                    .into_iter()
                    .find(|m| m.as_str().eq_ignore_ascii_case(v))
                    .ok_or_else(|| {
                        Error::user("not a payment method (cash, check, card, other)")
                            .hint("map the file's tender names in [methods], e.g. VISA = \"card\"")
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> PayMap {
        toml::from_str(
            r#"
            [columns]
            patient = "Customer Ref"
            amount = "Amount"
            key = "Txn"
            date = "Date"
            method = "Tender"
            reference = "Last4"
            [options]
            date_format = "%m/%d/%Y"
            key_prefix = "t-"
            [methods]
            VISA = "card"
            [skip]
            column = "Status"
            values = ["DECLINED"]
            "#,
        )
        .unwrap()
    }

    fn rec(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rows_map_to_payments() {
        let m = map();
        let header = rec(&[
            "Date",
            "Txn",
            "Customer Ref",
            "Amount",
            "Tender",
            "Last4",
            "Status",
        ]);
        let l = m.layout(&header).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let r = m
            .row(
                &l,
                2,
                &rec(&[
                    "11/30/2026",
                    "0042",
                    "P7K3QX9M2",
                    "$25.00",
                    "visa",
                    "4242",
                    "OK",
                ]),
                today,
            )
            .unwrap();
        assert_eq!(r.method, Method::Card);
        assert_eq!(r.key, "t-0042");
        assert_eq!(r.date, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert!(m.skips(&l, &rec(&["", "", "", "", "", "", "declined"])));
        let err = m
            .row(
                &l,
                3,
                &rec(&["11/31/2026", "1", "P7K3QX9M2", "5", "visa", "", ""]),
                today,
            )
            .unwrap_err();
        assert!(
            err.message.contains("row 3") && err.message.contains("Date"),
            "{}",
            err.message
        );
        let err = m
            .row(
                &l,
                4,
                &rec(&["", "1", "P7K3QX9M2", "-5", "visa", "", ""]),
                today,
            )
            .unwrap_err();
        assert!(
            err.message.contains("Amount") && err.message.contains("negative"),
            "{}",
            err.message
        );
    }

    proptest::proptest! {
        /// Whatever a row holds, reading it gives a payment or an error, never a panic, and an
        /// error never repeats the row's patient cell.
        #[test]
        fn any_row_reads_without_panicking(cells in proptest::collection::vec("\\PC{0,24}", 7)) {
            let m = map();
            let header = rec(&["Date", "Txn", "Customer Ref", "Amount", "Tender", "Last4", "Status"]);
            let l = m.layout(&header).unwrap();
            let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
            if let Err(e) = m.row(&l, 2, &cells, today) {
                let patient = cells[2].trim();
                proptest::prop_assert!(patient.chars().count() < 6 || !e.message.contains(patient), "{}", e.message);
            }
        }
    }

    #[test]
    fn missing_columns_are_all_named() {
        let err = map().layout(&rec(&["Date", "Amount"])).err().unwrap();
        assert!(
            err.message.contains("Customer Ref") && err.message.contains("Txn"),
            "{}",
            err.message
        );
    }
}
