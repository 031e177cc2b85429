//! The statistics of a satisfaction report: top-box shares with Wilson score intervals, the
//! mean provider rating with a normal interval, and the Net Promoter Score with an interval
//! from the multinomial variance. Pure arithmetic over counts; floats are fine here (these are
//! estimates, not money).
//!
//! A composite's top-box share pools its items: the answers of every item of the composite in
//! the group, and how many of them were the top box. CAHPS averages the items' shares instead;
//! the two agree when every respondent answers every item, and pooling keeps one count behind
//! each figure (so its interval is a plain Wilson interval on those counts).

use crate::domain::survey::instrument::Instrument;

/// z for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Groups with fewer responses are flagged as unreliable (never hidden).
pub const RELIABLE_AT: u64 = 30;

/// k of n answers were the top box.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Share {
    pub k: u64,
    pub n: u64,
}

/// A point estimate with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

/// The Wilson score interval of `k` successes in `n` trials (None for n = 0).
pub fn wilson(k: u64, n: u64, z: f64) -> Option<Estimate> {
    if n == 0 || k > n {
        return None;
    }
    let nf = n as f64;
    let p = k as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    Some(Estimate {
        value: p,
        lo: (center - half).max(0.0).min(p),
        hi: (center + half).min(1.0).max(p),
    })
}

/// Promoters (9–10), passives (7–8) and detractors (0–6) of the 0–10 recommend question.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Promoters {
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
}

impl Promoters {
    pub fn add(&mut self, v: u8) {
        match v {
            9.. => self.promoters += 1,
            7..=8 => self.passives += 1,
            _ => self.detractors += 1,
        }
    }

    pub fn n(&self) -> u64 {
        self.promoters + self.passives + self.detractors
    }

    /// NPS = % promoters − % detractors (−100 to 100), with a 95 % interval from the
    /// multinomial variance: Var = (p₊ + p₋ − (p₊ − p₋)²) / n.
    pub fn nps(&self) -> Option<Estimate> {
        let n = self.n();
        if n == 0 {
            return None;
        }
        let nf = n as f64;
        let (p, q) = (self.promoters as f64 / nf, self.detractors as f64 / nf);
        let d = p - q;
        let half = Z95 * ((p + q - d * d).max(0.0) / nf).sqrt();
        Some(Estimate {
            value: 100.0 * d,
            lo: (100.0 * (d - half)).max(-100.0),
            hi: (100.0 * (d + half)).min(100.0),
        })
    }
}

/// Sum and sum of squares of 0–10 ratings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ratings {
    pub n: u64,
    pub sum: u64,
    pub sum_sq: u64,
}

impl Ratings {
    pub fn add(&mut self, v: u8) {
        self.n += 1;
        self.sum += v as u64;
        self.sum_sq += (v as u64) * (v as u64);
    }

    /// The mean with a normal-approximation 95 % interval (the sample standard deviation over
    /// √n), kept within 0–10. One rating: the interval is the whole scale.
    pub fn mean(&self) -> Option<Estimate> {
        if self.n == 0 {
            return None;
        }
        let nf = self.n as f64;
        let mean = self.sum as f64 / nf;
        if self.n == 1 {
            return Some(Estimate {
                value: mean,
                lo: 0.0,
                hi: 10.0,
            });
        }
        let var = ((self.sum_sq as f64 - nf * mean * mean) / (nf - 1.0)).max(0.0);
        let half = Z95 * (var / nf).sqrt();
        Some(Estimate {
            value: mean,
            lo: (mean - half).max(0.0),
            hi: (mean + half).min(10.0),
        })
    }
}

/// One response reduced to what the statistics need (no comment, no answers by key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    /// Per composite of the instrument, in its order: (answers, top-box answers).
    pub composites: Vec<Share>,
    pub rating: Option<u8>,
    pub recommend: Option<u8>,
}

