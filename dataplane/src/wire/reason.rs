//! Why a received frame was not classified: one counter per reason, so an
//! operator can tell a truncated frame from an ARP or an IP fragment.

use std::fmt;

/// The reason a frame (or one of its headers) was rejected.
///
/// `Copy` and dense (`index()` in `0..COUNT`) so the rx path can bump
/// `counters[reason.index()]` with no branch and no allocation; `name()` is
/// the stable snake_case key used in stats output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The buffer ends before a header, or before the length an IP header
    /// claims (a truncated frame).
    TooShort,
    /// An ethertype that is neither IPv4, IPv6, ARP nor a VLAN tag.
    NotIp,
    /// ARP (ethertype 0x0806).
    Arp,
    /// Stacked VLAN tags (0x88a8, 0x9100, or 0x8100 inside 0x8100).
    QinQ,
    /// IPv4 header with a version other than 4, IHL < 5, or a total length
    /// shorter than its header.
    Ipv4BadHeader,
    /// An IPv4 fragment (MF set or non-zero offset): cannot be merged.
    Ipv4Fragment,
    /// IPv6 header with a version other than 6.
    Ipv6BadHeader,
    /// IPv6 with an extension header before the transport header.
    Ipv6ExtHeader,
    /// IGMP (membership traffic on the receive port).
    Igmp,
    /// An IP packet that does not carry UDP.
    NotUdp,
    /// UDP header that does not fit the IP payload, or a UDP length field
    /// below 8 or beyond the IP payload.
    UdpBadLength,
    /// An RTP header that is not version 2 or whose CSRC list, extension or
    /// padding does not fit the UDP payload. Not produced by
    /// [`parse_frame`](super::parse_frame) (which does not know the stream's
    /// sequence format) but by [`RtpPacket::new_checked`](super::rtp::RtpPacket::new_checked).
    RtpBadHeader,
    /// A MoldUDP64, CME MDP3 or PITCH packet whose message count or message
    /// lengths do not match its bytes (an out-of-range count, a length that
    /// overruns the packet, bytes after the last message). Produced by the
    /// sequence extractor (`seq::Extract`), never trusted.
    FramingMalformed,
    /// A PITCH packet of a unit other than the stream's (`--seq pitch:UNIT`):
    /// another sequence space on the same groups, not merged.
    OtherUnit,
}

impl DropReason {
    /// Number of reasons; the length of a per-reason counter array.
    pub const COUNT: usize = 14;

    /// Every reason, in `index()` order (for printing all counters).
    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::TooShort,
        DropReason::NotIp,
        DropReason::Arp,
        DropReason::QinQ,
        DropReason::Ipv4BadHeader,
        DropReason::Ipv4Fragment,
        DropReason::Ipv6BadHeader,
        DropReason::Ipv6ExtHeader,
        DropReason::Igmp,
        DropReason::NotUdp,
        DropReason::UdpBadLength,
        DropReason::RtpBadHeader,
        DropReason::FramingMalformed,
        DropReason::OtherUnit,
    ];

    /// Dense index in `0..COUNT`, for counter arrays.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Stable snake_case name, used as the stats key.
    pub const fn name(self) -> &'static str {
        match self {
            DropReason::TooShort => "too_short",
            DropReason::NotIp => "not_ip",
            DropReason::Arp => "arp",
            DropReason::QinQ => "qinq",
            DropReason::Ipv4BadHeader => "ipv4_bad_header",
            DropReason::Ipv4Fragment => "ipv4_fragment",
            DropReason::Ipv6BadHeader => "ipv6_bad_header",
            DropReason::Ipv6ExtHeader => "ipv6_ext_header",
            DropReason::Igmp => "igmp",
            DropReason::NotUdp => "not_udp",
            DropReason::UdpBadLength => "udp_bad_length",
            DropReason::RtpBadHeader => "rtp_bad_header",
            DropReason::FramingMalformed => "framing_malformed",
            DropReason::OtherUnit => "other_unit",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for DropReason {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_dense_and_names_unique() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        assert!(names.iter().all(|n| n
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())));
        assert_eq!(DropReason::QinQ.to_string(), "qinq");
    }
}
