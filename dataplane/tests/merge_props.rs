//! Properties of the merge engine over random schedules.
//!
//! A simulated source emits packets 0..n at a fixed period; each leg
//! delivers a copy with its own skew, jitter (reorder), random loss,
//! corruption, in-leg duplicates and outages. Sequence numbers roll over
//! (16-bit starts near 65535 half the time) and the source may restart (SSRC
//! change or a sequence jump) part-way through. `max_delay` is chosen larger
//! than the legs' arrival spread, so "arrived within the window" means
//! "arrived", and the properties are exact:
//!
//! * the packets sent are exactly the union of packets that arrived intact
//!   on some leg (from the first packet the engine saw), in order, once each;
//! * no corrupt copy is ever sent;
//! * in primary mode, the primary's copy is sent whenever it arrived intact
//!   within `max_delay` of the packet (or a later one) being first seen and
//!   the primary leg was up meanwhile;
//! * every handle handed in comes back exactly once (sent or freed), and the
//!   counters account for every packet.

// This test crate uses only part of the shared harness.
#[allow(dead_code)]
mod support;

use dataplane::merge::record::{Recorder, Sent, Trace};
use dataplane::merge::{Engine, FreeReason, MergeConfig, Mode, Reorder, Verdict};
use dataplane::seq::SeqSample;
use proptest::prelude::*;
use proptest::test_runner::Config;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use support::{in_arrival_order, Copy};

/// Packet period in ticks.
const T: u64 = 1_000;

#[derive(Clone, Copy, Debug)]
enum Restart {
    None,
    Ssrc { at: usize, new_base: u64 },
    Jump { at: usize, delta: i64 },
}

#[derive(Clone, Debug)]
struct Scenario {
    mode: Mode,
    legs: usize,
    n: usize,
    bits: u32,
    start: u64,
    restart: Restart,
    k: u32,
    max_delay: u64,
    leg_timeout: u64,
    capacity: usize,
    /// MoldUDP64-like: packet i covers `span[i]` sequence numbers starting
    /// at `offs[i]` (empty: one each).
    span: Vec<u16>,
    offs: Vec<u64>,
}

impl Scenario {
    fn off(&self, i: usize) -> u64 {
        if self.offs.is_empty() {
            i as u64
        } else {
            self.offs[i]
        }
    }

    fn sample(&self, i: usize) -> SeqSample {
        let mask = if self.bits == 64 {
            u64::MAX
        } else {
            (1u64 << self.bits) - 1
        };
        let (source, seq) = match self.restart {
            Restart::Ssrc { at, new_base } => {
                if i >= at {
                    (0xB, new_base.wrapping_add(self.off(i) - self.off(at)))
                } else {
                    (0xA, self.start.wrapping_add(self.off(i)))
                }
            }
            Restart::Jump { at, delta } if i >= at => (
                0xA,
                self.start
                    .wrapping_add(self.off(i))
                    .wrapping_add(delta as u64),
            ),
            _ => (0xA, self.start.wrapping_add(self.off(i))),
        };
        SeqSample {
            source,
            span: self.span.get(i).copied().unwrap_or(1),
            ..SeqSample::new(seq & mask, self.bits)
        }
    }

    fn heartbeat(&self, i: usize) -> SeqSample {
        SeqSample {
            heartbeat: true,
            span: 0,
            ..self.sample(i)
        }
    }

    /// The engine settings this scenario runs with.
    fn config(&self, primary_reorder: Option<u32>) -> MergeConfig {
        MergeConfig {
            mode: self.mode,
            legs: self.legs,
            capacity: self.capacity,
            max_delay: self.max_delay,
            leg_timeout: self.leg_timeout,
            restart_after: self.k,
            seq_bits: self.bits,
            reorder: primary_reorder.map_or(Reorder::Off, Reorder::Fixed),
            margin: 0,
            fill_timeout: 0,
            messages: false,
        }
    }

    /// What the rx path hands the engine for copy `c`.
    fn arrival(&self, c: &Copy) -> (SeqSample, Verdict) {
        let sample = if c.heartbeat {
            self.heartbeat(c.idx)
        } else {
            self.sample(c.idx)
        };
        let v = Verdict::of(!c.corrupt);
        (sample, v)
    }

    fn restart_at(&self) -> Option<usize> {
        match self.restart {
            Restart::None => None,
            Restart::Ssrc { at, .. } | Restart::Jump { at, .. } => Some(at),
        }
    }
}

