//! Community resources (`resources/SLUG.toml`): services outside the office the desk refers
//! patients to, with fields modelled on the Open Referral Human Services Data Specification
//! (HSDS 3: organization, service, service_area, location, schedule, phone, language, and the
//! `assured_date`/`assurer_email` pair for the last verification). docs/resources.md maps each
//! field to HSDS.
//!
//! Pure rules: the record and its checks, where a service serves, and the ranking `resource
//! find` and `resource match` use (need, then area, then language, then verified recently).

use std::cmp::Reverse;

use chrono::{Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::domain::comm::{note_text, short_text};
use crate::domain::common::Address;
use crate::domain::needs;
use crate::error::{Error, Result};

pub const SCHEMA: u32 = 1;
/// A resource not verified for this many months is flagged (in `find` and by `check`).
pub const STALE_MONTHS: u32 = 12;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub schema: u32,
    /// The file's name: lowercase letters, digits and hyphens.
    pub slug: String,
    /// HSDS organization.name.
    pub organization: String,
    /// HSDS service.name.
    pub name: String,
    /// HSDS service.description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The needs it serves, in the intake words (`transport`, `food`, `interpreter`).
    pub needs: Vec<String>,
    /// HSDS service_area: ZIP codes (`02139`), ZIP prefixes (`021`), cities (`city:Cambridge`),
    /// or `any`. Empty: unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub area: Vec<String>,
    /// HSDS language.code: ISO 639-1 codes of the languages served.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Days open (HSDS schedule.byday): `mon` … `sun`. Empty: unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_days: Vec<String>,
    /// Opening hours as people read them (HSDS schedule.description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    /// E.164 (HSDS phone.number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// HSDS service.url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// HSDS service.email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// HSDS service.eligibility_description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<String>,
    /// HSDS service.fees_description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fees: Option<String>,
    /// HSDS service.application_process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_process: Option<String>,
    /// Last verified (HSDS service.assured_date) and by whom (assurer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<String>,
    /// Set when the service closed or the office stopped referring to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<NaiveDate>,
    /// HSDS location (physical address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// A resource's file name: lowercase letters, digits and hyphens, at most 60.
pub fn check_slug(slug: &str) -> Result<()> {
    let ok = !slug.is_empty()
        && slug.len() <= 60
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if !ok {
        return Err(Error::user(
            "resource slug must be lowercase letters, digits and hyphens (at most 60)",
        )
        .hint("e.g. ride-share-medical"));
    }
    Ok(())
}

/// A service-area entry as typed: a ZIP code or prefix (digits), `city:NAME`, or `any`.
pub fn area_entry(input: &str) -> Result<String> {
    let s = input.trim();
    if s.eq_ignore_ascii_case("any") {
        return Ok("any".into());
    }
    if let Some(city) = s.strip_prefix("city:") {
        short_text("--area city", city)?;
        return Ok(format!("city:{}", city.trim()));
    }
    if (1..=5).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(s.to_string());
    }
    Err(
        Error::user("--area is not a ZIP code, ZIP prefix, city:NAME or any")
            .hint("e.g. --area 02139 --area 021 --area city:Cambridge"),
    )
}

/// A weekday as typed (`tue`, `Tuesday`), stored as three lowercase letters.
pub fn day_entry(input: &str, field: &str) -> Result<String> {
    let wd: Weekday = input.trim().parse().map_err(|_| {
        Error::user(format!("{field} is not a weekday")).hint("use mon, tue, … sun")
    })?;
    Ok(day_name(wd).to_string())
}

pub fn day_name(wd: Weekday) -> &'static str {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][wd.num_days_from_monday() as usize]
}

impl Resource {
    /// A resource with only its slug: `add` and `import` fill it in.
    pub fn new(slug: &str) -> Resource {
        Resource {
            schema: SCHEMA,
            slug: slug.to_string(),
            organization: String::new(),
            name: String::new(),
            description: None,
            needs: Vec::new(),
            area: Vec::new(),
            languages: Vec::new(),
            open_days: Vec::new(),
            hours: None,
            phone: None,
            website: None,
            email: None,
            eligibility: None,
            fees: None,
            application_process: None,
            verified_on: None,
            verified_by: None,
            retired: None,
            address: None,
            extra: Default::default(),
        }
    }

