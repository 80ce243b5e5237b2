//! The Ethernet and IP framing of membership messages: multicast MACs,
//! IPv4 with the Router Alert option (RFC 2113) and TTL 1, IPv6 with a
//! Hop-by-Hop Router Alert (RFC 2711) and hop limit 1, and the checksums.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use model::MacAddr;

use crate::wire::checksum::{checksum, Accum};

/// Ethertype of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Ethertype of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;

/// IP protocol number of IGMP.
pub const PROTO_IGMP: u8 = 2;
/// IPv6 next header: Hop-by-Hop options.
pub const NH_HOP_BY_HOP: u8 = 0;
/// IPv6 next header: ICMPv6.
pub const NH_ICMPV6: u8 = 58;

/// The ethertype and the bytes after the Ethernet header (and one 802.1Q
/// tag, if any).
pub fn l3_of(frame: &[u8]) -> Option<(u16, &[u8])> {
    let et = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    if et == ETHERTYPE_VLAN {
        let inner = u16::from_be_bytes([*frame.get(16)?, *frame.get(17)?]);
        return Some((inner, frame.get(18..)?));
    }
    Some((et, frame.get(14..)?))
}

/// The Ethernet header of a membership message to `dst`. Every destination
/// a host sends to is a multicast group (a report's group or the all-routers
/// addresses), so its MAC is the RFC 1112/2464 mapping of `model::MacAddr`,
/// the one copy of that rule; a non-multicast `dst` cannot occur and would
/// get the broadcast MAC.
fn ethernet(dst: IpAddr, src: [u8; 6], ethertype: u16, out: &mut Vec<u8>) {
    let mac = MacAddr::multicast(dst).map_or([0xff; 6], |m| m.octets());
    out.extend_from_slice(&mac);
    out.extend_from_slice(&src);
    out.extend_from_slice(&ethertype.to_be_bytes());
}

/// A whole IPv4 frame carrying `igmp` from `src` to `dst`: TOS 0xc0
/// (internetwork control, RFC 3376 §4), TTL 1, Router Alert option,
/// header checksum filled in. The IGMP checksum must already be set.
pub fn ipv4_frame(src_mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr, igmp: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + 24 + igmp.len());
    ethernet(IpAddr::V4(dst), src_mac, ETHERTYPE_IPV4, &mut f);
    let total = (24 + igmp.len()) as u16;
    let mut h = [0u8; 24];
    h[0] = 0x46; // version 4, IHL 6 (one option word)
    h[1] = 0xc0;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[6] = 0x40; // DF
    h[8] = 1; // TTL
    h[9] = PROTO_IGMP;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    h[20..24].copy_from_slice(&[0x94, 0x04, 0x00, 0x00]); // Router Alert
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&h);
    f.extend_from_slice(igmp);
    f
}

/// The ICMPv6 checksum of `msg` (its checksum field zero) from `src` to `dst`.
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    Accum::new()
        .add_bytes(&src.octets())
        .add_bytes(&dst.octets())
        .add_u32(msg.len() as u32)
        .add_u32(u32::from(NH_ICMPV6))
        .add_bytes(msg)
        .checksum()
}

/// A whole IPv6 frame carrying the MLD message `mld` from `src` to `dst`:
/// hop limit 1, a Hop-by-Hop header with Router Alert value 0 (MLD), the
/// ICMPv6 checksum filled in (its field in `mld` must be zero).
pub fn ipv6_frame(src_mac: [u8; 6], src: Ipv6Addr, dst: Ipv6Addr, mld: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + 48 + mld.len());
    ethernet(IpAddr::V6(dst), src_mac, ETHERTYPE_IPV6, &mut f);
    let payload = (8 + mld.len()) as u16;
    let mut h = [0u8; 40];
    h[0] = 0x60;
    h[4..6].copy_from_slice(&payload.to_be_bytes());
    h[6] = NH_HOP_BY_HOP;
    h[7] = 1;
    h[8..24].copy_from_slice(&src.octets());
    h[24..40].copy_from_slice(&dst.octets());
    f.extend_from_slice(&h);
    // Hop-by-Hop: next ICMPv6, length 0 (8 bytes), Router Alert (type 5,
    // length 2, value 0 = MLD), PadN of 0 data bytes.
    f.extend_from_slice(&[NH_ICMPV6, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00]);
    let mut msg = mld.to_vec();
    let c = icmpv6_checksum(src, dst, &msg);
    msg[2..4].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&msg);
    f
}

/// The link-local address (fe80::/64, modified EUI-64, RFC 4291) of a MAC:
/// the source of MLD messages when the port was given no link-local address.
pub fn link_local_of(mac: [u8; 6]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o[0] = 0xfe;
    o[1] = 0x80;
    o[8] = mac[0] ^ 0x02;
    o[9] = mac[1];
    o[10] = mac[2];
    o[11] = 0xff;
    o[12] = 0xfe;
    o[13] = mac[3];
    o[14] = mac[4];
    o[15] = mac[5];
    Ipv6Addr::from(o)
}

/// True for fe80::/10.
pub fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum::verify;

    #[test]
    fn ipv4_frame_has_router_alert_and_a_valid_header() {
        let f = ipv4_frame(
            [2, 0, 0, 0, 0, 1],
            Ipv4Addr::new(192, 0, 2, 10),
            Ipv4Addr::new(224, 0, 0, 22),
            &[0x22, 0, 0, 0, 0, 0, 0, 0],
        );
        assert_eq!(&f[0..6], &[0x01, 0x00, 0x5e, 0, 0, 0x16]);
        assert_eq!(&f[12..14], &[0x08, 0x00]);
        assert_eq!(f[14], 0x46);
        assert_eq!(f[22], 1, "TTL 1");
        assert_eq!(&f[34..38], &[0x94, 0x04, 0, 0]);
        assert!(verify(&f[14..38]));
        assert_eq!(f.len(), 14 + 24 + 8);
    }

    #[test]
    fn ipv6_frame_has_hop_by_hop_router_alert() {
        let src = link_local_of([0x02, 0, 0, 0, 0, 1]);
        assert_eq!(src, "fe80::ff:fe00:1".parse::<Ipv6Addr>().unwrap());
        assert!(is_link_local(src));
        let dst: Ipv6Addr = "ff02::16".parse().unwrap();
        let f = ipv6_frame([2, 0, 0, 0, 0, 1], src, dst, &[143, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 0x16]);
        assert_eq!(f[20], NH_HOP_BY_HOP);
        assert_eq!(f[21], 1, "hop limit 1");
        assert_eq!(&f[54..62], &[58, 0, 5, 2, 0, 0, 1, 0]);
        let msg = &f[62..];
        let mut zeroed = msg.to_vec();
        zeroed[2] = 0;
        zeroed[3] = 0;
        assert_eq!(
            icmpv6_checksum(src, dst, &zeroed),
            u16::from_be_bytes([msg[2], msg[3]])
        );
    }
}
