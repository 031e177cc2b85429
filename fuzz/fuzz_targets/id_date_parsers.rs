//! Everything a clerk types that is parsed: IDs, dates, days, times, money, phones, booking
//! times, preference windows, repeat rules. Never a panic; an accepted ID is path-safe.
#![no_main]

use chrono::NaiveDate;
use frontdesk::domain::dates::{parse_date, parse_day};
use frontdesk::domain::id::Id;
use frontdesk::domain::insurance::parse_amount;
use frontdesk::domain::money::parse_money;
use frontdesk::domain::phone::normalize;
use frontdesk::domain::schedule::clock::{Clock, Span};
use frontdesk::domain::schedule::localtime::{parse_local, resolve};
use frontdesk::domain::schedule::prefs::Windows;
use frontdesk::domain::schedule::recur::Rule;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    if let Ok(id) = Id::parse(s) {
        assert!(id.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(id.as_str().len() <= 10);
    }
    let _ = parse_date(s, today);
    let _ = parse_day(s, today);
    let _ = parse_amount("amount", s);
    let _ = parse_money("amount", s);
    let _ = normalize(s, "1");
    let _ = Clock::parse(s);
    let _ = Span::parse(s);
    let _ = Windows::parse(s);
    let _ = Rule::parse(s);
    if let Ok(local) = parse_local(s, today) {
        let _ = resolve(chrono_tz::America::New_York, local, None);
    }
});
