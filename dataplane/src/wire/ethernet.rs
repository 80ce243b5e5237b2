//! Ethernet II header view, plus the IP-multicast-to-MAC mapping the
//! rewriter uses for the output's destination MAC.

use std::net::IpAddr;

use super::field::{array, be16, set_be16};
use super::DropReason;

/// Where each field of the header is.
pub mod field {
    use crate::wire::field::Field;
    /// Destination MAC.
    pub const DST_MAC: Field = 0..6;
    /// Source MAC.
    pub const SRC_MAC: Field = 6..12;
    /// Ethertype (or the TPID of a VLAN tag).
    pub const ETHERTYPE: Field = 12..14;
    /// Both MACs (what the rewriter replaces as one template).
    pub const MACS: Field = 0..12;
}

/// Length of an Ethernet II header (two MACs and the ethertype).
pub const HEADER_LEN: usize = field::ETHERTYPE.end;
/// Ethertype of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Ethertype of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Ethertype of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// TPID of an 802.1Q customer VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// TPID of an 802.1ad service tag (QinQ outer tag).
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ TPID still seen on some switches.
pub const ETHERTYPE_QINQ_LEGACY: u16 = 0x9100;

/// A checked view of an Ethernet II frame: at least [`HEADER_LEN`] bytes.
#[derive(Clone, Copy, Debug)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps `buffer` after checking it holds a whole Ethernet header.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, DropReason> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(DropReason::TooShort);
        }
        Ok(EthernetFrame { buffer })
    }

    /// Destination MAC.
    #[inline]
    pub fn dst_mac(&self) -> [u8; 6] {
        array(self.buffer.as_ref(), field::DST_MAC)
    }

    /// Source MAC.
    #[inline]
    pub fn src_mac(&self) -> [u8; 6] {
        array(self.buffer.as_ref(), field::SRC_MAC)
    }

    /// The ethertype (or TPID, when a VLAN tag follows).
    #[inline]
    pub fn ethertype(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ETHERTYPE)
    }

    /// Everything after the 14-byte header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination MAC.
    #[inline]
    pub fn set_dst_mac(&mut self, mac: [u8; 6]) {
        self.buffer.as_mut()[field::DST_MAC].copy_from_slice(&mac);
    }

    /// Sets the source MAC.
    #[inline]
    pub fn set_src_mac(&mut self, mac: [u8; 6]) {
        self.buffer.as_mut()[field::SRC_MAC].copy_from_slice(&mac);
    }

    /// Sets both MACs from one 12-byte template (destination, source).
    #[inline]
    pub fn set_macs(&mut self, macs: &[u8; 12]) {
        self.buffer.as_mut()[field::MACS].copy_from_slice(macs);
    }

    /// Sets the ethertype.
    #[inline]
    pub fn set_ethertype(&mut self, ethertype: u16) {
        set_be16(self.buffer.as_mut(), field::ETHERTYPE, ethertype);
    }

    /// Everything after the 14-byte header, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

/// The MAC a multicast group is delivered to: `01:00:5e` + the low 23 bits
/// of an IPv4 group (RFC 1112), `33:33` + the low 32 bits of an IPv6 group
/// (RFC 2464). `None` for a unicast or broadcast address, which has no such
/// mapping (the caller must be given a MAC).
pub fn multicast_mac(group: IpAddr) -> Option<[u8; 6]> {
    model::MacAddr::multicast(group).map(|m| m.octets())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_truncation() {
        let mut f = [0u8; 20];
        f[0..6].copy_from_slice(&[1, 2, 3, 4, 5, 6]);
        f[6..12].copy_from_slice(&[7, 8, 9, 10, 11, 12]);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        for n in 0..HEADER_LEN {
            assert_eq!(
                EthernetFrame::new_checked(&f[..n]).err(),
                Some(DropReason::TooShort)
            );
        }
        let e = EthernetFrame::new_checked(&f[..]).unwrap();
        assert_eq!(e.dst_mac(), [1, 2, 3, 4, 5, 6]);
        assert_eq!(e.src_mac(), [7, 8, 9, 10, 11, 12]);
        assert_eq!(e.ethertype(), ETHERTYPE_IPV4);
        assert_eq!(e.payload().len(), 6);
        let mut e = EthernetFrame::new_checked(&mut f[..]).unwrap();
        e.set_dst_mac([0xaa; 6]);
        e.set_src_mac([0xbb; 6]);
        e.set_ethertype(ETHERTYPE_IPV6);
        assert_eq!(
            &f[..14],
            &[0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0x86, 0xdd]
        );
    }

    #[test]
    fn multicast_mapping() {
        assert_eq!(
            multicast_mac("239.129.2.3".parse().unwrap()),
            Some([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03])
        );
        assert_eq!(
            multicast_mac("224.255.254.253".parse().unwrap()),
            Some([0x01, 0x00, 0x5e, 0x7f, 0xfe, 0xfd])
        );
        assert_eq!(
            multicast_mac("ff3e::8000:1234".parse().unwrap()),
            Some([0x33, 0x33, 0x80, 0x00, 0x12, 0x34])
        );
        assert_eq!(multicast_mac("10.0.0.1".parse().unwrap()), None);
        assert_eq!(multicast_mac("2001:db8::1".parse().unwrap()), None);
    }
}
