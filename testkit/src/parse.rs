//! Parses a captured frame back into the fields tests assert on (addresses,
//! ports, RTP sequence number, SSRC, payload). Written independently of the
//! dataplane's own parser so that a bug there cannot hide itself here.
//! Lengths come from the IP and UDP headers, so Ethernet padding is ignored.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::frame::{Vlan, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN, ETH_HEADER_LEN};

/// Why a frame is not the Ethernet/IP/UDP(/RTP) frame a test expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer bytes than the named header needs.
    Truncated(&'static str),
    /// EtherType that is neither IPv4 nor IPv6 (after any VLAN tag).
    NotIp(u16),
    /// IP version nibble does not match the EtherType.
    BadIpVersion(u8),
    /// IPv4 IHL below 5 or beyond the frame.
    BadIhl(u8),
    /// IP length field inconsistent with the frame or header.
    BadIpLength(u16),
    /// A fragment (MF set or non-zero offset): not reassembled here.
    Fragment,
    /// Transport protocol (IPv6: next header) other than UDP.
    NotUdp(u8),
    /// UDP length field below 8 or beyond the IP payload.
    BadUdpLength(u16),
    /// RTP version other than 2.
    BadRtpVersion(u8),
    /// RTP CSRC list, extension or padding runs past the datagram.
    BadRtpLayout,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated(what) => write!(f, "frame too short for {what}"),
            ParseError::NotIp(t) => write!(f, "EtherType 0x{t:04x} is not IPv4/IPv6"),
            ParseError::BadIpVersion(v) => write!(f, "IP version {v} does not match EtherType"),
            ParseError::BadIhl(i) => write!(f, "bad IPv4 IHL {i}"),
            ParseError::BadIpLength(l) => write!(f, "bad IP length {l}"),
            ParseError::Fragment => write!(f, "IP fragment"),
            ParseError::NotUdp(p) => write!(f, "IP protocol {p} is not UDP"),
            ParseError::BadUdpLength(l) => write!(f, "bad UDP length {l}"),
            ParseError::BadRtpVersion(v) => write!(f, "RTP version {v} (expected 2)"),
            ParseError::BadRtpLayout => write!(f, "RTP CSRC/extension/padding overrun"),
        }
    }
}

impl std::error::Error for ParseError {}

/// An Ethernet/[802.1Q]/IPv4|IPv6/UDP frame, borrowed from the capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpFrame<'a> {
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// 802.1Q tag, if any (only one tag is parsed).
    pub vlan: Option<Vlan>,
    /// Source IP address.
    pub src_ip: IpAddr,
    /// Destination IP address.
    pub dst_ip: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// DSCP from TOS / traffic class.
    pub dscp: u8,
    /// IPv4 identification (`None` for IPv6).
    pub ip_id: Option<u16>,
    /// The IPv4 header including options (`None` for IPv6).
    pub ipv4_header: Option<&'a [u8]>,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
    /// UDP header and payload, as long as the UDP length field says.
    pub udp_datagram: &'a [u8],
    /// UDP payload.
    pub payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// What the IP layer yields: addresses, TTL, DSCP, IPv4 id and header, and
/// the IP payload cut to the IP length.
type IpFields<'a> = (
    IpAddr,
    IpAddr,
    u8,
    u8,
    Option<u16>,
    Option<&'a [u8]>,
    &'a [u8],
);

