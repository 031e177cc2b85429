//! `cargo bench`: the pure functions every big command spends its time in, on generated data of
//! real size (docs/performance.md has the numbers and the whole-command ratios from
//! bench/compare.sh).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, NaiveDate};
use chrono_tz::Tz;
use divan::{Bencher, black_box};
use frontdesk::derived::index::{PatientIndex, PatientSummary};
use frontdesk::domain::demo;
use frontdesk::domain::schedule::Appointment;
use frontdesk::domain::schedule::slots::{Calendar, Filter};
use frontdesk::domain::search::{Query, SearchDoc, rank, within_one_edit};

fn main() {
    divan::main();
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-27T09:00:00-05:00").unwrap()
}

/// 100,000 search documents, as the patient index holds them.
fn docs() -> &'static [SearchDoc] {
    static DOCS: OnceLock<Vec<SearchDoc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        (0..100_000)
            .map(|n| SearchDoc::from_patient(&demo::patient(1, n, now())))
            .collect()
    })
}

/// `patient find` after the index is loaded: parse the query, score and sort 100k documents.
#[divan::bench(args = ["smith jo", "garcia maria 1980", "04/02/1980", "617 555 0101", "smtih"])]
fn rank_100k_patients(b: Bencher, query: &str) {
    let docs = docs();
    let today = now().date_naive();
    b.bench(|| {
        let q = Query::parse(black_box(query), today);
        rank(&q, docs).len()
    });
}

/// The same patients in the patient index's bytes, as `patient find` loads them.
fn index() -> &'static PatientIndex {
    static INDEX: OnceLock<PatientIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let summaries: Vec<PatientSummary> = (0..100_000)
            .map(|n| PatientSummary::from_patient(&demo::patient(1, n, now())))
            .collect();
        PatientIndex::from_summaries(&summaries)
    })
}

/// `patient find` after the stat pass: score 100k patients in place in the index bytes.
#[divan::bench(args = ["smith jo", "garcia maria 1980", "04/02/1980", "617 555 0101", "smtih"])]
fn search_100k_patients_in_index_bytes(b: Bencher, query: &str) {
    let index = index();
    let today = now().date_naive();
    b.bench(|| {
        let q = Query::parse(black_box(query), today);
        index.search(&q, false).map(|hits| hits.len()).unwrap_or(0)
    });
}

#[divan::bench]
fn typo_distance(b: Bencher) {
    b.bench(|| within_one_edit(black_box("smtih"), black_box("smithers")));
}

struct Day {
    tz: Tz,
    holidays: BTreeMap<NaiveDate, String>,
    types: frontdesk::domain::schedule::AppointmentTypes,
    rooms: Vec<frontdesk::domain::schedule::Room>,
    providers: Vec<frontdesk::domain::schedule::Provider>,
    date: NaiveDate,
    appointments: Vec<Appointment>,
}

/// One full day of a 20-provider clinic: about 400 appointments.
fn full_day() -> &'static Day {
    static DAY: OnceLock<Day> = OnceLock::new();
    DAY.get_or_init(|| {
        let tz: Tz = "America/New_York".parse().unwrap();
        let plan = demo::Schedule::new(1, 100_000, 20, now(), tz);
        // Units 20..40: the second-newest working day, all 20 providers.
        let appointments: Vec<Appointment> = (20..40)
            .flat_map(|u| plan.provider_day(u, u64::MAX))
            .map(|v| v.appointment)
            .collect();
        Day {
            tz,
            holidays: BTreeMap::new(),
            types: demo::appointment_types(),
            rooms: demo::rooms(20),
            providers: demo::providers(20).unwrap(),
            date: plan.day_of(20),
            appointments,
        }
    })
}

/// `schedule find`'s inner loop: every bookable slot of one provider on a full day.
#[divan::bench]
fn day_slots_full_day(b: Bencher) {
    let d = full_day();
    let cal = Calendar {
        tz: d.tz,
        holidays: &d.holidays,
        types: &d.types,
        rooms: &d.rooms,
        now: now(),
    };
    let kind = d.types.get("urgent").unwrap();
    let patient = demo::patient_id(1, 99_999);
    let filter = Filter::default();
    b.bench(|| {
        // As `schedule find` does: the day looked up once for every provider.
        let book = cal.day_book(&d.appointments);
        d.providers
            .iter()
            .map(|p| {
                cal.day_slots(&patient, p, kind, d.date, &book, &filter)
                    .len()
            })
            .sum::<usize>()
    });
}
