//! The per-stream header rewriter: a template computed once, applied to
//! each output frame in place with incremental checksum updates.

use std::net::IpAddr;

use super::spec::{OutputSpec, RewriteError, VlanAction};
use super::FrameBuf;
use crate::wire::checksum::Accum;
use crate::wire::ethernet::{self, ETHERTYPE_VLAN};
use crate::wire::vlan::{MAX_VID, TAG_LEN};
use crate::wire::{DropReason, FrameOffsets};

/// A validated [`OutputSpec`] with everything per-packet work can reuse
/// precomputed: the 12 MAC bytes, address bytes and their checksum sums.
#[derive(Clone, Debug)]
pub struct Rewriter {
    spec: OutputSpec,
    macs: [u8; 12],
    v6: bool,
    dst: [u8; 16],
    src: Option<[u8; 16]>,
    /// Ones'-complement sums of the new addresses' 16-bit words.
    dst_sum: u16,
    src_sum: u16,
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fn addr_bytes(ip: IpAddr) -> [u8; 16] {
    let mut a = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => a[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => a = v6.octets(),
    }
    a
}

impl Rewriter {
    /// Validates `spec` and precomputes the template; `src_mac` is the
    /// output port's MAC, written as every frame's source.
    ///
    /// Errors: source and destination of different families, a unicast
    /// destination without a `dst_mac`, a multicast/unspecified source, a
    /// VLAN ID above 4094, a DSCP above 63.
    pub fn new(spec: &OutputSpec, src_mac: [u8; 6]) -> Result<Rewriter, RewriteError> {
        let v6 = spec.dst_ip.is_ipv6();
        if let Some(src) = spec.src_ip {
            if src.is_ipv6() != v6 {
                return Err(RewriteError::MixedFamilies);
            }
            if src.is_multicast() || src.is_unspecified() {
                return Err(RewriteError::BadSourceIp(src));
            }
        }
        let dst_mac = spec
            .effective_dst_mac()
            .ok_or(RewriteError::NoMulticastMac(spec.dst_ip))?
            .octets();
        if let VlanAction::Set(vid) = spec.vlan {
            if vid > MAX_VID {
                return Err(RewriteError::BadVlanId(vid));
            }
        }
        if let Some(d) = spec.dscp {
            if d > 63 {
                return Err(RewriteError::BadDscp(d));
            }
        }
        let alen = if v6 { 16 } else { 4 };
        let dst = addr_bytes(spec.dst_ip);
        let src = spec.src_ip.map(addr_bytes);
        let mut macs = [0u8; 12];
        macs[..6].copy_from_slice(&dst_mac);
        macs[6..].copy_from_slice(&src_mac);
        Ok(Rewriter {
            spec: spec.clone(),
            macs,
            v6,
            dst,
            src,
            dst_sum: Accum::new().add_bytes(&dst[..alen]).fold(),
            src_sum: src.map_or(0, |s| Accum::new().add_bytes(&s[..alen]).fold()),
        })
    }

    /// The spec this rewriter was built from.
    pub fn spec(&self) -> &OutputSpec {
        &self.spec
    }

    /// The destination MAC frames leave with (configured or mapped).
    pub fn dst_mac(&self) -> [u8; 6] {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.macs[..6]);
        m
    }

