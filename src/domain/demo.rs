//! A deterministic synthetic clinic for demos and benchmarks: fictional patients with realistic
//! shapes (names, ages, phones, addresses, an insurance mix) built as the real record types, so
//! the generated files are exactly what the tool itself writes and can never drift from it.
//!
//! Every record is drawn from its own random stream, seeded from the clinic seed and the
//! record's number, so records can be generated in parallel, in any order, and patient `k`'s ID
//! can be recomputed cheaply when an appointment needs it.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use crate::domain::comm::Communication;
use crate::domain::common::Address;
use crate::domain::id::{Id, IdKind};
use crate::domain::insurance::{
    Coverage, Payer, Relationship, Subscriber, Verification, VerifyMethod, VerifyResult,
};
use crate::domain::ledger::{
    AppliesTo, BillTo, Entry as LedgerEntry, Kind as LedgerKind, Method, ServiceLine,
};
use crate::domain::patient::{ContactPreference, Patient, Phone, PhoneKind, Sex, Status};
use crate::domain::schedule::appointment::{Appointment, Change, Status as AppointmentStatus};
use crate::domain::schedule::apptype::{self, AppointmentType, AppointmentTypes, CopayKind, Need};
use crate::domain::schedule::provider::{self, Provider, parse_hours_spec};
use crate::domain::schedule::room::{self, Room};
use crate::domain::service::{self, FeeSchedule, Service};
use crate::error::Result;

/// Which kind of record a random stream belongs to, so streams never overlap.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Patient = 1,
    Appointment = 2,
    Ledger = 3,
    Communication = 5,
}

/// The random source for record `n` of a kind: independent of every other record.
pub fn rng_for(seed: u64, stream: Stream, n: u64) -> StdRng {
    StdRng::seed_from_u64(splitmix(
        seed ^ splitmix((stream as u64) << 56 ^ n.wrapping_add(1)),
    ))
}

/// SplitMix64's finaliser: spreads nearby inputs (record 1, 2, 3…) over unrelated seeds.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A bijection of 40-bit numbers that looks random (a four-round Feistel network keyed by
/// `key`): distinct ordinals give distinct IDs, where random draws would give about one
/// shared ID per million dated records, which `check` rightly reports.
fn scramble40(ordinal: u64, key: u64) -> u64 {
    const HALF: u64 = (1 << 20) - 1;
    let (mut left, mut right) = ((ordinal >> 20) & HALF, ordinal & HALF);
    for round in 0..4u64 {
        let f = splitmix(right ^ splitmix(key ^ round)) & HALF;
        (left, right) = (right, left ^ f);
    }
    (left << 20) | right
}

/// Visits per provider-day and ledger entries per visit that dated IDs have room for.
const VISIT_SLOTS: u64 = 32;
const ENTRY_SLOTS: u64 = 8;

/// Patient `n`'s ID (the first draw of its stream), without building the rest of the record.
pub fn patient_id(seed: u64, n: u64) -> Id {
    Id::generate_with(IdKind::Patient, &mut rng_for(seed, Stream::Patient, n))
}

