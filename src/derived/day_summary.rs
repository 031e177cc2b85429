//! What the check of a new dated record's ID needs of a year's day index, kept beside its base
//! file (`NAME-YYYY.ids`): the base's scan time, which the base's first line must still show;
//! each day line's date and folder time; and a Bloom filter of every ID the base holds (ten
//! bits an ID, seven probes: about one "maybe" in a hundred for an ID it does not hold, never
//! a "no" for one it does). Written by `day_index` with every whole write of the base.
//!
//! The filter is kept in sealed blocks of [`BLOCK_WORDS`] words, after a header sealed on its
//! own, so the check of one ID reads the header and only the blocks its seven bits fall in,
//! stopping at the first bit not set: two blocks of 1 KB a year for most new IDs. The first
//! version sealed the filter whole with the header, and every new ID read it all: 200-250 KB a
//! year at full size, 2.2 MB for ten years of ledger, on every payment. A summary of the first
//! version is still read, and is written again as the second when met.

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

use chrono::{Datelike, NaiveDate};

use crate::disk::atomic;
#[cfg(test)]
use crate::disk::codec::seal;
use crate::disk::codec::{Reader, Writer, checksum, unseal};

/// The first version: header and filter sealed whole.
const MAGIC_WHOLE: &[u8; 8] = b"FDDSUM01";
/// The second: the header sealed on its own, then the filter in sealed blocks.
const MAGIC_BLOCKS: &[u8; 8] = b"FDDSUM02";
const PROBES: u64 = 7;
/// Words of the filter in one block (1 KB): small enough that a check reads little, large
/// enough that the blocks' checksums add under 1 % to the file.
const BLOCK_WORDS: usize = 128;
const BLOCK_BYTES: usize = BLOCK_WORDS * 8;
/// A header longer than this (a year has at most 366 day lines) is damage, not a year.
const MAX_HEADER: usize = 16 + 12 * 400;

/// A year's summary, whole: built to be written, or read whole from the first version.
#[derive(Debug, PartialEq)]
pub(crate) struct Summary {
    pub(crate) base_at: i64,
    pub(crate) days: Vec<(NaiveDate, i64)>,
    bits: Vec<u64>,
}

impl Summary {
    /// The summary of a base scanned at `base_at` with these day lines (date, folder time)
    /// and the packed IDs of its records.
    pub(crate) fn of(
        base_at: i64,
        days: Vec<(NaiveDate, i64)>,
        keys: impl ExactSizeIterator<Item = u64>,
    ) -> Summary {
        let words = (keys.len() * 10).div_ceil(64).max(1);
        let mut bits = vec![0u64; words];
        for key in keys {
            for bit in probes(words, key) {
                bits[bit / 64] |= 1 << (bit % 64);
            }
        }
        Summary {
            base_at,
            days,
            bits,
        }
    }

    #[cfg(test)]
    fn may_hold(&self, key: u64) -> bool {
        probes(self.bits.len(), key).all(|bit| self.bits[bit / 64] & (1 << (bit % 64)) != 0)
    }

