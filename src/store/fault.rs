//! A fault-injection seam for the reliability tests: `FRONTDESK_FAULT=rename` makes the store
//! fail at that step of its next atomic write (`write`, `fsync`, `rename`, `dirsync`, `git`), as
//! a full disk or a failing device would. With the variable unset it costs one cached lookup.

use std::sync::OnceLock;

static FAULT: OnceLock<Option<String>> = OnceLock::new();

pub fn check(step: &str) -> std::io::Result<()> {
    let fault = FAULT.get_or_init(|| std::env::var("FRONTDESK_FAULT").ok());
    match fault {
        Some(f) if f == step => Err(std::io::Error::other(format!("injected fault at {step}"))),
        _ => Ok(()),
    }
}
