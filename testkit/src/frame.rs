//! Builds complete Ethernet frames (optional 802.1Q tag, IPv4 or IPv6, UDP,
//! RTP v2) with correct IPv4 header and UDP checksums, and fills payloads
//! with a pattern derived from the sequence number, so a test can tell from
//! the bytes alone which packet it is looking at and that nothing changed.

use std::net::IpAddr;

use crate::checksum::{ipv4_header_checksum, udp_checksum};

/// Ethernet header length without VLAN tag.
pub const ETH_HEADER_LEN: usize = 14;
/// Bytes added by one 802.1Q tag.
pub const VLAN_TAG_LEN: usize = 4;
/// IPv4 header length without options (the builder never adds options).
pub const IPV4_HEADER_LEN: usize = 20;
/// Fixed IPv6 header length.
pub const IPV6_HEADER_LEN: usize = 40;
/// UDP header length.
pub const UDP_HEADER_LEN: usize = 8;
/// RTP fixed header length (no CSRC, no extension).
pub const RTP_HEADER_LEN: usize = 12;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType (TPID) of an 802.1Q tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;

/// An 802.1Q tag: VLAN id (12 bits) and priority (3 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vlan {
    /// VLAN identifier, 0..=4095.
    pub id: u16,
    /// Priority code point, 0..=7.
    pub pcp: u8,
}

/// Everything below the UDP payload: addresses, ports and header fields of
/// one leg of one stream. Both address fields must be of the same family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSpec {
    /// Destination MAC (for a multicast group: see [`multicast_mac`]).
    pub dst_mac: [u8; 6],
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// Optional 802.1Q tag.
    pub vlan: Option<Vlan>,
    /// Source IP address.
    pub src_ip: IpAddr,
    /// Destination IP address (multicast group).
    pub dst_ip: IpAddr,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
    /// IPv4 TTL / IPv6 hop limit.
    pub ttl: u8,
    /// DSCP (6 bits) in the IPv4 TOS / IPv6 traffic class; ECN is left 0.
    pub dscp: u8,
}

impl FrameSpec {
    /// A typical multicast sender: source MAC `02:00:00:00:00:01`, destination
    /// MAC mapped from `group`, UDP source port 10000, TTL 64, DSCP 0.
    pub fn multicast(src_ip: IpAddr, group: IpAddr, port: u16) -> Self {
        FrameSpec {
            dst_mac: multicast_mac(group),
            src_mac: [0x02, 0, 0, 0, 0, 0x01],
            vlan: None,
            src_ip,
            dst_ip: group,
            src_port: 10000,
            dst_port: port,
            ttl: 64,
            dscp: 0,
        }
    }

    /// Length of the headers this spec produces (Ethernet .. UDP).
    pub fn header_len(&self) -> usize {
        ETH_HEADER_LEN
            + self.vlan.map_or(0, |_| VLAN_TAG_LEN)
            + match self.dst_ip {
                IpAddr::V4(_) => IPV4_HEADER_LEN,
                IpAddr::V6(_) => IPV6_HEADER_LEN,
            }
            + UDP_HEADER_LEN
    }

    /// RTP payload length that makes an RTP frame exactly `frame_len` bytes
    /// (without FCS), or `None` if the headers alone are longer.
    pub fn rtp_payload_len_for(&self, frame_len: usize) -> Option<usize> {
        frame_len.checked_sub(self.header_len() + RTP_HEADER_LEN)
    }
}

