//! Community resources: `resources/SLUG.toml`, named like payers and providers.

use std::path::{Path, PathBuf};

use crate::domain::check::Facts;
use crate::domain::office::Office;
use crate::domain::resource::{Resource, STALE_MONTHS, check_slug};
use crate::error::{Error, Result};
use crate::store::check::Checked;
use crate::store::{Store, files_with_ext, read_toml};

pub const RESOURCES_DIR: &str = "resources";

impl Store {
    pub fn resource_rel(slug: &str) -> Result<PathBuf> {
        check_slug(slug)?;
        Ok(PathBuf::from(RESOURCES_DIR).join(format!("{slug}.toml")))
    }

    pub fn load_resource(&self, slug: &str) -> Result<Resource> {
        let path = self.path(&Store::resource_rel(slug)?);
        if !path.is_file() {
            return Err(Error::not_found(format!("no resource {slug}"))
                .hint("find one with `frontdesk resource find --need NEED` or `resource list`"));
        }
        let r: Resource = read_toml(&path)?;
        r.validate().map_err(|e| e.at(path.display()))?;
        Ok(r)
    }

    /// Every resource, retired ones included, by slug.
    pub fn resources(&self) -> Result<Vec<Resource>> {
        let mut out = Vec::new();
        for path in files_with_ext(&self.path(Path::new(RESOURCES_DIR)), "toml")? {
            let r: Resource = read_toml(&path)?;
            r.validate().map_err(|e| e.at(path.display()))?;
            out.push(r);
        }
        out.sort_by(|a, b| a.slug.cmp(&b.slug));
        Ok(out)
    }
}

impl Checked for Resource {
    const SCHEMA: u32 = crate::domain::resource::SCHEMA;
    fn schema(&self) -> u32 {
        self.schema
    }
    /// A resource in use (not retired) that nobody verified for 12 months is a problem: the
    /// desk would be sending patients to a service that may have closed or moved.
    fn facts(&self, office: &Office) -> Result<Facts> {
        self.validate()?;
        if self.retired.is_none() && self.is_stale(office.today()) {
            return Err(Error::user(format!(
                "resource {} was not verified in the last {STALE_MONTHS} months",
                self.slug
            ))
            .hint(format!(
                "call the service to re-check it, then `frontdesk resource verify {}` (or `resource retire {}`)",
                self.slug, self.slug
            )));
        }
        Ok(Facts {
            expected: Some(Store::resource_rel(&self.slug)?),
            ..Facts::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{parse_toml, to_toml};

    #[test]
    fn a_resource_writes_and_reads_back_the_same_and_is_flagged_when_stale() {
        let mut r = Resource::new("food-for-free");
        r.organization = "Food For Free".into();
        r.name = "Pantry".into();
        r.needs = vec!["food".into()];
        r.area = vec!["021".into(), "city:Cambridge".into()];
        r.languages = vec!["es".into()];
        r.verified_on = Some("2025-11-30".parse().unwrap());
        r.address = Some(crate::domain::common::Address {
            line1: "1 Fawcett St".into(),
            city: "Cambridge".into(),
            ..Default::default()
        });
        let text = to_toml(&r).unwrap();
        let back: Resource = parse_toml(Path::new("r.toml"), text.as_bytes()).unwrap();
        assert_eq!(back, r);
        let office = Office::new("T", "America/New_York").unwrap();
        // FRONTDESK_NOW is not set in unit tests: today is after 2026-11-30, so stale.
        let e = r.facts(&office).unwrap_err();
        assert!(
            e.message.contains("not verified in the last 12 months"),
            "{}",
            e.message
        );
        r.verified_on = Some(office.today());
        assert_eq!(
            r.facts(&office).unwrap().expected,
            Some(PathBuf::from("resources/food-for-free.toml"))
        );
        r.verified_on = None;
        r.retired = Some(office.today());
        assert!(
            r.facts(&office).is_ok(),
            "a retired resource is not flagged"
        );
    }
}
