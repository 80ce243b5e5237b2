//! Tests of `parse_frame`: valid frames of every shape, every malformed kind
//! at every truncation length, checksum verdicts, and random input.

use std::net::IpAddr;

use proptest::prelude::*;

use super::testframe::{arb_frame, naive_sum, TestFrame};
use super::*;

const ALL_CHECKS: [L4Check; 4] = [
    L4Check::Software,
    L4Check::Skip,
    L4Check::Hardware { good: true },
    L4Check::Hardware { good: false },
];

fn shapes() -> Vec<TestFrame> {
    let mut out = Vec::new();
    for v6 in [false, true] {
        for vlan in [None, Some(0x2064)] {
            let mut t = TestFrame::rtp(v6);
            t.vlan = vlan;
            out.push(t.clone());
            if !v6 {
                t.ip_options = vec![0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00];
                out.push(t.clone());
            }
            t.payload.truncate(12);
            t.pad = 7;
            out.push(t);
        }
    }
    out
}

/// Checks `frame` truncated to every length: `TooShort` below `from`, then
/// `reason` up to and including the full frame.
fn expect_from(frame: &[u8], reason: DropReason, from: usize) {
    for n in 0..=frame.len() {
        let want = if n < from {
            DropReason::TooShort
        } else {
            reason
        };
        for l4 in ALL_CHECKS {
            assert_eq!(
                parse_frame(&frame[..n], l4),
                Err(want),
                "len {n} of {}, expected {want:?}",
                frame.len()
            );
        }
    }
}

#[test]
fn valid_frames_parse_with_right_fields() {
    for t in shapes() {
        let f = t.build();
        let info = parse_frame(&f, L4Check::Software).unwrap();
        assert_eq!(info.vlan, t.vlan);
        assert_eq!(info.src_ip, t.src);
        assert_eq!(info.dst_ip, t.dst);
        assert_eq!(info.src_port, t.sport);
        assert_eq!(info.dst_port, t.dport);
        assert_eq!(info.offsets.l3(), t.l3());
        assert_eq!(info.offsets.l4(), t.l4());
        assert_eq!(info.offsets.payload().start, t.l4() + 8);
        assert_eq!(info.offsets.payload().len(), t.payload.len());
        let p = info.offsets.payload().start;
        assert_eq!(&f[p..p + t.payload.len()], &t.payload[..]);
        assert_eq!(info.ttl, t.ttl);
        assert_eq!(info.integrity, Integrity::Ok);
    }
}

#[test]
fn every_truncation_is_too_short_and_padding_is_ignored() {
    for t in shapes() {
        let f = t.build();
        let end = f.len() - t.pad;
        for n in 0..f.len() {
            let r = parse_frame(&f[..n], L4Check::Software);
            if n < end {
                assert_eq!(r, Err(DropReason::TooShort), "len {n}");
            } else {
                assert_eq!(
                    r.map(|i| i.offsets.payload().len()),
                    Ok(t.payload.len()),
                    "len {n}"
                );
            }
        }
    }
}

fn small(v6: bool, vlan: bool) -> TestFrame {
    let mut t = TestFrame::rtp(v6);
    t.payload.truncate(20);
    t.vlan = vlan.then_some(100);
    t
}

#[test]
fn ethertypes() {
    for vlan in [false, true] {
        let t = small(false, vlan);
        let et = t.l3() - 2;
        for (ty, reason) in [
            (0x0806u16, DropReason::Arp),
            (0x88f7, DropReason::NotIp),
            (0x0000, DropReason::NotIp),
            (0x88cc, DropReason::NotIp),
        ] {
            let mut f = t.build();
            f[et..et + 2].copy_from_slice(&ty.to_be_bytes());
            expect_from(&f, reason, et + 2);
        }
    }
}

#[test]
fn qinq_is_dropped() {
    let f0 = small(false, false).build();
    for outer in [0x88a8u16, 0x9100] {
        let mut f = f0.clone();
        f[12..14].copy_from_slice(&outer.to_be_bytes());
        expect_from(&f, DropReason::QinQ, 14);
    }
    let f0 = small(false, true).build();
    for inner in [0x8100u16, 0x88a8, 0x9100] {
        let mut f = f0.clone();
        f[16..18].copy_from_slice(&inner.to_be_bytes());
        expect_from(&f, DropReason::QinQ, 18);
    }
}