const GIVEN_F: &[&str] = &[
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Barbara",
    "Susan",
    "Jessica",
    "Sarah",
    "Karen",
    "Lisa",
    "Nancy",
    "Betty",
    "Sandra",
    "Margaret",
    "Ashley",
    "Kimberly",
    "Emily",
    "Donna",
    "Michelle",
    "Carol",
    "Amanda",
    "Melissa",
    "Deborah",
    "Stephanie",
    "Rebecca",
    "Laura",
    "Sharon",
    "Cynthia",
    "Kathleen",
    "Amy",
    "Angela",
    "Shirley",
    "Anna",
    "Brenda",
    "Pamela",
    "Emma",
    "Nicole",
    "Helen",
    "Samantha",
    "Katherine",
    "Christine",
    "Debra",
    "Rachel",
    "Olivia",
    "Zoë",
    "Chloé",
    "María",
    "Sofía",
    "Aaliyah",
    "Mei",
    "Priya",
    "Fatima",
    "Ngozi",
    "Siobhan",
    "Ana-Lucía",
    "Hannah",
    "Grace",
    "Isabella",
    "Ava",
];
const GIVEN_M: &[&str] = &[
    "James",
    "Robert",
    "John",
    "Michael",
    "David",
    "William",
    "Richard",
    "Joseph",
    "Thomas",
    "Charles",
    "Christopher",
    "Daniel",
    "Matthew",
    "Anthony",
    "Mark",
    "Donald",
    "Steven",
    "Paul",
    "Andrew",
    "Joshua",
    "Kenneth",
    "Kevin",
    "Brian",
    "George",
    "Timothy",
    "Ronald",
    "Edward",
    "Jason",
    "Jeffrey",
    "Ryan",
    "Jacob",
    "Gary",
    "Nicholas",
    "Eric",
    "Jonathan",
    "Stephen",
    "Larry",
    "Justin",
    "Scott",
    "Brandon",
    "Benjamin",
    "Samuel",
    "José",
    "Luis",
    "Chen",
    "Wei",
    "Arjun",
    "Mohammed",
    "Oluwaseun",
    "Seán",
    "Jean-Pierre",
    "Noah",
    "Liam",
    "Ethan",
    "Lucas",
];
const FAMILY: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jiménez",
    "O'Brien",
    "O'Connor",
    "Smith-Jones",
    "Müller",
    "Nowak",
    "Okafor",
    "Adeyemi",
    "Wang",
    "Li",
    "Zhang",
    "Chen",
    "Liu",
    "Singh",
    "Kumar",
    "Shah",
    "Haddad",
    "Cohen",
    "Levi",
    "Fitzgerald",
    "MacDonald",
    "Sullivan",
    "Murray",
    "Byrne",
    "Doyle",
    "Kowalski",
    "Novak",
    "Rossi",
    "Russo",
    "Ferrari",
    "Dubois",
    "Lefèvre",
    "Santos",
    "Silva",
    "Pereira",
    "Costa",
    "Tanaka",
    "Suzuki",
    "Yamamoto",
    "Park",
    "Choi",
    "Tran",
    "Pham",
    "Le",
    "Hoang",
    "Abdi",
    "Mohamed",
    "Hassan",
    "Ali",
];
const STREETS: &[&str] = &[
    "Main St",
    "Oak Ave",
    "Maple St",
    "Cedar Rd",
    "Elm St",
    "Washington St",
    "Park Ave",
    "Pleasant St",
    "Highland Ave",
    "Summer St",
    "Chestnut St",
    "Beacon St",
    "School St",
    "Prospect St",
    "Central St",
    "Union St",
    "Water St",
    "Spring St",
    "Lincoln St",
    "Franklin St",
];
const TOWNS: &[(&str, &str)] = &[
    ("Cambridge", "02139"),
    ("Somerville", "02143"),
    ("Arlington", "02474"),
    ("Medford", "02155"),
    ("Boston", "02118"),
    ("Brookline", "02446"),
    ("Watertown", "02472"),
    ("Belmont", "02478"),
    ("Malden", "02148"),
    ("Everett", "02149"),
    ("Newton", "02458"),
    ("Quincy", "02169"),
];
const LANGUAGES: &[&str] = &[
    "Spanish",
    "Portuguese",
    "Haitian Creole",
    "Chinese",
    "Vietnamese",
    "Arabic",
];
const FLAGS: &[&str] = &[
    "wheelchair",
    "needs-transport",
    "hearing-impaired",
    "latex-allergy",
];

/// One of the demo payers: key, name, electronic payer ID, member-ID prefix, office co-pay.
pub struct DemoPayer {
    pub key: &'static str,
    pub name: &'static str,
    pub payer_id: &'static str,
    member_prefix: &'static str,
    copay: Option<i64>,
}

pub const PAYERS: &[DemoPayer] = &[
    DemoPayer {
        key: "aetna-ppo",
        name: "Aetna PPO",
        payer_id: "60054",
        member_prefix: "W",
        copay: Some(25),
    },
    DemoPayer {
        key: "bcbs-ma",
        name: "Blue Cross Blue Shield of Massachusetts",
        payer_id: "SB700",
        member_prefix: "XYZ",
        copay: Some(20),
    },
    DemoPayer {
        key: "tufts-hp",
        name: "Tufts Health Plan",
        payer_id: "04271",
        member_prefix: "T",
        copay: Some(30),
    },
    DemoPayer {
        key: "masshealth",
        name: "MassHealth",
        payer_id: "DMA7384",
        member_prefix: "1",
        copay: None,
    },
    DemoPayer {
        key: "medicare-b",
        name: "Medicare Part B",
        payer_id: "14212",
        member_prefix: "1EG",
        copay: None,
    },
];

