//! frontdesk: the front desk of a medical office, as a command-line toolkit over plain files.
//!
//! Data flows one way: `cli` parses → `store` loads → `domain` decides → `store` writes →
//! `render` shows. The domain never touches the disk; the store is the only code that writes.

// Argument enums are built once per run; boxing their variants would only add noise.
#![allow(clippy::large_enum_variant)]

pub mod check;
pub mod cli;
pub mod derived;
pub mod disk;
pub mod domain;
pub mod error;
pub mod history;
pub mod render;
pub mod store;
pub mod text;