/// Scores one response's answers (question key, value) against the instrument. Answers to
/// questions the instrument no longer has are left out.
pub fn score<'a>(inst: &Instrument, answers: impl Iterator<Item = (&'a str, u8)>) -> Scored {
    let mut s = Scored {
        composites: vec![Share::default(); inst.composites.len()],
        rating: None,
        recommend: None,
    };
    for (key, v) in answers {
        let Some(q) = inst.question(key) else {
            continue;
        };
        if key == inst.rating {
            s.rating = Some(v);
        }
        if key == inst.nps {
            s.recommend = Some(v);
        }
        if let Some(c) = &q.composite
            && let Some(i) = inst.composites.iter().position(|x| &x.key == c)
        {
            s.composites[i].n += 1;
            s.composites[i].k += q.scale.is_top_box(v) as u64;
        }
    }
    s
}

/// Everything a group's row needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub responses: u64,
    pub composites: Vec<Share>,
    pub ratings: Ratings,
    pub nps: Promoters,
}

impl Tally {
    pub fn add(&mut self, s: &Scored) {
        self.responses += 1;
        if self.composites.len() < s.composites.len() {
            self.composites.resize(s.composites.len(), Share::default());
        }
        for (t, c) in self.composites.iter_mut().zip(&s.composites) {
            t.k += c.k;
            t.n += c.n;
        }
        if let Some(r) = s.rating {
            self.ratings.add(r);
        }
        if let Some(r) = s.recommend {
            self.nps.add(r);
        }
    }

    /// Adds another group's counts (the parts of a count made on several threads).
    pub fn merge(&mut self, other: &Tally) {
        self.responses += other.responses;
        if self.composites.len() < other.composites.len() {
            self.composites
                .resize(other.composites.len(), Share::default());
        }
        for (t, c) in self.composites.iter_mut().zip(&other.composites) {
            t.k += c.k;
            t.n += c.n;
        }
        self.ratings.n += other.ratings.n;
        self.ratings.sum += other.ratings.sum;
        self.ratings.sum_sq += other.ratings.sum_sq;
        self.nps.promoters += other.nps.promoters;
        self.nps.passives += other.nps.passives;
        self.nps.detractors += other.nps.detractors;
    }

    pub fn top_box(&self, composite: usize) -> Option<Estimate> {
        let s = self.composites.get(composite)?;
        wilson(s.k, s.n, Z95)
    }

    pub fn reliable(&self) -> bool {
        self.responses >= RELIABLE_AT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-4
    }

    #[test]
    fn wilson_known_answer_8_of_10() {
        // Hand computed: p = 0.8, z² = 3.8416, centre 0.99208 / 1.38416 = 0.71674,
        // half-width 1.96 × √(0.016 + 0.009604) / 1.38416 = 0.22658.
        let e = wilson(8, 10, Z95).unwrap();
        assert!(close(e.value, 0.8));
        assert!(close(e.lo, 0.4902), "{e:?}");
        assert!(close(e.hi, 0.9433), "{e:?}");
        let all = wilson(5, 5, Z95).unwrap();
        assert!(close(all.hi, 1.0) && close(all.lo, 0.5655), "{all:?}");
        assert!(wilson(0, 0, Z95).is_none());
    }

    #[test]
    fn nps_known_answer() {
        // 10 answers: 9 10 9 10 9 (promoters), 7 8 8 (passives), 3 6 (detractors).
        let mut p = Promoters::default();
        for v in [9, 10, 9, 10, 9, 7, 8, 8, 3, 6] {
            p.add(v);
        }
        let e = p.nps().unwrap();
        // 50 % − 20 % = 30; Var = (0.5 + 0.2 − 0.09) / 10 = 0.061; 1.96 × 0.24698 = 0.48408.
        assert!(close(e.value, 30.0));
        assert!((e.lo - -18.408).abs() < 0.01, "{e:?}");
        assert!((e.hi - 78.408).abs() < 0.01, "{e:?}");
    }

    #[test]
    fn a_response_is_scored_by_composite() {
        let inst = Instrument::builtin();
        let s = score(
            &inst,
            [
                ("access_urgent", 4),
                ("access_routine", 3),
                ("staff_helpful", 4),
                ("provider_rating", 9),
                ("recommend", 6),
                ("retired_question", 4),
            ]
            .into_iter(),
        );
        assert_eq!(s.composites[0], Share { k: 1, n: 2 });
        assert_eq!(s.composites[1], Share { k: 0, n: 0 });
        assert_eq!(s.composites[2], Share { k: 1, n: 1 });
        assert_eq!((s.rating, s.recommend), (Some(9), Some(6)));
    }

