//! Recall: which patients are due to come back for a kind of visit.
//!
//! An appointment type may carry `recall_after = "12 months"` in `appointment-types.toml`. A
//! patient is due for that type when their last visit of it (an appointment they came to:
//! arrived, roomed or fulfilled) is at least that long ago, and nothing of that type is booked
//! for them from the as-of date on. A patient who never had a visit of the type is not due:
//! recall brings people *back*.
//!
//! Pure: the caller reads the appointments (and decides which patients may be written to).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::id::Id;
use crate::domain::schedule::{Appointment, AppointmentTypes, Status};
use crate::error::{Error, Result};

/// A recall interval: a whole number of days, weeks, months or years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub count: u32,
    pub unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Days,
    Weeks,
    Months,
    Years,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Days => "days",
            Unit::Weeks => "weeks",
            Unit::Months => "months",
            Unit::Years => "years",
        }
    }
}

/// The longest recall an office can mean (ten years), so a typo like "120 years" is caught.
const MAX_DAYS: u32 = 3660;

impl Interval {
    /// Reads `"12 months"`, `"6 weeks"`, `"1 year"`, `"90 days"` (singular or plural, any case).
    pub fn parse(s: &str) -> Result<Interval> {
        let bad = || {
            Error::user("recall_after is not an interval such as \"12 months\"")
                .hint("write a whole number and days, weeks, months or years, e.g. \"6 months\"")
        };
        let mut words = s.split_whitespace();
        let (Some(n), Some(unit), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad());
        };
        let count: u32 = n.parse().map_err(|_| bad())?;
        let unit = match unit.to_ascii_lowercase().trim_end_matches('s') {
            "day" => Unit::Days,
            "week" => Unit::Weeks,
            "month" => Unit::Months,
            "year" => Unit::Years,
            _ => return Err(bad()),
        };
        let approx_days = match unit {
            Unit::Days => count,
            Unit::Weeks => count.saturating_mul(7),
            Unit::Months => count.saturating_mul(31),
            Unit::Years => count.saturating_mul(366),
        };
        if count == 0 || approx_days > MAX_DAYS {
            return Err(
                Error::user("recall_after must be more than zero and at most 10 years")
                    .hint("e.g. recall_after = \"12 months\""),
            );
        }
        Ok(Interval { count, unit })
    }

    /// The date `self` after `from`. Months and years keep the day of the month, or take the
    /// month's last day when it has none (a visit on 31 January is due again on 28 or 29
    /// February a month later; one on 29 February a year later on 28 February).
    pub fn after(self, from: NaiveDate) -> NaiveDate {
        let n = self.count;
        let later = match self.unit {
            Unit::Days => from.checked_add_days(Days::new(n.into())),
            Unit::Weeks => from.checked_add_days(Days::new(u64::from(n) * 7)),
            Unit::Months => from.checked_add_months(Months::new(n)),
            Unit::Years => from.checked_add_months(Months::new(n.saturating_mul(12))),
        };
        later.unwrap_or(NaiveDate::MAX)
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = self.unit.name();
        if self.count == 1 {
            write!(f, "1 {}", &unit[..unit.len() - 1])
        } else {
            write!(f, "{} {unit}", self.count)
        }
    }
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Interval::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// A visit that took place: the patient came (whether or not the visit was closed yet).
pub fn was_seen(status: Status) -> bool {
    matches!(status, Status::Arrived | Status::Roomed | Status::Fulfilled)
}

/// One patient due for one kind of visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    pub patient: Id,
    /// The appointment type key.
    #[serde(rename = "type")]
    pub kind: String,
    /// The last visit of that type: its appointment and office-local date.
    pub last_appointment: Id,
    pub last_visit: NaiveDate,
    /// When the patient became due (the last visit plus the interval).
    pub due_since: NaiveDate,
}

