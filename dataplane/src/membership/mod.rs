//! The multicast membership host of an input port: IGMPv3 (RFC 3376) and
//! MLDv2 (RFC 3810) with their IGMPv2/v1 and MLDv1 compatibility modes.
//!
//! Why it exists: a DPDK port has no kernel behind it, so nothing would
//! join the legs' groups. On a switched network with IGMP/MLD snooping the
//! switch then forwards no multicast to the port at all, or stops after the
//! membership interval (about 260 s) because no one answers the querier.
//!
//! Everything here is pure, safe and DPDK-free: [`igmp`] and [`mld`] build
//! and parse the messages (whole Ethernet frames, checksums and the Router
//! Alert option included), [`host`] is the per-port state machine, fed with
//! received frames and a millisecond clock, which returns the frames to send.
//! The binary runs it on the main lcore (see `src/membership.rs`), never on a
//! worker: workers only hand received IGMP/MLD frames over a ring.

#![forbid(unsafe_code)]

pub mod code;
pub mod frame;
pub mod host;
pub mod igmp;
pub mod mld;

pub use host::{Compat, Host, HostCounters, HostEvent, Join};

use std::net::IpAddr;

/// A group record's type (RFC 3376 §4.2.12, RFC 3810 §5.2.12): the same
/// numbers in IGMPv3 and MLDv2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordType {
    /// Current state: INCLUDE(sources).
    IsInclude = 1,
    /// Current state: EXCLUDE(sources).
    IsExclude = 2,
    /// Filter mode change to INCLUDE(sources).
    ToInclude = 3,
    /// Filter mode change to EXCLUDE(sources).
    ToExclude = 4,
    /// Source list change: allow these new sources.
    AllowNew = 5,
    /// Source list change: block these old sources.
    BlockOld = 6,
}

impl RecordType {
    /// From the wire value.
    pub fn from_u8(v: u8) -> Option<RecordType> {
        Some(match v {
            1 => RecordType::IsInclude,
            2 => RecordType::IsExclude,
            3 => RecordType::ToInclude,
            4 => RecordType::ToExclude,
            5 => RecordType::AllowNew,
            6 => RecordType::BlockOld,
            _ => return None,
        })
    }
}

/// One group record of a version-3 report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// What the record says.
    pub kind: RecordType,
    /// The multicast group.
    pub group: IpAddr,
    /// The sources it names.
    pub sources: Vec<IpAddr>,
}

/// The message of a version-3 report: IGMPv3 (RFC 3376 §4.2) and MLDv2
/// (RFC 3810 §5.2) lay it out alike (type, reserved, checksum left 0,
/// reserved, record count, then each record: type, aux length 0, source
/// count, group, sources) and differ only in the address width, which
/// `put` writes in the message's family.
pub(crate) fn v3_report_message(
    msg_type: u8,
    records: &[Record],
    put: impl Fn(IpAddr, &mut Vec<u8>),
) -> Vec<u8> {
    let mut m = vec![msg_type, 0, 0, 0, 0, 0];
    m.extend_from_slice(&(records.len() as u16).to_be_bytes());
    for r in records {
        m.push(r.kind as u8);
        m.push(0);
        m.extend_from_slice(&(r.sources.len() as u16).to_be_bytes());
        put(r.group, &mut m);
        for s in &r.sources {
            put(*s, &mut m);
        }
    }
    m
}

/// The querier's protocol version, as told by its query's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryVersion {
    /// IGMPv1 (8-byte query with max response 0).
    V1,
    /// IGMPv2 or MLDv1.
    V2,
    /// IGMPv3 or MLDv2.
    V3,
}

/// A received membership query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Which protocol version the querier speaks.
    pub version: QueryVersion,
    /// The querier's address (IPv4 source, may be 0.0.0.0; IPv6 link-local).
    pub querier: IpAddr,
    /// Longest time a response may be delayed, in ms.
    pub max_resp_ms: u64,
    /// `None`: a general query; else the group asked about.
    pub group: Option<IpAddr>,
    /// Group-and-source-specific query: the sources asked about.
    pub sources: Vec<IpAddr>,
    /// The querier's robustness variable (version 3; 0 = not given).
    pub qrv: u8,
    /// The querier's query interval in seconds (version 3; 0 = not given).
    pub qqi_s: u32,
}

/// The version-dependent part of a query, as IGMP and MLD both read it:
/// the two parsers differ only in offsets and address width, so they share
/// this one reading of the source list and one way of making the [`Query`].
pub(crate) struct QueryTail {
    pub(crate) version: QueryVersion,
    pub(crate) max_resp_ms: u64,
    pub(crate) qrv: u8,
    pub(crate) qqi_s: u32,
    pub(crate) sources: Vec<IpAddr>,
}

impl QueryTail {
    /// A version 1/2 query: nothing but the maximum response time.
    pub(crate) fn older(version: QueryVersion, max_resp_ms: u64) -> QueryTail {
        QueryTail {
            version,
            max_resp_ms,
            qrv: 0,
            qqi_s: 0,
            sources: Vec::new(),
        }
    }

    /// A version 3 query (IGMPv3 or MLDv2): `m[at..]` starts with the
    /// S/QRV octet, the QQIC and the 16-bit source count, then the sources
    /// of `width` octets (4 or 16). `None` if the list overruns `m`.
    pub(crate) fn v3(m: &[u8], at: usize, width: usize, max_resp_ms: u64) -> Option<QueryTail> {
        let head = m.get(at..at + 4)?;
        let n = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let list = m.get(at + 4..at + 4 + width * n)?;
        let sources = list
            .chunks_exact(width)
            .map(|c| match <[u8; 4]>::try_from(c) {
                Ok(v4) => IpAddr::from(v4),
                Err(_) => {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(c);
                    IpAddr::from(o)
                }
            })
            .collect();
        Some(QueryTail {
            version: QueryVersion::V3,
            max_resp_ms,
            qrv: head[0] & 0x07,
            qqi_s: code::decode8(head[1]),
            sources,
        })
    }

    /// The query this tail completes.
    pub(crate) fn heard(self, querier: IpAddr, group: Option<IpAddr>) -> Heard {
        Heard::Query(Query {
            version: self.version,
            querier,
            max_resp_ms: self.max_resp_ms,
            group,
            sources: self.sources,
            qrv: self.qrv,
            qqi_s: self.qqi_s,
        })
    }
}

/// A received frame as the membership host understood it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heard {
    /// A membership query.
    Query(Query),
    /// Another host's report or leave (nothing to do: hosts of IGMPv3 and
    /// MLDv2 do not suppress their reports).
    OtherMessage,
    /// Not IGMP/MLD, or malformed (bad checksum, truncated): ignored.
    Malformed(&'static str),
}

/// Parses a received frame (Ethernet, at most one 802.1Q tag, IPv4 with
/// IGMP or IPv6 with MLD behind a Hop-by-Hop header).
pub fn parse(frame: &[u8]) -> Heard {
    let Some((ethertype, l3)) = frame::l3_of(frame) else {
        return Heard::Malformed("not an Ethernet frame");
    };
    match ethertype {
        frame::ETHERTYPE_IPV4 => igmp::parse(l3),
        frame::ETHERTYPE_IPV6 => mld::parse(l3),
        _ => Heard::Malformed("not IP"),
    }
}
