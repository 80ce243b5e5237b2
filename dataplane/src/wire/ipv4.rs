//! IPv4 header view (options allowed). `new_checked` proves the header and
//! the whole packet its total length claims are inside the buffer, so every
//! accessor after it is in bounds.

use std::net::Ipv4Addr;

use super::checksum;
use super::field::{array, be16, set_be16};
use super::DropReason;

/// Where each field of the header is.
pub mod field {
    use crate::wire::field::Field;
    /// Version (high nibble) and IHL (low nibble).
    pub const VER_IHL: usize = 0;
    /// DSCP (6 bits) and ECN (2 bits).
    pub const TOS: usize = 1;
    /// Total length of header and payload.
    pub const LENGTH: Field = 2..4;
    /// Identification.
    pub const IDENT: Field = 4..6;
    /// Flags (3 bits) and fragment offset (13 bits).
    pub const FLAGS_FRAG: Field = 6..8;
    /// Time to live.
    pub const TTL: usize = 8;
    /// Protocol of the payload.
    pub const PROTOCOL: usize = 9;
    /// Header checksum.
    pub const CHECKSUM: Field = 10..12;
    /// Source address.
    pub const SRC_ADDR: Field = 12..16;
    /// Destination address.
    pub const DST_ADDR: Field = 16..20;
}

/// Length of a header without options.
pub const MIN_HEADER_LEN: usize = field::DST_ADDR.end;
/// Protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// Protocol number of IGMP.
pub const PROTO_IGMP: u8 = 2;

