//! Community resources: `resources/SLUG.toml`, named like payers and providers.

use std::path::{Path, PathBuf};

use crate::domain::resource::{Resource, check_slug};
use crate::error::{Error, Result};
use crate::store::{Store, files_with_ext, read_toml};

pub use crate::disk::layout::RESOURCES_DIR;

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