    proptest! {
        #[test]
        fn nps_and_top_box_match_a_direct_count(votes in proptest::collection::vec(0u8..=10, 1..300)) {
            let mut p = Promoters::default();
            let mut t = Tally::default();
            for v in &votes {
                p.add(*v);
                t.add(&Scored {
                    composites: vec![Share { k: (*v >= 9) as u64, n: 1 }],
                    rating: Some(*v),
                    recommend: Some(*v),
                });
            }
            let n = votes.len() as f64;
            let prom = votes.iter().filter(|v| **v >= 9).count() as f64;
            let det = votes.iter().filter(|v| **v <= 6).count() as f64;
            let e = p.nps().unwrap();
            prop_assert!((e.value - 100.0 * (prom - det) / n).abs() < 1e-9);
            prop_assert_eq!(t.nps, p);
            let tb = t.top_box(0).unwrap();
            prop_assert!((tb.value - prom / n).abs() < 1e-12);
            let mean = votes.iter().map(|v| *v as f64).sum::<f64>() / n;
            prop_assert!((t.ratings.mean().unwrap().value - mean).abs() < 1e-9);
        }

        #[test]
        fn intervals_contain_their_estimate(k in 0u64..500, extra in 0u64..500, prom in 0u64..200, pas in 0u64..200, det in 0u64..200) {
            let n = k + extra;
            if let Some(e) = wilson(k, n, Z95) {
                prop_assert!(e.lo <= e.value && e.value <= e.hi, "{:?}", e);
                prop_assert!(e.lo >= 0.0 && e.hi <= 1.0);
            }
            let p = Promoters { promoters: prom, passives: pas, detractors: det };
            if let Some(e) = p.nps() {
                prop_assert!(e.lo <= e.value + 1e-9 && e.value <= e.hi + 1e-9, "{:?}", e);
            }
            let mut r = Ratings::default();
            for i in 0..(k % 40) { r.add((i * 7 % 11) as u8); }
            if let Some(e) = r.mean() {
                prop_assert!(e.lo <= e.value + 1e-9 && e.value <= e.hi + 1e-9, "{:?}", e);
            }
        }

        #[test]
        fn intervals_narrow_as_responses_grow(k in 1u64..50, extra in 1u64..50, times in 2u64..20) {
            // The same shares from `times` as many responses: a narrower interval.
            let n = k + extra;
            let small = wilson(k, n, Z95).unwrap();
            let big = wilson(k * times, n * times, Z95).unwrap();
            prop_assert!(big.hi - big.lo < small.hi - small.lo);
            let p = Promoters { promoters: k, passives: extra, detractors: extra };
            let q = Promoters { promoters: k * times, passives: extra * times, detractors: extra * times };
            let (a, b) = (p.nps().unwrap(), q.nps().unwrap());
            prop_assert!(b.hi - b.lo <= a.hi - a.lo + 1e-9);
        }

        #[test]
        fn group_counts_add_up_to_the_total(rows in proptest::collection::vec((0usize..4, 0u8..=10, 1u8..=4), 0..200)) {
            let mut total = Tally::default();
            let mut groups = vec![Tally::default(); 4];
            for (g, r, f) in &rows {
                let s = Scored {
                    composites: vec![Share { k: (*f == 4) as u64, n: 1 }],
                    rating: Some(*r),
                    recommend: Some(*r),
                };
                total.add(&s);
                groups[*g].add(&s);
            }
            prop_assert_eq!(groups.iter().map(|t| t.responses).sum::<u64>(), total.responses);
            prop_assert_eq!(groups.iter().map(|t| t.nps.n()).sum::<u64>(), total.nps.n());
            let k: u64 = groups.iter().filter_map(|t| t.composites.first()).map(|s| s.k).sum();
            prop_assert_eq!(k, total.composites.first().map_or(0, |s| s.k));
            prop_assert_eq!(groups.iter().map(|t| t.ratings.sum).sum::<u64>(), total.ratings.sum);
            // Merging the groups' counts gives the total's (the report counts on several threads).
            let mut merged = Tally::default();
            for g in &groups {
                merged.merge(g);
            }
            merged.composites.resize(total.composites.len(), Share::default());
            prop_assert_eq!(merged, total);
        }
    }
}
