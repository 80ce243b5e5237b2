//! Merge engine cost per input packet (criterion).
//!
//! `cargo bench -p dataplane --no-default-features --bench merge`
//!
//! Each case feeds both legs' copies of a run of packets through
//! `Engine::insert` (and `poll` once per 32 inputs, as a worker does once per
//! burst); throughput is in input packets, so "time per element" is ns per
//! input packet. Handles are 8-byte ids (like an mbuf pointer), so a slot is
//! 16 bytes as in the dataplane.

use std::hint::black_box;
use std::num::NonZeroU64;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dataplane::merge::record::Tally;
use dataplane::merge::{Engine, MergeConfig, Mode};
use dataplane::seq::SeqSample;
use dataplane::slots::Verdict;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

type Handle = NonZeroU64;

/// Packet period and path skew in ticks (ns): 1 Mpps per stream.
const PERIOD: u64 = 1_000;
const SKEW: u64 = 10;
const BATCH: u64 = 1_024;

fn config(mode: Mode) -> MergeConfig {
    MergeConfig {
        mode,
        legs: 2,
        capacity: 512,
        max_delay: 50_000,
        leg_timeout: 1_000_000,
        restart_after: 20,
        seq_bits: 16,
        ..MergeConfig::default()
    }
}

/// One stream's running state between iterations.
struct Feed {
    seq: u64,
    now: u64,
    id: u64,
}

impl Feed {
    #[inline]
    fn handle(&mut self) -> Handle {
        self.id += 1;
        NonZeroU64::new(self.id).unwrap_or(NonZeroU64::MIN)
    }
}

#[inline]
fn rtp(seq: u64) -> SeqSample {
    SeqSample {
        source: 0x1234_5678,
        ..SeqSample::new(seq & 0xFFFF, 16)
    }
}

fn clean(c: &mut Criterion) {
    two_legs(c, "merge_clean_2leg", |_| (false, false), true);
}

fn lossy(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(7);
    let pattern: Vec<(bool, bool)> = (0..1 << 16)
        .map(|_| (rng.gen_bool(0.01), rng.gen_bool(0.01)))
        .collect();
    two_legs(
        c,
        "merge_loss_1pct_2leg",
        |seq| pattern[(seq & 0xFFFF) as usize],
        false,
    );
}

/// One stream, both legs in step (the secondary `SKEW` behind); `lost(seq)`
/// says which leg's copy of `seq` never arrives. `whole`: every position
/// has a copy, so nothing may be declared unrecoverable.
fn two_legs(c: &mut Criterion, group: &str, lost: impl Fn(u64) -> (bool, bool), whole: bool) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(2 * BATCH));
    for mode in [Mode::Primary, Mode::Hitless] {
        let mut e: Engine<Handle> = Engine::new(&[config(mode)]).unwrap();
        let mut sink = Tally::default();
        let mut f = Feed {
            seq: 0,
            now: 1,
            id: 0,
        };
        g.bench_function(BenchmarkId::from_parameter(format!("{mode:?}")), |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    let (lp, ls) = lost(f.seq);
                    let s = rtp(f.seq);
                    if !lp {
                        let h = f.handle();
                        e.insert((0, 0), s, Verdict::Good, h, f.now, &mut sink);
                    }
                    if !ls {
                        let h = f.handle();
                        e.insert((0, 1), s, Verdict::Good, h, f.now + SKEW, &mut sink);
                    }
                    if f.seq & 15 == 0 {
                        e.poll(f.now + SKEW, &mut sink);
                    }
                    f.seq += 1;
                    f.now += PERIOD;
                }
                black_box(sink.sent);
            })
        });
        if whole {
            assert_eq!(e.counters(0).unrecoverable, 0);
        }
    }
    g.finish();
}

fn many_streams(c: &mut Criterion) {
    const STREAMS: usize = 1_000;
    let mut g = c.benchmark_group("merge_1000_streams_2leg");
    g.throughput(Throughput::Elements(2 * BATCH));
    for mode in [Mode::Primary, Mode::Hitless] {
        let configs = vec![config(mode); STREAMS];
        let mut e: Engine<Handle> = Engine::new(&configs).unwrap();
        let mut sink = Tally::default();
        let mut f = Feed {
            seq: 0,
            now: 1,
            id: 0,
        };
        let mut stream = 0usize;
        g.bench_function(BenchmarkId::from_parameter(format!("{mode:?}")), |b| {
            b.iter(|| {
                // Round-robin over the streams: each stream sees a packet
                // every 1000 inputs, as with 1000 interleaved multicast groups.
                for _ in 0..BATCH {
                    let s = rtp(f.seq);
                    let h = f.handle();
                    e.insert((stream, 0), s, Verdict::Good, h, f.now, &mut sink);
                    let h = f.handle();
                    e.insert((stream, 1), s, Verdict::Good, h, f.now + SKEW, &mut sink);
                    stream += 1;
                    if stream == STREAMS {
                        stream = 0;
                        f.seq += 1;
                    }
                    f.now += PERIOD / STREAMS as u64;
                    if stream & 15 == 0 {
                        e.poll(f.now + SKEW, &mut sink);
                    }
                }
                black_box(sink.sent);
            })
        });
        assert_eq!(e.counters(STREAMS - 1).unrecoverable, 0);
    }
    g.finish();
}

/// MoldUDP64, 4 messages a packet, next to `merge_clean_2leg` (RTP):
/// `packets` packs both legs alike (`--arbitrate packets`); `messages`
/// starts the secondary's packets 2 messages later, so each overlaps two
/// of the primary's (`--arbitrate messages`: trims and carries). Engine
/// only (the tx stage's cut is in `scripts/callgrind-merge.sh --mode
/// messages`).
fn mold(c: &mut Criterion) {
    const PER: u64 = 4;
    let mut g = c.benchmark_group("merge_mold_clean_2leg");
    g.throughput(Throughput::Elements(2 * BATCH));
    for (mode, messages) in [
        (Mode::Primary, false),
        (Mode::Primary, true),
        (Mode::Hitless, true),
    ] {
        let cfg = MergeConfig {
            capacity: 2048,
            seq_bits: 64,
            messages,
            ..config(mode)
        };
        let mut e: Engine<Handle> = Engine::new(&[cfg]).unwrap();
        let mut sink = Tally::default();
        let mut f = Feed {
            seq: 1,
            now: 1,
            id: 0,
        };
        let shift = if messages { 2 } else { 0 };
        let unit = if messages { "messages" } else { "packets" };
        let mold = |seq: u64| SeqSample {
            source: 0x5e55,
            span: PER as u16,
            ..SeqSample::new(seq, 64)
        };
        g.bench_function(
            BenchmarkId::from_parameter(format!("{mode:?}/{unit}")),
            |b| {
                b.iter(|| {
                    for _ in 0..BATCH {
                        let h = f.handle();
                        e.insert((0, 0), mold(f.seq), Verdict::Good, h, f.now, &mut sink);
                        let h = f.handle();
                        let s = mold(f.seq + shift);
                        e.insert((0, 1), s, Verdict::Good, h, f.now + SKEW, &mut sink);
                        if f.seq & 63 == 1 {
                            e.poll(f.now + SKEW, &mut sink);
                        }
                        f.seq += PER;
                        f.now += PERIOD;
                    }
                    black_box(sink.sent);
                })
            },
        );
        assert_eq!(e.counters(0).unrecoverable, 0);
    }
    g.finish();
}

criterion_group!(benches, clean, lossy, many_streams, mold);
criterion_main!(benches);
