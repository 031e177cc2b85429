//! Every record kind `frontdesk check` knows, fed the same bytes: parse, schema, field rules,
//! location and references must never panic. A patient that parses must also write back to
//! TOML that parses to the same patient.
#![no_main]

use std::path::Path;

use frontdesk::domain::office::Office;
use frontdesk::domain::patient::Patient;
use frontdesk::check::KINDS;
use frontdesk::store::{parse_toml, to_toml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let office = Office::new("Fuzz Clinic", "America/New_York").unwrap();
    for kind in KINDS {
        let rel = Path::new(kind.path).join("P7K3QX9M2.toml");
        let _ = (kind.inspect)(&rel, data, &office);
    }
    if let Ok(p) = parse_toml::<Patient>(Path::new("p.toml"), data) {
        let text = to_toml(&p).expect("a parsed patient must serialise");
        let back: Patient = parse_toml(Path::new("back.toml"), text.as_bytes())
            .expect("a written patient must parse");
        assert_eq!(back, p, "patient round trip changed the record");
    }
});