    /// The second version's bytes: `FDDSUM02`, the header's length, the header (base time, day
    /// lines, the filter's length in words) and its checksum, then each block of the filter
    /// (the last padded with zeros) followed by its checksum, bound to the base and the
    /// block's place so that no block of another summary or another place passes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut head = Writer::with_capacity(16 + 12 * self.days.len());
        self.write_header(&mut head);
        let blocks = self.bits.len().div_ceil(BLOCK_WORDS);
        let mut out = Vec::with_capacity(20 + head.buf.len() + blocks * (BLOCK_BYTES + 8));
        out.extend_from_slice(MAGIC_BLOCKS);
        out.extend_from_slice(&(head.buf.len() as u32).to_le_bytes());
        out.extend_from_slice(&head.buf);
        out.extend_from_slice(&checksum(&head.buf).to_le_bytes());
        for (b, words) in self.bits.chunks(BLOCK_WORDS).enumerate() {
            let start = out.len();
            for i in 0..BLOCK_WORDS {
                out.extend_from_slice(&words.get(i).copied().unwrap_or(0).to_le_bytes());
            }
            let sum = block_sum(self.base_at, b, &out[start..]);
            out.extend_from_slice(&sum.to_le_bytes());
        }
        out
    }

    /// The first version's bytes (for the tests of reading it).
    #[cfg(test)]
    fn encode_whole(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.write_header(&mut w);
        for word in &self.bits {
            w.u64(*word);
        }
        seal(MAGIC_WHOLE, &w.buf)
    }

    /// Base time, day lines and the filter's length in words: what [`header`] reads back.
    fn write_header(&self, w: &mut Writer) {
        w.i64(self.base_at);
        w.u32(self.days.len() as u32);
        for (date, mtime) in &self.days {
            w.i32(date.num_days_from_ce());
            w.i64(*mtime);
        }
        w.u32(self.bits.len() as u32);
    }

    /// A summary of the first version, checked whole.
    fn decode_whole(bytes: &[u8]) -> Option<Summary> {
        let mut r = Reader::new(unseal(MAGIC_WHOLE, bytes)?);
        let h = header(&mut r)?;
        let bits = (0..h.words)
            .map(|_| r.u64())
            .collect::<Option<Vec<u64>>>()?;
        r.at_end().then_some(Summary {
            base_at: h.base_at,
            days: h.days,
            bits,
        })
    }

    /// A summary of the second version read whole, every block checked (for the tests).
    #[cfg(test)]
    fn decode(bytes: &[u8]) -> Option<Summary> {
        let file = tempfile::tempfile().ok()?;
        file.write_all_at(bytes, 0).ok()?;
        let (h, blocks_at) = read_header(&file)?;
        let mut bits = Vec::with_capacity(h.words);
        for b in 0..h.words.div_ceil(BLOCK_WORDS) {
            bits.extend(read_block(&file, blocks_at, h.base_at, b)?);
        }
        let end = blocks_at + (bits.len() / BLOCK_WORDS * (BLOCK_BYTES + 8)) as u64;
        bits.truncate(h.words);
        (end == bytes.len() as u64).then_some(Summary {
            base_at: h.base_at,
            days: h.days,
            bits,
        })
    }
}

/// A year's summary opened for the check of an ID: its header read and checked, its filter
/// read a block at a time as a key needs it (or held whole, from the first version).
pub(crate) struct SummaryFile {
    pub(crate) base_at: i64,
    pub(crate) days: Vec<(NaiveDate, i64)>,
    words: usize,
    filter: Filter,
}

enum Filter {
    Blocks { file: fs::File, at: u64 },
    Whole(Vec<u64>),
}

impl SummaryFile {
    /// None when the file is missing, damaged or of no known version: the caller reads the
    /// base instead.
    pub(crate) fn open(path: &Path) -> Option<SummaryFile> {
        let file = fs::File::open(path).ok()?;
        match read_header(&file) {
            Some((h, at)) => Some(SummaryFile {
                base_at: h.base_at,
                days: h.days,
                words: h.words,
                filter: Filter::Blocks { file, at },
            }),
            // Not the second version: the first (checked by its magic), or damage.
            None => Self::from_whole(path, &file),
        }
    }

    /// A first-version summary, read whole as before and written again as the second, so the
    /// next check of this year reads a block. (Written without the kind's lock: a summary that
    /// replaces one written meanwhile for a newer base names the old base, and is not used.)
    fn from_whole(path: &Path, file: &fs::File) -> Option<SummaryFile> {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut &*file, &mut bytes).ok()?;
        let whole = Summary::decode_whole(&bytes)?;
        let _ = atomic::write_unsynced(path, &whole.encode(), atomic::Mode::Replace);
        Some(SummaryFile {
            base_at: whole.base_at,
            days: whole.days,
            words: whole.bits.len(),
            filter: Filter::Whole(whole.bits),
        })
    }

    /// Whether the base may hold `key`: Some(false) only when a bit of its is clear in a block
    /// that checked; None when a block it needs is missing or damaged.
    pub(crate) fn may_hold(&self, key: u64) -> Option<bool> {
        let mut block: Option<(usize, Vec<u64>)> = None;
        for bit in probes(self.words, key) {
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            let set = match &self.filter {
                Filter::Whole(bits) => bits[word] & mask != 0,
                Filter::Blocks { file, at } => {
                    let b = word / BLOCK_WORDS;
                    if block.as_ref().is_none_or(|(held, _)| *held != b) {
                        block = Some((b, read_block(file, *at, self.base_at, b)?));
                    }
                    block
                        .as_ref()
                        .is_some_and(|(_, w)| w[word % BLOCK_WORDS] & mask != 0)
                }
            };
            if !set {
                return Some(false);
            }
        }
        Some(true)
    }
}

