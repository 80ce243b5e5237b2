//! The one-call classifier parse of the rx hot path: Ethernet, at most one
//! VLAN tag, IPv4 or IPv6, UDP — validated, with the addresses, ports and
//! offsets the classifier, the sequence extractor and the rewriter need.
//!
//! This is the only header walk: the [`FrameOffsets`] it finds travel with
//! the packet (in the mbuf) to the renumberer and the rewriter, which never
//! walk the headers again.

use std::net::IpAddr;
use std::ops::Range;

use super::checksum::Accum;
use super::ethernet::{self, EthernetFrame};
use super::field::be16;
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
    /// Verify it in software, but not now: the frame's integrity is
    /// [`Integrity::Pending`] (unless the field is zero) and [`verify_udp`]
    /// runs later, only for the copies that may be sent.
    Deferred,
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
    /// Everything but the UDP checksum holds; that one is still to be
    /// verified ([`L4Check::Deferred`], then [`verify_udp`]). Such a frame
    /// must not be sent before it is.
    Pending,
}

/// Where the headers of a frame that passed [`parse_frame`] are: the one
/// source of truth for the rx stage, the renumberer and the rewriter.
///
/// Why a value of its own: a sent packet used to be located three times
/// (the rx parse, then the renumberer and the rewriter each walking the
/// same headers again). The walk's result is small enough to ride in the
/// packet buffer ([`FrameOffsets::to_bits`]: one 64-bit word), so the tx
/// side starts from it. Whoever uses it on a buffer checks it still fits
/// ([`FrameOffsets::fits`]), so a stale value is an error, never a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameOffsets {
    l3: u8,
    l4: u8,
    udp_len: u16,
    v6: bool,
}

/// Marks a word written by [`FrameOffsets::to_bits`] (top byte).
const OFFSETS_MARK: u64 = 0xa5 << 56;

impl FrameOffsets {
    /// Start of the IP header (14, or 18 behind one VLAN tag).
    #[inline]
    pub fn l3(&self) -> usize {
        usize::from(self.l3)
    }

    /// Start of the UDP header.
    #[inline]
    pub fn l4(&self) -> usize {
        usize::from(self.l4)
    }

    /// The UDP length field: header and payload.
    #[inline]
    pub fn udp_len(&self) -> usize {
        usize::from(self.udp_len)
    }

    /// The UDP datagram (header and payload) within the frame.
    #[inline]
    pub fn udp(&self) -> Range<usize> {
        self.l4()..self.l4() + self.udp_len()
    }

    /// The UDP payload within the frame.
    #[inline]
    pub fn payload(&self) -> Range<usize> {
        self.l4() + udp::HEADER_LEN..self.l4() + self.udp_len()
    }

    /// IPv6 (else IPv4).
    #[inline]
    pub fn is_v6(&self) -> bool {
        self.v6
    }

    /// The frame carries one 802.1Q tag (its TCI is at bytes 14..16).
    #[inline]
    pub fn is_tagged(&self) -> bool {
        self.l3() == ethernet::HEADER_LEN + vlan::TAG_LEN
    }

    /// True when these offsets still describe `frame`: the datagram ends
    /// inside it and the ethertype(s) in front of the IP header are the
    /// ones the parse found. What a consumer checks before using them on a
    /// buffer that may have changed hands (a few loads, no header walk).
    #[inline]
    pub fn fits(&self, frame: &[u8]) -> bool {
        let want = if self.v6 {
            ethernet::ETHERTYPE_IPV6
        } else {
            ethernet::ETHERTYPE_IPV4
        };
        // `udp().end` >= l3 + 28 > 16: every range below is in bounds.
        frame.len() >= self.udp().end
            && be16(frame, self.l3() - 2..self.l3()) == want
            && (!self.is_tagged()
                || be16(frame, ethernet::field::ETHERTYPE) == ethernet::ETHERTYPE_VLAN)
    }

    /// The frame's IP source address and UDP source port.
    #[inline]
    pub fn source(&self, frame: &[u8]) -> Option<(IpAddr, u16)> {
        let ip = frame.get(self.l3()..)?;
        let addr = if self.v6 {
            IpAddr::V6(Ipv6Packet::new_checked(ip).ok()?.src_addr())
        } else {
            IpAddr::V4(Ipv4Packet::new_checked(ip).ok()?.src_addr())
        };
        let port = UdpDatagram::new_checked(frame.get(self.l4()..)?)
            .ok()?
            .src_port();
        Some((addr, port))
    }

    /// The same frame with a datagram `len` bytes long (header included):
    /// what a rewrite that shortens the payload in place hands on.
    #[inline]
    pub const fn with_udp_len(self, len: u16) -> FrameOffsets {
        FrameOffsets {
            udp_len: len,
            ..self
        }
    }

    /// One word to store with the packet (never 0).
    #[inline]
    pub const fn to_bits(self) -> u64 {
        OFFSETS_MARK
            | (self.v6 as u64) << 48
            | (self.l3 as u64) << 32
            | (self.l4 as u64) << 16
            | self.udp_len as u64
    }

