//! Properties of the learned-evidence policy (`Reorder::Auto`, the default)
//! over random schedules.
//!
//! A simulated source emits packets 0..n every `T` ticks; each leg delivers
//! a copy with its own lag (which may change mid-stream), jitter, in-leg
//! reordering, loss and corruption. `max_delay` is larger than anything the
//! schedule does, so every packet given up before it was given up on
//! evidence. The properties:
//!
//! * always: every handle back exactly once, never a corrupt copy, output in
//!   order and once each, counters account for every packet, and a packet
//!   given up that arrives later is freed `late` and counted in
//!   `lost_early` (once per packet): sent = intact union - lost_early;
//! * stationary legs whose reorder depth showed in the first packets (the
//!   learned bounds cover every copy): nothing lost, `lost_early` = 0;
//! * changes slower than the documented adaptation rate (a lag that grows
//!   at any speed or shrinks by less than one packet interval per packet;
//!   a reorder depth growing by one at a time): nothing lost, and the skew
//!   estimate follows the lag up and back down;
//! * faster changes (a 40-packet lag step down, a depth step 0 -> 6): what
//!   they cost is exactly what `lost_early` reports.
//!
//! The default runs a few thousand cases; `scripts/evidence-props.sh` runs
//! the 10^5-case sweep (`evidence_sweep_1e5`, ignored by default).

mod support;

use dataplane::merge::record::{Recorder, Trace};
use dataplane::merge::{Engine, FreeReason, MergeConfig, Mode, Reorder, Verdict};
use dataplane::seq::SeqSample;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use support::{in_arrival_order, sent_in_order, Copy};

/// Packet period in ticks.
const T: u64 = 1_000;
/// The engine's margin over a learned lag.
const MARGIN: u64 = T / 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Constant lag, jitter below half a period, reorder depth fixed per leg
    /// and shown in the lossless first 64 packets.
    Stationary,
    /// Anything (uniform jitter up to 6 periods, loss, corruption).
    Arbitrary,
    /// Leg 1's lag ramps 0 -> 40 T and back, slower than one period per
    /// packet; leg 0's depth grows 0 -> 6 one step at a time.
    Ramp,
    /// Leg 1's lag steps 0 -> 40 T and back at once; leg 0's depth steps
    /// 0 -> 6.
    Step,
}

struct Schedule {
    config: MergeConfig,
    start: u64,
    n: usize,
    copies: Vec<Copy>,
}

fn lag_of(kind: Kind, i: usize) -> u64 {
    let i = i as u64;
    match kind {
        Kind::Ramp => match i {
            0..=499 => 0,
            500..=1499 => (i - 500) * 40 * T / 1000,
            1500..=2999 => 40 * T,
            3000..=3999 => 40 * T - (i - 3000) * 40 * T / 1000,
            _ => 0,
        },
        Kind::Step if (1000..2000).contains(&i) => 40 * T,
        _ => 0,
    }
}

/// Leg 0's reorder depth at packet `i` in the adaptation kinds.
fn depth_of(kind: Kind, i: usize) -> u64 {
    match kind {
        Kind::Ramp => (i as u64 / 300).min(6),
        Kind::Step if i >= 1000 => 6,
        _ => 0,
    }
}

