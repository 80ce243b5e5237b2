//! The per-stream header rewriter: a template computed once, applied to
//! each output frame in place with incremental checksum updates.

use std::net::IpAddr;

use super::spec::{OutputSpec, RewriteError, VlanAction};
use super::FrameBuf;
use crate::wire::checksum::Accum;
use crate::wire::ethernet::{self, EthernetFrame, ETHERTYPE_VLAN};
use crate::wire::field::array;
use crate::wire::vlan::{MAX_VID, TAG_LEN};
use crate::wire::{DropReason, FrameOffsets, Ipv4Packet, Ipv6Packet, UdpDatagram, VlanTag};

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
        let tci = if at.is_tagged() {
            let tag = VlanTag::new_checked(&buf.bytes()[ethernet::HEADER_LEN..]);
            Some(tag.map_err(RewriteError::Malformed)?.tci())
        } else {
            None
        };
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
        // Every write below goes through a header view's setter (named
        // fields, no raw offsets). The views' checks cannot fail here: the
        // offsets fit this frame and its headers are the ones the rx parse
        // checked; they cost a few compares (Rewriter::apply's row in the
        // callgrind table of BENCHMARKS.md).
        let malformed = RewriteError::Malformed;
        // Both MACs are rewritten, so after a push or strip nothing needs
        // moving: the inner ethertype is already at its new place.
        let mut eth = EthernetFrame::new_checked(&mut *b).map_err(malformed)?;
        eth.set_macs(&self.macs);
        if let Some(tci) = tag {
            eth.set_ethertype(ETHERTYPE_VLAN);
            VlanTag::new_checked(eth.payload_mut())
                .map_err(malformed)?
                .set_tci(tci);
        }
        let addr_delta = if self.v6 {
            let mut ip = Ipv6Packet::new_checked(&mut b[l3..]).map_err(malformed)?;
            self.rewrite_ipv6(&mut ip)
        } else {
            let mut ip = Ipv4Packet::new_checked(&mut b[l3..]).map_err(malformed)?;
            self.rewrite_ipv4(&mut ip)
        };
        let mut udp = UdpDatagram::new_checked(&mut b[l4..]).map_err(malformed)?;
        self.rewrite_udp(&mut udp, addr_delta);
        Ok(())
    }

    /// IPv4 header: returns the address change as a ones'-complement delta,
    /// which the UDP pseudo-header shares.
    #[inline]
    fn rewrite_ipv4(&self, ip: &mut Ipv4Packet<&mut [u8]>) -> Accum {
        let mut hdr = Accum::from_checksum(ip.checksum());
        if let Some(dscp) = self.spec.dscp {
            // The TOS byte is the low byte of the header's first word.
            let old = ip.tos();
            ip.set_dscp(dscp);
            hdr = hdr.sub_u16(u16::from(old)).add_u16(u16::from(ip.tos()));
        }
        if let Some(ttl) = self.spec.ttl {
            // The TTL is the high byte of the word it shares with the protocol.
            hdr = hdr
                .sub_u16(u16::from(ip.ttl()) << 8)
                .add_u16(u16::from(ttl) << 8);
            ip.set_ttl(ttl);
        }
        let mut addrs = Accum::new();
        if let Some(src) = &self.src {
            addrs = addrs
                .sub_u32(u32::from_be_bytes(ip.src_bytes()))
                .add_u16(self.src_sum);
            ip.set_src_bytes(array(src, 0..4));
        }
        addrs = addrs
            .sub_u32(u32::from_be_bytes(ip.dst_bytes()))
            .add_u16(self.dst_sum);
        ip.set_dst_bytes(array(&self.dst, 0..4));
        ip.set_checksum(hdr.add_accum(addrs).checksum());
        addrs
    }

    /// IPv6 fixed header: no header checksum; returns the address delta.
    #[inline]
    fn rewrite_ipv6(&self, ip: &mut Ipv6Packet<&mut [u8]>) -> Accum {
        if let Some(dscp) = self.spec.dscp {
            ip.set_dscp(dscp);
        }
        if let Some(ttl) = self.spec.ttl {
            ip.set_hop_limit(ttl);
        }
        let mut addrs = Accum::new();
        if let Some(src) = &self.src {
            addrs = addrs.sub_bytes(&ip.src_bytes()).add_u16(self.src_sum);
            ip.set_src_bytes(src);
        }
        addrs = addrs.sub_bytes(&ip.dst_bytes()).add_u16(self.dst_sum);
        ip.set_dst_bytes(&self.dst);
        addrs
    }

    /// UDP header: ports, then the checksum from the address and port
    /// deltas. Zero stays zero (none on IPv4; already corrupt on IPv6).
    #[inline]
    fn rewrite_udp(&self, udp: &mut UdpDatagram<&mut [u8]>, addrs: Accum) {
        let mut delta = addrs;
        if let Some(port) = self.spec.src_port {
            delta = delta.sub_u16(udp.src_port()).add_u16(port);
            udp.set_src_port(port);
        }
        delta = delta.sub_u16(udp.dst_port()).add_u16(self.spec.dst_port);
        udp.set_dst_port(self.spec.dst_port);
        udp.adjust_checksum(delta);
    }
}
