//! IPv6 fixed-header view. Extension headers are not walked: a packet whose
//! next header is not the transport is dropped (see [`is_extension_header`]).

use std::net::Ipv6Addr;

use super::field::{array, be16, be32};
use super::DropReason;

/// Where each field of the fixed header is.
pub mod field {
    use crate::wire::field::Field;
    /// Version (4 bits), traffic class (8), flow label (20).
    pub const VER_TC_FLOW: Field = 0..4;
    /// Payload length.
    pub const LENGTH: Field = 4..6;
    /// Next header.
    pub const NEXT_HEADER: usize = 6;
    /// Hop limit.
    pub const HOP_LIMIT: usize = 7;
    /// Source address.
    pub const SRC_ADDR: Field = 8..24;
    /// Destination address.
    pub const DST_ADDR: Field = 24..40;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = field::DST_ADDR.end;
/// Next-header value of UDP.
pub const NEXT_HEADER_UDP: u8 = 17;

/// True for the next-header values that introduce an IPv6 extension header
/// (RFC 8200 and the IANA registry), as opposed to a transport protocol.
pub const fn is_extension_header(next_header: u8) -> bool {
    matches!(
        next_header,
        0 | 43 | 44 | 50 | 51 | 60 | 135 | 139 | 140 | 253 | 254
    )
}

/// A checked view of an IPv6 packet: fixed header plus the payload length it
/// claims are inside the buffer (which may be longer: Ethernet padding).
#[derive(Clone, Copy, Debug)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps `buffer` (starting at the IPv6 header) after checking: 40 bytes
    /// present ([`DropReason::TooShort`]), version 6
    /// ([`DropReason::Ipv6BadHeader`]), payload length within the buffer
    /// ([`DropReason::TooShort`]).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, DropReason> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DropReason::TooShort);
        }
        if b[0] >> 4 != 6 {
            return Err(DropReason::Ipv6BadHeader);
        }
        let plen = usize::from(be16(b, field::LENGTH));
        if HEADER_LEN + plen > b.len() {
            return Err(DropReason::TooShort);
        }
        Ok(Ipv6Packet { buffer })
    }

    #[inline]
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Traffic class (DSCP << 2 | ECN).
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (be32(self.b(), field::VER_TC_FLOW) >> 20) as u8
    }

    /// Differentiated services code point (6 bits).
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    /// Flow label (20 bits).
    #[inline]
    pub fn flow_label(&self) -> u32 {
        be32(self.b(), field::VER_TC_FLOW) & 0x000f_ffff
    }

    /// Payload length.
    #[inline]
    pub fn payload_len(&self) -> usize {
        usize::from(be16(self.b(), field::LENGTH))
    }

    /// Next header (the transport protocol, or an extension header).
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.b()[field::NEXT_HEADER]
    }

    /// Hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.b()[field::HOP_LIMIT]
    }

    /// Source address bytes.
    #[inline]
    pub fn src_bytes(&self) -> [u8; 16] {
        array(self.b(), field::SRC_ADDR)
    }

    /// Destination address bytes.
    #[inline]
    pub fn dst_bytes(&self) -> [u8; 16] {
        array(self.b(), field::DST_ADDR)
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.src_bytes())
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.dst_bytes())
    }

    /// The payload: `payload_len` bytes after the fixed header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.b()[HEADER_LEN..HEADER_LEN + self.payload_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Sets the traffic class.
    #[inline]
    pub fn set_traffic_class(&mut self, tc: u8) {
        // Traffic class straddles bytes 0 and 1: vvvv tttt | tttt ffff.
        let b = &mut self.buffer.as_mut()[field::VER_TC_FLOW];
        b[0] = 0x60 | (tc >> 4);
        b[1] = (tc << 4) | (b[1] & 0x0f);
    }

    /// Sets the DSCP, keeping ECN.
    #[inline]
    pub fn set_dscp(&mut self, dscp: u8) {
        let tc = (dscp << 2) | (self.traffic_class() & 0x03);
        self.set_traffic_class(tc);
    }

    /// Sets the hop limit.
    #[inline]
    pub fn set_hop_limit(&mut self, hops: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = hops;
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_bytes(&mut self, a: &[u8; 16]) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(a);
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_bytes(&mut self, a: &[u8; 16]) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(plen: u16) -> Vec<u8> {
        let mut v = vec![0u8; HEADER_LEN + usize::from(plen)];
        v[0..4].copy_from_slice(&[0x6b, 0x81, 0x23, 0x45]);
        v[4..6].copy_from_slice(&plen.to_be_bytes());
        v[6] = NEXT_HEADER_UDP;
        v[7] = 9;
        v[8] = 0x20;
        v[24] = 0xff;
        v
    }

    #[test]
    fn fields() {
        let mut v = packet(10);
        v.push(0); // padding
        let mut p = Ipv6Packet::new_checked(&mut v[..]).unwrap();
        assert_eq!(p.traffic_class(), 0xb8);
        assert_eq!(p.dscp(), 46);
        assert_eq!(p.flow_label(), 0x12345);
        assert_eq!(p.payload().len(), 10);
        assert_eq!(p.next_header(), 17);
        assert_eq!(p.hop_limit(), 9);
        assert_eq!(p.src_bytes()[0], 0x20);
        assert!(p.dst_addr().is_multicast());
        p.set_dscp(10);
        assert_eq!(p.traffic_class(), 40);
        assert_eq!(p.flow_label(), 0x12345);
        p.set_hop_limit(1);
        assert_eq!(p.hop_limit(), 1);
    }

    #[test]
    fn truncation_and_bad_version() {
        let v = packet(12);
        for n in 0..v.len() {
            assert_eq!(
                Ipv6Packet::new_checked(&v[..n]).err(),
                Some(DropReason::TooShort),
                "len {n}"
            );
        }
        let mut v = packet(0);
        v[0] = 0x4b;
        assert_eq!(
            Ipv6Packet::new_checked(&v[..]).err(),
            Some(DropReason::Ipv6BadHeader)
        );
    }

    #[test]
    fn extension_headers() {
        for nh in [0u8, 43, 44, 50, 51, 60] {
            assert!(is_extension_header(nh));
        }
        for nh in [6u8, 17, 58] {
            assert!(!is_extension_header(nh));
        }
    }
}
