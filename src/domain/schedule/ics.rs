//! iCalendar (RFC 5545) export of appointments, with a VTIMEZONE built from the office zone's
//! real transitions so Outlook, Google and Apple calendars show the right local times on both
//! sides of a DST change. Patient names appear only when asked for.

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, LocalResult, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use crate::domain::id::Id;
use crate::domain::schedule::Status;
use crate::domain::schedule::appointment::Appointment;

pub struct Export<'a> {
    pub tz: Tz,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub stamp: DateTime<FixedOffset>,
    pub appointments: &'a [Appointment],
    /// Patient display names, only with --include-names.
    pub names: Option<&'a HashMap<Id, String>>,
    pub office: &'a str,
}

pub fn render(e: &Export) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//frontdesk//schedule export//EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        "METHOD:PUBLISH".to_string(),
    ];
    lines.extend(vtimezone(e.tz, e.from, e.to));
    let stamp = e
        .stamp
        .with_timezone(&Utc)
        .format("%Y%m%dT%H%M%SZ")
        .to_string();
    for a in e.appointments {
        lines.push("BEGIN:VEVENT".into());
        lines.push(format!("UID:{}@frontdesk", a.id));
        lines.push(format!("DTSTAMP:{stamp}"));
        lines.push(format!("DTSTART{}", when(e.tz, a.start)));
        lines.push(format!("DTEND{}", when(e.tz, a.end)));
        let who = e
            .names
            .and_then(|n| n.get(&a.patient))
            .map(|n| format!("{n}: "))
            .unwrap_or_default();
        lines.push(format!(
            "SUMMARY:{}",
            text(&format!("{who}{} with {}", a.kind, a.provider))
        ));
        let mut desc = format!("Appointment {} at {}", a.id, e.office);
        if e.names.is_some() {
            desc.push_str(&format!(", patient {}", a.patient));
        }
        lines.push(format!("DESCRIPTION:{}", text(&desc)));
        if let Some(r) = a.room.as_ref().or(a.resources.first().map(|h| &h.room)) {
            lines.push(format!("LOCATION:{}", text(r)));
        }
        lines.push(format!(
            "STATUS:{}",
            match a.status {
                Status::Booked => "TENTATIVE",
                s if s.holds_time() => "CONFIRMED",
                _ => "CANCELLED",
            }
        ));
        lines.push("END:VEVENT".into());
    }
    lines.push("END:VCALENDAR".into());
    let mut out = String::new();
    for l in lines {
        out.push_str(&fold(&l));
    }
    out
}

/// `;TZID=Zone:YYYYMMDDTHHMMSS`, or UTC for the second of two identical local times (RFC 5545
/// reads an ambiguous local time as the first).
fn when(tz: Tz, t: DateTime<FixedOffset>) -> String {
    let local = t.with_timezone(&tz);
    let naive = local.naive_local();
    if let LocalResult::Ambiguous(first, _) = tz.from_local_datetime(&naive)
        && first.fixed_offset() != local.fixed_offset()
    {
        return format!(":{}", t.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ"));
    }
    format!(";TZID={}:{}", tz.name(), naive.format("%Y%m%dT%H%M%S"))
}

/// VTIMEZONE with one STANDARD/DAYLIGHT part per real transition in the covered years, plus the
/// rule in force at the start.
fn vtimezone(tz: Tz, from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let start = Utc.from_utc_datetime(
        &(from - Duration::days(366))
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default(),
    );
    let end = Utc.from_utc_datetime(
        &(to + Duration::days(366))
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default(),
    );
    let mut out = vec!["BEGIN:VTIMEZONE".to_string(), format!("TZID:{}", tz.name())];
    let first = tz.offset_from_utc_datetime(&start.naive_utc());
    out.extend(part(tz, start, first.fix(), first.fix()));
    let mut t = start;
    let mut prev = first.fix();
    while t < end {
        let next = t + Duration::days(1);
        let off = tz.offset_from_utc_datetime(&next.naive_utc()).fix();
        if off != prev {
            // Narrow the change down to the second.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if tz.offset_from_utc_datetime(&mid.naive_utc()).fix() == prev {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.extend(part(tz, hi, prev, off));
            prev = off;
        }
        t = next;
    }
    out.push("END:VTIMEZONE".into());
    out
}

fn part(tz: Tz, at: DateTime<Utc>, from: FixedOffset, to: FixedOffset) -> Vec<String> {
    let o = tz.offset_from_utc_datetime(&at.naive_utc());
    let daylight = !o.dst_offset().is_zero();
    let kind = if daylight { "DAYLIGHT" } else { "STANDARD" };
    // DTSTART is the local time just before the change, in the old offset.
    let local = at.with_timezone(&from).naive_local();
    let mut v = vec![
        format!("BEGIN:{kind}"),
        format!("DTSTART:{}", local.format("%Y%m%dT%H%M%S")),
        format!("TZOFFSETFROM:{}", offset(from)),
        format!("TZOFFSETTO:{}", offset(to)),
    ];
    if let Some(name) = o.abbreviation() {
        v.push(format!("TZNAME:{}", text(name)));
    }
    v.push(format!("END:{kind}"));
    v
}

fn offset(o: FixedOffset) -> String {
    let s = o.local_minus_utc();
    let sign = if s < 0 { '-' } else { '+' };
    let s = s.abs();
    format!("{sign}{:02}{:02}", s / 3600, (s % 3600) / 60)
}

/// TEXT escaping (RFC 5545 §3.3.11).
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets, never inside a UTF-8 character, and ends it with CRLF.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_york_transitions() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let v = vtimezone(tz, d, d).join("\n");
        assert!(
            v.contains("DTSTART:20260308T020000\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400"),
            "{v}"
        );
        assert!(
            v.contains("DTSTART:20261101T020000\nTZOFFSETFROM:-0400\nTZOFFSETTO:-0500"),
            "{v}"
        );
    }

    #[test]
    fn folding_and_escaping() {
        let long = "x".repeat(200);
        let f = fold(&long);
        assert!(f.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
