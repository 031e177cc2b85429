//! A fault-injection seam for the reliability tests: `FRONTDESK_FAULT=rename` makes the store
//! fail at that step of every atomic write (`write`, `fsync`, `rename`, `dirsync`, `git`), as
//! a full disk or a failing device would. `FRONTDESK_FAULT=crash:rename` instead ends the
//! process on the spot at that step (no destructors, no cleanup), as `kill -9` or a power cut
//! would. A `#N` suffix (`crash:rename#2`) picks only the Nth time the step is reached, e.g.
//! the record's write rather than the search index's. Unset, it costs one cached lookup.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Fault {
    step: String,
    crash: bool,
    /// Only the Nth time the step is reached (1-based); every time when absent.
    nth: Option<usize>,
}

static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
static HITS: AtomicUsize = AtomicUsize::new(0);

fn parse(spec: &str) -> Fault {
    let (crash, rest) = match spec.strip_prefix("crash:") {
        Some(r) => (true, r),
        None => (false, spec),
    };
    let (step, nth) = match rest.split_once('#') {
        Some((s, n)) => (s, n.parse().ok()),
        None => (rest, None),
    };
    Fault {
        step: step.to_string(),
        crash,
        nth,
    }
}

pub fn check(step: &str) -> std::io::Result<()> {
    let fault = FAULT.get_or_init(|| std::env::var("FRONTDESK_FAULT").ok().map(|s| parse(&s)));
    let Some(f) = fault.as_ref().filter(|f| f.step == step) else {
        return Ok(());
    };
    let hit = HITS.fetch_add(1, Ordering::SeqCst) + 1;
    if f.nth.is_some_and(|n| n != hit) {
        return Ok(());
    }
    if f.crash {
        std::process::abort();
    }
    Err(std::io::Error::other(format!("injected fault at {step}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let f = parse("crash:rename#2");
        assert!(f.crash && f.step == "rename" && f.nth == Some(2));
        let f = parse("fsync");
        assert!(!f.crash && f.step == "fsync" && f.nth.is_none());
    }
}
