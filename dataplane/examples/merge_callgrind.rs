//! Feeds a clean 2-leg stream through the merge engine, for
//! `scripts/callgrind-merge.sh` (instructions per input packet).
//!
//! Usage: merge_callgrind primary|hitless PACKETS [STREAMS]
//! Prints the number of input packets and a checksum of what was sent.
//!
//! With STREAMS > 1 (default 1) packet `i` belongs to stream `i % STREAMS`
//! (its sequence number `i / STREAMS`), so every packet meets another
//! stream's state than the one before, as in the 10 000-stream benchmark;
//! each stream then has 16 slots per leg (that benchmark's sizing, with
//! restart-after 4, the most 16 slots allow) and the
//! clock steps `1000 / STREAMS` ticks per packet (at least 1), so every
//! stream still sees its legs well within `leg_timeout`.

use std::num::NonZeroU64;

use dataplane::merge::record::Tally;
use dataplane::merge::{Engine, MergeConfig, Mode};
use dataplane::seq::SeqSample;
use dataplane::slots::Verdict;

/// One stream: the loop every figure of the clean-path table was taken with
/// (kept as it was, so its count stays comparable).
#[inline(never)]
fn run(e: &mut Engine<NonZeroU64>, sink: &mut Tally, packets: u64) {
    let mut now = 1u64;
    let mut id = 0u64;
    for seq in 0..packets {
        let s = SeqSample {
            source: 0x1234_5678,
            ..SeqSample::new(seq & 0xFFFF, 16)
        };
        id += 1;
        let h = NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN);
        e.insert(0, 0, s, Verdict::Good, h, now, sink);
        id += 1;
        let h = NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN);
        e.insert(0, 1, s, Verdict::Good, h, now + 10, sink);
        if seq & 15 == 0 {
            e.poll(now + 10, sink);
        }
        now += 1_000;
    }
}

/// `streams` streams, packet `i` on stream `i % streams`.
#[inline(never)]
fn run_many(e: &mut Engine<NonZeroU64>, sink: &mut Tally, packets: u64, streams: u64) {
    let mut now = 1u64;
    let mut id = 0u64;
    let step = (1_000 / streams).max(1);
    let (mut stream, mut seq) = (0u64, 0u64);
    for i in 0..packets {
        let s = SeqSample {
            source: 0x1234_5678,
            ..SeqSample::new(seq & 0xFFFF, 16)
        };
        let st = stream as usize;
        id += 1;
        let h = NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN);
        e.insert(st, 0, s, Verdict::Good, h, now, sink);
        id += 1;
        let h = NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN);
        e.insert(st, 1, s, Verdict::Good, h, now + 10, sink);
        if i & 15 == 0 {
            e.poll(now + 10, sink);
        }
        now += step;
        stream += 1;
        if stream == streams {
            stream = 0;
            seq += 1;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let streams = match args.get(3).map(|n| n.parse::<u64>()) {
        None => 1,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("merge_callgrind: STREAMS must be a positive integer");
            std::process::exit(2);
        }
    };
    let (mode, packets) = match (args.get(1), args.get(2).map(|p| p.parse::<u64>())) {
        (Some(m), Some(Ok(p))) => match m.parse::<Mode>() {
            Ok(mode) => (mode, p),
            Err(e) => {
                eprintln!("merge_callgrind: {e}");
                std::process::exit(2);
            }
        },
        _ => {
            eprintln!("usage: merge_callgrind primary|hitless PACKETS [STREAMS]");
            std::process::exit(2);
        }
    };
    let config = MergeConfig {
        mode,
        legs: 2,
        capacity: if streams > 1 { 16 } else { 512 },
        max_delay: 50_000,
        leg_timeout: 1_000_000,
        restart_after: if streams > 1 { 4 } else { 20 },
        seq_bits: 16,
        ..MergeConfig::default()
    };
    let configs = vec![config; streams as usize];
    let mut e = match Engine::new(&configs) {
        Ok(e) => e,
        Err(err) => {
            eprintln!("merge_callgrind: {err}");
            std::process::exit(2);
        }
    };
    let mut sink = Tally::default();
    if streams == 1 {
        run(&mut e, &mut sink, packets);
    } else {
        run_many(&mut e, &mut sink, packets, streams);
    }
    println!("inputs {} checksum {}", 2 * packets, sink.sum);
}