/// Builds a scenario and its arrival schedule from a seed.
fn generate(seed: u64, legs: usize, mode: Mode, with_restart: bool) -> (Scenario, Vec<Copy>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let n = rng.gen_range(1..=300usize);
    let bits = if rng.gen_bool(0.7) { 16 } else { 64 };
    let start = if bits == 16 {
        if rng.gen_bool(0.5) {
            65_536 - rng.gen_range(1..=n as u64 + 1)
        } else {
            rng.gen_range(0..65_536)
        }
    } else if rng.gen_bool(0.2) {
        u64::MAX - rng.gen_range(0..200)
    } else {
        rng.gen::<u64>() >> rng.gen_range(0..64)
    };
    let skew_max = [0, 3 * T, 30 * T][rng.gen_range(0..3)];
    let skew: Vec<u64> = (0..legs).map(|_| rng.gen_range(0..=skew_max)).collect();
    let jitter = [0, T / 2, 3 * T, 6 * T][rng.gen_range(0..4)];
    let loss: Vec<f64> = (0..legs)
        .map(|_| [0.0, 0.01, 0.1, 0.3][rng.gen_range(0..4)])
        .collect();
    let corrupt = [0.0, 0.02, 0.1][rng.gen_range(0..3)];
    let dup = [0.0, 0.05][rng.gen_range(0..2)];
    let k = rng.gen_range(4..=12u32);
    let spread = skew.iter().max().unwrap() - skew.iter().min().unwrap() + jitter;
    let max_delay = spread + 4 * T + rng.gen_range(0..5 * T);
    let leg_timeout = rng.gen_range(3 * T..=40 * T);
    let mold = bits == 64 && rng.gen_bool(0.5);
    let max_span: u16 = if mold { rng.gen_range(1..=5) } else { 1 };
    let span: Vec<u16> = if mold {
        (0..n).map(|_| rng.gen_range(1..=max_span)).collect()
    } else {
        Vec::new()
    };
    let offs: Vec<u64> = span
        .iter()
        .scan(0u64, |acc, &x| {
            let o = *acc;
            *acc += u64::from(x);
            Some(o)
        })
        .collect();
    let capacity = (((2 * max_delay / T) as usize + 4 * k as usize + 96) * max_span as usize)
        .next_power_of_two();

    let mut restart = Restart::None;
    if with_restart && n >= 4 * k as usize + 10 {
        let at = rng.gen_range(5..=n - 3 * k as usize);
        restart = if bits == 16 && rng.gen_bool(0.5) || rng.gen_bool(0.3) {
            let new_base = if bits == 16 {
                rng.gen_range(0..65_536)
            } else {
                rng.gen()
            };
            Restart::Ssrc { at, new_base }
        } else {
            let mag = if bits == 16 {
                rng.gen_range(3 * capacity as i64 + 200..=30_000 - 200)
            } else {
                rng.gen_range(1_000_000..=1i64 << 50)
            };
            Restart::Jump {
                at,
                delta: if rng.gen_bool(0.5) { mag } else { -mag },
            }
        };
    }
    // Outages (never across the restart, see the report: a first-restarting
    // leg that lost more than K packets at the new epoch's start drops the
    // lagging leg's copies of them).
    let restart_zone = |i: usize| match restart {
        Restart::None => false,
        Restart::Ssrc { at, .. } | Restart::Jump { at, .. } => {
            i + 2 * k as usize + 40 >= at && i <= at + 3 * k as usize + 40
        }
    };
    let mut out: Vec<Vec<bool>> = vec![vec![false; n]; legs];
    for o in out.iter_mut() {
        for _ in 0..rng.gen_range(0..=2) {
            let a = rng.gen_range(0..n);
            let len = rng.gen_range(1..=60usize);
            for (i, x) in o.iter_mut().enumerate().skip(a).take(len) {
                if !restart_zone(i) {
                    *x = true;
                }
            }
        }
    }
    let mut copies = Vec::new();
    #[allow(clippy::needless_range_loop)]
    for i in 0..n {
        for l in 0..legs {
            if out[l][i] || rng.gen_bool(loss[l]) {
                continue;
            }
            let t = 10 * T + i as u64 * T + skew[l] + rng.gen_range(0..=jitter);
            copies.push(Copy::data(t, l, i, rng.gen_bool(corrupt)));
            if rng.gen_bool(dup) {
                copies.push(Copy::data(
                    t + rng.gen_range(1..=2 * T),
                    l,
                    i,
                    rng.gen_bool(corrupt),
                ));
            }
            if mold && rng.gen_bool(0.05) {
                copies.push(Copy {
                    t: t + rng.gen_range(1..T),
                    leg: l,
                    idx: i,
                    corrupt: false,
                    heartbeat: true,
                });
            }
        }
    }
    in_arrival_order(&mut copies);
    let sc = Scenario {
        mode,
        legs,
        n,
        bits,
        start,
        restart,
        k,
        max_delay,
        leg_timeout,
        capacity,
        span,
        offs,
    };
    (sc, copies)
}