impl DemoPayer {
    pub fn record(&self) -> Payer {
        Payer {
            schema: 1,
            key: self.key.into(),
            name: self.name.into(),
            payer_id: Some(self.payer_id.into()),
            phone: None,
            portal: None,
            claims_address: None,
            extra: Default::default(),
        }
    }
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Ages shaped like a family practice: a fifth children, a fifth over 65.
fn birth_date(rng: &mut StdRng, today: NaiveDate) -> NaiveDate {
    let age = match rng.random_range(0..100) {
        0..20 => rng.random_range(0..18),
        20..80 => rng.random_range(18..65),
        _ => rng.random_range(65..100),
    };
    let days = age * 365 + rng.random_range(0..365);
    today - Days::new(days)
}

/// A 555-01xx-style fictional number (the 555 exchange is reserved for fiction).
fn phone(rng: &mut StdRng) -> String {
    let area = pick(rng, &["617", "857", "781", "339", "508"]);
    format!("+1{area}555{:04}", rng.random_range(0..10_000))
}

/// Patient number `n` of a clinic, as of `now`.
pub fn patient(seed: u64, n: u64, now: DateTime<FixedOffset>) -> Patient {
    let mut rng = rng_for(seed, Stream::Patient, n);
    let id = Id::generate_with(IdKind::Patient, &mut rng);
    let today = now.date_naive();
    let sex = if rng.random_bool(0.52) {
        Sex::F
    } else {
        Sex::M
    };
    let given = pick(&mut rng, if sex == Sex::F { GIVEN_F } else { GIVEN_M });
    let birth_date = birth_date(&mut rng, today);
    let age = today.years_since(birth_date).unwrap_or(0);
    let mut phones = vec![Phone {
        kind: PhoneKind::Mobile,
        number: phone(&mut rng),
        voicemail_ok: rng.random_bool(0.8),
        sms_ok: rng.random_bool(0.6),
    }];
    if rng.random_bool(0.3) {
        phones.push(Phone {
            kind: PhoneKind::Home,
            number: phone(&mut rng),
            voicemail_ok: true,
            sms_ok: false,
        });
    }
    let (town, zip) = pick(&mut rng, TOWNS);
    let names = if sex == Sex::F { GIVEN_F } else { GIVEN_M };
    let mut p = Patient::new(id, now);
    if rng.random_bool(0.04) {
        p.status = Status::Inactive;
    }
    p.given = (*given).into();
    p.middle = rng
        .random_bool(0.3)
        .then(|| pick(&mut rng, names).to_string());
    p.family = pick(&mut rng, FAMILY).to_string();
    p.suffix = (sex == Sex::M && rng.random_bool(0.02)).then(|| "Jr.".into());
    p.birth_date = birth_date;
    p.sex = sex;
    p.ssn_last4 = rng
        .random_bool(0.5)
        .then(|| format!("{:04}", rng.random_range(0..10_000)));
    p.language = rng
        .random_bool(0.15)
        .then(|| pick(&mut rng, LANGUAGES).to_string());
    p.contact_preference = Some(*pick(
        &mut rng,
        &[
            ContactPreference::Phone,
            ContactPreference::Sms,
            ContactPreference::Email,
        ],
    ));
    if rng.random_bool(0.05) {
        p.flags = vec![pick(&mut rng, FLAGS).to_string()];
    }
    p.verified = Some(today - Days::new(rng.random_range(0..700)));
    p.address = Some(Address {
        line1: format!("{} {}", rng.random_range(1..400), pick(&mut rng, STREETS)),
        line2: None,
        city: (*town).into(),
        state: Some("MA".into()),
        postal_code: Some((*zip).into()),
        country: None,
    });
    p.phones = phones;
    p.interpreter_needed = p.language.is_some() && rng.random_bool(0.5);
    if p.contact_preference == Some(ContactPreference::Email) || rng.random_bool(0.4) {
        p.email = Some(format!(
            "{}.{}{}@example.com",
            ascii_lower(&p.given),
            ascii_lower(&p.family),
            n % 1000
        ));
        p.email_ok = true;
    }
    p.insurance = coverages(&mut rng, age, now);
    p
}

fn ascii_lower(s: &str) -> String {
    crate::domain::search::fold(s)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// The insurance mix: Medicare over 65 (often with a supplement), MassHealth for a fifth,
/// commercial plans for most, and about one in twelve self-pay.
fn coverages(rng: &mut StdRng, age: u32, now: DateTime<FixedOffset>) -> Vec<Coverage> {
    let roll = rng.random_range(0..100);
    let mut keys: Vec<&DemoPayer> = Vec::new();
    if age >= 65 {
        keys.push(&PAYERS[4]);
        if roll < 40 {
            keys.push(pick(rng, &PAYERS[..3]));
        }
    } else if roll < 8 {
        return Vec::new();
    } else if roll < 28 {
        keys.push(&PAYERS[3]);
    } else {
        keys.push(pick(rng, &PAYERS[..3]));
    }
    let today = now.date_naive();
    keys.into_iter()
        .enumerate()
        .map(|(i, payer)| {
            let effective = NaiveDate::from_ymd_opt(today.year() - rng.random_range(0..6), 1, 1)
                .unwrap_or(today);
            Coverage {
                rank: i as u8 + 1,
                payer: payer.key.into(),
                plan: None,
                member_id: format!(
                    "{}{:09}",
                    payer.member_prefix,
                    rng.random_range(0..1_000_000_000u64)
                ),
                group: payer
                    .copay
                    .map(|_| format!("GRP{:04}", rng.random_range(0..3000))),
                effective,
                end: None,
                copay_office: payer.copay.map(|c| Decimal::new(c * 100, 2)),
                copay_specialist: payer.copay.map(|c| Decimal::new(c * 200, 2)),
                copay_urgent: None,
                deductible: payer.copay.map(|_| Decimal::new(150_000, 2)),
                subscriber: Subscriber {
                    relationship: Relationship::Own,
                    name: None,
                    birth_date: None,
                },
                verifications: vec![Verification {
                    at: now,
                    by: "demo".into(),
                    via: VerifyMethod::Portal,
                    result: VerifyResult::Active,
                    reference: None,
                    note: None,
                }],
            }
        })
        .collect()
}

// ---- the schedule: providers, rooms, appointment types and about 20 visits per provider-day ----

/// Visits a provider sees on a full day.
pub const VISITS_PER_DAY: u64 = 20;
const _: () = assert!(VISITS_PER_DAY <= VISIT_SLOTS);
const DAY_START_MIN: i64 = 7 * 60 + 30;
const DAY_END_MIN: i64 = 18 * 60;
const LUNCH: (i64, i64) = (12 * 60, 13 * 60);

const PROVIDER_NAMES: &[(&str, &str, &str)] = &[
    ("okafor", "Adaeze Okafor", "family medicine"),
    ("lindqvist", "Erik Lindqvist", "internal medicine"),
    ("patel", "Anjali Patel", "dermatology"),
    ("nguyen", "Linh Nguyen", "pediatrics"),
    ("garcia", "Sofía García", "family medicine"),
    ("cohen", "David Cohen", "internal medicine"),
    ("mensah", "Kwame Mensah", "family medicine"),
    ("sato", "Yuki Sato", "pediatrics"),
];

/// Provider keys for a clinic of `count` providers: `okafor`, …, then `okafor-2`, ….
pub fn provider_keys(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let (key, _, _) = PROVIDER_NAMES[i % PROVIDER_NAMES.len()];
            match i / PROVIDER_NAMES.len() {
                0 => key.to_string(),
                round => format!("{key}-{}", round + 1),
            }
        })
        .collect()
}