/// What a summary's header holds: the base's scan time, its day lines (date, folder time) and
/// the filter's length in words (never none).
struct Header {
    base_at: i64,
    days: Vec<(NaiveDate, i64)>,
    words: usize,
}

/// The header of a second-version summary and where its blocks begin.
fn read_header(file: &fs::File) -> Option<(Header, u64)> {
    let mut start = [0u8; 12];
    file.read_exact_at(&mut start, 0).ok()?;
    if &start[..8] != MAGIC_BLOCKS {
        return None;
    }
    let len = u32::from_le_bytes(start[8..].try_into().ok()?) as usize;
    if len > MAX_HEADER {
        return None;
    }
    let mut buf = vec![0u8; len + 8];
    file.read_exact_at(&mut buf, 12).ok()?;
    let (body, sum) = buf.split_at(len);
    if checksum(body).to_le_bytes() != sum {
        return None;
    }
    let mut r = Reader::new(body);
    let h = header(&mut r)?;
    r.at_end().then_some((h, (12 + len + 8) as u64))
}

fn header(r: &mut Reader) -> Option<Header> {
    let base_at = r.i64()?;
    let n = r.u32()? as usize;
    let mut days = Vec::with_capacity(n.min(366));
    for _ in 0..n {
        let date = NaiveDate::from_num_days_from_ce_opt(r.i32()?)?;
        days.push((date, r.i64()?));
    }
    let words = r.u32()? as usize;
    (words > 0).then_some(Header {
        base_at,
        days,
        words,
    })
}

/// Block `b` of the filter, when it is there and its checksum holds.
fn read_block(file: &fs::File, at: u64, base_at: i64, b: usize) -> Option<Vec<u64>> {
    let mut buf = vec![0u8; BLOCK_BYTES + 8];
    file.read_exact_at(&mut buf, at + (b * (BLOCK_BYTES + 8)) as u64)
        .ok()?;
    let (words, sum) = buf.split_at(BLOCK_BYTES);
    if block_sum(base_at, b, words).to_le_bytes() != sum {
        return None;
    }
    Some(
        words
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
            .collect(),
    )
}

fn block_sum(base_at: i64, b: usize, words: &[u8]) -> u64 {
    checksum(words) ^ mix((base_at as u64).wrapping_add(b as u64))
}

/// The bits `key` sets in a filter of `words` words (double hashing over a mixed key).
fn probes(words: usize, key: u64) -> impl Iterator<Item = usize> {
    let m = (words * 64) as u64;
    let h1 = mix(key);
    let h2 = mix(h1) | 1;
    (0..PROBES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % m) as usize)
}