/// Parses the Ethernet, VLAN, IP and UDP headers of `frame`.
pub fn parse_udp(frame: &[u8]) -> Result<UdpFrame<'_>, ParseError> {
    if frame.len() < ETH_HEADER_LEN {
        return Err(ParseError::Truncated("Ethernet header"));
    }
    let mut dst_mac = [0u8; 6];
    let mut src_mac = [0u8; 6];
    dst_mac.copy_from_slice(&frame[0..6]);
    src_mac.copy_from_slice(&frame[6..12]);
    let mut ethertype = be16(frame, 12);
    let mut off = ETH_HEADER_LEN;
    let mut vlan = None;
    if ethertype == ETHERTYPE_VLAN {
        if frame.len() < off + 4 {
            return Err(ParseError::Truncated("802.1Q tag"));
        }
        let tci = be16(frame, off);
        vlan = Some(Vlan {
            id: tci & 0x0fff,
            pcp: (tci >> 13) as u8,
        });
        ethertype = be16(frame, off + 2);
        off += 4;
    }
    let ip = &frame[off..];
    let (src_ip, dst_ip, ttl, dscp, ip_id, ipv4_header, l4): IpFields<'_> = match ethertype {
        ETHERTYPE_IPV4 => {
            if ip.len() < 20 {
                return Err(ParseError::Truncated("IPv4 header"));
            }
            if ip[0] >> 4 != 4 {
                return Err(ParseError::BadIpVersion(ip[0] >> 4));
            }
            let ihl = (ip[0] & 0x0f) as usize * 4;
            if ihl < 20 || ihl > ip.len() {
                return Err(ParseError::BadIhl(ip[0] & 0x0f));
            }
            let total = be16(ip, 2);
            if (total as usize) < ihl || total as usize > ip.len() {
                return Err(ParseError::BadIpLength(total));
            }
            if be16(ip, 6) & 0x3fff != 0 {
                return Err(ParseError::Fragment);
            }
            if ip[9] != 17 {
                return Err(ParseError::NotUdp(ip[9]));
            }
            let s = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let d = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            (
                s.into(),
                d.into(),
                ip[8],
                ip[1] >> 2,
                Some(be16(ip, 4)),
                Some(&ip[..ihl]),
                &ip[ihl..total as usize],
            )
        }
        ETHERTYPE_IPV6 => {
            if ip.len() < 40 {
                return Err(ParseError::Truncated("IPv6 header"));
            }
            if ip[0] >> 4 != 6 {
                return Err(ParseError::BadIpVersion(ip[0] >> 4));
            }
            let plen = be16(ip, 4);
            if 40 + plen as usize > ip.len() {
                return Err(ParseError::BadIpLength(plen));
            }
            if ip[6] != 17 {
                return Err(ParseError::NotUdp(ip[6]));
            }
            let tc = ((be16(ip, 0) >> 4) & 0xff) as u8;
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&ip[8..24]);
            d.copy_from_slice(&ip[24..40]);
            (
                Ipv6Addr::from(s).into(),
                Ipv6Addr::from(d).into(),
                ip[7],
                tc >> 2,
                None,
                None,
                &ip[40..40 + plen as usize],
            )
        }
        other => return Err(ParseError::NotIp(other)),
    };
    if l4.len() < 8 {
        return Err(ParseError::Truncated("UDP header"));
    }
    let udp_len = be16(l4, 4);
    if (udp_len as usize) < 8 || udp_len as usize > l4.len() {
        return Err(ParseError::BadUdpLength(udp_len));
    }
    let udp_datagram = &l4[..udp_len as usize];
    Ok(UdpFrame {
        dst_mac,
        src_mac,
        vlan,
        src_ip,
        dst_ip,
        ttl,
        dscp,
        ip_id,
        ipv4_header,
        src_port: be16(l4, 0),
        dst_port: be16(l4, 2),
        udp_datagram,
        payload: &udp_datagram[8..],
    })
}

/// An RTP packet inside a [`UdpFrame`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpFrame<'a> {
    /// The enclosing headers (addresses, ports, UDP payload).
    pub udp: UdpFrame<'a>,
    /// Marker bit.
    pub marker: bool,
    /// Payload type.
    pub pt: u8,
    /// Sequence number.
    pub seq: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Contributing sources (CSRC list).
    pub csrc_count: u8,
    /// Media payload: after CSRCs and any header extension, before padding.
    pub payload: &'a [u8],
}

impl RtpFrame<'_> {
    /// Destination (group, port): which stream this packet belongs to.
    pub fn dst(&self) -> (IpAddr, u16) {
        (self.udp.dst_ip, self.udp.dst_port)
    }
}

