//! Copies that disagree (`payload_mismatch`): every good copy that is not
//! sent is compared once with the copy sent at its position, whether it
//! arrives after that send (behind the cursor) or is still held when it
//! happens; copies without a digest never count.

use super::tests::{all_back, cfg};
use super::*;
use crate::seq::SeqSample;
use crate::slots::{Checked, Digest};

type Rec = record::Recorder<u64>;

fn copy(digest: Option<u16>) -> Checked {
    Checked {
        verdict: Verdict::Good,
        digest: Digest::of(digest),
    }
}

fn sample(seq: u64) -> SeqSample {
    SeqSample {
        source: 7,
        ..SeqSample::new(seq & 0xFFFF, 16)
    }
}

/// A small deterministic generator (the cases below are many and varied;
/// the seed makes a failure repeatable).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// Two legs, each position's copies in a random order with the secondary
/// up to 8 positions ahead or behind, random loss (never both copies),
/// random digests (some positions differ, some copies have none): the
/// count is exactly the positions with two copies whose digests are both
/// known and differ, in both modes; the output is every position once.
#[test]
fn every_pair_of_copies_that_differ_is_counted_once() {
    for seed in 0..200u64 {
        let mut g = Lcg(seed);
        let mode = if seed % 2 == 0 {
            Mode::Primary
        } else {
            Mode::Hitless
        };
        let mut e: Engine<u64> = Engine::new(&[cfg(mode)]).unwrap();
        let mut r = Rec::default();
        let n = 300u64;
        let skew = (g.next() % 17) as i64 - 8;
        let mut arrivals = Vec::new();
        let mut expected = 0u64;
        for p in 0..n {
            let lost = g.next() % 10;
            let base = (g.next() % 0xfffe) as u16;
            let differs = g.next().is_multiple_of(4);
            let none = g.next().is_multiple_of(8);
            let d0 = Some(base);
            let d1 = if none {
                None
            } else if differs {
                Some(base ^ 0x0101)
            } else {
                Some(base)
            };
            let two = lost > 1 || p < 4;
            if two && differs && !none {
                expected += 1;
            }
            let t = p as i64 * 10;
            if lost != 0 || p < 4 {
                arrivals.push((t, 0usize, p, d0));
            }
            if lost != 1 || p < 4 {
                arrivals.push((t + skew * 10 + (g.next() % 3) as i64, 1usize, p, d1));
            }
        }
        arrivals.sort_by_key(|a| (a.0, a.1));
        let given = arrivals.len();
        for (t, leg, p, d) in arrivals {
            let now = (t + 1000) as u64;
            e.poll(now, &mut r);
            e.insert(
                (0, leg),
                sample(p),
                copy(d),
                leg as u64 * 1_000_000 + p,
                now,
                &mut r,
            );
        }
        e.drain(1_000_000, &mut r);
        all_back(&r, given);
        assert_eq!(r.sent.len() as u64, n, "seed {seed}");
        assert_eq!(
            e.counters(0).payload_mismatch,
            expected,
            "seed {seed} mode {mode:?} skew {skew}"
        );
    }
}

/// A copy of several positions (MoldUDP64 messages) keeps no digest, and a
/// plain `Verdict` has none: neither is ever compared.
#[test]
fn copies_without_a_digest_are_not_compared() {
    let mut e: Engine<u64> = Engine::new(&[cfg(Mode::Primary)]).unwrap();
    let mut r = Rec::default();
    e.insert((0, 0), sample(1), copy(Some(5)), 1, 10, &mut r);
    e.insert((0, 1), sample(1), Verdict::Good, 2, 11, &mut r);
    let wide = |v| SeqSample {
        span: 3,
        ..sample(v)
    };
    e.insert((0, 0), wide(2), copy(Some(5)), 3, 12, &mut r);
    e.insert((0, 1), wide(2), copy(Some(6)), 4, 13, &mut r);
    // The same single position again, digests differing: counted.
    e.insert((0, 0), sample(5), copy(Some(5)), 5, 14, &mut r);
    e.insert((0, 1), sample(5), copy(Some(6)), 6, 15, &mut r);
    e.drain(1_000_000, &mut r);
    all_back(&r, 6);
    assert_eq!(e.counters(0).payload_mismatch, 1);
}
