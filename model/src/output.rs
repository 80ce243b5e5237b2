//! How a stream's output headers are written.

use std::net::{IpAddr, SocketAddr};

use crate::mac::MacAddr;
use crate::vlan::VlanAction;

/// The per-stream output header template: the virtual
/// group and port the merged stream is re-multicast to, plus optional
/// overrides of the other header fields. The configuration produces it,
/// the dataplane's rewriter applies it; the source MAC is the output
/// port's and is given to the rewriter separately.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    /// Destination (virtual multicast) address.
    pub dst_ip: IpAddr,
    /// Destination UDP port.
    pub dst_port: u16,
    /// Source address; `None` keeps the chosen copy's (which then changes
    /// on failover unless the sender latches one).
    pub src_ip: Option<IpAddr>,
    /// Source UDP port; `None` keeps the chosen copy's.
    pub src_port: Option<u16>,
    /// Destination MAC; `None` = the multicast mapping of `dst_ip`.
    pub dst_mac: Option<MacAddr>,
    /// 802.1Q keep/strip/set.
    pub vlan: VlanAction,
    /// IPv4 TTL / IPv6 hop limit; `None` keeps the copy's.
    pub ttl: Option<u8>,
    /// DSCP (0..=63), ECN kept; `None` keeps the copy's.
    pub dscp: Option<u8>,
}

impl OutputSpec {
    /// A spec that changes only what must change: destination group and
    /// port, and (through the rewriter) the MACs.
    pub fn new(dst_ip: IpAddr, dst_port: u16) -> Self {
        OutputSpec {
            dst_ip,
            dst_port,
            src_ip: None,
            src_port: None,
            dst_mac: None,
            vlan: VlanAction::Keep,
            ttl: None,
            dscp: None,
        }
    }

    /// The destination group and port.
    pub fn dst(&self) -> SocketAddr {
        SocketAddr::new(self.dst_ip, self.dst_port)
    }

    /// The destination MAC frames leave with: configured, or the group's
    /// multicast MAC (`None` for a unicast destination without one).
    pub fn effective_dst_mac(&self) -> Option<MacAddr> {
        self.dst_mac.or_else(|| MacAddr::multicast(self.dst_ip))
    }
}