    /// The offsets [`FrameOffsets::to_bits`] stored, or `None` for a word it
    /// did not write (a buffer that never went through [`parse_frame`]).
    #[inline]
    pub const fn from_bits(bits: u64) -> Option<FrameOffsets> {
        let at = FrameOffsets {
            l3: (bits >> 32) as u8,
            l4: (bits >> 16) as u8,
            udp_len: bits as u16,
            v6: (bits >> 48) & 1 == 1,
        };
        let l3 = at.l3 as usize;
        let plausible = bits & (0xff << 56) == OFFSETS_MARK
            && bits & (0xfe_ff << 40) == 0
            && (l3 == ethernet::HEADER_LEN || l3 == ethernet::HEADER_LEN + vlan::TAG_LEN)
            && at.l4 as usize >= l3 + ipv4::MIN_HEADER_LEN
            && at.udp_len as usize >= udp::HEADER_LEN;
        if plausible {
            Some(at)
        } else {
            None
        }
    }
}

/// What the classifier learns from a frame.
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
    /// Where the IP and UDP headers and the UDP payload are.
    pub offsets: FrameOffsets,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Checksum verdict.
    pub integrity: Integrity,
    /// The UDP payload's 16-bit sum as the checksum field claims it
    /// ([`UdpDatagram::payload_sum`]; `None`: no checksum): what the merge
    /// compares two legs' copies of one packet by.
    pub payload_sum: Option<u16>,
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
    let pseudo = udp::pseudo_header(&ip.src_bytes(), &ip.dst_bytes(), dgram.len());
    let integrity = if !ip.verify_checksum() {
        Integrity::BadIpChecksum
    } else if dgram.checksum() == 0 {
        Integrity::Ok
    } else {
        udp_integrity(&dgram, l4, pseudo)
    };
    let facts = IpFacts {
        src: IpAddr::V4(ip.src_addr()),
        dst: IpAddr::V4(ip.dst_addr()),
        l3,
        l4: l3 + ip.header_len(),
        ttl: ip.ttl(),
    };
    Ok(info(vlan, facts, (&dgram, pseudo), integrity))
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
    let pseudo = udp::pseudo_header(&ip.src_bytes(), &ip.dst_bytes(), dgram.len());
    let integrity = if dgram.checksum() == 0 {
        Integrity::BadUdpChecksum
    } else {
        udp_integrity(&dgram, l4, pseudo)
    };
    let facts = IpFacts {
        src: IpAddr::V6(ip.src_addr()),
        dst: IpAddr::V6(ip.dst_addr()),
        l3,
        l4: l3 + ipv6::HEADER_LEN,
        ttl: ip.hop_limit(),
    };
    Ok(info(vlan, facts, (&dgram, pseudo), integrity))
}

#[inline]
fn udp_integrity(dgram: &UdpDatagram<&[u8]>, l4: L4Check, pseudo: Accum) -> Integrity {
    let good = match l4 {
        L4Check::Software => dgram.verify_checksum(pseudo),
        L4Check::Deferred => return Integrity::Pending,
        L4Check::Hardware { good } => good,
        L4Check::Skip => true,
    };
    if good {
        Integrity::Ok
    } else {
        Integrity::BadUdpChecksum
    }
}

/// The deferred half of [`parse_frame`] with [`L4Check::Software`]: true
/// when the UDP checksum of `frame` (headers at `at`, as `parse_frame`
/// found them) holds over the pseudo-header and the whole datagram. False
/// too when `at` does not fit `frame`. Only for a frame whose checksum field
/// is not zero (`parse_frame` judged the zero cases already).
#[inline]
pub fn verify_udp(frame: &[u8], at: FrameOffsets) -> bool {
    if !at.fits(frame) {
        return false;
    }
    let ip = &frame[at.l3()..];
    let pseudo = if at.is_v6() {
        match Ipv6Packet::new_checked(ip) {
            Ok(p) => udp::pseudo_header(&p.src_bytes(), &p.dst_bytes(), at.udp_len() as u16),
            Err(_) => return false,
        }
    } else {
        match Ipv4Packet::new_checked(ip) {
            Ok(p) => udp::pseudo_header(&p.src_bytes(), &p.dst_bytes(), at.udp_len() as u16),
            Err(_) => return false,
        }
    };
    UdpDatagram::new_checked(&frame[at.l4()..]).is_ok_and(|d| d.verify_checksum(pseudo))
}

/// What the IP header of either family told the parse: addresses, where
/// it and the UDP header start, and the TTL (IPv4) or hop limit (IPv6).
struct IpFacts {
    src: IpAddr,
    dst: IpAddr,
    l3: usize,
    l4: usize,
    ttl: u8,
}

// Offsets fit in u8: l3 <= 18, l4 <= 18 + 60.
#[inline]
fn info(
    vlan: Option<u16>,
    ip: IpFacts,
    (dgram, pseudo): (&UdpDatagram<&[u8]>, Accum),
    integrity: Integrity,
) -> FrameInfo {
    FrameInfo {
        vlan,
        src_ip: ip.src,
        dst_ip: ip.dst,
        src_port: dgram.src_port(),
        dst_port: dgram.dst_port(),
        offsets: FrameOffsets {
            l3: ip.l3 as u8,
            l4: ip.l4 as u8,
            udp_len: dgram.len(),
            v6: matches!(ip.dst, IpAddr::V6(_)),
        },
        ttl: ip.ttl,
        integrity,
        payload_sum: dgram.payload_sum(pseudo),
    }
}