/// The providers, each working weekdays 07:30-18:00 with a lunch break.
pub fn providers(count: usize) -> Result<Vec<Provider>> {
    let hours = parse_hours_spec("mon-fri 07:30-18:00 break 12:00-13:00")?;
    Ok(provider_keys(count)
        .into_iter()
        .enumerate()
        .map(|(i, key)| {
            let (_, name, specialty) = PROVIDER_NAMES[i % PROVIDER_NAMES.len()];
            Provider {
                schema: provider::SCHEMA,
                key,
                name: name.into(),
                credentials: Some("MD".into()),
                specialty: Some(specialty.into()),
                npi: None,
                active: true,
                hours: vec![hours.clone()],
                time_off: Vec::new(),
                extra: Default::default(),
            }
        })
        .collect())
}

/// One exam room per provider.
pub fn rooms(count: usize) -> Vec<Room> {
    (1..=count)
        .map(|n| Room {
            schema: room::SCHEMA,
            key: format!("exam-{n}"),
            name: format!("Exam room {n}"),
            kind: "exam".into(),
            location: None,
            hours: Vec::new(),
            time_off: Vec::new(),
            retired: false,
            extra: Default::default(),
        })
        .collect()
}

/// (key, name, minutes, buffer, co-pay, share of visits in percent)
const TYPES: &[(&str, &str, u32, u32, CopayKind, u32)] = &[
    ("follow-up", "Follow-up visit", 20, 5, CopayKind::Office, 55),
    (
        "urgent",
        "Same-day sick visit",
        15,
        5,
        CopayKind::Urgent,
        20,
    ),
    (
        "annual-physical",
        "Annual physical",
        30,
        5,
        CopayKind::None,
        10,
    ),
    (
        "new-patient",
        "New patient visit",
        40,
        10,
        CopayKind::Office,
        8,
    ),
    ("telehealth", "Video visit", 20, 0, CopayKind::Office, 7),
];

