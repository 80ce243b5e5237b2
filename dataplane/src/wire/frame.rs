//! The one-call classifier parse of the rx hot path: Ethernet, at most one
//! VLAN tag, IPv4 or IPv6, UDP — validated, with the addresses, ports and
//! offsets the classifier, the sequence extractor and the rewriter need.

use std::net::IpAddr;

use super::ethernet::{self, EthernetFrame};
use super::ipv4::{self, Ipv4Packet};
use super::ipv6::{self, Ipv6Packet};
use super::udp::{self, UdpDatagram};
use super::vlan::{self, VlanTag};
use super::DropReason;

/// How the UDP checksum is to be judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4Check {
    /// Verify it in software (pseudo-header + whole datagram).
    Software,
    /// The NIC verified it; `good` is its verdict.
    Hardware {
        /// True when the NIC found the checksum correct.
        good: bool,
    },
    /// Do not judge it (trusted source, or benchmarking).
    Skip,
}

/// Whether the frame's checksums hold. A corrupt frame is still classified
/// (so the merge can fail over to the other leg at once and count it) but
/// must never be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integrity {
    /// Checksums good (or not checked, per [`L4Check`]).
    Ok,
    /// The IPv4 header checksum is wrong (the UDP one was not examined).
    BadIpChecksum,
    /// The UDP checksum is wrong, or zero on IPv6 (where it is mandatory).
    BadUdpChecksum,
}

/// What the classifier learns from a frame. Offsets are from the start of
/// the buffer; the UDP payload is `payload_offset .. payload_offset +
/// payload_len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// The 802.1Q TCI, if the frame carried one tag.
    pub vlan: Option<u16>,
    /// IP source address.
    pub src_ip: IpAddr,
    /// IP destination address (the multicast group).
    pub dst_ip: IpAddr,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
    /// Start of the IP header.
    pub l3_offset: u16,
    /// Start of the UDP header.
    pub l4_offset: u16,
    /// Start of the UDP payload.
    pub payload_offset: u16,
    /// Length of the UDP payload (from the UDP length field).
    pub payload_len: u16,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Checksum verdict.
    pub integrity: Integrity,
}

/// Parses and validates a received frame. Never allocates, never panics.
///
/// Checks, in order: Ethernet header; ethertype (one 0x8100 tag allowed,
/// stacked tags -> `QinQ`; ARP -> `Arp`; anything but IPv4/IPv6 -> `NotIp`);
/// the IP header and the length it claims (see [`Ipv4Packet::new_checked`],
/// [`Ipv6Packet::new_checked`]); fragments; the transport (`Igmp`,
/// `Ipv6ExtHeader`, `NotUdp`); the UDP length. Then integrity: the IPv4
/// header checksum is always verified in software (20-60 bytes); the UDP
/// checksum per `l4`. A zero UDP checksum on IPv4 means "none" and is `Ok`
/// whatever `l4` says; on IPv6 it is `BadUdpChecksum`.
pub fn parse_frame(buf: &[u8], l4: L4Check) -> Result<FrameInfo, DropReason> {
    let eth = EthernetFrame::new_checked(buf)?;
    let (vlan, ethertype, l3) = match eth.ethertype() {
        ethernet::ETHERTYPE_VLAN => {
            let tag = VlanTag::new_checked(eth.payload())?;
            match tag.ethertype() {
                ethernet::ETHERTYPE_VLAN
                | ethernet::ETHERTYPE_QINQ
                | ethernet::ETHERTYPE_QINQ_LEGACY => return Err(DropReason::QinQ),
                t => (Some(tag.tci()), t, ethernet::HEADER_LEN + vlan::TAG_LEN),
            }
        }
        ethernet::ETHERTYPE_QINQ | ethernet::ETHERTYPE_QINQ_LEGACY => return Err(DropReason::QinQ),
        t => (None, t, ethernet::HEADER_LEN),
    };
    // `l3 <= buf.len()` holds: the Ethernet/VLAN views checked it.
    let l3_buf = &buf[l3..];
    match ethertype {
        ethernet::ETHERTYPE_IPV4 => parse_ipv4(l3_buf, l3, vlan, l4),
        ethernet::ETHERTYPE_IPV6 => parse_ipv6(l3_buf, l3, vlan, l4),
        ethernet::ETHERTYPE_ARP => Err(DropReason::Arp),
        _ => Err(DropReason::NotIp),
    }
}

