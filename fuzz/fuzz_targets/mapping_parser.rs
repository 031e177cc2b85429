//! The import map file on arbitrary bytes: parse, then bind to a typical header; never panic.
#![no_main]

use std::path::Path;

use frontdesk::domain::import::Mapping;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Mapping::parse(Path::new("map.toml"), data) {
        let header = csv::StringRecord::from(vec![
            "Chart", "First", "Last", "DOB", "Sex", "Phone", "Notes",
        ]);
        let _ = m.bind("in.csv", &header);
    }
});
