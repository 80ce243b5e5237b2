//! MLD messages (RFC 3810 version 2, RFC 2710 version 1): the host's
//! reports and Done messages as whole frames, and the queries it must
//! answer, parsed and checked (ICMPv6 checksum, link-local querier).

use std::net::{IpAddr, Ipv6Addr};

use super::code::{decode16, encode8};
use super::frame::{icmpv6_checksum, ipv6_frame, is_link_local, NH_HOP_BY_HOP, NH_ICMPV6};
use super::{v3_report_message, Heard, QueryTail, QueryVersion, Record};

/// Multicast Listener Query.
pub const TYPE_QUERY: u8 = 130;
/// MLDv1 Multicast Listener Report.
pub const TYPE_V1_REPORT: u8 = 131;
/// MLDv1 Multicast Listener Done.
pub const TYPE_V1_DONE: u8 = 132;
/// MLDv2 Multicast Listener Report.
pub const TYPE_V2_REPORT: u8 = 143;

/// Where MLDv2 reports go: all MLDv2-capable routers.
pub const ALL_V2_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);
/// Where MLDv1 Done messages go: all routers.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// Where general queries go: all nodes.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Records per report that stay inside a 1500-byte MTU.
pub const MAX_RECORDS_PER_REPORT: usize = 16;

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V6(a) => a,
        IpAddr::V4(_) => Ipv6Addr::UNSPECIFIED,
    }
}

/// An MLDv2 Multicast Listener Report frame with `records`, sent to ff02::16.
pub fn v2_report(src_mac: [u8; 6], src: Ipv6Addr, records: &[Record]) -> Vec<u8> {
    let m = v3_report_message(TYPE_V2_REPORT, records, |a, m| {
        m.extend_from_slice(&v6(a).octets())
    });
    ipv6_frame(src_mac, src, ALL_V2_ROUTERS, &m)
}

fn v1_message(t: u8, group: Ipv6Addr) -> Vec<u8> {
    let mut m = vec![t, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&group.octets());
    m
}

/// An MLDv1 Report for `group`, sent to the group.
pub fn v1_report(src_mac: [u8; 6], src: Ipv6Addr, group: Ipv6Addr) -> Vec<u8> {
    ipv6_frame(src_mac, src, group, &v1_message(TYPE_V1_REPORT, group))
}

/// An MLDv1 Done for `group`, sent to ff02::2.
pub fn v1_done(src_mac: [u8; 6], src: Ipv6Addr, group: Ipv6Addr) -> Vec<u8> {
    ipv6_frame(src_mac, src, ALL_ROUTERS, &v1_message(TYPE_V1_DONE, group))
}

/// A query frame as a querier sends it (for tests and tools).
pub fn query(
    src_mac: [u8; 6],
    querier: Ipv6Addr,
    version: QueryVersion,
    group: Option<Ipv6Addr>,
    sources: &[Ipv6Addr],
    max_resp_ms: u64,
) -> Vec<u8> {
    let g = group.unwrap_or(Ipv6Addr::UNSPECIFIED);
    let code = max_resp_ms.min(32767) as u16;
    let mut m = vec![TYPE_QUERY, 0, 0, 0];
    m.extend_from_slice(&code.to_be_bytes());
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&g.octets());
    if version == QueryVersion::V3 {
        m.extend_from_slice(&[2, encode8(125)]);
        m.extend_from_slice(&(sources.len() as u16).to_be_bytes());
        for s in sources {
            m.extend_from_slice(&s.octets());
        }
    }
    ipv6_frame(src_mac, querier, group.unwrap_or(ALL_NODES), &m)
}

/// Parses an IPv6 packet (from its header on) as MLD behind a Hop-by-Hop
/// header.
pub fn parse(ip: &[u8]) -> Heard {
    if ip.len() < 40 || ip[0] >> 4 != 6 {
        return Heard::Malformed("bad IPv6 header");
    }
    let payload = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    if 40 + payload > ip.len() {
        return Heard::Malformed("bad IPv6 length");
    }
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&ip[8..24]);
    let src = Ipv6Addr::from(octets);
    octets.copy_from_slice(&ip[24..40]);
    let dst = Ipv6Addr::from(octets);
    let body = &ip[40..40 + payload];
    if ip[6] != NH_HOP_BY_HOP || body.len() < 8 {
        return Heard::Malformed("no Hop-by-Hop header");
    }
    let hbh_len = (usize::from(body[1]) + 1) * 8;
    if body[0] != NH_ICMPV6 || hbh_len > body.len() {
        return Heard::Malformed("not ICMPv6 after Hop-by-Hop");
    }
    let m = &body[hbh_len..];
    if m.len() < 4 {
        return Heard::Malformed("ICMPv6 message too short");
    }
    let mut zeroed = m.to_vec();
    zeroed[2] = 0;
    zeroed[3] = 0;
    if icmpv6_checksum(src, dst, &zeroed) != u16::from_be_bytes([m[2], m[3]]) {
        return Heard::Malformed("bad ICMPv6 checksum");
    }
    match m[0] {
        TYPE_QUERY => parse_query(src, m),
        TYPE_V1_REPORT | TYPE_V1_DONE | TYPE_V2_REPORT => Heard::OtherMessage,
        _ => Heard::Malformed("not an MLD message"),
    }
}

