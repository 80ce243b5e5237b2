//! 802.1Q tag view: the 4 bytes after a 0x8100 TPID (TCI, then the inner
//! ethertype). One tag is supported; stacked tags are dropped as QinQ.

use super::field::{be16, set_be16};
use super::DropReason;

/// Where each field is, from the TCI (the bytes after the TPID).
pub mod field {
    use crate::wire::field::Field;
    /// Tag control information: PCP, DEI, VID.
    pub const TCI: Field = 0..2;
    /// The encapsulated ethertype.
    pub const ETHERTYPE: Field = 2..4;
}

/// Bytes a tag adds to a frame (TPID + TCI).
pub const TAG_LEN: usize = 4;
/// Largest usable VLAN ID (4095 is reserved).
pub const MAX_VID: u16 = model::limits::MAX_VLAN_ID;

/// A checked view starting at the TCI: at least 4 bytes (TCI + ethertype).
#[derive(Clone, Copy, Debug)]
pub struct VlanTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    /// Wraps the bytes that follow a 0x8100 TPID.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, DropReason> {
        if buffer.as_ref().len() < field::ETHERTYPE.end {
            return Err(DropReason::TooShort);
        }
        Ok(VlanTag { buffer })
    }

    /// Tag control information: PCP (3 bits), DEI (1), VID (12).
    #[inline]
    pub fn tci(&self) -> u16 {
        be16(self.buffer.as_ref(), field::TCI)
    }

    /// VLAN ID (low 12 bits of the TCI).
    #[inline]
    pub fn vid(&self) -> u16 {
        self.tci() & 0x0fff
    }

    /// Priority code point.
    #[inline]
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop eligible indicator.
    #[inline]
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// The ethertype of what the tag encapsulates.
    #[inline]
    pub fn ethertype(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ETHERTYPE)
    }

    /// Everything after the tag.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::ETHERTYPE.end..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanTag<T> {
    /// Replaces the whole TCI.
    #[inline]
    pub fn set_tci(&mut self, tci: u16) {
        set_be16(self.buffer.as_mut(), field::TCI, tci);
    }

    /// Replaces the VLAN ID, keeping PCP and DEI.
    #[inline]
    pub fn set_vid(&mut self, vid: u16) {
        let tci = (self.tci() & 0xf000) | (vid & 0x0fff);
        self.set_tci(tci);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_truncation() {
        let mut b = [0xb0, 0x64, 0x08, 0x00, 0x45];
        for n in 0..4 {
            assert_eq!(
                VlanTag::new_checked(&b[..n]).err(),
                Some(DropReason::TooShort)
            );
        }
        let t = VlanTag::new_checked(&b[..]).unwrap();
        assert_eq!(t.tci(), 0xb064);
        assert_eq!(t.vid(), 100);
        assert_eq!(t.pcp(), 5);
        assert!(t.dei());
        assert_eq!(t.ethertype(), 0x0800);
        assert_eq!(t.payload(), &[0x45]);
        let mut t = VlanTag::new_checked(&mut b[..]).unwrap();
        t.set_vid(4094);
        assert_eq!(t.tci(), 0xbffe);
    }
}
