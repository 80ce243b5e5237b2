//! Output header rewrite (to the virtual group) and optional RTP
//! renumbering.
//!
//! A [`Rewriter`] is built once per stream from an [`OutputSpec`] and turns
//! a chosen input frame into the output frame in place: MACs, VLAN
//! keep/push/strip, source and destination IP, UDP ports, TTL, DSCP, with
//! the IPv4 header and UDP checksums updated incrementally (RFC 1624) so the
//! payload is never read. An [`RtpRenumber`] additionally keeps the output
//! SSRC and sequence continuous across source restarts.
//!
//! Order: the worker runs [`RtpRenumber::apply`] (if the stream renumbers)
//! and then [`Rewriter::apply`]. Both start from the [`FrameOffsets`] the
//! rx parse found (carried with the packet: no second header walk) and
//! adjust the UDP checksum only for the words they change, so the two
//! compose in either order with identical bytes (tested, each given the
//! offsets of the frame it is applied to). Renumbering keeps every offset
//! while the rewriter may move the frame's start (VLAN push/strip), so the
//! worker renumbers first and both use the rx offsets.
//!
//! [`FrameOffsets`]: crate::wire::FrameOffsets
//!
//! Both work on any [`FrameBuf`]: the DPDK helper implements it for its
//! mbuf, tests and benchmarks use `Vec<u8>`.

#![forbid(unsafe_code)]

mod framebuf;
mod mold_trim;
mod renumber;
mod rewriter;
mod spec;

#[cfg(test)]
mod tests;

pub use framebuf::{FrameBuf, Headroom};
pub use mold_trim::trim_mold_front;
pub use renumber::RtpRenumber;
pub use rewriter::Rewriter;
pub use spec::{OutputSpec, RewriteError, VlanAction};
