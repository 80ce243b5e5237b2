//! What an output stream's headers look like, and what can go wrong when
//! building or applying a rewrite.

use std::fmt;
use std::net::IpAddr;

use crate::wire::DropReason;

/// What to do with the 802.1Q tag on output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VlanAction {
    /// Leave the frame tagged or untagged as received.
    Keep,
    /// Remove the tag if there is one.
    Strip,
    /// Ensure a tag with this VLAN ID: push one (PCP 0) on an untagged
    /// frame, replace the VID (keeping PCP/DEI) on a tagged one.
    Set(u16),
}

/// The per-stream output header template (patent claim 7): the virtual
/// group and port the merged stream is re-multicast to, plus optional
/// overrides of the remaining header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    /// Destination (virtual multicast) address.
    pub dst_ip: IpAddr,
    /// Destination UDP port.
    pub dst_port: u16,
    /// Source address; `None` keeps the input's.
    pub src_ip: Option<IpAddr>,
    /// Source UDP port; `None` keeps the input's.
    pub src_port: Option<u16>,
    /// Destination MAC; `None` = multicast mapping of `dst_ip`.
    pub dst_mac: Option<[u8; 6]>,
    /// Source MAC (the output port's).
    pub src_mac: [u8; 6],
    /// VLAN keep/strip/set.
    pub vlan: VlanAction,
    /// IPv4 TTL / IPv6 hop limit; `None` keeps the input's.
    pub ttl: Option<u8>,
    /// DSCP (0..=63), ECN kept; `None` keeps the input's.
    pub dscp: Option<u8>,
}

impl OutputSpec {
    /// A spec that changes only what must change: destination group, port,
    /// multicast destination MAC and the output port's source MAC.
    pub fn new(dst_ip: IpAddr, dst_port: u16, src_mac: [u8; 6]) -> Self {
        OutputSpec {
            dst_ip,
            dst_port,
            src_ip: None,
            src_port: None,
            dst_mac: None,
            src_mac,
            vlan: VlanAction::Keep,
            ttl: None,
            dscp: None,
        }
    }
}

/// Why a rewriter could not be built, or a frame not rewritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RewriteError {
    /// Spec: `src_ip` and `dst_ip` are of different IP families.
    MixedFamilies,
    /// Spec: no `dst_mac` given and `dst_ip` is not multicast.
    NoMulticastMac(IpAddr),
    /// Spec: a multicast or unspecified source address.
    BadSourceIp(IpAddr),
    /// Spec: VLAN ID above 4094.
    BadVlanId(u16),
    /// Spec: DSCP above 63.
    BadDscp(u8),
    /// Frame: not a well-formed Ethernet/IP/UDP frame (or, for renumbering,
    /// no valid RTP header).
    Malformed(DropReason),
    /// Frame: its IP family differs from the spec's.
    WrongFamily,
    /// Buffer: no headroom to push a VLAN tag.
    NoHeadroom,
    /// Buffer: could not remove the VLAN tag.
    TrimFailed,
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RewriteError::MixedFamilies => {
                write!(
                    f,
                    "output source and destination IP are of different families"
                )
            }
            RewriteError::NoMulticastMac(ip) => {
                write!(
                    f,
                    "output destination {ip} is not multicast: give a destination MAC"
                )
            }
            RewriteError::BadSourceIp(ip) => {
                write!(f, "output source IP {ip} is not a unicast address")
            }
            RewriteError::BadVlanId(v) => write!(f, "VLAN ID {v} out of range 0..=4094"),
            RewriteError::BadDscp(d) => write!(f, "DSCP {d} out of range 0..=63"),
            RewriteError::Malformed(r) => write!(f, "frame cannot be rewritten: {r}"),
            RewriteError::WrongFamily => write!(f, "frame IP family differs from the output's"),
            RewriteError::NoHeadroom => write!(f, "no headroom to push a VLAN tag"),
            RewriteError::TrimFailed => write!(f, "could not strip the VLAN tag"),
        }
    }
}

impl std::error::Error for RewriteError {}
