//! IGMP messages (RFC 3376 version 3, RFC 2236 version 2, RFC 1112
//! version 1): the host's reports and leaves as whole frames, and the
//! queries it must answer, parsed and checked.

use std::net::{IpAddr, Ipv4Addr};

use super::code::{decode8, encode8};
use super::frame::{ipv4_frame, PROTO_IGMP};
use super::{v3_report_message, Heard, QueryTail, QueryVersion, Record};
use crate::wire::checksum::{checksum, verify};

/// Membership Query.
pub const TYPE_QUERY: u8 = 0x11;
/// IGMPv1 Membership Report.
pub const TYPE_V1_REPORT: u8 = 0x12;
/// IGMPv2 Membership Report.
pub const TYPE_V2_REPORT: u8 = 0x16;
/// IGMPv2 Leave Group.
pub const TYPE_V2_LEAVE: u8 = 0x17;
/// IGMPv3 Membership Report.
pub const TYPE_V3_REPORT: u8 = 0x22;

/// Where IGMPv3 reports go: all IGMPv3-capable routers.
pub const ALL_V3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);
/// Where IGMPv2 leaves go: all routers.
pub const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);
/// Where general queries go: all systems.
pub const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);

/// Records per report that stay well inside a 1500-byte MTU.
pub const MAX_RECORDS_PER_REPORT: usize = 32;

fn v4(a: IpAddr) -> Ipv4Addr {
    match a {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    }
}

fn with_checksum(mut msg: Vec<u8>) -> Vec<u8> {
    let c = checksum(&msg);
    msg[2..4].copy_from_slice(&c.to_be_bytes());
    msg
}

/// An IGMPv3 Membership Report frame with `records` (IPv4 groups and
/// sources), sent to 224.0.0.22.
pub fn v3_report(src_mac: [u8; 6], src: Ipv4Addr, records: &[Record]) -> Vec<u8> {
    let m = v3_report_message(TYPE_V3_REPORT, records, |a, m| {
        m.extend_from_slice(&v4(a).octets())
    });
    ipv4_frame(src_mac, src, ALL_V3_ROUTERS, &with_checksum(m))
}

/// An IGMPv2 (or, with `v1`, IGMPv1) Membership Report for `group`, sent
/// to the group itself.
pub fn v2_report(src_mac: [u8; 6], src: Ipv4Addr, group: Ipv4Addr, v1: bool) -> Vec<u8> {
    let t = if v1 { TYPE_V1_REPORT } else { TYPE_V2_REPORT };
    let mut m = vec![t, 0, 0, 0];
    m.extend_from_slice(&group.octets());
    ipv4_frame(src_mac, src, group, &with_checksum(m))
}

/// An IGMPv2 Leave Group for `group`, sent to 224.0.0.2.
pub fn v2_leave(src_mac: [u8; 6], src: Ipv4Addr, group: Ipv4Addr) -> Vec<u8> {
    let mut m = vec![TYPE_V2_LEAVE, 0, 0, 0];
    m.extend_from_slice(&group.octets());
    ipv4_frame(src_mac, src, ALL_ROUTERS, &with_checksum(m))
}

/// A query frame as a querier sends it (for tests and tools): version 3
/// unless `version` says otherwise; `max_resp_ms` is rounded down to the
/// protocol's unit.
pub fn query(
    src_mac: [u8; 6],
    querier: Ipv4Addr,
    version: QueryVersion,
    group: Option<Ipv4Addr>,
    sources: &[Ipv4Addr],
    max_resp_ms: u64,
) -> Vec<u8> {
    let g = group.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let ds = (max_resp_ms / 100).min(u64::from(u32::MAX)) as u32;
    let mut m = match version {
        QueryVersion::V1 => vec![TYPE_QUERY, 0, 0, 0],
        QueryVersion::V2 => vec![TYPE_QUERY, ds.clamp(1, 255) as u8, 0, 0],
        QueryVersion::V3 => vec![TYPE_QUERY, encode8(ds), 0, 0],
    };
    m.extend_from_slice(&g.octets());
    if version == QueryVersion::V3 {
        m.extend_from_slice(&[2, encode8(125)]);
        m.extend_from_slice(&(sources.len() as u16).to_be_bytes());
        for s in sources {
            m.extend_from_slice(&s.octets());
        }
    }
    let dst = group.unwrap_or(ALL_SYSTEMS);
    ipv4_frame(src_mac, querier, dst, &with_checksum(m))
}