fn parse_query(querier: Ipv6Addr, m: &[u8]) -> Heard {
    if !is_link_local(querier) {
        return Heard::Malformed("MLD query from a non-link-local source");
    }
    if m.len() < 24 {
        return Heard::Malformed("MLD query too short");
    }
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&m[8..24]);
    let group = Ipv6Addr::from(octets);
    let group = (!group.is_unspecified()).then_some(IpAddr::V6(group));
    if group.is_some_and(|g| !g.is_multicast()) {
        return Heard::Malformed("query for a non-multicast group");
    }
    let code = u16::from_be_bytes([m[4], m[5]]);
    let tail = if m.len() < 28 {
        QueryTail::older(QueryVersion::V2, u64::from(code))
    } else {
        match QueryTail::v3(m, 24, 16, u64::from(decode16(code))) {
            Some(t) => t,
            None => return Heard::Malformed("MLDv2 query shorter than its source list"),
        }
    };
    tail.heard(IpAddr::V6(querier), group)
}

#[cfg(test)]
mod tests {
    use super::super::frame::link_local_of;
    use super::super::RecordType;
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

    #[test]
    fn v2_report_layout_and_checksum() {
        let me = link_local_of(MAC);
        let f = v2_report(
            MAC,
            me,
            &[Record {
                kind: RecordType::AllowNew,
                group: "ff3e::8000:1".parse().unwrap(),
                sources: vec!["2001:db8::1".parse().unwrap()],
            }],
        );
        let m = &f[14 + 48..];
        assert_eq!(m[0], TYPE_V2_REPORT);
        assert_eq!(&m[6..8], &[0, 1]);
        assert_eq!(m[8], 5);
        assert_eq!(&m[10..12], &[0, 1]);
        assert_eq!(m.len(), 8 + 20 + 16);
        assert_eq!(
            super::super::parse(&f),
            Heard::OtherMessage,
            "checksum holds"
        );
        let g: Ipv6Addr = "ff3e::1".parse().unwrap();
        assert_eq!(
            super::super::parse(&v1_report(MAC, me, g)),
            Heard::OtherMessage
        );
        assert_eq!(
            super::super::parse(&v1_done(MAC, me, g)),
            Heard::OtherMessage
        );
    }

    #[test]
    fn queries_parse_and_damage_is_refused() {
        let q = link_local_of([2, 0, 0, 0, 0, 0xfe]);
        let g: Ipv6Addr = "ff3e::1".parse().unwrap();
        let s: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let f = query(MAC, q, QueryVersion::V3, Some(g), &[s], 1000);
        let Heard::Query(v2) = super::super::parse(&f) else {
            panic!()
        };
        assert_eq!(v2.version, QueryVersion::V3);
        assert_eq!(v2.group, Some(IpAddr::V6(g)));
        assert_eq!(v2.sources, vec![IpAddr::V6(s)]);
        assert_eq!((v2.max_resp_ms, v2.qrv, v2.qqi_s), (1000, 2, 125));
        let Heard::Query(v1) =
            super::super::parse(&query(MAC, q, QueryVersion::V2, None, &[], 10_000))
        else {
            panic!()
        };
        assert_eq!(
            (v1.version, v1.group, v1.max_resp_ms),
            (QueryVersion::V2, None, 10_000)
        );
        let mut bad = f.clone();
        *bad.last_mut().unwrap() ^= 0x40;
        assert_eq!(
            super::super::parse(&bad),
            Heard::Malformed("bad ICMPv6 checksum")
        );
        let global: Ipv6Addr = "2001:db8::fe".parse().unwrap();
        let f2 = query(MAC, global, QueryVersion::V3, None, &[], 1000);
        assert!(matches!(super::super::parse(&f2), Heard::Malformed(_)));
        for n in 0..f.len() {
            let _ = super::super::parse(&f[..n]);
        }
    }
}