pub fn appointment_types() -> AppointmentTypes {
    AppointmentTypes {
        schema: apptype::SCHEMA,
        types: TYPES
            .iter()
            .map(
                |&(key, name, minutes, buffer_after, copay, _)| AppointmentType {
                    key: key.into(),
                    name: name.into(),
                    minutes,
                    buffer_after,
                    new_patient: key == "new-patient",
                    copay,
                    min_lead_hours: 0,
                    providers: Vec::new(),
                    instructions: None,
                    recall_after: None,
                    retired: false,
                    needs: if key == "telehealth" {
                        Vec::new()
                    } else {
                        vec![Need {
                            kind: "exam".into(),
                            minutes: None,
                        }]
                    },
                },
            )
            .collect(),
    }
}

/// The shape of a generated schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub seed: u64,
    pub patients: u64,
    pub providers: Vec<String>,
    /// The last working day with appointments (two weeks after "now": future bookings).
    pub last_day: NaiveDate,
    pub now: DateTime<FixedOffset>,
    pub tz: Tz,
}

impl Schedule {
    pub fn new(
        seed: u64,
        patients: u64,
        providers: usize,
        now: DateTime<FixedOffset>,
        tz: Tz,
    ) -> Schedule {
        Schedule {
            seed,
            patients,
            providers: provider_keys(providers),
            last_day: now.date_naive() + Days::new(14),
            now,
            tz,
        }
    }

    /// Provider-days needed for about `appointments` visits.
    pub fn units_for(&self, appointments: u64) -> u64 {
        appointments.div_ceil(VISITS_PER_DAY)
    }

    /// The working day of provider-day `unit`: units count back from `last_day`, all providers
    /// of one day first, weekdays only.
    pub fn day_of(&self, unit: u64) -> NaiveDate {
        let k = unit / self.providers.len() as u64;
        let mut monday = self.last_day;
        while monday.weekday() != Weekday::Mon {
            monday = monday - Days::new(1);
        }
        let weeks_back = k / 5;
        let weekday = 4 - (k % 5);
        monday - Days::new(weeks_back * 7) + Days::new(weekday)
    }

    /// Patient number for a visit: skewed, so some patients come often and many rarely.
    fn pick_patient(&self, rng: &mut StdRng) -> u64 {
        let u: f64 = rng.random();
        let k = ((self.patients as f64) * u.powf(1.6)) as u64;
        k.min(self.patients - 1)
    }

    /// The visits of provider-day `unit`, at most `cap` of them, each with its ledger.
    pub fn provider_day(&self, unit: u64, cap: u64) -> Vec<Visit> {
        let mut rng = rng_for(self.seed, Stream::Appointment, unit);
        let provider_ix = (unit % self.providers.len() as u64) as usize;
        let date = self.day_of(unit);
        let mut minute = DAY_START_MIN;
        let mut out = Vec::new();
        while (out.len() as u64) < cap.min(VISITS_PER_DAY) {
            let &(key, _, minutes, buffer, _, _) = pick_weighted(&mut rng);
            if minute < LUNCH.1 && minute + minutes as i64 > LUNCH.0 {
                minute = LUNCH.1;
            }
            if minute + minutes as i64 > DAY_END_MIN {
                break;
            }
            let start = self.at(date, minute);
            let end = self.at(date, minute + minutes as i64);
            let room = (key != "telehealth").then(|| format!("exam-{}", provider_ix + 1));
            let k = self.pick_patient(&mut rng);
            let ordinal = unit * VISIT_SLOTS + out.len() as u64;
            let id = self.dated_id(IdKind::Appointment, ordinal);
            let appointment = self.visit(&mut rng, id, k, key, start, end, provider_ix, room);
            let ledger = if appointment.status == AppointmentStatus::Fulfilled {
                self.visit_ledger(&mut rng, k, &appointment, ordinal)
            } else {
                Vec::new()
            };
            let communications = self.visit_communications(&appointment, ordinal);
            out.push(Visit {
                appointment,
                ledger,
                communications,
            });
            minute += (minutes + buffer) as i64;
        }
        out
    }

