//! Synthetic survey responses (fictional), for `demo generate` (about 20 % of past visits) and
//! the sample clinic (`survey demo`). Deterministic: the same seed and visit give the same
//! response. The chance of top-box answers falls as the wait (arrival → roomed) grows, so
//! `report satisfaction --against wait` has a relation to show; a visit with no wait on record
//! gets middling odds.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::domain::id::{Id, IdKind};
use crate::domain::schedule::Appointment;
use crate::domain::survey::instrument::{Instrument, Scale};
use crate::domain::survey::{Channel, Month, SCHEMA, Survey};

/// The share of past visits `demo generate` files a response for.
pub const DEMO_SHARE_PERCENT: u64 = 20;

/// The random source for response `n` under `seed`.
fn rng(seed: u64, n: u64) -> StdRng {
    StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ n.rotate_left(17) ^ 0x5356)
}

/// Survey `n`'s ID: a bijection of the 40-bit ordinal (an odd multiplier and an offset, modulo
/// 2⁴⁰), so no two generated responses share an ID.
pub fn survey_id(seed: u64, n: u64) -> Id {
    const MASK: u64 = (1 << 40) - 1;
    Id::from_bits(
        IdKind::Survey,
        (n.wrapping_mul(0x9_e377_9b97)
            .wrapping_add(seed.wrapping_mul(0x2545_f491)))
            & MASK,
    )
}

/// Whether visit `n` gets a response, `percent` times in a hundred.
pub fn chosen(seed: u64, n: u64, percent: u64) -> bool {
    rng(seed ^ 0xc0ffee, n).random_range(0..100) < percent
}

/// The probability of a top-box answer after waiting `wait` minutes.
pub fn top_box_odds(wait: Option<i64>) -> f64 {
    match wait {
        Some(w) => (0.92 - 0.022 * w as f64).clamp(0.15, 0.92),
        None => 0.7,
    }
}

const COMMENTS: &[&str] = &[
    "Friendly front desk, quick check in.",
    "Waited far too long in the waiting room.",
    "Dr. Rivera listened and explained everything clearly.",
    "Parking was hard to find.",
    "Please call me back at 617-555-0142 about my bill.",
    "The receptionist Maria was very kind to my mother.",
    "Could not get through on the phone line.",
    "Great visit, thank you.",
];

/// A response to `instrument` whose answers are top-box with probability `odds` (a little
/// more for provider communication): every question answered (the urgent-care access item
/// skipped by about a third, as not applicable), a comment on about one in six.
pub fn answers(
    inst: &Instrument,
    seed: u64,
    n: u64,
    odds: f64,
) -> (BTreeMap<String, u8>, Option<String>, Channel) {
    let mut r = rng(seed, n);
    let mut out = BTreeMap::new();
    for q in &inst.questions {
        if q.key == "access_urgent" && r.random_bool(0.35) {
            continue;
        }
        // Provider communication depends less on the wait than access and staff do.
        let p = if q.composite.as_deref() == Some("communication") {
            (odds + 0.1).min(0.95)
        } else {
            odds
        };
        let top = r.random_bool(p);
        let v = match (q.scale, top) {
            (Scale::Frequency, true) => 4,
            (Scale::Frequency, false) => [3, 3, 3, 2, 2, 1][r.random_range(0..6)],
            (Scale::Rating, true) => [9, 10][r.random_range(0..2)],
            (Scale::Rating, false) => [3, 5, 6, 6, 7, 7, 8, 8][r.random_range(0..8)],
        };
        out.insert(q.key.clone(), v);
    }
    let comment = r
        .random_bool(0.17)
        .then(|| COMMENTS[r.random_range(0..COMMENTS.len())].to_string());
    let channel = [
        Channel::Sms,
        Channel::Email,
        Channel::Paper,
        Channel::Kiosk,
        Channel::Phone,
    ][r.random_range(0..5)];
    (out, comment, channel)
}

/// Response `n` about appointment `a` (its visit on `visit`), received the next day.
pub fn for_visit(
    inst: &Instrument,
    seed: u64,
    n: u64,
    a: &Appointment,
    visit: NaiveDate,
    wait: Option<i64>,
) -> Survey {
    let (answers, comment, channel) = answers(inst, seed, n, top_box_odds(wait));
    Survey {
        schema: SCHEMA,
        id: survey_id(seed, n),
        month: Month::of(visit),
        appointment: Some(a.id.clone()),
        visit: Some(visit),
        provider: a.provider.clone(),
        channel,
        received: visit.succ_opt().unwrap_or(visit),
        instrument: inst.version,
        response_id: None,
        answers,
        comment,
        extra: toml::Table::new(),
    }
}

/// Anonymous response `n` about `provider` in `month` (no appointment, so no wait known),
/// top-box with probability `odds`.
pub fn anonymous(
    inst: &Instrument,
    seed: u64,
    n: u64,
    provider: &str,
    month: Month,
    odds: f64,
) -> Survey {
    let (answers, comment, channel) = answers(inst, seed, n, odds);
    Survey {
        schema: SCHEMA,
        id: survey_id(seed, n),
        month,
        appointment: None,
        visit: None,
        provider: provider.to_string(),
        channel,
        received: month.last(),
        instrument: inst.version,
        response_id: None,
        answers,
        comment,
        extra: toml::Table::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_response_and_ids_never_repeat() {
        let inst = Instrument::builtin();
        assert_eq!(answers(&inst, 3, 7, 0.5), answers(&inst, 3, 7, 0.5));
        let mut ids: Vec<Id> = (0..5000).map(|n| survey_id(3, n)).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 5000);
    }

    #[test]
    fn long_waits_get_fewer_top_box_answers() {
        let inst = Instrument::builtin();
        let top = |wait: i64| -> usize {
            (0..400)
                .map(|n| answers(&inst, 1, n, top_box_odds(Some(wait))).0)
                .map(|a| a.get("staff_courtesy").is_some_and(|v| *v == 4) as usize)
                .sum()
        };
        assert!(top(5) > top(25) + 80, "{} vs {}", top(5), top(25));
        assert!(top(25) > top(40));
    }

    #[test]
    fn generated_responses_are_valid_records() {
        let inst = Instrument::builtin();
        let s = anonymous(
            &inst,
            1,
            2,
            "okafor",
            Month {
                year: 2026,
                month: 11,
            },
            0.7,
        );
        s.validate().unwrap();
    }
}