    pub fn validate(&self) -> Result<()> {
        check_slug(&self.slug)?;
        short_text("organization", &self.organization)?;
        short_text("name", &self.name)?;
        if self.needs.is_empty() {
            return Err(
                Error::user("needs is empty: a resource serves at least one need")
                    .hint("e.g. --need transport"),
            );
        }
        for n in &self.needs {
            if needs::category_word(n, "needs")? != *n {
                return Err(Error::user("needs: a need is not in its stored form"));
            }
        }
        for a in &self.area {
            if area_entry(a)? != *a {
                return Err(Error::user("area: an entry is not in its stored form"));
            }
        }
        for l in &self.languages {
            needs::language(l, "languages")?;
        }
        for d in &self.open_days {
            if day_entry(d, "open_days")? != *d {
                return Err(Error::user("open_days: a day is not in its stored form"));
            }
        }
        for (field, v) in [
            ("hours", &self.hours),
            ("website", &self.website),
            ("email", &self.email),
            ("verified_by", &self.verified_by),
        ] {
            if let Some(v) = v {
                short_text(field, v)?;
            }
        }
        for (field, v) in [
            ("description", &self.description),
            ("eligibility", &self.eligibility),
            ("fees", &self.fees),
            ("application_process", &self.application_process),
        ] {
            if let Some(v) = v {
                note_text(field, v)?;
            }
        }
        Ok(())
    }

    /// Not verified in the last [`STALE_MONTHS`] months (or never).
    pub fn is_stale(&self, today: NaiveDate) -> bool {
        let cutoff = today
            .checked_sub_months(Months::new(STALE_MONTHS))
            .unwrap_or(NaiveDate::MIN);
        self.verified_on.is_none_or(|d| d < cutoff)
    }

    /// How well the service area covers a place: 4 a ZIP code, 3 a ZIP prefix (longer is
    /// not better: an office lists the area it serves), 2 the city, 1 anywhere, 0 not at all.
    pub fn area_fit(&self, zip: Option<&str>, city: Option<&str>) -> Area {
        let mut best = Area::Outside;
        for a in &self.area {
            let fit = if a == "any" {
                Area::Anywhere
            } else if let Some(c) = a.strip_prefix("city:") {
                if city.is_some_and(|x| x.trim().eq_ignore_ascii_case(c)) {
                    Area::City
                } else {
                    Area::Outside
                }
            } else if let Some(z) = zip {
                if z == a {
                    Area::Zip
                } else if a.len() < 5 && z.starts_with(a.as_str()) {
                    Area::Prefix
                } else {
                    Area::Outside
                }
            } else {
                Area::Outside
            };
            best = best.max(fit);
        }
        best
    }
}

/// How a service area covers a place, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    Outside,
    Anywhere,
    City,
    Prefix,
    Zip,
}

impl Area {
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Outside => "",
            Area::Anywhere => "anywhere",
            Area::City => "city",
            Area::Prefix => "zip prefix",
            Area::Zip => "zip",
        }
    }
}

/// What `find` looks for. Every part is optional.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// A need category (`interpreter`, not `interpreter:es`).
    pub need: Option<String>,
    pub zip: Option<String>,
    pub city: Option<String>,
    pub language: Option<String>,
    pub open_on: Option<String>,
}

/// One ranked match.
#[derive(Debug, Clone)]
pub struct Hit<'r> {
    pub resource: &'r Resource,
    pub area: Area,
    pub speaks: bool,
    pub stale: bool,
}