    pub(crate) fn at(&self, date: NaiveDate, minute: i64) -> DateTime<FixedOffset> {
        let local = date.and_time(NaiveTime::MIN) + chrono::Duration::minutes(minute);
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .unwrap_or_else(|| self.tz.from_utc_datetime(&local))
            .fixed_offset()
    }

    /// The ID of the dated record numbered `ordinal`: unique within its kind and seed.
    pub(crate) fn dated_id(&self, kind: IdKind, ordinal: u64) -> Id {
        debug_assert!(ordinal < 1 << 40);
        Id::from_bits(kind, scramble40(ordinal, self.seed ^ kind.letter() as u64))
    }

    #[allow(clippy::too_many_arguments)]
    fn visit(
        &self,
        rng: &mut StdRng,
        id: Id,
        patient_n: u64,
        kind: &str,
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
        provider_ix: usize,
        room: Option<String>,
    ) -> Appointment {
        let booked_at = start - chrono::Duration::days(rng.random_range(1..60));
        let mut a = Appointment::booked(
            id,
            patient_id(self.seed, patient_n),
            &self.providers[provider_ix],
            kind,
            start,
            end,
        );
        a.room = room;
        a.history = vec![change(AppointmentStatus::Booked, booked_at.min(self.now))];
        let (status, at) = if end <= self.now {
            match rng.random_range(0..100) {
                0..7 => (AppointmentStatus::Noshow, end),
                7..12 => {
                    a.cancel_reason = Some("patient request".into());
                    a.late_cancel = rng.random_bool(0.3);
                    (
                        AppointmentStatus::Cancelled,
                        start - chrono::Duration::hours(6),
                    )
                }
                _ => (AppointmentStatus::Fulfilled, end),
            }
        } else if rng.random_bool(0.4) && start - chrono::Duration::days(2) <= self.now {
            (
                AppointmentStatus::Confirmed,
                start - chrono::Duration::days(2),
            )
        } else {
            (AppointmentStatus::Booked, booked_at)
        };
        if status != AppointmentStatus::Booked {
            a.status = status;
            a.history.push(change(status, at.max(booked_at)));
        }
        a
    }
}

/// One generated appointment and the ledger entries it led to.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub appointment: Appointment,
    pub ledger: Vec<LedgerEntry>,
    /// The calls and messages about it (`demo_comm.rs`).
    pub communications: Vec<Communication>,
}

/// (appointment type, CPT code, description, fee in cents)
const FEES: &[(&str, &str, &str, i64)] = &[
    (
        "follow-up",
        "99213",
        "Office visit, established patient, low complexity",
        12500,
    ),
    (
        "urgent",
        "99212",
        "Office visit, established patient, straightforward",
        9000,
    ),
    (
        "annual-physical",
        "99396",
        "Preventive visit, established patient, 40-64",
        21000,
    ),
    (
        "new-patient",
        "99203",
        "New patient office visit, low complexity",
        18000,
    ),
    (
        "telehealth",
        "99213",
        "Office visit, established patient, low complexity",
        12500,
    ),
];

/// The fee schedule (`services.toml`) the generated charges use.
pub fn fee_schedule() -> FeeSchedule {
    let mut services: Vec<Service> = Vec::new();
    for &(_, code, description, cents) in FEES {
        if !services.iter().any(|s| s.code == code) {
            services.push(Service {
                code: code.into(),
                description: description.into(),
                fee: Decimal::new(cents, 2),
                extra: Default::default(),
            });
        }
    }
    FeeSchedule {
        schema: service::SCHEMA,
        services,
    }
}