/// splitmix64's finaliser: spreads a packed ID's bits over the word.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days() -> Vec<(NaiveDate, i64)> {
        (0..100)
            .map(|d| {
                let date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(d);
                (date, 1_000 + d as i64)
            })
            .collect()
    }

    fn keys(n: u64, step: u64, plus: u64) -> Vec<u64> {
        (0..n).map(|k| mix(k * step + plus)).collect()
    }

    fn summary_of(n: u64) -> Summary {
        let held = keys(n, 7919, 0);
        Summary::of(5_000, days(), held.into_iter())
    }

    fn opened(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf, Option<SummaryFile>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x-2026.ids");
        fs::write(&path, bytes).unwrap();
        let file = SummaryFile::open(&path);
        (dir, path, file)
    }

    #[test]
    fn a_summary_never_says_no_for_an_id_its_year_holds_and_rarely_maybe_for_others() {
        let summary = summary_of(5_000);
        let back = Summary::decode(&summary.encode()).unwrap();
        assert_eq!(back, summary);
        let (_dir, _, file) = opened(&summary.encode());
        let file = file.unwrap();
        assert_eq!((file.base_at, file.days.len()), (5_000, 100));
        for key in keys(5_000, 7919, 0) {
            assert!(summary.may_hold(key));
            assert_eq!(file.may_hold(key), Some(true));
        }
        let others = keys(10_000, 7919, 1);
        let maybe = others.iter().filter(|k| summary.may_hold(**k)).count();
        assert!(maybe < 300, "{maybe} in 10,000 said maybe");
        // Read a block at a time, the file answers as the whole filter does.
        for key in others {
            assert_eq!(file.may_hold(key), Some(summary.may_hold(key)));
        }
    }

    #[test]
    fn a_damaged_summary_is_not_read() {
        let good = summary_of(200).encode();
        for cut in [0, 8, 12, good.len() / 2, good.len() - 1] {
            assert!(Summary::decode(&good[..cut]).is_none(), "cut at {cut}");
        }
        for at in (0..good.len()).step_by(13) {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            assert!(Summary::decode(&bad).is_none(), "flip at {at}");
        }
    }

    /// Read a block at a time, a damaged summary may still answer from its blocks that check,
    /// but never says "no" for an ID its year holds: every flipped byte and every cut either
    /// leaves the answer for each held key "maybe" or fails the check.
    #[test]
    fn read_a_block_at_a_time_a_damaged_summary_never_says_no_for_a_held_id() {
        let held = keys(2_000, 7919, 0);
        let good = summary_of(2_000).encode();
        let mut damaged: Vec<Vec<u8>> = (0..good.len())
            .step_by(97)
            .map(|at| {
                let mut bad = good.clone();
                bad[at] ^= 0x01;
                bad
            })
            .collect();
        damaged.extend([0, 8, 12, 30, good.len() / 2, good.len() - 1].map(|n| good[..n].to_vec()));
        for bad in damaged {
            let (_dir, _, file) = opened(&bad);
            let Some(file) = file else { continue };
            for key in &held {
                assert_ne!(file.may_hold(*key), Some(false));
            }
        }
    }

    #[test]
    fn a_block_from_another_base_or_place_fails() {
        let a = summary_of(2_000);
        let b = Summary {
            base_at: 6_000,
            ..summary_of(2_000)
        };
        let (a_bytes, b_bytes) = (a.encode(), b.encode());
        let blocks_at = a_bytes.len() - a.bits.len().div_ceil(BLOCK_WORDS) * (BLOCK_BYTES + 8);
        // The same filter under another base: every block fails under the header's base.
        let mut spliced = a_bytes.clone();
        spliced[blocks_at..].copy_from_slice(&b_bytes[blocks_at..]);
        let (_dir, _, file) = opened(&spliced);
        assert!(
            keys(50, 7919, 0)
                .iter()
                .all(|k| file.as_ref().unwrap().may_hold(*k).is_none())
        );
        // The first two blocks swapped: each fails in the other's place.
        let mut swapped = a_bytes.clone();
        let one = BLOCK_BYTES + 8;
        let (first, second) = (
            blocks_at..blocks_at + one,
            blocks_at + one..blocks_at + 2 * one,
        );
        let tmp = swapped[first.clone()].to_vec();
        swapped.copy_within(second.clone(), first.start);
        swapped[second].copy_from_slice(&tmp);
        assert!(Summary::decode(&swapped).is_none());
    }

    /// A summary of the first version (the filter sealed whole) is read as before, and written
    /// again as the second.
    #[test]
    fn a_first_version_summary_is_read_and_written_again_as_the_second() {
        let summary = summary_of(3_000);
        let (_dir, path, file) = opened(&summary.encode_whole());
        let file = file.unwrap();
        assert_eq!((file.base_at, &file.days), (summary.base_at, &summary.days));
        for key in keys(3_000, 7919, 0).into_iter().chain(keys(300, 7919, 1)) {
            assert_eq!(file.may_hold(key), Some(summary.may_hold(key)));
        }
        let again = fs::read(&path).unwrap();
        assert_eq!(&again[..8], MAGIC_BLOCKS);
        assert_eq!(Summary::decode(&again).unwrap(), summary);
        // Damaged, it is neither read nor rewritten.
        let mut bad = summary.encode_whole();
        let at = bad.len() / 2;
        bad[at] ^= 0x01;
        let (_dir, path, file) = opened(&bad);
        assert!(file.is_none());
        assert_eq!(fs::read(&path).unwrap(), bad);
    }
}
