//! Feeds a clean 2-leg stream through the merge engine, for
//! `scripts/callgrind-merge.sh` (instructions per input packet).
//!
//! Usage: merge_callgrind primary|hitless PACKETS
//! Prints the number of input packets and a checksum of what was sent.

use std::num::NonZeroU64;

use dataplane::merge::record::Tally;
use dataplane::merge::{Engine, MergeConfig, Mode};
use dataplane::seq::SeqSample;
use dataplane::slots::Verdict;

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, packets) = match (args.get(1), args.get(2).map(|p| p.parse::<u64>())) {
        (Some(m), Some(Ok(p))) => match m.parse::<Mode>() {
            Ok(mode) => (mode, p),
            Err(e) => {
                eprintln!("merge_callgrind: {e}");
                std::process::exit(2);
            }
        },
        _ => {
            eprintln!("usage: merge_callgrind primary|hitless PACKETS");
            std::process::exit(2);
        }
    };
    let config = MergeConfig {
        mode,
        legs: 2,
        capacity: 512,
        max_delay: 50_000,
        leg_timeout: 1_000_000,
        restart_after: 20,
        seq_bits: 16,
        ..MergeConfig::default()
    };
    let mut e = match Engine::new(&[config]) {
        Ok(e) => e,
        Err(err) => {
            eprintln!("merge_callgrind: {err}");
            std::process::exit(2);
        }
    };
    let mut sink = Tally::default();
    run(&mut e, &mut sink, packets);
    println!("inputs {} checksum {}", 2 * packets, sink.sum);
}
