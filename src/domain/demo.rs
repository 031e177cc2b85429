//! A deterministic synthetic clinic for demos and benchmarks: fictional patients with realistic
//! shapes (names, ages, phones, addresses, an insurance mix) built as the real record types, so
//! the generated files are exactly what the tool itself writes and can never drift from it.
//!
//! Every record is drawn from its own random stream, seeded from the clinic seed and the
//! record's number, so records can be generated in parallel, in any order, and patient `k`'s ID
//! can be recomputed cheaply when an appointment needs it.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use crate::domain::common::Address;
use crate::domain::id::{Id, IdKind};
use crate::domain::insurance::{
    Coverage, Payer, Relationship, Subscriber, Verification, VerifyMethod, VerifyResult,
};
use crate::domain::patient::{self, ContactPreference, Patient, Phone, PhoneKind, Sex, Status};

/// Which kind of record a random stream belongs to, so streams never overlap.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Patient = 1,
    Appointment = 2,
    Ledger = 3,
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
    let mut p = Patient {
        schema: patient::SCHEMA,
        id,
        status: if rng.random_bool(0.04) {
            Status::Inactive
        } else {
            Status::Active
        },
        given: (*given).into(),
        middle: rng
            .random_bool(0.3)
            .then(|| pick(&mut rng, if sex == Sex::F { GIVEN_F } else { GIVEN_M }).to_string()),
        family: pick(&mut rng, FAMILY).to_string(),
        suffix: (sex == Sex::M && rng.random_bool(0.02)).then(|| "Jr.".into()),
        preferred_name: None,
        birth_date,
        sex,
        gender_identity: None,
        pronouns: None,
        ssn_last4: rng
            .random_bool(0.5)
            .then(|| format!("{:04}", rng.random_range(0..10_000))),
        email: None,
        email_ok: false,
        language: rng
            .random_bool(0.15)
            .then(|| pick(&mut rng, LANGUAGES).to_string()),
        interpreter_needed: false,
        contact_preference: Some(*pick(
            &mut rng,
            &[
                ContactPreference::Phone,
                ContactPreference::Sms,
                ContactPreference::Email,
            ],
        )),
        flags: if rng.random_bool(0.05) {
            vec![pick(&mut rng, FLAGS).to_string()]
        } else {
            Vec::new()
        },
        notes: None,
        deceased_date: None,
        created: now,
        updated: now,
        verified: Some(today - Days::new(rng.random_range(0..700))),
        address: Some(Address {
            line1: format!("{} {}", rng.random_range(1..400), pick(&mut rng, STREETS)),
            line2: None,
            city: (*town).into(),
            state: Some("MA".into()),
            postal_code: Some((*zip).into()),
            country: None,
        }),
        external_ids: Default::default(),
        phones,
        emergency_contacts: Vec::new(),
        guarantor: None,
        representatives: Vec::new(),
        insurance: Vec::new(),
        scheduling: None,
        extra: Default::default(),
    };
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