/// A checked view of an IPv4 packet. The buffer may be longer than the
/// packet (Ethernet padding); [`Ipv4Packet::payload`] stops at total length.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps `buffer` (starting at the IP header) after checking: 20 bytes
    /// present, version 4, IHL >= 5, IHL*4 bytes present, total length >=
    /// header length and <= buffer length.
    ///
    /// Errors: [`DropReason::TooShort`] when the buffer ends early,
    /// [`DropReason::Ipv4BadHeader`] when the header contradicts itself.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, DropReason> {
        let b = buffer.as_ref();
        if b.len() < MIN_HEADER_LEN {
            return Err(DropReason::TooShort);
        }
        let hlen = usize::from(b[field::VER_IHL] & 0x0f) * 4;
        if b[field::VER_IHL] >> 4 != 4 || hlen < MIN_HEADER_LEN {
            return Err(DropReason::Ipv4BadHeader);
        }
        if b.len() < hlen {
            return Err(DropReason::TooShort);
        }
        let total = usize::from(be16(b, field::LENGTH));
        if total < hlen {
            return Err(DropReason::Ipv4BadHeader);
        }
        if total > b.len() {
            return Err(DropReason::TooShort);
        }
        Ok(Ipv4Packet { buffer })
    }

    #[inline]
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Header length in bytes (IHL * 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[field::VER_IHL] & 0x0f) * 4
    }

    /// The whole type-of-service byte (DSCP << 2 | ECN).
    #[inline]
    pub fn tos(&self) -> u8 {
        self.b()[field::TOS]
    }

    /// Differentiated services code point (6 bits).
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    /// Explicit congestion notification (2 bits).
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    /// Total length of header and payload.
    #[inline]
    pub fn total_len(&self) -> usize {
        usize::from(be16(self.b(), field::LENGTH))
    }

    /// Identification field.
    #[inline]
    pub fn ident(&self) -> u16 {
        be16(self.b(), field::IDENT)
    }

    /// More-fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        be16(self.b(), field::FLAGS_FRAG) & 0x2000 != 0
    }

    /// Don't-fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        be16(self.b(), field::FLAGS_FRAG) & 0x4000 != 0
    }

    /// Fragment offset in 8-byte units.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        be16(self.b(), field::FLAGS_FRAG) & 0x1fff
    }

    /// True for any fragment (first, middle or last).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.b()[field::TTL]
    }

    /// Protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.b()[field::PROTOCOL]
    }

    /// Header checksum as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.b(), field::CHECKSUM)
    }

    /// Source address bytes.
    #[inline]
    pub fn src_bytes(&self) -> [u8; 4] {
        array(self.b(), field::SRC_ADDR)
    }

    /// Destination address bytes.
    #[inline]
    pub fn dst_bytes(&self) -> [u8; 4] {
        array(self.b(), field::DST_ADDR)
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.src_bytes())
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.dst_bytes())
    }

    /// True when the header (options included) checksums to zero.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(&self.b()[..self.header_len()])
    }

    /// The options, if any.
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.b()[MIN_HEADER_LEN..self.header_len()]
    }

    /// The payload: from the end of the header to total length.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..self.total_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    #[inline]
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the DSCP, keeping ECN. The checksum is NOT updated.
    #[inline]
    pub fn set_dscp(&mut self, dscp: u8) {
        let ecn = self.ecn();
        self.bm()[field::TOS] = (dscp << 2) | ecn;
    }

    /// Sets the TTL. The checksum is NOT updated.
    #[inline]
    pub fn set_ttl(&mut self, ttl: u8) {
        self.bm()[field::TTL] = ttl;
    }

    /// Stores a header checksum.
    #[inline]
    pub fn set_checksum(&mut self, check: u16) {
        set_be16(self.bm(), field::CHECKSUM, check);
    }

    /// Sets the source address. The checksum is NOT updated.
    #[inline]
    pub fn set_src_bytes(&mut self, a: [u8; 4]) {
        self.bm()[field::SRC_ADDR].copy_from_slice(&a);
    }

    /// Sets the destination address. The checksum is NOT updated.
    #[inline]
    pub fn set_dst_bytes(&mut self, a: [u8; 4]) {
        self.bm()[field::DST_ADDR].copy_from_slice(&a);
    }

    /// Recomputes the header checksum from scratch.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let hlen = self.header_len();
        let c = checksum::checksum(&self.b()[..hlen]);
        self.set_checksum(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ihl: u8, total: u16) -> Vec<u8> {
        let mut v = vec![0u8; usize::from(total).max(usize::from(ihl) * 4).max(20)];
        v[0] = 0x40 | ihl;
        v[1] = 0xb8;
        v[2..4].copy_from_slice(&total.to_be_bytes());
        v[8] = 64;
        v[9] = PROTO_UDP;
        v[12..16].copy_from_slice(&[10, 0, 0, 1]);
        v[16..20].copy_from_slice(&[239, 1, 2, 3]);
        v
    }

    #[test]
    fn fields() {
        let mut v = header(6, 30);
        v[6] = 0x40;
        let mut p = Ipv4Packet::new_checked(&mut v[..]).unwrap();
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options().len(), 4);
        assert_eq!(p.payload().len(), 6);
        assert_eq!(p.dscp(), 46);
        assert_eq!(p.ecn(), 0);
        assert!(p.dont_frag() && !p.is_fragment());
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(239, 1, 2, 3));
        p.set_ttl(3);
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert!(p.verify_checksum());
    }

    #[test]
    fn every_truncation_is_too_short() {
        let v = header(7, 40);
        assert!(Ipv4Packet::new_checked(&v[..]).is_ok());
        for n in 0..v.len() {
            assert_eq!(
                Ipv4Packet::new_checked(&v[..n]).err(),
                Some(DropReason::TooShort),
                "len {n}"
            );
        }
    }

    #[test]
    fn bad_headers() {
        for ihl in 0..5 {
            let v = header(ihl, 40);
            assert_eq!(
                Ipv4Packet::new_checked(&v[..]).err(),
                Some(DropReason::Ipv4BadHeader)
            );
        }
        let mut v = header(5, 40);
        v[0] = 0x65;
        assert_eq!(
            Ipv4Packet::new_checked(&v[..]).err(),
            Some(DropReason::Ipv4BadHeader)
        );
        // Total length shorter than the header.
        let mut v = header(6, 40);
        v[2..4].copy_from_slice(&23u16.to_be_bytes());
        assert_eq!(
            Ipv4Packet::new_checked(&v[..]).err(),
            Some(DropReason::Ipv4BadHeader)
        );
        // Total length beyond the buffer: a lie, reported as truncation.
        v[2..4].copy_from_slice(&41u16.to_be_bytes());
        assert_eq!(
            Ipv4Packet::new_checked(&v[..]).err(),
            Some(DropReason::TooShort)
        );
        // Padding after total length is fine and excluded from the payload.
        v[2..4].copy_from_slice(&30u16.to_be_bytes());
        assert_eq!(Ipv4Packet::new_checked(&v[..]).unwrap().payload().len(), 6);
    }

    #[test]
    fn fragments() {
        let mut v = header(5, 20);
        v[6] = 0x20;
        assert!(Ipv4Packet::new_checked(&v[..]).unwrap().is_fragment());
        v[6] = 0x00;
        v[7] = 0x01;
        assert!(Ipv4Packet::new_checked(&v[..]).unwrap().is_fragment());
        v[6] = 0x40;
        v[7] = 0x00;
        assert!(!Ipv4Packet::new_checked(&v[..]).unwrap().is_fragment());
    }
}
