//! Issue 17: the counters add up. Over a corpus of good, malformed,
//! damaged, jumbo and random frames, every received packet is in exactly
//! one final bucket, and the buckets that name a defect count exactly the
//! frames that have it. Also: the output's VLAN tag, decided on purpose.

// Each test crate uses only part of the shared harness.
#[allow(dead_code)]
mod common;
mod support;

use std::path::Path;

use common::{run_files, scenario, seqs, workdir, Outcome, FILLER};
use serde_json::Value;
use testkit::rng::XorShift64;
use testkit::{
    build_udp_frame, Corruption, Leg, LegPacket, PcapWriter, Scenario, TsResolution, Vlan,
};

/// Good packets per leg.
const GOOD: u64 = 300;

/// What was put into one input file, by the bucket each frame must reach.
#[derive(Default, Debug)]
struct Corpus {
    frames: Vec<Vec<u8>>,
    bytes: u64,
    bad_rtp: u64,
    jumbo: u64,
    truncated: u64,
    unknown: u64,
}

impl Corpus {
    fn push(&mut self, f: Vec<u8>) {
        self.bytes += f.len() as u64;
        self.frames.push(f);
    }

    fn write(&self, path: &Path) {
        let mut w = PcapWriter::create(path, TsResolution::Micro).unwrap();
        for (i, f) in self.frames.iter().enumerate() {
            // 100 us apart, in file order.
            w.write_frame(1_000_000_000 + i as u64 * 100_000, f)
                .unwrap();
        }
        w.finish().unwrap();
    }
}

/// Leg `leg`'s file: the good packets with, every few packets, one
/// malformed frame of each kind in turn, and random bytes.
fn corpus(sc: &Scenario, leg: Leg, seed: u64) -> Corpus {
    let mut rng = XorShift64::new(seed);
    let mut c = Corpus::default();
    let spec = match leg {
        Leg::Primary => &sc.streams[0].primary,
        Leg::Secondary => &sc.streams[0].secondary,
    };
    for q in 0..GOOD {
        let p = LegPacket::new(q, 0);
        c.push(sc.frame(leg, &p));
        match q % 8 {
            // The stream's own group and port, RTP version 1.
            0 => {
                c.push(sc.frame(leg, &LegPacket::new(q, 0).corrupt(Corruption::RtpVersion)));
                c.bad_rtp += 1;
            }
            // The stream's group and port, a payload too short for RTP.
            1 => {
                c.push(build_udp_frame(spec, q as u16, &[0x80, 1, 2, 3, 4]));
                c.bad_rtp += 1;
            }
            // A 9000-byte frame: more than one mbuf.
            2 => {
                let mut f = sc.frame(leg, &p);
                f.resize(9000, 0xee);
                c.push(f);
                c.jumbo += 1;
            }
            3 => {
                c.push(sc.frame(leg, &LegPacket::new(q, 0).corrupt(Corruption::Truncated)));
                c.truncated += 1;
            }
            4 => {
                c.push(sc.frame(leg, &LegPacket::new(q, 0).stream(FILLER)));
                c.unknown += 1;
            }
            // Damaged in flight: reaches the merge as a corrupt copy.
            5 => c.push(sc.frame(leg, &LegPacket::new(q, 0).corrupt(Corruption::UdpChecksum))),
            // Random bytes of random length (mostly not even IP).
            _ => {
                let n = 1 + rng.below(1500) as usize;
                c.push((0..n).map(|_| rng.next_u64() as u8).collect());
            }
        }
    }
    c
}

fn u(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("no counter {k} in {v}"))
}

