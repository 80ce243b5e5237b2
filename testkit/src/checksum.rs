//! Internet checksums (RFC 1071) computed from scratch over whole headers and
//! datagrams. Tests use these as the reference: the dataplane may update
//! checksums incrementally, and a full recompute here is what proves it right.

use std::fmt;
use std::net::IpAddr;

use crate::parse::{parse_udp, ParseError};

/// One's-complement sum of 16-bit big-endian words (odd byte padded with
/// zero), folded to 16 bits but not inverted. Building block for the rest.
pub fn ones_complement_sum(data: &[u8], initial: u32) -> u16 {
    let mut sum: u64 = initial as u64;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u16::from_be_bytes([c[0], c[1]]) as u64;
    }
    if let [last] = chunks.remainder() {
        sum += (*last as u64) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// RFC 1071 checksum of `data`: the inverted one's-complement sum. Over a
/// header that already holds a correct checksum it yields 0.
pub fn internet_checksum(data: &[u8]) -> u16 {
    !ones_complement_sum(data, 0)
}

/// IPv4 header checksum of `header` (IHL*4 bytes) computed as if its checksum
/// field (bytes 10..12) were zero: the value that belongs in that field.
pub fn ipv4_header_checksum(header: &[u8]) -> u16 {
    let mut sum = ones_complement_sum(&header[..10.min(header.len())], 0) as u32;
    if header.len() > 12 {
        sum = ones_complement_sum(&header[12..], sum) as u32;
    }
    !(sum as u16)
}

/// UDP checksum over the pseudo-header (RFC 768 for IPv4, RFC 8200 §8.1 for
/// IPv6) and the UDP header + payload in `udp`, with the checksum field
/// (bytes 6..8) taken as zero. A computed 0 is returned as 0xffff, as sent on
/// the wire. Panics if the two addresses are of different families.
pub fn udp_checksum(src: IpAddr, dst: IpAddr, udp: &[u8]) -> u16 {
    let len = udp.len() as u32;
    let mut sum: u32 = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut p = [0u8; 12];
            p[0..4].copy_from_slice(&s.octets());
            p[4..8].copy_from_slice(&d.octets());
            p[9] = 17;
            p[10..12].copy_from_slice(&(len as u16).to_be_bytes());
            ones_complement_sum(&p, 0) as u32
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut p = [0u8; 40];
            p[0..16].copy_from_slice(&s.octets());
            p[16..32].copy_from_slice(&d.octets());
            p[32..36].copy_from_slice(&len.to_be_bytes());
            p[39] = 17;
            ones_complement_sum(&p, 0) as u32
        }
        _ => panic!("udp_checksum: address families differ ({src} vs {dst})"),
    };
    sum = ones_complement_sum(&udp[..6.min(udp.len())], sum) as u32;
    if udp.len() > 8 {
        sum = ones_complement_sum(&udp[8..], sum) as u32;
    }
    match !(sum as u16) {
        0 => 0xffff,
        c => c,
    }
}

/// What a full checksum check of a frame found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecksumError {
    /// The frame is not a well-formed Ethernet/IP/UDP frame.
    Malformed(ParseError),
    /// IPv4 header checksum field does not match the recomputed value.
    Ipv4Header {
        /// Value in the frame.
        found: u16,
        /// Value recomputed over the header.
        expected: u16,
    },
    /// UDP checksum field does not match the recomputed value.
    Udp {
        /// Value in the frame.
        found: u16,
        /// Value recomputed over pseudo-header and datagram.
        expected: u16,
    },
    /// IPv6 UDP datagram with checksum 0, which RFC 8200 forbids.
    UdpZeroOverIpv6,
}

impl fmt::Display for ChecksumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChecksumError::Malformed(e) => write!(f, "malformed frame: {e}"),
            ChecksumError::Ipv4Header { found, expected } => write!(
                f,
                "bad IPv4 header checksum 0x{found:04x} (expected 0x{expected:04x})"
            ),
            ChecksumError::Udp { found, expected } => write!(
                f,
                "bad UDP checksum 0x{found:04x} (expected 0x{expected:04x})"
            ),
            ChecksumError::UdpZeroOverIpv6 => write!(f, "UDP checksum 0 over IPv6"),
        }
    }
}

impl std::error::Error for ChecksumError {}

/// Recomputes every checksum of an Ethernet/[802.1Q]/IPv4|IPv6/UDP frame and
/// compares with the fields. A zero UDP checksum over IPv4 means "not
/// computed" (RFC 768) and passes; over IPv6 it is an error.
pub fn verify_checksums(frame: &[u8]) -> Result<(), ChecksumError> {
    let udp = parse_udp(frame).map_err(ChecksumError::Malformed)?;
    if let Some(hdr) = udp.ipv4_header {
        let found = u16::from_be_bytes([hdr[10], hdr[11]]);
        let expected = ipv4_header_checksum(hdr);
        if found != expected {
            return Err(ChecksumError::Ipv4Header { found, expected });
        }
    }
    let found = u16::from_be_bytes([udp.udp_datagram[6], udp.udp_datagram[7]]);
    if found == 0 {
        return match udp.dst_ip {
            IpAddr::V4(_) => Ok(()),
            IpAddr::V6(_) => Err(ChecksumError::UdpZeroOverIpv6),
        };
    }
    let expected = udp_checksum(udp.src_ip, udp.dst_ip, udp.udp_datagram);
    if found != expected {
        return Err(ChecksumError::Udp { found, expected });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example: words 0001 f203 f4f5 f6f7 sum to 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(ones_complement_sum(&data, 0), 0xddf2);
        assert_eq!(internet_checksum(&data), !0xddf2);
    }

    #[test]
    fn known_ipv4_header() {
        // Classic example header (Wikipedia "IPv4 header checksum"): 0xb861.
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(ipv4_header_checksum(&hdr), 0xb861);
        assert_eq!(internet_checksum(&hdr), 0);
    }

    #[test]
    fn odd_length_is_zero_padded() {
        assert_eq!(ones_complement_sum(&[0x12, 0x34, 0x56], 0), 0x1234 + 0x5600);
    }
}