#[inline]
fn parse_ipv4(
    b: &[u8],
    l3: usize,
    vlan: Option<u16>,
    l4: L4Check,
) -> Result<FrameInfo, DropReason> {
    let ip = Ipv4Packet::new_checked(b)?;
    if ip.is_fragment() {
        return Err(DropReason::Ipv4Fragment);
    }
    match ip.protocol() {
        ipv4::PROTO_UDP => {}
        ipv4::PROTO_IGMP => return Err(DropReason::Igmp),
        _ => return Err(DropReason::NotUdp),
    }
    let dgram = UdpDatagram::new_checked(ip.payload())?;
    let integrity = if !ip.verify_checksum() {
        Integrity::BadIpChecksum
    } else if dgram.checksum() == 0 {
        Integrity::Ok
    } else {
        udp_integrity(&dgram, l4, &ip.src_bytes(), &ip.dst_bytes())
    };
    Ok(info(
        vlan,
        IpAddr::V4(ip.src_addr()),
        IpAddr::V4(ip.dst_addr()),
        l3,
        l3 + ip.header_len(),
        &dgram,
        ip.ttl(),
        integrity,
    ))
}

#[inline]
fn parse_ipv6(
    b: &[u8],
    l3: usize,
    vlan: Option<u16>,
    l4: L4Check,
) -> Result<FrameInfo, DropReason> {
    let ip = Ipv6Packet::new_checked(b)?;
    match ip.next_header() {
        ipv6::NEXT_HEADER_UDP => {}
        nh if ipv6::is_extension_header(nh) => return Err(DropReason::Ipv6ExtHeader),
        _ => return Err(DropReason::NotUdp),
    }
    let dgram = UdpDatagram::new_checked(ip.payload())?;
    let integrity = if dgram.checksum() == 0 {
        Integrity::BadUdpChecksum
    } else {
        udp_integrity(&dgram, l4, &ip.src_bytes(), &ip.dst_bytes())
    };
    Ok(info(
        vlan,
        IpAddr::V6(ip.src_addr()),
        IpAddr::V6(ip.dst_addr()),
        l3,
        l3 + ipv6::HEADER_LEN,
        &dgram,
        ip.hop_limit(),
        integrity,
    ))
}

#[inline]
fn udp_integrity(dgram: &UdpDatagram<&[u8]>, l4: L4Check, src: &[u8], dst: &[u8]) -> Integrity {
    let good = match l4 {
        L4Check::Software => dgram.verify_checksum(udp::pseudo_header(src, dst, dgram.len())),
        L4Check::Hardware { good } => good,
        L4Check::Skip => true,
    };
    if good {
        Integrity::Ok
    } else {
        Integrity::BadUdpChecksum
    }
}

// Offsets fit in u16: l4 <= 18 + 60 and the UDP length field is a u16.
#[allow(clippy::too_many_arguments)]
#[inline]
fn info(
    vlan: Option<u16>,
    src_ip: IpAddr,
    dst_ip: IpAddr,
    l3: usize,
    l4: usize,
    dgram: &UdpDatagram<&[u8]>,
    ttl: u8,
    integrity: Integrity,
) -> FrameInfo {
    FrameInfo {
        vlan,
        src_ip,
        dst_ip,
        src_port: dgram.src_port(),
        dst_port: dgram.dst_port(),
        l3_offset: l3 as u16,
        l4_offset: l4 as u16,
        payload_offset: (l4 + udp::HEADER_LEN) as u16,
        payload_len: dgram.len() - udp::HEADER_LEN as u16,
        ttl,
        integrity,
    }
}
