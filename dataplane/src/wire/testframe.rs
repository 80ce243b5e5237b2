//! Test-only frame builder. Computes checksums with its own naive RFC 1071
//! loop (not the code under test) so tests compare against an independent
//! reference.

use std::net::IpAddr;

use proptest::prelude::*;

/// Naive ones'-complement sum of big-endian words (odd tail zero-padded).
pub fn naive_sum(parts: &[&[u8]]) -> u16 {
    let mut bytes = Vec::new();
    for p in parts {
        assert_eq!(bytes.len() & 1, 0);
        bytes.extend_from_slice(p);
    }
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    let mut s: u64 = 0;
    for c in bytes.chunks(2) {
        s += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Everything a test frame can vary.
#[derive(Clone, Debug)]
pub struct TestFrame {
    pub vlan: Option<u16>,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    pub flow: u32,
    pub ip_options: Vec<u8>,
    pub payload: Vec<u8>,
    /// false = UDP checksum field left 0.
    pub udp_checksum: bool,
    /// Ethernet padding after the IP packet.
    pub pad: usize,
}

impl TestFrame {
    /// A 1370-byte-payload RTP frame over IPv4 (or IPv6 with `v6`).
    pub fn rtp(v6: bool) -> Self {
        let (src, dst): (IpAddr, IpAddr) = if v6 {
            (
                "2001:db8::10".parse().unwrap(),
                "ff3e::1:2".parse().unwrap(),
            )
        } else {
            ("10.1.2.3".parse().unwrap(), "239.1.1.1".parse().unwrap())
        };
        let mut payload = vec![0x80, 96, 0x12, 0x34, 0, 1, 0, 0, 0xca, 0xfe, 0xba, 0xbe];
        payload.extend((0..1358u32).map(|i| (i * 7 + 3) as u8));
        TestFrame {
            vlan: None,
            src,
            dst,
            sport: 5004,
            dport: 5004,
            ttl: 32,
            tos: 0xb8,
            ident: 0x1234,
            flow: 0xabcde,
            ip_options: Vec::new(),
            payload,
            udp_checksum: true,
            pad: 0,
        }
    }

    pub fn v6(&self) -> bool {
        self.src.is_ipv6()
    }

    /// Offset of the IP header.
    pub fn l3(&self) -> usize {
        if self.vlan.is_some() {
            18
        } else {
            14
        }
    }

    /// Offset of the UDP header.
    pub fn l4(&self) -> usize {
        self.l3()
            + if self.v6() {
                40
            } else {
                20 + self.ip_options.len()
            }
    }

    pub fn build(&self) -> Vec<u8> {
        let mut f = vec![0x01, 0x00, 0x5e, 0x01, 0x01, 0x01, 0x02, 0, 0, 0, 0, 0x01];
        if let Some(tci) = self.vlan {
            f.extend_from_slice(&[0x81, 0x00]);
            f.extend_from_slice(&tci.to_be_bytes());
        }
        let udp_len = (8 + self.payload.len()) as u16;
        let (src, dst): (Vec<u8>, Vec<u8>) = match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => (s.octets().to_vec(), d.octets().to_vec()),
            (IpAddr::V6(s), IpAddr::V6(d)) => (s.octets().to_vec(), d.octets().to_vec()),
            _ => panic!("mixed families"),
        };
        if self.v6() {
            f.extend_from_slice(&[0x86, 0xdd]);
            let first = 0x6000_0000u32 | u32::from(self.tos) << 20 | (self.flow & 0xfffff);
            f.extend_from_slice(&first.to_be_bytes());
            f.extend_from_slice(&udp_len.to_be_bytes());
            f.push(17);
            f.push(self.ttl);
        } else {
            f.extend_from_slice(&[0x08, 0x00]);
            assert!(self.ip_options.len() & 3 == 0 && self.ip_options.len() <= 40);
            let ihl = 5 + self.ip_options.len() / 4;
            let total = (ihl * 4) as u16 + udp_len;
            f.push(0x40 | ihl as u8);
            f.push(self.tos);
            f.extend_from_slice(&total.to_be_bytes());
            f.extend_from_slice(&self.ident.to_be_bytes());
            f.extend_from_slice(&[0x40, 0x00, self.ttl, 17, 0, 0]);
        }
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        if !self.v6() {
            f.extend_from_slice(&self.ip_options);
            let l3 = self.l3();
            let c = !naive_sum(&[&f[l3..]]);
            f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
        }
        let l4 = f.len();
        f.extend_from_slice(&self.sport.to_be_bytes());
        f.extend_from_slice(&self.dport.to_be_bytes());
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&self.payload);
        if self.udp_checksum {
            let c = udp_checksum(&src, &dst, &f[l4..]);
            f[l4 + 6..l4 + 8].copy_from_slice(&c.to_be_bytes());
        }
        f.resize(f.len() + self.pad, 0);
        f
    }
}

/// Reference UDP checksum of `dgram` (its checksum field must be zero).
pub fn udp_checksum(src: &[u8], dst: &[u8], dgram: &[u8]) -> u16 {
    let len = (dgram.len() as u16).to_be_bytes();
    let c = !naive_sum(&[src, dst, &[0, 17], &len, dgram]);
    if c == 0 {
        0xffff
    } else {
        c
    }
}

/// Random valid frames: either family, tagged or not, IPv4 options, any
/// ports/TTL/TOS, payload 0..300 bytes, checksum on or off, padding.
pub fn arb_frame() -> impl Strategy<Value = TestFrame> {
    (
        any::<bool>(),
        proptest::option::of(any::<u16>()),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<(u16, u16, u8, u8, u16)>(),
        0usize..=10,
        proptest::collection::vec(any::<u8>(), 0..300),
        any::<bool>(),
        0usize..40,
    )
        .prop_map(
            |(v6, vlan, s, d, (sport, dport, ttl, tos, ident), opt_words, payload, ck, pad)| {
                let (src, dst) = if v6 {
                    (IpAddr::from(s), IpAddr::from(d))
                } else {
                    (
                        IpAddr::from([s[0], s[1], s[2], s[3]]),
                        IpAddr::from([d[0], d[1], d[2], d[3]]),
                    )
                };
                TestFrame {
                    vlan,
                    src,
                    dst,
                    sport,
                    dport,
                    ttl,
                    tos,
                    ident,
                    flow: u32::from(ident) << 4,
                    ip_options: if v6 {
                        Vec::new()
                    } else {
                        vec![1; opt_words * 4]
                    },
                    payload,
                    udp_checksum: ck,
                    pad,
                }
            },
        )
}