    /// The source MAC frames leave with (the output port's).
    pub fn src_mac(&self) -> [u8; 6] {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.macs[6..]);
        m
    }

    /// Rewrites one frame in place into the output frame.
    ///
    /// `at` is where [`parse_frame`](crate::wire::parse_frame) found the
    /// frame's headers (the rx stage stores it with the packet); nothing is
    /// walked again, and `at` is only checked to still fit the buffer.
    /// Only the rewritten fields, the checksums and (for VLAN push/strip)
    /// the frame's start change; RTP header and payload are untouched. The
    /// IPv4 header and UDP checksums are updated incrementally (RFC 1624),
    /// so they are right exactly when they were right on input; a zero UDP
    /// checksum stays zero.
    ///
    /// On error the frame is unchanged and must not be sent.
    pub fn apply<B: FrameBuf>(&self, buf: &mut B, at: FrameOffsets) -> Result<(), RewriteError> {
        if at.is_v6() != self.v6 {
            return Err(RewriteError::WrongFamily);
        }
        if !at.fits(buf.bytes()) {
            return Err(RewriteError::Malformed(DropReason::TooShort));
        }
        let tci = at
            .is_tagged()
            .then(|| be16(buf.bytes(), ethernet::HEADER_LEN));
        let ip_hlen = at.l4() - at.l3();
        // Structural VLAN change first: the only step that can fail after
        // the checks above, and it leaves the frame unchanged when it does.
        let (l3, tag) = match (self.spec.vlan, tci) {
            (VlanAction::Strip, Some(_)) => {
                if !buf.trim_front(TAG_LEN) {
                    return Err(RewriteError::TrimFailed);
                }
                (at.l3() - TAG_LEN, None)
            }
            (VlanAction::Set(vid), None) => {
                if !buf.prepend(TAG_LEN) {
                    return Err(RewriteError::NoHeadroom);
                }
                (at.l3() + TAG_LEN, Some(vid))
            }
            (VlanAction::Set(vid), Some(tci)) => (at.l3(), Some((tci & 0xf000) | vid)),
            _ => (at.l3(), None),
        };
        let b = buf.bytes_mut();
        let l4 = l3 + ip_hlen;
        if b.len() < l4 + at.udp_len() {
            // Only a FrameBuf that misreports prepend/trim gets here.
            return Err(RewriteError::Malformed(DropReason::TooShort));
        }
        // Both MACs are rewritten, so after a push or strip nothing needs
        // moving: the inner ethertype is already at its new place.
        b[..12].copy_from_slice(&self.macs);
        if let Some(tci) = tag {
            put16(b, 12, ETHERTYPE_VLAN);
            put16(b, 14, tci);
        }
        let (ip, rest) = b[l3..].split_at_mut(ip_hlen);
        let udp = &mut rest[..8];
        let addr_delta = if self.v6 {
            self.rewrite_ipv6(ip)
        } else {
            self.rewrite_ipv4(ip)
        };
        self.rewrite_udp(udp, addr_delta);
        Ok(())
    }

    /// IPv4 header (`ip` = the whole header): returns the address change as
    /// a ones'-complement delta, which the UDP pseudo-header shares.
    #[inline]
    fn rewrite_ipv4(&self, ip: &mut [u8]) -> Accum {
        let mut hdr = Accum::from_checksum(be16(ip, 10));
        if let Some(dscp) = self.spec.dscp {
            let old = be16(ip, 0);
            let new = (old & 0xff03) | (u16::from(dscp) << 2);
            hdr = hdr.sub_u16(old).add_u16(new);
            put16(ip, 0, new);
        }
        if let Some(ttl) = self.spec.ttl {
            let old = be16(ip, 8);
            let new = (u16::from(ttl) << 8) | (old & 0x00ff);
            hdr = hdr.sub_u16(old).add_u16(new);
            put16(ip, 8, new);
        }
        let mut addrs = Accum::new();
        if let Some(src) = &self.src {
            let old = u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]);
            addrs = addrs.sub_u32(old).add_u16(self.src_sum);
            ip[12..16].copy_from_slice(&src[..4]);
        }
        let old = u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]);
        addrs = addrs.sub_u32(old).add_u16(self.dst_sum);
        ip[16..20].copy_from_slice(&self.dst[..4]);
        put16(ip, 10, hdr.add_accum(addrs).checksum());
        addrs
    }

    /// IPv6 fixed header: no header checksum; returns the address delta.
    #[inline]
    fn rewrite_ipv6(&self, ip: &mut [u8]) -> Accum {
        if let Some(dscp) = self.spec.dscp {
            // Traffic class straddles bytes 0 and 1: vvvv tttt | tttt ffff.
            let tc = (ip[0] << 4) | (ip[1] >> 4);
            let tc = (dscp << 2) | (tc & 0x03);
            ip[0] = (ip[0] & 0xf0) | (tc >> 4);
            ip[1] = (tc << 4) | (ip[1] & 0x0f);
        }
        if let Some(ttl) = self.spec.ttl {
            ip[7] = ttl;
        }
        let mut addrs = Accum::new();
        if let Some(src) = &self.src {
            addrs = addrs.sub_bytes(&ip[8..24]).add_u16(self.src_sum);
            ip[8..24].copy_from_slice(src);
        }
        addrs = addrs.sub_bytes(&ip[24..40]).add_u16(self.dst_sum);
        ip[24..40].copy_from_slice(&self.dst);
        addrs
    }

    /// UDP header (8 bytes): ports, then the checksum from the address and
    /// port deltas. Zero stays zero (none on IPv4; already corrupt on IPv6).
    #[inline]
    fn rewrite_udp(&self, udp: &mut [u8], addrs: Accum) {
        let mut delta = addrs;
        if let Some(port) = self.spec.src_port {
            delta = delta.sub_u16(be16(udp, 0)).add_u16(port);
            put16(udp, 0, port);
        }
        delta = delta.sub_u16(be16(udp, 2)).add_u16(self.spec.dst_port);
        put16(udp, 2, self.spec.dst_port);
        let check = be16(udp, 6);
        if check != 0 {
            let c = Accum::from_checksum(check).add_accum(delta).checksum();
            put16(udp, 6, if c == 0 { 0xffff } else { c });
        }
    }
}