/// Parses an RTP v2 frame (CSRCs, header extension and padding handled).
pub fn parse_rtp(frame: &[u8]) -> Result<RtpFrame<'_>, ParseError> {
    let udp = parse_udp(frame)?;
    let r = udp.payload;
    if r.len() < 12 {
        return Err(ParseError::Truncated("RTP header"));
    }
    let version = r[0] >> 6;
    if version != 2 {
        return Err(ParseError::BadRtpVersion(version));
    }
    let padding = r[0] & 0x20 != 0;
    let extension = r[0] & 0x10 != 0;
    let cc = r[0] & 0x0f;
    let mut start = 12 + cc as usize * 4;
    if start > r.len() {
        return Err(ParseError::BadRtpLayout);
    }
    if extension {
        if start + 4 > r.len() {
            return Err(ParseError::BadRtpLayout);
        }
        start += 4 + be16(r, start + 2) as usize * 4;
        if start > r.len() {
            return Err(ParseError::BadRtpLayout);
        }
    }
    let mut end = r.len();
    if padding {
        let pad = *r.last().unwrap_or(&0) as usize;
        if pad == 0 || end - start < pad {
            return Err(ParseError::BadRtpLayout);
        }
        end -= pad;
    }
    Ok(RtpFrame {
        marker: r[1] & 0x80 != 0,
        pt: r[1] & 0x7f,
        seq: be16(r, 2),
        timestamp: be32(r, 4),
        ssrc: be32(r, 8),
        csrc_count: cc,
        payload: &r[start..end],
        udp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{build_rtp_frame, build_udp_frame, FrameSpec, RtpFields};

    fn spec() -> FrameSpec {
        FrameSpec::multicast(
            Ipv4Addr::new(10, 1, 1, 1).into(),
            Ipv4Addr::new(239, 1, 1, 1).into(),
            5000,
        )
    }

    #[test]
    fn padding_after_ip_length_is_ignored() {
        let mut f = build_udp_frame(&spec(), 1, b"ab");
        f.resize(60, 0xee);
        let u = parse_udp(&f).unwrap();
        assert_eq!(u.payload, b"ab");
        assert_eq!(u.ip_id, Some(1));
    }

    #[test]
    fn rtp_with_csrc_extension_and_padding() {
        let mut rtp = Vec::new();
        rtp.extend_from_slice(&[0xb1, 96, 0, 5, 0, 0, 0, 9, 0, 0, 0, 7]); // V2 P X CC=1
        rtp.extend_from_slice(&[1, 2, 3, 4]); // CSRC
        rtp.extend_from_slice(&[0xbe, 0xde, 0, 1, 9, 9, 9, 9]); // extension, 1 word
        rtp.extend_from_slice(b"media");
        rtp.extend_from_slice(&[0, 0, 3]); // 3 bytes padding
        let f = build_udp_frame(&spec(), 0, &rtp);
        let p = parse_rtp(&f).unwrap();
        assert_eq!(p.seq, 5);
        assert_eq!(p.timestamp, 9);
        assert_eq!(p.ssrc, 7);
        assert_eq!(p.csrc_count, 1);
        assert_eq!(p.payload, b"media");
        assert_eq!(p.dst(), (Ipv4Addr::new(239, 1, 1, 1).into(), 5000));
    }

    #[test]
    fn malformed_frames_are_errors() {
        let good = build_rtp_frame(
            &spec(),
            &RtpFields {
                seq: 1,
                timestamp: 2,
                ssrc: 3,
                pt: 96,
                marker: false,
            },
            b"x",
        );
        for cut in 0..good.len() {
            assert!(parse_rtp(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut arp = good.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(parse_udp(&arp), Err(ParseError::NotIp(0x0806)));
        let mut tcp = good.clone();
        tcp[23] = 6;
        assert_eq!(parse_udp(&tcp), Err(ParseError::NotUdp(6)));
        let mut frag = good.clone();
        frag[20] = 0x20; // MF
        assert_eq!(parse_udp(&frag), Err(ParseError::Fragment));
        let mut v1 = good.clone();
        v1[42] = 0x40;
        assert_eq!(parse_rtp(&v1), Err(ParseError::BadRtpVersion(1)));
        let mut udplen = good;
        udplen[38..40].copy_from_slice(&4u16.to_be_bytes());
        assert_eq!(parse_udp(&udplen), Err(ParseError::BadUdpLength(4)));
    }
}