#[test]
fn bad_ipv4_headers() {
    for vlan in [false, true] {
        let t = small(false, vlan);
        let l3 = t.l3();
        let f0 = t.build();
        for first in [0x55u8, 0x65, 0x35, 0x40, 0x41, 0x44] {
            let mut f = f0.clone();
            f[l3] = first;
            expect_from(&f, DropReason::Ipv4BadHeader, l3 + 20);
        }
        // Total length shorter than the header.
        for total in [0u16, 19] {
            let mut f = f0.clone();
            f[l3 + 2..l3 + 4].copy_from_slice(&total.to_be_bytes());
            expect_from(&f, DropReason::Ipv4BadHeader, l3 + 20);
        }
        let mut t2 = t.clone();
        t2.ip_options = vec![1, 1, 1, 0];
        let mut f = t2.build();
        f[l3 + 2..l3 + 4].copy_from_slice(&23u16.to_be_bytes());
        expect_from(&f, DropReason::Ipv4BadHeader, l3 + 24);
        // IHL longer than the buffer, and total length that lies upward.
        let mut f = f0.clone();
        f[l3] = 0x4f;
        f.truncate(l3 + 40);
        expect_from(&f, DropReason::TooShort, f.len() + 1);
        let mut f = f0.clone();
        let total = (f.len() - l3 + 1) as u16;
        f[l3 + 2..l3 + 4].copy_from_slice(&total.to_be_bytes());
        expect_from(&f, DropReason::TooShort, f.len() + 1);
    }
}

#[test]
fn fragments_igmp_and_other_protocols() {
    let t = small(false, true);
    let l3 = t.l3();
    let f0 = t.build();
    for (b6, b7) in [(0x20u8, 0u8), (0x00, 0x01), (0x01, 0x00), (0x60, 0xb9)] {
        let mut f = f0.clone();
        f[l3 + 6] = b6;
        f[l3 + 7] = b7;
        expect_from(&f, DropReason::Ipv4Fragment, f.len());
    }
    for (proto, reason) in [
        (2u8, DropReason::Igmp),
        (6, DropReason::NotUdp),
        (1, DropReason::NotUdp),
    ] {
        let mut f = f0.clone();
        f[l3 + 9] = proto;
        expect_from(&f, reason, f.len());
    }
}

#[test]
fn bad_ipv6_headers() {
    for vlan in [false, true] {
        let t = small(true, vlan);
        let l3 = t.l3();
        let f0 = t.build();
        let mut f = f0.clone();
        f[l3] = 0x4b;
        expect_from(&f, DropReason::Ipv6BadHeader, l3 + 40);
        for nh in [0u8, 43, 44, 60, 51, 50] {
            let mut f = f0.clone();
            f[l3 + 6] = nh;
            expect_from(&f, DropReason::Ipv6ExtHeader, f.len());
        }
        for nh in [58u8, 6] {
            let mut f = f0.clone();
            f[l3 + 6] = nh;
            expect_from(&f, DropReason::NotUdp, f.len());
        }
        let mut f = f0.clone();
        let plen = (f.len() - l3 - 40 + 1) as u16;
        f[l3 + 4..l3 + 6].copy_from_slice(&plen.to_be_bytes());
        expect_from(&f, DropReason::TooShort, f.len() + 1);
    }
}

#[test]
fn bad_udp_lengths() {
    for v6 in [false, true] {
        let t = small(v6, false);
        let (l3, l4) = (t.l3(), t.l4());
        let f0 = t.build();
        let ip_payload = f0.len() - l4;
        for len in [0u16, 7, ip_payload as u16 + 1, 0xffff] {
            let mut f = f0.clone();
            f[l4 + 4..l4 + 6].copy_from_slice(&len.to_be_bytes());
            expect_from(&f, DropReason::UdpBadLength, f.len());
        }
        // IP payload too short for a UDP header (the rest is padding).
        let mut f = f0.clone();
        if v6 {
            f[l3 + 4..l3 + 6].copy_from_slice(&4u16.to_be_bytes());
        } else {
            f[l3 + 2..l3 + 4].copy_from_slice(&24u16.to_be_bytes());
        }
        expect_from(&f, DropReason::UdpBadLength, l4 + 4);
    }
}

#[test]
fn udp_shorter_than_ip_payload_uses_udp_length() {
    for v6 in [false, true] {
        let mut t = small(v6, false);
        t.udp_checksum = true;
        let l4 = t.l4();
        let mut f = t.build();
        // Append 3 bytes inside the IP packet but beyond the UDP length.
        f.extend_from_slice(&[9, 9, 9]);
        let l3 = t.l3();
        if v6 {
            let plen = u16::from_be_bytes([f[l3 + 4], f[l3 + 5]]) + 3;
            f[l3 + 4..l3 + 6].copy_from_slice(&plen.to_be_bytes());
        } else {
            let total = u16::from_be_bytes([f[l3 + 2], f[l3 + 3]]) + 3;
            f[l3 + 2..l3 + 4].copy_from_slice(&total.to_be_bytes());
            f[l3 + 10..l3 + 12].copy_from_slice(&[0, 0]);
            let c = !naive_sum(&[&f[l3..l4]]);
            f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
        }
        let info = parse_frame(&f, L4Check::Software).unwrap();
        assert_eq!(info.integrity, Integrity::Ok);
        assert_eq!(info.offsets.payload().len(), t.payload.len());
    }
}

