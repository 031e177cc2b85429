//! The generated clinic's communications log: the calls and messages a real desk logs around
//! each visit, so `comm due` and `comm list` can be measured against a realistic history
//! (about 1.2 contacts per appointment, almost all of them long closed).
//!
//! Each visit's contacts come from their own random stream, so adding them changed none of the
//! appointments or ledger entries an earlier version generated.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, Weekday};
use rand::Rng;

use crate::domain::comm::{Channel, Communication, Direction, PartyKind, Topic};
use crate::domain::demo::{Schedule, Stream, rng_for};
use crate::domain::id::IdKind;
use crate::domain::schedule::appointment::{Appointment, Status};

/// Contacts per visit that dated IDs have room for.
const CONTACT_SLOTS: u64 = 4;
/// The desk staff who log the contacts.
const STAFF: &[&str] = &["maria", "devon", "priya"];

impl Schedule {
    /// The contacts about one visit that happened by "now": the reminder two days before; a
    /// call after a no-show, with a follow-up two days later; now and then a billing question
    /// or a refill request after the visit, with a follow-up. Follow-ups due before today are
    /// done; the recent ones are still open, as on a real desk.
    pub(crate) fn visit_communications(
        &self,
        a: &Appointment,
        visit_ordinal: u64,
    ) -> Vec<Communication> {
        let mut rng = rng_for(self.seed, Stream::Communication, visit_ordinal);
        let mut out = Vec::new();
        let mut contact = |at: DateTime<FixedOffset>,
                           how: (Channel, Direction),
                           topic: Topic,
                           summary: &str,
                           rng: &mut rand::rngs::StdRng| {
            let ordinal = visit_ordinal * CONTACT_SLOTS + out.len() as u64;
            let by = STAFF[rng.random_range(0..STAFF.len())];
            let mut c = Communication::new(
                self.dated_id(IdKind::Communication, ordinal),
                at,
                by,
                how,
                PartyKind::Patient,
                topic,
                summary,
            );
            c.patient = Some(a.patient.clone());
            c.about = vec![a.id.clone()];
            out.push(c);
            out.len() - 1
        };

        let booked_at = a.history.first().map_or(a.start, |c| c.at);
        let reminder_at = a.start - chrono::Duration::days(2);
        if reminder_at <= self.now && reminder_at > booked_at {
            let by_text = rng.random_bool(0.6);
            let (how, summary) = if by_text {
                ((Channel::Sms, Direction::Out), "Sent the visit reminder.")
            } else {
                (
                    (Channel::Phone, Direction::Out),
                    "Reminder call: the patient will come.",
                )
            };
            contact(reminder_at, how, Topic::Scheduling, summary, &mut rng);
        }

        let after = a.end + chrono::Duration::hours(1);
        if after > self.now {
            return out;
        }
        let roll = rng.random_range(0..100);
        // (when, how, topic, summary, follow-up after how many days)
        let follow = match a.status {
            Status::Noshow => Some((
                after,
                (Channel::Phone, Direction::Out),
                Topic::Scheduling,
                "Called about the missed visit; left a message to rebook.",
                2,
            )),
            Status::Fulfilled if roll < 8 => Some((
                after + chrono::Duration::days(rng.random_range(5..20)),
                (Channel::Phone, Direction::In),
                Topic::Billing,
                "Question about the statement for this visit; checking with billing.",
                7,
            )),
            Status::Fulfilled if roll < 11 => Some((
                after,
                (Channel::Portal, Direction::In),
                Topic::Care,
                "Asked for a prescription refill; passed to the provider.",
                1,
            )),
            _ => None,
        };
        if let Some((at, how, topic, summary, days)) = follow.filter(|f| f.0 <= self.now) {
            let i = contact(at, how, topic, summary, &mut rng);
            let c = &mut out[i];
            let due = weekday_on_or_after(c.date() + Days::new(days));
            c.follow_up = Some(due);
            c.assign = Some(c.by.clone());
            let done_at = self.at(due, 11 * 60);
            // Follow-ups are closed on their day; some recent ones linger open, as on a real desk.
            if done_at <= self.now && (due < self.recent() || rng.random_bool(0.8)) {
                c.done = Some(done_at);
                c.done_by = c.assign.clone();
                c.done_note = Some("Done.".into());
            }
        }
        out
    }

    /// Follow-ups due before this day are all closed; later ones may still be open.
    fn recent(&self) -> NaiveDate {
        self.now.date_naive() - Days::new(14)
    }
}

/// Follow-ups fall on working days: a Saturday or Sunday moves to the Monday.
fn weekday_on_or_after(day: NaiveDate) -> NaiveDate {
    match day.weekday() {
        Weekday::Sat => day + Days::new(2),
        Weekday::Sun => day + Days::new(1),
        _ => day,
    }
}
