//! The merge and the rewrite together, as the tx lcore runs them: random
//! loss, corruption and skew on two legs whose copies differ in every
//! header the rewrite touches (MACs, source address and port, TTL, DSCP,
//! VLAN) but carry the same RTP packet. Properties: the output is the
//! sorted union of what arrived intact, once each; every output frame is
//! the chosen copy with only the rewritten fields changed (UDP payload —
//! RTP header and media — byte-identical), addressed to the virtual group,
//! with valid checksums (full recompute by the independent testkit).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use dataplane::merge::record::{Recorder, Sent};
use dataplane::merge::{Engine, MergeConfig, Mode, Reorder, Verdict};
use dataplane::rewrite::{OutputSpec, Rewriter, VlanAction};
use dataplane::seq::{Extract, SeqSpec};
use dataplane::wire::{parse_frame, Integrity, L4Check};
use proptest::prelude::*;
use testkit::{build_rtp_frame, FrameSpec, RtpFields, Vlan};

const OUT_GROUP: &str = "239.10.0.1";
const OUT_PORT: u16 = 5004;
const OUT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];

/// A handle is (leg, wire frame).
type Handle = (usize, Vec<u8>);

type Collect = Recorder<Handle>;

fn leg_spec(leg: usize) -> FrameSpec {
    let src: IpAddr = format!("10.0.{}.1", leg + 1).parse().unwrap();
    let group: IpAddr = format!("239.{}.0.1", leg + 1).parse().unwrap();
    let mut s = FrameSpec::multicast(src, group, 5000);
    s.src_port = 40_000 + leg as u16;
    s.src_mac = [0x02, 0, 0, 0, leg as u8, 1];
    s.ttl = 10 + leg as u8;
    s.dscp = leg as u8 * 8;
    if leg == 1 {
        s.vlan = Some(Vlan { id: 42, pcp: 3 });
    }
    s
}

fn frame(leg: usize, seq: u16) -> Vec<u8> {
    let rtp = RtpFields {
        seq,
        timestamp: seq as u32 * 3000,
        ssrc: 0xfeed_0001,
        pt: 33,
        marker: false,
    };
    let payload: Vec<u8> = (0..200u32).map(|i| (i as u16 ^ seq) as u8).collect();
    build_rtp_frame(&leg_spec(leg), &rtp, &payload)
}