impl Schedule {
    /// A fulfilled visit's ledger: the charge (to insurance with the co-pay as the patient's
    /// portion, or to a self-pay patient), the co-pay or payment taken at the desk most of the
    /// time, and for most insured visits the insurance payment a few weeks later.
    fn visit_ledger(
        &self,
        rng: &mut StdRng,
        patient_n: u64,
        a: &Appointment,
        visit_ordinal: u64,
    ) -> Vec<LedgerEntry> {
        let patient = patient(self.seed, patient_n, self.now);
        let &(_, code, description, cents) =
            FEES.iter().find(|f| f.0 == a.kind).unwrap_or(&FEES[0]);
        let fee = Decimal::new(cents, 2);
        let coverage = patient.coverage_on(1, a.start.date_naive());
        let copay = coverage.and_then(|c| c.copay_office).unwrap_or_default();
        let next_entry = std::cell::Cell::new(visit_ordinal * ENTRY_SLOTS);
        let entry = |kind: LedgerKind, amount: Decimal, at: DateTime<FixedOffset>| {
            let mut e = LedgerEntry::new(kind, a.patient.clone(), amount, at, "demo");
            e.id = self.dated_id(
                IdKind::Transaction,
                next_entry.replace(next_entry.get() + 1),
            );
            e.appointment = Some(a.id.clone());
            e
        };
        let mut charge = entry(LedgerKind::Charge, fee, a.end);
        charge.services = vec![ServiceLine {
            code: code.into(),
            description: description.into(),
            fee,
        }];
        charge.bill_to = Some(if coverage.is_some() {
            BillTo::Insurance
        } else {
            BillTo::Patient
        });
        if coverage.is_some() && !copay.is_zero() {
            charge.patient_portion = Some(copay);
        }
        let due_now = if coverage.is_some() { copay } else { fee };
        let mut out = vec![charge];
        if !due_now.is_zero() && rng.random_bool(0.8) {
            let mut pay = entry(LedgerKind::Payment, due_now, a.start);
            pay.method = Some(*pick(
                rng,
                &[Method::Card, Method::Card, Method::Cash, Method::Check],
            ));
            pay.applies_to = Some(if coverage.is_some() {
                AppliesTo::Copay
            } else {
                AppliesTo::Appointment
            });
            out.push(pay);
        }
        let paid_at = a.end + chrono::Duration::days(rng.random_range(14..35));
        if let Some(c) = coverage.filter(|_| paid_at <= self.now && rng.random_bool(0.85)) {
            let allowed = (fee * Decimal::new(70, 2)).round_dp(2);
            let mut ins = entry(
                LedgerKind::InsurancePayment,
                allowed - copay.min(allowed),
                paid_at,
            );
            ins.payer = Some(c.payer.clone());
            ins.allowed = Some(allowed);
            ins.contractual = Some(fee - allowed);
            ins.patient_responsibility = Some(copay.min(allowed));
            ins.charges = vec![out[0].id.clone()];
            if !ins.amount.is_zero() {
                out.push(ins);
            }
        }
        out
    }
}

fn change(status: AppointmentStatus, at: DateTime<FixedOffset>) -> Change {
    Change {
        status,
        at,
        by: "demo".into(),
        via: None,
        note: None,
    }
}