/// Every (patient, type) due on `as_of`, for the types that have a `recall_after`, ordered by
/// patient ID then type key. `appointments` may hold any patients' appointments in any order
/// (types without a recall interval and other statuses are ignored).
pub fn due<'a>(
    types: &AppointmentTypes,
    appointments: impl IntoIterator<Item = &'a Appointment>,
    as_of: NaiveDate,
) -> Vec<Due> {
    #[derive(Default)]
    struct Seen<'a> {
        last: Option<&'a Appointment>,
        booked: bool,
    }
    let recall: BTreeMap<&str, Interval> = types
        .types
        .iter()
        .filter_map(|t| Some((t.key.as_str(), t.recall_after?)))
        .collect();
    if recall.is_empty() {
        return Vec::new();
    }
    let mut seen: BTreeMap<(&Id, &str), Seen> = BTreeMap::new();
    for a in appointments {
        let Some((kind, _)) = recall.get_key_value(a.kind.as_str()) else {
            continue;
        };
        let entry = seen.entry((&a.patient, kind)).or_default();
        if was_seen(a.status) {
            if entry.last.is_none_or(|l| a.start > l.start) {
                entry.last = Some(a);
            }
        } else if matches!(a.status, Status::Booked | Status::Confirmed) && a.date() >= as_of {
            entry.booked = true;
        }
    }
    seen.into_iter()
        .filter(|(_, s)| !s.booked)
        .filter_map(|((patient, kind), s)| {
            let last = s.last?;
            let due_since = recall[kind].after(last.date());
            (due_since <= as_of).then(|| Due {
                patient: patient.clone(),
                kind: kind.to_string(),
                last_appointment: last.id.clone(),
                last_visit: last.date(),
                due_since,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::id::IdKind;
    use crate::domain::schedule::AppointmentType;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn types() -> AppointmentTypes {
        let t = |key: &str, recall: Option<&str>| AppointmentType {
            key: key.into(),
            name: key.into(),
            minutes: 30,
            buffer_after: 0,
            new_patient: false,
            copay: Default::default(),
            min_lead_hours: 0,
            providers: vec![],
            instructions: None,
            needs: vec![],
            recall_after: recall.map(|r| Interval::parse(r).unwrap()),
            retired: false,
        };
        AppointmentTypes {
            schema: 1,
            types: vec![
                t("annual-physical", Some("12 months")),
                t("follow-up", None),
            ],
        }
    }

    fn visit(patient: &Id, kind: &str, day: &str, status: Status) -> Appointment {
        let start = chrono::DateTime::parse_from_rfc3339(&format!("{day}T09:00:00-05:00")).unwrap();
        let mut a = Appointment::booked(
            Id::generate(IdKind::Appointment),
            patient.clone(),
            "okafor",
            kind,
            start,
            start + chrono::Duration::minutes(30),
        );
        a.status = status;
        a
    }

    #[test]
    fn intervals_parse_print_and_add() {
        let i = Interval::parse("12 months").unwrap();
        assert_eq!(i.to_string(), "12 months");
        assert_eq!(i.after(d("2025-12-04")), d("2026-12-04"));
        assert_eq!(Interval::parse("1 Month").unwrap().to_string(), "1 month");
        assert_eq!(
            Interval::parse("1 month").unwrap().after(d("2026-01-31")),
            d("2026-02-28")
        );
        assert_eq!(
            Interval::parse("1 year").unwrap().after(d("2028-02-29")),
            d("2029-02-28")
        );
        assert_eq!(
            Interval::parse("6 weeks").unwrap().after(d("2026-12-01")),
            d("2027-01-12")
        );
        assert_eq!(
            Interval::parse("90 days").unwrap().after(d("2026-01-01")),
            d("2026-04-01")
        );
        for bad in [
            "",
            "12",
            "twelve months",
            "12 fortnights",
            "0 days",
            "11 years",
            "1 month x",
        ] {
            assert!(Interval::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_interval_reads_from_the_types_file() {
        let text = "schema = 1\n[[type]]\nkey = \"annual-physical\"\nname = \"Annual\"\nminutes = 30\nrecall_after = \"12 months\"\n";
        let t: AppointmentTypes = toml::from_str(text).unwrap();
        assert_eq!(
            t.types[0].recall_after,
            Some(Interval {
                count: 12,
                unit: Unit::Months
            })
        );
        let back = toml::to_string(&t).unwrap();
        assert!(back.contains("recall_after = \"12 months\""), "{back}");
        let bad = text.replace("12 months", "soon");
        let err = toml::from_str::<AppointmentTypes>(&bad).unwrap_err();
        assert!(err.to_string().contains("recall_after"), "{err}");
    }

    #[test]
    fn due_after_the_interval_unless_booked() {
        let t = types();
        let (p1, p2, p3, p4) = (
            Id::generate(IdKind::Patient),
            Id::generate(IdKind::Patient),
            Id::generate(IdKind::Patient),
            Id::generate(IdKind::Patient),
        );
        let as_of = d("2026-12-04");
        let old = visit(&p1, "annual-physical", "2025-11-20", Status::Fulfilled);
        let appts = vec![
            // p1: an older physical, then the last one over a year ago: due since its date.
            visit(&p1, "annual-physical", "2024-11-02", Status::Fulfilled),
            old.clone(),
            // A follow-up has no recall interval: ignored.
            visit(&p1, "follow-up", "2024-01-02", Status::Fulfilled),
            // p2: the last physical was exactly a year ago today: due today.
            visit(&p2, "annual-physical", "2025-12-04", Status::Fulfilled),
            // p3: due, but the next physical is already booked.
            visit(&p3, "annual-physical", "2025-01-10", Status::Fulfilled),
            visit(&p3, "annual-physical", "2026-12-20", Status::Confirmed),
            // p4: seen a month ago (a later visit wins over an old one); a no-show and a
            // cancelled one are not visits.
            visit(&p4, "annual-physical", "2024-05-01", Status::Fulfilled),
            visit(&p4, "annual-physical", "2026-11-01", Status::Arrived),
            visit(&p4, "annual-physical", "2026-11-20", Status::Noshow),
            visit(&p4, "annual-physical", "2026-11-25", Status::Cancelled),
        ];
        let due = due(&t, appts.iter().rev(), as_of);
        let mut expected = vec![
            Due {
                patient: p1.clone(),
                kind: "annual-physical".into(),
                last_appointment: old.id.clone(),
                last_visit: d("2025-11-20"),
                due_since: d("2026-11-20"),
            },
            Due {
                patient: p2.clone(),
                kind: "annual-physical".into(),
                last_appointment: appts[3].id.clone(),
                last_visit: d("2025-12-04"),
                due_since: d("2026-12-04"),
            },
        ];
        expected.sort_by(|a, b| a.patient.cmp(&b.patient));
        assert_eq!(due, expected);
        // A day earlier p2 is not due yet.
        let before = super::due(&t, &appts, d("2026-12-03"));
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].patient, p1);
    }

    #[test]
    fn a_stale_booking_in_the_past_does_not_hold_a_recall_back() {
        let t = types();
        let p = Id::generate(IdKind::Patient);
        let appts = [
            visit(&p, "annual-physical", "2025-01-10", Status::Fulfilled),
            // Booked for a day already past and never closed: not a plan to come back.
            visit(&p, "annual-physical", "2026-02-01", Status::Booked),
        ];
        assert_eq!(due(&t, &appts, d("2026-12-04")).len(), 1);
    }

    #[test]
    fn no_interval_no_recall() {
        let mut t = types();
        t.types[0].recall_after = None;
        let p = Id::generate(IdKind::Patient);
        let appts = [visit(
            &p,
            "annual-physical",
            "2020-01-10",
            Status::Fulfilled,
        )];
        assert!(due(&t, &appts, d("2026-12-04")).is_empty());
    }
}