#[test]
fn checksum_verdicts() {
    for vlan in [false, true] {
        // IPv4 header checksum wrong: classified, flagged, whatever l4 says.
        let t = small(false, vlan);
        let l3 = t.l3();
        let mut f = t.build();
        f[l3 + 11] ^= 0x40;
        for l4 in ALL_CHECKS {
            assert_eq!(
                parse_frame(&f, l4).unwrap().integrity,
                Integrity::BadIpChecksum
            );
        }
        for v6 in [false, true] {
            let t = small(v6, vlan);
            let good = t.build();
            let mut bad = good.clone();
            *bad.last_mut().unwrap() ^= 1;
            for (frame, l4, want) in [
                (&good, L4Check::Software, Integrity::Ok),
                (&bad, L4Check::Software, Integrity::BadUdpChecksum),
                (&bad, L4Check::Skip, Integrity::Ok),
                (&bad, L4Check::Hardware { good: true }, Integrity::Ok),
                (
                    &good,
                    L4Check::Hardware { good: false },
                    Integrity::BadUdpChecksum,
                ),
            ] {
                assert_eq!(
                    parse_frame(frame, l4).unwrap().integrity,
                    want,
                    "v6 {v6} {l4:?}"
                );
            }
            // Zero checksum: "none" on IPv4, corrupt on IPv6.
            let mut t0 = t.clone();
            t0.udp_checksum = false;
            let f0 = t0.build();
            let want = if v6 {
                Integrity::BadUdpChecksum
            } else {
                Integrity::Ok
            };
            for l4 in ALL_CHECKS {
                assert_eq!(
                    parse_frame(&f0, l4).unwrap().integrity,
                    want,
                    "v6 {v6} {l4:?}"
                );
            }
        }
    }
}

#[test]
fn computed_zero_is_sent_as_ffff_and_verifies() {
    for v6 in [false, true] {
        let mut t = small(v6, false);
        t.udp_checksum = false;
        // Choose the last payload word so the datagram sums to ones'-zero.
        let n = t.payload.len();
        t.payload[n - 2] = 0;
        t.payload[n - 1] = 0;
        let f = t.build();
        let l4 = t.l4();
        let (s, d) = match (t.src, t.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => (s.octets().to_vec(), d.octets().to_vec()),
            (IpAddr::V6(s), IpAddr::V6(d)) => (s.octets().to_vec(), d.octets().to_vec()),
            _ => unreachable!(),
        };
        let len = ((f.len() - l4) as u16).to_be_bytes();
        let rest = naive_sum(&[&s, &d, &[0, 17], &len, &f[l4..]]);
        let w = 0xffff - rest;
        t.payload[n - 2..].copy_from_slice(&w.to_be_bytes());
        t.udp_checksum = true;
        let f = t.build();
        assert_eq!(&f[l4 + 6..l4 + 8], &[0xff, 0xff]);
        assert_eq!(
            parse_frame(&f, L4Check::Software).unwrap().integrity,
            Integrity::Ok
        );
        let dg = UdpDatagram::new_checked(&f[l4..]).unwrap();
        assert_eq!(
            dg.compute_checksum(udp::pseudo_header(&s, &d, dg.len())),
            0xffff
        );
    }
}

proptest! {
    #[test]
    fn random_frames_roundtrip(t in arb_frame()) {
        let f = t.build();
        let info = parse_frame(&f, L4Check::Software).unwrap();
        prop_assert_eq!(info.vlan, t.vlan);
        prop_assert_eq!((info.src_ip, info.dst_ip), (t.src, t.dst));
        prop_assert_eq!((info.src_port, info.dst_port, info.ttl), (t.sport, t.dport, t.ttl));
        prop_assert_eq!(info.offsets.payload().start, t.l4() + 8);
        prop_assert_eq!(info.offsets.payload().len(), t.payload.len());
        // What the tx side gets back from the packet buffer.
        prop_assert!(info.offsets.fits(&f));
        prop_assert_eq!(info.offsets.is_v6(), t.v6());
        prop_assert_eq!(info.offsets.is_tagged(), t.vlan.is_some());
        prop_assert_eq!(FrameOffsets::from_bits(info.offsets.to_bits()), Some(info.offsets));
        prop_assert_eq!(info.offsets.source(&f), Some((info.src_ip, info.src_port)));
        let want = if t.v6() && !t.udp_checksum { Integrity::BadUdpChecksum } else { Integrity::Ok };
        prop_assert_eq!(info.integrity, want);
    }

    #[test]
    fn random_bytes_never_panic(f in proptest::collection::vec(any::<u8>(), 0..200)) {
        for l4 in ALL_CHECKS {
            if let Ok(i) = parse_frame(&f, l4) {
                prop_assert!(i.offsets.payload().end <= f.len());
            }
        }
    }

    #[test]
    fn mutated_frames_never_panic(
        t in arb_frame(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut f = t.build();
        for (at, v) in edits {
            let i = at.index(f.len());
            f[i] = v;
        }
        let n = cut.index(f.len() + 1);
        for l4 in ALL_CHECKS {
            if let Ok(i) = parse_frame(&f[..n], l4) {
                prop_assert!(i.offsets.l3() < i.offsets.l4() && i.offsets.l4() + 8 == i.offsets.payload().start);
                prop_assert!(i.offsets.payload().end <= n);
            }
        }
    }
}