fn generate(seed: u64, kind: Kind) -> Schedule {
    let mut rng = SmallRng::seed_from_u64(seed);
    let adapt = matches!(kind, Kind::Ramp | Kind::Step);
    let legs = if adapt || rng.gen_bool(0.7) { 2 } else { 3 };
    let mode = if rng.gen_bool(0.5) {
        Mode::Primary
    } else {
        Mode::Hitless
    };
    let n = if adapt {
        5500
    } else {
        rng.gen_range(80..=600usize)
    };
    let start: u64 = rng.gen_range(0..65_536);
    let skew: Vec<u64> = (0..legs)
        .map(|_| [0, 3 * T, 30 * T][rng.gen_range(0..3)])
        .collect();
    let jitter: Vec<u64> = (0..legs)
        .map(|_| match kind {
            Kind::Arbitrary => [0, T / 2, 3 * T, 6 * T][rng.gen_range(0..4)],
            _ => rng.gen_range(0..T / 2),
        })
        .collect();
    let depth: Vec<u64> = (0..legs).map(|_| rng.gen_range(0..=5u64)).collect();
    let loss: Vec<f64> = (0..legs)
        .map(|_| match kind {
            Kind::Ramp | Kind::Step => 0.05,
            _ => [0.0, 0.01, 0.1, 0.3][rng.gen_range(0..4)],
        })
        .collect();
    let corrupt = [0.0, 0.02][rng.gen_range(0..2)];
    const WARM: usize = 64;
    let mut copies = Vec::new();
    for i in 0..n {
        for l in 0..legs {
            let warm = i < WARM;
            if !warm && rng.gen_bool(loss[l]) {
                continue;
            }
            let mut t = 10 * T + i as u64 * T + rng.gen_range(0..=jitter[l]);
            match kind {
                Kind::Stationary => {
                    t += skew[l];
                    // Displaced by exactly `depth` positions: once at
                    // packet 16 + 8 x leg (so the depth shows while the
                    // other legs carry the packet and nothing is lost),
                    // then at random.
                    let d = depth[l];
                    if d > 0 && (i == 16 + 8 * l || (i > WARM && rng.gen_bool(0.1))) {
                        t += d * T + T / 2;
                    }
                }
                Kind::Arbitrary => t += skew[l],
                Kind::Ramp | Kind::Step => {
                    if l == 1 {
                        t += lag_of(kind, i);
                    }
                    let d = depth_of(kind, i);
                    // One displaced packet in 16 on leg 0, never at a
                    // position whose arrival times are sampled (so the skew
                    // percentiles show the lag alone).
                    if l == 0 && d > 0 && i % 16 == 7 && !(start + i as u64).is_multiple_of(8) {
                        t += d * T + T / 2;
                    }
                }
            }
            copies.push(Copy::data(t, l, i, !warm && rng.gen_bool(corrupt)));
        }
    }
    in_arrival_order(&mut copies);
    let spread = copies
        .iter()
        .map(|c| c.t.saturating_sub(10 * T + c.idx as u64 * T))
        .max()
        .unwrap_or(0);
    let max_delay = spread + 10 * T;
    let config = MergeConfig {
        mode,
        legs,
        capacity: ((2 * max_delay / T) as usize + 128).next_power_of_two(),
        max_delay,
        leg_timeout: 100 * T,
        restart_after: 8,
        seq_bits: 16,
        reorder: Reorder::Auto,
        margin: MARGIN,
        fill_timeout: 0,
        messages: false,
    };
    Schedule {
        config,
        start,
        n,
        copies,
    }
}

type Rec = Recorder<u64>;

/// What a run produced, for the kind-specific checks.
struct Outcome {
    lost_early: u64,
    missing: Vec<usize>,
    /// Recent skew p50 (ticks) at packets 2900 and 5400 (adaptation kinds).
    skew_p50_at: Vec<u64>,
}

fn run(seed: u64, kind: Kind) -> Result<Outcome, String> {
    let s = generate(seed, kind);
    let ctx = |what: &str| format!("{what}: seed {seed:#x} {kind:?} {:?}", s.config);
    let mut e: Engine<u64> = Engine::new(&[s.config])?;
    let mut rec = Rec::default();
    let mut skew_p50_at = Vec::new();
    let probes = [2900usize, 5400];
    for (h, c) in s.copies.iter().enumerate() {
        e.poll(c.t, &mut rec);
        if probes.get(skew_p50_at.len()).is_some_and(|&p| c.idx >= p) && c.leg == 1 {
            skew_p50_at.push(e.evidence(0).skew_p50);
        }
        let sample = SeqSample {
            source: 7,
            ..SeqSample::new((s.start + c.idx as u64) & 0xFFFF, 16)
        };
        let v = Verdict::of(!c.corrupt);
        e.insert((0, c.leg), sample, v, h as u64, c.t, &mut rec);
    }
    let end = s.copies.last().map_or(0, |c| c.t) + 10 * s.config.max_delay;
    e.poll(end, &mut rec);
    e.drain(end, &mut rec);

    let sent = sent_in_order(&s.copies, &rec).map_err(ctx)?;
    let i0 = s.copies.first().map_or(0, |c| c.idx);
    let mut intact = vec![false; s.n];
    for c in &s.copies {
        if c.intact_data() && c.idx >= i0 {
            intact[c.idx] = true;
        }
    }
    let mut was_sent = vec![false; s.n];
    for &i in &sent {
        was_sent[i] = true;
    }
    let missing: Vec<usize> = (0..s.n).filter(|&i| intact[i] && !was_sent[i]).collect();
    // A packet given up and then arriving: all its intact copies `late`.
    for &i in &missing {
        for (h, why) in &rec.freed {
            let c = s.copies[*h as usize];
            if c.idx == i && !c.corrupt && *why != FreeReason::Late {
                return Err(ctx(&format!("copy of lost {i} freed as {why:?}, not late")));
            }
        }
    }
    let c = e.counters(0);
    if c.lost_early != missing.len() as u64 {
        return Err(ctx(&format!(
            "lost_early {} but {} packets lost: {:?}",
            c.lost_early,
            missing.len(),
            &missing[..missing.len().min(20)]
        )));
    }
    let mut received = 0;
    let mut accounted = 0;
    for l in &c.legs[..s.config.legs] {
        received += l.received;
        accounted += l.used + l.duplicates + l.late + l.wild + l.stale + l.corrupt_dropped;
    }
    if received as usize != s.copies.len() || accounted != received || c.overruns != 0 {
        return Err(ctx(&format!("counters do not account: {c:?}")));
    }
    Ok(Outcome {
        lost_early: c.lost_early,
        missing,
        skew_p50_at,
    })
}

