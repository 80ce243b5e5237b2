//! Where the headers of a frame are, re-derived by the rewriter itself so it
//! never trusts offsets computed earlier for a buffer that may have changed.

use crate::wire::ethernet::{self, EthernetFrame};
use crate::wire::ipv4::{self, Ipv4Packet};
use crate::wire::ipv6::{self, Ipv6Packet};
use crate::wire::udp::UdpDatagram;
use crate::wire::vlan::{self, VlanTag};
use crate::wire::DropReason;

/// Offsets of one Ethernet/[VLAN]/IP/UDP frame. Invariant (from the checked
/// views): `l4 + udp_len <= frame length` and `udp_len >= 8`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    /// The VLAN TCI, if tagged.
    pub tci: Option<u16>,
    /// Start of the IP header.
    pub l3: usize,
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// Start of the UDP header.
    pub l4: usize,
    /// UDP length field.
    pub udp_len: usize,
}

/// Structural checks only (no checksums): Ethernet, one tag, IPv4 (not a
/// fragment) or IPv6, UDP with a consistent length.
#[inline]
pub(crate) fn locate(b: &[u8]) -> Result<Layout, DropReason> {
    let eth = EthernetFrame::new_checked(b)?;
    let (tci, ethertype, l3) = match eth.ethertype() {
        ethernet::ETHERTYPE_VLAN => {
            let tag = VlanTag::new_checked(eth.payload())?;
            (
                Some(tag.tci()),
                tag.ethertype(),
                ethernet::HEADER_LEN + vlan::TAG_LEN,
            )
        }
        t => (None, t, ethernet::HEADER_LEN),
    };
    let (v6, l4, ip_end) = match ethertype {
        ethernet::ETHERTYPE_IPV4 => {
            let ip = Ipv4Packet::new_checked(&b[l3..])?;
            if ip.is_fragment() {
                return Err(DropReason::Ipv4Fragment);
            }
            if ip.protocol() != ipv4::PROTO_UDP {
                return Err(DropReason::NotUdp);
            }
            (false, l3 + ip.header_len(), l3 + ip.total_len())
        }
        ethernet::ETHERTYPE_IPV6 => {
            let ip = Ipv6Packet::new_checked(&b[l3..])?;
            if ip.next_header() != ipv6::NEXT_HEADER_UDP {
                return Err(DropReason::NotUdp);
            }
            (
                true,
                l3 + ipv6::HEADER_LEN,
                l3 + ipv6::HEADER_LEN + ip.payload_len(),
            )
        }
        ethernet::ETHERTYPE_VLAN | ethernet::ETHERTYPE_QINQ | ethernet::ETHERTYPE_QINQ_LEGACY => {
            return Err(DropReason::QinQ)
        }
        _ => return Err(DropReason::NotIp),
    };
    // `l4 <= ip_end <= b.len()`: the IP view proved it.
    let udp = UdpDatagram::new_checked(&b[l4..ip_end])?;
    Ok(Layout {
        tci,
        l3,
        v6,
        l4,
        udp_len: usize::from(udp.len()),
    })
}
