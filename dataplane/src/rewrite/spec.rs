//! What an output stream's headers look like (the shared [`OutputSpec`]),
//! and what can go wrong when building or applying a rewrite.

use std::fmt;
use std::net::IpAddr;

use crate::wire::DropReason;

/// The output header template and the 802.1Q action are the shared types
/// the configuration produces (crate `model`).
pub use model::{OutputSpec, VlanAction};

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