fn check(seed: u64, kind: Kind) -> Result<(), String> {
    let o = run(seed, kind)?;
    let ctx = |what: &str| format!("{what}: seed {seed:#x} {kind:?}");
    match kind {
        Kind::Stationary | Kind::Ramp => {
            if !o.missing.is_empty() {
                return Err(ctx(&format!(
                    "lost within learned bounds: {:?}",
                    &o.missing[..o.missing.len().min(20)]
                )));
            }
        }
        Kind::Arbitrary | Kind::Step => {}
    }
    if kind == Kind::Ramp {
        // The skew estimate follows: ~40 T on the plateau, ~0 at the end.
        let [up, down] = o.skew_p50_at[..] else {
            return Err(ctx("probes not taken"));
        };
        if up.abs_diff(40 * T) > T || down > T {
            return Err(ctx(&format!(
                "skew p50 {up} on the plateau, {down} at the end"
            )));
        }
    }
    Ok(())
}

fn sweep(kind: Kind, cases: u64, salt: u64) {
    for k in 0..cases {
        let seed = (k ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        if let Err(e) = check(seed, kind) {
            panic!("{e}");
        }
    }
}

fn cases(default: u64) -> u64 {
    std::env::var("EVIDENCE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn stationary_legs_within_learned_bounds_lose_nothing() {
    sweep(Kind::Stationary, cases(2_000), 1);
}

#[test]
fn arbitrary_schedules_count_every_early_loss_and_never_reorder() {
    sweep(Kind::Arbitrary, cases(2_000), 2);
}

#[test]
fn slow_changes_lose_nothing_and_the_estimate_follows() {
    sweep(Kind::Ramp, cases(20), 3);
}

#[test]
fn fast_changes_cost_exactly_what_lost_early_reports() {
    let mut total = 0;
    let n = cases(20);
    for k in 0..n {
        let seed = (k ^ 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        match run(seed, Kind::Step) {
            Ok(o) => total += o.lost_early,
            Err(e) => panic!("{e}"),
        }
    }
    // Reported for the record (cargo test -- --nocapture).
    println!("steps 0 -> 40 T -> 0 and depth 0 -> 6: {total} packets lost early over {n} runs");
}

/// The 10^5-case sweep: `scripts/evidence-props.sh` (release build).
/// Replays one case with a trace: `SEED=0x.. KIND=Stationary cargo test
/// --test merge_evidence_props trace -- --ignored --nocapture`.
#[test]
#[ignore]
fn trace() {
    let seed_s = std::env::var("SEED").unwrap_or_default();
    let seed = u64::from_str_radix(seed_s.trim_start_matches("0x"), 16).unwrap_or(0);
    let kind = match std::env::var("KIND").as_deref() {
        Ok("Arbitrary") => Kind::Arbitrary,
        Ok("Ramp") => Kind::Ramp,
        Ok("Step") => Kind::Step,
        _ => Kind::Stationary,
    };
    let s = generate(seed, kind);
    println!("{:?}", s.config);
    let mut e: Engine<u64> = Engine::new(&[s.config]).unwrap();
    let mut tr = Trace::new(|h: &u64| {
        let c = s.copies[*h as usize];
        format!("idx {} leg {}", c.idx, c.leg)
    });
    for (h, c) in s.copies.iter().enumerate().take(400) {
        e.poll(c.t, &mut tr);
        println!(
            "t={} leg {} idx {}{}",
            c.t,
            c.leg,
            c.idx,
            if c.corrupt { " CORRUPT" } else { "" }
        );
        let sample = SeqSample {
            source: 7,
            ..SeqSample::new((s.start + c.idx as u64) & 0xFFFF, 16)
        };
        let v = Verdict::of(!c.corrupt);
        e.insert((0, c.leg), sample, v, h as u64, c.t, &mut tr);
    }
}

#[test]
#[ignore]
fn evidence_sweep_1e5() {
    let n = cases(50_000);
    sweep(Kind::Stationary, n, 11);
    sweep(Kind::Arbitrary, n, 12);
    sweep(Kind::Ramp, n / 500, 13);
    let _ = run(5, Kind::Step).map_err(|e| panic!("{e}"));
}
