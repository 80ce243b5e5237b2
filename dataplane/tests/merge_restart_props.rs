//! Properties of source restarts under the learned-evidence policy
//! (`Reorder::Auto`, the default), over random schedules.
//!
//! A simulated source emits packets 0..n every `T` ticks and restarts once
//! or twice at random packets (its sequence numbers jump to a random value,
//! its SSRC changes or not). Each leg delivers a copy with its own lag (so
//! a random leg sees each restart first), in-leg reordering by exactly its
//! depth (shown in the lossless first packets, so it is learned) and random
//! loss (none within 16 packets of a restart, where the bound below reads
//! positions). `max_delay` is larger than anything the schedule does, so a
//! boundary skipped before it was skipped on evidence. The properties:
//!
//! * every handle back exactly once, the output in source order and once
//!   each (no duplicate, nothing out of order across a restart);
//! * no packet lost that a leg delivered intact: neither the old epoch's
//!   tail nor the new epoch's head;
//! * the hold at each restart is within the boundary rule's bound
//!   (docs/ARCHITECTURE.md, merge rules): the new epoch's first packet is
//!   sent by the time the restart is confirmed (`restart_after` copies of
//!   the new source on one leg) and every leg has delivered a copy more
//!   than its reorder depth + 1 past the boundary, not `margin` positions
//!   (64 here) later.

// This test crate uses only part of the shared harness.
#[allow(dead_code)]
mod support;

use dataplane::merge::record::Recorder;
use dataplane::merge::{Engine, MergeConfig, Mode, Reorder, Verdict};
use dataplane::seq::SeqSample;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use support::{in_arrival_order, sent_in_order, Copy};

/// Packet period in ticks.
const T: u64 = 1_000;
/// Copies of a new source a leg needs to prove a restart.
const K: u32 = 8;
/// Lossless, undisplaced packets at the start (the depth shows in them).
const WARM: usize = 64;
/// No loss within this many packets of a restart.
const CLEAR: usize = 16;

struct Schedule {
    config: MergeConfig,
    n: usize,
    /// The first packet of each new source.
    restarts: Vec<usize>,
    /// Wire (source, sequence) of each packet.
    wire: Vec<(u64, u64)>,
    depth: Vec<u64>,
    copies: Vec<Copy>,
}

fn generate(seed: u64) -> Schedule {
    let mut rng = SmallRng::seed_from_u64(seed);
    let legs = if rng.gen_bool(0.7) { 2 } else { 3 };
    let mode = if rng.gen_bool(0.5) {
        Mode::Primary
    } else {
        Mode::Hitless
    };
    let n = rng.gen_range(400..=900usize);
    let mut restarts = vec![rng.gen_range(150..n / 2)];
    if rng.gen_bool(0.5) {
        let r = restarts[0] + rng.gen_range(150..=250);
        if r + 100 < n {
            restarts.push(r);
        }
    }
    let mut wire: Vec<(u64, u64)> = Vec::with_capacity(n);
    let (mut source, mut base) = (7u64, rng.gen_range(0..65_536u64));
    let mut from = 0;
    for i in 0..n {
        if restarts.contains(&i) {
            if rng.gen_bool(0.5) {
                source += 1;
            }
            // Far (4000 numbers) from every number this source used before,
            // so no copy of the new numbering can pass for an old epoch's.
            loop {
                base = rng.gen_range(0..65_536u64);
                let far = |&(src, q): &(u64, u64)| {
                    let d = base.wrapping_sub(q) & 0xFFFF;
                    src != source || (4_000..65_536 - 4_000 - n as u64).contains(&d)
                };
                if wire.iter().all(far) {
                    break;
                }
            }
            from = i as u64;
        }
        wire.push((source, (base + i as u64 - from) & 0xFFFF));
    }
    let lag: Vec<u64> = (0..legs)
        .map(|_| [0, 3 * T, 10 * T][rng.gen_range(0..3)])
        .collect();
    let depth: Vec<u64> = (0..legs).map(|_| rng.gen_range(0..=3u64)).collect();
    let loss: Vec<f64> = (0..legs)
        .map(|_| [0.0, 0.01, 0.05][rng.gen_range(0..3)])
        .collect();
    let near_restart = |i: usize| restarts.iter().any(|&r| i + CLEAR >= r && i < r + CLEAR);
    let mut copies = Vec::new();
    for i in 0..n {
        for l in 0..legs {
            let warm = i < WARM;
            if !warm && !near_restart(i) && rng.gen_bool(loss[l]) {
                continue;
            }
            let mut t = 10 * T + i as u64 * T + lag[l] + rng.gen_range(0..T / 4);
            // Displaced by exactly `depth` positions: once at packet
            // 16 + 8 x leg (where the depth is learned), then at random,
            // restarts included.
            let d = depth[l];
            if d > 0 && (i == 16 + 8 * l || (i > WARM && rng.gen_bool(0.1))) {
                t += d * T + T / 2;
            }
            copies.push(Copy::data(t, l, i, false));
        }
    }
    in_arrival_order(&mut copies);
    let max_delay = 400 * T;
    let config = MergeConfig {
        mode,
        legs,
        capacity: 1024,
        max_delay,
        leg_timeout: 1_000 * T,
        restart_after: K,
        seq_bits: 16,
        reorder: Reorder::Auto,
        margin: T / 4,
        fill_timeout: 0,
        messages: false,
    };
    Schedule {
        config,
        n,
        restarts,
        wire,
        depth,
        copies,
    }
}

