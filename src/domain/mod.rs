//! Plain types and pure rules: no disk, no terminal. Most unit and property tests live here.

pub mod check;
pub mod common;
pub mod dates;
pub mod demo;
pub mod duplicate;
pub mod id;
pub mod import;
pub mod insurance;
pub mod office;
pub mod patient;
pub mod phone;
pub mod schedule;
pub mod search;
pub mod validate;