/// Parses an IPv4 packet (from its header on) as IGMP.
pub fn parse(ip: &[u8]) -> Heard {
    if ip.len() < 20 || ip[0] >> 4 != 4 {
        return Heard::Malformed("bad IPv4 header");
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if ihl < 20 || total < ihl || total > ip.len() {
        return Heard::Malformed("bad IPv4 lengths");
    }
    if ip[9] != PROTO_IGMP {
        return Heard::Malformed("not IGMP");
    }
    if !verify(&ip[..ihl]) {
        return Heard::Malformed("bad IPv4 header checksum");
    }
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let m = &ip[ihl..total];
    if m.len() < 8 {
        return Heard::Malformed("IGMP message too short");
    }
    if !verify(m) {
        return Heard::Malformed("bad IGMP checksum");
    }
    match m[0] {
        TYPE_QUERY => parse_query(src, m),
        TYPE_V1_REPORT | TYPE_V2_REPORT | TYPE_V2_LEAVE | TYPE_V3_REPORT => Heard::OtherMessage,
        _ => Heard::Malformed("unknown IGMP type"),
    }
}

fn parse_query(querier: Ipv4Addr, m: &[u8]) -> Heard {
    let group = Ipv4Addr::new(m[4], m[5], m[6], m[7]);
    let group = (!group.is_unspecified()).then_some(IpAddr::V4(group));
    if let Some(g) = group {
        if !g.is_multicast() {
            return Heard::Malformed("query for a non-multicast group");
        }
    }
    let tail = if m.len() == 8 {
        if m[1] == 0 {
            // IGMPv1: no max response time; hosts use 10 s (RFC 2236 §4).
            QueryTail::older(QueryVersion::V1, 10_000)
        } else {
            QueryTail::older(QueryVersion::V2, u64::from(m[1]) * 100)
        }
    } else if m.len() >= 12 {
        match QueryTail::v3(m, 8, 4, u64::from(decode8(m[1])) * 100) {
            Some(t) => t,
            None => return Heard::Malformed("IGMPv3 query shorter than its source list"),
        }
    } else {
        // RFC 3376 §7.1: 9..11 octets: ignore.
        return Heard::Malformed("IGMP query of 9 to 11 octets");
    };
    tail.heard(IpAddr::V4(querier), group)
}

#[cfg(test)]
mod tests {
    use super::super::RecordType;
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

    #[test]
    fn v3_report_layout_and_checksums() {
        let f = v3_report(
            MAC,
            ME,
            &[
                Record {
                    kind: RecordType::AllowNew,
                    group: "232.1.1.1".parse().unwrap(),
                    sources: vec!["192.0.2.1".parse().unwrap()],
                },
                Record {
                    kind: RecordType::ToExclude,
                    group: "239.1.1.1".parse().unwrap(),
                    sources: vec![],
                },
            ],
        );
        let ip = &f[14..];
        assert_eq!(&ip[16..20], &[224, 0, 0, 22]);
        let m = &ip[24..];
        assert!(verify(m));
        assert_eq!(m[0], TYPE_V3_REPORT);
        assert_eq!(&m[6..8], &[0, 2]);
        assert_eq!(&m[8..12], &[5, 0, 0, 1]);
        assert_eq!(&m[12..16], &[232, 1, 1, 1]);
        assert_eq!(&m[16..20], &[192, 0, 2, 1]);
        assert_eq!(&m[20..24], &[4, 0, 0, 0]);
        assert_eq!(m.len(), 8 + 12 + 8);
        // A host's own report parses as "another message", not a query.
        assert_eq!(super::super::parse(&f), Heard::OtherMessage);
    }

    #[test]
    fn v2_messages() {
        let g = Ipv4Addr::new(239, 1, 2, 3);
        let r = v2_report(MAC, ME, g, false);
        assert_eq!(&r[0..6], &[1, 0, 0x5e, 1, 2, 3]);
        assert_eq!(&r[14 + 16..14 + 20], &g.octets());
        assert_eq!(r[14 + 24], TYPE_V2_REPORT);
        assert!(verify(&r[14 + 24..]));
        let l = v2_leave(MAC, ME, g);
        assert_eq!(&l[14 + 16..14 + 20], &[224, 0, 0, 2]);
        assert_eq!(l[14 + 24], TYPE_V2_LEAVE);
        assert_eq!(&l[14 + 28..], &g.octets());
        assert_eq!(v2_report(MAC, ME, g, true)[14 + 24], TYPE_V1_REPORT);
    }

    #[test]
    fn queries_of_every_version_parse() {
        let q = Ipv4Addr::new(192, 0, 2, 254);
        let g = Ipv4Addr::new(232, 1, 1, 1);
        let s = Ipv4Addr::new(192, 0, 2, 1);
        let Heard::Query(v3) =
            super::super::parse(&query(MAC, q, QueryVersion::V3, Some(g), &[s], 1000))
        else {
            panic!()
        };
        assert_eq!(v3.version, QueryVersion::V3);
        assert_eq!(v3.group, Some(IpAddr::V4(g)));
        assert_eq!(v3.sources, vec![IpAddr::V4(s)]);
        assert_eq!(v3.max_resp_ms, 1000);
        assert_eq!((v3.qrv, v3.qqi_s), (2, 125));
        assert_eq!(v3.querier, IpAddr::V4(q));
        let Heard::Query(v2) =
            super::super::parse(&query(MAC, q, QueryVersion::V2, None, &[], 10_000))
        else {
            panic!()
        };
        assert_eq!(
            (v2.version, v2.group, v2.max_resp_ms),
            (QueryVersion::V2, None, 10_000)
        );
        let Heard::Query(v1) = super::super::parse(&query(MAC, q, QueryVersion::V1, None, &[], 0))
        else {
            panic!()
        };
        assert_eq!(v1.version, QueryVersion::V1);
        // Large Max Resp Codes use the exponential form.
        let Heard::Query(big) =
            super::super::parse(&query(MAC, q, QueryVersion::V3, None, &[], 200_000))
        else {
            panic!()
        };
        assert!(
            big.max_resp_ms <= 200_000 && big.max_resp_ms > 150_000,
            "{}",
            big.max_resp_ms
        );
    }

    #[test]
    fn damaged_queries_are_refused() {
        let f = query(MAC, ME, QueryVersion::V3, None, &[], 1000);
        let mut bad = f.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(
            super::super::parse(&bad),
            Heard::Malformed("bad IGMP checksum")
        );
        assert!(matches!(
            super::super::parse(&f[..f.len() - 3]),
            Heard::Malformed(_)
        ));
        let mut hdr = f.clone();
        hdr[14 + 8] = 2; // TTL changed, header checksum stale
        assert_eq!(
            super::super::parse(&hdr),
            Heard::Malformed("bad IPv4 header checksum")
        );
        // Every truncation is refused or parsed, never a panic.
        for n in 0..f.len() {
            let _ = super::super::parse(&f[..n]);
        }
    }
}