/// The latest time the new epoch starting at packet `r` may wait under the
/// boundary rule: the restart is confirmed (the earliest time any leg has
/// delivered `K` copies of the new source) and every leg has delivered a
/// copy more than its depth + 1 past the boundary. The boundary's first
/// position is the lowest new packet the confirming leg held, which
/// displacement can push up to the largest depth past `r`.
fn bound(s: &Schedule, r: usize) -> u64 {
    let legs = s.config.legs;
    let dmax = s.depth.iter().copied().max().unwrap_or(0) as usize;
    let mut confirmed = u64::MAX;
    for l in 0..legs {
        let mut seen = 0;
        for c in s.copies.iter().filter(|c| c.leg == l && c.idx >= r) {
            seen += 1;
            if seen == K {
                confirmed = confirmed.min(c.t);
                break;
            }
        }
    }
    let mut settled = confirmed;
    for l in 0..legs {
        let past = r + dmax + s.depth[l] as usize + 2;
        let t = s
            .copies
            .iter()
            .find(|c| c.leg == l && c.idx >= past)
            .map_or(u64::MAX, |c| c.t);
        settled = settled.max(t);
    }
    settled
}

fn check(seed: u64) -> Result<(), String> {
    let s = generate(seed);
    let ctx = |what: &str| {
        format!(
            "{what}: seed {seed:#x} restarts {:?} depth {:?} {:?}",
            s.restarts, s.depth, s.config
        )
    };
    let mut e: Engine<u64> = Engine::new(&[s.config])?;
    let mut rec: Recorder<u64> = Recorder::default();
    // When each send happened (the `now` of the call that made it).
    let mut sent_at = Vec::new();
    for (h, c) in s.copies.iter().enumerate() {
        e.poll(c.t, &mut rec);
        let (source, seq) = s.wire[c.idx];
        let sample = SeqSample {
            source,
            ..SeqSample::new(seq, 16)
        };
        e.insert((0, c.leg), sample, Verdict::Good, h as u64, c.t, &mut rec);
        sent_at.resize(rec.sent.len(), c.t);
    }
    let end = s.copies.last().map_or(0, |c| c.t) + 10 * s.config.max_delay;
    e.poll(end, &mut rec);
    e.drain(end, &mut rec);
    sent_at.resize(rec.sent.len(), end);

    let sent = sent_in_order(&s.copies, &rec).map_err(ctx)?;
    let mut delivered = vec![false; s.n];
    for c in s.copies.iter().filter(|c| c.intact_data()) {
        delivered[c.idx] = true;
    }
    let mut was_sent = vec![false; s.n];
    for &i in &sent {
        was_sent[i] = true;
    }
    let lost: Vec<usize> = (0..s.n).filter(|&i| delivered[i] && !was_sent[i]).collect();
    if !lost.is_empty() {
        return Err(ctx(&format!(
            "lost, though delivered intact: {:?}",
            &lost[..lost.len().min(20)]
        )));
    }
    for &r in &s.restarts {
        let Some(k) = sent.iter().position(|&i| i >= r) else {
            return Err(ctx(&format!("nothing sent after the restart at {r}")));
        };
        let limit = bound(&s, r);
        if sent_at[k] > limit {
            return Err(ctx(&format!(
                "restart at {r}: packet {} sent at {}, bound {limit} ({} T late)",
                sent[k],
                sent_at[k],
                (sent_at[k] - limit) / T
            )));
        }
    }
    if e.counters(0).restarts != s.restarts.len() as u64 {
        return Err(ctx(&format!("{} restarts counted", e.counters(0).restarts)));
    }
    Ok(())
}

fn cases(default: u64) -> u64 {
    std::env::var("RESTART_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Replays one case: `RESTART_SEED=0x.. cargo test --test
/// merge_restart_props`.
#[test]
fn restarts_within_learned_bounds_lose_nothing_and_settle_on_evidence() {
    if let Ok(s) = std::env::var("RESTART_SEED") {
        let seed = u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or(0);
        if let Err(e) = check(seed) {
            panic!("{e}");
        }
        return;
    }
    for k in 0..cases(2_000) {
        let seed = (k ^ 21).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        if let Err(e) = check(seed) {
            panic!("{e}");
        }
    }
}