fn pick_weighted(
    rng: &mut StdRng,
) -> &'static (&'static str, &'static str, u32, u32, CopayKind, u32) {
    let mut roll = rng.random_range(0..100);
    for t in TYPES {
        if roll < t.5 {
            return t;
        }
        roll -= t.5;
    }
    &TYPES[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-27T09:00:00-05:00").unwrap()
    }

    #[test]
    fn same_seed_same_patient_and_id() {
        let a = patient(7, 42, now());
        assert_eq!(a, patient(7, 42, now()));
        assert_eq!(a.id, patient_id(7, 42));
        assert_ne!(a.id, patient(8, 42, now()).id);
        assert_ne!(a.id, patient(7, 43, now()).id);
    }

    #[test]
    fn patients_are_valid_records() {
        for n in 0..500 {
            let p = patient(1, n, now());
            p.validate(now().date_naive(), "1", "US")
                .unwrap_or_else(|e| panic!("patient {n}: {}", e.message));
        }
    }

    fn schedule() -> Schedule {
        let tz: Tz = "America/New_York".parse().unwrap();
        Schedule::new(9, 500, 4, now(), tz)
    }

    #[test]
    fn scrambling_forty_bits_never_maps_two_numbers_to_one() {
        let mut seen = std::collections::HashSet::new();
        let spread = (0..100_000u64).chain((1 << 40) - 1000..1 << 40);
        for n in spread {
            let x = scramble40(n, 7);
            assert!(x < 1 << 40);
            assert!(seen.insert(x), "{n} collides");
        }
    }

    #[test]
    fn generated_dated_records_never_share_an_id() {
        let s = schedule();
        let mut ids = std::collections::HashSet::new();
        for unit in 0..3_000 {
            for v in s.provider_day(unit, u64::MAX) {
                let a = &v.appointment.id;
                assert_eq!(&Id::parse(a.as_str()).unwrap(), a);
                assert!(ids.insert(a.to_string()), "appointment {a} twice");
                for e in &v.ledger {
                    assert_eq!(e.appointment.as_ref(), Some(a));
                    assert!(ids.insert(e.id.to_string()), "entry {} twice", e.id);
                }
            }
        }
        assert!(ids.len() > 100_000, "{}", ids.len());
    }

    #[test]
    fn provider_days_are_full_valid_and_deterministic() {
        let s = schedule();
        let types = appointment_types();
        types.validate().unwrap();
        for p in providers(4).unwrap() {
            p.validate().unwrap();
        }
        let mut visits = 0;
        let mut noshows = 0;
        let mut ledger = 0;
        for unit in 0..400 {
            let provider_day = s.provider_day(unit, u64::MAX);
            for v in &provider_day {
                for e in &v.ledger {
                    e.validate().unwrap();
                    assert_eq!(e.patient, v.appointment.patient);
                    let text = toml::to_string(e).unwrap();
                    assert_eq!(&toml::from_str::<LedgerEntry>(&text).unwrap(), e);
                }
                ledger += v.ledger.len();
            }
            let day: Vec<Appointment> = provider_day.into_iter().map(|v| v.appointment).collect();
            assert!(
                day.len() >= 15 && day.len() <= 20,
                "unit {unit}: {}",
                day.len()
            );
            let again: Vec<Appointment> = s
                .provider_day(unit, u64::MAX)
                .into_iter()
                .map(|v| v.appointment)
                .collect();
            assert_eq!(day, again);
            for w in day.windows(2) {
                assert!(w[0].end <= w[1].start, "no overlaps within a provider-day");
            }
            for a in &day {
                assert_eq!(a.start.date_naive(), s.day_of(unit));
                assert!(a.start.weekday().num_days_from_monday() < 5);
                types.get(&a.kind).unwrap();
                let text = toml::to_string(a).unwrap();
                let back: Appointment = toml::from_str(&text).unwrap();
                assert_eq!(&back, a);
            }
            visits += day.iter().filter(|a| a.end <= now()).count();
            noshows += day
                .iter()
                .filter(|a| a.status == AppointmentStatus::Noshow)
                .count();
        }
        let rate = noshows as f64 / visits as f64;
        assert!((0.05..=0.10).contains(&rate), "no-show rate {rate}");
        assert!(
            ledger > visits,
            "charges, co-pays and insurance payments: {ledger}"
        );
        assert_eq!(s.provider_day(3, 5).len(), 5, "capped");
    }

    #[test]
    fn units_walk_back_over_weekdays_one_provider_set_per_day() {
        let s = schedule();
        assert_eq!(s.day_of(0), s.day_of(3), "4 providers share a day");
        assert_ne!(s.day_of(3), s.day_of(4));
        assert!(s.day_of(4) < s.day_of(0));
        assert!(s.day_of(0) >= now().date_naive(), "future bookings exist");
        let days: std::collections::BTreeSet<_> = (0..4 * 50).map(|u| s.day_of(u)).collect();
        assert_eq!(days.len(), 50);
    }

    #[test]
    fn shapes_are_realistic() {
        let ps: Vec<Patient> = (0..2000).map(|n| patient(3, n, now())).collect();
        let today = now().date_naive();
        let children = ps
            .iter()
            .filter(|p| today.years_since(p.birth_date).unwrap() < 18)
            .count();
        let self_pay = ps.iter().filter(|p| p.insurance.is_empty()).count();
        let medicare = ps
            .iter()
            .filter(|p| p.insurance.iter().any(|c| c.payer == "medicare-b"))
            .count();
        assert!((300..500).contains(&children), "children {children}");
        assert!((60..200).contains(&self_pay), "self-pay {self_pay}");
        assert!((300..500).contains(&medicare), "medicare {medicare}");
    }
}
