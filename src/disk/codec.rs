//! A small binary encoding for the disposable caches under `.frontdesk/`: length-prefixed
//! fields and a checksum over the whole body, so a torn or corrupted cache file is detected and
//! rebuilt rather than trusted. Loading 100,000 index entries this way takes milliseconds,
//! where JSON lines took a large share of a search.

use chrono::NaiveDate;

/// Appends fields to a buffer.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn with_capacity(n: usize) -> Writer {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// A string of at most 65,535 bytes (longer ones are cut at a character boundary; the
    /// caches only hold short fields).
    pub fn str(&mut self, s: &str) {
        let mut end = s.len().min(u16::MAX as usize);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.buf.extend_from_slice(&(end as u16).to_le_bytes());
        self.buf.extend_from_slice(&s.as_bytes()[..end]);
    }
    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }
    pub fn strs(&mut self, v: &[String]) {
        self.u8(v.len().min(255) as u8);
        for s in v.iter().take(255) {
            self.str(s);
        }
    }
}

/// Reads fields back; every read returns None past the end, so a truncated file is an error,
/// never a panic.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }
    pub fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }
    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// How many bytes have been read.
    pub fn pos(&self) -> usize {
        self.pos
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(out)
    }
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        self.take(n)
    }
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    pub fn i32(&mut self) -> Option<i32> {
        Some(i32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub fn str(&mut self) -> Option<&'a str> {
        let len = u16::from_le_bytes(self.take(2)?.try_into().ok()?) as usize;
        std::str::from_utf8(self.take(len)?).ok()
    }
    /// Steps over a string without checking that it is UTF-8 (whoever reads it later does);
    /// returns where its bytes lie.
    pub fn skip_str(&mut self) -> Option<std::ops::Range<usize>> {
        let len = u16::from_le_bytes(self.take(2)?.try_into().ok()?) as usize;
        let start = self.pos;
        self.take(len).map(|_| start..self.pos)
    }
    pub fn string(&mut self) -> Option<String> {
        self.str().map(str::to_string)
    }
    pub fn opt_string(&mut self) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.string()?)),
            _ => None,
        }
    }
    pub fn strings(&mut self) -> Option<Vec<String>> {
        let n = self.u8()? as usize;
        (0..n).map(|_| self.string()).collect()
    }
}

/// A fast 64-bit checksum (not cryptographic): catches torn writes and flipped bytes.
pub fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = K ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    for &b in chunks.remainder() {
        h = (h ^ b as u64).wrapping_mul(K).rotate_left(29);
    }
    h ^ (h >> 32)
}

/// The last line of a text cache file: `end N CHECKSUM`, its line count and the checksum of
/// everything before it, which a file cut short or with a byte changed fails.
pub fn text_trailer(body: &[u8], lines: usize) -> String {
    format!("end {lines} {:016x}\n", checksum(body))
}

/// The body of a text cache file (before its trailer) and its line count, when the trailer
/// is there and matches: None for a file cut short, changed, or written without one.
pub fn checked_text(text: &str) -> Option<(&str, usize)> {
    let trimmed = text.strip_suffix('\n')?;
    let start = trimmed.rfind('\n').map_or(0, |i| i + 1);
    let (body, last) = text.split_at(start);
    let mut f = last.trim_end_matches('\n').strip_prefix("end ")?.split(' ');
    let lines: usize = f.next()?.parse().ok()?;
    let sum = u64::from_str_radix(f.next()?, 16).ok()?;
    let exact = f.next().is_none() && checksum(body.as_bytes()) == sum;
    (exact && body.lines().count() == lines).then_some((body, lines))
}

/// Frames a body as `magic, body, checksum(body)`.
pub fn seal(magic: &[u8; 8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    out.extend_from_slice(magic);
    out.extend_from_slice(body);
    out.extend_from_slice(&checksum(body).to_le_bytes());
    out
}

/// The body of a sealed buffer, or None when the magic or the checksum is wrong.
pub fn unseal<'a>(magic: &[u8; 8], bytes: &'a [u8]) -> Option<&'a [u8]> {
    let rest = bytes.strip_prefix(magic.as_slice())?;
    let split = rest.len().checked_sub(8)?;
    let (body, sum) = rest.split_at(split);
    (checksum(body).to_le_bytes() == sum).then_some(body)
}

/// `2026-11-27` as the caches write a day, without chrono's general parser: the day caches
/// read a line per day folder, and the ledger index a line per entry.
pub fn iso_day(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(r)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        return NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_back_as_chrono_reads_them() {
        for s in [
            "2026-11-27",
            "2024-02-29",
            "2023-02-29",
            "0999-01-01",
            "2026-13-01",
            "2026-1-027",
            "2026-11-2x",
            "+12345-01-01",
            "",
        ] {
            assert_eq!(
                iso_day(s),
                NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_text_file_is_trusted_only_whole_and_unchanged() {
        let body = "a\tb\nc\td\n";
        let text = format!("{body}{}", text_trailer(body.as_bytes(), 2));
        assert_eq!(checked_text(&text), Some((body, 2)));
        for cut in 0..text.len() {
            assert_eq!(checked_text(&text[..cut]), None, "cut at {cut}");
        }
        let mut bad = text.clone().into_bytes();
        bad[2] = b'x';
        assert_eq!(checked_text(std::str::from_utf8(&bad).unwrap()), None);
        assert_eq!(checked_text("a\tb\nc\td\nend 2\n"), None, "an old trailer");
        let empty = text_trailer(b"", 0);
        assert_eq!(checked_text(&empty), Some(("", 0)));
    }

    #[test]
    fn round_trip_and_corruption() {
        let mut w = Writer::default();
        w.str("Zoë");
        w.opt_str(None);
        w.strs(&["a".into(), "bc".into()]);
        w.i64(-5);
        let sealed = seal(b"TESTv001", &w.buf);
        let body = unseal(b"TESTv001", &sealed).unwrap();
        let mut r = Reader::new(body);
        assert_eq!(r.str(), Some("Zoë"));
        assert_eq!(r.opt_string(), Some(None));
        assert_eq!(r.strings(), Some(vec!["a".into(), "bc".into()]));
        assert_eq!(r.i64(), Some(-5));
        assert!(r.at_end());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x40;
            assert!(unseal(b"TESTv001", &bad).is_none(), "flip at {i}");
        }
        assert!(unseal(b"TESTv001", &sealed[..sealed.len() - 1]).is_none());
        assert!(Reader::new(&[5, 0, b'a']).str().is_none());
    }
}