type Rec = Recorder<u64>;

fn check(seed: u64, legs: usize, mode: Mode, with_restart: bool) -> Result<(), TestCaseError> {
    check_with(seed, legs, mode, with_restart, None)
}

/// `check` with the engine's `primary_reorder` set: every property holds
/// but "the primary's copy is used whenever it arrived in time", which the
/// option trades for latency.
fn check_with(
    seed: u64,
    legs: usize,
    mode: Mode,
    with_restart: bool,
    primary_reorder: Option<u32>,
) -> Result<(), TestCaseError> {
    let (sc, copies) = generate(seed, legs, mode, with_restart);
    let mut e: Engine<u64> =
        Engine::new(&[sc.config(primary_reorder)]).map_err(TestCaseError::fail)?;
    let mut rec = Rec::default();
    for (h, c) in copies.iter().enumerate() {
        e.poll(c.t, &mut rec);
        let (sample, v) = sc.arrival(c);
        e.insert((0, c.leg), sample, v, h as u64, c.t, &mut rec);
    }
    let end = copies.last().map_or(0, |c| c.t) + 10 * sc.max_delay + sc.leg_timeout;
    e.poll(end, &mut rec);
    let sent_before_drain = rec.sent.len();
    e.drain(end, &mut rec);
    let ctx = || format!("seed {seed:#x} legs {legs} {mode:?} {sc:?}");

    // Every handle back exactly once.
    let mut back = vec![0u8; copies.len()];
    for &h in rec.returned() {
        back[h as usize] += 1;
    }
    prop_assert!(
        back.iter().all(|&b| b == 1),
        "handles not back exactly once: {}",
        ctx()
    );
    prop_assert_eq!(e.held(0), 0);
    // Nothing was waiting for drain: every deadline fired on time.
    prop_assert_eq!(
        sent_before_drain,
        rec.sent.len(),
        "drain sent packets: {}",
        ctx()
    );

    // Never a corrupt copy, never a heartbeat; heartbeats all freed as such.
    for x in &rec.sent {
        prop_assert_eq!(x.stream, 0);
        prop_assert!(
            !copies[x.handle as usize].corrupt,
            "corrupt copy sent: {}",
            ctx()
        );
        prop_assert!(
            !copies[x.handle as usize].heartbeat,
            "heartbeat sent: {}",
            ctx()
        );
    }
    for (h, why) in &rec.freed {
        prop_assert_eq!(copies[*h as usize].heartbeat, *why == FreeReason::Heartbeat);
    }
    let all = copies;
    let data: Vec<Copy> = all.iter().filter(|c| !c.heartbeat).copied().collect();
    let copies = &data[..];
    // If the engine's first packet already came from the restarted source,
    // the old source's packets arriving later are (rightly) a restart of
    // their own: order and set are then not defined by the schedule.
    if let (Some(r), Some(first)) = (sc.restart_at(), copies.first()) {
        if first.idx >= r {
            return Ok(());
        }
    }
    // In order; no duplicates.
    let sent_idx: Vec<usize> = rec
        .sent
        .iter()
        .map(|x| all[x.handle as usize].idx)
        .collect();
    prop_assert!(
        sent_idx.windows(2).all(|w| w[0] < w[1]),
        "output out of order or duplicated {:?}: {}",
        sent_idx,
        ctx()
    );
    // SendInfo::epoch labels the copy's own source epoch; in epoch 0 the
    // merged position is the wire sequence.
    let mask = if sc.bits == 64 {
        u64::MAX
    } else {
        (1u64 << sc.bits) - 1
    };
    for x in &rec.sent {
        let c = &all[x.handle as usize];
        let new_source = sc.restart_at().is_some_and(|r| c.idx >= r);
        if x.info.epoch == 0 {
            prop_assert_eq!(
                x.info.ext_seq & mask,
                sc.sample(c.idx).value,
                "epoch 0 ext_seq is not the wire sequence: {}",
                ctx()
            );
        } else {
            prop_assert!(
                new_source,
                "old source's copy labelled epoch {}: {}",
                x.info.epoch,
                ctx()
            );
        }
    }
    let ext: Vec<u64> = rec.ext_seqs();
    prop_assert!(
        ext.windows(2).all(|w| (w[1].wrapping_sub(w[0]) as i64) > 0),
        "ext_seq not increasing (modulo 2^64): {}",
        ctx()
    );

    // Output == union of packets that arrived intact somewhere, from the
    // first packet the engine saw.
    let Some(first) = copies.first() else {
        prop_assert!(rec.sent.is_empty());
        return Ok(());
    };
    let i0 = first.idx;
    let mut intact = vec![false; sc.n];
    for c in copies {
        if c.intact_data() && c.idx >= i0 {
            intact[c.idx] = true;
        }
    }
    let want: Vec<usize> = (0..sc.n).filter(|&i| intact[i]).collect();
    prop_assert_eq!(&sent_idx, &want, "output set: {}", ctx());

    let c = e.counters(0);
    prop_assert_eq!(c.sent as usize, rec.sent.len());
    prop_assert_eq!(c.overruns, 0);
    let mut received = 0;
    let mut accounted = 0;
    for l in &c.legs[..sc.legs] {
        received += l.received;
        accounted += l.used
            + l.duplicates
            + l.late
            + l.wild
            + l.stale
            + l.corrupt_dropped
            + l.invalid
            + l.heartbeats
            + l.shed_pool_low;
        prop_assert_eq!(l.good + l.corrupt + l.heartbeats, l.received);
    }
    prop_assert_eq!(received as usize, all.len());
    prop_assert_eq!(accounted, received, "counters do not account: {:?}", c);
    if sc.restart_at().is_none() {
        // Every position the cursor passed without sending is counted.
        let max_idx = copies.iter().map(|c| c.idx).max().unwrap_or(0);
        let span = |i: usize| u64::from(sc.span.get(i).copied().unwrap_or(1));
        // The cursor ends just past the last packet's first number if that
        // packet was never sent (a corrupt copy's span is not trusted).
        let last = if sent_idx.last() == Some(&max_idx) {
            span(max_idx)
        } else {
            1
        };
        let covered: u64 = (i0..max_idx).map(span).sum::<u64>() + last;
        let sent: u64 = sent_idx.iter().map(|&i| span(i)).sum();
        prop_assert_eq!(c.unrecoverable, covered - sent, "unrecoverable: {}", ctx());
        prop_assert_eq!(c.restarts, 0);
    }

    if mode == Mode::Primary && primary_reorder.is_none() {
        check_primary_used(&sc, copies, &rec, &sent_idx, &ctx)?;
    }
    Ok(())
}

