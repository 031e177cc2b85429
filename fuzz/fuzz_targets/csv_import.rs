//! `patient import` on arbitrary CSV bytes with a fixed map: decoding, the header binding and
//! every row's mapping must never panic, and no row error may quote a cell (PHI).
#![no_main]

use std::path::Path;

use chrono::{NaiveDate, TimeZone};
use frontdesk::domain::id::{Id, IdKind};
use frontdesk::domain::import::{Mapping, Outcome, RowContext};
use libfuzzer_sys::fuzz_target;

const MAP: &str = r#"
[identity]
system = "chart"
column = "Chart"

[fields]
given = "First"
family = "Last"
birth_date = { column = "DOB", format = "%m/%d/%Y" }
sex = { column = "Sex", map = { Male = "M", Female = "F" } }
mobile_phone = "Phone"
notes = "Notes"

[[skip]]
column = "Last"
equals = "TEST"
"#;

fuzz_target!(|data: &[u8]| {
    let mapping =
        Mapping::parse(Path::new("map.toml"), MAP.as_bytes()).expect("the fixed map parses");
    let Ok(text) = mapping.encoding.decode("in.csv", data) else {
        return;
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(mapping.delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let Ok(header) = reader.headers().cloned() else {
        return;
    };
    let Ok(plan) = mapping.bind("in.csv", &header) else {
        return;
    };
    let now = chrono::FixedOffset::west_opt(5 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
        .unwrap();
    let ctx = RowContext {
        today: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        now,
        calling_code: "1",
        country: "US",
    };
    for record in reader.records().flatten().take(64) {
        if let Outcome::Bad(errors) = plan.row(&record, Id::generate(IdKind::Patient), &ctx) {
            // Only cells marked with `~`, which no message of ours contains, can be told
            // apart from our own words ("fields", "the header has") when found in an error.
            for e in errors {
                for cell in record.iter().filter(|c| c.len() >= 4 && c.contains('~')) {
                    assert!(!e.what.contains(cell), "a row error quotes a cell");
                }
            }
        }
    }
});
