//! Copies that disagree (`payload_mismatch`): at the compared positions
//! (one in `SAMPLE_EVERY`: here, with epoch 0's positions equal to the
//! sequence numbers, those that are multiples of 8) every good copy that
//! is not sent is compared once with the copy sent at its position,
//! whether it arrives after that send (behind the cursor) or is still held
//! when it happens; copies without a digest never count, nor do copies at
//! other positions.

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
/// count is exactly the sampled positions with two copies whose digests
/// are both known and differ, in both modes; the output is every position
/// once.
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
            // Below 0x8000, so neither digest is 0xffff (no digest).
            let base = (g.next() % 0x8000) as u16;
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
            if two && differs && !none && p.is_multiple_of(SAMPLE_EVERY) {
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
    let mut given = 0;
    let primary = |e: &mut Engine<u64>, r: &mut Rec, s: SeqSample, now| {
        e.insert((0, 0), s, copy(Some(5)), 100 + s.value, now, r);
    };
    for s in 0..=8 {
        primary(&mut e, &mut r, sample(s), 1 + s);
    }
    // Sampled position 8: no digest on the secondary's copy.
    e.insert((0, 1), sample(8), Verdict::Good, 2, 10, &mut r);
    for s in 9..16 {
        primary(&mut e, &mut r, sample(s), 11);
    }
    // Sampled position 16, a copy of three positions on both legs.
    let wide = |v| SeqSample {
        span: 3,
        ..sample(v)
    };
    primary(&mut e, &mut r, wide(16), 12);
    e.insert((0, 1), wide(16), copy(Some(6)), 4, 13, &mut r);
    for s in 19..=24 {
        primary(&mut e, &mut r, sample(s), 14);
    }
    given += 9 + 1 + 7 + 2 + 6;
    // Position 23, not sampled, digests differing: not compared.
    e.insert((0, 1), sample(23), copy(Some(6)), 6, 15, &mut r);
    // Sampled position 24, digests differing: counted.
    e.insert((0, 1), sample(24), copy(Some(6)), 7, 15, &mut r);
    given += 2;
    e.drain(1_000_000, &mut r);
    all_back(&r, given);
    assert_eq!(e.counters(0).payload_mismatch, 1);
}