/// In primary mode the primary's intact copy is used whenever it arrived
/// before the packet was overdue and the primary leg was up all along.
fn check_primary_used(
    sc: &Scenario,
    copies: &[Copy],
    rec: &Rec,
    sent_idx: &[usize],
    ctx: &dyn Fn() -> String,
) -> Result<(), TestCaseError> {
    let n = sc.n;
    // Earliest arrival of any copy of index >= i.
    let mut first_seen = vec![u64::MAX; n + 1];
    for c in copies {
        first_seen[c.idx] = first_seen[c.idx].min(c.t);
    }
    for i in (0..n).rev() {
        first_seen[i] = first_seen[i].min(first_seen[i + 1]);
    }
    let zone = |i: usize| {
        sc.restart_at().is_some_and(|r| {
            let w = (sc.max_delay / T) as usize + 3 * sc.k as usize + 10;
            i + w >= r && i <= r + w
        })
    };
    // Good primary arrivals that surely refreshed its liveness.
    let live: Vec<u64> = copies
        .iter()
        .filter(|c| c.leg == 0 && !c.corrupt && !zone(c.idx))
        .map(|c| c.t)
        .collect();
    for (
        k,
        &Sent {
            handle: h, info, ..
        },
    ) in rec.sent.iter().enumerate()
    {
        let i = sent_idx[k];
        if info.leg == 0 || zone(i) {
            continue;
        }
        let p_copies: Vec<&Copy> = copies.iter().filter(|c| c.leg == 0 && c.idx == i).collect();
        let Some(a_p) = p_copies.iter().filter(|c| !c.corrupt).map(|c| c.t).min() else {
            continue;
        };
        if p_copies.iter().any(|c| c.corrupt && c.t < a_p) {
            continue; // the primary's first copy was corrupt: adverse
        }
        let f = first_seen[i];
        if a_p >= f + sc.max_delay {
            continue; // not within max_delay
        }
        // Primary up from before f until a_p: a good packet before f and no
        // silence of leg_timeout in between.
        let from = match live.iter().rposition(|&t| t <= f) {
            Some(x) => x,
            None => continue,
        };
        let mut last = live[from];
        let mut up = true;
        for &t in live[from + 1..].iter().take_while(|&&t| t < a_p) {
            if t - last >= sc.leg_timeout {
                up = false;
                break;
            }
            last = t;
        }
        if !up || a_p - last >= sc.leg_timeout {
            continue;
        }
        return Err(TestCaseError::fail(format!(
            "index {i} sent from leg {} (handle {h}) although the primary's intact copy arrived at {a_p} (first seen {f}, max_delay {}): {}",
            info.leg,
            sc.max_delay,
            ctx()
        )));
    }
    Ok(())
}