/// Destination MAC of an IP multicast group: `01:00:5e` + low 23 bits for
/// IPv4 (RFC 1112), `33:33` + low 32 bits for IPv6 (RFC 2464). A unicast
/// address maps the same way (tests never send unicast through this).
pub fn multicast_mac(group: IpAddr) -> [u8; 6] {
    match group {
        IpAddr::V4(a) => {
            let o = a.octets();
            [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
        }
        IpAddr::V6(a) => {
            let o = a.octets();
            [0x33, 0x33, o[12], o[13], o[14], o[15]]
        }
    }
}

/// Builds an Ethernet/[802.1Q]/IP/UDP frame carrying `payload`, with IPv4
/// identification `ip_id`, correct IPv4 header checksum and UDP checksum.
/// No padding to 60 bytes is added (NICs pad; parsers use the IP length).
///
/// # Panics
/// If `spec.src_ip` and `spec.dst_ip` are of different families or the
/// datagram exceeds 65535 bytes: both are mistakes in the test itself.
pub fn build_udp_frame(spec: &FrameSpec, ip_id: u16, payload: &[u8]) -> Vec<u8> {
    let udp_len = UDP_HEADER_LEN + payload.len();
    assert!(udp_len <= 65535 - IPV4_HEADER_LEN, "UDP payload too large");
    let mut f = Vec::with_capacity(spec.header_len() + payload.len());
    f.extend_from_slice(&spec.dst_mac);
    f.extend_from_slice(&spec.src_mac);
    let ethertype = match (spec.src_ip, spec.dst_ip) {
        (IpAddr::V4(_), IpAddr::V4(_)) => ETHERTYPE_IPV4,
        (IpAddr::V6(_), IpAddr::V6(_)) => ETHERTYPE_IPV6,
        (s, d) => panic!("FrameSpec mixes address families: {s} -> {d}"),
    };
    if let Some(v) = spec.vlan {
        assert!(v.id <= 4095 && v.pcp <= 7, "bad VLAN tag {v:?}");
        f.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        f.extend_from_slice(&(((v.pcp as u16) << 13) | v.id).to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    let tos = (spec.dscp & 0x3f) << 2;
    match (spec.src_ip, spec.dst_ip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let start = f.len();
            let total = (IPV4_HEADER_LEN + udp_len) as u16;
            f.extend_from_slice(&[0x45, tos]);
            f.extend_from_slice(&total.to_be_bytes());
            f.extend_from_slice(&ip_id.to_be_bytes());
            f.extend_from_slice(&[0, 0]); // flags / fragment offset
            f.extend_from_slice(&[spec.ttl, 17, 0, 0]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
            let c = ipv4_header_checksum(&f[start..]);
            f[start + 10..start + 12].copy_from_slice(&c.to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let vtf: u32 = (6 << 28) | ((tos as u32) << 20);
            f.extend_from_slice(&vtf.to_be_bytes());
            f.extend_from_slice(&(udp_len as u16).to_be_bytes());
            f.extend_from_slice(&[17, spec.ttl]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        _ => unreachable!("families checked above"),
    }
    let udp_start = f.len();
    f.extend_from_slice(&spec.src_port.to_be_bytes());
    f.extend_from_slice(&spec.dst_port.to_be_bytes());
    f.extend_from_slice(&(udp_len as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    let c = udp_checksum(spec.src_ip, spec.dst_ip, &f[udp_start..]);
    f[udp_start + 6..udp_start + 8].copy_from_slice(&c.to_be_bytes());
    f
}

/// Fields of an RTP v2 fixed header (RFC 3550 §5.1). No CSRC, no extension,
/// no padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpFields {
    /// Sequence number (wraps at 2^16).
    pub seq: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronisation source: a new value means a restarted source.
    pub ssrc: u32,
    /// Payload type (7 bits; 33 = MP2T, 96.. dynamic).
    pub pt: u8,
    /// Marker bit.
    pub marker: bool,
}

/// Appends the 12-byte RTP header for `rtp` to `out`.
pub fn push_rtp_header(out: &mut Vec<u8>, rtp: &RtpFields) {
    out.push(0x80);
    out.push(((rtp.marker as u8) << 7) | (rtp.pt & 0x7f));
    out.extend_from_slice(&rtp.seq.to_be_bytes());
    out.extend_from_slice(&rtp.timestamp.to_be_bytes());
    out.extend_from_slice(&rtp.ssrc.to_be_bytes());
}

/// Builds an RTP-over-UDP frame. The IPv4 identification is the RTP
/// sequence number (deterministic, and distinct between neighbours).
pub fn build_rtp_frame(spec: &FrameSpec, rtp: &RtpFields, payload: &[u8]) -> Vec<u8> {
    let mut udp_payload = Vec::with_capacity(RTP_HEADER_LEN + payload.len());
    push_rtp_header(&mut udp_payload, rtp);
    udp_payload.extend_from_slice(payload);
    build_udp_frame(spec, rtp.seq, &udp_payload)
}

/// RTP frame whose payload is [`payload_pattern`]`(rtp.seq, payload_len)`:
/// what scenarios and the bench generator send.
pub fn build_rtp_frame_with_pattern(
    spec: &FrameSpec,
    rtp: &RtpFields,
    payload_len: usize,
) -> Vec<u8> {
    build_rtp_frame(spec, rtp, &payload_pattern(rtp.seq as u64, payload_len))
}

/// Deterministic payload bytes for sequence number `seq`: the first 8 bytes
/// are `seq` big-endian (readable in a hex dump; truncated if `len < 8`),
/// the rest a pseudo-random stream seeded by `seq`, so payloads of distinct
/// sequence numbers differ almost everywhere. For RTP the key is the 16-bit
/// wire sequence number, so it can be recomputed from a captured packet.
pub fn payload_pattern(seq: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    fill_payload_pattern(seq, &mut v);
    v
}

/// In-place form of [`payload_pattern`] (no allocation), for generators.
pub fn fill_payload_pattern(seq: u64, buf: &mut [u8]) {
    let head = seq.to_be_bytes();
    let n = buf.len().min(8);
    buf[..n].copy_from_slice(&head[..n]);
    // splitmix64 seeding, then a 64-bit LCG (Knuth's MMIX constants).
    let mut z = seq.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    let mut state = z ^ (z >> 31);
    for chunk in buf[n..].chunks_mut(8) {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let bytes = (state ^ (state >> 29)).to_be_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// True if `payload` is exactly [`payload_pattern`]`(seq, payload.len())`.
pub fn payload_matches(seq: u64, payload: &[u8]) -> bool {
    payload == payload_pattern(seq, payload.len()).as_slice()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::verify_checksums;
    use crate::parse::{parse_rtp, parse_udp};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4_spec() -> FrameSpec {
        FrameSpec::multicast(
            Ipv4Addr::new(10, 0, 0, 1).into(),
            Ipv4Addr::new(239, 129, 2, 3).into(),
            5004,
        )
    }

    #[test]
    fn multicast_macs() {
        assert_eq!(
            multicast_mac(Ipv4Addr::new(239, 129, 2, 3).into()),
            [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]
        );
        let g: Ipv6Addr = "ff3e::1234:5678".parse().unwrap();
        assert_eq!(
            multicast_mac(g.into()),
            [0x33, 0x33, 0x12, 0x34, 0x56, 0x78]
        );
    }

    #[test]
    fn ipv4_rtp_frame_layout_and_checksums() {
        let spec = v4_spec();
        let rtp = RtpFields {
            seq: 0xfffe,
            timestamp: 0x0102_0304,
            ssrc: 0xdead_beef,
            pt: 33,
            marker: true,
        };
        let payload_len = spec.rtp_payload_len_for(1370).unwrap();
        assert_eq!(payload_len, 1316);
        let f = build_rtp_frame_with_pattern(&spec, &rtp, payload_len);
        assert_eq!(f.len(), 1370);
        assert_eq!(&f[0..6], &[0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
        assert_eq!(&f[12..14], &[0x08, 0x00]);
        assert_eq!(f[14], 0x45);
        assert_eq!(u16::from_be_bytes([f[16], f[17]]), 1356); // IP total length
        assert_eq!(f[22], 64); // TTL
        assert_eq!(f[23], 17); // UDP
        assert_eq!(u16::from_be_bytes([f[36], f[37]]), 5004);
        assert_eq!(u16::from_be_bytes([f[38], f[39]]), 1336); // UDP length
        assert_eq!(&f[42..46], &[0x80, 0x80 | 33, 0xff, 0xfe]);
        verify_checksums(&f).unwrap();
        let p = parse_rtp(&f).unwrap();
        assert_eq!(p.seq, 0xfffe);
        assert_eq!(p.ssrc, 0xdead_beef);
        assert_eq!(p.timestamp, 0x0102_0304);
        assert!(p.marker);
        assert!(payload_matches(0xfffe, p.payload));
        assert_eq!(&p.payload[..8], &0xfffeu64.to_be_bytes());
    }

    #[test]
    fn ipv6_vlan_frame_roundtrip() {
        let mut spec = FrameSpec::multicast(
            "fd00::1".parse::<Ipv6Addr>().unwrap().into(),
            "ff3e::8000:1".parse::<Ipv6Addr>().unwrap().into(),
            6000,
        );
        spec.vlan = Some(Vlan { id: 100, pcp: 5 });
        spec.dscp = 46;
        spec.ttl = 9;
        let f = build_udp_frame(&spec, 0, b"hello");
        assert_eq!(f.len(), 14 + 4 + 40 + 8 + 5);
        assert_eq!(&f[12..16], &[0x81, 0x00, 0xa0, 100]);
        verify_checksums(&f).unwrap();
        let u = parse_udp(&f).unwrap();
        assert_eq!(u.vlan, Some(Vlan { id: 100, pcp: 5 }));
        assert_eq!(u.dst_ip, spec.dst_ip);
        assert_eq!(u.src_ip, spec.src_ip);
        assert_eq!(u.dscp, 46);
        assert_eq!(u.ttl, 9);
        assert_eq!(u.dst_port, 6000);
        assert_eq!(u.payload, b"hello");
    }

    #[test]
    fn patterns_differ_between_sequence_numbers() {
        let a = payload_pattern(1, 1316);
        let b = payload_pattern(2, 1316);
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        assert!(same < 40, "{same} equal bytes");
        assert_eq!(payload_pattern(7, 3), vec![0, 0, 0]);
        assert_eq!(payload_pattern(7, 1316), payload_pattern(7, 1316));
        assert!(!payload_matches(7, &payload_pattern(8, 100)));
    }

    #[test]
    #[should_panic(expected = "mixes address families")]
    fn mixed_families_are_rejected() {
        let mut spec = v4_spec();
        spec.dst_ip = "ff3e::1".parse::<Ipv6Addr>().unwrap().into();
        build_udp_frame(&spec, 0, &[]);
    }
}
