//! Reads the sequence of a clean 2-leg stream's UDP payloads with
//! `SeqSpec::extract` and merges them (`Engine::insert`), per framing, for
//! `scripts/callgrind-merge.sh --mode framing` (instructions per input
//! packet under callgrind, input Mpps natively): what a market-data framing
//! costs next to RTP on the part of the path that depends on the framing
//! (the header walk and the merge of a packet that covers `count` sequence
//! numbers). The frame parse and its checksums depend on the bytes, not on
//! the framing, and are measured by `--mode parse`.
//!
//! Usage: framing_callgrind rtp|moldudp64|cme-mdp3|pitch PACKETS
//! Prints the input packets, a checksum of what was sent, and the input
//! Mpps of the run loop.

use std::hint::black_box;
use std::num::NonZeroU64;
use std::time::Instant;

use dataplane::merge::record::Tally;
use dataplane::merge::{Engine, MergeConfig, Mode};
use dataplane::seq::{Extract, SeqSpec};
use dataplane::slots::Verdict;
use testkit::cme::cme_mdp3_pattern_payload;
use testkit::frame::{payload_pattern, push_rtp_header, RtpFields};
use testkit::moldudp64::moldudp64_pattern_payload;
use testkit::pitch::pitch_pattern_payload;

/// A framing's payload (a typical packet of it) and how to number it.
struct Framing {
    spec: SeqSpec,
    payload: Vec<u8>,
    /// Sequence numbers a packet covers.
    span: u64,
    /// Writes sequence `seq` into the payload in place.
    set_seq: fn(&mut [u8], u64),
}

fn framing(name: &str) -> Option<Framing> {
    Some(match name {
        // The RTP stream of scripts/bench.sh: a 1316-byte payload.
        "rtp" => {
            let mut p = Vec::new();
            let f = RtpFields {
                seq: 0,
                timestamp: 0,
                ssrc: 0x1234_5678,
                pt: 33,
                marker: false,
            };
            push_rtp_header(&mut p, &f);
            p.extend_from_slice(&payload_pattern(0, 1316));
            Framing {
                spec: SeqSpec::Rtp,
                payload: p,
                span: 1,
                set_seq: |p, s| p[2..4].copy_from_slice(&(s as u16).to_be_bytes()),
            }
        }
        // 3 messages of 32 bytes a packet, as the pcap scenarios.
        "moldudp64" => Framing {
            spec: SeqSpec::MoldUdp64,
            payload: moldudp64_pattern_payload(b"SESSION001", 0, 3, 32),
            span: 3,
            set_seq: |p, s| p[10..18].copy_from_slice(&s.to_be_bytes()),
        },
        // 2 messages of 24 bytes a packet (MsgSeqNum numbers packets).
        "cme-mdp3" => Framing {
            spec: SeqSpec::CmeMdp3,
            payload: cme_mdp3_pattern_payload(0, 2, 24),
            span: 1,
            set_seq: |p, s| p[0..4].copy_from_slice(&(s as u32).to_le_bytes()),
        },
        // 3 messages of 20 bytes a packet, unit 5.
        "pitch" => Framing {
            spec: SeqSpec::Pitch { unit: 5 },
            payload: pitch_pattern_payload(5, 1, 3, 20),
            span: 3,
            set_seq: |p, s| p[4..8].copy_from_slice(&(s as u32).to_le_bytes()),
        },
        _ => return None,
    })
}

#[inline(never)]
fn run(e: &mut Engine<NonZeroU64>, sink: &mut Tally, f: &mut Framing, packets: u64) -> u64 {
    let mut now = 1u64;
    let mut id = 0u64;
    let mut refused = 0u64;
    for i in 0..packets {
        // Sequence 0 is PITCH's "unsequenced": start at 1.
        (f.set_seq)(&mut f.payload, 1 + i * f.span);
        for (leg, at) in [(0, now), (1, now + 10)] {
            id += 1;
            let h = NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN);
            match f.spec.extract(black_box(&f.payload)) {
                Ok(s) => e.insert((0, leg), s, Verdict::Good, h, at, sink),
                Err(_) => refused += 1,
            }
        }
        if i & 15 == 0 {
            e.poll(now + 10, sink);
        }
        now += 1_000;
    }
    refused
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: framing_callgrind rtp|moldudp64|cme-mdp3|pitch PACKETS");
        std::process::exit(2);
    };
    let Some(mut f) = args.get(1).and_then(|n| framing(n)) else {
        usage()
    };
    let Some(Ok(packets)) = args.get(2).map(|p| p.parse::<u64>()) else {
        usage()
    };
    let config = MergeConfig {
        mode: Mode::Primary,
        legs: 2,
        capacity: 512,
        max_delay: 50_000,
        leg_timeout: 1_000_000,
        restart_after: 20,
        seq_bits: f.spec.bits(),
        ..MergeConfig::default()
    };
    let mut e = match Engine::new(&[config]) {
        Ok(e) => e,
        Err(err) => {
            eprintln!("framing_callgrind: {err}");
            std::process::exit(2);
        }
    };
    let mut sink = Tally::default();
    let t = Instant::now();
    let refused = run(&mut e, &mut sink, &mut f, packets);
    let s = t.elapsed().as_secs_f64();
    if refused > 0 || sink.sent != packets {
        eprintln!(
            "framing_callgrind: {refused} payloads refused by the extractor, {} of {packets} sent",
            sink.sent
        );
        std::process::exit(1);
    }
    println!(
        "inputs {} checksum {} mpps {:.2}",
        2 * packets,
        sink.sum,
        2.0 * packets as f64 / s / 1e6
    );
}