/// The resources that serve the need (and are open on the day asked, when their days are
/// known), retired ones left out, ranked: need first (a filter), then how well the area fits
/// (ZIP, prefix, city, anywhere, outside the area last), then whether they serve the language,
/// then the most recently verified; ties by slug.
pub fn rank<'r>(all: &'r [Resource], q: &Query, today: NaiveDate) -> Vec<Hit<'r>> {
    let zip = q.zip.as_deref().map(|z| &z[..z.len().min(5)]);
    let mut hits: Vec<Hit> = all
        .iter()
        .filter(|r| r.retired.is_none())
        .filter(|r| q.need.as_ref().is_none_or(|n| r.needs.contains(n)))
        .filter(|r| {
            q.open_on
                .as_ref()
                .is_none_or(|d| r.open_days.is_empty() || r.open_days.contains(d))
        })
        .map(|r| Hit {
            resource: r,
            area: r.area_fit(zip, q.city.as_deref()),
            speaks: q.language.as_ref().is_some_and(|l| r.languages.contains(l)),
            stale: r.is_stale(today),
        })
        .collect();
    hits.sort_by_key(|h| {
        (
            Reverse(h.area),
            Reverse(h.speaks),
            Reverse(h.resource.verified_on),
            h.resource.slug.clone(),
        )
    });
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(
        slug: &str,
        need: &str,
        area: &[&str],
        langs: &[&str],
        verified: Option<&str>,
    ) -> Resource {
        Resource {
            organization: "Org".into(),
            name: "Service".into(),
            needs: vec![need.into()],
            area: area.iter().map(|s| s.to_string()).collect(),
            languages: langs.iter().map(|s| s.to_string()).collect(),
            verified_on: verified.map(|d| d.parse().unwrap()),
            ..Resource::new(slug)
        }
    }

    #[test]
    fn ranking_is_need_then_area_then_language_then_verified() {
        let today: NaiveDate = "2026-12-01".parse().unwrap();
        let mut all = vec![
            res(
                "anywhere-es",
                "transport",
                &["any"],
                &["es"],
                Some("2026-11-01"),
            ),
            res(
                "zip-en",
                "transport",
                &["02139"],
                &["en"],
                Some("2025-01-01"),
            ),
            res(
                "prefix-es",
                "transport",
                &["021"],
                &["es"],
                Some("2026-01-01"),
            ),
            res(
                "prefix-en-new",
                "transport",
                &["021"],
                &["en"],
                Some("2026-11-20"),
            ),
            res(
                "prefix-en-old",
                "transport",
                &["021"],
                &["en"],
                Some("2026-02-01"),
            ),
            res("far", "transport", &["90210"], &["es"], Some("2026-11-30")),
            res("food", "food", &["02139"], &["es"], Some("2026-11-30")),
        ];
        all.push({
            let mut r = res("gone", "transport", &["02139"], &["es"], None);
            r.retired = Some(today);
            r
        });
        let q = Query {
            need: Some("transport".into()),
            zip: Some("02139-1234".into()),
            language: Some("es".into()),
            ..Default::default()
        };
        let order: Vec<&str> = rank(&all, &q, today)
            .iter()
            .map(|h| h.resource.slug.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "zip-en",
                "prefix-es",
                "prefix-en-new",
                "prefix-en-old",
                "anywhere-es",
                "far"
            ]
        );
        let hits = rank(&all, &q, today);
        assert!(hits[0].stale && !hits[1].stale);
        assert_eq!(hits[5].area, Area::Outside);
    }

    #[test]
    fn entries_are_checked() {
        assert_eq!(area_entry(" 021 ").unwrap(), "021");
        assert_eq!(area_entry("city:Cambridge").unwrap(), "city:Cambridge");
        assert!(area_entry("0213a").is_err());
        assert!(area_entry("021399").is_err());
        assert_eq!(day_entry("Tuesday", "--open-on").unwrap(), "tue");
        assert!(check_slug("Ride Share").is_err());
        let today: NaiveDate = "2026-12-01".parse().unwrap();
        let r = res("x", "food", &[], &[], Some("2025-12-01"));
        assert!(!r.is_stale(today));
        assert!(res("x", "food", &[], &[], Some("2025-11-30")).is_stale(today));
        assert!(res("x", "food", &[], &[], None).is_stale(today));
    }
}