fn cfg(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(cfg(40_000))]
    #[test]
    fn two_legs_primary(seed in any::<u64>()) {
        check(seed, 2, Mode::Primary, false)?;
    }
}

proptest! {
    #![proptest_config(cfg(30_000))]
    #[test]
    fn two_legs_hitless(seed in any::<u64>()) {
        check(seed, 2, Mode::Hitless, false)?;
    }
}

proptest! {
    #![proptest_config(cfg(30_000))]
    #[test]
    fn three_legs_both_modes(seed in any::<u64>(), hitless in any::<bool>()) {
        let mode = if hitless { Mode::Hitless } else { Mode::Primary };
        check(seed, 3, mode, false)?;
    }
}

proptest! {
    #![proptest_config(cfg(40_000))]
    #[test]
    fn source_restarts(seed in any::<u64>(), three in any::<bool>(), hitless in any::<bool>()) {
        let mode = if hitless { Mode::Hitless } else { Mode::Primary };
        check(seed, if three { 3 } else { 2 }, mode, true)?;
    }
}

proptest! {
    #![proptest_config(cfg(20_000))]
    #[test]
    fn primary_reorder_keeps_every_other_property(
        seed in any::<u64>(),
        three in any::<bool>(),
        restart in any::<bool>(),
        r in 0u32..8,
    ) {
        check_with(seed, if three { 3 } else { 2 }, Mode::Primary, restart, Some(r))?;
    }
}

/// Replays one schedule with a trace: `SEED=0x.. LEGS=2 MODE=primary
/// RESTART=0 cargo test --test merge_props replay -- --ignored --nocapture`.
#[test]
#[ignore]
fn replay() {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let seed_s = env("SEED", "0");
    let seed = if let Some(h) = seed_s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).unwrap()
    } else {
        seed_s.parse().unwrap()
    };
    let legs: usize = env("LEGS", "2").parse().unwrap();
    let mode: Mode = env("MODE", "primary").parse().unwrap();
    let restart = env("RESTART", "0") == "1";
    let (sc, copies) = generate(seed, legs, mode, restart);
    println!("{sc:?}");
    let mut e: Engine<u64> = Engine::new(&[sc.config(None)]).unwrap();
    let mut tr = Trace::new(|h: &u64| {
        let c = copies[*h as usize];
        format!("idx {} leg {}", c.idx, c.leg)
    });
    for (h, c) in copies.iter().enumerate() {
        e.poll(c.t, &mut tr);
        println!(
            "t={} leg {} idx {} seq {:?}{}",
            c.t,
            c.leg,
            c.idx,
            sc.sample(c.idx).value,
            if c.corrupt { " CORRUPT" } else { "" }
        );
        let (sample, v) = sc.arrival(c);
        e.insert((0, c.leg), sample, v, h as u64, c.t, &mut tr);
    }
    let end = copies.last().map_or(0, |c| c.t) + 10 * sc.max_delay + sc.leg_timeout;
    e.poll(end, &mut tr);
    println!("drain");
    e.drain(end, &mut tr);
    println!("{:?}", e.counters(0));
}
