//! UDP header view and checksum (with the IPv4/IPv6 pseudo-header).

use super::checksum::Accum;
use super::field::{be16, set_be16};
use super::DropReason;

/// Where each field of the header is.
pub mod field {
    use crate::wire::field::Field;
    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Length of header and payload.
    pub const LENGTH: Field = 4..6;
    /// Checksum (0 = none, IPv4 only).
    pub const CHECKSUM: Field = 6..8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// The pseudo-header sum for UDP over IPv4 or IPv6 (`src`/`dst` are the 4-
/// or 16-byte addresses). The IPv6 form (32-bit length, 24 zero bits, next
/// header) sums to the same value as the IPv4 one, so one function serves.
#[inline]
pub fn pseudo_header(src: &[u8], dst: &[u8], udp_len: u16) -> Accum {
    let addrs = match (<[u8; 4]>::try_from(src), <[u8; 4]>::try_from(dst)) {
        // IPv4 (lengths known where this is inlined): two words, no loop.
        (Ok(s), Ok(d)) => Accum::new()
            .add_u32(u32::from_be_bytes(s))
            .add_u32(u32::from_be_bytes(d)),
        _ => Accum::new().add_bytes(src).add_bytes(dst),
    };
    addrs
        .add_u16(u16::from(super::ipv4::PROTO_UDP))
        .add_u16(udp_len)
}

/// A checked view of a UDP datagram. The buffer is the IP payload; the
/// datagram is its first `len()` bytes (anything after is ignored).
#[derive(Clone, Copy, Debug)]
pub struct UdpDatagram<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpDatagram<T> {
    /// Wraps the IP payload after checking the header fits and the length
    /// field is in `8..=payload length`; else [`DropReason::UdpBadLength`]
    /// (the IP layer has already proven the IP payload is in the buffer, so
    /// a mismatch here is a lying length, not a truncation).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, DropReason> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DropReason::UdpBadLength);
        }
        let len = usize::from(be16(b, field::LENGTH));
        if len < HEADER_LEN || len > b.len() {
            return Err(DropReason::UdpBadLength);
        }
        Ok(UdpDatagram { buffer })
    }

    #[inline]
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(self.b(), field::SRC_PORT)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be16(self.b(), field::DST_PORT)
    }

    /// The length field (header + payload).
    #[inline]
    pub fn len(&self) -> u16 {
        be16(self.b(), field::LENGTH)
    }

    /// Always false: a checked datagram has at least its header.
    #[inline]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The checksum field (0 = none, allowed on IPv4 only).
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.b(), field::CHECKSUM)
    }

    /// Header and payload: the bytes the checksum covers.
    #[inline]
    pub fn datagram(&self) -> &[u8] {
        &self.b()[..usize::from(self.len())]
    }

    /// The UDP payload.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.b()[HEADER_LEN..usize::from(self.len())]
    }

    /// The ones'-complement sum of the payload (a 16-bit digest of it),
    /// read off the checksum field: `None` when the field is 0 (no
    /// checksum, IPv4). `pseudo` is [`pseudo_header`] of the datagram.
    ///
    /// Why: the sender's checksum already sums the payload, so taking the
    /// pseudo-header and the header words out of it leaves the payload's
    /// sum at a few additions, without reading the payload. Two legs'
    /// copies of one packet differ in addresses and ports, never in this
    /// sum unless their payloads differ (the merge counts those as
    /// `payload_mismatch`). It is what the field claims: not verified
    /// here. Both ones'-complement zeros read as 0, so 0xffff never
    /// results.
    #[inline]
    pub fn payload_sum(&self, pseudo: Accum) -> Option<u16> {
        let check = self.checksum();
        if check == 0 {
            return None;
        }
        let known = pseudo
            .add_u16(self.src_port())
            .add_u16(self.dst_port())
            .add_u16(self.len())
            .fold();
        let sum = Accum::from_checksum(check).sub_u16(known).fold();
        Some(if sum == 0xffff { 0 } else { sum })
    }

    /// True when pseudo-header + datagram sum to ones'-complement zero.
    /// Does not special-case a zero field; the caller decides what 0 means.
    #[inline]
    pub fn verify_checksum(&self, pseudo: Accum) -> bool {
        pseudo.add_bytes(self.datagram()).fold() == 0xffff
    }

    /// The checksum this datagram should carry (0 is sent as 0xffff).
    #[inline]
    pub fn compute_checksum(&self, pseudo: Accum) -> u16 {
        let c = pseudo
            .add_bytes(self.datagram())
            .add_u16(!self.checksum())
            .checksum();
        if c == 0 {
            0xffff
        } else {
            c
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpDatagram<T> {
    /// Sets the source port. The checksum is NOT updated.
    #[inline]
    pub fn set_src_port(&mut self, port: u16) {
        set_be16(self.buffer.as_mut(), field::SRC_PORT, port);
    }

    /// Sets the destination port. The checksum is NOT updated.
    #[inline]
    pub fn set_dst_port(&mut self, port: u16) {
        set_be16(self.buffer.as_mut(), field::DST_PORT, port);
    }

    /// Stores a checksum.
    #[inline]
    pub fn set_checksum(&mut self, check: u16) {
        set_be16(self.buffer.as_mut(), field::CHECKSUM, check);
    }

    /// The UDP payload, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// Updates the checksum for covered words that changed by `delta`
    /// (RFC 1624: the sum of the new words minus the old ones), without
    /// reading the payload. A zero checksum (none) stays zero; a computed
    /// zero is stored as 0xffff (RFC 768). The one place the rewriter and
    /// the renumberer both adjust it.
    #[inline]
    pub fn adjust_checksum(&mut self, delta: Accum) {
        let check = self.checksum();
        if check != 0 {
            let c = Accum::from_checksum(check).add_accum(delta).checksum();
            self.set_checksum(if c == 0 { 0xffff } else { c });
        }
    }

    /// Recomputes the checksum from scratch.
    pub fn fill_checksum(&mut self, pseudo: Accum) {
        let c = self.compute_checksum(pseudo);
        self.set_checksum(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        let mut v = [0u8; 20];
        v[4..6].copy_from_slice(&12u16.to_be_bytes());
        for n in 0..12 {
            assert_eq!(
                UdpDatagram::new_checked(&v[..n]).err(),
                Some(DropReason::UdpBadLength),
                "len {n}"
            );
        }
        let u = UdpDatagram::new_checked(&v[..]).unwrap();
        assert_eq!(u.payload().len(), 4);
        assert_eq!(u.datagram().len(), 12);
        for bad in [0u16, 7, 21, 0xffff] {
            v[4..6].copy_from_slice(&bad.to_be_bytes());
            assert_eq!(
                UdpDatagram::new_checked(&v[..]).err(),
                Some(DropReason::UdpBadLength)
            );
        }
        v[4..6].copy_from_slice(&8u16.to_be_bytes());
        assert!(UdpDatagram::new_checked(&v[..])
            .unwrap()
            .payload()
            .is_empty());
    }

    #[test]
    fn checksum_roundtrip() {
        // RFC 768 checksum over a hand-built datagram, checked by a naive sum.
        let src = [192, 168, 0, 1];
        let dst = [239, 0, 0, 1];
        let mut v = vec![
            0x13, 0x88, 0x13, 0x89, 0x00, 0x0d, 0, 0, b'h', b'e', b'l', b'l', b'o',
        ];
        let pseudo = pseudo_header(&src, &dst, 13);
        let mut u = UdpDatagram::new_checked(&mut v[..]).unwrap();
        u.fill_checksum(pseudo);
        assert!(u.verify_checksum(pseudo));
        let mut words: Vec<u32> = vec![0xc0a8, 0x0001, 0xef00, 0x0001, 17, 13];
        let mut bytes = v.clone();
        bytes.push(0);
        words.extend(
            bytes
                .chunks(2)
                .map(|c| u32::from(c[0]) << 8 | u32::from(c[1])),
        );
        let mut s: u32 = words.iter().sum();
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        assert_eq!(s, 0xffff);
        v[9] ^= 1;
        assert!(!UdpDatagram::new_checked(&v[..])
            .unwrap()
            .verify_checksum(pseudo));
    }
}