#[derive(Debug, Clone)]
struct Case {
    n: usize,
    start: u16,
    lost: Vec<(bool, bool)>,
    corrupt: Vec<(bool, bool)>,
    skew: usize,
    hitless: bool,
    strip: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        20usize..200,
        any::<u16>(),
        0usize..8,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(n, start, skew, hitless, strip)| {
            let flags =
                prop::collection::vec((prop::bool::weighted(0.15), prop::bool::weighted(0.15)), n);
            let corrupt =
                prop::collection::vec((prop::bool::weighted(0.05), prop::bool::weighted(0.05)), n);
            (flags, corrupt).prop_map(move |(lost, corrupt)| Case {
                n,
                start,
                lost,
                corrupt,
                skew,
                hitless,
                strip,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn merged_and_rewritten_output_is_the_union_with_payloads_intact(c in case()) {
        let cfg = MergeConfig {
            mode: if c.hitless { Mode::Hitless } else { Mode::Primary },
            max_delay: 1_000,
            leg_timeout: 1_000_000,
            reorder: Reorder::Off,
            margin: 0,
            ..MergeConfig::default()
        };
        let mut engine: Engine<Handle> = Engine::new(&[cfg]).unwrap();
        let mut sink = Collect::default();
        let rewriter = Rewriter::new(&OutputSpec {
            dst_ip: OUT_GROUP.parse().unwrap(),
            dst_port: OUT_PORT,
            src_ip: Some("192.0.2.10".parse().unwrap()),
            src_port: Some(5004),
            dst_mac: None,
            vlan: if c.strip { VlanAction::Strip } else { VlanAction::Set(7) },
            ttl: Some(16),
            dscp: Some(46),
        }, OUT_MAC)
        .unwrap();

        // Arrival order: the secondary runs `skew` packets behind.
        let mut arrivals: Vec<(usize, usize)> = Vec::new();
        for i in 0..c.n + c.skew {
            if i < c.n {
                arrivals.push((0, i));
            }
            if i >= c.skew {
                arrivals.push((1, i - c.skew));
            }
        }
        let mut intact: BTreeSet<u16> = BTreeSet::new();
        let mut inputs: HashMap<(usize, u16), Vec<u8>> = HashMap::new();
        let mut given = 0usize;
        let mut now = 0u64;
        for (leg, i) in arrivals {
            let lost = if leg == 0 { c.lost[i].0 } else { c.lost[i].1 };
            if lost {
                continue;
            }
            let seq = c.start.wrapping_add(i as u16);
            let mut f = frame(leg, seq);
            let corrupt = if leg == 0 { c.corrupt[i].0 } else { c.corrupt[i].1 };
            if corrupt {
                let at = f.len() - 3;
                f[at] ^= 0x5a; // payload byte: UDP checksum now wrong
            } else {
                intact.insert(i as u16); // by offset from start: sorts across rollover
            }
            let info = parse_frame(&f, L4Check::Software).unwrap();
            prop_assert_eq!(info.integrity == Integrity::Ok, !corrupt);
            let payload = &f[info.offsets.payload()];
            let sample = SeqSpec::Rtp.extract(payload).unwrap();
            let verdict = Verdict::of(!corrupt);
            inputs.insert((leg, seq), f.clone());
            now += 10;
            given += 1;
            engine.insert((0, leg), sample, verdict, (leg, f), now, &mut sink);
            engine.poll(now, &mut sink);
        }
        engine.drain(now + 1_000_000, &mut sink);

        // Every handle back exactly once.
        prop_assert_eq!(sink.returned().count(), given);
        // Output = sorted union of intact arrivals (from the first one seen:
        // the first arrival fixes the start; earlier ones can only be late).
        let out_seqs: Vec<u16> = sink.sent.iter().map(|Sent { handle: (_, f), .. }| {
            testkit::parse_rtp(f).unwrap().seq
        }).collect();
        let first = out_seqs.first().copied();
        if let Some(first) = first {
            let expected: Vec<u16> = intact
                .iter()
                .copied()
                .filter(|&off| off >= first.wrapping_sub(c.start))
                .map(|off| c.start.wrapping_add(off))
                .collect();
            let mut sorted = out_seqs.clone();
            sorted.sort_by_key(|s| s.wrapping_sub(c.start));
            prop_assert_eq!(&out_seqs, &sorted, "not in order");
            prop_assert_eq!(&out_seqs, &expected);
        } else {
            prop_assert!(intact.is_empty());
        }
        for Sent { handle: (leg, f), info, .. } in &sink.sent {
            prop_assert_eq!(*leg, info.leg);
            let mut out = f.clone();
            let at = parse_frame(&out, L4Check::Skip).unwrap().offsets;
            rewriter.apply(&mut out, at).unwrap();
            let seq = testkit::parse_rtp(&out).unwrap().seq;
            let input = &inputs[&(*leg, seq)];
            let a = testkit::parse_udp(input).unwrap();
            let b = testkit::parse_udp(&out).unwrap();
            // RTP header and media untouched.
            prop_assert_eq!(a.payload, b.payload);
            // Rewritten to the virtual group, one source, one MAC.
            prop_assert_eq!(b.dst_ip, OUT_GROUP.parse::<IpAddr>().unwrap());
            prop_assert_eq!(b.dst_port, OUT_PORT);
            prop_assert_eq!(b.src_port, 5004);
            prop_assert_eq!(b.src_ip, "192.0.2.10".parse::<IpAddr>().unwrap());
            prop_assert_eq!(b.src_mac, OUT_MAC);
            prop_assert_eq!(b.dst_mac, testkit::multicast_mac(OUT_GROUP.parse().unwrap()));
            prop_assert_eq!(b.ttl, 16);
            prop_assert_eq!(b.dscp, 46);
            prop_assert_eq!(b.vlan.map(|v| v.id), if c.strip { None } else { Some(7) });
            prop_assert!(testkit::verify_checksums(&out).is_ok(), "checksums");
            // Primary mode: the primary's intact copy is used when it came.
            if !c.hitless {
                let i = seq.wrapping_sub(c.start) as usize;
                let primary_intact = !c.lost[i].0 && !c.corrupt[i].0;
                if primary_intact {
                    prop_assert_eq!(*leg, 0, "seq {} from the secondary although the primary's copy was intact", seq);
                }
            }
        }
    }
}
