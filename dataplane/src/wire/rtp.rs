//! RTP (RFC 3550) version-2 header view over a UDP payload: the merge reads
//! the sequence number and SSRC, the renumberer rewrites them.

use super::field::{be16, be32, set_be16, set_be32};
use super::DropReason;

/// Where each field of the fixed header is.
pub mod field {
    use crate::wire::field::Field;
    /// Version (2 bits), padding, extension, CSRC count (4).
    pub const VPXCC: usize = 0;
    /// Marker bit and payload type (7 bits).
    pub const M_PT: usize = 1;
    /// Sequence number.
    pub const SEQUENCE: Field = 2..4;
    /// Timestamp.
    pub const TIMESTAMP: Field = 4..8;
    /// Synchronisation source.
    pub const SSRC: Field = 8..12;
}

/// Length of the fixed RTP header (no CSRCs, no extension).
pub const FIXED_HEADER_LEN: usize = field::SSRC.end;

/// A checked view of an RTP packet. `new_checked` proves the CSRC list, the
/// header extension and the padding all fit, so `payload()` is exact.
#[derive(Clone, Copy, Debug)]
pub struct RtpPacket<T: AsRef<[u8]>> {
    buffer: T,
    header_len: u16,
}

impl<T: AsRef<[u8]>> RtpPacket<T> {
    /// Wraps a UDP payload. Any inconsistency (shorter than 12 bytes, version
    /// other than 2, CSRC list or extension beyond the end, padding count of
    /// 0 or larger than what follows the header) is
    /// [`DropReason::RtpBadHeader`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, DropReason> {
        let b = buffer.as_ref();
        let bad = Err(DropReason::RtpBadHeader);
        if b.len() < FIXED_HEADER_LEN || b[field::VPXCC] >> 6 != 2 {
            return bad;
        }
        let mut hlen = FIXED_HEADER_LEN + usize::from(b[field::VPXCC] & 0x0f) * 4;
        if b[field::VPXCC] & 0x10 != 0 {
            // Extension: 16-bit profile, 16-bit length in 32-bit words.
            if b.len() < hlen + 4 {
                return bad;
            }
            hlen += 4 + usize::from(be16(b, hlen + 2..hlen + 4)) * 4;
        }
        if b.len() < hlen {
            return bad;
        }
        if b[field::VPXCC] & 0x20 != 0 {
            let pad = usize::from(b[b.len() - 1]);
            if pad == 0 || pad > b.len() - hlen {
                return bad;
            }
        }
        Ok(RtpPacket {
            buffer,
            header_len: hlen as u16,
        })
    }

    #[inline]
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Always 2 for a checked packet.
    #[inline]
    pub fn version(&self) -> u8 {
        self.b()[field::VPXCC] >> 6
    }

    /// Padding flag.
    #[inline]
    pub fn padding(&self) -> bool {
        self.b()[field::VPXCC] & 0x20 != 0
    }

    /// Header-extension flag.
    #[inline]
    pub fn extension(&self) -> bool {
        self.b()[field::VPXCC] & 0x10 != 0
    }

    /// Number of CSRC identifiers.
    #[inline]
    pub fn csrc_count(&self) -> u8 {
        self.b()[field::VPXCC] & 0x0f
    }

    /// The `i`-th CSRC, if present.
    #[inline]
    pub fn csrc(&self, i: usize) -> Option<u32> {
        if i >= usize::from(self.csrc_count()) {
            return None;
        }
        let at = FIXED_HEADER_LEN + i * 4;
        Some(be32(self.b(), at..at + 4))
    }

    /// Marker bit.
    #[inline]
    pub fn marker(&self) -> bool {
        self.b()[field::M_PT] & 0x80 != 0
    }

    /// Payload type.
    #[inline]
    pub fn payload_type(&self) -> u8 {
        self.b()[field::M_PT] & 0x7f
    }

    /// 16-bit sequence number.
    #[inline]
    pub fn sequence(&self) -> u16 {
        be16(self.b(), field::SEQUENCE)
    }

    /// Timestamp.
    #[inline]
    pub fn timestamp(&self) -> u32 {
        be32(self.b(), field::TIMESTAMP)
    }

    /// Synchronisation source.
    #[inline]
    pub fn ssrc(&self) -> u32 {
        be32(self.b(), field::SSRC)
    }

    /// The extension's profile word and data, if the X bit is set.
    #[inline]
    pub fn extension_data(&self) -> Option<(u16, &[u8])> {
        if !self.extension() {
            return None;
        }
        let at = FIXED_HEADER_LEN + usize::from(self.csrc_count()) * 4;
        let b = self.b();
        Some((
            be16(b, at..at + 2),
            &b[at + 4..usize::from(self.header_len)],
        ))
    }

    /// Offset of the payload within the UDP payload (header length).
    #[inline]
    pub fn payload_offset(&self) -> usize {
        usize::from(self.header_len)
    }

    /// Number of padding bytes at the end (0 without the P bit).
    #[inline]
    pub fn padding_len(&self) -> usize {
        if self.padding() {
            usize::from(self.b()[self.b().len() - 1])
        } else {
            0
        }
    }

    /// The media payload, padding excluded.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let b = self.b();
        &b[usize::from(self.header_len)..b.len() - self.padding_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> RtpPacket<T> {
    /// Sets the sequence number (the UDP checksum is NOT updated).
    #[inline]
    pub fn set_sequence(&mut self, seq: u16) {
        set_be16(self.buffer.as_mut(), field::SEQUENCE, seq);
    }

    /// Sets the timestamp (the UDP checksum is NOT updated).
    #[inline]
    pub fn set_timestamp(&mut self, ts: u32) {
        set_be32(self.buffer.as_mut(), field::TIMESTAMP, ts);
    }

    /// Sets the SSRC (the UDP checksum is NOT updated).
    #[inline]
    pub fn set_ssrc(&mut self, ssrc: u32) {
        set_be32(self.buffer.as_mut(), field::SSRC, ssrc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn packet(cc: u8, ext_words: Option<u16>, payload: usize, pad: u8) -> Vec<u8> {
        let mut v = vec![
            0x80 | cc,
            0x80 | 96,
            0x12,
            0x34,
            0,
            0,
            0x10,
            0x00,
            0xde,
            0xad,
            0xbe,
            0xef,
        ];
        for i in 0..cc {
            v.extend_from_slice(&[0, 0, 0, i + 1]);
        }
        if let Some(w) = ext_words {
            v[0] |= 0x10;
            v.extend_from_slice(&[0xbe, 0xde]);
            v.extend_from_slice(&w.to_be_bytes());
            v.resize(v.len() + usize::from(w) * 4, 0xee);
        }
        v.resize(v.len() + payload, 0x55);
        if pad > 0 {
            v[0] |= 0x20;
            v.resize(v.len() + usize::from(pad) - 1, 0);
            v.push(pad);
        }
        v
    }

    #[test]
    fn fields() {
        let v = packet(2, Some(1), 10, 4);
        let p = RtpPacket::new_checked(&v[..]).unwrap();
        assert_eq!(p.version(), 2);
        assert!(p.marker() && p.extension() && p.padding());
        assert_eq!(p.payload_type(), 96);
        assert_eq!(p.sequence(), 0x1234);
        assert_eq!(p.timestamp(), 0x1000);
        assert_eq!(p.ssrc(), 0xdeadbeef);
        assert_eq!(p.csrc_count(), 2);
        assert_eq!(p.csrc(1), Some(2));
        assert_eq!(p.csrc(2), None);
        assert_eq!(p.extension_data(), Some((0xbede, &[0xee; 4][..])));
        assert_eq!(p.payload_offset(), 12 + 8 + 8);
        assert_eq!(p.padding_len(), 4);
        assert_eq!(p.payload(), &[0x55; 10][..]);
    }

    #[test]
    fn setters() {
        let mut v = packet(0, None, 3, 0);
        let mut p = RtpPacket::new_checked(&mut v[..]).unwrap();
        p.set_sequence(7);
        p.set_ssrc(9);
        p.set_timestamp(11);
        assert_eq!((p.sequence(), p.ssrc(), p.timestamp()), (7, 9, 11));
        assert_eq!(p.payload(), &[0x55; 3][..]);
    }

    #[test]
    fn every_truncation_is_rejected() {
        // Padding makes any truncation inconsistent only if the last byte
        // changes meaning; use a packet whose header ends exactly at the end.
        let v = packet(3, Some(2), 0, 0);
        assert!(RtpPacket::new_checked(&v[..]).is_ok());
        for n in 0..v.len() {
            assert_eq!(
                RtpPacket::new_checked(&v[..n]).err(),
                Some(DropReason::RtpBadHeader),
                "len {n}"
            );
        }
    }

    #[test]
    fn malformed() {
        let bad = Some(DropReason::RtpBadHeader);
        let mut v = packet(0, None, 4, 0);
        v[0] = 0x40; // version 1
        assert_eq!(RtpPacket::new_checked(&v[..]).err(), bad);
        let mut v = packet(0, None, 4, 0);
        v[0] |= 0x02; // 2 CSRCs, only 4 bytes follow
        assert_eq!(RtpPacket::new_checked(&v[..]).err(), bad);
        let mut v = packet(0, Some(1), 0, 0);
        v[15] = 2; // extension claims 2 words, 1 present
        assert_eq!(RtpPacket::new_checked(&v[..]).err(), bad);
        let mut v = packet(0, None, 4, 2);
        *v.last_mut().unwrap() = 0; // padding count 0
        assert_eq!(RtpPacket::new_checked(&v[..]).err(), bad);
        *v.last_mut().unwrap() = 7; // more padding than payload
        assert_eq!(RtpPacket::new_checked(&v[..]).err(), bad);
        *v.last_mut().unwrap() = 6; // all of the payload is padding: fine
        assert_eq!(RtpPacket::new_checked(&v[..]).unwrap().payload().len(), 0);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(v in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = RtpPacket::new_checked(&v[..]) {
                prop_assert!(p.payload_offset() + p.payload().len() + p.padding_len() == v.len());
                let _ = (p.sequence(), p.ssrc(), p.extension_data(), p.csrc(0));
            }
        }
    }
}
