//! Plain types and pure rules: no disk, no terminal. Most unit and property tests live here.

pub mod check;
pub mod closeout;
pub mod common;
pub mod dates;
pub mod demo;
pub mod duplicate;
pub mod id;
pub mod import;
pub mod insurance;
pub mod ledger;
pub mod money;
pub mod office;
pub mod patient;
pub mod pay_import;
pub mod phone;
pub mod recall;
pub mod report;
pub mod schedule;
pub mod search;
pub mod service;
pub mod suggest;
pub mod validate;