/// The identity: per input, packets = not merged + what its legs took in;
/// per leg, received = the sum of its final buckets; sent = used.
fn assert_counters_add_up(o: &Outcome) {
    let s = &o.stats;
    let stream = &s["streams"][0];
    let legs = stream["legs"].as_array().unwrap();
    for (i, input) in s["inputs"].as_array().unwrap().iter().enumerate() {
        let rx = &input["rx"];
        let drops: u64 = rx["drops"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        let parts = ["unknown_flow", "bad_seq", "multi_segment", "handoff_full"]
            .iter()
            .map(|k| u(rx, k))
            .sum::<u64>()
            + drops;
        assert_eq!(parts, u(rx, "not_merged"), "input {i}\n{}", o.context());
        assert_eq!(
            u(rx, "packets"),
            u(rx, "not_merged") + u(&legs[i], "received"),
            "input {i}: packets = not merged + leg {i} received\n{}",
            o.context()
        );
    }
    let mut used = 0;
    for (l, leg) in legs.iter().enumerate() {
        let buckets = [
            "used",
            "duplicates",
            "late",
            "corrupt_dropped",
            "wild",
            "stale",
            "invalid",
            "heartbeats",
            "shed_pool_low",
        ];
        let sum: u64 = buckets.iter().map(|k| u(leg, k)).sum();
        assert_eq!(sum, u(leg, "received"), "leg {l} buckets\n{}", o.context());
        used += u(leg, "used");
    }
    assert_eq!(u(stream, "held"), 0, "{}", o.context());
    assert_eq!(u(stream, "sent"), used, "{}", o.context());
    assert_eq!(u(&s["output"]["tx"], "packets"), used, "{}", o.context());
    assert_eq!(o.frames.len() as u64, used, "{}", o.context());
}

#[test]
fn every_received_packet_is_in_exactly_one_bucket() {
    let name = "ctr-corpus";
    let dir = workdir(name);
    let sc = scenario();
    let pri = corpus(&sc, Leg::Primary, 17);
    let sec = corpus(&sc, Leg::Secondary, 71);
    let (p, s) = (dir.join("primary.pcap"), dir.join("secondary.pcap"));
    pri.write(&p);
    sec.write(&s);
    let o = run_files(name, &dir, &[p, s], &[], &[], 30.0);
    common::assert_clean_end(&o);
    assert_counters_add_up(&o);
    for (i, c) in [&pri, &sec].into_iter().enumerate() {
        let rx = &o.stats["inputs"][i]["rx"];
        assert_eq!(u(rx, "packets"), c.frames.len() as u64, "{}", o.context());
        // True frame sizes, jumbo frames included (not one mbuf's worth).
        assert_eq!(u(rx, "bytes"), c.bytes, "{}", o.context());
        assert_eq!(u(rx, "multi_segment"), c.jumbo, "{}", o.context());
        assert_eq!(
            u(&rx["drops"], "rtp_bad_header"),
            c.bad_rtp,
            "{}",
            o.context()
        );
        assert_eq!(
            u(rx, "bad_seq"),
            0,
            "RTP streams have no other bad sequence"
        );
        assert!(
            u(&rx["drops"], "too_short") >= c.truncated,
            "{}",
            o.context()
        );
        assert!(u(rx, "unknown_flow") >= c.unknown, "{}", o.context());
    }
    // The text block's breakdown names the jumbo frames too.
    let fin = &o.stdout[o.stdout.find("Final statistics").unwrap()..];
    assert!(
        fin.contains(&format!("multi_segment {}", pri.jumbo)),
        "{fin}"
    );
    // Every packet was good on the other leg: nothing is lost.
    assert_eq!(u(&o.stats["streams"][0], "unrecoverable"), 0);
    assert_eq!(o.frames.len() as u64, GOOD, "{}", o.context());
}

/// Issue 17's decision: the output is untagged unless `--out-vlan` says
/// otherwise, whatever tags the legs arrive with (a leg's tag names its
/// network, and the output is one flow whichever leg is in use);
/// `--out-vlan keep` passes the chosen copy's tag through.
#[test]
fn tagged_legs_give_an_untagged_output_unless_told() {
    let mut sc = scenario();
    sc.streams[0].primary.vlan = Some(Vlan { id: 10, pcp: 0 });
    sc.streams[0].secondary.vlan = Some(Vlan { id: 20, pcp: 0 });
    // Primary loses 5..10: those come from the secondary, tagged 20.
    sc.primary = seqs((0..5).chain(10..20));
    sc.secondary = seqs(0..20);
    let tag = |f: &[u8]| {
        (u16::from_be_bytes([f[12], f[13]]) == 0x8100)
            .then(|| u16::from_be_bytes([f[14], f[15]]) & 0x0fff)
    };
    let o = common::run_pcap("ctr-vlan-default", &sc, &[], 10.0);
    assert_eq!(o.frames.len(), 20, "{}", o.context());
    for (i, f) in o.frames.iter().enumerate() {
        assert_eq!(tag(f), None, "frame {i} tagged\n{}", o.context());
        assert_eq!(&f[12..14], &[0x08, 0x00], "frame {i} not IPv4");
    }
    let o = common::run_pcap("ctr-vlan-keep", &sc, &["--out-vlan", "keep"], 10.0);
    let tags: Vec<Option<u16>> = o.frames.iter().map(|f| tag(f)).collect();
    assert_eq!(tags.len(), 20, "{}", o.context());
    assert!(tags.iter().all(Option::is_some), "{tags:?}");
    assert!(
        tags.contains(&Some(10)) && tags.contains(&Some(20)),
        "{tags:?}"
    );
}
