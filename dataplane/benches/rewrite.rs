//! ns per packet of the rx classifier parse and the tx header rewrite, on a
//! 1370-byte RTP packet (UDP payload; a 1412-byte IPv4 frame, 1432 over
//! IPv6). Run: `cargo bench -p dataplane --no-default-features --bench rewrite`.

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dataplane::rewrite::{FrameBuf, Headroom, OutputSpec, Rewriter, RtpRenumber, VlanAction};
use dataplane::wire::{
    checksum, parse_frame, udp, FrameOffsets, Integrity, Ipv4Packet, L4Check, UdpDatagram,
};

const RTP_LEN: usize = 1370;

fn rtp_payload() -> Vec<u8> {
    let mut p = vec![0x80, 96, 0x12, 0x34, 0, 0, 0x10, 0, 0xca, 0xfe, 0xba, 0xbe];
    p.extend((0..RTP_LEN - 12).map(|i| (i * 31 + 7) as u8));
    p
}

/// A valid frame with correct checksums.
fn frame(v6: bool, vlan: Option<u16>) -> Vec<u8> {
    let mut f = vec![0x01, 0x00, 0x5e, 0x01, 0x01, 0x01, 0x02, 0, 0, 0, 0, 1];
    if let Some(tci) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&tci.to_be_bytes());
    }
    let payload = rtp_payload();
    let udp_len = (8 + payload.len()) as u16;
    let (src, dst): (IpAddr, IpAddr) = if v6 {
        ("2001:db8::1".parse().unwrap(), "ff3e::1".parse().unwrap())
    } else {
        ("10.0.0.1".parse().unwrap(), "239.1.1.1".parse().unwrap())
    };
    let (s, d) = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => (s.octets().to_vec(), d.octets().to_vec()),
        (IpAddr::V6(s), IpAddr::V6(d)) => (s.octets().to_vec(), d.octets().to_vec()),
        _ => unreachable!(),
    };
    let l3 = f.len() + 2;
    if v6 {
        f.extend_from_slice(&[0x86, 0xdd, 0x6b, 0x80, 0, 0]);
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[17, 64]);
    } else {
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0xb8]);
        f.extend_from_slice(&(20 + udp_len).to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0]);
    }
    f.extend_from_slice(&s);
    f.extend_from_slice(&d);
    let l4 = f.len();
    f.extend_from_slice(&[0x13, 0x8c, 0x13, 0x8c]);
    f.extend_from_slice(&udp_len.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&payload);
    if !v6 {
        Ipv4Packet::new_checked(&mut f[l3..])
            .unwrap()
            .fill_checksum();
    }
    let mut dg = UdpDatagram::new_checked(&mut f[l4..]).unwrap();
    dg.fill_checksum(udp::pseudo_header(&s, &d, udp_len));
    assert_eq!(
        parse_frame(&f, L4Check::Software).unwrap().integrity,
        Integrity::Ok
    );
    f
}

/// The output port's MAC.
const SRC_MAC: [u8; 6] = [2, 0, 0, 0, 0, 9];

fn spec(v6: bool, vlan: VlanAction) -> OutputSpec {
    let mut s = if v6 {
        OutputSpec::new("ff3e::4000:1".parse().unwrap(), 6000)
    } else {
        OutputSpec::new("239.10.20.30".parse().unwrap(), 6000)
    };
    s.src_ip = Some(if v6 {
        "2001:db8::99".parse().unwrap()
    } else {
        "192.0.2.99".parse().unwrap()
    });
    s.ttl = Some(16);
    s.dscp = Some(34);
    s.vlan = vlan;
    s
}

/// What the rx parse hands the rewriter with each packet.
fn offsets(f: &[u8]) -> FrameOffsets {
    parse_frame(f, L4Check::Skip).unwrap().offsets
}

fn bench_checksum(c: &mut Criterion) {
    let data = rtp_payload();
    let mut g = c.benchmark_group("checksum");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("full_1370B", |b| {
        b.iter(|| checksum::checksum(black_box(&data)))
    });
    g.finish();
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_frame");
    g.throughput(Throughput::Elements(1));
    for (name, v6) in [("ipv4", false), ("ipv6", true)] {
        let f = frame(v6, Some(100));
        for (mode, l4) in [("software", L4Check::Software), ("skip", L4Check::Skip)] {
            g.bench_function(format!("{name}_vlan_{mode}"), |b| {
                b.iter(|| parse_frame(black_box(&f), l4))
            });
        }
    }
    g.finish();
}

fn bench_rewrite(c: &mut Criterion) {
    let mut g = c.benchmark_group("rewrite");
    g.throughput(Throughput::Elements(1));
    for (name, v6) in [("ipv4", false), ("ipv6", true)] {
        // In place, no size change: applying again rewrites the same
        // values, so the same buffer can be reused every iteration.
        let rw = Rewriter::new(&spec(v6, VlanAction::Keep), SRC_MAC).unwrap();
        let mut f = frame(v6, None);
        let at = offsets(&f);
        g.bench_function(format!("{name}_keep_all_fields"), |b| {
            b.iter(|| rw.apply(black_box(&mut f), at))
        });
        let rw = Rewriter::new(&spec(v6, VlanAction::Set(7)), SRC_MAC).unwrap();
        let mut f = frame(v6, Some(100));
        let at = offsets(&f);
        g.bench_function(format!("{name}_set_vid_on_tagged"), |b| {
            b.iter(|| rw.apply(black_box(&mut f), at))
        });
        // Push then strip: two applies per iteration.
        let push = Rewriter::new(&spec(v6, VlanAction::Set(7)), SRC_MAC).unwrap();
        let strip = Rewriter::new(&spec(v6, VlanAction::Strip), SRC_MAC).unwrap();
        let mut hb = Headroom::new(&frame(v6, None), 128);
        let untagged = offsets(hb.bytes());
        let tagged = offsets(&frame(v6, Some(7)));
        g.bench_function(format!("{name}_push_then_strip_2_applies"), |b| {
            b.iter(|| {
                push.apply(black_box(&mut hb), untagged).unwrap();
                strip.apply(black_box(&mut hb), tagged).unwrap();
            })
        });
        let rw = Rewriter::new(&spec(v6, VlanAction::Keep), SRC_MAC).unwrap();
        let mut rn = RtpRenumber::new(Some(0x5eed));
        let mut f = frame(v6, None);
        let at = offsets(&f);
        let mut ext = 0u64;
        g.bench_function(format!("{name}_renumber_then_apply"), |b| {
            b.iter(|| {
                ext += 1;
                rn.apply(black_box(&mut f), at, ext, 0).unwrap();
                rw.apply(black_box(&mut f), at).unwrap();
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_checksum, bench_parse, bench_rewrite
}
criterion_main!(benches);
